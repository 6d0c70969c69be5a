/*
 * fit_control.h - what a fit does between its epochs: monitors, early
 * stopping, best-model saving, checkpoints and the user's epoch callback.
 * Serial code, called by the fit's driver. Not installed.
 */
#ifndef OT_FIT_CONTROL_H
#define OT_FIT_CONTROL_H

#include "history.h"
#include "model.h"

typedef struct ot__fit_control {
    const ot_fit_config *cfg;
    int es_lower, best_lower; /* lower is better for the monitored value */
    double es_best, save_best;
    size_t es_wait;
    float *best_params; /* arena copy, when restoring best weights */
    int writer;         /* this process writes the files (rank 0) */
} ot__fit_control;

/* Checks the config's monitors, early stopping and checkpoints; has_val:
 * the fit has validation data. */
ot_status ot__control_check(const ot_model *m, const ot_fit_config *cfg, int has_val);

ot_status ot__control_open(ot__fit_control *c, const ot_model *m,
                           const ot_fit_config *cfg);
void ot__control_close(ot__fit_control *c);

/* After epoch e (recorded in hist): the checkpoint, the best model, early
 * stopping and the callback. Returns 1 when the fit is to stop; a save
 * that failed is left in *fail with its message set. */
int ot__control_epoch(ot__fit_control *c, ot_model *m, const ot_epoch_metrics *e,
                      ot_history *hist, ot_status *fail);

/* At the end of the fit: early stopping keeps the best epoch's weights. */
void ot__control_finish(const ot__fit_control *c, ot_model *m, const ot_history *hist);

#endif
