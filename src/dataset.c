/*
 * dataset.c - in-memory datasets from the caller's arrays, and row gathers.
 * File formats live in idx.c.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "dataset.h"
#include "model.h"
#include "rng.h"
#include "stream.h"

static ot_status wrap(ot_dataset **out, size_t n, size_t dim, float *x,
                      uint8_t *pixels, int32_t *y, float *t, size_t n_targets)
{
    ot_dataset *d = ot__calloc(1, sizeof *d, "dataset");
    if (d == NULL) {
        ot__free(x);
        ot__free(pixels);
        ot__free(y);
        ot__free(t);
        return OT_OUT_OF_MEMORY;
    }
    d->n = n;
    d->dim = dim;
    d->x = x;
    d->pixels = pixels;
    d->y = y;
    d->t = t;
    d->n_targets = t ? n_targets : 0;
    int32_t max = -1;
    if (y != NULL)
        for (size_t i = 0; i < n; i++)
            if (y[i] > max)
                max = y[i];
    d->classes = max < 0 ? 0 : (size_t)max + 1; /* max + 1 overflows an int32 */
    *out = d;
    return OT_OK;
}

ot_status ot__dataset_wrap(ot_dataset **out, size_t n, size_t dim, float *x,
                           int32_t *y, float *t, size_t n_targets)
{
    return wrap(out, n, dim, x, NULL, y, t, n_targets);
}

ot_status ot__dataset_wrap_pixels(ot_dataset **out, size_t n, size_t dim,
                                  uint8_t *pixels, int32_t *y)
{
    return wrap(out, n, dim, NULL, pixels, y, NULL, 0);
}

/* Checks shapes and features; names the first bad value. */
static ot_status check_features(ot_dataset **out, size_t n, size_t dim,
                                const float *x)
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
    return OT_OK;
}

/* A copy of count values of size bytes each, or NULL (message set). */
static void *copy(const void *src, size_t count, size_t size, const char *what)
{
    void *p = ot__alloc(count, size, what);
    if (p != NULL)
        memcpy(p, src, count * size);
    return p;
}

static ot_status check_labels(const int32_t *labels, size_t n)
{
    for (size_t i = 0; labels != NULL && i < n; i++)
        if (labels[i] < 0)
            return ot__fail(OT_INVALID_ARGUMENT, "dataset: label %d of sample %zu is negative",
                            (int)labels[i], i);
    return OT_OK;
}

static ot_status check_targets(size_t n, size_t n_targets, const float *targets)
{
    if (targets == NULL || n_targets == 0 || n_targets > ((size_t)1 << 24))
        return ot__fail(OT_INVALID_ARGUMENT,
                        "dataset: targets must be given, 1..%zu per sample",
                        (size_t)1 << 24);
    if (n_targets > SIZE_MAX / sizeof(float) / n)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset: targets overflow");
    for (size_t i = 0; i < n * n_targets; i++)
        if (!isfinite(targets[i]))
            return ot__fail(OT_NON_FINITE,
                            "dataset: target %zu of sample %zu is not finite",
                            i % n_targets, i / n_targets);
    return OT_OK;
}

/* A dataset over the caller's arrays, checked, not copied: destroying it
 * frees none of them. */
static ot_status borrow(ot_dataset **out, size_t n, size_t dim, const float *x,
                        const int32_t *labels, const float *targets, size_t n_targets)
{
    ot_status status = wrap(out, n, dim, (float *)x, NULL, (int32_t *)labels, (float *)targets,
                            n_targets);
    if (status == OT_OK)
        (*out)->borrowed = 1;
    return status;
}

ot_status ot_dataset_borrow(ot_dataset **out, size_t n, size_t dim, const float *x,
                            const int32_t *labels)
{
    ot_status status = check_features(out, n, dim, x);
    if (status == OT_OK)
        status = check_labels(labels, n);
    return status == OT_OK ? borrow(out, n, dim, x, labels, NULL, 0) : status;
}

ot_status ot_dataset_borrow_targets(ot_dataset **out, size_t n, size_t dim, const float *x,
                                    size_t n_targets, const float *targets)
{
    ot_status status = check_features(out, n, dim, x);
    if (status == OT_OK)
        status = check_targets(n, n_targets, targets);
    return status == OT_OK ? borrow(out, n, dim, x, NULL, targets, n_targets) : status;
}

