/*
 * engine.c - a run of the engine (engine.h): its threads, their setup, the
 * loop over the driver's jobs, and the forward pass. The two cuts of a
 * training step are step_rows.c and step_units.c; which of the threads take
 * part, engine_team.c.
 *
 * One parallel region per run. oneDNN primitives run on the calling worker
 * only: inside the region each thread sets the thread count of its own
 * nested level to 1 (an ICV of its implicit task: the caller's setting is
 * untouched) before it creates or runs any primitive. Nothing is allocated
 * and no primitive is created after the setup, and oneDNN's sgemm has
 * generated its code by then (ot__onednn_warm_up).
 */
#include <math.h>
#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "stream.h"

void ot__engine_add_ranks(ot__engine *e, const ot__ranks *r)
{
    if (r == NULL || r->size == 1)
        return;
    e->ranks = r;
    ot__ranks_shards(r->rank, r->size, e->shards, &e->s_lo, &e->s_hi);
    ot__ranks_slice(r->rank, r->size, e->m->arena_len, &e->a_lo, &e->a_hi);
}

void ot__engine_close(ot__engine *e)
{
    if (e->workers)
        for (int t = 0; t < e->threads; t++)
            ot__worker_destroy(&e->workers[t]);
    ot__units_close(e);
    if (e->grads)
        for (size_t s = 0; s < e->shards; s++)
            ot__free(e->grads[s]);
    ot__free(e->workers);
    ot__free(e->grads);
    ot__free(e->shard_sums);
    ot__free(e->setup_status);
    ot__free(e->step_status);
    ot__free(e->weights_bad);
    ot__free(e->team_slots);
    ot__free(e->msg);
    for (size_t i = 0; i < e->n_ubufs; i++)
        ot__free(e->ubufs[i]);
    ot__free(e->ubufs);
    ot__free(e->uc0);
    ot__free(e->uc1);
    if (e->dnnl)
        dnnl_engine_destroy(e->dnnl);
    memset(e, 0, sizeof *e);
}

ot_status ot__engine_open(ot__engine *e, ot_model *m, int threads, size_t shards,
                          size_t batch, int training, const ot__engine_options *opt)
{
    ot_status status = OT_OK;
    memset(e, 0, sizeof *e);
    e->m = m;
    e->threads = threads;
    e->shards = shards;
    e->batch = batch;
    e->training = training;
    if (opt != NULL)
        e->opt = *opt;
    e->s_hi = shards;
    e->a_hi = m->arena_len;
    size_t T = (size_t)threads, S = shards;
    e->workers = ot__calloc(T, sizeof *e->workers, "workers");
    e->shard_sums = ot__calloc(S, sizeof *e->shard_sums, "shard sums");
    e->setup_status = ot__calloc(T, sizeof *e->setup_status, "thread statuses");
    e->step_status = ot__calloc(T, sizeof *e->step_status, "thread statuses");
    e->msg = ot__calloc(T, sizeof *e->msg, "thread messages");
    e->weights_bad = ot__calloc(T, sizeof *e->weights_bad, "thread flags");
    e->team_slots = ot__calloc(T, sizeof *e->team_slots, "team slots");
    if (training)
        e->grads = ot__calloc(S, sizeof *e->grads, "shard gradients");
    if (!e->workers || !e->shard_sums ||
        !e->setup_status || !e->step_status || !e->msg || !e->weights_bad || !e->team_slots ||
        (training && !e->grads)) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    OT_DNNL(dnnl_engine_create(&e->dnnl, dnnl_cpu, 0));
    return OT_OK;
fail:
    ot__engine_close(e);
    return status;
}

void ot__engine_add_length(ot__engine *e, size_t len)
{
    if (len == 0)
        return;
    for (size_t i = 0; i < e->n_lens; i++)
        if (e->lens[i] == len)
            return;
    e->lens[e->n_lens++] = len;
}

void ot__engine_add_data(ot__engine *e, const ot_dataset *d)
{
    if (d != NULL && d->n_targets > e->n_targets)
        e->n_targets = d->n_targets;
}

ot_status ot__engine_add_steps(ot__engine *e, const size_t *len, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ot__engine_add_length(e, len[i]);
    return ot__units_open(e, len, n);
}

void ot__engine_thread_fail(ot__engine *e, ot_status *slot, int tid, ot_status st)
{
    ot__error_copy(e->msg[tid], sizeof e->msg[tid]);
    *slot = st;
}

