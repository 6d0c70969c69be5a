/*
 * test_metrics.c - the metrics a model reports with its loss (metrics.c):
 * names, each formula on a batch against double precision, Keras' choice
 * of "accuracy", the list a model keeps (set, saved, loaded, resumed), fit
 * and evaluate reporting every metric alike, and the monitors that watch
 * one of them.
 */
#include "training.h"
#include "src/metrics.h"

TestSuite(metrics, .timeout = 120);

Test(metrics, names_aliases_and_bad_names)
{
    for (int i = 0; i <= OT_METRIC_MAPE; i++) {
        ot_metric m;
        const char *name = ot_metric_name((ot_metric)i);
        cr_assert(name != NULL);
        cr_assert_eq(ot_metric_parse(name, &m), OT_OK);
        cr_assert_eq(m, (ot_metric)i);
        cr_assert_eq(ot_metric_higher_is_better(m), strstr(name, "accuracy") != NULL);
    }
    cr_assert_null(ot_metric_name((ot_metric)(OT_METRIC_MAPE + 1)));
    cr_assert_null(ot_metric_name((ot_metric)-1));
    const struct { const char *alias; ot_metric m; } aliases[] = {
        {"acc", OT_METRIC_ACCURACY}, {"mean_absolute_error", OT_METRIC_MAE},
        {"mean_squared_error", OT_METRIC_MSE}, {"root_mean_squared_error", OT_METRIC_RMSE},
        {"mean_absolute_percentage_error", OT_METRIC_MAPE}, {"MSE", OT_METRIC_MSE}};
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
        ot_metric m;
        cr_assert_eq(ot_metric_parse(aliases[i].alias, &m), OT_OK, "%s", aliases[i].alias);
        cr_assert_eq(m, aliases[i].m);
    }
    ot_metric m;
    cr_assert_eq(ot_metric_parse("f1", &m), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "unknown metric 'f1'") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_metric_parse(NULL, &m), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_metric_parse("mae", NULL), OT_INVALID_ARGUMENT);
}

/* The sum over b's rows of metric m, pending the activation `act`. */
static double metric_sum(ot_metric m, ot_loss loss, ot_activation act, const ot__loss_batch *b)
{
    ot__metric_list list = {1, {m}};
    ot__sums s = {{0.0}};
    ot__metrics_over(&list, loss, act, b, &s);
    cr_assert_eq(s.v[0], 0.0, "a metric leaves the loss's sum alone");
    return s.v[1];
}

enum { R = 3, C = 4 };

/* Row r's outputs in double: the logits through the activation. */
static void probs(const float *z, ot_activation act, double *p)
{
    double max = z[0], sum = 0.0;
    for (int j = 1; j < C; j++)
        max = z[j] > max ? z[j] : max;
    for (int j = 0; j < C; j++)
        sum += exp(z[j] - max);
    for (int j = 0; j < C; j++)
        p[j] = act == OT_ACTIVATION_SOFTMAX   ? exp(z[j] - max) / sum
               : act == OT_ACTIVATION_SIGMOID ? 1.0 / (1.0 + exp(-(double)z[j]))
                                              : z[j];
}

