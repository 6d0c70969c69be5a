/*
 * dense.h - one Dense layer for one shard shape on oneDNN inner products
 * (the forward pass on small shards on oneDNN's matmul: see dense.c):
 * forward, backward-weights (with bias) and backward-data. Knows nothing of
 * threads: the caller gives it a stream. Not installed.
 */
#ifndef OT_DENSE_H
#define OT_DENSE_H

#include "onednn.h"

typedef struct ot__dense {
    /* dst = src . W^T + b: the inner product, or the transposed product
     * into zt followed by dst = zt^T + b (see ot__dense_transposed) */
    ot__prim fwd;
    ot__prim bwd_w;   /* dW = ddst^T . src, db = sum_rows ddst */
    ot__prim bwd_d;   /* dsrc = ddst . W (absent for the first layer) */
    dnnl_memory_t src, w, b, dst, dsrc, ddst, dw, db;
    /* the transposed product only: its views of w and src, and zt */
    dnnl_memory_t tw, tsrc, tzt;
    float *zt;             /* out x rows; NULL: the inner product */
    const float *bias;
    float *dst_data;
    size_t rows, out;
} ot__dense;

/* Whether the forward pass of a layer `in` -> `out` over `rows` rows is the
 * transposed product: with mode 0, a fixed rule of the shapes and the
 * processor, so that the same shard always sums in the same order (see
 * dense.c); mode 1 always, -1 never (tests and developer tools). */
int ot__dense_transposed(size_t rows, size_t in, size_t out, int mode);

/* Buffers (not owned), rows x features, row-major:
 *   src (rows x in), w (out x in, "oi"), b (out), dst (rows x out),
 *   ddst (rows x out), dsrc (rows x in, NULL: no backward-data).
 * training == 0 builds the forward pass only (forward_inference);
 * transposed: ot__dense_transposed's mode. */
typedef struct ot__dense_io {
    float *src, *w, *b, *dst, *ddst, *dsrc;
} ot__dense_io;

ot_status ot__dense_init(ot__dense *d, dnnl_engine_t engine, size_t rows,
                         size_t in, size_t out, const ot__dense_io *io,
                         int training, size_t layer, int transposed);
void ot__dense_destroy(ot__dense *d);

ot_status ot__dense_forward(ot__dense *d, dnnl_stream_t stream);

/* The products read their rows from src from now on (same shape). */
ot_status ot__dense_set_src(ot__dense *d, float *src);

/* Writes the weight and bias gradients into dw and db, then (when built)
 * the gradient with respect to the input into dsrc. */
ot_status ot__dense_backward(ot__dense *d, dnnl_stream_t stream, float *dw,
                             float *db);

/*
 * Columns [c0, c1) of a Dense layer's inputs, for the thread that holds
 * those inputs (src, rows x w, w = c1 - c0): the layer's products cut by
 * its inputs (unit_split.c cuts a last layer kept whole this way).
 *   forward:  part (rows x out) = src . W[:, c0:c1]^T, no bias: the
 *             layer's output is the sum of the parts, plus b;
 *   backward: dW[:, c0:c1] = ddst^T . src, and dsrc (rows x w) =
 *             ddst . W[:, c0:c1].
 * W is the whole "oi" matrix (out x in). The products run on contiguous
 * copies of its columns and of their gradient (out x w each), copied in by
 * the forward pass and out by the backward pass: on strided views of W,
 * oneDNN 2.6 takes its gemm:jit matmul instead of brgemm, several times
 * slower on these small products than the copies cost.
 */
typedef struct ot__dense_cols {
    ot__prim fwd, bwd_d, bwd_w;
    dnnl_memory_t mem[3][3]; /* each product's a, b and dst */
    const float *w;          /* W[:, c0] in the arena, row stride in */
    float *wc, *dwc;         /* out x w: the copies */
    size_t c0, in, out, cols;
} ot__dense_cols;

/* Buffers (not owned): src (rows x w), w (the layer's out x in weights),
 * part (rows x out), ddst (rows x out), dsrc (rows x w). */
typedef struct ot__dense_cols_io {
    float *src, *w, *part, *ddst, *dsrc;
} ot__dense_cols_io;

ot_status ot__dense_cols_init(ot__dense_cols *d, dnnl_engine_t engine, size_t rows,
                              size_t in, size_t out, size_t c0, size_t c1,
                              const ot__dense_cols_io *io, size_t layer);
void ot__dense_cols_destroy(ot__dense_cols *d);
ot_status ot__dense_cols_forward(ot__dense_cols *d, dnnl_stream_t stream);

/* dw: the layer's whole weight gradient (out x in); writes its columns
 * [c0, c1), and dsrc. The weights must be those of the forward pass. */
ot_status ot__dense_cols_backward(ot__dense_cols *d, dnnl_stream_t stream, float *dw);

#endif
