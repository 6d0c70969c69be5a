/*
 * trainer.c - fit, evaluate and predict: epochs, batches, shards -> threads,
 * and the fused reduce + update. The only file with OpenMP pragmas.
 *
 * One parallel region per call. Per training step (batch of B rows, S
 * shards, T threads; thread t owns the contiguous shards [tS/T, (t+1)S/T)):
 *
 *   each thread: for its shards s: gather, forward, loss, backward -> grad[s]
 *   barrier A
 *   each thread: for its slice of the arena: g = grad[0] + ... + grad[S-1]
 *                (always this order), optimizer(param, state, g)
 *   barrier B
 *
 * Small batches on wide layers are cut by units instead (unit_split.h):
 * each thread runs its blocks of every layer over the whole batch, with a
 * barrier after each layer, and updates its blocks' weights; nothing is
 * reduced. Which cut a step gets is a rule of (model, rows, S), so the
 * weights still depend on S and never on T.
 *
 * oneDNN primitives run on the calling worker only: inside the region each
 * thread sets the thread count of its own nested level to 1 (an ICV of its
 * implicit task: the caller's setting is untouched) before it creates or runs
 * any primitive. Weights therefore depend on (seed, batch, shards, data,
 * hyper-parameters), never on T.
 *
 * Nothing is allocated and no primitive is created after the setup phase,
 * and oneDNN's sgemm has generated its code by then (ot__onednn_warm_up).
 */
#include <math.h>
#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "rng.h"
#include "shard.h"
#include "trainer.h"
#include "unit_split.h"

#define OT_MAX_THREADS 1024
#define CHUNK OT__CHUNK

/* What one call (fit, evaluate, predict, gradient) shares between threads. */
typedef struct run {
    ot_model *m;
    int threads;
    size_t shards, batch;
    int training;
    size_t n_targets; /* float targets per row in any dataset of the run */
    size_t lens[4];   /* the batch lengths this run will cut into shards */
    size_t n_lens;
    dnnl_engine_t engine;
    ot__worker *workers;     /* [threads] */
    float **grads;           /* [shards], arena layout; training only */
    double *shard_loss;      /* [shards] */
    double *shard_metric;    /* [shards] */
    ot_status *setup_status; /* [threads] */
    ot_status *step_status;  /* [threads] */
    int *weights_bad;        /* [threads]: a non-finite weight in its slice */
    char (*msg)[256];        /* [threads] */
    ot__usplit usplit;       /* steps cut by units; model NULL: none */
    ot__uthread *uthreads;   /* [threads] */
} run;

static void my_shards(const run *r, int tid, size_t *lo, size_t *hi)
{
    *lo = (size_t)tid * r->shards / (size_t)r->threads;
    *hi = (size_t)(tid + 1) * r->shards / (size_t)r->threads;
}

static ot_status resolve_parallelism(int threads, size_t shards, int *t_out,
                                     size_t *s_out)
{
    if (threads < 0)
        return ot__fail(OT_INVALID_ARGUMENT, "threads %d must be >= 1 (or 0 for "
                        "all: %d)", threads, omp_get_max_threads());
    int t = threads == 0 ? omp_get_max_threads() : threads;
    if (t > OT_MAX_THREADS)
        return ot__fail(OT_INVALID_ARGUMENT, "threads %d: at most %d", t,
                        OT_MAX_THREADS);
    size_t s = shards == 0 ? (size_t)t : shards;
    if (s > 65536)
        return ot__fail(OT_INVALID_ARGUMENT, "shards %zu: at most 65536", s);
    *t_out = t;
    *s_out = s;
    return OT_OK;
}

static void run_close(run *r)
{
    if (r->workers)
        for (int t = 0; t < r->threads; t++)
            ot__worker_destroy(&r->workers[t]);
    if (r->uthreads)
        for (int t = 0; t < r->threads; t++)
            ot__uthread_destroy(&r->uthreads[t]);
    ot__free(r->uthreads);
    ot__usplit_close(&r->usplit);
    if (r->grads)
        for (size_t s = 0; s < r->shards; s++)
            ot__free(r->grads[s]);
    ot__free(r->workers);
    ot__free(r->grads);
    ot__free(r->shard_loss);
    ot__free(r->shard_metric);
    ot__free(r->setup_status);
    ot__free(r->step_status);
    ot__free(r->weights_bad);
    ot__free(r->msg);
    if (r->engine)
        dnnl_engine_destroy(r->engine);
    memset(r, 0, sizeof *r);
}

static ot_status run_open(run *r, ot_model *m, int threads, size_t shards,
                          size_t batch, int training)
{
    ot_status status = OT_OK;
    memset(r, 0, sizeof *r);
    r->m = m;
    r->threads = threads;
    r->shards = shards;
    r->batch = batch;
    r->training = training;
    size_t T = (size_t)threads, S = shards;
    r->workers = ot__calloc(T, sizeof *r->workers, "workers");
    r->shard_loss = ot__calloc(S, sizeof *r->shard_loss, "shard losses");
    r->shard_metric = ot__calloc(S, sizeof *r->shard_metric, "shard metrics");
    r->setup_status = ot__calloc(T, sizeof *r->setup_status, "thread statuses");
    r->step_status = ot__calloc(T, sizeof *r->step_status, "thread statuses");
    r->msg = ot__calloc(T, sizeof *r->msg, "thread messages");
    r->weights_bad = ot__calloc(T, sizeof *r->weights_bad, "thread flags");
    if (training)
        r->grads = ot__calloc(S, sizeof *r->grads, "shard gradients");
    if (!r->workers || !r->shard_loss || !r->shard_metric ||
        !r->setup_status || !r->step_status || !r->msg || !r->weights_bad ||
        (training && !r->grads)) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    OT_DNNL(dnnl_engine_create(&r->engine, dnnl_cpu, 0));
    return OT_OK;
fail:
    run_close(r);
    return status;
}

static void run_add_length(run *r, size_t len)
{
    if (len == 0)
        return;
    for (size_t i = 0; i < r->n_lens; i++)
        if (r->lens[i] == len)
            return;
    r->lens[r->n_lens++] = len;
}

static void run_add_data(run *r, const ot_dataset *d)
{
    if (d != NULL && d->n_targets > r->n_targets)
        r->n_targets = d->n_targets;
}

/* The state of the steps cut by units, for the training batch lengths
 * (among len[0..n)) that the rule gives them to. Call after run_add_data. */
static ot_status run_add_unit_split(run *r, const size_t *len, size_t n)
{
    size_t lens[OT__USPLIT_LENS], k = 0;
    for (size_t i = 0; i < n && k < OT__USPLIT_LENS; i++)
        if (len[i] > 0 && ot__usplit_applies(r->m, len[i], r->shards) &&
            (k == 0 || lens[0] != len[i]))
            lens[k++] = len[i];
    if (k == 0)
        return OT_OK;
    r->uthreads = ot__calloc((size_t)r->threads, sizeof *r->uthreads, "unit threads");
    if (r->uthreads == NULL)
        return OT_OUT_OF_MEMORY;
    return ot__usplit_open(&r->usplit, r->m, r->shards, lens, k, r->n_targets);
}

/* Records a thread's failure with its message. */
static void thread_fail(run *r, ot_status *slot, int tid, ot_status st)
{
    ot__error_copy(r->msg[tid], sizeof r->msg[tid]);
    *slot = st;
}

/*
 * Denormal floats are flushed to zero inside our regions, as TensorFlow
 * does: Adam's moments of weights whose gradient is always zero (the black
 * border pixels of Fashion-MNIST) decay into denormals, and each operation
 * on one costs a microcode assist on x86 (Adam on the textbook model ran at
 * a third of its speed). Every thread of the region does the same, so
 * results stay bit-identical across thread counts; each restores its own
 * setting on the way out, since OpenMP reuses its threads.
 */
