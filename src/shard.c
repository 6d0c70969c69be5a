/*
 * shard.c - one shard's forward and backward pass through the whole model,
 * on the worker's prebuilt primitives.
 *
 * Data flow for L layers, shard of n rows (buffers are n x units):
 *   x -> dense_0 -> a_0 (in place: f_0) -> ... -> dense_{L-1} -> a_{L-1}
 *   loss(a_{L-1}, y) -> d_{L-1}
 *   for l = L-1 .. 0: f_l backward (d_l in place), dense_l backward-weights
 *                     into grad, backward-data into d_{l-1} (l > 0)
 */
#include <string.h>

#include "loss.h"
#include "shard.h"

ot_status ot__worker_init(ot__worker *w, const ot_model *m,
                          dnnl_engine_t engine, size_t max_rows, int training)
{
    ot_status status = OT_OK;
    memset(w, 0, sizeof *w);
    w->model = m;
    w->engine = engine;
    w->training = training;
    w->max_rows = max_rows;
    size_t L = m->n_layers;
    OT_DNNL(dnnl_stream_create(&w->stream, engine, dnnl_stream_default_flags));
    w->x = ot__calloc(max_rows * m->input_dim, sizeof(float), "shard inputs");
    w->y = ot__calloc(max_rows, sizeof(int32_t), "shard labels");
    w->a = ot__calloc(L, sizeof(float *), "shard outputs");
    w->d = ot__calloc(L, sizeof(float *), "shard gradients");
    if (!w->x || !w->y || !w->a || !w->d)
        goto oom;
    for (size_t l = 0; l < L; l++) {
        size_t units = m->layers[l].out;
        w->a[l] = ot__calloc(max_rows * units, sizeof(float), "shard outputs");
        if (w->a[l] == NULL)
            goto oom;
        if (training) {
            w->d[l] = ot__calloc(max_rows * units, sizeof(float), "shard gradients");
            if (w->d[l] == NULL)
                goto oom;
        }
    }
    return OT_OK;
oom:
    status = OT_OUT_OF_MEMORY;
fail:
    ot__worker_destroy(w);
    return status;
}

static void plan_destroy(ot__plan *p, size_t L)
{
    for (size_t l = 0; l < L; l++) {
        if (p->dense)
            ot__dense_destroy(&p->dense[l]);
        if (p->act)
            ot__activation_destroy(&p->act[l]);
    }
    ot__free(p->dense);
    ot__free(p->act);
    memset(p, 0, sizeof *p);
}

ot_status ot__worker_plan(ot__worker *w, size_t rows)
{
    ot_status status = OT_OK;
    if (rows == 0 || rows > w->max_rows)
        return ot__fail(OT_INVALID_ARGUMENT, "shard of %zu rows: the worker "
                        "holds 1..%zu", rows, w->max_rows);
    for (size_t i = 0; i < w->n_plans; i++)
        if (w->plans[i].rows == rows)
            return OT_OK;
    if (w->n_plans == OT__MAX_PLANS)
        return ot__fail(OT_INVALID_STATE, "more than %d shard shapes",
                        OT__MAX_PLANS);
    const ot_model *m = w->model;
    size_t L = m->n_layers;
    ot__plan *p = &w->plans[w->n_plans];
    p->rows = rows;
    p->dense = ot__calloc(L, sizeof *p->dense, "shard plan");
    p->act = ot__calloc(L, sizeof *p->act, "shard plan");
    if (!p->dense || !p->act) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t l = 0; l < L; l++) {
        const ot__layer *ly = &m->layers[l];
        ot__dense_io io = {
            .src = l == 0 ? w->x : w->a[l - 1],
            .w = m->params + ly->w_off,
            .b = m->params + ly->b_off,
            .dst = w->a[l],
            .ddst = w->d[l],
            .dsrc = (w->training && l > 0) ? w->d[l - 1] : NULL,
        };
        OT_TRY(ot__dense_init(&p->dense[l], w->engine, rows, ly->in, ly->out,
                              &io, w->training, l));
        OT_TRY(ot__activation_init(&p->act[l], w->engine, ly->act, rows,
                                   ly->out, w->a[l], w->d[l], w->training, l));
    }
    w->n_plans++;
    return OT_OK;
