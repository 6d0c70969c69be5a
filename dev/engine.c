/*
 * engine.c - the engine measured in pieces and against its alternatives:
 * the kernel-only ceiling, where a one-thread step's time goes, one oneDNN
 * call over the whole batch with oneDNN's own threading, and the machine's
 * GEMM peak. Uses the library's internals (src/shard.h).
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "probes.h"
#include "src/fit.h"
#include "src/common.h"
#include "src/loss.h"
#include "src/engine.h"
#include "src/unit_split.h"

/* ---- a run of the engine for a probe --------------------------------------- */

/* The engine over `model` with T threads, one shard each, for steps of
 * `batch` rows; cut: ot__engine_options' (0: omptrain's rule). */
static void probe_open(ot__engine *e, ot_model *m, size_t batch, int threads, int cut)
{
    ot__engine_options opt = {.cut = cut};
    if (ot__engine_open(e, m, threads, (size_t)threads, batch, 1, &opt) != OT_OK ||
        ot__engine_add_steps(e, &batch, 1) != OT_OK)
        die("opening the engine for a probe");
}

/* ---- the kernel-only ceiling ----------------------------------------------- */

/* KERNELS jobs of `repeat` steps each, the first 20 steps untimed, until
 * `seconds` have passed. */
typedef struct ceiling {
    size_t batch, repeats;
    double seconds, t0, t1;
    int timing;
} ceiling;

static void ceiling_driver(void *user, const ot__job *done, const ot__job_result *res,
                           ot__job *next)
{
    ceiling *c = user;
    memset(next, 0, sizeof *next);
    if (res != NULL && res->bad)
        return;
    if (done == NULL) {
        next->repeat = 20; /* warm-up */
    } else if (!c->timing) {
        c->timing = 1;
        c->t0 = now();
        next->repeat = 10;
    } else {
        c->repeats += done->repeat;
        c->t1 = now();
        if (c->t1 - c->t0 >= c->seconds)
            return;
        next->repeat = 10;
    }
    next->kind = OT__JOB_KERNELS;
    next->rows.rows = c->batch;
}

double measure_kernels(const char *spec, size_t batch, int threads, double seconds)
{
    ot_model *m = make_model(spec, "sgd");
    ot__engine e;
    probe_open(&e, m, batch, threads, 0); /* the primitives of the step omptrain runs */
    ceiling c = {batch, 0, seconds, 0, 0, 0};
    if (ot__engine_run(&e, ceiling_driver, &c) != OT_OK)
        die("the kernel-only ceiling");
    ot__engine_close(&e);
    ot_model_destroy(m);
    return (double)(c.repeats * batch) / (c.t1 - c.t0);
}

/* ---- a probe's steps against fit's ------------------------------------------ */

/* `steps` steps handed to the engine by a probe's own driver, over rows in
 * order: the same jobs fit hands out. */
typedef struct few_steps {
    const ot_dataset *d;
    const ot_model *m;
    size_t batch, steps, k;
} few_steps;

static void few_steps_driver(void *user, const ot__job *done, const ot__job_result *res,
                             ot__job *next)
{
    few_steps *t = user;
    memset(next, 0, sizeof *next);
    if ((done != NULL && ++t->k == t->steps) || (res != NULL && res->bad))
        return;
    next->kind = OT__JOB_STEP;
    next->rows = (ot__rows){t->d, NULL, t->k * t->batch, t->batch, NULL};
    next->opt = ot__optimizer_prepare(&t->m->opt.cfg, t->k + 1, 0);
}

/* Before a probe times the engine's steps: three of them (as many as the
 * data holds, one at least) as a probe hands them out must leave the very
 * weights of ot__fit over the same rows (one epoch, no shuffle), or the
 * probe would time something else. */
