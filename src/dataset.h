/*
 * dataset.h - samples in memory (read-only once made) and the index views
 * that split and shuffle them without copying. Not installed.
 */
#ifndef OT_DATASET_H
#define OT_DATASET_H

#include "common.h"

#define OT_MAX_SAMPLES ((size_t)UINT32_MAX)

struct ot_dataset {
    size_t n, dim;
    float *x;   /* n x dim, row-major */
    int32_t *y; /* n labels, or NULL */
    size_t classes; /* max label + 1 */
    float *t;   /* n x n_targets float targets, or NULL */
    size_t n_targets;
};

/* Takes ownership of x, y and t (ot__alloc'd) on success and on failure. */
ot_status ot__dataset_wrap(ot_dataset **out, size_t n, size_t dim, float *x,
                           int32_t *y, float *t, size_t n_targets);

/* Feature scaling applied while gathering: x' = (x - shift) * mult. */
typedef struct ot__scaling {
    const float *shift, *mult; /* NULL: none */
} ot__scaling;

/* Copies rows idx[first..first+rows) (or rows first..first+rows when idx is
 * NULL) of the features into out (rows x dim, scaled), and of the labels or
 * targets into labels / targets when those are not NULL. */
void ot__dataset_gather(const ot_dataset *d, const ot__scaling *sc,
                        const uint32_t *idx, size_t first, size_t rows,
                        float *out, int32_t *labels, float *targets);

/* Fits scaling statistics on rows idx[0..n) of d (all rows when idx is
 * NULL) into shift and mult (dim each). */
void ot__dataset_fit_scaling(const ot_dataset *d, const uint32_t *idx,
                             size_t n, ot_scaling kind, float *shift,
                             float *mult);

#endif