unsigned ot__fp_enter(void)
{
#if defined(__SSE__)
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | 0x8040); /* FTZ | DAZ */
    return old;
#else
    return 0;
#endif
}

void ot__fp_leave(unsigned old)
{
#if defined(__SSE__)
    _mm_setcsr(old);
#else
    (void)old;
#endif
}

/* In the region, before anything else: make this thread's oneDNN calls run
 * on it alone, check the team, build its worker, plans and gradients. */
static void thread_setup(run *r, int tid)
{
    omp_set_num_threads(1);
    ot_status st = OT_OK;
    /* a training step's backward passes run on oneDNN's sgemm; evaluate
     * and predict need not pay for its code unless their shapes use it */
    if (r->training && (st = ot__onednn_warm_up()) != OT_OK)
        goto done;
    if (omp_get_num_threads() != r->threads) {
        st = ot__fail(OT_INVALID_STATE,
                      "asked OpenMP for %d threads and got %d (nested call, "
                      "OMP_THREAD_LIMIT or OMP_DYNAMIC?)",
                      r->threads, omp_get_num_threads());
        goto done;
    }
    size_t lo, hi, max_rows = 0;
    my_shards(r, tid, &lo, &hi);
    if (r->usplit.model != NULL &&
        (st = ot__usplit_thread_init(&r->uthreads[tid], &r->usplit, r->engine,
                                     lo, hi)) != OT_OK)
        goto done;
    for (size_t i = 0; i < r->n_lens; i++)
        for (size_t s = lo; s < hi; s++) {
            size_t first, rows;
            ot__shard_range(r->lens[i], r->shards, s, &first, &rows);
            if (rows > max_rows)
                max_rows = rows;
        }
    if (max_rows == 0)
        goto done; /* more threads than shards: this one only reduces */
    ot__worker *w = &r->workers[tid];
    if ((st = ot__worker_init(w, r->m, r->engine, max_rows, r->n_targets,
                              r->training)) != OT_OK)
        goto done;
    for (size_t i = 0; i < r->n_lens; i++)
        for (size_t s = lo; s < hi; s++) {
            size_t first, rows;
            ot__shard_range(r->lens[i], r->shards, s, &first, &rows);
            if (rows > 0 && (st = ot__worker_plan(w, rows)) != OT_OK)
                goto done;
        }
    if (r->training)
        for (size_t s = lo; s < hi; s++) {
            r->grads[s] = ot__calloc(r->m->arena_len, sizeof(float),
                                     "shard gradient");
            if (r->grads[s] == NULL) {
                st = OT_OUT_OF_MEMORY;
                goto done;
            }
        }
done:
    if (st != OT_OK)
        thread_fail(r, &r->setup_status[tid], tid, st);
}

/* First failure in thread order, with its message on the calling thread. */
static ot_status first_failure(const run *r, const ot_status *slots)
{
    for (int t = 0; t < r->threads; t++)
        if (slots[t] != OT_OK) {
            ot__error_restore(r->msg[t]);
            return slots[t];
        }
    return OT_OK;
}

static int any_flag(const int *flags, int n)
{
    for (int t = 0; t < n; t++)
        if (flags[t])
            return 1;
    return 0;
}

static int any_failure(const run *r, const ot_status *slots)
{
    for (int t = 0; t < r->threads; t++)
        if (slots[t] != OT_OK)
            return 1;
    return 0;
}

/* This thread's shards of every batch of a forward-only pass over n rows
 * (idx[0..n) of d, or rows 0..n when idx is NULL). No barrier inside: each
 * shard's sums depend only on its own rows, in batch order. */
static ot_status forward_pass(run *r, int tid, const ot_dataset *d,
                              const uint32_t *idx, size_t n, int with_loss,
                              float *out)
{
    size_t lo, hi;
    my_shards(r, tid, &lo, &hi);
    const size_t C = ot_model_output_dim(r->m);
    for (size_t s = lo; s < hi; s++) {
        r->shard_loss[s] = 0.0;
        r->shard_metric[s] = 0.0;
    }
    for (size_t b0 = 0; b0 < n; b0 += r->batch) {
        size_t bn = n - b0 < r->batch ? n - b0 : r->batch;
        for (size_t s = lo; s < hi; s++) {
            size_t first, rows;
            ot__shard_range(bn, r->shards, s, &first, &rows);
            if (rows == 0)
                continue;
            ot__rows rw = {d, idx, b0 + first, rows};
            ot_status st = ot__worker_eval(
                &r->workers[tid], &rw, with_loss ? &r->shard_loss[s] : NULL,
                &r->shard_metric[s], out ? out + (b0 + first) * C : NULL);
            if (st != OT_OK)
                return st;
        }
    }
    return OT_OK;
}

/* Sums of the per-shard loss and metric, in shard order. */
static void shard_totals(const run *r, double *loss, double *metric)
{
    double l = 0.0, k = 0.0;
    for (size_t s = 0; s < r->shards; s++) {
        l += r->shard_loss[s];
        k += r->shard_metric[s];
    }
    *loss = l;
    *metric = k;
}

void ot__arena_slice(size_t arena_len, int threads, int tid, size_t *lo, size_t *hi)
{
    size_t lines = arena_len / 16;
    *lo = (size_t)tid * lines / (size_t)threads * 16;
    *hi = (size_t)(tid + 1) * lines / (size_t)threads * 16;
}

static void my_slice(const run *r, int tid, size_t *lo, size_t *hi)
{
    ot__arena_slice(r->m->arena_len, r->threads, tid, lo, hi);
}

/* Sixteen floats at a time across all the shards at once, rather than one
 * pass over the chunk per shard: the shards' gradients were just written by
 * other cores, and reading from all of them together overlaps those
 * transfers. Each element is still g0 + g1 + ... + g[ns-1] in shard order,
 * element-wise, so every clone gives the same bits. */
typedef float ot__v16 __attribute__((vector_size(64)));

OT_MULTIVERSION
void ot__reduce_chunk(float *const *grads, size_t ns, size_t c, size_t n)
{
    if (ns < 2)
        return; /* one shard: its gradient is the sum */
    float *g0 = grads[0] + c;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        ot__v16 a, b;
        memcpy(&a, g0 + i, sizeof a);
        for (size_t s = 1; s < ns; s++) {
            memcpy(&b, grads[s] + c + i, sizeof b);
            a += b;
        }
        memcpy(g0 + i, &a, sizeof a);
    }
    for (; i < n; i++) {
        float a = g0[i];
        for (size_t s = 1; s < ns; s++)
            a += grads[s][c + i];
        g0[i] = a;
    }
}

/* ---------------------------------------------------------------------- */

ot_fit_config ot_fit_config_default(void)
{
    ot_fit_config c;
    memset(&c, 0, sizeof c);
    c.batch_size = 32;
    c.epochs = 5;
    c.validation_split = 0.0;
    c.validation_data = NULL;
    c.shuffle = 1;
    c.threads = 0;
    c.shards = 0;
    c.seed = 42;
    c.initial_epoch = SIZE_MAX;
    c.scaling = OT_SCALING_NONE;
    c.early_stopping.enabled = 0;
    c.early_stopping.monitor = OT_MONITOR_VAL_LOSS;
    c.early_stopping.patience = 0;
    c.early_stopping.min_delta = 0.0;
    c.early_stopping.restore_best_weights = 1;
    c.best_model_path = NULL;
    c.best_monitor = OT_MONITOR_VAL_LOSS;
    c.checkpoint_path = NULL;
    c.checkpoint_every = 1;
    return c;
}

