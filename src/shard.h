/*
 * shard.h - one worker thread's state: its stream, its activation buffers,
 * and the primitives of every shard shape (rows) it will see, built once
 * before the step loop. Running a shard allocates nothing and creates
 * nothing. Serial code: the trainer calls it from inside its parallel region.
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
    size_t max_rows;
    float *x;   /* max_rows x input_dim: the gathered shard */
    int32_t *y; /* max_rows labels */
    float **a;  /* per layer, max_rows x units: outputs (in place: f(x)) */
    float **d;  /* per layer, max_rows x units: gradients of the outputs */
    ot__plan plans[OT__MAX_PLANS];
    size_t n_plans;
} ot__worker;

/* Allocates the buffers for up to max_rows rows (first touch: call from the
 * thread that will run the worker). */
ot_status ot__worker_init(ot__worker *w, const ot_model *model,
                          dnnl_engine_t engine, size_t max_rows, int training);

/* Builds the primitives for shards of `rows` rows, once per distinct size. */
ot_status ot__worker_plan(ot__worker *w, size_t rows);

void ot__worker_destroy(ot__worker *w);

/* One training shard: rows idx[first..first+rows) of d (or rows first.. when
 * idx is NULL). Forward, loss (scaled by `scale` = 1 / global batch) and
 * backward; the gradient goes to `grad` (arena layout). Adds the shard's
 * summed loss and correct count. */
ot_status ot__worker_train(ot__worker *w, const ot_dataset *d,
                           const uint32_t *idx, size_t first, size_t rows,
                           float scale, float *grad, double *loss,
                           size_t *correct);

/* One forward-only shard: adds loss and correct count when d has labels;
 * writes the outputs (probabilities for softmax) to `out` when not NULL. */
ot_status ot__worker_eval(ot__worker *w, const ot_dataset *d,
                          const uint32_t *idx, size_t first, size_t rows,
                          double *loss, size_t *correct, float *out);

#endif
