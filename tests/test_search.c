/*
 * test_search.c - hyper-parameter search (folds.c, search.c, the search
 * command): the folds against scikit-learn's, a candidate's score equal to
 * the fit it stands for, the same bits for any jobs and threads, epochs
 * shared between candidates, a failed candidate recorded, a cancelled
 * search taken up again, and bad candidates, configs and grids refused
 * with their names.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/folds.h"

static char dir[256];
static char out[1 << 16];

static void setup(void) { th_tmpdir(dir, sizeof dir); }

TestSuite(search, .init = setup, .timeout = 300);

static ot_dataset *labelled(const int32_t *y, size_t n)
{
    float *x = calloc(n, sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)i;
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create(&d, n, 1, x, y), OT_OK, "%s", ot_last_error());
    free(x);
    return d;
}

/* Fold k's held-out rows against expected[], and the other rows in order
 * after them. */
static void expect_fold(const ot_dataset *d, size_t k, size_t folds, const uint32_t *expected,
                        size_t n_expected)
{
    uint32_t rows[64];
    size_t n_val = 0;
    cr_assert_eq(ot__folds_rows(d, folds, k, rows, &n_val), OT_OK, "%s", ot_last_error());
    cr_assert_eq(n_val, n_expected, "fold %zu holds %zu rows, expected %zu", k, n_val,
                 n_expected);
    for (size_t i = 0; i < n_val; i++)
        cr_assert_eq(rows[i], expected[i], "fold %zu, row %zu: %u, expected %u", k, i,
                     rows[i], expected[i]);
    size_t v = 0, t = n_val;
    for (uint32_t r = 0; r < ot_dataset_size(d); r++) {
        if (v < n_val && rows[v] == r)
            v++;
        else
            cr_assert_eq(rows[t++], r, "fold %zu: training row %zu", k, t - 1);
    }
}

/* The expected folds are scikit-learn 1.2's StratifiedKFold(k).split and
 * KFold(3).split test indices for these labels (Debian's python3-sklearn). */
Test(search, folds_are_scikit_learns)
{
    const int32_t y[15] = {2, 0, 1, 0, 0, 2, 1, 0, 1, 0, 0, 2, 0, 1, 0};
    ot_dataset *d = labelled(y, 15);
    const uint32_t f0[] = {0, 1, 2, 3, 4}, f1[] = {5, 6, 7, 9, 10}, f2[] = {8, 11, 12, 13, 14};
    expect_fold(d, 0, 3, f0, 5);
    expect_fold(d, 1, 3, f1, 5);
    expect_fold(d, 2, 3, f2, 5);
    ot_dataset_destroy(d);
    /* label 2 absent, 4 folds */
    const int32_t y2[20] = {3, 3, 1, 0, 1, 3, 0, 0, 1, 3, 1, 0, 3, 3, 0, 1, 1, 0, 3, 1};
    d = labelled(y2, 20);
    const uint32_t g0[] = {0, 1, 2, 3, 4}, g1[] = {5, 6, 8, 9, 10}, g2[] = {7, 11, 12, 13, 15},
                   g3[] = {14, 16, 17, 18, 19};
    expect_fold(d, 0, 4, g0, 5);
    expect_fold(d, 1, 4, g1, 5);
    expect_fold(d, 2, 4, g2, 5);
    expect_fold(d, 3, 4, g3, 5);
    ot_dataset_destroy(d);
    /* float targets: KFold's contiguous blocks, the first n % k longer */
    float x[10], t[10];
    for (int i = 0; i < 10; i++)
        x[i] = t[i] = (float)i;
    cr_assert_eq(ot_dataset_create_targets(&d, 10, 1, x, 1, t), OT_OK, "%s", ot_last_error());
    const uint32_t k0[] = {0, 1, 2, 3}, k1[] = {4, 5, 6}, k2[] = {7, 8, 9};
    expect_fold(d, 0, 3, k0, 4);
    expect_fold(d, 1, 3, k1, 3);
    expect_fold(d, 2, 3, k2, 3);
    ot_dataset_destroy(d);
}

