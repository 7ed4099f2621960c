import CHalfKernels

/// Steps a model one token at a time (batch 1, no dropout), for the engine: a word typed costs
/// one step, and the next-word distribution comes from one matrix-vector product.
///
/// That product reads the whole decoder [V, H] for 2·V·H flops, so it is bound by memory: the
/// session keeps the decoder in fp16 (half the bytes; exactly the weights of an fp16 model file)
/// and accumulates in fp32.
///
/// Not thread-safe: it owns its workspace. The engine holds one under its lock.
public final class InferenceSession {
    public let model: LanguageModel
    private let pass: NetworkPass<Float>
    private let workspace: SegmentWorkspace<Float>
    private var generator = SeededGenerator(seed: 0)
    /// [V, H] the decoder weight as fp16 bit patterns.
    private let decoderHalves: [UInt16]

    public init(model: LanguageModel) {
        self.model = model
        pass = NetworkPass(config: model.config)
        workspace = SegmentWorkspace(config: model.config, steps: 1, batch: 1)
        let count = model.config.vocabSize * model.config.hiddenSize
        let offset = pass.offsets.decoderWeight
        decoderHalves = [UInt16](unsafeUninitializedCapacity: count) { halves, initialized in
            model.parameters.withUnsafeBufferPointer { p in
                nw_floats_to_halves(p.baseAddress! + offset, halves.baseAddress!, count)
            }
            initialized = count
        }
    }

    /// A zero state, as at the start of a document.
    public func initialState() -> RecurrentState<Float> {
        RecurrentState(layers: model.config.layers, batch: 1, hidden: model.config.hiddenSize)
    }

    /// Feeds `tokens` into `state` one at a time (ids must be valid: they come from the vocabulary).
    public func advance(_ state: inout RecurrentState<Float>, with tokens: [Int32]) {
        guard !tokens.isEmpty else { return }
        model.parameters.withUnsafeBufferPointer { p in
            for token in tokens {
                var input = token
                pass.forwardHidden(parameters: p.baseAddress!, inputs: &input, state: &state,
                                   workspace: workspace, dropout: 0, generator: &generator)
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
        let maxValue = Float.maximum(logits, count: v)
        result.withUnsafeMutableBufferPointer { r in
            r.baseAddress!.update(from: logits, count: v)
            let sum = Float.exponentiate(r.baseAddress!, count: v, shift: maxValue)
            Float.scale(r.baseAddress!, count: v, by: 1 / sum, addingInto: nil)
        }
        return result
    }
}
