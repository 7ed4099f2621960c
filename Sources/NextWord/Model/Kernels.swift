#if canImport(Accelerate)
import Accelerate
#endif
import CKernels
import Foundation

/// A float type the kernels run in: `Float` for training and inference, `Double` for the gradient
/// checks, each with its BLAS matrix product.
package protocol BLASScalar: BinaryFloatingPoint, Sendable {
    /// C[M,N] = alpha · op(A) · op(B) + beta · C, all row-major. op(A) is [M,K], op(B) is [K,N].
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, b: UnsafePointer<Self>, beta: Self,
                     c: UnsafeMutablePointer<Self>)
    static func exponential(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
    static func logarithm(_ x: Self) -> Self
    /// values[i] = exp(values[i] − shift) for i < count; returns their sum.
    static func exponentiate(_ values: UnsafeMutablePointer<Self>, count: Int, shift: Self) -> Self
    /// The largest of values[0..<count] (count ≥ 1).
    static func maximum(_ values: UnsafePointer<Self>, count: Int) -> Self
    /// values[i] *= factor, and sums[i] += the new values[i] when `sums` is given.
    static func scale(_ values: UnsafeMutablePointer<Self>, count: Int, by factor: Self, addingInto sums: UnsafeMutablePointer<Self>?)
    /// out [steps, cols] = g [steps, rows] · w [rows, cols], all row-major, without the BLAS (the
    /// engine's learning path, which never starts its threads): a sum of w's rows per output row.
    static func rowCombination(_ g: UnsafePointer<Self>, _ w: UnsafePointer<Self>, into out: UnsafeMutablePointer<Self>,
                               steps: Int, rows: Int, cols: Int)
}

extension BLASScalar {
    public static func rowCombination(_ g: UnsafePointer<Self>, _ w: UnsafePointer<Self>, into out: UnsafeMutablePointer<Self>,
                                      steps: Int, rows: Int, cols: Int) {
        out.update(repeating: 0, count: steps * cols)
        for t in 0 ..< steps {
            let y = out + t * cols
            for r in 0 ..< rows {
                let a = g[t * rows + r], row = w + r * cols
                if a == 0 { continue }
                for c in 0 ..< cols { y[c] += a * row[c] }
            }
        }
    }

    public static func maximum(_ values: UnsafePointer<Self>, count: Int) -> Self {
        var best = values[0]
        for i in 1 ..< max(count, 1) where values[i] > best { best = values[i] }
        return best
    }

    public static func scale(_ values: UnsafeMutablePointer<Self>, count: Int, by factor: Self, addingInto sums: UnsafeMutablePointer<Self>?) {
        for i in 0 ..< count { values[i] *= factor }
        if let sums { for i in 0 ..< count { sums[i] += values[i] } }
    }
}

#if canImport(Accelerate)
@inline(__always)
private func blasTranspose(_ t: Bool) -> CBLAS_TRANSPOSE { t ? CblasTrans : CblasNoTrans }
#else
@inline(__always)
private func blasTranspose(_ t: Bool) -> Int32 { t ? BLASLibrary.transpose : BLASLibrary.noTranspose }
#endif

