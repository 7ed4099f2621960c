#include "MixKernels.h"
#include <float.h>
#include <math.h>
#include "VectorSums.h"
#include "VectorExp.h"
#include "VectorLog.h"
#include "CPUSupport.h"

float nw_geometric_mix_portable(const float *a, const float *b, size_t count, float w, float *out) {
    float sum = 0;
    for (size_t i = 0; i < count; i++) {
        float x = a[i] > FLT_MIN ? a[i] : FLT_MIN, y = b[i] > FLT_MIN ? b[i] : FLT_MIN;
        out[i] = expf((1 - w) * logf(x) + w * logf(y));
        sum += out[i];
    }
    return sum;
}

#if defined(__x86_64__)
// exp((1 − w) ln a + w ln b) = exp(ln a + w (ln b − ln a)), sixteen words at a time; the last
// block masked (its masked-off lanes read 1, ln 1 = 0, and are neither stored nor summed).
__attribute__((target("avx512f")))
static float geometric_mix_avx512(const float *a, const float *b, size_t n, float w, float *out) {
    __m512 weight = _mm512_set1_ps(w), one = _mm512_set1_ps(1.0f), sum = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 la = log512(_mm512_mask_loadu_ps(one, m, a + i)), lb = log512(_mm512_mask_loadu_ps(one, m, b + i));
        __m512 e = exp512(_mm512_fmadd_ps(weight, _mm512_sub_ps(lb, la), la));
        _mm512_mask_storeu_ps(out + i, m, e);
        sum = _mm512_mask_add_ps(sum, m, sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx2,fma")))
static float geometric_mix_avx2(const float *a, const float *b, size_t n, float w, float *out) {
    __m256 weight = _mm256_set1_ps(w), sum = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 la = log256(_mm256_loadu_ps(a + i)), lb = log256(_mm256_loadu_ps(b + i));
        __m256 e = exp256(_mm256_fmadd_ps(weight, _mm256_sub_ps(lb, la), la));
        _mm256_storeu_ps(out + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    float total = nw_sum8(sum);
    if (i < n) total += nw_geometric_mix_portable(a + i, b + i, n - i, w, out + i);
    return total;
}
#endif

float nw_geometric_mix(const float *a, const float *b, size_t count, float w, float *out) {
#if defined(__x86_64__)
    if (nw_cpu_avx512()) return geometric_mix_avx512(a, b, count, w, out);
    if (nw_cpu_avx2_fma()) return geometric_mix_avx2(a, b, count, w, out);
#endif
    return nw_geometric_mix_portable(a, b, count, w, out);
}
