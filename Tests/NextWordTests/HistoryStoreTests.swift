import Foundation
import XCTest
@testable import NextWord

/// Learning, queries, forgetting, export, caps and snapshots, on in-memory stores (the file-level
/// behaviour is in HistoryFileTests).
final class HistoryStoreTests: XCTestCase {
    private let day: TimeInterval = 86_400

    func testLearnCountsSurfaceFormsAndTotal() throws {
        let store = try HistoryStore.inMemory()
        try store.learn(tokens: ["The", "cat", "sat", ".", "the", "cat"])
        let the = store.wordCount(lower: "the")
        // Both surface forms are kept, each once; "The" sorts before "the" on equal counts.
        XCTAssertEqual(the.map(\.surface), ["The", "the"])
        XCTAssertEqual(the.map(\.count), [1, 1])
        XCTAssertEqual(store.wordCount(lower: "CAT").map(\.count), [2])
        XCTAssertEqual(store.wordCount(lower: ".").count, 0, "punctuation is not a word")
        XCTAssertEqual(store.totalWordCount(), 5)
        XCTAssertEqual(store.stats().words, 4)
    }

    func testLearnRecordsLastUse() throws {
        let store = try HistoryStore.inMemory()
        let first = Date(timeIntervalSince1970: 1_700_000_000)
        try store.learn(tokens: ["alpha"], at: first)
        try store.learn(tokens: ["alpha"], at: first.addingTimeInterval(60))
        // An out-of-order older line must not move lastUsed backwards.
        try store.learn(tokens: ["alpha"], at: first.addingTimeInterval(-600))
        let alpha = try XCTUnwrap(store.wordCount(lower: "alpha").first)
        XCTAssertEqual(alpha.count, 3)
        XCTAssertEqual(alpha.lastUsed, first.addingTimeInterval(60))
    }

    func testBigramAndTrigramCountsBreakAtPunctuation() throws {
        let store = try HistoryStore.inMemory()
        try store.learn(tokens: ["I", "love", "New", "York"])
        try store.learn(tokens: ["i", "love", "new", "york"])
        try store.learn(tokens: ["i", "love", "pizza", ",", "new", "cars"])

        let afterILove = store.continuations(context: ["I", "LOVE"], limit: 10)
        XCTAssertEqual(afterILove.filter { $0.order == 3 }.map { "\($0.word):\($0.count)" }, ["new:2", "pizza:1"])
        XCTAssertEqual(afterILove.filter { $0.order == 2 }.map { "\($0.word):\($0.count)" }, ["new:2", "pizza:1"])
        XCTAssertEqual(afterILove.first?.order, 3, "trigram continuations come first")

        // "new cars" followed a comma: a bigram, but no trigram reaching back over the comma.
        XCTAssertEqual(store.continuations(context: ["love", "new"], limit: 10).map { "\($0.order)\($0.word)" },
                       ["3york", "2york", "2cars"])
        XCTAssertEqual(store.continuations(context: ["pizza"], limit: 10).count, 0)
        XCTAssertEqual(store.continuations(context: ["new"], limit: 1).map(\.word), ["york"], "limit applies")
        XCTAssertEqual(store.continuations(context: [], limit: 10).count, 0)
    }

    func testApostrophesAreNormalized() throws {
        let store = try HistoryStore.inMemory()
        try store.learn(tokens: ["don\u{2019}t", "stop"])
        try store.learn(tokens: ["don't", "stop"])
        XCTAssertEqual(store.wordCount(lower: "DON\u{2019}T").map { "\($0.surface):\($0.count)" }, ["don't:2"])
        XCTAssertEqual(store.continuations(context: ["don't"], limit: 5).map(\.count), [2])
    }

    func testCompletionsUsePrefixRangeAndDecay() throws {
        let store = try HistoryStore.inMemory()
        let now = Date()
        for _ in 0..<3 { try store.learn(tokens: ["Paris"], at: now.addingTimeInterval(-90 * day)) }
        try store.learn(tokens: ["party", "pasta"], at: now)
        try store.learn(tokens: ["apple", "pa"], at: now)
        // Paris: 3 * 0.5^3 = 0.375 < 1, so the two fresh words rank first despite lower counts.
        XCTAssertEqual(store.completions(prefix: "pa", limit: 10).map(\.surface), ["pa", "party", "pasta", "Paris"])
        XCTAssertEqual(store.completions(prefix: "PAR", limit: 10).map(\.surface), ["party", "Paris"])
        XCTAssertEqual(store.completions(prefix: "pa", limit: 2).map(\.surface), ["pa", "party"])
        XCTAssertEqual(store.completions(prefix: "zz", limit: 10).count, 0)
        XCTAssertEqual(store.completions(prefix: "", limit: 10).count, 5)
        XCTAssertEqual(store.completions(prefix: "pa", limit: 0).count, 0)
    }

