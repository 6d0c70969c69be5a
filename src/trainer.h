/*
 * trainer.h - internals of the trainer exposed for the tests. Not installed.
 */
#ifndef OT_TRAINER_H
#define OT_TRAINER_H

#include "model.h"
#include "shard.h" /* ot__shard_range */


/* The gradient of the mean loss over rows [0, n) of `data` (one batch of n,
 * cut into `shards` shards run by `threads` threads, reduced as in fit),
 * packed like ot_model_get_weights, and the mean loss. Changes nothing. */
ot_status ot__trainer_gradient(ot_model *model, const ot_dataset *data,
                               size_t shards, int threads, float *grad,
                               double *loss);

#define OT__CHUNK 1024 /* floats reduced and updated at a time, to stay in L1 */

/* The arena lines [lo, hi) * 16 floats that thread tid of `threads` reduces
 * and updates in a training step (64-byte aligned, each line one thread's). */
void ot__arena_slice(size_t arena_len, int threads, int tid, size_t *lo, size_t *hi);

/* g0[c..c+n) += grads[1][..] + ... + grads[ns-1][..], in shard order: the
 * reduction of a training step over one chunk of the arena. */
void ot__reduce_chunk(float *const *grads, size_t ns, size_t c, size_t n);

/* Denormal floats flushed to zero in the calling thread, as in every
 * thread of the trainer's regions (trainer.c says why); returns the setting
 * before, for ot__fp_leave. */
unsigned ot__fp_enter(void);
void ot__fp_leave(unsigned old);

#endif
