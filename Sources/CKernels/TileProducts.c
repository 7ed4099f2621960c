// See include/TileProducts.h.
#include "TileProducts.h"

#include <string.h>

#include "CPUSupport.h"
#include "LaneMasks.h"

// Tile geometry (AMX palette 1): an A tile is 16 rows × 32 bfloat16 (64 bytes a row); a B tile is
// 16 rows of k-pairs × 16 columns × 2 (the pair of consecutive k of one column side by side, the
// layout tdpbf16ps reads); an accumulator is 16 × 16 fp32. C is computed in 32 × 32 blocks: four
// accumulators from two A tiles and two B tiles, the eight tile registers.
enum { TILE = 16, TILE_K = 32, TILE_ELEMENTS = TILE * TILE_K };

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

// How many of `width` places from `start` fall inside `total` (0 past its end).
static inline size_t span(size_t total, size_t start, size_t width) {
    return start >= total ? 0 : (total - start < width ? total - start : width);
}

typedef struct {
    size_t mt, nt, kt;          // tiles: rows of A, columns of B, k-blocks
} geometry;

static geometry geometry_of(size_t m, size_t n, size_t k) {
    geometry g = { round_up(m, 2 * TILE) / TILE, round_up(n, 2 * TILE) / TILE, round_up(k, TILE_K) / TILE_K };
    return g;
}

size_t nw_tile_product_scratch(size_t m, size_t n, size_t k) {
    geometry g = geometry_of(m, n, k);
    return (g.mt + g.nt) * g.kt * TILE_ELEMENTS;
}

#if defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TILE_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))

int nw_tile_products_available(void) {
    // The answer never changes within a process; the first caller asks the kernel for the tile
    // state (Linux 5.16+ hands it out only on request: arch_prctl ARCH_REQ_XCOMP_PERM with
    // XFEATURE_XTILEDATA) and later callers read the cached answer.
    static atomic_int answer = -1;
    int known = atomic_load_explicit(&answer, memory_order_acquire);
    if (known >= 0) return known;
    int ok = nw_cpu_avx512_bw_vl() && __builtin_cpu_supports("avx512bf16")
          && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16")
          && syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
    atomic_store_explicit(&answer, ok, memory_order_release);
    return ok;
}

// 32 floats from p (only the first `count`, the rest zero) as 32 bfloat16, in order.
TILE_TARGET static inline __m512i bf16_row32(const float *p, size_t count) {
    __m512 lo = _mm512_maskz_loadu_ps(nw_lanes16(count), p);
    __m512 hi = count > 16 ? _mm512_maskz_loadu_ps(nw_lanes16(count - 16), p + 16) : _mm512_setzero_ps();
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

// 16 floats from p (the first `count`) as 16 bfloat16.
TILE_TARGET static inline __m256i bf16_row16(const float *p, size_t count) {
    return (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(nw_lanes16(count), p));
}

// A tile (i, kb) of op(A) [M, K]: out[r][c] = op(A)[i·16 + r][kb·32 + c].
TILE_TARGET static void pack_a_tile(int trans, size_t m, size_t k, const float *a, size_t i, size_t kb, uint16_t *out) {
    size_t row0 = i * TILE, k0 = kb * TILE_K;
    size_t kCount = span(k, k0, TILE_K);
    if (!trans) {  // A [M, K]: each tile row is 32 consecutive floats of one row of A
        for (size_t r = 0; r < TILE; r++) {
            __m512i v = row0 + r < m ? bf16_row32(a + (row0 + r) * k + k0, kCount) : _mm512_setzero_si512();
            _mm512_storeu_si512(out + r * TILE_K, v);
        }
        return;
    }
    // A stored [K, M]: a row of A gives one column of the tile.
    memset(out, 0, TILE_ELEMENTS * sizeof(uint16_t));
    size_t rCount = span(m, row0, TILE);
    if (rCount == 0) return;
    uint16_t column[TILE];
    for (size_t c = 0; c < kCount; c++) {
        _mm256_storeu_si256((__m256i *)column, bf16_row16(a + (k0 + c) * m + row0, rCount));
        for (size_t r = 0; r < rCount; r++) out[r * TILE_K + c] = column[r];
    }
}

// A B tile (j, kb) of op(B) [K, N]: out[p][n][e] = op(B)[kb·32 + 2p + e][j·16 + n].
TILE_TARGET static void pack_b_tile(int trans, size_t k, size_t n, const float *b, size_t j, size_t kb, uint16_t *out) {
    size_t col0 = j * TILE, k0 = kb * TILE_K;
    size_t kCount = span(k, k0, TILE_K);
    size_t nCount = span(n, col0, TILE);
    if (!trans) {  // B [K, N]: two rows of B give one tile row, their elements interleaved
        // 16-bit lanes 0..15 hold row k, 16..31 row k + 1; the tile row wants k, k+1 per column.
        const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                    23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        for (size_t p = 0; p < TILE; p++) {
            size_t kr = k0 + 2 * p;
            __m512 even = kr < k && nCount ? _mm512_maskz_loadu_ps(nw_lanes16(nCount), b + kr * n + col0) : _mm512_setzero_ps();
            __m512 odd = kr + 1 < k && nCount ? _mm512_maskz_loadu_ps(nw_lanes16(nCount), b + (kr + 1) * n + col0) : _mm512_setzero_ps();
            __m512i pairs = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(odd, even));
            _mm512_storeu_si512(out + p * 2 * TILE, pairs);
        }
        return;
    }
    // B stored [N, K]: one row of B is one column of the tile, its k-pairs down the tile rows.
    uint32_t *pairsOut = (uint32_t *)out;
    memset(out, 0, TILE_ELEMENTS * sizeof(uint16_t));
    uint32_t column[TILE];
    for (size_t c = 0; c < nCount; c++) {
        _mm512_storeu_si512(column, bf16_row32(b + (col0 + c) * k + k0, kCount));
        for (size_t p = 0; p < TILE; p++) pairsOut[p * TILE + c] = column[p];
    }
}

