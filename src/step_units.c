/*
 * step_units.c - a training step cut by units (engine.h, unit_split.h):
 * each thread gathers the batch for itself, runs its blocks of every layer
 * over the whole batch with a barrier after each layer, and updates its
 * blocks' weights; nothing is reduced across threads.
 */
#include <math.h>

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
    const ot__usplit *u = &e->usplit;
    if (u->model == NULL)
        return OT_OK;
    /* its rows' buffer, if it may run a block of layer 0 with some count */
    int with_x = 0;
    for (int c = 0; c < e->n_cands && !with_x; c++)
        if (tid < e->cands[c]) {
            size_t n = e->s_hi - e->s_lo, a = (size_t)e->cands[c];
            with_x = ot__usplit_owns(u, 0, e->s_lo + (size_t)tid * n / a,
                                     e->s_lo + (size_t)(tid + 1) * n / a);
        }
    return ot__usplit_thread_init(&e->uthreads[tid], &e->usplit, e->dnnl, s_lo, s_hi, with_x);
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

/* ---- over ranks: the master's part, between barriers ---------------------- */

/* The rank that owns block j of layer l: the rank of its shard. */
static int owner(const ot__engine *e, size_t l, size_t j)
{
    size_t s = j * e->shards / e->usplit.n_blocks[l];
    for (int q = 0; q < e->ranks->size; q++) {
        size_t lo, hi;
        ot__ranks_shards(q, e->ranks->size, e->shards, &lo, &hi);
        if (s >= lo && s < hi)
            return q;
    }
    return 0;
}

/* Each rank's columns of layer l (its blocks are contiguous) into e->uc0/1. */
static void rank_columns(ot__engine *e, size_t l)
{
    const ot__usplit *u = &e->usplit;
    for (int q = 0; q < e->ranks->size; q++)
        e->uc0[q] = e->uc1[q] = 0;
    for (size_t j = u->n_blocks[l]; j-- > 0;) {
        size_t c0, c1;
        int q = owner(e, l, j);
        ot__usplit_block_units(e->m, l, e->shards, j, &c0, &c1);
        if (e->uc1[q] == 0)
            e->uc1[q] = c1;
        e->uc0[q] = c0;
    }
}

/* A buffer of another rank's block, read here. */
static float *foreign(ot__engine *e, size_t n, ot_status *st)
{
    float *p = ot__calloc(n, sizeof(float), "another rank's block");
    if (p == NULL) {
        *st = OT_OUT_OF_MEMORY;
        return NULL;
    }
    e->ubufs[e->n_ubufs++] = p;
    return p;
}

ot_status ot__units_ranks_setup(ot__engine *e)
{
    ot__usplit *u = &e->usplit;
    const ot_model *m = e->m;
    const size_t L = m->n_layers, R = u->max_rows, C = m->layers[L - 1].out;
    size_t most = 0;
    for (size_t l = 0; l < L; l++)
        most += u->n_blocks[l];
    e->uc0 = ot__calloc((size_t)e->ranks->size, sizeof *e->uc0, "rank columns");
    e->uc1 = ot__calloc((size_t)e->ranks->size, sizeof *e->uc1, "rank columns");
    e->ubufs = ot__calloc(most, sizeof *e->ubufs, "other ranks' blocks");
    if (!e->uc0 || !e->uc1 || !e->ubufs)
        return OT_OUT_OF_MEMORY;
    ot_status st = OT_OK;
    for (size_t l = 1; l < L && st == OT_OK; l++)
        for (size_t j = 0; u->p[l] != NULL && j < u->n_blocks[l] && st == OT_OK; j++)
            if (u->p[l][j] == NULL)
                u->p[l][j] = foreign(e, R * m->layers[l].in, &st);
    for (size_t j = 0; u->by_inputs && j < u->n_blocks[L - 2] && st == OT_OK; j++)
        if (u->parts[j] == NULL)
            u->parts[j] = foreign(e, R * C, &st);
    for (size_t i = 0; i < u->n_lens && st == OT_OK; i++)
        for (size_t l = 0; l < L && st == OT_OK; l++)
            st = ot__ranks_prepare_cols((ot__ranks *)e->ranks, u->lens[i], m->layers[l].out);
    return st;
}

/* Records a failure of the master's exchange as its thread's, and the
 * time since t0 as the exchange's. */
static void sync_done(ot__engine *e, ot_status st, double t0)
{
    if (st != OT_OK)
        ot__engine_thread_fail(e, &e->step_status[0], 0, st);
    e->comm_seconds += ot__now() - t0;
}

/* After layer l's forward (l < L-1): the next layer's input whole on every
 * rank, or, when the next layer is the last cut by its inputs, every
 * block's part of the logits. */
