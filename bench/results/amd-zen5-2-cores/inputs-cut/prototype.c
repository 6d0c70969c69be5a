/*
 * A stand-alone prototype of a third way to cut the training step of
 * 784-100-10 over 64 rows on 2 threads: layer 0 cut by its inputs
 * (each thread owns columns [k0, k1) of W0, gathers only those columns of
 * the rows, and computes a partial product; both threads then sum the two
 * partials and run the rest of the forward pass, the loss and layer 1's
 * backward pass each for itself; each computes dW0[:, k0:k1]). Beside it,
 * the same step cut by units as omptrain cuts it (blocks of 48 and 52
 * units, the last layer cut by its inputs), and the whole step on one
 * thread. No optimizer and no bias gradients: the same in every variant.
 *
 * W0's columns are strided in the arena's "oi" layout; "inputs, packed"
 * gives each thread a contiguous copy of its columns instead (which a
 * real engine would have to keep in step with the arena every step): it
 * is the best case of the cut.
 *
 *   gcc -O3 -march=native -fopenmp -fno-math-errno prototype.c -o prototype -ldnnl -lm
 *   OMP_PROC_BIND=true ./prototype [steps]
 */
#include <dnnl.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum { ROWS = 64, IN = 784, HID = 100, CLS = 10, N = 60000 };

static dnnl_engine_t engine;
static uint8_t *data;
static uint32_t *order;
static float *W0, *b0, *W1, *b1, *dW0, *dW1;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *buffer(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    memset(p, 0, n * sizeof(float));
    return p;
}

/* c (m x n, row stride ldc) = a (m x k, strides sa) . b (k x n, strides sb) */
typedef struct {
    dnnl_primitive_t p;
    dnnl_exec_arg_t args[4];
    int n;
} prim;

static void matmul(prim *q, long m, long n, long k, float *a, long sa0, long sa1,
                   float *b, long sb0, long sb1, float *c, long ldc)
{
    dnnl_memory_desc_t md[3];
    dnnl_dims_t da = {m, k}, db = {k, n}, dc = {m, n};
    dnnl_dims_t xa = {sa0, sa1}, xb = {sb0, sb1}, xc = {ldc, 1};
    CHECK(dnnl_memory_desc_init_by_strides(&md[0], 2, da, dnnl_f32, xa));
    CHECK(dnnl_memory_desc_init_by_strides(&md[1], 2, db, dnnl_f32, xb));
    CHECK(dnnl_memory_desc_init_by_strides(&md[2], 2, dc, dnnl_f32, xc));
    dnnl_matmul_desc_t d;
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_matmul_desc_init(&d, &md[0], &md[1], NULL, &md[2]));
    CHECK(dnnl_primitive_desc_create(&pd, &d, NULL, engine, NULL));
    CHECK(dnnl_primitive_create(&q->p, pd));
    CHECK(dnnl_primitive_desc_destroy(pd));
    float *ptr[3] = {a, b, c};
    int arg[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    for (int i = 0; i < 3; i++) {
        dnnl_memory_t mem;
        CHECK(dnnl_memory_create(&mem, &md[i], engine, ptr[i]));
        q->args[i] = (dnnl_exec_arg_t){arg[i], mem};
    }
    q->n = 3;
}

/* dW (out x in) from x (rows x in) and dz (rows x out): the inner
 * product's backward pass over weights, as omptrain runs it */
static void weights_gradient(prim *q, long rows, long in, long out, float *x,
                             float *dz, float *dw, float *db)
{
    dnnl_memory_desc_t x_md, w_md, b_md, z_md;
    dnnl_dims_t dx = {rows, in}, dw_ = {out, in}, dbb = {out}, dzz = {rows, out};
    CHECK(dnnl_memory_desc_init_by_tag(&x_md, 2, dx, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&w_md, 2, dw_, dnnl_f32, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&b_md, 1, dbb, dnnl_f32, dnnl_a));
    CHECK(dnnl_memory_desc_init_by_tag(&z_md, 2, dzz, dnnl_f32, dnnl_ab));
    dnnl_inner_product_desc_t fd, bd;
    dnnl_primitive_desc_t fpd, bpd;
    CHECK(dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &x_md,
                                               &w_md, &b_md, &z_md));
    CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL));
    CHECK(dnnl_inner_product_backward_weights_desc_init(&bd, &x_md, &w_md, &b_md, &z_md));
    CHECK(dnnl_primitive_desc_create(&bpd, &bd, NULL, engine, fpd));
    CHECK(dnnl_primitive_create(&q->p, bpd));
    CHECK(dnnl_primitive_desc_destroy(bpd));
    CHECK(dnnl_primitive_desc_destroy(fpd));
    dnnl_memory_desc_t *md[4] = {&x_md, &z_md, &w_md, &b_md};
    float *ptr[4] = {x, dz, dw, db};
    int arg[4] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                  DNNL_ARG_DIFF_BIAS};
    for (int i = 0; i < 4; i++) {
        dnnl_memory_t mem;
        CHECK(dnnl_memory_create(&mem, md[i], engine, ptr[i]));
        q->args[i] = (dnnl_exec_arg_t){arg[i], mem};
    }
    q->n = 4;
}

