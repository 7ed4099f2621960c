// See QuantizedKernels.h. Shapes: q [rows, cols] int8 row-major, x [cols], y [rows].
#include "QuantizedKernels.h"
#include "CPUSupport.h"

#include <math.h>
#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The float step after the integer sums must be the same instructions on every path: no fused
// multiply-add where a vector target would allow one and the portable build would not.
#pragma STDC FP_CONTRACT OFF

/// Columns above which the integer sums could overflow int32 (255 · 127 · cols < 2^31).
#define NW_INT8_MAX_COLS 65536
/// Columns whose quantized x fits the stack buffers (a decoder is a few hundred wide).
#define NW_INT8_STACK_COLS 2048

#if defined(__x86_64__)
// The same quantization sixteen at a time (a model's decoder is quantized at every start): the
// maximum is exact, the product is the scalar one, and rounding is to nearest even as nearbyintf.
__attribute__((target("avx512f,avx512bw,avx512vl")))
static void quantize_rows_avx512(const float *w, size_t rows, size_t cols, int8_t *q, float *scale, int32_t *rowSum) {
    size_t wide = cols & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (cols - wide)) - 1);
    const __m512 limit = _mm512_set1_ps(127.0f), negativeLimit = _mm512_set1_ps(-127.0f);
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        __m512 largestV = _mm512_setzero_ps();
        for (size_t c = 0; c < wide; c += 16) largestV = _mm512_max_ps(largestV, _mm512_abs_ps(_mm512_loadu_ps(row + c)));
        if (tail) largestV = _mm512_max_ps(largestV, _mm512_abs_ps(_mm512_maskz_loadu_ps(tail, row + wide)));
        float largest = _mm512_reduce_max_ps(largestV);
        float inverse = largest > 0 ? 127.0f / largest : 0;
        __m512 inverseV = _mm512_set1_ps(inverse);
        __m512i sumV = _mm512_setzero_si512();
        for (size_t c = 0; c < cols; c += 16) {
            __mmask16 lanes = c < wide ? (__mmask16)0xFFFF : tail;
            __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, row + c), inverseV);
            v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            v = _mm512_min_ps(_mm512_max_ps(v, negativeLimit), limit);
            __m512i levels = _mm512_cvtps_epi32(v);
            sumV = _mm512_add_epi32(sumV, levels);
            _mm_mask_storeu_epi8(q + r * cols + c, lanes, _mm512_cvtsepi32_epi8(levels));
        }
        scale[r] = largest / 127.0f;
        rowSum[r] = _mm512_reduce_add_epi32(sumV);
    }
}
#endif

void nw_int8_quantize_rows(const float *w, size_t rows, size_t cols, int8_t *q, float *scale, int32_t *rowSum) {
#if defined(__x86_64__)
    if (nw_cpu_avx512_bw_vl()) {
        quantize_rows_avx512(w, rows, cols, q, scale, rowSum);
        return;
    }
#endif
    nw_int8_quantize_rows_portable(w, rows, cols, q, scale, rowSum);
}

void nw_int8_quantize_rows_portable(const float *w, size_t rows, size_t cols, int8_t *q, float *scale, int32_t *rowSum) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        float largest = 0;
        for (size_t c = 0; c < cols; c++) largest = fmaxf(largest, fabsf(row[c]));
        float inverse = largest > 0 ? 127.0f / largest : 0;
        int32_t sum = 0;
        for (size_t c = 0; c < cols; c++) {
            float v = nearbyintf(row[c] * inverse);
            int32_t level = (int32_t)fminf(fmaxf(v, -127.0f), 127.0f);
            q[r * cols + c] = (int8_t)level;
            sum += level;
        }
        scale[r] = largest / 127.0f;
        rowSum[r] = sum;
    }
}

/// y = bias + (scale · xs) · dot: one rounding for the product of scales, one for the product, one
/// for the sum, on every path.
static inline float finish_row(int32_t dot, float rowScale, float xs, const float *bias, size_t r) {
    float factor = rowScale * xs;
    float value = (float)dot * factor;
    return bias ? bias[r] + value : value;
}

static void int8_rows_portable(const int8_t *q, const float *scale, const int8_t *xq, float xs,
                               const float *bias, float *y, size_t first, size_t rows, size_t cols) {
    for (size_t r = first; r < rows; r++) {
        const int8_t *row = q + r * cols;
        int32_t dot = 0;
        for (size_t c = 0; c < cols; c++) dot += (int32_t)row[c] * (int32_t)xq[c];
        y[r] = finish_row(dot, scale[r], xs, bias, r);
    }
}