ot_fit_config ot_model_resume_config(const ot_model *m)
{
    ot_fit_config c = ot_fit_config_default();
    if (m != NULL && m->has_fit) {
        c.batch_size = m->fit_batch;
        c.shards = m->fit_shards;
        c.epochs = m->fit_epochs;
        c.seed = m->fit_seed;
        c.validation_split = m->fit_split;
        c.shuffle = m->fit_shuffle;
    }
    return c;
}

ot_eval_config ot_eval_config_default(void)
{
    ot_eval_config c = {32, 0, 0};
    return c;
}

ot_status ot_monitor_parse(const char *name, ot_monitor *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "monitor: NULL argument");
    static const struct { const char *name; ot_monitor m; } names[] = {
        {"val_loss", OT_MONITOR_VAL_LOSS}, {"val_accuracy", OT_MONITOR_VAL_METRIC},
        {"val_mae", OT_MONITOR_VAL_METRIC}, {"loss", OT_MONITOR_LOSS},
        {"accuracy", OT_MONITOR_METRIC}, {"mae", OT_MONITOR_METRIC}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].m;
            return OT_OK;
        }
    return ot__fail(OT_INVALID_ARGUMENT, "unknown monitor '%s' (expected "
                    "val_loss, val_accuracy, val_mae, loss, accuracy or mae)",
                    name);
}

/* Labels or targets that fit the model's loss and outputs; dims matching. */
static ot_status check_data(const ot_model *m, const ot_dataset *d,
                            const char *what, int need_targets)
{
    if (d->dim != m->input_dim)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "%s: %zu features per sample, the model takes %zu",
                        what, d->dim, m->input_dim);
    if (!need_targets)
        return OT_OK;
    const size_t C = ot_model_output_dim(m);
    const char *loss = ot_loss_name(m->loss);
    if (d->y == NULL && d->t == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: the data has no labels or "
                        "targets", what);
    if (m->loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && d->y == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: %s needs integer labels, the "
                        "data has %zu float targets per sample (use "
                        "categorical_crossentropy)", what, loss, d->n_targets);
    if (d->t != NULL) {
        if (d->n_targets != C)
            return ot__fail(OT_INVALID_ARGUMENT, "%s: %zu targets per sample, "
                            "the model has %zu outputs", what, d->n_targets, C);
        if (m->loss == OT_LOSS_BINARY_CROSSENTROPY ||
            m->loss == OT_LOSS_CATEGORICAL_CROSSENTROPY)
            for (size_t i = 0; i < d->n * C; i++)
                if (d->t[i] < 0.0f || d->t[i] > 1.0f)
                    return ot__fail(OT_INVALID_ARGUMENT,
                                    "%s: target %g of sample %zu is outside "
                                    "[0, 1], as %s needs", what,
                                    (double)d->t[i], i / C, loss);
        return OT_OK;
    }
    /* integer labels: class indices, or (one output) the value itself */
    int is_class = C > 1 || m->loss == OT_LOSS_BINARY_CROSSENTROPY;
    size_t limit = C > 1 ? C : 2;
    if (is_class)
        for (size_t i = 0; i < d->n; i++)
            if ((size_t)d->y[i] >= limit)
                return ot__fail(OT_INVALID_ARGUMENT,
                                "%s: label %d of sample %zu is outside the "
                                "model's %zu classes",
                                what, (int)d->y[i], i, limit);
    return OT_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* State of one fit that the master thread keeps between barriers. */
typedef struct fit_state {
    const ot_fit_config *cfg;
    const ot_dataset *train, *val;
    uint32_t *train_idx, *train_base, *val_idx;
    size_t n_train, n_val, steps, first_epoch, first_step;
    ot_history *hist;
    int stop;           /* written by the master between A and B (or V and E) */
    ot_status fail;     /* the master's own failure */
    int weights_broke;  /* an update made a weight non-finite */
    float *backup;      /* parameters and optimizer state at the epoch's start */
    uint64_t backup_iterations;
    char fail_msg[256];
    size_t fail_epoch, fail_step;
    double t_epoch, t_train;
    double loss_sum, metric_sum;
    size_t seen;
    /* early stopping and best-model saving */
    int es_lower, best_lower;
    double es_best, save_best;
    size_t es_wait;
    float *best_params; /* arena copy, when restoring best weights */
} fit_state;

/* The monitored value of an epoch. */
static double monitored(const ot_epoch_metrics *e, ot_monitor mon)
{
    switch (mon) {
    case OT_MONITOR_VAL_LOSS: return e->val_loss;
    case OT_MONITOR_VAL_METRIC: return e->val_metric;
    case OT_MONITOR_LOSS: return e->loss;
    case OT_MONITOR_METRIC: return e->metric;
    }
    return NAN;
}

/* Lower is better for losses and mae, higher for accuracy. */
static int lower_is_better(const ot_model *m, ot_monitor mon)
{
    if (mon == OT_MONITOR_VAL_LOSS || mon == OT_MONITOR_LOSS)
        return 1;
    return strcmp(ot_loss_metric_name(m->loss), "mae") == 0;
}

static int improves(double v, double best, int lower, double min_delta)
{
    if (isnan(v))
        return 0;
    return lower ? v + min_delta < best : v - min_delta > best;
}

/* The master's work at the end of an epoch: record, monitor, save, stop. */
static void end_epoch(run *r, fit_state *f, size_t epoch, uint64_t iteration)
{
    ot_model *m = r->m;
    const ot_fit_config *cfg = f->cfg;
    ot_epoch_metrics *e = &f->hist->epochs[f->hist->len++];
    e->epoch = epoch;
    e->loss = f->loss_sum / (double)f->seen;
    e->metric = f->metric_sum / (double)f->seen;
    e->val_loss = e->val_metric = NAN;
    if (f->n_val > 0) {
        double l, k;
        shard_totals(r, &l, &k);
        e->val_loss = l / (double)f->n_val;
        e->val_metric = k / (double)f->n_val;
    }
    e->learning_rate = ot__optimizer_lr(&m->opt.cfg, iteration, epoch - 1);
    e->seconds = omp_get_wtime() - f->t_epoch;
    e->samples_per_second = f->t_train > 0 ? (double)f->n_train / f->t_train : 0.0;
    m->epochs = epoch;
    m->steps_in_epoch = 0;
    m->part_loss = m->part_metric = 0.0;
    m->part_seen = 0;

    if (cfg->checkpoint_path != NULL && epoch % cfg->checkpoint_every == 0) {
        ot_status st = ot_model_save(m, cfg->checkpoint_path);
        if (st != OT_OK) {
            f->fail = st;
            ot__error_copy(f->fail_msg, sizeof f->fail_msg);
            f->stop = 1;
            return;
        }
    }

    if (cfg->best_model_path != NULL) {
        double v = monitored(e, cfg->best_monitor);
        if (improves(v, f->save_best, f->best_lower, 0.0)) {
            f->save_best = v;
            ot_status st = ot_model_save(m, cfg->best_model_path);
            if (st != OT_OK) {
                f->fail = st;
                ot__error_copy(f->fail_msg, sizeof f->fail_msg);
                f->stop = 1;
                return;
            }
        }
    }
    const ot_early_stopping *es = &cfg->early_stopping;
    if (es->enabled) {
        double v = monitored(e, es->monitor);
        if (improves(v, f->es_best, f->es_lower, es->min_delta)) {
            f->es_best = v;
            f->es_wait = 0;
            f->hist->best_epoch = epoch;
            if (f->best_params)
                memcpy(f->best_params, m->params, m->arena_len * sizeof(float));
        } else if (++f->es_wait >= es->patience) {
            f->stop = 1;
        }
    }
    if (cfg->on_epoch && cfg->on_epoch(e, cfg->user))
        f->stop = 1;
}

