/*
 * load.c - bench --auto-check: --threads auto (elastic threads) against
 * each fixed thread count, on an idle machine and with another program's
 * CPU-bound load that starts partway through the timed run, at nice 0 and
 * at nice 19; the PyTorch peer's fixed counts under the same load, side by
 * side (bench/README.md).
 *
 * Every omptrain run does the same work: the training steps one thread
 * makes in 4 x --seconds on the idle machine (measured first), after 20
 * warm-up steps, with as many shards as the machine has cores, so every
 * count trains the very same weights; the load starts --seconds into the
 * timed steps. The peer trains for 4 x --seconds after its warm-up, its
 * load started --seconds after its request. Figures are samples/s over the
 * timed part, medians of --reps runs interleaved: in each repetition every
 * column in turn, so that a load that varies hits them alike.
 */
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* A CPU-bound child that starts spinning after `delay` seconds at `nice`;
 * -1 when it could not be started. */
static pid_t start_load(int nice_value, double delay)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (setpriority(PRIO_PROCESS, 0, nice_value) != 0)
        _exit(1);
    struct timespec ts = {(time_t)delay, (long)((delay - (double)(time_t)delay) * 1e9)};
    nanosleep(&ts, NULL);
    volatile uint64_t x = 1;
    for (;;)
        x = x * 6364136223846793005u + 1442695040888963407u;
}

static void stop_load(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

typedef struct fixed_work {
    size_t warmup, steps, done;
    double t0, t1, delay;
    int nice_value; /* the load's, or INT32_MAX for none */
    pid_t load;
} fixed_work;

static int count_steps(const ot_step_metrics *s, void *user)
{
    (void)s;
    fixed_work *w = user;
    w->done++;
    if (w->done == w->warmup) {
        w->t0 = now();
        if (w->nice_value != INT32_MAX)
            w->load = start_load(w->nice_value, w->delay);
    }
    if (w->done == w->warmup + w->steps) {
        w->t1 = now();
        return 1;
    }
    return 0;
}

/* Samples/s of `steps` timed steps with `threads` threads (0: elastic) on
 * `shards` shards, the load (if any) started `delay` seconds in. */
static double omptrain_under(const char *spec, const ot_dataset *d, size_t batch,
                             int threads, size_t shards, const char *optimizer,
                             size_t steps, int nice_value, double delay)
{
    ot_model *m = make_model(spec, optimizer);
    fixed_work w = {20, steps, 0, 0, 0, delay, nice_value, 0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = 1000000;
    fc.threads = threads;
    fc.shards = shards;
    fc.on_step = count_steps;
    fc.user = &w;
    ot_status st = ot_model_fit(m, d, &fc, NULL);
    stop_load(w.load);
    ot_model_destroy(m);
    if (st != OT_OK) {
        say("%s\n", ot_last_error());
        exit(1);
    }
    return (double)(steps * batch) / (w.t1 - w.t0);
}

static double peer_under(peer *p, const char *spec, size_t batch, int threads,
                         const char *optimizer, double seconds, int nice_value, double delay)
{
    pid_t load = nice_value != INT32_MAX ? start_load(nice_value, delay) : 0;
    double sps = peer_run(p, spec, batch, threads, optimizer, seconds);
    stop_load(load);
    return sps;
}

int bench_auto_check(const config *c, const ot_dataset *d, peer *pp, int have_peer,
                     const int *loads, int n_loads)
{
    const int cores = omp_get_num_procs();
    const size_t shards = (size_t)cores;
    const double work_seconds = 4 * c->seconds, delay = c->seconds;
    if (have_peer) /* said when its BLAS is slow, as before a grid */
        peer_measure_gemm(pp, c->threads, c->n_threads);
    printf("--threads auto (elastic) against fixed thread counts, %zu shards each (the same "
           "weights); samples/s, median of %d; load: a CPU-bound process started %.1fs "
           "into the timed run\n", shards, c->reps, delay);
    printf("| model | batch | load |");
    for (int ti = 0; ti < c->n_threads; ti++)
        printf(" %d thread%s |", c->threads[ti], c->threads[ti] == 1 ? "" : "s");
    printf(" auto | auto / best fixed |");
    if (have_peer)
        for (int ti = 0; ti < c->n_threads; ti++)
            printf(" PyTorch %d |", c->threads[ti]);
    printf("\n| --- | --- | --- |");
    for (int ti = 0; ti < c->n_threads * (have_peer ? 2 : 1) + 2; ti++)
        printf(" --- |");
    printf("\n");
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t bi = 0; bi < c->n_batches; bi++) {
            const char *spec = c->models[mi];
            size_t batch = c->batches[bi];
            if (batch < shards || batch > ot_dataset_size(d)) {
                say("batch %zu: must hold a row a shard (%zu) and fit the data\n", batch,
                    shards);
                return 1;
            }
            /* the work: what one thread does idle in work_seconds */
            double one = measure_omptrain(spec, d, batch, 1, c->optimizer, c->seconds);
            size_t steps = (size_t)(one * work_seconds / (double)batch) + 1;
            for (int li = 0; li < n_loads; li++) {
                enum { COLS = 2 * MAX_AXIS + 1 };
                double v[COLS][16];
                const int n_cols = c->n_threads + 1, n_peer = have_peer ? c->n_threads : 0;
                for (int r = 0; r < c->reps; r++) {
                    for (int k = 0; k < n_cols; k++)
                        v[k][r] = omptrain_under(spec, d, batch,
                                                 k < c->n_threads ? c->threads[k] : 0,
                                                 shards, c->optimizer, steps, loads[li],
                                                 delay);
                    for (int k = 0; k < n_peer; k++)
                        v[n_cols + k][r] = peer_under(pp, spec, batch, c->threads[k],
                                                      c->optimizer, work_seconds, loads[li],
                                                      delay);
                }
                char load[32];
                if (loads[li] == INT32_MAX)
                    snprintf(load, sizeof load, "idle");
                else
                    snprintf(load, sizeof load, "nice %d", loads[li]);
                printf("| %s | %zu | %s |", spec, batch, load);
                double best = 0;
                for (int k = 0; k < n_cols + n_peer; k++) {
                    double med = median(v[k], c->reps);
                    if (k < c->n_threads && med > best)
                        best = med;
                    printf(" %.0f |", med);
                    if (k == c->n_threads) /* auto's wall time over the best fixed one's */
                        printf(" %.3f |", best / med);
                }
                printf("\n");
                fflush(stdout);
            }
        }
    return 0;
}
