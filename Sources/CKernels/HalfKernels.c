// See HalfKernels.h. Shapes: weights [rows, cols] row-major fp16, x [cols], y [rows].
#include "HalfKernels.h"
#include "VectorSums.h"
#include "CPUSupport.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// MARK: Scalar conversions (exact, all platforms)

static inline float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0x1F) {                 // infinity or NaN
        bits = sign | 0x7F800000 | (mantissa << 13);
    } else if (exponent != 0) {             // normal
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {             // zero
        bits = sign;
    } else {                                // subnormal: normalise
        int shift = 0;
        while ((mantissa & 0x400) == 0) { mantissa <<= 1; shift++; }
        bits = sign | ((uint32_t)(113 - shift) << 23) | ((mantissa & 0x3FF) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t float_to_half(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t exponent = (bits >> 23) & 0xFF;
    uint32_t mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) return sign | 0x7C00 | (mantissa ? 0x200 : 0);  // infinity, NaN (quiet)
    int e = (int)exponent - 127 + 15;
    if (e >= 0x1F) return sign | 0x7C00;                                  // too large: infinity
    if (e <= 0) {                                                         // subnormal or zero
        if (e < -10) return sign;
        mantissa |= 0x800000;
        int shift = 14 - e;
        uint32_t half = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1), midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t rest = mantissa & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;        // may carry into the exponent: right
    return sign | (uint16_t)half;
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c")))
static size_t floats_to_halves_f16c(const float *in, uint16_t *out, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(out + i), h);
    }
    return i;
}
#endif

void nw_floats_to_halves(const float *in, uint16_t *out, size_t count) {
    size_t done = 0;
#if defined(__x86_64__)
    // A model's decoder is converted at every start: eight at a time where the processor can.
    if (nw_cpu_avx2_f16c()) done = floats_to_halves_f16c(in, out, count);
#endif
    for (size_t i = done; i < count; i++) out[i] = float_to_half(in[i]);
}

#if defined(__x86_64__)
__attribute__((target("avx2,f16c")))
static size_t halves_to_floats_f16c(const uint16_t *in, float *out, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
    }
    return i;
}
#endif

void nw_halves_to_floats(const uint16_t *in, float *out, size_t count) {
    size_t done = 0;
#if defined(__x86_64__)
    // Every fp16 model file is widened at every start: eight at a time where the processor can
    // (exact, as the scalar path; a signalling NaN comes out quiet).
    if (nw_cpu_avx2_f16c()) done = halves_to_floats_f16c(in, out, count);
#endif
    for (size_t i = done; i < count; i++) out[i] = half_to_float(in[i]);
}

size_t nw_first_out_of_range(const float *values, size_t count, float limit) {
    enum { block = 256 };
    size_t start = 0;
    for (; start + block <= count; start += block) {
        // Branch-free over the block (a comparison and an or per value: vectorized); only a block
        // that holds a bad value is searched one by one.
        int bad = 0;
        for (size_t i = start; i < start + block; i++) bad |= !(fabsf(values[i]) <= limit);
        if (bad) break;
    }
    for (size_t i = start; i < count; i++) if (!(fabsf(values[i]) <= limit)) return i;
    return count;
}

// MARK: Matrix-vector product

void nw_half_gemv_portable(const uint16_t *weights, const float *x, const float *bias, float *y,
                           size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *row = weights + r * cols;
        float sum = 0;
        for (size_t c = 0; c < cols; c++) sum += half_to_float(row[c]) * x[c];
        y[r] = (bias ? bias[r] : 0) + sum;
    }
}

#if defined(__x86_64__)

// Four rows at a time so each load of x serves four weight rows; eight columns per instruction.
__attribute__((target("avx2,fma,f16c")))
static void half_gemv_avx2(const uint16_t *weights, const float *x, const float *bias, float *y,
                           size_t rows, size_t cols) {
    size_t wide = cols & ~(size_t)7;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint16_t *w0 = weights + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = 0; c < wide; c += 8) {
            __m256 xv = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w0 + c))), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w1 + c))), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w2 + c))), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w3 + c))), xv, a3);
        }
        float s0 = nw_sum8(a0), s1 = nw_sum8(a1), s2 = nw_sum8(a2), s3 = nw_sum8(a3);
        for (size_t c = wide; c < cols; c++) {
            s0 += half_to_float(w0[c]) * x[c];
            s1 += half_to_float(w1[c]) * x[c];
            s2 += half_to_float(w2[c]) * x[c];
            s3 += half_to_float(w3[c]) * x[c];
        }
        y[r] = (bias ? bias[r] : 0) + s0;
        y[r + 1] = (bias ? bias[r + 1] : 0) + s1;
        y[r + 2] = (bias ? bias[r + 2] : 0) + s2;
        y[r + 3] = (bias ? bias[r + 3] : 0) + s3;
    }
    // The last rows one at a time, still vectorized: the neural cache multiplies many short runs,
    // where a scalar tail of up to three rows was most of the work.
    for (; r < rows; r++) {
        const uint16_t *w0 = weights + r * cols;
        __m256 a0 = _mm256_setzero_ps();
        for (size_t c = 0; c < wide; c += 8)
            a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w0 + c))), _mm256_loadu_ps(x + c), a0);
        float s0 = nw_sum8(a0);
        for (size_t c = wide; c < cols; c++) s0 += half_to_float(w0[c]) * x[c];
        y[r] = (bias ? bias[r] : 0) + s0;
    }
}
#endif

