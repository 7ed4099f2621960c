import CKernels

/// The model's weights as the batch-1 step reads them, built once per model and shared read-only
/// by every session on it (a service with many users' engines keeps one copy, not one per user).
///
/// The decoder product reads the whole decoder [V, P] for 2·V·P flops, so it is bound by memory:
/// it is kept as int8 rows with a scale each (a quarter of the fp32 bytes, half of fp16: the
/// default model's boundary product 0.33 → 0.12 ms warm, 0.69 → 0.25 ms from memory, C harness on
/// the 2-core Xeon), with integer sums that are the same on every CPU. The gate products feed
/// the recurrence, where errors would compound, and stay fp16 with fp32 accumulation.
package final class InferenceWeights: Sendable {
    /// [V, P] the decoder weight as int8 levels, row r scaled by `decoderScales[r]` (P: the output
    /// width, H without a projection); `decoderRowSums` [V] for the VNNI path.
    let decoderLevels: [Int8]
    let decoderScales: [Float]
    let decoderRowSums: [Int32]
    /// Per layer [4H, In + P]: row r is Wih[r, :] followed by Whh[r, :], fp16, so a step's gate
    /// pre-activations are one product over the concatenated [x; h_prev].
    let gateHalves: [[UInt16]]
    /// Per layer [P, H] the projection weight_hr, fp16 (empty without a projection).
    let projectionHalves: [[UInt16]]
    /// Per layer [4H]: bias_ih + bias_hh.
    let gateBiases: [[Float]]

    public init(model: LanguageModel) {
        let config = model.config
        let offsets = ParameterLayout(config).offsets(layers: config.layers)
        func halves(_ source: UnsafePointer<Float>, count: Int) -> [UInt16] {
            [UInt16](unsafeUninitializedCapacity: count) { out, initialized in
                nw_floats_to_halves(source, out.baseAddress!, count)
                initialized = count
            }
        }
        let (h, o) = (config.hiddenSize, config.outputSize)
        var gates: [[UInt16]] = [], projections: [[UInt16]] = [], biases: [[Float]] = []
        let v = config.vocabSize
        var levels = [Int8](repeating: 0, count: v * o), scales = [Float](repeating: 0, count: v)
        var rowSums = [Int32](repeating: 0, count: v)
        model.parameters.withUnsafeBufferPointer { p in
            nw_int8_quantize_rows(p.baseAddress! + offsets.decoderWeight, v, o, &levels, &scales, &rowSums)
            for layer in 0 ..< config.layers {
                let inputs = config.inputSize(ofLayer: layer), width = inputs + o
                var joined = [Float](repeating: 0, count: 4 * h * width)
                for r in 0 ..< 4 * h {
                    for j in 0 ..< inputs { joined[r * width + j] = p[offsets.weightIH[layer] + r * inputs + j] }
                    for j in 0 ..< o { joined[r * width + inputs + j] = p[offsets.weightHH[layer] + r * o + j] }
                }
                gates.append(joined.withUnsafeBufferPointer { halves($0.baseAddress!, count: joined.count) })
                projections.append(offsets.weightHR.map { halves(p.baseAddress! + $0[layer], count: o * h) } ?? [])
                biases.append((0 ..< 4 * h).map { p[offsets.biasIH[layer] + $0] + p[offsets.biasHH[layer] + $0] })
            }
        }
        decoderLevels = levels
        decoderScales = scales
        decoderRowSums = rowSums
        gateHalves = gates
        projectionHalves = projections
        gateBiases = biases
    }
}

