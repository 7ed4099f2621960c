/// Growing a trained plain LSTM into one with more cells and a projection, computing exactly the
/// same function at the start (function-preserving widening, as Net2Net's): training then goes on
/// from the small model's perplexity instead of from scratch.
extension LanguageModel {
    /// Whether `self` (a plain LSTM, no projection) can be widened to `target`: the same
    /// vocabulary, embedding, layers and tying, a projection as wide as `self`'s hidden size, and
    /// more cells.
    public func canWiden(to target: ModelConfig) -> Bool {
        config.projectionSize == nil && target.projectionSize == config.hiddenSize && target.hiddenSize > config.hiddenSize
            && target.vocabSize == config.vocabSize && target.embeddingSize == config.embeddingSize
            && target.layers == config.layers && target.tied == config.tied && target.vocabularySHA256 == config.vocabularySHA256
    }

    /// `self` widened to `target` (see `canWiden(to:)`). Each layer's old cells keep their rows of
    /// weight_ih, weight_hh and the biases; the new cells start as `initialized(config:seed:)`
    /// makes them; weight_hr [P, H] is [I | 0], so h = the old cells' output and the new cells
    /// change nothing until training gives them a part. Embedding and decoder are copied.
    ///   per gate block g and cell j:  new row g·H + j = old row g·H₀ + j  (j < H₀)
    public func widened(to target: ModelConfig, seed: UInt64) throws -> LanguageModel {
        guard canWiden(to: target) else {
            throw ModelError.invalidInput("a \(config.hiddenSize)-cell LSTM widens only to more cells projected back to \(config.hiddenSize), "
                                          + "with the same vocabulary, embedding, layers and tying")
        }
        var grown = try LanguageModel.initialized(config: target, seed: seed)
        let (h0, h) = (config.hiddenSize, target.hiddenSize)
        func copy(_ name: String) {
            guard let from = layout.tensor(named: name), let to = grown.layout.tensor(named: name) else { return }
            grown.parameters.replaceSubrange(to.range, with: parameters[from.range])
        }
        copy("embedding.weight")
        copy("decoder.weight")
        copy("decoder.bias")
        for layer in 0 ..< config.layers {
            for kind in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"] {
                let name = "lstm.\(layer).\(kind)"
                guard let from = layout.tensor(named: name), let to = grown.layout.tensor(named: name) else { continue }
                // Rows of width `columns` (1 for a bias); the old cells' rows of each gate block.
                let columns = from.shape.count == 2 ? from.shape[1] : 1
                for gate in 0 ..< 4 {
                    for j in 0 ..< h0 {
                        let source = from.offset + (gate * h0 + j) * columns
                        let target = to.offset + (gate * h + j) * columns
                        grown.parameters.replaceSubrange(target ..< target + columns, with: parameters[source ..< source + columns])
                    }
                }
            }
            // weight_hr [P, H] = [I | 0]: row p reads cell p.
            guard let projection = grown.layout.tensor(named: "lstm.\(layer).weight_hr") else { continue }
            for p in 0 ..< h0 {
                for j in 0 ..< h { grown.parameters[projection.offset + p * h + j] = p == j ? 1 : 0 }
            }
        }
        return grown
    }
}
