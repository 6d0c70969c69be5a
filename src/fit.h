/*
 * fit.h - the fit with what tests and developer tools may force (the
 * engine's options). Not installed.
 */
#ifndef OT_FIT_H
#define OT_FIT_H

#include "engine.h"
#include "ranks.h"

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

/* Checks a fit's arguments (fit_check.c). */
ot_status ot__fit_check(const ot_model *m, const ot_dataset *train, const ot_fit_config *cfg);

/* With ranks: every rank runs the same fit (or all fail, naming the first
 * difference: its config, where it starts, the model, the data), and
 * shards = 0 is the sum of the ranks' threads T, at most the batch, in *S. */
ot_status ot__fit_same(const ot_model *m, const ot_fit_config *cfg, const ot_dataset *train,
                       size_t first_epoch, size_t first_step, size_t batch,
                       const ot__ranks *r, int T, size_t *S);

/* The bytes a fit of m needs, about (an upper estimate): the model, the
 * epoch's copy, the shards' gradients, the threads' and a units cut's
 * buffers, the epoch's order (fit_check.c). */
size_t ot__fit_memory(const ot_model *m, size_t batch, size_t shards, int threads,
                      size_t n_samples);
/* Fails, saying how much, when `need` bytes are more than the memory limit
 * set, or else the machine's memory. */
ot_status ot__fit_memory_check(size_t need);

#endif
