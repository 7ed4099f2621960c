/// One long token stream scored as B parallel streams, so every matrix product has B rows a step
/// instead of one (evaluation of natural text was one stream: about 3,500 tokens/s).
///
/// The stream is cut into B consecutive pieces, at line starts where one is near. Each piece is
/// scored with the state carried through it, and starts from a zero state `warmUp` tokens or more
/// before its first scored token (at a line start): those tokens are read as context and not scored,
/// so the piece sees what the single stream would have seen, up to what an LSTM keeps from hundreds
/// of tokens back. Every prediction of the one-stream scoring is made exactly once: the counts are
/// identical, and with a warm-up that reaches the start of the text the sums are too.
struct ParallelStreamPlan: Equatable {
    struct Piece: Equatable {
        /// Index of the first token fed (a zero state before it).
        var feedStart: Int
        /// Targets at indices ≤ scoreStart are context; (scoreStart, end] are scored.
        var scoreStart: Int
        var end: Int
        var length: Int { end - feedStart }
    }

    var pieces: [Piece]

    /// Cuts `stream` (whose token `boundary` ends each line) into at most `streams` pieces, each with
    /// at least `4 · warmUp` scored tokens so the warm-up stays a small overhead.
    init(stream: [Int32], boundary: Int32, streams: Int, warmUp: Int) {
        let last = stream.count - 1
        guard last > 0 else { pieces = []; return }
        let count = max(1, min(streams, last / max(1, 4 * warmUp)))
        // Line starts: a piece's scoring and feeding begin after a `boundary` token.
        let starts = stream.indices.filter { stream[$0] == boundary }
        func lineStart(atOrBefore index: Int) -> Int {
            // starts is sorted: the last entry ≤ index, else 0.
            var low = 0, high = starts.count
            while low < high { let mid = (low + high) / 2; if starts[mid] <= index { low = mid + 1 } else { high = mid } }
            return low == 0 ? 0 : starts[low - 1]
        }
        var cuts = [0]
        for k in 1 ..< count {
            let ideal = last * k / count
            let snapped = lineStart(atOrBefore: ideal)
            // Keep the piece near its share: a line start within an eighth of a piece, else cut mid-line.
            let cut = ideal - snapped <= last / count / 8 ? snapped : ideal
            if cut > cuts[cuts.count - 1] { cuts.append(cut) }
        }
        cuts.append(last)
        pieces = (0 ..< cuts.count - 1).map { k in
            let scoreStart = cuts[k]
            let feedStart = scoreStart == 0 ? 0 : lineStart(atOrBefore: max(0, scoreStart - warmUp))
            return Piece(feedStart: feedStart, scoreStart: scoreStart, end: cuts[k + 1])
        }
    }

    /// Predictions scored: every token after the first, once.
    var scoredCount: Int { pieces.reduce(0) { $0 + $1.end - $1.scoreStart } }
}

extension Perplexity {
    /// Negative log-likelihood (natural log) of `stream[1...]`, scored as up to `streams` parallel
    /// streams (`ParallelStreamPlan`), and the number of predictions (stream.count − 1).
    ///   stream  [N] token ids; stream[0] is context; `boundary` ends each line
    ///   progress  told (columns done, columns in all) after each segment: how far the slowest piece is
    package static func negativeLogLikelihood(model: LanguageModel, stream: [Int32], boundary: Int32,
                                             streams: Int, warmUp: Int = 256, segment: Int = 64,
                                             threads: Int = 1, progress: ((Int, Int) -> Void)? = nil) -> (nll: Double, count: Int) {
        let plan = ParallelStreamPlan(stream: stream, boundary: boundary, streams: streams, warmUp: warmUp)
        guard !plan.pieces.isEmpty else { return (0, 0) }
        let b = plan.pieces.count
        let columns = plan.pieces.map(\.length).max() ?? 0
        let pass = NetworkPass<Float>(config: model.config)
        let packed = PackedModel(model: model)  // the weights stay as they are until the end
        var workspaces: [Int: SegmentWorkspace<Float>] = [:]
        var state = RecurrentState<Float>(config: model.config, batch: b)
        var inputs = [Int32](repeating: 0, count: segment * b), targets = inputs
        var total = 0.0, position = 0
        while position < columns {
            let steps = min(segment, columns - position)
            // inputs, targets [steps, B] time-major; a target of −1 is context or padding (not scored).
            for t in 0 ..< steps {
                for (s, piece) in plan.pieces.enumerated() {
                    let index = piece.feedStart + position + t
                    if index < piece.end {
                        inputs[t * b + s] = stream[index]
                        targets[t * b + s] = index + 1 > piece.scoreStart ? stream[index + 1] : -1
                    } else {
                        inputs[t * b + s] = boundary
                        targets[t * b + s] = -1
                    }
                }
            }
            let workspace = workspaces[steps] ?? SegmentWorkspace<Float>(config: model.config, steps: steps, batch: b)
            workspaces[steps] = workspace
            total += pass.score(parameters: model.parameters, inputs: inputs, targets: targets, state: &state,
                                workspace: workspace, threads: threads, packed: packed)
            position += steps
            progress?(position, columns)
        }
        return (total, plan.scoredCount)
    }
}
