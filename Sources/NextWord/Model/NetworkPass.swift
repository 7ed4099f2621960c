/// Forward and backward passes of the whole network over one segment, on a flat parameter buffer
/// (layout: `ParameterLayout`). Shared by training (T = BPTT length, B streams, dropout on),
/// evaluation (B = 1, dropout off) and the engine (T = 1, B = 1).
///
///   inputs  [T·B]      token ids, time-major
///   X0      [TB, E]    embedding rows (× dropout mask)
///   layer l: G = X_l · Wih^T + bih + bhh       [TB, 4H]   (one gemm for the whole segment)
///            per step t: G_t += h_{t−1} · Whh^T  [B, 4H]   (Whh ⊙ mask under DropConnect)
///            cell → m_t = o ⊙ tanh(c_t), c_t     [B, H]
///            h_t = m_t, or m_t · Whr^T           [B, P]    (with a projection, P < H)
///            X_{l+1} = H_l × mask_l             [TB, P]
///   logits = X_L · D^T + bias                   [TB, V]    D = decoder (or embedding when tied)
struct NetworkPass<T: BLASScalar> {
    let config: ModelConfig
    let offsets: ParameterLayout.Offsets

    init(config: ModelConfig) {
        self.config = config
        self.offsets = ParameterLayout(config).offsets(layers: config.layers)
    }