/*
 * Denormal floats are flushed to zero inside our regions, as TensorFlow
 * does: Adam's moments of weights whose gradient is always zero (the black
 * border pixels of Fashion-MNIST) decay into denormals, and each operation
 * on one costs a microcode assist on x86. Every thread of the region does
 * the same, so results stay bit-identical across thread counts; each
 * restores its own setting on the way out, since OpenMP reuses its threads.
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
static void thread_setup(ot__engine *e, int tid)
{
    omp_set_num_threads(1);
    ot_status st = OT_OK;
    /* a training step's backward passes run on oneDNN's sgemm; evaluate
     * and predict need not pay for its code unless their shapes use it */
    if (e->training && (st = ot__onednn_warm_up()) != OT_OK)
        goto done;
    size_t lo, hi, max_rows = 0;
    ot__engine_shards_at(e, tid, (unsigned)e->threads, &lo, &hi); /* with the whole team */
    if ((st = ot__units_thread_init(e, tid, lo, hi)) != OT_OK)
        goto done;
    /* with ranks, every rank's master may compute the loss (step_units.c) */
    if (e->ranks != NULL && tid == 0 && e->uthreads != NULL)
        e->uthreads[0].loss = 1;
    /* the shards it may run: from the least start to the greatest end of
     * its own with every count the run may take (a few more than those
     * cost a plan each at most: a length's shards have two sizes) */
    size_t u_lo = SIZE_MAX, u_hi = 0;
    for (int c = 0; c < e->n_cands; c++) {
        size_t a_lo, a_hi;
        if (tid >= e->cands[c])
            continue;
        ot__engine_shards_at(e, tid, (unsigned)e->cands[c], &a_lo, &a_hi);
        if (a_lo < a_hi) {
            u_lo = a_lo < u_lo ? a_lo : u_lo;
            u_hi = a_hi > u_hi ? a_hi : u_hi;
        }
    }
    for (size_t i = 0; i < e->n_lens; i++)
        for (size_t s = u_lo; s < u_hi; s++) {
            size_t first, rows;
            ot__shard_range(e->lens[i], e->shards, s, &first, &rows);
            if (rows > max_rows)
                max_rows = rows;
        }
    if (max_rows == 0)
        goto done; /* more threads than shards: this one only reduces */
    ot__worker *w = &e->workers[tid];
    if ((st = ot__worker_init(w, e->m, e->dnnl, max_rows, e->n_targets,
                              e->training, e->opt.transposed)) != OT_OK)
        goto done;
    for (size_t i = 0; i < e->n_lens; i++)
        for (size_t s = u_lo; s < u_hi; s++) {
            size_t first, rows;
            ot__shard_range(e->lens[i], e->shards, s, &first, &rows);
            if (rows > 0 && (st = ot__worker_plan(w, rows)) != OT_OK)
                goto done;
        }
    if (e->training)
        for (size_t s = lo; s < hi; s++) {
            e->grads[s] = ot__calloc(e->m->arena_len, sizeof(float),
                                     "shard gradient");
            if (e->grads[s] == NULL) {
                st = OT_OUT_OF_MEMORY;
                goto done;
            }
        }
done:
    if (st != OT_OK)
        ot__engine_thread_fail(e, &e->setup_status[tid], tid, st);
}

ot_status ot__engine_first_failure(const ot__engine *e, const ot_status *slots)
{
    for (int t = 0; t < e->threads; t++)
        if (slots[t] != OT_OK) {
            ot__error_restore(e->msg[t]);
            return slots[t];
        }
    return OT_OK;
}

int ot__engine_any_failure(const ot__engine *e, const ot_status *slots)
{
    for (int t = 0; t < e->threads; t++)
        if (slots[t] != OT_OK)
            return 1;
    return 0;
}

int ot__engine_any_weights_bad(const ot__engine *e)
{
    if (e->ranks_weights_bad)
        return 1;
    for (int t = 0; t < e->threads; t++)
        if (e->weights_bad[t])
            return 1;
    return 0;
}

int ot__engine_step_verdict(const ot__engine *e)
{
    int bad = ot__engine_any_failure(e, e->step_status);
    for (size_t s = 0; s < e->shards && !bad; s++)
        bad = !isfinite(e->shard_sums[s].v[0]);
    return bad;
}

/* Sums of the per-shard loss and metrics, in shard order. */
static void shard_totals(const ot__engine *e, ot__sums *sums)
{
    *sums = (ot__sums){{0.0}};
    for (size_t s = 0; s < e->shards; s++)
        for (size_t k = 0; k < OT__SUMS; k++)
            sums->v[k] += e->shard_sums[s].v[k];
}

