/*
 * calibrate.c - ot_model_choose_threads: the thread count that trains this
 * model on this data fastest, timed on short fits of a copy of the model.
 */
#include <string.h>

#include "engine.h"

typedef struct calib {
    size_t steps, warmup;
    double seconds, t0, t1;
} calib;

static int calib_step(const ot_step_metrics *s, void *user)
{
    (void)s;
    calib *c = user;
    if (++c->steps == c->warmup)
        c->t0 = ot__now();
    if (c->steps > c->warmup && ot__now() - c->t0 >= c->seconds) {
        c->t1 = ot__now();
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
    /* inside a caller's parallel region there may be one thread to time */
    int cores = ot__engine_team_limit(), limit = cores;
    if (shards > 0 && (size_t)limit > shards)
        limit = (int)shards;
    int cand[16], n = 0;
    for (int t = 1; t <= limit && n < 15; t *= 2)
        cand[n++] = t;
    if (cand[n - 1] != limit)
        cand[n++] = limit;
    /* Rounds interleave the candidates, and each counts its best round:
     * on a shared machine noise only ever slows a round down, and one slow
     * timing of the right count is outvoted. */
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
                c.t1 = ot__now();
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
