/*
 * search.c - hyper-parameter search (ot_search_*): every candidate fitted on
 * every split of the data, several fits at once, as scikit-learn's
 * GridSearchCV does with n_jobs.
 *
 * The work is a list of items, (group, split): a group is the candidates
 * that differ only in their epochs, fitted once up to the most of them and
 * scored at each one's epoch from the fit's history (each epoch validates
 * on the held-out part). `jobs` worker threads take the items in order,
 * each fit with its own OpenMP team of `threads` (the engine's). A fit
 * depends on its candidate, split and data only: its shards are the
 * candidate's, never the jobs' or threads', so the scores are the same
 * bits for any plan. The data is shared read-only; a split is an index
 * list into it (folds.c); a finished fit frees its model.
 *
 * Over MPI ranks (config.comm) the items go in rounds of ranks x jobs, item
 * j of a round on rank j % ranks; after each round every rank has every
 * fit's outcome (search_ranks.c) and records them all, in item order, so
 * that every rank holds the same results as one process would.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "folds.h"
#include "model.h"
#include "search.h"


ot_search_config ot_search_config_default(void)
{
    ot_search_config c;
    memset(&c, 0, sizeof c);
    c.cv = 3;
    c.error_score = NAN;
    return c;
}

/* Whether a and b differ in nothing but their epochs. */
static int same_but_epochs(const ot_search_candidate *a, const ot_search_candidate *b)
{
    if (a->n_layers != b->n_layers || a->loss != b->loss)
        return 0;
    for (size_t l = 0; l < a->n_layers; l++)
        if (a->layers[l].kind != b->layers[l].kind || a->layers[l].units != b->layers[l].units ||
            a->layers[l].activation != b->layers[l].activation ||
            a->layers[l].initializer != b->layers[l].initializer)
            return 0;
    const ot_optimizer_config *p = &a->optimizer, *q = &b->optimizer;
    if (p->kind != q->kind || p->learning_rate != q->learning_rate ||
        p->momentum != q->momentum || p->nesterov != q->nesterov || p->beta1 != q->beta1 ||
        p->beta2 != q->beta2 || p->epsilon != q->epsilon || p->amsgrad != q->amsgrad ||
        p->rho != q->rho || p->centered != q->centered ||
        p->initial_accumulator != q->initial_accumulator ||
        p->schedule.kind != q->schedule.kind ||
        p->schedule.decay_rate != q->schedule.decay_rate ||
        p->schedule.decay_steps != q->schedule.decay_steps ||
        p->schedule.decay_epochs != q->schedule.decay_epochs ||
        p->schedule.staircase != q->schedule.staircase)
        return 0;
    const ot_fit_config *f = &a->fit, *g = &b->fit;
    return f->batch_size == g->batch_size && f->seed == g->seed && f->shuffle == g->shuffle &&
           f->scaling == g->scaling && f->shards == g->shards && !f->early_stopping.enabled &&
           !g->early_stopping.enabled;
}

/* A candidate's model compiled, reporting the search's scoring metric. */
static ot_status compile(const ot_search *s, ot_model *m, const ot_search_candidate *c)
{
    ot_status st = ot_model_compile(m, c->loss, &c->optimizer);
    if (st == OT_OK && s->has_scoring)
        st = ot_model_set_metrics(m, &s->scoring, 1);
    return st;
}

/* Candidate i: its fit config is one the search can take, its model is one
 * the data fits. */
