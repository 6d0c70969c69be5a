/*
 * test_fit.c - fit and its control between epochs (fit.c, fit_control.c):
 * the last partial batch, a batch larger than the data, callbacks, the
 * non-finite guards, resume to the same bits, early stopping, the best
 * model, checkpoints, scaling, and models that learn.
 */
#include "training.h"

#include <pthread.h>
#include <time.h>

Test(fit, last_partial_batch_is_trained)
{
    ot_dataset *d = th_blobs(10, 20, 4, 1);
    ot_model *m = small_model(1, OT_OPTIMIZER_SGD);
    counts c = {0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 4; /* 4 + 4 + 2 */
    fc.epochs = 2;
    fc.threads = 2;
    fc.shards = 3;
    fc.on_step = on_step;
    fc.on_epoch = on_epoch;
    fc.user = &c;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(c.last_steps, 3);
    cr_assert_eq(c.steps, 6);
    cr_assert_eq(c.epochs, 2);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* Weights after 2 epochs of small_model on 10 samples (8 to train on) in
 * batches of `batch`, and the steps the last epoch had. */
static float *weights_for_batch(size_t batch, size_t *count, size_t *steps)
{
    ot_dataset *d = th_blobs(10, 20, 4, 1);
    ot_model *m = small_model(3, OT_OPTIMIZER_ADAM);
    counts c = {0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = 2;
    fc.validation_split = 0.2;
    fc.threads = 2;
    fc.shards = 3;
    fc.on_step = on_step;
    fc.user = &c;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "batch %zu: %s", batch,
                 ot_last_error());
    *steps = c.last_steps;
    *count = ot_model_param_count(m);
    float *w = malloc(*count * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, w, *count), OT_OK);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    return w;
}

/* As in Keras, a batch larger than the training part is one batch of all of
 * it; buffers follow the rows, so an absurd batch allocates nothing absurd. */
Test(fit, batch_larger_than_the_data_is_one_batch_of_all_of_it)
{
    size_t n, steps;
    float *ref = weights_for_batch(8, &n, &steps);
    cr_assert_eq(steps, 1);
    const size_t batches[] = {9, 32, (size_t)1 << 40};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
        size_t n2, steps2;
        float *w = weights_for_batch(batches[i], &n2, &steps2);
        cr_assert_eq(steps2, 1, "batch %zu: %zu steps an epoch", batches[i], steps2);
        cr_assert(n == n2 && memcmp(ref, w, n * sizeof(float)) == 0,
                  "batch %zu trains otherwise than a batch of the 8 samples", batches[i]);
        free(w);
    }
    free(ref);
}

Test(fit, callback_stops_training)
{
    ot_dataset *d = th_blobs(100, 20, 4, 1);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    counts c = {0};
    c.stop_after = 5;
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 10;
    fc.epochs = 3;
    fc.on_step = on_step;
    fc.on_epoch = on_epoch;
    fc.user = &c;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK);
    cr_assert_eq(c.steps, 5);
    cr_assert_eq(c.epochs, 0);
    cr_assert_eq(ot_history_length(h), 0);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* A diverging run on model m (SGD at a rate of 1e30) with `shards`. */
static void non_finite_loss_stops(ot_model *m, size_t shards)
{
    ot_dataset *d = th_blobs(64, 20, 4, 1);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    oc.learning_rate = 1e30f; /* diverges within a few steps */
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 8;
    fc.epochs = 50;
    fc.shards = shards;
    ot_status st = fit_forced(m, d, &fc, NULL);
    cr_assert_eq(st, OT_NON_FINITE, "status %s", ot_status_str(st));
    cr_assert(strstr(ot_last_error(), "epoch") && strstr(ot_last_error(), "step"),
              "%s", ot_last_error());
    size_t P = ot_model_param_count(m);
    float *w = malloc(P * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, w, P), OT_OK);
    for (size_t i = 0; i < P; i++)
        cr_assert(!isnan(w[i]), "param %zu is NaN", i);
    free(w);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, non_finite_loss_stops_and_keeps_last_good_weights)
{
    non_finite_loss_stops(small_model(1, OT_OPTIMIZER_SGD), 0);
}

