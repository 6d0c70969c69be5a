/*
 * inference.c - evaluate, predict, classes and the confusion matrix: one
 * forward job of the engine (engine.h) over the rows, in batches cut into
 * shards as a training step's are.
 */
#include <math.h>
#include <string.h>

#include "engine.h"
#include "stream.h"

ot_eval_config ot_eval_config_default(void)
{
    ot_eval_config c = {32, 0, 0, OT_ELASTIC_AUTO, NULL, 0};
    return c;
}

/* Forward passes over rows first..first+n of d: the sums of the loss and
 * metrics (when sums is not NULL), the outputs (when out is not NULL). A
 * streamed d is read ahead by a stage of this call's own. */
static ot_status forward(const ot_model *model, const ot_dataset *d, size_t first, size_t n,
                         const ot_eval_config *cfg, ot__sums *sums, float *out)
{
    /* a forward job only reads the model, so that many callers may share
     * it; the engine's handle is not const because training writes */
    ot_model *m = (ot_model *)model;
    ot_status status;
    ot_eval_config c = cfg ? *cfg : ot_eval_config_default();
    if (c.batch_size == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "batch_size must be >= 1");
    if (c.elastic != OT_ELASTIC_AUTO && c.elastic != OT_ELASTIC_ON &&
        c.elastic != OT_ELASTIC_OFF)
        return ot__fail(OT_INVALID_ARGUMENT, "elastic %d is not OT_ELASTIC_AUTO, _ON or "
                        "_OFF", (int)c.elastic);
    int T;
    size_t S;
    if ((status = ot__engine_resolve(c.threads, c.shards, &T, &S)) != OT_OK)
        return status;
    size_t B = c.batch_size < n ? c.batch_size : n;
    if (S > B)
        S = B; /* more shards than rows would only be empty */
    ot__stages stages;
    const ot_dataset *none = NULL;
    if ((status = ot__stages_open(&stages, &d, &none, B)) != OT_OK)
        return status;
    if ((status = ot__stage_post(d, NULL, first, n, ot__stage_chunk(d, B), NULL)) !=
        OT_OK) {
        ot__stages_close(&stages);
        return status;
    }
    ot__engine e;
    if ((status = ot__engine_open(&e, m, T, S, B, 0, NULL)) != OT_OK) {
        ot__stages_close(&stages);
        return status;
    }
    if (c.threads == 0)
        ot__engine_adapt(&e);
    if (c.elastic == OT_ELASTIC_ON || (c.elastic == OT_ELASTIC_AUTO && c.threads == 0))
        ot__engine_elastic(&e);
    ot__engine_add_data(&e, d);
    ot__engine_add_length(&e, B);
    ot__engine_add_length(&e, n % B);
    ot__job job = {.kind = OT__JOB_FORWARD, .rows = {d, NULL, first, n,
                                                         sums ? c.sample_weight : NULL},
                   .with_loss = sums != NULL, .out = out};
    ot__job_result res;
    status = ot__engine_run_one(&e, &job, &res);
    if (status == OT_OK && sums != NULL)
        *sums = res.sums;
    ot__engine_close(&e);
    ot__stages_close(&stages);
    return status;
}

ot_status ot_model_evaluate(const ot_model *m, const ot_dataset *d,
                            const ot_eval_config *cfg, double *loss,
                            double *metric)
{
    return ot_model_evaluate_metrics(m, d, cfg, loss, metric, metric ? 1 : 0);
}

ot_status ot_model_evaluate_metrics(const ot_model *m, const ot_dataset *d,
                                    const ot_eval_config *cfg, double *loss,
                                    double *metrics, size_t cap)
{
    ot_status status;
    if (m == NULL || d == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "evaluate: model and data must "
                        "not be NULL");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "evaluate: the model is not compiled "
                        "(its loss is unknown)");
    if ((status = ot__dataset_check(d, m, "evaluate", 1)) != OT_OK)
        return status;
    if (metrics == NULL && cap > 0)
        return ot__fail(OT_INVALID_ARGUMENT, "evaluate: NULL metrics for %zu values", cap);
    if (cfg != NULL && (status = ot__check_sample_weights(cfg->sample_weight,
                                                          cfg->sample_weights, d->n,
                                                          "evaluate")) != OT_OK)
        return status;
    ot__sums sums;
    if ((status = forward(m, d, 0, d->n, cfg, &sums, NULL)) != OT_OK)
        return status;
    if (loss)
        *loss = sums.v[0] / (double)d->n;
    double values[OT_METRICS_MAX];
    ot__metric_values(m, &sums, (double)d->n, values);
    for (size_t k = 0; k < cap && k < m->metrics.n; k++)
        metrics[k] = values[k];
    return OT_OK;
}

