/*
 * csv.c - numeric CSV files: an optional header line, one sample per line,
 * the target column(s) anywhere (the last by default). Every row must have
 * the same number of fields, and every field must be a finite number; an
 * error names the line and the column.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "dataset.h"
#include "fileio.h"


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

int ot__csv_blank(const char *s, const char *e)
{
    for (; s < e; s++)
        if (*s != ' ' && *s != '\t')
            return 0;
    return 1;
}


size_t ot__csv_split(const char *s, const char *e, char delim, field_fn fn,
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


int ot__csv_store(void *vctx, size_t col, const char *s, const char *e)
{
    ot__csv_row *c = vctx;
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

ot_status ot__csv_check_options(const ot_csv_options *o)
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
ot_status ot__csv_column_roles(const char *path, const ot_csv_options *o, size_t cols,
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
int ot__csv_is_header(const ot_csv_options *o, const char *s, const char *e, size_t *cols)
{
    size_t numbers = 0;
    int stop = 0;
    *cols = ot__csv_split(s, e, o->delimiter, count_number, &numbers, &stop);
    return o->header == 1 || (o->header < 0 && numbers == 0);
}

ot_status ot_dataset_load_csv(ot_dataset **out, const char *path,
                              const ot_csv_options *opt)
{
    if (out == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load_csv: NULL argument");
    *out = NULL;
    ot_csv_options o = opt ? *opt : ot_csv_options_default();
    ot_status status = ot__csv_check_options(&o);
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
        if (ot__csv_blank(s, e))
            continue;
        int stop = 0;
        if (cols == 0) {
            if (ot__csv_is_header(&o, s, e, &cols)) {
                header_line = c.line;
                continue;
            }
            first_line = c.line;
        } else {
            size_t n = ot__csv_split(s, e, o.delimiter, NULL, NULL, &stop);
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
    if (cols > OT__CSV_MAX_COLUMNS) {
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
    if ((status = ot__csv_column_roles(path, &o, cols, role, feat, &dim)) != OT_OK)
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
    ot__csv_row rc = {path, 0, cols, 0, dim, o.n_target_columns, role, feat,
                  o.integer_labels, x, t, y, OT_OK};
    c = (cursor){(const char *)data + bom, (const char *)data + len, 0};
    while (next_line(&c, &s, &e)) {
        if (ot__csv_blank(s, e) || c.line == header_line)
            continue;
        int stop = 0;
        rc.line = c.line;
        ot__csv_split(s, e, o.delimiter, ot__csv_store, &rc, &stop);
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
