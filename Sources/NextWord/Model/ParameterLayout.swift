/// Where each named tensor lives in the model's single flat parameter buffer.
///
/// Names, shapes and the gate order (input, forget, cell, output) follow PyTorch's `nn.LSTM`, so a
/// PyTorch model exported to safetensors loads directly:
///
///     embedding.weight      [V, E]
///     lstm.L.weight_ih      [4H, In]   In = E for L = 0, H above
///     lstm.L.weight_hh      [4H, P]    P = the output width: H, or the projection's
///     lstm.L.bias_ih        [4H]
///     lstm.L.bias_hh        [4H]
///     lstm.L.weight_hr      [P, H]     only with a projection (PyTorch's weight_hr_l{k})
///     decoder.weight        [V, P]     absent when tied (the embedding serves)
///     decoder.bias          [V]
package struct ParameterLayout: Sendable, Equatable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        /// Offset in floats from the start of the flat buffer.
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset ..< offset + count }
    }

    public let tensors: [Tensor]
    public let totalCount: Int

    public init(_ config: ModelConfig) {
        var list: [Tensor] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) {
            let t = Tensor(name: name, shape: shape, offset: offset)
            list.append(t)
            offset += t.count
        }
        let (v, e, h, o) = (config.vocabSize, config.embeddingSize, config.hiddenSize, config.outputSize)
        add("embedding.weight", [v, e])
        for layer in 0 ..< config.layers {
            add("lstm.\(layer).weight_ih", [4 * h, config.inputSize(ofLayer: layer)])
            add("lstm.\(layer).weight_hh", [4 * h, o])
            add("lstm.\(layer).bias_ih", [4 * h])
            add("lstm.\(layer).bias_hh", [4 * h])
            if config.projectionSize != nil { add("lstm.\(layer).weight_hr", [o, h]) }
        }
        if !config.tied { add("decoder.weight", [v, o]) }
        add("decoder.bias", [v])
        tensors = list
        totalCount = offset
    }

    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    /// Offsets of the tensors the kernels use, resolved once.
    public struct Offsets: Sendable {
        public let embedding: Int
        public let weightIH: [Int]
        public let weightHH: [Int]
        public let biasIH: [Int]
        public let biasHH: [Int]
        /// Per layer, the projection weight_hr [P, H] (nil without a projection).
        public let weightHR: [Int]?
        /// The decoder weight: the embedding's offset when tied.
        public let decoderWeight: Int
        public let decoderBias: Int
    }

    public func offsets(layers: Int) -> Offsets {
        func at(_ name: String) -> Int { tensor(named: name)!.offset }
        return Offsets(
            embedding: at("embedding.weight"),
            weightIH: (0 ..< layers).map { at("lstm.\($0).weight_ih") },
            weightHH: (0 ..< layers).map { at("lstm.\($0).weight_hh") },
            biasIH: (0 ..< layers).map { at("lstm.\($0).bias_ih") },
            biasHH: (0 ..< layers).map { at("lstm.\($0).bias_hh") },
            weightHR: tensor(named: "lstm.0.weight_hr") == nil ? nil : (0 ..< layers).map { at("lstm.\($0).weight_hr") },
            decoderWeight: tensor(named: "decoder.weight")?.offset ?? at("embedding.weight"),
            decoderBias: at("decoder.bias"))
    }
}
