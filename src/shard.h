/*
 * shard.h - one worker thread's state: its stream, its buffers, and the
 * primitives of every shard shape (rows) it will see, built once before the
 * step loop. Running a shard allocates nothing and creates nothing. Serial
 * code: the trainer calls it from inside its parallel region.
 * Not installed.
 */
#ifndef OT_SHARD_H
#define OT_SHARD_H

#include "activation.h"
#include "dataset.h"
#include "dense.h"
#include "model.h"

#define OT__MAX_PLANS 8

/* The primitives of one shard shape. */
typedef struct ot__plan {
    size_t rows;
    ot__dense *dense;    /* per layer */
    ot__activation *act; /* per layer */
} ot__plan;

typedef struct ot__worker {
    const ot_model *model;
    dnnl_engine_t engine; /* borrowed */
    dnnl_stream_t stream;
    int training;
    int transposed;     /* ot__dense_transposed's mode */
    int fused;          /* the loss computes the last activation */
    size_t max_rows;
    float *x;   /* max_rows x input_dim: the gathered, scaled shard */
    int32_t *y; /* max_rows labels */
    float *sw;  /* max_rows sample weights */
    float *t;   /* max_rows x targets, when the data has float targets */
    float **z;  /* per layer, max_rows x units: Dense outputs */
    float **a;  /* per layer: activations (== z when computed in place) */
    float **d;  /* per layer: gradients of a, then (in place) of z */
    ot__plan plans[OT__MAX_PLANS];
    size_t n_plans;
} ot__worker;

/* Rows of shard s when a batch of `batch` rows is cut into `shards`:
 * sizes differ by at most one, the larger ones first. */
static inline void ot__shard_range(size_t batch, size_t shards, size_t s, size_t *first,
                                   size_t *rows)
{
    size_t q = batch / shards, r = batch % shards;
    *first = s * q + (s < r ? s : r);
    *rows = q + (s < r);
}

/* Allocates the buffers for up to max_rows rows (first touch: call from the
 * thread that will run the worker); n_targets: float targets per row;
 * transposed: ot__dense_transposed's mode. */
ot_status ot__worker_init(ot__worker *w, const ot_model *model,
                          dnnl_engine_t engine, size_t max_rows,
                          size_t n_targets, int training, int transposed);

/* Builds the primitives for shards of `rows` rows, once per distinct size. */
ot_status ot__worker_plan(ot__worker *w, size_t rows);

void ot__worker_destroy(ot__worker *w);

/* Rows idx[first..first+rows) of a dataset (rows first.. when idx is NULL),
 * and the sample weights their loss takes, by the dataset's row (NULL:
 * none). */
typedef struct ot__rows {
    const ot_dataset *data;
    const uint32_t *idx;
    size_t first, rows;
    const float *weight;
} ot__rows;

/* out[k] = r->weight of the k-th of rows [r->first + from, + n). */
static inline void ot__rows_weights(const ot__rows *r, size_t from, size_t n, float *out)
{
    for (size_t k = 0; k < n; k++) {
        size_t j = r->first + from + k;
        out[k] = r->weight[r->idx ? r->idx[j] : j];
    }
}

/* One training shard: forward, loss (scaled by `scale` = 1 / global batch)
 * and backward; the gradient goes to `grad` (arena layout). Adds the shard's
 * summed loss and metrics. */
ot_status ot__worker_train(ot__worker *w, const ot__rows *r, float scale,
                           float *grad, ot__sums *sums);

/* The bare primitives of one training shard of `rows` rows on the worker's
 * current buffers: every layer's forward, activation and backward passes,
 * gradients into `grad`; no gather, no loss. For the benchmark's
 * kernel-only ceiling. */
ot_status ot__worker_kernels(ot__worker *w, size_t rows, float *grad);

/* One forward-only shard: adds loss and metrics when the data has labels
 * or targets and `sums` is not NULL; writes the outputs (probabilities for a
 * softmax or sigmoid last layer) to `out` when not NULL. */
ot_status ot__worker_eval(ot__worker *w, const ot__rows *r, ot__sums *sums,
                          float *out);

#endif