#if defined(__x86_64__)
// AVX-512: sixteen columns per instruction, four rows at a time, the column tail under a mask.
// The product is bound by reading the weights; the wider unit mostly saves instructions
// (0.27 -> 0.22 ms for [16000, 192] on a 2-core Xeon of family 6 model 207).
__attribute__((target("avx512f,avx512bw,avx512vl")))
static void half_gemv_avx512(const uint16_t *weights, const float *x, const float *bias, float *y,
                             size_t rows, size_t cols) {
    size_t wide = cols & ~(size_t)15;
    __mmask16 tail = (__mmask16)((1u << (cols - wide)) - 1);
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) {
        const uint16_t *w0 = weights + r * cols, *w1 = w0 + cols, *w2 = w1 + cols, *w3 = w2 + cols;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (size_t c = 0; c < wide; c += 16) {
            __m512 xv = _mm512_loadu_ps(x + c);
            a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w0 + c))), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w1 + c))), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w2 + c))), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w3 + c))), xv, a3);
        }
        if (tail) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + wide);
            a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w0 + wide)), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w1 + wide)), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w2 + wide)), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w3 + wide)), xv, a3);
        }
        y[r] = (bias ? bias[r] : 0) + _mm512_reduce_add_ps(a0);
        y[r + 1] = (bias ? bias[r + 1] : 0) + _mm512_reduce_add_ps(a1);
        y[r + 2] = (bias ? bias[r + 2] : 0) + _mm512_reduce_add_ps(a2);
        y[r + 3] = (bias ? bias[r + 3] : 0) + _mm512_reduce_add_ps(a3);
    }
    // The last rows one at a time, still vectorized (see the AVX2 kernel).
    for (; r < rows; r++) {
        const uint16_t *w0 = weights + r * cols;
        __m512 a0 = _mm512_setzero_ps();
        for (size_t c = 0; c < wide; c += 16)
            a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(w0 + c))), _mm512_loadu_ps(x + c), a0);
        if (tail)
            a0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(tail, w0 + wide)), _mm512_maskz_loadu_ps(tail, x + wide), a0);
        y[r] = (bias ? bias[r] : 0) + _mm512_reduce_add_ps(a0);
    }
}
#endif

#if defined(__aarch64__)
// NEON: four halves widened per instruction, fused multiply-add in fp32.
#include <arm_neon.h>
static void half_gemv_neon(const uint16_t *weights, const float *x, const float *bias, float *y,
                           size_t rows, size_t cols) {
    size_t wide = cols & ~(size_t)3;
    for (size_t r = 0; r < rows; r++) {
        const uint16_t *row = weights + r * cols;
        float32x4_t acc = vdupq_n_f32(0);
        for (size_t c = 0; c < wide; c += 4) {
            float32x4_t w = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(row + c)));
            acc = vfmaq_f32(acc, w, vld1q_f32(x + c));
        }
        float sum = vaddvq_f32(acc);
        for (size_t c = wide; c < cols; c++) sum += half_to_float(row[c]) * x[c];
        y[r] = (bias ? bias[r] : 0) + sum;
    }
}
#endif

void nw_half_gemv(const uint16_t *weights, const float *x, const float *bias, float *y,
                  size_t rows, size_t cols) {
#if defined(__x86_64__)
    if (nw_cpu_avx512_bw_vl()) {
        half_gemv_avx512(weights, x, bias, y, rows, cols);
        return;
    }
    if (nw_cpu_avx2_fma() && nw_cpu_avx2_f16c()) {
        half_gemv_avx2(weights, x, bias, y, rows, cols);
        return;
    }
#elif defined(__aarch64__)
    half_gemv_neon(weights, x, bias, y, rows, cols);
    return;
#endif
    nw_half_gemv_portable(weights, x, bias, y, rows, cols);
}