Test(fit, learns_xor)
{
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const int32_t y[] = {0, 1, 1, 0};
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create(&d, 4, 2, x, y), OT_OK);
    ot_layer l[] = {OT_DENSE(8, OT_ACTIVATION_RELU), OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 2, l, 2, 42), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.learning_rate = 0.05f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 4;
    fc.epochs = 300;
    fc.threads = 2;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &loss, &acc), OT_OK);
    cr_assert_eq(acc, 1.0, "XOR accuracy %g (loss %g)", acc, loss);
    float p[8];
    cr_assert_eq(ot_model_predict(m, x, 4, p, 8, NULL), OT_OK);
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(p[2 * i] + p[2 * i + 1], 1.0f, 1e-5f);
        cr_assert_gt(p[2 * i + y[i]], 0.9f, "sample %d: p = %g", i, (double)p[2 * i + y[i]]);
    }
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, history_csv)
{
    ot_dataset *d = th_blobs(200, 20, 4, 1);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.validation_split = 0.25;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK);
    cr_assert_eq(ot_history_length(h), 2);
    const ot_epoch_metrics *e = ot_history_epoch(h, 1);
    cr_assert(e && e->epoch == 2 && e->val_metric >= 0 && e->val_metric <= 1);
    cr_assert(e->samples_per_second > 0 && e->seconds > 0);
    cr_assert_null(ot_history_epoch(h, 2));
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.csv", dir);
    cr_assert_eq(ot_history_write_csv(h, path), OT_OK);
    unsigned char buf[4096];
    size_t n = th_read(path, buf, sizeof buf - 1);
    buf[n] = 0;
    const char *header = "epoch,loss,accuracy,val_loss,val_accuracy,seconds,"
                         "samples_per_second,comm_seconds,threads\n1,";
    cr_assert(strncmp((char *)buf, header, strlen(header)) == 0, "%s", buf);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    cr_assert_eq(lines, 3);
    /* each value in the fewest digits that read back as it: the validation
     * accuracy of 50 rows is a multiple of 0.02, two digits at most */
    const ot_epoch_metrics *e1 = ot_history_epoch(h, 0);
    char *row1 = strchr((char *)buf, '\n') + 1, *f = row1;
    for (int i = 0; i < 4; i++)
        f = strchr(f, ',') + 1;
    cr_assert_eq(strtod(f, NULL), e1->val_metric, "%s", row1);
    cr_assert(strchr(f, ',') - f <= 4, "val_accuracy printed as '%.*s'",
              (int)(strchr(f, ',') - f), f);
    f = strchr(row1, ',') + 1;
    cr_assert_eq(strtod(f, NULL), e1->loss, "%s", row1);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* ---- the workflow: resume, early stopping, best model, scaling ---- */

static ot_fit_config workflow_config(void)
{
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 32;
    fc.validation_split = 0.25;
    fc.threads = 2;
    fc.shards = 3;
    fc.seed = 17;
    return fc;
}