Test(metrics, each_formula_on_a_batch_against_double)
{
    const float out[R * C] = {0.9f, 0.2f, 0.7f, -1.5f, /* largest: 0 */
                              0.1f, 0.3f, 0.3f, 0.2f,  /* largest: 1 (first of equals) */
                              -2.0f, 4.0f, 0.0f, 3.5f};
    const float t[R * C] = {1, 0, 0, 0, 0, 0, 1, 0, 0.2f, 0.7f, 0.1f, 2.0f};
    /* true classes by the targets' largest entry: 0, 2, 3 */
    const ot_activation acts[] = {OT_ACTIVATION_LINEAR, OT_ACTIVATION_SOFTMAX,
                                  OT_ACTIVATION_SIGMOID};
    for (size_t a = 0; a < 3; a++) {
        ot__loss_batch b = {out, NULL, t, R, C, NULL, NULL};
        double mae = 0, mse = 0, mape = 0, bin = 0;
        for (int r = 0; r < R; r++) {
            double p[C], e_abs = 0, e_sq = 0, e_pct = 0, hits = 0;
            probs(out + r * C, acts[a], p);
            for (int j = 0; j < C; j++) {
                double e = p[j] - t[r * C + j];
                e_abs += fabs(e);
                e_sq += e * e;
                e_pct += 100.0 * fabs(e) / fmax(fabs(t[r * C + j]), 1e-7);
                hits += (p[j] > 0.5 ? 1.0 : 0.0) == t[r * C + j];
            }
            mae += e_abs / C, mse += e_sq / C, mape += e_pct / C, bin += hits / C;
        }
        const ot_loss mse_loss = OT_LOSS_MSE;
        cr_expect_float_eq(metric_sum(OT_METRIC_MAE, mse_loss, acts[a], &b), mae, 1e-6);
        cr_expect_float_eq(metric_sum(OT_METRIC_MSE, mse_loss, acts[a], &b), mse, 1e-6);
        cr_expect_float_eq(metric_sum(OT_METRIC_RMSE, mse_loss, acts[a], &b), mse, 1e-6,
                           "rmse sums the squared errors; the root is taken when reported");
        cr_expect_float_eq(metric_sum(OT_METRIC_MAPE, mse_loss, acts[a], &b), mape,
                           1e-6 * mape);
        cr_expect_eq(metric_sum(OT_METRIC_BINARY_ACCURACY, mse_loss, acts[a], &b), bin);
        /* the classes do not depend on a monotonic activation */
        cr_expect_eq(metric_sum(OT_METRIC_CATEGORICAL_ACCURACY, mse_loss, acts[a], &b), 1.0,
                     "row 0 only");
        cr_expect_eq(metric_sum(OT_METRIC_SPARSE_CATEGORICAL_ACCURACY, mse_loss, acts[a], &b),
                     1.0);
        cr_expect_eq(metric_sum(OT_METRIC_TOP_K_CATEGORICAL_ACCURACY, mse_loss, acts[a], &b),
                     3.0, "4 outputs: every class is in the top 5");
    }
    cr_expect_float_eq(ot__metric_value(OT_METRIC_RMSE, 8.0, 2.0), 2.0, 1e-15);
    cr_expect_float_eq(ot__metric_value(OT_METRIC_MSE, 8.0, 2.0), 4.0, 1e-15);
}

Test(metrics, labels_top_k_and_keras_accuracy)
{
    /* 7 outputs; row 0's class 5 has 5 larger outputs, row 1's class 1 has 4 */
    const float out[2 * 7] = {6, 5, 4, 3, 2, 1.5f, 1, 0.5f, 3.5f, 7, 6, 5, 4, 3};
    const int32_t y[2] = {5, 1};
    ot__loss_batch b = {out, y, NULL, 2, 7, NULL, NULL};
    ot_activation lin = OT_ACTIVATION_LINEAR;
    cr_expect_eq(metric_sum(OT_METRIC_TOP_K_CATEGORICAL_ACCURACY, OT_LOSS_MSE, lin, &b), 1.0);
    cr_expect_eq(metric_sum(OT_METRIC_CATEGORICAL_ACCURACY, OT_LOSS_MSE, lin, &b), 0.0);
    /* accuracy: categorical for many outputs, binary with binary
     * cross-entropy or one output */
    const float z[2 * 2] = {2.0f, -1.0f, -3.0f, 0.5f};
    const float tb[2 * 2] = {0, 0, 0, 1};
    ot__loss_batch two = {z, NULL, tb, 2, 2, NULL, NULL};
    ot_activation sig = OT_ACTIVATION_SIGMOID;
    cr_expect_eq(metric_sum(OT_METRIC_ACCURACY, OT_LOSS_BINARY_CROSSENTROPY, sig, &two),
                 metric_sum(OT_METRIC_BINARY_ACCURACY, OT_LOSS_BINARY_CROSSENTROPY, sig, &two));
    cr_expect_eq(metric_sum(OT_METRIC_ACCURACY, OT_LOSS_BINARY_CROSSENTROPY, sig, &two), 1.5);
    cr_expect_eq(metric_sum(OT_METRIC_ACCURACY, OT_LOSS_MSE, lin, &two),
                 metric_sum(OT_METRIC_CATEGORICAL_ACCURACY, OT_LOSS_MSE, lin, &two));
    const float one[3] = {0.7f, 0.2f, 0.6f};
    const int32_t y1[3] = {1, 0, 0};
    ot__loss_batch single = {one, y1, NULL, 3, 1, NULL, NULL};
    cr_expect_eq(metric_sum(OT_METRIC_ACCURACY, OT_LOSS_MSE, lin, &single), 2.0,
                 "one output: above 0.5 is class 1");
}

