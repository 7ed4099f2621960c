import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import NextWord
@testable import NextWordService

/// Every route of `nextword serve`'s API answering as docs/openapi.yaml says, through the router
/// test client.
final class ServiceRouteTests: XCTestCase {
    func testSuggestCompletesTheTypedLettersWithValidSuggestions() async throws {
        try await ServiceHarness.make().run { client in
            let answer = try await client.suggest("alice", "We read it at ho", session: "mail-body", limit: 3)
            XCTAssertEqual(answer.status, .ok, answer.text)
            XCTAssertEqual(answer.headers[.contentType], "application/json")
            let suggestions = try XCTUnwrap(answer.json["suggestions"] as? [[String: Any]])
            XCTAssertFalse(suggestions.isEmpty)
            XCTAssertLessThanOrEqual(suggestions.count, 3)
            for suggestion in suggestions {
                let text = try XCTUnwrap(suggestion["text"] as? String)
                XCTAssertTrue(text.lowercased().hasPrefix("ho"), text)
                let probability = try XCTUnwrap(suggestion["probability"] as? Double)
                XCTAssertTrue(probability > 0 && probability <= 1, "\(probability)")
                XCTAssertTrue(["model", "history", "both"].contains(suggestion["source"] as? String ?? ""))
            }
            // After a space: next words, none of them the word just typed.
            let next = try await client.suggest("alice", "we read it at home ", limit: 5)
            XCTAssertEqual(next.status, .ok)
            XCTAssertEqual(next.suggestionTexts.count, 5)
            XCTAssertFalse(next.suggestionTexts.map { $0.lowercased() }.contains("home"))
        }
    }

    func testLearnedWordIsOfferedToItsUserOnlyAndExported() async throws {
        let harness = try ServiceHarness.make()
        try await harness.run { client in
            for _ in 0..<3 {
                let learned = try await client.learn("alice", "the zyxcorp report is long")
                XCTAssertEqual(learned.status, .ok, learned.text)
                XCTAssertEqual(learned.json["learned"] as? Bool, true)
            }
            let alice = try await client.suggest("alice", "the zy")
            XCTAssertEqual(alice.suggestionTexts.first?.lowercased(), "zyxcorp", alice.text)
            // Nothing one user learned is visible to another: not suggested, not exported.
            let bob = try await client.suggest("bob", "the zy")
            XCTAssertEqual(bob.status, .ok)
            XCTAssertFalse(bob.suggestionTexts.map { $0.lowercased() }.contains("zyxcorp"), bob.text)
            let bobWords = try await client.exportedWords("bob")
            XCTAssertTrue(bobWords.isEmpty, "\(bobWords)")
            let aliceWords = try await client.exportedWords("alice")
            XCTAssertTrue(aliceWords.contains("zyxcorp"))
            let export = try await client.export("alice")
            XCTAssertEqual(export.json["format"] as? String, "nextword-history")
            // One file, for the user who learned; asking for suggestions made none for bob.
            let aliceFile = UserFileLayout(dataDirectory: harness.dataDirectory)
                .historyFile(for: try ClientIdentifier(validating: "alice", what: "user")).path
            XCTAssertEqual(harness.files().filter { $0.hasSuffix(".sqlite") },
                           [String(aliceFile.dropFirst(harness.dataDirectory.path.count + 1))])
        }
    }

    func testForgetAndDeleteHistoryRemoveWhatWasLearned() async throws {
        try await ServiceHarness.make().run { client in
            for _ in 0..<3 { _ = try await client.learn("carol", "my qwzzle and the blorptex plan") }
            let learned = try await client.exportedWords("carol")
            XCTAssertTrue(learned.isSuperset(of: ["qwzzle", "blorptex"]), "\(learned)")

            let forgot = try await client.post("/v1/forget", ["user": "carol", "word": "qwzzle"])
            XCTAssertEqual(forgot.status, .ok, forgot.text)
            XCTAssertGreaterThan(forgot.json["removed"] as? Int ?? 0, 0)
            let afterForget = try await client.suggest("carol", "my qw")
            XCTAssertFalse(afterForget.suggestionTexts.map { $0.lowercased() }.contains("qwzzle"), afterForget.text)
            let words = try await client.exportedWords("carol")
            XCTAssertFalse(words.contains("qwzzle"))
            XCTAssertTrue(words.contains("blorptex"))

            let cleared = try await client.send(.delete, "/v1/users/carol/history")
            XCTAssertEqual(cleared.status, .ok, cleared.text)
            XCTAssertEqual(cleared.json["cleared"] as? Bool, true)
            let remaining = try await client.exportedWords("carol")
            XCTAssertTrue(remaining.isEmpty, "\(remaining)")
            let afterClear = try await client.suggest("carol", "the blo")
            XCTAssertFalse(afterClear.suggestionTexts.map { $0.lowercased() }.contains("blorptex"), afterClear.text)
        }
    }

