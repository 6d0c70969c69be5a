/*
 * fit.h - the fit with what tests and developer tools may force (the
 * engine's options). Not installed.
 */
#ifndef OT_FIT_H
#define OT_FIT_H

#include "engine.h"

/* ot_model_fit, with the engine's options (NULL: the rules). */
ot_status ot__fit(ot_model *m, const ot_dataset *train, const ot_fit_config *cfg,
                  const ot__engine_options *opt, ot_history **history);

/* Rows of the data to train on and to validate on (each epoch, as a
 * validation split's), in the orders given: a fold of a search. */
typedef struct ot__fit_rows {
    const uint32_t *train, *val;
    size_t n_train, n_val;
} ot__fit_rows;

/* ot__fit on those rows only (validation_split 0, no validation_data, no
 * comm). */
ot_status ot__fit_on_rows(ot_model *m, const ot_dataset *train, const ot__fit_rows *rows,
                       const ot_fit_config *cfg, const ot__engine_options *opt,
                       ot_history **history);

#endif