ot_status ot_dataset_create(ot_dataset **out, size_t n, size_t dim,
                            const float *x, const int32_t *labels)
{
    ot_status status = check_features(out, n, dim, x);
    if (status == OT_OK)
        status = check_labels(labels, n);
    if (status != OT_OK)
        return status;
    float *xc = copy(x, n * dim, sizeof(float), "dataset features");
    int32_t *yc = labels ? copy(labels, n, sizeof(int32_t), "dataset labels") : NULL;
    if (xc == NULL || (labels != NULL && yc == NULL)) {
        ot__free(xc);
        ot__free(yc);
        return OT_OUT_OF_MEMORY;
    }
    return ot__dataset_wrap(out, n, dim, xc, yc, NULL, 0);
}

ot_status ot_dataset_create_targets(ot_dataset **out, size_t n, size_t dim,
                                    const float *x, size_t n_targets,
                                    const float *targets)
{
    ot_status status = check_features(out, n, dim, x);
    if (status == OT_OK)
        status = check_targets(n, n_targets, targets);
    if (status != OT_OK)
        return status;
    float *xc = copy(x, n * dim, sizeof(float), "dataset features");
    float *tc = copy(targets, n * n_targets, sizeof(float), "dataset targets");
    if (xc == NULL || tc == NULL) {
        ot__free(xc);
        ot__free(tc);
        return OT_OUT_OF_MEMORY;
    }
    return ot__dataset_wrap(out, n, dim, xc, NULL, tc, n_targets);
}

ot_status ot_to_categorical(const int32_t *labels, size_t n, size_t classes,
                            float *out)
{
    if (labels == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "to_categorical: NULL argument");
    if (classes == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "to_categorical: 0 classes");
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= classes)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "to_categorical: label %d of sample %zu is outside "
                            "0..%zu",
                            (int)labels[i], i, classes - 1);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < classes; j++)
            out[i * classes + j] = (size_t)labels[i] == j ? 1.0f : 0.0f;
    return OT_OK;
}

ot_status ot_dataset_xor(ot_dataset **out)
{
    static const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    static const int32_t y[] = {0, 1, 1, 0};
    return ot_dataset_create(out, 4, 2, x, y);
}

void ot_dataset_destroy(ot_dataset *d)
{
    if (d == NULL)
        return;
    if (!d->borrowed) {
        ot__free(d->x);
        ot__free(d->pixels);
        ot__free(d->y);
        ot__free(d->t);
    }
    ot__source_close(d->source);
    ot__free(d);
}

ot_status ot_dataset_slice(ot_dataset **out, const ot_dataset *d, size_t first,
                           size_t n)
{
    if (out == NULL || d == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset slice: NULL argument");
    *out = NULL;
    if (first > d->n || n > d->n - first || n == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset: rows %zu..%zu of %zu",
                        first, first + n, d->n);
    size_t *idx = ot__alloc(n, sizeof *idx, "dataset rows");
    if (idx == NULL)
        return OT_OUT_OF_MEMORY;
    for (size_t i = 0; i < n; i++)
        idx[i] = first + i;
    ot_status st = ot_dataset_select(out, d, idx, n);
    ot__free(idx);
    return st;
}

ot_status ot_dataset_select(ot_dataset **out, const ot_dataset *d, const size_t *idx,
                            size_t n)
{
    if (out == NULL || d == NULL || idx == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset select: NULL argument");
    *out = NULL;
    if (n == 0 || n > OT_MAX_SAMPLES)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset select: %zu rows: must be in 1..%zu",
                        n, OT_MAX_SAMPLES);
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= d->n)
            return ot__fail(OT_INVALID_ARGUMENT, "dataset select: index %zu is row %zu of "
                            "%zu", i, idx[i], d->n);
    const size_t dim = d->dim, nt = d->n_targets;
    /* a streamed dataset's rows come into memory: pixels stay bytes */
    const int as_px = d->pixels || (d->source && d->source->pixels);
    float *x = !as_px ? ot__alloc(n * dim, sizeof(float), "dataset features") : NULL;
    uint8_t *px = as_px ? ot__alloc(n * dim, 1, "dataset pixels") : NULL;
    int32_t *y = d->y ? ot__alloc(n, sizeof(int32_t), "dataset labels") : NULL;
    float *t = d->t ? ot__alloc(n * nt, sizeof(float), "dataset targets") : NULL;
    if ((!as_px && !x) || (as_px && !px) || (d->y && !y) || (d->t && !t)) {
        ot__free(x);
        ot__free(px);
        ot__free(y);
        ot__free(t);
        return OT_OUT_OF_MEMORY;
    }
    ot_status st = d->source ? ot__source_select(d, idx, n, px ? (void *)px : (void *)x)
                             : OT_OK;
    if (st != OT_OK) {
        ot__free(x);
        ot__free(px);
        ot__free(y);
        ot__free(t);
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = idx[i];
        if (x && d->x)
            memcpy(x + i * dim, d->x + r * dim, dim * sizeof(float));
        if (px && d->pixels)
            memcpy(px + i * dim, d->pixels + r * dim, dim);
        if (y)
            y[i] = d->y[r];
        if (t)
            memcpy(t + i * nt, d->t + r * nt, nt * sizeof(float));
    }
    return wrap(out, n, dim, x, px, y, t, nt);
}

