/*
 * soak.c - a soak run: thousands of epochs on a small dataset with many
 * threads, watching the process's resident memory and the epoch time.
 * Prints RSS after the first epoch and at the end, and the mean epoch time
 * of the first and the last tenth of the run. Exits non-zero when memory
 * grew by more than 1 MiB or the last tenth is more than 1.5x slower.
 *
 * usage: soak [EPOCHS [THREADS [BATCH]]]   (defaults: 3000 epochs, 8
 * threads, batches of 64: the step cut by rows; 21 or fewer rows cut it by
 * units)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <omptrain.h>

typedef struct soak {
    size_t epochs;
    long rss_first, rss_last;
    double *seconds;
} soak;

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int on_epoch(const ot_epoch_metrics *e, void *user)
{
    soak *s = user;
    s->seconds[e->epoch - 1] = e->seconds;
    if (e->epoch == 1)
        s->rss_first = rss_kib();
    s->rss_last = rss_kib();
    return 0;
}

static double mean(const double *v, size_t n)
{
    double t = 0;
    for (size_t i = 0; i < n; i++)
        t += v[i];
    return t / (double)n;
}

int main(int argc, char **argv)
{
    size_t epochs = argc > 1 ? (size_t)atol(argv[1]) : 3000;
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    long batch = argc > 3 ? atol(argv[3]) : 64;
    if (epochs < 10 || threads < 1 || batch < threads || batch > 384) {
        fprintf(stderr, "usage: soak [EPOCHS >= 10 [THREADS >= 1 [BATCH: THREADS to 384]]]\n");
        return 2;
    }
    enum { N = 512, D = 32, C = 4 };
    static float x[N * D];
    static int32_t y[N];
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % C);
        for (size_t j = 0; j < D; j++)
            x[i * D + j] = (float)((i * 31 + j * 17) % 97) / 97.0f + (j % C == i % C);
    }
    ot_dataset *d = NULL;
    ot_model *m = NULL;
    soak s = {epochs, 0, 0, calloc(epochs, sizeof(double))};
    const ot_layer layers[] = {OT_DENSE(64, OT_ACTIVATION_RELU), OT_DENSE(64, OT_ACTIVATION_TANH),
                               OT_DENSE(C, OT_ACTIVATION_SOFTMAX)};
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    ot_fit_config fit = ot_fit_config_default();
    fit.epochs = epochs;
    fit.batch_size = (size_t)batch;
    fit.validation_split = 0.25;
    fit.threads = threads;
    fit.shards = (size_t)threads;
    fit.on_epoch = on_epoch;
    fit.user = &s;
    if (s.seconds == NULL || ot_dataset_create(&d, N, D, x, y) != OT_OK ||
        ot_model_create(&m, D, layers, 3, 1) != OT_OK ||
        ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam) != OT_OK ||
        ot_model_fit(m, d, &fit, NULL) != OT_OK) {
        fprintf(stderr, "soak: %s\n", ot_last_error());
        return 1;
    }
    size_t tenth = epochs / 10;
    double first = mean(s.seconds, tenth), last = mean(s.seconds + epochs - tenth, tenth);
    printf("soak: %zu epochs of %d samples, batches of %ld, %d threads, %d shards\n", epochs,
           N, batch, threads, threads);
    printf("RSS after epoch 1: %ld KiB, after epoch %zu: %ld KiB (%+ld KiB)\n",
           s.rss_first, epochs, s.rss_last, s.rss_last - s.rss_first);
    printf("mean epoch time: first tenth %.3f ms, last tenth %.3f ms (x%.2f)\n",
           1e3 * first, 1e3 * last, last / first);
    int ok = s.rss_last - s.rss_first <= 1024 && last <= 1.5 * first;
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    free(s.seconds);
    return ok ? 0 : 1;
}