/* The rows the next job (or round) gathers, and a step's next rows, read
 * where the data is streamed (stream.h): the wait for them, and a read
 * that failed ends the run with its message (every rank's, with ranks). */
static void stage_next(ot__engine *e)
{
    ot__job *j = &e->job;
    const size_t n = ot__engine_job_rows(e, j);
    const ot__rows *r = &j->rows, *a = &j->ahead;
    ot_status st = OT_OK;
    if (j->kind == OT__JOB_END || n == 0 || r->data == NULL)
        return;
    st = ot__stage_ready(r->data, r->idx, r->first + j->done, n, 1);
    if (st == OT_OK && j->kind == OT__JOB_STEP && a->data != NULL && a->rows > 0)
        st = ot__stage_ready(a->data, a->idx, a->first, a->rows, 0);
    if (st != OT_OK) { /* the threads may still read their statuses: not there */
        e->data_status = st;
        ot__error_copy(e->data_msg, sizeof e->data_msg);
        memset(j, 0, sizeof *j); /* OT__JOB_END */
        j->status = st;
    }
}

void ot__engine_hand_over(ot__engine *e, const ot__job *done, int bad)
{
    ot__engine_team_tick(e, done);
    if (done->kind == OT__JOB_FORWARD && !bad &&
        done->done + ot__engine_job_rows(e, done) < done->rows.rows) {
        e->job = *done; /* its next round: the driver sees the whole job */
        e->job.done += ot__engine_job_rows(e, done);
        stage_next(e);
        e->t_job = ot__now();
        return;
    }
    if (e->ranks != NULL && done->kind == OT__JOB_FORWARD)
        bad = ot__engine_ranks_forward(e, bad);
    ot__job_result res = {.bad = bad, .comm_seconds = e->comm_seconds};
    shard_totals(e, &res.sums);
    res.busy_seconds = e->busy_seconds;
    res.thread_seconds = e->thread_seconds;
    res.switches = e->ctl.switches;
    res.why = e->ctl.why;
    e->driver(e->user, done, &res, &e->job);
    stage_next(e);
    if (e->ranks != NULL)
        ot__engine_ranks_agree(e);
    e->t_job = ot__now();
    e->comm_at_job = e->comm_seconds;
}

void ot__engine_update(ot__engine *e, int tid, const ot__opt_step *k,
                       float *const *slot, size_t off, size_t n, const float *last)
{
    ot_model *m = e->m;
    float *s[OT__MAX_SLOTS];
    for (int j = 0; j < OT__MAX_SLOTS; j++)
        s[j] = slot[j] ? slot[j] + off : NULL;
    if (!ot__optimizer_update(&m->opt.cfg, k, m->params + off, e->grads[0] + off,
                              last ? last + off : NULL, s, n))
        e->weights_bad[tid] = 1;
}

/* This thread's shards of every batch of a forward-only pass over the
 * job's rows. No barrier inside: each shard's sums depend only on its own
 * rows, in batch order. */
static ot_status forward_pass(ot__engine *e, int tid, const ot__job *job)
{
    size_t lo, hi;
    ot__engine_my_shards(e, tid, &lo, &hi);
    const size_t C = ot_model_output_dim(e->m), n = job->done + ot__engine_job_rows(e, job);
    for (size_t s = lo; s < hi && job->done == 0; s++)
        e->shard_sums[s] = (ot__sums){{0.0}};
    /* a round: whole batches, each shard's sums in batch order */
    for (size_t b0 = job->done; b0 < n; b0 += e->batch) {
        size_t bn = n - b0 < e->batch ? n - b0 : e->batch;
        for (size_t s = lo; s < hi; s++) {
            size_t first, rows;
            ot__shard_range(bn, e->shards, s, &first, &rows);
            if (rows == 0)
                continue;
            ot__rows rw = {job->rows.data, job->rows.idx,
                           job->rows.first + b0 + first, rows, job->rows.weight};
            ot_status st = ot__worker_eval(
                &e->workers[tid], &rw, job->with_loss ? &e->shard_sums[s] : NULL,
                job->out ? job->out + (b0 + first) * C : NULL);
            if (st != OT_OK)
                return st;
        }
    }
    return OT_OK;
}

/* This thread's primitives of a step of `rows` rows: its shards', or its
 * blocks' where the step is cut by units. */
