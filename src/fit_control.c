/*
 * fit_control.c - between a fit's epochs (fit_control.h): what the
 * monitors watch, when early stopping stops, when the best model and the
 * checkpoints are saved.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fit_control.h"
#include "model.h"

ot_status ot_monitor_parse(const char *name, ot_monitor *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "monitor: NULL argument");
    static const struct { const char *name; ot_monitor m; } names[] = {
        {"val_loss", OT_MONITOR_VAL_LOSS}, {"val_accuracy", OT_MONITOR_VAL_METRIC},
        {"val_mae", OT_MONITOR_VAL_METRIC}, {"loss", OT_MONITOR_LOSS},
        {"accuracy", OT_MONITOR_METRIC}, {"mae", OT_MONITOR_METRIC}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].m;
            return OT_OK;
        }
    return ot__fail(OT_INVALID_ARGUMENT, "unknown monitor '%s' (expected "
                    "val_loss, val_accuracy, val_mae, loss, accuracy or mae)",
                    name);
}

ot_status ot_model_monitor_parse(const ot_model *m, const char *name, ot_monitor *out)
{
    if (m == NULL || name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "monitor: NULL argument");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "monitor: the model is not compiled");
    const int val = strncmp(name, "val_", 4) == 0;
    const char *bare = val ? name + 4 : name;
    if (strcmp(bare, "loss") == 0) {
        *out = val ? OT_MONITOR_VAL_LOSS : OT_MONITOR_LOSS;
        return OT_OK;
    }
    ot_metric metric;
    size_t k = m->metrics.n;
    if (ot_metric_parse(bare, &metric) == OT_OK)
        for (k = 0; k < m->metrics.n && m->metrics.m[k] != metric; k++)
            ;
    if (k < m->metrics.n) {
        *out = val ? OT_MONITOR_VAL_METRIC_AT(k) : OT_MONITOR_METRIC_AT(k);
        return OT_OK;
    }
    char list[256] = "loss";
    for (size_t j = 0; j < m->metrics.n; j++)
        snprintf(list + strlen(list), sizeof list - strlen(list), ", %s",
                 ot_metric_name(m->metrics.m[j]));
    return ot__fail(OT_INVALID_ARGUMENT, "unknown monitor '%s': the model reports %s "
                    "(each with or without val_)", name, list);
}

ot_status ot__control_check(const ot_model *m, const ot_fit_config *cfg, int has_val)
{
    const ot_early_stopping *es = &cfg->early_stopping;
    ot_monitor mons[2] = {es->monitor, cfg->best_monitor};
    int used[2] = {es->enabled, cfg->best_model_path != NULL};
    for (int i = 0; i < 2; i++) {
        if (!used[i])
            continue;
        int val = 0;
        size_t which = (int)mons[i] < 0 ? SIZE_MAX : ot__monitor_metric(mons[i], &val);
        if (which > m->metrics.n)
            return ot__fail(OT_INVALID_ARGUMENT, "fit: monitor %d is unknown (the model "
                            "reports %zu metrics)", (int)mons[i], m->metrics.n);
        if (!has_val && val)
            return ot__fail(OT_INVALID_ARGUMENT, "fit: %s monitors a validation "
                            "value, and there is no validation data",
                            i == 0 ? "early stopping" : "best-model saving");
    }
    if (cfg->checkpoint_path != NULL && cfg->checkpoint_every == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: checkpoint_every must be >= 1");
    if (es->enabled && !(isfinite(es->min_delta) && es->min_delta >= 0.0))
        return ot__fail(OT_INVALID_ARGUMENT, "fit: early stopping min_delta %g "
                        "must be >= 0", es->min_delta);
    return OT_OK;
}

/* The monitored value of an epoch (checked: a metric the model has). */
static double monitored(const ot_epoch_metrics *e, ot_monitor mon)
{
    int val;
    size_t which = ot__monitor_metric(mon, &val);
    if (which == 0)
        return val ? e->val_loss : e->loss;
    return val ? e->val_metrics[which - 1] : e->metrics[which - 1];
}

/* Lower is better for the loss and the errors, higher for the accuracies. */
static int lower_is_better(const ot_model *m, ot_monitor mon)
{
    int val;
    size_t which = ot__monitor_metric(mon, &val);
    return which == 0 || !ot_metric_higher_is_better(m->metrics.m[which - 1]);
}

static int improves(double v, double best, int lower, double min_delta)
{
    if (isnan(v))
        return 0;
    return lower ? v + min_delta < best : v - min_delta > best;
}

ot_status ot__control_open(ot__fit_control *c, const ot_model *m,
                           const ot_fit_config *cfg)
{
    const ot_early_stopping *es = &cfg->early_stopping;
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    c->writer = 1;
    c->es_lower = lower_is_better(m, es->monitor);
    c->es_best = c->es_lower ? INFINITY : -INFINITY;
    c->best_lower = lower_is_better(m, cfg->best_monitor);
    c->save_best = c->best_lower ? INFINITY : -INFINITY;
    if (es->enabled && es->restore_best_weights) {
        c->best_params = ot__alloc(m->arena_len, sizeof(float), "best weights");
        if (c->best_params == NULL)
            return OT_OUT_OF_MEMORY;
    }
    return OT_OK;
}

void ot__control_close(ot__fit_control *c)
{
    ot__free(c->best_params);
    c->best_params = NULL;
}

int ot__control_epoch(ot__fit_control *c, ot_model *m, const ot_epoch_metrics *e,
                      ot_history *hist, ot_status *fail)
{
    const ot_fit_config *cfg = c->cfg;
    if (c->writer && cfg->checkpoint_path != NULL && e->epoch % cfg->checkpoint_every == 0 &&
        (*fail = ot_model_save(m, cfg->checkpoint_path)) != OT_OK)
        return 1;
    if (cfg->best_model_path != NULL) {
        double v = monitored(e, cfg->best_monitor);
        if (improves(v, c->save_best, c->best_lower, 0.0)) {
            c->save_best = v;
            if (c->writer && (*fail = ot_model_save(m, cfg->best_model_path)) != OT_OK)
                return 1;
        }
    }
    int stop = 0;
    const ot_early_stopping *es = &cfg->early_stopping;
    if (es->enabled) {
        double v = monitored(e, es->monitor);
        if (improves(v, c->es_best, c->es_lower, es->min_delta)) {
            c->es_best = v;
            c->es_wait = 0;
            hist->best_epoch = e->epoch;
            if (c->best_params)
                memcpy(c->best_params, m->params, m->arena_len * sizeof(float));
        } else if (++c->es_wait >= es->patience) {
            stop = 1;
        }
    }
    if (cfg->on_epoch && cfg->on_epoch(e, cfg->user))
        stop = 1;
    return stop;
}

void ot__control_finish(const ot__fit_control *c, ot_model *m, const ot_history *hist)
{
    if (c->best_params != NULL && hist->best_epoch > 0 && hist->best_epoch != m->epochs)
        memcpy(m->params, c->best_params, m->arena_len * sizeof(float));
}
