/*
 * source.c - where a streamed dataset's features come from (stream.h): a
 * file of fixed-size rows read by offset, or the caller's callback.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rng.h"
#include "stream.h"

/* The rows a read asks a callback for at most: what the stage's chunks and
 * the reads into memory use. */
#define SOURCE_CHUNK 4096

void ot__source_close(struct ot__source *src)
{
    if (src == NULL)
        return;
    if (src->map != NULL)
        munmap((void *)src->map, src->map_len);
    if (src->fd >= 0)
        close(src->fd);
    ot__free(src);
}

uint64_t ot__source_fingerprint(int fd, uint64_t size)
{
    unsigned char buf[1 << 16];
    uint64_t h = ot__hash_bytes(0x736f75726365ULL, &size, sizeof size);
    ssize_t got = pread(fd, buf, sizeof buf, 0);
    h = ot__hash_bytes(h, buf, got > 0 ? (size_t)got : 0);
    got = size > sizeof buf ? pread(fd, buf, sizeof buf, (off_t)(size - sizeof buf)) : 0;
    return ot__hash_bytes(h, buf, got > 0 ? (size_t)got : 0);
}

void ot__source_map(struct ot__source *src, size_t len)
{
    /* a small file is mapped: copying rows from the page cache costs no
     * system call */
    if (len <= OT__STREAM_MAP_BYTES && len <= ot_memory_limit() / 4) {
        void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, src->fd, 0);
        if (p != MAP_FAILED) {
            src->map = p;
            src->map_len = len;
        }
    }
}

