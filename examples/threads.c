/*
 * threads.c - a model trained once and served by several threads: the data
 * split as scikit-learn's train_test_split does, a look at each layer's
 * weights, then four threads predicting the held-out rows at once on the
 * one model (predict only reads it). Every thread's classes must equal a
 * single thread's, and the accuracy must be high.
 *
 * Uses the public API only:
 *   cc threads.c $(pkg-config --cflags --libs omptrain) -lpthread -lm
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omptrain.h>

#define N 2000
#define DIM 10
#define CLASSES 5
#define THREADS 4

#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != OT_OK) {                                                 \
            fprintf(stderr, "threads: %s: %s\n", #call, ot_last_error());      \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

typedef struct server {
    const ot_model *model;
    const float *x;
    size_t n;
    int32_t *classes;
    ot_status status;
} server;

static void *serve(void *arg)
{
    server *s = arg;
    ot_eval_config c = ot_eval_config_default();
    c.threads = 1; /* each server one thread: four at once */
    for (int round = 0; round < 5 && s->status == OT_OK; round++)
        s->status = ot_model_predict_classes(s->model, s->x, s->n, s->classes, &c);
    return NULL;
}

int main(void)
{
    static float x[N * DIM];
    static int32_t y[N];
    uint64_t r = 1;
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % CLASSES);
        for (size_t j = 0; j < DIM; j++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            x[i * DIM + j] = (j % CLASSES == (size_t)y[i]) + (float)(r >> 40) / (1 << 24) - 0.5f;
        }
    }
    ot_dataset *all = NULL, *train = NULL, *test = NULL;
    CHECK(ot_dataset_create(&all, N, DIM, x, y));
    CHECK(ot_dataset_split(&train, &test, all, 0.2, 42));

    const ot_layer layers[] = {OT_DENSE(32, OT_ACTIVATION_RELU),
                               OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    CHECK(ot_model_create(&m, DIM, layers, 2, 7));
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    CHECK(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam));
    ot_fit_config fit = ot_fit_config_default();
    fit.epochs = 5;
    CHECK(ot_model_fit(m, train, &fit, NULL));

    /* each layer's kernel (units x inputs) and bias */
    for (size_t l = 0; l < 2; l++) {
        size_t units = layers[l].units, in = l == 0 ? DIM : layers[0].units;
        float *k = malloc(units * in * sizeof *k), *b = malloc(units * sizeof *b);
        if (k == NULL || b == NULL)
            return 1;
        CHECK(ot_model_get_layer_weights(m, l, k, units * in, b, units));
        double norm = 0.0;
        for (size_t i = 0; i < units * in; i++)
            norm += (double)k[i] * k[i];
        printf("layer %zu: %zu x %zu kernel, norm %.3f; bias[0] %.4f\n", l, units, in,
               sqrt(norm), (double)b[0]);
        free(k);
        free(b);
    }

    size_t n = ot_dataset_size(test);
    float *tx = malloc(n * DIM * sizeof *tx);
    int32_t *ty = malloc(n * sizeof *ty), *want = malloc(n * sizeof *want);
    server s[THREADS];
    pthread_t t[THREADS];
    if (tx == NULL || ty == NULL || want == NULL)
        return 1;
    CHECK(ot_dataset_rows(test, 0, n, tx, n * DIM));
    CHECK(ot_dataset_labels(test, ty, n));
    CHECK(ot_model_predict_classes(m, tx, n, want, NULL));
    for (int i = 0; i < THREADS; i++) {
        s[i] = (server){m, tx, n, malloc(n * sizeof(int32_t)), OT_OK};
        if (s[i].classes == NULL || pthread_create(&t[i], NULL, serve, &s[i]) != 0)
            return 1;
    }
    int ok = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (s[i].status != OT_OK || memcmp(s[i].classes, want, n * sizeof *want) != 0) {
            fprintf(stderr, "threads: server %d: %s\n", i,
                    s[i].status != OT_OK ? ot_status_str(s[i].status) : "other classes");
            ok = 0;
        }
        free(s[i].classes);
    }
    size_t right = 0;
    for (size_t i = 0; i < n; i++)
        right += want[i] == ty[i];
    double acc = (double)right / (double)n;
    printf("%d threads served %zu held-out rows 5 times each: %s; accuracy %.3f\n", THREADS, n,
           ok ? "the same classes as one" : "DIFFERENT", acc);
    free(tx);
    free(ty);
    free(want);
    ot_model_destroy(m);
    ot_dataset_destroy(test);
    ot_dataset_destroy(train);
    ot_dataset_destroy(all);
    return ok && acc > 0.8 ? 0 : 1;
}
