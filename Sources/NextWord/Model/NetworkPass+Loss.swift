import Dispatch

extension NetworkPass {
    /// One training or scoring step over a segment: forward, cross-entropy against `targets`, and
    /// (when `gradients` is given) the backward pass adding d(mean loss)/dθ into `gradients`.
    ///   inputs, targets  [T·B] time-major token ids
    /// Returns the summed negative log-likelihood over the T·B targets.
    func lossAndGradients(parameters: UnsafePointer<T>, gradients: UnsafeMutablePointer<T>?,
                          inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                          state: inout RecurrentState<T>, workspace ws: SegmentWorkspace<T>,
                          dropout: Float, generator: inout SeededGenerator, threads: Int = 1) -> Double {
        forwardHidden(parameters: parameters, inputs: inputs, state: &state, workspace: ws,
                      dropout: dropout, generator: &generator)
        decode(parameters: parameters, workspace: ws)
        let scale: T = gradients == nil ? 0 : 1 / T(ws.rows)
        let loss = parallelSoftmaxCrossEntropy(rows: ws.rows, logits: ws.logits, targets: targets,
                                               gradientScale: scale, threads: threads)
        if let gradients {
            backward(parameters: parameters, gradients: gradients, inputs: inputs, workspace: ws)
        }
        return loss
    }

    /// `softmaxCrossEntropy` split over row blocks on `threads` threads: the exponentials of a
    /// [TB, V] logit matrix are the largest cost outside the matrix products.
    func parallelSoftmaxCrossEntropy(rows: Int, logits: UnsafeMutablePointer<T>, targets: UnsafePointer<Int32>,
                                     gradientScale: T, threads: Int) -> Double {
        let v = config.vocabSize
        let parts = max(1, min(threads, rows))
        if parts == 1 {
            return softmaxCrossEntropy(rows: rows, vocab: v, logits: logits, targets: targets, gradientScale: gradientScale)
        }
        nonisolated(unsafe) let sharedLogits = logits
        nonisolated(unsafe) let sharedTargets = targets
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: parts)
        defer { partial.deallocate() }
        nonisolated(unsafe) let sharedPartial = partial
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let begin = rows * part / parts, end = rows * (part + 1) / parts
            sharedPartial[part] = softmaxCrossEntropy(rows: end - begin, vocab: v, logits: sharedLogits + begin * v,
                                                      targets: sharedTargets + begin, gradientScale: gradientScale)
        }
        return (0 ..< parts).reduce(0.0) { $0 + partial[$1] }
    }
}

/// Row-wise log-softmax in place.  logits [N, V] → log-probabilities [N, V]
func logSoftmaxRows(rows: Int, vocab: Int, values: UnsafeMutablePointer<Float>) {
    for r in 0 ..< rows {
        let row = values + r * vocab
        var maxValue = row[0]
        for v in 1 ..< vocab where row[v] > maxValue { maxValue = row[v] }
        var sum: Float = 0
        for v in 0 ..< vocab { sum += Float.exponential(row[v] - maxValue) }
        let shift = maxValue + Float.logarithm(sum)
        for v in 0 ..< vocab { row[v] -= shift }
    }
}