Test(fit, resume_ends_bit_identical_to_an_uninterrupted_run)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/half.otm", dir);
    ot_dataset *d = th_blobs(400, 20, 4, 5);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.schedule.kind = OT_SCHEDULE_EXPONENTIAL;
    oc.schedule.decay_steps = 7;
    oc.schedule.decay_rate = 0.9;
    ot_fit_config fc = workflow_config();
    fc.scaling = OT_SCALING_STANDARD;

    ot_model *a = small_model(3, OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(a, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    fc.epochs = 4;
    cr_assert_eq(fit_forced(a, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_epochs_trained(a), 4);

    ot_model *b = small_model(3, OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(b, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    fc.epochs = 2;
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_OK);
    cr_assert_eq(ot_model_save(b, path), OT_OK);
    ot_model_destroy(b);
    b = NULL;
    cr_assert_eq(ot_model_load(&b, path), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_epochs_trained(b), 2);
    fc.epochs = 2; /* two more after the model's own, as a second fit in Keras */
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(b, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 2);
    cr_assert_eq(ot_history_epoch(h, 0)->epoch, 3);

    cr_assert(same_weights(a, b), "2 epochs + resume + 2 epochs differ from 4 epochs");
    fc.initial_epoch = 4; /* up to epoch 2 from epoch 4 */
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "nothing to train") != NULL);
    ot_history_destroy(h);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

Test(fit, early_stopping_restores_the_best_epoch)
{
    ot_dataset *d = th_blobs(300, 20, 4, 2);
    ot_fit_config fc = workflow_config();
    /* epoch 1 always improves on +inf; with a huge min_delta nothing after */
    fc.epochs = 10;
    fc.early_stopping.enabled = 1;
    fc.early_stopping.monitor = OT_MONITOR_VAL_LOSS;
    fc.early_stopping.patience = 2;
    fc.early_stopping.min_delta = 1e9;
    ot_model *m = small_model(8, OT_OPTIMIZER_ADAM);
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 3, "stopped after %zu epochs", ot_history_length(h));
    cr_assert_eq(ot_history_best_epoch(h), 1);

    ot_model *one = small_model(8, OT_OPTIMIZER_ADAM);
    ot_fit_config f1 = workflow_config();
    f1.epochs = 1;
    cr_assert_eq(fit_forced(one, d, &f1, NULL), OT_OK);
    cr_assert(same_weights(m, one), "the restored weights are not those of epoch 1");
    ot_history_destroy(h);
    ot_model_destroy(one);

    /* monitoring a validation value needs validation data */
    fc.validation_split = 0.0;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "no validation data") != NULL, "%s", ot_last_error());
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, best_model_is_saved_when_the_monitor_improves)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/best.otm", dir);
    ot_dataset *d = th_blobs(300, 20, 4, 4);
    ot_fit_config fc = workflow_config();
    fc.epochs = 6;
    fc.best_model_path = path;
    fc.best_monitor = OT_MONITOR_VAL_METRIC; /* accuracy: higher is better */
    ot_model *m = small_model(2, OT_OPTIMIZER_SGD);
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    size_t best = 0;
    double best_v = -1;
    for (size_t i = 0; i < ot_history_length(h); i++)
        if (ot_history_epoch(h, i)->val_metric > best_v) {
            best_v = ot_history_epoch(h, i)->val_metric;
            best = ot_history_epoch(h, i)->epoch;
        }
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_epochs_trained(k), best, "saved epoch %zu, best %zu",
                 ot_model_epochs_trained(k), best);
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(k, d, NULL, &loss, &acc), OT_OK);
    ot_history_destroy(h);
    ot_model_destroy(k);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, scaling_is_fitted_on_the_training_part_and_kept)
{
    /* features far from zero: standard scaling makes them learnable */
    ot_dataset *raw = th_blobs(200, 20, 4, 6);
    float *x = malloc(200 * 20 * sizeof(float));
    int32_t y[200];
    for (size_t i = 0; i < 200 * 20; i++)
        x[i] = 1000.0f + 50.0f * raw->x[i];
    for (size_t i = 0; i < 200; i++)
        y[i] = raw->y[i];
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create(&d, 200, 20, x, y), OT_OK);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    ot_fit_config fc = workflow_config();
    fc.epochs = 30;
    fc.scaling = OT_SCALING_STANDARD;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK);
    cr_assert_eq(ot_model_scaling(m), OT_SCALING_STANDARD);
    /* the statistics come from the 150 training rows only */
    cr_assert(fabsf(m->shift[0] - 1000.0f) < 30.0f && m->mult[0] > 0.01f);
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/s.otm", dir);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK);
    float p1[8], p2[8];
    cr_assert_eq(ot_model_predict(m, x, 2, p1, 8, NULL), OT_OK);
    cr_assert_eq(ot_model_predict(k, x, 2, p2, 8, NULL), OT_OK);
    cr_assert(memcmp(p1, p2, sizeof p1) == 0, "the loaded model predicts differently");
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(k, d, NULL, &loss, &acc), OT_OK);
    cr_assert_gt(acc, 0.9, "accuracy %g with scaling", acc);
    free(x);
    ot_model_destroy(m);
    ot_model_destroy(k);
    ot_dataset_destroy(d);
    ot_dataset_destroy(raw);
}