/// Steps a model one token at a time (batch 1, no dropout), for the engine: a word typed costs
/// one step, and the next-word distribution comes from one matrix-vector product over the
/// shared int8/fp16 weights (`InferenceWeights`).
///
/// Not thread-safe: it owns its workspace. The engine holds one under its lock.
package final class InferenceSession {
    public let model: LanguageModel
    private let pass: NetworkPass<Float>
    private let workspace: SegmentWorkspace<Float>
    private let weights: InferenceWeights
    private var gateHalves: [[UInt16]] { weights.gateHalves }
    private var gateBiases: [[Float]] { adjustedGateBiases ?? weights.gateBiases }
    private var projectionHalves: [[UInt16]] { weights.projectionHalves }
    /// [In_max + P] the concatenated input of a layer; [4H] gates; [H] tanh(c) scratch; [H] the
    /// cell output o ⊙ tanh(c) a projection reads.
    private var concatenated: [Float]
    private var gates: [Float]
    private var tanhScratch: [Float]
    private var cellOutput: [Float]
    /// [V] added to the decoder's logits: this user's dynamic-evaluation offsets (`BiasAdaptation`);
    /// nil leaves the model as trained.
    var decoderBiasOffsets: [Float]?
    /// What the decoder's logits are multiplied by before the bias offsets and the softmax: the
    /// inverse of a temperature (1: the trained softmax).
    var logitScale: Float = 1
    /// Per layer [4H] added to the gate biases: the same adaptation's LSTM part; nil leaves the
    /// model as trained.
    var gateBiasOffsets: [[Float]]? {
        didSet {
            adjustedGateBiases = gateBiasOffsets.map { offsets in
                zip(weights.gateBiases, offsets).map { trained, offset in zip(trained, offset).map { $0 + $1 } }
            }
        }
    }
    /// The gate biases with `gateBiasOffsets` added (nil: the shared trained ones serve).
    private var adjustedGateBiases: [[Float]]?

    /// `weights` must be built from `model` (nil builds them for this session alone).
    public init(model: LanguageModel, weights: InferenceWeights? = nil) {
        self.model = model
        self.weights = weights ?? InferenceWeights(model: model)
        pass = NetworkPass(config: model.config)
        workspace = SegmentWorkspace(config: model.config, steps: 1, batch: 1)
        let config = model.config
        concatenated = [Float](repeating: 0, count: max(config.embeddingSize, config.outputSize) + config.outputSize)
        gates = [Float](repeating: 0, count: 4 * config.hiddenSize)
        tanhScratch = [Float](repeating: 0, count: config.hiddenSize)
        cellOutput = [Float](repeating: 0, count: config.hiddenSize)
    }

    /// A zero state, as at the start of a document.
    public func initialState() -> RecurrentState<Float> {
        RecurrentState(config: model.config, batch: 1)
    }

    /// Feeds `tokens` into `state` one at a time (ids must be valid: they come from the vocabulary).
    ///
    /// Per layer and token: gates [4H] = [Wih | Whh] [4H, In + P] · [x; h_prev] + bias, one fp16
    /// product with fp32 accumulation (the weights of an fp16 model file exactly), then the cell,
    /// then with a projection h [P] = Whr [P, H] · (o ⊙ tanh c). `record`, when given, sees each
    /// layer's gate activations i, f, g, o [4H] and tanh c [H] after each token (what the backward
    /// of `GateBiasBackward` needs): record(layer, gates, tanhC).
    public func advance(_ state: inout RecurrentState<Float>, with tokens: [Int32],
                        record: ((Int, UnsafePointer<Float>, UnsafePointer<Float>) -> Void)? = nil) {
        guard !tokens.isEmpty else { return }
        let config = model.config
        let (e, h, o) = (config.embeddingSize, config.hiddenSize, config.outputSize)
        let projecting = config.projectionSize != nil
        let embedding = pass.offsets.embedding
        model.parameters.withUnsafeBufferPointer { p in
            concatenated.withUnsafeMutableBufferPointer { joined in
                gates.withUnsafeMutableBufferPointer { g in
                    tanhScratch.withUnsafeMutableBufferPointer { tanhC in
                      cellOutput.withUnsafeMutableBufferPointer { m in
                        for token in tokens {
                            joined.baseAddress!.update(from: p.baseAddress! + embedding + Int(token) * e, count: e)
                            for layer in 0 ..< config.layers {
                                let inputs = config.inputSize(ofLayer: layer)
                                state.h[layer].withUnsafeBufferPointer { (joined.baseAddress! + inputs).update(from: $0.baseAddress!, count: o) }
                                gateHalves[layer].withUnsafeBufferPointer { w in
                                    gateBiases[layer].withUnsafeBufferPointer { b in
                                        nw_half_gemv(w.baseAddress!, joined.baseAddress!, b.baseAddress!, g.baseAddress!, 4 * h, inputs + o)
                                    }
                                }
                                // c is updated in place: the cell reads c[j] before it writes c[j].
                                state.c[layer].withUnsafeMutableBufferPointer { c in
                                    state.h[layer].withUnsafeMutableBufferPointer { hOut in
                                        lstmCellForward(batch: 1, hidden: h, gates: g.baseAddress!, cPrev: UnsafePointer(c.baseAddress!),
                                                        c: c.baseAddress!, tanhC: tanhC.baseAddress!,
                                                        h: projecting ? m.baseAddress! : hOut.baseAddress!)
                                        if projecting {
                                            projectionHalves[layer].withUnsafeBufferPointer { w in
                                                nw_half_gemv(w.baseAddress!, m.baseAddress!, nil, hOut.baseAddress!, o, h)
                                            }
                                        }
                                        record?(layer, UnsafePointer(g.baseAddress!), UnsafePointer(tanhC.baseAddress!))
                                    }
                                }
                                // The next layer's input is this layer's output (no dropout here).
                                state.h[layer].withUnsafeBufferPointer { joined.baseAddress!.update(from: $0.baseAddress!, count: o) }
                            }
                        }
                      }
                    }
                }
            }
        }
    }

    /// out [n, P] = g [n, V] · D [V, P] over the shared int8 decoder rows: what reaches the top
    /// layer's output from the decoder at n positions (dynamic evaluation's backward). Reads only
    /// the shared weights, so threads may call it at once on one session.
    func decoderTransposedProduct(_ g: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, positions n: Int) {
        let (o, v) = (model.config.outputSize, model.config.vocabSize)
        nw_row_combination_int8(g, weights.decoderLevels, weights.decoderScales, out, n, v, o)
    }

    /// Next-token probabilities [V] after `state` (the softmax of the decoder over the last layer's h).
    public func probabilities(after state: RecurrentState<Float>) -> [Float] {
        let (o, v) = (model.config.outputSize, model.config.vocabSize)
        var result = [Float](repeating: 0, count: v)
        // logits [V] = D [V, P] · h [P] + bias [V], D as int8 rows and h quantized per call
        model.parameters.withUnsafeBufferPointer { p in
            state.h[model.config.layers - 1].withUnsafeBufferPointer { last in
                // Fails only above 65,536 columns, which no valid config has (8,192 at most).
                _ = nw_int8_gemv(weights.decoderLevels, weights.decoderScales, weights.decoderRowSums, last.baseAddress!,
                                 p.baseAddress! + pass.offsets.decoderBias, workspace.logits, v, o)
            }
        }
        let logits = workspace.logits
        if logitScale != 1 { for i in 0 ..< v { logits[i] *= logitScale } }
        if let offsets = decoderBiasOffsets {
            offsets.withUnsafeBufferPointer { o in for i in 0 ..< v { logits[i] += o[i] } }
        }
        let maxValue = Float.maximum(logits, count: v)
        result.withUnsafeMutableBufferPointer { r in
            r.baseAddress!.update(from: logits, count: v)
            let sum = Float.exponentiate(r.baseAddress!, count: v, shift: maxValue)
            Float.scale(r.baseAddress!, count: v, by: 1 / sum, addingInto: nil)
        }
        return result
    }
}
