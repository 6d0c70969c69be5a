/*
 * test_team.c - threads that change while a run goes (team.c, elastic.c,
 * engine.c): the barrier under a changing count, the same weights, bit for
 * bit, when the count changes every few jobs (both cuts of a step, and the
 * forward rounds of validation), and the controller's and the barrier's
 * choices on made-up timings.
 */
#include "training.h"

#include <math.h>
#include <omp.h>

#include "../src/elastic.h"
#include "../src/team.h"

/* Rounds of a barrier over a count that changes every round, as the
 * engine runs jobs: thread 0 writes the next round between the barriers,
 * each taking part thread writes its slot, which the others read after the
 * barrier; a woken thread goes on with the round thread 0 wrote. */
Test(team, barrier_with_a_changing_count)
{
    enum { T = 4, ROUNDS = 3000 };
    static ot__team team;
    static long slot[T], round, bad, rounds_seen[T];
    static ot__team_slot slots[T];
    ot__team_init(&team, T, slots, -1.0);
    round = bad = 0;
    memset(rounds_seen, 0, sizeof rounds_seen);
    unsigned woken = T;
#pragma omp parallel num_threads(T)
    {
        const unsigned id = (unsigned)omp_get_thread_num();
        ot__team_join(&team, id);
        for (;;) {
            unsigned active = ot__team_active(&team);
            if (id >= active && !ot__team_park(&team, id))
                break;
            if (id == 0 && active > woken)
                ot__team_wake(&team);
            if (id == 0)
                woken = active;
            const long r = round;
            if (r == ROUNDS)
                break;
            rounds_seen[id]++;
            slot[id] = r * 10 + id;
            ot__team_barrier(&team);
            for (unsigned t = 0; t < active; t++)
                if (slot[t] != r * 10 + t) {
#pragma omp atomic
                    bad++;
                }
            if (id == 0) {
                ot__team_resize(&team, (unsigned)(1 + (r * 7 + 3) % T));
                round = r + 1;
            }
            ot__team_barrier(&team);
        }
        if (id == 0)
            ot__team_close(&team);
    }
    cr_assert_eq(bad, 0, "%ld slots not seen after a barrier", bad);
    cr_assert_eq(rounds_seen[0], ROUNDS);
    for (int t = 1; t < T; t++)
        cr_assert(rounds_seen[t] > 0 && rounds_seen[t] < ROUNDS, "thread %d: %ld rounds", t,
                  rounds_seen[t]);
}

/* The weights after the fixed run of trained_weights, with the count
 * changed after every `every` jobs (forward rounds of 50 rows) */
static float *switched(ot_model *m, int cut, int threads, size_t shards, size_t every,
                       size_t *n)
{
    forced.cut = cut;
    forced.switch_every = every;
    forced.round_rows = 50;
    float *w = trained_weights(m, threads, shards, n);
    memset(&forced, 0, sizeof forced);
    return w;
}

Test(team, switching_threads_changes_no_bit_cut_by_rows)
{
    size_t n, n2;
    float *ref = switched(small_model(11, OT_OPTIMIZER_ADAM), -1, 1, 6, 0, &n);
    const size_t every[] = {1, 2, 5};
    for (size_t i = 0; i < 3; i++) {
        float *w = switched(small_model(11, OT_OPTIMIZER_ADAM), -1, 4, 6, every[i], &n2);
        cr_assert_eq(n, n2);
        cr_assert(memcmp(ref, w, n * sizeof(float)) == 0,
                  "rows: 4 threads switching every %zu jobs differ from 1 thread", every[i]);
        free(w);
    }
    free(ref);
}

Test(team, switching_threads_changes_no_bit_cut_by_units)
{
    size_t n, n2;
    float *ref = switched(wide_model(11, OT_OPTIMIZER_SGD), 1, 1, 4, 0, &n);
    const size_t every[] = {1, 3};
    for (size_t i = 0; i < 2; i++) {
        float *w = switched(wide_model(11, OT_OPTIMIZER_SGD), 1, 3, 4, every[i], &n2);
        cr_assert_eq(n, n2);
        cr_assert(memcmp(ref, w, n * sizeof(float)) == 0,
                  "units: 3 threads switching every %zu jobs differ from 1 thread",
                  every[i]);
        free(w);
    }
    free(ref);
}

