/*
 * dense.h - one Dense layer for one shard shape on oneDNN inner products:
 * forward, backward-weights (with bias) and backward-data. Knows nothing of
 * threads: the caller gives it a stream. Not installed.
 */
#ifndef OT_DENSE_H
#define OT_DENSE_H

#include "onednn.h"

typedef struct ot__dense {
    ot__prim fwd;     /* dst = src . W^T + b */
    ot__prim bwd_w;   /* dW = ddst^T . src, db = sum_rows ddst */
    ot__prim bwd_d;   /* dsrc = ddst . W (absent for the first layer) */
    dnnl_memory_t src, w, b, dst, dsrc, ddst, dw, db;
} ot__dense;

/* Buffers (not owned), rows x features, row-major:
 *   src (rows x in), w (out x in, "oi"), b (out), dst (rows x out),
 *   ddst (rows x out), dsrc (rows x in, NULL: no backward-data).
 * training == 0 builds the forward pass only (forward_inference). */
typedef struct ot__dense_io {
    float *src, *w, *b, *dst, *ddst, *dsrc;
} ot__dense_io;

ot_status ot__dense_init(ot__dense *d, dnnl_engine_t engine, size_t rows,
                         size_t in, size_t out, const ot__dense_io *io,
                         int training, size_t layer);
void ot__dense_destroy(ot__dense *d);

ot_status ot__dense_forward(ot__dense *d, dnnl_stream_t stream);

/* Writes the weight and bias gradients into dw and db, then (when built)
 * the gradient with respect to the input into dsrc. */
ot_status ot__dense_backward(ot__dense *d, dnnl_stream_t stream, float *dw,
                             float *db);

#endif
