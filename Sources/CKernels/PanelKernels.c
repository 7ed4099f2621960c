#include "PanelKernels.h"
#include <math.h>
#include <string.h>
#include "VectorExp.h"
#include "CPUSupport.h"
#include "LaneMasks.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

size_t nw_panel_size(size_t k, size_t n) {
    return (n + NW_PANEL_WIDTH - 1) / NW_PANEL_WIDTH * NW_PANEL_WIDTH * k;
}

void nw_panel_pack(const float *source, size_t k, size_t n, int transposed, float *packed) {
    size_t panels = (n + NW_PANEL_WIDTH - 1) / NW_PANEL_WIDTH;
    for (size_t p = 0; p < panels; p++) {
        size_t first = p * NW_PANEL_WIDTH;
        size_t width = n - first < NW_PANEL_WIDTH ? n - first : NW_PANEL_WIDTH;
        float *panel = packed + p * k * NW_PANEL_WIDTH;
        if (!transposed) {
            for (size_t r = 0; r < k; r++) {
                float *row = panel + r * NW_PANEL_WIDTH;
                memcpy(row, source + r * n + first, width * sizeof(float));
                for (size_t j = width; j < NW_PANEL_WIDTH; j++) row[j] = 0;
            }
        } else {
            // B[r][first + j] = source[first + j][r]: the panel is written in order while the 32
            // source rows it reads stay in L1, each cache line read for 16 consecutive r.
            for (size_t r = 0; r < k; r++) {
                float *row = panel + r * NW_PANEL_WIDTH;
                for (size_t j = 0; j < width; j++) row[j] = source[(first + j) * k + r];
                for (size_t j = width; j < NW_PANEL_WIDTH; j++) row[j] = 0;
            }
        }
    }
}

#if defined(__x86_64__)

// One block of up to 10 rows × one 32-column panel: 20 accumulators in registers, each step of k
// two panel loads and one broadcast of A per row. ROWS is a constant in every caller, so the row
// loops unroll and the accumulators stay in zmm registers.
// (11 or 12 rows spilled accumulators to the stack: 60 against 160 GFLOPS, m = 12, one core.)
#define PANEL_BLOCK_ROWS 10

// low[r], high[r] = row r of A [ROWS, k] · the panel [k, 32], columns 0–15 and 16–31.
__attribute__((target("avx512f"), always_inline))
static inline void panel_accumulate(const int ROWS, size_t k, const float *a, size_t lda, const float *panel,
                                    __m512 *low, __m512 *high) {
    for (int r = 0; r < ROWS; r++) { low[r] = _mm512_setzero_ps(); high[r] = _mm512_setzero_ps(); }
    for (size_t i = 0; i < k; i++) {
        __m512 b0 = _mm512_loadu_ps(panel + i * NW_PANEL_WIDTH);
        __m512 b1 = _mm512_loadu_ps(panel + i * NW_PANEL_WIDTH + 16);
        for (int r = 0; r < ROWS; r++) {
            __m512 x = _mm512_set1_ps(a[r * lda + i]);
            low[r] = _mm512_fmadd_ps(x, b0, low[r]);
            high[r] = _mm512_fmadd_ps(x, b1, high[r]);
        }
    }
}

__attribute__((target("avx512f"), always_inline))
static inline void panel_block(const int ROWS, size_t k, const float *a, size_t lda, const float *panel,
                               float *c, size_t ldc, __mmask16 mask0, __mmask16 mask1, int accumulate) {
    __m512 low[PANEL_BLOCK_ROWS], high[PANEL_BLOCK_ROWS];
    panel_accumulate(ROWS, k, a, lda, panel, low, high);
    for (int r = 0; r < ROWS; r++) {
        float *row = c + r * ldc;
        if (accumulate) {
            low[r] = _mm512_add_ps(low[r], _mm512_maskz_loadu_ps(mask0, row));
            high[r] = _mm512_add_ps(high[r], _mm512_maskz_loadu_ps(mask1, row + 16));
        }
        _mm512_mask_storeu_ps(row, mask0, low[r]);
        _mm512_mask_storeu_ps(row + 16, mask1, high[r]);
    }
}