    /// Runs embedding and LSTM layers over the segment, starting from `state` and leaving the final
    /// state in it. Dropout masks (`regularization`) are drawn from `generator`. The decoder input
    /// is left in `workspace.dropped[L−1]`. The step products run on `threads` threads; with
    /// `packed` (these parameters, packed for an evaluation) the input projections run on its
    /// panels too.
    func forwardHidden(parameters: UnsafePointer<T>, inputs: UnsafePointer<Int32>,
                       state: inout RecurrentState<T>, workspace ws: SegmentWorkspace<T>,
                       regularization: Regularization, generator: inout SeededGenerator,
                       packed: PackedModel? = nil, threads: Int = 1) {
        let (e, h, o, layers) = (config.embeddingSize, config.hiddenSize, config.outputSize, config.layers)
        let (steps, batch, rows) = (ws.steps, ws.batch, ws.rows)
        let embedding = parameters + offsets.embedding

        ws.fillEmbeddingMask(inputs: inputs, regularization: regularization, generator: &generator)
        for r in 0 ..< rows {
            let source = embedding + Int(inputs[r]) * e
            let target = ws.embedded + r * e
            let mask = ws.embeddingMask + r * e
            for j in 0 ..< e { target[j] = source[j] * mask[j] }
        }

        let recurrent = ws.recurrentWeights(parameters: parameters, offsets: offsets.weightHH,
                                            rate: regularization.weightHH, generator: &generator)
        for layer in 0 ..< layers {
            let inputSize = config.inputSize(ofLayer: layer)
            let x = layer == 0 ? UnsafePointer(ws.embedded) : UnsafePointer(ws.dropped[layer - 1])
            let gates = ws.gates[layer]
            let hs = ws.hidden[layer], cs = ws.cell[layer]
            state.h[layer].withUnsafeBufferPointer { hs.update(from: $0.baseAddress!, count: batch * o) }
            state.c[layer].withUnsafeBufferPointer { cs.update(from: $0.baseAddress!, count: batch * h) }

            // Input projections of the whole segment at once, added to both biases.
            let biasIH = parameters + offsets.biasIH[layer], biasHH = parameters + offsets.biasHH[layer]
            for j in 0 ..< 4 * h { ws.gateBias[j] = biasIH[j] + biasHH[j] }
            fillRows(rows: rows, columns: 4 * h, matrix: gates, with: ws.gateBias)
            if let packed, T.self == Float.self {
                packed.addInputProjection(layer: layer, rows: rows, x: UnsafeRawPointer(x).assumingMemoryBound(to: Float.self),
                                          gates: UnsafeMutableRawPointer(gates).assumingMemoryBound(to: Float.self),
                                          threads: threads)
            } else {
                segmentProduct(transA: false, transB: true, m: rows, n: 4 * h, k: inputSize, a: x,
                               b: parameters + offsets.weightIH[layer], beta: 1, c: gates, workspace: ws, threads: threads)
            }

            let products = ws.stepProducts
            products.prepare(.forwardRecurrent, layer: layer, source: recurrent[layer], k: o, n: 4 * h, transposed: true)
            if let projections = offsets.weightHR {
                products.prepare(.forwardProjection, layer: layer, source: parameters + projections[layer],
                                 k: h, n: o, transposed: true)
            }
            for t in 0 ..< steps {
                let g = gates + t * batch * 4 * h
                products.multiply(.forwardRecurrent, layer: layer, m: batch, n: 4 * h, k: o, a: hs + t * batch * o,
                                  source: recurrent[layer], transposed: true, c: g, accumulate: true, threads: threads)
                if let projections = offsets.weightHR {
                    // m_t [B, H], then h_t = m_t · Whr^T   [B, H] × [H, P]
                    let m = ws.cellOutput[layer] + t * batch * h
                    lstmCellForward(batch: batch, hidden: h, gates: g,
                                    cPrev: cs + t * batch * h, c: cs + (t + 1) * batch * h,
                                    tanhC: ws.tanhCell[layer] + t * batch * h, h: m)
                    products.multiply(.forwardProjection, layer: layer, m: batch, n: o, k: h, a: m,
                                      source: parameters + projections[layer], transposed: true,
                                      c: hs + (t + 1) * batch * o, accumulate: false, threads: threads)
                } else {
                    lstmCellForward(batch: batch, hidden: h, gates: g,
                                    cPrev: cs + t * batch * h, c: cs + (t + 1) * batch * h,
                                    tanhC: ws.tanhCell[layer] + t * batch * h, h: hs + (t + 1) * batch * h)
                }
            }
            state.h[layer].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: hs + steps * batch * o, count: batch * o) }
            state.c[layer].withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: cs + steps * batch * h, count: batch * h) }

            let mask = ws.outputMask[layer]
            ws.fillMask(mask, width: o, dropout: layer == layers - 1 ? regularization.output : regularization.hidden,
                        locked: regularization.locked, generator: &generator)
            let out = ws.dropped[layer]
            let produced = hs + batch * o
            for i in 0 ..< rows * o { out[i] = produced[i] * mask[i] }
        }
    }

    /// logits [TB, V] = X_L · D^T + bias (without the bias when `addBias` is false: a scoring
    /// kernel that adds it itself), into `workspace.logits`.
    func decode(parameters: UnsafePointer<T>, workspace ws: SegmentWorkspace<T>, addBias: Bool = true, threads: Int = 1) {
        let (o, v) = (config.outputSize, config.vocabSize)
        // Rows start as the bias and the product adds to them (beta 1): one pass over [TB, V]
        // fewer than zeroing, multiplying and adding the bias after.
        if addBias { fillRows(rows: ws.rows, columns: v, matrix: ws.logits, with: parameters + offsets.decoderBias) }
        segmentProduct(transA: false, transB: true, m: ws.rows, n: v, k: o,
                       a: ws.dropped[config.layers - 1], b: parameters + offsets.decoderWeight, beta: addBias ? 1 : 0,
                       c: ws.logits, workspace: ws, threads: threads)
    }

    /// C = beta·C + op(A)·op(B) (sgemm's row-major terms) for a product over the whole segment's
    /// rows: on the workspace's bfloat16 tiles when it has them (training with
    /// `MatmulPrecision.bfloat16`), else the BLAS in T.
    func segmentProduct(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>,
                        beta: T, c: UnsafeMutablePointer<T>, workspace ws: SegmentWorkspace<T>, threads: Int) {
        guard let tiles = ws.tiles else {
            T.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: beta, c: c)
            return
        }
        func float(_ p: UnsafePointer<T>) -> UnsafePointer<Float> { UnsafeRawPointer(p).assumingMemoryBound(to: Float.self) }
        tiles.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: float(a), b: float(b), beta: Float(beta),
                   c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), threads: threads)
    }

    /// Backward of the whole pass, given `workspace.logits` already holding dLoss/dlogits.
    /// Adds every parameter's gradient into `gradients` (same layout as the parameters), except
    /// the decoder bias's: the softmax adds that (its column sums) while the rows are in cache.
    /// With AR or TAR in `regularization`, their gradients join the last layer's
    /// (`activationPenalty` is their value). The step products run on `threads` threads.
    func backward(parameters: UnsafePointer<T>, gradients: UnsafeMutablePointer<T>,
                  inputs: UnsafePointer<Int32>, workspace ws: SegmentWorkspace<T>,
                  regularization: Regularization = .none, threads: Int = 1) {
        let (e, h, o, v, layers) = (config.embeddingSize, config.hiddenSize, config.outputSize, config.vocabSize, config.layers)
        let (steps, batch, rows) = (ws.steps, ws.batch, ws.rows)

        // Decoder: dD += dlogits^T · X_L [V, P]; dX_L = dlogits · D [TB, P].
        segmentProduct(transA: true, transB: false, m: v, n: o, k: rows, a: ws.logits, b: ws.dropped[layers - 1],
                       beta: 1, c: gradients + offsets.decoderWeight, workspace: ws, threads: threads)
        var dOut = ws.gradientA, dIn = ws.gradientB
        segmentProduct(transA: false, transB: false, m: rows, n: o, k: v, a: ws.logits, b: parameters + offsets.decoderWeight,
                       beta: 0, c: dOut, workspace: ws, threads: threads)

        for layer in stride(from: layers - 1, through: 0, by: -1) {
            let inputSize = config.inputSize(ofLayer: layer)
            let gates = ws.gates[layer]
            let hs = ws.hidden[layer], cs = ws.cell[layer], tanhC = ws.tanhCell[layer]
            // Through the output dropout: dH = dX_{l+1} × mask.
            let mask = ws.outputMask[layer]
            if layer == layers - 1 { addActivationPenalty(regularization, to: dOut, workspace: ws, beforeMask: true) }
            for i in 0 ..< rows * o { dOut[i] *= mask[i] }
            if layer == layers - 1 { addActivationPenalty(regularization, to: dOut, workspace: ws, beforeMask: false) }

            ws.dh.update(repeating: 0, count: batch * o)
            ws.dc.update(repeating: 0, count: batch * h)
            // The matrix the forward ran on: weight_hh ⊙ mask under DropConnect.
            let dropped = ws.weightDrop.flatMap { $0.applied ? $0 : nil }
            let whh = dropped.map { UnsafePointer($0.weights[layer]) } ?? parameters + offsets.weightHH[layer]
            let products = ws.stepProducts
            products.prepare(.backwardRecurrent, layer: layer, source: whh, k: 4 * h, n: o, transposed: false)
            if let projections = offsets.weightHR {
                products.prepare(.backwardProjection, layer: layer, source: parameters + projections[layer],
                                 k: o, n: h, transposed: false)
            }
            for t in stride(from: steps - 1, through: 0, by: -1) {
                // dh_t = gradient from above + gradient from step t+1 (already in ws.dh).
                let above = dOut + t * batch * o
                for i in 0 ..< batch * o { ws.dh[i] += above[i] }
                let g = gates + t * batch * 4 * h
                if let projections = offsets.weightHR {
                    // Kept for W_hr's gradient; dm_t = dh_t · Whr   [B, P] × [P, H]
                    (ws.projectedGradient + t * batch * o).update(from: ws.dh, count: batch * o)
                    products.multiply(.backwardProjection, layer: layer, m: batch, n: h, k: o, a: ws.dh,
                                      source: parameters + projections[layer], transposed: false, c: ws.dm,
                                      accumulate: false, threads: threads)
                    lstmCellBackward(batch: batch, hidden: h, gates: g, cPrev: cs + t * batch * h,
                                     tanhC: tanhC + t * batch * h, dh: ws.dm, dc: ws.dc)
                } else {
                    lstmCellBackward(batch: batch, hidden: h, gates: g, cPrev: cs + t * batch * h,
                                     tanhC: tanhC + t * batch * h, dh: ws.dh, dc: ws.dc)
                }
                // dh_{t−1} = dG_t · Whh   [B, 4H] × [4H, P]
                products.multiply(.backwardRecurrent, layer: layer, m: batch, n: o, k: 4 * h, a: g,
                                  source: whh, transposed: false, c: ws.dh, accumulate: false, threads: threads)
            }
            if let projections = offsets.weightHR {
                // dWhr += dH^T · M over the segment   [P, TB] × [TB, H]
                segmentProduct(transA: true, transB: false, m: o, n: h, k: rows, a: ws.projectedGradient, b: ws.cellOutput[layer],
                               beta: 1, c: gradients + projections[layer], workspace: ws, threads: threads)
            }
            // Weight gradients over the whole segment at once.
            let x = layer == 0 ? UnsafePointer(ws.embedded) : UnsafePointer(ws.dropped[layer - 1])
            if let dropped {
                // d raw = d dropped ⊙ mask   [4H, P]
                segmentProduct(transA: true, transB: false, m: 4 * h, n: o, k: rows, a: gates, b: hs,
                               beta: 0, c: dropped.gradient, workspace: ws, threads: threads)
                let target = gradients + offsets.weightHH[layer], mask = dropped.masks[layer]
                for i in 0 ..< 4 * h * o { target[i] += dropped.gradient[i] * mask[i] }
            } else {
                segmentProduct(transA: true, transB: false, m: 4 * h, n: o, k: rows, a: gates, b: hs,
                               beta: 1, c: gradients + offsets.weightHH[layer], workspace: ws, threads: threads)
            }
            segmentProduct(transA: true, transB: false, m: 4 * h, n: inputSize, k: rows, a: gates, b: x,
                           beta: 1, c: gradients + offsets.weightIH[layer], workspace: ws, threads: threads)
            // Both biases get Σ dG over the segment: 1ᵀ · dG, [1, TB] × [TB, 4H].
            T.gemm(transA: false, transB: false, m: 1, n: 4 * h, k: rows, alpha: 1,
                   a: ws.ones, b: gates, beta: 1, c: gradients + offsets.biasIH[layer])
            T.gemm(transA: false, transB: false, m: 1, n: 4 * h, k: rows, alpha: 1,
                   a: ws.ones, b: gates, beta: 1, c: gradients + offsets.biasHH[layer])
            // dX_l = dG · Wih   [TB, 4H] × [4H, In]
            segmentProduct(transA: false, transB: false, m: rows, n: inputSize, k: 4 * h, a: gates,
                           b: parameters + offsets.weightIH[layer], beta: 0, c: dIn, workspace: ws, threads: threads)
            swap(&dOut, &dIn)
        }
        // Embedding rows: scatter-add dX_0 × mask.
        let dEmbedding = gradients + offsets.embedding
        for r in 0 ..< rows {
            let target = dEmbedding + Int(inputs[r]) * e
            let source = dOut + r * e
            let mask = ws.embeddingMask + r * e
            for j in 0 ..< e { target[j] += source[j] * mask[j] }
        }
    }
}