#if defined(__x86_64__)
// AVX-512 VNNI: vpdpbusd multiplies 64 unsigned bytes by 64 signed bytes into 16 int32 sums, so
// x is offset by 128 to be unsigned and 128 · rowSum taken back. Four rows share each load of x.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static void int8_rows_vnni(const int8_t *q, const float *scale, const int32_t *rowSum, const int8_t *xq, float xs,
                           const float *bias, float *y, size_t rows, size_t cols, uint8_t *offset) {
    for (size_t c = 0; c < cols; c++) offset[c] = (uint8_t)((int32_t)xq[c] + 128);
    size_t wide = cols & ~(size_t)63;
    __mmask64 tail = cols > wide ? (~(__mmask64)0 >> (64 - (cols - wide))) : 0;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = q + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = 0; c < wide; c += 64) {
            __m512i xv = _mm512_loadu_si512((const void *)(offset + c));
            a0 = _mm512_dpbusd_epi32(a0, xv, _mm512_loadu_si512((const void *)(w0 + c)));
            a1 = _mm512_dpbusd_epi32(a1, xv, _mm512_loadu_si512((const void *)(w1 + c)));
            a2 = _mm512_dpbusd_epi32(a2, xv, _mm512_loadu_si512((const void *)(w2 + c)));
            a3 = _mm512_dpbusd_epi32(a3, xv, _mm512_loadu_si512((const void *)(w3 + c)));
        }
        if (tail) {
            __m512i xv = _mm512_maskz_loadu_epi8(tail, offset + wide);
            a0 = _mm512_dpbusd_epi32(a0, xv, _mm512_maskz_loadu_epi8(tail, w0 + wide));
            a1 = _mm512_dpbusd_epi32(a1, xv, _mm512_maskz_loadu_epi8(tail, w1 + wide));
            a2 = _mm512_dpbusd_epi32(a2, xv, _mm512_maskz_loadu_epi8(tail, w2 + wide));
            a3 = _mm512_dpbusd_epi32(a3, xv, _mm512_maskz_loadu_epi8(tail, w3 + wide));
        }
        y[r] = finish_row(_mm512_reduce_add_epi32(a0) - 128 * rowSum[r], scale[r], xs, bias, r);
        y[r + 1] = finish_row(_mm512_reduce_add_epi32(a1) - 128 * rowSum[r + 1], scale[r + 1], xs, bias, r + 1);
        y[r + 2] = finish_row(_mm512_reduce_add_epi32(a2) - 128 * rowSum[r + 2], scale[r + 2], xs, bias, r + 2);
        y[r + 3] = finish_row(_mm512_reduce_add_epi32(a3) - 128 * rowSum[r + 3], scale[r + 3], xs, bias, r + 3);
    }
    int8_rows_portable(q, scale, xq, xs, bias, y, r, rows, cols);
}

// AVX2: sixteen bytes of a row and of x widened to int16, vpmaddwd sums pairs into int32 (exact:
// no saturation, unlike vpmaddubsw). Two rows share each widened x.
__attribute__((target("avx2")))
static void int8_rows_avx2(const int8_t *q, const float *scale, const int8_t *xq, float xs,
                           const float *bias, float *y, size_t rows, size_t cols) {
    size_t wide = cols & ~(size_t)15;
    size_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const int8_t *w0 = q + r * cols, *w1 = w0 + cols;
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        for (size_t c = 0; c < wide; c += 16) {
            __m256i xv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(xq + c)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w0 + c))), xv));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w1 + c))), xv));
        }
        int32_t s0[8], s1[8];
        _mm256_storeu_si256((__m256i *)s0, a0);
        _mm256_storeu_si256((__m256i *)s1, a1);
        int32_t d0 = 0, d1 = 0;
        for (int i = 0; i < 8; i++) { d0 += s0[i]; d1 += s1[i]; }
        for (size_t c = wide; c < cols; c++) {
            d0 += (int32_t)w0[c] * (int32_t)xq[c];
            d1 += (int32_t)w1[c] * (int32_t)xq[c];
        }
        y[r] = finish_row(d0, scale[r], xs, bias, r);
        y[r + 1] = finish_row(d1, scale[r + 1], xs, bias, r + 1);
    }
    int8_rows_portable(q, scale, xq, xs, bias, y, r, rows, cols);
}
#endif

static int int8_gemv(const int8_t *q, const float *scale, const int32_t *rowSum, const float *x,
                     const float *bias, float *y, size_t rows, size_t cols, int path) {
    if (cols > NW_INT8_MAX_COLS) return -1;
#if defined(__x86_64__)
    int vnni = nw_cpu_avx512_vnni(), avx2 = nw_cpu_avx2();
#else
    int vnni = 0, avx2 = 0;
    (void)rowSum;
#endif
    if (path < 0) path = vnni ? NW_INT8_PATH_VNNI : avx2 ? NW_INT8_PATH_AVX2 : NW_INT8_PATH_PORTABLE;
    if ((path == NW_INT8_PATH_VNNI && !vnni) || (path == NW_INT8_PATH_AVX2 && !avx2)) return -2;
    // [cols] x's levels, then [cols] the same offset by 128 for VNNI.
    int8_t local[2 * NW_INT8_STACK_COLS];
    int8_t *xq = cols <= NW_INT8_STACK_COLS ? local : malloc(2 * cols);
    if (!xq) return -1;
    // x is quantized as a one-row matrix (its scale xs, its levels xq): the same rule as W's rows,
    // vectorized where the CPU can except on the portable reference path.
    float xs;
    int32_t levelSum;
    (path == NW_INT8_PATH_PORTABLE ? nw_int8_quantize_rows_portable : nw_int8_quantize_rows)(x, 1, cols, xq, &xs, &levelSum);
    switch (path) {
#if defined(__x86_64__)
    case NW_INT8_PATH_VNNI: int8_rows_vnni(q, scale, rowSum, xq, xs, bias, y, rows, cols, (uint8_t *)(xq + cols)); break;
    case NW_INT8_PATH_AVX2: int8_rows_avx2(q, scale, xq, xs, bias, y, rows, cols); break;
#endif
    default: int8_rows_portable(q, scale, xq, xs, bias, y, 0, rows, cols);
    }
    if (xq != local) free(xq);
    return 0;
}

int nw_int8_gemv(const int8_t *q, const float *scale, const int32_t *rowSum, const float *x,
                 const float *bias, float *y, size_t rows, size_t cols) {
    return int8_gemv(q, scale, rowSum, x, bias, y, rows, cols, -1);
}

int nw_int8_gemv_path(int path, const int8_t *q, const float *scale, const int32_t *rowSum, const float *x,
                      const float *bias, float *y, size_t rows, size_t cols) {
    return int8_gemv(q, scale, rowSum, x, bias, y, rows, cols, path);
}
