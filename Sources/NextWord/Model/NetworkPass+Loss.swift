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
        guard let gradients else {
            return parallelSoftmaxCrossEntropy(rows: ws.rows, logits: ws.logits, targets: targets,
                                               gradientScale: 0, threads: threads, biasGradient: nil)
        }
        let loss = parallelSoftmaxCrossEntropy(rows: ws.rows, logits: ws.logits, targets: targets,
                                               gradientScale: 1 / T(ws.rows), threads: threads,
                                               biasGradient: gradients + offsets.decoderBias)
        backward(parameters: parameters, gradients: gradients, inputs: inputs, workspace: ws)
        return loss
    }

    /// `softmaxCrossEntropy` split over row blocks on `threads` threads: the exponentials of a
    /// [TB, V] logit matrix are the largest cost outside the matrix products. With `biasGradient`
    /// [V], the column sums of the gradients (dLoss/dbias) are added into it, each thread summing
    /// its own rows first.
    func parallelSoftmaxCrossEntropy(rows: Int, logits: UnsafeMutablePointer<T>, targets: UnsafePointer<Int32>,
                                     gradientScale: T, threads: Int, biasGradient: UnsafeMutablePointer<T>?) -> Double {
        let v = config.vocabSize
        // Four row blocks a thread, taken as threads come free: right after a matrix product
        // OpenBLAS's worker still spins on the second core, and with one block a thread the main
        // thread often ended up doing both (softmax median 19.7 ms against 10.4 ms with four a
        // thread, brown-lm training batches on this 2-core machine).
        let parts = threads <= 1 ? 1 : max(1, min(4 * threads, rows))
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: parts)
        // [parts, V] per-thread column sums (one small allocation per segment).
        let sums = UnsafeMutablePointer<T>.allocate(capacity: biasGradient == nil ? 1 : parts * v)
        defer { partial.deallocate(); sums.deallocate() }
        if biasGradient != nil { sums.initialize(repeating: 0, count: parts * v) }
        nonisolated(unsafe) let sharedLogits = logits
        nonisolated(unsafe) let sharedTargets = targets
        nonisolated(unsafe) let sharedPartial = partial
        nonisolated(unsafe) let sharedSums = biasGradient == nil ? nil : sums
        let work: @Sendable (Int) -> Void = { part in
            let begin = rows * part / parts, end = rows * (part + 1) / parts
            sharedPartial[part] = softmaxCrossEntropy(rows: end - begin, vocab: v, logits: sharedLogits + begin * v,
                                                      targets: sharedTargets + begin, gradientScale: gradientScale,
                                                      columnSums: sharedSums.map { $0 + part * v })
        }
        if parts == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: work) }
        if let biasGradient {
            for part in 0 ..< parts {
                let source = sums + part * v
                for j in 0 ..< v { biasGradient[j] += source[j] }
            }
        }
        return (0 ..< parts).reduce(0.0) { $0 + partial[$1] }
    }
}

/// Row-wise log-softmax in place.  logits [N, V] → log-probabilities [N, V]
func logSoftmaxRows(rows: Int, vocab: Int, values: UnsafeMutablePointer<Float>) {
    for r in 0 ..< rows {
        let row = values + r * vocab
        let maxValue = Float.maximum(row, count: vocab)
        var sum: Float = 0
        for v in 0 ..< vocab { sum += Float.exponential(row[v] - maxValue) }
        let shift = maxValue + Float.logarithm(sum)
        for v in 0 ..< vocab { row[v] -= shift }
    }
}