Test(fit, regression_learns)
{
    /* y0 = x0 + 2 x1 - x2, y1 = sin(x3): two targets, mse, linear output */
    enum { R = 512 };
    float *x = malloc(R * 4 * sizeof(float)), *t = malloc(R * 2 * sizeof(float));
    for (size_t i = 0; i < R; i++) {
        for (size_t j = 0; j < 4; j++)
            x[i * 4 + j] = (float)sin(0.7 * (double)(i * 4 + j) + (double)j);
        t[i * 2] = x[i * 4] + 2 * x[i * 4 + 1] - x[i * 4 + 2];
        t[i * 2 + 1] = sinf(x[i * 4 + 3]);
    }
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, R, 4, x, 2, t), OT_OK);
    ot_layer l[] = {OT_DENSE(32, OT_ACTIVATION_TANH), OT_DENSE(2, OT_ACTIVATION_LINEAR)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 4, l, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.learning_rate = 0.01f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 60;
    fc.validation_split = 0.2;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_str_eq(ot_history_metric_name(h), "mae");
    const ot_epoch_metrics *e = ot_history_epoch(h, 59);
    cr_assert_lt(e->val_metric, 0.1, "val mae %g", e->val_metric);
    cr_assert_lt(e->val_loss, 0.02, "val mse %g", e->val_loss);
    double mse, mae;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &mse, &mae), OT_OK);
    cr_assert_lt(mae, 0.1);
    free(x);
    free(t);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, multilabel_binary_crossentropy_learns)
{
    /* label k of a sample is on when feature k is positive */
    enum { R = 400 };
    float *x = malloc(R * 6 * sizeof(float)), *t = malloc(R * 3 * sizeof(float));
    for (size_t i = 0; i < R; i++) {
        for (size_t j = 0; j < 6; j++)
            x[i * 6 + j] = (float)sin(1.3 * (double)(i * 6 + j));
        for (size_t k = 0; k < 3; k++)
            t[i * 3 + k] = x[i * 6 + k] > 0 ? 1.0f : 0.0f;
    }
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, R, 6, x, 3, t), OT_OK);
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SIGMOID)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 6, l, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.learning_rate = 0.01f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_BINARY_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 40;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &loss, &acc), OT_OK);
    cr_assert_gt(acc, 0.95, "binary accuracy %g", acc);
    float p[6];
    cr_assert_eq(ot_model_predict(m, x, 2, p, 6, NULL), OT_OK);
    for (int j = 0; j < 6; j++)
        cr_assert(p[j] >= 0.0f && p[j] <= 1.0f, "predict gives probabilities");
    free(x);
    free(t);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, categorical_with_one_hot_matches_sparse)
{
    ot_dataset *d = th_blobs(256, 20, 4, 7);
    float *onehot = malloc(256 * 4 * sizeof(float));
    cr_assert_eq(ot_to_categorical(d->y, 256, 4, onehot), OT_OK);
    ot_dataset *dh = NULL;
    cr_assert_eq(ot_dataset_create_targets(&dh, 256, 20, d->x, 4, onehot), OT_OK);
    ot_model *a = small_model(5, OT_OPTIMIZER_SGD), *b = small_model(5, OT_OPTIMIZER_SGD);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(b, OT_LOSS_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    cr_assert_eq(ot_model_compile(a, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    cr_assert_eq(fit_forced(a, d, &fc, NULL), OT_OK);
    cr_assert_eq(fit_forced(b, dh, &fc, NULL), OT_OK, "%s", ot_last_error());
    float *wa, *wb;
    size_t n;
    weights_of(a, &wa, &n);
    weights_of(b, &wb, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(wa[i] - wb[i]) <= 1e-5f * (1 + fabsf(wa[i])), "param %zu", i);
    /* sparse needs labels */
    cr_assert_eq(fit_forced(a, dh, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "needs integer labels") != NULL);
    int32_t bad[2] = {0, 4};
    cr_assert_eq(ot_to_categorical(bad, 2, 4, onehot), OT_INVALID_ARGUMENT);
    free(wa);
    free(wb);
    free(onehot);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
    ot_dataset_destroy(dh);
}

Test(fit, periodic_checkpoints_and_a_stop_inside_an_epoch)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ck.otm", dir);
    ot_dataset *d = th_blobs(320, 20, 4, 9);
    ot_fit_config fc = workflow_config();
    fc.epochs = 5;
    fc.checkpoint_path = path;
    fc.checkpoint_every = 2;
    ot_model *full = small_model(4, OT_OPTIMIZER_ADAM);
    cr_assert_eq(fit_forced(full, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK);
    cr_assert_eq(ot_model_epochs_trained(k), 4);
    ot_model_destroy(k);

    /* stopped by a callback after step 5 of epoch 2, saved, loaded, resumed */
    ot_model *m = small_model(4, OT_OPTIMIZER_ADAM);
    counts c = {0};
    c.stop_after = 8 + 5; /* 8 steps an epoch: 240 training rows / 32 */
    fc.checkpoint_path = NULL;
    fc.on_step = on_step;
    fc.user = &c;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK);
    cr_assert_eq(ot_model_epochs_trained(m), 1);
    cr_assert_eq(ot_model_steps_in_epoch(m), 5);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    ot_model_destroy(m);
    m = NULL;
    cr_assert_eq(ot_model_load(&m, path), OT_OK);
    cr_assert_eq(ot_model_steps_in_epoch(m), 5);
    ot_fit_config rc = ot_model_resume_config(m);
    cr_assert(rc.batch_size == 32 && rc.shards == 3 && rc.seed == 17 && rc.epochs == 5 &&
              rc.validation_split == 0.25 && rc.shuffle == 1);
    rc.threads = 1;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &rc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 4); /* epochs 2 (from step 6) to 5 */
    cr_assert(same_weights(full, m), "stopped inside an epoch and resumed: the weights "
              "differ from the run never stopped");
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_model_destroy(full);
    ot_dataset_destroy(d);
}

/* mse on targets of 1e15: a finite loss (~1e30) and gradient (~1e15),
 * but with a learning rate of 1e30 the first update overflows; hidden:
 * the units of the linear hidden layer. */
static void non_finite_weights_fall_back(size_t hidden, size_t shards)
{
    enum { R = 64 };
    float x[R * 4], t[R];
    for (size_t i = 0; i < R * 4; i++)
        x[i] = (float)sin((double)i);
    for (size_t i = 0; i < R; i++)
        t[i] = 1e15f;
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, R, 4, x, 1, t), OT_OK);
    ot_layer l[] = {OT_DENSE(hidden, OT_ACTIVATION_LINEAR), OT_DENSE(1, OT_ACTIVATION_LINEAR)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 4, l, 2, 1), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    oc.learning_rate = 1e30f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    float *before, *after;
    size_t n;
    weights_of(m, &before, &n);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 16;
    fc.epochs = 3;
    fc.shards = shards;
    ot_status st = fit_forced(m, d, &fc, NULL);
    cr_assert_eq(st, OT_NON_FINITE, "%s: %s", ot_status_str(st), ot_last_error());
    cr_assert(strstr(ot_last_error(), "epoch 1, step 1: the update made weights non-finite"),
              "%s", ot_last_error());
    weights_of(m, &after, &n);
    cr_assert(memcmp(before, after, n * sizeof(float)) == 0,
              "the weights of the start of the epoch were not restored");
    free(before);
    free(after);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(fit, non_finite_weights_fall_back_to_the_epoch_start)
{
    non_finite_weights_fall_back(8, 0);
}

