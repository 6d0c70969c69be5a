/*
 * source.c - training on samples made as training asks for them: the C
 * analogue of a keras.utils.Sequence. The data set is two interleaved
 * spirals of 200,000 points, each point computed from its index (with its
 * noise), never stored: the library asks the callback for the rows of a
 * batch (a chunk of them) from a reader thread of its own, ahead of the
 * steps, and for the labels once when the dataset is made. Prints the
 * accuracy on points it never trained on, then shows the callback's error
 * stopping a fit with its message.
 *
 * Uses the public API only: cc source.c $(pkg-config --cflags --libs omptrain) -lm
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include <omptrain.h>

#define PI 3.14159265358979323846

#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != OT_OK) {                                                 \
            fprintf(stderr, "source: %s: %s\n", #call, ot_last_error());       \
            return 1;                                                          \
        }                                                                      \
    } while (0)

typedef struct spirals {
    size_t first;       /* the row numbers start here: another set of points */
    size_t broken_row;  /* a row the "sensor" cannot give, or SIZE_MAX */
} spirals;

/* A number in [0, 1) from a row and a stream: the same each time asked. */
static double uniform(size_t row, unsigned stream)
{
    uint64_t h = (uint64_t)row * 0x9e3779b97f4a7c15ULL + stream * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return (double)(h >> 11) / 9007199254740992.0;
}

/* The callback: row r is a point of spiral r % 2 at a position drawn from
 * r, with noise. x is NULL when only the labels are asked for. */
static int spiral_rows(void *user, const size_t *rows, size_t n, float *x, int32_t *labels,
                       float *targets, char *error, size_t error_size)
{
    const spirals *s = user;
    (void)targets;
    for (size_t i = 0; i < n; i++) {
        size_t r = s->first + rows[i];
        if (rows[i] == s->broken_row) {
            snprintf(error, error_size, "no reading for row %zu", rows[i]);
            return 1;
        }
        labels[i] = (int32_t)(r % 2);
        if (x == NULL)
            continue;
        double t = 0.25 + 2.75 * uniform(r, 0), a = 2.0 * PI * t + PI * (double)(r % 2);
        x[2 * i] = (float)(t * cos(a) + 0.08 * (uniform(r, 1) - 0.5));
        x[2 * i + 1] = (float)(t * sin(a) + 0.08 * (uniform(r, 2) - 0.5));
    }
    return 0;
}

int main(void)
{
    spirals train_points = {0, SIZE_MAX}, test_points = {1000000, SIZE_MAX};
    ot_source src = {.n = 200000, .dim = 2, .rows = spiral_rows, .user = &train_points};
    ot_dataset *train = NULL, *test = NULL;
    CHECK(ot_dataset_from_source(&train, &src));
    src.n = 20000;
    src.user = &test_points;
    CHECK(ot_dataset_from_source(&test, &src));

    const ot_layer layers[] = {OT_DENSE(64, OT_ACTIVATION_RELU),
                               OT_DENSE(64, OT_ACTIVATION_RELU),
                               OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    ot_model *model = NULL;
    CHECK(ot_model_create(&model, 2, layers, 3, 42));
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    adam.learning_rate = 0.005f;
    CHECK(ot_model_compile(model, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam));
    ot_fit_config fit = ot_fit_config_default();
    fit.batch_size = 256;
    fit.epochs = 4;
    fit.validation_data = test;
    ot_history *history = NULL;
    CHECK(ot_model_fit(model, train, &fit, &history));
    double loss, accuracy;
    CHECK(ot_model_evaluate(model, test, NULL, &loss, &accuracy));
    printf("two spirals, 200000 points made as training asked for them: test accuracy "
           "%.4f after %zu epochs\n", accuracy, ot_history_length(history));
    ot_history_destroy(history);

    /* a row the callback cannot give stops the fit with the callback's words */
    train_points.broken_row = 123456;
    ot_status st = ot_model_fit(model, train, &fit, NULL);
    printf("with row 123456 missing: %s: %s\n", ot_status_str(st), ot_last_error());
    ot_model_destroy(model);
    ot_dataset_destroy(train);
    ot_dataset_destroy(test);
    return accuracy > 0.95 && st == OT_SOURCE_ERROR ? 0 : 1;
}
