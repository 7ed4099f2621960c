/// An LSTM language model: its config and all of its parameters in one flat buffer
/// (see `ParameterLayout` for the names and shapes). A value type, so it is `Sendable` and a copy
/// held by a trainer never races with one held by an engine.
package struct LanguageModel: Sendable {
    public let config: ModelConfig
    public let layout: ParameterLayout
    public var parameters: [Float]

    /// Wraps existing parameters; throws if their count does not match the config.
    public init(config: ModelConfig, parameters: [Float]) throws {
        try config.validate()
        let layout = ParameterLayout(config)
        guard parameters.count == layout.totalCount else {
            throw ModelError.invalidInput("expected \(layout.totalCount) parameters, got \(parameters.count)")
        }
        self.config = config
        self.layout = layout
        self.parameters = parameters
    }

    /// A freshly initialised model, as PyTorch initialises its word-language model: embedding
    /// uniform in ±0.1, LSTM weights and biases uniform in ±1/sqrt(H), decoder bias zero; and the
    /// forget-gate bias set to 1 so early training keeps its memory.
    public static func initialized(config: ModelConfig, seed: UInt64) throws -> LanguageModel {
        try config.validate()
        let layout = ParameterLayout(config)
        var generator = SeededGenerator(seed: seed)
        var parameters = [Float](repeating: 0, count: layout.totalCount)
        let h = config.hiddenSize
        let lstmBound = 1 / Float(h).squareRoot()
        for tensor in layout.tensors {
            let bound: Float
            switch tensor.name {
            case "decoder.bias": bound = 0
            case "embedding.weight", "decoder.weight": bound = 0.1
            default: bound = lstmBound
            }
            for index in tensor.range { parameters[index] = generator.nextFloat(in: -bound, bound) }
            if tensor.name.hasSuffix("bias_ih") {
                // Forget gate is the second block of 4H (input, forget, cell, output); with bias_hh
                // zeroed there the sum of the two biases is exactly 1.
                for index in tensor.offset + h ..< tensor.offset + 2 * h { parameters[index] = 1 }
            }
            if tensor.name.hasSuffix("bias_hh") {
                for index in tensor.offset + h ..< tensor.offset + 2 * h { parameters[index] = 0 }
            }
        }
        return try LanguageModel(config: config, parameters: parameters)
    }

    /// A read-only view of one named tensor.
    public func tensor(_ name: String) -> ArraySlice<Float>? {
        layout.tensor(named: name).map { parameters[$0.range] }
    }
}
