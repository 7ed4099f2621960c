import CKernels

/// The recurrent products of one segment's steps, on packed panels where the CPU has the kernel.
///
/// Each step multiplies a few rows (the batch) by the same recurrent matrix:
///
///   forward   G_t [B, 4H] += h_{t−1} [B, P] · Whhᵀ     right side Whhᵀ [P, 4H]
///             h_t [B, P]   = m_t [B, H] · Whrᵀ          right side Whrᵀ [H, P]   (projection)
///   backward  dh  [B, P]   = dG_t [B, 4H] · Whh         right side Whh  [4H, P]
///             dm  [B, H]   = dh [B, P] · Whr            right side Whr  [P, H]   (projection)
///
/// OpenBLAS packs the right side again at every call and wakes its threads for a product of tens
/// of microseconds (10 × 256 × 1024 at 30–40 GFLOPS on the Xeon of issue #11). Here each right
/// side is packed once per segment (`nw_panel_pack`) and every step is one pass of the panel
/// kernel over it (160 GFLOPS on one core there), its panels shared by `threads` threads.
/// Float on a CPU with AVX-512 only; otherwise, and for Double (the gradient checks), the BLAS.
final class StepProducts<T: BLASScalar> {
    /// Whether products go through the panel kernel.
    let usesPanels: Bool
    /// The packed right sides, by slot (`Slot`), grown on first use.
    private var panels: [Int: (buffer: UnsafeMutablePointer<Float>, capacity: Int)] = [:]
    /// The shape each slot was last packed with: k (rows of the right side), n (columns).
    private var shapes: [Int: (k: Int, n: Int)] = [:]

    /// The right sides a pass packs, per layer.
    enum Slot: Int {
        case forwardRecurrent, forwardProjection, backwardRecurrent, backwardProjection

        func index(layer: Int) -> Int { layer * 4 + rawValue }
    }

    /// `panels: false` keeps every product on the BLAS (a test compares both).
    init(panels: Bool = true) {
        usesPanels = panels && T.self == Float.self && nw_panel_product_available() != 0
    }

    deinit {
        for (_, packed) in panels { packed.buffer.deallocate() }
    }

    /// Packs the right side of `slot` for this segment: the [k, n] matrix `source` itself (leading
    /// dimension n) or, `transposed`, the transpose of `source` [n, k].
    func prepare(_ slot: Slot, layer: Int, source: UnsafePointer<T>, k: Int, n: Int, transposed: Bool) {
        guard usesPanels else { return }
        let index = slot.index(layer: layer)
        let size = nw_panel_size(k, n)
        var packed = panels[index]
        if packed == nil || packed!.capacity < size {
            packed?.buffer.deallocate()
            // 64-byte aligned: each panel row the kernel loads is then one cache line pair.
            let raw = UnsafeMutableRawPointer.allocate(byteCount: size * MemoryLayout<Float>.stride, alignment: 64)
            packed = (raw.bindMemory(to: Float.self, capacity: size), size)
            panels[index] = packed
        }
        nw_panel_pack(Self.floats(source), k, n, transposed ? 1 : 0, packed!.buffer)
        shapes[index] = (k, n)
    }

    /// c [m, n] = a [m, k] · right side (+ c when `accumulate`), the right side that `prepare`
    /// packed for `slot`, or on the BLAS from `source` as it describes (`transposed`: source is
    /// [n, k], so the product is a · sourceᵀ). Leading dimensions are k for a, n for c.
    func multiply(_ slot: Slot, layer: Int, m: Int, n: Int, k: Int, a: UnsafePointer<T>,
                  source: UnsafePointer<T>, transposed: Bool, c: UnsafeMutablePointer<T>,
                  accumulate: Bool, threads: Int = 1) {
        let index = slot.index(layer: layer)
        guard usesPanels, let packed = panels[index], let shape = shapes[index], shape == (k, n) else {
            T.gemm(transA: false, transB: transposed, m: m, n: n, k: k, alpha: 1,
                   a: a, b: source, beta: accumulate ? 1 : 0, c: c)
            return
        }
        // Four pieces a thread, as PackedModel: with one a thread the split measured nothing (wall
        // ratio 0.99, brown-lm eval), the caller running both halves; with four, training ran 8 %
        // faster (`nextword bench --model models/brown-lm --train-batches 100`, wall ratio 1.08)
        // and brown-lm's evaluation 4 % (0.96, spread 0.86–1.06).
        PackedModel.product(m: m, n: n, k: k, a: Self.floats(a), packed: packed.buffer, c: Self.mutableFloats(c),
                            accumulate: accumulate, parts: Self.parts(threads: threads, m: m, n: n, k: k))
    }

    /// Pieces a product's panels are cut into: large enough products are shared between threads
    /// (a batch of 10 or 32), four pieces a thread as `PackedModel.parts`; a batch of 1, a few
    /// microseconds of work, is not worth waking a thread for.
    static func parts(threads: Int, m: Int, n: Int, k: Int) -> Int {
        m * n * k >= 1 << 20 ? PackedModel.parts(threads: threads, panels: PackedModel.panels(n)) : 1
    }

    private static func floats(_ pointer: UnsafePointer<T>) -> UnsafePointer<Float> {
        UnsafeRawPointer(pointer).assumingMemoryBound(to: Float.self)
    }

    private static func mutableFloats(_ pointer: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: Float.self)
    }
}
