/*
 * csv.c - numeric CSV files: an optional header line, one sample per line,
 * the target column(s) anywhere (the last by default). Every row must have
 * the same number of fields, and every field must be a finite number; an
 * error names the line and the column.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "dataset.h"
#include "fileio.h"
#include "stream.h"

#define MAX_COLUMNS ((size_t)1 << 24)

ot_csv_options ot_csv_options_default(void)
{
    ot_csv_options o;
    memset(&o, 0, sizeof o);
    o.target_columns[0] = -1;
    o.n_target_columns = 1;
    o.integer_labels = 1;
    o.header = -1;
    o.delimiter = ',';
    return o;
}

typedef struct cursor {
    const char *p, *end;
    size_t line; /* 1-based */
} cursor;

/* The next line [*s, *e) without its end of line; 0 at the end of the file. */
static int next_line(cursor *c, const char **s, const char **e)
{
    if (c->p >= c->end)
        return 0;
    const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const char *stop = nl ? nl : c->end;
    *s = c->p;
    *e = stop > c->p && stop[-1] == '\r' ? stop - 1 : stop;
    c->p = nl ? nl + 1 : c->end;
    c->line++;
    return 1;
}

static int blank(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}

/* Splits [s, e) at the delimiter; each field trimmed of blanks and quotes.
 * Calls back with (column, start, end); returns the field count. */
typedef int (*field_fn)(void *ctx, size_t col, const char *s, const char *e);

static size_t split(const char *s, const char *e, char delim, field_fn fn,
                    void *ctx, int *stop)
{
    size_t col = 0;
    for (;;) {
        const char *f = s;
        while (s < e && *s != delim)
            s++;
        const char *fe = s;
        while (f < fe && (*f == ' ' || *f == '\t'))
            f++;
        while (fe > f && (fe[-1] == ' ' || fe[-1] == '\t'))
            fe--;
        if (fe - f >= 2 && *f == '"' && fe[-1] == '"') {
            f++;
            fe--;
        }
        if (fn != NULL && !*stop && !fn(ctx, col, f, fe))
            *stop = 1;
        col++;
        if (s >= e)
            return col;
        s++; /* past the delimiter */
    }
}

/* Parses [s, e) as a finite number. */
static int number(const char *s, const char *e, double *v)
{
    char buf[64];
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *v = strtod(buf, &end);
    return *end == '\0' && errno == 0 && isfinite(*v);
}

/* Counts the fields that are numbers into *(size_t *)ctx. */
static int count_number(void *ctx, size_t col, const char *s, const char *e)
{
    (void)col;
    double v;
    *(size_t *)ctx += number(s, e, &v);
    return 1;
}

typedef struct row_ctx {
    const char *path;
    size_t line, cols, row, dim, n_targets;
    const int *role;  /* per column: -1 feature, else target index */
    const size_t *feat; /* per column: feature index */
    int integer;
    float *x, *t;
    int32_t *y;
    ot_status status;
} row_ctx;

static int store(void *vctx, size_t col, const char *s, const char *e)
{
    row_ctx *c = vctx;
    double v;
    if (!number(s, e, &v)) {
        c->status = ot__fail(OT_BAD_FORMAT, "%s:%zu:%zu: '%.*s' is not a "
                             "finite number", c->path, c->line, col + 1,
                             (int)(e - s > 40 ? 40 : e - s), s);
        return 0;
    }
    if (!isfinite((float)v)) { /* finite as a double, infinite as the float kept */
        c->status = ot__fail(OT_BAD_FORMAT, "%s:%zu:%zu: '%.*s' is beyond a float's "
                             "range (+-3.4e38)", c->path, c->line, col + 1,
                             (int)(e - s > 40 ? 40 : e - s), s);
        return 0;
    }
    int role = c->role[col];
    if (role < 0) {
        c->x[c->row * c->dim + c->feat[col]] = (float)v;
    } else if (c->integer) {
        if (v < 0 || v != floor(v) || v > 2147483647.0) {
            c->status = ot__fail(OT_BAD_FORMAT, "%s:%zu:%zu: label '%.*s' is not "
                                 "a non-negative integer", c->path, c->line,
                                 col + 1, (int)(e - s > 40 ? 40 : e - s), s);
            return 0;
        }
        c->y[c->row] = (int32_t)v;
    } else {
        c->t[c->row * c->n_targets + (size_t)role] = (float)v;
    }
    return 1;
}

