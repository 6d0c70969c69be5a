/*
 * fit.c - ot_model_fit: the checks, the validation split, feature scaling,
 * and the driver that hands the engine its jobs (engine.h): every epoch's
 * steps over the seeded order, its validation pass, and the work between
 * epochs (fit_control.c).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"
#include "fit_control.h"
#include "folds.h"
#include "history.h"
#include "ranks.h"
#include "rng.h"
#include "stream.h"

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
    c.comm = NULL;
    return c;
}

ot_fit_config ot_model_resume_config(const ot_model *m)
{
    ot_fit_config c = ot_fit_config_default();
    if (m != NULL && m->has_fit) {
        c.batch_size = m->fit_batch;
        c.shards = m->fit_shards;
        c.epochs = m->fit_epochs; /* up to the epoch the fit was to end with */
        c.initial_epoch = m->epochs;
        c.seed = m->fit_seed;
        c.validation_split = m->fit_split;
        c.validation_folds = m->fit_folds;
        c.validation_fold = m->fit_fold;
        c.shuffle = m->fit_shuffle;
    }
    return c;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* What the driver keeps between jobs; only the engine's master thread
 * touches it while the engine runs. */
typedef struct fit_state {
    ot_model *m;
    const ot_fit_config *cfg;
    const ot_dataset *train, *val;
    uint32_t *train_idx, *train_base, *val_idx;
    const float *train_w, *val_w; /* sample weights by row, or NULL */
    size_t n_train, n_val, batch, steps, first_epoch, first_step;
    size_t last_epoch;          /* the epoch the fit ends with */
    size_t epoch, step;         /* of the job handed out last */
    size_t done_epoch, done_step; /* of the last step done (1-based step) */
    ot_history *hist;
    ot__fit_control ctl;
    const ot__ranks *ranks;
    const ot__fit_rows *rows;   /* the caller's training and validation rows, or NULL */
    ot__stages stages;          /* streamed data's readers; train and val their views */
    ot__stage_part part;        /* over ranks, the rows this rank's shards gather, */
    const ot__stage_part *train_part, *val_part; /* or NULL: every row */
    int stop;
    ot_status fail;             /* the driver's own failure */
    char fail_msg[256];
    float *backup;              /* parameters and optimizer state at the epoch's start */
    uint64_t backup_iterations;
    double t_epoch, t_train;
    ot__sums sums;              /* the epoch's so far */
    size_t seen;
    double comm_now, comm_epoch; /* the run's exchange time: now, at the epoch's start */
    /* the run's time in jobs, its integral of the thread count, the count's
     * changes: now and at the epoch's start; the last change's reason */
    double busy_now, busy_epoch, thread_now, thread_epoch;
    double read_epoch, read_s_epoch; /* the stages' bytes and seconds then */
    size_t changes_now, changes_epoch;
    const char *why;
} fit_state;

/* Rows of step `step`: the batch, or what is left for the last one. */
static size_t step_rows(const fit_state *f, size_t step)
{
    size_t b0 = step * f->batch;
    return f->n_train - b0 < f->batch ? f->n_train - b0 : f->batch;
}

static void next_step(fit_state *f, ot__job *job)
{
    size_t b0 = f->step * f->batch;
    job->kind = OT__JOB_STEP;
    job->rows = (ot__rows){f->train, f->train_idx, b0, step_rows(f, f->step), f->train_w};
    if (f->step + 1 < f->steps)
        job->ahead = (ot__rows){f->train, f->train_idx, b0 + f->batch,
                                step_rows(f, f->step + 1), f->train_w};
    job->opt = ot__optimizer_prepare(&f->m->opt.cfg, f->m->opt.iterations + 1,
                                     f->epoch - 1);
}

/* After an epoch's steps: its validation pass, or a pause for its end. */
static void epoch_tail(fit_state *f, ot__job *job)
{
    f->t_train = ot__now() - f->t_epoch;
    if (f->n_val > 0) {
        job->kind = OT__JOB_FORWARD;
        job->rows = (ot__rows){f->val, f->val_idx, 0, f->n_val, f->val_w};
        job->with_loss = 1;
    } else {
        job->kind = OT__JOB_PAUSE;
    }
}

