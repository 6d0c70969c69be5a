/*
 * prefetch_pacing.c - what software prefetches do for a gather of random
 * rows of 784 bytes (Fashion-MNIST's shape) on the machine it runs on,
 * with nothing of omptrain but the gather's own decoding (b * (1/255),
 * AVX-512) and a pass like Adam's over 79,510 parameters before each
 * measurement, as a step leaves the caches.
 *
 *   cc -O3 -march=native -fno-math-errno -o prefetch_pacing prefetch_pacing.c
 *   ./prefetch_pacing            (needs AVX-512; about a minute)
 *
 * Part 1: the rows of a batch of 128 asked for in advance, 20 us before
 * they are gathered, in three ways: 1664 prefetches back to back (a row's
 * 13 lines in an inner loop, as omptrain's gather asks for the row 4 ahead),
 * the same prefetches with a few instructions between each (one flat loop
 * over the lines, each address computed with a division), and plain loads.
 * If a prefetch kept its line, the gather after it would find the rows in
 * the caches, as after the loads.
 *
 * Part 2: the gather itself, with the rows d ahead asked for either all at
 * once before each row (as omptrain does, d = 4) or one line per 64 bytes
 * decoded ("paced"), against one load per line of every row and nothing else
 * (the floor), for batches of 64, 128 and 256.
 *
 * Part 3: the next step's rows asked for during the Adam-like pass, one row
 * (13 lines) after each 1/batch of the parameters, against the pass and then
 * the gather.
 *
 * Part 4: the gather as omptrain does it and paced 6 ahead, each followed by
 * the products of a layer of 784 x 100 (oneDNN's sgemm, one thread) and the
 * pass, as in a one-thread step: the gather, and the whole step.
 *
 * Each figure is a mean over 2000 (1, 2 and 4) or 3000 (3) trials, the
 * variants interleaved trial by trial, in microseconds.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <dnnl.h>

#define N 60000
#define D 784
#define P 79510

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void spin(double us)
{
    double t = now() + us * 1e-6;
    while (now() < t)
        ;
}

static uint8_t *px;
static float *X, *w, *m, *v, *g;
static uint32_t *idx;
static volatile unsigned sink;

/* one row decoded; with next, a line of it asked for per 64 bytes */
__attribute__((target("avx512f"))) static void row(const uint8_t *x, float *o, const char *next)
{
    const __m512 r = _mm512_set1_ps(1.0f / 255.0f);
    for (size_t j = 0; j + 16 <= D; j += 16) {
        if (next != NULL && (j & 63) == 0)
            __builtin_prefetch(next + j, 0, 3);
        __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(x + j))));
        _mm512_storeu_ps(o + j, _mm512_mul_ps(b, r));
    }
}

static const char *at(const uint32_t *id, int r) { return (const char *)(px + (size_t)id[r] * D); }

static void gather_burst(const uint32_t *id, int rows, int d)
{
    for (int r = 0; r < rows; r++) {
        if (r + d < rows)
            for (int o = 0; o < D; o += 64)
                __builtin_prefetch(at(id, r + d) + o, 0, 3);
        row((const uint8_t *)at(id, r), X + (size_t)r * D, NULL);
    }
}

static void gather_paced(const uint32_t *id, int rows, int d)
{
    for (int r = 0; r < d && r < rows; r++)
        for (int o = 0; o < D; o += 64)
            __builtin_prefetch(at(id, r) + o, 0, 3);
    for (int r = 0; r < rows; r++)
        row((const uint8_t *)at(id, r), X + (size_t)r * D, r + d < rows ? at(id, r + d) : NULL);
}

static void touch(const uint32_t *id, int rows)
{
    unsigned s = 0;
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < D; o += 64)
            s += (unsigned char)at(id, r)[o];
    sink = s;
}

static void adam(size_t a, size_t b)
{
    for (size_t i = a; i < b; i++) {
        m[i] = 0.9f * m[i] + 0.1f * g[i];
        v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
        w[i] -= 0.001f * m[i] / (__builtin_sqrtf(v[i]) + 1e-7f);
    }
}

static const uint32_t *draw(long k) { return idx + (size_t)(k % 4000) * 1024; }

