/*
 * test_model.c - model creation, weights, compile and the summary, and API
 * misuse from C: every bad call returns a status and a message, none
 * crashes.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/common.h"

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
    /* the same table from the layers alone */
    char buf2[4096] = {0};
    f = fmemopen(buf2, sizeof buf2 - 1, "w");
    cr_assert_eq(ot_layers_summary(784, textbook, 2, f), OT_OK);
    fclose(f);
    cr_assert_str_eq(buf, buf2);
    ot_model_destroy(m);
}

/* A model of 1.59e9 parameters (6.4 GB of weights) described without
 * allocating them (under the sanitizers such an allocation would abort);
 * bad layers refused as ot_model_create refuses them. */
Test(model, layers_summary_allocates_no_weights)
{
    const ot_layer huge[] = {OT_DENSE(2000000, OT_ACTIVATION_RELU),
                             OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    uint64_t before = ot__alloc_count();
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    cr_assert_eq(ot_layers_summary(784, huge, 2, f), OT_OK, "%s", ot_last_error());
    fclose(f);
    cr_assert(strstr(buf, "Total params: 1,590,000,010") != NULL, "%s", buf);
    cr_assert_eq(ot__alloc_count(), before, "the summary allocated");
    const ot_layer zero[] = {OT_DENSE(0, OT_ACTIVATION_RELU)};
    cr_assert_eq(ot_layers_summary(784, zero, 1, stdout), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "units 0") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_layers_summary(784, huge, 2, NULL), OT_INVALID_ARGUMENT);
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

/* Every public function, with NULL in each of its pointer arguments in
 * turn and the others valid: a status and a message, never a crash (the
 * suite runs under ASan and UBSan in CI). Where the header allows NULL (a
 * config taking its defaults, unlabelled data, no history), the call may
 * succeed. */
#define REFUSED(call)                                                          \
    do {                                                                       \
        ot_status st_ = (call);                                                \
        cr_assert_eq(st_, OT_INVALID_ARGUMENT, "%s: %d", #call, st_);          \
        cr_assert(ot_last_error()[0] != '\0', "%s: no message", #call);       \
    } while (0)
#define ALLOWED(call)                                                          \
    do {                                                                       \
        ot_status st_ = (call);                                                \
        cr_assert(st_ == OT_OK || st_ == OT_INVALID_ARGUMENT, "%s: %d", #call, \
                  st_);                                                        \
    } while (0)

Test(model, every_public_function_survives_null_pointers)
{
    char dir[256], path[512];
    th_tmpdir(dir, sizeof dir);
    ot_dataset *d = th_blobs(64, 4, 2, 3), *o = NULL;
    ot_model *m = NULL, *m2 = NULL;
    const ot_layer layers[] = {OT_DENSE(8, OT_ACTIVATION_RELU),
                               OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&m, 4, layers, 2, 1), OT_OK);
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 1;
    fc.threads = 1;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK);
    float x[8] = {0}, w[128], buf[256];
    int32_t y[64], cls[2];
    size_t counts[4];
    double loss, metric;
    union {
        ot_activation a;
        ot_initializer i;
        ot_loss l;
        ot_optimizer_kind k;
        ot_monitor mo;
        ot_step_cut c;
        ot_layer ly;
        ot_thread_choice tc;
    } any;

    /* names and parsers */
    REFUSED(ot_activation_parse(NULL, &any.a));
    REFUSED(ot_activation_parse("relu", NULL));
    REFUSED(ot_initializer_parse(NULL, &any.i));
    REFUSED(ot_initializer_parse("zeros", NULL));
    REFUSED(ot_loss_parse(NULL, &any.l));
    REFUSED(ot_loss_parse("mse", NULL));
    REFUSED(ot_optimizer_parse(NULL, &any.k));
    REFUSED(ot_optimizer_parse("adam", NULL));
    REFUSED(ot_monitor_parse(NULL, &any.mo));
    REFUSED(ot_monitor_parse("loss", NULL));
    ot_metric mt[2] = {OT_METRIC_MAE, OT_METRIC_ACCURACY};
    REFUSED(ot_metric_parse(NULL, &mt[0]));
    REFUSED(ot_metric_parse("mae", NULL));
    REFUSED(ot_model_monitor_parse(NULL, "loss", &any.mo));
    REFUSED(ot_model_monitor_parse(m, NULL, &any.mo));
    REFUSED(ot_model_monitor_parse(m, "loss", NULL));
    REFUSED(ot_model_set_metrics(NULL, mt, 2));
    REFUSED(ot_model_set_metrics(m, NULL, 2));
    ALLOWED(ot_model_set_metrics(m, NULL, 0)); /* the default */
    cr_assert_eq(ot_model_metrics(NULL, mt, 2), 0u);
    cr_assert_eq(ot_model_metrics(m, NULL, 0), 1u);
    cr_assert_null(ot_metric_name((ot_metric)-1));
    cr_assert_not_null(ot_status_str(OT_OK));
    cr_assert_not_null(ot_last_error());
    cr_assert_not_null(ot_version());

    /* models */
    REFUSED(ot_model_create(NULL, 4, layers, 2, 1));
    REFUSED(ot_model_create(&m2, 4, NULL, 2, 1));
    cr_assert_null(m2);
    ot_model_destroy(NULL);
    cr_assert_eq(ot_model_input_dim(NULL), 0u);
    cr_assert_eq(ot_model_output_dim(NULL), 0u);
    cr_assert_eq(ot_model_layer_count(NULL), 0u);
    cr_assert_eq(ot_model_param_count(NULL), 0u);
    REFUSED(ot_model_layer(NULL, 0, &any.ly));
    REFUSED(ot_model_layer(m, 0, NULL));
    REFUSED(ot_model_get_weights(NULL, w, ot_model_param_count(m)));
    REFUSED(ot_model_get_weights(m, NULL, ot_model_param_count(m)));
    REFUSED(ot_model_set_weights(NULL, w, ot_model_param_count(m)));
    REFUSED(ot_model_set_weights(m, NULL, ot_model_param_count(m)));
    REFUSED(ot_model_summary(NULL, stderr));
    REFUSED(ot_model_summary(m, NULL));
    REFUSED(ot_model_compile(NULL, OT_LOSS_MSE, &adam));
    cr_assert_eq(ot_model_create(&m2, 4, layers, 2, 1), OT_OK);
    ALLOWED(ot_model_compile(m2, OT_LOSS_MSE, NULL));
    ot_model_destroy(m2);
    m2 = NULL;
    REFUSED(ot_model_get_layer_weights(NULL, 0, w, 32, w, 8));
    REFUSED(ot_model_get_layer_weights(m, 0, NULL, 32, w, 8));
    REFUSED(ot_model_get_layer_weights(m, 0, w, 32, NULL, 8));
    REFUSED(ot_model_set_layer_weights(NULL, 0, w, 32, w, 8));
    REFUSED(ot_model_set_layer_weights(m, 0, NULL, 32, w, 8));
    REFUSED(ot_model_set_layer_weights(m, 0, w, 32, NULL, 8));
    REFUSED(ot_model_cancel(NULL));
    REFUSED(ot_model_set_learning_rate(NULL, 0.1f));
    REFUSED(ot_model_loss(NULL, &any.l));
    REFUSED(ot_model_loss(m, NULL));
    cr_assert_eq(ot_model_epochs_trained(NULL), 0u);
    cr_assert_eq(ot_model_steps_in_epoch(NULL), 0u);
    REFUSED(ot_model_step_cut(NULL, 16, 2, &any.c));
    REFUSED(ot_model_step_cut(m, 16, 2, NULL));
    (void)ot_model_scaling(NULL);
    (void)ot_model_resume_config(NULL);

    /* datasets */
    REFUSED(ot_dataset_create(NULL, 2, 4, x, y));
    REFUSED(ot_dataset_create(&o, 2, 4, NULL, y));
    ALLOWED(ot_dataset_create(&o, 2, 4, x, NULL)); /* unlabelled: allowed */
    ot_dataset_destroy(o);
    o = NULL;
    REFUSED(ot_dataset_create_targets(NULL, 2, 4, x, 1, buf));
    REFUSED(ot_dataset_create_targets(&o, 2, 4, NULL, 1, buf));
    REFUSED(ot_dataset_create_targets(&o, 2, 4, x, 1, NULL));
    REFUSED(ot_to_categorical(NULL, 2, 2, buf));
    REFUSED(ot_to_categorical(y, 2, 2, NULL));
    ot_csv_options co = ot_csv_options_default();
    REFUSED(ot_dataset_load_csv(NULL, "x.csv", &co));
    REFUSED(ot_dataset_load_csv(&o, NULL, &co));
    snprintf(path, sizeof path, "%s/d.csv", dir);
    th_write(path, "1,2,0\n3,4,1\n", 12, 0);
    ALLOWED(ot_dataset_load_csv(&o, path, NULL));
    ot_dataset_destroy(o);
    o = NULL;
    REFUSED(ot_dataset_xor(NULL));
    REFUSED(ot_dataset_load_idx(NULL, "a", "b"));
    REFUSED(ot_dataset_load_idx(&o, NULL, "b"));
    REFUSED(ot_dataset_load_idx(&o, path, NULL));
    cr_assert_null(o);
    REFUSED(ot_dataset_load_idx_dir(NULL, dir, "train"));
    REFUSED(ot_dataset_load_idx_dir(&o, NULL, "train"));
    REFUSED(ot_dataset_load_idx_dir(&o, dir, NULL));
    ot_dataset_destroy(NULL);
    cr_assert_eq(ot_dataset_size(NULL), 0u);
    cr_assert_eq(ot_dataset_dim(NULL), 0u);
    cr_assert_eq(ot_dataset_classes(NULL), 0u);
    cr_assert_eq(ot_dataset_targets(NULL), 0u);
    REFUSED(ot_dataset_slice(NULL, d, 0, 2));
    REFUSED(ot_dataset_slice(&o, NULL, 0, 2));
    REFUSED(ot_dataset_rows(NULL, 0, 2, buf, 8));
    REFUSED(ot_dataset_rows(d, 0, 2, NULL, 8));
    REFUSED(ot_dataset_labels(NULL, y, 64));
    REFUSED(ot_dataset_labels(d, NULL, 64));
    REFUSED(ot_dataset_features(NULL, buf, 256));
    REFUSED(ot_dataset_features(d, NULL, 256));
    const size_t sel[] = {0, 1};
    ot_dataset *o2 = NULL;
    REFUSED(ot_dataset_select(NULL, d, sel, 2));
    REFUSED(ot_dataset_select(&o, NULL, sel, 2));
    REFUSED(ot_dataset_select(&o, d, NULL, 2));
    REFUSED(ot_dataset_split(NULL, &o2, d, 0.5, 1));
    REFUSED(ot_dataset_split(&o, NULL, d, 0.5, 1));
    REFUSED(ot_dataset_split(&o, &o2, NULL, 0.5, 1));
    REFUSED(ot_dataset_target_values(NULL, buf, 256));
    REFUSED(ot_dataset_target_values(d, NULL, 256));

    /* streamed datasets */
    REFUSED(ot_dataset_stream_idx(NULL, "a", "b", dir));
    REFUSED(ot_dataset_stream_idx(&o, NULL, "b", dir));
    REFUSED(ot_dataset_stream_idx(&o, path, NULL, dir));
    REFUSED(ot_dataset_stream_idx_dir(NULL, dir, "train", dir));
    REFUSED(ot_dataset_stream_idx_dir(&o, NULL, "train", dir));
    REFUSED(ot_dataset_stream_idx_dir(&o, dir, NULL, dir));
    REFUSED(ot_dataset_stream_csv(NULL, path, &co, dir));
    REFUSED(ot_dataset_stream_csv(&o, NULL, &co, dir));
    ALLOWED(ot_dataset_stream_csv(&o, path, NULL, dir)); /* default options */
    cr_assert(ot_dataset_is_streamed(o));
    ot_dataset_destroy(o);
    o = NULL;
    cr_assert_eq(ot_dataset_is_streamed(NULL), 0);
    ot_source src = {.n = 2, .dim = 4, .rows = NULL};
    REFUSED(ot_dataset_from_source(NULL, &src));
    REFUSED(ot_dataset_from_source(&o, NULL));
    REFUSED(ot_dataset_from_source(&o, &src)); /* no rows callback */
    cr_assert_null(o);

    /* fit, history, inference, files */
    REFUSED(ot_model_fit(NULL, d, &fc, NULL));
    REFUSED(ot_model_fit(m, NULL, &fc, NULL));
    REFUSED(ot_model_fit(m, d, NULL, NULL));
    cr_assert_eq(ot_history_length(NULL), 0u);
    cr_assert_null(ot_history_epoch(NULL, 0));
    (void)ot_history_metric_name(NULL);
    cr_assert_eq(ot_history_metrics(NULL), 0u);
    cr_assert_null(ot_history_metric(NULL, 0));
    cr_assert_eq(ot_history_best_epoch(NULL), 0u);
    REFUSED(ot_history_write_csv(NULL, path));
    REFUSED(ot_history_write_csv(h, NULL));
    REFUSED(ot_history_write_svg(NULL, path));
    REFUSED(ot_history_write_svg(h, NULL));
    ot_history_destroy(NULL);
    REFUSED(ot_model_choose_threads(NULL, d, 16, 0, 0.01, &any.tc));
    REFUSED(ot_model_choose_threads(m, NULL, 16, 0, 0.01, &any.tc));
    REFUSED(ot_model_choose_threads(m, d, 16, 0, 0.01, NULL));
    REFUSED(ot_model_evaluate(NULL, d, NULL, &loss, &metric));
    REFUSED(ot_model_evaluate(m, NULL, NULL, &loss, &metric));
    ALLOWED(ot_model_evaluate(m, d, NULL, NULL, &metric));
    ALLOWED(ot_model_evaluate(m, d, NULL, &loss, NULL));
    double vals[2];
    REFUSED(ot_model_evaluate_metrics(NULL, d, NULL, &loss, vals, 2));
    REFUSED(ot_model_evaluate_metrics(m, NULL, NULL, &loss, vals, 2));
    REFUSED(ot_model_evaluate_metrics(m, d, NULL, &loss, NULL, 2));
    ALLOWED(ot_model_evaluate_metrics(m, d, NULL, NULL, vals, 2));
    ALLOWED(ot_model_evaluate_metrics(m, d, NULL, &loss, NULL, 0));
    REFUSED(ot_model_confusion_matrix(NULL, d, NULL, counts, 2));
    REFUSED(ot_model_confusion_matrix(m, NULL, NULL, counts, 2));
    REFUSED(ot_model_confusion_matrix(m, d, NULL, NULL, 2));
    REFUSED(ot_model_predict(NULL, x, 2, buf, 4, NULL));
    REFUSED(ot_model_predict(m, NULL, 2, buf, 4, NULL));
    REFUSED(ot_model_predict(m, x, 2, NULL, 4, NULL));
    REFUSED(ot_model_predict_classes(NULL, x, 2, cls, NULL));
    REFUSED(ot_model_predict_classes(m, NULL, 2, cls, NULL));
    REFUSED(ot_model_predict_classes(m, x, 2, NULL, NULL));
    REFUSED(ot_model_predict_dataset(NULL, d, 0, 2, buf, 4, cls, NULL));
    REFUSED(ot_model_predict_dataset(m, NULL, 0, 2, buf, 4, cls, NULL));
    REFUSED(ot_model_predict_dataset(m, d, 0, 2, NULL, 4, cls, NULL));
    ALLOWED(ot_model_predict_dataset(m, d, 0, 2, buf, 4, NULL, NULL)); /* no classes */
    size_t bytes = 0;
    REFUSED(ot_model_fit_memory(NULL, 64, &fc, &bytes));
    REFUSED(ot_model_fit_memory(m, 64, NULL, &bytes));
    REFUSED(ot_model_fit_memory(m, 64, &fc, NULL));
    REFUSED(ot_layers_fit_memory(4, NULL, 2, &adam, 64, &fc, &bytes));
    REFUSED(ot_layers_fit_memory(4, layers, 2, NULL, 64, &fc, &bytes));
    REFUSED(ot_layers_fit_memory(4, layers, 2, &adam, 64, NULL, &bytes));
    REFUSED(ot_layers_fit_memory(4, layers, 2, &adam, 64, &fc, NULL));
    ALLOWED(ot_layers_fit_memory(4, layers, 2, &adam, 64, &fc, &bytes));
    REFUSED(ot_model_save(NULL, path));
    REFUSED(ot_model_save(m, NULL));
    REFUSED(ot_model_load(NULL, path));
    REFUSED(ot_model_load(&m2, NULL));
    cr_assert_null(m2);

    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* predict and predict_classes refuse what a dataset refuses: a NaN or an
 * infinity among the features, named by row and column. */
Test(model, predict_refuses_non_finite_features)
{
    ot_model *m = NULL;
    const ot_layer layers[] = {OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&m, 4, layers, 1, 1), OT_OK);
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f}, out[6];
    int32_t cls[2];
    cr_assert_eq(ot_model_predict(m, x, 2, out, 6, NULL), OT_OK);
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        x[6] = bad[k];
        cr_assert_eq(ot_model_predict(m, x, 2, out, 6, NULL), OT_NON_FINITE);
        cr_assert(strstr(ot_last_error(), "feature 2 of row 1") != NULL, "%s", ot_last_error());
        cr_assert_eq(ot_model_predict_classes(m, x, 2, cls, NULL), OT_NON_FINITE);
    }
    ot_model_destroy(m);
}

