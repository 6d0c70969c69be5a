/*
 * history.h - the per-epoch metrics of a fit. Not installed.
 */
#ifndef OT_HISTORY_H
#define OT_HISTORY_H

#include "common.h"

struct ot_history {
    size_t len, cap;
    ot_epoch_metrics *epochs; /* cap entries, allocated before training */
    const char *metric;       /* "accuracy" or "mae" (static string) */
    size_t best_epoch;        /* early stopping's best, or 0 */
};

ot_status ot__history_new(ot_history **out, size_t cap, const char *metric);

#endif