static ot_model *mse_classifier(unsigned seed)
{
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(4, OT_ACTIVATION_SIGMOID)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 8, l, 2, seed), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_RMSPROP);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    return m;
}

Test(metrics, a_model_keeps_its_list)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    ot_metric got[OT_METRICS_MAX], two[2] = {OT_METRIC_MSE, OT_METRIC_ACCURACY};
    cr_assert_eq(ot_model_create(&m, 8, l, 1, 1), OT_OK);
    cr_assert_eq(ot_model_metrics(m, got, OT_METRICS_MAX), 0u, "not compiled");
    cr_assert_eq(ot_model_set_metrics(m, two, 2), OT_INVALID_STATE);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    cr_assert_eq(ot_model_metrics(m, got, OT_METRICS_MAX), 1u);
    cr_assert_eq(got[0], OT_METRIC_ACCURACY);
    cr_assert_eq(ot_model_set_metrics(m, two, 2), OT_OK);
    cr_assert_eq(ot_model_metrics(m, got, 1), 2u, "the count, whatever the room");
    cr_assert_eq(got[0], OT_METRIC_MSE);
    cr_assert_eq(ot_model_metrics(m, NULL, 0), 2u);
    ot_metric dup[2] = {OT_METRIC_MAE, OT_METRIC_MAE}, bad[1] = {(ot_metric)99};
    ot_metric nine[OT_METRICS_MAX + 1] = {0};
    cr_assert_eq(ot_model_set_metrics(m, dup, 2), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "mae is given twice") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_model_set_metrics(m, bad, 1), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_set_metrics(m, nine, OT_METRICS_MAX + 1), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_set_metrics(m, NULL, 1), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_set_metrics(NULL, two, 1), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_metrics(m, got, OT_METRICS_MAX), 2u, "failures change nothing");
    cr_assert_eq(ot_model_set_metrics(m, NULL, 0), OT_OK, "the default again");
    cr_assert_eq(ot_model_metrics(m, got, OT_METRICS_MAX), 1u);
    cr_assert_eq(got[0], OT_METRIC_ACCURACY);
    cr_assert_eq(ot_model_set_metrics(m, two, 2), OT_OK);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    cr_assert_eq(ot_model_metrics(m, got, OT_METRICS_MAX), 1u, "compile sets the default");
    cr_assert_eq(got[0], OT_METRIC_MAE);
    ot_model_destroy(m);
}

/* The metrics of data d in double from m's predictions: accuracy
 * (categorical), mse, mae, top-5 (all 4 classes: 1). */
static void reference(const ot_model *m, const ot_dataset *d, double *acc, double *mse,
                      double *mae)
{
    size_t n = ot_dataset_size(d);
    float *x = malloc(n * 8 * sizeof *x), *p = malloc(n * 4 * sizeof *p);
    int32_t *y = malloc(n * sizeof *y);
    cr_assert_eq(ot_dataset_features(d, x, n * 8), OT_OK);
    cr_assert_eq(ot_dataset_labels(d, y, n), OT_OK);
    cr_assert_eq(ot_model_predict(m, x, n, p, n * 4, NULL), OT_OK);
    *acc = *mse = *mae = 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        double sq = 0, ab = 0;
        for (size_t j = 0; j < 4; j++) {
            best = p[i * 4 + j] > p[i * 4 + best] ? j : best;
            double e = p[i * 4 + j] - (y[i] == (int32_t)j);
            sq += e * e, ab += fabs(e);
        }
        *acc += best == (size_t)y[i];
        *mse += sq / 4, *mae += ab / 4;
    }
    *acc /= (double)n, *mse /= (double)n, *mae /= (double)n;
    free(x), free(p), free(y);
}