/* ot_last_error is errno-like, as its header says: set by a failure, left
 * alone by a success. */
Test(model, last_error_is_set_by_failures_only)
{
    ot_loss l;
    cr_assert_eq(ot_loss_parse("no-such-loss", &l), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "no-such-loss") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_loss_parse("mse", &l), OT_OK);
    cr_assert(strstr(ot_last_error(), "no-such-loss") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_activation_parse("no-such-activation", NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "NULL") != NULL, "%s", ot_last_error());
}

/* The numeric version agrees with the string and with the header's. */
Test(model, version_number)
{
    char v[32];
    int n = ot_version_number();
    snprintf(v, sizeof v, "%d.%d.%d", n / 10000, n / 100 % 100, n % 100);
    cr_assert_str_eq(v, ot_version());
    cr_assert_eq(n, OT_VERSION_NUMBER);
}

/* Per-layer weights are the same floats ot_model_get_weights lays out,
 * layer by layer: units x inputs, then the bias. */
Test(model, layer_weights)
{
    ot_model *m = NULL;
    const ot_layer layers[] = {OT_FLATTEN, OT_DENSE(3, OT_ACTIVATION_RELU),
                               OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&m, 4, layers, 3, 9), OT_OK);
    size_t P = ot_model_param_count(m);
    cr_assert_eq(P, 4u * 3 + 3 + 3 * 2 + 2);
    float all[32], k0[12], b0[3], k1[6], b1[2];
    cr_assert_eq(ot_model_get_weights(m, all, P), OT_OK);
    cr_assert_eq(ot_model_get_layer_weights(m, 0, k0, 12, b0, 3), OT_OK);
    cr_assert_eq(ot_model_get_layer_weights(m, 1, k1, 6, b1, 2), OT_OK);
    cr_assert(memcmp(all, k0, sizeof k0) == 0 && memcmp(all + 12, b0, sizeof b0) == 0 &&
              memcmp(all + 15, k1, sizeof k1) == 0 && memcmp(all + 21, b1, sizeof b1) == 0);
    for (int i = 0; i < 6; i++)
        k1[i] = (float)i;
    b1[0] = 0.5f;
    b1[1] = -0.5f;
    cr_assert_eq(ot_model_set_layer_weights(m, 1, k1, 6, b1, 2), OT_OK);
    cr_assert_eq(ot_model_get_weights(m, all, P), OT_OK);
    cr_assert(memcmp(all + 15, k1, sizeof k1) == 0 && all[21] == 0.5f && all[22] == -0.5f);
    cr_assert(memcmp(all, k0, sizeof k0) == 0, "layer 0 changed");
    cr_assert_eq(ot_model_get_layer_weights(m, 2, k1, 6, b1, 2), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_get_layer_weights(m, 1, k1, 5, b1, 2), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "2 x 3 kernel") != NULL, "%s", ot_last_error());
    k1[3] = NAN;
    cr_assert_eq(ot_model_set_layer_weights(m, 1, k1, 6, b1, 2), OT_NON_FINITE);
    cr_assert_eq(ot_model_get_layer_weights(NULL, 0, k0, 12, b0, 3), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_get_layer_weights(m, 0, NULL, 12, b0, 3), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_set_layer_weights(m, 0, k0, 12, NULL, 3), OT_INVALID_ARGUMENT);
    ot_model_destroy(m);
}

