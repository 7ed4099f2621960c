// The corpus models' log-linear mixture over the vocabulary, vectorised for the CPU at hand
// (AVX-512, AVX2 + FMA, else portable C), chosen once per call at run time: a log and an exp per
// word of a [V] row at every word boundary is too slow in Swift's scalar libm calls.
#ifndef NEXTWORD_MIX_KERNELS_H
#define NEXTWORD_MIX_KERNELS_H

#include <stddef.h>

/// out[i] = a[i]^(1 − w) · b[i]^w, unnormalised; returns the sum of out. a, b, out: [count]; out
/// may alias neither. Relative error a few 1e-6 (float carries ln x of a small x to about 1e-7 of it); inputs below the smallest normal float are read
/// as it, and results near it (below about 1e-37) are approximate.
float nw_geometric_mix(const float *a, const float *b, size_t count, float w, float *out);

/// The same in portable C (the reference the vector paths are tested against).
float nw_geometric_mix_portable(const float *a, const float *b, size_t count, float w, float *out);

#endif