Test(search, stratified_folds_hold_each_class_in_proportion)
{
    ot_dataset *d = th_blobs(3000, 4, 10, 7);
    uint32_t *rows = malloc(3000 * sizeof *rows);
    for (size_t k = 0; k < 3; k++) {
        size_t n_val = 0, count[10] = {0};
        cr_assert_eq(ot__folds_rows(d, 3, k, rows, &n_val), OT_OK);
        cr_assert_eq(n_val, 1000);
        int32_t y[3000];
        ot_dataset_labels(d, y, 3000);
        for (size_t i = 0; i < n_val; i++)
            count[y[rows[i]]]++;
        for (int c = 0; c < 10; c++)
            cr_assert_eq(count[c], 100, "fold %zu holds %zu of class %d", k, count[c], c);
    }
    free(rows);
    ot_dataset_destroy(d);
}

Test(search, folds_the_data_cannot_take_are_refused)
{
    const int32_t y[7] = {0, 0, 0, 1, 1, 0, 0};
    ot_dataset *d = labelled(y, 7);
    cr_assert_eq(ot__folds_check(d, 1), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "1 folds") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot__folds_check(d, 3), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "class 1 has 2 samples, fewer than the 3 folds") != NULL,
              "%s", ot_last_error());
    cr_assert_eq(ot__folds_check(d, 2), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot__folds_check(d, 8), OT_INVALID_ARGUMENT);
    ot_dataset_destroy(d);
}

static const ot_layer layers[] = {
    {.kind = OT_LAYER_DENSE, .units = 16, .activation = OT_ACTIVATION_RELU},
    {.kind = OT_LAYER_DENSE, .units = 3, .activation = OT_ACTIVATION_SOFTMAX},
};

static ot_search_candidate candidate(size_t batch, size_t epochs, float lr)
{
    ot_search_candidate c = {.layers = layers, .n_layers = 2,
                             .loss = OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                             .optimizer = ot_optimizer_config_default(OT_OPTIMIZER_ADAM),
                             .fit = ot_fit_config_default()};
    c.optimizer.learning_rate = lr;
    c.fit.batch_size = batch;
    c.fit.epochs = epochs;
    c.fit.shards = 2;
    c.fit.seed = 11;
    return c;
}

/* The textbook's grid, small: epochs 1..3 x batch 8, 16 */
static size_t grid(ot_search_candidate *c)
{
    size_t n = 0;
    for (size_t b = 8; b <= 16; b *= 2)
        for (size_t e = 1; e <= 3; e++)
            c[n++] = candidate(b, e, 0.01f);
    return n;
}

static ot_search *searched(const ot_dataset *d, const ot_search_candidate *c, size_t n,
                           int jobs, int threads)
{
    ot_search_config sc = ot_search_config_default();
    sc.jobs = jobs;
    sc.threads = threads;
    ot_search *s = NULL;
    cr_assert_eq(ot_search_create(&s, d, c, n, &sc), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_search_run(s), OT_OK, "%s", ot_last_error());
    return s;
}