static void sync_forward(ot__engine *e, size_t l, size_t rows)
{
    double t0 = ot__now();
    const ot__usplit *u = &e->usplit;
    const ot_model *m = e->m;
    const size_t L = m->n_layers, C = m->layers[L - 1].out;
    ot_status st = OT_OK;
    if (u->by_inputs && l + 2 == L) {
        for (size_t j = 0; j < u->n_blocks[l] && st == OT_OK; j++)
            st = ot__ranks_bcast(e->ranks, u->parts[j], rows * C * sizeof(float),
                                 owner(e, l, j));
    } else {
        rank_columns(e, l);
        st = ot__ranks_gather_cols(e->ranks, u->in[l + 1], rows, m->layers[l].out, e->uc0,
                                   e->uc1);
    }
    sync_done(e, st, t0);
}

/* The last layer's outputs whole on every rank (the layer in blocks). */
static void sync_out(ot__engine *e, size_t rows)
{
    double t0 = ot__now();
    const size_t L = e->m->n_layers;
    rank_columns(e, L - 1);
    sync_done(e, ot__ranks_gather_cols(e->ranks, e->usplit.out, rows, e->m->layers[L - 1].out,
                                       e->uc0, e->uc1), t0);
}

/* After the loss: whether a rank failed (then the step is bad on every
 * rank); the loss, and the gradient of the outputs where the blocks
 * before a last layer cut by its inputs read it, from the rank that
 * computed them; the last layer's parts of its input gradient. */
static void sync_loss(ot__engine *e, size_t rows)
{
    double t0 = ot__now();
    const ot__usplit *u = &e->usplit;
    const ot_model *m = e->m;
    const size_t L = m->n_layers, C = m->layers[L - 1].out;
    int failed = 0;
    for (int t = 0; t < e->threads; t++)
        failed |= e->step_status[t] != OT_OK;
    ot_status st = ot__ranks_any(e->ranks, &failed);
    if (st == OT_OK && u->n_blocks[L - 1] == 1) {
        int q = owner(e, L - 1, 0);
        st = ot__ranks_bcast(e->ranks, &e->shard_sums[0], sizeof e->shard_sums[0], q);
        if (st == OT_OK && u->by_inputs)
            st = ot__ranks_bcast(e->ranks, u->dout, rows * C * sizeof(float), q);
    }
    for (size_t j = 0; st == OT_OK && L > 1 && !u->by_inputs && j < u->n_blocks[L - 1]; j++)
        st = ot__ranks_bcast(e->ranks, u->p[L - 1][j],
                             rows * m->layers[L - 1].in * sizeof(float), owner(e, L - 1, j));
    sync_done(e, st, t0);
    if (failed || st != OT_OK)
        e->shard_sums[0].v[0] = NAN; /* every rank's verdict: bad */
}

/* After layer l's backward (l > 0): its blocks' parts of the input
 * gradient on every rank. */
static void sync_backward(ot__engine *e, size_t l, size_t rows)
{
    double t0 = ot__now();
    const ot__usplit *u = &e->usplit;
    ot_status st = OT_OK;
    for (size_t j = 0; j < u->n_blocks[l] && st == OT_OK; j++)
        st = ot__ranks_bcast(e->ranks, u->p[l][j], rows * e->m->layers[l].in * sizeof(float),
                             owner(e, l, j));
    sync_done(e, st, t0);
}

