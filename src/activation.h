/*
 * activation.h - hidden-layer activations on oneDNN eltwise primitives,
 * computed in place: forward overwrites the layer's output with f(x);
 * backward turns the gradient with respect to f(x) into the gradient with
 * respect to x, in place, from f(x) alone ("use_dst_for_bwd"). Linear and
 * softmax layers have no primitive here (softmax is fused with the loss).
 * Not installed.
 */
#ifndef OT_ACTIVATION_H
#define OT_ACTIVATION_H

#include "onednn.h"

typedef struct ot__activation {
    ot__prim fwd, bwd; /* prim NULL: identity */
    dnnl_memory_t data, diff;
} ot__activation;

/* data and diff: rows x units buffers (not owned). */
ot_status ot__activation_init(ot__activation *a, dnnl_engine_t engine,
                              ot_activation act, size_t rows, size_t units,
                              float *data, float *diff, int training,
                              size_t layer);
void ot__activation_destroy(ot__activation *a);
ot_status ot__activation_forward(ot__activation *a, dnnl_stream_t stream);
ot_status ot__activation_backward(ot__activation *a, dnnl_stream_t stream);

#endif
