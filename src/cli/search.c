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
                                        "--validation-data", "--validation-fold",
                                        "--class-weight"};

/* The search running, for the signal handler: its round's ot_search
 * (published by the round's loop before it runs). */
static search_run *volatile running_run;

static void on_signal(int signo)
{
    (void)signo;
    search_run *r = running_run;
    if (r != NULL && r->rounds[r->round].s != NULL)
        ot_search_cancel(r->rounds[r->round].s);
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
    const search_round *rd = &r->rounds[r->round];
    r->done++;
    if (r->quiet)
        return 0;
    char what[512], round[64] = "";
    describe(r, rd->ids[res->candidate], what, sizeof what);
    if (r->halving)
        snprintf(round, sizeof round, "round %zu/%zu: ", r->round + 1, r->n_rounds);
    printf("[%*zu/%zu] %s%s: %.4f +- %.4f (fit %.2f s a split)%s%s\n",
           rd->n < 10 ? 1 : rd->n < 100 ? 2 : 3, r->done, rd->n, round, what, res->mean_score,
           res->std_score, res->mean_fit_time, res->error[0] ? ", failed: " : "", res->error);
    fflush(stdout);
    return 0;
}

/* Successive halving's rounds for n candidates, factor f, at most `most`
 * epochs: 1 + floor(log_f n) (HalvingGridSearchCV's), fewer when the first
 * round would train no epoch; and the first round's epochs. */
static size_t halving_rounds(size_t n, size_t f, size_t most, size_t *first)
{
    size_t rounds = 1;
    for (size_t m = n; m >= f; m /= f)
        rounds++;
    size_t div = 1;
    for (size_t k = 1; k < rounds; k++) {
        if (most / (div * f) == 0) {
            rounds = k;
            break;
        }
        div *= f;
    }
    *first = most / div;
    return rounds;
}

/* The best `keep` of round rd's candidates by mean score (NaN last, the
 * first of equals), in candidate order, into ids. */
static size_t survivors(const search_round *rd, size_t keep, size_t *ids)
{
    size_t n = 0;
    for (size_t j = 0; j < rd->n; j++) {
        ot_search_result a, b;
        ot_search_result_get(rd->s, j, &a);
        size_t better = 0;
        for (size_t q = 0; q < rd->n; q++) {
            ot_search_result_get(rd->s, q, &b);
            double x = a.mean_score, y = b.mean_score;
            better += isnan(x) ? !isnan(y) || q < j : !isnan(y) && (y > x || (y == x && q < j));
        }
        if (better < keep)
            ids[n++] = rd->ids[j];
    }
    return n;
}

/* Makes r->vals and the candidates from the grid over the base flags. */
/* The metric every fit of the search reports and is scored by: --metrics
 * (one), else the loss's own. */
static ot_metric search_metric(const cli_train_setup *base)
{
    ot_metric m = OT_METRIC_ACCURACY;
    if (base->n_metrics > 0)
        return base->metrics[0];
    ot_metric_parse(ot_loss_metric_name(base->loss), &m);
    return m;
}

static const char *scored_by(const cli_train_setup *base)
{
    static char text[64];
    ot_metric m = search_metric(base);
    snprintf(text, sizeof text, "%s%s", ot_metric_higher_is_better(m) ? "" : "minus the ",
             ot_metric_name(m));
    return text;
}

/* --metrics is the search's scoring: one metric; --monitor the loss or it. */
static int search_monitor(const cli_train_flags *tf, cli_train_setup *base)
{
    if (base->n_metrics > 1) {
        cli_error("--metrics: a search scores by one metric, '%s' names %zu", tf->metrics,
                  base->n_metrics);
        return 0;
    }
    const int val = strncmp(tf->monitor, "val_", 4) == 0;
    const char *bare = val ? tf->monitor + 4 : tf->monitor;
    ot_metric m;
    if (strcmp(bare, "loss") == 0) {
        base->monitor = val ? OT_MONITOR_VAL_LOSS : OT_MONITOR_LOSS;
        return 1;
    }
    if (ot_metric_parse(bare, &m) != OT_OK || m != search_metric(base)) {
        cli_error("--monitor: '%s': the fits report loss and %s (each with or without val_)",
                  tf->monitor, ot_metric_name(search_metric(base)));
        return 0;
    }
    base->monitor = val ? OT_MONITOR_VAL_METRIC : OT_MONITOR_METRIC;
    return 1;
}

