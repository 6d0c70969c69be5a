/*
 * csv.h - the CSV reader's parts that a load (csv.c) and a streamed
 * parse (csv_copy.c) share, so that both find the same things and say them
 * the same way. Not installed.
 */
#ifndef OT_CSV_H
#define OT_CSV_H

#include "common.h"

#define OT__CSV_MAX_COLUMNS ((size_t)1 << 24)

/* Splits [s, e) at the delimiter; each field trimmed of blanks and quotes.
 * Calls back with (column, start, end); returns the field count. */
typedef int (*field_fn)(void *ctx, size_t col, const char *s, const char *e);

size_t ot__csv_split(const char *s, const char *e, char delim, field_fn fn, void *ctx,
                     int *stop);

/* Whether [s, e) holds blanks only. */
int ot__csv_blank(const char *s, const char *e);

/* Where a row's values go, and the first failure. */
typedef struct ot__csv_row {
    const char *path;
    size_t line, cols, row, dim, n_targets;
    const int *role;  /* per column: -1 feature, else target index */
    const size_t *feat; /* per column: feature index */
    int integer;
    float *x, *t;
    int32_t *y;
    ot_status status;
} ot__csv_row;

/* A field_fn: stores field col of row c->row (or fails, naming the file,
 * line and column). */
int ot__csv_store(void *vctx, size_t col, const char *s, const char *e);

ot_status ot__csv_check_options(const ot_csv_options *o);

/* Each of the cols columns' role (-1 a feature, else its target's index)
 * and feature index; the feature count in *dim. */
ot_status ot__csv_column_roles(const char *path, const ot_csv_options *o, size_t cols,
                               int *role, size_t *feat, size_t *dim);

/* Whether [s, e), the first line that is not blank, is a header: a row of
 * which no field is a number; its field count in *cols. */
int ot__csv_is_header(const ot_csv_options *o, const char *s, const char *e, size_t *cols);

#endif
