/*
 * A Dense layer's backward passes on oneDNN 2.6, one thread: the inner
 * product's backward-weights (with the bias) against oneDNN's matmul on
 * dW = ddst^T . src (ddst read through a transposed view) plus a loop for db,
 * and on ddst^T copied first (plain, db summed from the copy), and the inner
 * product's backward-data against the matmul dsrc = ddst . W
 * (W plain "oi", which is K x N as it stands).
 *
 *   gcc -O3 -march=native -fno-math-errno mm.c -o mm -ldnnl
 *   OMP_NUM_THREADS=1 ./mm ROWS IN OUT
 */
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define CK(x) do { dnnl_status_t s_ = (x); if (s_) { fprintf(stderr, "%d: %d\n", __LINE__, (int)s_); exit(1); } } while (0)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static dnnl_engine_t E; static dnnl_stream_t S;
static float *buf(size_t n) { float *p = aligned_alloc(64, (n * 4 + 63) / 64 * 64); for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.f - 0.5f; return p; }
static void md2(dnnl_memory_desc_t *md, dnnl_dim_t a, dnnl_dim_t b) { dnnl_dims_t d = {a, b}; CK(dnnl_memory_desc_init_by_tag(md, 2, d, dnnl_f32, dnnl_ab)); }
static void md2s(dnnl_memory_desc_t *md, dnnl_dim_t a, dnnl_dim_t b, dnnl_dim_t sa, dnnl_dim_t sb) { dnnl_dims_t d = {a, b}, s = {sa, sb}; CK(dnnl_memory_desc_init_by_strides(md, 2, d, dnnl_f32, s)); }
static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *p) { dnnl_memory_t m; CK(dnnl_memory_create(&m, md, E, p)); return m; }
typedef struct { dnnl_primitive_t p; dnnl_exec_arg_t a[5]; int n; } prim;
static void exec1(prim *p) { CK(dnnl_primitive_execute(p->p, S, p->n, p->a)); }
static double run(prim *p, int it) { for (int i = 0; i < 5; i++) CK(dnnl_primitive_execute(p->p, S, p->n, p->a)); double t0 = now(); for (int i = 0; i < it; i++) CK(dnnl_primitive_execute(p->p, S, p->n, p->a)); CK(dnnl_stream_wait(S)); return (now() - t0) / it * 1e6; }
int main(int argc, char **argv)
{
    size_t rows = atoi(argv[1]), in = atoi(argv[2]), out = atoi(argv[3]);
    CK(dnnl_engine_create(&E, dnnl_cpu, 0)); CK(dnnl_stream_create(&S, E, dnnl_stream_default_flags));
    float *src = buf(rows * in), *ddst = buf(rows * out), *w = buf(out * in), *dw = buf(out * in), *db = buf(out), *dsrc = buf(rows * in), *b = buf(out), *dst = buf(rows * out);
    dnnl_memory_desc_t s_md, w_md, b_md, d_md;
    md2(&s_md, rows, in); md2(&w_md, out, in); dnnl_dims_t bd = {out}; CK(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_a)); md2(&d_md, rows, out);
    dnnl_inner_product_desc_t ipd; dnnl_primitive_desc_t fpd, pd;
    CK(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_training, &s_md, &w_md, &b_md, &d_md));
    CK(dnnl_primitive_desc_create(&fpd, &ipd, NULL, E, NULL));
    prim ipw = {0}, ipdd = {0}, mmw = {0}, mmd = {0}, mmt = {0};
    float *dt = buf(out * rows);
    CK(dnnl_inner_product_backward_weights_desc_init(&ipd, &s_md, &w_md, &b_md, &d_md));
    CK(dnnl_primitive_desc_create(&pd, &ipd, NULL, E, fpd)); CK(dnnl_primitive_create(&ipw.p, pd));
    ipw.a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mem(&s_md, src)}; ipw.a[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, mem(&d_md, ddst)};
    ipw.a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, mem(&w_md, dw)}; ipw.a[3] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_BIAS, mem(&b_md, db)}; ipw.n = 4;
    CK(dnnl_inner_product_backward_data_desc_init(&ipd, &s_md, &w_md, &d_md));
    CK(dnnl_primitive_desc_create(&pd, &ipd, NULL, E, fpd)); CK(dnnl_primitive_create(&ipdd.p, pd));
    ipdd.a[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, mem(&d_md, ddst)}; ipdd.a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mem(&w_md, w)}; ipdd.a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, mem(&s_md, dsrc)}; ipdd.n = 3;
    /* matmul dW (out x in) = ddst^T (out x rows, strided view) . src (rows x in) */
    dnnl_matmul_desc_t mdsc; dnnl_memory_desc_t a_md, c_md;
    md2s(&a_md, out, rows, 1, out);
    CK(dnnl_matmul_desc_init(&mdsc, &a_md, &s_md, NULL, &w_md)); CK(dnnl_primitive_desc_create(&pd, &mdsc, NULL, E, NULL));
    const char *impl; CK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)); printf("mm bwd-w impl %s; ", impl);
    CK(dnnl_primitive_create(&mmw.p, pd));
    mmw.a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mem(&a_md, ddst)}; mmw.a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mem(&s_md, src)}; mmw.a[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, mem(&w_md, dw)}; mmw.n = 3;
    /* matmul dW = dt . src with dt = ddst^T copied (out x rows, plain) */
    { dnnl_memory_desc_t t_md; md2(&t_md, out, rows);
      CK(dnnl_matmul_desc_init(&mdsc, &t_md, &s_md, NULL, &w_md)); CK(dnnl_primitive_desc_create(&pd, &mdsc, NULL, E, NULL));
      CK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)); printf("mm bwd-w (copied) impl %s; ", impl);
      CK(dnnl_primitive_create(&mmt.p, pd));
      mmt.a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mem(&t_md, dt)}; mmt.a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mem(&s_md, src)}; mmt.a[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, mem(&w_md, dw)}; mmt.n = 3; }
    /* matmul dsrc (rows x in) = ddst (rows x out) . W (out x in) */
    md2(&c_md, rows, in);
    CK(dnnl_matmul_desc_init(&mdsc, &d_md, &w_md, NULL, &c_md)); CK(dnnl_primitive_desc_create(&pd, &mdsc, NULL, E, NULL));
    CK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)); printf("mm bwd-d impl %s\n", impl);
    CK(dnnl_primitive_create(&mmd.p, pd));
    mmd.a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, mem(&d_md, ddst)}; mmd.a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, mem(&w_md, w)}; mmd.a[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, mem(&c_md, dsrc)}; mmd.n = 3;
    int it = (int)(2e8 / (2.0 * rows * in * out)) + 3;
    double t[5][5];
    for (int r = 0; r < 5; r++) {
        t[0][r] = run(&ipw, it);
        double t0 = now();
        for (int i = 0; i < it; i++) { exec1(&mmw); for (size_t u = 0; u < out; u++) db[u] = 0; for (size_t q = 0; q < rows; q++) for (size_t u = 0; u < out; u++) db[u] += ddst[q * out + u]; }
        t[1][r] = (now() - t0) / it * 1e6;
        t0 = now();
        for (int i = 0; i < it; i++) {
            for (size_t u0 = 0; u0 < out; u0 += 16) { size_t u1 = u0 + 16 < out ? u0 + 16 : out;
                for (size_t q = 0; q < rows; q++) for (size_t u = u0; u < u1; u++) dt[u * rows + q] = ddst[q * out + u]; }
            for (size_t u = 0; u < out; u++) { float a = 0; for (size_t q = 0; q < rows; q++) a += dt[u * rows + q]; db[u] = a; }
            exec1(&mmt);
        }
        t[4][r] = (now() - t0) / it * 1e6;
        t[2][r] = run(&ipdd, it);
        t[3][r] = run(&mmd, it);
    }
    for (int k = 0; k < 5; k++) { /* median */ for (int i = 0; i < 5; i++) for (int j = i + 1; j < 5; j++) if (t[k][j] < t[k][i]) { double x = t[k][i]; t[k][i] = t[k][j]; t[k][j] = x; } }
    printf("%5zu rows %4zux%-4zu  bwd-w: ip %8.1f  mm+db %8.1f (%.2f)  copy+db+mm %8.1f (%.2f)   bwd-d: ip %8.1f  mm %8.1f (%.2f)\n", rows, in, out, t[0][2], t[1][2], t[1][2] / t[0][2], t[4][2], t[4][2] / t[0][2], t[2][2], t[3][2], t[3][2] / t[2][2]);
    return 0;
}
