/*
 * test_team.c - threads that change while a run goes (team.c, elastic.c,
 * engine.c): the barrier under a changing count, the same weights, bit for
 * bit, when the count changes every few jobs (both cuts of a step, and the
 * forward rounds of validation), and the controller's choices on made-up
 * timings.
 */
#include <omp.h>

#include "training.h"

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
    ot__team_init(&team, T, -1.0);
    round = bad = 0;
    memset(rounds_seen, 0, sizeof rounds_seen);
    unsigned woken = T;
#pragma omp parallel num_threads(T)
    {
        const unsigned id = (unsigned)omp_get_thread_num();
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
