/*
 * test_weights.c - Keras' class_weight and sample_weight in fit: weights of
 * 1 give the unweighted bits, a sample's weight is its class's when they
 * agree (steps cut by rows and by units, shuffled, split), weights of 2 are
 * SGD at twice the rate with every loss doubled, validation data is not
 * weighted, and bad weights are refused by name.
 */
#include "training.h"

/* The model file after 2 epochs (validation split 0.2, 2 shards) with
 * class weights w[n_w] and sample weights sw[n_sw]. */
static unsigned char *weighted_fit(const ot_dataset *d, const ot_layer *layers, size_t batch,
                                   const float *w, size_t n_w, const float *sw, size_t n_sw,
                                   size_t *len)
{
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, ot_dataset_dim(d), layers, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.batch_size = batch;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_split = 0.2;
    fc.class_weight = w;
    fc.class_weights = n_w;
    fc.sample_weight = sw;
    fc.sample_weights = n_sw;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    void *b = NULL;
    cr_assert_eq(ot_model_save_to_buffer(m, &b, len), OT_OK);
    ot_model_destroy(m);
    return b;
}

/* Keras' class_weight: weights of 1 give the unweighted bits (steps cut by
 * rows and by units), others another model; a fit that cannot take them is
 * refused by name. */
Test(weights, class_weights_of_one_change_nothing_and_bad_ones_are_refused)
{
    ot_dataset *d = th_blobs(240, 6, 3, 5);
    const float ones[3] = {1.0f, 1.0f, 1.0f}, heavy[3] = {1.0f, 5.0f, 0.5f};
    const ot_layer narrow[] = {OT_DENSE(8, OT_ACTIVATION_RELU),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    const ot_layer wide[] = {OT_DENSE(300, OT_ACTIVATION_RELU),
                             OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    const ot_layer *nets[2] = {narrow, wide};
    const size_t batches[2] = {32, 4}; /* rows, then units */
    for (int k = 0; k < 2; k++) {
        size_t l0, l1, l2;
        unsigned char *a = weighted_fit(d, nets[k], batches[k], NULL, 0, NULL, 0, &l0);
        unsigned char *b = weighted_fit(d, nets[k], batches[k], ones, 3, NULL, 0, &l1);
        unsigned char *c = weighted_fit(d, nets[k], batches[k], heavy, 3, NULL, 0, &l2);
        cr_assert(l0 == l1 && memcmp(a, b, l0) == 0, "case %d: weights of 1 changed the model",
                  k);
        cr_assert(l0 != l2 || memcmp(a, c, l0) != 0, "case %d: the weights did nothing", k);
        ot_buffer_free(a);
        ot_buffer_free(b);
        ot_buffer_free(c);
    }
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 6, narrow, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 1;
    fc.class_weight = heavy;
    fc.class_weights = 2;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "2 class weights for the model's 3 classes") != NULL, "%s",
              ot_last_error());
    const float bad[3] = {1.0f, -1.0f, 1.0f};
    fc.class_weight = bad;
    fc.class_weights = 3;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "class weight -1 of class 1") != NULL, "%s",
              ot_last_error());
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    fc.class_weight = heavy;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "class weights need a cross-entropy") != NULL, "%s",
              ot_last_error());
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* A sample's weight equal to its class's weight trains the same model, bit
 * for bit: the weights follow their rows through the split, every epoch's
 * shuffle and both cuts of a step; all ones are no weights. */
