/*
 * search_svg.c - DIR/scores.svg of `omptrain search` (search.h): on the
 * left each candidate's mean test score with its standard deviation over
 * the folds, in cv_results.csv's order; on the right each candidate's
 * learning curve, the mean score after every epoch; the best in red.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"

enum { W = 960, H = 440, TOP = 50, BOTTOM = 370, PANEL = 400 };

/* Every row done: its result (valid while the searches live). */
typedef struct row {
    ot_search_result res;
    int last, best; /* of the last round; the best of it */
} row;

static double step_for(double range)
{
    double raw = range / 5.0, mag = pow(10.0, floor(log10(raw)));
    double n = raw / mag;
    return (n < 1.5 ? 1.0 : n < 3.5 ? 2.0 : n < 7.5 ? 5.0 : 10.0) * mag;
}

static double y_of(double v, double lo, double hi)
{
    return BOTTOM - (v - lo) / (hi - lo) * (BOTTOM - TOP);
}

/* Axes of a panel at x0: the score's ticks, a title, the x label. */
static void axes(FILE *f, double x0, double lo, double hi, const char *title, const char *xlab)
{
    fprintf(f, "<rect x='%.1f' y='%d' width='%d' height='%d' fill='none' stroke='#888'/>\n",
            x0, TOP, PANEL, BOTTOM - TOP);
    double st = step_for(hi - lo);
    for (double t = ceil(lo / st) * st; t <= hi + 1e-12; t += st) {
        double y = y_of(t, lo, hi);
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#eee'/>\n", x0,
                x0 + PANEL, y, y);
        fprintf(f, "<text x='%.1f' y='%.1f' font-size='11' text-anchor='end'>%g</text>\n",
                x0 - 4, y + 4, t);
    }
    fprintf(f, "<text x='%.1f' y='%d' font-size='13' text-anchor='middle'>%s</text>\n",
            x0 + PANEL / 2.0, TOP - 12, title);
    fprintf(f, "<text x='%.1f' y='%d' font-size='11' text-anchor='middle'>%s</text>\n",
            x0 + PANEL / 2.0, BOTTOM + 32, xlab);
}