/* ---- the controller on made-up timings ------------------------------------ */

/* Rows/s of `threads` threads at time t: idle 460k for one thread and 780k
 * for two (784-100-10 at batch 64 on the development machine); from
 * load_on to load_off another program holds a core, and two threads fall
 * to 150k while one keeps 450k. Each job's time varies by up to +-10%. */
typedef struct sim {
    double load_on, load_off;
    unsigned seed;
} sim;

static double rate(sim *s, int threads, double t)
{
    int loaded = t >= s->load_on && t < s->load_off;
    double r = threads == 1 ? (loaded ? 450e3 : 460e3) : (loaded ? 150e3 : 780e3);
    s->seed = s->seed * 1103515245u + 12345u;
    return r * (0.9 + 0.2 * (double)(s->seed >> 16 & 0x7fff) / 32768.0);
}

typedef struct sim_result {
    double seconds;      /* for all the jobs */
    double at_two[3];    /* share of the time on two threads: before, during, after the load */
} sim_result;

static sim_result simulate(sim *s, size_t jobs)
{
    const int cands[] = {1, 2};
    ot__elastic c;
    ot__elastic_init(&c, cands, 2, 2);
    sim_result r = {0};
    double spent[3] = {0}, two[3] = {0};
    int threads = 2;
    for (size_t i = 0; i < jobs; i++) {
        double dt = 64.0 / rate(s, threads, r.seconds);
        int phase = r.seconds < s->load_on ? 0 : r.seconds < s->load_off ? 1 : 2;
        spent[phase] += dt;
        if (threads == 2)
            two[phase] += dt;
        r.seconds += dt;
        threads = ot__elastic_tick(&c, dt, 64.0);
        cr_assert(threads == 1 || threads == 2);
    }
    for (int p = 0; p < 3; p++)
        r.at_two[p] = spent[p] > 0 ? two[p] / spent[p] : NAN;
    return r;
}

Test(team, elastic_keeps_the_faster_count_on_an_idle_machine)
{
    sim s = {1e9, 1e9, 1};
    /* 10 s of two threads' work */
    sim_result r = simulate(&s, (size_t)(10 * 780e3 / 64));
    cr_assert_gt(r.at_two[0], 0.97, "%.3f of the time on 2 threads", r.at_two[0]);
    cr_assert_lt(r.seconds, 10 * 1.03, "%.2f s for 10 s of work", r.seconds);
}

Test(team, elastic_gives_a_core_up_under_load_and_takes_it_back)
{
    sim s = {2.0, 8.0, 7};
    sim_result r = simulate(&s, (size_t)(2 * 780e3 / 64 + 6 * 450e3 / 64 + 4 * 780e3 / 64));
    cr_assert_lt(r.at_two[1], 0.1, "%.3f of the loaded time on 2 threads", r.at_two[1]);
    cr_assert_gt(r.at_two[2], 0.7, "%.3f of the time after the load on 2 threads",
                 r.at_two[2]);
    /* the best a fixed count could do: 2 then 1 then 2 threads, 12 s */
    cr_assert_lt(r.seconds, 12 * 1.1, "%.2f s for 12 s of work at the best counts", r.seconds);
}

Test(team, elastic_probes_ever_more_rarely_while_the_count_holds)
{
    const int cands[] = {1, 2, 4};
    ot__elastic c;
    ot__elastic_init(&c, cands, 3, 2);
    /* 2 threads the fastest: every probe loses, and the gaps between them
     * double up to their bound */
    double t = 0, last = -1, gaps[32];
    int n = 0, prev = 2;
    while (t < 40 && n < 32) {
        int k = c.probe >= 0 ? c.cands[c.probe] : c.cands[c.cur];
        double dt = 64.0 / (k == 2 ? 780e3 : 500e3);
        t += dt;
        int next = ot__elastic_tick(&c, dt, 64.0);
        if (next != 2 && prev == 2) {
            if (last >= 0)
                gaps[n++] = t - last;
            last = t;
        }
        prev = next;
    }
    cr_assert_eq(c.switches, 0);
    cr_assert_geq(n, 8);
    for (int i = 1; i < 4; i++)
        cr_assert_gt(gaps[i], 1.5 * gaps[i - 1], "gap %d: %.3f s after %.3f s", i, gaps[i],
                     gaps[i - 1]);
    cr_assert_lt(gaps[n - 1], 3.5, "probes stop: %.3f s apart", gaps[n - 1]);
}