Test(metrics, fit_and_evaluate_report_every_metric_alike)
{
    ot_dataset *d = th_blobs(400, 8, 4, 3), *v = th_blobs(120, 8, 4, 9);
    ot_model *m = mse_classifier(5);
    const ot_metric list[] = {OT_METRIC_ACCURACY, OT_METRIC_MSE, OT_METRIC_RMSE, OT_METRIC_MAE,
                              OT_METRIC_TOP_K_CATEGORICAL_ACCURACY};
    cr_assert_eq(ot_model_set_metrics(m, list, 5), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 12;
    fc.validation_data = v;
    fc.threads = 2;
    fc.shards = 2;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_metrics(h), 5u);
    cr_assert_str_eq(ot_history_metric_name(h), "accuracy");
    cr_assert_str_eq(ot_history_metric(h, 2), "rmse");
    cr_assert_null(ot_history_metric(h, 5));
    const ot_epoch_metrics *e = ot_history_epoch(h, 11);
    cr_assert_eq(e->n_metrics, 5u);
    cr_assert_eq(e->metric, e->metrics[0]);
    cr_assert_eq(e->val_metric, e->val_metrics[0]);
    cr_assert(isnan(e->val_metrics[5]), "past the list: NaN");
    cr_assert_eq(e->metrics[4], 1.0, "4 classes: always in the top 5");
    cr_assert_eq(e->val_metrics[2], sqrt(e->val_metrics[1]), "rmse: the root of mse's mean");
    ot_eval_config ec = ot_eval_config_default();
    ec.batch_size = fc.batch_size;
    ec.shards = 2;
    double loss, vals[OT_METRICS_MAX], first;
    cr_assert_eq(ot_model_evaluate_metrics(m, v, &ec, &loss, vals, OT_METRICS_MAX), OT_OK);
    for (size_t k = 0; k < 5; k++)
        cr_expect_float_eq(vals[k], e->val_metrics[k], 1e-12, "metric %zu: %.17g, fit %.17g",
                           k, vals[k], e->val_metrics[k]);
    cr_expect_float_eq(loss, e->val_loss, 1e-12);
    cr_assert_eq(ot_model_evaluate(m, v, &ec, NULL, &first), OT_OK);
    cr_assert_eq(first, vals[0]);
    double acc, mse, mae;
    reference(m, v, &acc, &mse, &mae);
    cr_expect_float_eq(vals[0], acc, 1e-12);
    cr_expect_float_eq(vals[1], mse, 1e-6);
    cr_expect_float_eq(vals[3], mae, 1e-6);
    cr_assert(acc > 0.8, "the mse classifier learns the blobs: %g", acc);
    cr_assert_eq(ot_model_evaluate_metrics(m, v, &ec, &loss, NULL, 2), OT_INVALID_ARGUMENT);
    char dir[256], path[300], csv[1024];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.csv", dir);
    cr_assert_eq(ot_history_write_csv(h, path), OT_OK);
    size_t n = th_read(path, (unsigned char *)csv, sizeof csv - 1);
    csv[n] = '\0';
    cr_assert(strncmp(csv, "epoch,loss,accuracy,mse,rmse,mae,top_k_categorical_accuracy,"
                           "val_loss,val_accuracy,val_mse,val_rmse,val_mae,"
                           "val_top_k_categorical_accuracy,seconds,", 130) == 0, "%s", csv);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    ot_dataset_destroy(v);
}

