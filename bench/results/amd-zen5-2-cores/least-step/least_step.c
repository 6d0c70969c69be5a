/*
 * least_step.c - how fast a 2-thread step of 784-100-10 at batch 64, cut by
 * units, could be if synchronising the threads cost nothing, beside what
 * omptrain's fit gives on 1 and 2 threads in the same run.
 *
 * The step runs the library's own functions for each part, on two threads,
 * with the two barriers a step cut by units cannot do without (the parts of
 * the logits after layer 0; the loss's gradient before the backward pass)
 * and no other framework: no callbacks, no verdicts, no barrier at the
 * step's end. Each part is clocked on each thread, every step:
 *   gather   the step's 64 random rows of Fashion-MNIST into the thread's
 *            own buffer (every thread needs all of them; thread 0 also the
 *            labels)
 *   fwd0     the thread's block of layer 0 and its part of the logits
 *   head     thread 0: the logits summed, softmax, loss, its gradient, the
 *            last layer's bias gradient (the other thread waits)
 *   bwd0     the thread's block backward: its columns of the last layer,
 *            layer 0's weight gradient
 *   adam     Adam over the parameters the thread owns
 * The least step is the critical path with free synchronisation:
 *   max over threads (gather + fwd0) + head + max over threads (bwd0 + adam),
 * each term the step's own, then the median (and the mean) over steps;
 * fit's figures are means: steps over seconds. The even step
 * also halves the work exactly between the threads:
 *   (sum over threads of gather + fwd0) / 2 + head + (... bwd0 + adam) / 2.
 * Rounds alternate
 * fit on 1 thread, fit on 2 threads (2 shards: cut by units) and the
 * clocked step; each figure is the median of its rounds. With FITLIKE set
 * in the environment, each thread gathers the next step's rows after its
 * update and then waits at a third barrier, as fit orders a step (the least
 * and even lines then count that gather in the step after its own).
 *
 *   cc -O2 -std=c17 -fopenmp -I SRC -I SRC/src -I SRC/include -I BUILD \
 *      least_step.c BUILD/src/libomptrain.a -ldnnl -lz -lm -o least_step
 *   ./least_step [rounds]
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xmmintrin.h>

#include <omptrain.h>

#include "src/common.h"
#include "src/dataset.h"
#include "src/optimizer.h"
#include "src/unit_split.h"

enum { BATCH = 64, STEPS = 4000, MAXR = 31, PARTS = 5 };

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

static double mean(const double *v, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return sum / (double)n;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
    return v[n / 2];
}

static ot_model *textbook(void)
{
    ot_layer layers[2] = {OT_DENSE(100, OT_ACTIVATION_RELU),
                          OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    check(ot_model_create(&m, 784, layers, 2, 42), "model");
    check(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), "compile");
    return m;
}

/* ---- omptrain's fit, as bench times it ---------------------------------- */

typedef struct timing {
    size_t warmup, steps;
    double seconds, t0, t1;
} timing;

static int time_steps(const ot_step_metrics *s, void *user)
{
    (void)s;
    timing *t = user;
    if (++t->steps == t->warmup)
        t->t0 = now();
    if (t->steps > t->warmup && now() - t->t0 >= t->seconds) {
        t->t1 = now();
        return 1;
    }
    return 0;
}

