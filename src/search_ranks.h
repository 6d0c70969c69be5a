/*
 * search_ranks.h - a search's fits spread over MPI ranks (search.c): what a
 * fit of one work item left, and how the ranks share it. Not installed.
 */
#ifndef OT_SEARCH_RANKS_H
#define OT_SEARCH_RANKS_H

#include "ranks.h"

/* What the fit of one work item (a group on a split) left: enough to score
 * every candidate of the group, on any rank. */
typedef struct ot__fit_outcome {
    size_t item;
    int done;          /* 0: not run here, or cancelled (to be fitted again) */
    ot_status status;
    size_t epochs;     /* epochs in the history */
    size_t best;       /* its best epoch (ot_history_best_epoch) */
    double *em;        /* per epoch: val_metric, samples_per_second, seconds */
    char msg[160];     /* why the fit failed */
} ot__fit_outcome;

/* After a round of `count` items in which rank q fitted out[j] for the j
 * with j % size == q: every rank's outcomes on every rank, in place (the
 * em arrays of the others' allocated here; ot__fit_outcome_free). */
ot_status ot__search_share(const ot__ranks *r, ot__fit_outcome *out, size_t count);

void ot__fit_outcome_free(ot__fit_outcome *o);

#endif