static void check_against_fit(const char *spec, const ot_dataset *d, size_t batch,
                              int threads, const char *optimizer, int cut)
{
    ot_dataset *part = NULL;
    size_t steps = ot_dataset_size(d) / batch < 3 ? ot_dataset_size(d) / batch : 3;
    if (ot_dataset_slice(&part, d, 0, steps * batch) != OT_OK)
        die("the rows of the check against fit");
    ot_model *a = make_model(spec, optimizer), *b = make_model(spec, optimizer);
    ot__engine_options opt = {.cut = cut};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = 1;
    fc.shuffle = 0;
    fc.threads = threads;
    fc.shards = (size_t)threads;
    if (ot__fit(a, part, &fc, &opt, NULL) != OT_OK)
        die("fit, for the check against fit");
    ot__engine e;
    probe_open(&e, b, batch, threads, cut);
    few_steps t = {part, b, batch, steps, 0};
    if (ot__engine_run(&e, few_steps_driver, &t) != OT_OK)
        die("the probe's steps, for the check against fit");
    ot__engine_close(&e);
    if (memcmp(a->params, b->params, a->arena_len * sizeof(float)) != 0) {
        say("%s, batch %zu, %d threads: the probe's steps do not give fit's weights\n",
            spec, batch, threads);
        exit(1);
    }
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(part);
}

/* ---- where a one-thread step's time goes ------------------------------------ */

/* The floors of Adam's pass over n parameters, for the breakdown. Compiled
 * as the optimizer is (the same clones), so that they vectorise alike. */

/* Its arithmetic alone: a square root and a division per parameter, over
 * 4096 values that stay in L1. */
OT_MULTIVERSION
static void floor_divide(float *restrict q, const float *restrict a, const float *restrict b,
                         size_t n)
{
    for (size_t done = 0; done < n; done += 4096) {
        size_t k = n - done < 4096 ? n - done : 4096;
        for (size_t i = 0; i < k; i++)
            q[i] = a[i] / (sqrtf(b[i]) + 1e-7f);
    }
}

/* Its memory traffic alone: read the gradient and the three arrays, write
 * the three back, as the reduction and the update do, with no square root
 * and no division. With z = 0 every value written is the one read (the
 * compiler cannot know it), so it can run over a model's own arrays. */
OT_MULTIVERSION
static void floor_stream(float *restrict w, const float *restrict g, float *restrict m,
                         float *restrict v, size_t n, float z)
{
    for (size_t i = 0; i < n; i++) {
        float mi = m[i] + g[i] * z, vi = v[i] + g[i] * g[i] * z;
        m[i] = mi;
        v[i] = vi;
        w[i] -= mi * vi * z;
    }
}

/* Where the rows of a step that starts k batches into a permutation of n
 * rows begin: anywhere from 0 to none left over (a batch may be all n). */
static size_t rows_start(uint64_t k, size_t batch, size_t n)
{
    return (size_t)(k * batch % (n - batch + 1));
}

/* The least reading of rows first..first+rows of the permutation (first +
 * rows <= n): one load per cache line of each row, nothing decoded,
 * nothing written. The loads are independent, four to an iteration, so
 * that the core keeps as many lines in flight as it can. */
static volatile float touched; /* so that the loads are made */

/* Row i's bytes as the data set holds them, and how many */
static const unsigned char *row_at(const ot_dataset *d, size_t i)
{
    return d->pixels ? d->pixels + i * d->dim : (const unsigned char *)(d->x + i * d->dim);
}

static size_t row_bytes(const ot_dataset *d)
{
    return d->dim * (d->pixels ? 1 : sizeof(float));
}

static float touch_rows(const ot_dataset *d, const uint32_t *idx, size_t first, size_t rows)
{
    const size_t bytes = row_bytes(d);
    unsigned a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t r = 0; r < rows; r++) {
        const unsigned char *row = row_at(d, idx[first + r]);
        size_t o = 0;
        for (; o + 256 <= bytes; o += 256) {
            a0 += row[o];
            a1 += row[o + 64];
            a2 += row[o + 128];
            a3 += row[o + 192];
        }
        for (; o < bytes; o += 64)
            a0 += row[o];
        a1 += row[bytes - 1];
    }
    return (float)(a0 + a1 + a2 + a3);
}

/* The least gather of rows first..first+rows (first + rows <= n) into x,
 * rows x dim floats: each byte of each row loaded and widened to 4 bytes,
 * nothing converted or scaled (in AVX-512 where the processor has it, else
 * a plain loop), as the gather's own loop (src/dataset.c) without its
 * arithmetic, the rows 4 ahead prefetched as it does. Float rows are
 * copied. */
static void widen_tail(const unsigned char *b, float *o, size_t n);

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void
widen_avx512(const unsigned char *b, float *o, size_t n)
{
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m128i b8 = _mm_loadu_si128((const __m128i *)(const void *)(b + j));
        _mm512_storeu_si512((void *)(o + j), _mm512_cvtepu8_epi32(b8));
    }
    widen_tail(b + j, o + j, n - j);
}
#endif