Test(metrics, monitors_name_a_metric_of_the_model)
{
    ot_model *m = mse_classifier(7);
    const ot_metric list[] = {OT_METRIC_ACCURACY, OT_METRIC_MSE};
    cr_assert_eq(ot_model_set_metrics(m, list, 2), OT_OK);
    const struct { const char *name; ot_monitor mon; } ok[] = {
        {"loss", OT_MONITOR_LOSS}, {"val_loss", OT_MONITOR_VAL_LOSS},
        {"val_accuracy", OT_MONITOR_VAL_METRIC}, {"acc", OT_MONITOR_METRIC},
        {"val_mse", OT_MONITOR_VAL_METRIC_AT(1)}, {"mean_squared_error", OT_MONITOR_METRIC_AT(1)}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        ot_monitor mon;
        cr_assert_eq(ot_model_monitor_parse(m, ok[i].name, &mon), OT_OK, "%s", ok[i].name);
        cr_assert_eq(mon, ok[i].mon, "%s", ok[i].name);
    }
    ot_monitor mon;
    cr_assert_eq(ot_model_monitor_parse(m, "val_mae", &mon), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "reports loss, accuracy, mse") != NULL, "%s",
              ot_last_error());
    cr_assert_eq(ot_model_monitor_parse(m, NULL, &mon), OT_INVALID_ARGUMENT);

    /* early stopping on each: its best epoch is the best of that column */
    ot_dataset *d = th_blobs(300, 8, 4, 3), *v = th_blobs(90, 8, 4, 4);
    const ot_monitor mons[] = {OT_MONITOR_VAL_METRIC_AT(1), OT_MONITOR_VAL_METRIC};
    for (int w = 0; w < 2; w++) {
        ot_model *k = mse_classifier(7);
        cr_assert_eq(ot_model_set_metrics(k, list, 2), OT_OK);
        ot_fit_config fc = ot_fit_config_default();
        fc.epochs = 8;
        fc.validation_data = v;
        fc.early_stopping.enabled = 1;
        fc.early_stopping.monitor = mons[w];
        fc.early_stopping.patience = 100;
        fc.early_stopping.restore_best_weights = 0;
        ot_history *h = NULL;
        cr_assert_eq(ot_model_fit(k, d, &fc, &h), OT_OK, "%s", ot_last_error());
        size_t best = 0;
        for (size_t i = 1; i < ot_history_length(h); i++) {
            double a = ot_history_epoch(h, i)->val_metrics[1 - w];
            double b = ot_history_epoch(h, best)->val_metrics[1 - w];
            if (w == 0 ? a < b : a > b)
                best = i;
        }
        cr_assert_eq(ot_history_best_epoch(h), best + 1, "monitor %d", w);
        ot_history_destroy(h);
        fc.early_stopping.monitor = OT_MONITOR_VAL_METRIC_AT(2);
        cr_assert_eq(ot_model_fit(k, d, &fc, NULL), OT_INVALID_ARGUMENT, "past the list");
        cr_assert(strstr(ot_last_error(), "reports 2 metrics") != NULL, "%s", ot_last_error());
        ot_model_destroy(k);
    }
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    ot_dataset_destroy(v);
}

static int stop_at_step_4(const ot_step_metrics *s, void *user)
{
    (void)user;
    cr_assert_eq(s->n_metrics, 3u);
    cr_assert_eq(s->metric, s->metrics[0]);
    return s->epoch == 2 && s->step == 4;
}

