// Horizontal reductions shared by the kernels' AVX2 paths (private to CKernels).
#ifndef NEXTWORD_VECTOR_SUMS_H
#define NEXTWORD_VECTOR_SUMS_H
#if defined(__x86_64__)
#include <immintrin.h>

/// The sum of the eight lanes of `v`.
__attribute__((target("avx")))
static inline float nw_sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#endif
#endif