ot_status ot_dataset_split(ot_dataset **train, ot_dataset **test, const ot_dataset *d,
                           double fraction, uint64_t seed)
{
    if (train == NULL || test == NULL || d == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset split: NULL argument");
    *train = *test = NULL;
    size_t n_test = fraction > 0.0 && fraction < 1.0 ? (size_t)ceil(fraction * (double)d->n)
                                                       : 0;
    if (n_test == 0 || n_test >= d->n)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset split: test fraction %g of %zu rows "
                        "leaves a part empty", fraction, d->n);
    size_t *idx = ot__alloc(d->n, sizeof *idx, "split order");
    uint32_t *perm = ot__alloc(d->n, sizeof *perm, "split order");
    ot_status st = OT_OUT_OF_MEMORY;
    if (idx != NULL && perm != NULL) {
        for (size_t i = 0; i < d->n; i++)
            perm[i] = (uint32_t)i;
        ot__rng rng;
        ot__rng_seed(&rng, seed);
        ot__rng_shuffle(&rng, perm, d->n);
        for (size_t i = 0; i < d->n; i++)
            idx[i] = perm[i];
        const size_t n_train = d->n - n_test;
        if ((st = ot_dataset_select(train, d, idx, n_train)) == OT_OK &&
            (st = ot_dataset_select(test, d, idx + n_train, n_test)) != OT_OK) {
            ot_dataset_destroy(*train);
            *train = NULL;
        }
    }
    ot__free(idx);
    ot__free(perm);
    return st;
}

ot_status ot_dataset_target_values(const ot_dataset *d, float *out, size_t count)
{
    if (d == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset targets: NULL argument");
    if (d->t == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset targets: the dataset has %s",
                        d->y ? "integer labels (ot_dataset_labels)" : "no targets");
    if (count / d->n_targets < d->n)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset targets: %zu floats hold fewer than "
                        "%zu x %zu", count, d->n, d->n_targets);
    memcpy(out, d->t, d->n * d->n_targets * sizeof(float));
    return OT_OK;
}

size_t ot_dataset_size(const ot_dataset *d) { return d ? d->n : 0; }
size_t ot_dataset_dim(const ot_dataset *d) { return d ? d->dim : 0; }
size_t ot_dataset_classes(const ot_dataset *d) { return d ? d->classes : 0; }

int ot_dataset_had_header(const ot_dataset *d) { return d ? d->header : 0; }
size_t ot_dataset_targets(const ot_dataset *d) { return d ? d->n_targets : 0; }

ot_status ot_dataset_rows(const ot_dataset *d, size_t first, size_t n, float *out,
                          size_t count)
{
    if (d == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset rows: NULL argument");
    if (first > d->n || n > d->n - first)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset rows: %zu..%zu of %zu",
                        first, first + n, d->n);
    if (count / d->dim < n)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset rows: buffer of %zu floats, "
                        "%zu rows x %zu features need more", count, n, d->dim);
    return ot__dataset_read_rows(d, NULL, first, n, out);
}

ot_status ot_dataset_labels(const ot_dataset *d, int32_t *out, size_t count)
{
    if (d == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset labels: NULL argument");
    if (d->y == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset labels: the data has %s",
                        d->t ? "float targets, not integer labels" : "no labels");
    if (count != d->n)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset labels: buffer of %zu, the "
                        "dataset has %zu samples", count, d->n);
    memcpy(out, d->y, d->n * sizeof *out);
    return OT_OK;
}