static void run(const prim *q, dnnl_stream_t s)
{
    CHECK(dnnl_primitive_execute(q->p, s, q->n, q->args));
}

/* columns [k0, k1) of the rows of step `step`, scaled to [0, 1] */
static void gather(float *x, size_t step, size_t k0, size_t k1)
{
    for (size_t r = 0; r < ROWS; r++) {
        const uint8_t *src = data + (size_t)order[(step * ROWS + r) % N] * IN;
        float *dst = x + r * (k1 - k0);
        for (size_t k = k0; k < k1; k++)
            dst[k - k0] = src[k] * (1.0f / 255);
    }
}

/* the loss's gradient over the logits, labels r mod 10 */
static void softmax_gradient(const float *logits, float *dout)
{
    for (int r = 0; r < ROWS; r++) {
        const float *l = logits + r * CLS;
        float m = l[0], e[CLS], s = 0;
        for (int c = 1; c < CLS; c++)
            m = l[c] > m ? l[c] : m;
        for (int c = 0; c < CLS; c++)
            s += e[c] = expf(l[c] - m);
        for (int c = 0; c < CLS; c++)
            dout[r * CLS + c] = (e[c] / s - (c == r % CLS)) / ROWS;
    }
}

/* a (rows x w) = relu(zt^T + b), zt being w x rows */
static void bias_relu(float *a, const float *zt0, const float *zt1, const float *b,
                      size_t w)
{
    for (size_t r = 0; r < ROWS; r++)
        for (size_t u = 0; u < w; u++) {
            float v = zt0[u * ROWS + r] + (zt1 ? zt1[u * ROWS + r] : 0) + b[u];
            a[r * w + u] = v > 0 ? v : 0;
        }
}

static void relu_backward(float *d, const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = a[i] > 0 ? d[i] : 0;
}

static double whole(int steps)
{
    omp_set_num_threads(1);
    dnnl_stream_t s;
    CHECK(dnnl_stream_create(&s, engine, dnnl_stream_default_flags));
    float *x = buffer(ROWS * IN), *zt = buffer(HID * ROWS), *a = buffer(ROWS * HID);
    float *d = buffer(ROWS * HID), *logits = buffer(ROWS * CLS);
    float *dout = buffer(ROWS * CLS), *db = buffer(HID);
    prim fwd0, fwd1, gw1, gin1, gw0;
    matmul(&fwd0, HID, ROWS, IN, W0, IN, 1, x, 1, IN, zt, ROWS);
    matmul(&fwd1, ROWS, CLS, HID, a, HID, 1, W1, 1, HID, logits, CLS);
    matmul(&gw1, CLS, HID, ROWS, dout, 1, CLS, a, HID, 1, dW1, HID);
    matmul(&gin1, ROWS, HID, CLS, dout, CLS, 1, W1, HID, 1, d, HID);
    weights_gradient(&gw0, ROWS, IN, HID, x, d, dW0, db);
    double t0 = 0;
    for (int step = -200; step < steps; step++) {
        if (step == 0)
            t0 = now();
        gather(x, (size_t)step + 100000, 0, IN);
        run(&fwd0, s);
        bias_relu(a, zt, NULL, b0, HID);
        run(&fwd1, s);
        for (int i = 0; i < ROWS * CLS; i++)
            logits[i] += b1[i % CLS];
        softmax_gradient(logits, dout);
        run(&gw1, s);
        run(&gin1, s);
        relu_backward(d, a, ROWS * HID);
        run(&gw0, s);
    }
    return (now() - t0) / steps;
}

static double by_units(int steps)
{
    float *part[2], *logits = buffer(ROWS * CLS), *dout = buffer(ROWS * CLS);
    double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(2)
    {
        const int t = omp_get_thread_num();
        omp_set_num_threads(1);
        const size_t c0 = t ? 48 : 0, c1 = t ? HID : 48, w = c1 - c0;
        dnnl_stream_t s;
        CHECK(dnnl_stream_create(&s, engine, dnnl_stream_default_flags));
        float *x = buffer(ROWS * IN), *zt = buffer(w * ROWS), *a = buffer(ROWS * w);
        float *d = buffer(ROWS * w), *db = buffer(w);
        part[t] = buffer(ROWS * CLS);
        prim fwd0, fwd1, gw1, gin1, gw0;
        matmul(&fwd0, w, ROWS, IN, W0 + c0 * IN, IN, 1, x, 1, IN, zt, ROWS);
        matmul(&fwd1, ROWS, CLS, w, a, w, 1, W1 + c0, 1, HID, part[t], CLS);
        matmul(&gw1, CLS, w, ROWS, dout, 1, CLS, a, w, 1, dW1 + c0, HID);
        matmul(&gin1, ROWS, w, CLS, dout, CLS, 1, W1 + c0, HID, 1, d, w);
        weights_gradient(&gw0, ROWS, IN, w, x, d, dW0 + c0 * IN, db);
        for (int step = -200; step < steps; step++) {
#pragma omp barrier
            if (step == 0 && t == 0)
                t0 = now();
            gather(x, (size_t)step, 0, IN);
            run(&fwd0, s);
            bias_relu(a, zt, NULL, b0 + c0, w);
            run(&fwd1, s);
#pragma omp barrier
            if (t == 0) {
                for (int i = 0; i < ROWS * CLS; i++)
                    logits[i] = part[0][i] + part[1][i] + b1[i % CLS];
                softmax_gradient(logits, dout);
            }
#pragma omp barrier
            run(&gw1, s);
            run(&gin1, s);
            relu_backward(d, a, ROWS * w);
            run(&gw0, s);
        }
#pragma omp barrier
        if (t == 0)
            t1 = now();
    }
    return (t1 - t0) / steps;
}

