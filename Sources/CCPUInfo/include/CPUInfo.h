// What the processor supports, read with cpuid (x86-64) or known at compile time (arm64), so the
// BLAS diagnosis can tell a generic fallback kernel from the one this CPU deserves.
#ifndef NEXTWORD_CPU_INFO_H
#define NEXTWORD_CPU_INFO_H

#include <stdint.h>

typedef struct nw_cpu_info {
    char vendor[13];      // "GenuineIntel", "AuthenticAMD", ... ("" where there is no cpuid)
    uint32_t family;      // display family (base + extended)
    uint32_t model;       // display model (base + extended << 4)
    uint8_t is_x86;
    uint8_t is_arm64;
    uint8_t sse3, ssse3, sse4_2, avx, avx2, fma, f16c;
    uint8_t avx512f, avx512dq, avx512cd, avx512bw, avx512vl, avx512vnni, avx512bf16, avx512fp16;
    uint8_t avx_vnni, amx_tile;
    uint8_t os_saves_avx, os_saves_avx512;  // XCR0: the OS saves the YMM / ZMM state
    uint8_t neon;
} nw_cpu_info;

/// Fills `info` for the processor this runs on.
void nw_cpu_info_read(nw_cpu_info *info);

#endif