static ot_status check_candidate(ot_search *s, size_t i)
{
    const ot_search_candidate *c = &s->cands[i];
    const ot_fit_config *f = &c->fit;
    if (c->layers == NULL || c->n_layers == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "search: candidate %zu has no layers", i);
    if (f->validation_split != 0.0 || f->validation_data || f->validation_folds ||
        f->validation_sample_weight || f->validation_sample_weights ||
        f->initial_epoch != SIZE_MAX || f->best_model_path || f->checkpoint_path ||
        f->on_epoch || f->on_step || f->comm)
        return ot__fail(OT_INVALID_ARGUMENT, "search: candidate %zu sets its own validation, "
                        "initial_epoch, paths, callbacks or comm: the search sets them", i);
    if ((f->sample_weight != NULL || f->sample_weights != 0) &&
        (f->sample_weight == NULL || f->sample_weights != s->data->n))
        return ot__fail(OT_INVALID_ARGUMENT, "search: candidate %zu: %zu sample weights for "
                        "the data's %zu samples", i, f->sample_weights, s->data->n);
    if (f->batch_size == 0 || f->epochs == 0 || f->epochs > 1000000)
        return ot__fail(OT_INVALID_ARGUMENT, "search: candidate %zu: batch_size %zu, epochs "
                        "%zu", i, f->batch_size, f->epochs);
    int sign = strcmp(ot_loss_metric_name(c->loss), "accuracy") == 0 ? 1 : -1;
    if (s->has_scoring)
        sign = ot_metric_higher_is_better(s->scoring) ? 1 : -1;
    else if (i > 0 && sign != s->sign)
        return ot__fail(OT_INVALID_ARGUMENT, "search: candidate %zu scores by %s, candidate 0 "
                        "by %s: one metric a search", i, ot_loss_metric_name(c->loss),
                        ot_loss_metric_name(s->cands[0].loss));
    s->sign = sign;
    ot_model *m = NULL;
    ot_status status = ot_model_create(&m, s->data->dim, c->layers, c->n_layers, f->seed);
    if (status == OT_OK)
        status = compile(s, m, c);
    if (status == OT_OK)
        status = ot__dataset_check(s->data, m, "search: the data", 1);
    ot_model_destroy(m);
    char why[512];
    ot__error_copy(why, sizeof why);
    if (status != OT_OK)
        return ot__fail(status, "search: candidate %zu: %s", i, why);
    return OT_OK;
}

/* The splits' sizes, the groups, the work items and the plan. */
static ot_status prepare(ot_search *s)
{
    const size_t N = s->data->n;
    if (s->cfg.validation_split > 0.0) {
        size_t n_val = (size_t)ceil(s->cfg.validation_split * (double)N);
        if (n_val >= N)
            return ot__fail(OT_INVALID_ARGUMENT, "search: validation_split %g of %zu samples "
                            "leaves none to train on", s->cfg.validation_split, N);
        s->n_train[0] = N - n_val;
    } else {
        uint32_t *rows = ot__alloc(N, sizeof *rows, "fold rows");
        if (rows == NULL)
            return OT_OUT_OF_MEMORY;
        for (size_t k = 0; k < s->splits; k++) {
            size_t n_val = 0;
            ot_status status = ot__folds_rows(s->data, s->splits, k, rows, &n_val);
            if (status != OT_OK) {
                ot__free(rows);
                return status;
            }
            s->n_train[k] = N - n_val;
        }
        ot__free(rows);
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t g = i;
        for (size_t j = 0; j < i && g == i; j++)
            if (s->group[j] == j && same_but_epochs(&s->cands[j], &s->cands[i]))
                g = j;
        s->group[i] = g;
        s->left[i] = s->splits;
    }
    size_t groups = 0;
    for (size_t i = 0; i < s->n; i++)
        groups += s->group[i] == i;
    int cores = ot_default_threads();
    const size_t R = (size_t)s->ranks.size;
    size_t work = (groups * s->splits + R - 1) / R; /* this rank's share */
    int jobs = s->cfg.jobs, threads = s->cfg.threads;
    if (jobs == 0 && threads == 0)
        jobs = (int)(work < (size_t)cores ? work : (size_t)cores);
    if (jobs == 0)
        jobs = cores / threads > 0 ? cores / threads : 1;
    if (threads == 0)
        threads = cores / jobs > 0 ? cores / jobs : 1;
    s->jobs = jobs;
    s->threads = threads;
    return OT_OK;
}

