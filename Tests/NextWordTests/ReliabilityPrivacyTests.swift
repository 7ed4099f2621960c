import Foundation
import XCTest
@testable import NextWord

/// Privacy at the engine level: the history file is private from the moment the engine opens it,
/// secrets typed in a line never reach the file, its WAL or the export, `clearHistory` leaves no
/// learned text behind, and the export holds everything that was learned.
final class ReliabilityPrivacyTests: XCTestCase {
    private var directory: URL!
    private var modelDirectory: URL { directory.appendingPathComponent("model") }

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("ReliabilityPrivacyTests")
        try EngineFixture.writeModelDirectory(at: modelDirectory)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func open(_ history: URL) throws -> SuggestionEngine {
        let (engine, notes) = try SuggestionEngine.open(.init(modelDirectory: modelDirectory, historyPath: history))
        XCTAssertEqual(notes, [])
        return engine
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testHistoryIsPrivateFromTheEnginesFirstOpen() throws {
        let history = directory.appendingPathComponent("data/nextword/history.sqlite")
        let engine = try open(history)
        try engine.learn("a private line")
        XCTAssertEqual(try mode(directory.appendingPathComponent("data").path), 0o700)
        XCTAssertEqual(try mode(directory.appendingPathComponent("data/nextword").path), 0o700)
        XCTAssertEqual(try mode(history.path), 0o600)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: history.path + suffix) {
            XCTAssertEqual(try mode(history.path + suffix), 0o600, suffix)
        }

        // A file someone made world-readable is made private again when an engine opens it.
        let other = directory.appendingPathComponent("shared.sqlite")
        try open(other).learn("some words")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: other.path)
        _ = try open(other)
        XCTAssertEqual(try mode(other.path), 0o600)
    }

    /// Lines mixing ordinary words with things a keyboard must never remember.
    static let secretLines = [
        "mail me at jane.doe@example.com tomorrow",
        "the link is https://intranet.example.org/reset?token=hunter42xyz ok",
        "my card is 4111 1111 1111 1111 thanks",
        "use key sk_live_4eC39HqLyjWDarjtT1zdp7dc please",
        "password P@ssw0rd! here",
        "call 555-867-5309 now",
        "see www.private-site.net later",
    ]

    /// The secrets, whole and their distinctive parts (4 bytes or more, so that no chance match in
    /// the file's binary pages can make the test flaky), which must appear nowhere on disk.
    static let secretStrings = [
        "jane.doe@example.com", "jane", "example", "intranet", "reset", "hunter42xyz", "https",
        "4111", "sk_live", "4eC39HqLyjWDarjtT1zdp7dc", "P@ssw0rd", "ssw0rd", "5309", "private-site",
    ]

    /// Pieces the tokenizer cuts the secrets into: none may be learned as a word.
    static let secretFragments = ["jane", "doe", "example", "com", "https", "intranet", "org", "reset", "token",
                                  "sk", "live", "p", "ssw0rd", "555", "www", "private", "site", "net"]

    func testSecretsAreNeverLearned() throws {
        let history = directory.appendingPathComponent("history.sqlite")
        let engine = try open(history)
        for line in Self.secretLines { try engine.learn(line) }
        let store = try XCTUnwrap(engine.history)
        let export = String(decoding: try store.export(), as: UTF8.self)
        for secret in Self.secretStrings {
            XCTAssertFalse(EngineFixture.filesContain(history, secret), "\(secret) is in the history file or WAL")
            XCTAssertFalse(export.contains("\"\(secret)\"") || export.contains(secret + " ") || export.contains(" " + secret),
                           "\(secret) is in the export")
        }
        for fragment in Self.secretFragments {
            XCTAssertTrue(store.wordCount(lower: fragment).isEmpty, "\(fragment) was learned")
            XCTAssertFalse(engine.suggest(prefix: "x " + String(fragment.prefix(1)), limit: 100).contains {
                $0.text.lowercased() == fragment && $0.source != .model
            }, "\(fragment) suggested from history")
        }
        // The ordinary words of those lines were learned, and no n-gram spans a secret.
        for word in ["mail", "tomorrow", "link", "card", "thanks", "key", "please", "password", "call", "later"] {
            XCTAssertEqual(store.wordCount(lower: word).map(\.count), [1], word)
        }
        let ngrams = try store.snapshot().ngrams
        XCTAssertFalse(ngrams.contains { $0.context == "at" && $0.word == "tomorrow" }, "a bigram across the hidden address")
        XCTAssertFalse(ngrams.contains { $0.context == "is" && $0.word == "thanks" }, "a bigram across the card number")
    }

    func testWholeChunksAreJudgedBeforeTokenizing() {
        let hidden = HistoryStore.redactedToken
        // Numbers are hidden whole, whatever their separators.
        XCTAssertEqual(HistoryStore.tokensForLearning(line: "it's 3.14 or 1,000."), ["it's", hidden, "or", hidden])
        XCTAssertEqual(HistoryStore.tokensForLearning(line: "10:30 at 5 o'clock"), [hidden, "at", hidden, "o'clock"])
        XCTAssertEqual(HistoryStore.tokensForLearning(line: "mail (jane.doe@example.com), now"), ["mail", hidden, "now"])
        XCTAssertEqual(HistoryStore.tokensForLearning(line: "go to https://a.example.org/x?y=z."), ["go", "to", hidden])
        XCTAssertEqual(HistoryStore.tokensForLearning(line: "key sk_live_4eC39HqLyjWDarjtT1zdp7dc ok"), ["key", hidden, "ok"])
        XCTAssertEqual(HistoryStore.tokensForLearning(line: "P@ssw0rd!"), [hidden])
        XCTAssertFalse(HistoryStore.isLearnable(hidden), "the stand-in itself is never learned")

        // Ordinary text with punctuation is cut exactly as the tokenizer cuts it.
        let tokenizer = Tokenizer(mode: .natural)
        for line in ["Hello, world! (see e.g. the U.S. plan)", "I don\u{2019}t know; it's true or false.",
                     "well-known rock'n'roll -- \"quoted\" text...", "ten at five o'clock", "a/b and/or c",
                     "école, naïve café", "日本語の文、です。", "mp3 hunter2 4x4", ""] {
            XCTAssertEqual(HistoryStore.tokensForLearning(line: line),
                           tokenizer.tokenize(line).map { Tokenizer.normalizeApostrophes($0.text) }, line)
        }
    }

    /// Incognito on a history that does not exist yet creates nothing: no folder, no database.
    func testIncognitoOnAFreshPathCreatesNothing() throws {
        let history = directory.appendingPathComponent("fresh/nextword/history.sqlite")
        let (engine, _) = try SuggestionEngine.open(.init(modelDirectory: modelDirectory, historyPath: history, incognito: true))
        try engine.learn("nothing of this is kept")
        _ = engine.suggest(prefix: "noth", limit: 3)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("fresh").path))
    }

    /// The folder's entries with their sizes and modes: what "creates nothing" compares.
    private func listing(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(name).path)
            return "\(name) \(attributes[.size] ?? 0) \(attributes[.posixPermissions] ?? 0)"
        }
    }

    /// Incognito over an existing history reads it but creates nothing: no -wal, no 32 KB -shm
    /// (every read created both), no mode changed. Switched off, it learns as usual.
    func testIncognitoOnAnExistingHistoryCreatesNothing() throws {
        let history = directory.appendingPathComponent("data/history.sqlite")
        let seed = try HistoryStore(path: history)
        for _ in 0 ..< 2 { _ = try seed.learn(tokens: ["lunch", "at", "quorvel"]) }
        try seed.close()
        let before = try listing(history.deletingLastPathComponent())
        XCTAssertEqual(before.count, 1, "precondition: the history alone, no side files (\(before))")

        let (engine, notes) = try SuggestionEngine.open(.init(modelDirectory: modelDirectory, historyPath: history, incognito: true))
        XCTAssertEqual(notes, [])
        XCTAssertEqual(engine.suggest(prefix: "lunch at quo", limit: 3).first?.text, "quorvel", "the history is read")
        try engine.learn("nothing of this is kept")
        _ = engine.suggest(prefix: "noth", limit: 3)
        XCTAssertEqual(try listing(history.deletingLastPathComponent()), before)
        XCTAssertEqual(engine.history?.connections.isReadingImmutably, true)

        engine.incognito = false
        try engine.learn("dinner at quorvel")
        XCTAssertEqual(engine.history?.wordCount(lower: "dinner").map(\.count), [1], "queries see the store's own writes")
        XCTAssertEqual(engine.history?.connections.isReadingImmutably, false)
    }

    /// A reader that leaves no trace still sees what another process learns once it writes
    /// (a -wal appears, and it reads as a shared WAL reader again).
    func testATracelessReaderSeesAnotherWritersLines() throws {
        let history = directory.appendingPathComponent("history.sqlite")
        let seed = try HistoryStore(path: history)
        _ = try seed.learn(tokens: ["first"])
        try seed.close()
        let reader = try HistoryStore(path: history, readOnly: true, leavingNoTrace: true)
        XCTAssertEqual(reader.wordCount(lower: "first").map(\.count), [1])
        XCTAssertFalse(FileManager.default.fileExists(atPath: history.path + "-shm"))
        let writer = try HistoryStore(path: history)
        _ = try writer.learn(tokens: ["second"])
        XCTAssertEqual(reader.wordCount(lower: "second").map(\.count), [1])
        XCTAssertFalse(reader.connections.isReadingImmutably)
    }

    func testClearHistoryLeavesNoLearnedTextInFileOrWAL() throws {
        let history = directory.appendingPathComponent("history.sqlite")
        let engine = try open(history)
        let words = ["quokkamail", "verbenaplan", "thistleroad"]
        for _ in 0..<3 { try engine.learn("remember \(words.joined(separator: " ")) forever") }
        XCTAssertTrue(EngineFixture.filesContain(history, "quokkamail"), "precondition: the text is on disk")
        try engine.clearHistory()
        for word in words + ["remember", "forever"] {
            XCTAssertFalse(EngineFixture.filesContain(history, word), "\(word) still on disk after clear")
        }
        XCTAssertEqual(engine.history?.totalWordCount(), 0)
        XCTAssertFalse(engine.suggest(prefix: "remember qu", limit: 10).map(\.text).contains("quokkamail"))
        // The engine keeps learning afterwards.
        try engine.learn("a new start")
        XCTAssertEqual(engine.history?.wordCount(lower: "start").map(\.count), [1])
    }

    func testExportHoldsEverythingLearned() throws {
        let history = directory.appendingPathComponent("history.sqlite")
        let engine = try open(history)
        try engine.learn("Lunch at Quorvel, then the park")
        try engine.learn("lunch at quorvel again")
        let document = try HistoryExport.decode(try XCTUnwrap(engine.history).export())
        let words = Dictionary(uniqueKeysWithValues: document.words.map { ($0.text, $0.count) })
        XCTAssertEqual(words, ["Lunch": 1, "lunch": 1, "at": 2, "Quorvel": 1, "quorvel": 1, "then": 1, "the": 1,
                               "park": 1, "again": 1])
        let ngrams = Set(document.ngrams.map { "\($0.context)|\($0.word)|\($0.count)" })
        // Punctuation and the line's start are context too ("quorvel ,"→then, "</s>"→lunch).
        XCTAssertEqual(ngrams, ["</s>|lunch|2", "lunch|at|2", "</s> lunch|at|2", "at|quorvel|2", "lunch at|quorvel|2",
                                ",|then|1", "quorvel ,|then|1", "then|the|1", ", then|the|1", "the|park|1",
                                "then the|park|1", "quorvel|again|1", "at quorvel|again|1"])
        XCTAssertTrue(document.ngrams.allSatisfy { $0.order == $0.context.split(separator: " ").count + 1 })
    }
}
