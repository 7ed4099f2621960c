import CKernels
import Foundation

/// Perplexity as a user's engine would see the text: the model mixed with a neural cache over the
/// text read so far (Grave, Joulin & Usunier 2017), the protocol of the paper.
///
///     p(w_{t+1}) = (1 − λ) p_model(w_{t+1} | h_t) + λ Σ_{i<t, w_{i+1} = w_{t+1}} softmax_i(θ h_t · h_i)
///
/// over the last `window` positions, h the top LSTM layer's output. One stream, the state carried,
/// as the single-stream evaluation; with `dynamicRate` > 0, dynamic evaluation of the biases too.
public struct AdaptiveEvaluation: Sendable {
    public var window = 1000
    public var theta: Float = 0.5
    public var lambda: Float = 0.15
    public var segment = 128
    /// Dynamic evaluation (Krause et al. 2018) of the biases: after each segment is scored, one
    /// gradient step of this size on that segment's mean loss for the LSTM and decoder biases,
    /// pulled back toward the trained values by `decay`. 0 turns it off.
    public var dynamicRate: Float = 0
    public var decay: Float = 0.02

    public init(window: Int = 1000, theta: Float = 0.5, lambda: Float = 0.15, dynamicRate: Float = 0, decay: Float = 0.02) {
        self.window = window; self.theta = theta; self.lambda = lambda; self.dynamicRate = dynamicRate; self.decay = decay
    }

    public struct Result: Sendable, Equatable {
        /// Σ −ln p over the predictions: the model's own part (its biases as dynamic evaluation left
        /// them, when on) and the mixture with the cache. The trained model's plain figure is
        /// `Perplexity`'s.
        public var plainNLL: Double
        public var adaptedNLL: Double
        public var count: Int
        public var perplexity: Double { exp(plainNLL / Double(max(count, 1))) }
        public var adaptedPerplexity: Double { exp(adaptedNLL / Double(max(count, 1))) }
    }

    /// Scores `stream[1...]` given what precedes ([N] ids, stream[0] context only).
    /// `progress` is told (predictions scored, predictions in all) after each segment.
    package func evaluate(model: LanguageModel, stream: [Int32], threads: Int = 1, progress: ((Int, Int) -> Void)? = nil) -> Result {
        let config = model.config
        // h: the width of the top layer's output (the cache's states and the decoder's input).
        let (h, v) = (config.outputSize, config.vocabSize)
        guard stream.count > 1 else { return Result(plainNLL: 0, adaptedNLL: 0, count: 0) }
        let pass = NetworkPass<Float>(config: model.config)
        var workspaces: [Int: SegmentWorkspace<Float>] = [:]
        var state = RecurrentState<Float>(config: config, batch: 1)
        var generator = SeededGenerator(seed: 0)
        // The cache: a ring of [window, P] states and the word that followed each.
        var memory = [Float](repeating: 0, count: window * h)
        var memoryWords = [Int32](repeating: -1, count: window)
        var stored = 0  // positions ever stored; slot = position % window
        var plain = 0.0, adaptedTotal = 0.0, count = 0
        var position = 0
        let bias = pass.offsets.decoderBias
        var scores = [Float](repeating: 0, count: window)
        // The parameters as adapted so far, the trained ones, and the biases dynamic evaluation moves.
        var parameters = model.parameters
        let trained = model.parameters
        var gradients = [Float](repeating: 0, count: dynamicRate > 0 ? parameters.count : 0)
        let adapted: [Range<Int>] = (0 ..< config.layers).flatMap { layer in
            [pass.offsets.biasIH[layer] ..< pass.offsets.biasIH[layer] + 4 * h, pass.offsets.biasHH[layer] ..< pass.offsets.biasHH[layer] + 4 * h]
        } + [bias ..< bias + v]
        while position < stream.count - 1 {
            let steps = min(segment, stream.count - 1 - position)
            let ws = workspaces[steps] ?? SegmentWorkspace<Float>(config: config, steps: steps, batch: 1)
            workspaces[steps] = ws
            let inputs = Array(stream[position ..< position + steps])
            let stateBefore = state
            parameters.withUnsafeBufferPointer { p in
                inputs.withUnsafeBufferPointer { i in
                    pass.forwardHidden(parameters: p.baseAddress!, inputs: i.baseAddress!, state: &state, workspace: ws,
                                       regularization: .none, generator: &generator)
                }
                pass.decode(parameters: p.baseAddress!, workspace: ws, addBias: false)
            }
            let hidden = ws.dropped[config.layers - 1]  // [steps, H]
            for t in 0 ..< steps {
                var target = stream[position + t + 1]
                // The model's probability of the target: the score kernel on this one row.
                let nll = parameters.withUnsafeBufferPointer { p in
                    nw_score_rows(ws.logits + t * v, p.baseAddress! + bias, &target, 1, v)
                }
                let pModel = exp(-nll)
                // The cache's: softmax over the remembered positions of θ h_t · h_i.
                let n = min(stored, window)
                var pCache = 0.0
                if n > 0 {
                    let query = hidden + t * h
                    memory.withUnsafeBufferPointer { m in
                        scores.withUnsafeMutableBufferPointer { s in
                            // scores [1, n] = h_t [1, H] · M[0..<n]ᵀ   (M [window, H], row i a state)
                            Float.gemm(transA: false, transB: true, m: 1, n: n, k: h, alpha: 1,
                                       a: UnsafePointer(query), b: m.baseAddress!, beta: 0, c: s.baseAddress!)
                        }
                    }
                    var top = -Float.infinity
                    for i in 0 ..< n { scores[i] *= theta; top = max(top, scores[i]) }
                    var total = 0.0, hit = 0.0
                    for i in 0 ..< n {
                        let e = exp(Double(scores[i] - top))
                        total += e
                        if memoryWords[i] == target { hit += e }
                    }
                    pCache = hit / total
                }
                plain += nll
                let mixed = n > 0 ? (1 - Double(lambda)) * pModel + Double(lambda) * pCache : pModel
                adaptedTotal -= log(max(mixed, 1e-300))
                count += 1
                // Remember this position: its state and the word that followed it.
                let slot = stored % window
                memory.withUnsafeMutableBufferPointer { m in (m.baseAddress! + slot * h).update(from: hidden + t * h, count: h) }
                memoryWords[slot] = target
                stored += 1
            }
            if dynamicRate > 0 {
                // Now that the segment is scored, learn from it: the hand-written backward pass
                // (gradient-checked in GradientCheckTests) on the segment from its starting state.
                let targets = Array(stream[position + 1 ... position + steps])
                var replay = stateBefore
                for range in adapted { for i in range { gradients[i] = 0 } }
                parameters.withUnsafeBufferPointer { p in
                    gradients.withUnsafeMutableBufferPointer { g in
                        inputs.withUnsafeBufferPointer { i in
                            targets.withUnsafeBufferPointer { t in
                                _ = pass.lossAndGradients(parameters: p.baseAddress!, gradients: g.baseAddress!, inputs: i.baseAddress!,
                                                          targets: t.baseAddress!, state: &replay, workspace: ws, regularization: .none,
                                                          generator: &generator, threads: threads)
                            }
                        }
                    }
                }
                for range in adapted {
                    for i in range { parameters[i] += -dynamicRate * gradients[i] + decay * (trained[i] - parameters[i]) }
                }
            }
            position += steps
            progress?(position, stream.count - 1)
        }
        return Result(plainNLL: plain, adaptedNLL: adaptedTotal, count: count)
    }
}