static double by_inputs(int steps, int packed)
{
    float *partial[2];
    double t0 = 0, t1 = 0;
#pragma omp parallel num_threads(2)
    {
        const int t = omp_get_thread_num();
        omp_set_num_threads(1);
        const size_t k0 = t ? 384 : 0, k1 = t ? IN : 384, kw = k1 - k0;
        dnnl_stream_t s;
        CHECK(dnnl_stream_create(&s, engine, dnnl_stream_default_flags));
        float *x = buffer(ROWS * kw), *a = buffer(ROWS * HID), *d = buffer(ROWS * HID);
        float *logits = buffer(ROWS * CLS), *dout = buffer(ROWS * CLS);
        float *w = W0 + k0, *dw = dW0 + k0;
        long ldw = IN;
        if (packed) {
            w = buffer(HID * kw);
            dw = buffer(HID * kw);
            ldw = (long)kw;
            for (size_t u = 0; u < HID; u++)
                memcpy(w + u * kw, W0 + u * IN + k0, kw * sizeof(float));
        }
        partial[t] = buffer(HID * ROWS);
        prim fwd0, fwd1, gw1, gin1, gw0;
        matmul(&fwd0, HID, ROWS, (long)kw, w, ldw, 1, x, 1, (long)kw, partial[t], ROWS);
        matmul(&fwd1, ROWS, CLS, HID, a, HID, 1, W1, 1, HID, logits, CLS);
        matmul(&gw1, CLS, HID, ROWS, dout, 1, CLS, a, HID, 1, dW1, HID);
        matmul(&gin1, ROWS, HID, CLS, dout, CLS, 1, W1, HID, 1, d, HID);
        matmul(&gw0, HID, (long)kw, ROWS, d, 1, HID, x, (long)kw, 1, dw, ldw);
        for (int step = -200; step < steps; step++) {
#pragma omp barrier
            if (step == 0 && t == 0)
                t0 = now();
            gather(x, (size_t)step, k0, k1);
            run(&fwd0, s);
#pragma omp barrier
            bias_relu(a, partial[0], partial[1], b0, HID);
            run(&fwd1, s);
            for (int i = 0; i < ROWS * CLS; i++)
                logits[i] += b1[i % CLS];
            softmax_gradient(logits, dout);
            if (t == 0)
                run(&gw1, s);
            run(&gin1, s);
            relu_backward(d, a, ROWS * HID);
            run(&gw0, s);
        }
#pragma omp barrier
        if (t == 0)
            t1 = now();
    }
    return (t1 - t0) / steps;
}

int main(int argc, char **argv)
{
    int steps = argc > 1 ? atoi(argv[1]) : 3000;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    data = malloc((size_t)N * IN);
    order = malloc(N * sizeof *order);
    if (!data || !order || steps < 1)
        return 1;
    srand(1);
    for (size_t i = 0; i < (size_t)N * IN; i++)
        data[i] = (uint8_t)rand();
    for (uint32_t i = 0; i < N; i++)
        order[i] = i;
    for (uint32_t i = N - 1; i > 0; i--) {
        uint32_t j = (uint32_t)rand() % (i + 1), v = order[i];
        order[i] = order[j];
        order[j] = v;
    }
    W0 = buffer(HID * IN), b0 = buffer(HID), W1 = buffer(CLS * HID), b1 = buffer(CLS);
    dW0 = buffer(HID * IN), dW1 = buffer(CLS * HID);
    for (int i = 0; i < HID * IN; i++)
        W0[i] = (rand() % 200 - 100) * 1e-3f;
    for (int i = 0; i < CLS * HID; i++)
        W1[i] = (rand() % 200 - 100) * 1e-2f;
    printf("us a step (scaling against 1 thread): 1 thread | 2: units | 2: inputs | 2: inputs, packed\n");
    for (int round = 0; round < 8; round++) {
        double w = whole(steps), u = by_units(steps), i = by_inputs(steps, 0),
               p = by_inputs(steps, 1);
        printf("%6.1f | %6.1f (%.3f) | %6.1f (%.3f) | %6.1f (%.3f)\n", w * 1e6, u * 1e6,
               w / (2 * u), i * 1e6, w / (2 * i), p * 1e6, w / (2 * p));
    }
    return 0;
}