Test(metrics, saved_with_the_model_and_resumed_exactly)
{
    ot_dataset *d = th_blobs(300, 8, 4, 3);
    const ot_metric list[] = {OT_METRIC_MSE, OT_METRIC_ACCURACY, OT_METRIC_MAPE};
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 3;
    fc.validation_split = 0.2;
    fc.shards = 2;
    ot_model *whole = mse_classifier(11), *part = mse_classifier(11);
    cr_assert_eq(ot_model_set_metrics(whole, list, 3), OT_OK);
    cr_assert_eq(ot_model_set_metrics(part, list, 3), OT_OK);
    ot_history *hw = NULL, *hp = NULL;
    cr_assert_eq(ot_model_fit(whole, d, &fc, &hw), OT_OK, "%s", ot_last_error());
    fc.on_step = stop_at_step_4;
    cr_assert_eq(ot_model_fit(part, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_steps_in_epoch(part), 4u);
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ot_model_save_to_buffer(part, &buf, &len), OT_OK);
    ot_model *loaded = NULL;
    cr_assert_eq(ot_model_load_from_buffer(&loaded, buf, len), OT_OK, "%s", ot_last_error());
    ot_metric got[OT_METRICS_MAX];
    cr_assert_eq(ot_model_metrics(loaded, got, OT_METRICS_MAX), 3u);
    cr_assert_eq(memcmp(got, list, sizeof list), 0);
    const ot_metric other[] = {OT_METRIC_MAE};
    cr_assert_eq(ot_model_set_metrics(loaded, other, 1), OT_INVALID_STATE,
                 "the unfinished epoch's sums are of its own list");
    cr_assert_eq(ot_model_set_metrics(loaded, list, 3), OT_OK, "the same list is no change");
    ot_fit_config rc = ot_model_resume_config(loaded);
    rc.epochs = 3;
    cr_assert_eq(ot_model_fit(loaded, d, &rc, &hp), OT_OK, "%s", ot_last_error());
    const ot_epoch_metrics *a = ot_history_epoch(hw, 1), *b = ot_history_epoch(hp, 0);
    cr_assert_eq(b->epoch, 2u);
    cr_assert_eq(a->loss, b->loss);
    for (size_t k = 0; k < 3; k++) {
        cr_assert_eq(a->metrics[k], b->metrics[k], "metric %zu of the resumed epoch", k);
        cr_assert_eq(a->val_metrics[k], b->val_metrics[k]);
    }
    cr_assert(same_weights(whole, loaded));
    ot_buffer_free(buf);
    ot_history_destroy(hw);
    ot_history_destroy(hp);
    ot_model_destroy(whole);
    ot_model_destroy(part);
    ot_model_destroy(loaded);
    ot_dataset_destroy(d);
}

/* The CRC-32 at the end of a model file, made anew over its bytes. */
static void fix_crc(unsigned char *b, size_t len)
{
    uint32_t crc = (uint32_t)crc32(0L, b, (uInt)(len - 4));
    for (int i = 0; i < 4; i++)
        b[len - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
}

Test(metrics, a_version_1_file_loads_with_the_loss_metric)
{
    ot_model *m = mse_classifier(3); /* 2 layers, no scaling: default metric mae */
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ot_model_save_to_buffer(m, &buf, &len), OT_OK);
    /* version 2's metrics block (92 bytes) stands just before n_params:
     * after the magic, the head, 2 layer entries, the scaling flag and
     * version 1's fixed tail less its last u64 */
    const size_t block = 32 + 2 * 16 + 4 + 188 - 8, extra = 4 + 4 * 8 + 8 * 7;
    unsigned char *b = buf;
    cr_assert_eq(b[block], 1, "one metric");
    cr_assert_eq(b[block + 4], OT_METRIC_MAE);
    unsigned char *v1 = malloc(len - extra);
    memcpy(v1, b, block);
    memcpy(v1 + block, b + block + extra, len - block - extra);
    v1[8] = 1; /* the version */
    fix_crc(v1, len - extra);
    ot_model *old = NULL;
    cr_assert_eq(ot_model_load_from_buffer(&old, v1, len - extra), OT_OK, "%s", ot_last_error());
    ot_metric got[OT_METRICS_MAX];
    cr_assert_eq(ot_model_metrics(old, got, OT_METRICS_MAX), 1u);
    cr_assert_eq(got[0], OT_METRIC_MAE);
    cr_assert(same_weights(m, old));
    /* a block that lies is refused */
    b[block] = OT_METRICS_MAX + 1;
    fix_crc(b, len);
    ot_model *bad = NULL;
    cr_assert_eq(ot_model_load_from_buffer(&bad, b, len), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "invalid metrics section") != NULL, "%s", ot_last_error());
    b[block] = 2; /* two metrics, the second's slot 0: accuracy, given once */
    fix_crc(b, len);
    cr_assert_eq(ot_model_load_from_buffer(&bad, b, len), OT_OK, "%s", ot_last_error());
    ot_model_destroy(bad);
    b[block + 8] = OT_METRIC_MAE; /* twice */
    fix_crc(b, len);
    cr_assert_eq(ot_model_load_from_buffer(&bad, b, len), OT_BAD_FORMAT);
    /* a model not compiled has no metrics: a block that says it has is refused */
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(4, OT_ACTIVATION_SIGMOID)};
    ot_model *raw = NULL;
    void *rb = NULL;
    size_t rlen = 0;
    cr_assert_eq(ot_model_create(&raw, 8, l, 2, 1), OT_OK);
    cr_assert_eq(ot_model_save_to_buffer(raw, &rb, &rlen), OT_OK);
    unsigned char *r = rb;
    cr_assert_eq(r[block], 0);
    cr_assert_eq(ot_model_load_from_buffer(&bad, r, rlen), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_metrics(bad, got, OT_METRICS_MAX), 0u);
    ot_model_destroy(bad);
    r[block] = 1;
    fix_crc(r, rlen);
    cr_assert_eq(ot_model_load_from_buffer(&bad, r, rlen), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "invalid metrics section") != NULL, "%s", ot_last_error());
    ot_buffer_free(rb);
    ot_model_destroy(raw);
    free(v1);
    ot_buffer_free(buf);
    ot_model_destroy(old);
    ot_model_destroy(m);
}

