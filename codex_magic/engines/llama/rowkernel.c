/* One decode step's logits rows, read once for everything the host sampler needs.

   For each row of n_vocab float32 logits: its maximum, its log-sum-exp (summed
   in double) and, when k > 0, its k largest values and their ids, largest first,
   equal values by the lower id. Loaded with ctypes by codex_magic/_rowkernel.py;
   numpy does the same where this library was not built.

   One pass over the row, in contiguous groups of 64 ids: each group's maximum
   is kept, and the group's exponentials are summed relative to the largest
   value seen so far (when a group raises it, the sum so far is scaled down by
   the difference: an "online" log-sum-exp, so any range of logits is safe and
   the row is read from memory once). Then the top k: the k-th largest group
   maximum is no greater than the row's k-th largest value, so the top k lies
   among the values at or above it in the groups that reach it, a few hundred
   values still in the cache, ranked exactly.

   Three builds of the pass, chosen at run time and each testable on a CPU that
   has it: AVX-512 and AVX2 with FMA on x86-64, and portable C (which the
   compiler vectorizes for the build's baseline). A NaN in a row makes its sum
   NaN, which the caller takes as "redo this row with numpy". */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CM_X86 1
#include <immintrin.h>
#endif

#define GROUP 64

/* Each pass asks for the row 16 kB ahead of where it reads: the lines a decode has just
   written sit in either core's cache, and the hardware prefetcher alone fetched them
   too late (measured inside real runs: 2.35 -> about 2.0 ms a step at n = 10). */
#define AHEAD 4096
#define PREFETCH(p)                                                                        \
    do {                                                                                   \
        for (int pf_ = 0; pf_ < GROUP; pf_ += 16) __builtin_prefetch((p) + AHEAD + pf_);   \
    } while (0)

enum { LEVEL_GENERIC = 1, LEVEL_AVX2 = 2, LEVEL_AVX512 = 4 };

/* exp(d) = 2^t, t = d log2(e) = n + f, n an integer and |f| <= 1/2; 2^f by a
   degree 5 polynomial fitted for relative error (at most 1.9e-7 in float32). Terms
   below e^-86 are dropped (under 1e-37 of the largest: no denormals), so n >= -125. */
#define LOG2E 1.44269504088896341f
#define EXP_LOW -86.0f
#define ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: x + M - M rounds x to an integer */
#define C1 6.931469776e-01f
#define C2 2.402224208e-01f
#define C3 5.550733744e-02f
#define C4 9.671512661e-03f
#define C5 1.326472690e-03f

/* exp(d) for d <= 0: 0 below EXP_LOW, NaN for NaN. Branch-free, so that the
   compiler vectorizes loops of it for the build's baseline instruction set. */
static inline float exp_le0(float d) {
    float dc = d < EXP_LOW ? EXP_LOW : d;
    float t = dc * LOG2E;
    float n = (t + ROUND_MAGIC) - ROUND_MAGIC;
    float f = t - n;
    float p = ((((C5 * f + C4) * f + C3) * f + C2) * f + C1) * f + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &e, sizeof two_n);
    return d < EXP_LOW ? 0.0f : p * two_n;
}

/* ---- portable C ---- */

/* A group's maximum, without branches the vectorizer would stop at. */
static inline float max64(const float *p) {
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = p[l];
    for (int j = 16; j < GROUP; j += 16)
        for (int l = 0; l < 16; l++) lanes[l] = p[j + l] > lanes[l] ? p[j + l] : lanes[l];
    float m = lanes[0];
    for (int l = 1; l < 16; l++) m = lanes[l] > m ? lanes[l] : m;
    return m;
}