/* Rows of a fit's step: the batch, or what is left for the last one. */
static size_t step_rows(const run *r, const fit_state *f, size_t step)
{
    size_t b0 = step * r->batch;
    return f->n_train - b0 < r->batch ? f->n_train - b0 : r->batch;
}

/* Every thread reaches the same verdict on a step from the same data: a
 * failure, or a loss that is not finite. */
static int step_verdict(const run *r)
{
    int bad = any_failure(r, r->step_status);
    for (size_t s = 0; s < r->shards && !bad; s++)
        bad = !isfinite(r->shard_loss[s]);
    return bad;
}

/* The optimizer over arena[off, off + n), with the gradient in grads[0],
 * plus last (another shard's gradient) when it is not NULL; flags a weight
 * it makes non-finite (the update checks each as it writes it). */
static void update_range(run *r, int tid, const ot__opt_step *k,
                         float *const *slot, size_t off, size_t n, const float *last)
{
    ot_model *m = r->m;
    float *s[OT__MAX_SLOTS];
    for (int j = 0; j < OT__MAX_SLOTS; j++)
        s[j] = slot[j] ? slot[j] + off : NULL;
    if (!ot__optimizer_update(&m->opt.cfg, k, m->params + off, r->grads[0] + off,
                              last ? last + off : NULL, s, n))
        r->weights_bad[tid] = 1;
}

/* The master's account of a step, between the update and barrier B. */
static void step_done(run *r, fit_state *f, int bad, size_t epoch, size_t step,
                      size_t bn, uint64_t iteration)
{
    ot_model *m = r->m;
    const ot_fit_config *cfg = f->cfg;
    if (bad && !any_failure(r, r->step_status)) {
        f->fail = OT_NON_FINITE;
        f->fail_epoch = epoch;
        f->fail_step = step + 1;
    }
    if (bad)
        return;
    double l, k;
    shard_totals(r, &l, &k);
    f->loss_sum += l;
    f->metric_sum += k;
    f->seen += bn;
    m->opt.iterations = iteration;
    m->steps_in_epoch = step + 1;
    m->part_loss = f->loss_sum;
    m->part_metric = f->metric_sum;
    m->part_seen = f->seen;
    if (cfg->on_step) {
        ot_step_metrics sm = {epoch, step + 1, f->steps,
                              f->loss_sum / (double)f->seen,
                              f->metric_sum / (double)f->seen,
                              omp_get_wtime() - f->t_epoch};
        if (cfg->on_step(&sm, cfg->user))
            f->stop = 1;
    }
}

/* One fit step cut by rows, up to barrier B: this thread's shards, barrier
 * A, its slice of the arena reduced and updated, the master's account.
 * The last shard's gradient is added inside the update's own loop rather
 * than in the reduction's pass: its lines, written by another core, then
 * arrive while the update waits on its divider, and at 2 shards there is
 * no reduction pass at all (784-100-10, batch 64, 2 threads: each thread's
 * reduction and update took 29-45 us before, 24-33 after; the update alone
 * had taken 22-29). The sum is still g0 + g1 + ... + g[ns-1] from the
 * left, element by element. */
static int shard_step(run *r, fit_state *f, int tid, size_t epoch, size_t step,
                      uint64_t *iteration, float *const *slot)
{
    ot_model *m = r->m;
    size_t s_lo, s_hi, a_lo, a_hi;
    my_shards(r, tid, &s_lo, &s_hi);
    my_slice(r, tid, &a_lo, &a_hi);
    size_t b0 = step * r->batch, bn = step_rows(r, f, step);
    float scale = 1.0f / (float)bn;
    for (size_t s = s_lo; s < s_hi; s++) {
        size_t first, rows;
        ot__shard_range(bn, r->shards, s, &first, &rows);
        r->shard_loss[s] = 0.0;
        r->shard_metric[s] = 0.0;
        if (rows == 0)
            continue;
        ot__rows rw = {f->train, f->train_idx, b0 + first, rows};
        ot_status st = ot__worker_train(&r->workers[tid], &rw, scale,
                                        r->grads[s], &r->shard_loss[s],
                                        &r->shard_metric[s]);
        if (st != OT_OK) {
            thread_fail(r, &r->step_status[tid], tid, st);
            break;
        }
    }
#pragma omp barrier /* A */
    int bad = step_verdict(r);
    if (!bad) {
        size_t ns = bn < r->shards ? bn : r->shards;
        ot__opt_step k = ot__optimizer_prepare(&m->opt.cfg, ++*iteration, epoch - 1);
        /* a chunk at a time, so that the lines just reduced are in L1 when
         * the update reads them; with one or two shards nothing is reduced,
         * and the slice goes in one call (Adam over 79,510 weights: 13.5-14.2
         * us against 14.6-15.2 in chunks of 1024) */
        size_t len = ns > 2 || a_hi == a_lo ? CHUNK : a_hi - a_lo;
        for (size_t c = a_lo; c < a_hi; c += len) {
            size_t n = a_hi - c < len ? a_hi - c : len;
            ot__reduce_chunk(r->grads, ns - 1, c, n);
            update_range(r, tid, &k, slot, c, n, ns > 1 ? r->grads[ns - 1] : NULL);
        }
    }
#pragma omp master
    step_done(r, f, bad, epoch, step, bn, *iteration);
    return bad;
}

/*
 * A step cut by units (unit_split.h), up to its backward pass, on rows of
 * d that each thread has gathered for itself: the forward pass with
 * a barrier after each layer, the loss on the owner of the last layer's
 * block (or the master, when the last layer has several), barrier L, then
 * the backward pass with a barrier after each layer but the first.
 * Returns the verdict that every thread reaches after barrier L; a thread
 * that fails after it flags its weights too, so that the fit falls back to
 * the epoch's start.
 */
static int unit_pass(run *r, int tid, const ot_dataset *d, size_t bn, int li,
                     float scale)
{
    ot__usplit *u = &r->usplit;
    ot__uthread *ut = &r->uthreads[tid];
    const size_t L = r->m->n_layers;
    float *grad = r->grads[0];
    ot_status st = OT_OK;
    size_t lo, hi;
    my_shards(r, tid, &lo, &hi);
    for (size_t s = lo; s < hi; s++)
        r->shard_loss[s] = r->shard_metric[s] = 0.0;
    for (size_t l = 0; l + 1 < L; l++) {
        if (st == OT_OK)
            st = ot__usplit_forward(ut, u, l, li);
#pragma omp barrier
    }
    if (st == OT_OK)
        st = ot__usplit_forward(ut, u, L - 1, li);
    if (u->n_blocks[L - 1] == 1) {
        /* its block belongs to shard 0's thread, which holds the loss */
        if (st == OT_OK && ot__uthread_owns(ut, L - 1)) {
            ot__usplit_loss(u, d, bn, scale, &r->shard_loss[0], &r->shard_metric[0]);
            st = ot__usplit_backward(ut, u, L - 1, li, grad);
        }
    } else {
#pragma omp barrier
#pragma omp master
        ot__usplit_loss(u, d, bn, scale, &r->shard_loss[0], &r->shard_metric[0]);
#pragma omp barrier
        if (st == OT_OK)
            st = ot__usplit_backward(ut, u, L - 1, li, grad);
    }
    if (st != OT_OK)
        thread_fail(r, &r->step_status[tid], tid, st);
#pragma omp barrier /* L */
    int bad = step_verdict(r);
    for (size_t l = L - 1; l-- > 0;) {
        if (!bad && st == OT_OK &&
            (st = ot__usplit_backward(ut, u, l, li, grad)) != OT_OK) {
            thread_fail(r, &r->step_status[tid], tid, st);
            r->weights_bad[tid] = 1;
        }
        if (l > 0) {
#pragma omp barrier
        }
    }
    return bad;
}