Test(search, a_candidates_score_is_its_fit_on_the_fold)
{
    ot_dataset *d = th_blobs(240, 6, 3, 5);
    ot_search_candidate c[6];
    size_t n = grid(c);
    ot_search *s = searched(d, c, n, 1, 1);
    for (size_t i = 0; i < n; i += 2) /* epochs 1 and 3 of each batch */
        for (size_t k = 0; k < 3; k++) {
            ot_model *m = NULL;
            ot_history *h = NULL;
            cr_assert_eq(ot_model_create(&m, 6, layers, 2, c[i].fit.seed), OT_OK);
            cr_assert_eq(ot_model_compile(m, c[i].loss, &c[i].optimizer), OT_OK);
            ot_fit_config fc = c[i].fit;
            fc.threads = 2;
            fc.validation_folds = 3;
            fc.validation_fold = k;
            cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
            ot_search_result r;
            cr_assert_eq(ot_search_result_get(s, i, &r), OT_OK);
            double alone = ot_history_epoch(h, fc.epochs - 1)->val_metric;
            cr_assert(r.scores[k] == alone, "candidate %zu, split %zu: %.17g, alone %.17g", i,
                      k, r.scores[k], alone);
            ot_history_destroy(h);
            ot_model_destroy(m);
        }
    ot_search_destroy(s);
    ot_dataset_destroy(d);
}

/* A search's scoring metric and its candidates' sample weights reach every
 * fit: a split's score is minus the mse of the fit alone with those
 * weights on that fold. */
Test(search, scoring_and_sample_weights_reach_every_fit)
{
    ot_dataset *d = th_blobs(240, 6, 3, 5);
    float sw[240];
    for (size_t i = 0; i < 240; i++)
        sw[i] = 0.25f + (float)(i % 7) * 0.5f;
    ot_search_candidate c[2] = {candidate(8, 2, 0.01f), candidate(16, 1, 0.01f)};
    for (int i = 0; i < 2; i++) {
        c[i].fit.sample_weight = sw;
        c[i].fit.sample_weights = 240;
    }
    ot_search_config sc = ot_search_config_default();
    sc.jobs = 2;
    sc.threads = 1;
    sc.scoring = "mean_squared_error";
    ot_search *s = NULL;
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_search_run(s), OT_OK, "%s", ot_last_error());
    const ot_metric mse = OT_METRIC_MSE;
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 3; k++) {
            ot_model *m = NULL;
            ot_history *h = NULL;
            cr_assert_eq(ot_model_create(&m, 6, layers, 2, c[i].fit.seed), OT_OK);
            cr_assert_eq(ot_model_compile(m, c[i].loss, &c[i].optimizer), OT_OK);
            cr_assert_eq(ot_model_set_metrics(m, &mse, 1), OT_OK);
            ot_fit_config fc = c[i].fit;
            fc.threads = 2;
            fc.validation_folds = 3;
            fc.validation_fold = k;
            cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
            ot_search_result r;
            cr_assert_eq(ot_search_result_get(s, i, &r), OT_OK);
            double alone = -ot_history_epoch(h, fc.epochs - 1)->val_metric;
            cr_assert(r.scores[k] == alone && alone < 0.0, "candidate %zu, split %zu: %.17g, "
                      "alone %.17g", i, k, r.scores[k], alone);
            ot_history_destroy(h);
            ot_model_destroy(m);
        }
    ot_search_destroy(s);
    c[1].fit.sample_weights = 239;
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "candidate 1: 239 sample weights for the data's 240") !=
              NULL, "%s", ot_last_error());
    c[1].fit.sample_weights = 240;
    sc.scoring = "f1";
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "scoring: unknown metric 'f1'") != NULL, "%s",
              ot_last_error());
    ot_dataset_destroy(d);
}

