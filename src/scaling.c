/*
 * scaling.c - the statistics of feature scaling (ot_scaling): each
 * column's mean and standard deviation, or minimum and maximum, over the
 * training rows, summed in double in row order. The rows go by in blocks,
 * read into memory when the dataset is streamed, so that a column's sums
 * are the same operations in the same order either way.
 */
#include <math.h>

#include "dataset.h"

#define BLOCK_ROWS 256

/* Adds (pass 0) each feature to a[j], or (pass 1) its square distance to
 * mean[j] to b[j]; or (minmax) folds it into a[j] = min, b[j] = max. */
static void accumulate(const float *x, size_t rows, size_t dim, ot_scaling kind, int pass,
                       const double *mean, double *a, double *b)
{
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * dim;
        for (size_t j = 0; j < dim; j++) {
            double v = row[j];
            if (kind == OT_SCALING_MINMAX) {
                a[j] = v < a[j] ? v : a[j];
                b[j] = v > b[j] ? v : b[j];
            } else if (pass == 0) {
                a[j] += v;
            } else {
                double dv = v - mean[j];
                b[j] += dv * dv;
            }
        }
    }
}

ot_status ot__dataset_fit_scaling(const ot_dataset *d, const uint32_t *idx, size_t n,
                                  ot_scaling kind, float *shift, float *mult)
{
    const size_t dim = d->dim;
    double *acc = ot__alloc(3 * dim, sizeof(double), "scaling sums");
    float *block = ot__alloc(BLOCK_ROWS * dim, sizeof(float), "scaling rows");
    ot_status st = acc && block ? OT_OK : OT_OUT_OF_MEMORY;
    double *a = acc, *b = acc ? acc + dim : NULL, *mean = acc ? acc + 2 * dim : NULL;
    for (size_t j = 0; st == OT_OK && j < dim; j++) {
        a[j] = kind == OT_SCALING_MINMAX ? INFINITY : 0.0;
        b[j] = kind == OT_SCALING_MINMAX ? -INFINITY : 0.0;
    }
    const int passes = kind == OT_SCALING_STANDARD ? 2 : 1;
    for (int pass = 0; pass < passes && st == OT_OK; pass++) {
        for (size_t r = 0; r < n && st == OT_OK; r += BLOCK_ROWS) {
            size_t k = n - r < BLOCK_ROWS ? n - r : BLOCK_ROWS;
            if ((st = ot__dataset_read_rows(d, idx, r, k, block)) == OT_OK)
                accumulate(block, k, dim, kind, pass, mean, a, b);
        }
        for (size_t j = 0; pass == 0 && j < dim; j++)
            mean[j] = a[j] / (double)n;
    }
    for (size_t j = 0; st == OT_OK && j < dim; j++) {
        if (kind == OT_SCALING_STANDARD) {
            double sd = sqrt(b[j] / (double)n);
            shift[j] = (float)mean[j];
            mult[j] = sd > 0.0 ? (float)(1.0 / sd) : 1.0f;
        } else {
            shift[j] = (float)a[j];
            mult[j] = b[j] > a[j] ? (float)(1.0 / (b[j] - a[j])) : 1.0f;
        }
    }
    ot__free(acc);
    ot__free(block);
    return st;
}