static ot_status primitives(ot__engine *e, int tid, size_t rows)
{
    const int li = ot__units_len(e, rows);
    size_t lo, hi;
    ot__engine_my_shards(e, tid, &lo, &hi);
    if (li >= 0)
        return ot__usplit_kernels(&e->uthreads[tid], &e->usplit, li, lo, hi, e->grads[0]);
    for (size_t s = lo; s < hi; s++) {
        size_t first, n;
        ot__shard_range(rows, e->shards, s, &first, &n);
        ot_status st = n > 0 ? ot__worker_kernels(&e->workers[tid], n, e->grads[s]) : OT_OK;
        if (st != OT_OK)
            return st;
    }
    return OT_OK;
}

/* This thread's part of a KERNELS job: its primitives and then the job's
 * `each`, job->repeat times. */
static ot_status kernels(ot__engine *e, int tid, const ot__job *job)
{
    for (size_t i = 0; i < job->repeat; i++) {
        if (!(job->skip & OT__SKIP_KERNELS)) {
            ot_status st = primitives(e, tid, job->rows.rows);
            if (st != OT_OK)
                return st;
        }
        if (job->each != NULL)
            job->each(job->each_user, e, tid);
    }
    return OT_OK;
}

int ot__engine_next_own_range(const ot__engine *e, int tid, ot__range_cursor *c, size_t *off,
                              size_t *n)
{
    if (e->usplit.model == NULL) {
        if (c->block++ > 0)
            return 0;
        size_t lo, hi;
        ot__engine_my_slice(e, tid, &lo, &hi);
        *off = lo;
        *n = hi - lo;
        return 1;
    }
    size_t lo, hi;
    ot__engine_my_shards(e, tid, &lo, &hi);
    for (;;) {
        if (c->cur == NULL) {
            c->cur = ot__usplit_next_block(&e->usplit, lo, hi, &c->layer, &c->block);
            c->k = 0;
            if (c->cur == NULL)
                return 0;
        }
        if (ot__usplit_block_range(&e->usplit, c->cur, c->k++, off, n))
            return 1;
        c->cur = NULL;
    }
}

static void region(ot__engine *e)
{
    const int tid = omp_get_thread_num();
    ot__team_join(&e->team, (unsigned)tid);
    if (e->adapt) {
        /* the team OpenMP gave: every thread reads its size after this */
#pragma omp master
        {
            e->threads = omp_get_num_threads();
            ot__engine_team_setup(e);
        }
#pragma omp barrier
    }
    if (omp_get_num_threads() != e->threads) {
        /* the team barrier counts on all of them: nothing is built */
        ot__engine_thread_fail(e, &e->setup_status[tid], tid,
                               ot__fail(OT_INVALID_STATE,
                                        "asked OpenMP for %d threads and got %d (nested "
                                        "call, OMP_THREAD_LIMIT or OMP_DYNAMIC?)",
                                        e->threads, omp_get_num_threads()));
        return;
    }
    thread_setup(e, tid);
    ot__engine_barrier(e);
    if (e->ranks != NULL) {
        if (tid == 0)
            ot__engine_ranks_setup(e);
        ot__engine_barrier(e);
    }
    if (ot__engine_any_failure(e, e->setup_status) || e->ranks_status != OT_OK)
        return;
    float *slot[OT__MAX_SLOTS];
    ot__optimizer_state_slots(&e->m->opt, e->m->arena_len, slot);
    ot__rows gathered = {0}; /* the rows a step cut by units gathered ahead, */
    unsigned gathered_by = 0; /* and the count that took part then */
    if (tid == 0) {
        e->driver(e->user, NULL, NULL, &e->job);
        stage_next(e);
        if (e->ranks != NULL)
            ot__engine_ranks_start(e);
        e->t_job = ot__now();
        e->comm_at_job = e->comm_seconds;
    }
    ot__engine_barrier(e);
    for (;;) {
        /* the count changes at a barrier: threads past it sleep until it
         * grows again or the run ends; thread 0 wakes them */
        unsigned active = ot__team_active(&e->team);
        if ((unsigned)tid >= active && !ot__team_park(&e->team, (unsigned)tid))
            break;
        if (tid == 0 && active > e->woken)
            ot__team_wake(&e->team);
        if (tid == 0)
            e->woken = active;
        const ot__job job = e->job; /* the master writes the next one early */
        int bad = 0;
        if (job.kind == OT__JOB_END) {
            break;
        } else if (job.kind == OT__JOB_STEP || job.kind == OT__JOB_GRADIENT) {
            int li = ot__units_len(e, job.rows.rows);
            if (gathered_by != active)
                gathered.rows = 0; /* for other blocks than this thread's now */
            bad = li >= 0 ? ot__units_step(e, tid, &job, li, slot, &gathered)
                          : ot__rows_step(e, tid, &job, slot);
            gathered_by = active;
            if (!bad && ot__engine_any_weights_bad(e)) {
                bad = 1;
                if (tid == 0)
                    e->weights_broke = 1;
            }
        } else {
            gathered.rows = 0;
            ot_status st = job.kind == OT__JOB_FORWARD   ? forward_pass(e, tid, &job)
                           : job.kind == OT__JOB_KERNELS ? kernels(e, tid, &job)
                                                         : OT_OK;
            if (st != OT_OK)
                ot__engine_thread_fail(e, &e->step_status[tid], tid, st);
            ot__engine_barrier(e); /* every thread has its copy of the job */
            if (tid == 0)
                ot__engine_hand_over(e, &job, ot__engine_any_failure(e, e->step_status));
            ot__engine_barrier(e);
        }
        if (bad)
            break;
    }
    if (tid == 0)
        ot__team_close(&e->team); /* the parked threads leave too */
}