Test(search, the_scores_do_not_depend_on_jobs_or_threads)
{
    ot_dataset *d = th_blobs(240, 6, 3, 5);
    ot_search_candidate c[6];
    size_t n = grid(c);
    ot_search *a = searched(d, c, n, 1, 1), *b = searched(d, c, n, 2, 1),
              *t = searched(d, c, n, 1, 2);
    int jobs, threads;
    ot_search_plan(b, &jobs, &threads);
    cr_assert_eq(jobs, 2);
    for (size_t i = 0; i < n; i++) {
        ot_search_result ra, rb, rt;
        ot_search_result_get(a, i, &ra);
        ot_search_result_get(b, i, &rb);
        ot_search_result_get(t, i, &rt);
        cr_assert_eq(memcmp(ra.scores, rb.scores, 3 * sizeof(double)), 0, "candidate %zu", i);
        cr_assert_eq(memcmp(ra.scores, rt.scores, 3 * sizeof(double)), 0, "candidate %zu", i);
        cr_assert_eq(ra.rank, rb.rank);
        cr_assert(ra.mean_score > 0.5, "candidate %zu learned nothing: %g", i, ra.mean_score);
        /* the learning curve ends at the mean score */
        cr_assert_eq(ra.epochs, c[i].fit.epochs);
        cr_assert_float_eq(ra.epoch_scores[ra.epochs - 1], ra.mean_score, 1e-12,
                           "candidate %zu", i);
    }
    ot_search_destroy(a);
    ot_search_destroy(b);
    ot_search_destroy(t);
    ot_dataset_destroy(d);
}

static int count_calls(const ot_search_result *r, void *user)
{
    (void)r;
    return ++*(int *)user == 2; /* stop after the second candidate */
}

Test(search, a_failed_candidate_is_recorded_and_the_search_goes_on)
{
    ot_dataset *d = th_blobs(120, 6, 3, 5);
    ot_search_candidate c[3] = {candidate(8, 2, 0.01f), candidate(8, 2, 0.01f),
                                candidate(16, 1, 0.01f)};
    c[1].optimizer = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c[1].optimizer.learning_rate = 1e30f; /* diverges: a non-finite loss */
    ot_search *s = searched(d, c, 3, 0, 0);
    ot_search_result r;
    cr_assert_eq(ot_search_result_get(s, 1, &r), OT_OK);
    cr_assert(isnan(r.mean_score) && isnan(r.scores[0]), "%g", r.mean_score);
    cr_assert(strstr(r.error, "not finite") != NULL, "error: '%s'", r.error);
    cr_assert_eq(r.rank, 3, "a NaN ranks last, not %zu", r.rank);
    ot_search_result_get(s, 0, &r);
    cr_assert(isfinite(r.mean_score) && r.error[0] == '\0');
    cr_assert_neq(ot_search_best(s), 1);
    ot_search_destroy(s);
    ot_dataset_destroy(d);
}

Test(search, a_cancelled_search_goes_on_to_the_same_results)
{
    ot_dataset *d = th_blobs(240, 6, 3, 5);
    ot_search_candidate c[6];
    size_t n = grid(c);
    for (size_t i = 0; i < n; i++)
        c[i].fit.epochs = 1 + i / 2; /* no two share a fit... */
    c[1].fit.batch_size = 12;         /* ...and every group differs */
    int calls = 0;
    ot_search_config sc = ot_search_config_default();
    sc.jobs = 1;
    sc.on_candidate = count_calls;
    sc.user = &calls;
    ot_search *s = NULL;
    cr_assert_eq(ot_search_create(&s, d, c, n, &sc), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_search_run(s), OT_CANCELLED);
    size_t done = 0;
    for (size_t i = 0; i < n; i++)
        done += (size_t)ot_search_done(s, i);
    cr_assert(done >= 2 && done < n, "%zu of %zu done", done, n);
    ot_search_result r;
    cr_assert_eq(ot_search_result_get(s, n - 1, &r), OT_INVALID_STATE);
    /* the candidates done are ranked among themselves */
    size_t ranks = 0;
    for (size_t i = 0; i < n; i++)
        if (ot_search_done(s, i) && ot_search_result_get(s, i, &r) == OT_OK) {
            cr_assert(r.rank >= 1 && r.rank <= done, "rank %zu of %zu done", r.rank, done);
            ranks += r.rank == 1;
        }
    cr_assert(ranks >= 1, "no candidate ranked first");
    cr_assert_eq(ot_search_run(s), OT_OK, "%s", ot_last_error());
    ot_search *whole = searched(d, c, n, 2, 1);
    for (size_t i = 0; i < n; i++) {
        ot_search_result ra, rb;
        ot_search_result_get(s, i, &ra);
        ot_search_result_get(whole, i, &rb);
        cr_assert_eq(memcmp(ra.scores, rb.scores, 3 * sizeof(double)), 0, "candidate %zu", i);
    }
    ot_search_destroy(whole);
    ot_search_destroy(s);
    ot_dataset_destroy(d);
}