extension Float: BLASScalar {
    /// On the C kernel (AVX-512 where the CPU has it).
    public static func rowCombination(_ g: UnsafePointer<Float>, _ w: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>,
                                      steps: Int, rows: Int, cols: Int) {
        nw_row_combination(g, w, out, steps, rows, cols)
    }

    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float,
                            c: UnsafeMutablePointer<Float>) {
        #if canImport(Accelerate)
        if m == 1 {
            // A single row: a matrix-vector product. sgemm would pack the whole weight matrix
            // into a scratch copy first, for one row of output.
            if transB {  // B stored [N, K]: c = B · a
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(k), a, 1, beta, c, 1)
            } else {     // B stored [K, N]: c = Bᵀ · a
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(n), a, 1, beta, c, 1)
            }
            return
        }
        cblas_sgemm(CblasRowMajor, blasTranspose(transA), blasTranspose(transB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transA ? m : k),
                    b, Int32(transB ? k : n), beta, c, Int32(n))
        #else
        let blas = BLASLibrary.loaded
        if m == 1 {
            if transB {
                blas.sgemv(BLASLibrary.rowMajor, BLASLibrary.noTranspose, Int32(n), Int32(k), alpha, b, Int32(k), a, 1, beta, c, 1)
            } else {
                blas.sgemv(BLASLibrary.rowMajor, BLASLibrary.transpose, Int32(k), Int32(n), alpha, b, Int32(n), a, 1, beta, c, 1)
            }
            return
        }
        blas.sgemm(BLASLibrary.rowMajor, blasTranspose(transA), blasTranspose(transB),
                   Int32(m), Int32(n), Int32(k), alpha, a, Int32(transA ? m : k),
                   b, Int32(transB ? k : n), beta, c, Int32(n))
        #endif
    }
    @inline(__always) public static func exponential(_ x: Float) -> Float { Foundation.exp(x) }
    @inline(__always) public static func hyperbolicTangent(_ x: Float) -> Float { Foundation.tanh(x) }
    @inline(__always) public static func logarithm(_ x: Float) -> Float { Foundation.log(x) }

    /// Eight lanes at a time through `fastExp`: the softmax's exponentials are the largest cost
    /// of training outside the matrix products.
    public static func exponentiate(_ values: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        #if arch(x86_64)
        // AVX-512 or AVX2 chosen at run time; this file is compiled for the SSE2 baseline.
        return nw_exponentiate(values, count, shift)
        #else
        var sums = SIMD8<Float>()
        var i = 0
        let raw = UnsafeMutableRawPointer(values)
        while i + 8 <= count {
            let x = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let e = fastExp(x - SIMD8(repeating: shift))
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            sums += e
            i += 8
        }
        var sum = sums.sum()
        while i < count {
            let e = Foundation.exp(values[i] - shift)
            values[i] = e
            sum += e
            i += 1
        }
        return sum
        #endif
    }
}

extension Float {
    /// Sixteen lanes at a time: the softmax's maximum is a pass over every logit.
    public static func maximum(_ values: UnsafePointer<Float>, count: Int) -> Float {
        #if arch(x86_64)
        return nw_max(values, count)
        #else
        let raw = UnsafeRawPointer(values)
        var i = 0
        var best = values[0]
        if count >= 16 {
            var lanes = raw.loadUnaligned(as: SIMD16<Float>.self)
            i = 16
            while i + 16 <= count {
                // A compare and a blend: `pointwiseMax`'s NaN rules make it go lane by lane.
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                lanes.replace(with: v, where: v .> lanes)
                i += 16
            }
            best = lanes.max()
        }
        while i < count { best = Swift.max(best, values[i]); i += 1 }
        return best
        #endif
    }

