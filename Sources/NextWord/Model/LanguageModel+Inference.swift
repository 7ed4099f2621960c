extension LanguageModel {
    /// Runs the model over `tokens` from a zero state (batch 1, no dropout) and returns, for each
    /// position t, the log-probabilities [V] of the next token after tokens[0...t].
    public func logProbabilities(of tokens: [Int]) throws -> [[Float]] {
        guard !tokens.isEmpty else { return [] }
        let ids = try checkedIDs(tokens)
        let pass = NetworkPass<Float>(config: config)
        let ws = SegmentWorkspace<Float>(config: config, steps: ids.count, batch: 1)
        var state = RecurrentState<Float>(config: config, batch: 1)
        var generator = SeededGenerator(seed: 0)
        parameters.withUnsafeBufferPointer { p in
            ids.withUnsafeBufferPointer { input in
                pass.forwardHidden(parameters: p.baseAddress!, inputs: input.baseAddress!, state: &state,
                                   workspace: ws, regularization: .none, generator: &generator)
            }
            pass.decode(parameters: p.baseAddress!, workspace: ws)
        }
        let v = config.vocabSize
        logSoftmaxRows(rows: ids.count, vocab: v, values: ws.logits)
        return (0 ..< ids.count).map { Array(UnsafeBufferPointer(start: ws.logits + $0 * v, count: v)) }
    }

    /// Token ids as the kernels take them, each checked against the vocabulary size.
    func checkedIDs(_ tokens: [Int]) throws -> [Int32] {
        try tokens.map { id in
            guard id >= 0 && id < config.vocabSize else {
                throw ModelError.invalidInput("token id \(id) outside the vocabulary (size \(config.vocabSize))")
            }
            return Int32(id)
        }
    }
}
