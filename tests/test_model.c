/*
 * test_model.c - model creation, weights, compile and the summary, and API
 * misuse from C: every bad call returns a status and a message, none
 * crashes.
 */
#include <criterion/criterion.h>

#include "helpers.h"

static const ot_layer textbook[] = {OT_DENSE(100, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};

Test(model, textbook_parameter_count_and_summary)
{
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 784, textbook, 2, 42), OT_OK);
    cr_assert_eq(ot_model_param_count(m), 79510);
    cr_assert_eq(ot_model_input_dim(m), 784);
    cr_assert_eq(ot_model_output_dim(m), 10);
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    cr_assert_eq(ot_model_summary(m, f), OT_OK);
    fclose(f);
    cr_assert(strstr(buf, "Total params: 79,510") != NULL, "%s", buf);
    cr_assert(strstr(buf, "(None, 100)") != NULL);
    cr_assert(strstr(buf, "78500") != NULL && strstr(buf, "1010") != NULL);
    ot_model_destroy(m);
}

Test(model, glorot_uniform_and_zero_biases_from_the_seed)
{
    ot_model *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(ot_model_create(&a, 784, textbook, 2, 42), OT_OK);
    cr_assert_eq(ot_model_create(&b, 784, textbook, 2, 42), OT_OK);
    cr_assert_eq(ot_model_create(&c, 784, textbook, 2, 43), OT_OK);
    size_t P = 79510;
    float *wa = malloc(P * 4), *wb = malloc(P * 4), *wc = malloc(P * 4);
    ot_model_get_weights(a, wa, P);
    ot_model_get_weights(b, wb, P);
    ot_model_get_weights(c, wc, P);
    cr_assert(memcmp(wa, wb, P * 4) == 0, "same seed, different weights");
    cr_assert(memcmp(wa, wc, P * 4) != 0, "different seeds, same weights");
    double limit = sqrt(6.0 / (784 + 100)), sum = 0, sq = 0;
    for (size_t i = 0; i < 78400; i++) {
        cr_assert(fabs(wa[i]) <= limit, "weight %zu = %g beyond %g", i, (double)wa[i], limit);
        sum += wa[i];
        sq += (double)wa[i] * wa[i];
    }
    /* U(-l, l): mean 0, variance l^2 / 3 */
    cr_assert(fabs(sum / 78400) < 0.01 * limit);
    cr_assert(fabs(sq / 78400 - limit * limit / 3) < 0.02 * limit * limit);
    for (size_t i = 78400; i < 78500; i++)
        cr_assert_eq(wa[i], 0.0f, "bias %zu", i - 78400);
    free(wa);
    free(wb);
    free(wc);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_model_destroy(c);
}