static inline float sum_exp64(const float *p, float m) {
    float e[GROUP], lanes[8] = {0};
    for (int j = 0; j < GROUP; j++) e[j] = exp_le0(p[j] - m);
    for (int j = 0; j < GROUP; j += 8)
        for (int l = 0; l < 8; l++) lanes[l] += e[j + l];
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
           ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

/* Sum so far, relative to the largest value so far: *total * exp(*run). */
static inline void raise_to(float m, float *run, double *total) {
    if (m > *run) {
        if (*total != 0.0) *total *= exp((double)*run - (double)m);
        *run = m;
    }
}

/* The tail of a row after its whole groups, and the log-sum-exp. */
static double finish(const float *x, int64_t from, int64_t n, float *run, double total) {
    for (int64_t i = from; i < n; i++) raise_to(x[i], run, &total);
    for (int64_t i = from; i < n; i++) total += exp_le0(x[i] - *run);
    return isfinite(*run) ? (double)*run + log(total) : NAN;
}

static double pass_generic(const float *x, int64_t n_vocab, float *gmax, float *max_out) {
    int64_t n_groups = n_vocab / GROUP;
    float run = -INFINITY;
    double total = 0.0;
    for (int64_t g = 0; g < n_groups; g++) {
        const float *p = x + g * GROUP;
        PREFETCH(p);
        float m = gmax[g] = max64(p);
        raise_to(m, &run, &total);
        total += sum_exp64(p, run);
    }
    double lse = finish(x, n_groups * GROUP, n_vocab, &run, total);
    *max_out = run;
    return lse;
}

#ifdef CM_X86

/* ---- AVX2 and FMA ---- */

#define AVX2 __attribute__((target("avx2,fma")))

/* Adds exp(d) for each lane of d (d <= 0) to acc. */
AVX2 static inline __m256 add_exp_avx2(__m256 acc, __m256 d) {
    const __m256 low = _mm256_set1_ps(EXP_LOW);
    __m256 dc = _mm256_max_ps(low, d); /* a NaN in d comes through */
    __m256 t = _mm256_mul_ps(dc, _mm256_set1_ps(LOG2E));
    __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_sub_ps(t, n);
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(C5), f, _mm256_set1_ps(C4));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C3));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C2));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(C1));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                                   _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_cmp_ps(d, low, _CMP_LT_OQ), y));
}

AVX2 static inline float hmax_avx2(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

AVX2 static double pass_avx2(const float *x, int64_t n_vocab, float *gmax, float *max_out) {
    int64_t n_groups = n_vocab / GROUP;
    float run = -INFINITY;
    double total = 0.0;
    for (int64_t g = 0; g < n_groups; g++) {
        const float *p = x + g * GROUP;
        PREFETCH(p);
        __m256 v[8];
        for (int j = 0; j < 8; j++) v[j] = _mm256_loadu_ps(p + 8 * j);
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_max_ps(v[0], v[1]),
                                               _mm256_max_ps(v[2], v[3])),
                                 _mm256_max_ps(_mm256_max_ps(v[4], v[5]),
                                               _mm256_max_ps(v[6], v[7])));
        float gm = gmax[g] = hmax_avx2(m);
        raise_to(gm, &run, &total);
        __m256 vm = _mm256_set1_ps(run), s = _mm256_setzero_ps(), s2 = _mm256_setzero_ps();
        for (int j = 0; j < 8; j += 2) {
            s = add_exp_avx2(s, _mm256_sub_ps(v[j], vm));
            s2 = add_exp_avx2(s2, _mm256_sub_ps(v[j + 1], vm));
        }
        s = _mm256_add_ps(s, s2);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
        __m128d d = _mm_add_pd(_mm_cvtps_pd(h), _mm_cvtps_pd(_mm_movehl_ps(h, h)));
        total += _mm_cvtsd_f64(_mm_add_sd(d, _mm_unpackhi_pd(d, d)));
    }
    double lse = finish(x, n_groups * GROUP, n_vocab, &run, total);
    *max_out = run;
    return lse;
}

/* ---- AVX-512 ---- */

#define AVX512 __attribute__((target("avx512f")))

