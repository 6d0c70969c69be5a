/*
 * optimizer.h - update rules over a slice of the parameter arena, with
 * Keras 3's formulas and defaults. Plain serial C: the trainer calls it from
 * every thread on disjoint slices.
 */
#ifndef OT_OPTIMIZER_H
#define OT_OPTIMIZER_H

#include "common.h"

typedef struct ot__optimizer {
    ot_optimizer_config cfg;
    uint64_t iterations; /* steps taken so far */
    size_t slots;        /* state arrays of arena length: 0, 1 or 2 */
    float *state;        /* slots x arena_len floats, zeroed at compile */
} ot__optimizer;

/* Per-step constants shared by every slice, computed once per step. */
typedef struct ot__opt_step {
    float lr;      /* the step's learning rate (Adam: bias-corrected) */
    float a, b, c; /* rule-specific constants */
} ot__opt_step;

/* Checks the config, naming a bad field. */
ot_status ot__optimizer_check(const ot_optimizer_config *cfg);

/* Number of state slots the rule needs. */
size_t ot__optimizer_slots(const ot_optimizer_config *cfg);

/* Constants for step number `t` (1-based). */
ot__opt_step ot__optimizer_prepare(const ot_optimizer_config *cfg, uint64_t t);

/* Updates n parameters w[0..n) with gradient g, state arrays starting at
 * state + off for slot 0 and state + off + arena_len for slot 1. */
void ot__optimizer_update(const ot_optimizer_config *cfg,
                          const ot__opt_step *k, float *restrict w,
                          const float *restrict g, float *restrict s0,
                          float *restrict s1, size_t n);

#endif
