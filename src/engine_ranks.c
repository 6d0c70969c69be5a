/*
 * engine_ranks.c - a run of the engine over MPI ranks (engine.h, ranks.h):
 * what the master does between barriers so that the ranks run one step
 * together. The exchanges themselves are ranks.c's; a step cut by units
 * makes its layers whole in step_units.c. No OpenMP here.
 */
#include <math.h>
#include <string.h>

#include "engine.h"

/* A failure every rank has agreed on ends the run, on every rank. */
static void ranks_failed(ot__engine *e, ot_status st)
{
    if (st == OT_OK || e->ranks_status != OT_OK)
        return;
    e->ranks_status = st;
    ot__error_copy(e->ranks_msg, sizeof e->ranks_msg);
}

/* After the threads' setup: the gradients of the other ranks' shards (each
 * step brings their parts of this rank's slice), the exchange's buffers,
 * and every rank's verdict on its setup. */
void ot__engine_ranks_setup(ot__engine *e)
{
    ot_status st = ot__engine_first_failure(e, e->setup_status);
    for (size_t s = 0; e->training && s < e->shards && st == OT_OK; s++)
        if (e->grads[s] == NULL && (s < e->s_lo || s >= e->s_hi) &&
            (e->grads[s] = ot__calloc(e->m->arena_len, sizeof(float), "shard gradient")) ==
                NULL)
            st = OT_OUT_OF_MEMORY;
    if (st == OT_OK)
        st = ot__ranks_prepare((ot__ranks *)e->ranks, e->shards, e->m->arena_len);
    if (st == OT_OK && e->usplit.model != NULL)
        st = ot__units_ranks_setup(e);
    ranks_failed(e, ot__ranks_agree(e->ranks, st, 0u, NULL));
}

/* This rank's shards' losses made NaN when one of its threads failed: every
 * rank then sees the step as bad and leaves the weights alone. */
static void mark_failure(ot__engine *e)
{
    if (ot__engine_any_failure(e, e->step_status))
        for (size_t s = e->s_lo; s < e->s_hi; s++)
            e->shard_sums[s].v[0] = NAN;
}

void ot__engine_exchange(ot__engine *e, size_t ns, int gradients)
{
    double t0 = ot__now();
    mark_failure(e);
    ot_status st = ot__ranks_step(e->ranks, gradients ? e->grads : NULL, ns, e->shard_sums,
                                  e->shards);
    if (st != OT_OK) {
        ot__engine_thread_fail(e, &e->step_status[0], 0, st);
        e->shard_sums[0].v[0] = NAN;
    }
    e->comm_seconds += ot__now() - t0;
}

void ot__engine_share_weights(ot__engine *e)
{
    double t0 = ot__now();
    ot_status st = ot__ranks_gather_slices(e->ranks, e->m->params, 1, e->m->arena_len);
    if (st != OT_OK)
        ot__engine_thread_fail(e, &e->step_status[0], 0, st);
    e->state_sliced = e->m->opt.slots > 0;
    e->comm_seconds += ot__now() - t0;
}

/* Every block's weights and state whole on every rank again. */
static void gather_blocks(ot__engine *e)
{
    if (!e->units_sliced)
        return;
    e->units_sliced = 0;
    double t0 = ot__now();
    ranks_failed(e, ot__units_ranks_gather(e));
    e->comm_seconds += ot__now() - t0;
}

/* The optimizer state whole on every rank again. */
static void gather_state(ot__engine *e)
{
    if (!e->state_sliced)
        return;
    e->state_sliced = 0;
    double t0 = ot__now();
    ot_status st = ot__ranks_gather_slices(e->ranks, e->m->opt.state, (size_t)e->m->opt.slots,
                                           e->m->arena_len);
    if (st != OT_OK)
        ranks_failed(e, st);
    e->comm_seconds += ot__now() - t0;
}

#define OT__AGREE_END 1u
#define OT__AGREE_WEIGHTS_BAD 2u

/* After the driver: every rank ends where one ends, with the first
 * failure; the state is gathered before any job but a step cut by rows. */
void ot__engine_ranks_agree(ot__engine *e)
{
    ot_status st = ot__engine_first_failure(e, e->step_status);
    if (st == OT_OK && e->job.kind == OT__JOB_END && e->job.status != OT_OK)
        st = e->job.status; /* its message is on this thread */
    unsigned flags = (e->job.kind == OT__JOB_END ? OT__AGREE_END : 0u) |
                     (ot__engine_any_weights_bad(e) ? OT__AGREE_WEIGHTS_BAD : 0u), any = 0;
    double t0 = ot__now();
    ranks_failed(e, ot__ranks_agree(e->ranks, st, flags, &any));
    e->comm_seconds += ot__now() - t0;
    if (any & OT__AGREE_WEIGHTS_BAD)
        e->ranks_weights_bad = 1;
    if ((any & OT__AGREE_END) || e->ranks_status != OT_OK)
        memset(&e->job, 0, sizeof e->job);
    const ot__job *j = &e->job;
    int units = j->kind == OT__JOB_STEP && ot__units_len(e, j->rows.rows) >= 0;
    if (j->kind != OT__JOB_STEP || units)
        gather_state(e);
    if (!units)
        gather_blocks(e);
}

void ot__engine_ranks_start(ot__engine *e)
{
    const int end = e->job.kind == OT__JOB_END;
    unsigned any = 0;
    ranks_failed(e, ot__ranks_agree(e->ranks, end ? e->job.status : OT_OK,
                                    end ? OT__AGREE_END : 0u, &any));
    if ((any & OT__AGREE_END) || e->ranks_status != OT_OK)
        memset(&e->job, 0, sizeof e->job);
}

/* Before the driver: a forward pass's sums from every rank, and whether
 * any rank failed it. */
int ot__engine_ranks_forward(ot__engine *e, int bad)
{
    double t0 = ot__now();
    mark_failure(e);
    ot_status st = ot__ranks_sums(e->ranks, e->shard_sums, e->shards);
    if (st == OT_OK)
        st = ot__engine_first_failure(e, e->step_status);
    ranks_failed(e, ot__ranks_agree(e->ranks, st, 0u, NULL));
    e->comm_seconds += ot__now() - t0;
    return bad || e->ranks_status != OT_OK;
}

void ot__engine_ranks_finish(ot__engine *e)
{
    gather_state(e);
    gather_blocks(e);
}
