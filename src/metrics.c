/*
 * metrics.c - Keras' metrics, per sample, on the model's outputs: the
 * accuracies compare classes, the errors compare values. Where the loss
 * fuses the last activation, the accuracies read the logits (the largest
 * logit is the largest probability, a positive logit a probability above
 * 0.5) and the errors the probabilities computed from them.
 */
#include <math.h>
#include <strings.h>

#include "metrics.h"
#include "model.h"

static const char *const metric_names[] = {
    "accuracy", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "mae", "mse", "rmse", "mape"};
#define N_METRICS (sizeof metric_names / sizeof *metric_names)

/* top_k_categorical_accuracy's k, Keras' default */
enum { TOP_K = 5 };

const char *ot_metric_name(ot_metric metric)
{
    return (unsigned)metric < N_METRICS ? metric_names[metric] : NULL;
}

ot_status ot_metric_parse(const char *name, ot_metric *out)
{
    static const struct { const char *alias; ot_metric m; } aliases[] = {
        {"acc", OT_METRIC_ACCURACY},
        {"mean_absolute_error", OT_METRIC_MAE},
        {"mean_squared_error", OT_METRIC_MSE},
        {"root_mean_squared_error", OT_METRIC_RMSE},
        {"mean_absolute_percentage_error", OT_METRIC_MAPE}};
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "metric name: NULL argument");
    for (size_t i = 0; i < N_METRICS; i++)
        if (strcasecmp(name, metric_names[i]) == 0) {
            *out = (ot_metric)i;
            return OT_OK;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcasecmp(name, aliases[i].alias) == 0) {
            *out = aliases[i].m;
            return OT_OK;
        }
    return ot__fail(OT_INVALID_ARGUMENT, "unknown metric '%s' (expected accuracy, "
                    "binary_accuracy, categorical_accuracy, "
                    "sparse_categorical_accuracy, top_k_categorical_accuracy, "
                    "mae, mse, rmse or mape)", name);
}

int ot_metric_higher_is_better(ot_metric metric)
{
    return (unsigned)metric <= OT_METRIC_TOP_K_CATEGORICAL_ACCURACY;
}

ot_metric ot__loss_metric(ot_loss loss)
{
    return loss <= OT_LOSS_BINARY_CROSSENTROPY ? OT_METRIC_ACCURACY : OT_METRIC_MAE;
}

ot_status ot_model_set_metrics(ot_model *m, const ot_metric *metrics, size_t n)
{
    if (m == NULL || (metrics == NULL && n > 0))
        return ot__fail(OT_INVALID_ARGUMENT, "set_metrics: NULL argument");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "set_metrics: the model is not compiled");
    if (n > OT_METRICS_MAX)
        return ot__fail(OT_INVALID_ARGUMENT, "set_metrics: %zu metrics, at most %d",
                        n, OT_METRICS_MAX);
    ot__metric_list list = {1, {ot__loss_metric(m->loss)}};
    for (size_t i = 0; i < n; i++) {
        if (ot_metric_name(metrics[i]) == NULL)
            return ot__fail(OT_INVALID_ARGUMENT, "set_metrics: metric %zu is %d, "
                            "not an ot_metric", i, (int)metrics[i]);
        for (size_t j = 0; j < i; j++)
            if (metrics[j] == metrics[i])
                return ot__fail(OT_INVALID_ARGUMENT, "set_metrics: %s is given "
                                "twice", ot_metric_name(metrics[i]));
        list.m[i] = metrics[i];
    }
    list.n = n > 0 ? n : 1;
    int same = list.n == m->metrics.n;
    for (size_t i = 0; same && i < list.n; i++)
        same = list.m[i] == m->metrics.m[i];
    if (m->steps_in_epoch > 0 && !same)
        return ot__fail(OT_INVALID_STATE, "set_metrics: epoch %zu is unfinished "
                        "(%zu steps taken); its sums are of the metrics it "
                        "started with", m->epochs + 1, m->steps_in_epoch);
    m->metrics = list;
    return OT_OK;
}

size_t ot_model_metrics(const ot_model *m, ot_metric *out, size_t cap)
{
    if (m == NULL || !m->compiled)
        return 0;
    for (size_t i = 0; out != NULL && i < cap && i < m->metrics.n; i++)
        out[i] = m->metrics.m[i];
    return m->metrics.n;
}

double ot__metric_value(ot_metric metric, double sum, double n)
{
    return metric == OT_METRIC_RMSE ? sqrt(sum / n) : sum / n;
}

void ot__metric_values(const ot_model *m, const ot__sums *sums, double n, double *values)
{
    for (size_t k = 0; k < OT_METRICS_MAX; k++)
        values[k] = k < m->metrics.n ? ot__metric_value(m->metrics.m[k], sums->v[1 + k], n)
                                     : NAN;
}

