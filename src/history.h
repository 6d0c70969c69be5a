/*
 * history.h - the per-epoch metrics of a fit. Not installed.
 */
#ifndef OT_HISTORY_H
#define OT_HISTORY_H

#include "common.h"

struct ot_history {
    size_t len, cap;
    ot_epoch_metrics *epochs; /* cap entries, allocated before training */
};

ot_status ot__history_new(ot_history **out, size_t cap);

#endif