ot_status ot__engine_run(ot__engine *e, ot__driver driver, void *user)
{
    e->driver = driver;
    e->user = user;
    e->weights_broke = 0;
    e->ranks_status = OT_OK;
    e->data_status = OT_OK;
    e->ranks_weights_bad = 0;
    e->comm_seconds = 0.0;
    e->busy_seconds = e->thread_seconds = 0.0;
    e->jobs_done = 0;
    if (!e->adapt)
        ot__engine_team_setup(e);
#pragma omp parallel num_threads(e->threads)
    {
        unsigned csr = ot__fp_enter();
        region(e);
        ot__fp_leave(csr);
    }
    if (e->ranks != NULL)
        ot__engine_ranks_finish(e); /* a run that ended inside an epoch */
    if (e->ranks_status != OT_OK) {
        ot__error_restore(e->ranks_msg); /* the same on every rank */
        return e->ranks_status;
    }
    ot_status status = ot__engine_first_failure(e, e->setup_status);
    if (status == OT_OK)
        status = ot__engine_first_failure(e, e->step_status);
    if (status == OT_OK && e->data_status != OT_OK) {
        ot__error_restore(e->data_msg);
        status = e->data_status;
    }
    return status;
}

typedef struct one_job {
    const ot__job *job;
    ot__job_result *res;
} one_job;

static void one_job_driver(void *user, const ot__job *done,
                           const ot__job_result *res, ot__job *next)
{
    one_job *o = user;
    if (done == NULL) {
        *next = *o->job;
        return;
    }
    *o->res = *res;
    memset(next, 0, sizeof *next); /* OT__JOB_END */
}

ot_status ot__engine_run_one(ot__engine *e, const ot__job *job, ot__job_result *res)
{
    one_job o = {job, res};
    memset(res, 0, sizeof *res);
    return ot__engine_run(e, one_job_driver, &o);
}

ot_status ot__engine_gradient_of(ot_model *m, const ot_dataset *d, size_t shards,
                                 int threads, const ot__engine_options *opt,
                                 float *grad, double *loss)
{
    ot_status status;
    int T;
    size_t S;
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "gradient: the model is not compiled");
    if ((status = ot__dataset_check(d, m, "gradient", 1)) != OT_OK)
        return status;
    if ((status = ot__engine_resolve(threads, shards, &T, &S)) != OT_OK)
        return status;
    if (S > d->n)
        return ot__fail(OT_INVALID_ARGUMENT, "gradient: more shards than rows");
    ot__engine e;
    if ((status = ot__engine_open(&e, m, T, S, d->n, 1, opt)) != OT_OK)
        return status;
    ot__engine_add_data(&e, d);
    if ((status = ot__engine_add_steps(&e, &d->n, 1)) != OT_OK) {
        ot__engine_close(&e);
        return status;
    }
    ot__job job = {.kind = OT__JOB_GRADIENT, .rows = {d, NULL, 0, d->n, NULL}};
    ot__job_result res;
    if ((status = ot__engine_run_one(&e, &job, &res)) == OT_OK) {
        ot__arena_pack(m, e.grads[0], grad); /* where a GRADIENT job leaves it */
        *loss = res.sums.v[0] / (double)d->n;
    }
    ot__engine_close(&e);
    return status;
}