#define PANEL_BLOCK(R) \
    __attribute__((target("avx512f"))) \
    static void panel_block_##R(size_t k, const float *a, size_t lda, const float *panel, float *c, size_t ldc, \
                                __mmask16 mask0, __mmask16 mask1, int accumulate) { \
        panel_block(R, k, a, lda, panel, c, ldc, mask0, mask1, accumulate); \
    }
PANEL_BLOCK(1) PANEL_BLOCK(2) PANEL_BLOCK(3) PANEL_BLOCK(4) PANEL_BLOCK(5) PANEL_BLOCK(6)
PANEL_BLOCK(7) PANEL_BLOCK(8) PANEL_BLOCK(9) PANEL_BLOCK(10)

typedef void (*panel_block_fn)(size_t, const float *, size_t, const float *, float *, size_t, __mmask16, __mmask16, int);
static const panel_block_fn panel_blocks[PANEL_BLOCK_ROWS + 1] = {
    0, panel_block_1, panel_block_2, panel_block_3, panel_block_4, panel_block_5, panel_block_6,
    panel_block_7, panel_block_8, panel_block_9, panel_block_10,
};

// Rows taken at a time: A's rows of one chunk (at most 256 KB) stay in L2 while every panel passes
// over them. With all 1,024 rows of an evaluation segment (1 MB) at once, two threads ran at 1.25x
// one thread's speed; in chunks they scale as with a short segment.
static size_t chunk_rows(size_t k) {
    size_t rows = (256 * 1024) / (k * sizeof(float) + 1);
    rows = rows / PANEL_BLOCK_ROWS * PANEL_BLOCK_ROWS;
    return rows < PANEL_BLOCK_ROWS ? PANEL_BLOCK_ROWS : rows;
}

// Calls `visit` for every block of rows × panel of a product of m rows over panels
// [firstPanel, endPanel) of a [k, n] right side: row chunks outside (chunk_rows: the chunk's rows of
// A stay in L2), then panels (a panel, 32 KB for k = 256, stays in L1 while every row block of the
// chunk passes over it), then row blocks. Rows are cut into blocks of nearly equal size (10 rows:
// one block of 10, 32: four of 8), so no block is a short remainder that pays a full pass over the
// panel for a row or two. mask0, mask1: the panel's columns below n, lanes 0–15 and 16–31.
typedef void (*panel_visit)(const void *job, size_t row, size_t rows, const float *panel, size_t first,
                            __mmask16 mask0, __mmask16 mask1);

static void panel_traverse(size_t m, size_t n, size_t k, const float *packed, size_t firstPanel, size_t endPanel,
                           panel_visit visit, const void *job) {
    size_t chunk = chunk_rows(k);
    for (size_t start = 0; start < m; start += chunk) {
        size_t count = m - start < chunk ? m - start : chunk;
        size_t blocks = (count + PANEL_BLOCK_ROWS - 1) / PANEL_BLOCK_ROWS;
        for (size_t p = firstPanel; p < endPanel; p++) {
            size_t first = p * NW_PANEL_WIDTH;
            if (first >= n) break;
            size_t width = n - first;
            __mmask16 mask0 = nw_lanes16(width), mask1 = width > 16 ? nw_lanes16(width - 16) : 0;
            const float *panel = packed + p * k * NW_PANEL_WIDTH;
            size_t row = start;
            for (size_t b = 0; b < blocks; b++) {
                size_t rows = (start + count - row) / (blocks - b);
                visit(job, row, rows, panel, first, mask0, mask1);
                row += rows;
            }
        }
    }
}

typedef struct {
    size_t k, lda, ldc;
    const float *a;
    float *c;
    int accumulate;
} product_job;

