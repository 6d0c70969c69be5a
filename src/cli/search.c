/*
 * search.c - `omptrain search`: train's flags plus a grid of their values;
 * every candidate fitted on every fold of k-fold cross-validation (the
 * library's ot_search, several fits at once), a line per candidate as it
 * finishes, then DIR/cv_results.csv with scikit-learn's columns, the best
 * parameters and score, and the best candidate refit on all the data into
 * DIR/best.otm. Ctrl-C stops the search and keeps the candidates done.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "search.h"

/* Train flags a search does not take: it writes its own files. */
static const char *const not_taken[] = {"--resume", "--checkpoint", "--checkpoint-every",
                                        "--save", "--save-best", "--history", "--plot",
                                        "--validation-data", "--validation-fold"};

static ot_search *volatile running;

static void on_signal(int signo)
{
    (void)signo;
    if (running)
        ot_search_cancel(running);
}


static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "batch=32 epochs=1" */
static void describe(const search_run *r, size_t c, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->grid->n && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%s=%s", i ? " " : "",
                               r->grid->params[i].name, r->vals[c * r->grid->n + i]);
}

static int on_candidate(const ot_search_result *res, void *user)
{
    search_run *r = user;
    r->done++;
    if (r->quiet)
        return 0;
    char what[512];
    describe(r, res->candidate, what, sizeof what);
    printf("[%*zu/%zu] %s: %.4f +- %.4f (fit %.2f s a split)%s%s\n",
           r->n < 10 ? 1 : r->n < 100 ? 2 : 3, r->done, r->n, what, res->mean_score,
           res->std_score, res->mean_fit_time, res->error[0] ? ", failed: " : "", res->error);
    fflush(stdout);
    return 0;
}

/* Makes r->vals and the candidates from the grid over the base flags. */
static int make_candidates(search_run *r, const cli_train_flags *base, int random,
                           size_t draws, ot_search_candidate *cands, ot_layer *layers)
{
    uint64_t rng = base->seed ^ 0x5eed5eed5eed5eedULL;
    for (size_t c = 0; c < r->n; c++) {
        char(*v)[SEARCH_VALUE_LEN] = r->vals + c * r->grid->n;
        search_grid_values(r->grid, c, random && draws > 0, &rng, v);
        cli_train_flags tf = *base;
        cli_train_setup su;
        if (!search_grid_apply(r->grid, v, &tf, &su)) {
            char what[512];
            describe(r, c, what, sizeof what);
            cli_error("--grid: candidate %zu (%s) refused", c, what);
            return 0;
        }
        memcpy(layers + c * CLI_MAX_LAYERS, su.layers, su.n_layers * sizeof *layers);
        ot_fit_config fc = ot_fit_config_default();
        cli_train_fit_config(&tf, &su, &fc);
        fc.validation_split = 0.0;
        fc.threads = 0;
        cands[c] = (ot_search_candidate){.layers = layers + c * CLI_MAX_LAYERS,
                                         .n_layers = su.n_layers, .loss = su.loss,
                                         .optimizer = su.oc, .fit = fc};
    }
    return 1;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 1;
        errno = ENOTDIR;
    }
    cli_error("--out: %s: %s", dir, strerror(errno));
    return 0;
}