Test(search, bad_candidates_and_configs_are_refused_by_name)
{
    ot_dataset *d = th_blobs(30, 6, 3, 5);
    ot_search_candidate c[2] = {candidate(8, 1, 0.01f), candidate(8, 1, 0.01f)};
    ot_search_config sc = ot_search_config_default();
    ot_search *s = NULL;
    c[1].fit.validation_split = 0.2;
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "candidate 1 sets its own validation") != NULL, "%s",
              ot_last_error());
    c[1] = candidate(8, 1, 0.01f);
    c[1].loss = OT_LOSS_MSE;
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "candidate 1 scores by mae") != NULL, "%s",
              ot_last_error());
    c[1] = candidate(8, 1, 0.01f);
    sc.cv = 11; /* 10 samples of each class */
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "cv 11") != NULL, "%s", ot_last_error());
    sc.cv = 1;
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    sc = ot_search_config_default();
    ot_layer wide[2] = {layers[0], layers[1]};
    wide[1].units = 2; /* 3 classes */
    c[0].layers = wide;
    cr_assert_eq(ot_search_create(&s, d, c, 2, &sc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "candidate 0:") != NULL, "%s", ot_last_error());
    cr_assert_null(s);
    ot_dataset_destroy(d);
}

/* ---- the command ---- */

static int run(const char *args)
{
    return th_run_normally("OMPTRAIN_BIN", "OMPTRAIN_DATA=", args, out, sizeof out);
}

/* 90 rows of 4 features and a class in 0..2 (the column that holds it the
 * largest), with a header line. */
static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "a,b,c,d,label\n");
    uint64_t s = 3;
    for (int i = 0; i < 90; i++) {
        float v[4];
        for (int j = 0; j < 4; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            v[j] = (float)(s >> 40) / (float)(1 << 24);
        }
        v[i % 3] += 1.0f;
        fprintf(f, "%g,%g,%g,%g,%d\n", v[0], v[1], v[2], v[3], i % 3);
    }
    fclose(f);
}

/* cv_results.csv without its first four columns (the times) */
static void results_without_times(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    char line[4096];
    size_t at = 0;
    buf[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        for (int i = 0; i < 4; i++)
            p = strchr(p, ',') + 1;
        at += (size_t)snprintf(buf + at, size - at, "%s", p);
    }
    fclose(f);
}