__attribute__((target("avx512f")))
static void product_visit(const void *context, size_t row, size_t rows, const float *panel, size_t first,
                          __mmask16 mask0, __mmask16 mask1) {
    const product_job *job = context;
    panel_blocks[rows](job->k, job->a + row * job->lda, job->lda, panel, job->c + row * job->ldc + first, job->ldc,
                       mask0, mask1, job->accumulate);
}

__attribute__((target("avx512f")))
static void panel_product_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                                 size_t firstPanel, size_t endPanel, float *c, size_t ldc, int accumulate) {
    product_job job = { k, lda, ldc, a, c, accumulate };
    panel_traverse(m, n, k, packed, firstPanel, endPanel, product_visit, &job);
}

// The decoder's scoring, fused: one block of rows × one panel of vocabulary columns is computed
// in registers as panel_block does, the bias added, and each row's running maximum and sum of
// exponentials updated from the registers (the sum rescaled when the maximum grows). The [TB, V]
// logits are never written: for evaluation they were 18 MB a segment (350 rows × 13,189 words)
// written by the product, zeroed before it and read twice by the scoring.
__attribute__((target("avx512f"), always_inline))
static inline void statistics_block(const int ROWS, size_t k, const float *a, size_t lda, const float *panel,
                                    __m512 bias0, __m512 bias1, __mmask16 mask0, __mmask16 mask1, size_t first,
                                    const int32_t *targets, float *rowMax, float *rowSum, float *targetLogit) {
    __m512 low[PANEL_BLOCK_ROWS], high[PANEL_BLOCK_ROWS];
    panel_accumulate(ROWS, k, a, lda, panel, low, high);
    const __m512 none = _mm512_set1_ps(-INFINITY);
    for (int r = 0; r < ROWS; r++) {
        if (targets[r] < 0) continue;
        // Columns past n are -inf: they add nothing to the maximum or the sum.
        __m512 x0 = _mm512_mask_add_ps(none, mask0, low[r], bias0);
        __m512 x1 = _mm512_mask_add_ps(none, mask1, high[r], bias1);
        float top = _mm512_reduce_max_ps(_mm512_max_ps(x0, x1));
        if (top > rowMax[r]) {
            rowSum[r] *= expf(rowMax[r] - top);
            rowMax[r] = top;
        }
        __m512 shift = _mm512_set1_ps(rowMax[r]);
        __m512 e = _mm512_add_ps(_mm512_maskz_mov_ps(mask0, exp512(_mm512_sub_ps(x0, shift))),
                                 _mm512_maskz_mov_ps(mask1, exp512(_mm512_sub_ps(x1, shift))));
        rowSum[r] += _mm512_reduce_add_ps(e);
        size_t column = (size_t)targets[r] - first;
        if (column < NW_PANEL_WIDTH) {
            float values[NW_PANEL_WIDTH];
            _mm512_storeu_ps(values, x0);
            _mm512_storeu_ps(values + 16, x1);
            targetLogit[r] = values[column];
        }
    }
}

#define STATISTICS_BLOCK(R) \
    __attribute__((target("avx512f"))) \
    static void statistics_block_##R(size_t k, const float *a, size_t lda, const float *panel, __m512 bias0, \
                                     __m512 bias1, __mmask16 mask0, __mmask16 mask1, size_t first, \
                                     const int32_t *targets, float *rowMax, float *rowSum, float *targetLogit) { \
        statistics_block(R, k, a, lda, panel, bias0, bias1, mask0, mask1, first, targets, rowMax, rowSum, targetLogit); \
    }
STATISTICS_BLOCK(1) STATISTICS_BLOCK(2) STATISTICS_BLOCK(3) STATISTICS_BLOCK(4) STATISTICS_BLOCK(5)
STATISTICS_BLOCK(6) STATISTICS_BLOCK(7) STATISTICS_BLOCK(8) STATISTICS_BLOCK(9) STATISTICS_BLOCK(10)