static void begin_epoch(fit_state *f, size_t epoch, ot__job *job)
{
    ot_model *m = f->m;
    f->epoch = epoch;
    /* The order of epoch e depends on (seed, e) only, so a resumed run
     * sees the same batches as an uninterrupted one. */
    if (f->cfg->shuffle) {
        ot__rng rng;
        ot__rng_seed(&rng, ot__rng_derive(f->cfg->seed, epoch));
        memcpy(f->train_idx, f->train_base, f->n_train * sizeof *f->train_idx);
        ot__rng_shuffle(&rng, f->train_idx, f->n_train);
    }
    /* a fit stopped inside this epoch takes up where it was */
    int resumed = epoch == f->first_epoch && f->first_step > 0;
    /* what an update that breaks the weights falls back to */
    memcpy(f->backup, m->params, m->arena_len * sizeof(float));
    if (m->opt.slots > 0)
        memcpy(f->backup + m->arena_len, m->opt.state,
               m->opt.slots * m->arena_len * sizeof(float));
    f->backup_iterations = m->opt.iterations;
    f->sums = resumed ? m->part : (ot__sums){{0.0}};
    f->seen = resumed ? m->part_seen : 0;
    f->t_epoch = ot__now();
    f->comm_epoch = f->comm_now;
    f->busy_epoch = f->busy_now;
    f->thread_epoch = f->thread_now;
    f->changes_epoch = f->changes_now;
    ot__stages_stats(&f->stages, &f->read_epoch, &f->read_s_epoch);
    f->step = epoch == f->first_epoch ? f->first_step : 0;
    /* streamed data: the epoch's rows in the order its jobs gather them */
    size_t b0 = f->step * f->batch;
    ot_status st = ot__stage_post(f->train, f->train_idx, b0, f->n_train - b0,
                                  ot__stage_chunk(f->train, f->batch), f->train_part);
    if (st == OT_OK && f->n_val > 0 && f->val->stage)
        st = ot__stage_post(f->val, f->val_idx, 0, f->n_val, ot__stage_chunk(f->val, f->batch),
                            f->val_part);
    if (st != OT_OK) {
        f->fail = st;
        f->stop = 1;
        ot__error_copy(f->fail_msg, sizeof f->fail_msg);
        job->status = st; /* OT__JOB_END: every rank stops with it */
    } else if (f->step < f->steps) {
        next_step(f, job);
    } else {
        epoch_tail(f, job);
    }
}

/* The account of a step, before the barrier that ends it. */
static void step_done(fit_state *f, const ot__job *done, const ot__job_result *res)
{
    ot_model *m = f->m;
    const ot_fit_config *cfg = f->cfg;
    f->done_epoch = f->epoch;
    f->done_step = f->step + 1;
    if (res->bad) {
        f->fail = OT_NON_FINITE; /* unless a thread failed: the run says */
        f->stop = 1;
        return;
    }
    for (size_t k = 0; k < OT__SUMS; k++)
        f->sums.v[k] += res->sums.v[k];
    f->seen += done->rows.rows;
    m->opt.iterations++;
    m->steps_in_epoch = f->step + 1;
    m->part = f->sums;
    m->part_seen = f->seen;
    if (cfg->on_step) {
        ot_step_metrics sm = {f->epoch, f->step + 1, f->steps,
                              f->sums.v[0] / (double)f->seen, 0.0,
                              ot__now() - f->t_epoch, m->opt.iterations,
                              ot__optimizer_lr(&m->opt.cfg, m->opt.iterations, f->epoch - 1),
                              m->metrics.n, {0.0}};
        ot__metric_values(m, &f->sums, (double)f->seen, sm.metrics);
        sm.metric = sm.metrics[0];
        if (cfg->on_step(&sm, cfg->user))
            f->stop = 1;
    }
    if (atomic_exchange(&m->cancel, 0)) {
        f->stop = 1;
        f->fail = OT_CANCELLED;
        snprintf(f->fail_msg, sizeof f->fail_msg, "fit: cancelled after step %zu of epoch "
                 "%zu; ot_model_resume_config continues from there", f->step + 1, f->epoch);
    }
}

/* The end of an epoch: record it, then fit control; val: the validation
 * pass's sums, or NULL. */
