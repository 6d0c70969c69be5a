/*
 * gather_order.c - does it help a one-thread step to gather the next
 * step's rows before the optimizer's pass instead of after it?
 *
 *   cc -O2 -march=native -fno-math-errno -o gather_order gather_order.c -ldnnl
 *   OMP_NUM_THREADS=1 ./gather_order BATCH
 *
 * A step of the shape of 784-100-10's first layer, with nothing of omptrain:
 * oneDNN's sgemm for the forward product (BATCH x 784 by 784 x 100) and for
 * the weights' gradient (100 x BATCH by BATCH x 784), an Adam-like pass over
 * 79,510 parameters, and a gather of BATCH random rows of 784 bytes into
 * floats (the rows 4 ahead prefetched, as omptrain's gather does). Order A
 * gathers the step's rows first (as omptrain's 1-thread step does); order B
 * gathers the next step's rows right after the weights' gradient, while
 * the batch buffer is still in the caches, and then runs the pass. Ten
 * rounds of 400 steps each way, alternated; microseconds per step.
 */
#define _GNU_SOURCE
#include <dnnl.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define N 60000
#define D 784
#define H 100
#define P 79510

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f"))) static void row(const uint8_t *x, float *o)
{
    const __m512 r = _mm512_set1_ps(1.0f / 255.0f);
    for (size_t j = 0; j + 16 <= D; j += 16) {
        __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const void *)(x + j))));
        _mm512_storeu_ps(o + j, _mm512_mul_ps(b, r));
    }
}

static void gather(const uint8_t *px, const uint32_t *idx, int rows, float *out)
{
    for (int r = 0; r < rows; r++) {
        if (r + 4 < rows)
            for (int o = 0; o < D; o += 64)
                __builtin_prefetch(px + (size_t)idx[r + 4] * D + o, 0, 3);
        row(px + (size_t)idx[r] * D, out + (size_t)r * D);
    }
}

static void adam(float *restrict w, float *restrict m, float *restrict v, const float *restrict g)
{
    for (size_t i = 0; i < P; i++) {
        m[i] = 0.9f * m[i] + 0.1f * g[i];
        v[i] = 0.999f * v[i] + 0.001f * g[i] * g[i];
        w[i] -= 0.001f * m[i] / (__builtin_sqrtf(v[i]) + 1e-7f);
    }
}

int main(int argc, char **argv)
{
    int B = argc > 1 ? atoi(argv[1]) : 128;
    if (B < 1 || B > 1024 || !__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "gather_order: BATCH 1..1024, and AVX-512\n");
        return 1;
    }
    size_t sz = ((size_t)N * D + (2u << 20)) & ~((size_t)(2u << 20) - 1);
    uint8_t *px = aligned_alloc(2u << 20, sz);
    float *X = aligned_alloc(64, (size_t)1024 * D * 4), *Y = aligned_alloc(64, (size_t)1024 * H * 4);
    float *w = aligned_alloc(64, P * 4), *m = aligned_alloc(64, P * 4);
    float *v = aligned_alloc(64, P * 4), *g = aligned_alloc(64, P * 4);
    uint32_t *idx = malloc(sizeof *idx * (size_t)B * 4001);
    if (!px || !X || !Y || !w || !m || !v || !g || !idx) {
        fprintf(stderr, "gather_order: out of memory\n");
        return 1;
    }
    madvise(px, sz, MADV_HUGEPAGE);
    for (size_t i = 0; i < (size_t)N * D; i++)
        px[i] = (uint8_t)(i * 2654435761u >> 24);
    memset(X, 0, (size_t)1024 * D * 4);
    memset(Y, 0, (size_t)1024 * H * 4);
    for (size_t i = 0; i < P; i++)
        w[i] = m[i] = v[i] = g[i] = 1e-3f;
    srand(1);
    for (size_t i = 0; i < (size_t)B * 4001; i++)
        idx[i] = (uint32_t)(rand() % N);
    dnnl_sgemm('N', 'T', B, H, D, 1.f, X, D, w, D, 0.f, Y, H); /* its code, generated */
    double t[2] = {0, 0};
    const int steps = 400, rounds = 10;
    for (int rr = 0; rr < rounds; rr++)
        for (int q = 0; q < 2; q++) {
            double t0 = now();
            for (int k = 0; k < steps; k++) {
                const uint32_t *cur = idx + (size_t)(k % 4000) * B, *nxt = cur + B;
                if (q == 0)
                    gather(px, cur, B, X);
                dnnl_sgemm('N', 'T', B, H, D, 1.f, X, D, w, D, 0.f, Y, H);
                dnnl_sgemm('T', 'N', H, D, B, 1.f, Y, H, X, D, 0.f, g, D);
                if (q == 1)
                    gather(px, nxt, B, X);
                adam(w, m, v, g);
            }
            t[q] += now() - t0;
        }
    printf("batch %d: A (gather, kernels, pass) %.2f us   B (kernels, next gather, pass) %.2f us\n",
           B, 1e6 * t[0] / steps / rounds, 1e6 * t[1] / steps / rounds);
    return 0;
}
