// The transposed product of dynamic evaluation: the gradient that reaches the LSTM's output from
// the decoder, for every position of a line at once.
#ifndef NEXTWORD_ROW_COMBINATION_H
#define NEXTWORD_ROW_COMBINATION_H

#include <stddef.h>
#include <stdint.h>

/// out[t, :] = sum_v g[t, v] · w[v, :] for t < steps (out is overwritten), that is out = g · w.
///   g [steps, rows] row-major (a line's softmax-minus-target rows); w [rows, cols] row-major (the
///   decoder); out [steps, cols]
/// w is read once for all steps, a block of rows at a time that stays in the first-level cache
/// while every step's row of out is updated from it: for the default model's [16000, 192] decoder
/// that is 12 MB read once instead of once per step.
/// Uses AVX-512 (F, BW, VL) where the processor has it (fused multiply-adds: the last bits may differ from the
/// portable path's).
void nw_row_combination(const float *g, const float *w, float *out, size_t steps, size_t rows, size_t cols);

/// The same in portable C only.
void nw_row_combination_portable(const float *g, const float *w, float *out, size_t steps, size_t rows, size_t cols);

/// The same over int8 rows with a scale each (the engine's decoder, `nw_int8_quantize_rows`):
///   out[t, :] = sum_v g[t, v] · scale[v] · q[v, :]
///   g [steps, rows]; q [rows, cols] int8 row-major; scale [rows]; out [steps, cols]
/// A quarter of the fp32 rows' bytes to stream. AVX-512 (F, BW, VL) where the CPU has it.
void nw_row_combination_int8(const float *g, const int8_t *q, const float *scale, float *out,
                             size_t steps, size_t rows, size_t cols);
void nw_row_combination_int8_portable(const float *g, const int8_t *q, const float *scale, float *out,
                                      size_t steps, size_t rows, size_t cols);

#endif