/* each byte's value as the 4 bytes of an unsigned integer, not a float */
static void widen_tail(const unsigned char *b, float *o, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        uint32_t w = b[j];
        memcpy(o + j, &w, sizeof w);
    }
}

static void widen(const unsigned char *b, float *o, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f")) {
        widen_avx512(b, o, n);
        return;
    }
#endif
    widen_tail(b, o, n);
}

static void touch_rows_into(const ot_dataset *d, const uint32_t *idx, size_t first, size_t rows,
                            float *x)
{
    const size_t bytes = row_bytes(d);
    for (size_t r = 0; r < rows; r++) {
        if (r + 4 < rows) { /* the rows ahead asked for, as the gather asks */
            const unsigned char *next = row_at(d, idx[first + r + 4]);
            for (size_t o = 0; o < bytes; o += 64)
                __builtin_prefetch(next + o, 0, 3);
        }
        const unsigned char *row = row_at(d, idx[first + r]);
        if (d->pixels)
            widen(row, x + r * d->dim, d->dim);
        else
            memcpy(x + r * d->dim, row, bytes);
    }
}

/* Microseconds per step on one thread: the bare primitives; plus gathering
 * the rows and the loss (the worker's whole shard); plus the optimizer's
 * pass over the arena (what the trainer adds, barriers aside); then the
 * optimizer's pass alone, its two floors, the step followed by the
 * memory floor over the model's own arrays, and that followed by the least
 * reading of a batch of other rows or by their least gather, and the loss
 * alone (see probes.h). Interleaved round by round, medians of 5 rounds.
 * The step's parts are the engine's jobs (a KERNELS job, a STEP without
 * reduction and update, the whole STEP); what is not the step runs in the
 * driver between them, on the engine's one thread. */
enum { BD_ROUNDS = 5, BD_MODES = 10 };

typedef struct breakdown {
    const ot_dataset *d;
    const uint32_t *idx;
    ot__engine *e;
    ot_model *m;
    size_t batch, n, steps, step;
    uint64_t drawn, it;
    int round, o;
    double seconds, t0, reading, t[BD_MODES][BD_ROUNDS];
    float *scratch, *slot[OT__MAX_SLOTS];
} breakdown;

/* mode 6 (the step, then the memory floor) right after mode 1 (the step
 * alone), so that their difference is taken in like conditions; modes 7
 * and 8 run mode 6's step and clock only the reading (7) or the least
 * gather (8) of other rows after it; mode 9 clocks only the loss after the
 * step of mode 1 */
static const int bd_order[BD_MODES] = {0, 1, 6, 7, 8, 9, 2, 3, 4, 5};

/* After a step of `mode` (its job done): what the driver adds to it. */
static void bd_after_step(breakdown *b, int mode, size_t first)
{
    const size_t n = b->n, batch = b->batch;
    ot_model *m = b->m;
    ot__worker *w = &b->e->workers[0];
    float *sm = b->scratch + 3 * 4096, *sv = sm + n;
    /* the step's own arrays for the memory floor after it: Adam's m and v */
    float *own_m = b->slot[0] ? b->slot[0] : sm, *own_v = b->slot[1] ? b->slot[1] : sv;
    volatile float nought = 0.0f; /* unknown to the compiler */
    if (mode == 9) { /* the step's loss again, on its outputs */
        const size_t L = m->n_layers;
        ot__loss_batch lb = {w->fused ? w->z[L - 1] : w->a[L - 1], w->y, NULL, batch,
                             m->layers[L - 1].out, NULL, NULL};
        double l = 0, t1 = now();
        ot__loss(m->loss, &lb, 1.0f / (float)batch, w->d[L - 1], &l);
        b->reading += now() - t1;
    }
    if (mode >= 6 && mode <= 8) /* the traffic as the step leaves the caches,
                                 * over the model's own arrays, values kept */
        floor_stream(m->params, b->e->grads[0], own_m, own_v, n, nought);
    if (mode == 7 || mode == 8) { /* rows half the permutation away: no step
                                   * gathers them for a long while */
        const size_t rows = ot_dataset_size(b->d);
        const size_t far = (first + rows / 2) % (rows - batch + 1);
        double t1 = now();
        if (mode == 7)
            touched = touch_rows(b->d, b->idx, far, batch);
        else
            touch_rows_into(b->d, b->idx, far, batch, w->x);
        b->reading += now() - t1;
    }
}