Test(weights, a_samples_weight_follows_its_row)
{
    ot_dataset *d = th_blobs(240, 6, 3, 5);
    const float ones3[3] = {1.0f, 1.0f, 1.0f}, heavy[3] = {1.0f, 5.0f, 0.5f};
    float sw[240], ones[240];
    int32_t y[240];
    cr_assert_eq(ot_dataset_labels(d, y, 240), OT_OK);
    for (size_t i = 0; i < 240; i++) {
        sw[i] = heavy[y[i]];
        ones[i] = 1.0f;
    }
    const ot_layer narrow[] = {OT_DENSE(8, OT_ACTIVATION_RELU),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    const ot_layer wide[] = {OT_DENSE(300, OT_ACTIVATION_RELU),
                             OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    const ot_layer *nets[2] = {narrow, wide};
    const size_t batches[2] = {32, 4}; /* rows, then units */
    for (int k = 0; k < 2; k++) {
        size_t l0, l1, l2, l3;
        unsigned char *a = weighted_fit(d, nets[k], batches[k], heavy, 3, NULL, 0, &l0);
        unsigned char *b = weighted_fit(d, nets[k], batches[k], NULL, 0, sw, 240, &l1);
        unsigned char *c = weighted_fit(d, nets[k], batches[k], NULL, 0, ones, 240, &l2);
        unsigned char *e = weighted_fit(d, nets[k], batches[k], ones3, 3, NULL, 0, &l3);
        cr_assert(l0 == l1 && memcmp(a, b, l0) == 0,
                  "case %d: sample weights of the classes' weights differ from class weights", k);
        cr_assert(l2 == l3 && memcmp(c, e, l2) == 0, "case %d: sample weights of 1 differ", k);
        cr_assert(l0 != l2 || memcmp(a, c, l0) != 0, "case %d: the weights did nothing", k);
        ot_buffer_free(a);
        ot_buffer_free(b);
        ot_buffer_free(c);
        ot_buffer_free(e);
    }
    ot_dataset_destroy(d);
}

/* 2 epochs of plain SGD at rate lr with every sample weighing w; the
 * history and the weights. */
static ot_history *sgd_fit(const ot_dataset *d, const ot_dataset *val, float lr, float w,
                           size_t batch, float **weights, size_t *n)
{
    const ot_layer l[] = {OT_DENSE(12, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, ot_dataset_dim(d), l, 2, 7), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    oc.learning_rate = lr;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    size_t N = ot_dataset_size(d);
    float *sw = malloc(N * sizeof *sw);
    for (size_t i = 0; i < N; i++)
        sw[i] = w;
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.batch_size = batch;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_split = val ? 0.0 : 0.25;
    fc.validation_data = val;
    fc.sample_weight = w != 1.0f ? sw : NULL;
    fc.sample_weights = w != 1.0f ? N : 0;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    *n = ot_model_param_count(m);
    *weights = malloc(*n * sizeof **weights);
    cr_assert_eq(ot_model_get_weights(m, *weights, *n), OT_OK);
    free(sw);
    ot_model_destroy(m);
    return h;
}

/* Every sample weighing 2 doubles each row's loss and gradient exactly: plain
 * SGD at rate lr is then SGD at 2 lr unweighted, weight for weight, with the
 * training loss doubled and, on a split of the same data, the validation
 * loss too (Keras splits sample_weight with x and y); on validation data,
 * the validation loss is not weighted; the metrics never are. Both cuts. */
Test(weights, weights_of_two_are_twice_the_rate)
{
    ot_dataset *d = th_blobs(200, 5, 3, 2), *v = th_blobs(60, 5, 3, 8);
    const size_t batches[2] = {25, 4};
    for (int k = 0; k < 2; k++)
        for (int with_val = 0; with_val < 2; with_val++) {
            const ot_dataset *val = with_val ? v : NULL;
            float *wa, *wb;
            size_t na, nb;
            ot_history *a = sgd_fit(d, val, 0.01f, 2.0f, batches[k], &wa, &na);
            ot_history *b = sgd_fit(d, val, 0.02f, 1.0f, batches[k], &wb, &nb);
            cr_assert(na == nb && memcmp(wa, wb, na * sizeof *wa) == 0,
                      "batch %zu: the weights differ", batches[k]);
            for (size_t e = 0; e < 2; e++) {
                const ot_epoch_metrics *x = ot_history_epoch(a, e), *y = ot_history_epoch(b, e);
                cr_assert_eq(x->loss, 2.0 * y->loss, "epoch %zu: %.17g, %.17g", e, x->loss,
                             y->loss);
                cr_assert_eq(x->val_loss, with_val ? y->val_loss : 2.0 * y->val_loss,
                             "epoch %zu: %.17g, %.17g", e, x->val_loss, y->val_loss);
                cr_assert_eq(x->metric, y->metric);
                cr_assert_eq(x->val_metric, y->val_metric);
            }
            free(wa), free(wb);
            ot_history_destroy(a);
            ot_history_destroy(b);
        }
    ot_dataset_destroy(d);
    ot_dataset_destroy(v);
}

Test(weights, bad_sample_weights_are_refused_by_name)
{
    ot_dataset *d = th_blobs(50, 4, 2, 1);
    const ot_layer l[] = {OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 4, l, 1, 1), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    float sw[50];
    for (int i = 0; i < 50; i++)
        sw[i] = 1.0f;
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 1;
    const struct { const float *w; size_t n; float bad_value; const char *says; } cases[] = {
        {sw, 49, 1.0f, "fit: training: 49 sample weights for 50 samples"},
        {NULL, 50, 1.0f, "fit: training: sample_weights 50 and no sample_weight"},
        {sw, 0, 1.0f, "0 sample weights for 50 samples"},
        {sw, 50, -0.5f, "sample weight -0.5 of sample 7"},
        {sw, 50, NAN, "sample weight nan of sample 7"},
        {sw, 50, INFINITY, "sample weight inf of sample 7"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sw[7] = cases[i].bad_value;
        fc.sample_weight = cases[i].w;
        fc.sample_weights = cases[i].n;
        cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT, "case %zu", i);
        cr_assert(strstr(ot_last_error(), cases[i].says) != NULL, "case %zu: %s", i,
                  ot_last_error());
    }
    cr_assert_eq(ot_model_epochs_trained(m), 0u);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* Keras' evaluate(x, y, sample_weight=w) and validation_data=(x, y, w): the
 * loss is the sum of each sample's loss times its weight over the samples,
 * the metrics are not weighted; a fit's weighted validation loss is what
 * evaluate gives for its model. */
Test(weights, evaluate_and_validation_data_weigh_as_keras)
{
    enum { NV = 45 };
    ot_dataset *d = th_blobs(150, 5, 3, 2), *v = th_blobs(NV, 5, 3, 8);
    const ot_layer l[] = {OT_DENSE(12, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 5, l, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    float vw[NV];
    for (size_t i = 0; i < NV; i++)
        vw[i] = (float)(i % 3) * 0.5f;
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_data = v;
    fc.validation_sample_weight = vw;
    fc.validation_sample_weights = NV;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    const ot_epoch_metrics *e = ot_history_epoch(h, 1);

    ot_eval_config ec = ot_eval_config_default();
    ec.shards = 2;
    double plain, weighted, acc_plain, acc_weighted;
    cr_assert_eq(ot_model_evaluate(m, v, &ec, &plain, &acc_plain), OT_OK);
    ec.sample_weight = vw;
    ec.sample_weights = NV;
    cr_assert_eq(ot_model_evaluate(m, v, &ec, &weighted, &acc_weighted), OT_OK);
    cr_assert_float_eq(weighted, e->val_loss, 1e-12, "evaluate %.17g, fit %.17g", weighted,
                       e->val_loss);
    cr_assert_eq(acc_weighted, acc_plain, "the metrics are not weighted");
    cr_assert_eq(acc_weighted, e->val_metric);
    /* against each sample's own loss */
    float x[5];
    int32_t y[NV];
    cr_assert_eq(ot_dataset_labels(v, y, NV), OT_OK);
    float *all = malloc(NV * 5 * sizeof *all);
    cr_assert_eq(ot_dataset_features(v, all, NV * 5), OT_OK);
    double want = 0.0;
    for (size_t i = 0; i < NV; i++) {
        ot_dataset *one = NULL;
        memcpy(x, all + i * 5, sizeof x);
        cr_assert_eq(ot_dataset_create(&one, 1, 5, x, &y[i]), OT_OK);
        double li;
        cr_assert_eq(ot_model_evaluate(m, one, NULL, &li, NULL), OT_OK);
        want += (double)vw[i] * li;
        ot_dataset_destroy(one);
    }
    want /= NV;
    cr_assert_float_eq(weighted, want, 1e-6 * want, "weighted %.9g, by sample %.9g", weighted,
                       want);
    cr_assert(fabs(weighted - plain) > 1e-3 * plain, "the weights did nothing");
    free(all);

    /* refused by name */
    ec.sample_weights = NV - 1;
    cr_assert_eq(ot_model_evaluate(m, v, &ec, &weighted, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "evaluate: 44 sample weights for 45 samples") != NULL,
              "%s", ot_last_error());
    fc.validation_sample_weights = NV + 1;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "fit: validation: 46 sample weights for 45 samples") !=
              NULL, "%s", ot_last_error());
    fc.validation_sample_weights = NV;
    vw[3] = NAN;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "sample weight nan of sample 3") != NULL, "%s",
              ot_last_error());
    vw[3] = 1.0f;
    fc.validation_data = NULL;
    fc.validation_split = 0.2;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "validation sample weights and no validation_data") !=
              NULL, "%s", ot_last_error());
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    ot_dataset_destroy(v);
}