void nw_tile_product_pack(int transA, int transB, size_t m, size_t n, size_t k,
                          const float *a, const float *b, uint16_t *scratch, int part, int parts) {
    geometry g = geometry_of(m, n, k);
    uint16_t *packedA = scratch, *packedB = scratch + g.mt * g.kt * TILE_ELEMENTS;
    // The units of work are A's tile rows, then B's tile columns, split evenly over the parts.
    size_t units = g.mt + g.nt;
    size_t begin = units * (size_t)part / (size_t)parts, end = units * (size_t)(part + 1) / (size_t)parts;
    for (size_t unit = begin; unit < end; unit++) {
        for (size_t kb = 0; kb < g.kt; kb++) {
            if (unit < g.mt) {
                pack_a_tile(transA, m, k, a, unit, kb, packedA + (unit * g.kt + kb) * TILE_ELEMENTS);
            } else {
                size_t j = unit - g.mt;
                pack_b_tile(transB, k, n, b, j, kb, packedB + (j * g.kt + kb) * TILE_ELEMENTS);
            }
        }
    }
}

typedef struct {
    uint8_t palette, startRow, reserved[14];
    uint16_t bytesPerRow[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

// C's 32×32 block at tile (i, j) (+)= the four accumulators in `sums` [4][16][16]: tiles (i, j),
// (i, j+1), (i+1, j), (i+1, j+1). `first`: the block's first k-chunk, where beta applies.
TILE_TARGET static void add_block(int transC, size_t m, size_t n, size_t i, size_t j, const float *sums,
                                  float beta, int first, float *c) {
    for (int q = 0; q < 4; q++) {
        size_t row0 = (i + (size_t)(q >> 1)) * TILE, col0 = (j + (size_t)(q & 1)) * TILE;
        if (row0 >= m || col0 >= n) continue;
        size_t rCount = span(m, row0, TILE), cCount = span(n, col0, TILE);
        const float *s = sums + q * TILE * TILE;
        const float keep = first ? beta : 1;
        if (!transC) {
            __mmask16 mask = nw_lanes16(cCount);
            for (size_t r = 0; r < rCount; r++) {
                float *y = c + (row0 + r) * n + col0;
                __m512 sum = _mm512_loadu_ps(s + r * TILE);
                if (keep != 0) sum = _mm512_fmadd_ps(_mm512_set1_ps(keep), _mm512_maskz_loadu_ps(mask, y), sum);
                _mm512_mask_storeu_ps(y, mask, sum);
            }
        } else {  // C stored [N, M]: a column of the accumulator is a row of C
            const __m512i down = _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80, 64, 48, 32, 16, 0);
            __mmask16 mask = nw_lanes16(rCount);
            for (size_t col = 0; col < cCount; col++) {
                float *y = c + (col0 + col) * m + row0;
                __m512 sum = _mm512_i32gather_ps(down, s + col, 4);
                if (keep != 0) sum = _mm512_fmadd_ps(_mm512_set1_ps(keep), _mm512_maskz_loadu_ps(mask, y), sum);
                _mm512_mask_storeu_ps(y, mask, sum);
            }
        }
    }
}

// k-blocks per chunk: a 32-row block of A over one chunk is 2·64 KB, and B's columns are taken
// in groups whose chunk fills about 1 MB, so both stay in a 2 MB second-level cache while every
// block of C in the group is computed from them.
enum { K_CHUNK = 64, B_GROUP_TILES = 1024 };

// C's blocks [mBegin, mEnd) × [nBegin, nEnd) (in 32-row and 32-column pairs of tiles).
TILE_TARGET static void multiply_blocks(int transC, size_t m, size_t n, size_t kt, const uint16_t *packedA,
                                        const uint16_t *packedB, float beta, float *c,
                                        size_t mBegin, size_t mEnd, size_t nBegin, size_t nEnd) {
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) { config.bytesPerRow[t] = 64; config.rows[t] = TILE; }
    _tile_loadconfig(&config);
    float sums[4 * TILE * TILE] __attribute__((aligned(64)));
    const size_t tileBytes = TILE_ELEMENTS * sizeof(uint16_t);
    for (size_t k0 = 0; k0 < kt; k0 += K_CHUNK) {
        size_t kCount = span(kt, k0, K_CHUNK);
        size_t groupPairs = B_GROUP_TILES / (2 * kCount);
        if (groupPairs < 1) groupPairs = 1;
        for (size_t group = nBegin; group < nEnd; group += groupPairs) {
            size_t groupEnd = group + groupPairs < nEnd ? group + groupPairs : nEnd;
            for (size_t mp = mBegin; mp < mEnd; mp++) {
                const uint8_t *a0 = (const uint8_t *)(packedA + ((2 * mp) * kt + k0) * TILE_ELEMENTS);
                const uint8_t *a1 = (const uint8_t *)(packedA + ((2 * mp + 1) * kt + k0) * TILE_ELEMENTS);
                for (size_t np = group; np < groupEnd; np++) {
                    const uint8_t *b0 = (const uint8_t *)(packedB + ((2 * np) * kt + k0) * TILE_ELEMENTS);
                    const uint8_t *b1 = (const uint8_t *)(packedB + ((2 * np + 1) * kt + k0) * TILE_ELEMENTS);
                    _tile_zero(0); _tile_zero(1); _tile_zero(2); _tile_zero(3);
                    for (size_t kb = 0; kb < kCount; kb++) {
                        size_t at = kb * tileBytes;
                        _tile_loadd(4, a0 + at, 64);
                        _tile_loadd(5, a1 + at, 64);
                        _tile_loadd(6, b0 + at, 64);
                        _tile_loadd(7, b1 + at, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                    _tile_stored(0, sums, 64);
                    _tile_stored(1, sums + TILE * TILE, 64);
                    _tile_stored(2, sums + 2 * TILE * TILE, 64);
                    _tile_stored(3, sums + 3 * TILE * TILE, 64);
                    add_block(transC, m, n, 2 * mp, 2 * np, sums, beta, k0 == 0, c);
                }
            }
        }
    }
    _tile_release();
}

void nw_tile_product_multiply(int transC, size_t m, size_t n, size_t k, const uint16_t *scratch,
                              float beta, float *c, int part, int parts) {
    geometry g = geometry_of(m, n, k);
    const uint16_t *packedA = scratch, *packedB = scratch + g.mt * g.kt * TILE_ELEMENTS;
    size_t mPairs = g.mt / 2, nPairs = g.nt / 2;
    // Each part takes a contiguous share of C's block rows or block columns, whichever are more.
    size_t mBegin = 0, mEnd = mPairs, nBegin = 0, nEnd = nPairs;
    if (mPairs >= nPairs) {
        mBegin = mPairs * (size_t)part / (size_t)parts; mEnd = mPairs * (size_t)(part + 1) / (size_t)parts;
    } else {
        nBegin = nPairs * (size_t)part / (size_t)parts; nEnd = nPairs * (size_t)(part + 1) / (size_t)parts;
    }
    if (mBegin >= mEnd || nBegin >= nEnd) return;
    multiply_blocks(transC, m, n, g.kt, packedA, packedB, beta, c, mBegin, mEnd, nBegin, nEnd);
}

#else

int nw_tile_products_available(void) { return 0; }
void nw_tile_product_pack(int transA, int transB, size_t m, size_t n, size_t k,
                          const float *a, const float *b, uint16_t *scratch, int part, int parts) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)a; (void)b; (void)scratch; (void)part; (void)parts;
}
void nw_tile_product_multiply(int transC, size_t m, size_t n, size_t k, const uint16_t *scratch,
                              float beta, float *c, int part, int parts) {
    (void)transC; (void)m; (void)n; (void)k; (void)scratch; (void)beta; (void)c; (void)part; (void)parts;
}

#endif
