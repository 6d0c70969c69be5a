/*
 * The two products of a block of w of layer 0's units over 64 rows, as
 * omptrain runs them (the forward pass as oneDNN's matmul W . x^T, the
 * weights' gradient as the inner product's backward pass), each timed
 * alone on one thread: best of 9 runs of 300 calls, microseconds.
 *
 *   gcc -O2 -Wall -fopenmp widths.c -o widths -ldnnl && ./widths
 */
#include <dnnl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(x)                                                             \
    do {                                                                     \
        dnnl_status_t s_ = (x);                                              \
        if (s_ != dnnl_success) {                                            \
            fprintf(stderr, "%s:%d: oneDNN status %d\n", __FILE__, __LINE__, \
                    (int)s_);                                                \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

enum { ROWS = 64, IN = 784 };

static dnnl_engine_t engine;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static dnnl_memory_t memory(const dnnl_memory_desc_t *md, void *data)
{
    dnnl_memory_t m;
    if (data == NULL) {
        size_t n = dnnl_memory_desc_get_size(md);
        float *p = aligned_alloc(64, (n + 63) / 64 * 64);
        if (p == NULL)
            exit(1);
        for (size_t i = 0; i < n / sizeof(float); i++)
            p[i] = (float)(rand() % 100) / 100.0f;
        data = p;
    }
    CHECK(dnnl_memory_create(&m, md, engine, data));
    return m;
}

static double best_of(dnnl_primitive_t p, dnnl_stream_t s, int n, const dnnl_exec_arg_t *a)
{
    double best = 1e9;
    for (int r = 0; r < 9; r++) {
        double t = now();
        for (int i = 0; i < 300; i++)
            CHECK(dnnl_primitive_execute(p, s, n, a));
        t = (now() - t) / 300;
        best = t < best ? t : best;
    }
    return best;
}

int main(void)
{
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    omp_set_num_threads(1);
    dnnl_stream_t s;
    CHECK(dnnl_stream_create(&s, engine, dnnl_stream_default_flags));
    for (long w = 16; w <= 100; w += 2) {
        dnnl_memory_desc_t w_md, xt_md, zt_md, x_md, b_md, z_md;
        dnnl_dims_t dw = {w, IN}, dxt = {IN, ROWS}, sxt = {1, IN}, dzt = {w, ROWS};
        dnnl_dims_t dx = {ROWS, IN}, db = {w}, dz = {ROWS, w};
        CHECK(dnnl_memory_desc_init_by_tag(&w_md, 2, dw, dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_strides(&xt_md, 2, dxt, dnnl_f32, sxt));
        CHECK(dnnl_memory_desc_init_by_tag(&zt_md, 2, dzt, dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&x_md, 2, dx, dnnl_f32, dnnl_ab));
        CHECK(dnnl_memory_desc_init_by_tag(&b_md, 1, db, dnnl_f32, dnnl_a));
        CHECK(dnnl_memory_desc_init_by_tag(&z_md, 2, dz, dnnl_f32, dnnl_ab));

        dnnl_matmul_desc_t md;
        dnnl_primitive_desc_t pd, fpd, bpd;
        dnnl_primitive_t fwd, grad;
        CHECK(dnnl_matmul_desc_init(&md, &w_md, &xt_md, NULL, &zt_md));
        CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, engine, NULL));
        CHECK(dnnl_primitive_create(&fwd, pd));
        dnnl_memory_t x = memory(&x_md, NULL), wt = memory(&w_md, NULL);
        void *xp;
        CHECK(dnnl_memory_get_data_handle(x, &xp));
        dnnl_exec_arg_t fa[3] = {{DNNL_ARG_SRC, wt},
                                 {DNNL_ARG_WEIGHTS, memory(&xt_md, xp)},
                                 {DNNL_ARG_DST, memory(&zt_md, NULL)}};

        dnnl_inner_product_desc_t fd, bd;
        CHECK(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &x_md,
                                                   &w_md, &b_md, &z_md));
        CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL));
        CHECK(dnnl_inner_product_backward_weights_desc_init(&bd, &x_md, &w_md, &b_md, &z_md));
        CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, engine, fpd));
        CHECK(dnnl_primitive_create(&grad, bpd));
        dnnl_exec_arg_t ba[4] = {{DNNL_ARG_SRC, x},
                                 {DNNL_ARG_DIFF_DST, memory(&z_md, NULL)},
                                 {DNNL_ARG_DIFF_WEIGHTS, memory(&w_md, NULL)},
                                 {DNNL_ARG_DIFF_BIAS, memory(&b_md, NULL)}};

        double tf = best_of(fwd, s, 3, fa), tb = best_of(grad, s, 4, ba);
        printf("%3ld units: forward %5.1f  weights gradient %5.1f  both %5.1f us\n", w,
               tf * 1e6, tb * 1e6, (tf + tb) * 1e6);
        CHECK(dnnl_primitive_desc_destroy(pd));
        CHECK(dnnl_primitive_desc_destroy(fpd));
        CHECK(dnnl_primitive_desc_destroy(bpd));
    }
    return 0;
}
