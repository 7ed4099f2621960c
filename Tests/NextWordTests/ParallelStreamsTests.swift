import XCTest
@testable import NextWord

/// Batched evaluation: the same predictions as one stream, scored side by side.
final class ParallelStreamsTests: XCTestCase {
    private let boundary: Int32 = 1

    /// Lines of 3–11 random words (ids 2..<vocab), each ended by `boundary`, after a leading one.
    private func stream(lines: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var generator = SeededGenerator(seed: seed)
        var ids: [Int32] = [boundary]
        for _ in 0 ..< lines {
            for _ in 0 ..< 3 + Int(generator.next() % 9) { ids.append(Int32(2 + generator.next() % UInt64(vocab - 2))) }
            ids.append(boundary)
        }
        return ids
    }

    private func model(vocab: Int) throws -> LanguageModel {
        let config = ModelConfig(vocabularyFile: "t", vocabularySHA256: "", vocabSize: vocab, embeddingSize: 12,
                                 hiddenSize: 12, layers: 2, tied: true, tokenization: .pretokenized)
        return try LanguageModel.initialized(config: config, seed: 9)
    }

    func testThePlanScoresEveryPredictionOnceAndStartsPiecesAtLineStarts() {
        let ids = stream(lines: 400, vocab: 30, seed: 1)
        let plan = ParallelStreamPlan(stream: ids, boundary: boundary, streams: 8, warmUp: 20)
        XCTAssertEqual(plan.pieces.count, 8)
        XCTAssertEqual(plan.scoredCount, ids.count - 1)
        XCTAssertEqual(plan.pieces.first?.scoreStart, 0)
        XCTAssertEqual(plan.pieces.last?.end, ids.count - 1)
        for (previous, next) in zip(plan.pieces, plan.pieces.dropFirst()) {
            XCTAssertEqual(previous.end, next.scoreStart, "pieces must meet exactly")
            XCTAssertEqual(ids[next.feedStart], boundary, "warm-up starts at a line start")
            XCTAssertLessThanOrEqual(next.feedStart, next.scoreStart - 20)
        }
    }

    func testShortTextsStayOneStream() {
        let ids = stream(lines: 3, vocab: 30, seed: 2)
        XCTAssertEqual(ParallelStreamPlan(stream: ids, boundary: boundary, streams: 16, warmUp: 256).pieces.count, 1)
        XCTAssertTrue(ParallelStreamPlan(stream: [boundary], boundary: boundary, streams: 4, warmUp: 4).pieces.isEmpty)
    }

    /// The trainer's validation (10 streams) on a text of 15 tokens scored nothing and reported a
    /// perplexity of exactly 1 (found with `train --json` on a two-line file): a short text is cut
    /// into fewer streams, and a text with nothing to score has no perplexity.
    func testATextShorterThanItsStreamsIsStillScored() throws {
        let ids = Array(stream(lines: 3, vocab: 30, seed: 2).prefix(15))
        let lm = try model(vocab: 30)
        let scored = Perplexity.negativeLogLikelihood(model: lm, stream: ids, streams: 10)
        XCTAssertEqual(scored.count, 7, "7 streams of 2 tokens (one token left over), one prediction each")
        XCTAssertGreaterThan(Perplexity.perplexity(model: lm, stream: ids, streams: 10), 1)
        XCTAssertTrue(Perplexity.perplexity(model: lm, stream: [boundary], streams: 10).isNaN)
    }

    /// A warm-up reaching back to the start of the text: each piece sees exactly what the single
    /// stream saw, so the totals agree to rounding.
    func testWithFullContextTheTotalsAreTheOneStreamTotals() throws {
        let ids = stream(lines: 120, vocab: 40, seed: 3)
        let lm = try model(vocab: 40)
        let single = Perplexity.negativeLogLikelihood(model: lm, stream: ids, streams: 1, segment: 16)
        let batched = Perplexity.negativeLogLikelihood(model: lm, stream: ids, boundary: boundary, streams: 5,
                                                       warmUp: ids.count, segment: 16)
        XCTAssertEqual(batched.count, single.count)
        XCTAssertEqual(batched.nll, single.nll, accuracy: 1e-4 * single.nll)
    }