static void end_epoch(fit_state *f, const ot__job_result *val)
{
    ot_model *m = f->m;
    ot_epoch_metrics *e = &f->hist->epochs[f->hist->len++];
    e->epoch = f->epoch;
    e->loss = f->sums.v[0] / (double)f->seen;
    e->n_metrics = m->metrics.n;
    ot__metric_values(m, &f->sums, (double)f->seen, e->metrics);
    e->val_loss = NAN;
    for (size_t k = 0; k < OT_METRICS_MAX; k++)
        e->val_metrics[k] = NAN;
    if (val != NULL) {
        e->val_loss = val->sums.v[0] / (double)f->n_val;
        ot__metric_values(m, &val->sums, (double)f->n_val, e->val_metrics);
    }
    e->metric = e->metrics[0];
    e->val_metric = e->val_metrics[0];
    e->learning_rate = ot__optimizer_lr(&m->opt.cfg, m->opt.iterations, f->epoch - 1);
    e->seconds = ot__now() - f->t_epoch;
    e->samples_per_second = f->t_train > 0 ? (double)f->n_train / f->t_train : 0.0;
    e->comm_seconds = f->comm_now - f->comm_epoch;
    double busy = f->busy_now - f->busy_epoch;
    e->threads = busy > 0 ? (f->thread_now - f->thread_epoch) / busy : 0.0;
    e->thread_changes = f->changes_now - f->changes_epoch;
    e->thread_change = f->why != NULL ? f->why : "";
    ot__stages_stats(&f->stages, &e->bytes_read, &e->read_seconds);
    e->bytes_read -= f->read_epoch;
    e->read_seconds -= f->read_s_epoch;
    m->epochs = f->epoch;
    m->steps_in_epoch = 0;
    m->part = (ot__sums){{0.0}};
    m->part_seen = 0;
    if (ot__control_epoch(&f->ctl, m, e, f->hist, &f->fail)) {
        f->stop = 1;
        if (f->fail != OT_OK)
            ot__error_copy(f->fail_msg, sizeof f->fail_msg);
    }
    e->thread_change = ""; /* the engine's words: the history outlives it */
}

static void fit_driver(void *user, const ot__job *done, const ot__job_result *res,
                       ot__job *next)
{
    fit_state *f = user;
    memset(next, 0, sizeof *next); /* OT__JOB_END unless said otherwise */
    if (res != NULL) {
        f->comm_now = res->comm_seconds;
        f->busy_now = res->busy_seconds;
        f->thread_now = res->thread_seconds;
        f->changes_now = res->switches;
        f->why = res->why;
    }
    if (done == NULL) {
        begin_epoch(f, f->first_epoch, next);
        return;
    }
    if (done->kind == OT__JOB_STEP) {
        step_done(f, done, res);
        if (f->fail == OT_CANCELLED) /* every rank stops with it */
            next->status = ot__fail(f->fail, "%s", f->fail_msg);
        if (f->stop)
            return;
        if (++f->step < f->steps)
            next_step(f, next);
        else
            epoch_tail(f, next);
        return;
    }
    if (res->bad) /* the validation pass failed: the run says why */
        return;
    end_epoch(f, done->kind == OT__JOB_FORWARD ? res : NULL);
    if (f->fail != OT_OK) /* a file not written: every rank stops with it */
        next->status = ot__fail(f->fail, "%s", f->fail_msg);
    else if (!f->stop && f->epoch < f->last_epoch)
        begin_epoch(f, f->epoch + 1, next);
}

/* The seeded split (like train_test_split's shuffle) into perm, of N + the
 * training part's rows; the training part in its original order is the
 * base every epoch's shuffle starts from. */
