/*
 * history.h - the per-epoch metrics of a fit. Not installed.
 */
#ifndef OT_HISTORY_H
#define OT_HISTORY_H

#include "metrics.h"

struct ot_history {
    size_t len, cap;
    ot_epoch_metrics *epochs; /* cap entries, allocated before training */
    size_t n_metrics;         /* the model's during the fit */
    const char *metrics[OT_METRICS_MAX]; /* their names (static strings) */
    size_t best_epoch;        /* early stopping's best, or 0 */
};

/* An empty history of up to cap epochs of these metrics. */
ot_status ot__history_new(ot_history **out, size_t cap, const ot__metric_list *metrics);

#endif
