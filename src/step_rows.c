/*
 * step_rows.c - a training step cut by rows (engine.h): a batch of B rows
 * in S shards, thread t owning the contiguous shards [tS/T, (t+1)S/T):
 *
 *   each thread: for its shards s: gather, forward, loss, backward -> grad[s]
 *   barrier A
 *   each thread: for its slice of the arena: g = grad[0] + ... + grad[S-1]
 *                (always this order), optimizer(param, state, g)
 *   the master: the result to the driver, the next job from it
 *   barrier B
 */
#include <string.h>

#include "engine.h"

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

/* The reduction and update of this thread's slice. The last shard's
 * gradient is added inside the update's own loop rather than in the
 * reduction's pass: its lines, written by another core, then arrive while
 * the update waits on its divider, and at 2 shards there is no reduction
 * pass at all. The sum is still g0 + g1 + ... + g[ns-1] from the left,
 * element by element. A chunk at a time, so that the lines just reduced
 * are in L1 when the update reads them; with one or two shards nothing is
 * reduced, and the slice goes in one call. */
static void reduce_update(ot__engine *e, int tid, const ot__job *job, size_t ns,
                          float *const *slot)
{
    size_t lo, hi;
    ot__engine_my_slice(e, tid, &lo, &hi);
    if (job->kind == OT__JOB_GRADIENT || (job->skip & OT__SKIP_UPDATE)) {
        for (size_t c = lo; c < hi; c += OT__CHUNK)
            ot__reduce_chunk(e->grads, ns, c, hi - c < OT__CHUNK ? hi - c : OT__CHUNK);
        return;
    }
    size_t len = ns > 2 || hi == lo ? OT__CHUNK : hi - lo;
    for (size_t c = lo; c < hi; c += len) {
        size_t n = hi - c < len ? hi - c : len;
        ot__reduce_chunk(e->grads, ns - 1, c, n);
        ot__engine_update(e, tid, &job->opt, slot, c, n,
                          ns > 1 ? e->grads[ns - 1] : NULL);
    }
}

int ot__rows_step(ot__engine *e, int tid, const ot__job *job, float *const *slot)
{
    size_t s_lo, s_hi;
    ot__engine_my_shards(e, tid, &s_lo, &s_hi);
    const size_t bn = job->rows.rows;
    const float scale = 1.0f / (float)bn;
    for (size_t s = s_lo; s < s_hi; s++) {
        size_t first, rows;
        ot__shard_range(bn, e->shards, s, &first, &rows);
        e->shard_sums[s] = (ot__sums){{0.0}};
        if (rows == 0)
            continue;
        ot__rows rw = {job->rows.data, job->rows.idx, job->rows.first + first, rows,
                       job->rows.weight};
        ot_status st = ot__worker_train(&e->workers[tid], &rw, scale, e->grads[s],
                                        &e->shard_sums[s]);
        if (st != OT_OK) {
            ot__engine_thread_fail(e, &e->step_status[tid], tid, st);
            break;
        }
    }
    ot__engine_barrier(e); /* A */
    /* shards past the rows (a short last batch) hold no gradient */
    const size_t ns = bn < e->shards ? bn : e->shards;
    const int reduce = !(job->skip & OT__SKIP_REDUCE);
    if (e->ranks != NULL) {
        if (tid == 0)
            ot__engine_exchange(e, ns, reduce);
        ot__engine_barrier(e);
    }
    int bad = ot__engine_step_verdict(e);
    if ((!bad || job->kind == OT__JOB_GRADIENT) && reduce)
        reduce_update(e, tid, job, ns, slot);
    if (e->ranks != NULL && !bad && job->kind == OT__JOB_STEP && !job->skip) {
        ot__engine_barrier(e);
        if (tid == 0)
            ot__engine_share_weights(e);
    }
    if (tid == 0)
        ot__engine_hand_over(e, job, bad);
    ot__engine_barrier(e); /* B */
    return bad;
}
