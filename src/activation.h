/*
 * activation.h - activations on oneDNN primitives (eltwise, softmax),
 * forward and backward for one shard shape.
 *
 * Forward reads the layer's pre-activation z and writes a = f(z); backward
 * turns the gradient with respect to a (in `diff`) into the gradient with
 * respect to z, in place. When f' can be computed from a alone ("use_dst"
 * algorithms, softmax) a and z share one buffer; otherwise the caller keeps
 * z apart (ot__activation_needs_src). Linear layers, and a last layer whose
 * activation the loss computes, have no primitive here. Not installed.
 */
#ifndef OT_ACTIVATION_H
#define OT_ACTIVATION_H

#include "onednn.h"

typedef struct ot__activation {
    ot__prim fwd[2], bwd[2]; /* run fwd[0], fwd[1]; bwd[0], bwd[1]; prim NULL: none */
    dnnl_memory_t z, a, diff;
} ot__activation;

/* Whether backward needs z kept apart from a. */
int ot__activation_needs_src(ot_activation act);

/* z, a: rows x units buffers (a == z when in place); diff likewise. */
ot_status ot__activation_init(ot__activation *f, dnnl_engine_t engine,
                              ot_activation act, size_t rows, size_t units,
                              float *z, float *a, float *diff, int training,
                              size_t layer);
void ot__activation_destroy(ot__activation *f);
ot_status ot__activation_forward(ot__activation *f, dnnl_stream_t stream);
ot_status ot__activation_backward(ot__activation *f, dnnl_stream_t stream);

#endif