int search_write_svg(const search_run *r, const char *path, size_t splits)
{
    size_t n = 0, most = 0;
    for (size_t k = 0; k < r->n_rounds; k++)
        n += r->rounds[k].n;
    row *rows = calloc(n ? n : 1, sizeof *rows);
    if (rows == NULL) {
        cli_error("%s: out of memory", path);
        return 0;
    }
    n = 0;
    double lo = INFINITY, hi = -INFINITY;
    size_t best = SIZE_MAX;
    for (size_t k = 0; k < r->n_rounds; k++)
        for (size_t j = 0; j < r->rounds[k].n; j++) {
            ot_search_result *res = &rows[n].res;
            if (!r->rounds[k].s || ot_search_result_get(r->rounds[k].s, j, res) != OT_OK)
                continue;
            double m = res->mean_score;
            rows[n].last = k + 1 == r->n_rounds;
            if (rows[n].last && isfinite(m) && (best == SIZE_MAX || m > rows[best].res.mean_score))
                best = n;
            for (size_t e = 0; e < res->epochs; e++)
                if (isfinite(res->epoch_scores[e])) {
                    lo = fmin(lo, res->epoch_scores[e]);
                    hi = fmax(hi, res->epoch_scores[e]);
                    most = e + 1 > most ? e + 1 : most;
                }
            if (isfinite(m)) {
                lo = fmin(lo, m - res->std_score);
                hi = fmax(hi, m + res->std_score);
            }
            n++;
        }
    if (best != SIZE_MAX)
        rows[best].best = 1;
    if (!(lo < hi)) { /* nothing finite, or one value */
        lo = isfinite(lo) ? lo - 0.5 : 0.0;
        hi = isfinite(hi) ? hi + 0.5 : 1.0;
    }
    double pad = 0.05 * (hi - lo);
    lo -= pad;
    hi += pad;
    cli_file o;
    if (!cli_file_open(&o, path)) {
        cli_error("%s: %s", path, strerror(errno));
        free(rows);
        return 0;
    }
    FILE *f = o.f;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "font-family='sans-serif'>\n<rect width='100%%' height='100%%' fill='white'/>\n",
            W, H);
    char title[192];
    snprintf(title, sizeof title, "mean test score (%s) and its std over %zu split%s",
             r->scored_by ? r->scored_by : "the metric", splits, splits == 1 ? "" : "s");
    axes(f, 60, lo, hi, title, "candidate (the rows of cv_results.csv)");
    for (size_t i = 0; i < n; i++) {
        const ot_search_result *res = &rows[i].res;
        double x = 60 + (i + 0.5) * PANEL / (double)n, m = res->mean_score;
        if (!isfinite(m)) {
            fprintf(f, "<text x='%.1f' y='%d' font-size='10' fill='#c00' "
                    "text-anchor='middle'>x</text>\n", x, BOTTOM - 4);
            continue;
        }
        const char *color = rows[i].best ? "#d62728" : "#1f77b4";
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='%s'/>\n", x, x,
                y_of(m - res->std_score, lo, hi), y_of(m + res->std_score, lo, hi), color);
        fprintf(f, "<circle cx='%.1f' cy='%.1f' r='%.1f' fill='%s'><title>row %zu: %.4f"
                "</title></circle>\n", x, y_of(m, lo, hi), rows[i].best ? 4.0 : 2.5, color,
                i + 1, m);
    }
    for (size_t k = 1, at = r->rounds[0].n; k < r->n_rounds && at < n; at += r->rounds[k++].n) {
        double x = 60 + (double)at * PANEL / (double)n;
        fprintf(f, "<line x1='%.1f' x2='%.1f' y1='%d' y2='%d' stroke='#888' "
                "stroke-dasharray='4 3'/>\n<text x='%.1f' y='%d' font-size='10'>round %zu"
                "<title>%zu epochs</title></text>\n", x, x, TOP, BOTTOM, x + 3, TOP + 12,
                k + 1, r->rounds[k].epochs);
    }
    for (size_t i = 0; i < n; i += n > 10 ? n / 10 : 1)
        fprintf(f, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%zu</text>\n",
                60 + (i + 0.5) * PANEL / (double)n, BOTTOM + 14, i + 1);
    axes(f, 540, lo, hi, "score after each epoch (mean over the splits)", "epoch");
    for (size_t e = 1; e <= most; e += most > 10 ? most / 10 : 1)
        fprintf(f, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>%zu</text>\n",
                540 + (most > 1 ? (double)(e - 1) / (double)(most - 1) : 0.5) * PANEL,
                BOTTOM + 14, e);
    for (int pass = 0; pass < 2; pass++) /* the best drawn last, on top */
        for (size_t i = 0; i < n; i++) {
            const ot_search_result *res = &rows[i].res;
            if (rows[i].best != pass)
                continue;
            int open = 0;
            if (res->epochs == 1 && isfinite(res->epoch_scores[0])) /* a point, no line */
                fprintf(f, "<circle cx='%.1f' cy='%.1f' r='2' fill='%s'/>\n",
                        540 + (most > 1 ? 0.0 : 0.5) * PANEL,
                        y_of(res->epoch_scores[0], lo, hi), pass ? "#d62728" : "#9ecae1");
            for (size_t e = 0; e < res->epochs; e++) {
                double v = res->epoch_scores[e];
                if (!isfinite(v)) {
                    if (open)
                        fputs("'/>\n", f);
                    open = 0;
                    continue;
                }
                double x = 540 + (most > 1 ? (double)e / (double)(most - 1) : 0.5) * PANEL;
                fprintf(f, "%s%.1f,%.1f", open ? " " : (pass ? "<polyline fill='none' "
                        "stroke='#d62728' stroke-width='2' points='" : "<polyline fill='none' "
                        "stroke='#1f77b4' stroke-opacity='0.35' points='"), x,
                        y_of(v, lo, hi));
                open = 1;
            }
            if (open)
                fputs("'/>\n", f);
        }
    fputs("</svg>\n", f);
    free(rows);
    if (!cli_file_commit(&o)) {
        cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}
