import CKernels
import Dispatch

/// The precision of training's matrix products over a whole segment (as PyTorch's
/// `set_float32_matmul_precision`): the decoder's three [rows × vocabulary × width] products,
/// three quarters of a step on the BLAS, and each layer's input projection, its weight gradients
/// and the gradient to its input. The step-by-step recurrent products stay fp32 (errors would
/// compound through the recurrence), and so do evaluation and the engine.
package enum MatmulPrecision: String, Codable, Sendable, CaseIterable {
    /// bfloat16 on the CPU's matrix tiles where it has them (AMX), the fp32 BLAS elsewhere.
    case automatic
    /// fp32 on the BLAS.
    case float32
    /// bfloat16 operands, fp32 sums, on AMX tiles (an error on a CPU without them).
    case bfloat16

    /// Whether this process can run the tile products (the CPU has AMX-BF16 and the operating
    /// system grants its tile state).
    public static var tilesAvailable: Bool { nw_tile_products_available() != 0 }

    /// What a run with this setting multiplies in here: `.float32` or `.bfloat16`.
    public var resolved: MatmulPrecision {
        self == .automatic ? (Self.tilesAvailable ? .bfloat16 : .float32) : self
    }
}

/// Matrix products in bfloat16 on AMX tiles with fp32 sums (CKernels/TileProducts.c), with the
/// scratch their rounded operands are packed into. One per trainer, shared by its workspaces.
///
/// C = beta·C + op(A)·op(B) in sgemm's row-major terms:
///   op(A) [M, K] (A stored [K, M] when transA), op(B) [K, N] (B stored [N, K] when transB),
///   C [M, N]
final class TileProducts {
    private var scratch: UnsafeMutablePointer<UInt16>
    private var capacity: Int

    /// nil where the tiles are not available.
    init?() {
        guard MatmulPrecision.tilesAvailable else { return nil }
        capacity = 0
        scratch = .allocate(capacity: 1)
    }

    deinit { scratch.deallocate() }

    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
              a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>,
              threads: Int) {
        if transA && !transB {
            // Cᵀ [N, M] = Bᵀ · A, written transposed into C: A's tiles would be cut from columns of
            // the stored matrix, and the large operand here (dlogits in dD += dlogitsᵀ · X) packs
            // row-wise as B's tiles instead.
            run(transA: true, transB: false, transC: true, m: n, n: m, k: k, a: b, b: a, beta: beta, c: c, threads: threads)
        } else {
            run(transA: transA, transB: transB, transC: false, m: m, n: n, k: k, a: a, b: b, beta: beta, c: c, threads: threads)
        }
    }

    private func run(transA: Bool, transB: Bool, transC: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>,
                     threads: Int) {
        let needed = nw_tile_product_scratch(m, n, k)
        if needed > capacity {
            scratch.deallocate()
            scratch = .allocate(capacity: needed)
            capacity = needed
        }
        let parts = Int32(max(1, threads))
        nonisolated(unsafe) let shared = (a: a, b: b, c: c, scratch: scratch)
        let (ta, tb, tc): (Int32, Int32, Int32) = (transA ? 1 : 0, transB ? 1 : 0, transC ? 1 : 0)
        // Every part packs its share of both operands before any part multiplies.
        DispatchQueue.concurrentPerform(iterations: Int(parts)) { part in
            nw_tile_product_pack(ta, tb, m, n, k, shared.a, shared.b, shared.scratch, Int32(part), parts)
        }
        DispatchQueue.concurrentPerform(iterations: Int(parts)) { part in
            nw_tile_product_multiply(tc, m, n, k, shared.scratch, beta, shared.c, Int32(part), parts)
        }
    }
}
