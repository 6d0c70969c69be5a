/*
 * engine_team.c - which of a run's threads take part (team.h): the thread
 * and shard counts a run resolves to, the shards and arena slice of a
 * thread under the count in force, the counts an elastic run may take, the
 * rounds of a forward job, and the master's tick after every job that
 * times it and sets the next count (elastic.c chooses it).
 */
#include <omp.h>

#include "engine.h"
#include "stream.h"

#define OT_MAX_THREADS 1024

ot_status ot__engine_resolve(int threads, size_t shards, int *t_out, size_t *s_out)
{
    if (threads < 0)
        return ot__fail(OT_INVALID_ARGUMENT, "threads %d must be >= 1 (or 0 for "
                        "all: %d)", threads, omp_get_max_threads());
    int t = threads == 0 ? ot_default_threads() : threads;
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

int ot_default_threads(void)
{
    int t = omp_get_max_threads(), limit = omp_get_thread_limit();
    return limit > 0 && limit < t ? limit : t;
}

void ot__engine_adapt(ot__engine *e) { e->adapt = 1; }

void ot__engine_elastic(ot__engine *e) { e->elastic = 1; }

int ot__engine_team_limit(void)
{
    if (omp_get_active_level() >= omp_get_max_active_levels())
        return 1;
    return ot_default_threads();
}

void ot__engine_shards_at(const ot__engine *e, int tid, unsigned a, size_t *lo, size_t *hi)
{
    size_t n = e->s_hi - e->s_lo;
    *lo = e->s_lo + (size_t)tid * n / a;
    *hi = e->s_lo + (size_t)(tid + 1) * n / a;
}

void ot__engine_my_shards(const ot__engine *e, int tid, size_t *lo, size_t *hi)
{
    ot__engine_shards_at(e, tid, ot__team_active(&e->team), lo, hi);
}

void ot__engine_all_shards(const ot__engine *e, int tid, size_t *lo, size_t *hi)
{
    size_t a = ot__team_active(&e->team);
    *lo = (size_t)tid * e->shards / a;
    *hi = (size_t)(tid + 1) * e->shards / a;
}

void ot__engine_my_slice(const ot__engine *e, int tid, size_t *lo, size_t *hi)
{
    size_t lines = (e->a_hi - e->a_lo) / 16, a = ot__team_active(&e->team);
    *lo = e->a_lo + (size_t)tid * lines / a * 16;
    *hi = e->a_lo + (size_t)(tid + 1) * lines / a * 16;
}

void ot__engine_team_setup(ot__engine *e)
{
    const int T = e->threads;
    const size_t S = e->s_hi - e->s_lo;
    int c[OT__ELASTIC_MAX], n = 0;
    c[n++] = T;
    if (e->opt.switch_every > 0) {
        for (int a = T - 1; a >= 1 && n < OT__ELASTIC_MAX; a--)
            c[n++] = a;
    } else if (e->elastic) {
        for (size_t k = 1; k <= S && n < OT__ELASTIC_MAX; k++) {
            size_t a = (S + k - 1) / k;
            if (a < (size_t)c[n - 1])
                c[n++] = (int)a;
        }
    }
    for (int i = 0; i < n; i++)
        e->cands[i] = c[n - 1 - i];
    e->n_cands = n;
    double spin = e->opt.spin_us == 0 ? -1.0 : e->opt.spin_us < 0 ? 0.0 : 1e-6 * e->opt.spin_us;
    ot__team_init(&e->team, (unsigned)T, e->team_slots, spin);
    ot__elastic_init(&e->ctl, e->cands, n, T);
    e->woken = (unsigned)T;
}

/* The count after `jobs` jobs under switch_every: T, T-1, ..., 1, 2, ... */
static int forced_count(const ot__engine *e, size_t jobs)
{
    const size_t T = (size_t)e->threads;
    if (T < 2)
        return 1;
    size_t i = jobs / e->opt.switch_every % (2 * (T - 1));
    return (int)(i < T ? T - i : i - T + 2);
}

size_t ot__engine_round_rows(const ot__engine *e, size_t n)
{
    if (!e->elastic && e->opt.switch_every == 0)
        return n;
    size_t r = e->opt.round_rows ? e->opt.round_rows : 4096;
    r = (r + e->batch - 1) / e->batch * e->batch;
    return r < n ? r : n;
}

size_t ot__engine_job_rows(const ot__engine *e, const ot__job *j)
{
    if (j->kind == OT__JOB_STEP || j->kind == OT__JOB_GRADIENT)
        return j->rows.rows;
    if (j->kind != OT__JOB_FORWARD)
        return 0;
    /* a staged dataset is read a chunk a round (stream.h) */
    const ot_dataset *d = j->rows.data;
    size_t left = j->rows.rows - j->done,
           r = d && d->stage ? ot__stage_chunk(d, e->batch) : ot__engine_round_rows(e, j->rows.rows);
    return left < r ? left : r;
}

void ot__engine_team_tick(ot__engine *e, const ot__job *done)
{
    const unsigned a = ot__team_active(&e->team);
    double dt = ot__now() - e->t_job - (e->comm_seconds - e->comm_at_job);
    e->busy_seconds += dt;
    e->thread_seconds += dt * a;
    /* a rate is of one kind of job: a training run's steps (its validation
     * passes run faster a row), or a forward run's rounds */
    size_t rows = e->training && done->kind == OT__JOB_FORWARD ? 0 : ot__engine_job_rows(e, done);
    int next = (int)a;
    if (e->opt.switch_every > 0)
        next = forced_count(e, ++e->jobs_done);
    else if (rows > 0)
        next = ot__elastic_tick(&e->ctl, dt, (double)rows);
    if (next != (int)a)
        ot__team_resize(&e->team, (unsigned)next);
}

