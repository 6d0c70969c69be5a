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
#include "src/common.h"
#include "src/loss.h"
#include "src/engine.h"
#include "src/unit_split.h"

/* ---- the kernel-only ceiling ----------------------------------------------- */

/* The ceiling of a step cut by units: each thread its blocks' primitives
 * over the whole batch, back to back; the slowest thread sets the rate. */
static double measure_unit_kernels(ot_model *m, dnnl_engine_t engine, size_t batch,
                                   int threads, double seconds)
{
    ot__usplit u;
    if (ot__usplit_open(&u, m, (size_t)threads, &batch, 1, 0, 0) != OT_OK)
        die("building the kernel-only ceiling's blocks");
    double rate = INFINITY;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(min : rate)
    {
        omp_set_num_threads(1);
        int t = omp_get_thread_num();
        size_t lo = (size_t)t, hi = (size_t)t + 1; /* one shard per thread */
        ot__uthread ut;
        float *grad = calloc(m->arena_len, sizeof(float));
        if (ot__usplit_thread_init(&ut, &u, engine, lo, hi) != OT_OK || grad == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        if (!failed && ut.n > 0) {
            for (int i = 0; i < 20; i++)
                ot__usplit_kernels(&ut, &u, 0, grad);
            double t0 = now();
            size_t iters = 0;
            do {
                for (int i = 0; i < 10; i++)
                    ot__usplit_kernels(&ut, &u, 0, grad);
                iters += 10;
            } while (now() - t0 < seconds);
            rate = (double)iters / (now() - t0);
        }
        ot__uthread_destroy(&ut);
        free(grad);
    }
    ot__usplit_close(&u);
    if (failed)
        die("building the kernel-only ceiling's blocks");
    return rate * (double)batch;
}

double measure_kernels(const char *spec, size_t batch, int threads, double seconds)
{
    ot_model *m = make_model(spec, "sgd");
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        die("creating a oneDNN CPU engine");
    if (ot__usplit_applies(m, batch, (size_t)threads, 0)) {
        /* the primitives the trainer runs there: its blocks' */
        double r = measure_unit_kernels(m, engine, batch, threads, seconds);
        dnnl_engine_destroy(engine);
        ot_model_destroy(m);
        return r;
    }
    double samples = 0, elapsed = 0;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(+ : samples) reduction(max : elapsed)
    {
        omp_set_num_threads(1); /* as the trainer: primitives on this thread */
        int t = omp_get_thread_num();
        /* the trainer's split of the batch: one shard per thread */
        size_t rows = batch / (size_t)threads + ((size_t)t < batch % (size_t)threads);
        ot__worker w;
        float *grad = calloc(m->arena_len, sizeof(float));
        if (ot__worker_init(&w, m, engine, rows, 0, 1, 0) != OT_OK ||
            ot__worker_plan(&w, rows) != OT_OK || grad == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        if (!failed) {
            for (int i = 0; i < 20; i++)
                ot__worker_kernels(&w, rows, grad);
#pragma omp barrier
            double t0 = now();
            size_t iters = 0;
            do {
                for (int i = 0; i < 10; i++)
                    ot__worker_kernels(&w, rows, grad);
                iters += 10;
            } while (now() - t0 < seconds);
            elapsed = now() - t0;
            samples = (double)(iters * rows);
        }
        ot__worker_destroy(&w);
        free(grad);
    }
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
    if (failed)
        die("building the kernel-only ceiling's workers");
    /* threads run independently: their samples over the slowest's time */
    return samples / elapsed;
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
 * alone (see bench.h). Interleaved round by round, medians of 5 rounds. */
void measure_breakdown(const char *spec, const ot_dataset *d, size_t batch,
                       const char *optimizer, double seconds, double us[10])
{
    ot_model *m = make_model(spec, optimizer);
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        die("creating a oneDNN CPU engine");
    uint32_t *idx = malloc(d->n * sizeof *idx);
    for (size_t i = 0; i < d->n; i++)
        idx[i] = (uint32_t)((i * 7919) % d->n);
    enum { ROUNDS = 5, MODES = 10 };
    double t[MODES][ROUNDS];
    const size_t n = m->arena_len;
#pragma omp parallel num_threads(1)
    {
        omp_set_num_threads(1);
        unsigned csr = ot__fp_enter(); /* as the trainer */
        ot__worker w;
        float *grad = calloc(n, sizeof(float));
        float *scratch = calloc(3 * 4096 + 3 * n, sizeof(float));
        float *slot[OT__MAX_SLOTS];
        ot__optimizer_state_slots(&m->opt, n, slot);
        if (ot__worker_init(&w, m, engine, batch, 0, 1, 0) != OT_OK ||
            ot__worker_plan(&w, batch) != OT_OK || grad == NULL || scratch == NULL)
            die("building the breakdown's worker");
        for (size_t i = 0; i < 2 * 4096; i++)
            scratch[i] = 1.0f + (float)(i % 97);
        float *sm = scratch + 3 * 4096, *sv = sm + n, *sw = sv + n;
        /* the step's own arrays for the memory floor after it: Adam's m and v */
        float *own_m = slot[0] ? slot[0] : sm, *own_v = slot[1] ? slot[1] : sv;
        volatile float one = 1.0f, nought = 0.0f; /* unknown to the compiler */
        const float unit = one, zero = nought;
        uint64_t it = 0, drawn = 0;
        /* mode 6 (the step, then the memory floor) right after mode 1 (the
         * step alone), so that their difference is taken in like
         * conditions; modes 7 and 8 run mode 6's step and clock only the
         * reading (7) or the least gather (8) of other rows after it;
         * mode 9 clocks only the loss after the step of mode 1 */
        static const int order[MODES] = {0, 1, 6, 7, 8, 9, 2, 3, 4, 5};
        for (int r = 0; r < ROUNDS; r++)
            for (int o = 0; o < MODES; o++) {
                const int mode = order[o];
                size_t steps = 0;
                double t0 = now(), reading = 0.0;
                do {
                    /* the next rows of the permutation every step */
                    size_t first = rows_start(drawn++, batch, d->n);
                    ot__rows rows = {d, idx, first, batch};
                    double l = 0, k = 0;
                    if (mode == 0)
                        ot__worker_kernels(&w, batch, grad);
                    else if (mode <= 2 || mode >= 6)
                        ot__worker_train(&w, &rows, 1.0f / (float)batch, grad, &l, &k);
                    if (mode == 9) { /* the step's loss again, on its outputs */
                        const size_t L = m->n_layers;
                        ot__loss_batch b = {w.fused ? w.z[L - 1] : w.a[L - 1], w.y, NULL,
                                            batch, m->layers[L - 1].out};
                        double t1 = now();
                        ot__loss(m->loss, &b, 1.0f / (float)batch, w.d[L - 1], &l, &k);
                        reading += now() - t1;
                    }
                    if (mode == 2 || mode == 3) {
                        ot__opt_step st = ot__optimizer_prepare(&m->opt.cfg, ++it, 0);
                        ot__optimizer_update(&m->opt.cfg, &st, m->params, grad, NULL, slot, n);
                    } else if (mode == 4) {
                        floor_divide(scratch + 2 * 4096, scratch, scratch + 4096, n);
                    } else if (mode == 5) {
                        floor_stream(sw, grad, sm, sv, n, unit);
                    } else if (mode >= 6 && mode <= 8) {
                        /* the traffic as the step leaves the caches,
                         * over the model's own arrays, their values kept */
                        floor_stream(m->params, grad, own_m, own_v, n, zero);
                    }
                    if (mode == 7 || mode == 8) { /* rows half the permutation
                                                   * away: no step gathers them
                                                   * for a long while */
                        const size_t far = (first + d->n / 2) % (d->n - batch + 1);
                        double t1 = now();
                        if (mode == 7)
                            touched = touch_rows(d, idx, far, batch);
                        else
                            touch_rows_into(d, idx, far, batch, w.x);
                        reading += now() - t1;
                    }
                    steps++;
                } while (now() - t0 < seconds / ROUNDS / MODES);
                t[mode][r] = 1e6 * (mode >= 7 ? reading : now() - t0) / (double)steps;
            }
        ot__worker_destroy(&w);
        free(grad);
        free(scratch);
        ot__fp_leave(csr);
    }
    for (int r = 0; r < ROUNDS; r++)
        t[6][r] -= t[1][r]; /* paired: timed one after the other */
    for (int mode = 0; mode < MODES; mode++)
        us[mode] = median(t[mode], ROUNDS);
    free(idx);
    dnnl_engine_destroy(engine);
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
        ot__rows rows = {d, idx, first, batch};
        double l = 0, k = 0;
        ot__worker_train(&w, &rows, 1.0f / (float)batch, grad, &l, &k);
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

/* Microseconds per step with T threads, one shard each (the trainer's split),
 * the step built up part by part (see bench.h). Every thread runs the same
 * number of steps; the time is the master's between two barriers. Rounds
 * interleave the parts, medians of 3 rounds. */
void measure_step_parts(const char *spec, const ot_dataset *d, size_t rows_from, size_t batch,
                        int threads, const char *optimizer, double seconds,
                        double us[STEP_PARTS])
{
    ot_model *m = make_model(spec, optimizer);
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        die("creating a oneDNN CPU engine");
    const size_t n = m->arena_len;
    uint32_t *idx = malloc(d->n * sizeof *idx);
    float **grads = calloc((size_t)threads, sizeof *grads);
    if (idx == NULL || grads == NULL)
        die("allocating the step parts' buffers");
    const size_t from = rows_from ? rows_from : d->n;
    for (size_t i = 0; i < d->n; i++)
        idx[i] = (uint32_t)((i * 7919) % from);
    float *slot[OT__MAX_SLOTS];
    ot__optimizer_state_slots(&m->opt, n, slot);
    enum { ROUNDS = 3 };
    double t[STEP_PARTS][ROUNDS];
    size_t steps = 0; /* per part and round, set by the master */
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        omp_set_num_threads(1); /* as the trainer: primitives on this thread */
        unsigned csr = ot__fp_enter(); /* as the trainer */
        const int tid = omp_get_thread_num();
        size_t first, rows, lo, hi;
        ot__shard_range(batch, (size_t)threads, (size_t)tid, &first, &rows);
        ot__arena_slice(n, threads, tid, &lo, &hi);
        ot__worker w;
        grads[tid] = ot__calloc(n, sizeof(float), "a shard's gradient");
        if (ot__worker_init(&w, m, engine, rows, 0, 1, 0) != OT_OK ||
            ot__worker_plan(&w, rows) != OT_OK || grads[tid] == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        uint64_t it = 0;
        for (int r = -1; r < ROUNDS && !failed; r++)
            for (int part = 0; part < STEP_PARTS; part++) {
#pragma omp master
                {
                    /* round -1 warms up and sizes the rounds from the whole step */
                    if (r < 0)
                        steps = 20;
                    else if (part == 0)
                        steps = (size_t)(seconds / ROUNDS / STEP_PARTS /
                                         (t[STEP_PARTS - 1][0 < r ? r - 1 : 0] * 1e-6)) + 1;
                }
#pragma omp barrier
                double t0 = now();
                for (size_t i = 0; i < steps; i++) {
                    size_t at = rows_start(it, batch, d->n) + first;
                    ot__rows rw = {d, idx, at, rows};
                    double l = 0, k = 0;
                    if (part <= 1)
                        ot__worker_kernels(&w, rows, grads[tid]);
                    else
                        ot__worker_train(&w, &rw, 1.0f / (float)batch, grads[tid], &l, &k);
                    if (part >= 1) {
#pragma omp barrier
                    }
                    if (part >= 3) {
                        ot__opt_step st = ot__optimizer_prepare(&m->opt.cfg, it + 1, 0);
                        /* as the trainer: in chunks from 3 shards on, else whole */
                        size_t len = threads > 2 || hi == lo ? OT__CHUNK : hi - lo;
                        for (size_t c = lo; c < hi; c += len) {
                            size_t cn = hi - c < len ? hi - c : len;
                            if (part == 3) {
                                ot__reduce_chunk(grads, (size_t)threads, c, cn);
                            } else {
                                /* as the trainer: the last shard's gradient
                                 * is added in the update's loop */
                                ot__reduce_chunk(grads, (size_t)threads - 1, c, cn);
                                float *s[OT__MAX_SLOTS];
                                for (int j = 0; j < OT__MAX_SLOTS; j++)
                                    s[j] = slot[j] ? slot[j] + c : NULL;
                                ot__optimizer_update(&m->opt.cfg, &st, m->params + c, grads[0] + c,
                                                     threads > 1 ? grads[threads - 1] + c : NULL,
                                                     s, cn);
                            }
                        }
#pragma omp barrier
                    }
                    it++;
                }
#pragma omp barrier
#pragma omp master
                {
                    if (r >= 0 || part == STEP_PARTS - 1)
                        t[part][r < 0 ? 0 : r] = 1e6 * (now() - t0) / (double)steps;
                }
            }
        ot__worker_destroy(&w);
        free(grads[tid]);
        ot__fp_leave(csr);
    }
    if (failed)
        die("building the step parts' workers");
    for (int part = 0; part < STEP_PARTS; part++)
        us[part] = median(t[part], ROUNDS);
    free(grads);
    free(idx);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
}

/* ---- the optimizer's floors on T threads ------------------------------------ */

/* Mode 1 of --floors (Adam's update) or 2 (its memory traffic alone, values
 * kept as zero is 0), or 0 (nothing), over the parts of the arena a thread
 * updates: its blocks' ranges (ut, cut by units) or the whole arena (ut
 * NULL). Returns the count of parameters in them. */
static size_t floor_pass(int mode, const ot_model *m, const ot__usplit *u,
                         const ot__uthread *ut, const ot__opt_step *k, float *grad,
                         float *const slot[OT__MAX_SLOTS], float zero)
{
    size_t covered = 0, o = 0, n = m->arena_len;
    for (size_t i = 0; i < (ut ? ut->n : 1); i++)
        for (size_t j = 0; ut ? ot__usplit_block_range(u, &ut->blocks[i], j, &o, &n) : j == 0;
             j++) {
            covered += n;
            if (mode == 1) {
                float *sl[OT__MAX_SLOTS];
                for (int q = 0; q < OT__MAX_SLOTS; q++)
                    sl[q] = slot[q] ? slot[q] + o : NULL;
                ot__optimizer_update(&m->opt.cfg, k, m->params + o, grad + o, NULL, sl, n);
            } else if (mode == 2) {
                floor_stream(m->params + o, grad + o, slot[0] + o, slot[1] + o, n, zero);
            }
        }
    return covered;
}

/* Microseconds per step with T threads as omptrain cuts the step (by units
 * where its rule says so; on one thread, one shard of the whole batch): each
 * thread runs its own kernels and then its own part of the parameters, as
 * the trainer does, with no barrier inside a step. Modes (see bench.h):
 * kernels alone; then Adam's update as the trainer runs it; then Adam's
 * memory traffic alone (floor_stream over the model's own arrays, values
 * kept); Adam's arithmetic alone over the thread's count of parameters.
 * Every thread runs the same number of steps; the time is the master's
 * between two barriers, so the slowest thread sets it. Modes interleaved
 * round by round, medians of 5 rounds. Returns 0 (nothing measured) for a
 * step of several threads cut by rows: its floor has a reduction too
 * (--step-parts measures that step). */
int measure_floors(const char *spec, size_t batch, int threads, double seconds,
                   double us[FLOOR_MODES], int *units)
{
    ot_model *m = make_model(spec, "adam");
    *units = ot__usplit_applies(m, batch, (size_t)threads, 0);
    if (threads > 1 && !*units) {
        ot_model_destroy(m);
        return 0;
    }
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        die("creating a oneDNN CPU engine");
    const size_t n = m->arena_len;
    ot__usplit u;
    if (*units && ot__usplit_open(&u, m, (size_t)threads, &batch, 1, 0, 0) != OT_OK)
        die("building the floors' blocks");
    float *grad = calloc(n, sizeof(float));
    if (grad == NULL)
        die("allocating the floors' gradient");
    float *slot[OT__MAX_SLOTS];
    ot__optimizer_state_slots(&m->opt, n, slot);
    enum { ROUNDS = 5 };
    double t[FLOOR_MODES][ROUNDS];
    size_t steps = 0; /* per mode and round, set by the master */
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        omp_set_num_threads(1); /* as the trainer: primitives on this thread */
        unsigned csr = ot__fp_enter(); /* as the trainer */
        const int tid = omp_get_thread_num();
        ot__worker w;
        ot__uthread ut;
        memset(&w, 0, sizeof w);
        memset(&ut, 0, sizeof ut);
        float *scratch = calloc(3 * 4096, sizeof(float));
        ot_status st = *units ? ot__usplit_thread_init(&ut, &u, engine, (size_t)tid,
                                                       (size_t)tid + 1)
                              : ot__worker_init(&w, m, engine, batch, 0, 1, 0);
        if (st == OT_OK && !*units)
            st = ot__worker_plan(&w, batch);
        const ot__uthread *mine = *units ? &ut : NULL;
        const size_t own = floor_pass(0, m, &u, mine, NULL, grad, slot, 0.0f);
        if (st != OT_OK || scratch == NULL) {
#pragma omp atomic write
            failed = 1;
        }
        for (size_t i = 0; scratch && i < 2 * 4096; i++)
            scratch[i] = 1.0f + (float)(i % 97);
        volatile float nought = 0.0f; /* unknown to the compiler */
        const float zero = nought;
#pragma omp barrier
        uint64_t it = 0;
        for (int r = -1; r < ROUNDS && !failed; r++)
            for (int mode = 0; mode < FLOOR_MODES; mode++) {
#pragma omp master
                {
                    /* round -1 warms up and sizes the rounds from the update */
                    if (r < 0)
                        steps = 20;
                    else if (mode == 0)
                        steps = (size_t)(seconds / ROUNDS / FLOOR_MODES /
                                         (t[1][0 < r ? r - 1 : 0] * 1e-6)) + 1;
                }
#pragma omp barrier
                double t0 = now();
                for (size_t i = 0; i < steps; i++) {
                    if (mode <= 2) {
                        if (*units)
                            ot__usplit_kernels(&ut, &u, 0, grad);
                        else
                            ot__worker_kernels(&w, batch, grad);
                    }
                    ot__opt_step k = ot__optimizer_prepare(&m->opt.cfg, ++it, 0);
                    floor_pass(mode, m, &u, mine, &k, grad, slot, zero);
                    if (mode == 3)
                        floor_divide(scratch + 2 * 4096, scratch, scratch + 4096, own);
                }
#pragma omp barrier
#pragma omp master
                {
                    if (r >= 0 || mode == 1)
                        t[mode][r < 0 ? 0 : r] = 1e6 * (now() - t0) / (double)steps;
                }
            }
        if (*units)
            ot__uthread_destroy(&ut);
        else
            ot__worker_destroy(&w);
        free(scratch);
        ot__fp_leave(csr);
    }
    if (failed)
        die("building the floors' threads");
    for (int mode = 0; mode < FLOOR_MODES; mode++)
        us[mode] = median(t[mode], ROUNDS);
    free(grad);
    if (*units)
        ot__usplit_close(&u);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
    return 1;
}
