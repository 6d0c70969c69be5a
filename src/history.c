/*
 * history.c - per-epoch metrics and their CSV file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "history.h"

ot_status ot__history_new(ot_history **out, size_t cap, const ot__metric_list *metrics)
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
    h->n_metrics = metrics->n;
    for (size_t k = 0; k < h->n_metrics; k++)
        h->metrics[k] = ot_metric_name(metrics->m[k]);
    *out = h;
    return OT_OK;
}

size_t ot_history_length(const ot_history *h) { return h ? h->len : 0; }

const char *ot_history_metric_name(const ot_history *h)
{
    return h ? h->metrics[0] : NULL;
}

size_t ot_history_metrics(const ot_history *h) { return h ? h->n_metrics : 0; }

const char *ot_history_metric(const ot_history *h, size_t k)
{
    return h && k < h->n_metrics ? h->metrics[k] : NULL;
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
    const size_t M = h->n_metrics, line_max = (6 + 2 * M) * 32;
    size_t cap = 256 + 64 * M + h->len * line_max;
    char *buf = ot__alloc(cap, 1, "history CSV");
    if (buf == NULL)
        return OT_OUT_OF_MEMORY;
    /* Keras' keys: the loss and metrics, then their validation values */
    size_t len = (size_t)snprintf(buf, cap, "epoch,loss");
    for (size_t k = 0; k < M; k++)
        len += (size_t)snprintf(buf + len, cap - len, ",%s", h->metrics[k]);
    len += (size_t)snprintf(buf + len, cap - len, ",val_loss");
    for (size_t k = 0; k < M; k++)
        len += (size_t)snprintf(buf + len, cap - len, ",val_%s", h->metrics[k]);
    len += (size_t)snprintf(buf + len, cap - len,
                            ",seconds,samples_per_second,comm_seconds,threads\n");
    for (size_t i = 0; i < h->len; i++) {
        const ot_epoch_metrics *e = &h->epochs[i];
        len += (size_t)snprintf(buf + len, cap - len, "%zu", e->epoch);
        len += (size_t)field(buf + len, cap - len, e->loss);
        for (size_t k = 0; k < M; k++)
            len += (size_t)field(buf + len, cap - len, e->metrics[k]);
        len += (size_t)field(buf + len, cap - len, e->val_loss);
        for (size_t k = 0; k < M; k++)
            len += (size_t)field(buf + len, cap - len, e->val_metrics[k]);
        double v[4] = {e->seconds, e->samples_per_second, e->comm_seconds, e->threads};
        for (int j = 0; j < 4; j++)
            len += (size_t)field(buf + len, cap - len, v[j]);
        len += (size_t)snprintf(buf + len, cap - len, "\n");
    }
    ot_status status = ot__write_file_atomic(path, buf, len);
    ot__free(buf);
    return status;
}