/* ---- the command line ---------------------------------------------------- */

static char out[1 << 16];

static int run(const char *args)
{
    return th_run_normally("OMPTRAIN_BIN", "OMPTRAIN_DATA=", args, out, sizeof out);
}

/* The textbook's mse classifier on 3,000 Fashion-MNIST images (57,000
 * validate), smaller. */
#define MSE_NET "--loss mse --layers 32:relu,10:sigmoid --optimizer rmsprop --batch 128 " \
                "--validation-split 0.95 --threads 2"

Test(metrics, the_command_line_reports_saves_and_monitors_them)
{
    char dir[256], a[1024], text[4096];
    th_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "train " MSE_NET " --metrics accuracy,mae --epochs 2 --history "
             "%s/h.csv --plot %s/h.svg --save %s/m.otm --early-stopping --monitor val_accuracy",
             dir, dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, " - loss: ") && strstr(out, " - accuracy: ") &&
              strstr(out, " - mae: ") && strstr(out, " - val_accuracy: ") &&
              strstr(out, " - val_mae: "), "%s", out);
    snprintf(a, sizeof a, "%s/h.csv", dir);
    size_t n = th_read(a, (unsigned char *)text, sizeof text - 1);
    text[n] = '\0';
    cr_assert(strncmp(text, "epoch,loss,accuracy,mae,val_loss,val_accuracy,val_mae,", 54) == 0,
              "%s", text);
    snprintf(a, sizeof a, "evaluate --model %s/m.otm", dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, "10000 samples - loss: ") && strstr(out, " - accuracy: ") &&
              strstr(out, " - mae: ") && strstr(out, "confusion matrix"),
              "an accuracy makes it a classifier: %s", out);
    snprintf(a, sizeof a, "evaluate --model %s/m.otm --metrics rmse,mape", dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, " - rmse: ") && strstr(out, " - mape: ") &&
              !strstr(out, " - accuracy: ") && !strstr(out, "confusion matrix"), "%s", out);
    snprintf(a, sizeof a, "summary --model %s/m.otm", dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, "Metrics: accuracy, mae") != NULL, "%s", out);
    snprintf(a, sizeof a, "predict --model %s/m.otm --data fashion-mnist --output %s/p.csv",
             dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    snprintf(a, sizeof a, "%s/p.csv", dir);
    n = th_read(a, (unsigned char *)text, 200);
    text[n] = '\0';
    cr_assert(strstr(text, ",p9,class\n") != NULL, "a class column: %s", text);

    /* resumed: the metrics come from the file, and a flag that differs is refused */
    snprintf(a, sizeof a, "train --resume %s/m.otm --metrics mse --epochs 3", dir);
    cr_assert_eq(run(a), 2, "%s", out);
    cr_assert(strstr(out, "has --metrics accuracy,mae, the command mse") != NULL, "%s", out);
    snprintf(a, sizeof a, "train --resume %s/m.otm --metrics accuracy,mae --epochs 3 "
             "--monitor mae --early-stopping --save %s/m3.otm", dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, "Epoch 3/3") && strstr(out, " - val_mae: "), "%s", out);

    const struct { const char *flags, *says; } bad[] = {
        {"--metrics f1", "--metrics: 'f1' is not a metric"},
        {"--metrics accuracy,acc", "--metrics: accuracy is given twice"},
        {"--metrics mae,", "ends with a comma"},
        {"--metrics ''", "--metrics: empty value"},
        {"--metrics ,mae", "--metrics: '' is not a metric"},
        {"--metrics accuracy,mae,mse,rmse,mape,binary_accuracy,top_k_categorical_accuracy,"
         "categorical_accuracy,sparse_categorical_accuracy", "names more than 8 metrics"},
        {"--metrics accuracy --monitor val_mse", "the model reports loss, accuracy"},
        {"--monitor val_f1", "'val_f1' is not loss, a metric"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(a, sizeof a, "train " MSE_NET " --epochs 1 %s", bad[i].flags);
        cr_assert_eq(run(a), 2, "%s: %s", bad[i].flags, out);
        cr_assert(strstr(out, bad[i].says) != NULL, "%s: %s", bad[i].flags, out);
    }
}