/* Modes 3 to 5, which are not the step: timed here, in a loop of their own. */
static void bd_alone(breakdown *b, int mode)
{
    const size_t n = b->n;
    float *sm = b->scratch + 3 * 4096, *sv = sm + n, *sw = sv + n;
    volatile float one = 1.0f;
    const float unit = one;
    size_t steps = 0;
    double t0 = now();
    do {
        if (mode == 3) {
            ot__opt_step st = ot__optimizer_prepare(&b->m->opt.cfg, ++b->it, 0);
            ot__optimizer_update(&b->m->opt.cfg, &st, b->m->params, b->e->grads[0], NULL,
                                  b->slot, n);
        } else if (mode == 4) {
            floor_divide(b->scratch + 2 * 4096, b->scratch, b->scratch + 4096, n);
        } else {
            floor_stream(sw, b->e->grads[0], sm, sv, n, unit);
        }
        steps++;
    } while (now() - t0 < b->seconds / BD_ROUNDS / BD_MODES);
    b->t[mode][b->round] = 1e6 * (now() - t0) / (double)steps;
}

/* The job of the next step of `mode`: 0 the kernels, 1 and 6 to 9 a step
 * without reduction and update (one shard: nothing to reduce), 2 the whole
 * step. */
static void bd_job(breakdown *b, int mode, ot__job *next)
{
    if (mode == 0) {
        next->kind = OT__JOB_KERNELS;
        next->rows.rows = b->batch;
        next->repeat = 1;
        return;
    }
    next->kind = OT__JOB_STEP;
    next->rows = (ot__rows){b->d, b->idx, rows_start(b->drawn++, b->batch, ot_dataset_size(b->d)),
                            b->batch, NULL};
    if (mode == 2)
        next->opt = ot__optimizer_prepare(&b->m->opt.cfg, ++b->it, 0);
    else
        next->skip = OT__SKIP_REDUCE;
}

static void bd_driver(void *user, const ot__job *done, const ot__job_result *res,
                      ot__job *next)
{
    breakdown *b = user;
    memset(next, 0, sizeof *next);
    if (res != NULL && res->bad)
        return;
    if (done != NULL && done->kind != OT__JOB_PAUSE) { /* a step of the mode in hand */
        const int mode = bd_order[b->o];
        bd_after_step(b, mode, done->rows.first);
        b->step++;
        if (now() - b->t0 < b->seconds / BD_ROUNDS / BD_MODES) {
            bd_job(b, mode, next);
            return;
        }
        b->t[mode][b->round] = 1e6 * (mode >= 7 ? b->reading : now() - b->t0) /
                               (double)b->step;
        b->o++;
    }
    for (; b->round < BD_ROUNDS; b->round++, b->o = 0)
        for (; b->o < BD_MODES; b->o++) {
            const int mode = bd_order[b->o];
            if (mode >= 3 && mode <= 5) {
                bd_alone(b, mode);
                continue;
            }
            b->step = 0;
            b->reading = 0.0;
            b->t0 = now();
            bd_job(b, mode, next);
            return;
        }
}

void measure_breakdown(const char *spec, const ot_dataset *d, size_t batch,
                       const char *optimizer, double seconds, double us[10])
{
    check_against_fit(spec, d, batch, 1, optimizer, 0);
    ot_model *m = make_model(spec, optimizer);
    const size_t rows = ot_dataset_size(d), n = m->arena_len;
    breakdown b;
    memset(&b, 0, sizeof b);
    b.d = d;
    b.m = m;
    b.batch = batch;
    b.n = n;
    b.seconds = seconds;
    uint32_t *idx = malloc(rows * sizeof *idx);
    b.scratch = calloc(3 * 4096 + 3 * n, sizeof(float));
    if (idx == NULL || b.scratch == NULL)
        die("allocating the breakdown's buffers");
    for (size_t i = 0; i < rows; i++)
        idx[i] = (uint32_t)((i * 7919) % rows);
    b.idx = idx;
    for (size_t i = 0; i < 2 * 4096; i++)
        b.scratch[i] = 1.0f + (float)(i % 97);
    ot__optimizer_state_slots(&m->opt, n, b.slot);
    ot__engine e;
    probe_open(&e, m, batch, 1, 0);
    b.e = &e;
    if (ot__engine_run(&e, bd_driver, &b) != OT_OK)
        die("the breakdown");
    ot__engine_close(&e);
    for (int r = 0; r < BD_ROUNDS; r++)
        b.t[6][r] -= b.t[1][r]; /* paired: timed one after the other */
    for (int mode = 0; mode < BD_MODES; mode++)
        us[mode] = median(b.t[mode], BD_ROUNDS);
    free(idx);
    free(b.scratch);
    ot_model_destroy(m);
}

