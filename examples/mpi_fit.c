/*
 * mpi_fit.c - a C program that already uses MPI trains models over its
 * ranks: the fit config takes the communicator, and the weights come out
 * bit-identical to one process's fit with the same shard count, whatever
 * the ranks and threads. Three models: a classifier whose steps are cut by
 * rows, and two regressions whose small batches are cut by units (a hidden
 * layer and a last layer in blocks; one layer in blocks). Every rank checks
 * its weights against rank 0's, and rank 0 against a fit of its own
 * without MPI.
 *
 *   mpicc mpi_fit.c $(pkg-config --cflags --libs omptrain) -o mpi_fit
 *   mpirun -np 3 ./mpi_fit [THREADS [SHARDS]]      (defaults: 1 and 6)
 *
 * Uses the public API only. Exits 0 when every check holds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>
#include <omptrain.h>

#define N 1000
#define DIM 12
#define CLASSES 4
#define TARGETS 32

#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != OT_OK) {                                                 \
            fprintf(stderr, "mpi_fit: rank %d: %s: %s\n", rank, #call,         \
                    ot_last_error());                                          \
            MPI_Abort(MPI_COMM_WORLD, 1);                                      \
        }                                                                      \
    } while (0)

/* The same data on every rank: four noisy blobs, from a fixed recurrence,
 * and TARGETS regression targets of them. */
static void blobs(float *x, int32_t *y, float *t)
{
    uint64_t s = 12345;
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % CLASSES);
        for (size_t j = 0; j < DIM; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            float noise = (float)(s >> 40) / (float)(1 << 24) - 0.5f;
            x[i * DIM + j] = (j % CLASSES == (size_t)y[i] ? 1.0f : 0.0f) + noise;
        }
        for (size_t k = 0; k < TARGETS; k++)
            t[i * TARGETS + k] = x[i * DIM + k % DIM] * (float)(k % 5) - 0.5f * x[i * DIM];
    }
}

/* A fresh model of the variant (0: classifier, batches cut by rows; 1: a
 * regression with a hidden layer, 2: a single layer, both cut by units),
 * fitted over comm (NULL: this process alone). */
static ot_model *train(const ot_dataset *d, int variant, const void *comm, int threads,
                       size_t shards, int rank, ot_history **hist)
{
    ot_model *m = NULL;
    const ot_layer classifier[] = {OT_DENSE(32, OT_ACTIVATION_RELU),
                                   OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    const ot_layer regression[] = {OT_DENSE(64, OT_ACTIVATION_RELU),
                                   OT_DENSE(TARGETS, OT_ACTIVATION_LINEAR)};
    const ot_layer *layers = variant == 0 ? classifier : variant == 1 ? regression
                                                                      : regression + 1;
    CHECK(ot_model_create(&m, DIM, layers, variant == 2 ? 1 : 2, /*seed*/ 7));
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    CHECK(ot_model_compile(m, variant == 0 ? OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
                                           : OT_LOSS_MSE, &adam));
    ot_fit_config fit = ot_fit_config_default();
    /* 800 rows to train: batches of 64 leave a short last one */
    fit.batch_size = variant == 0 ? 64 : 16;
    fit.epochs = 4;
    fit.validation_split = 0.2;
    fit.threads = threads;
    fit.shards = shards;
    fit.comm = comm;
    CHECK(ot_model_fit(m, d, &fit, hist));
    return m;
}

/* Fits variant v over MPI_COMM_WORLD and alone; whether the weights of
 * every rank are rank 0's, and rank 0's those of one process. */
static int check(const ot_dataset *d, int v, int threads, size_t shards, int rank, int ranks)
{
    MPI_Comm comm = MPI_COMM_WORLD;
    ot_history *hist = NULL;
    ot_model *m = train(d, v, &comm, threads, shards, rank, &hist);
    ot_step_cut cut;
    CHECK(ot_model_step_cut(m, v == 0 ? 64 : 16, shards, &cut));
    size_t P = ot_model_param_count(m);
    float *w = malloc(P * sizeof *w), *w0 = malloc(P * sizeof *w0);
    if (w == NULL || w0 == NULL)
        MPI_Abort(MPI_COMM_WORLD, 1);
    CHECK(ot_model_get_weights(m, w, P));
    memcpy(w0, w, P * sizeof *w);
    MPI_Bcast(w0, (int)P, MPI_FLOAT, 0, MPI_COMM_WORLD);
    int bad = memcmp(w, w0, P * sizeof *w) != 0;
    if (bad)
        fprintf(stderr, "mpi_fit: rank %d's weights differ from rank 0's\n", rank);
    if (rank == 0) {
        ot_model *alone = train(d, v, NULL, 1, shards, rank, NULL);
        float *wa = malloc(P * sizeof *wa);
        if (wa == NULL)
            MPI_Abort(MPI_COMM_WORLD, 1);
        CHECK(ot_model_get_weights(alone, wa, P));
        int same = memcmp(w, wa, P * sizeof *w) == 0;
        const ot_epoch_metrics *last = ot_history_epoch(hist, ot_history_length(hist) - 1);
        printf("%s, steps cut by %s: %d rank%s x %d thread%s, %zu shards: val_%s %.4f; "
               "weights %s one process's\n", v == 0 ? "classifier" : v == 1 ? "regression"
                                                                           : "one layer",
               cut == OT_STEP_CUT_UNITS ? "units" : "rows", ranks, ranks == 1 ? "" : "s",
               threads, threads == 1 ? "" : "s", shards, v == 0 ? "accuracy" : "mae",
               last->val_metric, same ? "bit-identical to" : "DIFFERENT from");
        bad |= !same;
        free(wa);
        ot_model_destroy(alone);
    }
    free(w);
    free(w0);
    ot_history_destroy(hist);
    ot_model_destroy(m);
    return bad;
}

int main(int argc, char **argv)
{
    int provided, rank = 0, ranks = 1;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    size_t shards = argc > 2 ? (size_t)atol(argv[2]) : 6;
    if (!ot_mpi_available()) {
        fprintf(stderr, "mpi_fit: this omptrain was built without MPI\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    static float x[N * DIM], t[N * TARGETS];
    static int32_t y[N];
    blobs(x, y, t);
    ot_dataset *d = NULL, *r = NULL;
    CHECK(ot_dataset_create(&d, N, DIM, x, y));
    CHECK(ot_dataset_create_targets(&r, N, DIM, x, TARGETS, t));
    int bad = 0;
    for (int v = 0; v < 3; v++)
        bad |= check(v == 0 ? d : r, v, threads, shards, rank, ranks);
    int any = 0;
    MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    ot_dataset_destroy(r);
    ot_dataset_destroy(d);
    MPI_Finalize();
    return any;
}