Test(metrics, a_search_scores_by_its_metric)
{
    char dir[256], a[1024], text[4096];
    th_tmpdir(dir, sizeof dir);
    snprintf(a, sizeof a, "search " MSE_NET " --metrics accuracy --grid 'batch=64,128' "
             "--epochs 1 --jobs 1 --out %s/s", dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, "scored by accuracy") != NULL, "%s", out);
    static char svg[1 << 16];
    snprintf(a, sizeof a, "%s/s/scores.svg", dir);
    size_t len = th_read(a, (unsigned char *)svg, sizeof svg - 1);
    svg[len] = '\0';
    cr_assert(strstr(svg, "mean test score (accuracy)") != NULL, "the plot names its score");
    snprintf(a, sizeof a, "%s/s/best.otm", dir);
    ot_model *m = NULL;
    cr_assert_eq(ot_model_load(&m, a), OT_OK, "%s", ot_last_error());
    ot_metric got[OT_METRICS_MAX];
    cr_assert_eq(ot_model_metrics(m, got, OT_METRICS_MAX), 1u);
    cr_assert_eq(got[0], OT_METRIC_ACCURACY);
    ot_model_destroy(m);
    snprintf(a, sizeof a, "%s/s/cv_results.csv", dir);
    size_t n = th_read(a, (unsigned char *)text, sizeof text - 1);
    text[n] = '\0';
    /* the scores are accuracies: in (0.25, 1], where minus an error is < 0 */
    size_t col = 0;
    for (const char *p = text; p < strstr(text, "mean_test_score"); p++)
        col += *p == ',';
    const char *p = strchr(text, '\n') + 1;
    for (size_t c = 0; c < col; c++)
        p = strchr(p, ',') + 1;
    double score = strtod(p, NULL);
    cr_assert(score > 0.25 && score <= 1.0, "mean_test_score %g:\n%s", score, text);
    snprintf(a, sizeof a, "search " MSE_NET " --metrics accuracy,mae --grid 'batch=64' "
             "--out %s/t", dir);
    cr_assert_eq(run(a), 2, "%s", out);
    cr_assert(strstr(out, "a search scores by one metric") != NULL, "%s", out);
    snprintf(a, sizeof a, "search " MSE_NET " --monitor val_accuracy --early-stopping "
             "--grid 'batch=64' --out %s/t", dir);
    cr_assert_eq(run(a), 2, "%s", out);
    cr_assert(strstr(out, "the fits report loss and mae") != NULL, "%s", out);
    snprintf(a, sizeof a, "search " MSE_NET " --grid 'metrics=mae,mse' --out %s/t", dir);
    cr_assert_eq(run(a), 2, "%s", out);
}