extension NetworkPass {
    /// AR + TAR of the pass just run forward, × TB so it adds to the summed loss (the penalties
    /// are means over their elements while the loss is a sum over rows):
    ///   AR  = α · mean(X_L²)                  X_L [TB, P] the last layer's dropped output
    ///   TAR = β · mean((h_t − h_{t−1})²)      H_L [TB, P] its output before dropout, t ≥ 1
    func activationPenalty(_ r: Regularization, workspace ws: SegmentWorkspace<T>) -> Double {
        let (o, rows, batch) = (config.outputSize, ws.rows, ws.batch)
        var total = 0.0
        if r.activation > 0 {
            let x = ws.dropped[config.layers - 1]
            var sum = 0.0
            for i in 0 ..< rows * o { sum += Double(x[i] * x[i]) }
            total += Double(r.activation) * sum / Double(o)
        }
        if r.temporal > 0, ws.steps > 1 {
            // h_t is block t+1 of the layer's states; block 0 (the carried state) is not compared.
            let h = ws.hidden[config.layers - 1] + batch * o
            var sum = 0.0
            for i in batch * o ..< rows * o { sum += Double((h[i] - h[i - batch * o]) * (h[i] - h[i - batch * o])) }
            total += Double(r.temporal) * sum / Double((ws.steps - 1) * batch * o) * Double(rows)
        }
        return total
    }

