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
};

/* Takes ownership of x and y (ot__alloc'd) on success and on failure. */
ot_status ot__dataset_wrap(ot_dataset **out, size_t n, size_t dim, float *x,
                           int32_t *y);

/* Copies rows idx[0..rows) (or rows first..first+rows when idx is NULL) of
 * the features into out (rows x dim) and of the labels into labels. */
void ot__dataset_gather(const ot_dataset *d, const uint32_t *idx, size_t first,
                        size_t rows, float *out, int32_t *labels);

#endif
