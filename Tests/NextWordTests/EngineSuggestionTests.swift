import Foundation
import XCTest
@testable import NextWord

/// What every answer of `suggest` must satisfy, whatever the model: words only (no punctuation,
/// `<unk>` or `</s>`), never the word already typed out, at most k, best first; and the engine
/// answers an empty prefix, a 100 KB document, and several threads at once.
final class EngineSuggestionTests: XCTestCase {
    /// Checks one answer; returns the texts for further checks.
    @discardableResult
    static func assertValid(_ suggestions: [Suggestion], prefix: String, limit: Int,
                            file: StaticString = #filePath, line: UInt = #line) -> [String] {
        let label = String(prefix.suffix(40)).debugDescription
        XCTAssertLessThanOrEqual(suggestions.count, max(limit, 0), label, file: file, line: line)
        XCTAssertEqual(Set(suggestions.map { $0.text.lowercased() }).count, suggestions.count,
                       "duplicates for \(label): \(suggestions)", file: file, line: line)
        for (index, suggestion) in suggestions.enumerated() {
            let text = suggestion.text
            XCTAssertFalse(text.isEmpty, label, file: file, line: line)
            XCTAssertNotEqual(text, Vocabulary.unknownToken, label, file: file, line: line)
            XCTAssertNotEqual(text, Vocabulary.endOfSentenceToken, label, file: file, line: line)
            let first = text.unicodeScalars.first.map { CharacterSet.alphanumerics.contains($0) } ?? false
            XCTAssertTrue(first, "not a word: \(text.debugDescription) for \(label)", file: file, line: line)
            XCTAssertFalse(text.unicodeScalars.contains { $0.properties.generalCategory == .control
                               || $0.properties.isWhitespace },
                           "control or space in \(text.debugDescription) for \(label)", file: file, line: line)
            XCTAssertTrue(suggestion.probability.isFinite && suggestion.probability > 0 && suggestion.probability <= 1,
                          "\(suggestion.probability) for \(text)", file: file, line: line)
            if index > 0 {
                XCTAssertLessThanOrEqual(suggestion.probability, suggestions[index - 1].probability,
                                         "not best first for \(label)", file: file, line: line)
            }
        }
        return suggestions.map(\.text)
    }

    func testNeverSuggestsPunctuationOrSpecials() throws {
        let engine = try EngineFixture.engine()
        let prefixes = ["", "the", "the ", "Hello, ", "we met them.", "I think the weather is ", "(", "\"",
                        "well -", "a, b; c: ", "</s> ", "<unk> ", "<", "it is late,"]
        for prefix in prefixes {
            let texts = Self.assertValid(engine.suggest(prefix: prefix, limit: 500), prefix: prefix, limit: 500)
            for bad in [".", ",", ";", "!", "?", "<unk>", "</s>", "<", "("] {
                XCTAssertFalse(texts.contains(bad), "\(bad) suggested after \(prefix.debugDescription)")
            }
        }
    }

    func testNeverSuggestsTheWordAlreadyTypedOut() throws {
        let engine = try EngineFixture.engine()
        for (prefix, word) in [("we met them", "them"), ("so the", "the"), ("The", "the"), ("we met NASA", "nasa"),
                               ("I don't", "don't"), ("I don’t", "don't")] {
            let texts = engine.suggest(prefix: prefix, limit: 500).map { Tokenizer.normalizeApostrophes($0.text.lowercased()) }
            XCTAssertFalse(texts.contains(word), "\(prefix) → \(texts.prefix(5))")
        }
        // Longer words with the typed letters are still offered.
        XCTAssertTrue(engine.suggest(prefix: "so the", limit: 5).map(\.text).contains("them"))
        XCTAssertTrue(engine.suggest(prefix: "The", limit: 5).map(\.text).contains("Them"))
    }

    func testAtMostKResultsAndEmptyPrefix() throws {
        let engine = try EngineFixture.engine()
        for limit in [-1, 0, 1, 2, 3, 7] {
            for prefix in ["", "t", "we met ", "zzzzqq"] {
                let suggestions = engine.suggest(prefix: prefix, limit: limit)
                Self.assertValid(suggestions, prefix: prefix, limit: limit)
                if limit <= 0 { XCTAssertTrue(suggestions.isEmpty) }
                if limit > 0 && prefix != "zzzzqq" { XCTAssertEqual(suggestions.count, limit, "\(prefix) k=\(limit)") }
            }
        }
        XCTAssertTrue(engine.suggest(prefix: "zzzzqq", limit: 3).isEmpty, "no word starts with zzzzqq")
        // Letters narrow the answer: every suggestion for "we met t" starts with t.
        for text in engine.suggest(prefix: "we met t", limit: 10).map(\.text) {
            XCTAssertTrue(text.lowercased().hasPrefix("t"), text)
        }
    }