/* Adds exp(d) for each lane of d (d <= 0) to acc; the mask keeps NaNs. */
AVX512 static inline __m512 add_exp_avx512(__m512 acc, __m512 d) {
    __m512 t = _mm512_mul_ps(d, _mm512_set1_ps(LOG2E));
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(C5), f, _mm512_set1_ps(C4));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C3));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C2));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(C1));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    __mmask16 keep = _mm512_cmp_ps_mask(d, _mm512_set1_ps(EXP_LOW), _CMP_NLT_UQ);
    return _mm512_mask_add_ps(acc, keep, acc, _mm512_scalef_ps(p, n));
}

AVX512 static double pass_avx512(const float *x, int64_t n_vocab, float *gmax,
                                 float *max_out) {
    int64_t n_groups = n_vocab / GROUP;
    float run = -INFINITY;
    double total = 0.0;
    for (int64_t g = 0; g < n_groups; g++) {
        const float *p = x + g * GROUP;
        PREFETCH(p);
        __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
        __m512 c = _mm512_loadu_ps(p + 32), d = _mm512_loadu_ps(p + 48);
        float gm = gmax[g] = _mm512_reduce_max_ps(
            _mm512_max_ps(_mm512_max_ps(a, b), _mm512_max_ps(c, d)));
        raise_to(gm, &run, &total);
        __m512 vm = _mm512_set1_ps(run), zero = _mm512_setzero_ps();
        __m512 s = add_exp_avx512(zero, _mm512_sub_ps(a, vm));
        __m512 s2 = add_exp_avx512(zero, _mm512_sub_ps(b, vm));
        s = add_exp_avx512(s, _mm512_sub_ps(c, vm));
        s2 = add_exp_avx512(s2, _mm512_sub_ps(d, vm));
        total += _mm512_reduce_add_ps(_mm512_add_ps(s, s2));
    }
    double lse = finish(x, n_groups * GROUP, n_vocab, &run, total);
    *max_out = run;
    return lse;
}

#endif /* CM_X86 */

/* The levels this CPU can run, as a bit mask of LEVEL_*. */
int cm_levels(void) {
    int levels = LEVEL_GENERIC;
#ifdef CM_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) levels |= LEVEL_AVX2;
    if (__builtin_cpu_supports("avx512f")) levels |= LEVEL_AVX512;
#endif
    return levels;
}

/* ---- the k largest ---- */

/* A value and its id in one key: a larger key is a larger value, or the same value
   with a lower id. -0.0 and 0.0 are one value, as in numpy. */
static inline uint64_t rank_key(float v, int64_t id) {
    union { float f; uint32_t u; } b = { v + 0.0f };
    uint32_t ordered = (b.u & 0x80000000u) ? ~b.u : (b.u | 0x80000000u);
    return ((uint64_t)ordered << 32) | (uint32_t)(0xFFFFFFFFu - (uint32_t)id);
}

static inline float key_value(uint64_t key) {
    uint32_t ordered = (uint32_t)(key >> 32);
    union { uint32_t u; float f; } b = { (ordered & 0x80000000u) ? (ordered & 0x7FFFFFFFu)
                                                                 : ~ordered };
    return b.f;
}

static inline int64_t key_id(uint64_t key) {
    return (int64_t)(0xFFFFFFFFu - (uint32_t)key);
}

static int by_key_descending(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

/* Puts the k largest keys first (in any order): quickselect, keys all distinct. */
static void select_largest(uint64_t *keys, int64_t count, int64_t k) {
    int64_t lo = 0, hi = count - 1;
    while (lo < hi) {
        uint64_t a = keys[lo], b = keys[(lo + hi) / 2], c = keys[hi];
        uint64_t pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (keys[i] > pivot) i++;
            while (keys[j] < pivot) j--;
            if (i <= j) {
                uint64_t t = keys[i];
                keys[i++] = keys[j];
                keys[j--] = t;
            }
        }
        if (k - 1 <= j) hi = j;
        else if (k - 1 >= i) lo = i;
        else break;
    }
}