Test(search, the_command_writes_the_same_results_for_any_jobs)
{
    char csv[512], args[2048], a[1 << 14], b[1 << 14];
    snprintf(csv, sizeof csv, "%s/data.csv", dir);
    write_csv(csv);
    const char *common = "--grid 'epochs=1,2;batch=8,16;units=4|8' --layers 8:relu,3:softmax "
                         "--lr 0.01 --shards 2 --cv 3";
    snprintf(args, sizeof args, "search --data csv:%s %s --jobs 1 --threads 1 --out %s/one",
             csv, common, dir);
    EXPECT_RUN(args, 0, "best: batch=");
    cr_assert(strstr(out, "search of 8 candidates x 3 splits") != NULL, "%s", out);
    cr_assert(strstr(out, "refit on all 90 samples") != NULL, "%s", out);
    snprintf(args, sizeof args, "search --data csv:%s %s --jobs 2 --threads 1 --out %s/two",
             csv, common, dir);
    EXPECT_RUN(args, 0, "best: batch=");
    char path[512];
    snprintf(path, sizeof path, "%s/one/cv_results.csv", dir);
    results_without_times(path, a, sizeof a);
    snprintf(path, sizeof path, "%s/two/cv_results.csv", dir);
    results_without_times(path, b, sizeof b);
    cr_assert_str_eq(a, b);
    cr_assert(strncmp(a, "param_batch,param_epochs,param_units,params,split0_test_score,"
                         "split1_test_score,split2_test_score,mean_test_score,std_test_score,"
                         "rank_test_score,error\n8,1,4,\"{'batch': 8, 'epochs': 1, 'units': 4}\",",
                      strlen("param_batch,param_epochs,param_units,params,split0_test_score,"
                             "split1_test_score,split2_test_score,mean_test_score,"
                             "std_test_score,rank_test_score,error\n8,1,4,\"{'batch': 8, "
                             "'epochs': 1, 'units': 4}\",")) == 0,
              "%s", a);
    snprintf(path, sizeof path, "%s/one/best.otm", dir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "no %s", path);
    /* the picture: a point a candidate, in a whole SVG document */
    snprintf(path, sizeof path, "%s/one/scores.svg", dir);
    unsigned char svg[1 << 16];
    size_t len = th_read(path, svg, sizeof svg - 1);
    svg[len] = '\0';
    cr_assert(strncmp((char *)svg, "<svg ", 5) == 0 && strstr((char *)svg, "</svg>\n"),
              "%s", svg);
    int points = 0;
    for (const char *p = (char *)svg; (p = strstr(p, "<title>row ")) != NULL; p++)
        points++;
    cr_assert_eq(points, 8, "%d points", points);
}

