// Half-precision (IEEE binary16) kernels for the engine's batch-1 output layer.
//
// At batch 1 the decoder product y = W·x reads every weight once for two flops each: it is bound
// by memory, not arithmetic, so keeping W in fp16 halves its cost. Accumulation stays in fp32.
// Halves are passed as their bit patterns (uint16_t) so Swift needs no Float16 support.
#ifndef NEXTWORD_HALF_KERNELS_H
#define NEXTWORD_HALF_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// y[r] = bias[r] + sum_c half(weights[r * cols + c]) * x[c], for r < rows.
///   weights [rows, cols] fp16 bit patterns; x [cols]; bias [rows] or NULL; y [rows]
/// Uses AVX-512 (F, BW, VL) or AVX2 + FMA + F16C when the processor has them, NEON on arm64, else
/// portable C.
void nw_half_gemv(const uint16_t *weights, const float *x, const float *bias, float *y,
                  size_t rows, size_t cols);

/// The same product in portable C only (the reference the vector paths are tested against).
void nw_half_gemv_portable(const uint16_t *weights, const float *x, const float *bias, float *y,
                           size_t rows, size_t cols);

/// out[i] = the fp16 nearest to in[i] (ties to even; overflow to infinity; NaN stays NaN).
void nw_floats_to_halves(const float *in, uint16_t *out, size_t count);

/// out[i] = the float value of the fp16 in[i] (exact).
void nw_halves_to_floats(const uint16_t *in, float *out, size_t count);

/// The first i with !(|values[i]| <= limit) (a NaN included), or count when there is none: a model
/// file's weights are checked with it at every start, in blocks the compiler vectorizes.
size_t nw_first_out_of_range(const float *values, size_t count, float limit);

#endif