ot_status ot_search_create(ot_search **out, const ot_dataset *data,
                           const ot_search_candidate *candidates, size_t n,
                           const ot_search_config *cfg)
{
    if (out == NULL || data == NULL || candidates == NULL || cfg == NULL || n == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "search: out, data, candidates and config must "
                        "not be NULL, and one candidate at least");
    *out = NULL;
    if (!(cfg->validation_split >= 0.0 && cfg->validation_split < 1.0))
        return ot__fail(OT_INVALID_ARGUMENT, "search: validation_split %g must be in [0, 1)",
                        cfg->validation_split);
    if (cfg->jobs < 0 || cfg->jobs > 1024 || cfg->threads < 0 || cfg->threads > 1024)
        return ot__fail(OT_INVALID_ARGUMENT, "search: jobs %d and threads %d must be in "
                        "0..1024", cfg->jobs, cfg->threads);
    ot_status status;
    ot_metric scoring = OT_METRIC_ACCURACY;
    if (cfg->scoring != NULL && ot_metric_parse(cfg->scoring, &scoring) != OT_OK) {
        char why[512];
        ot__error_copy(why, sizeof why);
        return ot__fail(OT_INVALID_ARGUMENT, "search: scoring: %s", why);
    }
    if (cfg->validation_split == 0.0 && (status = ot__folds_check(data, cfg->cv)) != OT_OK) {
        char why[512];
        ot__error_copy(why, sizeof why);
        return ot__fail(status, "search: cv %zu: %s", cfg->cv, why);
    }
    ot_search *s = ot__calloc(1, sizeof *s, "search");
    if (s == NULL)
        return OT_OUT_OF_MEMORY;
    s->data = data;
    s->cfg = *cfg;
    s->cfg.scoring = NULL; /* borrowed: parsed here */
    s->has_scoring = cfg->scoring != NULL;
    s->scoring = scoring;
    s->n = n;
    s->splits = cfg->validation_split > 0.0 ? 1 : cfg->cv;
    size_t n_layers = 0;
    for (size_t i = 0; i < n; i++)
        n_layers += candidates[i].layers ? candidates[i].n_layers : 0;
    const size_t ns = n * s->splits;
    s->cands = ot__calloc(n, sizeof *s->cands, "search candidates");
    s->layers = ot__calloc(n_layers + 1, sizeof *s->layers, "search layers");
    s->group = ot__calloc(2 * n + s->splits, sizeof(size_t), "search groups");
    s->scores = ot__calloc(3 * ns + 12 * n, sizeof(double), "search scores");
    s->done = ot__calloc(ns, 1, "search progress");
    s->error = ot__calloc(n, sizeof *s->error, "search errors");
    s->rank = ot__calloc(n, sizeof *s->rank, "search ranks");
    s->items = ot__calloc(ns, sizeof *s->items, "search work");
    s->curve_at = ot__calloc(n + 1, sizeof *s->curve_at, "search curves");
    for (size_t i = 0; s->curve_at && i < n; i++)
        s->curve_at[i + 1] = s->curve_at[i] +
                             (candidates[i].fit.epochs <= 1000000 ? candidates[i].fit.epochs : 0);
    s->curve = s->curve_at ? ot__calloc(s->curve_at[n] + 1, sizeof *s->curve, "search curves")
                           : NULL;
    s->split_curve = s->curve_at ? ot__calloc(s->curve_at[n] * s->splits + 1, sizeof(double),
                                              "search curves")
                                 : NULL;
    s->error_split = ot__calloc(n, sizeof *s->error_split, "search errors");
    if (!s->cands || !s->layers || !s->group || !s->scores || !s->done || !s->error ||
        !s->rank || !s->items || !s->curve || !s->split_curve || !s->error_split) {
        ot_search_destroy(s);
        return OT_OUT_OF_MEMORY;
    }
    s->left = s->group + n;
    s->n_train = s->group + 2 * n;
    s->fit_s = s->scores + ns;
    s->score_s = s->scores + 2 * ns;
    s->stats = s->scores + 3 * ns;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        ot_search_destroy(s);
        return ot__fail(OT_OUT_OF_MEMORY, "search: no mutex");
    }
    s->has_lock = 1;
    for (size_t i = 0; i < n; i++)
        s->error_split[i] = SIZE_MAX;
    /* collective over the ranks, which then all go on or all fail */
    if ((status = ot__ranks_open(&s->ranks, cfg->comm)) != OT_OK) {
        ot_search_destroy(s);
        return status;
    }
    ot_layer *l = s->layers;
    for (size_t i = 0; i < n && status == OT_OK; i++) {
        s->cands[i] = candidates[i];
        if (candidates[i].layers) {
            memcpy(l, candidates[i].layers, candidates[i].n_layers * sizeof *l);
            s->cands[i].layers = l;
            l += candidates[i].n_layers;
        }
        status = check_candidate(s, i);
    }
    if (status == OT_OK)
        status = prepare(s);
    status = ot__ranks_agree(&s->ranks, status, 0u, NULL);
    if (status != OT_OK) {
        ot_search_destroy(s);
        return status;
    }
    *out = s;
    return OT_OK;
}

static int step_check(const ot_step_metrics *m, void *user)
{
    (void)m;
    return atomic_load_explicit(&((ot_search *)user)->cancelled, memory_order_relaxed);
}

/* The most epochs of group g's candidates that split k has still to do;
 * 0 when none. */
static size_t epochs_to_do(const ot_search *s, size_t g, size_t k)
{
    size_t e = 0;
    for (size_t i = g; i < s->n; i++)
        if (s->group[i] == g && !s->done[i * s->splits + k] && s->cands[i].fit.epochs > e)
            e = s->cands[i].fit.epochs;
    return e;
}