/* Microseconds per step of fit on `threads` threads and as many shards. */
static double fit_step(const ot_dataset *d, int threads)
{
    ot_model *m = textbook();
    timing t = {20, 0, 1.0, 0, 0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = BATCH;
    fc.epochs = 1000000;
    fc.threads = threads;
    fc.shards = (size_t)threads;
    fc.on_step = time_steps;
    fc.user = &t;
    check(ot_model_fit(m, d, &fc, NULL), "fit");
    ot_model_destroy(m);
    return 1e6 * (t.t1 - t.t0) / (double)(t.steps - t.warmup);
}

/* ---- the least step ------------------------------------------------------ */

static double part[2][STEPS][PARTS], wall[STEPS];

/* What a run of STEPS clocked steps gives, microseconds per step: the
 * step as run (with its two barriers), the least and the even step, each
 * as the median and as the mean over steps; each part's median per thread. */
typedef struct figures {
    double ran[2], least[2], even[2]; /* [0] median, [1] mean */
    double part[2][PARTS];
} figures;

static void least_step(const ot_dataset *d, const uint32_t *idx, figures *out)
{
    ot_model *m = textbook();
    const size_t L = m->n_layers, len = BATCH;
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        exit(1);
    ot__usplit u;
    check(ot__usplit_open(&u, m, 2, &len, 1, 0), "blocks");
    float *grad = ot__calloc(m->arena_len, sizeof(float), "gradient"); /* as fit has it */
    float *slot[OT__MAX_SLOTS] = {NULL, NULL, NULL};
    for (size_t k = 0; k < m->opt.slots; k++)
        slot[k] = m->opt.state + k * m->arena_len;
    const size_t per_epoch = ot_dataset_size(d) / BATCH;
    const int fitlike = getenv("FITLIKE") != NULL;
#pragma omp parallel num_threads(2)
    {
        int tid = omp_get_thread_num();
        omp_set_num_threads(1); /* oneDNN on this thread alone, as in fit */
        unsigned csr = _mm_getcsr();
        _mm_setcsr(csr | 0x8040); /* FTZ | DAZ, as in fit */
        ot__uthread ut;
        size_t shard = (size_t)(getenv("SWAP") ? 1 - tid : tid);
        check(ot__usplit_thread_init(&ut, &u, engine, shard, shard + 1), "thread");
        double loss = 0, metric = 0;
#pragma omp barrier
        for (size_t s = 0; s < STEPS; s++) {
            double t0 = now(), *dur = part[tid][s];
            if (tid == 0 && s > 0)
                wall[s - 1] = t0 - wall[s - 1];
            if (tid == 0)
                wall[s] = t0;
            if (!fitlike || s == 0)
                ot__usplit_gather(&u, &ut, d, idx, (s % per_epoch) * BATCH, BATCH);
            double t1 = now(), gather = t1 - t0;
            check(ot__usplit_forward(&ut, &u, 0, 0), "forward 0");
            double t2 = now();
#pragma omp barrier
            double t3 = now();
            check(ot__usplit_forward(&ut, &u, L - 1, 0), "forward 1");
            if (ot__uthread_owns(&ut, L - 1)) {
                ot__usplit_loss(&u, d, BATCH, 1.0f / BATCH, &loss, &metric);
                check(ot__usplit_backward(&ut, &u, L - 1, 0, grad), "backward 1");
            }
            double t4 = now();
#pragma omp barrier
            double t5 = now();
            check(ot__usplit_backward(&ut, &u, 0, 0, grad), "backward 0");
            double t6 = now();
            ot__opt_step k = ot__optimizer_prepare(&m->opt.cfg, s + 1, 0);
            size_t off, n;
            for (size_t i = 0; i < ut.n; i++)
                for (size_t j = 0; ot__usplit_block_range(&u, &ut.blocks[i], j, &off, &n); j++) {
                    float *st[OT__MAX_SLOTS];
                    for (int q = 0; q < OT__MAX_SLOTS; q++)
                        st[q] = slot[q] ? slot[q] + off : NULL;
                    ot__optimizer_update(&m->opt.cfg, &k, m->params + off, grad + off, NULL,
                                         st, n);
                }
            double t7 = now();
            if (fitlike) {
                ot__usplit_gather(&u, &ut, d, idx, ((s + 1) % per_epoch) * BATCH, BATCH);
                gather = now() - t7;
#pragma omp barrier
            }
            dur[0] = 1e6 * gather;
            dur[1] = 1e6 * (t2 - t1);
            dur[2] = 1e6 * (t4 - t3);
            dur[3] = 1e6 * (t6 - t5);
            dur[4] = 1e6 * (t7 - t6);
        }
#pragma omp barrier
        ot__uthread_destroy(&ut);
        _mm_setcsr(csr);
    }
    double least[STEPS], even[STEPS];
    for (size_t s = 0; s < STEPS; s++) {
        double a = 0, c = 0;
        for (int tid = 0; tid < 2; tid++) {
            double x = part[tid][s][0] + part[tid][s][1], y = part[tid][s][3] + part[tid][s][4];
            a = x > a ? x : a;
            c = y > c ? y : c;
        }
        double h = part[0][s][2] > part[1][s][2] ? part[0][s][2] : part[1][s][2];
        least[s] = a + h + c;
        even[s] = (part[0][s][0] + part[0][s][1] + part[1][s][0] + part[1][s][1]) / 2 + h +
                  (part[0][s][3] + part[0][s][4] + part[1][s][3] + part[1][s][4]) / 2;
        wall[s] *= 1e6;
    }
    double v[STEPS];
    for (int tid = 0; tid < 2; tid++)
        for (int p = 0; p < PARTS; p++) {
            for (size_t s = 0; s < STEPS; s++)
                v[s] = part[tid][s][p];
            out->part[tid][p] = median(v, STEPS);
        }
    out->ran[1] = mean(wall, STEPS - 1);
    out->least[1] = mean(least, STEPS);
    out->even[1] = mean(even, STEPS);
    out->ran[0] = median(wall, STEPS - 1);
    out->least[0] = median(least, STEPS);
    out->even[0] = median(even, STEPS);
    ot__free(grad);
    ot__usplit_close(&u);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    if (rounds < 1 || rounds > MAXR)
        rounds = 7;
    const char *dir = getenv("OMPTRAIN_DATA");
    ot_dataset *d = NULL;
    check(ot_dataset_load_idx_dir(&d, dir ? dir : "/usr/share/datasets/fashion-mnist", "train"),
          "Fashion-MNIST");
    size_t n = ot_dataset_size(d);
    uint32_t *idx = malloc(n * sizeof *idx);
    srand(42);
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)rand() % (i + 1);
        uint32_t x = idx[i];
        idx[i] = idx[j];
        idx[j] = x;
    }
    double f1[MAXR], f2[MAXR], fig[6][MAXR], parts[2][PARTS][MAXR];
    for (int r = 0; r < rounds; r++) {
        figures g;
        f1[r] = fit_step(d, 1);
        f2[r] = fit_step(d, 2);
        least_step(d, idx, &g);
        for (int k = 0; k < 2; k++) {
            fig[k][r] = g.ran[k];
            fig[2 + k][r] = g.least[k];
            fig[4 + k][r] = g.even[k];
        }
        for (int tid = 0; tid < 2; tid++)
            for (int p = 0; p < PARTS; p++)
                parts[tid][p][r] = g.part[tid][p];
        printf("round %d: fit 1T %.1f, fit 2T %.1f; clocked step %.1f (mean %.1f), least %.1f "
               "(%.1f), even %.1f (%.1f) us\n", r + 1, f1[r], f2[r], g.ran[0], g.ran[1],
               g.least[0], g.least[1], g.even[0], g.even[1]);
        for (int tid = 0; tid < 2; tid++)
            printf("  thread %d: gather %.2f, fwd0 %.2f, head %.2f, bwd0 %.2f, adam %.2f\n", tid,
                   g.part[tid][0], g.part[tid][1], g.part[tid][2], g.part[tid][3],
                   g.part[tid][4]);
        fflush(stdout);
    }
    const size_t R = (size_t)rounds;
    const char *pname[PARTS] = {"gather", "fwd0", "head", "bwd0", "adam"};
    printf("\nmedians of %d rounds, us per step (batch %d):\n", rounds, BATCH);
    for (int p = 0; p < PARTS; p++)
        printf("  %-7s thread 0 %6.2f   thread 1 %6.2f\n", pname[p], median(parts[0][p], R),
               median(parts[1][p], R));
    double F1 = median(f1, R), F2 = median(f2, R);
    printf("  fit, 1 thread               %6.2f\n", F1);
    printf("  fit, 2 threads              %6.2f   scaling %.3f\n", F2, F1 / (2 * F2));
    const char *what[3] = {"clocked step, 2 threads", "least step (no waiting)",
                           "even step (work halved)"};
    for (int k = 0; k < 3; k++) {
        double md = median(fig[2 * k], R), mn = median(fig[2 * k + 1], R);
        printf("  %-27s %6.2f   scaling %.3f; mean over steps %6.2f, scaling %.3f\n", what[k],
               md, F1 / (2 * md), mn, F1 / (2 * mn));
    }
    free(idx);
    ot_dataset_destroy(d);
    return 0;
}
