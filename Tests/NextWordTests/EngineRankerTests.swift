import Foundation
import XCTest
@testable import NextWord

/// The engine as its sources and its ranker: every suggestion's probability is the mixture of
/// `MixingWeights`' formula, computed here from each source's own distribution.
final class EngineRankerTests: XCTestCase {
    func testEverySuggestionIsTheMixtureOfItsSources() throws {
        let engine = try EngineFixture.engine()
        for line in ["we met them in the park", "we met them in the office", "the park is nice"] { try engine.learn(line) }
        let field = engine.makeSession()
        let prefix = "I think we met them in the "
        let suggestions = engine.suggest(prefix: prefix, limit: 8, in: field)
        XCTAssertEqual(suggestions.count, 8)

        let check = engine.lock.withLock { () -> [(word: String, expected: Double)] in
            let entry = engine.contextEntry(for: Array(prefix.utf8), in: field)
            // The corpus row: the two dense sources with their fixed shares (`MixingWeights`).
            guard case .dense(let lstm) = engine.languageModel.distribution(after: entry.context),
                  let kneserNey = engine.kneserNey, case .dense(let kn) = kneserNey.distribution(after: entry.context) else {
                XCTFail("the corpus models are dense")
                return []
            }
            // Their log-linear product and linear mixture, in Double from the two rows.
            let (share, geometric, exponent) = (Double(engine.weights.ngram), Double(engine.weights.geometricShare),
                                                Double(engine.weights.geometricNgram))
            XCTAssertGreaterThan(geometric, 0)
            let product = zip(lstm, kn).map { exp((1 - exponent) * log(Double($0)) + exponent * log(Double($1))) }
            let z = product.reduce(0, +)
            var total = 0.0
            for id in lstm.indices {
                let expected = geometric * product[id] / z + (1 - geometric) * ((1 - share) * Double(lstm[id]) + share * Double(kn[id]))
                XCTAssertEqual(Double(entry.corpus[id]), expected, accuracy: 1e-6 * max(expected, 1e-3), "word \(id)")
                total += Double(entry.corpus[id])
            }
            XCTAssertEqual(total, 1, accuracy: 1e-4, "the corpus row is a distribution")
            let shares = engine.shares(after: entry)
            XCTAssertEqual(shares.map(\.source.kind), [.documentCache, .userHistory, .userCache])
            XCTAssertTrue(shares.allSatisfy { $0.weight > 0 }, "each sparse source has something to say here")
            let corpusWeight = 1 - shares.reduce(0) { $0 + Double($1.weight) }
            return suggestions.map { suggestion in
                let word = suggestion.text.lowercased()
                var p = corpusWeight * Double(engine.corpusProbability(of: word, after: entry))
                // A sparse source adds what its distribution after the context holds (at a word
                // boundary there are no typed letters, so no rarer completions).
                for (source, weight) in shares { p += Double(weight) * Double(entry.distribution(of: source)[word] ?? 0) }
                return (word, p)
            }
        }
        for (suggestion, item) in zip(suggestions, check) {
            XCTAssertEqual(suggestion.probability, item.expected, accuracy: 1e-6, item.word)
        }
        // In order of that probability.
        XCTAssertEqual(suggestions.map(\.probability), suggestions.map(\.probability).sorted(by: >))
        XCTAssertTrue(suggestions.contains { $0.text == "park" && $0.source == .both }, "\(suggestions)")
    }

    /// The strip holds the words that would save most: with the power 0 the most probable, with
    /// a large power longer words in place of more probable short ones; shown most probable first,
    /// with the same probabilities either way.
    func testTheStripWeighsTheLettersLeft() throws {
        func strip(_ power: Float, limit: Int) throws -> [Suggestion] {
            var weights = MixingWeights()
            weights.lettersLeft = power
            let engine = try EngineFixture.engine(weights: weights)
            return engine.suggest(prefix: "I think we met them in the ", limit: limit, in: engine.makeSession())
        }
        let plain = try strip(0, limit: 3), savings = try strip(4, limit: 3), ranked = try strip(0, limit: 12)
        for list in [plain, savings] { XCTAssertEqual(list.map(\.probability), list.map(\.probability).sorted(by: >)) }
        XCTAssertEqual(plain.map(\.text), Array(ranked.prefix(3).map(\.text)))
        // With the power 4: the three of the twelve most probable with the largest p · letters⁴.
        let expected = ranked.sorted { $0.probability * pow(Double($0.text.count), 4) > $1.probability * pow(Double($1.text.count), 4) }
        XCTAssertEqual(Set(savings.map(\.text)), Set(expected.prefix(3).map(\.text)), "\(ranked)")
        XCTAssertNotEqual(Set(plain.map(\.text)), Set(savings.map(\.text)), "a power this large must change \(plain)")
        for suggestion in savings {
            let same = try XCTUnwrap(ranked.first { $0.text == suggestion.text })
            XCTAssertEqual(suggestion.probability, same.probability, accuracy: 1e-9, suggestion.text)
        }
    }
}

final class PossessiveVariantTests: XCTestCase {
    private func completions(after text: String, typing partial: String, possessive: Float) throws -> [String] {
        var weights = MixingWeights()
        weights.possessive = possessive
        let engine = try EngineFixture.engine(weights: weights)
        XCTAssertNil(engine.bundle.vocabulary.id("zorblatt"), "the fixture must not know the word")
        return engine.suggest(prefix: text + partial, limit: 3, in: engine.makeSession()).map { $0.text.lowercased() }
    }

