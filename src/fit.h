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

#endif
