/*
 * history.c - per-epoch metrics and their CSV file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "history.h"

ot_status ot__history_new(ot_history **out, size_t cap, const char *metric)
{
    ot_history *h = ot__calloc(1, sizeof *h, "history");
    if (h == NULL)
        return OT_OUT_OF_MEMORY;
    h->epochs = ot__calloc(cap, sizeof *h->epochs, "history");
    if (h->epochs == NULL) {
        ot__free(h);
        return OT_OUT_OF_MEMORY;
    }
    h->cap = cap;
    h->metric = metric;
    *out = h;
    return OT_OK;
}

size_t ot_history_length(const ot_history *h) { return h ? h->len : 0; }

const char *ot_history_metric_name(const ot_history *h)
{
    return h ? h->metric : NULL;
}

size_t ot_history_best_epoch(const ot_history *h) { return h ? h->best_epoch : 0; }

const ot_epoch_metrics *ot_history_epoch(const ot_history *h, size_t i)
{
    return h && i < h->len ? &h->epochs[i] : NULL;
}

void ot_history_destroy(ot_history *h)
{
    if (h == NULL)
        return;
    ot__free(h->epochs);
    ot__free(h);
}

/* A metric in the fewest digits that read back as it, or an empty field
 * when it was not measured (NaN). */
static int field(char *buf, size_t size, double v)
{
    if (isnan(v))
        return snprintf(buf, size, ",");
    int n = 0;
    for (int digits = 1; digits <= 17; digits++) {
        n = snprintf(buf, size, ",%.*g", digits, v);
        if (n > 0 && (size_t)n < size && strtod(buf + 1, NULL) == v)
            break;
    }
    return n;
}

ot_status ot_history_write_csv(const ot_history *h, const char *path)
{
    if (h == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "history: NULL argument");
    const size_t line_max = 10 * 32;
    size_t cap = 128 + h->len * line_max;
    char *buf = ot__alloc(cap, 1, "history CSV");
    if (buf == NULL)
        return OT_OUT_OF_MEMORY;
    size_t len = (size_t)snprintf(buf, cap,
                                  "epoch,loss,%s,val_loss,val_%s,seconds,"
                                  "samples_per_second,comm_seconds,threads\n",
                                  h->metric, h->metric);
    for (size_t i = 0; i < h->len; i++) {
        const ot_epoch_metrics *e = &h->epochs[i];
        double v[8] = {e->loss, e->metric, e->val_loss, e->val_metric, e->seconds,
                       e->samples_per_second, e->comm_seconds, e->threads};
        len += (size_t)snprintf(buf + len, cap - len, "%zu", e->epoch);
        for (int j = 0; j < 8; j++)
            len += (size_t)field(buf + len, cap - len, v[j]);
        len += (size_t)snprintf(buf + len, cap - len, "\n");
    }
    ot_status status = ot__write_file_atomic(path, buf, len);
    ot__free(buf);
    return status;
}
