// The softmax's passes over a [rows, V] logit matrix, vectorised for the CPU at hand (AVX-512,
// AVX2 + FMA, NEON through the compiler, else portable C), chosen once per call at run time.
// Swift code is compiled for the baseline instruction set (SSE2 on x86-64): these loops are the
// largest cost of evaluation and training outside the matrix products, so they live here.
#ifndef NEXTWORD_SOFTMAX_KERNELS_H
#define NEXTWORD_SOFTMAX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The largest of values[0..<count] (count >= 1).
float nw_max(const float *values, size_t count);

/// values[i] = exp(values[i] - shift) in place; returns their sum. Relative error about 2e-7.
float nw_exponentiate(float *values, size_t count, float shift);

/// Scores rows without changing them: sum over rows r with targets[r] >= 0 of
/// -log softmax(logits[r] + bias)[targets[r]], in double.
///   logits [rows, cols]; bias [cols] or NULL; targets [rows] (< 0: not scored)
double nw_score_rows(const float *logits, const float *bias, const int32_t *targets, size_t rows, size_t cols);

/// The same in portable C (the reference the vector paths are tested against).
double nw_score_rows_portable(const float *logits, const float *bias, const int32_t *targets, size_t rows, size_t cols);

/// Whether `nw_softmax_gradient_rows` has a vector path on this CPU (AVX-512); callers keep their
/// own loop otherwise.
int nw_softmax_gradient_available(void);

/// Training's softmax in one call per block of rows, on logits computed without the bias:
/// logits[r] becomes scale * (softmax(logits[r] + bias) - onehot(targets[r])), those rows are
/// added into columnSums [cols] (the bias gradient) when it is not NULL, and rows with a target
/// < 0 become zero. Returns the summed -log p(target), in double.
double nw_softmax_gradient_rows(float *logits, const float *bias, const int32_t *targets, size_t rows,
                                size_t cols, float scale, float *columnSums);

#endif
