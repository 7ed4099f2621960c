// Which vector paths this CPU can run (private to CKernels): one definition of each feature set
// the kernels' target attributes ask for, so a kernel and its test of the CPU cannot drift apart.
#ifndef NEXTWORD_CPU_SUPPORT_H
#define NEXTWORD_CPU_SUPPORT_H
#if defined(__x86_64__)

/// AVX-512 foundation: the panel products and the softmax passes.
static inline int nw_cpu_avx512(void) { return __builtin_cpu_supports("avx512f"); }

/// AVX-512 with byte/word and 256-bit forms: fp16 widening, masked byte loads, int8 packing.
static inline int nw_cpu_avx512_bw_vl(void) {
    return nw_cpu_avx512() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

/// AVX-512 VNNI (vpdpbusd) with byte loads: the int8 decoder product.
static inline int nw_cpu_avx512_vnni(void) { return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw"); }

/// AVX2 alone: integer products (the int8 decoder's AVX2 path).
static inline int nw_cpu_avx2(void) { return __builtin_cpu_supports("avx2"); }

/// AVX2 with fused multiply-add: the float passes.
static inline int nw_cpu_avx2_fma(void) { return nw_cpu_avx2() && __builtin_cpu_supports("fma"); }

/// AVX2 with the fp16 conversions.
static inline int nw_cpu_avx2_f16c(void) { return nw_cpu_avx2() && __builtin_cpu_supports("f16c"); }

#endif
#endif
