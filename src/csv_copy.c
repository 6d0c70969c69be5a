/*
 * csv_copy.c - a CSV streamed (ot_dataset_stream_csv): parsed once, a line
 * at a time, by the load's own parts (csv.h), into a binary copy in the
 * cache (the features as floats, row by row, read by offset as training
 * goes; then the labels or targets), reused while the file and the options
 * are unchanged. The same checks and messages as a load, in its order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "csv.h"
#include "dataset.h"
#include "fileio.h"
#include "stream.h"

#define CACHE_MAGIC "OTCSVROW"
#define CACHE_HEAD 64

typedef struct cache_head {
    char magic[8];
    uint32_t version, flags; /* flags: 1 a header line, 2 integer labels */
    uint64_t n, dim, n_targets, features_at, labels_at;
} cache_head;

/* A growing array of the labels or targets. */
typedef struct grow {
    void *p;
    size_t len, cap, size; /* elements of `size` bytes */
} grow;

static ot_status grow_to(grow *g, size_t len, const char *path)
{
    if (len <= g->cap)
        return OT_OK;
    size_t cap = g->cap ? 2 * g->cap : 4096;
    while (cap < len)
        cap *= 2;
    if (cap * g->size > ot_memory_limit())
        return ot__fail(OT_OUT_OF_MEMORY, "%s: the labels of %zu rows need more than the "
                        "memory limit of %.3g GB (--max-memory)", path, len,
                        (double)ot_memory_limit() / 1e9);
    void *p = ot__alloc(cap, g->size, "CSV labels");
    if (p == NULL)
        return OT_OUT_OF_MEMORY;
    if (g->len)
        memcpy(p, g->p, g->len * g->size);
    ot__free(g->p);
    g->p = p;
    g->cap = cap;
    return OT_OK;
}

/* A failure kept to be said later: a load finds some before others (a
 * ragged line anywhere before a bad value). */
typedef struct deferred {
    ot_status st;
    char msg[512];
} deferred;

/* Keeps st (its message with it) unless a failure is kept already. */
static void later(deferred *d, ot_status st)
{
    if (st != OT_OK && d->st == OT_OK) {
        d->st = st;
        ot__error_copy(d->msg, sizeof d->msg);
    }
}

static ot_status now(const deferred *d)
{
    ot__error_restore(d->msg);
    return d->st;
}

/* Parses the CSV at path (open on fd) into the copy at `copy`, in one pass
 * that finds what a load would find, in the load's order. */
