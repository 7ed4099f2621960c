import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import NextWord
@testable import NextWordService

/// What the service refuses, and with which status: malformed bodies (400), names that could
/// reach the file system (400), oversized bodies (413), missing or foreign tokens (401, 403),
/// learning floods (429).
final class ServiceSecurityTests: XCTestCase {
    func testMalformedBodiesAndFieldsAreRefusedWithAMessage() async throws {
        try await ServiceHarness.make().run { client in
            let cases: [(body: String, says: String)] = [
                ("{not json", "not valid JSON"),
                (#"{"text": "hi"}"#, #"missing field "user""#),
                (#"{"user": "a"}"#, #"missing field "text""#),
                (#"{"user": "a", "text": 5}"#, #"field "text" has the wrong type"#),
                (#"{"user": "a", "text": "x", "limit": "three"}"#, #"field "limit" has the wrong type"#),
                (#"{"user": "a", "text": "x", "limit": 0}"#, "limit must be between 1 and 10"),
                (#"{"user": "a", "text": "x", "limit": 11}"#, "limit must be between 1 and 10"),
                (#"{"user": null, "text": "x"}"#, #"field "user" is null"#),
                ("[1, 2]", "wrong type"),
                (#"{"user": "a", "text": "x", "sesion": "mail"}"#, #"unknown field "sesion""#),
            ]
            for (body, says) in cases {
                let answer = try await client.send(.post, "/v1/suggest", body: body)
                XCTAssertEqual(answer.status, .badRequest, body)
                XCTAssertTrue(answer.error.contains(says), "\(body): \(answer.error)")
                XCTAssertEqual(answer.headers[.contentType], "application/json")
            }
            let empty = try await client.send(.post, "/v1/learn")
            XCTAssertEqual(empty.status, .badRequest)
            XCTAssertTrue(empty.error.contains("JSON body"), empty.error)
            let word = try await client.post("/v1/forget", ["user": "a", "word": "   "])
            XCTAssertEqual(word.status, .badRequest)
            let incognito = try await client.send(.post, "/v1/incognito", body: #"{"user": "a", "session": "s", "on": "yes"}"#)
            XCTAssertEqual(incognito.status, .badRequest)
            XCTAssertTrue(incognito.error.contains("true or false"), incognito.error)
            let routed = try await client.post("/v1/suggest?user=bob", ["user": "alice", "text": "x"])
            XCTAssertEqual(routed.status, .conflict, "a load balancer's ?user= must name the body's user")
            let method = try await client.send(.put, "/v1/suggest", body: "{}")
            XCTAssertEqual(method.status, .methodNotAllowed)
            XCTAssertEqual(method.headers[.allow], "POST")
            let export = try await client.send(.post, "/v1/users/alice/export", body: "{}")
            XCTAssertEqual(export.status, .methodNotAllowed)
            XCTAssertEqual(export.headers[.allow], "GET")
        }
    }

    func testNamesThatCouldReachTheFileSystemAreRefused() async throws {
        let harness = try ServiceHarness.make()
        try await harness.run { client in
            let hostile = ["../x", "..", ".", "%2e%2e", "%2e%2e%2fetc", "a/b", "/etc/passwd", "a\\b", "", " alice",
                           "alice\u{0}", "ålice", "a b", String(repeating: "a", count: 65), "-rf", "~root"]
            for name in hostile {
                let suggest = try await client.suggest(name, "the re")
                XCTAssertEqual(suggest.status, .badRequest, "user \(name.debugDescription)")
                let learn = try await client.learn(name, "the zyxcorp report")
                XCTAssertEqual(learn.status, .badRequest, "user \(name.debugDescription)")
                let session = try await client.suggest("alice", "the re", session: name)
                XCTAssertEqual(session.status, .badRequest, "session \(name.debugDescription)")
            }
            for path in ["/v1/users/%2e%2e/export", "/v1/users/..%2Fx/export", "/v1/users/%2E%2E/history",
                         "/v1/users/.%2e/export", "/v1/users/%00/export"] {
                let method: HTTPRequest.Method = path.hasSuffix("history") ? .delete : .get
                let answer = try await client.send(method, path)
                XCTAssertTrue([.badRequest, .notFound].contains(answer.status), "\(path): \(answer.status)")
                XCTAssertNotEqual(answer.status, .ok)
            }
            // Long but valid names are fine, and still land inside the data directory.
            let longest = String(repeating: "b", count: ClientIdentifier.maximumLength)
            let learned = try await client.learn(longest, "the zyxcorp report")
            XCTAssertEqual(learned.status, .ok, learned.text)
            XCTAssertEqual(harness.files().filter { $0.hasSuffix(".sqlite") }.count, 1)
            XCTAssertTrue(harness.files().allSatisfy { $0.hasPrefix("users") }, "\(harness.files())")
        }
    }

    func testOversizedBodiesAreRefusedWith413() async throws {
        try await ServiceHarness.make(maximumBodyBytes: 2048).run { client in
            let big = String(repeating: "word ", count: 1000)
            let learn = try await client.learn("alice", big)
            XCTAssertEqual(learn.status, .contentTooLarge)
            XCTAssertTrue(learn.error.contains("2048"), learn.error)
            let words = try await client.exportedWords("alice")
            XCTAssertTrue(words.isEmpty, "nothing of a refused body is learned")
            let small = try await client.learn("alice", "a small line")
            XCTAssertEqual(small.status, .ok)
        }
    }

    func testTokensGuardEachUsersData() async throws {
        let tokens = try AccessTokens(entries: [("alice", "alice-token-0123456789"), ("bob", "bob-token-0123456789ab"),
                                                ("*", "admin-token-0123456789")])
        try await ServiceHarness.make(tokens: tokens).run { client in
            let anonymous = try await client.suggest("alice", "the re")
            XCTAssertEqual(anonymous.status, .unauthorized)
            XCTAssertEqual(anonymous.headers[.wwwAuthenticate], #"Bearer realm="nextword""#)
            let wrong = try await client.suggest("alice", "the re", token: "not-a-token-0123456789")
            XCTAssertEqual(wrong.status, .unauthorized)

            let own = try await client.learn("alice", "the zyxcorp report", token: "alice-token-0123456789")
            XCTAssertEqual(own.status, .ok, own.text)
            let foreignLearn = try await client.learn("bob", "planted words", token: "alice-token-0123456789")
            XCTAssertEqual(foreignLearn.status, .forbidden)
            let foreignExport = try await client.export("alice", token: "bob-token-0123456789ab")
            XCTAssertEqual(foreignExport.status, .forbidden)
            XCTAssertFalse(foreignExport.text.contains("zyxcorp"))
            let foreignDelete = try await client.send(.delete, "/v1/users/alice/history", token: "bob-token-0123456789ab")
            XCTAssertEqual(foreignDelete.status, .forbidden)
            let foreignForget = try await client.post("/v1/forget", ["user": "alice", "word": "zyxcorp"], token: "bob-token-0123456789ab")
            XCTAssertEqual(foreignForget.status, .forbidden)

            let admin = try await client.exportedWords("alice", token: "admin-token-0123456789")
            XCTAssertTrue(admin.contains("zyxcorp"), "the admin token reaches every user, and bob's attempts changed nothing")
            let bobWords = try await client.exportedWords("bob", token: "bob-token-0123456789ab")
            XCTAssertFalse(bobWords.contains("planted"))

            let health = try await client.send(.get, "/healthz")
            XCTAssertEqual(health.status, .ok, "health checks need no token")
        }
    }

    func testLearningFasterThanTheRateIsAnswered429ForThatUserOnly() async throws {
        var limits = UserEngines.Limits()
        limits.learnBurst = 3
        limits.learnsPerSecond = 0.01
        try await ServiceHarness.make(limits: limits).run { client in
            for index in 0..<3 {
                let answer = try await client.learn("alice", "line \(index) of the report")
                XCTAssertEqual(answer.status, .ok, answer.text)
            }
            let flood = try await client.learn("alice", "one line too many")
            XCTAssertEqual(flood.status, .tooManyRequests)
            XCTAssertNotNil(flood.headers[.retryAfter].flatMap { Int($0) })
            let other = try await client.learn("bob", "bob is not limited by alice")
            XCTAssertEqual(other.status, .ok)
            let suggest = try await client.suggest("alice", "the re")
            XCTAssertEqual(suggest.status, .ok, "suggestions are not rate limited")
        }
    }

    func testTokenFileIsParsedAndRefusedWhenOthersMayReadIt() throws {
        let directory = try EngineFixture.temporaryDirectory("Tokens")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("tokens")
        try "# name token\nalice alice-token-0123456789\n\n* admin-token-0123456789\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o644)
        XCTAssertThrowsError(try AccessTokens.load(contentsOf: file)) { error in
            XCTAssertTrue(error.localizedDescription.contains("chmod 600"), error.localizedDescription)
        }
        chmod(file.path, 0o600)
        let tokens = try AccessTokens.load(contentsOf: file)
        XCTAssertEqual(tokens.principal(forAuthorization: "Bearer alice-token-0123456789"), .user(try ClientIdentifier(validating: "alice", what: "user")))
        XCTAssertEqual(tokens.principal(forAuthorization: "bearer admin-token-0123456789"), .admin)
        XCTAssertNil(tokens.principal(forAuthorization: "Basic alice-token-0123456789"))
        XCTAssertNil(tokens.principal(forAuthorization: nil))

        try "alice short\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o600)
        XCTAssertThrowsError(try AccessTokens.load(contentsOf: file)) { error in
            XCTAssertTrue(error.localizedDescription.contains("shorter than 16"), error.localizedDescription)
        }
        try "../alice alice-token-0123456789\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o600)
        XCTAssertThrowsError(try AccessTokens.load(contentsOf: file))
    }

    func testListeningBeyondLoopbackNeedsTokens() throws {
        var configuration = ServiceConfiguration(dataDirectory: URL(fileURLWithPath: "/nonexistent"))
        XCTAssertNoThrow(try configuration.validate())
        configuration.host = "0.0.0.0"
        XCTAssertThrowsError(try configuration.validate()) { error in
            XCTAssertTrue((error as? ServiceConfigurationError)?.problem.contains("--token-file") ?? false)
        }
        XCTAssertNoThrow(try configuration.validate(allowUnauthenticated: true))
        configuration.tokens = try AccessTokens(entries: [("alice", "alice-token-0123456789")])
        XCTAssertNoThrow(try configuration.validate())
    }
}

/// A user whose history cannot be written is refused learning (503), so no learn is acknowledged
/// that a restart would lose; their suggestions go on. The file, a link planted in the data
/// directory, is not followed or touched.
final class ServiceUnavailableHistoryTests: XCTestCase {
    func testALinkedHistoryFileIsRefusedWith503AndLeftAlone() async throws {
        let harness = try ServiceHarness.make()
        let target = harness.dataDirectory.deletingLastPathComponent().appendingPathComponent("elsewhere.txt")
        try "not a history".write(to: target, atomically: true, encoding: .utf8)
        let file = UserFileLayout(dataDirectory: harness.dataDirectory).historyFile(for: try ClientIdentifier(validating: "mallory", what: "user"))
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: file, withDestinationURL: target)
        try await harness.run { client in
            let learn = try await client.learn("mallory", "the zyxcorp report")
            XCTAssertEqual(learn.status, .serviceUnavailable, learn.text)
            XCTAssertTrue(learn.error.contains("nothing was learned"), learn.error)
            XCTAssertFalse(learn.error.contains(harness.dataDirectory.path), "no server paths in answers")
            let suggest = try await client.suggest("mallory", "the re")
            XCTAssertEqual(suggest.status, .ok)
            XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "not a history")
        }
    }
}
