import CKernels
import Foundation

/// A model's large matrices packed once for an evaluation, so that scoring runs on the panel
/// kernels (PanelKernels.c) and never calls the BLAS.
///
/// Scoring a segment on the BLAS writes logits [TB, V] (18 MB for brown-lm's 350 rows × 13,189
/// words), after OpenBLAS has zeroed them, and reads them twice for the softmax. With the decoder
/// packed into 32-column panels (`nw_panel_pack`), `nw_panel_softmax_statistics` computes each
/// block of logits in registers and keeps only every row's running maximum and sum of
/// exponentials: brown-lm's segment of 350 rows in 10.1–11.6 ms against 14.0–15.1 ms for
/// OpenBLAS's product and the C scoring, 2 threads on the Xeon of issue #11, totals equal to 3e-9.
/// The input projections (X · Wihᵀ, once a segment per layer) run on packed panels too: a BLAS
/// call between two scorings left OpenBLAS's worker spinning on the core the scoring's second
/// thread needed.
///
/// The weights must not change while it is in use: evaluation makes one from the model it scores
/// (`Perplexity`) and drops it at the end. Float on AVX-512 only (`init` returns nil elsewhere).
final class PackedModel: @unchecked Sendable {
    let vocabSize: Int
    let width: Int
    /// The decoder as the right side Dᵀ [P, V]: nw_panel_size(P, V) floats, 64-byte aligned.
    /// Every buffer is read only after init (hence Sendable).
    private let panels: UnsafeMutablePointer<Float>
    /// Per layer, Wihᵀ [In, 4H] packed, and its shape.
    private let inputPanels: [(buffer: UnsafeMutablePointer<Float>, k: Int, n: Int)]
    private var panelCount: Int { Self.panels(vocabSize) }

    /// `model`'s decoder (the embedding when tied) and input projections, packed; nil where the
    /// kernels are missing.
    init?(model: LanguageModel) {
        let config = model.config
        let offsets = ParameterLayout(config).offsets(layers: config.layers)
        guard nw_panel_product_available() != 0 else { return nil }
        vocabSize = config.vocabSize
        width = config.outputSize
        func packed(_ offset: Int, k: Int, n: Int) -> UnsafeMutablePointer<Float> {
            let size = nw_panel_size(k, n)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size * MemoryLayout<Float>.stride, alignment: 64)
                .bindMemory(to: Float.self, capacity: size)
            // Each right side is the transpose of a row-major [n, k] parameter matrix.
            model.parameters.withUnsafeBufferPointer { nw_panel_pack($0.baseAddress! + offset, k, n, 1, buffer) }
            return buffer
        }
        panels = packed(offsets.decoderWeight, k: width, n: vocabSize)
        inputPanels = (0 ..< config.layers).map { layer in
            let k = config.inputSize(ofLayer: layer), n = 4 * config.hiddenSize
            return (packed(offsets.weightIH[layer], k: k, n: n), k, n)
        }
    }

    deinit {
        panels.deallocate()
        for layer in inputPanels { layer.buffer.deallocate() }
    }

    /// How many pieces a product's panels are cut into: the softmax passes' rule
    /// (`NetworkPass.rowBlocks`), four a thread taken as threads come free. With one a thread,
    /// DispatchQueue.concurrentPerform's caller often ran both before the worker woke (brown-lm
    /// test: the main thread 13.8 s of CPU, the worker 7.3 s, wall 13.8 s).
    static func parts(threads: Int, panels: Int) -> Int {
        NetworkPass<Float>.rowBlocks(rows: panels, threads: threads)
    }

    /// gates [rows, 4H] += x [rows, In] · Wihᵀ of `layer`, the panels shared by `threads` threads.
    func addInputProjection(layer: Int, rows: Int, x: UnsafePointer<Float>, gates: UnsafeMutablePointer<Float>,
                            threads: Int) {
        let (buffer, k, n) = inputPanels[layer]
        let parts = Self.parts(threads: threads, panels: Self.panels(n))
        Self.product(m: rows, n: n, k: k, a: x, packed: buffer, c: gates, accumulate: true, parts: parts)
    }

    /// Panels of a right side with n columns.
    static func panels(_ n: Int) -> Int { (n + Int(NW_PANEL_WIDTH) - 1) / Int(NW_PANEL_WIDTH) }

    /// c [m, n] = a [m, k] · B (+ c when `accumulate`), B packed by nw_panel_pack, its panels cut
    /// into `parts` pieces run as the softmax's row blocks are (`NetworkPass.sumOverRowBlocks`).
    static func product(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, packed: UnsafePointer<Float>,
                        c: UnsafeMutablePointer<Float>, accumulate: Bool, parts: Int) {
        nonisolated(unsafe) let shared = (a: a, c: c, packed: packed)
        _ = NetworkPass<Float>.sumOverRowBlocks(rows: panels(n), parts: parts) { first, end, _ in
            nw_panel_product(m, n, k, shared.a, k, shared.packed, first, end, shared.c, n, accumulate ? 1 : 0)
            return 0
        }
    }

    /// Σ over rows r with targets[r] ≥ 0 of −log softmax(x_r · Dᵀ + bias)[targets[r]], in Double.
    ///   x [rows, P] the decoder inputs; bias [V]; targets [rows]
    /// The vocabulary's panels are cut into `parts(threads:panels:)` pieces, each keeping its own
    /// row statistics, combined here.
    func score(rows: Int, inputs x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
               targets: UnsafePointer<Int32>, threads: Int) -> Double {
        guard rows > 0 else { return 0 }
        let parts = Self.parts(threads: threads, panels: panelCount)
        // [parts, rows] maxima and sums; [rows] the target's logit (each row's target lies in one part).
        let maxima = UnsafeMutablePointer<Float>.allocate(capacity: parts * rows)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: parts * rows)
        let targetLogits = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer { maxima.deallocate(); sums.deallocate(); targetLogits.deallocate() }
        maxima.initialize(repeating: -.infinity, count: parts * rows)
        sums.initialize(repeating: 0, count: parts * rows)
        targetLogits.initialize(repeating: 0, count: rows)
        let (v, p, count) = (vocabSize, width, panelCount)
        nonisolated(unsafe) let shared = (x: x, bias: bias, targets: targets, panels: UnsafePointer(panels),
                                          maxima: maxima, sums: sums, targetLogits: targetLogits)
        _ = NetworkPass<Float>.sumOverRowBlocks(rows: count, parts: parts) { first, end, part in
            nw_panel_softmax_statistics(rows, v, p, shared.x, p, shared.panels, shared.bias, shared.targets, first, end,
                                        shared.maxima + part * rows, shared.sums + part * rows, shared.targetLogits)
            return 0
        }

        var total = 0.0
        for r in 0 ..< rows where targets[r] >= 0 {
            var top = -Double.infinity
            for part in 0 ..< parts { top = max(top, Double(maxima[part * rows + r])) }
            var sum = 0.0
            for part in 0 ..< parts where sums[part * rows + r] > 0 {
                sum += Double(sums[part * rows + r]) * exp(Double(maxima[part * rows + r]) - top)
            }
            total -= Double(targetLogits[r]) - top - log(sum)
        }
        return total
    }
}