    /// Sixteen lanes at a time; with `sums` this is the softmax's last pass, which also gathers
    /// the decoder bias gradient (the column sums of dlogits) while the row is in cache.
    public static func scale(_ values: UnsafeMutablePointer<Float>, count: Int, by factor: Float,
                             addingInto sums: UnsafeMutablePointer<Float>?) {
        let raw = UnsafeMutableRawPointer(values)
        var i = 0
        if let sums {
            let sumsRaw = UnsafeMutableRawPointer(sums)
            while i + 16 <= count {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * factor
                raw.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
                let s = sumsRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) + v
                sumsRaw.storeBytes(of: s, toByteOffset: i * 4, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count { values[i] *= factor; sums[i] += values[i]; i += 1 }
        } else {
            while i + 16 <= count {
                let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * factor
                raw.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
                i += 16
            }
            while i < count { values[i] *= factor; i += 1 }
        }
    }
}

/// e^x for eight floats: Cephes' degree-6 polynomial on r = x − n·ln2 (ln2 split in two for
/// accuracy), times 2^n built in the exponent bits. Relative error about 2e-7 on [−87, 88];
/// inputs outside are clamped (the softmax only feeds x ≤ 0).
///
/// n = round(x·log2 e) comes from the 1.5·2^23 trick: adding it leaves n in the low mantissa bits,
/// so neither rounding nor the float-to-int conversion leaves the vector registers.
@inline(__always)
func fastExp(_ input: SIMD8<Float>) -> SIMD8<Float> {
    let low = SIMD8<Float>(repeating: -87.3), high = SIMD8<Float>(repeating: 88.3)
    var x = input.replacing(with: low, where: input .< low)
    x = x.replacing(with: high, where: x .> high)
    let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5 · 2^23
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    x = x - n * 0.693_359_375 + n * 2.121_944_4e-4
    let z = x * x
    var y = SIMD8<Float>(repeating: 1.987_569_15e-4)
    y = y * x + 1.398_199_950_7e-3
    y = y * x + 8.333_451_907_3e-3
    y = y * x + 4.166_579_589_4e-2
    y = y * x + 1.666_666_545_9e-1
    y = y * x + 5.000_000_120_1e-1
    y = y * z + x + 1
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    return y * scale
}

extension Double: BLASScalar {
    @inline(__always)
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, b: UnsafePointer<Double>, beta: Double,
                            c: UnsafeMutablePointer<Double>) {
        #if canImport(Accelerate)
        cblas_dgemm(CblasRowMajor, blasTranspose(transA), blasTranspose(transB),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transA ? m : k),
                    b, Int32(transB ? k : n), beta, c, Int32(n))
        #else
        BLASLibrary.loaded.dgemm(BLASLibrary.rowMajor, blasTranspose(transA), blasTranspose(transB),
                                 Int32(m), Int32(n), Int32(k), alpha, a, Int32(transA ? m : k),
                                 b, Int32(transB ? k : n), beta, c, Int32(n))
        #endif
    }
    @inline(__always) public static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    @inline(__always) public static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
    @inline(__always) public static func logarithm(_ x: Double) -> Double { Foundation.log(x) }

    public static func exponentiate(_ values: UnsafeMutablePointer<Double>, count: Int, shift: Double) -> Double {
        var sum = 0.0
        for i in 0 ..< count {
            let e = Foundation.exp(values[i] - shift)
            values[i] = e
            sum += e
        }
        return sum
    }
}

/// Sets how many threads the BLAS uses for matrix products (OpenBLAS; Accelerate picks its own).
public func setBLASThreads(_ count: Int) {
    #if !canImport(Accelerate)
    // Only where the library is already loaded or loads now: the thread count is its state.
    if case .success(let blas) = BLASLibrary.shared { blas.setThreads?(Int32(max(1, count))) }
    #endif
}

@inline(__always)
func sigmoid<T: BLASScalar>(_ x: T) -> T { 1 / (1 + T.exponential(-x)) }

// MARK: - LSTM cell kernels

/// One time step of the LSTM cell for a batch, in place.
///   gates  [B, 4H]  in: pre-activations (x·Wih + h·Whh + biases), blocks i, f, g, o;
///                   out: activations σ(i), σ(f), tanh(g), σ(o)
///   cPrev  [B, H]   cell state before the step
///   c      [B, H]   out: cell state after
///   tanhC  [B, H]   out: tanh(c), kept for the backward pass
///   h      [B, H]   out: hidden state o · tanh(c)
@inline(__always)
func lstmCellForward<T: BLASScalar>(batch: Int, hidden: Int, gates: UnsafeMutablePointer<T>,
                                    cPrev: UnsafePointer<T>, c: UnsafeMutablePointer<T>,
                                    tanhC: UnsafeMutablePointer<T>, h: UnsafeMutablePointer<T>) {
    if T.self == Float.self && hidden % 8 == 0 {
        func float(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> { UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self) }
        lstmCellForwardVectorized(batch: batch, hidden: hidden, gates: float(gates),
                                  cPrev: UnsafeRawPointer(cPrev).assumingMemoryBound(to: Float.self),
                                  c: float(c), tanhC: float(tanhC), h: float(h))
        return
    }
    for b in 0 ..< batch {
        let g = gates + b * 4 * hidden
        let row = b * hidden
        for j in 0 ..< hidden {
            let i = sigmoid(g[j])
            let f = sigmoid(g[hidden + j])
            let cand = T.hyperbolicTangent(g[2 * hidden + j])
            let o = sigmoid(g[3 * hidden + j])
            g[j] = i; g[hidden + j] = f; g[2 * hidden + j] = cand; g[3 * hidden + j] = o
            let cell = f * cPrev[row + j] + i * cand
            let t = T.hyperbolicTangent(cell)
            c[row + j] = cell
            tanhC[row + j] = t
            h[row + j] = o * t
        }
    }
}

