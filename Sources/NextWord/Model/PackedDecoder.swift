import CKernels
import Dispatch
import Foundation

/// The decoder matrix packed once for an evaluation, so scoring never writes the logits.
///
/// Scoring a segment on the BLAS writes logits [TB, V] (18 MB for brown-lm's 350 rows × 13,189
/// words), after OpenBLAS has zeroed them, and reads them twice for the softmax. With the decoder
/// packed into 32-column panels (`nw_panel_pack`), `nw_panel_softmax_statistics` computes each
/// block of logits in registers and keeps only every row's running maximum and sum of
/// exponentials: brown-lm's segment of 350 rows in 10.1–11.6 ms against 14.0–15.1 ms for
/// OpenBLAS's product and the C scoring, 2 threads on the Xeon of issue #11, totals equal to 3e-9.
///
/// The weights must not change while it is in use: evaluation makes one from the model it scores
/// (`Perplexity`) and drops it at the end. Float on AVX-512 only (`init` returns nil elsewhere).
final class PackedDecoder: @unchecked Sendable {
    let vocabSize: Int
    let width: Int
    /// nw_panel_size(P, V) floats, 64-byte aligned; read only after init (hence Sendable).
    private let panels: UnsafeMutablePointer<Float>
    private var panelCount: Int { (vocabSize + Int(NW_PANEL_WIDTH) - 1) / Int(NW_PANEL_WIDTH) }

    /// The decoder of `model` (the embedding when tied), packed; nil where the kernel is missing.
    convenience init?(model: LanguageModel) {
        let offsets = ParameterLayout(model.config).offsets(layers: model.config.layers)
        self.init(decoder: model.parameters, offset: offsets.decoderWeight,
                  vocabSize: model.config.vocabSize, width: model.config.outputSize)
    }

    /// `parameters[offset...]` holds the decoder D [V, P] row-major.
    init?(decoder parameters: [Float], offset: Int, vocabSize: Int, width: Int) {
        guard nw_panel_product_available() != 0, offset + vocabSize * width <= parameters.count else { return nil }
        self.vocabSize = vocabSize
        self.width = width
        let size = nw_panel_size(width, vocabSize)
        panels = UnsafeMutableRawPointer.allocate(byteCount: size * MemoryLayout<Float>.stride, alignment: 64)
            .bindMemory(to: Float.self, capacity: size)
        // The product's right side is Dᵀ [P, V]: D itself read as its transpose.
        parameters.withUnsafeBufferPointer { nw_panel_pack($0.baseAddress! + offset, width, vocabSize, 1, panels) }
    }

    deinit { panels.deallocate() }

    /// Σ over rows r with targets[r] ≥ 0 of −log softmax(x_r · Dᵀ + bias)[targets[r]], in Double.
    ///   x [rows, P] the decoder inputs; bias [V]; targets [rows]
    /// The vocabulary's panels are split between `threads` threads, each keeping its own row
    /// statistics, combined here.
    func score(rows: Int, inputs x: UnsafePointer<Float>, bias: UnsafePointer<Float>,
               targets: UnsafePointer<Int32>, threads: Int) -> Double {
        guard rows > 0 else { return 0 }
        let parts = max(1, min(threads, panelCount))
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
        let run: @Sendable (Int) -> Void = { part in
            nw_panel_softmax_statistics(rows, v, p, shared.x, p, shared.panels, shared.bias, shared.targets,
                                        count * part / parts, count * (part + 1) / parts,
                                        shared.maxima + part * rows, shared.sums + part * rows, shared.targetLogits)
        }
        if parts == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: run) }

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