static int record_threads(const ot_epoch_metrics *m, void *user)
{
    double *seen = user;
    seen[m->epoch - 1] = m->threads;
    return 0;
}

/* The epoch's mean thread count, which the history CSV writes: exactly the
 * count of a fixed run, and strictly between the ends when it changes. */
Test(team, each_epoch_reports_its_mean_thread_count)
{
    for (size_t every = 0; every <= 1; every++) {
        ot_model *m = small_model(11, OT_OPTIMIZER_ADAM);
        ot_dataset *d = th_blobs(613, 20, 4, 3);
        ot_fit_config fc = ot_fit_config_default();
        fc.batch_size = 50;
        fc.epochs = 2;
        fc.threads = 3;
        fc.shards = 6;
        fc.on_epoch = record_threads;
        double seen[2] = {0, 0};
        fc.user = seen;
        forced.switch_every = every;
        cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
        memset(&forced, 0, sizeof forced);
        for (int e = 0; e < 2; e++) {
            if (every == 0)
                cr_assert(fabs(seen[e] - 3.0) < 1e-9, "epoch %d: %g threads, fixed 3", e + 1,
                          seen[e]);
            else
                cr_assert(seen[e] > 1.0 && seen[e] < 3.0, "epoch %d: %g threads", e + 1,
                          seen[e]);
        }
        ot_model_destroy(m);
        ot_dataset_destroy(d);
    }
}

/* The spells of shortest spins (team.h): a period in which a thread was
 * kept off its core for more than a fifth of it starts one; the 2% a niced
 * program takes does not; the long spin tried after a spell that finds the
 * cores still taken doubles the next one, up to the most; periods with the
 * cores free bring the spell back to its first length. */
Test(team, spins_short_while_the_cores_are_taken)
{
    const double P = OT__TEAM_PERIOD;
    ot__team_quiet q = {.until = 0.0, .hold = OT__TEAM_HOLD, .taken_at = 0.0};
    double now = 10.0;
    ot__team_quiet_update(&q, now, P, 0.02 * P);
    cr_assert_eq(q.until, 0.0, "a niced program's share started a spell");
    ot__team_quiet_update(&q, now += P, P, 0.5 * P);
    cr_assert_float_eq(q.until, now + OT__TEAM_HOLD, 1e-9);
    const double until = q.until;
    ot__team_quiet_update(&q, now += P, P, 0.9 * P);
    cr_assert_eq(q.until, until, "a spell was stretched from within");
    double hold = OT__TEAM_HOLD;
    for (int i = 0; i < 5; i++) {
        now = q.until + P;
        ot__team_quiet_update(&q, now, P, 0.5 * P);
        hold = fmin(2.0 * hold, OT__TEAM_HOLD_MAX);
        cr_assert_float_eq(q.hold, hold, 1e-9, "try %d", i);
        cr_assert_float_eq(q.until, now + hold, 1e-9, "try %d", i);
    }
    cr_assert_eq(q.hold, OT__TEAM_HOLD_MAX);
    /* another thread kept off a core just now: the hold stays */
    now = q.until + P;
    q.taken_at = now - P;
    ot__team_quiet_update(&q, now, P, 0.0);
    cr_assert_eq(q.hold, OT__TEAM_HOLD_MAX);
    ot__team_quiet_update(&q, now += 3.0 * P, P, 0.0);
    cr_assert_eq(q.hold, OT__TEAM_HOLD, "the cores were free, the hold stayed %g", q.hold);
    /* a load that comes back much later starts a first-length spell */
    ot__team_quiet_update(&q, now += 30.0, P, 0.4 * P);
    cr_assert_float_eq(q.until, now + OT__TEAM_HOLD, 1e-9);
}