static ot_status split(fit_state *f, uint32_t **perm_out)
{
    const ot_fit_config *cfg = f->cfg;
    const ot_dataset *train = f->train;
    size_t N = f->rows ? f->rows->n_train + f->rows->n_val : train->n;
    size_t n_val = N - f->n_train;
    uint32_t *perm = ot__alloc(N + f->n_train, sizeof *perm, "sample order");
    if (perm == NULL)
        return OT_OUT_OF_MEMORY;
    for (size_t i = 0; i < N; i++)
        perm[i] = (uint32_t)i;
    /* a part of the same data keeps its rows' weights, as Keras splits
     * sample_weight with x and y */
    f->train_w = f->val_w = cfg->sample_weight;
    if (f->rows != NULL) {
        memcpy(perm, f->rows->val, n_val * sizeof *perm);
        memcpy(perm + n_val, f->rows->train, f->n_train * sizeof *perm);
        f->val = train;
        f->val_idx = n_val > 0 ? perm : NULL;
        f->n_val = n_val;
    } else if (n_val > 0) {
        ot__rng rng;
        ot__rng_seed(&rng, cfg->seed);
        ot__rng_shuffle(&rng, perm, N);
        qsort(perm + n_val, f->n_train, sizeof *perm, cmp_u32);
        f->val = train;
        f->val_idx = perm;
        f->n_val = n_val;
    } else if (cfg->validation_data != NULL) {
        f->val = cfg->validation_data;
        f->val_w = cfg->validation_sample_weight;
        f->val_idx = NULL;
        f->n_val = f->val->n;
    }
    f->train_idx = perm + n_val;
    f->train_base = perm + N;
    memcpy(f->train_base, f->train_idx, f->n_train * sizeof *perm);
    *perm_out = perm;
    return OT_OK;
}

/* Feature scaling fitted on the training part, unless the model has it. */
static ot_status fit_scaling(fit_state *f)
{
    ot_model *m = f->m;
    if (f->cfg->scaling == OT_SCALING_NONE || m->scaling != OT_SCALING_NONE)
        return OT_OK;
    float *st = ot__alloc(2 * m->input_dim, sizeof(float), "feature scaling");
    if (st == NULL)
        return OT_OUT_OF_MEMORY;
    ot_status status = ot__dataset_fit_scaling(f->train, f->train_idx, f->n_train,
                                               f->cfg->scaling, st, st + m->input_dim);
    if (status == OT_OK)
        status = ot__model_set_scaling(m, f->cfg->scaling, st, st + m->input_dim);
    ot__free(st);
    return status;
}

/* The engine's run over the fit's batch lengths, and the status it ends
 * with, the driver's own failures included. */
static ot_status run(fit_state *f, int T, size_t S, const ot__engine_options *opt)
{
    ot_model *m = f->m;
    ot__engine e;
    ot_status status = ot__engine_open(&e, m, T, S, f->batch, 1, opt);
    if (status != OT_OK)
        return status;
    if (f->cfg->threads == 0)
        ot__engine_adapt(&e);
    if (f->cfg->elastic == OT_ELASTIC_ON ||
        (f->cfg->elastic == OT_ELASTIC_AUTO && f->cfg->threads == 0))
        ot__engine_elastic(&e);
    const size_t B = f->batch;
    size_t train_lens[2] = {B, f->n_train % B};
    ot__engine_add_data(&e, f->train);
    ot__engine_add_data(&e, f->val);
    status = ot__engine_add_steps(&e, train_lens, 2);
    ot__engine_add_ranks(&e, f->ranks);
    if (f->n_val >= B)
        ot__engine_add_length(&e, B);
    ot__engine_add_length(&e, f->n_val % B);
    if (f->ranks->size > 1) { /* a rank reads only the rows its shards gather */
        f->part = (ot__stage_part){B, S, 0, 0};
        ot__ranks_shards(f->ranks->rank, f->ranks->size, S, &f->part.lo, &f->part.hi);
        f->val_part = &f->part;
        /* a step cut by units gathers the whole batch on every thread */
        f->train_part = ot__units_len(&e, B) >= 0 ||
                                (f->n_train % B && ot__units_len(&e, f->n_train % B) >= 0)
                            ? NULL
                            : &f->part;
    }
    if (status == OT_OK)
        status = ot__engine_run(&e, fit_driver, f);
    int broke = e.weights_broke;
    ot__engine_close(&e);
    if (status == OT_OK && f->fail == OT_NON_FINITE)
        status = ot__fail(OT_NON_FINITE, "epoch %zu, step %zu: the loss is not "
                          "finite; the weights of the last good step are kept",
                          f->done_epoch, f->done_step);
    else if (status == OT_OK && f->fail != OT_OK)
        status = ot__fail(f->fail, "%s", f->fail_msg);
    if (broke) {
        /* back to the start of the epoch: weights, optimizer state, count */
        memcpy(m->params, f->backup, m->arena_len * sizeof(float));
        if (m->opt.slots > 0)
            memcpy(m->opt.state, f->backup + m->arena_len,
                   m->opt.slots * m->arena_len * sizeof(float));
        m->opt.iterations = f->backup_iterations;
        m->steps_in_epoch = 0;
        m->part = (ot__sums){{0.0}};
        m->part_seen = 0;
        if (status == OT_OK)
            status = ot__fail(OT_NON_FINITE, "epoch %zu, step %zu: the update made "
                              "weights non-finite; the weights and optimizer state "
                              "of the start of epoch %zu are kept",
                              f->done_epoch, f->done_step, f->done_epoch);
    }
    return status;
}

