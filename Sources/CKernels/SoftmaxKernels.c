#include "SoftmaxKernels.h"
#include <math.h>
#include "VectorSums.h"
#include "VectorExp.h"
#include "CPUSupport.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// MARK: Portable

static float max_portable(const float *v, size_t n) {
    float best = v[0];
    for (size_t i = 1; i < n; i++) best = v[i] > best ? v[i] : best;
    return best;
}

static float exponentiate_portable(float *v, size_t n, float shift) {
    float sum = 0;
    for (size_t i = 0; i < n; i++) { v[i] = expf(v[i] - shift); sum += v[i]; }
    return sum;
}

double nw_score_rows_portable(const float *logits, const float *bias, const int32_t *targets, size_t rows, size_t cols) {
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        if (targets[r] < 0) continue;
        const float *row = logits + r * cols;
        float best = -INFINITY;
        for (size_t c = 0; c < cols; c++) { float x = row[c] + (bias ? bias[c] : 0); best = x > best ? x : best; }
        double sum = 0;
        for (size_t c = 0; c < cols; c++) sum += exp((double)(row[c] + (bias ? bias[c] : 0) - best));
        float target = row[targets[r]] + (bias ? bias[targets[r]] : 0);
        total -= (double)(target - best) - log(sum);
    }
    return total;
}

#if defined(__x86_64__)

// MARK: AVX-512

__attribute__((target("avx512f")))
static float max_avx512(const float *v, size_t n) {
    __m512 best = _mm512_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) best = _mm512_max_ps(best, _mm512_loadu_ps(v + i));
    if (i < n) best = _mm512_mask_max_ps(best, (__mmask16)((1u << (n - i)) - 1), best, _mm512_maskz_loadu_ps((__mmask16)((1u << (n - i)) - 1), v + i));
    return _mm512_reduce_max_ps(best);
}

__attribute__((target("avx512f")))
static float exponentiate_avx512(float *v, size_t n, float shift) {
    __m512 s = _mm512_set1_ps(shift), sum = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = exp512(_mm512_sub_ps(_mm512_loadu_ps(v + i), s));
        _mm512_storeu_ps(v + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, v + i), s));
        _mm512_mask_storeu_ps(v + i, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

// Two passes over a row and the bias, neither writing: the maximum, then the sum of exponentials.
__attribute__((target("avx512f")))
static double score_rows_avx512(const float *logits, const float *bias, const int32_t *targets, size_t rows, size_t cols) {
    double total = 0;
    size_t wide = cols & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (cols - wide)) - 1);
    for (size_t r = 0; r < rows; r++) {
        if (targets[r] < 0) continue;
        const float *row = logits + r * cols;
        __m512 best = _mm512_set1_ps(-INFINITY);
        for (size_t c = 0; c < wide; c += 16) {
            __m512 x = _mm512_loadu_ps(row + c);
            if (bias) x = _mm512_add_ps(x, _mm512_loadu_ps(bias + c));
            best = _mm512_max_ps(best, x);
        }
        if (tail) {
            __m512 x = _mm512_maskz_loadu_ps(tail, row + wide);
            if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(tail, bias + wide));
            best = _mm512_mask_max_ps(best, tail, best, x);
        }
        float top = _mm512_reduce_max_ps(best);
        __m512 shift = _mm512_set1_ps(top), sum = _mm512_setzero_ps();
        for (size_t c = 0; c < wide; c += 16) {
            __m512 x = _mm512_loadu_ps(row + c);
            if (bias) x = _mm512_add_ps(x, _mm512_loadu_ps(bias + c));
            sum = _mm512_add_ps(sum, exp512(_mm512_sub_ps(x, shift)));
        }
        if (tail) {
            __m512 x = _mm512_maskz_loadu_ps(tail, row + wide);
            if (bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(tail, bias + wide));
            sum = _mm512_mask_add_ps(sum, tail, sum, exp512(_mm512_sub_ps(x, shift)));
        }
        float target = row[targets[r]] + (bias ? bias[targets[r]] : 0);
        total -= (double)(target - top) - log((double)_mm512_reduce_add_ps(sum));
    }
    return total;
}

// MARK: AVX2 + FMA

__attribute__((target("avx2,fma")))
static float hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static float max_avx2(const float *v, size_t n) {
    __m256 best = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) best = _mm256_max_ps(best, _mm256_loadu_ps(v + i));
    float m = hmax256(best);
    for (; i < n; i++) m = v[i] > m ? v[i] : m;
    return m;
}

__attribute__((target("avx2,fma")))
static float exponentiate_avx2(float *v, size_t n, float shift) {
    __m256 s = _mm256_set1_ps(shift), sum = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(v + i), s));
        _mm256_storeu_ps(v + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = nw_sum8(sum);
    for (; i < n; i++) { v[i] = expf(v[i] - shift); total += v[i]; }
    return total;
}