    func testCompletionsAcrossNonASCII() throws {
        let store = try HistoryStore.inMemory()
        try store.learn(tokens: ["école", "ecole", "e\u{0301}tude"])
        // "e\u{301}tude" is stored in NFC, so it shares the "é" prefix with "école".
        XCTAssertEqual(Set(store.completions(prefix: "É", limit: 10).map(\.surface)), ["école", "étude"])
        XCTAssertEqual(store.completions(prefix: "e", limit: 10).map(\.surface), ["ecole"])
    }

    func testRefusedTokensAreSkippedAndBreakChains() throws {
        let store = try HistoryStore.inMemory()
        try store.learn(tokens: ["mail", "me", "at", "bob@example.com", "tomorrow"])
        try store.learn(tokens: ["card", "4242", "4242", "4242", "4242", "thanks"])
        try store.learn(tokens: ["at", "10", "30"])
        XCTAssertEqual(store.wordCount(lower: "bob@example.com").count, 0)
        XCTAssertEqual(store.wordCount(lower: "tomorrow").map(\.count), [1])
        XCTAssertFalse(store.continuations(context: ["at"], limit: 10).contains { $0.word == "tomorrow" })
        XCTAssertEqual(store.wordCount(lower: "4242").count, 0, "a spaced card number is refused as a whole")
        XCTAssertEqual(store.continuations(context: ["card"], limit: 10).count, 0)
        XCTAssertEqual(store.wordCount(lower: "30").count, 0, "numbers are never learned, short ones neither")
        XCTAssertEqual(store.wordCount(lower: "at").map(\.count), [2])
    }

    func testForgetRemovesTheWordEverywhere() throws {
        let store = try HistoryStore.inMemory()
        try store.learn(tokens: ["I", "love", "Secret", "plans"])
        try store.learn(tokens: ["my", "secret", "is", "out"])
        XCTAssertEqual(store.stats().ngrams, 14)  // 7 a line: 4 words from the line's start
        // 2 surface forms + 9 n-grams that hold "secret" (counted by hand: 4 in the first line,
        // 5 in the second, where "</s> my"→secret holds it too).
        XCTAssertEqual(try store.forget(word: "SECRET"), 11)
        XCTAssertEqual(store.wordCount(lower: "secret").count, 0)
        XCTAssertEqual(store.continuations(context: ["love"], limit: 10).count, 0)
        XCTAssertEqual(store.continuations(context: ["i", "love"], limit: 10).map(\.word), [])
        XCTAssertEqual(store.continuations(context: ["secret", "is"], limit: 10).map { "\($0.order)\($0.word)" }, ["2out"])
        XCTAssertEqual(store.continuations(context: ["i"], limit: 10).map(\.word), ["love"])
        XCTAssertEqual(store.continuations(context: ["</s>"], limit: 10).map(\.word).sorted(), ["i", "my"])
        XCTAssertEqual(store.stats().ngrams, 5)  // </s>→i, "</s> i"→love, i→love, </s>→my, is→out
        let json = String(decoding: try store.export(), as: UTF8.self)
        XCTAssertFalse(json.lowercased().contains("secret"))
        XCTAssertEqual(try store.forget(word: "nothing"), 0)
    }

    func testExportRoundTrip() throws {
        let store = try HistoryStore.inMemory()
        let t1 = Date(timeIntervalSince1970: 1_700_000_000.5)
        let t2 = Date(timeIntervalSince1970: 1_700_000_100.25)
        try store.learn(tokens: ["hello", "world"], at: t1)
        try store.learn(tokens: ["Hello", "world"], at: t2)
        let data = try store.export()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(text.contains("\n  \"format\" : \"nextword-history\""), "pretty, sorted keys: \(text.prefix(80))")
        let document = try HistoryExport.decode(data)
        XCTAssertEqual(document.version, 1)
        XCTAssertEqual(document.words, [
            HistoryWord(text: "Hello", lower: "hello", count: 1, lastUsed: t2),
            HistoryWord(text: "hello", lower: "hello", count: 1, lastUsed: t1),
            HistoryWord(text: "world", lower: "world", count: 2, lastUsed: t2),
        ])
        XCTAssertEqual(document.ngrams, [HistoryNgram(context: "</s>", word: "hello", order: 2, count: 2, lastUsed: t2),
                                         HistoryNgram(context: "hello", word: "world", order: 2, count: 2, lastUsed: t2),
                                         HistoryNgram(context: "</s> hello", word: "world", order: 3, count: 2, lastUsed: t2)])
        // An import takes the line-start contexts back.
        let copy = try HistoryStore.inMemory()
        XCTAssertEqual(try copy.importExport(document).ngrams, 3)
        XCTAssertThrowsError(try HistoryExport.decode(Data("{\"format\":\"x\"}".utf8)))
    }

