/*
 * bench.c - the throughput suite: samples per second of full training steps
 * (forward, loss, backward, reduction, optimizer step) over a grid of models
 * x batch sizes x thread counts, each point beside
 *   - the machine's single-precision GEMM peak (oneDNN's sgemm, 2048^3),
 *     timed in the point's own repetitions;
 *   - PyTorch (bench/peers/pytorch_mlp.py), interleaved point by point;
 *   - under the developer tool (dev/), the kernel-only ceiling: the same
 *     oneDNN primitives for the same shard shapes, run back to back by the
 *     same threads with nothing around them.
 * Writes CSV, JSON and two SVG plots. See bench/README.md for every column.
 * Also time to accuracy, the check of --threads auto, and the plots again.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "bench_paths.h"
#include "cli.h"

/* --out: a folder this program can write in, made when missing; 0 when not
 * (said), before anything is measured. */
static int prepare_out(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("--out: cannot make the folder %s: %s", dir, strerror(errno));
        return 0;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("--out: %s is not a folder", dir);
        return 0;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("--out: cannot write in %s: %s", dir, strerror(errno));
        return 0;
    }
    return 1;
}

/* --models: a list of INPUT-UNITS-...-CLASSES, each once, input 784. */
static int parse_models(const char *spec, config *c)
{
    c->n_models = 0;
    for (const char *p = spec;;) {
        size_t len = strcspn(p, ","), in;
        ot_layer layers[MAX_AXIS];
        char name[MODEL_NAME];
        if (len >= sizeof name) {
            cli_error("--models: '%.*s' is too long", (int)len, p);
            return 0;
        }
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        if (parse_model(name, &in, layers) == 0 || in != DATA_DIM) {
            cli_error("--models: '%s' is not a model: INPUT-UNITS-...-CLASSES, input %d, "
                      "2 to %d widths in 1..%u (relu hidden layers, softmax last)",
                      name, DATA_DIM, MAX_AXIS, MAX_UNITS);
            return 0;
        }
        for (size_t k = 0; k < c->n_models; k++)
            if (strcmp(c->models[k], name) == 0) {
                cli_error("--models: %s is given twice", name);
                return 0;
            }
        if (c->n_models == MAX_AXIS) {
            cli_error("--models: more than %d models", MAX_AXIS);
            return 0;
        }
        memcpy(c->models[c->n_models++], name, sizeof name);
        if (p[len] == '\0')
            return 1;
        p += len + 1;
    }
}

/* The PyTorch peer by default: the source tree's, else the installed copy
 * (bench_paths.h, made by meson). */
static const char *default_peer(void)
{
    return access(OT_PEER_SOURCE, R_OK) == 0 ? OT_PEER_SOURCE : OT_PEER_INSTALLED;
}

int bench_main(const char *command, int argc, char **argv)
{
    return bench_run(command, argc, argv, NULL);
}

/* The developer's flags, the last of the table: refused by name without
 * the probes. */
static const char *const probe_flags[] = {"--breakdown", "--floors", "--step-parts",
                                          "--hot-rows", "--alternatives", "--layouts"};
enum { N_PROBE_FLAGS = sizeof probe_flags / sizeof *probe_flags };

/* "idle,0,19": idle (INT32_MAX) or a nice value in -20..19, at most 8. */
static int parse_loads(const char *spec, int *loads, int *n)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        long v = strcmp(t, "idle") == 0 ? INT32_MAX : strtol(t, &end, 10);
        if (*n == 8 || (v != INT32_MAX && (*end != '\0' || end == t || v < -20 || v > 19))) {
            cli_error("--load: '%s' is not idle or a nice value in -20..19 (at most 8)", t);
            return 0;
        }
        loads[(*n)++] = (int)v;
    }
    if (*n == 0) {
        cli_error("--load: empty");
        return 0;
    }
    return 1;
}