static ot_status check_options(const ot_csv_options *o)
{
    if (o->n_target_columns > sizeof o->target_columns / sizeof *o->target_columns)
        return ot__fail(OT_INVALID_ARGUMENT, "load_csv: at most 16 target columns");
    if (o->integer_labels && o->n_target_columns > 1)
        return ot__fail(OT_INVALID_ARGUMENT, "load_csv: integer labels come "
                        "from one column, %zu given", o->n_target_columns);
    if (o->delimiter == '\0' || o->delimiter == '\n' || o->delimiter == '"')
        return ot__fail(OT_INVALID_ARGUMENT, "load_csv: bad delimiter");
    return OT_OK;
}

/* Each of the cols columns' role (-1 a feature, else its target's index)
 * and feature index; the feature count in *dim. */
static ot_status column_roles(const char *path, const ot_csv_options *o, size_t cols,
                              int *role, size_t *feat, size_t *dim)
{
    for (size_t j = 0; j < cols; j++)
        role[j] = -1;
    for (size_t k = 0; k < o->n_target_columns; k++) {
        long col = o->target_columns[k];
        long idx = col < 0 ? (long)cols + col : col;
        if (idx < 0 || idx >= (long)cols)
            return ot__fail(OT_INVALID_ARGUMENT, "%s: target column %ld does "
                            "not exist (rows have %zu columns)", path, col, cols);
        if (role[idx] >= 0)
            return ot__fail(OT_INVALID_ARGUMENT, "%s: target column %ld is "
                            "given twice", path, col);
        role[idx] = (int)k;
    }
    *dim = 0;
    for (size_t j = 0; j < cols; j++)
        if (role[j] < 0)
            feat[j] = (*dim)++;
    if (*dim == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: no feature columns left", path);
    return OT_OK;
}

/* Whether [s, e), the first line that is not blank, is a header: a row of
 * which no field is a number (a first row with a typo, a nan or an empty
 * field among numbers is data, and gets the error any other row would);
 * its field count in *cols. */
static int is_header(const ot_csv_options *o, const char *s, const char *e, size_t *cols)
{
    size_t numbers = 0;
    int stop = 0;
    *cols = split(s, e, o->delimiter, count_number, &numbers, &stop);
    return o->header == 1 || (o->header < 0 && numbers == 0);
}

ot_status ot_dataset_load_csv(ot_dataset **out, const char *path,
                              const ot_csv_options *opt)
{
    if (out == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load_csv: NULL argument");
    *out = NULL;
    ot_csv_options o = opt ? *opt : ot_csv_options_default();
    ot_status status = check_options(&o);
    if (status != OT_OK)
        return status;

    unsigned char *data = NULL;
    size_t len = 0;
    status = ot__read_file(path, (size_t)1 << 40, 1, &data, &len);
    if (status != OT_OK)
        return status;
    if (memchr(data, '\0', len) != NULL) {
        ot__free(data);
        return ot__fail(OT_BAD_FORMAT, "%s: a binary file, not CSV", path);
    }

    /* Pass 1: the header, the width and the row count; a UTF-8 byte order
     * mark (spreadsheets write one) is not part of the first field */
    size_t bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    cursor c = {(const char *)data + bom, (const char *)data + len, 0};
    const char *s, *e;
    size_t cols = 0, rows = 0, first_line = 0, header_line = 0;
    int *role = NULL;
    size_t *feat = NULL;
    float *x = NULL, *t = NULL;
    int32_t *y = NULL;
    while (next_line(&c, &s, &e)) {
        if (blank(s, e))
            continue;
        int stop = 0;
        if (cols == 0) {
            if (is_header(&o, s, e, &cols)) {
                header_line = c.line;
                continue;
            }
            first_line = c.line;
        } else {
            size_t n = split(s, e, o.delimiter, NULL, NULL, &stop);
            if (n != cols) {
                status = ot__fail(OT_BAD_FORMAT, "%s:%zu: %zu fields, expected "
                                  "%zu (as on line %zu)", path, c.line, n, cols,
                                  first_line ? first_line : header_line);
                goto fail;
            }
        }
        if (first_line == 0)
            first_line = c.line;
        rows++;
    }
    if (rows == 0) {
        status = ot__fail(OT_BAD_FORMAT, "%s: no data rows", path);
        goto fail;
    }
    if (cols > MAX_COLUMNS) {
        status = ot__fail(OT_BAD_FORMAT, "%s: %zu columns", path, cols);
        goto fail;
    }

    /* Roles of the columns. */
    role = ot__alloc(cols, sizeof *role, "CSV columns");
    feat = ot__alloc(cols, sizeof *feat, "CSV columns");
    if (role == NULL || feat == NULL) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    size_t dim = 0;
    if ((status = column_roles(path, &o, cols, role, feat, &dim)) != OT_OK)
        goto fail;
    if (rows > OT_MAX_SAMPLES || dim > SIZE_MAX / sizeof(float) / rows) {
        status = ot__fail(OT_BAD_FORMAT, "%s: too large", path);
        goto fail;
    }
    x = ot__alloc(rows * dim, sizeof(float), "CSV features");
    if (o.n_target_columns > 0 && o.integer_labels)
        y = ot__alloc(rows, sizeof(int32_t), "CSV labels");
    else if (o.n_target_columns > 0)
        t = ot__alloc(rows * o.n_target_columns, sizeof(float), "CSV targets");
    if (x == NULL || (o.n_target_columns > 0 && y == NULL && t == NULL)) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }

    /* Pass 2: the numbers. */
    row_ctx rc = {path, 0, cols, 0, dim, o.n_target_columns, role, feat,
                  o.integer_labels, x, t, y, OT_OK};
    c = (cursor){(const char *)data + bom, (const char *)data + len, 0};
    while (next_line(&c, &s, &e)) {
        if (blank(s, e) || c.line == header_line)
            continue;
        int stop = 0;
        rc.line = c.line;
        split(s, e, o.delimiter, store, &rc, &stop);
        if (rc.status != OT_OK) {
            status = rc.status;
            goto fail;
        }
        rc.row++;
    }
    ot__free(data);
    ot__free(role);
    ot__free(feat);
    status = ot__dataset_wrap(out, rows, dim, x, y, t, o.n_target_columns);
    if (status == OT_OK)
        (*out)->header = header_line != 0;
    return status;
fail:
    ot__free(data);
    ot__free(role);
    ot__free(feat);
    ot__free(x);
    ot__free(y);
    ot__free(t);
    return status;
}

/*
 * Streamed: the CSV parsed once, a line at a time, into a binary copy in the
 * cache (the features as floats, row by row, read by offset as training
 * goes; then the labels or targets), reused while the file and the options
 * are unchanged. The same checks and messages as a load.
 */

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
    row_ctx rc = {.path = path, .n_targets = o->n_target_columns, .integer = o->integer_labels,
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
        if (blank(s, e))
            continue;
        int stop = 0;
        if (cols == 0) {
            int header = is_header(o, s, e, &cols);
            if (cols > MAX_COLUMNS) {
                later(&shape_err, ot__fail(OT_BAD_FORMAT, "%s: %zu columns", path, cols));
            } else {
                role = ot__alloc(cols, sizeof *role, "CSV columns");
                feat = ot__alloc(cols, sizeof *feat, "CSV columns");
                if (role == NULL || feat == NULL) {
                    status = OT_OUT_OF_MEMORY;
                    break;
                }
                later(&role_err, column_roles(path, o, cols, role, feat, &dim));
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
            size_t n = split(s, e, o->delimiter, NULL, NULL, &stop);
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
            split(s, e, o->delimiter, store, &rc, &stop);
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
        h.n > OT_MAX_SAMPLES || h.dim == 0 || h.dim > MAX_COLUMNS || h.n_targets > 16 ||
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
    ot_status status = check_options(&o);
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