typedef void (*statistics_block_fn)(size_t, const float *, size_t, const float *, __m512, __m512, __mmask16, __mmask16,
                                    size_t, const int32_t *, float *, float *, float *);
static const statistics_block_fn statistics_blocks[PANEL_BLOCK_ROWS + 1] = {
    0, statistics_block_1, statistics_block_2, statistics_block_3, statistics_block_4, statistics_block_5,
    statistics_block_6, statistics_block_7, statistics_block_8, statistics_block_9, statistics_block_10,
};

typedef struct {
    size_t k, lda;
    const float *a, *bias;
    const int32_t *targets;
    float *rowMax, *rowSum, *targetLogit;
} statistics_job;

__attribute__((target("avx512f")))
static void statistics_visit(const void *context, size_t row, size_t rows, const float *panel, size_t first,
                             __mmask16 mask0, __mmask16 mask1) {
    const statistics_job *job = context;
    __m512 bias0 = _mm512_maskz_loadu_ps(mask0, job->bias + first);
    __m512 bias1 = _mm512_maskz_loadu_ps(mask1, job->bias + first + 16);
    statistics_blocks[rows](job->k, job->a + row * job->lda, job->lda, panel, bias0, bias1, mask0, mask1, first,
                            job->targets + row, job->rowMax + row, job->rowSum + row, job->targetLogit + row);
}

__attribute__((target("avx512f")))
static void panel_softmax_statistics_avx512(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                                            const float *bias, const int32_t *targets, size_t firstPanel, size_t endPanel,
                                            float *rowMax, float *rowSum, float *targetLogit) {
    statistics_job job = { k, lda, a, bias, targets, rowMax, rowSum, targetLogit };
    panel_traverse(m, n, k, packed, firstPanel, endPanel, statistics_visit, &job);
}

#endif

int nw_panel_product_available(void) {
#if defined(__x86_64__)
    return nw_cpu_avx512();
#else
    return 0;
#endif
}

// Portable reference (also the path where no vector one exists; callers prefer their BLAS there).
static void panel_product_portable(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                                   size_t firstPanel, size_t endPanel, float *c, size_t ldc, int accumulate) {
    for (size_t p = firstPanel; p < endPanel && p * NW_PANEL_WIDTH < n; p++) {
        size_t first = p * NW_PANEL_WIDTH;
        size_t width = n - first < NW_PANEL_WIDTH ? n - first : NW_PANEL_WIDTH;
        const float *panel = packed + p * k * NW_PANEL_WIDTH;
        for (size_t r = 0; r < m; r++) {
            float sums[NW_PANEL_WIDTH] = {0};
            for (size_t i = 0; i < k; i++) {
                float x = a[r * lda + i];
                for (size_t j = 0; j < NW_PANEL_WIDTH; j++) sums[j] += x * panel[i * NW_PANEL_WIDTH + j];
            }
            float *row = c + r * ldc + first;
            for (size_t j = 0; j < width; j++) row[j] = accumulate ? row[j] + sums[j] : sums[j];
        }
    }
}

void nw_panel_product(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                      size_t firstPanel, size_t endPanel, float *c, size_t ldc, int accumulate) {
    if (m == 0) return;
#if defined(__x86_64__)
    if (nw_cpu_avx512()) {
        panel_product_avx512(m, n, k, a, lda, packed, firstPanel, endPanel, c, ldc, accumulate);
        return;
    }
#endif
    panel_product_portable(m, n, k, a, lda, packed, firstPanel, endPanel, c, ldc, accumulate);
}

void nw_panel_softmax_statistics(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                                 const float *bias, const int32_t *targets, size_t firstPanel, size_t endPanel,
                                 float *rowMax, float *rowSum, float *targetLogit) {
#if defined(__x86_64__)
    if (m > 0 && nw_cpu_avx512())
        panel_softmax_statistics_avx512(m, n, k, a, lda, packed, bias, targets, firstPanel, endPanel, rowMax, rowSum, targetLogit);
#endif
}