static ot_status build_copy(const char *path, int fd, const ot_csv_options *o,
                            const char *copy)
{
    FILE *f = fdopen(dup(fd), "r");
    if (f == NULL)
        return ot__fail(OT_IO_ERROR, "%s: cannot read: %s", path, strerror(errno));
    ot__atomic a;
    ot_status status = ot__atomic_open(&a, copy);
    if (status != OT_OK) {
        fclose(f);
        return status;
    }
    static const char zero[CACHE_HEAD];
    status = ot__atomic_write(&a, zero, CACHE_HEAD);
    char *line = NULL;
    size_t line_cap = 0, cols = 0, dim = 0, rows = 0, first_line = 0, header_line = 0;
    size_t lineno = 0, at = 0, buf_rows = 0;
    int *role = NULL;
    size_t *feat = NULL;
    float *buf = NULL;
    grow lab = {.size = o->n_target_columns == 0 ? 0
                        : o->integer_labels      ? sizeof(int32_t)
                                                 : o->n_target_columns * sizeof(float)};
    ot__csv_row rc = {.path = path, .n_targets = o->n_target_columns, .integer = o->integer_labels,
                  .status = OT_OK};
    deferred count_err = {OT_OK, ""}, shape_err = {OT_OK, ""}, role_err = {OT_OK, ""},
             value_err = {OT_OK, ""};
    ssize_t got;
    while (status == OT_OK && (got = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        const char *s = line, *e = line + got;
        const char *nul = memchr(line, '\0', (size_t)got);
        if (nul != NULL) {
            status = ot__fail(OT_BAD_FORMAT, "%s: a binary file, not text (a NUL byte at "
                              "offset %zu)", path, at + (size_t)(nul - line));
            break;
        }
        at += (size_t)got;
        if (lineno == 1 && got >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        if (e > s && e[-1] == '\n')
            e--;
        if (e > s && e[-1] == '\r')
            e--;
        if (ot__csv_blank(s, e))
            continue;
        int stop = 0;
        if (cols == 0) {
            int header = ot__csv_is_header(o, s, e, &cols);
            if (cols > OT__CSV_MAX_COLUMNS) {
                later(&shape_err, ot__fail(OT_BAD_FORMAT, "%s: %zu columns", path, cols));
            } else {
                role = ot__alloc(cols, sizeof *role, "CSV columns");
                feat = ot__alloc(cols, sizeof *feat, "CSV columns");
                if (role == NULL || feat == NULL) {
                    status = OT_OUT_OF_MEMORY;
                    break;
                }
                later(&role_err, ot__csv_column_roles(path, o, cols, role, feat, &dim));
            }
            if (dim > 0) {
                buf_rows = ((size_t)1 << 20) / (dim * sizeof(float)) + 1;
                buf = ot__alloc(buf_rows * dim, sizeof *buf, "CSV rows");
                if (buf == NULL) {
                    status = OT_OUT_OF_MEMORY;
                    break;
                }
            }
            rc.cols = cols;
            rc.dim = dim;
            rc.role = role;
            rc.feat = feat;
            if (header) {
                header_line = lineno;
                continue;
            }
        } else {
            size_t n = ot__csv_split(s, e, o->delimiter, NULL, NULL, &stop);
            if (n != cols)
                later(&count_err, ot__fail(OT_BAD_FORMAT, "%s:%zu: %zu fields, expected %zu "
                                           "(as on line %zu)", path, lineno, n, cols,
                                           first_line ? first_line : header_line));
        }
        if (first_line == 0)
            first_line = lineno;
        if (rows == OT_MAX_SAMPLES) {
            status = ot__fail(OT_BAD_FORMAT, "%s: more than %zu rows", path, OT_MAX_SAMPLES);
            break;
        }
        /* the values are parsed while nothing is wrong yet; after a wrong
         * one only the lines' fields are counted, as a load's first pass
         * counts them all before it parses */
        if (!count_err.st && !shape_err.st && !role_err.st && !value_err.st) {
            if (lab.size > 0 && (status = grow_to(&lab, rows + 1, path)) != OT_OK)
                break;
            size_t in_buf = rows % buf_rows;
            rc.line = lineno;
            rc.row = 0;
            rc.x = buf + in_buf * dim;
            rc.y = lab.p && o->integer_labels ? (int32_t *)lab.p + rows : NULL;
            rc.t = lab.p && !o->integer_labels ? (float *)lab.p + rows * o->n_target_columns
                                               : NULL;
            rc.status = OT_OK;
            ot__csv_split(s, e, o->delimiter, ot__csv_store, &rc, &stop);
            later(&value_err, rc.status);
            if (!value_err.st && (rows + 1) % buf_rows == 0)
                status = ot__atomic_write(&a, buf, buf_rows * dim * sizeof(float));
        }
        rows++;
        lab.len = rows;
    }
    if (status == OT_OK && ferror(f))
        status = ot__fail(OT_IO_ERROR, "%s: read failed: %s", path, strerror(errno));
    /* the load's order: the fields' counts, the rows, the columns, then the
     * values */
    if (status == OT_OK && count_err.st)
        status = now(&count_err);
    if (status == OT_OK && rows == 0)
        status = ot__fail(OT_BAD_FORMAT, "%s: no data rows", path);
    if (status == OT_OK && shape_err.st)
        status = now(&shape_err);
    if (status == OT_OK && role_err.st)
        status = now(&role_err);
    if (status == OT_OK && value_err.st)
        status = now(&value_err);
    if (status == OT_OK && rows % buf_rows != 0)
        status = ot__atomic_write(&a, buf, (rows % buf_rows) * dim * sizeof(float));
    if (status == OT_OK && lab.size > 0)
        status = ot__atomic_write(&a, lab.p, rows * lab.size);
    const int integer = o->integer_labels && o->n_target_columns > 0;
    cache_head h = {CACHE_MAGIC, 1, (header_line ? 1u : 0u) | (integer ? 2u : 0u),
                    rows, dim, o->n_target_columns, CACHE_HEAD,
                    CACHE_HEAD + (uint64_t)rows * dim * sizeof(float)};
    memcpy(h.magic, CACHE_MAGIC, sizeof h.magic);
    if (status == OT_OK)
        status = ot__atomic_pwrite(&a, &h, sizeof h, 0);
    free(line);
    fclose(f);
    ot__free(role);
    ot__free(feat);
    ot__free(buf);
    ot__free(lab.p);
    if (status != OT_OK) {
        ot__atomic_abort(&a);
        return status;
    }
    return ot__atomic_commit(&a);
}

/* Opens the copy: its labels or targets read, its features a source. */
static ot_status open_copy(ot_dataset **out, const char *path, const char *copy,
                           const ot_csv_options *o)
{
    int fd = open(copy, O_RDONLY | O_CLOEXEC);
    struct stat st;
    cache_head h;
    if (fd < 0 || fstat(fd, &st) != 0 || pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        ot_status status = ot__fail(OT_IO_ERROR, "%s: cannot read: %s", copy, strerror(errno));
        if (fd >= 0)
            close(fd);
        return status;
    }
    const int integer = (h.flags & 2u) != 0 && h.n_targets > 0;
    const uint64_t lab_size = integer ? sizeof(int32_t) : h.n_targets * sizeof(float);
    if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.version != 1 || h.n == 0 ||
        h.n > OT_MAX_SAMPLES || h.dim == 0 || h.dim > OT__CSV_MAX_COLUMNS || h.n_targets > 16 ||
        integer != (o->integer_labels && o->n_target_columns > 0) ||
        h.n_targets != o->n_target_columns ||
        h.features_at != CACHE_HEAD || h.labels_at != CACHE_HEAD + h.n * h.dim * 4 ||
        (uint64_t)st.st_size != h.labels_at + h.n * lab_size) {
        close(fd);
        return ot__fail(OT_BAD_FORMAT, "%s: not a whole copy of %s: remove it to have it "
                        "made again", copy, path);
    }
    if (h.n * lab_size > ot_memory_limit()) {
        close(fd);
        return ot__fail(OT_OUT_OF_MEMORY, "%s: the labels of %llu rows need more than the "
                        "memory limit of %.3g GB (--max-memory)", path,
                        (unsigned long long)h.n, (double)ot_memory_limit() / 1e9);
    }
    void *lab = lab_size ? ot__alloc((size_t)h.n, (size_t)lab_size, "CSV labels") : NULL;
    if (lab_size && lab == NULL) {
        close(fd);
        return OT_OUT_OF_MEMORY;
    }
    size_t want = (size_t)(h.n * lab_size), done = 0;
    while (done < want) {
        ssize_t r = pread(fd, (char *)lab + done, want - done, (off_t)(h.labels_at + done));
        if (r <= 0) {
            close(fd);
            ot__free(lab);
            return ot__fail(OT_IO_ERROR, "%s: cannot read: %s", copy,
                            r < 0 ? strerror(errno) : "cut short");
        }
        done += (size_t)r;
    }
    for (size_t i = 0; integer && i < h.n; i++)
        if (((int32_t *)lab)[i] < 0) {
            close(fd);
            ot__free(lab);
            return ot__fail(OT_BAD_FORMAT, "%s: a negative label: remove it", copy);
        }
    struct ot__source *src = ot__calloc(1, sizeof *src, "stream source");
    if (src == NULL) {
        close(fd);
        ot__free(lab);
        return OT_OUT_OF_MEMORY;
    }
    *src = (struct ot__source){.fd = fd, .offset = CACHE_HEAD,
                               .row_bytes = (size_t)h.dim * sizeof(float),
                               .id = ot__source_fingerprint(fd, (uint64_t)st.st_size)};
    snprintf(src->name, sizeof src->name, "%.*s", (int)sizeof src->name - 1, copy);
    ot__source_map(src, (size_t)st.st_size);
    ot_status status = ot__dataset_streamed(out, src, (size_t)h.n, (size_t)h.dim,
                                            integer ? lab : NULL, integer ? NULL : lab,
                                            integer ? 0 : (size_t)h.n_targets);
    if (status == OT_OK)
        (*out)->header = (h.flags & 1u) != 0;
    return status;
}

ot_status ot_dataset_stream_csv(ot_dataset **out, const char *path,
                                const ot_csv_options *opt, const char *cache_dir)
{
    if (out == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "stream_csv: NULL argument");
    *out = NULL;
    ot_csv_options o = opt ? *opt : ot_csv_options_default();
    ot_status status = ot__csv_check_options(&o);
    if (status != OT_OK)
        return status;
    /* not blocking: a FIFO would wait in open() for a writer forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        status = ot__fail(OT_IO_ERROR, "%s: cannot open: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return status;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ot__fail(OT_IO_ERROR, "%s: not a regular file", path);
    }
    /* the copy's name says how the file is read: its options in the key */
    int64_t key[20] = {(int64_t)o.n_target_columns, o.integer_labels, o.header, o.delimiter};
    for (size_t k = 0; k < o.n_target_columns; k++)
        key[4 + k] = o.target_columns[k];
    char copy[4096];
    status = ot__cache_path(copy, sizeof copy, cache_dir, path, fd, key, sizeof key, ".rows");
    if (status == OT_OK && access(copy, F_OK) != 0)
        status = build_copy(path, fd, &o, copy);
    close(fd);
    if (status == OT_OK)
        status = open_copy(out, path, copy, &o);
    return status;
}