/* A model, its optimizer state or a fit that needs more than the memory
 * limit (or the machine) is refused before it is allocated, saying how much
 * it needs; ot_layers_fit_memory says so before anything is built. */
Test(model, runs_too_large_for_the_memory_are_refused_before_allocating)
{
    const ot_layer layers[] = {OT_DENSE(512, OT_ACTIVATION_RELU),
                               OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    ot_optimizer_config sgd = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    ot_fit_config fc = ot_fit_config_default();
    fc.threads = 1;
    size_t need = 0;
    cr_assert_eq(ot_layers_fit_memory(784, layers, 2, &adam, 1000, &fc, &need), OT_OK, "%s",
                 ot_last_error());
    /* 407,050 weights: at least the weights, Adam's two slots and a copy of
     * the three, and a shard's gradient */
    cr_assert(need > 7 * 407050 * 4 && need < 20 * 407050 * 4, "%zu bytes", need);
    ot_set_memory_limit(2000000); /* the weights fit, not much more */
    cr_assert_eq(ot_layers_fit_memory(784, layers, 2, &adam, 1000, &fc, &need),
                 OT_OUT_OF_MEMORY);
    cr_assert(strstr(ot_last_error(), "fit: this run needs about") != NULL &&
              strstr(ot_last_error(), "the memory limit of 0.002 GB") != NULL, "%s",
              ot_last_error());
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 784, layers, 2, 1), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam),
                 OT_OUT_OF_MEMORY);
    cr_assert(strstr(ot_last_error(), "compile: the weights with the optimizer's state needs "
                     "about") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &sgd), OT_OK);
    ot_dataset *d = th_blobs(1000, 784, 10, 1);
    uint64_t before = ot__alloc_count();
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_OUT_OF_MEMORY);
    cr_assert(strstr(ot_last_error(), "fit: this run needs about") != NULL, "%s",
              ot_last_error());
    cr_assert_leq(ot__alloc_count() - before, 2, "the fit allocated before refusing");
    ot_model_destroy(m);
    ot_set_memory_limit(1000000); /* now not even the weights */
    cr_assert_eq(ot_model_create(&m, 784, layers, 2, 1), OT_OUT_OF_MEMORY);
    cr_assert(strstr(ot_last_error(), "model: its weights needs about 0.00163 GB") != NULL,
              "%s", ot_last_error());
    ot_set_memory_limit(0);
    ot_dataset_destroy(d);
}
