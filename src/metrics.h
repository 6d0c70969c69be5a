/*
 * metrics.h - the metrics a model reports with its loss (Keras'
 * compile(metrics=[...])), over one shard's outputs. Plain C. Not
 * installed.
 *
 * A shard's results are sums over its rows: the loss, then each metric's
 * per-sample value. They are added in shard order, over the ranks too,
 * and divided by the samples only when reported (ot__metric_value).
 */
#ifndef OT_METRICS_H
#define OT_METRICS_H

#include "loss.h"

enum { OT__SUMS = 1 + OT_METRICS_MAX };

/* v[0]: the loss's sum; v[1 + k]: metric k's */
typedef struct ot__sums {
    double v[OT__SUMS];
} ot__sums;

/* The metrics a model reports, in order (1 to OT_METRICS_MAX of them). */
typedef struct ot__metric_list {
    size_t n;
    ot_metric m[OT_METRICS_MAX];
} ot__metric_list;

/* The loss's own metric, a model's default: accuracy or mae. */
ot_metric ot__loss_metric(ot_loss loss);

/* Adds each of the compiled model's metrics' per-sample values over the
 * batch's rows to sums->v[1 + k]; b->out holds the last layer's logits
 * where the loss fuses its activation. Reads b->out only: call it before a
 * loss that writes its gradient over it. */
void ot__metrics(const ot_model *m, const ot__loss_batch *b, ot__sums *sums);

/* The same for a list of metrics of a loss, `pending` the activation the
 * loss fuses (softmax or sigmoid) when b->out holds logits, else
 * OT_ACTIVATION_LINEAR. */
void ot__metrics_over(const ot__metric_list *list, ot_loss loss, ot_activation pending,
                      const ot__loss_batch *b, ot__sums *sums);

/* The value reported for a metric summed over n samples: the mean (rmse:
 * its square root). */
double ot__metric_value(ot_metric metric, double sum, double n);

/* values[k] = metric k's value from sums over n samples, for each of the
 * model's metrics (the rest of OT_METRICS_MAX: NaN). */
void ot__metric_values(const ot_model *m, const ot__sums *sums, double n, double *values);

/* What an ot_monitor watches: 0 the loss, 1 + k metric k; *validation
 * whether on the validation data. */
size_t ot__monitor_metric(ot_monitor mon, int *validation);

#endif