    func testIncognitoFieldLearnsNothingWhileOtherFieldsDo() async throws {
        try await ServiceHarness.make().run { client in
            let on = try await client.post("/v1/incognito", ["user": "dave", "session": "password", "on": true])
            XCTAssertEqual(on.status, .ok, on.text)
            XCTAssertEqual(on.json["incognito"] as? Bool, true)
            let secret = try await client.learn("dave", "hunter secretword plan", session: "password")
            XCTAssertEqual(secret.status, .ok, secret.text)
            XCTAssertEqual(secret.json["learned"] as? Bool, false)
            let open = try await client.learn("dave", "the plumbus plan", session: "notes")
            XCTAssertEqual(open.json["learned"] as? Bool, true)
            let words = try await client.exportedWords("dave")
            XCTAssertFalse(words.contains("secretword"))
            XCTAssertFalse(words.contains("hunter"))
            XCTAssertTrue(words.contains("plumbus"))

            let off = try await client.post("/v1/incognito", ["user": "dave", "session": "password", "on": false])
            XCTAssertEqual(off.json["incognito"] as? Bool, false)
            let again = try await client.learn("dave", "the snorkelwax plan", session: "password")
            XCTAssertEqual(again.json["learned"] as? Bool, true)
        }
    }

    func testHealthMetricsAndPage() async throws {
        try await ServiceHarness.make().run { client in
            let health = try await client.send(.get, "/healthz")
            XCTAssertEqual(health.status, .ok)
            XCTAssertEqual(health.json["status"] as? String, "ok")
            XCTAssertNotNil(health.json["openUsers"] as? Int)

            _ = try await client.suggest("erin", "the re")
            _ = try await client.suggest("../x", "the re")
            let metrics = try await client.send(.get, "/metrics")
            XCTAssertEqual(metrics.status, .ok)
            XCTAssertTrue(metrics.headers[.contentType]?.hasPrefix("text/plain") ?? false)
            XCTAssertTrue(metrics.text.contains(#"nextword_http_requests_total{route="/v1/suggest",method="POST",status="200"} 1"#), metrics.text)
            XCTAssertTrue(metrics.text.contains(#"nextword_http_errors_total{route="/v1/suggest",method="POST",status="400"} 1"#), metrics.text)
            XCTAssertTrue(metrics.text.contains(#"nextword_http_request_duration_seconds_bucket{route="/v1/suggest""#))
            XCTAssertTrue(metrics.text.contains("nextword_open_users 1"), metrics.text)
            XCTAssertFalse(metrics.text.contains("erin"), "user names never become labels")

            let page = try await client.send(.get, "/")
            XCTAssertEqual(page.status, .ok)
            XCTAssertTrue(page.headers[.contentType]?.hasPrefix("text/html") ?? false)
            XCTAssertTrue(page.text.contains(#"<textarea id="text""#))
            XCTAssertTrue(page.text.contains("/v1/suggest"))
        }
    }

    func testFieldsOfOneUserHaveTheirOwnTypingSessions() throws {
        let harness = try ServiceHarness.make()
        defer { try? FileManager.default.removeItem(at: harness.dataDirectory.deletingLastPathComponent()) }
        let engines = harness.service.engines
        let user = try engines.user(ClientIdentifier(validating: "frank", what: "user"))
        let mail = engines.session(try ClientIdentifier(validating: "mail", what: "session"), of: user)
        let chat = engines.session(try ClientIdentifier(validating: "chat", what: "session"), of: user)
        XCTAssertFalse(mail === chat)
        XCTAssertTrue(mail === engines.session(try ClientIdentifier(validating: "mail", what: "session"), of: user))
        // The same user is one engine, whichever request asks.
        XCTAssertTrue(user.engine === (try engines.user(ClientIdentifier(validating: "frank", what: "user"))).engine)
    }
}
