/*
 * folds.h - the folds of k-fold cross-validation (folds.c): which rows a
 * fold holds out. Not installed.
 */
#ifndef OT_FOLDS_H
#define OT_FOLDS_H

#include "dataset.h"
#include "fit.h"

/* Whether d can be cut into k folds: 2 <= k <= its rows, and with labels
 * each class present has at least k rows. */
ot_status ot__folds_check(const ot_dataset *d, size_t k);

/* Fold `fold` (0-based) of k: its rows in rows[0, *n_val), the other
 * folds' in rows[*n_val, n), each part in the data's order. rows holds
 * d->n. */
ot_status ot__folds_rows(const ot_dataset *d, size_t k, size_t fold, uint32_t *rows,
                         size_t *n_val);

/* The rows of the fold cfg->validation_fold of cfg->validation_folds, for
 * ot__fit_on_rows: *rows (d->n of them, ot__alloc'd, the caller frees) holds
 * both parts. Checks the config's fold fields. */
ot_status ot__folds_for_fit(const ot_dataset *d, const ot_fit_config *cfg, uint32_t **rows,
                            ot__fit_rows *out);

/* Checks rows given to ot__fit_on_rows: within d, some to train on, and no
 * validation of the config's own besides. */
ot_status ot__fit_rows_check(const ot_dataset *d, const ot_fit_config *cfg,
                             const ot__fit_rows *r);

#endif
