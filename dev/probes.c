/*
 * probes.c - dev/bench: the benchmark suite of bench/ with the engine's
 * probes: the kernel-only ceiling in the grid, and the modes that replace
 * the grid (--breakdown, --floors, --step-parts, --alternatives,
 * --layouts). bench/README.md explains every column.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "probes.h"
#include "src/fit.h"

/* ot_model_fit with the step always cut by rows, or by units where the
 * model allows */
static ot_status fit_by_rows(ot_model *m, const ot_dataset *d, const ot_fit_config *cfg,
                             ot_history **h)
{
    ot__engine_options opt = {.cut = -1};
    return ot__fit(m, d, cfg, &opt, h);
}

static ot_status fit_by_units(ot_model *m, const ot_dataset *d, const ot_fit_config *cfg,
                              ot_history **h)
{
    ot__engine_options opt = {.cut = 1};
    return ot__fit(m, d, cfg, &opt, h);
}

static int probe_breakdown(const config *c, const ot_dataset *d)
{
    printf("one thread, %s: microseconds per step\n", c->optimizer);
    printf("%-18s %6s %9s %13s %11s %11s %9s %9s %9s %9s %12s %9s %12s %11s %6s "
           "%12s\n",
           "model", "batch", "kernels", "+gather+loss", "+optimizer", "kern/all", "opt",
           "opt:arith", "opt:mem", "mem:step", "kern/floor", "rows:mem", "kern/bound",
           "gather:mem", "loss", "kern/gather");
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t bi = 0; bi < c->n_batches; bi++) {
            double us[10];
            measure_breakdown(c->models[mi], d, c->batches[bi], c->optimizer, 7 * c->seconds, us);
            /* the best a framework could do: the kernels plus the
             * largest floor of the optimizer's pass, its memory
             * traffic counted where the step leaves it */
            double in_step = us[6], most = us[4];
            most = us[5] > most ? us[5] : most;
            most = in_step > most ? in_step : most;
            /* and the rows read from memory at the least cost, with
             * nothing overlapping them; or instead the rows gathered
             * into the step's buffer by the least loop measured,
             * nothing converted, and the loss */
            const double with_gather = us[0] + most + us[8] + us[9];
            printf("%-18s %6zu %9.1f %13.1f %11.1f %11.2f %9.1f %9.1f %9.1f %9.1f %12.2f "
                   "%9.1f %12.2f %11.1f %6.1f %12.2f\n",
                   c->models[mi], c->batches[bi], us[0], us[1], us[2], us[0] / us[2], us[3],
                   us[4], us[5], in_step, us[0] / (us[0] + most), us[7],
                   us[0] / (us[0] + most + us[7]), us[8], us[9], us[0] / with_gather);
            fflush(stdout);
        }
    return 0;
}

static int probe_floors(const config *c, const ot_dataset *d)
{
    (void)d; /* its kernels run on the workers' own buffers */
    printf("Adam, microseconds per step: each thread its kernels, then its own part of "
           "the parameters;\nGEMM peak: median of 5 calls of a 2048^3 sgemm\n");
    printf("%-18s %6s %7s %5s %9s %9s %9s %10s %8s %10s %9s %9s %10s\n", "model", "batch",
           "threads", "cut", "kernels", "+adam", "+adam:mem", "adam:arith", "kern/all",
           "kern/floor", "peak", "kern:peak", "floor:peak");
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t bi = 0; bi < c->n_batches; bi++)
            for (int ti = 0; ti < c->n_threads; ti++) {
                const int T = c->threads[ti];
                double us[FLOOR_MODES], g[5];
                int units;
                if (!measure_floors(c->models[mi], c->batches[bi], T, 7 * c->seconds, us,
                                    &units)) {
                    printf("%-18s %6zu %7d  rows  (several threads cut by rows: "
                           "--step-parts)\n", c->models[mi], c->batches[bi], T);
                    continue;
                }
                for (int r = 0; r < 5; r++)
                    g[r] = measure_gemm(T, 1);
                ot_layer layers[MAX_AXIS];
                size_t in, L = parse_model(c->models[mi], &in, layers); /* checked */
                /* the least step: the kernels and the larger of Adam's
                 * two floors, its traffic clocked after the kernels */
                double least = us[2] > us[0] + us[3] ? us[2] : us[0] + us[3];
                double peak = median(g, 5);
                /* a step's FLOPs / 1e3: over microseconds, GFLOP/s */
                double kflop = flops_per_sample(layers, L, in) * (double)c->batches[bi] / 1e3;
                printf("%-18s %6zu %7d %5s %9.1f %9.1f %9.1f %10.1f %8.2f %10.2f %9.1f "
                       "%9.2f %10.2f\n",
                       c->models[mi], c->batches[bi], T, units ? "units" : "rows", us[0],
                       us[1], us[2], us[3], us[0] / us[1], us[0] / least, peak,
                       kflop / us[0] / peak, kflop / least / peak);
                fflush(stdout);
            }
    return 0;
}

