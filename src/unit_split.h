/*
 * unit_split.h - a training step cut by each layer's units instead of by
 * rows, for small batches: every block of units of a layer runs over the
 * whole batch, on the thread that owns it. Not installed.
 *
 * With S shards, layer l's units are cut into n_l <= S blocks of at least
 * 16 units (one block for a softmax layer and for a last layer whose
 * activation the loss computes). Block j of layer l owns rows [c0, c1) of
 * the layer's weights (contiguous in "oi"), the same rows of the gradient
 * and of the optimizer state: a thread reads and writes only its own
 * weights, so nothing of the weights crosses between cores and nothing is
 * reduced. Nor do the rows: every thread that owns a block of layer 0
 * gathers all of them into its own buffer (a byte read for each float
 * written, where half of a shared buffer would come from the other core).
 * What crosses is per row of the batch:
 *
 *   forward, layer l, block j: z_j = in_l . W[c0:c1]^T + b[c0:c1], a_j = f(z_j),
 *           a_j copied into columns [c0, c1) of in_{l+1}      | barrier
 *   loss over the last layer's outputs -> its gradient
 *   backward, layer l, block j: d_j = sum over the blocks k of layer l+1 of
 *           p_{l+1,k}[:, c0:c1] (in block order), f backward, dW, db, and
 *           p_{l,j} = d_j . W[c0:c1] (layer l > 0)               | barrier
 *
 * A last layer kept whole (a softmax, or the loss's own activation) is cut
 * by its inputs instead when the layer before it is in blocks: block j of
 * layer L-2 also owns columns [c0, c1) of the last layer's weights, W_L[:,
 * c0:c1], their gradient and state. It computes its part of the logits,
 * part_j = a_j . W_L[:, c0:c1]^T, from its own outputs (which are then not
 * copied anywhere), and after the loss its own gradient directly,
 * d_j = dout . W_L[:, c0:c1], with dW_L[:, c0:c1] = dout^T . a_j. The last
 * layer's block (shard 0's thread) keeps the bias, the sum of the parts in
 * block order, the activation, the loss and db. What crosses is rows x
 * classes per block, where the whole layer on one thread read every
 * block's outputs and wrote the whole input gradient for the others.
 *
 * Every block's sums depend only on the block and the batch, never on which
 * thread runs it: the weights are the same for every thread count, as with
 * shards (but not the same as the row-cut step's: the arithmetic differs).
 * Serial code: the trainer calls it between its barriers.
 */
#ifndef OT_UNIT_SPLIT_H
#define OT_UNIT_SPLIT_H

#include "activation.h"
#include "dataset.h"
#include "dense.h"
#include "model.h"

#define OT__USPLIT_LENS 2 /* the batch and the last, shorter one */

/* Whether a training step of `rows` rows with `shards` shards is cut by
 * units: with mode 0, a fixed rule of the model's shapes, the rows and the
 * shard count; mode 1 wherever the model has a layer of several blocks, -1
 * never (tests and developer tools). */
int ot__usplit_applies(const ot_model *m, size_t rows, size_t shards, int mode);

/* Units [c0, c1) of block j of layer l, and the number of blocks. */
size_t ot__usplit_blocks(const ot_model *m, size_t l, size_t shards);
void ot__usplit_block_units(const ot_model *m, size_t l, size_t shards,
                            size_t j, size_t *c0, size_t *c1);

/* One block, with its primitives per batch length: made by the thread
 * that runs it with the whole team, run by whichever thread holds its
 * shard at the time (engine.c: the team may shrink and grow). */
typedef struct ot__ublock {
    size_t layer, j, c0, c1;
    int made;         /* built here (with ranks, only this rank's are) */
    const float *src; /* layer 0: the thread's rows its products read now */
    float *z, *a, *d; /* rows x (c1 - c0) */
    float *p;         /* rows x in: its part of the gradient of the input */
    int d_shared;     /* d is u->dout, not the block's own */
    ot__dense dense[OT__USPLIT_LENS];
    ot__activation act[OT__USPLIT_LENS];
    /* a block of layer L-2 when the last layer is cut by its inputs: its
     * columns of the last layer, and its part of the logits */
    ot__dense_cols head[OT__USPLIT_LENS];
    float *part; /* rows x classes */
} ot__ublock;

