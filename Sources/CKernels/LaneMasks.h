// Masks of a vector's first lanes for the AVX-512 kernels' tails (private to CKernels).
#ifndef NEXTWORD_LANE_MASKS_H
#define NEXTWORD_LANE_MASKS_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>

/// The first `count` of 16 lanes (all of them from 16 on).
static inline __mmask16 nw_lanes16(size_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
}
#endif
#endif
