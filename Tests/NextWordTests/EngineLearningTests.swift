import Foundation
import XCTest
@testable import NextWord

/// What the engine learns from the user: a learned phrase comes first after its context, a new word
/// needs two sightings, forgetting removes a word everywhere, incognito writes nothing, and two
/// engines on one history file see each other's learning.
final class EngineLearningTests: XCTestCase {
    private var directory: URL!
    private var file: URL { directory.appendingPathComponent("history.sqlite") }

    override func setUpWithError() throws {
        directory = try EngineFixture.temporaryDirectory("EngineLearningTests")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testLearnedPhraseBecomesTheTopSuggestion() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        let before = engine.suggest(prefix: "see you at the ", limit: 3).map(\.text)
        XCTAssertFalse(before.contains("zyxcorp"), "an unknown word is not suggested before it is learned")

        for _ in 0..<3 { try engine.learn("see you at the zyxcorp offsite") }

        let next = engine.suggest(prefix: "see you at the ", limit: 3)
        XCTAssertEqual(next.first?.text, "zyxcorp", "\(next)")
        XCTAssertEqual(next.first?.source, .history, "zyxcorp is outside the model's vocabulary")
        let completion = engine.suggest(prefix: "see you at the zy", limit: 3)
        XCTAssertEqual(completion.first?.text, "zyxcorp", "\(completion)")
        XCTAssertEqual(engine.suggest(prefix: "see you at the zyxcorp ", limit: 3).first?.text, "offsite")

        // A word the model also knows is credited to both sources once the user has typed it.
        let known = engine.suggest(prefix: "see you at th", limit: 5)
        XCTAssertEqual(known.first { $0.text == "the" }?.source, .both, "\(known)")
        XCTAssertTrue(known.filter { $0.text != "the" }.allSatisfy { $0.source == .model }, "\(known)")

        // The store holds what the engine learned, three times.
        let store = try XCTUnwrap(engine.history)
        XCTAssertEqual(store.wordCount(lower: "zyxcorp").map(\.count), [3])
        XCTAssertEqual(store.continuations(context: ["at", "the"], limit: 3).first?.word, "zyxcorp")
    }