int cli_search(int argc, char **argv)
{
    cli_train_flags tf;
    cli_train_flags_init(&tf);
    tf.split = 0.0; /* here: a hold-out instead of --cv */
    cli_opt train_opts[CLI_TRAIN_FLAGS];
    cli_train_flags_table(&tf, train_opts);
    const char *grid_spec = NULL, *out = "search";
    size_t cv = 3, draws = 0;
    int jobs = 0, no_refit = 0;
    const char *resume = NULL;
    enum { OWN = 7, MAX_ARGS = 512 };
    /* --resume DIR: the search DIR/search.args recorded, and of this call's
     * flags only those that change no score */
    static char args_buf[1 << 16];
    char *all[MAX_ARGS + 1];
    const int given_argc = argc;
    char **given_argv = argv;
    for (int i = 0; i + 1 < argc; i++)
        if (strcmp(argv[i], "--resume") == 0)
            resume = argv[i + 1];
    if (resume != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s/search.args", resume);
        int n = search_read_args(path, args_buf, sizeof args_buf, all, MAX_ARGS / 2);
        if (n < 0)
            return CLI_FAILED;
        for (int i = 0; i < argc; i++) {
            if (strcmp(argv[i], "--resume") == 0) {
                i++;
                continue;
            }
            if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i], "--jobs") != 0 &&
                strcmp(argv[i], "--threads") != 0 && strcmp(argv[i], "--quiet") != 0) {
                cli_error("--resume takes the search from %s: besides it only --jobs, "
                          "--threads and --quiet, not %s", path, argv[i]);
                return CLI_USAGE;
            }
            if (n == MAX_ARGS) {
                cli_error("--resume: too many arguments");
                return CLI_USAGE;
            }
            all[n++] = argv[i];
        }
        argc = n;
        argv = all;
    }
    cli_opt opts[CLI_TRAIN_FLAGS + OWN] = {
        {"--grid", CLI_STRING, &grid_spec, "SPEC", "the values to try: 'name=v,v,...;name=...' over train's flags (epochs, batch, lr, optimizer, layers with alternatives separated by |, ...), and units and activation (the hidden layers'); with --random, also ranges lo..hi and lo..hi:log", 0, 0, "none"},
        {"--random", CLI_SIZE, &draws, "N", "N candidates drawn from the grid's lists and ranges (seeded by --seed), instead of every combination", 1, SEARCH_MAX_CANDIDATES, "off"},
        {"--cv", CLI_SIZE, &cv, "K", "folds of k-fold cross-validation (stratified for labels, as scikit-learn's StratifiedKFold without shuffling)", 2, 1000, NULL},
        {"--jobs", CLI_INT, &jobs, "J", "fits at once (with --threads each); default: planned so that jobs x threads = the cores", 1, 1024, "planned"},
        {"--out", CLI_STRING, &out, "DIR", "where cv_results.csv and best.otm go", 0, 0, NULL},
        {"--no-refit", CLI_BOOL, &no_refit, NULL, "do not fit the best candidate on all the data", 0, 0, NULL},
        {"--resume", CLI_STRING, &resume, "DIR", "take up the search stopped in DIR (its search.args and cv_results.csv): the candidates done are kept, the others fitted; with --jobs, --threads and --quiet only", 0, 0, "none"},
    };
    size_t n_opts = OWN;
    for (int i = 0; i < CLI_TRAIN_FLAGS; i++) {
        int skip = 0;
        for (size_t j = 0; j < sizeof not_taken / sizeof *not_taken; j++)
            skip |= strcmp(train_opts[i].name, not_taken[j]) == 0;
        if (skip)
            continue;
        opts[n_opts] = train_opts[i];
        if (strcmp(opts[n_opts].name, "--validation-split") == 0)
            opts[n_opts].help = "a single hold-out of this fraction (chosen by the seeded "
                                "shuffle) instead of --cv";
        if (strcmp(opts[n_opts].name, "--threads") == 0)
            opts[n_opts].help = "threads of each fit (auto: planned with --jobs)";
        n_opts++;
    }
    int rc = cli_parse("search", "Fit every candidate of a grid of train's flags on every "
                       "fold of k-fold cross-validation, several fits at once; print a line "
                       "per candidate, write DIR/cv_results.csv (scikit-learn's columns) and "
                       "refit the best on all the data into DIR/best.otm. The scores depend "
                       "on the candidates, the folds and the seed, never on --jobs or "
                       "--threads. Ctrl-C stops and keeps the candidates done.",
                       opts, n_opts, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    if (resume != NULL)
        out = resume; /* wherever the search was run from */
    if (grid_spec == NULL) {
        cli_error("--grid is needed (e.g. --grid 'epochs=1,2,3;batch=32,64')");
        return CLI_USAGE;
    }
    search_grid grid;
    search_run r = {.grid = &grid, .quiet = tf.quiet};
    ot_search_candidate *cands = NULL;
    ot_layer *layers = NULL;
    ot_dataset *data = NULL;
    ot_search *s = NULL;
    cli_train_setup base;
    rc = CLI_USAGE;
    if (!search_grid_parse(&grid, grid_spec, draws > 0) || !cli_train_setup_from(&tf, 1, &base))
        goto done;
    r.n = draws > 0 ? draws : search_grid_size(&grid);
    if (r.n == SIZE_MAX) {
        cli_error("--grid: more than %d combinations", SEARCH_MAX_CANDIDATES);
        goto done;
    }
    r.vals = calloc(r.n * (grid.n ? grid.n : 1), sizeof *r.vals);
    cands = calloc(r.n, sizeof *cands);
    layers = calloc(r.n * CLI_MAX_LAYERS, sizeof *layers);
    if (!r.vals || !cands || !layers) {
        cli_error("search: out of memory for %zu candidates", r.n);
        rc = CLI_FAILED;
        goto done;
    }
    if (!make_candidates(&r, &tf, draws > 0, draws, cands, layers) || !make_dir(out))
        goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s/search.args", out);
    if (resume == NULL && !search_write_args(path, given_argc, given_argv))
        goto done;
    rc = CLI_FAILED;
    int integer_labels = base.loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                         base.loss == OT_LOSS_CATEGORICAL_CROSSENTROPY;
    cli_data_options dopt = {"train", tf.label_columns, integer_labels, 0};
    if ((rc = cli_load_data(tf.data, &dopt, &data)) != CLI_OK)
        goto done;
    rc = CLI_FAILED;
    ot_search_config sc = ot_search_config_default();
    sc.cv = cv;
    sc.validation_split = tf.split;
    sc.jobs = jobs;
    sc.threads = base.threads;
    sc.on_candidate = on_candidate;
    sc.user = &r;
    if (ot_search_create(&s, data, cands, r.n, &sc) != OT_OK) {
        rc = cli_fail("search");
        goto done;
    }
    int pj, pt;
    ot_search_plan(s, &pj, &pt);
    size_t splits = tf.split > 0.0 ? 1 : cv;
    snprintf(path, sizeof path, "%s/cv_results.csv", out);
    long restored = resume ? search_restore(&r, s, path, splits) : 0;
    if (restored < 0)
        goto done;
    r.done = (size_t)restored;
    if (!tf.quiet) {
        printf("omptrain %s: search of %zu candidate%s x %s%zu split%s on %zu samples of %s, "
               "%d job%s x %d thread%s, scored by %s\n", ot_version(), r.n,
               r.n == 1 ? "" : "s", tf.split > 0.0 ? "a hold-out, " : "", splits,
               splits == 1 ? "" : "s", ot_dataset_size(data), tf.data, pj,
               pj == 1 ? "" : "s", pt, pt == 1 ? "" : "s",
               strcmp(ot_loss_metric_name(base.loss), "accuracy") == 0
                   ? "accuracy"
                   : "minus the mean absolute error");
        if (resume)
            printf("resuming %s: %ld of %zu candidates done\n", out, restored, r.n);
        fflush(stdout);
    }
    running = s;
    cli_catch_signals(on_signal);
    double t0 = seconds_now();
    ot_status st = ot_search_run(s);
    double t_search = seconds_now() - t0;
    if (st != OT_OK && st != OT_CANCELLED) {
        cli_fail("search");
        goto done;
    }
    if (!search_write_results(&r, s, path, splits))
        goto done;
    if (st == OT_CANCELLED) {
        fprintf(stderr, "omptrain: search stopped: %zu of %zu candidates done, in %s\n",
                r.done, r.n, path);
        rc = 128 + SIGINT;
        goto done;
    }
    size_t best = ot_search_best(s);
    if (best == SIZE_MAX) {
        cli_error("search: no candidate has a finite score (see %s)", path);
        goto done;
    }
    ot_search_result res;
    ot_search_result_get(s, best, &res);
    char what[512];
    describe(&r, best, what, sizeof what);
    printf("best: %s, score %.4f +- %.4f (best_params_, best_score_); the search took "
           "%.2f s; all in %s\n", what, res.mean_score, res.std_score, t_search, path);
    if (!no_refit) {
        ot_model *m = NULL;
        snprintf(path, sizeof path, "%s/best.otm", out);
        t0 = seconds_now();
        st = ot_search_refit(s, best, base.threads, &m, NULL);
        double t_refit = seconds_now() - t0;
        if (st == OT_CANCELLED) {
            fprintf(stderr, "omptrain: refit stopped: nothing in %s\n", path);
            rc = 128 + SIGINT;
            goto done;
        } else if (st != OT_OK) {
            cli_fail("refit");
            goto done;
        }
        st = ot_model_save(m, path);
        ot_model_destroy(m);
        if (st != OT_OK) {
            cli_fail("refit");
            goto done;
        }
        printf("refit on all %zu samples in %.2f s: %s\n", ot_dataset_size(data), t_refit,
               path);
    }
    rc = CLI_OK;
done:
    cli_catch_signals(NULL);
    running = NULL;
    ot_search_destroy(s);
    ot_dataset_destroy(data);
    free(layers);
    free(cands);
    free(r.vals);
    search_grid_free(&grid);
    return rc;
}
