/*
 * dataset.h - samples (read-only once made) in memory or streamed
 * (stream.h), and the index views that split and shuffle them without
 * copying. Not installed.
 */
#ifndef OT_DATASET_H
#define OT_DATASET_H

#include "common.h"

#define OT_MAX_SAMPLES ((size_t)UINT32_MAX)

struct ot_dataset {
    size_t n, dim;
    float *x;   /* n x dim, row-major; NULL when the features are pixels */
    uint8_t *pixels; /* or n x dim bytes b, each the feature b / 255 (IDX
                      * images): a quarter of the memory, and of what a
                      * gather of random rows reads from it */
    int32_t *y; /* n labels, or NULL */
    size_t classes; /* max label + 1 */
    float *t;   /* n x n_targets float targets, or NULL */
    size_t n_targets;
    int header; /* read from a CSV file whose first line was a header */
    int borrowed; /* x, y and t are the caller's (ot_dataset_borrow) */
    struct ot__source *source; /* streamed: where the features are (x and
                                * pixels NULL); y or t in memory */
    struct ot__stage *stage;   /* a run's view of a streamed dataset: the
                                * rows it read ahead (stream.h) */
};

/* Takes ownership of x, y and t (ot__alloc'd) on success and on failure. */
ot_status ot__dataset_wrap(ot_dataset **out, size_t n, size_t dim, float *x,
                           int32_t *y, float *t, size_t n_targets);

/* The same for pixels (x NULL): the features b / 255 of the bytes b. */
ot_status ot__dataset_wrap_pixels(ot_dataset **out, size_t n, size_t dim,
                                  uint8_t *pixels, int32_t *y);

/* The feature a pixel byte stands for: b / 255 correctly rounded, which is
 * the textbook's x / 255.0 in double rounded to float for every byte (a
 * test checks all 256). */
static inline float ot__pixel(uint8_t b) { return (float)b / 255.0f; }

/* out[j] = ot__pixel(x[j]) for j < n, on the fastest path the processor
 * has (all give the same bits). */
void ot__pixels_to_floats(const uint8_t *x, float *out, size_t n);

/* Tests: which path ot__pixels_to_floats takes: 0 scalar, 1 AVX2 with FMA,
 * 2 AVX-512, -1 the best there is. Returns 0 (and changes nothing) when the
 * processor or the build lacks it. */
int ot__pixels_path(int path);

/* Feature scaling applied while gathering: x' = (x - shift) * mult. */
typedef struct ot__scaling {
    const float *shift, *mult; /* NULL: none */
} ot__scaling;

/* Copies rows idx[first..first+rows) (or rows first..first+rows when idx is
 * NULL) of the features into out (rows x dim, scaled), and of the labels or
 * targets into labels / targets, each when it is not NULL. A streamed
 * dataset only through a run's view, for rows the run has made ready. */
void ot__dataset_gather(const ot_dataset *d, const ot__scaling *sc,
                        const uint32_t *idx, size_t first, size_t rows,
                        float *out, int32_t *labels, float *targets);

/* Fits scaling statistics on rows idx[0..n) of d (all rows when idx is
 * NULL) into shift and mult (dim each): each column's sums in row order, in
 * double (scaling.c). Fails only reading a streamed dataset. */
ot_status ot__dataset_fit_scaling(const ot_dataset *d, const uint32_t *idx, size_t n,
                                  ot_scaling kind, float *shift, float *mult);

/* Rows idx[first..first+n) (first.. when idx is NULL) of d's features, as
 * a gather gives them unscaled, into out (n x dim): from memory, or read
 * from a streamed dataset's source. */
ot_status ot__dataset_read_rows(const ot_dataset *d, const uint32_t *idx, size_t first,
                                size_t n, float *out);

/* Whether w[0..count) are sample weights of n samples (none: w NULL and
 * count 0): one a sample, each finite and >= 0; what: the message's
 * start. */
ot_status ot__check_sample_weights(const float *w, size_t count, size_t n, const char *what);

/* Whether d fits model m: its features, and (need_targets) labels or
 * targets that the model's loss and outputs take; what: the data's name
 * in the message. */
ot_status ot__dataset_check(const ot_dataset *d, const ot_model *m, const char *what,
                            int need_targets);

#endif
