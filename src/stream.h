/*
 * stream.h - datasets whose features stay where they are (a file of
 * fixed-size rows, or the caller's callbacks) and are read as a run needs
 * them. Not installed.
 *
 * A streamed dataset holds its labels or targets in memory (4 bytes a
 * sample: what stratified folds, checks and class counts need) and a
 * source for its features. It stays read-only and shareable; a run (a fit,
 * an evaluation) that uses it makes a view of it with a stage of its own:
 *
 *   the driver posts the rows it will gather, in order, in chunks (a
 *   training epoch's batches, a validation pass's rounds);
 *   the stage's reader thread reads the chunks ahead into a ring of
 *   buffers, each an in-memory dataset of the chunk's rows;
 *   before the engine hands out a job (or a forward job's next round), it
 *   waits until the job's rows are read, which frees the chunks before
 *   them (ot__dataset_ready);
 *   the job's gathers copy from those buffers with the in-memory gather,
 *   so the features, their scaling and the weights are the bits an
 *   in-memory run of the same data gives.
 *
 * A read that fails (an I/O error, a file cut short, a callback's error)
 * ends the run with its message.
 */
#ifndef OT_STREAM_H
#define OT_STREAM_H

#include "dataset.h"

struct ot__source {
    int fd;              /* a file of rows, or -1: callbacks */
    const unsigned char *map; /* the whole file mapped (a small one), or NULL */
    size_t map_len;
    uint64_t offset;     /* of row 0 in the file */
    size_t row_bytes;    /* dim bytes (pixels) or dim floats */
    int pixels;          /* rows of bytes b, each the feature b / 255 */
    uint64_t id;         /* a fingerprint of the file (ot__source_fingerprint), or
                          * 0: what ranks compare */
    ot_source_rows_fn rows; /* callbacks: the caller's, with user */
    void *user;
    char name[256];      /* the file, for messages */
};

/* Reads rows idx[first..first+n) (first.. when idx is NULL) of d's source
 * into x (n rows of the source's row_bytes). From callbacks, `at` (n)
 * receives the rows' indices and labels or targets (n of them) the labels
 * the source gives, which must be those it gave when d was made; NULL: the
 * call allocates them. Any thread; several at once. */
ot_status ot__source_read(const ot_dataset *d, const uint32_t *idx, size_t first, size_t n,
                          void *x, size_t *at, int32_t *labels, float *targets);

/* Rows idx[0..n) of d's source into x (n raw rows), in chunks. */
ot_status ot__source_select(const ot_dataset *d, const size_t *idx, size_t n, void *x);

/* A streamed dataset of n rows from a source (taken over, and closed on
 * failure); y or t (taken over) its labels or n x n_targets targets. */
ot_status ot__dataset_streamed(ot_dataset **out, struct ot__source *src, size_t n,
                               size_t dim, int32_t *y, float *t, size_t n_targets);

/* A file at most this large (and at most a quarter of the memory limit) is
 * mapped whole and read from the mapping; a larger one by pread, row by
 * row, which costs a system call a row. */
#define OT__STREAM_MAP_BYTES ((size_t)128 << 20)

/* The source file's size, first and last 64 KiB hashed: the same on every
 * rank that reads the same data, whatever its copy's name or time. */
uint64_t ot__source_fingerprint(int fd, uint64_t size);

/* Maps the source's file of len bytes when it is small enough (above). */
void ot__source_map(struct ot__source *src, size_t len);

/* Closes a source's file and frees it; NULL is fine. */
void ot__source_close(struct ot__source *src);

typedef struct ot__stage ot__stage;

/* A stage for a run over d (streamed): view becomes a copy of *d whose
 * gathers read from the stage, in chunks of at most max_rows rows. */
ot_status ot__stage_open(ot__stage **out, const ot_dataset *d, size_t max_rows,
                         ot_dataset *view);
/* Stops the reader (posted rows not read yet are dropped); NULL is fine. */
void ot__stage_close(ot__stage *s);

/* The rows of a chunk, and of a forward round, on a stage for batches of
 * `batch`: about 2 MB of features and at most 4096 rows, whole batches, at
 * least one (many steps a chunk, so that the reader wakes seldom). */
size_t ot__stage_chunk(const ot_dataset *d, size_t batch);

/* A run's stages over its training and validation data: each streamed one
 * staged (one stage when they are the same dataset), *train and *val then
 * pointing at the views. */
typedef struct ot__stages {
    ot_dataset views[2];
    ot__stage *stage[2];
} ot__stages;
ot_status ot__stages_open(ot__stages *s, const ot_dataset **train, const ot_dataset **val,
                          size_t batch);
void ot__stages_close(ot__stages *s);

/* The part of each batch a rank's shards gather (ranks.h): batches of
 * `batch` rows from position 0 of the idx array, each cut into `shards`,
 * of which this rank's are [lo, hi). */
typedef struct ot__stage_part {
    size_t batch, shards, lo, hi;
} ot__stage_part;

/* Queues rows idx[first..first+rows) of view (first.. when idx is NULL) to
 * be read ahead in chunks of `chunk` rows (the last shorter), in the order
 * the run will gather them; idx must stay unchanged until they are. With
 * `part`, only the rows of this rank's shards of each batch are read (the
 * others are never gathered here); NULL: every row. A view that is not
 * staged: nothing. */
ot_status ot__stage_post(const ot_dataset *view, const uint32_t *idx, size_t first,
                         size_t rows, size_t chunk, const ot__stage_part *part);

/* Staged (else nothing): waits until rows idx[first..first+rows), posted, are read (or a
 * read failed: its error); with `release`, the chunks posted before them
 * are freed for the reader. The engine's master, between jobs. */
ot_status ot__stage_ready(const ot_dataset *view, const uint32_t *idx, size_t first,
                          size_t rows, int release);

/* ot__dataset_gather on a staged view, from its buffers. */
void ot__stage_gather(const ot_dataset *view, const ot__scaling *sc, const uint32_t *idx,
                      size_t first, size_t rows, float *out, int32_t *labels,
                      float *targets);

/* The bytes of features a run's stages made ready since they opened, and
 * the seconds their readers spent reading them. */
void ot__stages_stats(const ot__stages *s, double *bytes, double *seconds);

#endif