    /// `eval`'s progress line: each way of scoring reports rising figures that end at the total,
    /// and reporting changes nothing scored.
    func testProgressRisesToTheTotalAndChangesNothing() throws {
        let ids = stream(lines: 60, vocab: 40, seed: 5)
        let lm = try model(vocab: 40)
        var seen: [[(Int, Int)]] = [[], [], []]
        let single = Perplexity.negativeLogLikelihood(model: lm, stream: ids, streams: 1, segment: 16) { seen[0].append(($0, $1)) }
        let batched = Perplexity.negativeLogLikelihood(model: lm, stream: ids, boundary: boundary, streams: 4, segment: 16) {
            seen[1].append(($0, $1))
        }
        _ = AdaptiveEvaluation(window: 50).evaluate(model: lm, stream: ids) { seen[2].append(($0, $1)) }
        XCTAssertEqual(single.nll, Perplexity.negativeLogLikelihood(model: lm, stream: ids, streams: 1, segment: 16).nll)
        XCTAssertEqual(batched.nll, Perplexity.negativeLogLikelihood(model: lm, stream: ids, boundary: boundary, streams: 4, segment: 16).nll)
        for reports in seen {
            XCTAssertGreaterThan(reports.count, 1)
            XCTAssertEqual(reports.map(\.0), reports.map(\.0).sorted(), "rising")
            XCTAssertEqual(reports.last?.0, reports.last?.1, "ends at the total")
        }
    }

    /// The default warm-up: the same counts, and a total within a hair of the single stream's.
    func testWithAWarmUpTheTotalsStayClose() throws {
        let ids = stream(lines: 300, vocab: 40, seed: 4)
        let lm = try model(vocab: 40)
        let single = Perplexity.negativeLogLikelihood(model: lm, stream: ids, streams: 1, segment: 32)
        let batched = Perplexity.negativeLogLikelihood(model: lm, stream: ids, boundary: boundary, streams: 6,
                                                       warmUp: 40, segment: 32)
        XCTAssertEqual(batched.count, single.count)
        XCTAssertEqual(batched.nll, single.nll, accuracy: 1e-3 * single.nll)
    }

    func testUnscoredTargetsAddNoLossAndNoGradient() {
        // Two rows: one scored, one context (−1).
        var logits: [Float] = [1, 2, 3, 4, 5, 6]
        let targets: [Int32] = [2, -1]
        let loss = softmaxCrossEntropy(rows: 2, vocab: 3, logits: &logits, targets: targets, gradientScale: 1)
        let expected = -(3.0 - log(exp(1.0) + exp(2.0) + exp(3.0)))
        XCTAssertEqual(loss, expected, accuracy: 1e-5)
        XCTAssertEqual(Array(logits[3...]), [0, 0, 0])
    }
}

/// `eval --adapt`'s cache: with λ = 0 it is the single-stream perplexity; on a text that repeats
/// itself the cache helps.
final class AdaptiveEvaluationTests: XCTestCase {
    func testLambdaZeroIsThePlainScoreAndRepetitionIsRewarded() throws {
        let config = ModelConfig(vocabularyFile: "t", vocabularySHA256: "", vocabSize: 30, embeddingSize: 8,
                                 hiddenSize: 8, layers: 1, tied: true, tokenization: .pretokenized)
        let model = try LanguageModel.initialized(config: config, seed: 5)
        let phrase: [Int32] = [1, 7, 12, 19, 4, 23, 9]
        let stream = Array((0 ..< 30).flatMap { _ in phrase })
        let single = Perplexity.negativeLogLikelihood(model: model, stream: stream, streams: 1)
        let off = AdaptiveEvaluation(window: 100, theta: 0.5, lambda: 0).evaluate(model: model, stream: stream)
        XCTAssertEqual(off.count, single.count)
        XCTAssertEqual(off.plainNLL, single.nll, accuracy: 1e-3 * single.nll)
        XCTAssertEqual(off.adaptedNLL, off.plainNLL, accuracy: 1e-6 * single.nll)
        let on = AdaptiveEvaluation(window: 100, theta: 0.5, lambda: 0.3).evaluate(model: model, stream: stream)
        XCTAssertLessThan(on.adaptedPerplexity, on.perplexity * 0.7, "an untrained model on a repeated phrase: the cache must help")
    }

    /// Dynamic evaluation of the biases learns a repeated phrase as it goes; the trained weights stay.
    func testDynamicEvaluationOfTheBiasesLearnsAsItReads() throws {
        let config = ModelConfig(vocabularyFile: "t", vocabularySHA256: "", vocabSize: 30, embeddingSize: 8,
                                 hiddenSize: 8, layers: 1, tied: true, tokenization: .pretokenized)
        let model = try LanguageModel.initialized(config: config, seed: 6)
        let phrase: [Int32] = [1, 7, 12, 19, 4, 23, 9, 9, 2]
        let stream = Array((0 ..< 60).flatMap { _ in phrase })
        var still = AdaptiveEvaluation(window: 100, theta: 0.5, lambda: 0)
        still.segment = 16
        var moving = still
        moving.dynamicRate = 2
        let a = still.evaluate(model: model, stream: stream), b = moving.evaluate(model: model, stream: stream)
        XCTAssertEqual(a.count, b.count)
        XCTAssertLessThan(b.adaptedPerplexity, a.adaptedPerplexity * 0.9)
        XCTAssertEqual(model.parameters, try LanguageModel.initialized(config: config, seed: 6).parameters, "the model itself is not changed")
    }
}
