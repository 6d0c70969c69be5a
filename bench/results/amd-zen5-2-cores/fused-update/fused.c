/*
 * Layer 1 of 784-1024-1024-10 over 256 rows, cut by units on 2 threads (512
 * units a thread): its weights' gradient (the inner product's backward pass)
 * then Adam over the block, as omptrain runs them, against the gradient in
 * sub-blocks of U units (oneDNN's matmul) each followed at once by Adam on
 * that sub-block while it is in cache. Between steps each thread streams
 * 32 MB, so that the block's arrays leave the caches as they do in
 * training. 100 steps a mode, five rounds.
 *
 *   gcc -O3 -march=native -fno-math-errno -fopenmp fused.c -o fused -ldnnl -lm
 *   OMP_PROC_BIND=true ./fused U THREADS
 */
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x)                                                                                  \
    do {                                                                                       \
        dnnl_status_t s_ = (x);                                                                \
        if (s_) {                                                                              \
            fprintf(stderr, "%d: %d\n", __LINE__, (int)s_);                                    \
            exit(1);                                                                           \
        }                                                                                      \
    } while (0)
enum { ROWS = 256, IN = 1024, W = 512 };
static dnnl_engine_t E;
static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static float *buf(size_t n)
{
    float *p = aligned_alloc(64, n * 4);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f;
    return p;
}
static void adam(float *restrict p, const float *restrict g, float *restrict m,
                 float *restrict v, size_t n)
{
    const float b1 = 0.9f, b2 = 0.999f, lr = 1e-3f, eps = 1e-7f, c1 = 1.f / (1 - 0.9f),
                c2 = 1.f / (1 - 0.999f);
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
        p[i] -= lr * (m[i] * c1) / (sqrtf(v[i] * c2) + eps);
    }
}
typedef struct {
    dnnl_primitive_t p;
    dnnl_exec_arg_t a[4];
    int n;
} prim;
static void mm(prim *q, long m, long n, long k, float *A, long sa0, long sa1, float *B,
               long sb0, long sb1, float *C, long ldc)
{
    dnnl_memory_desc_t md[3];
    dnnl_dims_t da = {m, k}, db = {k, n}, dc = {m, n}, xa = {sa0, sa1}, xb = {sb0, sb1},
                xc = {ldc, 1};
    CK(dnnl_memory_desc_init_by_strides(&md[0], 2, da, dnnl_f32, xa));
    CK(dnnl_memory_desc_init_by_strides(&md[1], 2, db, dnnl_f32, xb));
    CK(dnnl_memory_desc_init_by_strides(&md[2], 2, dc, dnnl_f32, xc));
    dnnl_matmul_desc_t d;
    dnnl_primitive_desc_t pd;
    CK(dnnl_matmul_desc_init(&d, &md[0], &md[1], NULL, &md[2]));
    CK(dnnl_primitive_desc_create(&pd, &d, NULL, E, NULL));
    CK(dnnl_primitive_create(&q->p, pd));
    float *ptr[3] = {A, B, C};
    int arg[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    for (int i = 0; i < 3; i++) {
        dnnl_memory_t x;
        CK(dnnl_memory_create(&x, &md[i], E, ptr[i]));
        q->a[i] = (dnnl_exec_arg_t){arg[i], x};
    }
    q->n = 3;
}
static void ipw(prim *q, float *X, float *dZ, float *dW, float *db)
{
    dnnl_memory_desc_t x, w, b, z;
    dnnl_dims_t dx = {ROWS, IN}, dw = {W, IN}, dbb = {W}, dz = {ROWS, W};
    CK(dnnl_memory_desc_init_by_tag(&x, 2, dx, dnnl_f32, dnnl_ab));
    CK(dnnl_memory_desc_init_by_tag(&w, 2, dw, dnnl_f32, dnnl_ab));
    CK(dnnl_memory_desc_init_by_tag(&b, 1, dbb, dnnl_f32, dnnl_a));
    CK(dnnl_memory_desc_init_by_tag(&z, 2, dz, dnnl_f32, dnnl_ab));
    dnnl_inner_product_desc_t fd, bd;
    dnnl_primitive_desc_t fpd, bpd;
    CK(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &x, &w, &b, &z));
    CK(dnnl_primitive_desc_create(&fpd, &fd, NULL, E, NULL));
    CK(dnnl_inner_product_backward_weights_desc_init(&bd, &x, &w, &b, &z));
    CK(dnnl_primitive_desc_create(&bpd, &bd, NULL, E, fpd));
    CK(dnnl_primitive_create(&q->p, bpd));
    dnnl_memory_desc_t *md[4] = {&x, &z, &w, &b};
    float *ptr[4] = {X, dZ, dW, db};
    int arg[4] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS};
    for (int i = 0; i < 4; i++) {
        dnnl_memory_t m;
        CK(dnnl_memory_create(&m, md[i], E, ptr[i]));
        q->a[i] = (dnnl_exec_arg_t){arg[i], m};
    }
    q->n = 4;
}
static void run(prim *q, dnnl_stream_t s)
{
    CK(dnnl_primitive_execute(q->p, s, q->n, q->a));
}
int main(int argc, char **argv)
{
    int U = argc > 1 ? atoi(argv[1]) : 64, threads = argc > 2 ? atoi(argv[2]) : 2, steps = 100;
    CK(dnnl_engine_create(&E, dnnl_cpu, 0));
    for (int round = 0; round < 5; round++) {
        double tw[2] = {0, 0};
        for (int mode = 0; mode < 2; mode++) {
            double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(threads)
            {
                omp_set_num_threads(1);
                dnnl_stream_t s;
                CK(dnnl_stream_create(&s, E, 0));
                float *X = buf(ROWS * IN), *dZ = buf(ROWS * W), *P = buf(W * IN),
                      *G = buf(W * IN), *M = buf(W * IN), *V = buf(W * IN), *db = buf(W),
                      *Gs = buf((size_t)U * IN);
                for (size_t i = 0; i < (size_t)W * IN; i++) {
                    M[i] = 0;
                    V[i] = 0;
                }
                /* a buffer the size of the rest of a step's data, streamed between steps so
                 * the block's arrays leave the caches as they do in training */
                size_t nj = (size_t)8 << 20;
                float *junk = buf(nj);
                prim whole;
                ipw(&whole, X, dZ, G, db);
                prim *sub = malloc(sizeof(prim) * (W / U));
                for (int b = 0; b < W / U; b++)
                    mm(&sub[b], U, IN, ROWS, dZ + b * U, 1, W, X, IN, 1, Gs, IN);
                for (int st = -5; st < steps; st++) {
#pragma omp barrier
                    if (st == 0) {
#pragma omp master
                        t0 = now();
                    }
                    if (mode == 0) {
                        run(&whole, s);
                        adam(P, G, M, V, (size_t)W * IN);
                    } else
                        for (int b = 0; b < W / U; b++) {
                            run(&sub[b], s);
                            size_t o = (size_t)b * U * IN;
                            adam(P + o, Gs, M + o, V + o, (size_t)U * IN);
                        }
                    float acc = 0;
                    for (size_t i = 0; i < nj; i += 16)
                        acc += junk[i];
                    if (acc == 12345.f)
                        printf("!");
                }
#pragma omp barrier
#pragma omp master
                t1 = now();
            }
            tw[mode] = (t1 - t0) / steps;
        }
        printf("threads %d, sub-blocks of %d units: gradient then Adam %.3f ms, fused %.3f ms "
               "(%.3f)\n",
               threads, U, tw[0] * 1e3, tw[1] * 1e3, tw[1] / tw[0]);
    }
    return 0;
}
