import Foundation
import XCTest
@testable import NextWord

/// The Kneser-Ney model: the formula worked by hand on tiny corpora, normalization, perplexity,
/// pruning (the file format's tests are `NGramStorageTests`).
final class NGramTests: XCTestCase {
    /// A toy language over ids 1...29 (0 is `</s>`): subject, verb, object, sometimes an adverb,
    /// where the verb depends on the subject and the object on the verb, so context helps.
    static func toyCorpus(sentences count: Int, seed: UInt64) -> [[Int]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            let subject = 1 + Int(rng.next() % 5)
            let verb = 6 + (subject + Int(rng.next() % 2)) % 5
            let object = 11 + (verb * 3 + Int(rng.next() % 3)) % 10
            var s = [subject, verb, object]
            if rng.next() % 3 == 0 { s.append(21 + Int(rng.next() % 9)) }
            return s
        }
    }

    static func toyModel(order: Int = 3, minCount: Int = 1) throws -> NGramModel {
        try NGramModel.build(sentences: toyCorpus(sentences: 300, seed: 7), vocabSize: 31, endOfSentence: 0,
                             order: order, minCount: minCount)
    }

    // MARK: The formula by hand

    func testDiscountEstimateByHand() {
        // n = 100, 40, 20, 10: Y = 100 / 180 = 5/9;
        // D1 = 1 - 2 Y 40/100 = 5/9, D2 = 2 - 3 Y 20/40 = 7/6, D3+ = 3 - 4 Y 10/20 = 17/9.
        let d = NGramDiscounts.estimate(countOfCounts: [100, 40, 20, 10])
        XCTAssertEqual(d.d1, 5.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(d.d2, 7.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(d.d3Plus, 17.0 / 9, accuracy: 1e-12)
        XCTAssertEqual(d(0), 0)
        XCTAssertEqual(d(7), 17.0 / 9, accuracy: 1e-12)
        // n3 = 0 makes D3+ 0/0; n = 3, 1, 2: D2 = 2 - 3 (3/5) 2 = -1.6 < 0: both fall back.
        XCTAssertEqual(NGramDiscounts.estimate(countOfCounts: [2, 2, 0, 0]), .fallback)
        XCTAssertEqual(NGramDiscounts.estimate(countOfCounts: [3, 1, 2, 0]), .fallback)
    }

    func testBigramMatchesHandComputedKneserNey() throws {
        // ids: 0 </s>, 1 a, 2 b, 3 c, 4 d (never seen). Sentences "a b", "a b", "a c", "b":
        //   </s> a b </s> | </s> a b </s> | </s> a c </s> | </s> b </s>
        // Bigram counts (highest order: adjusted = raw), by context:
        //   </s>: a 3, b 1 (total 4)   a: b 2, c 1 (3)   b: </s> 3 (3)   c: </s> 1 (1)
        //   count-of-counts 3, 1, 2, 0 -> D2 = -1.6: fallback D = 0.5, 1, 1.5.
        // Unigram continuation counts (distinct left neighbours): </s> 2 {b, c}, a 1 {</s>},
        //   b 2 {a, </s>}, c 1 {a}, d 0; total 6; count-of-counts 2, 2, 0, 0 -> fallback.
        //   gamma_1 = (0.5 * 2 + 1 * 2) / 6 = 1/2, spread as 1/2 * 1/5 = 1/10 over the 5 ids:
        //   p1(</s>) = p1(b) = (2 - 1)/6 + 1/10 = 4/15, p1(a) = p1(c) = 0.5/6 + 1/10 = 11/60, p1(d) = 1/10.
        // Context </s>: alpha(a) = (3 - 1.5)/4 = 3/8, alpha(b) = (1 - 0.5)/4 = 1/8,
        //   gamma = (0.5 * 1 + 1.5 * 1)/4 = 1/2:
        //   p(a | </s>) = 3/8 + 1/2 * 11/60 = 7/15, p(b | </s>) = 1/8 + 1/2 * 4/15 = 31/120,
        //   p(d | </s>) = 1/2 * 1/10 = 1/20, p(c | </s>) = 11/120, p(</s> | </s>) = 2/15 (sum 1).
        // Context a: alpha(b) = (2 - 1)/3, alpha(c) = 0.5/3, gamma = (0.5 + 1)/3 = 1/2:
        //   p(b | a) = 1/3 + 2/15 = 7/15, p(c | a) = 1/6 + 11/120 = 31/120.
        // Context b: alpha(</s>) = 1.5/3 = 1/2, gamma = 1.5/3 = 1/2: p(</s> | b) = 1/2 + 2/15 = 19/30.
        // Context d (unseen): p(w | d) = p1(w).
        let m = try NGramModel.build(sentences: [[1, 2], [1, 2], [1, 3], [2]], vocabSize: 5, endOfSentence: 0, order: 2)
        XCTAssertEqual(m.discounts, [.fallback, .fallback])
        let expected: [(word: Int, context: [Int], p: Double)] = [
            (0, [], 4.0 / 15), (1, [], 11.0 / 60), (2, [], 4.0 / 15), (3, [], 11.0 / 60), (4, [], 1.0 / 10),
            (1, [0], 7.0 / 15), (2, [0], 31.0 / 120), (4, [0], 1.0 / 20), (3, [0], 11.0 / 120), (0, [0], 2.0 / 15),
            (2, [1], 7.0 / 15), (3, [1], 31.0 / 120), (0, [2], 19.0 / 30), (1, [4], 11.0 / 60),
            (1, [2, 0], 7.0 / 15),  // only the last id matters for a bigram model
        ]
        for e in expected {
            XCTAssertEqual(m.probability(of: e.word, context: e.context), e.p, accuracy: 1e-6, "p(\(e.word) | \(e.context))")
        }
        XCTAssertEqual(m.ngramCounts, [5, 6])
    }

    func testSentenceStartNGramsKeepRawCountsInATrigram() throws {
        // ids 0 </s>, 1 a, 2 b; three sentences "a": </s> a </s> three times.
        // Trigram </s> a </s>: 3. Bigrams: (</s>, a) starts a sentence, so it keeps its raw count 3
        // (a continuation count would be 0: nothing precedes the start); (a, </s>): 1 distinct left.
        // Every order falls back to D = 0.5, 1, 1.5 (too few counts).
        // Unigrams: a 1 {</s>}, </s> 1 {a}, total 2, gamma 0.5/2 * 2 = 1/2:
        //   p1(a) = p1(</s>) = 0.5/2 + 1/6 = 5/12, p1(b) = 1/6.
        // p(a | </s>) = (3 - 1.5)/3 + (1.5/3) * 5/12 = 1/2 + 5/24 = 17/24.
        // p(</s> | a) = (1 - 0.5)/1 + 0.5 * 5/12 = 17/24;
        // p(</s> | </s> a) = (3 - 1.5)/3 + 1/2 * 17/24 = 41/48.
        let m = try NGramModel.build(sentences: [[1], [1], [1]], vocabSize: 3, endOfSentence: 0, order: 3)
        XCTAssertEqual(m.probability(of: 1, context: [0]), 17.0 / 24, accuracy: 1e-6)
        XCTAssertEqual(m.probability(of: 0, context: [1]), 17.0 / 24, accuracy: 1e-6)
        XCTAssertEqual(m.probability(of: 0, context: [0, 1]), 41.0 / 48, accuracy: 1e-6)
        XCTAssertEqual(m.probability(of: 2, context: []), 1.0 / 6, accuracy: 1e-6)
    }

    // MARK: Normalization and queries

    func testDistributionsSumToOneAndAgreeWithProbability() throws {
        for (order, minCount) in [(2, 1), (3, 1), (4, 1), (3, 3)] {
            let m = try Self.toyModel(order: order, minCount: minCount)
            let contexts: [[Int]] = [[], [0], [0, 1], [1, 6], [0, 1, 7], [6, 14], [30, 30], [29, 1, 2, 3], [5, -1, 2], [99]]
            var scores: [Float] = []
            for context in contexts {
                m.distribution(context: context, into: &scores)
                XCTAssertEqual(scores.count, 31)
                let sum = scores.reduce(0.0) { $0 + Double($1) }
                XCTAssertEqual(sum, 1, accuracy: 1e-4, "order \(order) min \(minCount) context \(context)")
                for w in 0..<31 {
                    XCTAssertEqual(Double(scores[w]), m.probability(of: w, context: context), accuracy: 1e-6)
                }
            }
        }
        XCTAssertEqual(try Self.toyModel().probability(of: 31, context: []), 0)
        XCTAssertEqual(try Self.toyModel().probability(of: -1, context: []), 0)
    }

    func testTopCandidatesFollowTheContext() throws {
        let toy = try Self.toyModel()
        // Subject 1 is followed by verb 7 or 8 only (6 + (1 + {0,1}) % 5).
        let top = toy.topCandidates(context: [0, 1], limit: 2)
        XCTAssertEqual(Set(top.map(\.word)), [7, 8])
        XCTAssertGreaterThanOrEqual(top[0].probability, top[1].probability)
        XCTAssertEqual(Double(top[0].probability), toy.probability(of: top[0].word, context: [0, 1]), accuracy: 1e-6)
        XCTAssertEqual(toy.topCandidates(context: [0], limit: 40).count, 31)
        XCTAssertTrue(toy.topCandidates(context: [0], limit: 0).isEmpty)
    }

    func testPerplexityOnTrainingTextIsBelowUnigram() throws {
        let corpus = Self.toyCorpus(sentences: 300, seed: 7)
        let toy = try Self.toyModel()
        let tokens = Double(corpus.reduce(0) { $0 + $1.count + 1 })
        let trigram = exp(-corpus.reduce(0.0) { $0 + toy.logProbability(ofSentence: $1) } / tokens)
        // The unigram model: every token scored with an empty context.
        var unigramLog = 0.0
        for s in corpus { for w in s + [0] { unigramLog += log(toy.probability(of: w, context: [])) } }
        let unigram = exp(-unigramLog / tokens)
        XCTAssertLessThan(trigram, unigram * 0.6, "trigram \(trigram) vs unigram \(unigram)")
        XCTAssertGreaterThan(trigram, 1)
        // Held-out text of the same language is predicted about as well.
        let heldOut = Self.toyCorpus(sentences: 100, seed: 99)
        let heldTokens = Double(heldOut.reduce(0) { $0 + $1.count + 1 })
        let heldPerplexity = exp(-heldOut.reduce(0.0) { $0 + toy.logProbability(ofSentence: $1) } / heldTokens)
        XCTAssertLessThan(heldPerplexity, unigram * 0.7)
    }

    func testPruningDropsRareNGramsAndKeepsTheMassInTheBackoff() throws {
        // ids 0 </s>, 1 a, 2 b, 3 c; "a b" 3 times, "a c" once. With minCount 2 the bigram a c
        // (count 1) is dropped and its alpha moves into gamma(a).
        // Unigram continuation counts: </s> 2 {b, c}, a 1, b 1, c 1; total 5; fallback discounts;
        //   gamma_1 = (0.5 * 3 + 1 * 1)/5 = 1/2, 1/8 each:
        //   p1(</s>) = 1/5 + 1/8 = 0.325, p1(a) = p1(b) = p1(c) = 0.1 + 0.125 = 0.225.
        // Context a: b 3, c 1, total 4: alpha(b) = 1.5/4 = 0.375, alpha(c) = 0.5/4 = 0.125,
        //   gamma = (1.5 + 0.5)/4 = 0.5.
        //   Full:   p(b | a) = 0.375 + 0.5 * 0.225 = 0.4875,   p(c | a) = 0.125 + 0.1125 = 0.2375.
        //   Pruned: gamma = 0.5 + 0.125 = 0.625: p(b | a) = 0.375 + 0.625 * 0.225 = 0.515625,
        //           p(c | a) = 0.625 * 0.225 = 0.140625, p(</s> | a) = 0.625 * 0.325 = 0.203125.
        let sentences = [[1, 2], [1, 2], [1, 2], [1, 3]]
        let full = try NGramModel.build(sentences: sentences, vocabSize: 4, endOfSentence: 0, order: 2)
        let pruned = try NGramModel.build(sentences: sentences, vocabSize: 4, endOfSentence: 0, order: 2, minCount: 2)
        XCTAssertEqual(full.ngramCounts, [4, 5])
        XCTAssertEqual(pruned.ngramCounts, [4, 3], "a c and c </s> (count 1) are dropped")
        XCTAssertEqual(full.probability(of: 2, context: [1]), 0.4875, accuracy: 1e-6)
        XCTAssertEqual(full.probability(of: 3, context: [1]), 0.2375, accuracy: 1e-6)
        XCTAssertEqual(pruned.probability(of: 2, context: [1]), 0.515625, accuracy: 1e-6)
        XCTAssertEqual(pruned.probability(of: 3, context: [1]), 0.140625, accuracy: 1e-6)
        XCTAssertEqual(pruned.probability(of: 0, context: [1]), 0.203125, accuracy: 1e-6)
        // Context c lost its only bigram: it backs off to the unigram entirely.
        XCTAssertEqual(pruned.probability(of: 0, context: [3]), 0.325, accuracy: 1e-6)
        var scores: [Float] = []
        pruned.distribution(context: [1], into: &scores)
        XCTAssertEqual(scores.reduce(0.0) { $0 + Double($1) }, 1, accuracy: 1e-6)
    }

    func testInvalidBuildArgumentsAreTypedErrors() {
        func expectInvalid(_ build: @autoclosure () throws -> NGramModel, line: UInt = #line) {
            XCTAssertThrowsError(try build(), line: line) { error in
                guard case .invalidArgument = error as? NGramError else { return XCTFail("\(error)", line: line) }
            }
        }
        expectInvalid(try NGramModel.build(sentences: [[1]], vocabSize: 3, endOfSentence: 0, order: 1))
        expectInvalid(try NGramModel.build(sentences: [[1]], vocabSize: 3, endOfSentence: 0, order: 5))
        expectInvalid(try NGramModel.build(sentences: [[1]], vocabSize: 3, endOfSentence: 3))
        expectInvalid(try NGramModel.build(sentences: [[1, 3]], vocabSize: 3, endOfSentence: 0))
        expectInvalid(try NGramModel.build(sentences: [[-1]], vocabSize: 3, endOfSentence: 0))
        expectInvalid(try NGramModel.build(sentences: [[1]], vocabSize: 70_000, endOfSentence: 0, order: 4))
        XCTAssertNoThrow(try NGramModel.build(sentences: [[1]], vocabSize: 70_000, endOfSentence: 0, order: 3))
    }

    func testStreamSplitsAtEndOfSentence() throws {
        let fromStream = try NGramModel.build(stream: [0, 1, 2, 0, 0, 1, 3, 0, 2], vocabSize: 4, endOfSentence: 0)
        let fromSentences = try NGramModel.build(sentences: [[1, 2], [1, 3], [2]], vocabSize: 4, endOfSentence: 0)
        XCTAssertEqual(fromStream, fromSentences)
    }
}