/* ---- the alternative engine: one oneDNN call over the whole batch --------- */

/* Samples/s of full training steps done the other way: no shards, each
 * primitive runs once over the whole batch and threads itself with oneDNN's
 * own OpenMP parallelism (T threads); the optimizer's pass is an OpenMP loop
 * over the arena. Denormals flushed in every thread, as the trainer does. */
double measure_internal(const char *spec, const ot_dataset *d, size_t batch,
                               int threads, const char *optimizer, double seconds)
{
    ot_model *m = make_model(spec, optimizer);
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        die("creating a oneDNN CPU engine");
    omp_set_num_threads(threads);
    unsigned csr[1024]; /* each thread's, as the trainer's threads do */
#pragma omp parallel num_threads(threads)
    csr[omp_get_thread_num()] = ot__fp_enter();
    ot__worker w;
    float *grad = calloc(m->arena_len, sizeof(float));
    if (ot__worker_init(&w, m, engine, batch, 0, 1, 0) != OT_OK ||
        ot__worker_plan(&w, batch) != OT_OK || grad == NULL)
        die("building the one-call worker");
    uint32_t *idx = malloc(d->n * sizeof *idx);
    for (size_t i = 0; i < d->n; i++)
        idx[i] = (uint32_t)((i * 7919) % d->n);
    float *slot[OT__MAX_SLOTS];
    ot__optimizer_state_slots(&m->opt, m->arena_len, slot);
    const size_t chunk = 4096, chunks = (m->arena_len + chunk - 1) / chunk;
    uint64_t it = 0;
    size_t steps = 0;
    double t0 = 0;
    for (;;) {
        size_t first = rows_start(it, batch, d->n);
        ot__rows rows = {d, idx, first, batch, NULL};
        ot__sums sums = {{0.0}};
        ot__worker_train(&w, &rows, 1.0f / (float)batch, grad, &sums);
        ot__opt_step st = ot__optimizer_prepare(&m->opt.cfg, ++it, 0);
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t ci = 0; ci < chunks; ci++) {
            size_t c0 = ci * chunk, n = m->arena_len - c0 < chunk ? m->arena_len - c0 : chunk;
            float *sl[OT__MAX_SLOTS];
            for (int j = 0; j < OT__MAX_SLOTS; j++)
                sl[j] = slot[j] ? slot[j] + c0 : NULL;
            ot__optimizer_update(&m->opt.cfg, &st, m->params + c0, grad + c0, NULL, sl, n);
        }
        if (++steps == 20)
            t0 = now();
        if (steps > 20 && now() - t0 >= seconds)
            break;
    }
    double sps = (double)((steps - 20) * batch) / (now() - t0);
#pragma omp parallel num_threads(threads)
    ot__fp_leave(csr[omp_get_thread_num()]);
    ot__worker_destroy(&w);
    free(grad);
    free(idx);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
    return sps;
}

/* ---- the GEMM peak ---------------------------------------------------------- */

/* ---- where a T-thread step's time goes -------------------------------------- */

/* The parts of --step-parts as jobs: 0, one KERNELS job of every step; 1,
 * a KERNELS job a step (its two barriers); 2, a STEP with neither
 * reduction nor update; 3, with the reduction; 4, the whole step. Round -1
 * warms up with 20 steps of each part and sizes the rounds from the whole
 * step's time. */
enum { PART_ROUNDS = 3 };
typedef struct parts_run {
    const ot_dataset *d;
    const uint32_t *idx;
    const ot_model *m;
    size_t batch, step, steps;
    uint64_t drawn, it;
    int round, part;
    double share; /* seconds a part of a round */
    double t0, t[STEP_PARTS][PART_ROUNDS];
} parts_run;