    /// AR's gradient on the last layer's dropped output (`beforeMask`: dOut is still dLoss/dX_L),
    /// or TAR's on its output (after the mask: dOut is dLoss/dH_L):
    ///   dX_L += 2α · X_L / (TB·P)
    ///   dh_t += 2β · (h_t − h_{t−1}) / ((T−1)·B·P), dh_{t−1} −= the same
    func addActivationPenalty(_ r: Regularization, to dOut: UnsafeMutablePointer<T>, workspace ws: SegmentWorkspace<T>,
                              beforeMask: Bool) {
        let (o, rows, batch, steps) = (config.outputSize, ws.rows, ws.batch, ws.steps)
        if beforeMask {
            guard r.activation > 0 else { return }
            let x = ws.dropped[config.layers - 1]
            let scale = 2 * T(r.activation) / T(rows * o)
            for i in 0 ..< rows * o { dOut[i] += scale * x[i] }
            return
        }
        guard r.temporal > 0, steps > 1 else { return }
        let h = ws.hidden[config.layers - 1] + batch * o
        let scale = 2 * T(r.temporal) / T((steps - 1) * batch * o)
        for i in batch * o ..< rows * o {
            let difference = scale * (h[i] - h[i - batch * o])
            dOut[i] += difference
            dOut[i - batch * o] -= difference
        }
    }
}