/// Backward of one LSTM time step, in place.
///   gates   [B, 4H]  in: activations i, f, g, o from the forward; out: gradients of the
///                    pre-activations (what the weight gradients and dh_prev need)
///   cPrev   [B, H]   cell state before the step
///   tanhC   [B, H]   tanh(c) from the forward
///   dh      [B, H]   gradient reaching h_t (from above and from step t+1)
///   dc      [B, H]   in: gradient reaching c_t from step t+1; out: gradient for c_{t-1}
@inline(__always)
func lstmCellBackward<T: BLASScalar>(batch: Int, hidden: Int, gates: UnsafeMutablePointer<T>,
                                     cPrev: UnsafePointer<T>, tanhC: UnsafePointer<T>,
                                     dh: UnsafePointer<T>, dc: UnsafeMutablePointer<T>) {
    for b in 0 ..< batch {
        let g = gates + b * 4 * hidden
        let row = b * hidden
        for j in 0 ..< hidden {
            let i = g[j], f = g[hidden + j], cand = g[2 * hidden + j], o = g[3 * hidden + j]
            let t = tanhC[row + j]
            let dhj = dh[row + j]
            let dcell = dhj * o * (1 - t * t) + dc[row + j]
            g[j] = dcell * cand * i * (1 - i)
            g[hidden + j] = dcell * cPrev[row + j] * f * (1 - f)
            g[2 * hidden + j] = dcell * i * (1 - cand * cand)
            g[3 * hidden + j] = dhj * t * o * (1 - o)
            dc[row + j] = dcell * f
        }
    }
}

/// Row-wise log-softmax cross-entropy, turning logits into gradients in place.
///   logits [N, V]  in: scores; out (if `gradientScale` ≠ 0): gradientScale · (softmax − onehot)
///   targets [N]     a target < 0 is not scored (context or padding): no loss, a zero gradient row
///   columnSums [V]  optional: the gradient rows are added into it (the decoder bias gradient)
/// Returns the summed negative log-likelihood of the targets (in Double, so long sums stay exact).
func softmaxCrossEntropy<T: BLASScalar>(rows: Int, vocab: Int, logits: UnsafeMutablePointer<T>,
                                        targets: UnsafePointer<Int32>, gradientScale: T,
                                        columnSums: UnsafeMutablePointer<T>? = nil) -> Double {
    var total = 0.0
    for r in 0 ..< rows {
        let row = logits + r * vocab
        let target = Int(targets[r])
        if target < 0 {
            // Context or padding (batched evaluation): no loss and no gradient.
            if gradientScale != 0 { row.update(repeating: 0, count: vocab) }
            continue
        }
        let maxValue = T.maximum(row, count: vocab)
        let targetLogit = row[target] - maxValue
        let sum = T.exponentiate(row, count: vocab, shift: maxValue)
        // log p(target) = (logit − max) − log(sum): exact even where exp underflows.
        total -= Double(targetLogit - T.logarithm(sum))
        if gradientScale != 0 {
            T.scale(row, count: vocab, by: gradientScale / sum, addingInto: columnSums)
            row[target] -= gradientScale
            columnSums?[target] -= gradientScale
        }
    }
    return total
}

/// Copies `row` [N] into every row of `matrix` [rows, N].
@inline(__always)
func fillRows<T: BLASScalar>(rows: Int, columns: Int, matrix: UnsafeMutablePointer<T>, with row: UnsafePointer<T>) {
    for r in 0 ..< rows { (matrix + r * columns).update(from: row, count: columns) }
}