ot_status ot_dataset_features(const ot_dataset *d, float *out, size_t count)
{
    if (d == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset features: NULL argument");
    if (count != d->n * d->dim)
        return ot__fail(OT_INVALID_ARGUMENT, "dataset features: buffer of %zu "
                        "floats, the dataset has %zu x %zu", count, d->n, d->dim);
    return ot__dataset_read_rows(d, NULL, 0, d->n, out);
}

/*
 * Bytes to features, b / 255 each. Vector divisions issue slowly, so the
 * vector paths multiply instead, by r = 1/255 rounded to float,
 * with the rest of 1/255 carried: fma(b, r, b * (1/255 - r)). That is
 * b / 255 correctly rounded for each of the 256 bytes, the same bits as the
 * division (a test checks every byte on every path the processor has).
 */
#define RECIP_255 (1.0f / 255.0f)
#define RECIP_255_LO ((float)(1.0 / 255.0 - (double)(1.0f / 255.0f)))

/* out[j] = ot__pixel(x[j]), then (out[j] - shift[j]) * mult[j] when shift
 * is not NULL: the same operations, in the same order, on every path. */
static void pixels_scalar(const uint8_t *restrict x, float *restrict o, size_t n,
                          const float *restrict shift, const float *restrict mult)
{
    if (shift != NULL) {
        for (size_t j = 0; j < n; j++)
            o[j] = (ot__pixel(x[j]) - shift[j]) * mult[j];
    } else {
        for (size_t j = 0; j < n; j++)
            o[j] = ot__pixel(x[j]);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void
pixels_avx512(const uint8_t *restrict x, float *restrict o, size_t n,
              const float *restrict shift, const float *restrict mult)
{
    const __m512 r = _mm512_set1_ps(RECIP_255), lo = _mm512_set1_ps(RECIP_255_LO);
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m128i b8 = _mm_loadu_si128((const __m128i *)(const void *)(x + j));
        __m512 b = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b8));
        __m512 v = _mm512_fmadd_ps(b, r, _mm512_mul_ps(b, lo));
        if (shift != NULL)
            v = _mm512_mul_ps(_mm512_sub_ps(v, _mm512_loadu_ps(shift + j)),
                              _mm512_loadu_ps(mult + j));
        _mm512_storeu_ps(o + j, v);
    }
    pixels_scalar(x + j, o + j, n - j, shift ? shift + j : NULL, mult ? mult + j : NULL);
}

__attribute__((target("avx2,fma"))) static void
pixels_avx2(const uint8_t *restrict x, float *restrict o, size_t n,
            const float *restrict shift, const float *restrict mult)
{
    const __m256 r = _mm256_set1_ps(RECIP_255), lo = _mm256_set1_ps(RECIP_255_LO);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m128i b8 = _mm_loadl_epi64((const __m128i *)(const void *)(x + j));
        __m256 b = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b8));
        __m256 v = _mm256_fmadd_ps(b, r, _mm256_mul_ps(b, lo));
        if (shift != NULL)
            v = _mm256_mul_ps(_mm256_sub_ps(v, _mm256_loadu_ps(shift + j)),
                              _mm256_loadu_ps(mult + j));
        _mm256_storeu_ps(o + j, v);
    }
    pixels_scalar(x + j, o + j, n - j, shift ? shift + j : NULL, mult ? mult + j : NULL);
}
#define HAVE_PIXEL_PATHS 1
#endif

static _Atomic int pixel_path = -1; /* -1: the best the processor has */

