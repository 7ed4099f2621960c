// Int8 kernels for the engine's batch-1 decoder product, the largest read of a word boundary.
//
// At batch 1 the decoder product y = W·x reads every weight once for two flops each, so its cost
// is the bytes of W: int8 rows read half the bytes of fp16 (3 MB instead of 6 for the default
// model's [16000, 192]). Each row has its own scale; x is quantized per call to int8 with one
// scale. The dot products are integers, exact on every path, and the one float step after them is
// the same code everywhere, so every CPU computes the same bits (tested).
#ifndef NEXTWORD_QUANTIZED_KERNELS_H
#define NEXTWORD_QUANTIZED_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Quantizes each row of w [rows, cols] to int8 with its own scale:
///   scale[r] = max_c |w[r, c]| / 127 (0 for a zero row), q[r, c] = round(w[r, c] / scale[r]),
///   rowSum[r] = sum_c q[r, c] (what the AVX-512 VNNI path subtracts for its unsigned x).
///   q [rows, cols] row-major; scale [rows]; rowSum [rows]
void nw_int8_quantize_rows(const float *w, size_t rows, size_t cols, int8_t *q, float *scale, int32_t *rowSum);

/// The same in portable C only (the AVX-512 path, taken where the CPU has it, gives the same bytes).
void nw_int8_quantize_rows_portable(const float *w, size_t rows, size_t cols, int8_t *q, float *scale, int32_t *rowSum);

/// y[r] = bias[r] + scale[r] · xs · sum_c q[r, c] · xq[c], for r < rows, where
///   xs = max_c |x[c]| / 127 and xq[c] = round(x[c] / xs) (all of y = bias when x is zero).
///   q [rows, cols] int8 row-major; scale, rowSum [rows] from nw_int8_quantize_rows; x [cols];
///   bias [rows] or NULL; y [rows]
/// Uses AVX-512 VNNI or AVX2 where the processor has them, else portable C; the result is the
/// same to the bit on every path. Returns 0, or -1 when cols is too large for its scratch (over
/// 65,536: the integer sums could overflow).
int nw_int8_gemv(const int8_t *q, const float *scale, const int32_t *rowSum, const float *x,
                 const float *bias, float *y, size_t rows, size_t cols);

/// The paths of nw_int8_gemv.
#define NW_INT8_PATH_PORTABLE 0
#define NW_INT8_PATH_AVX2 1
#define NW_INT8_PATH_VNNI 2

/// The same product on one path (the tests compare them): returns -2 when this CPU lacks it.
int nw_int8_gemv_path(int path, const int8_t *q, const float *scale, const int32_t *rowSum, const float *x,
                      const float *bias, float *y, size_t rows, size_t cols);

#endif