static int probe_step_parts(const config *c, const ot_dataset *d)
{
    size_t max_batch = 0;
    for (size_t bi = 0; bi < c->n_batches; bi++)
        max_batch = c->batches[bi] > max_batch ? c->batches[bi] : max_batch;
    if (c->hot_rows && (c->hot_rows < max_batch || c->hot_rows > d->n)) {
        cli_error("--hot-rows %zu must be between the largest batch (%zu) "
                  "and the data's %zu rows", c->hot_rows, max_batch, d->n);
        return 2;
    }
    /* the stages are those of the step cut by rows: fit too, here */
    printf("%s: microseconds per step cut by rows, one shard per thread; rows from %s\n",
           c->optimizer, c->hot_rows ? "the first --hot-rows rows of the data" : "all the data");
    printf("%-18s %6s %7s %9s %9s %13s %9s %9s %9s %10s\n", "model", "batch", "threads",
           "kernels", "+barrier", "+gather+loss", "+reduce", "+update", "fit",
           "kern/fit");
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t bi = 0; bi < c->n_batches; bi++)
            for (int ti = 0; ti < c->n_threads; ti++) {
                double us[STEP_PARTS];
                measure_step_parts(c->models[mi], d, c->hot_rows, c->batches[bi],
                                   c->threads[ti], c->optimizer, 5 * c->seconds, us);
                double fit = 1e6 * (double)c->batches[bi] /
                             measure_fit(c->models[mi], d, c->batches[bi], c->threads[ti],
                                         c->optimizer, c->seconds, fit_by_rows);
                printf("%-18s %6zu %7d %9.1f %9.1f %13.1f %9.1f %9.1f %9.1f %10.2f\n",
                       c->models[mi], c->batches[bi], c->threads[ti], us[0], us[1], us[2],
                       us[3], us[4], fit, us[0] / fit);
                fflush(stdout);
            }
    return 0;
}

static int probe_layouts(const config *c, const ot_dataset *d)
{
    (void)d;
    run_layouts(c);
    return 0;
}

static int probe_alternatives(const config *c, const ot_dataset *d)
{
    /* interleaved: the step cut by rows (shards), cut by units, and one
     * call with oneDNN threading; `rule`: the cut omptrain chooses */
    printf("%-18s %6s %7s %12s %12s %14s %11s %10s %6s\n", "model", "batch", "threads",
           "rows s/s", "units s/s", "one-call s/s", "units/rows", "rows/call", "rule");
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t bi = 0; bi < c->n_batches; bi++)
            for (int ti = 0; ti < c->n_threads; ti++) {
                double a[16], u[16], b[16];
                ot_model *m = make_model(c->models[mi], c->optimizer);
                size_t S = (size_t)c->threads[ti];
                int units = ot__usplit_applies(m, c->batches[bi], S, 1);
                int rule = ot__usplit_applies(m, c->batches[bi], S, 0);
                ot_model_destroy(m);
                for (int r = 0; r < c->reps; r++) {
                    a[r] = measure_fit(c->models[mi], d, c->batches[bi], c->threads[ti],
                                       c->optimizer, c->seconds, fit_by_rows);
                    u[r] = units ? measure_fit(c->models[mi], d, c->batches[bi], c->threads[ti],
                                               c->optimizer, c->seconds, fit_by_units)
                                 : 0.0;
                    b[r] = measure_internal(c->models[mi], d, c->batches[bi], c->threads[ti],
                                            c->optimizer, c->seconds);
                }
                double ma = median(a, c->reps), mu = median(u, c->reps), mb = median(b, c->reps);
                if (units)
                    printf("%-18s %6zu %7d %12.0f %12.0f %14.0f %11.2f %10.2f %6s\n",
                           c->models[mi], c->batches[bi], c->threads[ti], ma, mu, mb,
                           mu / ma, ma / mb, rule ? "units" : "rows");
                else
                    printf("%-18s %6zu %7d %12.0f %12s %14.0f %11s %10.2f %6s\n",
                           c->models[mi], c->batches[bi], c->threads[ti], ma, "-", mb, "-",
                           ma / mb, "rows");
                fflush(stdout);
            }
    return 0;
}

int main(int argc, char **argv)
{
    static const bench_probes probes = {measure_kernels, probe_breakdown, probe_floors,
                                        probe_step_parts, probe_alternatives, probe_layouts};
    return bench_run(NULL, argc - 1, argv + 1, &probes);
}