/* Rows of a fit's step into this thread's unit-split buffers. */
static void unit_gather(run *r, fit_state *f, int tid, size_t step)
{
    ot__usplit_gather(&r->usplit, &r->uthreads[tid], f->train, f->train_idx,
                      step * r->batch, step_rows(r, f, step));
}

/* One fit step cut by units, up to barrier B: the rows (unless the step
 * before gathered them), the pass, this thread's blocks updated, the
 * master's account, and the next step's rows when it is cut by units too. */
static int unit_step(run *r, fit_state *f, int tid, size_t epoch, size_t step,
                     int li, uint64_t *iteration, float *const *slot,
                     size_t *gathered)
{
    ot_model *m = r->m;
    size_t bn = r->usplit.lens[li];
    if (*gathered != step)
        unit_gather(r, f, tid, step);
    int bad = unit_pass(r, tid, f->train, bn, li, 1.0f / (float)bn);
    if (!bad) {
        ot__opt_step k = ot__optimizer_prepare(&m->opt.cfg, ++*iteration, epoch - 1);
        const ot__uthread *ut = &r->uthreads[tid];
        size_t off, n;
        for (size_t i = 0; i < ut->n && !r->weights_bad[tid]; i++)
            for (size_t j = 0; ot__usplit_block_range(&r->usplit, &ut->blocks[i], j,
                                                      &off, &n); j++)
                update_range(r, tid, &k, slot, off, n, NULL);
    }
#pragma omp master
    step_done(r, f, bad, epoch, step, bn, *iteration);
    size_t next = step + 1;
    if (!bad && next < f->steps && ot__usplit_len(&r->usplit, step_rows(r, f, next)) >= 0) {
        unit_gather(r, f, tid, next);
        *gathered = next;
    }
    return bad;
}

static void fit_region(run *r, fit_state *f)
{
    ot_model *m = r->m;
    const ot_fit_config *cfg = f->cfg;
    const int tid = omp_get_thread_num();
    thread_setup(r, tid);
#pragma omp barrier
    if (any_failure(r, r->setup_status))
        return;

    const size_t arena_len = m->arena_len;
    float *slot[OT__MAX_SLOTS];
    ot__optimizer_state_slots(&m->opt, arena_len, slot);
    uint64_t iteration = m->opt.iterations; /* every thread counts alike */

    for (size_t epoch = f->first_epoch; epoch <= cfg->epochs; epoch++) {
#pragma omp master
        {
            /* The order of epoch e depends on (seed, e) only, so a resumed
             * run sees the same batches as an uninterrupted one. */
            if (cfg->shuffle) {
                ot__rng rng;
                ot__rng_seed(&rng, ot__rng_derive(cfg->seed, epoch));
                memcpy(f->train_idx, f->train_base, f->n_train * sizeof *f->train_idx);
                ot__rng_shuffle(&rng, f->train_idx, f->n_train);
            }
            /* a fit stopped inside this epoch takes up where it was */
            int resumed = epoch == f->first_epoch && f->first_step > 0;
            /* what an update that breaks the weights falls back to */
            memcpy(f->backup, m->params, arena_len * sizeof(float));
            if (m->opt.slots > 0)
                memcpy(f->backup + arena_len, m->opt.state,
                       m->opt.slots * arena_len * sizeof(float));
            f->backup_iterations = m->opt.iterations;
            f->loss_sum = resumed ? m->part_loss : 0.0;
            f->metric_sum = resumed ? m->part_metric : 0.0;
            f->seen = resumed ? m->part_seen : 0;
            f->t_epoch = omp_get_wtime();
        }
#pragma omp barrier
        int bad = 0;
        size_t step0 = epoch == f->first_epoch ? f->first_step : 0;
        size_t gathered = SIZE_MAX; /* the step whose rows a unit step gathered ahead */
        for (size_t step = step0; step < f->steps; step++) {
            int li = r->usplit.model ? ot__usplit_len(&r->usplit, step_rows(r, f, step)) : -1;
            if (li >= 0)
                bad = unit_step(r, f, tid, epoch, step, li, &iteration, slot,
                                &gathered);
            else
                bad = shard_step(r, f, tid, epoch, step, &iteration, slot);
#pragma omp barrier /* B */
            if (!bad && any_flag(r->weights_bad, r->threads)) {
                bad = 1;
#pragma omp master
                {
                    f->weights_broke = 1;
                    f->fail_epoch = epoch;
                    f->fail_step = step + 1;
                }
            }
            if (bad || f->stop)
                break;
        }
        if (bad || f->stop)
            break;

        /* Validation: each thread its shards of every batch, then one barrier. */
#pragma omp master
        f->t_train = omp_get_wtime() - f->t_epoch;
        if (f->n_val > 0) {
            ot_status st = forward_pass(r, tid, f->val, f->val_idx, f->n_val, 1, NULL);
            if (st != OT_OK)
                thread_fail(r, &r->step_status[tid], tid, st);
        }
#pragma omp barrier /* V */
        if (any_failure(r, r->step_status))
            break;
#pragma omp master
        end_epoch(r, f, epoch, iteration);
#pragma omp barrier /* E */
        if (f->stop)
            break;
    }
}

/* Checks a fit's arguments; fills the split sizes. */
static ot_status check_fit(const ot_model *m, const ot_dataset *train,
                           const ot_fit_config *cfg)
{
    ot_status status;
    if (m == NULL || train == NULL || cfg == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: model, data and config must "
                        "not be NULL");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "fit: the model is not compiled "
                        "(call ot_model_compile first)");
    if ((status = check_data(m, train, "fit: training data", 1)) != OT_OK)
        return status;
    if (cfg->batch_size == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: batch_size must be >= 1");
    if (cfg->epochs == 0 || cfg->epochs > 1000000)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: epochs %zu must be in "
                        "1..1000000", cfg->epochs);
    size_t initial = cfg->initial_epoch == SIZE_MAX ? m->epochs : cfg->initial_epoch;
    if (initial >= cfg->epochs)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: initial_epoch %zu: nothing "
                        "to train up to epochs %zu", initial, cfg->epochs);
    if (!(cfg->validation_split >= 0.0 && cfg->validation_split < 1.0))
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation_split %g must be "
                        "in [0, 1)", cfg->validation_split);
    if (cfg->validation_data != NULL && cfg->validation_split > 0.0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: give validation_data or "
                        "validation_split, not both");
    if (cfg->validation_data != NULL &&
        (status = check_data(m, cfg->validation_data, "fit: validation data",
                             1)) != OT_OK)
        return status;
    if ((unsigned)cfg->scaling > OT_SCALING_MINMAX)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: scaling %d is unknown",
                        (int)cfg->scaling);
    int has_val = cfg->validation_data != NULL || cfg->validation_split > 0.0;
    const ot_early_stopping *es = &cfg->early_stopping;
    ot_monitor mons[2] = {es->monitor, cfg->best_monitor};
    int used[2] = {es->enabled, cfg->best_model_path != NULL};
    for (int i = 0; i < 2; i++) {
        if (!used[i])
            continue;
        if ((unsigned)mons[i] > OT_MONITOR_METRIC)
            return ot__fail(OT_INVALID_ARGUMENT, "fit: monitor %d is unknown",
                            (int)mons[i]);
        if (!has_val && (mons[i] == OT_MONITOR_VAL_LOSS || mons[i] == OT_MONITOR_VAL_METRIC))
            return ot__fail(OT_INVALID_ARGUMENT, "fit: %s monitors a validation "
                            "value, and there is no validation data",
                            i == 0 ? "early stopping" : "best-model saving");
    }
    if (cfg->checkpoint_path != NULL && cfg->checkpoint_every == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: checkpoint_every must be >= 1");
    if (es->enabled && !(isfinite(es->min_delta) && es->min_delta >= 0.0))
        return ot__fail(OT_INVALID_ARGUMENT, "fit: early stopping min_delta %g "
                        "must be >= 0", es->min_delta);
    return OT_OK;
}