/* Fits item `it`, group g on split k, into o (o->em: ot__fit_outcome_free). */
static void fit_item(ot_search *s, size_t it, ot__fit_outcome *o)
{
    const size_t g = it / s->splits, k = it % s->splits;
    const ot_search_candidate *c = &s->cands[g];
    ot_fit_config fc = c->fit;
    fc.epochs = epochs_to_do(s, g, k);
    fc.threads = s->threads;
    fc.elastic = OT_ELASTIC_OFF;
    fc.shards = c->fit.shards ? c->fit.shards : (size_t)ot_default_threads();
    if (s->cfg.validation_split > 0.0) {
        fc.validation_split = s->cfg.validation_split;
    } else {
        fc.validation_folds = s->splits;
        fc.validation_fold = k;
    }
    fc.on_step = step_check;
    fc.user = s;
    ot_model *m = NULL;
    ot_history *h = NULL;
    ot_status st = ot_model_create(&m, s->data->dim, c->layers, c->n_layers, c->fit.seed);
    if (st == OT_OK)
        st = compile(s, m, c);
    if (st == OT_OK)
        st = ot_model_fit(m, s->data, &fc, &h);
    *o = (ot__fit_outcome){.item = it, .status = st};
    snprintf(o->msg, sizeof o->msg, "%s", st == OT_OK ? "" : ot_last_error());
    ot_model_destroy(m);
    o->epochs = h ? ot_history_length(h) : 0;
    o->best = o->epochs ? ot_history_best_epoch(h) : 0;
    if (o->epochs > 0 &&
        (o->em = ot__alloc(3 * o->epochs, sizeof *o->em, "search outcome")) == NULL) {
        o->epochs = 0;
        o->status = OT_OUT_OF_MEMORY;
        snprintf(o->msg, sizeof o->msg, "out of memory for the fit's history");
    }
    for (size_t j = 0; j < o->epochs; j++) {
        const ot_epoch_metrics *em = ot_history_epoch(h, j);
        o->em[3 * j] = em->val_metric;
        o->em[3 * j + 1] = em->samples_per_second;
        o->em[3 * j + 2] = em->seconds;
    }
    /* a cancelled fit's split is not done: another run fits it again */
    o->done = !atomic_load(&s->cancelled) || (st == OT_OK && o->epochs == fc.epochs);
    ot_history_destroy(h);
}

/* A job: takes this round's items in turn; alone (no ranks) it records
 * each as it ends, over ranks it leaves the outcome in its slot. */
static void *worker(void *arg)
{
    ot_search *s = arg;
    for (;;) {
        if (atomic_load(&s->cancelled))
            break;
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->n_run)
            break;
        if (s->slots != NULL) {
            size_t j = i * (size_t)s->ranks.size + (size_t)s->ranks.rank;
            fit_item(s, s->run[i], &s->slots[j]);
            continue;
        }
        ot__fit_outcome o;
        fit_item(s, s->run[i], &o);
        pthread_mutex_lock(&s->lock);
        ot__search_record(s, &o);
        pthread_mutex_unlock(&s->lock);
        ot__fit_outcome_free(&o);
    }
    return NULL;
}

/* Runs s->run[0..n_run) with the jobs. */
static void run_jobs(ot_search *s)
{
    atomic_store(&s->next, 0);
    int jobs = s->jobs < (int)s->n_run ? s->jobs : (int)s->n_run;
    pthread_t tid[1024];
    int started = 0;
    for (; started + 1 < jobs; started++)
        if (pthread_create(&tid[started], NULL, worker, s) != 0)
            break; /* fewer jobs: the same results */
    worker(s);
    for (int j = 0; j < started; j++)
        pthread_join(tid[j], NULL);
}

/* The items in rounds over the ranks: this rank's items of a round fitted,
 * then every rank's outcomes recorded on every rank in item order; a
 * cancel on any rank stops all after the round. */
