/// Float kernels eight lanes at a time, for the hot loops where scalar `exp`/`tanh` calls cost
/// more than the arithmetic around them. The generic kernels in Kernels.swift call these for
/// Float when the width allows; Double (the gradient checks) keeps the scalar path, and
/// KernelTests compares the two.

@inline(__always)
func fastSigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + fastExp(-x))
}

/// tanh(x) = 2σ(2x) − 1: absolute error about 1e-7, which is all a gate needs.
@inline(__always)
func fastTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    2 * fastSigmoid(2 * x) - 1
}

/// `lstmCellForward` for Float with H a multiple of 8 (same shapes and contract).
///   gates [B, 4H]  pre-activations in, activations i, f, g, o out
///   cPrev, c, tanhC, h  [B, H]
func lstmCellForwardVectorized(batch: Int, hidden: Int, gates: UnsafeMutablePointer<Float>,
                               cPrev: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>,
                               tanhC: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
    let g = UnsafeMutableRawPointer(gates)
    let cp = UnsafeRawPointer(cPrev)
    let cr = UnsafeMutableRawPointer(c), tr = UnsafeMutableRawPointer(tanhC), hr = UnsafeMutableRawPointer(h)
    let stride = MemoryLayout<Float>.stride
    for b in 0 ..< batch {
        let gateRow = b * 4 * hidden * stride
        let row = b * hidden * stride
        var j = 0
        while j < hidden {
            let offset = j * stride
            let i = fastSigmoid(g.loadUnaligned(fromByteOffset: gateRow + offset, as: SIMD8<Float>.self))
            let f = fastSigmoid(g.loadUnaligned(fromByteOffset: gateRow + hidden * stride + offset, as: SIMD8<Float>.self))
            let cand = fastTanh(g.loadUnaligned(fromByteOffset: gateRow + 2 * hidden * stride + offset, as: SIMD8<Float>.self))
            let o = fastSigmoid(g.loadUnaligned(fromByteOffset: gateRow + 3 * hidden * stride + offset, as: SIMD8<Float>.self))
            g.storeBytes(of: i, toByteOffset: gateRow + offset, as: SIMD8<Float>.self)
            g.storeBytes(of: f, toByteOffset: gateRow + hidden * stride + offset, as: SIMD8<Float>.self)
            g.storeBytes(of: cand, toByteOffset: gateRow + 2 * hidden * stride + offset, as: SIMD8<Float>.self)
            g.storeBytes(of: o, toByteOffset: gateRow + 3 * hidden * stride + offset, as: SIMD8<Float>.self)
            let cell = f * cp.loadUnaligned(fromByteOffset: row + offset, as: SIMD8<Float>.self) + i * cand
            let t = fastTanh(cell)
            cr.storeBytes(of: cell, toByteOffset: row + offset, as: SIMD8<Float>.self)
            tr.storeBytes(of: t, toByteOffset: row + offset, as: SIMD8<Float>.self)
            hr.storeBytes(of: o * t, toByteOffset: row + offset, as: SIMD8<Float>.self)
            j += 8
        }
    }
}