ot_status ot_model_fit(ot_model *m, const ot_dataset *train,
                       const ot_fit_config *cfg, ot_history **history)
{
    ot_status status;
    if (history)
        *history = NULL;
    if ((status = check_fit(m, train, cfg)) != OT_OK)
        return status;
    int T;
    size_t S;
    if ((status = resolve_parallelism(cfg->threads, cfg->shards, &T, &S)) != OT_OK)
        return status;

    fit_state f;
    memset(&f, 0, sizeof f);
    f.cfg = cfg;
    f.train = train;
    f.first_epoch = (cfg->initial_epoch == SIZE_MAX ? m->epochs : cfg->initial_epoch) + 1;
    size_t N = train->n;
    size_t n_val = 0;
    if (cfg->validation_split > 0.0)
        n_val = (size_t)ceil(cfg->validation_split * (double)N);
    if (n_val >= N)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation_split %g of %zu "
                        "samples leaves none to train on",
                        cfg->validation_split, N);
    f.n_train = N - n_val;
    /* A batch larger than the training part is all of it, one step an
     * epoch, as in Keras; the buffers are sized by the rows a step has. */
    const size_t B = cfg->batch_size < f.n_train ? cfg->batch_size : f.n_train;
    if (S > cfg->batch_size)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: %zu shards for a batch of "
                        "%zu: at most one shard per sample", S,
                        cfg->batch_size);
    f.steps = (f.n_train + B - 1) / B;
    /* a fit stopped inside an epoch continues there, unless told otherwise */
    if (f.first_epoch == m->epochs + 1)
        f.first_step = m->steps_in_epoch;
    if (f.first_step > f.steps)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: the model stopped after step "
                        "%zu of epoch %zu; this data and batch size make %zu "
                        "steps an epoch", f.first_step, f.first_epoch, f.steps);
    m->has_fit = 1;
    m->fit_batch = cfg->batch_size;
    m->fit_shards = S;
    m->fit_epochs = cfg->epochs;
    m->fit_seed = cfg->seed;
    m->fit_split = cfg->validation_split;
    m->fit_shuffle = cfg->shuffle;

    /* The seeded split (like train_test_split's shuffle); the training part
     * in its original order is the base every epoch's shuffle starts from. */
    uint32_t *perm = ot__alloc(N + f.n_train, sizeof *perm, "sample order");
    if (perm == NULL)
        return OT_OUT_OF_MEMORY;
    for (size_t i = 0; i < N; i++)
        perm[i] = (uint32_t)i;
    if (n_val > 0) {
        ot__rng rng;
        ot__rng_seed(&rng, cfg->seed);
        ot__rng_shuffle(&rng, perm, N);
        qsort(perm + n_val, f.n_train, sizeof *perm, cmp_u32);
        f.val = train;
        f.val_idx = perm;
        f.n_val = n_val;
    } else if (cfg->validation_data != NULL) {
        f.val = cfg->validation_data;
        f.val_idx = NULL;
        f.n_val = f.val->n;
    }
    f.train_idx = perm + n_val;
    f.train_base = perm + N;
    memcpy(f.train_base, f.train_idx, f.n_train * sizeof *perm);

    if (cfg->scaling != OT_SCALING_NONE && m->scaling == OT_SCALING_NONE) {
        float *st = ot__alloc(2 * m->input_dim, sizeof(float), "feature scaling");
        if (st == NULL) {
            ot__free(perm);
            return OT_OUT_OF_MEMORY;
        }
        ot__dataset_fit_scaling(train, f.train_idx, f.n_train, cfg->scaling, st,
                                st + m->input_dim);
        status = ot__model_set_scaling(m, cfg->scaling, st, st + m->input_dim);
        ot__free(st);
        if (status != OT_OK) {
            ot__free(perm);
            return status;
        }
    }

    const ot_early_stopping *es = &cfg->early_stopping;
    f.es_lower = lower_is_better(m, es->monitor);
    f.es_best = f.es_lower ? INFINITY : -INFINITY;
    f.best_lower = lower_is_better(m, cfg->best_monitor);
    f.save_best = f.best_lower ? INFINITY : -INFINITY;

    run r;
    ot_history *hist = NULL;
    if ((status = ot__history_new(&hist, cfg->epochs, ot_loss_metric_name(m->loss))) != OT_OK)
        goto done_perm;
    f.hist = hist;
    f.backup = ot__alloc((1 + m->opt.slots) * m->arena_len, sizeof(float),
                         "epoch backup");
    if (f.backup == NULL) {
        status = OT_OUT_OF_MEMORY;
        goto done_hist;
    }
    if (es->enabled && es->restore_best_weights) {
        f.best_params = ot__alloc(m->arena_len, sizeof(float), "best weights");
        if (f.best_params == NULL) {
            status = OT_OUT_OF_MEMORY;
            goto done_hist;
        }
    }
    if ((status = run_open(&r, m, T, S, B, 1)) != OT_OK)
        goto done_hist;
    run_add_data(&r, train);
    run_add_data(&r, f.val);
    run_add_length(&r, B);
    run_add_length(&r, f.n_train % B);
    if (f.n_val >= B)
        run_add_length(&r, B);
    run_add_length(&r, f.n_val % B);
    size_t train_lens[2] = {B, f.n_train % B};
    if ((status = run_add_unit_split(&r, train_lens, 2)) != OT_OK) {
        run_close(&r);
        goto done_hist;
    }

#pragma omp parallel num_threads(T)
    {
        unsigned csr = ot__fp_enter();
        fit_region(&r, &f);
        ot__fp_leave(csr);
    }

    status = first_failure(&r, r.setup_status);
    if (status == OT_OK)
        status = first_failure(&r, r.step_status);
    if (status == OT_OK && f.fail == OT_NON_FINITE)
        status = ot__fail(OT_NON_FINITE, "epoch %zu, step %zu: the loss is not "
                          "finite; the weights of the last good step are kept",
                          f.fail_epoch, f.fail_step);
    else if (status == OT_OK && f.fail != OT_OK)
        status = ot__fail(f.fail, "%s", f.fail_msg);
    if (f.weights_broke) {
        /* back to the start of the epoch: weights, optimizer state, count */
        memcpy(m->params, f.backup, m->arena_len * sizeof(float));
        if (m->opt.slots > 0)
            memcpy(m->opt.state, f.backup + m->arena_len,
                   m->opt.slots * m->arena_len * sizeof(float));
        m->opt.iterations = f.backup_iterations;
        m->steps_in_epoch = 0;
        m->part_loss = m->part_metric = 0.0;
        m->part_seen = 0;
        if (status == OT_OK)
            status = ot__fail(OT_NON_FINITE, "epoch %zu, step %zu: the update made "
                              "weights non-finite; the weights and optimizer state "
                              "of the start of epoch %zu are kept",
                              f.fail_epoch, f.fail_step, f.fail_epoch);
    }
    /* Early stopping keeps the best epoch's weights, stopped or not. */
    if (f.best_params != NULL && hist->best_epoch > 0 &&
        hist->best_epoch != m->epochs)
        memcpy(m->params, f.best_params, m->arena_len * sizeof(float));
    run_close(&r);