/* The k-th largest of gmax[0..n): a min-heap of the k largest seen. */
static float kth_largest(const float *gmax, int64_t n, int64_t k, float *heap) {
    for (int64_t i = 0; i < n; i++) {
        float v = gmax[i];
        int64_t at;
        if (i < k) {
            at = i;
            while (at > 0 && heap[(at - 1) / 2] > v) {
                heap[at] = heap[(at - 1) / 2];
                at = (at - 1) / 2;
            }
            heap[at] = v;
        } else if (v > heap[0]) {
            at = 0;
            for (;;) {
                int64_t c = 2 * at + 1;
                if (c >= k) break;
                if (c + 1 < k && heap[c + 1] < heap[c]) c++;
                if (heap[c] >= v) break;
                heap[at] = heap[c];
                at = c;
            }
            heap[at] = v;
        }
    }
    return heap[0];
}

static void top_k(const float *x, int64_t n_vocab, const float *gmax, int64_t n_groups,
                  int64_t k, float *heap, uint64_t *keys, int64_t *ids, float *vals) {
    float threshold = kth_largest(gmax, n_groups, k, heap);
    int64_t count = 0;
    for (int64_t g = 0; g < n_groups; g++) {
        if (!(gmax[g] >= threshold)) continue;
        const float *p = x + g * GROUP;
        for (int j = 0; j < GROUP; j++)
            if (p[j] >= threshold) keys[count++] = rank_key(p[j], g * GROUP + j);
    }
    for (int64_t i = n_groups * GROUP; i < n_vocab; i++)
        if (x[i] >= threshold) keys[count++] = rank_key(x[i], i);
    if (count > k) select_largest(keys, count, k);
    qsort(keys, (size_t)k, sizeof *keys, by_key_descending);
    for (int64_t i = 0; i < k; i++) {
        ids[i] = key_id(keys[i]);
        vals[i] = key_value(keys[i]);
    }
}

/* Rows x[0..n_rows) of n_vocab logits: each row's maximum, log-sum-exp, and (k > 0)
   k largest values and ids. A row whose log-sum-exp comes out NaN (a NaN, or an
   infinite maximum) is left for the caller to redo.
   Returns 0, -1 for arguments it does not take (k * 8 above the number of groups:
   the caller's own search suits that better), -2 if memory ran out, -3 for a level
   this CPU or this build lacks. */
int cm_rows(const float *x, int64_t n_rows, int64_t n_vocab, int64_t k, int level,
            float *max_out, double *lse_out, int64_t *ids_out, float *vals_out) {
    int64_t n_groups = n_vocab / GROUP;
    if (n_rows < 0 || n_groups < 8 || k < 0 || k * 8 > n_groups || n_vocab > 0xFFFFFFFFll)
        return -1;
    if (!(cm_levels() & level)) return -3;
    float *gmax = malloc((size_t)(n_groups + k + 1) * sizeof(float));
    uint64_t *keys = k ? malloc((size_t)n_vocab * sizeof(uint64_t)) : NULL;
    if (!gmax || (k && !keys)) {
        free(gmax);
        free(keys);
        return -2;
    }
    float *heap = gmax + n_groups;
    for (int64_t r = 0; r < n_rows; r++) {
        const float *row = x + r * n_vocab;
#ifdef CM_X86
        if (level == LEVEL_AVX512) lse_out[r] = pass_avx512(row, n_vocab, gmax, max_out + r);
        else if (level == LEVEL_AVX2) lse_out[r] = pass_avx2(row, n_vocab, gmax, max_out + r);
        else
#endif
            lse_out[r] = pass_generic(row, n_vocab, gmax, max_out + r);
        if (k && !isnan(lse_out[r]))
            top_k(row, n_vocab, gmax, n_groups, k, heap, keys, ids_out + r * k, vals_out + r * k);
    }
    free(gmax);
    free(keys);
    return 0;
}
