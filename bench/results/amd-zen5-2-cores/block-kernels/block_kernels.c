/*
 * block_kernels.c - why the kernel-only ceiling of a 2-thread step cut by
 * units scales by about 0.9 (784-100-10, batch 64: blocks of 48 and 52
 * units). Times, in microseconds per step, the same primitives as bench's
 * ceiling (ot__usplit_kernels, ot__worker_kernels), six ways:
 *   rows 1T     the 1-thread step's kernels (one shard of 64 rows, all units)
 *   both seq    the two blocks one after the other on one thread
 *   block 0     block 0 alone on thread 0, the other core idle
 *   block 1     block 1 alone on thread 1, the other core idle
 *   both conc   the two blocks at once on two threads (bench's ceiling)
 *   rows 1T x2  the 1-thread step's kernels on each thread at once, each on
 *               its own buffers: what running beside the other core costs
 * in rounds that alternate them; each figure the median of its rounds.
 * Built against a build's static library:
 *
 *   cc -O2 -std=c17 -fopenmp -I SRC -I SRC/src -I SRC/include -I BUILD \
 *      block_kernels.c BUILD/src/libomptrain.a -ldnnl -lz -lm -o block_kernels
 *   ./block_kernels [rounds]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omptrain.h>

#include "src/shard.h"
#include "src/trainer.h"
#include "src/unit_split.h"

enum { BATCH = 64, ITERS = 2000, MAXR = 31 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void check(ot_status s, const char *what)
{
    if (s != OT_OK) {
        fprintf(stderr, "%s: %s\n", what, ot_last_error());
        exit(1);
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > MAXR)
        rounds = 9;
    ot_layer layers[2] = {{100, OT_ACTIVATION_RELU, OT_INIT_AUTO},
                          {10, OT_ACTIVATION_SOFTMAX, OT_INIT_AUTO}};
    ot_model *m = NULL;
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    check(ot_model_create(&m, 784, layers, 2, 42), "model");
    check(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), "compile");
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        return 1;
    size_t batch = BATCH;
    ot__usplit u;
    check(ot__usplit_open(&u, m, 2, &batch, 1, 0), "blocks");
    double t[6][MAXR], dts[2];
    const char *name[6] = {"rows 1T", "both seq", "block 0", "block 1", "both conc",
                           "rows 1T x2"};
#pragma omp parallel num_threads(2)
    {
        omp_set_num_threads(1);
        int tid = omp_get_thread_num();
        float *grad = calloc(m->arena_len, sizeof(float));
        ot__uthread mine, both;
        ot__worker w;
        check(ot__usplit_thread_init(&mine, &u, engine, (size_t)tid, (size_t)tid + 1), "block");
        check(ot__worker_init(&w, m, engine, BATCH, 0, 1), "worker");
        check(ot__worker_plan(&w, BATCH), "plan");
        if (tid == 0)
            check(ot__usplit_thread_init(&both, &u, engine, 0, 2), "blocks");
        for (int r = 0; r < rounds; r++)
            for (int k = 0; k < 6; k++) {
#pragma omp barrier
                int runs = (k == 0 || k == 1 || k == 2) ? tid == 0
                         : k == 3                       ? tid == 1
                                                        : 1;
                int rows = k == 0 || k == 5;
                double t0 = now();
                for (int i = 0; runs && i < ITERS; i++) {
                    if (rows)
                        ot__worker_kernels(&w, BATCH, grad);
                    else if (k == 1)
                        ot__usplit_kernels(&both, &u, 0, grad);
                    else
                        ot__usplit_kernels(&mine, &u, 0, grad);
                }
                dts[tid] = runs ? (now() - t0) / ITERS * 1e6 : 0.0;
#pragma omp barrier
#pragma omp master
                /* the slower thread sets the step */
                t[k][r] = dts[0] > dts[1] ? dts[0] : dts[1];
            }
        free(grad);
        ot__uthread_destroy(&mine);
        ot__worker_destroy(&w);
        if (tid == 0)
            ot__uthread_destroy(&both);
    }
    for (int k = 0; k < 6; k++) {
        qsort(t[k], (size_t)rounds, sizeof(double), cmp);
        printf("%-10s %7.2f us (min %.2f, max %.2f)\n", name[k], t[k][rounds / 2], t[k][0],
               t[k][rounds - 1]);
    }
    ot__usplit_close(&u);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
    return 0;
}
