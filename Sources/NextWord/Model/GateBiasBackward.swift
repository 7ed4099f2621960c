/// The gradient of a loss with respect to every layer's gate biases, by backpropagation through
/// one sequence at batch 1: what the engine's dynamic evaluation of a committed line needs
/// (`BiasAdaptation`), without the weight gradients of the trainer's pass.
///
/// bias_ih and bias_hh enter the gates as their sum, so both have this gradient; the engine adapts
/// their sum. Going back through time, per step t (last first) and layer l (top first):
///
///     dh      = fromAbove_t + dhNext_l                  [P]  (fromAbove: the loss, or layer l+1)
///     dm      = Whr_lᵀ dh  (projection) or dh           [H]  m = o ⊙ tanh c, the cell's output
///     da      = the cell's backward (lstmCellBackward)  [4H] gradients of the pre-activations
///     ∂bias_l += da
///     dhNext_l = Whh_lᵀ da                              [P]  into step t−1
///     fromAbove for layer l−1 = Wih_lᵀ da               [P]
///
/// The products are row combinations (y = Σ_r a_r · W[r, :], `BLASScalar.rowCombination`: a C
/// kernel for Float); there are no weight gradients, so a step of the default model is about
/// 0.3 M multiply-adds a layer. Checked against finite differences in Double and against the trainer's
/// bias gradients (GateBiasBackwardTests).
package enum GateBiasBackward {
    /// What the forward left of one sequence, per layer (N steps):
    ///   gates[l]      [N, 4H]     activations i, f, g, o (consumed: the backward overwrites them)
    ///   cells[l]      [(N+1), H]  block 0 the cell before the first step, block t+1 after step t
    ///   tanhCells[l]  [N, H]      tanh of the cell after each step
    package struct Record<T: BLASScalar> {
        public var gates: [[T]]
        public var cells: [[T]]
        public var tanhCells: [[T]]

        public init(gates: [[T]], cells: [[T]], tanhCells: [[T]]) {
            (self.gates, self.cells, self.tanhCells) = (gates, cells, tanhCells)
        }

        /// Steps recorded.
        public func steps(hidden: Int) -> Int { (gates.first?.count ?? 0) / max(4 * hidden, 1) }
    }

    /// Per layer [4H] the gradient of the loss whose gradient reaching the top layer's output is
    /// `output` ([N, P]: row t at step t, zero where the loss does not look at step t).
    package static func gradient<T: BLASScalar>(config: ModelConfig, parameters: UnsafePointer<T>,
                                                record: inout Record<T>, output: [T]) -> [[T]] {
        let (layers, h, p) = (config.layers, config.hiddenSize, config.outputSize)
        let offsets = ParameterLayout(config).offsets(layers: layers)
        let steps = min(record.steps(hidden: h), output.count / max(p, 1))
        var result = [[T]](repeating: [T](repeating: 0, count: 4 * h), count: layers)
        var dhNext = [[T]](repeating: [T](repeating: 0, count: p), count: layers)
        var dcNext = [[T]](repeating: [T](repeating: 0, count: h), count: layers)
        var fromAbove = [T](repeating: 0, count: p)
        var dh = [T](repeating: 0, count: p), dm = [T](repeating: 0, count: offsets.weightHR == nil ? 0 : h)

        /// y[cols] = Σ_r a[r] · w[r, :] over w [rows, cols] row-major.
        func combine(_ a: UnsafePointer<T>, rows: Int, _ w: UnsafePointer<T>, cols: Int, into y: UnsafeMutablePointer<T>) {
            T.rowCombination(a, w, into: y, steps: 1, rows: rows, cols: cols)
        }

        for t in stride(from: steps - 1, through: 0, by: -1) {
            for j in 0 ..< p { fromAbove[j] = output[t * p + j] }
            for layer in stride(from: layers - 1, through: 0, by: -1) {
                for j in 0 ..< p { dh[j] = fromAbove[j] + dhNext[layer][j] }
                // What reaches the cell's output m: through the projection, or h itself.
                if let weightHR = offsets.weightHR {
                    dh.withUnsafeBufferPointer { combine($0.baseAddress!, rows: p, parameters + weightHR[layer], cols: h, into: &dm) }
                }
                let cellOutputGradient = offsets.weightHR == nil ? dh : dm
                record.gates[layer].withUnsafeMutableBufferPointer { gates in
                    let da = gates.baseAddress! + t * 4 * h
                    record.cells[layer].withUnsafeBufferPointer { cells in
                        record.tanhCells[layer].withUnsafeBufferPointer { tanhCells in
                            dcNext[layer].withUnsafeMutableBufferPointer { dc in
                                lstmCellBackward(batch: 1, hidden: h, gates: da, cPrev: cells.baseAddress! + t * h,
                                                 tanhC: tanhCells.baseAddress! + t * h, dh: cellOutputGradient, dc: dc.baseAddress!)
                            }
                        }
                    }
                    for r in 0 ..< 4 * h { result[layer][r] += da[r] }
                    combine(da, rows: 4 * h, parameters + offsets.weightHH[layer], cols: p, into: &dhNext[layer])
                    if layer > 0 {
                        combine(da, rows: 4 * h, parameters + offsets.weightIH[layer], cols: p, into: &fromAbove)
                    }
                }
            }
        }
        return result
    }
}
