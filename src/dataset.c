/*
 * dataset.c - in-memory datasets from the caller's arrays, and row gathers.
 * File formats live in idx.c.
 */
#include <math.h>
#include <string.h>

#include "dataset.h"

ot_status ot__dataset_wrap(ot_dataset **out, size_t n, size_t dim, float *x,
                           int32_t *y)
{
    ot_dataset *d = ot__calloc(1, sizeof *d, "dataset");
    if (d == NULL) {
        ot__free(x);
        ot__free(y);
        return OT_OUT_OF_MEMORY;
    }
    d->n = n;
    d->dim = dim;
    d->x = x;
    d->y = y;
    int32_t max = -1;
    if (y != NULL)
        for (size_t i = 0; i < n; i++)
            if (y[i] > max)
                max = y[i];
    d->classes = (size_t)(max + 1);
    *out = d;
    return OT_OK;
}

ot_status ot_dataset_create(ot_dataset **out, size_t n, size_t dim,
                            const float *x, const int32_t *labels)
{
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset: NULL output pointer");
    *out = NULL;
    if (x == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset: features are NULL");
    if (n == 0 || dim == 0)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "dataset: %zu samples of %zu features: both must be > 0",
                        n, dim);
    if (n > OT_MAX_SAMPLES)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset: %zu samples: at most %zu",
                        n, OT_MAX_SAMPLES);
    if (dim > SIZE_MAX / sizeof(float) / n)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "dataset: %zu x %zu features overflow", n, dim);
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x[i]))
            return ot__fail(OT_NON_FINITE,
                            "dataset: feature %zu of sample %zu is not finite",
                            i % dim, i / dim);
    if (labels != NULL)
        for (size_t i = 0; i < n; i++)
            if (labels[i] < 0)
                return ot__fail(OT_INVALID_ARGUMENT,
                                "dataset: label %d of sample %zu is negative",
                                (int)labels[i], i);
    float *xc = ot__alloc(n * dim, sizeof(float), "dataset features");
    int32_t *yc = NULL;
    if (xc == NULL)
        return OT_OUT_OF_MEMORY;
    if (labels != NULL) {
        yc = ot__alloc(n, sizeof(int32_t), "dataset labels");
        if (yc == NULL) {
            ot__free(xc);
            return OT_OUT_OF_MEMORY;
        }
        memcpy(yc, labels, n * sizeof(int32_t));
    }
    memcpy(xc, x, n * dim * sizeof(float));
    return ot__dataset_wrap(out, n, dim, xc, yc);
}

void ot_dataset_destroy(ot_dataset *d)
{
    if (d == NULL)
        return;
    ot__free(d->x);
    ot__free(d->y);
    ot__free(d);
}

size_t ot_dataset_size(const ot_dataset *d) { return d ? d->n : 0; }
size_t ot_dataset_dim(const ot_dataset *d) { return d ? d->dim : 0; }
size_t ot_dataset_classes(const ot_dataset *d) { return d ? d->classes : 0; }

void ot__dataset_gather(const ot_dataset *d, const uint32_t *idx, size_t first,
                        size_t rows, float *out, int32_t *labels)
{
    const size_t dim = d->dim;
    for (size_t r = 0; r < rows; r++) {
        size_t i = idx ? idx[first + r] : first + r;
        memcpy(out + r * dim, d->x + i * dim, dim * sizeof(float));
        if (labels != NULL)
            labels[r] = d->y[i];
    }
}