/* The fit's sizes from its config and data: threads, shards, the split,
 * the batch, the steps, where it starts. Changes nothing but *f. */
static ot_status plan(fit_state *f, int *T, size_t *S)
{
    const ot_fit_config *cfg = f->cfg;
    const ot_model *m = f->m;
    ot_status status;
    if ((status = ot__fit_check(m, f->train, cfg)) != OT_OK)
        return status;
    /* a model that has been trained keeps its shard count, and so its
     * results, unless told otherwise */
    size_t shards = cfg->shards == 0 && m->has_fit ? m->fit_shards : cfg->shards;
    if ((status = ot__engine_resolve(cfg->threads, shards, T, S)) != OT_OK)
        return status;
    /* by default `epochs` more after the model's own, as a second fit trains
     * in Keras; with initial_epoch, up to epoch `epochs` */
    int more = cfg->initial_epoch == SIZE_MAX;
    f->first_epoch = (more ? m->epochs : cfg->initial_epoch) + 1;
    f->last_epoch = more ? m->epochs + cfg->epochs : cfg->epochs;
    size_t N = f->train->n;
    size_t n_val = 0;
    if (f->rows != NULL) {
        if ((status = ot__fit_rows_check(f->train, cfg, f->rows)) != OT_OK)
            return status;
        N = f->rows->n_train + f->rows->n_val;
        n_val = f->rows->n_val;
    } else if (cfg->validation_split > 0.0) {
        n_val = (size_t)ceil(cfg->validation_split * (double)N);
    }
    if (n_val >= N)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation_split %g of %zu "
                        "samples leaves none to train on",
                        cfg->validation_split, N);
    f->n_train = N - n_val;
    /* A batch larger than the training part is all of it, one step an
     * epoch, as in Keras; the buffers are sized by the rows a step has. */
    f->batch = cfg->batch_size < f->n_train ? cfg->batch_size : f->n_train;
    f->steps = (f->n_train + f->batch - 1) / f->batch;
    if (shards == 0 && *S > f->batch) /* the default: at most a shard a sample */
        *S = f->batch;
    /* a fit stopped inside an epoch continues there, unless told otherwise */
    if (f->first_epoch == m->epochs + 1)
        f->first_step = m->steps_in_epoch;
    if (f->first_step > f->steps)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: the model stopped after step "
                        "%zu of epoch %zu; this data and batch size make %zu "
                        "steps an epoch", f->first_step, f->first_epoch, f->steps);
    return OT_OK;
}