done_hist:
    ot__free(f.best_params);
    ot__free(f.backup);
    if (history != NULL)
        *history = hist; /* on failure: the epochs finished before it */
    else
        ot_history_destroy(hist);
done_perm:
    ot__free(perm);
    return status;
}

/* ---- choosing the thread count ------------------------------------------ */

typedef struct calib {
    size_t steps, warmup;
    double seconds, t0, t1;
} calib;

static int calib_step(const ot_step_metrics *s, void *user)
{
    (void)s;
    calib *c = user;
    if (++c->steps == c->warmup)
        c->t0 = omp_get_wtime();
    if (c->steps > c->warmup && omp_get_wtime() - c->t0 >= c->seconds) {
        c->t1 = omp_get_wtime();
        return 1;
    }
    return 0;
}

/* A copy of m's architecture, weights and compile settings. */
static ot_status clone_model(const ot_model *m, ot_model **out)
{
    ot_layer layers[OT_MAX_LAYERS + 1];
    size_t n = ot_model_layer_count(m);
    for (size_t i = 0; i < n; i++)
        ot_model_layer(m, i, &layers[i]);
    ot_status status = ot__model_alloc(out, m->input_dim, layers, n);
    if (status != OT_OK)
        return status;
    memcpy((*out)->params, m->params, m->arena_len * sizeof(float));
    if (m->scaling != OT_SCALING_NONE &&
        (status = ot__model_set_scaling(*out, m->scaling, m->shift, m->mult)) != OT_OK)
        goto fail;
    if ((status = ot_model_compile(*out, m->loss, &m->opt.cfg)) != OT_OK)
        goto fail;
    return OT_OK;
fail:
    ot_model_destroy(*out);
    *out = NULL;
    return status;
}

ot_status ot_model_choose_threads(const ot_model *m, const ot_dataset *d,
                                  size_t batch, size_t shards, double seconds,
                                  ot_thread_choice *out)
{
    if (m == NULL || d == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "choose threads: NULL argument");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "choose threads: the model is not compiled");
    if (!(seconds > 0.0 && seconds <= 60.0))
        return ot__fail(OT_INVALID_ARGUMENT, "choose threads: seconds %g must be in "
                        "(0, 60]", seconds);
    if (batch == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "choose threads: batch_size must be >= 1");
    if (shards > batch)
        return ot__fail(OT_INVALID_ARGUMENT, "choose threads: %zu shards for a batch of "
                        "%zu: at most one shard per sample", shards, batch);
    memset(out, 0, sizeof *out);
    int cores = omp_get_max_threads(), limit = cores;
    if (shards > 0 && (size_t)limit > shards)
        limit = (int)shards;
    int cand[16], n = 0;
    for (int t = 1; t <= limit && n < 15; t *= 2)
        cand[n++] = t;
    if (cand[n - 1] != limit)
        cand[n++] = limit;
    /* Rounds interleave the candidates, and each counts its best round:
     * on a shared machine noise only ever slows a round down, and one slow
     * timing of the right count (784-1024-1024-10, batch 64, on 2 cores:
     * 1 thread chosen at 0.64 of 2's speed) is outvoted. */
    enum { ROUNDS = 3 };
    const size_t rows = batch < d->n ? batch : d->n; /* a step's, as fit has them */
    double rate[16] = {0};
    size_t cand_shards[16];
    for (int i = 0; i < n; i++)
        cand_shards[i] = shards > 0 ? shards : (size_t)cand[i];
    for (int round = 0; round < ROUNDS; round++)
        for (int i = 0; i < n; i++) {
            size_t s = cand_shards[i];
            if (s > batch)
                continue; /* at most one shard per sample */
            ot_model *copy = NULL;
            ot_status status = clone_model(m, &copy);
            if (status != OT_OK)
                return status;
            calib c = {0, round == 0 ? 5 : 2, seconds / ROUNDS, 0.0, 0.0};
            ot_fit_config fc = ot_fit_config_default();
            fc.batch_size = batch;
            fc.epochs = 1000; /* ends sooner, on time; tiny data may use them up */
            fc.initial_epoch = 0;
            fc.threads = cand[i];
            fc.shards = s;
            fc.on_step = calib_step;
            fc.user = &c;
            status = ot_model_fit(copy, d, &fc, NULL);
            ot_model_destroy(copy);
            if (status != OT_OK)
                return status;
            if (c.t1 <= c.t0) /* the data ran out first: fewer steps, still a rate */
                c.t1 = omp_get_wtime();
            double sps = c.steps > c.warmup
                             ? (double)((c.steps - c.warmup) * rows) / (c.t1 - c.t0)
                             : 0.0;
            if (sps > rate[i])
                rate[i] = sps;
        }
    double best = -1.0;
    for (int i = 0; i < n; i++) {
        if (cand_shards[i] > batch)
            continue;
        out->tried[out->n_tried] = cand[i];
        out->samples_per_second[out->n_tried++] = rate[i];
        if (rate[i] > best) {
            best = rate[i];
            out->threads = cand[i];
            out->shards = cand_shards[i];
        }
    }
    return OT_OK; /* 1 <= batch, so one candidate at least was tried */
}

/* Forward-only passes: evaluate, predict and the confusion matrix. */
static ot_status forward_call(ot_model *m, const ot_dataset *d,
                              const ot_eval_config *cfg, double *loss,
                              double *metric, float *out)
{
    ot_status status;
    ot_eval_config c = cfg ? *cfg : ot_eval_config_default();
    if (c.batch_size == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "batch_size must be >= 1");
    int T;
    size_t S;
    if ((status = resolve_parallelism(c.threads, c.shards, &T, &S)) != OT_OK)
        return status;
    size_t B = c.batch_size < d->n ? c.batch_size : d->n;
    if (S > B)
        S = B; /* more shards than rows would only be empty */
    run r;
    if ((status = run_open(&r, m, T, S, B, 0)) != OT_OK)
        return status;
    run_add_data(&r, d);
    run_add_length(&r, B);
    run_add_length(&r, d->n % B);
#pragma omp parallel num_threads(T)
    {
        unsigned csr = ot__fp_enter();
        int tid = omp_get_thread_num();
        thread_setup(&r, tid);
#pragma omp barrier
        if (!any_failure(&r, r.setup_status)) {
            ot_status st = forward_pass(&r, tid, d, NULL, d->n, loss != NULL, out);
            if (st != OT_OK)
                thread_fail(&r, &r.step_status[tid], tid, st);
        }
        ot__fp_leave(csr);
    }
    status = first_failure(&r, r.setup_status);
    if (status == OT_OK)
        status = first_failure(&r, r.step_status);
    if (status == OT_OK && loss != NULL)
        shard_totals(&r, loss, metric);
    run_close(&r);
    return status;
}

ot_status ot_model_evaluate(ot_model *m, const ot_dataset *d,
                            const ot_eval_config *cfg, double *loss,
                            double *metric)
{
    ot_status status;
    if (m == NULL || d == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "evaluate: model and data must "
                        "not be NULL");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "evaluate: the model is not compiled "
                        "(its loss is unknown)");
    if ((status = check_data(m, d, "evaluate", 1)) != OT_OK)
        return status;
    double l = 0.0, k = 0.0;
    if ((status = forward_call(m, d, cfg, &l, &k, NULL)) != OT_OK)
        return status;
    if (loss)
        *loss = l / (double)d->n;
    if (metric)
        *metric = k / (double)d->n;
    return OT_OK;
}