static void parts_job(parts_run *p, ot__job *next)
{
    if (p->part <= 1) {
        next->kind = OT__JOB_KERNELS;
        next->rows.rows = p->batch;
        next->repeat = p->part == 0 ? p->steps : 1;
        return;
    }
    next->kind = OT__JOB_STEP;
    size_t first = rows_start(p->drawn++, p->batch, ot_dataset_size(p->d));
    next->rows = (ot__rows){p->d, p->idx, first, p->batch, NULL};
    next->skip = p->part == 2 ? OT__SKIP_REDUCE : p->part == 3 ? OT__SKIP_UPDATE : 0;
    if (p->part == 4)
        next->opt = ot__optimizer_prepare(&p->m->opt.cfg, ++p->it, 0);
}

static void parts_start(parts_run *p)
{
    p->step = 0;
    if (p->round < 0)
        p->steps = 20;
    else if (p->part == 0) /* about seconds / rounds / parts a part */
        p->steps = (size_t)(p->share / (p->t[STEP_PARTS - 1][p->round > 0 ? p->round - 1 : 0]
                                        * 1e-6)) + 1;
    p->t0 = now();
}

static void parts_driver(void *user, const ot__job *done, const ot__job_result *res,
                         ot__job *next)
{
    parts_run *p = user;
    memset(next, 0, sizeof *next);
    if (res != NULL && res->bad)
        return;
    if (done == NULL) {
        p->round = -1;
        p->part = 0;
        parts_start(p);
        parts_job(p, next);
        return;
    }
    p->step += done->kind == OT__JOB_KERNELS ? done->repeat : 1;
    if (p->step < p->steps) {
        parts_job(p, next);
        return;
    }
    double us = 1e6 * (now() - p->t0) / (double)p->steps;
    if (p->round >= 0 || p->part == STEP_PARTS - 1)
        p->t[p->part][p->round < 0 ? 0 : p->round] = us;
    if (++p->part == STEP_PARTS) {
        p->part = 0;
        if (++p->round == PART_ROUNDS)
            return; /* the end */
    }
    parts_start(p);
    parts_job(p, next);
}

void measure_step_parts(const char *spec, const ot_dataset *d, size_t rows_from, size_t batch,
                        int threads, const char *optimizer, double seconds,
                        double us[STEP_PARTS])
{
    /* the parts are those of the step cut by rows */
    check_against_fit(spec, d, batch, threads, optimizer, -1);
    ot_model *m = make_model(spec, optimizer);
    const size_t n = ot_dataset_size(d), from = rows_from ? rows_from : n;
    uint32_t *idx = malloc(n * sizeof *idx);
    if (idx == NULL)
        die("allocating the step parts' rows");
    for (size_t i = 0; i < n; i++)
        idx[i] = (uint32_t)((i * 7919) % from);
    ot__engine e;
    probe_open(&e, m, batch, threads, -1);
    parts_run p;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.idx = idx;
    p.m = m;
    p.batch = batch;
    p.share = seconds / PART_ROUNDS / STEP_PARTS;
    if (ot__engine_run(&e, parts_driver, &p) != OT_OK)
        die("the step parts");
    ot__engine_close(&e);
    for (int part = 0; part < STEP_PARTS; part++)
        us[part] = median(p.t[part], PART_ROUNDS);
    free(idx);
    ot_model_destroy(m);
}

/* ---- the optimizer's floors on T threads ------------------------------------ */

/* Microseconds per step with T threads as omptrain cuts the step (by units
 * where its rule says so; on one thread, one shard of the whole batch):
 * each thread runs its own kernels and then its own part of the
 * parameters, as the engine does, with no barrier inside a step: KERNELS
 * jobs of the engine, with work on the thread's own part after each
 * repetition. Modes (see probes.h): kernels alone; then Adam's update as
 * the engine runs it (ot__engine_update over the thread's own ranges);
 * then Adam's memory traffic alone (floor_stream over the model's own
 * arrays, values kept); Adam's arithmetic alone over the thread's count of
 * parameters. The time of a job is the slowest thread's. Modes interleaved
 * round by round, medians of 5 rounds. Returns 0 (nothing measured) for a
 * step of several threads cut by rows: its floor has a reduction too
 * (--step-parts measures that step). */
enum { FLOOR_ROUNDS = 5 };

