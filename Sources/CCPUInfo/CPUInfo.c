#include "CPUInfo.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

void nw_cpu_info_read(nw_cpu_info *info) {
    memset(info, 0, sizeof *info);
    info->is_x86 = 1;
    uint32_t eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return;
    uint32_t max_leaf = eax;
    memcpy(info->vendor, &ebx, 4);
    memcpy(info->vendor + 4, &edx, 4);
    memcpy(info->vendor + 8, &ecx, 4);
    info->vendor[12] = 0;

    __get_cpuid(1, &eax, &ebx, &ecx, &edx);
    uint32_t base_family = (eax >> 8) & 0xF, base_model = (eax >> 4) & 0xF;
    info->family = base_family == 0xF ? base_family + ((eax >> 20) & 0xFF) : base_family;
    info->model = (base_family == 0x6 || base_family == 0xF) ? base_model | (((eax >> 16) & 0xF) << 4) : base_model;
    info->sse3 = (ecx >> 0) & 1;
    info->ssse3 = (ecx >> 9) & 1;
    info->fma = (ecx >> 12) & 1;
    info->sse4_2 = (ecx >> 20) & 1;
    int osxsave = (ecx >> 27) & 1;
    info->avx = (ecx >> 28) & 1;
    info->f16c = (ecx >> 29) & 1;
    if (osxsave) {
        uint64_t xcr0 = read_xcr0();
        info->os_saves_avx = (xcr0 & 0x6) == 0x6;       // XMM and YMM
        info->os_saves_avx512 = (xcr0 & 0xE6) == 0xE6;  // plus opmask, ZMM_Hi256, Hi16_ZMM
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, eax, ebx, ecx, edx);
        info->avx2 = (ebx >> 5) & 1;
        info->avx512f = (ebx >> 16) & 1;
        info->avx512dq = (ebx >> 17) & 1;
        info->avx512cd = (ebx >> 28) & 1;
        info->avx512bw = (ebx >> 30) & 1;
        info->avx512vl = (ebx >> 31) & 1;
        info->avx512vnni = (ecx >> 11) & 1;
        info->avx512fp16 = (edx >> 23) & 1;
        info->amx_tile = (edx >> 24) & 1;
        uint32_t subleaves = eax;
        if (subleaves >= 1) {
            __cpuid_count(7, 1, eax, ebx, ecx, edx);
            info->avx_vnni = (eax >> 4) & 1;
            info->avx512bf16 = (eax >> 5) & 1;
        }
    }
}

#else

void nw_cpu_info_read(nw_cpu_info *info) {
    memset(info, 0, sizeof *info);
#if defined(__aarch64__) || defined(__arm64__)
    info->is_arm64 = 1;
    info->neon = 1;  // Advanced SIMD is mandatory on AArch64
#endif
}

#endif