int main(void)
{
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "prefetch_pacing: needs AVX-512\n");
        return 1;
    }
    size_t sz = ((size_t)N * D + (2u << 20)) & ~((size_t)(2u << 20) - 1);
    px = aligned_alloc(2u << 20, sz);
    X = aligned_alloc(64, (size_t)1024 * D * 4);
    w = aligned_alloc(64, P * 4), m = aligned_alloc(64, P * 4);
    v = aligned_alloc(64, P * 4), g = aligned_alloc(64, P * 4);
    idx = malloc(sizeof *idx * 1024 * 4000);
    if (!px || !X || !w || !m || !v || !g || !idx) {
        fprintf(stderr, "prefetch_pacing: out of memory\n");
        return 1;
    }
    madvise(px, sz, MADV_HUGEPAGE); /* as omptrain's data set */
    for (size_t i = 0; i < (size_t)N * D; i++)
        px[i] = (uint8_t)(i * 2654435761u >> 24);
    memset(X, 0, (size_t)1024 * D * 4);
    for (size_t i = 0; i < P; i++)
        w[i] = m[i] = v[i] = g[i] = 1e-3f;
    srand(1);
    for (size_t i = 0; i < (size_t)1024 * 4000; i++)
        idx[i] = (uint32_t)(rand() % N);
    long k = 0;

    { /* part 1 */
        enum { V = 4 };
        const char *name[V] = {"nothing asked for", "prefetches back to back",
                               "prefetches a few instructions apart", "loads"};
        double issue[V] = {0}, gat[V] = {0};
        const int B = 128, L = B * 13, T = 2000;
        for (int t = 0; t < T; t++)
            for (int q = 0; q < V; q++) {
                const uint32_t *id = draw(k++);
                adam(0, P);
                double t0 = now();
                if (q == 1)
                    for (int r = 0; r < B; r++)
                        for (int o = 0; o < D; o += 64)
                            __builtin_prefetch(at(id, r) + o, 0, 3);
                if (q == 2)
                    for (int e = 0; e < L; e++)
                        __builtin_prefetch(at(id, e / 13) + (e % 13) * 64, 0, 3);
                if (q == 3)
                    touch(id, B);
                issue[q] += now() - t0;
                spin(20);
                double t1 = now();
                gather_burst(id, B, 4);
                gat[q] += now() - t1;
            }
        printf("1. batch 128 asked for 20 us ahead: time to ask, then the gather\n");
        for (int q = 0; q < V; q++)
            printf("   %-36s ask %6.2f  gather %6.2f\n", name[q], 1e6 * issue[q] / T,
                   1e6 * gat[q] / T);
    }
    { /* part 2 */
        enum { V = 7 };
        const char *name[V] = {"all at once, 4 ahead (as omptrain)", "all at once, 8 ahead",
                               "paced, 4 ahead", "paced, 6 ahead", "paced, 8 ahead",
                               "paced, 12 ahead", "one load per line (floor)"};
        const int batches[3] = {64, 128, 256}, T = 2000;
        printf("2. the gather after an Adam-like pass\n   %-36s %8s %8s %8s\n", "", "64", "128", "256");
        double t_[3][V] = {{0}};
        for (int bi = 0; bi < 3; bi++)
            for (int t = 0; t < T; t++)
                for (int q = 0; q < V; q++) {
                    const uint32_t *id = draw(k++);
                    int B = batches[bi];
                    adam(0, P);
                    double t0 = now();
                    switch (q) {
                    case 0: gather_burst(id, B, 4); break;
                    case 1: gather_burst(id, B, 8); break;
                    case 2: gather_paced(id, B, 4); break;
                    case 3: gather_paced(id, B, 6); break;
                    case 4: gather_paced(id, B, 8); break;
                    case 5: gather_paced(id, B, 12); break;
                    default: touch(id, B);
                    }
                    t_[bi][q] += now() - t0;
                }
        for (int q = 0; q < V; q++)
            printf("   %-36s %8.2f %8.2f %8.2f\n", name[q], 1e6 * t_[0][q] / T,
                   1e6 * t_[1][q] / T, 1e6 * t_[2][q] / T);
    }
    { /* part 3 */
        const int B = 128, T = 3000;
        double pass[2] = {0}, gat[2] = {0};
        for (int t = 0; t < T; t++)
            for (int q = 0; q < 2; q++) {
                const uint32_t *id = draw(k++);
                double t0 = now();
                if (q == 0)
                    adam(0, P);
                else
                    for (int c = 0; c < B; c++) {
                        adam((size_t)c * P / B, (size_t)(c + 1) * P / B);
                        for (int o = 0; o < D; o += 64)
                            __builtin_prefetch(at(id, c) + o, 0, 3);
                    }
                double t1 = now();
                gather_burst(id, B, 4);
                pass[q] += t1 - t0;
                gat[q] += now() - t1;
            }
        printf("3. batch 128: the Adam-like pass, then the gather\n");
        const char *name[2] = {"pass alone", "pass asking for a row per 1/128"};
        for (int q = 0; q < 2; q++)
            printf("   %-36s pass %6.2f  gather %6.2f  both %6.2f\n", name[q], 1e6 * pass[q] / T,
                   1e6 * gat[q] / T, 1e6 * (pass[q] + gat[q]) / T);
    }
    { /* part 4 */
        enum { H = 100 };
        float *Y = aligned_alloc(64, (size_t)1024 * H * 4), *W = aligned_alloc(64, (size_t)D * H * 4);
        if (!Y || !W) {
            fprintf(stderr, "prefetch_pacing: out of memory\n");
            return 1;
        }
        memset(Y, 0, (size_t)1024 * H * 4);
        memset(W, 0, (size_t)D * H * 4);
        const int T = 2000;
        printf("4. a step's products and pass after the gather: gather, and the step\n");
        for (int B = 128; B <= 256; B *= 2) {
            dnnl_sgemm('N', 'N', B, H, D, 1.f, X, D, W, H, 0.f, Y, H); /* code generated */
            double gat[2] = {0, 0}, step[2] = {0, 0};
            for (int t = 0; t < T; t++)
                for (int q = 0; q < 2; q++) {
                    const uint32_t *id = draw(k++);
                    double t0 = now();
                    if (q == 0)
                        gather_burst(id, B, 4);
                    else
                        gather_paced(id, B, 6);
                    double t1 = now();
                    dnnl_sgemm('N', 'N', B, H, D, 1.f, X, D, W, H, 0.f, Y, H);
                    dnnl_sgemm('T', 'N', D, H, B, 1.f, X, D, Y, H, 0.f, g, H);
                    adam(0, P);
                    gat[q] += t1 - t0;
                    step[q] += now() - t0;
                }
            printf("   batch %d: as omptrain: gather %6.2f  step %7.2f   paced 6: gather %6.2f  step %7.2f\n",
                   B, 1e6 * gat[0] / T, 1e6 * step[0] / T, 1e6 * gat[1] / T, 1e6 * step[1] / T);
        }
        free(Y);
        free(W);
    }
    return 0;
}