/* What the threads share. */
typedef struct ot__usplit {
    const ot_model *model;
    size_t shards, max_rows;
    size_t lens[OT__USPLIT_LENS], n_lens;
    int fused;
    int transposed; /* ot__dense_transposed's mode */
    int by_inputs; /* the last layer is cut by its inputs (see above) */
    size_t n_blocks[OT_MAX_LAYERS];
    int32_t *y;    /* the batch's labels or targets and sample weights, */
    float *t, *sw; /* gathered and read by the thread of shard 0 only (it
                    * computes the loss) */
    int weighted;  /* the rows gathered last have sample weights in sw */
    float *in[OT_MAX_LAYERS]; /* in[l], l > 0: rows x in_l, layer l-1's outputs */
    float *out, *dout;        /* the last layer's outputs (rows x C) and their
                               * gradient: its block's own buffers when it has
                               * one block, else assembled here */
    float **p[OT_MAX_LAYERS]; /* p[l][j]: block j's part of the input gradient */
    float **parts;            /* by inputs: parts[j], block j's part of the logits */
    ot__ublock *blocks[OT_MAX_LAYERS]; /* [n_blocks[l]] */
} ot__usplit;

/* A thread's stream and rows. A thread runs the blocks whose shard
 * (j * S / n_l) is in the shards [s_lo, s_hi) it holds at the time. */
typedef struct ot__uthread {
    dnnl_stream_t stream;
    float *x; /* its copy of the batch's rows, when it may run a block of
               * layer 0 */
    int loss; /* it holds shard 0: gathers the labels or targets */
} ot__uthread;

/* The shared buffers for the batch lengths lens[0..n) (those the rule
 * applies to); transposed: ot__dense_transposed's mode. */
ot_status ot__usplit_open(ot__usplit *u, const ot_model *m, size_t shards,
                          const size_t *lens, size_t n_lens, size_t n_targets,
                          int transposed);
void ot__usplit_close(ot__usplit *u);

/* The thread's stream, its rows' buffer when with_x, and the blocks whose
 * shard is in [s_lo, s_hi) (the thread's with the whole team): their
 * buffers (first touch) and primitives. Call from that thread. */
ot_status ot__usplit_thread_init(ot__uthread *ut, ot__usplit *u, dnnl_engine_t engine,
                                 size_t s_lo, size_t s_hi, int with_x);
void ot__uthread_destroy(ot__uthread *ut);

/* The next block whose shard is in [s_lo, s_hi), in layer order, from a
 * cursor (*l, *j) that starts at (0, 0); NULL past the last. */
ot__ublock *ot__usplit_next_block(const ot__usplit *u, size_t s_lo, size_t s_hi, size_t *l,
                                  size_t *j);

/* Gathers a batch of rows for this thread: all of their features into
 * ut->x when with_x (it runs a block of layer 0), their labels or targets
 * and sample weights when it computes the loss. A thread gathers the next
 * step's rows as soon as it is done with its own step: no other thread
 * reads what it writes. */
void ot__usplit_gather(ot__usplit *u, ot__uthread *ut, const ot__rows *r, int with_x);

/* The i-th range [*off, *off + *n) of the parameter arena that block b
 * owns (its weights and biases, and, by inputs, its columns of the last
 * layer's weights): 0 past the last. The optimizer updates exactly these. */
int ot__usplit_block_range(const ot__usplit *u, const ot__ublock *b, size_t i,
                           size_t *off, size_t *n);

/* Whether a block of layer l has its shard in [s_lo, s_hi). */
int ot__usplit_owns(const ot__usplit *u, size_t l, size_t s_lo, size_t s_hi);

/* The index of a batch length in u->lens, or -1. */
int ot__usplit_len(const ot__usplit *u, size_t rows);

/* The blocks of layer l of shards [s_lo, s_hi) on this thread, forward,
 * outputs copied to the next layer's input (or to u->out). */
ot_status ot__usplit_forward(ot__uthread *ut, ot__usplit *u, size_t l, int li,
                             size_t s_lo, size_t s_hi);

/* The loss over the last layer's outputs (the whole batch of d's rows),
 * its gradient into the last layer's block (one block) or u->dout; the
 * targets are d's kind: labels or float rows. */
void ot__usplit_loss(ot__usplit *u, const ot_dataset *d, size_t rows,
                     float scale, ot__sums *sums);

/* The blocks of layer l of shards [s_lo, s_hi), backward: gradients of the
 * weights into `grad` (arena layout), and their parts of the input
 * gradient. */
ot_status ot__usplit_backward(ot__uthread *ut, ot__usplit *u, size_t l, int li,
                              size_t s_lo, size_t s_hi, float *grad);

/* The bare primitives of the blocks of shards [s_lo, s_hi) over batch
 * length li: every block's forward and activation passes, then backward,
 * gradients into `grad`; no copies between blocks, no loss. For the
 * benchmark's kernel-only ceiling. */
ot_status ot__usplit_kernels(ot__uthread *ut, ot__usplit *u, int li, size_t s_lo,
                             size_t s_hi, float *grad);

#endif
