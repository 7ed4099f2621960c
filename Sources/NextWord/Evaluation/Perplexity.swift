import Foundation

/// Scores of a model on a token stream, counted as KenLM counts them: every token of a line and one
/// `</s>` per line are predicted; the line's start is context only.
public struct PerplexityResult: Codable, Sendable, Equatable {
    /// Words in the text (not counting `</s>`).
    public var tokens: Int
    /// Lines (each adds one scored `</s>`).
    public var sentences: Int
    /// Words outside the vocabulary, scored as `<unk>`.
    public var outOfVocabulary: Int
    /// Predictions scored: tokens + sentences.
    public var scored: Int
    /// Σ log10 p over the scored predictions (KenLM's unit).
    public var log10Probability: Double
    /// exp(−Σ ln p / scored).
    public var perplexity: Double
    public var seconds: Double
    public var tokensPerSecond: Double
    /// With `eval --adapt`: the perplexity with the neural cache (`AdaptiveEvaluation`).
    public var adaptedPerplexity: Double?

    enum CodingKeys: String, CodingKey {
        case tokens, sentences, outOfVocabulary, scored, log10Probability, perplexity, seconds, tokensPerSecond
        case adaptedPerplexity = "adapted_perplexity"
    }

    public init(tokens: Int, sentences: Int, outOfVocabulary: Int, scored: Int, log10Probability: Double,
                perplexity: Double, seconds: Double, tokensPerSecond: Double) {
        self.tokens = tokens; self.sentences = sentences; self.outOfVocabulary = outOfVocabulary
        self.scored = scored; self.log10Probability = log10Probability; self.perplexity = perplexity
        self.seconds = seconds; self.tokensPerSecond = tokensPerSecond
    }
}

/// Runs a model over long streams in segments, carrying the state, with no dropout.
public enum Perplexity {
    /// Mean negative log-likelihood (natural log) of `stream[1...]` given what precedes, and the
    /// number of predictions. With `streams` > 1 the text is cut into that many parallel pieces
    /// (each piece's first token is then context only), which is faster and is what validation
    /// during training uses; `streams` = 1 scores every token after the first exactly.
    ///   stream  [N] token ids; stream[0] is context (`</s>`, the start of a line)
    ///   progress  told (predictions scored, predictions in all) after each segment
    package static func negativeLogLikelihood(model: LanguageModel, stream: [Int32], streams: Int = 1,
                                             segment: Int = 128, threads: Int = 1,
                                             progress: ((Int, Int) -> Void)? = nil) -> (nll: Double, count: Int) {
        // Each stream needs two tokens to score one: a short text (a tiny validation file) is cut
        // into fewer streams rather than scored not at all.
        let b = max(1, min(streams, stream.count / 2))
        let columns = stream.count / b
        guard columns > 1 else { return (0, 0) }
        let pass = NetworkPass<Float>(config: model.config)
        let packed = PackedModel(model: model)  // the weights stay as they are until the end
        let ws = SegmentWorkspace<Float>(config: model.config, steps: segment, batch: b)
        var tail: SegmentWorkspace<Float>?
        var state = RecurrentState<Float>(config: model.config, batch: b)
        var inputs = [Int32](repeating: 0, count: segment * b), targets = inputs
        var total = 0.0, count = 0, position = 0
        while position < columns - 1 {
            let steps = min(segment, columns - 1 - position)
            for t in 0 ..< steps {
                for s in 0 ..< b {
                    inputs[t * b + s] = stream[s * columns + position + t]
                    targets[t * b + s] = stream[s * columns + position + t + 1]
                }
            }
            let workspace: SegmentWorkspace<Float>
            if steps == segment {
                workspace = ws
            } else {
                workspace = tail ?? SegmentWorkspace<Float>(config: model.config, steps: steps, batch: b)
                tail = workspace
            }
            total += pass.score(parameters: model.parameters, inputs: inputs, targets: targets, state: &state,
                                workspace: workspace, threads: threads, packed: packed)
            count += steps * b
            position += steps
            progress?(count, (columns - 1) * b)
        }
        return (total, count)
    }

    /// Perplexity of `stream` from its nll; see `negativeLogLikelihood`.
    package static func perplexity(model: LanguageModel, stream: [Int32], streams: Int = 1, threads: Int = 1) -> Double {
        let (nll, count) = negativeLogLikelihood(model: model, stream: stream, streams: streams, threads: threads)
        return count == 0 ? .nan : exp(nll / Double(count))  // nothing scored is not a perfect score
    }
}