#define EXPECT(call, status, needle)                                           \
    do {                                                                       \
        ot_status st_ = (call);                                                \
        cr_assert_eq(st_, status, "%s: %s (%s)", #call, ot_status_str(st_),    \
                     ot_last_error());                                         \
        cr_assert(strstr(ot_last_error(), needle) != NULL, "%s: '%s' lacks '%s'", \
                  #call, ot_last_error(), needle);                             \
    } while (0)

Test(model, creation_misuse)
{
    ot_model *m = (ot_model *)1;
    ot_layer zero[] = {OT_DENSE(0, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    ot_layer late_flatten[] = {OT_DENSE(10, OT_ACTIVATION_RELU), OT_FLATTEN};
    ot_layer only_flatten[] = {OT_FLATTEN};
    ot_layer bad_act[] = {OT_DENSE(10, (ot_activation)42)};
    ot_layer huge[] = {OT_DENSE((size_t)1 << 30, OT_ACTIVATION_RELU)};
    EXPECT(ot_model_create(NULL, 784, textbook, 2, 1), OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_model_create(&m, 0, textbook, 2, 1), OT_INVALID_ARGUMENT, "input_dim");
    cr_assert_null(m);
    EXPECT(ot_model_create(&m, 784, NULL, 2, 1), OT_INVALID_ARGUMENT, "at least one layer");
    EXPECT(ot_model_create(&m, 784, textbook, 0, 1), OT_INVALID_ARGUMENT, "at least one layer");
    EXPECT(ot_model_create(&m, 784, zero, 2, 1), OT_INVALID_ARGUMENT, "layer 1: units 0");
    EXPECT(ot_model_create(&m, 784, late_flatten, 2, 1), OT_INVALID_ARGUMENT,
           "Flatten must be the first layer");
    EXPECT(ot_model_create(&m, 784, only_flatten, 1, 1), OT_INVALID_ARGUMENT,
           "at least one Dense layer");
    EXPECT(ot_model_create(&m, 784, bad_act, 1, 1), OT_INVALID_ARGUMENT, "activation 42");
    EXPECT(ot_model_create(&m, 784, huge, 1, 1), OT_INVALID_ARGUMENT, "units");
    ot_model_destroy(NULL);
    ot_dataset_destroy(NULL);
    ot_history_destroy(NULL);
}

Test(model, compile_and_weights_misuse)
{
    ot_model *m = NULL;
    ot_layer linear_last[] = {OT_DENSE(10, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_LINEAR)};
    cr_assert_eq(ot_model_create(&m, 4, linear_last, 2, 1), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    EXPECT(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc),
           OT_INVALID_ARGUMENT, "needs a softmax last layer, not linear");
    EXPECT(ot_model_compile(NULL, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc),
           OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_model_compile(m, (ot_loss)7, &oc), OT_INVALID_ARGUMENT, "loss 7");
    float w[4];
    EXPECT(ot_model_get_weights(m, w, 4), OT_INVALID_ARGUMENT, "the model has 160");
    EXPECT(ot_model_set_weights(m, w, 4), OT_INVALID_ARGUMENT, "the model has 160");
    float *big = calloc(160, sizeof(float));
    big[7] = NAN;
    EXPECT(ot_model_set_weights(m, big, 160), OT_NON_FINITE, "parameter 7");
    free(big);
    ot_layer l;
    EXPECT(ot_model_layer(m, 2, &l), OT_INVALID_ARGUMENT, "layer index 2");
    EXPECT(ot_model_summary(m, NULL), OT_INVALID_ARGUMENT, "NULL");
    ot_model_destroy(m);
}

Test(model, fit_evaluate_predict_misuse)
{
    ot_model *m = NULL;
    ot_layer l[] = {OT_DENSE(8, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&m, 5, l, 2, 1), OT_OK);
    ot_dataset *d = th_blobs(40, 5, 3, 1);
    ot_dataset *wrong_dim = th_blobs(40, 6, 3, 1);
    ot_dataset *many_classes = th_blobs(40, 5, 7, 1);
    ot_fit_config fc = ot_fit_config_default();
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_STATE, "not compiled");
    double loss, acc;
    EXPECT(ot_model_evaluate(m, d, NULL, &loss, &acc), OT_INVALID_STATE, "not compiled");
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    EXPECT(ot_model_fit(NULL, d, &fc, NULL), OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_model_fit(m, NULL, &fc, NULL), OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_model_fit(m, d, NULL, NULL), OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_model_fit(m, wrong_dim, &fc, NULL), OT_INVALID_ARGUMENT, "6 features per sample");
    EXPECT(ot_model_fit(m, many_classes, &fc, NULL), OT_INVALID_ARGUMENT,
           "label 3 of sample 3 is outside the model's 3 classes");
    fc.batch_size = 0;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "batch_size");
    fc = ot_fit_config_default();
    fc.epochs = 0;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "epochs");
    fc = ot_fit_config_default();
    fc.threads = -1;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "threads -1");
    fc = ot_fit_config_default();
    fc.shards = 33;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "33 shards");
    fc = ot_fit_config_default();
    fc.validation_split = 1.0;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "validation_split");
    fc.validation_split = NAN;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "validation_split");
    fc.validation_split = 0.5;
    fc.validation_data = d;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "not both");
    fc = ot_fit_config_default();
    fc.validation_data = wrong_dim;
    EXPECT(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "validation data");
    float x[10] = {0}, out[5];
    EXPECT(ot_model_predict(m, x, 2, out, 5, NULL), OT_INVALID_ARGUMENT, "output holds 5");
    EXPECT(ot_model_predict(m, x, 0, out, 5, NULL), OT_INVALID_ARGUMENT, "0 rows");
    EXPECT(ot_model_predict(m, NULL, 2, out, 6, NULL), OT_INVALID_ARGUMENT, "NULL");
    ot_eval_config ec = ot_eval_config_default();
    ec.batch_size = 0;
    EXPECT(ot_model_evaluate(m, d, &ec, &loss, &acc), OT_INVALID_ARGUMENT, "batch_size");
    ot_dataset_destroy(d);
    ot_dataset_destroy(wrong_dim);
    ot_dataset_destroy(many_classes);
    ot_model_destroy(m);
}

Test(model, dataset_misuse)
{
    ot_dataset *d = (ot_dataset *)1;
    float x[4] = {1, 2, NAN, 4};
    int32_t y[2] = {0, -1};
    EXPECT(ot_dataset_create(&d, 2, 2, x, NULL), OT_NON_FINITE, "feature 0 of sample 1");
    cr_assert_null(d);
    x[2] = 3;
    EXPECT(ot_dataset_create(&d, 2, 2, x, y), OT_INVALID_ARGUMENT, "label -1 of sample 1");
    EXPECT(ot_dataset_create(&d, 0, 2, x, NULL), OT_INVALID_ARGUMENT, "must be > 0");
    EXPECT(ot_dataset_create(&d, 2, 2, NULL, NULL), OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_dataset_create(NULL, 2, 2, x, NULL), OT_INVALID_ARGUMENT, "NULL");
    EXPECT(ot_dataset_create(&d, SIZE_MAX / 2, 4, x, NULL), OT_INVALID_ARGUMENT, "samples");
}

Test(model, names_and_statuses)
{
    ot_activation a;
    cr_assert_eq(ot_activation_parse("relu", &a), OT_OK);
    cr_assert_eq(a, OT_ACTIVATION_RELU);
    cr_assert_eq(ot_activation_parse("none", &a), OT_OK);
    cr_assert_eq(a, OT_ACTIVATION_LINEAR);
    EXPECT(ot_activation_parse("swish", &a), OT_INVALID_ARGUMENT, "swish");
    ot_loss loss;
    cr_assert_eq(ot_loss_parse("sparse_categorical_crossentropy", &loss), OT_OK);
    EXPECT(ot_loss_parse("hinge", &loss), OT_INVALID_ARGUMENT, "hinge");
    cr_assert_eq(ot_loss_parse("mean_squared_error", &loss), OT_OK);
    cr_assert_eq(loss, OT_LOSS_MSE);
    cr_assert_str_eq(ot_status_str(OT_OK), "success");
    cr_assert_str_eq(ot_status_str(OT_BAD_FORMAT), "bad file format");
    cr_assert_str_eq(ot_version(), OT_VERSION_STRING);
}