static ot_status check_predict(const ot_model *m, const float *x, size_t n,
                               const void *out)
{
    if (m == NULL || x == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: NULL argument");
    if (n == 0 || n > OT_MAX_SAMPLES)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: %zu rows: must be in "
                        "1..%zu", n, OT_MAX_SAMPLES);
    /* refused as a dataset refuses them: NaN would come out as plausible
     * probabilities */
    const size_t dim = m->input_dim;
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i]))
            return ot__fail(OT_NON_FINITE, "predict: feature %zu of row %zu is not "
                            "finite", i % dim, i / dim);
    return OT_OK;
}

ot_status ot_model_predict(const ot_model *m, const float *x, size_t n, float *out,
                           size_t out_count, const ot_eval_config *cfg)
{
    ot_status status = check_predict(m, x, n, out);
    if (status != OT_OK)
        return status;
    size_t classes = ot_model_output_dim(m);
    if (out_count / classes < n)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: output holds %zu floats, "
                        "%zu rows x %zu outputs need more", out_count, n,
                        classes);
    /* A view of the caller's rows: no copy, no labels. */
    ot_dataset view = {.n = n, .dim = m->input_dim, .x = (float *)x};
    return forward(m, &view, 0, n, cfg, NULL, out);
}

/* Class of one output row: argmax, or for one output, above one half. */
static int32_t row_class(const float *p, size_t C)
{
    if (C == 1)
        return p[0] > 0.5f;
    size_t best = 0;
    for (size_t j = 1; j < C; j++)
        if (p[j] > p[best])
            best = j;
    return (int32_t)best;
}

/* Outputs of every row of x, then their classes, in batches of memory. */
static ot_status classes_of(const ot_model *m, const ot_dataset *view,
                            const ot_eval_config *cfg, int32_t *classes)
{
    const size_t C = ot_model_output_dim(m), chunk = 65536;
    float *out = ot__alloc(chunk * C, sizeof(float), "predictions");
    if (out == NULL)
        return OT_OUT_OF_MEMORY;
    ot_status status = OT_OK;
    for (size_t i = 0; i < view->n && status == OT_OK; i += chunk) {
        size_t n = view->n - i < chunk ? view->n - i : chunk;
        status = forward(m, view, i, n, cfg, NULL, out);
        for (size_t r = 0; r < n && status == OT_OK; r++)
            classes[i + r] = row_class(out + r * C, C);
    }
    ot__free(out);
    return status;
}

ot_status ot_model_predict_classes(const ot_model *m, const float *x, size_t n,
                                   int32_t *classes, const ot_eval_config *cfg)
{
    ot_status status = check_predict(m, x, n, classes);
    if (status != OT_OK)
        return status;
    ot_dataset view = {.n = n, .dim = m->input_dim, .x = (float *)x};
    return classes_of(m, &view, cfg, classes);
}

ot_status ot_model_predict_dataset(const ot_model *m, const ot_dataset *d, size_t first,
                                   size_t n, float *out, size_t out_count, int32_t *classes,
                                   const ot_eval_config *cfg)
{
    if (m == NULL || d == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: NULL argument");
    if (n == 0 || first > d->n || n > d->n - first)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: rows %zu..%zu of %zu", first,
                        first + n, d->n);
    ot_status status = ot__dataset_check(d, m, "predict", 0);
    if (status != OT_OK)
        return status;
    const size_t C = ot_model_output_dim(m);
    if (out_count / C < n)
        return ot__fail(OT_INVALID_ARGUMENT, "predict: output holds %zu floats, "
                        "%zu rows x %zu outputs need more", out_count, n, C);
    status = forward(m, d, first, n, cfg, NULL, out);
    for (size_t r = 0; status == OT_OK && classes != NULL && r < n; r++)
        classes[r] = row_class(out + r * C, C);
    return status;
}

ot_status ot_model_confusion_matrix(const ot_model *m, const ot_dataset *d,
                                    const ot_eval_config *cfg, size_t *counts,
                                    size_t classes)
{
    if (m == NULL || d == NULL || counts == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: NULL argument");
    size_t C = ot_model_output_dim(m), K = C == 1 ? 2 : C;
    if (classes != K)
        return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: %zu classes "
                        "given, the model has %zu", classes, K);
    if (d->y == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: the data has "
                        "no integer labels");
    ot_status status = ot__dataset_check(d, m, "confusion matrix", 0);
    if (status != OT_OK)
        return status;
    for (size_t i = 0; i < d->n; i++)
        if (d->y[i] < 0 || (size_t)d->y[i] >= K)
            return ot__fail(OT_INVALID_ARGUMENT, "confusion matrix: label %d of "
                            "sample %zu is outside the model's %zu classes",
                            (int)d->y[i], i, K);
    int32_t *pred = ot__alloc(d->n, sizeof(int32_t), "predicted classes");
    if (pred == NULL)
        return OT_OUT_OF_MEMORY;
    status = classes_of(m, d, cfg, pred);
    if (status == OT_OK) {
        memset(counts, 0, K * K * sizeof *counts);
        for (size_t i = 0; i < d->n; i++)
            counts[(size_t)d->y[i] * K + (size_t)pred[i]]++;
    }
    ot__free(pred);
    return status;
}