    func testRowCapPrefersRecentRowsOverOldFrequentOnes() throws {
        let store = try HistoryStore.inMemory()
        store.maxRows = HistoryRowCap(words: 10, ngrams: 1_000)
        let now = Date()
        let old = (0..<10).map { "old\($0)" }
        // Old words are more frequent (4 each) but 120 days old: 4 * 0.5^4 = 0.25 < 1.
        for _ in 0..<4 {
            for word in old { try store.learn(tokens: [word], at: now.addingTimeInterval(-120 * day)) }
        }
        XCTAssertEqual(store.stats().words, 10)
        try store.learn(tokens: ["new0", "new1", "new2", "new3", "new4"], at: now)
        // 15 rows > 10: pruned to 90 % of the cap, 9 rows; the 6 lowest (oldest ties first) go.
        let kept = Set(try HistoryExport.decode(store.export()).words.map(\.text))
        XCTAssertEqual(kept, Set(["old6", "old7", "old8", "old9", "new0", "new1", "new2", "new3", "new4"]))
    }

    func testNgramCapIsEnforced() throws {
        let store = try HistoryStore.inMemory()
        store.maxRows = HistoryRowCap(words: 100, ngrams: 5)
        try store.learn(tokens: (0..<10).map { "w\($0)" })  // 9 bigrams + 8 trigrams
        XCTAssertEqual(store.stats().ngrams, 5)
        XCTAssertEqual(store.stats().words, 10)
    }

    func testChangeTokenMovesOnlyOnWrites() throws {
        let store = try HistoryStore.inMemory()
        let start = store.changeToken()
        try store.learn(tokens: ["one", "two"])
        let afterLearn = store.changeToken()
        XCTAssertGreaterThan(afterLearn, start)
        try store.learn(tokens: [",", "!"])
        XCTAssertEqual(store.changeToken(), afterLearn, "nothing learnable: nothing written")
        try store.forget(word: "absent")
        XCTAssertEqual(store.changeToken(), afterLearn)
        try store.forget(word: "one")
        XCTAssertGreaterThan(store.changeToken(), afterLearn)
        let afterForget = store.changeToken()
        try store.clear()
        XCTAssertGreaterThan(store.changeToken(), afterForget)
        XCTAssertEqual(store.totalWordCount(), 0)
    }

    func testSnapshotAnswersLikeTheStore() throws {
        let store = try HistoryStore.inMemory()
        let now = Date()
        try store.learn(tokens: ["The", "quick", "brown", "fox"], at: now.addingTimeInterval(-40 * day))
        try store.learn(tokens: ["the", "quick", "red", "fox"], at: now)
        try store.learn(tokens: ["the", "quiet", "night"], at: now)
        let snapshot = try store.snapshot()
        XCTAssertEqual(snapshot.changeToken, store.changeToken())
        XCTAssertEqual(snapshot.totalWordCount, 11)
        XCTAssertEqual(snapshot.surfaces(lower: "THE").map(\.text), store.wordCount(lower: "the").map(\.surface))
        XCTAssertEqual(snapshot.completions(prefix: "qu", limit: 5).map(\.text),
                       store.completions(prefix: "qu", limit: 5).map(\.surface))
        XCTAssertEqual(snapshot.completions(prefix: "qu", limit: 5).map(\.text), ["quick", "quiet"])
        let fromSnapshot = snapshot.continuations(context: ["The", "quick"], limit: 5).map { "\($0.order)\($0.word)" }
        XCTAssertEqual(fromSnapshot, store.continuations(context: ["the", "quick"], limit: 5).map { "\($0.order)\($0.word)" })
        // "red" (today) outranks "brown" (40 days ago) at equal counts.
        XCTAssertEqual(fromSnapshot, ["3red", "3brown", "2red", "2brown"])
    }

    func testHugeLineIsRefused() throws {
        let store = try HistoryStore.inMemory()
        let tokens = Array(repeating: "a", count: HistoryStore.maxTokensPerLine + 1)
        XCTAssertThrowsError(try store.learn(tokens: tokens)) { error in
            guard case HistoryError.invalidInput = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(store.totalWordCount(), 0)
    }

    func testScoreHalvesPerHalfLife() {
        let now = Date()
        XCTAssertEqual(HistoryStore.score(count: 8, lastUsed: now, now: now), 8, accuracy: 1e-9)
        XCTAssertEqual(HistoryStore.score(count: 8, lastUsed: now.addingTimeInterval(-60 * day), now: now), 2, accuracy: 1e-9)
        XCTAssertEqual(HistoryStore.score(count: 8, lastUsed: now.addingTimeInterval(day), now: now), 8, accuracy: 1e-9,
                       "a future lastUsed does not inflate the score")
    }
}