    func testLongDocumentPrefixIsBoundedAndConsistent() throws {
        let engine = try EngineFixture.engine()
        let sentence = "We met them in the park and talked about the plan. "
        var document = ""
        while document.utf8.count < 100_000 { document += sentence }
        let tail = "I think the weather is "
        let clock = ContinuousClock()
        var answer: [Suggestion] = []
        let elapsed = clock.measure { answer = engine.suggest(prefix: document + tail, limit: 3) }
        Self.assertValid(answer, prefix: document + tail, limit: 3)
        XCTAssertEqual(answer.count, 3)
        XCTAssertLessThan(elapsed, .seconds(2), "the context read from a long document is bounded")

        // The next keystroke in the same document reuses the cached context.
        let typing = clock.measure { answer = engine.suggest(prefix: document + tail + "n", limit: 3) }
        Self.assertValid(answer, prefix: document + tail + "n", limit: 3)
        XCTAssertTrue(answer.allSatisfy { $0.text.lowercased().hasPrefix("n") })
        XCTAssertLessThan(typing, .milliseconds(500))

        // Text far back does not matter: two documents that differ only in their first half
        // answer the same, to the last bit of probability.
        var other = ""
        while other.utf8.count < 50_000 { other += "She said that we should go home now, because it is late. " }
        let half = String(decoding: Array(document.utf8).suffix(50_000), as: UTF8.self)
        let fresh = try EngineFixture.engine()
        XCTAssertEqual(fresh.suggest(prefix: other + half + tail, limit: 5),
                       engine.suggest(prefix: document + tail, limit: 5))
    }

    func testEngineIsSafeFromSeveralThreads() throws {
        let directory = try EngineFixture.temporaryDirectory("EngineThreads")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("history.sqlite")
        let engine = try EngineFixture.engine(history: try HistoryStore(path: file))
        let prefixes = ["", "we met ", "the pa", "I think the weather is n", "Hello. Th", "so NA", "don\u{2019}"]
        let failures = Locked<[String]>([])
        let rounds = 40
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for round in 0..<rounds {
                let prefix = prefixes[(thread + round) % prefixes.count] + (round % 3 == 0 ? "" : "x")
                let suggestions = engine.suggest(prefix: prefix, limit: 3)
                if suggestions.count > 3 || suggestions.contains(where: { $0.text.isEmpty || !$0.probability.isFinite }) {
                    failures.update { $0.append("thread \(thread) round \(round): \(suggestions)") }
                }
                if round % 4 == 0 {
                    do {
                        try engine.learn("thread \(["alpha", "bravo", "charlie", "delta"][thread]) says hello again")
                    } catch {
                        failures.update { $0.append("learn failed: \(error)") }
                    }
                }
            }
        }
        XCTAssertEqual(failures.get(), [])
        // Every thread's learning arrived, exactly: 4 threads × 10 lines.
        let store = try XCTUnwrap(engine.history)
        XCTAssertEqual(store.wordCount(lower: "says").map(\.count), [40])
        for name in ["alpha", "bravo", "charlie", "delta"] {
            XCTAssertEqual(store.wordCount(lower: name).map(\.count), [10], name)
        }
        XCTAssertEqual(engine.suggest(prefix: "thread br", limit: 1).first?.text, "bravo")
        XCTAssertNil(store.integrityProblem())
    }

    /// A word the model calls `<unk>` gets its lexicon share of P(<unk>) times `unknownBoost`: the
    /// probability shown with it scales with the boost.
    func testTheUnknownBoostScalesTheLexiconsWordsOutsideTheVocabulary() throws {
        let bundle = try EngineFixture.bundle()
        XCTAssertNil(bundle.vocabulary.id("zephyrine"))
        let lexicon = Lexicon(counts: ["zephyrine": 5, "the": 100])
        func probability(boost: Float) throws -> Double? {
            var weights = MixingWeights()
            weights.unknownBoost = boost
            let engine = try SuggestionEngine(bundle: bundle, ngram: try EngineFixture.ngram(for: bundle), lexicon: lexicon, weights: weights)
            return engine.suggest(prefix: "we met them in the zeph", limit: 3).first { $0.text == "zephyrine" }?.probability
        }
        let plain = try XCTUnwrap(try probability(boost: 1))
        let boosted = try XCTUnwrap(try probability(boost: 3))
        XCTAssertEqual(boosted / plain, 3, accuracy: 1e-3)
        XCTAssertThrowsError(try MixingWeights(parsing: "unknown=-1"))
    }
}