fail:
    plan_destroy(p, L);
    return status;
}

void ot__worker_destroy(ot__worker *w)
{
    if (w->model == NULL)
        return;
    size_t L = w->model->n_layers;
    for (size_t i = 0; i < OT__MAX_PLANS; i++)
        plan_destroy(&w->plans[i], L);
    for (size_t l = 0; w->a && l < L; l++)
        ot__free(w->a[l]);
    for (size_t l = 0; w->d && l < L; l++)
        ot__free(w->d[l]);
    ot__free(w->a);
    ot__free(w->d);
    ot__free(w->x);
    ot__free(w->y);
    if (w->stream)
        dnnl_stream_destroy(w->stream);
    memset(w, 0, sizeof *w);
}

static ot__plan *find_plan(ot__worker *w, size_t rows)
{
    for (size_t i = 0; i < w->n_plans; i++)
        if (w->plans[i].rows == rows)
            return &w->plans[i];
    return NULL;
}

static ot_status forward(ot__worker *w, ot__plan *p)
{
    ot_status status = OT_OK;
    for (size_t l = 0; l < w->model->n_layers; l++) {
        OT_TRY(ot__dense_forward(&p->dense[l], w->stream));
        OT_TRY(ot__activation_forward(&p->act[l], w->stream));
    }
fail:
    return status;
}

static ot_status no_plan(size_t rows)
{
    return ot__fail(OT_INVALID_STATE, "no primitives were built for shards "
                    "of %zu rows", rows);
}

ot_status ot__worker_train(ot__worker *w, const ot_dataset *d,
                           const uint32_t *idx, size_t first, size_t rows,
                           float scale, float *grad, double *loss,
                           size_t *correct)
{
    ot_status status = OT_OK;
    ot__plan *p = find_plan(w, rows);
    if (p == NULL || !w->training)
        return no_plan(rows);
    const ot_model *m = w->model;
    const size_t L = m->n_layers;
    ot__dataset_gather(d, idx, first, rows, w->x, w->y);
    OT_TRY(forward(w, p));
    ot__scce(w->a[L - 1], w->y, rows, m->layers[L - 1].out, scale, w->d[L - 1],
             loss, correct);
    for (size_t l = L; l-- > 0;) {
        const ot__layer *ly = &m->layers[l];
        OT_TRY(ot__activation_backward(&p->act[l], w->stream));
        OT_TRY(ot__dense_backward(&p->dense[l], w->stream, grad + ly->w_off,
                                  grad + ly->b_off));
    }
    OT_DNNL(dnnl_stream_wait(w->stream));
fail:
    return status;
}

ot_status ot__worker_eval(ot__worker *w, const ot_dataset *d,
                          const uint32_t *idx, size_t first, size_t rows,
                          double *loss, size_t *correct, float *out)
{
    ot_status status = OT_OK;
    ot__plan *p = find_plan(w, rows);
    if (p == NULL)
        return no_plan(rows);
    const ot_model *m = w->model;
    const size_t L = m->n_layers;
    const size_t classes = m->layers[L - 1].out;
    ot__dataset_gather(d, idx, first, rows, w->x, d->y ? w->y : NULL);
    OT_TRY(forward(w, p));
    OT_DNNL(dnnl_stream_wait(w->stream));
    if (d->y != NULL && loss != NULL)
        ot__scce(w->a[L - 1], w->y, rows, classes, 0.0f, NULL, loss, correct);
    if (out != NULL) {
        if (m->layers[L - 1].act == OT_ACTIVATION_SOFTMAX)
            ot__softmax_rows(w->a[L - 1], rows, classes, out);
        else
            memcpy(out, w->a[L - 1], rows * classes * sizeof(float));
    }
fail:
    return status;
}