static int make_candidates(search_run *r, const cli_train_flags *base, int random,
                           size_t draws, ot_search_candidate *cands, ot_layer *layers)
{
    uint64_t rng = base->seed ^ 0x5eed5eed5eed5eedULL;
    for (size_t c = 0; c < r->n; c++) {
        char(*v)[SEARCH_VALUE_LEN] = r->vals + c * r->grid->n;
        search_grid_values(r->grid, c, random && draws > 0, &rng, v);
        cli_train_flags tf = *base;
        cli_train_setup su;
        if (!search_grid_apply(r->grid, v, &tf, &su) || !search_monitor(&tf, &su)) {
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
    size_t cv = 3, draws = 0, halving = 0;
    int jobs = 0, no_refit = 0;
    const char *resume = NULL;
    enum { OWN = 8, MAX_ARGS = 512 };
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
        /* under mpirun every rank reads the files, and all go on or none */
        if (cli_ranks_agree(n < 0 ? CLI_FAILED : CLI_OK) != CLI_OK)
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
        {"--halving", CLI_SIZE, &halving, "F", "successive halving (HalvingGridSearchCV with epochs as the resource): every candidate for a few epochs, the best 1/F of them F times as many, ..., the last round for --epochs", 2, 1000, "off"},
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
        if (strcmp(opts[n_opts].name, "--validation-split") == 0) {
            opts[n_opts].help = "a single hold-out of this fraction (chosen by the seeded "
                                "shuffle) instead of --cv";
            opts[n_opts].default_text = "none: --cv";
        }
        if (strcmp(opts[n_opts].name, "--threads") == 0)
            opts[n_opts].help = "threads of each fit (auto: planned with --jobs)";
        n_opts++;
    }
    int rc = cli_parse("search", "Fit every candidate of a grid of train's flags on every "
                       "fold of k-fold cross-validation, several fits at once; print a line "
                       "per candidate, write DIR/cv_results.csv (scikit-learn's columns) and "
                       "refit the best on all the data into DIR/best.otm. The scores depend "
                       "on the candidates, the folds and the seed, never on --jobs or "
                       "--threads, nor on the ranks of `mpirun -np R omptrain search ...`, "
                       "which share the fits (each rank its own --jobs x --threads; rank 0 "
                       "writes the files). Ctrl-C stops and keeps the candidates done.",
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
    char scored[64] = "";
    ot_search_candidate *cands = NULL;
    ot_layer *layers = NULL;
    ot_dataset *data = NULL;
    search_round rounds[64];
    memset(rounds, 0, sizeof rounds);
    size_t *round_ids = NULL;
    ot_search_candidate *round_cands = NULL;
    cli_train_setup base;
    rc = CLI_USAGE;
    if (!search_grid_parse(&grid, grid_spec, draws > 0) || !cli_train_setup_from(&tf, 0, &base) ||
        !search_monitor(&tf, &base))
        goto done;
    for (size_t i = 0; halving && i < grid.n; i++)
        if (strcmp(grid.params[i].name, "epochs") == 0) {
            cli_error("--halving: its rounds set the epochs (--epochs for the last): take "
                      "epochs out of --grid");
            goto done;
        }
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
    if (!make_candidates(&r, &tf, draws > 0, draws, cands, layers))
        goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s/search.args", out);
    /* rank 0 writes the files; every rank reads the data */
    if (cli_rank() == 0 && (!make_dir(out) ||
                            (resume == NULL && !search_write_args(path, given_argc, given_argv))))
        rc = CLI_FAILED;
    else
        rc = CLI_OK;
    int integer_labels = base.loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                         base.loss == OT_LOSS_CATEGORICAL_CROSSENTROPY;
    cli_data_options dopt = {"train", tf.label_columns, integer_labels, 0, tf.stream,
                             tf.cache_dir};
    if (rc == CLI_OK)
        rc = cli_load_data(tf.data, &dopt, &data);
    if ((rc = cli_ranks_agree(rc)) != CLI_OK)
        goto done;
    rc = CLI_FAILED;
    ot_search_config sc = ot_search_config_default();
    sc.cv = cv;
    sc.validation_split = tf.split;
    sc.jobs = jobs;
    sc.threads = base.threads;
    sc.scoring = base.n_metrics ? ot_metric_name(base.metrics[0]) : NULL;
    snprintf(scored, sizeof scored, "%s", scored_by(&base));
    r.scored_by = scored;
    sc.on_candidate = on_candidate;
    sc.user = &r;
    sc.comm = cli_comm();
    size_t splits = tf.split > 0.0 ? 1 : cv, first = tf.epochs;
    r.halving = halving > 0;
    r.n_rounds = r.halving ? halving_rounds(r.n, halving, tf.epochs, &first) : 1;
    if (r.n_rounds > sizeof rounds / sizeof *rounds) /* 1 + log2 of the most candidates */
        r.n_rounds = sizeof rounds / sizeof *rounds;
    r.rounds = rounds;
    ot_search_candidate *rc_cands = calloc(r.n, sizeof *rc_cands);
    size_t *ids = calloc(r.n * r.n_rounds, sizeof *ids);
    if (rc_cands == NULL || ids == NULL) {
        free(rc_cands);
        free(ids);
        cli_error("search: out of memory for %zu candidates", r.n);
        goto done;
    }
    round_ids = ids;
    round_cands = rc_cands;
    for (size_t c = 0; c < r.n; c++)
        ids[c] = c;
    snprintf(path, sizeof path, "%s/cv_results.csv", out);
    ot_status st = OT_OK;
    double t0 = seconds_now();
    running_run = &r;
    cli_catch_signals(on_signal);
    for (size_t k = 0; k < r.n_rounds; k++) {
        search_round *rd = &rounds[k];
        rd->ids = ids + k * r.n;
        rd->n = k == 0 ? r.n : survivors(&rounds[k - 1], (rounds[k - 1].n + halving - 1) /
                                                            halving, rd->ids);
        rd->epochs = 0;
        if (r.halving) {
            rd->epochs = first;
            for (size_t q = 0; q < k; q++)
                rd->epochs *= halving;
            if (rd->epochs > tf.epochs)
                rd->epochs = tf.epochs;
        }
        for (size_t j = 0; j < rd->n; j++) {
            rc_cands[j] = cands[rd->ids[j]];
            if (r.halving)
                rc_cands[j].fit.epochs = rd->epochs;
        }
        if (ot_search_create(&rd->s, data, rc_cands, rd->n, &sc) != OT_OK) {
            rc = cli_fail("search");
            goto done;
        }
        r.round = k;
        long restored = resume ? search_restore(&r, k, path, splits) : 0;
        if (cli_ranks_agree(restored < 0 ? CLI_FAILED : CLI_OK) != CLI_OK)
            goto done;
        r.done = (size_t)restored;
        if (k == 0) {
            int pj, pt;
            ot_search_plan(rd->s, &pj, &pt);
            cli_ranks_check_binding(pj * pt);
        }
        if (!tf.quiet) {
            int pj, pt;
            ot_search_plan(rd->s, &pj, &pt);
            char ranks[32] = "";
            if (cli_ranks() > 1)
                snprintf(ranks, sizeof ranks, "%d ranks x ", cli_ranks());
            if (k == 0)
                printf("omptrain %s: search of %zu candidate%s x %s%zu split%s on %zu samples "
                       "of %s, %s%d job%s x %d thread%s, scored by %s\n", ot_version(), r.n,
                       r.n == 1 ? "" : "s", tf.split > 0.0 ? "a hold-out, " : "", splits,
                       splits == 1 ? "" : "s", ot_dataset_size(data), tf.data, ranks, pj,
                       pj == 1 ? "" : "s", pt, pt == 1 ? "" : "s",
                       scored_by(&base));
            if (r.halving)
                printf("round %zu of %zu: %zu candidate%s, %zu epoch%s each\n", k + 1,
                       r.n_rounds, rd->n, rd->n == 1 ? "" : "s", rd->epochs,
                       rd->epochs == 1 ? "" : "s");
            if (restored > 0)
                printf("resuming %s: %ld of %zu candidates done\n", out, restored, rd->n);
            fflush(stdout);
        }
        st = ot_search_run(rd->s);
        if (st != OT_OK)
            break;
    }
    double t_search = seconds_now() - t0;
    if (st != OT_OK && st != OT_CANCELLED) {
        cli_fail("search");
        goto done;
    }
    int wrote = cli_rank() > 0 || search_write_results(&r, path, splits);
    snprintf(path, sizeof path, "%s/scores.svg", out);
    wrote = wrote && (cli_rank() > 0 || search_write_svg(&r, path, splits));
    if (cli_ranks_agree(wrote ? CLI_OK : CLI_FAILED) != CLI_OK)
        goto done;
    snprintf(path, sizeof path, "%s/cv_results.csv", out);
    if (st == OT_CANCELLED) {
        fprintf(stderr, "omptrain: search stopped: round %zu, %zu of %zu candidates done, in "
                "%s; go on with: omptrain search --resume %s\n", r.round + 1, r.done,
                rounds[r.round].n, path, out);
        rc = 128 + SIGINT;
        goto done;
    }
    const search_round *last = &rounds[r.n_rounds - 1];
    size_t best = ot_search_best(last->s);
    if (best == SIZE_MAX) {
        cli_error("search: no candidate has a finite score (see %s)", path);
        goto done;
    }
    ot_search_result res;
    ot_search_result_get(last->s, best, &res);
    char what[512];
    describe(&r, last->ids[best], what, sizeof what);
    printf("best: %s, score %.4f +- %.4f (best_params_, best_score_); the search took "
           "%.2f s; all in %s\n", what, res.mean_score, res.std_score, t_search, path);
    if (!no_refit) {
        ot_model *m = NULL;
        snprintf(path, sizeof path, "%s/best.otm", out);
        t0 = seconds_now();
        st = ot_search_refit(last->s, best, base.threads, &m, NULL);
        double t_refit = seconds_now() - t0;
        if (st == OT_CANCELLED) {
            fprintf(stderr, "omptrain: refit stopped: nothing in %s\n", path);
            rc = 128 + SIGINT;
            goto done;
        } else if (st != OT_OK) {
            cli_fail("refit");
            goto done;
        }
        st = cli_rank() == 0 ? ot_model_save(m, path) : OT_OK;
        ot_model_destroy(m);
        if (st != OT_OK)
            cli_fail("refit");
        if (cli_ranks_agree(st == OT_OK ? CLI_OK : CLI_FAILED) != CLI_OK)
            goto done;
        printf("refit on all %zu samples in %.2f s: %s\n", ot_dataset_size(data), t_refit,
               path);
    }
    rc = CLI_OK;
done:
    cli_catch_signals(NULL);
    running_run = NULL;
    for (size_t k = 0; k < sizeof rounds / sizeof *rounds; k++)
        ot_search_destroy(rounds[k].s);
    free(round_ids);
    free(round_cands);
    ot_dataset_destroy(data);
    free(layers);
    free(cands);
    free(r.vals);
    search_grid_free(&grid);
    return rc;
}
