/*
 * accuracy.c - time to accuracy: wall-clock seconds from the start of
 * training until the end of the first epoch whose validation accuracy
 * reaches the target, omptrain against the PyTorch peer, same model, data,
 * split, batch, optimizer and threads. Both check once per epoch, as Keras'
 * fit reports; the validation pass is inside the time on both sides. Each
 * repetition uses another seed (initial weights and shuffle), the same on
 * both sides in meaning, not in bits: the two draw their numbers
 * differently.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct race {
    double target, t0, seconds, accuracy;
    size_t epochs; /* 0: not reached */
} race;

static int at_epoch(const ot_epoch_metrics *e, void *user)
{
    race *r = user;
    r->accuracy = e->val_metric;
    if (e->val_metric >= r->target) {
        r->seconds = now() - r->t0;
        r->epochs = e->epoch;
        return 1;
    }
    return 0;
}

static race omptrain_race(const char *spec, const ot_dataset *train, const ot_dataset *val,
                          size_t batch, int threads, uint64_t seed, double target,
                          size_t max_epochs)
{
    ot_layer layers[MAX_AXIS];
    size_t in, L = parse_model(spec, &in, layers);
    ot_model *m = NULL;
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    race r = {target, 0, NAN, NAN, 0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = max_epochs;
    fc.validation_data = val;
    fc.threads = threads;
    fc.shards = (size_t)threads;
    fc.seed = seed;
    fc.on_epoch = at_epoch;
    fc.user = &r;
    r.t0 = now();
    if (L == 0 || ot_model_create(&m, in, layers, L, seed) != OT_OK ||
        ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc) != OT_OK ||
        ot_model_fit(m, train, &fc, NULL) != OT_OK) {
        say("%s\n", ot_last_error());
        exit(1);
    }
    ot_model_destroy(m);
    return r;
}

static race peer_race(peer *p, const char *spec, size_t n_train, size_t batch, int threads,
                      uint64_t seed, double target, size_t max_epochs)
{
    char req[256], line[256];
    race r = {target, 0, NAN, NAN, 0};
    long epochs = 0;
    snprintf(req, sizeof req, "tta %s %zu %d %llu %.4f %zu %zu", spec, batch, threads,
             (unsigned long long)seed, target, max_epochs, n_train);
    if (!peer_ask(p, req, line, sizeof line, 3600) || /* up to max_epochs */
        sscanf(line, "%ld %lf %lf", &epochs, &r.seconds, &r.accuracy) != 3)
        return r;
    r.epochs = epochs > 0 ? (size_t)epochs : 0;
    if (epochs <= 0)
        r.seconds = NAN;
    return r;
}

static void print_race(const race *r)
{
    if (r->epochs)
        printf(" %6zu %8.2f %7.4f", r->epochs, r->seconds, r->accuracy);
    else
        printf(" %6s %8s %7.4f", "-", "-", r->accuracy);
}

int run_time_to_accuracy(const config *c, peer *pp, int have_peer, const ot_dataset *train,
                         const ot_dataset *val, double target)
{
    const size_t max_epochs = 30;
    int missed = 0;
    printf("time to %.2f validation accuracy (Adam, checked after each epoch; "
           "train %zu rows, validation %zu)\n", target, ot_dataset_size(train), ot_dataset_size(val));
    printf("%-18s %6s %7s %5s | %6s %8s %7s | %6s %8s %7s\n", "model", "batch", "threads",
           "seed", "epochs", "seconds", "val_acc", "epochs", "seconds", "val_acc");
    printf("%-18s %6s %7s %5s | %-23s | %-23s\n", "", "", "", "", "omptrain", "PyTorch");
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t bi = 0; bi < c->n_batches; bi++)
            for (int ti = 0; ti < c->n_threads; ti++) {
                double ours[16], theirs[16];
                int n_ours = 0, n_theirs = 0;
                for (int rep = 0; rep < c->reps; rep++) {
                    uint64_t seed = 42 + (uint64_t)rep;
                    race a = omptrain_race(c->models[mi], train, val, c->batches[bi],
                                           c->threads[ti], seed, target, max_epochs);
                    race b = {target, 0, NAN, NAN, 0};
                    if (have_peer)
                        b = peer_race(pp, c->models[mi], ot_dataset_size(train), c->batches[bi],
                                      c->threads[ti], seed, target, max_epochs);
                    printf("%-18s %6zu %7d %5llu |", c->models[mi], c->batches[bi],
                           c->threads[ti], (unsigned long long)seed);
                    print_race(&a);
                    printf(" |");
                    print_race(&b);
                    printf("\n");
                    fflush(stdout);
                    if (a.epochs)
                        ours[n_ours++] = a.seconds;
                    else
                        missed = 1;
                    if (b.epochs)
                        theirs[n_theirs++] = b.seconds;
                }
                if (n_ours == 0 || n_theirs == 0) {
                    if (n_ours == 0 || have_peer)
                        printf("  %s did not reach %.2f in %zu epochs on any seed\n",
                               n_ours == 0 ? "omptrain" : "PyTorch", target, max_epochs);
                    else
                        printf("  median seconds: omptrain %.2f (%d of %d seeds reached it)\n",
                               median(ours, n_ours), n_ours, c->reps);
                    continue;
                }
                double mo = median(ours, n_ours), mt = median(theirs, n_theirs);
                printf("  median seconds: omptrain %.2f (%d of %d seeds reached it), "
                       "PyTorch %.2f (%d of %d); PyTorch / omptrain %.2f\n",
                       mo, n_ours, c->reps, mt, n_theirs, c->reps, mt / mo);
            }
    if (missed)
        printf("omptrain did not reach %.2f on every run\n", target);
    return missed ? 3 : 0;
}