typedef struct floors {
    ot_model *m;
    size_t batch, steps;
    int round, mode;
    double seconds, t0, t[FLOOR_MODES][FLOOR_ROUNDS];
    float *slot[OT__MAX_SLOTS];
    float **scratch;  /* [threads]: 3 x 4096 floats each */
    uint64_t *it;     /* [threads * 8]: each thread's count of updates, a line apart */
    float zero;
} floors;

/* After each repetition of the kernels, on every thread: its own part. */
static void floor_each(void *user, ot__engine *e, int tid)
{
    floors *f = user;
    size_t off, n, own = 0;
    ot__opt_step k = ot__optimizer_prepare(&f->m->opt.cfg, ++f->it[8 * tid], 0);
    ot__range_cursor c = {0};
    while (ot__engine_next_own_range(e, tid, &c, &off, &n)) {
        own += n;
        if (f->mode == 1)
            ot__engine_update(e, tid, &k, f->slot, off, n, NULL);
        else if (f->mode == 2)
            floor_stream(f->m->params + off, e->grads[0] + off, f->slot[0] + off,
                         f->slot[1] + off, n, f->zero);
    }
    if (f->mode == 3)
        floor_divide(f->scratch[tid] + 2 * 4096, f->scratch[tid], f->scratch[tid] + 4096, own);
}

static void floors_job(floors *f, ot__job *next)
{
    if (f->round < 0)
        f->steps = 20; /* round -1 warms up and sizes the rounds from the update */
    else if (f->mode == 0)
        f->steps = (size_t)(f->seconds / FLOOR_ROUNDS / FLOOR_MODES /
                            (f->t[1][f->round > 0 ? f->round - 1 : 0] * 1e-6)) + 1;
    next->kind = OT__JOB_KERNELS;
    next->rows.rows = f->batch;
    next->repeat = f->steps;
    next->each = f->mode == 0 ? NULL : floor_each;
    next->each_user = f;
    next->skip = f->mode == 3 ? OT__SKIP_KERNELS : 0;
    f->t0 = now();
}

static void floors_driver(void *user, const ot__job *done, const ot__job_result *res,
                          ot__job *next)
{
    floors *f = user;
    memset(next, 0, sizeof *next);
    if (res != NULL && res->bad)
        return;
    if (done == NULL) {
        f->round = -1;
        f->mode = 0;
        floors_job(f, next);
        return;
    }
    double us = 1e6 * (now() - f->t0) / (double)f->steps;
    if (f->round >= 0 || f->mode == 1)
        f->t[f->mode][f->round < 0 ? 0 : f->round] = us;
    if (++f->mode == FLOOR_MODES) {
        f->mode = 0;
        if (++f->round == FLOOR_ROUNDS)
            return; /* the end */
    }
    floors_job(f, next);
}

int measure_floors(const char *spec, size_t batch, int threads, double seconds,
                   double us[FLOOR_MODES], int *units)
{
    ot_model *m = make_model(spec, "adam");
    *units = ot__usplit_applies(m, batch, (size_t)threads, 0);
    if (threads > 1 && !*units) {
        ot_model_destroy(m);
        return 0;
    }
    floors f;
    memset(&f, 0, sizeof f);
    f.m = m;
    f.batch = batch;
    f.seconds = seconds;
    volatile float nought = 0.0f; /* unknown to the compiler */
    f.zero = nought;
    ot__optimizer_state_slots(&m->opt, m->arena_len, f.slot);
    f.scratch = calloc((size_t)threads, sizeof *f.scratch);
    f.it = calloc(8 * (size_t)threads, sizeof *f.it);
    if (f.scratch == NULL || f.it == NULL)
        die("allocating the floors' buffers");
    for (int t = 0; t < threads; t++) {
        if ((f.scratch[t] = calloc(3 * 4096, sizeof(float))) == NULL)
            die("allocating the floors' buffers");
        for (size_t i = 0; i < 2 * 4096; i++)
            f.scratch[t][i] = 1.0f + (float)(i % 97);
    }
    ot__engine e;
    probe_open(&e, m, batch, threads, 0);
    if (ot__engine_run(&e, floors_driver, &f) != OT_OK)
        die("the floors");
    ot__engine_close(&e);
    for (int mode = 0; mode < FLOOR_MODES; mode++)
        us[mode] = median(f.t[mode], FLOOR_ROUNDS);
    for (int t = 0; t < threads; t++)
        free(f.scratch[t]);
    free(f.scratch);
    free(f.it);
    ot_model_destroy(m);
    return 1;
}