    func testAPossessiveLendsItsStemAndAStemItsPossessive() throws {
        let possessive = "we met zorblatt's friends in the park and "
        XCTAssertTrue(try completions(after: possessive, typing: "zor", possessive: 0.1).contains("zorblatt"))
        XCTAssertFalse(try completions(after: possessive, typing: "zor", possessive: 0).contains("zorblatt"))

        let stem = "we met zorblatt in the park and then "
        XCTAssertTrue(try completions(after: stem, typing: "zorblatt", possessive: 0.1).contains("zorblatt's"))
        XCTAssertFalse(try completions(after: stem, typing: "zorblatt", possessive: 0).contains("zorblatt's"))
    }

    /// The lent form is written as the user writes the other one: a name stays a name.
    func testTheLentFormIsCasedLikeTheFormItCameFrom() throws {
        let engine = try EngineFixture.engine()
        for _ in 0..<2 { try engine.learn("we met Zorblatt at the park") }
        let texts = engine.suggest(prefix: "then we saw zorblatt", limit: 3, in: engine.makeSession()).map(\.text)
        XCTAssertTrue(texts.contains("Zorblatt's"), "\(texts)")
    }
}

/// A word typed past a hyphen is completed from the words that may follow its head: "the-pa"
/// offers "the-park" where no whole word starts with those letters.
final class CompoundSuggestionTests: XCTestCase {
    func testThePartAfterAHyphenIsCompletedAsTheWordAfterItsHead() throws {
        let engine = try EngineFixture.engine()
        for line in ["we met them in the park", "the park is nice"] { try engine.learn(line) }
        let field = engine.makeSession()
        let compound = engine.suggest(prefix: "we met them in the-pa", limit: 3, in: field)
        XCTAssertEqual(compound.first?.text, "the-park", "\(compound)")
        // Its probability is the part's after the head, as the plain word would have it.
        let plain = engine.suggest(prefix: "we met them in the pa", limit: 3, in: engine.makeSession())
        let park = try XCTUnwrap(plain.first { $0.text == "park" })
        XCTAssertEqual(compound.first?.probability ?? 0, park.probability, accuracy: 1e-9)
        // Without a hyphen nothing is joined.
        XCTAssertFalse(engine.suggest(prefix: "we met them in the pa", limit: 3, in: field).contains { $0.text.contains("-") })
    }

    func testACompoundTypedPastIsNotOfferedFirstAgain() throws {
        let engine = try EngineFixture.engine()
        for line in ["we met them in the park", "the park is nice", "the parade was long"] { try engine.learn(line) }
        let field = engine.makeSession()
        let first = engine.suggest(prefix: "we met them in the-pa", limit: 1, in: field)
        let offered = try XCTUnwrap(first.first?.text)
        XCTAssertTrue(offered.lowercased().hasPrefix("the-par"), "\(first)")
        // The user typed on past it: the next letter offers another compound first, as it would a whole word.
        let next = engine.suggest(prefix: "we met them in the-par", limit: 1, in: field)
        XCTAssertNotEqual(next.first?.text, offered, "\(next)")
        XCTAssertTrue(next.first?.text.lowercased().hasPrefix("the-par") ?? false, "\(next)")
        // A new field has passed over nothing.
        XCTAssertEqual(engine.suggest(prefix: "we met them in the-par", limit: 1, in: engine.makeSession()).first?.text, offered)
    }
}

/// A capital typed mid-sentence re-weighs the candidates by how often each is written with one.
final class CapitalTypedTests: XCTestCase {
    private func scores(_ prefix: String, capital: Float) throws -> [String: Double] {
        var weights = MixingWeights()
        weights.capital = capital
        let engine = try EngineFixture.engine(weights: weights)
        var result: [String: Double] = [:]
        for s in engine.suggest(prefix: prefix, limit: 10, in: engine.makeSession()) { result[s.text.lowercased()] = s.probability }
        return result
    }

    func testACapitalMidSentenceFavoursNamesByTheirCounts() throws {
        // Lexicon: "Paris" 6 times, all capitalised; "park" once, lowercase. Likelihoods with half an
        // occurrence each way: (0.5 + 6) / 7 and 0.5 / 2.
        let expected = ((0.5 + 6) / 7) / (0.5 / 2)
        let plain = try scores("we met them near the Pa", capital: 0)
        let weighed = try scores("we met them near the Pa", capital: 1)
        let before = try XCTUnwrap(plain["paris"]) / XCTUnwrap(plain["park"])
        let after = try XCTUnwrap(weighed["paris"]) / XCTUnwrap(weighed["park"])
        XCTAssertEqual(after / before, expected, accuracy: 1e-3 * expected)
        // The default power is a square root of it.
        let tempered = try scores("we met them near the Pa", capital: 0.5)
        XCTAssertEqual(try XCTUnwrap(tempered["paris"]) / XCTUnwrap(tempered["park"]) / before, expected.squareRoot(), accuracy: 1e-3)
        // Lowercase letters, a sentence's start and all capitals say nothing of the kind.
        for prefix in ["we met them near the pa", "We met them. Pa", "we met them near the PA"] {
            let a = try scores(prefix, capital: 0), b = try scores(prefix, capital: 1)
            XCTAssertEqual(try XCTUnwrap(b["paris"]) / XCTUnwrap(b["park"]), try XCTUnwrap(a["paris"]) / XCTUnwrap(a["park"]),
                           accuracy: 1e-6, prefix)
        }
    }
}

