import CKernels
import Dispatch

extension NetworkPass {
    /// One training or scoring step over a segment: forward, cross-entropy against `targets`, and
    /// (when `gradients` is given) the backward pass adding d(mean loss)/dθ into `gradients`.
    ///   inputs, targets  [T·B] time-major token ids
    /// Returns the summed negative log-likelihood over the T·B targets.
    func lossAndGradients(parameters: UnsafePointer<T>, gradients: UnsafeMutablePointer<T>?,
                          inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
                          state: inout RecurrentState<T>, workspace ws: SegmentWorkspace<T>,
                          regularization: Regularization, generator: inout SeededGenerator, threads: Int = 1) -> Double {
        forwardHidden(parameters: parameters, inputs: inputs, state: &state, workspace: ws,
                      regularization: regularization, generator: &generator, threads: threads)
        guard let gradients else {
            if T.self == Float.self {
                // Scoring only: the bias is added inside the score kernel's passes, which read the
                // logits and write nothing (one pass over [TB, V] fewer each way).
                decode(parameters: parameters, workspace: ws, addBias: false)
                return parallelScore(rows: ws.rows, logits: ws.logits, bias: parameters + offsets.decoderBias,
                                     targets: targets, threads: threads)
            }
            decode(parameters: parameters, workspace: ws)
            return parallelSoftmaxCrossEntropy(rows: ws.rows, logits: ws.logits, targets: targets,
                                               gradientScale: 0, threads: threads, biasGradient: nil)
        }
        let fused = T.self == Float.self && nw_softmax_gradient_available() != 0
        decode(parameters: parameters, workspace: ws, addBias: !fused, threads: threads)
        let loss = parallelSoftmaxCrossEntropy(rows: ws.rows, logits: ws.logits, targets: targets,
                                               gradientScale: 1 / T(ws.rows), threads: threads,
                                               biasGradient: gradients + offsets.decoderBias,
                                               addBias: fused ? parameters + offsets.decoderBias : nil)
        backward(parameters: parameters, gradients: gradients, inputs: inputs, workspace: ws,
                 regularization: regularization, threads: threads)
        return loss
    }

    /// Σ −log p of `targets` over one segment: evaluation (no dropout, no gradients), from `state`,
    /// which it leaves at the segment's end. `inputs`, `targets` [T·B] time-major as the workspace.
    /// With `packed` (these parameters, packed) the pass runs on panels and the logits are scored
    /// without being written (`PackedModel`).
    func score(parameters: [T], inputs: [Int32], targets: [Int32], state: inout RecurrentState<T>,
               workspace: SegmentWorkspace<T>, threads: Int, packed: PackedModel? = nil) -> Double {
        var generator = SeededGenerator(seed: 0)  // no dropout: never drawn from
        return parameters.withUnsafeBufferPointer { p in
            inputs.withUnsafeBufferPointer { i in
                targets.withUnsafeBufferPointer { t in
                    guard let packed, T.self == Float.self else {
                        return lossAndGradients(parameters: p.baseAddress!, gradients: nil, inputs: i.baseAddress!,
                                                targets: t.baseAddress!, state: &state, workspace: workspace,
                                                regularization: .none, generator: &generator, threads: threads)
                    }
                    forwardHidden(parameters: p.baseAddress!, inputs: i.baseAddress!, state: &state, workspace: workspace,
                                  regularization: .none, generator: &generator, packed: packed, threads: threads)
                    func floats(_ pointer: UnsafePointer<T>) -> UnsafePointer<Float> {
                        UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
                    }
                    return packed.score(rows: workspace.rows, inputs: floats(workspace.dropped[config.layers - 1]),
                                         bias: floats(p.baseAddress! + offsets.decoderBias), targets: t.baseAddress!,
                                         threads: threads)
                }
            }
        }
    }