Test(fit, unit_split_stop_inside_an_epoch_and_go_on)
{
    /* rows gathered ahead for the next step are not kept across fits: a
     * fit stopped after step 4 of epoch 2 and continued ends on the same
     * bits as one that ran through */
    forced.cut = 1;
    ot_dataset *d = th_blobs(613, 20, 4, 3);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 50;
    fc.epochs = 3;
    fc.threads = 2;
    fc.shards = 4;
    ot_model *a = wide_model(4, OT_OPTIMIZER_ADAM);
    cr_assert_eq(fit_forced(a, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    ot_model *b = wide_model(4, OT_OPTIMIZER_ADAM);
    counts c = {0};
    c.stop_after = 13 + 4; /* 13 steps an epoch */
    fc.on_step = on_step;
    fc.user = &c;
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_OK);
    cr_assert_eq(c.steps, 17);
    fc.on_step = NULL;
    fc.initial_epoch = ot_model_epochs_trained(b); /* up to epoch 3, from step 5 of 2 */
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert(same_weights(a, b), "stopped and continued differs from one run");
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

Test(fit, unit_split_non_finite_loss_stops)
{
    forced.cut = 1;
    ot_model *m = wide_model(1, OT_OPTIMIZER_SGD);
    cr_assert(ot__usplit_applies(m, 8, 2, forced.cut));
    non_finite_loss_stops(m, 2);
}

Test(fit, unit_split_non_finite_weights_fall_back_to_the_epoch_start)
{
    /* 32 hidden units: two blocks, each thread finds its own overflow */
    forced.cut = 1;
    non_finite_weights_fall_back(32, 2);
}

/* The weights of the wide model trained with categorical cross-entropy on
 * labels, validated on one-hot float rows: the run holds float targets
 * that its training rows do not have. mode: ot__usplit_force's. */
static float *labels_with_target_validation(int mode, size_t *n)
{
    ot_dataset *d = th_blobs(300, 20, 4, 3), *v = th_blobs(100, 20, 4, 7), *vt = NULL;
    float onehot[100 * 4];
    cr_assert_eq(ot_to_categorical(v->y, 100, 4, onehot), OT_OK);
    cr_assert_eq(ot_dataset_create_targets(&vt, 100, 20, v->x, 4, onehot), OT_OK);
    ot_layer l[] = {OT_DENSE(64, OT_ACTIVATION_RELU), OT_DENSE(48, OT_ACTIVATION_TANH),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 20, l, 3, 2), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    forced.cut = mode;
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 16;
    fc.epochs = 2;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_data = vt;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    forced.cut = 0;
    float *w;
    weights_of(m, &w, n);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    ot_dataset_destroy(v);
    ot_dataset_destroy(vt);
    return w;
}

Test(fit, unit_split_labels_with_float_validation_targets)
{
    size_t n;
    float *rows = labels_with_target_validation(-1, &n);
    float *units = labels_with_target_validation(1, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(rows[i] - units[i]) <= 1e-4f * (1.0f + fabsf(rows[i])),
                  "param %zu: %.9g by rows, %.9g by units", i, (double)rows[i],
                  (double)units[i]);
    free(rows);
    free(units);
}

/* Two models alike: 8 inputs, 16 relu, 3 softmax, adam, seed 3. */
static void twins(ot_model **a, ot_model **b)
{
    const ot_layer layers[] = {OT_DENSE(16, OT_ACTIVATION_RELU),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    ot_model **m[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ot_model_create(m[i], 8, layers, 2, 3), OT_OK);
        cr_assert_eq(ot_model_compile(*m[i], OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam),
                     OT_OK);
    }
}

/* A trained model keeps its shard count: continued with shards = 0 on
 * another thread count (another machine), it ends on the weights of the run
 * never interrupted, not on those of the new thread count's shards. */
Test(fit, a_trained_model_keeps_its_shard_count)
{
    ot_dataset *d = th_blobs(400, 8, 3, 11);
    ot_model *a = NULL, *b = NULL;
    twins(&a, &b);
    ot_fit_config c = ot_fit_config_default();
    c.batch_size = 50;
    c.epochs = 3;
    c.threads = 1;
    c.shards = 4; /* the uninterrupted run */
    cr_assert_eq(ot_model_fit(a, d, &c, NULL), OT_OK);
    c.epochs = 1;
    c.threads = 2;
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_OK);
    c.epochs = 2; /* two more */
    c.threads = 1;
    c.shards = 0; /* would be 1, the thread count, for a model never trained */
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_OK);
    cr_assert(same_weights(a, b), "continued with other shards");
    cr_assert_eq(ot_model_resume_config(b).shards, 4u);
    c.batch_size = 2; /* fewer rows than the model's 4 shards: said so */
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "4 shards (the model's own") != NULL, "%s",
              ot_last_error());
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

