/*
 * shard.c - one shard's forward and backward pass through the whole model,
 * on the worker's prebuilt primitives.
 *
 * Data flow for L layers, shard of n rows (buffers are n x units):
 *   x -> dense_0 -> z_0 -> f_0 -> a_0 -> ... -> dense_{L-1} -> z_{L-1} -> a_{L-1}
 *   loss(a_{L-1} or, fused, z_{L-1}; targets) -> d_{L-1}
 *   for l = L-1 .. 0: f_l backward (d_l: from d/da to d/dz, in place),
 *                     dense_l backward-weights into grad,
 *                     backward-data into d_{l-1} (l > 0)
 */
#include <string.h>

#include "loss.h"
#include "shard.h"


ot_status ot__worker_init(ot__worker *w, const ot_model *m,
                          dnnl_engine_t engine, size_t max_rows,
                          size_t n_targets, int training, int transposed)
{
    ot_status status = OT_OK;
    memset(w, 0, sizeof *w);
    w->model = m;
    w->engine = engine;
    w->training = training;
    w->transposed = transposed;
    w->fused = m->compiled && m->fused;
    w->max_rows = max_rows;
    size_t L = m->n_layers;
    OT_DNNL(dnnl_stream_create(&w->stream, engine, dnnl_stream_default_flags));
    w->x = ot__calloc(max_rows * m->input_dim, sizeof(float), "shard inputs");
    w->y = ot__calloc(max_rows, sizeof(int32_t), "shard labels");
    w->sw = ot__calloc(max_rows, sizeof(float), "shard sample weights");
    if (n_targets > 0)
        w->t = ot__calloc(max_rows * n_targets, sizeof(float), "shard targets");
    w->z = ot__calloc(L, sizeof(float *), "shard buffers");
    w->a = ot__calloc(L, sizeof(float *), "shard buffers");
    w->d = ot__calloc(L, sizeof(float *), "shard buffers");
    if (!w->x || !w->y || !w->sw || (n_targets > 0 && !w->t) || !w->z || !w->a || !w->d)
        goto oom;
    for (size_t l = 0; l < L; l++) {
        size_t n = max_rows * m->layers[l].out;
        w->z[l] = ot__calloc(n, sizeof(float), "shard outputs");
        if (w->z[l] == NULL)
            goto oom;
        w->a[l] = w->z[l];
        if (ot__model_runs_activation(m, l) && ot__activation_needs_src(m->layers[l].act)) {
            w->a[l] = ot__calloc(n, sizeof(float), "shard activations");
            if (w->a[l] == NULL)
                goto oom;
        }
        if (training) {
            w->d[l] = ot__calloc(n, sizeof(float), "shard gradients");
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
            .dst = w->z[l],
            .ddst = w->d[l],
            .dsrc = (w->training && l > 0) ? w->d[l - 1] : NULL,
        };
        OT_TRY(ot__dense_init(&p->dense[l], w->engine, rows, ly->in, ly->out,
                              &io, w->training, l, w->transposed));
        if (ot__model_runs_activation(m, l))
            OT_TRY(ot__activation_init(&p->act[l], w->engine, ly->act, rows,
                                       ly->out, w->z[l], w->a[l], w->d[l],
                                       w->training, l));
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
    for (size_t l = 0; l < L; l++) {
        if (w->a && w->z && w->a[l] != w->z[l])
            ot__free(w->a[l]);
        if (w->z)
            ot__free(w->z[l]);
        if (w->d)
            ot__free(w->d[l]);
    }
    ot__free(w->z);
    ot__free(w->a);
    ot__free(w->d);
    ot__free(w->x);
    ot__free(w->y);
    ot__free(w->sw);
    ot__free(w->t);
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

/* Gathers the rows, runs the forward pass, and describes the outputs. */
static ot_status gather_forward(ot__worker *w, ot__plan *p, const ot__rows *r,
                                ot__loss_batch *b)
{
    const ot_model *m = w->model;
    const size_t L = m->n_layers;
    ot__scaling sc = {m->shift, m->mult};
    ot__dataset_gather(r->data, &sc, r->idx, r->first, r->rows, w->x,
                       r->data->y ? w->y : NULL, r->data->t ? w->t : NULL);
    ot_status status = forward(w, p);
    b->out = w->fused ? w->z[L - 1] : w->a[L - 1];
    b->labels = r->data->y ? w->y : NULL;
    b->targets = r->data->t ? w->t : NULL;
    b->rows = r->rows;
    b->C = m->layers[L - 1].out;
    b->class_w = NULL; /* a forward pass's loss is not weighted by class */
    b->row_w = NULL;
    if (r->weight != NULL) {
        ot__rows_weights(r, 0, r->rows, w->sw);
        b->row_w = w->sw;
    }
    return status;
}

static ot_status no_plan(size_t rows)
{
    return ot__fail(OT_INVALID_STATE, "no primitives were built for shards "
                    "of %zu rows", rows);
}

/* Every layer's activation and Dense backward passes, last to first; the
 * gradients go to `grad` (arena layout). */
static ot_status backward(ot__worker *w, ot__plan *p, float *grad)
{
    ot_status status = OT_OK;
    const ot_model *m = w->model;
    for (size_t l = m->n_layers; l-- > 0;) {
        const ot__layer *ly = &m->layers[l];
        OT_TRY(ot__activation_backward(&p->act[l], w->stream));
        OT_TRY(ot__dense_backward(&p->dense[l], w->stream, grad + ly->w_off,
                                  grad + ly->b_off));
    }
    OT_DNNL(dnnl_stream_wait(w->stream));
fail:
    return status;
}

ot_status ot__worker_train(ot__worker *w, const ot__rows *r, float scale,
                           float *grad, ot__sums *sums)
{
    ot_status status = OT_OK;
    ot__plan *p = find_plan(w, r->rows);
    if (p == NULL || !w->training)
        return no_plan(r->rows);
    ot__loss_batch b;
    OT_TRY(gather_forward(w, p, r, &b));
    b.class_w = w->model->class_w;
    ot__metrics(w->model, &b, sums); /* before the gradient, which may overwrite out */
    ot__loss(w->model->loss, &b, scale, w->d[w->model->n_layers - 1], &sums->v[0]);
    OT_TRY(backward(w, p, grad));
fail:
    return status;
}

ot_status ot__worker_kernels(ot__worker *w, size_t rows, float *grad)
{
    ot_status status = OT_OK;
    ot__plan *p = find_plan(w, rows);
    if (p == NULL || !w->training)
        return no_plan(rows);
    OT_TRY(forward(w, p));
    OT_TRY(backward(w, p, grad));
fail:
    return status;
}

ot_status ot__worker_eval(ot__worker *w, const ot__rows *r, ot__sums *sums,
                          float *out)
{
    ot_status status = OT_OK;
    ot__plan *p = find_plan(w, r->rows);
    if (p == NULL)
        return no_plan(r->rows);
    const ot_model *m = w->model;
    ot__loss_batch b;
    OT_TRY(gather_forward(w, p, r, &b));
    OT_DNNL(dnnl_stream_wait(w->stream));
    if (sums != NULL && (b.labels != NULL || b.targets != NULL)) {
        ot__metrics(m, &b, sums);
        ot__loss(m->loss, &b, 0.0f, NULL, &sums->v[0]);
    }
    if (out != NULL) {
        memcpy(out, b.out, r->rows * b.C * sizeof(float));
        if (w->fused && m->layers[m->n_layers - 1].act == OT_ACTIVATION_SOFTMAX)
            ot__softmax_rows(out, r->rows, b.C);
        else if (w->fused)
            ot__sigmoid(out, r->rows * b.C);
    }
fail:
    return status;
}
