import Foundation
import XCTest
@testable import NextWord

/// The leaks an outside test of the release binary found, each learned into a real engine and
/// looked for in what it stores and suggests. One learning pipeline (`LearningPolicy`) feeds the
/// store and the in-memory model, so both are checked.
final class PrivacyLeakTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("PrivacyLeakTests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func suggestions(_ engine: SuggestionEngine, _ prefix: String) -> [String] {
        engine.suggest(prefix: prefix, limit: 10).map { $0.text.lowercased() }
    }

    /// The in-memory model checked tokens one by one and learned "4111" and "1111" (no history file).
    func testACardNumberIsNotTypedBackWithoutAHistoryFile() throws {
        let engine = try EngineFixture.engine()
        for _ in 0 ..< 3 { try engine.learn("my card is 4111 1111 1111 1111 thanks") }
        XCTAssertFalse(suggestions(engine, "my card is 4111 ").contains("1111"))
        XCTAssertFalse(suggestions(engine, "my card is ").contains("4111"))
        XCTAssertFalse(suggestions(engine, "my card is 41").contains("4111"))
        XCTAssertTrue(suggestions(engine, "my card is 4111 1111 1111 1111 tha").contains("thanks"), "the words around it are learned")
    }

    static let leakLines = [
        "my iban is DE89 3704 0044 0532 0130 00 thanks",
        "the code is on github.com/zorbcorp/plinkrepo today",
        "log in at mybank.com/login?user=jsmith please",
        "my pin is 4111 ok",
        "password: hunter2",
        "call me at (555) 867-5309 later",
        "the server is 192.168.10.20 or 10.0.0.1:8080 now",
        "card 4\u{301}111 1\u{301}111 2\u{301}222 3333 done",
        "wifi passcode qwzkvt",
    ]
    static let pieces: Set<String> = ["de89", "3704", "0044", "0532", "0130", "00", "github", "zorbcorp", "plinkrepo",
                                      "mybank", "com", "login", "user", "jsmith", "4111", "hunter2", "555", "867", "5309",
                                      "192", "168", "10", "20", "8080", "1111", "2222", "3333", "qwzkvt"]

    func testPiecesOfSecretsAreNeitherStoredNorSuggestedAfterARestart() throws {
        let history = directory.appendingPathComponent("history.sqlite")
        do {
            let engine = try EngineFixture.engine(history: try HistoryStore(path: history))
            for _ in 0 ..< 2 { for line in Self.leakLines { try engine.learn(line) } }
        }
        let store = try HistoryStore(path: history)
        let stored = Set(try store.snapshot().words.map { $0.text.lowercased() })
        XCTAssertEqual(stored.intersection(Self.pieces), [], "stored pieces of secrets")
        XCTAssertTrue(stored.contains("thanks") && stored.contains("wifi"), "ordinary words are still learned")
        let engine = try EngineFixture.engine(history: store)
        // The document on the screen reads its own addresses' words ("github.com/" offers "github"
        // back), so the addresses are looked for where they are not on the screen.
        for prefix in ["iban ", "my iban is ", "my iban is DE", "the code is on ", "the code is on gi", "on ", "log in at ",
                       "log in at my", "my pin is ",
                       "password: ", "password: hun", "hun", "call me at (", "call me at (555) ", "the server is ",
                       "card ", "wifi passcode ", "qw"] {
            let offered = Set(suggestions(engine, prefix))
            XCTAssertEqual(offered.intersection(Self.pieces), [], "after \"\(prefix)\"")
        }
    }

    func testMarkersProtectTheirValueOnly() {
        func learned(_ line: String) -> [String] { LearningPolicy.committedLine(line).words.map(\.lower) }
        XCTAssertEqual(learned("password: hunter2 ok"), ["password", "ok"])
        XCTAssertEqual(learned("password hunter2"), ["password"])
        XCTAssertEqual(learned("my pin is 4111"), ["my", "pin", "is"])
        XCTAssertEqual(learned("pin:abcd here"), ["pin", "here"])
        XCTAssertEqual(learned("the api key: zzyzx thanks"), ["the", "api", "key", "thanks"])
        XCTAssertEqual(learned("user=jsmith"), ["user"])
        // Ordinary uses of the weak markers are learned as usual.
        XCTAssertEqual(learned("pin the tail on it"), ["pin", "the", "tail", "on", "it"])
        XCTAssertEqual(learned("the key to success"), ["the", "key", "to", "success"])
    }

    /// Thousands of generated secrets in ordinary text, learned three times: none of their pieces
    /// is learned by the pipeline, and none is suggested by an engine that learned a share of them.
    func testFuzzedSecretsNeverLeaveAPiece() throws {
        var generator = SeededGenerator(seed: 20261201)
        func pick<T>(_ items: [T]) -> T { items[Int(generator.next() % UInt64(items.count))] }
        func digits(_ count: Int) -> String { String((0 ..< count).map { _ in Character(String(generator.next() % 10)) }) }
        func letters(_ count: Int) -> String {
            String((0 ..< count).map { _ in pick(Array("bcdfghjklmnpqrstvwxz")) })
        }
        func mixed(_ count: Int) -> String {
            var text = String((0 ..< count).map { _ in pick(Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789_")) })
            text.append(pick(Array("23456789")))
            return text
        }
        func mark(_ text: String) -> String {
            // A combining acute on one digit, now and then.
            guard generator.next() % 4 == 0, let index = text.firstIndex(where: \.isNumber) else { return text }
            var marked = text
            marked.insert("\u{301}", at: marked.index(after: index))
            return marked
        }
        let makers: [() -> String] = [
            { mark([digits(4), digits(4), digits(4), digits(4)].joined(separator: pick([" ", "-", ".", ""]))) },
            { "DE\(digits(2)) " + (0 ..< 4).map { _ in digits(4) }.joined(separator: " ") + " \(digits(2))" },
            { pick(["(\(digits(3))) \(digits(3))-\(digits(4))", "+1 \(digits(3)) \(digits(3)) \(digits(4))",
                    "\(digits(3)).\(digits(3)).\(digits(4))", "\(digits(3))-\(digits(4))"]) },
            { "\(Int(generator.next() % 256)).\(Int(generator.next() % 256)).\(Int(generator.next() % 256)).\(Int(generator.next() % 256))"
                + pick(["", ":\(digits(4))"]) },
            { pick(["https://", "http://", "", "www."]) + "\(letters(6)).\(pick(["com", "org", "io", "de"]))/\(letters(5))"
                + pick(["", "?user=\(letters(5))", "/\(letters(4)).html"]) },
            { "\(letters(5)).\(letters(4))@\(letters(6)).\(pick(["com", "net"]))" },
            { mixed(16 + Int(generator.next() % 16)) },
            { pick(["password: ", "password ", "passcode ", "pin: ", "my pin is ", "api key: ", "otp ", "password=", "pwd:"])
                + pick([letters(6), mixed(6), digits(4)]) },
        ]
        let carriers = ["please send", "here is", "my new one is", "it is", "use", "the one at"]
        let tokenizer = Tokenizer(mode: .natural)
        let markerWords: Set<String> = ["password", "passcode", "pin", "my", "is", "api", "key", "otp", "pwd"]
        let engine = try EngineFixture.engine()
        var engineLines: [String] = []
        var allPieces: Set<String> = []
        // The document on the screen reads its own addresses' words (up to a query), so those are
        // looked for in texts that do not hold them, after learning: (carrier, piece) pairs.
        let addressMakers = [4, 5]
        var addressPieces: [(carrier: String, piece: String)] = []
        let addressWords: Set<String> = ["com", "org", "io", "de", "net", "www", "http", "https", "html"]
        for index in 0 ..< 3000 {
            let secret = makers[index % makers.count]()
            let line = "\(pick(carriers)) \(secret) \(pick(["thanks", "now", "ok", ""]))"
            let pieces = Set(tokenizer.tokenize(secret).filter(\.isWordLike).map { $0.text.lowercased() })
                .subtracting(markerWords)
            for _ in 0 ..< 3 {
                let learned = Set(LearningPolicy.committedLine(line).words.map(\.lower))
                XCTAssertEqual(learned.intersection(pieces), [], "learned a piece of \"\(secret)\" from \"\(line)\"")
            }
            guard index % 10 == 0 else { continue }
            engineLines.append(line)
            if addressMakers.contains(index % makers.count) {
                let carrier = String(line.prefix { $0 != " " })
                addressPieces += pieces.subtracting(addressWords).map { (carrier, $0) }
            } else {
                allPieces.formUnion(pieces)
            }
        }
        for _ in 0 ..< 3 { for line in engineLines { try engine.learn(line) } }
        for line in engineLines.prefix(60) {
            // Every prefix a keyboard would ask about inside the line.
            var prefix = ""
            for character in line {
                if character == " " || prefix.count % 3 == 0 {
                    let offered = Set(suggestions(engine, prefix))
                    XCTAssertEqual(offered.intersection(allPieces), [], "after \"\(prefix)\"")
                }
                prefix.append(character)
            }
        }
        let addressSet = Set(addressPieces.map(\.piece))
        for (carrier, piece) in addressPieces.prefix(200) {
            let offered = Set(suggestions(engine, "\(carrier) \(piece.prefix(2))"))
            XCTAssertEqual(offered.intersection(addressSet), [], "after \"\(carrier) \(piece.prefix(2))\"")
        }
    }
}