static ot_status check_predict(const ot_model *m, const float *x, size_t n,
                               const void *out)
{
    if (m == NULL || x == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: NULL argument");
    if (n == 0 || n > OT_MAX_SAMPLES)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: %zu rows: must be in "
                        "1..%zu", n, OT_MAX_SAMPLES);
    return OT_OK;
}

ot_status ot_model_predict(ot_model *m, const float *x, size_t n, float *out,
                           size_t out_count, const ot_eval_config *cfg)
{
    ot_status status = check_predict(m, x, n, out);
    if (status != OT_OK)
        return status;
    size_t classes = ot_model_output_dim(m);
    if (out_count / classes < n)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: output holds %zu floats, "
                        "%zu rows x %zu outputs need more", out_count, n,
                        classes);
    /* A view of the caller's rows: no copy, no labels. */
    ot_dataset view = {.n = n, .dim = m->input_dim, .x = (float *)x};
    return forward_call(m, &view, cfg, NULL, NULL, out);
}

/* Class of one output row: argmax, or for one output, above one half. */
static int32_t row_class(const float *p, size_t C)
{
    if (C == 1)
        return p[0] > 0.5f;
    size_t best = 0;
    for (size_t j = 1; j < C; j++)
        if (p[j] > p[best])
            best = j;
    return (int32_t)best;
}

/* Outputs of every row of x, then their classes, in batches of memory. */
static ot_status classes_of(ot_model *m, const ot_dataset *view,
                            const ot_eval_config *cfg, int32_t *classes)
{
    const size_t C = ot_model_output_dim(m), chunk = 65536;
    float *out = ot__alloc(chunk * C, sizeof(float), "predictions");
    if (out == NULL)
        return OT_OUT_OF_MEMORY;
    ot_status status = OT_OK;
    for (size_t i = 0; i < view->n && status == OT_OK; i += chunk) {
        size_t n = view->n - i < chunk ? view->n - i : chunk;
        const size_t at = i * view->dim;
        ot_dataset part = {.n = n,
                           .dim = view->dim,
                           .x = view->x ? view->x + at : NULL,
                           .pixels = view->pixels ? view->pixels + at : NULL};
        status = forward_call(m, &part, cfg, NULL, NULL, out);
        for (size_t r = 0; r < n && status == OT_OK; r++)
            classes[i + r] = row_class(out + r * C, C);
    }
    ot__free(out);
    return status;
}

ot_status ot_model_step_cut(const ot_model *m, size_t rows, size_t shards,
                            ot_step_cut *out)
{
    if (m == NULL || out == NULL || rows == 0 || shards == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "step cut: NULL model or output, "
                        "or zero rows or shards");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "step cut: the model is not compiled");
    *out = ot__usplit_applies(m, rows, shards) ? OT_STEP_CUT_UNITS : OT_STEP_CUT_ROWS;
    return OT_OK;
}

ot_status ot_model_predict_classes(ot_model *m, const float *x, size_t n,
                                   int32_t *classes, const ot_eval_config *cfg)
{
    ot_status status = check_predict(m, x, n, classes);
    if (status != OT_OK)
        return status;
    ot_dataset view = {.n = n, .dim = m->input_dim, .x = (float *)x};
    return classes_of(m, &view, cfg, classes);
}

ot_status ot_model_confusion_matrix(ot_model *m, const ot_dataset *d,
                                    const ot_eval_config *cfg, size_t *counts,
                                    size_t classes)
{
    if (m == NULL || d == NULL || counts == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: NULL argument");
    size_t C = ot_model_output_dim(m), K = C == 1 ? 2 : C;
    if (classes != K)
        return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: %zu classes "
                        "given, the model has %zu", classes, K);
    if (d->y == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: the data has "
                        "no integer labels");
    ot_status status = check_data(m, d, "confusion matrix", 0);
    if (status != OT_OK)
        return status;
    for (size_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || (size_t)d->y[i] >= K)
            return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: label %d of "
                            "sample %zu is outside the model's %zu classes",
                            (int)d->y[i], i, K);
    int32_t *pred = ot__alloc(d->n, sizeof(int32_t), "predicted classes");
    if (pred == NULL)
        return OT_OUT_OF_MEMORY;
    status = classes_of(m, d, cfg, pred);
    if (status == OT_OK) {
        memset(counts, 0, K * K * sizeof *counts);
        for (size_t i = 0; i < d->n; i++)
            counts[(size_t)d->y[i] * K + (size_t)pred[i]]++;
    }
    ot__free(pred);
    return status;
}

ot_status ot__trainer_gradient(ot_model *m, const ot_dataset *d, size_t shards,
                               int threads, float *grad, double *loss)
{
    ot_status status;
    int T;
    size_t S;
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "gradient: the model is not compiled");
    if ((status = check_data(m, d, "gradient", 1)) != OT_OK)
        return status;
    if ((status = resolve_parallelism(threads, shards, &T, &S)) != OT_OK)
        return status;
    if (S > d->n)
        return ot__fail(OT_INVALID_ARGUMENT, "gradient: more shards than rows");
    run r;
    if ((status = run_open(&r, m, T, S, d->n, 1)) != OT_OK)
        return status;
    run_add_data(&r, d);
    run_add_length(&r, d->n);
    if ((status = run_add_unit_split(&r, &d->n, 1)) != OT_OK) {
        run_close(&r);
        return status;
    }
    float scale = 1.0f / (float)d->n;
#pragma omp parallel num_threads(T)
    {
        unsigned csr = ot__fp_enter();
        int tid = omp_get_thread_num();
        thread_setup(&r, tid);
#pragma omp barrier
        if (!any_failure(&r, r.setup_status) && r.usplit.model != NULL) {
            ot__usplit_gather(&r.usplit, &r.uthreads[tid], d, NULL, 0, d->n);
            (void)unit_pass(&r, tid, d, d->n, 0, scale);
        } else if (!any_failure(&r, r.setup_status)) {
            size_t lo, hi, a_lo, a_hi;
            my_shards(&r, tid, &lo, &hi);
            for (size_t s = lo; s < hi; s++) {
                size_t first, rows;
                ot__shard_range(d->n, S, s, &first, &rows);
                r.shard_loss[s] = 0.0;
                r.shard_metric[s] = 0.0;
                ot__rows rw = {d, NULL, first, rows};
                ot_status st = ot__worker_train(&r.workers[tid], &rw, scale,
                                                r.grads[s], &r.shard_loss[s],
                                                &r.shard_metric[s]);
                if (st != OT_OK) {
                    thread_fail(&r, &r.step_status[tid], tid, st);
                    break;
                }
            }
#pragma omp barrier
            my_slice(&r, tid, &a_lo, &a_hi);
            for (size_t c = a_lo; c < a_hi; c += CHUNK)
                ot__reduce_chunk(r.grads, S, c, a_hi - c < CHUNK ? a_hi - c : CHUNK);
        }
        ot__fp_leave(csr);
    }
    status = first_failure(&r, r.setup_status);
    if (status == OT_OK)
        status = first_failure(&r, r.step_status);
    if (status == OT_OK) {
        double k;
        ot__arena_pack(m, r.grads[0], grad);
        shard_totals(&r, loss, &k);
        *loss /= (double)d->n;
    }
    run_close(&r);
    return status;
}