/* The Keras habit: each fit trains `epochs` more. Three fits of one epoch
 * are one fit of three, bit for bit, numbered 1, 2, 3. */
Test(fit, a_second_fit_trains_more_as_in_keras)
{
    ot_dataset *d = th_blobs(300, 8, 3, 5);
    ot_model *a = NULL, *b = NULL;
    twins(&a, &b);
    ot_fit_config c = ot_fit_config_default();
    c.threads = 1;
    c.epochs = 3;
    cr_assert_eq(ot_model_fit(a, d, &c, NULL), OT_OK);
    c.epochs = 1;
    for (size_t k = 1; k <= 3; k++) {
        ot_history *h = NULL;
        cr_assert_eq(ot_model_fit(b, d, &c, &h), OT_OK, "%s", ot_last_error());
        cr_assert_eq(ot_history_length(h), 1u);
        cr_assert_eq(ot_history_epoch(h, 0)->epoch, k);
        cr_assert_eq(ot_model_epochs_trained(b), k);
        ot_history_destroy(h);
    }
    cr_assert(same_weights(a, b), "3 fits of 1 epoch differ from 1 of 3");
    /* initial_epoch keeps Keras' other meaning: up to epoch `epochs` */
    c.initial_epoch = 3;
    c.epochs = 3;
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_INVALID_ARGUMENT);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

