/*
 * nested_fit.c - the default config (threads = 0, shards = 0) from a program
 * that uses OpenMP itself: fit, evaluate and predict outside any parallel
 * region, from inside the caller's own region (a nested region of one
 * thread), and with dynamic teams, must give the same bits, whatever the
 * OpenMP environment (meson test runs it under OMP_DYNAMIC=true,
 * OMP_THREAD_LIMIT=1, and OMP_NUM_THREADS=8 with OMP_THREAD_LIMIT=2). Public
 * API only. Exits 0 when every result matches.
 */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include <omptrain.h>

#define N 300
#define DIM 6
#define P_MAX 1024

typedef struct result {
    ot_status st;
    char msg[256];
    float w[P_MAX], p[3 * 8];
    double loss, metric;
} result;

static float x[N * DIM];
static int32_t y[N];

static void run(result *r)
{
    ot_dataset *d = NULL;
    ot_model *m = NULL;
    const ot_layer layers[] = {OT_DENSE(16, OT_ACTIVATION_RELU),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    ot_fit_config fc = ot_fit_config_default(); /* threads 0, shards 0 */
    fc.epochs = 2;
    fc.validation_split = 0.2;
    memset(r, 0, sizeof *r);
    if ((r->st = ot_dataset_create(&d, N, DIM, x, y)) != OT_OK ||
        (r->st = ot_model_create(&m, DIM, layers, 2, 5)) != OT_OK ||
        (r->st = ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam)) !=
            OT_OK ||
        (r->st = ot_model_fit(m, d, &fc, NULL)) != OT_OK ||
        (r->st = ot_model_evaluate(m, d, NULL, &r->loss, &r->metric)) != OT_OK ||
        (r->st = ot_model_predict(m, x, 8, r->p, 3 * 8, NULL)) != OT_OK ||
        (r->st = ot_model_get_weights(m, r->w, ot_model_param_count(m))) != OT_OK)
        snprintf(r->msg, sizeof r->msg, "%s", ot_last_error());
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

static int same(const char *what, const result *a, const result *b)
{
    if (b->st != OT_OK) {
        printf("%s: failed: %s\n", what, b->msg);
        return 0;
    }
    int ok = memcmp(a->w, b->w, sizeof a->w) == 0 && memcmp(a->p, b->p, sizeof a->p) == 0 &&
             a->loss == b->loss && a->metric == b->metric;
    printf("%s: %s\n", what, ok ? "the same bits" : "DIFFERENT");
    return ok;
}

int main(void)
{
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % 3);
        for (size_t j = 0; j < DIM; j++)
            x[i * DIM + j] = (float)((i * 7 + j * 13) % 17) / 17.0f + (j % 3 == (size_t)y[i]);
    }
    static result outside, inside, dynamic;
    run(&outside);
    if (outside.st != OT_OK) {
        printf("outside: failed: %s\n", outside.msg);
        return 1;
    }
    printf("default threads %d (omp_get_max_threads %d, thread limit %d, dynamic %d)\n",
           ot_default_threads(), omp_get_max_threads(), omp_get_thread_limit(),
           omp_get_dynamic());
    int ok = 1;
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        run(&inside);
    }
    ok &= same("inside the caller's parallel region", &outside, &inside);
    omp_set_dynamic(1);
    run(&dynamic);
    ok &= same("with dynamic teams", &outside, &dynamic);
    return ok ? 0 : 1;
}
