// ln x on vectors (private to CKernels), for the log-linear mixture of the corpus models
// (MixKernels.c). The two widths are one algorithm in two instruction sets.
#ifndef NEXTWORD_VECTOR_LOG_H
#define NEXTWORD_VECTOR_LOG_H
#if defined(__x86_64__)
#include <immintrin.h>

// ln x for x > 0, both widths: Cephes' logf. x = m · 2^e with m in [√½, √2), then
// ln x = ln m + e ln2 with ln(1 + f) (f = m − 1) from a degree-9 polynomial; ln2 in two parts
// (LOG_LN2_HI + LOG_LN2_LO). Inputs below LOG_MIN (the smallest normal float) are read as it.
// Relative error about 1e-7 on normal inputs.
#define LOG_MIN 1.17549435e-38f
#define LOG_SQRTHF 0.707106781186547524f
#define LOG_LN2_HI 0.693359375f
#define LOG_LN2_LO (-2.12194440e-4f)
#define LOG_P0 7.0376836292e-2f
#define LOG_P1 (-1.1514610310e-1f)
#define LOG_P2 1.1676998740e-1f
#define LOG_P3 (-1.2420140846e-1f)
#define LOG_P4 1.4249322787e-1f
#define LOG_P5 (-1.6668057665e-1f)
#define LOG_P6 2.0000714765e-1f
#define LOG_P7 (-2.4999993993e-1f)
#define LOG_P8 3.3333331174e-1f

__attribute__((target("avx512f")))
static inline __m512 log512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(LOG_MIN));
    __m512i bits = _mm512_castps_si512(x);
    // e + 1 and m in [0.5, 1): the exponent field less 126, the mantissa with 0.5's exponent.
    __m512 e = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(126)));
    __m512 m = _mm512_castsi512_ps(_mm512_or_si512(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)),
                                                   _mm512_set1_epi32(0x3f000000)));
    // m < √½: take 2m − 1 and one less in the exponent, else m − 1.
    __mmask16 small = _mm512_cmp_ps_mask(m, _mm512_set1_ps(LOG_SQRTHF), _CMP_LT_OQ);
    e = _mm512_mask_sub_ps(e, small, e, _mm512_set1_ps(1.0f));
    __m512 f = _mm512_sub_ps(_mm512_mask_add_ps(m, small, m, m), _mm512_set1_ps(1.0f));
    __m512 z = _mm512_mul_ps(f, f);
    __m512 p = _mm512_set1_ps(LOG_P0);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P5));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P6));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P7));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(LOG_P8));
    __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
    y = _mm512_fmadd_ps(e, _mm512_set1_ps(LOG_LN2_LO), y);
    y = _mm512_fnmadd_ps(z, _mm512_set1_ps(0.5f), y);
    return _mm512_fmadd_ps(e, _mm512_set1_ps(LOG_LN2_HI), _mm512_add_ps(f, y));
}

__attribute__((target("avx2,fma")))
static inline __m256 log256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(LOG_MIN));
    __m256i bits = _mm256_castps_si256(x);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(LOG_SQRTHF), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(small, _mm256_set1_ps(1.0f)));
    __m256 f = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), _mm256_set1_ps(1.0f));
    __m256 z = _mm256_mul_ps(f, f);
    __m256 p = _mm256_set1_ps(LOG_P0);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P5));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P6));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P7));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(LOG_P8));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(LOG_LN2_LO), y);
    y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(LOG_LN2_HI), _mm256_add_ps(f, y));
}
#endif
#endif