/* ot_model_cancel, from a callback and from another thread: the fit
 * returns OT_CANCELLED after the current step, the model knows where, and
 * ot_model_resume_config ends on the weights of the run never cancelled. */
typedef struct canceller {
    ot_model *m;
    size_t at;
    uint64_t last_step;
    double last_lr;
} canceller;

static int cancel_at(const ot_step_metrics *s, void *user)
{
    canceller *c = user;
    c->last_step = s->global_step;
    c->last_lr = s->learning_rate;
    if (s->global_step == c->at)
        cr_assert_eq(ot_model_cancel(c->m), OT_OK);
    return 0;
}

static void *cancel_soon(void *m)
{
    struct timespec t = {0, 20 * 1000 * 1000};
    nanosleep(&t, NULL);
    ot_model_cancel(m);
    return NULL;
}

Test(fit, cancel_stops_after_the_step_and_resumes_exactly)
{
    ot_dataset *d = th_blobs(400, 8, 3, 9);
    ot_model *a = NULL, *b = NULL;
    twins(&a, &b);
    ot_fit_config c = ot_fit_config_default();
    c.batch_size = 40; /* 10 steps an epoch */
    c.epochs = 3;
    c.threads = 2;
    c.shards = 2;
    cr_assert_eq(ot_model_fit(a, d, &c, NULL), OT_OK);
    canceller k = {b, 14, 0, 0.0};
    c.on_step = cancel_at;
    c.user = &k;
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_CANCELLED);
    cr_assert(strstr(ot_last_error(), "cancelled after step 4 of epoch 2") != NULL, "%s",
              ot_last_error());
    cr_assert_eq(k.last_step, 14u);
    cr_assert_float_eq(k.last_lr, 0.001, 1e-9);
    cr_assert_eq(ot_model_epochs_trained(b), 1u);
    cr_assert_eq(ot_model_steps_in_epoch(b), 4u);
    ot_fit_config r = ot_model_resume_config(b);
    r.threads = 1;
    cr_assert_eq(ot_model_fit(b, d, &r, NULL), OT_OK, "%s", ot_last_error());
    cr_assert(same_weights(a, b), "cancelled and resumed differs");

    /* from another thread, during a long fit */
    c.on_step = NULL;
    c.epochs = 100000;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, cancel_soon, b), 0);
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_CANCELLED);
    pthread_join(t, NULL);
    cr_assert_lt(ot_model_epochs_trained(b), 100000u);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

/* A callback lowers the learning rate (ReduceLROnPlateau's way): the steps
 * after it use the new rate, as a fit that set it between epochs. */
static int halve_at_epoch_2(const ot_epoch_metrics *e, void *user)
{
    if (e->epoch == 2)
        cr_assert_eq(ot_model_set_learning_rate(user, 0.0005f), OT_OK);
    return 0;
}

Test(fit, a_callback_changes_the_learning_rate)
{
    ot_dataset *d = th_blobs(300, 8, 3, 4);
    ot_model *a = NULL, *b = NULL;
    twins(&a, &b);
    ot_fit_config c = ot_fit_config_default();
    c.threads = 1;
    c.epochs = 3;
    c.on_epoch = halve_at_epoch_2;
    c.user = a;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(a, d, &c, &h), OT_OK);
    cr_assert_float_eq(ot_history_epoch(h, 1)->learning_rate, 0.001, 1e-9);
    cr_assert_float_eq(ot_history_epoch(h, 2)->learning_rate, 0.0005, 1e-9);
    c.on_epoch = NULL;
    c.epochs = 2;
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_OK);
    cr_assert_eq(ot_model_set_learning_rate(b, 0.0005f), OT_OK);
    c.epochs = 1;
    cr_assert_eq(ot_model_fit(b, d, &c, NULL), OT_OK);
    cr_assert(same_weights(a, b));
    cr_assert_eq(ot_model_set_learning_rate(b, 0.0f), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_set_learning_rate(b, NAN), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_set_learning_rate(NULL, 0.1f), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_cancel(NULL), OT_INVALID_ARGUMENT);
    ot_history_destroy(h);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}