ot_status ot__units_ranks_gather(ot__engine *e)
{
    const ot__usplit *u = &e->usplit;
    ot_model *m = e->m;
    ot_status st = OT_OK;
    for (size_t l = 0; l < m->n_layers; l++)
        for (size_t j = 0; j < u->n_blocks[l]; j++) {
            ot__ublock b = {.layer = l, .j = j};
            ot__usplit_block_units(m, l, e->shards, j, &b.c0, &b.c1);
            int q = owner(e, l, j);
            size_t off, n;
            for (size_t i = 0; ot__usplit_block_range(u, &b, i, &off, &n); i++) {
                st = ot__ranks_bcast(e->ranks, m->params + off, n * sizeof(float), q);
                for (size_t k = 0; k < m->opt.slots && st == OT_OK; k++)
                    st = ot__ranks_bcast(e->ranks, m->opt.state + k * m->arena_len + off,
                                         n * sizeof(float), q);
                if (st != OT_OK)
                    return st;
            }
        }
    return OT_OK;
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
    size_t lo, hi, my_lo, my_hi;
    ot__engine_all_shards(e, tid, &lo, &hi); /* every shard's, on every rank */
    for (size_t s = lo; s < hi; s++)
        e->shard_sums[s] = (ot__sums){{0.0}};
    ot__engine_my_shards(e, tid, &my_lo, &my_hi); /* the blocks it runs */
    /* with ranks, after each barrier the master makes what the layer's
     * blocks wrote whole on every rank, and a barrier more */
    const int ranks = e->ranks != NULL;
    for (size_t l = 0; l + 1 < L; l++) {
        if (st == OT_OK)
            st = ot__usplit_forward(ut, u, l, li, my_lo, my_hi);
        ot__engine_barrier(e);
        if (ranks) {
            if (tid == 0)
                sync_forward(e, l, bn);
            ot__engine_barrier(e);
        }
    }
    if (st == OT_OK)
        st = ot__usplit_forward(ut, u, L - 1, li, my_lo, my_hi);
    if (u->n_blocks[L - 1] == 1) {
        /* its block belongs to shard 0's thread, which holds the loss */
        if (st == OT_OK && ot__usplit_owns(u, L - 1, my_lo, my_hi)) {
            ot__usplit_loss(u, d, bn, scale, &e->shard_sums[0]);
            st = ot__usplit_backward(ut, u, L - 1, li, my_lo, my_hi, grad);
        }
    } else {
        ot__engine_barrier(e);
        if (ranks) {
            if (tid == 0)
                sync_out(e, bn);
            ot__engine_barrier(e);
        }
        if (tid == 0)
            ot__usplit_loss(u, d, bn, scale, &e->shard_sums[0]);
        ot__engine_barrier(e);
        if (st == OT_OK)
            st = ot__usplit_backward(ut, u, L - 1, li, my_lo, my_hi, grad);
    }
    if (st != OT_OK)
        ot__engine_thread_fail(e, &e->step_status[tid], tid, st);
    ot__engine_barrier(e); /* L */
    if (ranks) {
        if (tid == 0)
            sync_loss(e, bn);
        ot__engine_barrier(e);
    }
    int bad = ot__engine_step_verdict(e);
    for (size_t l = L - 1; l-- > 0;) {
        if (!bad && st == OT_OK &&
            (st = ot__usplit_backward(ut, u, l, li, my_lo, my_hi, grad)) != OT_OK) {
            ot__engine_thread_fail(e, &e->step_status[tid], tid, st);
            e->weights_bad[tid] = 1;
        }
        if (l > 0) {
            ot__engine_barrier(e);
            if (ranks) {
                if (tid == 0)
                    sync_backward(e, l, bn);
                ot__engine_barrier(e);
            }
        }
    }
    return bad;
}

static int same_rows(const ot__rows *a, const ot__rows *b)
{
    return a->rows == b->rows && a->data == b->data && a->idx == b->idx &&
           a->first == b->first && a->weight == b->weight;
}

/* The rows (unless this thread gathered them ahead), the pass, this
 * thread's blocks updated, the master's hand-over, and the next step's
 * rows when they are known and that step is cut by units too. */
int ot__units_step(ot__engine *e, int tid, const ot__job *job, int li,
                   float *const *slot, ot__rows *gathered)
{
    const ot__rows *r = &job->rows;
    ot__uthread *ut = &e->uthreads[tid];
    size_t lo, hi;
    ot__engine_my_shards(e, tid, &lo, &hi);
    const int with_x = ot__usplit_owns(&e->usplit, 0, lo, hi);
    if (!same_rows(gathered, r))
        ot__usplit_gather(&e->usplit, ut, r, with_x);
    gathered->rows = 0;
    int bad = unit_pass(e, tid, r->data, r->rows, li, 1.0f / (float)r->rows);
    if (!bad && job->kind == OT__JOB_STEP && !(job->skip & (OT__SKIP_REDUCE | OT__SKIP_UPDATE))) {
        size_t off, n;
        ot__range_cursor c = {0};
        while (!e->weights_bad[tid] && ot__engine_next_own_range(e, tid, &c, &off, &n))
            ot__engine_update(e, tid, &job->opt, slot, off, n, NULL);
    }
    if (e->ranks != NULL) {
        /* the master may send this rank's blocks to the others next */
        ot__engine_barrier(e);
    }
    if (tid == 0) {
        /* with ranks, the other ranks' blocks are stale here from now on */
        if (e->ranks != NULL && !bad && job->kind == OT__JOB_STEP && !job->skip)
            e->units_sliced = 1;
        ot__engine_hand_over(e, job, bad);
    }
    const ot__rows *a = &job->ahead;
    if (!bad && job->kind == OT__JOB_STEP && a->rows > 0 &&
        ot__usplit_len(&e->usplit, a->rows) >= 0) {
        ot__usplit_gather(&e->usplit, ut, a, with_x);
        *gathered = *a;
    }
    ot__engine_barrier(e); /* B */
    return bad;
}