int ot__pixels_path(int path)
{
#ifdef HAVE_PIXEL_PATHS
    int ok = path == 0 || path == -1 ||
             (path == 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ||
             (path == 2 && __builtin_cpu_supports("avx512f"));
#else
    int ok = path == 0 || path == -1;
#endif
    if (ok)
        pixel_path = path;
    return ok;
}

static void decode(const uint8_t *restrict x, float *restrict o, size_t n,
                   const float *restrict shift, const float *restrict mult)
{
    int path = pixel_path;
#ifdef HAVE_PIXEL_PATHS
    if (path < 0)
        path = __builtin_cpu_supports("avx512f") ? 2
               : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    if (path == 2) {
        pixels_avx512(x, o, n, shift, mult);
        return;
    }
    if (path == 1) {
        pixels_avx2(x, o, n, shift, mult);
        return;
    }
#endif
    (void)path;
    pixels_scalar(x, o, n, shift, mult);
}

void ot__pixels_to_floats(const uint8_t *x, float *out, size_t n)
{
    decode(x, out, n, NULL, NULL);
}

/* Rows of pixels, each decoded (and scaled) into out. The next rows of a
 * random gather are prefetched: a row of 784 bytes is 13 cache lines, too
 * short for the hardware prefetcher to run ahead, so without it every row
 * waits for memory. */
#define PREFETCH_ROWS 4

static void gather_pixels(const ot_dataset *d, const ot__scaling *sc,
                          const uint32_t *idx, size_t first, size_t rows, float *out)
{
    const size_t dim = d->dim;
    const int scaled = sc != NULL && sc->shift != NULL;
    for (size_t r = 0; r < rows; r++) {
        size_t i = idx ? idx[first + r] : first + r;
        if (idx && r + PREFETCH_ROWS < rows) {
            const char *next = (const char *)(d->pixels + idx[first + r + PREFETCH_ROWS] * dim);
            for (size_t o = 0; o < dim; o += 64)
                __builtin_prefetch(next + o, 0, 3);
        }
        decode(d->pixels + i * dim, out + r * dim, dim, scaled ? sc->shift : NULL,
               scaled ? sc->mult : NULL);
    }
}

void ot__dataset_gather(const ot_dataset *d, const ot__scaling *sc,
                        const uint32_t *idx, size_t first, size_t rows,
                        float *out, int32_t *labels, float *targets)
{
    if (d->stage != NULL && d->pixels == NULL && d->x == NULL) { /* not a mapped view */
        ot__stage_gather(d, sc, idx, first, rows, out, labels, targets);
        return;
    }
    const size_t dim = d->dim, nt = d->n_targets;
    if (d->pixels != NULL && out != NULL)
        gather_pixels(d, sc, idx, first, rows, out);
    for (size_t r = 0; r < rows; r++) {
        size_t i = idx ? idx[first + r] : first + r;
        if (d->x != NULL && out != NULL) {
            float *o = out + r * dim;
            const float *x = d->x + i * dim;
            if (sc != NULL && sc->shift != NULL) {
                const float *restrict shift = sc->shift, *restrict mult = sc->mult;
                for (size_t j = 0; j < dim; j++)
                    o[j] = (x[j] - shift[j]) * mult[j];
            } else {
                memcpy(o, x, dim * sizeof(float));
            }
        }
        if (labels != NULL && d->y != NULL)
            labels[r] = d->y[i];
        if (targets != NULL && d->t != NULL)
            memcpy(targets + r * nt, d->t + i * nt, nt * sizeof(float));
    }
}

ot_status ot__dataset_check(const ot_dataset *d, const ot_model *m, const char *what,
                            int need_targets)
{
    if (d->dim != m->input_dim)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "%s: %zu features per sample, the model takes %zu",
                        what, d->dim, m->input_dim);
    if (!need_targets)
        return OT_OK;
    const size_t C = ot_model_output_dim(m);
    const char *loss = ot_loss_name(m->loss);
    if (d->y == NULL && d->t == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: the data has no labels or "
                        "targets", what);
    if (m->loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && d->y == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: %s needs integer labels, the "
                        "data has %zu float targets per sample (use "
                        "categorical_crossentropy)", what, loss, d->n_targets);
    if (d->t != NULL) {
        if (d->n_targets != C)
            return ot__fail(OT_INVALID_ARGUMENT, "%s: %zu targets per sample, "
                            "the model has %zu outputs", what, d->n_targets, C);
        if (m->loss == OT_LOSS_BINARY_CROSSENTROPY ||
            m->loss == OT_LOSS_CATEGORICAL_CROSSENTROPY)
            for (size_t i = 0; i < d->n * C; i++)
                if (d->t[i] < 0.0f || d->t[i] > 1.0f)
                    return ot__fail(OT_INVALID_ARGUMENT,
                                    "%s: target %g of sample %zu is outside "
                                    "[0, 1], as %s needs", what,
                                    (double)d->t[i], i / C, loss);
        return OT_OK;
    }
    /* integer labels: class indices, or (one output) the value itself */
    int is_class = C > 1 || m->loss == OT_LOSS_BINARY_CROSSENTROPY;
    size_t limit = C > 1 ? C : 2;
    if (is_class)
        for (size_t i = 0; i < d->n; i++)
            if ((size_t)d->y[i] >= limit)
                return ot__fail(OT_INVALID_ARGUMENT,
                                "%s: label %d of sample %zu is outside the "
                                "model's %zu classes",
                                what, (int)d->y[i], i, limit);
    return OT_OK;
}

ot_status ot__check_sample_weights(const float *w, size_t count, size_t n, const char *what)
{
    if (w == NULL && count == 0)
        return OT_OK;
    if (w == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: sample_weights %zu and no sample_weight",
                        what, count);
    if (count != n)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: %zu sample weights for %zu samples", what,
                        count, n);
    for (size_t i = 0; i < n; i++)
        if (!(w[i] >= 0.0f) || !isfinite(w[i]))
            return ot__fail(OT_INVALID_ARGUMENT, "%s: sample weight %g of sample %zu: weights "
                            "are finite and >= 0", what, (double)w[i], i);
    return OT_OK;
}
