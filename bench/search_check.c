/*
 * search_check.c - bench --search-check: the textbook's grid search,
 * GridSearchCV(cv=3, n_jobs=-1) over epochs 1, 2, 3 and the batch sizes,
 * then the best refit on all the data, done by omptrain (ot_search, as
 * `omptrain search` does), by scikit-learn's GridSearchCV(MLPClassifier)
 * and by a PyTorch loop over the same folds (bench/peers/search_peers.py),
 * each the median of --reps runs, interleaved. Every side starts from the
 * data in memory; its time ends when the refit is done.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

enum { MAX_CANDIDATES = 3 * MAX_AXIS, SIDES = 3 };

typedef struct side_result {
    double seconds[16];
    int n;
    double score;
    char params[64];
} side_result;

/* omptrain: the search and the refit; seconds, or NAN on failure (said). */
static double omptrain_search(const config *c, const ot_dataset *d, side_result *r)
{
    size_t input;
    ot_layer layers[MAX_AXIS];
    size_t L = parse_model(c->models[0], &input, layers);
    ot_search_candidate cands[MAX_CANDIDATES];
    size_t n = 0;
    for (size_t b = 0; b < c->n_batches; b++)
        for (size_t e = 1; e <= 3; e++) {
            ot_search_candidate k = {.layers = layers, .n_layers = L,
                                     .loss = OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                     .optimizer = ot_optimizer_config_default(OT_OPTIMIZER_ADAM),
                                     .fit = ot_fit_config_default()};
            k.fit.batch_size = c->batches[b];
            k.fit.epochs = e;
            cands[n++] = k;
        }
    ot_search_config sc = ot_search_config_default();
    ot_search *s = NULL;
    ot_model *m = NULL;
    double t0 = now();
    ot_status st = ot_search_create(&s, d, cands, n, &sc);
    if (st == OT_OK)
        st = ot_search_run(s);
    size_t best = st == OT_OK ? ot_search_best(s) : SIZE_MAX;
    if (best != SIZE_MAX)
        st = ot_search_refit(s, best, 0, &m, NULL);
    double seconds = now() - t0;
    if (st != OT_OK || best == SIZE_MAX) {
        say("omptrain's search failed: %s\n", ot_last_error());
        ot_search_destroy(s);
        return NAN;
    }
    ot_search_result res;
    ot_search_result_get(s, best, &res);
    r->score = res.mean_score;
    snprintf(r->params, sizeof r->params, "batch=%zu epochs=%zu", cands[best].fit.batch_size,
             cands[best].fit.epochs);
    ot_model_destroy(m);
    ot_search_destroy(s);
    return seconds;
}

/* A peer's run: its one line, or NAN when it failed (said). */
static double peer_search(const config *c, const char *script, const char *kind,
                          const char *xf, const char *yf, const ot_dataset *d, side_result *r)
{
    char hidden[MODEL_NAME], batches[256] = "", cmd[5 * 4096], line[512];
    const char *first = strchr(c->models[0], '-') + 1, *last = strrchr(c->models[0], '-');
    snprintf(hidden, sizeof hidden, "%.*s", (int)(last - first), first);
    for (size_t b = 0; b < c->n_batches; b++)
        snprintf(batches + strlen(batches), sizeof batches - strlen(batches), "%s%zu",
                 b ? "," : "", c->batches[b]);
    if (snprintf(cmd, sizeof cmd, "'%s' '%s' %s '%s' '%s' %zu %zu %s 3 %d 1,2,3 %s",
                 c->python, script, kind, xf, yf, ot_dataset_size(d), ot_dataset_dim(d),
                 hidden, ot_default_threads(), batches) >= (int)sizeof cmd)
        return NAN;
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    double seconds = NAN, score;
    char params[64];
    if (p != NULL && fgets(line, sizeof line, p) &&
        sscanf(line, "%lf %lf %63[^\n]", &seconds, &score, params) == 3) {
        r->score = score;
        snprintf(r->params, sizeof r->params, "%s", params);
    } else {
        seconds = NAN;
    }
    if (p == NULL || pclose(p) != 0 || isnan(seconds)) {
        say("the %s peer (%s) failed\n", kind, script);
        return NAN;
    }
    return seconds;
}

int bench_search_check(const config *c, const ot_dataset *d)
{
    char script[4096], xf[4096], yf[4096];
    int peers = strcmp(c->peer, "none") != 0;
    if (peers) {
        const char *slash = strrchr(c->peer, '/');
        snprintf(script, sizeof script, "%.*s/search_peers.py",
                 slash ? (int)(slash - c->peer) : 1, slash ? c->peer : ".");
        if (access(script, R_OK) != 0 || !peer_write_data(c->out, d, xf, yf, sizeof xf)) {
            say("the search peers (%s) cannot run: omptrain alone\n", script);
            peers = 0;
        }
    }
    const char *names[SIDES] = {"omptrain search", "scikit-learn GridSearchCV(MLPClassifier)",
                                "PyTorch loop over the folds"};
    const char *kinds[SIDES] = {NULL, "sklearn", "pytorch"};
    side_result r[SIDES];
    memset(r, 0, sizeof r);
    int failed = 0;
    for (int rep = 0; rep < c->reps; rep++)
        for (int k = 0; k < (peers ? SIDES : 1); k++) {
            double s = k == 0 ? omptrain_search(c, d, &r[k])
                              : peer_search(c, script, kinds[k], xf, yf, d, &r[k]);
            if (isnan(s))
                failed |= k == 0;
            else
                r[k].seconds[r[k].n++] = s;
        }
    if (peers) {
        unlink(xf);
        unlink(yf);
    }
    int cores = ot_default_threads();
    printf("\n%s, epochs 1,2,3 x batch", c->models[0]);
    for (size_t b = 0; b < c->n_batches; b++)
        printf("%s%zu", b ? "," : " ", c->batches[b]);
    printf(", 3-fold cross-validation and the refit on all %zu rows, %d jobs "
           "(seconds: median of %d)\n\n", ot_dataset_size(d), cores, c->reps);
    printf("| who | seconds | best score | best parameters | its time / omptrain's |\n");
    printf("| --- | --- | --- | --- | --- |\n");
    double ours = r[0].n ? median(r[0].seconds, r[0].n) : NAN;
    for (int k = 0; k < (peers ? SIDES : 1); k++) {
        if (r[k].n == 0) {
            printf("| %s | failed | | | |\n", names[k]);
            continue;
        }
        double sec = median(r[k].seconds, r[k].n);
        printf("| %s | %.2f | %.4f | %s | %.1f |\n", names[k], sec, r[k].score, r[k].params,
               sec / ours);
    }
    return failed ? 1 : 0;
}
