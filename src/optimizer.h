/*
 * optimizer.h - update rules over a slice of the parameter arena, with
 * Keras 3's formulas and defaults, and learning-rate schedules. Plain
 * serial C: the trainer calls it from every thread on disjoint slices.
 * Not installed.
 */
#ifndef OT_OPTIMIZER_H
#define OT_OPTIMIZER_H

#include "common.h"

#define OT__MAX_SLOTS 3

typedef struct ot__optimizer {
    ot_optimizer_config cfg;
    uint64_t iterations; /* steps taken so far */
    size_t slots;        /* state arrays of arena length: 0 to 3 */
    float *state;        /* slots x arena_len floats */
} ot__optimizer;

/* Per-step constants shared by every slice, computed once per step. */
typedef struct ot__opt_step {
    float lr; /* the step's learning rate (scheduled; Adam: bias-corrected) */
} ot__opt_step;

/* Checks the config, naming a bad field. */
ot_status ot__optimizer_check(const ot_optimizer_config *cfg);

/* Number of state slots the rule needs. */
size_t ot__optimizer_slots(const ot_optimizer_config *cfg);

/* Initial state (Adagrad's accumulator starts at initial_accumulator). */
void ot__optimizer_init_state(const ot_optimizer_config *cfg, float *state,
                              size_t arena_len);

/* The state's slots over an arena of arena_len floats, NULL past o->slots:
 * slot[k] + off is slot k's value for arena element off. */
void ot__optimizer_state_slots(const ot__optimizer *o, size_t arena_len,
                               float *slot[OT__MAX_SLOTS]);

/* The scheduled learning rate at step t (1-based) of epoch (0-based). */
double ot__optimizer_lr(const ot_optimizer_config *cfg, uint64_t t,
                        size_t epoch);

/* Constants for step t (1-based) of epoch (0-based). */
ot__opt_step ot__optimizer_prepare(const ot_optimizer_config *cfg, uint64_t t,
                                   size_t epoch);

/* Updates n parameters w[0..n) with gradient g, or g + g2 element-wise
 * when g2 is not NULL (the last shard's gradient, added in the update's own
 * loop); s[k] points at the same offset in state slot k (NULL when the rule
 * has fewer slots). Returns 1 when every weight it wrote is finite, 0 when
 * one is an infinity or a NaN. */
int ot__optimizer_update(const ot_optimizer_config *cfg,
                          const ot__opt_step *k, float *restrict w,
                          const float *restrict g, const float *restrict g2,
                          float *const s[OT__MAX_SLOTS], size_t n);

#endif