Test(search, bad_grids_are_refused_by_their_part)
{
    char csv[512], args[2048];
    snprintf(csv, sizeof csv, "%s/data.csv", dir);
    write_csv(csv);
    const struct { const char *grid, *extra, *needle; } bad[] = {
        {"epochs=1,2;bogus=3", "", "--grid: bogus is not a flag of train"},
        {"epochs=", "", "--grid: epochs has an empty value"},
        {"epochs=1,,2", "", "--grid: epochs has an empty value"},
        {"batch=32,0", "", "--batch: 0 is out of range"},
        {"lr=0.1..1", "", "a range needs --random N"},
        {"save=x.otm", "", "--grid: save is not a flag a search varies"},
        {"epochs", "", "is not name=value"},
        {"epochs=1;epochs=2", "", "epochs is given twice"},
        {"momentum=0.5", "", "--momentum does not apply to --optimizer adam"},
        {"activation=relu,bogus", "", "activation=bogus"},
        {"epochs=1,2", "--cv 1", "--cv: 1 is out of range"},
        {"epochs=1,2", "--cv 31", "class 0 has 30 samples, fewer than the 31 folds"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(args, sizeof args, "search --data csv:%s --grid '%s' %s --out %s/bad",
                 csv, bad[i].grid, bad[i].extra, dir);
        int rc = run(args);
        cr_assert(rc == 1 || rc == 2, "'%s' exited %d:\n%s", args, rc, out);
        cr_assert(strstr(out, bad[i].needle) != NULL, "'%s' lacks '%s':\n%s", args,
                  bad[i].needle, out);
    }
    EXPECT_RUN("search --epochs 1", 2, "--grid is needed");
}

/* A split of a search is `omptrain train --validation-fold I/K` alone: the
 * same score, bit for bit; and a model fitted on a fold resumes on it. */
Test(search, a_split_is_train_with_that_fold)
{
    char csv[512], args[2048], path[512];
    snprintf(csv, sizeof csv, "%s/data.csv", dir);
    write_csv(csv);
    const char *common = "--layers 8:relu,3:softmax --lr 0.01 --shards 2 --epochs 6 --batch 8";
    snprintf(args, sizeof args, "search --data csv:%s %s --grid 'units=5' --out %s/s --quiet",
             csv, common, dir);
    EXPECT_RUN(args, 0, "");
    snprintf(args, sizeof args, "train --data csv:%s %s --layers 5:relu,3:softmax "
             "--validation-fold 1/3 --history %s/h.csv --save %s/m.otm --quiet", csv, common,
             dir, dir);
    EXPECT_RUN(args, 0, "");
    char line[4096];
    snprintf(path, sizeof path, "%s/s/cv_results.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f), "%s", path);
    fclose(f);
    /* ...,units,params,split0,split1,...: split1 is the second field after '}' */
    char *p = strchr(line, '}');
    cr_assert(p != NULL, "%s", line);
    p = strchr(strchr(p, ',') + 1, ',') + 1;
    double split1 = strtod(p, NULL);
    snprintf(path, sizeof path, "%s/h.csv", dir);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    double val_accuracy = NAN;
    while (fgets(line, sizeof line, f)) /* epoch,loss,accuracy,val_loss,val_accuracy,... */
        if (line[0] == '6') {
            char *q = line;
            for (int i = 0; i < 4; i++)
                q = strchr(q, ',') + 1;
            val_accuracy = strtod(q, NULL);
        }
    fclose(f);
    cr_assert(split1 == val_accuracy, "search's split 1: %.17g, train alone: %.17g", split1,
              val_accuracy);
    cr_assert(split1 > 0.5, "nothing learned: %g", split1);
    ot_model *m = NULL;
    snprintf(path, sizeof path, "%s/m.otm", dir);
    cr_assert_eq(ot_model_load(&m, path), OT_OK, "%s", ot_last_error());
    ot_fit_config rc = ot_model_resume_config(m);
    cr_assert(rc.validation_folds == 3 && rc.validation_fold == 1 && rc.validation_split == 0,
              "resumes on fold %zu of %zu, split %g", rc.validation_fold, rc.validation_folds,
              rc.validation_split);
    ot_model_destroy(m);
    snprintf(args, sizeof args, "train --data csv:%s --validation-fold 3/3", csv);
    EXPECT_RUN(args, 2, "--validation-fold: '3/3' is not I/K");
    snprintf(args, sizeof args, "train --data csv:%s --validation-fold 1/3 "
             "--validation-split 0.1", csv);
    EXPECT_RUN(args, 2, "--validation-fold: give it, --validation-split or --validation-data");
}

/* A search in dir/whole stopped after its first `rows` rows: their copy
 * and its flags in dir/part, which --resume takes up; then the two files,
 * the times aside, must be the same. */
static void stop_after(int rows)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "mkdir %s/part && cp %s/whole/search.args %s/part/ && "
             "head -%d %s/whole/cv_results.csv > %s/part/cv_results.csv", dir, dir, dir,
             rows + 1, dir, dir);
    cr_assert_eq(system(cmd), 0);
}

static void expect_same_results(void)
{
    static char a[1 << 14], b[1 << 14];
    char path[512];
    snprintf(path, sizeof path, "%s/whole/cv_results.csv", dir);
    results_without_times(path, a, sizeof a);
    snprintf(path, sizeof path, "%s/part/cv_results.csv", dir);
    results_without_times(path, b, sizeof b);
    cr_assert_str_eq(a, b);
}

/* --resume DIR: a folder whose cv_results.csv holds some candidates ends
 * with the file an uninterrupted search writes (the times aside). */
