/*
 * plot.c - the textbook's matplotlib figure as a standalone SVG: a panel
 * for the loss and one for each metric per epoch, training (solid) and
 * validation (dashed).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fileio.h"
#include "history.h"

typedef struct svg {
    char *buf;
    size_t len, cap;
} svg;

static void out(svg *s, const char *fmt, ...) OT__PRINTF(2, 3);

static void out(svg *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        s->len += (size_t)n < s->cap - s->len ? (size_t)n : s->cap - s->len - 1;
}

/* A "nice" step (1, 2 or 5 x 10^k) giving about `ticks` intervals. */
static double nice_step(double range, int ticks)
{
    double raw = range / ticks, mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

enum { W = 460, H = 340, ML = 64, MR = 16, MT = 40, MB = 48 };

/* Panel `which`'s value of an epoch: 0 the loss, 1 + k metric k; on the
 * validation data when val. */
static double value(const ot_epoch_metrics *e, size_t which, int val)
{
    if (which == 0)
        return val ? e->val_loss : e->loss;
    return val ? e->val_metrics[which - 1] : e->metrics[which - 1];
}

static void panel(svg *s, const ot_history *h, size_t which, double x0)
{
    const char *name = which == 0 ? "loss" : h->metrics[which - 1];
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < h->len; i++) {
        const ot_epoch_metrics *e = &h->epochs[i];
        double v[2] = {value(e, which, 0), value(e, which, 1)};
        for (int k = 0; k < 2; k++)
            if (isfinite(v[k])) {
                lo = v[k] < lo ? v[k] : lo;
                hi = v[k] > hi ? v[k] : hi;
            }
    }
    if (!(hi > lo)) {
        lo = isfinite(lo) ? lo - 0.5 : 0.0;
        hi = lo + 1.0;
    }
    double step = nice_step(hi - lo, 5);
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
    double e0 = (double)h->epochs[0].epoch, e1 = (double)h->epochs[h->len - 1].epoch;
    if (e1 <= e0)
        e1 = e0 + 1;
    const double pw = W - ML - MR, ph = H - MT - MB;
#define PX(ep) (x0 + ML + ((ep) - e0) / (e1 - e0) * pw)
#define PY(v) (MT + (hi - (v)) / (hi - lo) * ph)
    out(s, "<g font-family=\"sans-serif\" font-size=\"12\">\n");
    out(s, "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
           "%s</text>\n", x0 + ML + pw / 2, name);
    out(s, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
           "stroke=\"#444\"/>\n", x0 + ML, MT, pw, ph);
    for (double v = lo; v <= hi + step / 2; v += step) {
        out(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"#ddd\"/>\n", x0 + ML, PY(v), x0 + ML + pw, PY(v));
        out(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
            x0 + ML - 6, PY(v) + 4, fabs(v) < step / 1e6 ? 0.0 : v);
    }
    double estep = nice_step(e1 - e0, 8);
    if (estep < 1)
        estep = 1;
    for (double ep = ceil(e0 / estep) * estep; ep <= e1 + 1e-9; ep += estep)
        out(s, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n",
            PX(ep), H - MB + 18, ep);
    out(s, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n",
        x0 + ML + pw / 2, H - 8);
    static const char *const colour[2] = {"#1f77b4", "#ff7f0e"};
    static const char *const label[2] = {"training", "validation"};
    for (int k = 0; k < 2; k++) {
        int any = 0;
        for (size_t i = 0; i < h->len; i++) {
            const ot_epoch_metrics *e = &h->epochs[i];
            double v = value(e, which, k);
            if (!isfinite(v))
                continue;
            if (!any)
                out(s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                       "points=\"", colour[k], k ? " stroke-dasharray=\"6 4\"" : "");
            out(s, "%.1f,%.1f ", PX((double)e->epoch), PY(v));
            any = 1;
        }
        if (!any)
            continue;
        out(s, "\"/>\n");
        for (size_t i = 0; i < h->len; i++) {
            const ot_epoch_metrics *e = &h->epochs[i];
            double v = value(e, which, k);
            if (isfinite(v))
                out(s, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                    PX((double)e->epoch), PY(v), colour[k]);
        }
        /* the legend where the curves are not: top right for a falling
         * curve (loss, errors), bottom right for a rising one (accuracies) */
        int rising = which > 0 && strstr(name, "accuracy") != NULL;
        double ly = (rising ? H - MB - 44 : MT + 16) + 18 * k;
        out(s, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
               "stroke-width=\"2\"%s/>\n", x0 + W - MR - 120, ly - 4, x0 + W - MR - 96,
            ly - 4, colour[k], k ? " stroke-dasharray=\"6 4\"" : "");
        out(s, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x0 + W - MR - 90, ly, label[k]);
    }
    out(s, "</g>\n");
#undef PX
#undef PY
}

ot_status ot_history_write_svg(const ot_history *h, const char *path)
{
    if (h == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "plot: NULL argument");
    if (h->len == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "plot: the history has no epochs");
    const size_t panels = 1 + h->n_metrics;
    svg s = {NULL, 0, panels * (4096 + h->len * 2 * 200)};
    s.buf = ot__alloc(s.cap, 1, "SVG plot");
    if (s.buf == NULL)
        return OT_OUT_OF_MEMORY;
    s.buf[0] = '\0';
    out(&s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\">\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n", (int)panels * W, H, (int)panels * W, H);
    for (size_t p = 0; p < panels; p++)
        panel(&s, h, p, (double)(p * W));
    out(&s, "</svg>\n");
    ot_status status = ot__write_file_atomic(path, s.buf, s.len);
    ot__free(s.buf);
    return status;
}