final class EngineDeclinedSuggestionTests: XCTestCase {
    /// A word offered before the first letter and passed over (the user typed that letter instead)
    /// goes behind the other words with that letter, and comes back first once the word changes.
    func testPassedOverWordsGoLastForTheSameWord() throws {
        let engine = try EngineFixture.engine(history: nil)
        let offered = engine.suggest(prefix: "see you at the ", limit: 3).map(\.text)
        let word = try XCTUnwrap(offered.first)
        let letter = String(word.prefix(1))
        let reference = try EngineFixture.engine(history: nil).suggest(prefix: "see you at the " + letter, limit: 3).map(\.text)
        guard reference.count >= 2, reference.first == word else {
            throw XCTSkip("the fixture's first word \(word) is not the top completion of \(letter) (\(reference))")
        }
        let after = engine.suggest(prefix: "see you at the " + letter, limit: 3).map(\.text)
        XCTAssertNotEqual(after.first, word, "\(after)")
        // Every declined word that is still shown comes after every fresh one.
        let declinedPositions = after.indices.filter { offered.contains(after[$0]) }
        let freshPositions = after.indices.filter { !offered.contains(after[$0]) }
        XCTAssertFalse(freshPositions.isEmpty, "\(after)")
        if let firstDeclined = declinedPositions.min(), let lastFresh = freshPositions.max() {
            XCTAssertGreaterThan(firstDeclined, lastFresh, "\(after) after declining \(offered)")
        }
        // Another word (a new context) starts fresh.
        XCTAssertEqual(engine.suggest(prefix: "see you at the " + letter + "x ", limit: 3),
                       try EngineFixture.engine(history: nil).suggest(prefix: "see you at the " + letter + "x ", limit: 3))
    }
}

extension EngineDeclinedSuggestionTests {
    /// Typing on while a word was offered does not always mean "not that word" (a user types
    /// "tomo" without reading the strip at "tom"): a passed-over word keeps `passedOver` of its
    /// score, so one far ahead of every other completion keeps the first slot (found from outside:
    /// the try-it page offered "tomorrows" before "tomorrow" for "See you tomo").
    func testAPassedOverWordFarAheadKeepsTheFirstSlot() throws {
        func firstAfterPassingOver(factor: Float) throws -> (offered: String?, after: String?) {
            var weights = MixingWeights()
            weights.user = 0.6
            weights.passedOver = factor
            let engine = try EngineFixture.engine(history: nil, weights: weights)
            for _ in 0..<30 { try engine.learn("we read about nasa") }
            let offered = engine.suggest(prefix: "we read about n", limit: 3).first?.text
            return (offered, engine.suggest(prefix: "we read about na", limit: 3).first?.text)
        }
        let kept = try firstAfterPassingOver(factor: MixingWeights().passedOver)
        XCTAssertEqual(kept.offered?.lowercased(), "nasa")
        XCTAssertEqual(kept.after?.lowercased(), "nasa", "far ahead of every other completion of na")
        let strict = try firstAfterPassingOver(factor: 0)
        XCTAssertEqual(strict.offered?.lowercased(), "nasa")
        XCTAssertNotEqual(strict.after?.lowercased(), "nasa", "with 0 a passed-over word goes behind every fresh one")
        XCTAssertNotNil(strict.after)
    }

    /// Typed past a second time, a word goes behind every fresh completion however far ahead it
    /// is: a user who read the strip twice does not want it, one who did not read it loses nothing.
    func testAWordTypedPastTwiceGoesBehindEveryFreshOne() throws {
        func firsts(again: Float) throws -> [String?] {
            var weights = MixingWeights()
            weights.user = 0.6
            weights.passedOverAgain = again
            let engine = try EngineFixture.engine(history: nil, weights: weights)
            for _ in 0..<30 { try engine.learn("we read about nasa") }
            return ["we read about ", "we read about n", "we read about na"].map {
                engine.suggest(prefix: $0, limit: 3).first?.text.lowercased()
            }
        }
        let defaults = try firsts(again: MixingWeights().passedOverAgain)
        XCTAssertEqual(defaults[0], "nasa")
        XCTAssertEqual(defaults[1], "nasa", "typed past once, far ahead: kept first")
        XCTAssertNotEqual(defaults[2], "nasa", "typed past twice")
        XCTAssertNotNil(defaults[2])
        XCTAssertEqual(try firsts(again: MixingWeights().passedOver)[2], "nasa", "one factor for every pass keeps it")
    }
}

final class EngineTieOrderTests: XCTestCase {
    /// Words outside the vocabulary that the document brought, with equal scores, come in text
    /// order: not in a dictionary's order, which changes from one process to the next and made the
    /// keystroke savings of the same text differ by a few keystrokes between runs.
    func testEqualScoresOfWordsOutsideTheVocabularyComeInTextOrder() throws {
        // θ = 0 and no fade: the document cache counts each remembered word alike, so the five tie.
        var weights = MixingWeights()
        weights.cacheTheta = 0
        weights.cacheDecay = 0
        let engine = try EngineFixture.engine(history: nil, withLexicon: false, weights: weights)
        let words = ["zzkd", "zzkb", "zzke", "zzka", "zzkc"]
        let suggestions = engine.suggest(prefix: words.joined(separator: " ") + " and zzk", limit: 5).map(\.text)
        XCTAssertEqual(suggestions, words.sorted())
    }
}
