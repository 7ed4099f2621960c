// Training's segment-wide matrix products in bfloat16 on the CPU's matrix tiles (Intel AMX),
// summed in fp32.
//
// The three products around the decoder are three quarters of a training step on the BLAS
// (vocabulary × batch rows × width each), the layers' input projections and weight gradients most
// of the rest; on AMX one instruction multiplies a 16×32 tile by a 32×16 tile, 16 times the
// multiply-adds of an AVX-512 fused multiply-add over fp32. Operands are rounded to
// bfloat16 (8 bits of mantissa, round to nearest even), every sum is fp32: the mixed precision
// networks are commonly trained in. The Double gradient checks never come here.
#ifndef NEXTWORD_TILE_PRODUCTS_H
#define NEXTWORD_TILE_PRODUCTS_H

#include <stddef.h>
#include <stdint.h>

/// 1 where the processor has AMX-BF16 tiles, AVX-512 BF16 conversions and the operating system
/// grants the tile state to this process (Linux asks for it with arch_prctl once, the first
/// time this is called); 0 elsewhere, where the products must go to the BLAS.
int nw_tile_products_available(void);

/// How many uint16 the scratch of one product holds: op(A) and op(B) as bfloat16 tiles, M and N
/// rounded up to 32, K to 32.
size_t nw_tile_product_scratch(size_t m, size_t n, size_t k);

/// First half of C = beta·C + op(A)·op(B), all row-major as sgemm's:
///   op(A) [M, K]: A stored [M, K], or [K, M] with transA
///   op(B) [K, N]: B stored [K, N], or [N, K] with transB
/// Rounds both operands to bfloat16 tiles in `scratch` (`nw_tile_product_scratch` entries).
/// `part` of `parts` (0 ≤ part < parts) packs its share; every part must finish before any part
/// multiplies.
void nw_tile_product_pack(int transA, int transB, size_t m, size_t n, size_t k,
                          const float *a, const float *b, uint16_t *scratch, int part, int parts);

/// Second half: C = beta·C + op(A)·op(B) from the packed tiles, for `part` of `parts` of C's
/// blocks (each part writes only its own). C is stored [M, N], or [N, M] with transC (the
/// product written transposed: dWᵀ's tiles added into dW). beta 0 overwrites C.
void nw_tile_product_multiply(int transC, size_t m, size_t n, size_t k, const uint16_t *scratch,
                              float beta, float *c, int part, int parts);

#endif