static ot_status run_ranks(ot_search *s)
{
    const size_t R = (size_t)s->ranks.size, W = R * (size_t)s->jobs;
    s->slots = ot__calloc(W, sizeof *s->slots, "search outcomes");
    s->run = ot__calloc((size_t)s->jobs, sizeof *s->run, "search work");
    ot_status st = ot__ranks_agree(&s->ranks, s->slots && s->run ? OT_OK : OT_OUT_OF_MEMORY,
                                   0u, NULL);
    for (size_t at = 0; st == OT_OK && at < s->n_items; at += W) {
        const size_t count = s->n_items - at < W ? s->n_items - at : W;
        memset(s->slots, 0, W * sizeof *s->slots);
        s->n_run = 0;
        for (size_t j = (size_t)s->ranks.rank; j < count; j += R)
            s->run[s->n_run++] = s->items[at + j];
        run_jobs(s);
        st = ot__search_share(&s->ranks, s->slots, count);
        for (size_t j = 0; j < count; j++) {
            if (st == OT_OK)
                ot__search_record(s, &s->slots[j]);
            ot__fit_outcome_free(&s->slots[j]);
        }
        int stop = atomic_load(&s->cancelled);
        if (st == OT_OK && (st = ot__ranks_any(&s->ranks, &stop)) == OT_OK && stop)
            atomic_store(&s->cancelled, 1);
        if (stop)
            break;
    }
    ot__free(s->slots);
    ot__free(s->run);
    s->slots = NULL;
    s->run = NULL;
    return st;
}

ot_status ot_search_run(ot_search *s)
{
    if (s == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "search: NULL");
    atomic_store(&s->cancelled, 0);
    s->n_items = 0;
    for (size_t g = 0; g < s->n; g++)
        for (size_t k = 0; k < s->splits; k++)
            if (s->group[g] == g && epochs_to_do(s, g, k) > 0)
                s->items[s->n_items++] = g * s->splits + k;
    ot_status st = OT_OK;
    if (s->ranks.size > 1) {
        st = run_ranks(s);
    } else {
        s->run = s->items;
        s->n_run = s->n_items;
        run_jobs(s);
        s->run = NULL;
    }
    size_t done = 0;
    for (size_t i = 0; i < s->n; i++)
        done += s->left[i] == 0;
    ot__search_rank(s);
    if (st != OT_OK)
        return st;
    if (done < s->n)
        return ot__fail(OT_CANCELLED, "search: cancelled with %zu of %zu candidates done",
                        done, s->n);
    return OT_OK;
}

ot_status ot_search_cancel(ot_search *s)
{
    if (s == NULL)
        return OT_INVALID_ARGUMENT;
    atomic_store(&s->cancelled, 1);
    return OT_OK;
}

void ot_search_plan(const ot_search *s, int *jobs, int *threads)
{
    if (jobs)
        *jobs = s ? s->jobs : 0;
    if (threads)
        *threads = s ? s->threads : 0;
}

ot_status ot_search_refit(const ot_search *s, size_t i, int threads, ot_model **out,
                          ot_history **history)
{
    if (history)
        *history = NULL;
    if (s == NULL || out == NULL || i >= s->n)
        return ot__fail(OT_INVALID_ARGUMENT, "search: refit candidate %zu of %zu", i,
                        s ? s->n : 0);
    *out = NULL;
    const ot_search_candidate *c = &s->cands[i];
    ot_fit_config fc = c->fit;
    fc.threads = threads;
    if (fc.shards == 0)
        fc.shards = (size_t)ot_default_threads();
    /* ot_search_cancel stops a refit too */
    ot_search *w = (ot_search *)s;
    atomic_store(&w->cancelled, 0);
    fc.on_step = step_check;
    fc.user = w;
    fc.comm = s->cfg.comm;
    ot_model *m = NULL;
    ot_status st = ot_model_create(&m, s->data->dim, c->layers, c->n_layers, c->fit.seed);
    if (st == OT_OK)
        st = compile(s, m, c);
    if (st == OT_OK)
        st = ot_model_fit(m, s->data, &fc, history);
    if (st == OT_OK && atomic_load(&w->cancelled))
        st = ot__fail(OT_CANCELLED, "search: the refit of candidate %zu was cancelled", i);
    if (st != OT_OK) {
        ot_model_destroy(m);
        return st;
    }
    *out = m;
    return OT_OK;
}

void ot_search_destroy(ot_search *s)
{
    if (s == NULL)
        return;
    if (s->has_lock)
        pthread_mutex_destroy(&s->lock);
    ot__free(s->cands);
    ot__free(s->layers);
    ot__free(s->group);
    ot__free(s->scores);
    ot__free(s->done);
    ot__free(s->error);
    ot__free(s->rank);
    ot__free(s->items);
    ot__free(s->curve_at);
    ot__free(s->curve);
    ot__free(s->split_curve);
    ot__free(s->error_split);
    ot__ranks_close(&s->ranks);
    ot__free(s);
}