/* Reads n consecutive rows from row r of a file source into x. */
static ot_status read_run(const struct ot__source *src, size_t r, size_t n, unsigned char *x)
{
    size_t len = n * src->row_bytes, done = 0;
    uint64_t off = src->offset + (uint64_t)r * src->row_bytes;
    if (src->map != NULL) {
        memcpy(x, src->map + off, len);
        return OT_OK;
    }
    while (done < len) {
        ssize_t got = pread(src->fd, x + done, len - done, (off_t)(off + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return ot__fail(OT_IO_ERROR, "%s: cannot read row %zu: %s", src->name, r,
                            strerror(errno));
        if (got == 0)
            return ot__fail(OT_IO_ERROR, "%s: cut short at row %zu (was the file changed "
                            "while it was read?)", src->name, r + done / src->row_bytes);
        done += (size_t)got;
    }
    return OT_OK;
}

/* A callback's rows: the call, then its features and labels checked. */
static ot_status call_source(const ot_dataset *d, const size_t *at, size_t n, float *x,
                             int32_t *labels, float *targets)
{
    const struct ot__source *src = d->source;
    const size_t dim = d->dim, nt = d->n_targets;
    char msg[256] = "";
    if (src->rows(src->user, at, n, x, labels, targets, msg, sizeof msg) != 0)
        return ot__fail(OT_SOURCE_ERROR, "data source: %s (asked for %zu rows, row %zu "
                        "first)", msg[0] ? msg : "the callback failed without a message", n,
                        at[0]);
    for (size_t i = 0; x != NULL && i < n * dim; i++)
        if (!isfinite(x[i]))
            return ot__fail(OT_SOURCE_ERROR, "data source: feature %zu of row %zu is %g: "
                            "features must be finite", i % dim, at[i / dim], (double)x[i]);
    for (size_t i = 0; d->y != NULL && i < n; i++)
        if (labels[i] != d->y[at[i]])
            return ot__fail(OT_SOURCE_ERROR, "data source: row %zu's label is %d now, %d "
                            "when the dataset was made", at[i], (int)labels[i],
                            (int)d->y[at[i]]);
    for (size_t i = 0; d->t != NULL && i < n; i++)
        if (memcmp(targets + i * nt, d->t + at[i] * nt, nt * sizeof(float)) != 0)
            return ot__fail(OT_SOURCE_ERROR, "data source: row %zu's targets changed since "
                            "the dataset was made", at[i]);
    return OT_OK;
}

ot_status ot__source_read(const ot_dataset *d, const uint32_t *idx, size_t first, size_t n,
                          void *x, size_t *at, int32_t *labels, float *targets)
{
    const struct ot__source *src = d->source;
    if (src->fd >= 0) {
        /* A mapped file cut short would end the process with SIGBUS where a
         * read says so: its size is checked before each read of rows. */
        struct stat st;
        if (src->map != NULL && (fstat(src->fd, &st) != 0 || (size_t)st.st_size < src->map_len))
            return ot__fail(OT_IO_ERROR, "%s: cut short (was the file changed while it was "
                            "read?)", src->name);
        /* runs of consecutive rows in one read each; from a mapping, the
         * rows a few ahead prefetched, as a gather from memory does */
        unsigned char *out = x;
        for (size_t i = 0; i < n;) {
            size_t r = idx ? idx[first + i] : first + i, k = 1;
            if (src->map != NULL && idx != NULL && i + 4 < n) {
                const unsigned char *next = src->map + src->offset +
                                            (size_t)idx[first + i + 4] * src->row_bytes;
                for (size_t o = 0; o < src->row_bytes; o += 64)
                    __builtin_prefetch(next + o, 0, 0);
            }
            while (i + k < n && (idx ? idx[first + i + k] : first + i + k) == r + k)
                k++;
            ot_status st = read_run(src, r, k, out + i * src->row_bytes);
            if (st != OT_OK)
                return st;
            i += k;
        }
        return OT_OK;
    }
    size_t *a = at ? at : ot__alloc(n, sizeof *a, "source rows");
    int32_t *y = labels || !d->y ? labels : ot__alloc(n, sizeof *y, "source labels");
    float *t = targets || !d->t ? targets : ot__alloc(n * d->n_targets, sizeof *t,
                                                      "source targets");
    ot_status st = OT_OUT_OF_MEMORY;
    if (a && (y || !d->y) && (t || !d->t)) {
        for (size_t i = 0; i < n; i++)
            a[i] = idx ? idx[first + i] : first + i;
        st = call_source(d, a, n, x, y, t);
    }
    if (a != at)
        ot__free(a);
    if (y != labels)
        ot__free(y);
    if (t != targets)
        ot__free(t);
    return st;
}

ot_status ot__source_select(const ot_dataset *d, const size_t *idx, size_t n, void *x)
{
    uint32_t *rows = ot__alloc(SOURCE_CHUNK, sizeof *rows, "source rows");
    if (rows == NULL)
        return OT_OUT_OF_MEMORY;
    ot_status st = OT_OK;
    for (size_t i = 0; i < n && st == OT_OK; i += SOURCE_CHUNK) {
        size_t k = n - i < SOURCE_CHUNK ? n - i : SOURCE_CHUNK;
        for (size_t j = 0; j < k; j++)
            rows[j] = (uint32_t)idx[i + j];
        st = ot__source_read(d, rows, 0, k, (unsigned char *)x + i * d->source->row_bytes,
                             NULL, NULL, NULL);
    }
    ot__free(rows);
    return st;
}

ot_status ot__dataset_read_rows(const ot_dataset *d, const uint32_t *idx, size_t first,
                                size_t n, float *out)
{
    if (d->source == NULL) {
        ot__dataset_gather(d, NULL, idx, first, n, out, NULL, NULL);
        return OT_OK;
    }
    if (!d->source->pixels)
        return ot__source_read(d, idx, first, n, out, NULL, NULL, NULL);
    /* bytes, read into the tail of each chunk of out and decoded forward */
    const size_t dim = d->dim;
    for (size_t i = 0; i < n; i += SOURCE_CHUNK) {
        size_t k = n - i < SOURCE_CHUNK ? n - i : SOURCE_CHUNK;
        float *o = out + i * dim;
        uint8_t *raw = (uint8_t *)(o + k * dim) - k * dim;
        ot_status st = ot__source_read(d, idx, first + i, k, raw, NULL, NULL, NULL);
        if (st != OT_OK)
            return st;
        ot__pixels_to_floats(raw, o, k * dim);
    }
    return OT_OK;
}

ot_status ot__dataset_streamed(ot_dataset **out, struct ot__source *src, size_t n,
                               size_t dim, int32_t *y, float *t, size_t n_targets)
{
    ot_status st = ot__dataset_wrap(out, n, dim, NULL, y, t, n_targets);
    if (st != OT_OK) {
        ot__source_close(src);
        return st;
    }
    (*out)->source = src;
    return OT_OK;
}

int ot_dataset_is_streamed(const ot_dataset *d) { return d != NULL && d->source != NULL; }

ot_status ot_dataset_from_source(ot_dataset **out, const ot_source *source)
{
    if (out == NULL || source == NULL || source->rows == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "data source: NULL argument or rows callback");
    *out = NULL;
    const size_t n = source->n, dim = source->dim, nt = source->n_targets;
    if (n == 0 || n > OT_MAX_SAMPLES || dim == 0 || dim > ((size_t)1 << 24) ||
        nt > ((size_t)1 << 24))
        return ot__fail(OT_INVALID_ARGUMENT, "data source: %zu samples of %zu features and "
                        "%zu targets: samples must be in 1..%zu, features in 1..%zu",
                        n, dim, nt, OT_MAX_SAMPLES, (size_t)1 << 24);
    size_t need = nt ? n * nt * sizeof(float) : n * sizeof(int32_t);
    if (need > ot_memory_limit())
        return ot__fail(OT_OUT_OF_MEMORY, "data source: %zu samples' %s need %.3g GB, more "
                        "than the memory limit of %.3g GB (ot_set_memory_limit)", n,
                        nt ? "targets" : "labels", (double)need / 1e9,
                        (double)ot_memory_limit() / 1e9);
    struct ot__source *src = ot__calloc(1, sizeof *src, "data source");
    int32_t *y = nt ? NULL : ot__alloc(n, sizeof *y, "source labels");
    float *t = nt ? ot__alloc(n * nt, sizeof *t, "source targets") : NULL;
    size_t *at = ot__alloc(SOURCE_CHUNK, sizeof *at, "source rows");
    ot_status st = OT_OUT_OF_MEMORY;
    if (src && (y || t) && at) {
        *src = (struct ot__source){.fd = -1, .row_bytes = dim * sizeof(float),
                                   .rows = source->rows, .user = source->user};
        snprintf(src->name, sizeof src->name, "data source");
        st = OT_OK;
        for (size_t i = 0; i < n && st == OT_OK; i += SOURCE_CHUNK) {
            size_t k = n - i < SOURCE_CHUNK ? n - i : SOURCE_CHUNK;
            for (size_t j = 0; j < k; j++)
                at[j] = i + j;
            char msg[256] = "";
            if (source->rows(source->user, at, k, NULL, y ? y + i : NULL, t ? t + i * nt : NULL,
                             msg, sizeof msg) != 0)
                st = ot__fail(OT_SOURCE_ERROR, "data source: the labels of rows %zu..%zu: %s",
                              i, i + k - 1, msg[0] ? msg : "the callback failed without a "
                                                          "message");
        }
        for (size_t i = 0; st == OT_OK && y && i < n; i++)
            if (y[i] < 0)
                st = ot__fail(OT_INVALID_ARGUMENT, "data source: label %d of row %zu is "
                              "negative", (int)y[i], i);
        for (size_t i = 0; st == OT_OK && t && i < n * nt; i++)
            if (!isfinite(t[i]))
                st = ot__fail(OT_INVALID_ARGUMENT, "data source: target %zu of row %zu is "
                              "%g: targets must be finite", i % nt, i / nt, (double)t[i]);
    }
    ot__free(at);
    if (st != OT_OK) {
        ot__free(src);
        ot__free(y);
        ot__free(t);
        return st;
    }
    return ot__dataset_streamed(out, src, n, dim, y, t, nt);
}