/* A fit over the ranks r (one without MPI). */
static ot_status fit(ot_model *m, const ot_dataset *train, const ot__fit_rows *rows,
                     const ot_fit_config *cfg, const ot__engine_options *opt,
                     const ot__ranks *r, ot_history **history)
{
    fit_state f;
    memset(&f, 0, sizeof f);
    f.m = m;
    f.cfg = cfg;
    f.train = train;
    f.ranks = r;
    f.rows = rows;
    int T = 1;
    size_t S = 1;
    uint32_t *perm = NULL, *fold_rows = NULL;
    ot__fit_rows folds;
    ot_status status = OT_OK;
    if (rows == NULL && cfg != NULL && train != NULL && cfg->validation_folds > 0 &&
        (status = ot__folds_for_fit(train, cfg, &fold_rows, &folds)) == OT_OK)
        f.rows = &folds;
    /* every rank goes on, or none: a rank that fails alone would leave the
     * others waiting for it */
    if (status == OT_OK)
        status = plan(&f, &T, &S);
    status = ot__ranks_agree(r, status, 0u, NULL);
    if (status == OT_OK && r->size > 1)
        status = ot__fit_same(m, cfg, f.train, f.first_epoch, f.first_step, f.batch, r, T,
                              &S);
    /* a shard with no rows would still hold its buffers: none is made */
    if (status == OT_OK && S > f.batch)
        status = ot__fail(OT_INVALID_ARGUMENT, "fit: %zu shards%s for a batch of %zu%s: at "
                        "most one shard per sample", S,
                        cfg->shards == 0 && m->has_fit ? " (the model's own, from its last "
                                                         "fit: set shards to change it)"
                                                       : "",
                        f.batch, f.batch < cfg->batch_size ? " (all the training samples)"
                                                           : "");
    /* refused before anything large is allocated, every rank alike */
    if (status == OT_OK)
        status = ot__fit_memory_check(ot__fit_memory(m, f.batch, S, T, f.n_train + f.n_val));
    status = ot__ranks_agree(r, status, 0u, NULL);
    if (status != OT_OK) {
        ot__free(fold_rows);
        return status;
    }
    m->has_fit = 1;
    m->fit_batch = cfg->batch_size;
    m->fit_shards = S;
    m->fit_epochs = f.last_epoch;
    m->fit_seed = cfg->seed;
    m->fit_split = cfg->validation_split;
    m->fit_folds = cfg->validation_folds;
    m->fit_fold = cfg->validation_fold;
    m->fit_shuffle = cfg->shuffle;

    status = split(&f, &perm);
    if (status == OT_OK)
        status = fit_scaling(&f);
    if (status == OT_OK)
        status = ot__history_new(&f.hist, f.last_epoch - f.first_epoch + 1, &m->metrics);
    if (status == OT_OK) {
        f.backup = ot__alloc((1 + m->opt.slots) * m->arena_len, sizeof(float),
                             "epoch backup");
        if (f.backup == NULL)
            status = OT_OUT_OF_MEMORY;
    }
    if (status == OT_OK)
        status = ot__control_open(&f.ctl, m, cfg);
    f.ctl.writer = r->rank == 0;
    if (status == OT_OK)
        status = ot__stages_open(&f.stages, &f.train, &f.val, f.batch);
    if ((status = ot__ranks_agree(r, status, 0u, NULL)) == OT_OK) {
        m->class_w = cfg->class_weight; /* the training steps' loss reads it */
        status = run(&f, T, S, opt);
        m->class_w = NULL;
        ot__control_finish(&f.ctl, m, f.hist);
    }
    ot__stages_close(&f.stages);
    ot__control_close(&f.ctl);
    ot__free(f.backup);
    if (history != NULL)
        *history = f.hist; /* on failure: the epochs finished before it */
    else
        ot_history_destroy(f.hist);
    ot__free(perm);
    ot__free(fold_rows);
    return status;
}

ot_status ot__fit_on_rows(ot_model *m, const ot_dataset *train, const ot__fit_rows *rows,
                       const ot_fit_config *cfg, const ot__engine_options *opt,
                       ot_history **history)
{
    if (history)
        *history = NULL;
    ot__ranks r;
    ot_status status = ot__ranks_open(&r, cfg != NULL ? cfg->comm : NULL);
    if (status == OT_OK)
        status = fit(m, train, rows, cfg, opt, &r, history);
    ot__ranks_close(&r);
    return status;
}

ot_status ot__fit(ot_model *m, const ot_dataset *train, const ot_fit_config *cfg,
                  const ot__engine_options *opt, ot_history **history)
{
    return ot__fit_on_rows(m, train, NULL, cfg, opt, history);
}

int ot_mpi_available(void) { return ot__ranks_built(); }

ot_status ot_model_fit(ot_model *m, const ot_dataset *train,
                       const ot_fit_config *cfg, ot_history **history)
{
    return ot__fit(m, train, cfg, NULL, history);
}
