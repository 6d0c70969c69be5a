/*
 * step_units.c - a training step cut by units (engine.h, unit_split.h):
 * each thread gathers the batch for itself, runs its blocks of every layer
 * over the whole batch with a barrier after each layer, and updates its
 * blocks' weights; nothing is reduced across threads.
 */
#include "engine.h"

ot_status ot__units_open(ot__engine *e, const size_t *len, size_t n)
{
    size_t lens[OT__USPLIT_LENS], k = 0;
    for (size_t i = 0; i < n && k < OT__USPLIT_LENS; i++)
        if (len[i] > 0 && ot__usplit_applies(e->m, len[i], e->shards, e->opt.cut) &&
            (k == 0 || lens[0] != len[i]))
            lens[k++] = len[i];
    if (k == 0)
        return OT_OK;
    e->uthreads = ot__calloc((size_t)e->threads, sizeof *e->uthreads, "unit threads");
    if (e->uthreads == NULL)
        return OT_OUT_OF_MEMORY;
    return ot__usplit_open(&e->usplit, e->m, e->shards, lens, k, e->n_targets,
                           e->opt.transposed);
}

ot_status ot__units_thread_init(ot__engine *e, int tid, size_t s_lo, size_t s_hi)
{
    if (e->usplit.model == NULL)
        return OT_OK;
    return ot__usplit_thread_init(&e->uthreads[tid], &e->usplit, e->dnnl, s_lo, s_hi);
}

void ot__units_close(ot__engine *e)
{
    if (e->uthreads)
        for (int t = 0; t < e->threads; t++)
            ot__uthread_destroy(&e->uthreads[t]);
    ot__free(e->uthreads);
    e->uthreads = NULL;
    ot__usplit_close(&e->usplit);
}

int ot__units_len(const ot__engine *e, size_t rows)
{
    return e->usplit.model ? ot__usplit_len(&e->usplit, rows) : -1;
}

/*
 * The step up to its backward pass, on rows of d that each thread has
 * gathered for itself: the forward pass with a barrier after each layer,
 * the loss on the owner of the last layer's block (or the master, when the
 * last layer has several), barrier L, then the backward pass with a
 * barrier after each layer but the first. Returns the verdict that every
 * thread reaches after barrier L; a thread that fails after it flags its
 * weights too, so that the driver falls back to a state it saved.
 */
static int unit_pass(ot__engine *e, int tid, const ot_dataset *d, size_t bn, int li,
                     float scale)
{
    ot__usplit *u = &e->usplit;
    ot__uthread *ut = &e->uthreads[tid];
    const size_t L = e->m->n_layers;
    float *grad = e->grads[0];
    ot_status st = OT_OK;
    size_t lo, hi;
    ot__engine_all_shards(e, tid, &lo, &hi); /* every rank runs the step whole */
    for (size_t s = lo; s < hi; s++)
        e->shard_loss[s] = e->shard_metric[s] = 0.0;
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
            ot__usplit_loss(u, d, bn, scale, &e->shard_loss[0], &e->shard_metric[0]);
            st = ot__usplit_backward(ut, u, L - 1, li, grad);
        }
    } else {
#pragma omp barrier
#pragma omp master
        ot__usplit_loss(u, d, bn, scale, &e->shard_loss[0], &e->shard_metric[0]);
#pragma omp barrier
        if (st == OT_OK)
            st = ot__usplit_backward(ut, u, L - 1, li, grad);
    }
    if (st != OT_OK)
        ot__engine_thread_fail(e, &e->step_status[tid], tid, st);
#pragma omp barrier /* L */
    int bad = ot__engine_step_verdict(e);
    for (size_t l = L - 1; l-- > 0;) {
        if (!bad && st == OT_OK &&
            (st = ot__usplit_backward(ut, u, l, li, grad)) != OT_OK) {
            ot__engine_thread_fail(e, &e->step_status[tid], tid, st);
            e->weights_bad[tid] = 1;
        }
        if (l > 0) {
#pragma omp barrier
        }
    }
    return bad;
}

static int same_rows(const ot__rows *a, const ot__rows *b)
{
    return a->rows == b->rows && a->data == b->data && a->idx == b->idx &&
           a->first == b->first;
}

/* The rows (unless this thread gathered them ahead), the pass, this
 * thread's blocks updated, the master's hand-over, and the next step's
 * rows when they are known and that step is cut by units too. */
int ot__units_step(ot__engine *e, int tid, const ot__job *job, int li,
                   float *const *slot, ot__rows *gathered)
{
    const ot__rows *r = &job->rows;
    ot__uthread *ut = &e->uthreads[tid];
    if (!same_rows(gathered, r))
        ot__usplit_gather(&e->usplit, ut, r->data, r->idx, r->first, r->rows);
    gathered->rows = 0;
    int bad = unit_pass(e, tid, r->data, r->rows, li, 1.0f / (float)r->rows);
    if (!bad && job->kind == OT__JOB_STEP && !(job->skip & (OT__SKIP_REDUCE | OT__SKIP_UPDATE))) {
        size_t off, n;
        ot__range_cursor c = {0, 0};
        while (!e->weights_bad[tid] && ot__engine_next_own_range(e, tid, &c, &off, &n))
            ot__engine_update(e, tid, &job->opt, slot, off, n, NULL);
    }
#pragma omp master
    ot__engine_hand_over(e, job, bad);
    const ot__rows *a = &job->ahead;
    if (!bad && job->kind == OT__JOB_STEP && a->rows > 0 &&
        ot__usplit_len(&e->usplit, a->rows) >= 0) {
        ot__usplit_gather(&e->usplit, ut, a->data, a->idx, a->first, a->rows);
        *gathered = *a;
    }
#pragma omp barrier /* B */
    return bad;
}