    /// A new word typed once could be a typo: it is offered again only where it was typed (after
    /// the same two words, once its first letter is typed); from its second sighting, everywhere.
    func testANewWordTypedOnceIsOfferedInItsOwnContextTwiceEverywhere() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore.inMemory())
        try engine.learn("we met qwzxv today")
        XCTAssertTrue(engine.suggest(prefix: "we met q", limit: 3).map(\.text).contains("qwzxv"),
                      "typed once: offered where it was typed")
        XCTAssertFalse(engine.suggest(prefix: "we met ", limit: 50).map(\.text).contains("qwzxv"),
                       "but not before its first letter")
        XCTAssertFalse(engine.suggest(prefix: "they saw qw", limit: 50).map(\.text).contains("qwzxv"),
                       "nor after other words: it could be a typo")
        XCTAssertFalse(engine.suggest(prefix: "met qw", limit: 50).map(\.text).contains("qwzxv"),
                       "one word of its context is not enough")
        try engine.learn("we met qwzxv today")
        XCTAssertEqual(engine.suggest(prefix: "we met qw", limit: 5).first?.text, "qwzxv")
        XCTAssertTrue(engine.suggest(prefix: "we met ", limit: 3).map(\.text).contains("qwzxv"))
        XCTAssertTrue(engine.suggest(prefix: "they saw qw", limit: 5).map(\.text).contains("qwzxv"), "twice: a word")
    }

    func testTheUsersNgramsReadPunctuationAndTheLineStartAsContext() throws {
        // A sign-off: the name follows a comma, and a new line starts with the same word. Before,
        // punctuation and line breaks cut the chain, so neither context was learned.
        let engine = try EngineFixture.engine(history: try HistoryStore.inMemory())
        try engine.learn("see you soon, qwzxv")
        XCTAssertTrue(engine.suggest(prefix: "see you soon, q", limit: 3).map(\.text).contains("qwzxv"),
                      "typed once after 'soon ,': offered there")
        XCTAssertFalse(engine.suggest(prefix: "see you soon. q", limit: 50).map(\.text).contains("qwzxv"),
                       "another mark is another context")
        // The line start: a user who begins lines with "river" gets it there more than one who
        // typed the same words in another order (before, both were the same unigram counts).
        func shareAtLineStart(after lines: [String]) throws -> Double {
            let plain = try EngineFixture.engine(history: try HistoryStore.inMemory(), withNgram: false)
            for line in lines { try plain.learn(line) }
            return try XCTUnwrap(plain.suggest(prefix: "we met.\n", limit: 500).first { $0.text.lowercased() == "river" }?.probability)
        }
        let begins = try shareAtLineStart(after: ["river deep", "river wide"])
        let ends = try shareAtLineStart(after: ["deep river", "wide river"])
        XCTAssertGreaterThan(begins, 1.5 * ends, "the line start is a context")
    }

    func testAWordTheModelKnowsIsLiftedAfterOneUse() throws {
        // The two-sightings rule is for unknown words only: a vocabulary word learned once after a
        // context must rise above where it was.
        // Without the corpus n-gram, which knows "talked about": the untrained LSTM alone is
        // close to uniform, so one learned trigram must lift the word to the top.
        let engine = try EngineFixture.engine(history: try HistoryStore.inMemory(), withNgram: false)
        func rank(_ word: String) -> Int? {
            engine.suggest(prefix: "we talked ", limit: 100).firstIndex { $0.text == word }
        }
        let before = try XCTUnwrap(rank("river"))
        try engine.learn("we talked river")
        let after = try XCTUnwrap(rank("river"))
        XCTAssertLessThan(after, before)
        XCTAssertEqual(after, 0)
    }

    func testForgetRemovesAWordEverywhere() throws {
        let store = try HistoryStore(path: file)
        let engine = try EngineFixture.engine(history: store)
        for _ in 0..<3 { try engine.learn("see you at the zyxcorp offsite") }
        XCTAssertEqual(engine.suggest(prefix: "see you at the zy", limit: 3).first?.text, "zyxcorp")

        let removed = try engine.forget(word: "ZyxCorp")
        XCTAssertEqual(removed, 1 + 4, "one word row; n-grams: the→zyxcorp, at the→zyxcorp, zyxcorp→offsite, the zyxcorp→offsite")

        XCTAssertFalse(engine.suggest(prefix: "see you at the zy", limit: 10).map { $0.text.lowercased() }.contains("zyxcorp"))
        XCTAssertFalse(engine.suggest(prefix: "see you at the ", limit: 100).map { $0.text.lowercased() }.contains("zyxcorp"))
        XCTAssertEqual(store.wordCount(lower: "zyxcorp").count, 0)
        let snapshot = try store.snapshot()
        XCTAssertTrue(snapshot.surfaces(lower: "zyxcorp").isEmpty)
        XCTAssertFalse(snapshot.ngrams.contains { $0.word == "zyxcorp" || $0.context.split(separator: " ").contains("zyxcorp") })
        XCTAssertEqual(store.wordCount(lower: "offsite").map(\.count), [3], "other words stay")

        // A fresh engine over the same file knows nothing of it either.
        let reopened = try EngineFixture.engine(history: try HistoryStore(path: file))
        XCTAssertFalse(reopened.suggest(prefix: "see you at the zy", limit: 10).map { $0.text.lowercased() }.contains("zyxcorp"))
        XCTAssertFalse(EngineFixture.filesContain(file, "zyxcorp"), "no trace of the word in the file or WAL")
    }

    func testIncognitoLeavesTheHistoryFileByteIdentical() throws {
        let seed = try HistoryStore(path: file)
        try seed.learn(tokens: ["already", "known", "words"])
        try seed.close()
        let before = EngineFixture.fileBytes(file)

        let engine = try EngineFixture.engine(history: try HistoryStore(path: file), incognito: true)
        XCTAssertTrue(engine.incognito)
        for _ in 0..<3 { try engine.learn("see you at the zyxcorp offsite") }
        XCTAssertFalse(engine.suggest(prefix: "see you at the zy", limit: 10).map(\.text).contains("zyxcorp"),
                       "nothing learned in memory either")
        _ = engine.suggest(prefix: "already kn", limit: 3)

        let after = EngineFixture.fileBytes(file)
        XCTAssertEqual(after.main, before.main, "history file changed in incognito mode")
        XCTAssertEqual(after.wal, before.wal, "history WAL changed in incognito mode")
        XCTAssertFalse(EngineFixture.filesContain(file, "zyxcorp"))

        // Leaving incognito learns again.
        engine.incognito = false
        try engine.learn("see you at the zyxcorp offsite")
        XCTAssertEqual(engine.history?.wordCount(lower: "zyxcorp").map(\.count), [1])
    }

    func testTwoEnginesOnOneFileSeeEachOthersLearning() throws {
        let first = try EngineFixture.engine(history: try HistoryStore(path: file))
        let second = try EngineFixture.engine(history: try HistoryStore(path: file))
        for _ in 0..<2 { try first.learn("lunch at qorvath tomorrow") }
        second.refreshHistoryNow()
        XCTAssertEqual(second.suggest(prefix: "lunch at qo", limit: 3).first?.text, "qorvath")

        // Now the second learns; the first must see it even though it wrote in between.
        for _ in 0..<2 { try second.learn("dinner at bexlomar tonight") }
        try first.learn("call me from the river")
        first.refreshHistoryNow()
        XCTAssertEqual(first.suggest(prefix: "dinner at be", limit: 3).first?.text, "bexlomar")
        second.refreshHistoryNow()
        let river = second.suggest(prefix: "call me from the ri", limit: 3)
        XCTAssertEqual(river.first { $0.text == "river" }?.source, .both, "\(river)")

        // A forget in one engine reaches the other.
        try first.forget(word: "qorvath")
        second.refreshHistoryNow()
        XCTAssertFalse(second.suggest(prefix: "lunch at qo", limit: 10).map(\.text).contains("qorvath"))
    }

    func testTheEngineNoticesAnotherProcessWithinASecondOrSo() throws {
        let first = try EngineFixture.engine(history: try HistoryStore(path: file))
        let second = try EngineFixture.engine(history: try HistoryStore(path: file))
        _ = second.suggest(prefix: "", limit: 1)  // its once-a-second check has just run
        for _ in 0..<2 { try first.learn("meet at vantrel") }
        let deadline = Date().addingTimeInterval(3)
        var seen = false
        while !seen && Date() < deadline {
            seen = second.suggest(prefix: "meet at va", limit: 3).first?.text == "vantrel"
            if !seen { Thread.sleep(forTimeInterval: 0.1) }
        }
        XCTAssertTrue(seen, "the second engine never reloaded the history")
    }

    func testClearHistoryForgetsEverythingLearned() throws {
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        for _ in 0..<2 { try engine.learn("see you at the zyxcorp offsite") }
        try engine.clearHistory()
        XCTAssertFalse(engine.suggest(prefix: "see you at the zy", limit: 10).map(\.text).contains("zyxcorp"))
        XCTAssertEqual(engine.history?.totalWordCount(), 0)
        XCTAssertFalse(EngineFixture.filesContain(file, "zyxcorp"))
        XCTAssertFalse(EngineFixture.filesContain(file, "offsite"))
    }
}