    /// `softmaxCrossEntropy` split over row blocks on `threads` threads: the exponentials of a
    /// [TB, V] logit matrix are the largest cost outside the matrix products. With `biasGradient`
    /// [V], the column sums of the gradients (dLoss/dbias) are added into it, each thread summing
    /// its own rows first.
    ///
    /// With `addBias` (Float only, where `nw_softmax_gradient_available()`), the logits come
    /// without the bias and the C kernel adds it in its passes.
    func parallelSoftmaxCrossEntropy(rows: Int, logits: UnsafeMutablePointer<T>, targets: UnsafePointer<Int32>,
                                     gradientScale: T, threads: Int, biasGradient: UnsafeMutablePointer<T>?,
                                     addBias: UnsafePointer<T>? = nil) -> Double {
        let v = config.vocabSize
        let parts = Self.rowBlocks(rows: rows, threads: threads)
        // [parts, V] per-thread column sums (one small allocation per segment).
        let sums = UnsafeMutablePointer<T>.allocate(capacity: biasGradient == nil ? 1 : parts * v)
        defer { sums.deallocate() }
        if biasGradient != nil { sums.initialize(repeating: 0, count: parts * v) }
        nonisolated(unsafe) let sharedLogits = logits
        nonisolated(unsafe) let sharedTargets = targets
        nonisolated(unsafe) let sharedSums = biasGradient == nil ? nil : sums
        nonisolated(unsafe) let sharedBias = addBias
        let total = Self.sumOverRowBlocks(rows: rows, parts: parts) { begin, end, part in
            if let bias = sharedBias {
                func float(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
                    UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
                }
                return nw_softmax_gradient_rows(float(sharedLogits + begin * v),
                                                UnsafeRawPointer(bias).assumingMemoryBound(to: Float.self),
                                                sharedTargets + begin, end - begin, v, Float(gradientScale),
                                                sharedSums.map { float($0 + part * v) })
            }
            return softmaxCrossEntropy(rows: end - begin, vocab: v, logits: sharedLogits + begin * v,
                                       targets: sharedTargets + begin, gradientScale: gradientScale,
                                       columnSums: sharedSums.map { $0 + part * v })
        }
        if let biasGradient {
            for part in 0 ..< parts {
                let source = sums + part * v
                for j in 0 ..< v { biasGradient[j] += source[j] }
            }
        }
        return total
    }
}

extension NetworkPass {
    /// Σ −log softmax(logits + bias)[target] over rows with a target ≥ 0, the rows split over
    /// `threads` threads (four blocks a thread, as `parallelSoftmaxCrossEntropy`). Reads only.
    /// Float only (T == Float: the kernel is C).
    func parallelScore(rows: Int, logits floatingLogits: UnsafeMutablePointer<T>, bias floatingBias: UnsafePointer<T>,
                       targets: UnsafePointer<Int32>, threads: Int) -> Double {
        precondition(T.self == Float.self, "parallelScore runs on Float")
        let logits = UnsafeRawPointer(floatingLogits).assumingMemoryBound(to: Float.self)
        let bias = UnsafeRawPointer(floatingBias).assumingMemoryBound(to: Float.self)
        let v = config.vocabSize
        nonisolated(unsafe) let shared = (logits: logits, bias: bias, targets: targets)
        return Self.sumOverRowBlocks(rows: rows, parts: Self.rowBlocks(rows: rows, threads: threads)) { begin, end, _ in
            nw_score_rows(shared.logits + begin * v, shared.bias, shared.targets + begin, end - begin, v)
        }
    }

    /// How many row blocks the softmax passes split [rows, V] into: four a thread, taken as threads
    /// come free. Right after a matrix product OpenBLAS's worker still spins on the second core,
    /// and with one block a thread the main thread often ended up doing both (softmax median
    /// 19.7 ms against 10.4 ms with four a thread, brown-lm training batches on 2 cores).
    static func rowBlocks(rows: Int, threads: Int) -> Int {
        threads <= 1 ? 1 : max(1, min(4 * threads, rows))
    }

    /// Σ over `parts` consecutive row blocks of `block(begin, end, part)`, the blocks run
    /// concurrently when there are several (each writes only its own rows).
    static func sumOverRowBlocks(rows: Int, parts: Int, _ block: @escaping @Sendable (Int, Int, Int) -> Double) -> Double {
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: parts)
        defer { partial.deallocate() }
        nonisolated(unsafe) let sharedPartial = partial
        let work: @Sendable (Int) -> Void = { part in
            sharedPartial[part] = block(rows * part / parts, rows * (part + 1) / parts, part)
        }
        if parts == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: work) }
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
