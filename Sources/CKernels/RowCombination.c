// See include/RowCombination.h.
#include "RowCombination.h"

#include <string.h>

#include "CPUSupport.h"
#include "LaneMasks.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Rows of w per block: 32 rows of 192 floats are 24 KB, half of a 48 KB first-level data cache,
// leaving room for the rows of out being updated.
enum { ROW_BLOCK_BYTES = 24 * 1024 };

static size_t row_block(size_t cols) {
    size_t block = ROW_BLOCK_BYTES / (cols * sizeof(float));
    return block < 1 ? 1 : block;
}

// One definition of each path for both row formats: w is float rows (scale NULL) or int8 rows
// with a scale each; the wrappers below pass constants, so each format compiles to its own loop.

__attribute__((always_inline))
static inline void combine_portable(const float *g, const float *wf, const int8_t *wq, const float *scale, float *out,
                                    size_t steps, size_t rows, size_t cols) {
    size_t block = row_block(cols);
    for (size_t start = 0; start < rows; start += block) {
        size_t end = start + block < rows ? start + block : rows;
        for (size_t t = 0; t < steps; t++) {
            float *restrict y = out + t * cols;
            for (size_t v = start; v < end; v++) {
                const float a = scale ? g[t * rows + v] * scale[v] : g[t * rows + v];
                // Exact zeros (a step without a target) are skipped.
                if (a == 0) continue;
                if (scale) {
                    const int8_t *restrict row = wq + v * cols;
                    for (size_t c = 0; c < cols; c++) y[c] += a * (float)row[c];
                } else {
                    const float *restrict row = wf + v * cols;
                    for (size_t c = 0; c < cols; c++) y[c] += a * row[c];
                }
            }
        }
    }
}

#if defined(__x86_64__)
// A register block of 4 steps × 6 vectors (96 columns) of out: each vector of w loaded feeds four
// fused multiply-adds (24 accumulators, 6 loads and 4 broadcasts a row of w), so the loop is
// bound by the multiply-adds rather than by loads. int8 rows are widened 16 levels to 16 floats
// a vector (a quarter of the fp32 bytes to stream). Column tails are masked, step tails skipped.
enum { STEPS_BLOCK = 4, VECTORS_BLOCK = 6 };

__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline))
static inline void combine_avx512(const float *g, const float *wf, const int8_t *wq, const float *scale, float *out,
                                  size_t steps, size_t rows, size_t cols) {
    size_t block = row_block(cols);
    for (size_t start = 0; start < rows; start += block) {
        size_t end = start + block < rows ? start + block : rows;
        for (size_t c0 = 0; c0 < cols; c0 += 16 * VECTORS_BLOCK) {
            __mmask16 masks[VECTORS_BLOCK];
            for (int k = 0; k < VECTORS_BLOCK; k++) {
                size_t first = c0 + 16 * (size_t)k;
                size_t left = first < cols ? cols - first : 0;
                masks[k] = nw_lanes16(left);
            }
            for (size_t t0 = 0; t0 < steps; t0 += STEPS_BLOCK) {
                size_t tb = steps - t0 < STEPS_BLOCK ? steps - t0 : STEPS_BLOCK;
                __m512 acc[STEPS_BLOCK][VECTORS_BLOCK];
                for (int i = 0; i < STEPS_BLOCK; i++) {
                    for (int k = 0; k < VECTORS_BLOCK; k++) {
                        acc[i][k] = (size_t)i < tb ? _mm512_maskz_loadu_ps(masks[k], out + (t0 + i) * cols + c0 + 16 * k)
                                                   : _mm512_setzero_ps();
                    }
                }
                for (size_t v = start; v < end; v++) {
                    __m512 x[VECTORS_BLOCK];
                    for (int k = 0; k < VECTORS_BLOCK; k++) {
                        x[k] = scale ? _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(masks[k], wq + v * cols + c0 + 16 * k)))
                                     : _mm512_maskz_loadu_ps(masks[k], wf + v * cols + c0 + 16 * k);
                    }
                    for (int i = 0; i < STEPS_BLOCK; i++) {
                        // Rows past the step tail read step t0's weight and are never stored.
                        const size_t t = t0 + ((size_t)i < tb ? (size_t)i : 0);
                        const __m512 a = _mm512_set1_ps(scale ? g[t * rows + v] * scale[v] : g[t * rows + v]);
                        for (int k = 0; k < VECTORS_BLOCK; k++) acc[i][k] = _mm512_fmadd_ps(a, x[k], acc[i][k]);
                    }
                }
                for (int i = 0; i < STEPS_BLOCK && (size_t)i < tb; i++) {
                    for (int k = 0; k < VECTORS_BLOCK; k++) {
                        _mm512_mask_storeu_ps(out + (t0 + i) * cols + c0 + 16 * k, masks[k], acc[i][k]);
                    }
                }
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void combine_float_avx512(const float *g, const float *w, float *out, size_t steps, size_t rows, size_t cols) {
    combine_avx512(g, w, NULL, NULL, out, steps, rows, cols);
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
static void combine_int8_avx512(const float *g, const int8_t *q, const float *scale, float *out,
                                size_t steps, size_t rows, size_t cols) {
    combine_avx512(g, NULL, q, scale, out, steps, rows, cols);
}
#endif

static void combine_float_portable(const float *g, const float *w, float *out, size_t steps, size_t rows, size_t cols) {
    combine_portable(g, w, NULL, NULL, out, steps, rows, cols);
}

static void combine_int8_portable(const float *g, const int8_t *q, const float *scale, float *out,
                                  size_t steps, size_t rows, size_t cols) {
    combine_portable(g, NULL, q, scale, out, steps, rows, cols);
}

void nw_row_combination(const float *g, const float *w, float *out, size_t steps, size_t rows, size_t cols) {
    memset(out, 0, steps * cols * sizeof(float));
    if (cols == 0) return;
#if defined(__x86_64__)
    if (nw_cpu_avx512_bw_vl()) { combine_float_avx512(g, w, out, steps, rows, cols); return; }
#endif
    combine_float_portable(g, w, out, steps, rows, cols);
}

void nw_row_combination_portable(const float *g, const float *w, float *out, size_t steps, size_t rows, size_t cols) {
    memset(out, 0, steps * cols * sizeof(float));
    if (cols == 0) return;
    combine_float_portable(g, w, out, steps, rows, cols);
}

void nw_row_combination_int8(const float *g, const int8_t *q, const float *scale, float *out,
                             size_t steps, size_t rows, size_t cols) {
    memset(out, 0, steps * cols * sizeof(float));
    if (cols == 0) return;
#if defined(__x86_64__)
    if (nw_cpu_avx512_bw_vl()) { combine_int8_avx512(g, q, scale, out, steps, rows, cols); return; }
#endif
    combine_int8_portable(g, q, scale, out, steps, rows, cols);
}

void nw_row_combination_int8_portable(const float *g, const int8_t *q, const float *scale, float *out,
                                      size_t steps, size_t rows, size_t cols) {
    memset(out, 0, steps * cols * sizeof(float));
    if (cols == 0) return;
    combine_int8_portable(g, q, scale, out, steps, rows, cols);
}