size_t ot__monitor_metric(ot_monitor mon, int *validation)
{
    int v = (int)mon;
    *validation = v == OT_MONITOR_VAL_LOSS || v == OT_MONITOR_VAL_METRIC ||
                  (v >= 4 && v % 2 == 0);
    if (v == OT_MONITOR_VAL_LOSS || v == OT_MONITOR_LOSS)
        return 0;
    if (v < 4)
        return 1;
    return 1 + (size_t)(v - 2 - v % 2) / 2;
}

/* Keras' "accuracy": binary with binary cross-entropy or one output. */
static ot_metric resolve(ot_metric metric, ot_loss loss, size_t C)
{
    if (metric != OT_METRIC_ACCURACY)
        return metric;
    return loss == OT_LOSS_BINARY_CROSSENTROPY || C == 1 ? OT_METRIC_BINARY_ACCURACY
                                                         : OT_METRIC_CATEGORICAL_ACCURACY;
}

/* the true class of row r: its label, or its target row's first maximum */
static size_t true_class(const ot__loss_batch *b, size_t r)
{
    if (b->targets == NULL)
        return b->C == 1 ? 0 : (size_t)b->labels[r];
    return ot__argmax(b->targets + r * b->C, b->C);
}

/* A row's outputs as probabilities: the softmax of logits from the row's
 * maximum and its sum of exponentials, a sigmoid per logit, else as they
 * are. */
typedef struct row_probs {
    ot_activation pending;
    float max, sum;
} row_probs;

static void row_start(row_probs *p, const float *z, size_t C)
{
    if (p->pending != OT_ACTIVATION_SOFTMAX)
        return;
    p->max = z[ot__argmax(z, C)];
    p->sum = 0.0f;
    for (size_t j = 0; j < C; j++)
        p->sum += expf(z[j] - p->max);
}

static inline float prob(const row_probs *p, float z)
{
    if (p->pending == OT_ACTIVATION_SOFTMAX)
        return expf(z - p->max) / p->sum;
    if (p->pending == OT_ACTIVATION_SIGMOID)
        return z >= 0.0f ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
    return z;
}

/* sum over rows of a class metric: categorical or top-k */
static double classes(const ot__loss_batch *b, int top_k)
{
    double hits = 0.0;
    for (size_t r = 0; r < b->rows; r++) {
        const float *z = b->out + r * b->C;
        size_t c = true_class(b, r), above = 0;
        if (!top_k) {
            hits += ot__argmax(z, b->C) == c;
            continue;
        }
        for (size_t j = 0; j < b->C; j++)
            above += z[j] > z[c];
        hits += above < TOP_K;
    }
    return hits;
}

/* sum over rows of a per-output metric, each row's the mean over outputs */
static double per_output(ot_metric metric, ot_activation pending, const ot__loss_batch *b)
{
    const size_t C = b->C;
    const float inv_c = 1.0f / (float)C;
    row_probs p = {pending, 0.0f, 0.0f};
    double total = 0.0;
    for (size_t r = 0; r < b->rows; r++) {
        const float *z = b->out + r * C;
        float m = 0.0f;
        row_start(&p, z, C);
        for (size_t j = 0; j < C; j++) {
            float t = ot__loss_target(b, r, j);
            if (metric == OT_METRIC_BINARY_ACCURACY) {
                /* a logit above 0 is a probability above 0.5 */
                float v = pending == OT_ACTIVATION_SIGMOID ? z[j] : prob(&p, z[j]) - 0.5f;
                m += (v > 0.0f ? 1.0f : 0.0f) == t;
                continue;
            }
            float e = prob(&p, z[j]) - t;
            switch (metric) {
            case OT_METRIC_MAE:
                m += fabsf(e);
                break;
            case OT_METRIC_MAPE:
                m += 100.0f * fabsf(e) / fmaxf(fabsf(t), 1e-7f);
                break;
            default: /* mse, rmse */
                m += e * e;
                break;
            }
        }
        total += (double)(m * inv_c);
    }
    return total;
}

void ot__metrics(const ot_model *m, const ot__loss_batch *b, ot__sums *sums)
{
    ot__metrics_over(&m->metrics, m->loss,
                     m->fused ? m->layers[m->n_layers - 1].act : OT_ACTIVATION_LINEAR,
                     b, sums);
}

void ot__metrics_over(const ot__metric_list *list, ot_loss loss, ot_activation pending,
                      const ot__loss_batch *b, ot__sums *sums)
{
    for (size_t k = 0; k < list->n; k++) {
        ot_metric metric = resolve(list->m[k], loss, b->C);
        double s;
        switch (metric) {
        case OT_METRIC_CATEGORICAL_ACCURACY:
        case OT_METRIC_SPARSE_CATEGORICAL_ACCURACY:
            s = classes(b, 0);
            break;
        case OT_METRIC_TOP_K_CATEGORICAL_ACCURACY:
            s = classes(b, 1);
            break;
        default:
            s = per_output(metric, pending, b);
            break;
        }
        sums->v[1 + k] += s;
    }
}