Test(search, a_resumed_search_ends_as_an_uninterrupted_one)
{
    char csv[512], args[2048];
    snprintf(csv, sizeof csv, "%s/data.csv", dir);
    write_csv(csv);
    snprintf(args, sizeof args, "search --data csv:%s --grid 'epochs=1,2;batch=8,16' "
             "--layers 8:relu,3:softmax --lr 0.01 --shards 2 --out %s/whole", csv, dir);
    EXPECT_RUN(args, 0, "");
    stop_after(2);
    snprintf(args, sizeof args, "search --resume %s/part --jobs 2 --threads 1", dir);
    EXPECT_RUN(args, 0, "resuming");
    cr_assert(strstr(out, "2 of 4 candidates done") != NULL, "%s", out);
    expect_same_results();
    snprintf(args, sizeof args, "search --resume %s/part --epochs 3", dir);
    EXPECT_RUN(args, 2, "besides it only --jobs, --threads and --quiet, not --epochs");
    snprintf(args, sizeof args, "search --resume %s/nowhere", dir);
    EXPECT_RUN(args, 1, "search.args");
    /* a row that is none of the candidates */
    snprintf(args, sizeof args, "sed -i 's/epochs.: 1}/epochs.: 7}/' %s/part/cv_results.csv",
             dir);
    cr_assert_eq(system(args), 0);
    snprintf(args, sizeof args, "search --resume %s/part", dir);
    EXPECT_RUN(args, 1, "is none of this search's candidates");
}

/* Successive halving: rounds of 1 and 3 epochs for 6 candidates by 3, the
 * best third going on; the rows of every round, the last ranked first; a
 * search stopped after its first round resumed to the same file. */
Test(search, halving_keeps_the_best_third_for_three_times_the_epochs)
{
    char csv[512], args[2048], path[512];
    snprintf(csv, sizeof csv, "%s/data.csv", dir);
    write_csv(csv);
    snprintf(args, sizeof args, "search --data csv:%s --grid 'units=2,3,4,6,8,12' --halving 3 "
             "--epochs 3 --batch 8 --layers 8:relu,3:softmax --lr 0.01 --shards 2 "
             "--out %s/whole", csv, dir);
    EXPECT_RUN(args, 0, "round 2 of 2: 2 candidates, 3 epochs each");
    cr_assert(strstr(out, "round 1 of 2: 6 candidates, 1 epoch each") != NULL, "%s", out);
    snprintf(path, sizeof path, "%s/whole/cv_results.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[4096];
    double mean[8];
    int iter[8], res[8], units[8], rank[8], n = 0;
    cr_assert(fgets(line, sizeof line, f) && strstr(line, ",iter,n_resources,param_units,"));
    while (n < 8 && fgets(line, sizeof line, f)) {
        char *fld[16];
        int k = 0;
        for (char *p = strtok(line, ","); p && k < 16; p = strtok(NULL, ","))
            fld[k++] = p;
        /* times x4, iter, n_resources, units, params, 3 splits, mean, std, rank */
        cr_assert(k >= 14, "%d fields", k);
        iter[n] = atoi(fld[4]);
        res[n] = atoi(fld[5]);
        units[n] = atoi(fld[6]);
        mean[n] = strtod(fld[11], NULL);
        rank[n] = atoi(fld[13]);
        n++;
    }
    fclose(f);
    cr_assert_eq(n, 8, "%d rows", n);
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(iter[i], i < 6 ? 0 : 1, "row %d", i);
        cr_assert_eq(res[i], i < 6 ? 1 : 3, "row %d", i);
        cr_assert(i < 6 ? rank[i] > 2 : rank[i] <= 2, "row %d: rank %d", i, rank[i]);
    }
    /* the second round's two: the first round's best two */
    for (int j = 6; j < 8; j++) {
        int beaten = 0, at = -1;
        for (int i = 0; i < 6; i++)
            if (units[i] == units[j])
                at = i;
        cr_assert(at >= 0);
        for (int i = 0; i < 6; i++)
            beaten += mean[i] > mean[at];
        cr_assert(beaten < 2, "units %d went on with %d better", units[j], beaten);
    }
    stop_after(6);
    snprintf(args, sizeof args, "search --resume %s/part", dir);
    EXPECT_RUN(args, 0, "resuming");
    expect_same_results();
    snprintf(args, sizeof args, "search --data csv:%s --grid 'epochs=1,2' --halving 2", csv);
    EXPECT_RUN(args, 2, "--halving: its rounds set the epochs");
}
