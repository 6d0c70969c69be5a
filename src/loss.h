/*
 * loss.h - the losses and their metrics over one shard's outputs. Plain C.
 * Not installed.
 *
 * Targets come either as float rows (rows x C) or as integer labels, read
 * as one-hot rows when C > 1 and as the value itself when C == 1.
 */
#ifndef OT_LOSS_H
#define OT_LOSS_H

#include "common.h"

typedef struct ot__loss_batch {
    const float *out;      /* rows x C: logits when fused, else outputs */
    const int32_t *labels; /* rows, or NULL */
    const float *targets;  /* rows x C, or NULL */
    size_t rows, C;
    const float *class_w;  /* training with class weights (Keras' class_weight):
                            * a row's loss and gradient times its true class's
                            * weight (cross-entropies only); NULL: none */
    const float *row_w;    /* sample weights (Keras' sample_weight), rows of
                            * them: a row's loss and gradient times its own,
                            * and times its class's too; NULL: none */
} ot__loss_batch;

/* Row r's target for output j: its float target, else its label read as
 * one-hot (many outputs) or as the value itself (one output). */
static inline float ot__loss_target(const ot__loss_batch *b, size_t r, size_t j)
{
    if (b->targets != NULL)
        return b->targets[r * b->C + j];
    if (b->C == 1)
        return (float)b->labels[r];
    return (size_t)b->labels[r] == j ? 1.0f : 0.0f;
}

/* The index of the first maximum of v[0..n), as numpy's argmax. */
static inline size_t ot__argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* Adds the sum over rows of the per-sample loss (mean over the outputs) to
 * *loss_sum (the metrics are metrics.h's). When diff is not NULL it
 * receives the gradient of scale * sum_r loss_r with respect to `out`
 * (the logits when fused). diff may alias out. */
void ot__loss(ot_loss loss, const ot__loss_batch *b, float scale, float *diff,
              double *loss_sum);

/* The activations that the loss computes, for predict, in place: softmax
 * of each row of logits (rows x classes); the sigmoid of n logits (within
 * 2 ulp, 0 where it falls below FLT_MIN, a NaN kept). */
void ot__softmax_rows(float *x, size_t rows, size_t classes);
void ot__sigmoid(float *x, size_t n);

/* v[i] = e^v[i] for v[i] <= 0 (the logits less their row's maximum),
 * within 1 ulp, in a loop that vectorises; 0 below ln(FLT_MIN). */
void ot__exp_nonpositive(float *v, size_t n);

#endif
