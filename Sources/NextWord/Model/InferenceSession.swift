import CKernels

/// The model's weights as the batch-1 step reads them, built once per model and shared read-only
/// by every session on it (a service with many users' engines keeps one copy, not one per user).
///
/// The decoder product reads the whole decoder [V, H] for 2·V·H flops, so it is bound by memory:
/// it is kept in fp16 (half the bytes; exactly the weights of an fp16 model file) and the products
/// accumulate in fp32.
package final class InferenceWeights: Sendable {
    /// [V, H] the decoder weight as fp16 bit patterns.
    let decoderHalves: [UInt16]
    /// Per layer [4H, In + H]: row r is Wih[r, :] followed by Whh[r, :], fp16, so a step's gate
    /// pre-activations are one product over the concatenated [x; h_prev].
    let gateHalves: [[UInt16]]
    /// Per layer [4H]: bias_ih + bias_hh.
    let gateBiases: [[Float]]

    public init(model: LanguageModel) {
        let config = model.config
        let offsets = ParameterLayout(config).offsets(layers: config.layers)
        let count = config.vocabSize * config.hiddenSize
        decoderHalves = [UInt16](unsafeUninitializedCapacity: count) { halves, initialized in
            model.parameters.withUnsafeBufferPointer { p in
                nw_floats_to_halves(p.baseAddress! + offsets.decoderWeight, halves.baseAddress!, count)
            }
            initialized = count
        }
        let h = config.hiddenSize
        var halves: [[UInt16]] = [], biases: [[Float]] = []
        model.parameters.withUnsafeBufferPointer { p in
            for layer in 0 ..< config.layers {
                let inputs = config.inputSize(ofLayer: layer), width = inputs + h
                var joined = [Float](repeating: 0, count: 4 * h * width)
                for r in 0 ..< 4 * h {
                    for j in 0 ..< inputs { joined[r * width + j] = p[offsets.weightIH[layer] + r * inputs + j] }
                    for j in 0 ..< h { joined[r * width + inputs + j] = p[offsets.weightHH[layer] + r * h + j] }
                }
                halves.append([UInt16](unsafeUninitializedCapacity: joined.count) { out, initialized in
                    joined.withUnsafeBufferPointer { nw_floats_to_halves($0.baseAddress!, out.baseAddress!, joined.count) }
                    initialized = joined.count
                })
                biases.append((0 ..< 4 * h).map { p[offsets.biasIH[layer] + $0] + p[offsets.biasHH[layer] + $0] })
            }
        }
        gateHalves = halves
        gateBiases = biases
    }
}

/// Steps a model one token at a time (batch 1, no dropout), for the engine: a word typed costs
/// one step, and the next-word distribution comes from one matrix-vector product over the
/// shared fp16 weights (`InferenceWeights`).
///
/// Not thread-safe: it owns its workspace. The engine holds one under its lock.
package final class InferenceSession {
    public let model: LanguageModel
    private let pass: NetworkPass<Float>
    private let workspace: SegmentWorkspace<Float>
    private let weights: InferenceWeights
    private var decoderHalves: [UInt16] { weights.decoderHalves }
    private var gateHalves: [[UInt16]] { weights.gateHalves }
    private var gateBiases: [[Float]] { weights.gateBiases }
    /// [In_max + H] the concatenated input of a layer; [4H] gates; [H] tanh(c) scratch.
    private var concatenated: [Float]
    private var gates: [Float]
    private var tanhScratch: [Float]
    /// [V] added to the decoder's logits: this user's dynamic-evaluation offsets (`DecoderBiasAdaptation`);
    /// nil leaves the model as trained.
    var decoderBiasOffsets: [Float]?

    /// `weights` must be built from `model` (nil builds them for this session alone).
    public init(model: LanguageModel, weights: InferenceWeights? = nil) {
        self.model = model
        self.weights = weights ?? InferenceWeights(model: model)
        pass = NetworkPass(config: model.config)
        workspace = SegmentWorkspace(config: model.config, steps: 1, batch: 1)
        let config = model.config
        concatenated = [Float](repeating: 0, count: max(config.embeddingSize, config.hiddenSize) + config.hiddenSize)
        gates = [Float](repeating: 0, count: 4 * config.hiddenSize)
        tanhScratch = [Float](repeating: 0, count: config.hiddenSize)
    }

    /// A zero state, as at the start of a document.
    public func initialState() -> RecurrentState<Float> {
        RecurrentState(layers: model.config.layers, batch: 1, hidden: model.config.hiddenSize)
    }

    /// Feeds `tokens` into `state` one at a time (ids must be valid: they come from the vocabulary).
    ///
    /// Per layer and token: gates [4H] = [Wih | Whh] [4H, In + H] · [x; h_prev] + bias, one fp16
    /// product with fp32 accumulation (the weights of an fp16 model file exactly), then the cell.
    public func advance(_ state: inout RecurrentState<Float>, with tokens: [Int32]) {
        guard !tokens.isEmpty else { return }
        let config = model.config
        let (e, h) = (config.embeddingSize, config.hiddenSize)
        let embedding = pass.offsets.embedding
        model.parameters.withUnsafeBufferPointer { p in
            concatenated.withUnsafeMutableBufferPointer { joined in
                gates.withUnsafeMutableBufferPointer { g in
                    tanhScratch.withUnsafeMutableBufferPointer { tanhC in
                        for token in tokens {
                            joined.baseAddress!.update(from: p.baseAddress! + embedding + Int(token) * e, count: e)
                            for layer in 0 ..< config.layers {
                                let inputs = config.inputSize(ofLayer: layer)
                                state.h[layer].withUnsafeBufferPointer { (joined.baseAddress! + inputs).update(from: $0.baseAddress!, count: h) }
                                gateHalves[layer].withUnsafeBufferPointer { w in
                                    gateBiases[layer].withUnsafeBufferPointer { b in
                                        nw_half_gemv(w.baseAddress!, joined.baseAddress!, b.baseAddress!, g.baseAddress!, 4 * h, inputs + h)
                                    }
                                }
                                // c is updated in place: the cell reads c[j] before it writes c[j].
                                state.c[layer].withUnsafeMutableBufferPointer { c in
                                    state.h[layer].withUnsafeMutableBufferPointer { hOut in
                                        lstmCellForward(batch: 1, hidden: h, gates: g.baseAddress!, cPrev: UnsafePointer(c.baseAddress!),
                                                        c: c.baseAddress!, tanhC: tanhC.baseAddress!, h: hOut.baseAddress!)
                                    }
                                }
                                // The next layer's input is this layer's output (no dropout here).
                                state.h[layer].withUnsafeBufferPointer { joined.baseAddress!.update(from: $0.baseAddress!, count: h) }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Next-token probabilities [V] after `state` (the softmax of the decoder over the last layer's h).
    public func probabilities(after state: RecurrentState<Float>) -> [Float] {
        let (h, v) = (model.config.hiddenSize, model.config.vocabSize)
        var result = [Float](repeating: 0, count: v)
        // logits [V] = D [V, H] · h [H] + bias [V]
        model.parameters.withUnsafeBufferPointer { p in
            state.h[model.config.layers - 1].withUnsafeBufferPointer { last in
                nw_half_gemv(decoderHalves, last.baseAddress!, p.baseAddress! + pass.offsets.decoderBias,
                             workspace.logits, v, h)
            }
        }
        let logits = workspace.logits
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