int bench_run(const char *command, int argc, char **argv, const bench_probes *probes)
{
    config c = {{0}, 0, {0}, 0, {{0}}, 0, "adam", "fashion-mnist", "bench-results",
                default_peer(), "/usr/bin/python3", 3, 1.0, 0};
    int cores = omp_get_num_procs(), breakdown = 0, auto_check = 0, alternatives = 0;
    int layouts = 0, step_parts = 0, tta = 0, plot_only = 0, floors = 0, search_check = 0;
    int stream_check = 0;
    double target = 0.87;
    const char *batch_spec = "16,32,64,128,256,512,1024";
    const char *models_spec = "784-100-10,784-512-10,784-1024-1024-10";
    const char *threads_spec = NULL, *load_spec = "idle,0,19";
    int loads[8], n_loads = 0;
    char threads_default[64];
    snprintf(threads_default, sizeof threads_default, "1..%d, every count up to the cores",
             cores < MAX_AXIS ? cores : MAX_AXIS);
    const cli_opt opts[] = {
        {"--batch", CLI_STRING, &batch_spec, "N,...", "global batch sizes (--time-to-accuracy: 32)", 0, 0, NULL},
        {"--threads", CLI_STRING, &threads_spec, "N,...", "OpenMP thread counts, 1..1024, one shard per thread", 0, 0, threads_default},
        {"--models", CLI_STRING, &models_spec, "LIST", "INPUT-UNITS-...-CLASSES, input 784, relu hidden layers and softmax (--time-to-accuracy: 784-100-10)", 0, 0, NULL},
        {"--optimizer", CLI_STRING, &c.optimizer, "NAME", "adam or sgd, Keras' defaults (the PyTorch peer's too)", 0, 0, NULL},
        {"--reps", CLI_INT, &c.reps, "N", "repetitions of each point, interleaved; the figures are their medians", 1, 16, NULL},
        {"--seconds", CLI_DOUBLE, &c.seconds, "S", "least seconds timed in each repetition", 0.001, 3600, NULL},
        {"--peer", CLI_STRING, &c.peer, "PATH|none", "the PyTorch peer (pytorch_mlp.py), or none", 0, 0, NULL},
        {"--python", CLI_STRING, &c.python, "PATH", "the peer's interpreter, with torch", 0, 0, NULL},
        {"--data", CLI_STRING, &c.data, "NAME", "fashion-mnist (its training images, from $OMPTRAIN_DATA or Debian's dataset-fashion-mnist; synthetic rows of that shape when neither is there, and the output says so) or synthetic", 0, 0, NULL},
        {"--out", CLI_STRING, &c.out, "DIR", "the grid's bench.csv, bench.json and SVG plots (each written atomically), made when missing", 0, 0, NULL},
        {"--auto-check", CLI_BOOL, &auto_check, NULL, "instead of the grid: --threads auto (elastic) against each fixed thread count and the PyTorch peer's, idle and under --load, the same work each, median of --reps runs", 0, 0, NULL},
        {"--load", CLI_STRING, &load_spec, "LIST", "--auto-check: idle, and the nice values of a CPU-bound process started --seconds into each timed run", 0, 0, NULL},
        {"--search-check", CLI_BOOL, &search_check, NULL, "instead of the grid: the textbook's grid search (epochs 1,2,3 x --batch, 3 folds, the refit) by omptrain, scikit-learn and a PyTorch loop", 0, 0, NULL},
        {"--stream-check", CLI_BOOL, &stream_check, NULL, "instead of the grid: training samples/s of Fashion-MNIST in memory and streamed from the page cache (mapped, and read by pread as a file too large to map is), at the most --threads", 0, 0, NULL},
        {"--replot", CLI_BOOL, &plot_only, NULL, "instead of the grid: the plots again from --out DIR's bench.csv", 0, 0, NULL},
        {"--time-to-accuracy", CLI_BOOL, &tta, NULL, "instead of the grid: seconds to --target validation accuracy, omptrain and PyTorch", 0, 0, NULL},
        {"--target", CLI_DOUBLE, &target, "ACC", "--time-to-accuracy: the validation accuracy to reach", 0.01, 0.9999, NULL},
        {"--breakdown", CLI_BOOL, &breakdown, NULL, "instead of the grid: where a 1-thread step's time goes", 0, 0, NULL},
        {"--floors", CLI_BOOL, &floors, NULL, "instead of the grid: each --threads count's kernels, cut as omptrain cuts the step, then Adam's update and its floors; the most of the GEMM peak these kernels allow", 0, 0, NULL},
        {"--step-parts", CLI_BOOL, &step_parts, NULL, "instead of the grid: a step of each --threads count built up part by part, microseconds", 0, 0, NULL},
        {"--hot-rows", CLI_SIZE, &c.hot_rows, "N", "--step-parts: rows drawn from the first N rows of the data only", 1, (double)UINT32_MAX, "all rows"},
        {"--alternatives", CLI_BOOL, &alternatives, NULL, "instead of the grid: the step cut by rows, cut by units, and one oneDNN call with oneDNN threading; which cut omptrain chooses", 0, 0, NULL},
        {"--layouts", CLI_BOOL, &layouts, NULL, "instead of the grid: plain oi weights against oneDNN's preferred layout, per layer, rows and direction", 0, 0, NULL},
    };
    const size_t n_opts = sizeof opts / sizeof *opts - (probes ? 0 : N_PROBE_FLAGS);
    int seen[sizeof opts / sizeof *opts] = {0};
    if (command == NULL)
        cli_program = "bench";
    if (probes == NULL)
        for (int i = 0; i < argc; i++)
            for (int k = 0; k < N_PROBE_FLAGS; k++)
                if (strcmp(argv[i], probe_flags[k]) == 0) {
                    cli_error("%s is a probe of the engine, in the developer tool: build "
                              "with `meson configure -Ddev=true` and run dev/bench",
                              probe_flags[k]);
                    return 2;
                }
    int rc = cli_parse(command, probes ? "The throughput suite with the engine's probes: "
                       "samples/s of full training steps over models x batch sizes x thread "
                       "counts, each point beside the kernel-only ceiling, the GEMM peak and "
                       "PyTorch, or a probe instead of the grid (bench/README.md of the source "
                       "explains every column)." : "The throughput suite: samples/s of full "
                       "training steps over models x batch sizes x thread counts, each point "
                       "beside the GEMM peak and PyTorch (bench/README.md of the source "
                       "explains every column).",
                       opts, n_opts, argc, argv, seen);
    if (rc >= 0)
        return rc;
#define GIVEN(flag) cli_given(opts, seen, n_opts, flag)
    if (breakdown + floors + step_parts + auto_check + alternatives + layouts + plot_only +
            tta + search_check + stream_check > 1) {
        cli_error("--auto-check, --search-check, --stream-check, --replot, "
                  "--time-to-accuracy%s each replace "
                  "the grid: one "
                  "at a time", probes ? " and the probes" : "");
        return 2;
    }
    if (GIVEN("--load") && !auto_check) {
        cli_error("--load applies to --auto-check only");
        return 2;
    }
    if (auto_check && !parse_loads(load_spec, loads, &n_loads))
        return 2;
    if (GIVEN("--hot-rows") && !step_parts) {
        cli_error("--hot-rows applies to --step-parts only");
        return 2;
    }
    if (floors && strcmp(c.optimizer, "adam") != 0) {
        cli_error("--floors measures Adam's floors: --optimizer adam only");
        return 2;
    }
    if (GIVEN("--target") && !tta) {
        cli_error("--target applies to --time-to-accuracy only");
        return 2;
    }
    if ((tta || search_check || stream_check) && !GIVEN("--models"))
        models_spec = "784-100-10"; /* the textbook's */
    if (tta && !GIVEN("--batch"))
        batch_spec = "32"; /* Keras' default, the textbook's */
    if (search_check && !GIVEN("--batch"))
        batch_spec = "32,64"; /* the textbook's grid */
    size_t axis[MAX_AXIS], n_axis;
    if (!parse_axis("--batch", batch_spec, 1, UINT32_MAX, c.batches, MAX_AXIS,
                    &c.n_batches))
        return 2;
    if (threads_spec == NULL)
        for (int t = 1; t <= cores && t <= MAX_AXIS; t++)
            c.threads[c.n_threads++] = t;
    else if (!parse_axis("--threads", threads_spec, 1, 1024, axis, MAX_AXIS, &n_axis))
        return 2;
    else
        for (size_t k = 0; k < n_axis; k++)
            c.threads[c.n_threads++] = (int)axis[k];
    if (!parse_models(models_spec, &c))
        return 2;
    if (strcmp(c.optimizer, "adam") != 0 && strcmp(c.optimizer, "sgd") != 0) {
        cli_error("--optimizer: '%s' is not adam or sgd", c.optimizer);
        return 2;
    }
    if (strcmp(c.data, "fashion-mnist") != 0 && strcmp(c.data, "synthetic") != 0) {
        cli_error("--data: '%s' is not fashion-mnist or synthetic", c.data);
        return 2;
    }
    if (strcmp(c.peer, "none") != 0 && access(c.peer, R_OK) != 0) {
        if (GIVEN("--peer")) {
            cli_error("--peer: cannot read %s: %s", c.peer, strerror(errno));
            return 2;
        }
        say("the PyTorch peer is not installed (%s): running without it\n", c.peer);
        c.peer = "none";
    }
#undef GIVEN
    if (plot_only)
        return replot(&c);
    /* the developer's probe that replaces the grid, if one was asked for */
    int (*probe)(const config *, const ot_dataset *) = NULL;
    if (probes != NULL)
        probe = breakdown      ? probes->breakdown
                : floors       ? probes->floors
                : step_parts   ? probes->step_parts
                : alternatives ? probes->alternatives
                : layouts      ? probes->layouts
                               : NULL;
    /* the grid writes its results there, time to accuracy the peer's rows:
     * a folder that cannot take them fails now, not after the measuring */
    if ((!(breakdown || floors || step_parts || auto_check || alternatives || layouts ||
           search_check || stream_check) ||
         ((tta || auto_check || search_check) && strcmp(c.peer, "none") != 0)) &&
        !prepare_out(c.out))
        return 1;

    /* the data: Fashion-MNIST's training images, or rows of that shape */
    /* $OMPTRAIN_DATA as for omptrain: a folder named there must load */
    const char *env_dir = getenv("OMPTRAIN_DATA");
    int from_env = env_dir != NULL && env_dir[0] != '\0';
    const char *fashion = from_env ? env_dir : "/usr/share/datasets/fashion-mnist";
    if (stream_check) {
        if (strcmp(c.data, "synthetic") == 0) {
            cli_error("--stream-check streams Fashion-MNIST's files: not --data synthetic");
            return 2;
        }
        return bench_stream_check(&c, fashion);
    }
    ot_dataset *d = NULL;
    char data_desc[128] = "Fashion-MNIST train (60,000 x 784)";
    struct stat st;
    if (strcmp(c.data, "synthetic") != 0 && (from_env || stat(fashion, &st) == 0)) {
        if (ot_dataset_load_idx_dir(&d, fashion, "train") != OT_OK) {
            say("%s\n", ot_last_error());
            return 1;
        }
    } else {
        if (strcmp(c.data, "synthetic") != 0)
            say("Fashion-MNIST is not installed (%s, package "
                "dataset-fashion-mnist): synthetic rows of its shape\n", fashion);
        snprintf(data_desc, sizeof data_desc, "synthetic (60,000 x 784)");
        const size_t n = 60000, dim = DATA_DIM;
        float *x = malloc(n * dim * sizeof(float));
        int32_t *y = malloc(n * sizeof(int32_t));
        if (x == NULL || y == NULL) {
            say("out of memory for %zu synthetic rows\n", n);
            free(x);
            free(y);
            return 1;
        }
        for (size_t i = 0; i < n * dim; i++)
            x[i] = (float)((i * 2654435761u) % 256) / 255.0f;
        for (size_t i = 0; i < n; i++)
            y[i] = (int32_t)(i % 10);
        ot_status made = ot_dataset_create(&d, n, dim, x, y);
        free(x);
        free(y);
        if (made != OT_OK) {
            say("%s\n", ot_last_error());
            return 1;
        }
    }
    const size_t rows = ot_dataset_size(d);
    if (ot_dataset_dim(d) != DATA_DIM) {
        say("%s: %zu features a row, not %d\n", fashion, ot_dataset_dim(d), DATA_DIM);
        ot_dataset_destroy(d);
        return 1;
    }
    /* every model can be made (make_model exits when not): a model too
     * large fails now, not after the models before it were measured */
    for (size_t mi = 0; mi < c.n_models; mi++)
        ot_model_destroy(make_model(c.models[mi], c.optimizer));
    /* every point trains on the whole data: a batch no larger than it, and
     * at least a row per thread */
    if (c.batches[c.n_batches - 1] > rows || c.batches[0] < (size_t)c.threads[c.n_threads - 1]) {
        if (c.batches[c.n_batches - 1] > rows)
            cli_error("--batch: %zu is more than the data's %zu rows",
                      c.batches[c.n_batches - 1], rows);
        else
            cli_error("--batch %zu has fewer rows than --threads %d: a shard per thread "
                      "needs a row each", c.batches[0], c.threads[c.n_threads - 1]);
        ot_dataset_destroy(d);
        return 2;
    }

    if (probe != NULL) {
        int prc = probe(&c, d);
        ot_dataset_destroy(d);
        return prc;
    }

    if (search_check) {
        int src = bench_search_check(&c, d);
        ot_dataset_destroy(d);
        return src;
    }

    peer pp;
    memset(&pp, 0, sizeof pp);
    int have_peer = 0;
    if (strcmp(c.peer, "none") != 0)
        have_peer = peer_start_with(&pp, c.python, c.peer, c.out, d);

    if (auto_check) {
        int lrc = bench_auto_check(&c, d, &pp, have_peer, loads, n_loads);
        char desc[160];
        printf("PyTorch: %s\n", peer_describe(&pp, have_peer, desc, sizeof desc));
        if (have_peer)
            peer_stop(&pp);
        ot_dataset_destroy(d);
        return lrc;
    }

    if (tta) {
        /* Keras' validation_split=0.2: the last fifth of the rows, unshuffled */
        if (strncmp(data_desc, "Fashion-MNIST", 13) != 0) {
            say("time to accuracy needs Fashion-MNIST (%s, package "
                "dataset-fashion-mnist, or $OMPTRAIN_DATA)\n", fashion);
            return 1;
        }
        size_t n_val = rows / 5, n_train = rows - n_val;
        ot_dataset *train = NULL, *val = NULL;
        if (ot_dataset_slice(&train, d, 0, n_train) != OT_OK ||
            ot_dataset_slice(&val, d, n_train, n_val) != OT_OK) {
            say("%s\n", ot_last_error());
            return 1;
        }
        if (have_peer) /* said when its BLAS is slow, as before a grid */
            peer_measure_gemm(&pp, c.threads, c.n_threads);
        int rc = run_time_to_accuracy(&c, &pp, have_peer, train, val, target);
        char desc[256];
        printf("PyTorch: %s\n", peer_describe(&pp, have_peer, desc, sizeof desc));
        if (have_peer)
            peer_stop(&pp);
        ot_dataset_destroy(train);
        ot_dataset_destroy(val);
        ot_dataset_destroy(d);
        return rc;
    }

    /* the GEMM peak is measured beside each point, in its repetitions, so
     * that a machine whose speed drifts over the grid gives every point the
     * denominator of its own minutes (the median, as for every other
     * column): the lowest and highest per count */
    double gemm_lo[MAX_AXIS + 1], gemm_hi[MAX_AXIS + 1];
    for (int t = 0; t < c.n_threads; t++) {
        gemm_lo[t] = INFINITY;
        gemm_hi[t] = 0;
    }

    /* the peer's own GEMM peak, so that its speed has a denominator too */
    if (have_peer)
        peer_measure_gemm(&pp, c.threads, c.n_threads);

    size_t total = c.n_models * c.n_batches * (size_t)c.n_threads;
    point *pts = calloc(total, sizeof *pts);
    if (pts == NULL) {
        say("out of memory for %zu points\n", total);
        if (have_peer)
            peer_stop(&pp);
        ot_dataset_destroy(d);
        return 1;
    }
    size_t n = 0;
    int written = 0;
    printf("%-18s %6s %7s %12s %12s %8s %12s %8s %8s %8s  %s\n", "model", "batch",
           "threads", "samples/s", "kernels", "eff", "PyTorch", "ratio", "scaling",
           "ceiling", "cut");
    for (size_t mi = 0; mi < c.n_models; mi++)
        for (size_t bi = 0; bi < c.n_batches; bi++) {
            /* the points of every thread count of this model and batch */
            point *g = &pts[n];
            int one = -1;
            for (int ti = 0; ti < c.n_threads; ti++) {
                point *p = &g[ti];
                ot_layer layers[MAX_AXIS];
                size_t in, L = parse_model(c.models[mi], &in, layers); /* checked */
                p->model = c.models[mi];
                p->batch = c.batches[bi];
                p->threads = c.threads[ti];
                p->flops_per_sample = flops_per_sample(layers, L, in);
                /* how the trainer cuts these steps (one shard per thread) */
                ot_model *cm = make_model(p->model, c.optimizer);
                ot_step_cut cut = OT_STEP_CUT_ROWS;
                if (ot_model_step_cut(cm, p->batch, (size_t)p->threads, &cut) != OT_OK) {
                    say("%s\n", ot_last_error());
                    return 1;
                }
                p->units = cut == OT_STEP_CUT_UNITS;
                ot_model_destroy(cm);
                if (p->threads == 1)
                    one = ti;
            }
            /* interleaved: in each repetition every thread count in turn, and
             * for each omptrain, the peer, the kernel-only ceiling, the GEMM
             * peak; so that N threads are compared with 1 thread measured
             * seconds apart, not a point later. The peak memory is
             * omptrain's alone. */
            double kernels[MAX_AXIS][16], gemms[MAX_AXIS][16], peak[MAX_AXIS] = {0};
            for (int r = 0; r < c.reps; r++)
                for (int ti = 0; ti < c.n_threads; ti++) {
                    point *p = &g[ti];
                    peak_reset();
                    p->sps[p->n++] = measure_omptrain(p->model, d, p->batch, p->threads,
                                                      c.optimizer, c.seconds);
                    double pk = peak_mib();
                    peak[ti] = pk > peak[ti] ? pk : peak[ti];
                    if (have_peer)
                        p->peer_sps[p->n_peer++] = peer_run(&pp, p->model, p->batch,
                                                            p->threads, c.optimizer, c.seconds);
                    kernels[ti][r] = probes && probes->kernels
                                         ? probes->kernels(p->model, p->batch, p->threads,
                                                           c.seconds)
                                         : NAN;
                    gemms[ti][r] = measure_gemm(p->threads, 1);
                }
            for (int ti = 0; ti < c.n_threads; ti++) {
                point *p = &g[ti];
                p->gemm_gflops = median(gemms[ti], c.reps);
                gemm_lo[ti] = fmin(gemm_lo[ti], p->gemm_gflops);
                gemm_hi[ti] = fmax(gemm_hi[ti], p->gemm_gflops);
                p->peak_mib = peak[ti];
                p->kernel_sps = median(kernels[ti], c.reps);
                p->scaling = p->scaling_ceiling = NAN;
                if (one >= 0) {
                    double ratio[16], ceiling[16];
                    for (int r = 0; r < c.reps; r++) {
                        ratio[r] = p->sps[r] / (p->threads * g[one].sps[r]);
                        ceiling[r] = scaling_ceiling(p->threads, g[one].sps[r],
                                                     kernels[one][r], kernels[ti][r]);
                    }
                    p->scaling = median(ratio, c.reps);
                    p->scaling_ceiling = median(ceiling, c.reps);
                }
                double med = median(p->sps, p->n);
                double torch = p->n_peer ? median(p->peer_sps, p->n_peer) : NAN;
                printf("%-18s %6zu %7d %12.0f %12.0f %8.2f %12.0f %8.2f %8.2f %8.2f  %s\n",
                       p->model, p->batch, p->threads, med, p->kernel_sps,
                       med / p->kernel_sps, torch, med / torch, p->scaling,
                       p->scaling_ceiling, p->units ? "units" : "rows");
            }
            fflush(stdout);
            n += (size_t)c.n_threads;
            /* the CSV and JSON of the points so far, after each: a run
             * stopped or killed half-way keeps what it measured */
            written = write_results(&c, pts, n, &pp, have_peer, data_desc);
        }
    for (size_t mi = 0; mi < c.n_models; mi++)
        written = write_svgs(&c, pts, n, c.models[mi]) && written;
    printf("GEMM peak (oneDNN sgemm 2048^3, median of each point's repetitions):");
    for (int t = 0; t < c.n_threads; t++)
        printf(" %d thread%s %.1f-%.1f GFLOP/s;", c.threads[t], c.threads[t] > 1 ? "s" : "",
               gemm_lo[t], gemm_hi[t]);
    if (have_peer) {
        printf("\nPyTorch's GEMM peak (torch.mm 2048^3, median of 5 at the start):");
        for (int t = 0; t < pp.n_gemm; t++)
            printf(" %d thread%s %.1f GFLOP/s;", pp.gemm_threads[t],
                   pp.gemm_threads[t] > 1 ? "s" : "", pp.gemm_gflops[t]);
    }
    char desc[256];
    printf("\nPyTorch: %s; results %s %s/\n", peer_describe(&pp, have_peer, desc, sizeof desc),
           written ? "in" : "NOT all written to", c.out);
    if (have_peer)
        peer_stop(&pp);
    free(pts);
    ot_dataset_destroy(d);
    return written ? 0 : 1;
}
