// Small matrix products for the LSTM's recurrent steps: C [m, n] = (C +) A [m, k] · B [k, n] with
// few rows (the batch, 1–32) and B used for every step of a segment. OpenBLAS packs B again at
// every call and wakes its threads for a product of a few tens of microseconds; here B is packed
// once per segment into column panels and each call is one pass of an AVX-512 kernel over them.
#ifndef NEXTWORD_PANEL_KERNELS_H
#define NEXTWORD_PANEL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Columns in one panel of a packed matrix.
#define NW_PANEL_WIDTH 32

/// Whether the packed product has a vector path on this CPU (AVX-512F). Callers use their BLAS
/// otherwise.
int nw_panel_product_available(void);

/// Floats a packed [k, n] matrix occupies: ceil(n / 32) panels of k × 32.
size_t nw_panel_size(size_t k, size_t n);

/// Packs B [k, n] into `packed` (nw_panel_size(k, n) floats): panel p holds rows 0..<k of
/// columns 32p..<32p+32, row after row, zero past column n.
///   transposed == 0: B is `source` [k, n] row-major (leading dimension n)
///   transposed != 0: B is sourceᵀ, `source` [n, k] row-major (leading dimension k)
void nw_panel_pack(const float *source, size_t k, size_t n, int transposed, float *packed);

/// Columns [32·firstPanel, min(n, 32·endPanel)) of C [m, n] (leading dimension ldc) get
/// A [m, k] (leading dimension lda) · B, B packed by nw_panel_pack; added to C when `accumulate`,
/// written over it otherwise. Callers split the panels between threads.
void nw_panel_product(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                      size_t firstPanel, size_t endPanel, float *c, size_t ldc, int accumulate);

/// The softmax statistics of logits = A [m, k] · B + bias over the columns of panels
/// [firstPanel, endPanel), B [k, n] packed by nw_panel_pack (the decoder, n = V), without writing
/// the logits anywhere: for every row r, rowMax[r] becomes the largest logit there and rowSum[r]
/// the sum of exp(logit − rowMax[r]) over those columns (both taken as the running values of
/// earlier columns: start them at -INFINITY and 0), and targetLogit[r] the logit of column
/// targets[r] when it lies there. Rows with a target < 0 are skipped. AVX-512 only
/// (nw_panel_product_available()); callers split the panels between threads and combine each
/// thread's statistics.
void nw_panel_softmax_statistics(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                                 const float *bias, const int32_t *targets, size_t firstPanel, size_t endPanel,
                                 float *rowMax, float *rowSum, float *targetLogit);

#endif