__attribute__((target("avx2,fma")))
static double score_rows_avx2(const float *logits, const float *bias, const int32_t *targets, size_t rows, size_t cols) {
    double total = 0;
    size_t wide = cols & ~(size_t)7;
    for (size_t r = 0; r < rows; r++) {
        if (targets[r] < 0) continue;
        const float *row = logits + r * cols;
        __m256 best = _mm256_set1_ps(-INFINITY);
        for (size_t c = 0; c < wide; c += 8) {
            __m256 x = _mm256_loadu_ps(row + c);
            if (bias) x = _mm256_add_ps(x, _mm256_loadu_ps(bias + c));
            best = _mm256_max_ps(best, x);
        }
        float top = hmax256(best);
        for (size_t c = wide; c < cols; c++) { float x = row[c] + (bias ? bias[c] : 0); top = x > top ? x : top; }
        __m256 shift = _mm256_set1_ps(top), sum = _mm256_setzero_ps();
        for (size_t c = 0; c < wide; c += 8) {
            __m256 x = _mm256_loadu_ps(row + c);
            if (bias) x = _mm256_add_ps(x, _mm256_loadu_ps(bias + c));
            sum = _mm256_add_ps(sum, exp256(_mm256_sub_ps(x, shift)));
        }
        double s = nw_sum8(sum);
        for (size_t c = wide; c < cols; c++) s += expf(row[c] + (bias ? bias[c] : 0) - top);
        float target = row[targets[r]] + (bias ? bias[targets[r]] : 0);
        total -= (double)(target - top) - log(s);
    }
    return total;
}

// Three passes over a row that stays in L2 (V floats): the maximum of logits + bias, their
// exponentials and sum (stored), then the gradient and the bias's column sums. The bias is added
// here rather than by the matrix product (beta 1 over a bias-filled matrix): two passes over the
// whole [rows, V] matrix in memory fewer.
__attribute__((target("avx512f")))
static double softmax_gradient_avx512(float *logits, const float *bias, const int32_t *targets, size_t rows,
                                      size_t cols, float scale, float *sums) {
    double total = 0;
    size_t wide = cols & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (cols - wide)) - 1);
    for (size_t r = 0; r < rows; r++) {
        float *row = logits + r * cols;
        int32_t target = targets[r];
        if (target < 0) {
            for (size_t c = 0; c < cols; c++) row[c] = 0;
            continue;
        }
        __m512 best = _mm512_set1_ps(-INFINITY);
        for (size_t c = 0; c < wide; c += 16) {
            __m512 x = _mm512_add_ps(_mm512_loadu_ps(row + c), _mm512_loadu_ps(bias + c));
            best = _mm512_max_ps(best, x);
        }
        if (tail) {
            __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(tail, row + wide), _mm512_maskz_loadu_ps(tail, bias + wide));
            best = _mm512_mask_max_ps(best, tail, best, x);
        }
        float top = _mm512_reduce_max_ps(best);
        float targetLogit = row[target] + bias[target] - top;
        __m512 shift = _mm512_set1_ps(top), sum = _mm512_setzero_ps();
        for (size_t c = 0; c < wide; c += 16) {
            __m512 e = exp512(_mm512_sub_ps(_mm512_add_ps(_mm512_loadu_ps(row + c), _mm512_loadu_ps(bias + c)), shift));
            _mm512_storeu_ps(row + c, e);
            sum = _mm512_add_ps(sum, e);
        }
        if (tail) {
            __m512 x = _mm512_add_ps(_mm512_maskz_loadu_ps(tail, row + wide), _mm512_maskz_loadu_ps(tail, bias + wide));
            __m512 e = exp512(_mm512_sub_ps(x, shift));
            _mm512_mask_storeu_ps(row + wide, tail, e);
            sum = _mm512_mask_add_ps(sum, tail, sum, e);
        }
        float total_sum = _mm512_reduce_add_ps(sum);
        total -= (double)targetLogit - log((double)total_sum);
        __m512 factor = _mm512_set1_ps(scale / total_sum);
        for (size_t c = 0; c < wide; c += 16) {
            __m512 g = _mm512_mul_ps(_mm512_loadu_ps(row + c), factor);
            _mm512_storeu_ps(row + c, g);
            if (sums) _mm512_storeu_ps(sums + c, _mm512_add_ps(_mm512_loadu_ps(sums + c), g));
        }
        for (size_t c = wide; c < cols; c++) {
            row[c] *= scale / total_sum;
            if (sums) sums[c] += row[c];
        }
        row[target] -= scale;
        if (sums) sums[target] -= scale;
    }
    return total;
}

#endif

// MARK: Dispatch

float nw_max(const float *values, size_t count) {
#if defined(__x86_64__)
    if (nw_cpu_avx512()) return max_avx512(values, count);
    if (nw_cpu_avx2_fma()) return max_avx2(values, count);
#endif
    return max_portable(values, count);
}

float nw_exponentiate(float *values, size_t count, float shift) {
#if defined(__x86_64__)
    if (nw_cpu_avx512()) return exponentiate_avx512(values, count, shift);
    if (nw_cpu_avx2_fma()) return exponentiate_avx2(values, count, shift);
#endif
    return exponentiate_portable(values, count, shift);
}

int nw_softmax_gradient_available(void) {
#if defined(__x86_64__)
    return nw_cpu_avx512();
#else
    return 0;
#endif
}

double nw_softmax_gradient_rows(float *logits, const float *bias, const int32_t *targets, size_t rows,
                                size_t cols, float scale, float *columnSums) {
#if defined(__x86_64__)
    if (nw_cpu_avx512()) return softmax_gradient_avx512(logits, bias, targets, rows, cols, scale, columnSums);
#endif
    (void)logits; (void)bias; (void)targets; (void)rows; (void)cols; (void)scale; (void)columnSums;
    return NAN;  // callers check nw_softmax_gradient_available() first
}

double nw_score_rows(const float *logits, const float *bias, const int32_t *targets, size_t rows, size_t cols) {
#if defined(__x86_64__)
    if (nw_cpu_avx512()) return score_rows_avx512(logits, bias, targets, rows, cols);
    if (nw_cpu_avx2_fma()) return score_rows_avx2(logits, bias, targets, rows, cols);
#endif
    return nw_score_rows_portable(logits, bias, targets, rows, cols);
}
