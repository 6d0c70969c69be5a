/*
 * report.c - the grid's results: CSV, JSON and the SVG plots.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* ---- output ----------------------------------------------------------------- */

/* A JSON number, or null for NaN and infinities (JSON has neither). */
static void json_number(FILE *j, const char *fmt, double v)
{
    if (isfinite(v))
        fprintf(j, fmt, v);
    else
        fputs("null", j);
}

int write_results(const config *c, const point *pts, size_t n, const peer *pp,
                  int have_peer, const char *data_desc)
{
    outfile csv, json;
    FILE *f = out_open(&csv, c->out, "bench.csv");
    if (f == NULL)
        return 0;
    FILE *j = out_open(&json, c->out, "bench.json");
    if (j == NULL) {
        out_abandon(&csv);
        return 0;
    }
    fprintf(f, "model,batch,threads,samples_per_s_median,samples_per_s_min,"
               "samples_per_s_max,ms_per_step,gflops_per_s,scaling_efficiency,"
               "kernel_ceiling_samples_per_s,efficiency_vs_kernels,gemm_peak_gflops_per_s,"
               "efficiency_vs_gemm,pytorch_samples_per_s_median,ratio_vs_pytorch,peak_rss_mib,"
               "cut,scaling_ceiling\n");
    fprintf(j, "{\"data\": \"%s\", \"optimizer\": \"%s\", \"reps\": %d, \"seconds_per_rep\": %g,"
               " \"pytorch\": \"%s\", \"pytorch_blas\": \"%s\", \"pytorch_allocator\": \"%s\","
               " \"pytorch_gemm_gflops_per_s\": [",
            data_desc, c->optimizer, c->reps, c->seconds, have_peer ? pp->version : "none",
            have_peer ? pp->blas : "none", have_peer ? pp->allocator : "none");
    for (int t = 0; have_peer && t < pp->n_gemm; t++) {
        fprintf(j, "%s{\"threads\": %d, \"median\": ", t ? ", " : "", pp->gemm_threads[t]);
        json_number(j, "%.1f", pp->gemm_gflops[t]);
        fputc('}', j);
    }
    fprintf(j, "], \"points\": [\n");
    for (size_t i = 0; i < n; i++) {
        const point *p = &pts[i];
        double med = median(p->sps, p->n), eff = p->scaling;
        double gflops = med * p->flops_per_sample / 1e9;
        double torch = p->n_peer ? median(p->peer_sps, p->n_peer) : NAN;
        const char *cut = p->units ? "units" : "rows";
        fprintf(f, "%s,%zu,%d,%.0f,%.0f,%.0f,%.4f,%.2f,%.3f,%.0f,%.3f,%.1f,%.3f,%.0f,%.3f,%.0f,%s,"
                   "%.3f\n",
                p->model, p->batch, p->threads, med, vmin(p->sps, p->n), vmax(p->sps, p->n),
                1e3 * (double)p->batch / med, gflops, eff, p->kernel_sps,
                med / p->kernel_sps, p->gemm_gflops, gflops / p->gemm_gflops, torch,
                med / torch, p->peak_mib, cut, p->scaling_ceiling);
        fprintf(j, "  {\"model\": \"%s\", \"batch\": %zu, \"threads\": %d, "
                   "\"samples_per_s\": {\"median\": ", p->model, p->batch, p->threads);
        json_number(j, "%.0f", med);
        fputs(", \"min\": ", j);
        json_number(j, "%.0f", vmin(p->sps, p->n));
        fputs(", \"max\": ", j);
        json_number(j, "%.0f", vmax(p->sps, p->n));
        fputs("}, \"ms_per_step\": ", j);
        json_number(j, "%.4f", 1e3 * (double)p->batch / med);
        fputs(", \"gflops_per_s\": ", j);
        json_number(j, "%.2f", gflops);
        fputs(", \"scaling_efficiency\": ", j);
        json_number(j, "%.3f", eff);
        fputs(", \"scaling_ceiling\": ", j);
        json_number(j, "%.3f", p->scaling_ceiling);
        fputs(", \"kernel_ceiling_samples_per_s\": ", j);
        json_number(j, "%.0f", p->kernel_sps);
        fputs(", \"gemm_peak_gflops_per_s\": ", j);
        json_number(j, "%.1f", p->gemm_gflops);
        fputs(", \"pytorch_samples_per_s_median\": ", j);
        json_number(j, "%.0f", torch);
        fputs(", \"peak_rss_mib\": ", j);
        json_number(j, "%.0f", p->peak_mib);
        fprintf(j, ", \"cut\": \"%s\"}%s\n", cut, i + 1 < n ? "," : "");
    }
    fprintf(j, "]}\n");
    int ok = out_close(&csv);
    return out_close(&json) && ok;
}

/* samples/s against batch size, a line per thread count (PyTorch dashed);
 * and speedup against threads with the ideal line, for one model. */
int write_svgs(const config *c, const point *pts, size_t n, const char *model)
{
    static const char *const colour[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    char name[MODEL_NAME + 32];
    outfile svg;
    snprintf(name, sizeof name, "throughput-%s.svg", model);
    FILE *f = out_open(&svg, c->out, name);
    if (!f)
        return 0;
    const double W = 720, H = 400, L = 70, R = 200, T = 40, B = 50;
    double ymax = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(pts[i].model, model) == 0) {
            double v = median(pts[i].sps, pts[i].n);
            ymax = v > ymax ? v : ymax;
            if (pts[i].n_peer) {
                v = median(pts[i].peer_sps, pts[i].n_peer);
                ymax = v > ymax ? v : ymax;
            }
        }
    double lx0 = log2((double)c->batches[0]), lx1 = log2((double)c->batches[c->n_batches - 1]);
    if (lx1 <= lx0)
        lx1 = lx0 + 1;
#define X(b) (L + (log2((double)(b)) - lx0) / (lx1 - lx0) * (W - L - R))
#define Y(v) (H - B - (v) / (ymax * 1.1) * (H - T - B))
    fprintf(f, "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
               "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
               "height=\"100%%\" fill=\"white\"/>\n<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" "
               "font-size=\"15\">%s: samples/s by batch size (%s)</text>\n",
            W, H, (W - R + L) / 2, model, c->optimizer);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n",
            L, T, W - L - R, H - T - B);
    for (int k = 0; k <= 5; k++) {
        double v = ymax * 1.1 * k / 5;
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0fk</text>\n", L - 6,
                Y(v) + 4, v / 1000);
    }
    for (size_t b = 0; b < c->n_batches; b++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%zu</text>\n",
                X(c->batches[b]), H - B + 16, c->batches[b]);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">batch size</text>\n",
            (W - R + L) / 2, H - 12);
    for (int t = 0; t < c->n_threads; t++) {
        for (int peer = 0; peer < 2; peer++) {
            int any = 0;
            for (size_t i = 0; i < n; i++) {
                const point *p = &pts[i];
                if (strcmp(p->model, model) || p->threads != c->threads[t] ||
                    (peer && !p->n_peer))
                    continue;
                double v = peer ? median(p->peer_sps, p->n_peer) : median(p->sps, p->n);
                if (!any)
                    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                               "points=\"", colour[t % 8], peer ? " stroke-dasharray=\"6 4\"" : "");
                fprintf(f, "%.1f,%.1f ", X(p->batch), Y(v));
                any = 1;
            }
            if (any)
                fprintf(f, "\"/>\n");
            if (any)
                fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s %d thread%s</text>\n",
                        W - R + 10, T + 16 + 18.0 * (2 * t + peer), colour[t % 8],
                        peer ? "PyTorch (dashed)," : "omptrain,", c->threads[t],
                        c->threads[t] > 1 ? "s" : "");
        }
    }
    fprintf(f, "</svg>\n");
    if (!out_close(&svg))
        return 0;
#undef X
#undef Y

    /* speedup against threads (strong scaling), a line per batch size */
    snprintf(name, sizeof name, "speedup-%s.svg", model);
    if (!(f = out_open(&svg, c->out, name)))
        return 0;
    int tmax = c->threads[c->n_threads - 1];
    double smax = tmax;
#define SX(t) (L + ((t) - 1.0) / (tmax > 1 ? tmax - 1.0 : 1.0) * (W - L - R))
#define SY(v) (H - B - (v) / (smax * 1.1) * (H - T - B))
    fprintf(f, "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
               "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
               "height=\"100%%\" fill=\"white\"/>\n<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" "
               "font-size=\"15\">%s: speedup over 1 thread (same global batch)</text>\n",
            W, H, (W - R + L) / 2, model);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#444\"/>\n",
            L, T, W - L - R, H - T - B);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
               "stroke-dasharray=\"4 4\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#999\">ideal</text>\n",
            SX(1), SY(1.0), SX(tmax), SY((double)tmax), W - R + 10, T + 16.0);
    for (int k = 0; k <= 4; k++)
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.2g</text>\n", L - 6,
                SY(smax * 1.1 * k / 4) + 4, smax * 1.1 * k / 4);
    for (int t = 0; t < c->n_threads; t++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%d</text>\n",
                SX(c->threads[t]), H - B + 16, c->threads[t]);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">threads</text>\n",
            (W - R + L) / 2, H - 12);
    for (size_t b = 0; b < c->n_batches; b++) {
        int any = 0;
        for (size_t i = 0; i < n; i++)
            any |= !strcmp(pts[i].model, model) && pts[i].batch == c->batches[b] &&
                   !isnan(pts[i].scaling);
        if (!any)
            continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                colour[b % 8]);
        for (size_t i = 0; i < n; i++)
            if (!strcmp(pts[i].model, model) && pts[i].batch == c->batches[b] &&
                !isnan(pts[i].scaling))
                fprintf(f, "%.1f,%.1f ", SX(pts[i].threads),
                        SY(pts[i].scaling * pts[i].threads));
        fprintf(f, "\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">batch %zu</text>\n",
                W - R + 10, T + 34 + 18.0 * (double)b, colour[b % 8], c->batches[b]);
    }
    fprintf(f, "</svg>\n");
#undef SX
#undef SY
    return out_close(&svg);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* One row of bench.csv into p (the medians and the scaling, as the plots
 * use) and its model's name; 0 when it is not such a row. The columns `cut`
 * and `scaling_ceiling` may be missing: CSVs measured before them have
 * none (or only the cut). */
static int read_row(const char *line, point *p, char *name)
{
    double torch;
    char scaling[32];
    ot_layer layers[MAX_AXIS];
    size_t in;
    int end = 0;
    if (sscanf(line, "%143[^,],%zu,%d,%lf,%*f,%*f,%*f,%*f,%31[^,],%*f,%*f,%*f,%*f,%lf,%*f,%*f%n",
               name, &p->batch, &p->threads, &p->sps[0], scaling, &torch, &end) != 6 ||
        end == 0)
        return 0;
    const char *rest = line + end; /* the cut, in CSVs since it was measured */
    if (strncmp(rest, ",rows", 5) == 0 || strncmp(rest, ",units", 6) == 0) {
        rest += rest[1] == 'r' ? 5 : 6;
        if (*rest == ',') { /* scaling_ceiling, in CSVs since it was measured */
            char *e;
            strtod(rest + 1, &e); /* a number or nan; the plots do not use it */
            if (e == rest + 1)
                return 0;
            rest = e;
        }
    }
    if ((*rest != '\n' && *rest != '\0') ||
        parse_model(name, &in, layers) == 0 || p->batch == 0 || p->threads < 1 ||
        !(p->sps[0] > 0))
        return 0;
    char *e;
    p->scaling = strtod(scaling, &e); /* "nan" without a 1-thread point */
    if (*e != '\0')
        return 0;
    p->n = 1;
    p->n_peer = 0;
    if (!isnan(torch)) {
        p->peer_sps[0] = torch;
        p->n_peer = 1;
    }
    return 1;
}

int replot(config *c)
{
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/bench.csv", c->out);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(line, sizeof line, f) == NULL ||
        strncmp(line, "model,batch,threads,samples_per_s_median,", 41) != 0) {
        say("cannot read %s%s%s\n", path, f ? ": not bench's CSV" : ": ",
            f ? "" : strerror(errno));
        if (f)
            fclose(f);
        return 1;
    }
    const size_t cap = MAX_AXIS * MAX_AXIS * MAX_AXIS; /* every axis full */
    size_t n = 0, row = 1;
    point *pts = calloc(cap, sizeof *pts);
    char (*names)[MODEL_NAME] = calloc(cap, sizeof *names);
    const char *bad = pts && names ? NULL : "out of memory";
    c->n_batches = 0;
    c->n_threads = 0;
    c->n_models = 0;
    while (!bad && fgets(line, sizeof line, f)) {
        row++;
        point *p = &pts[n];
        if (n == cap)
            bad = "more points than bench measures";
        else if (!read_row(line, p, names[n]))
            bad = "not a row of bench's CSV";
        for (size_t i = 0; i < n && !bad; i++)
            if (pts[i].batch == p->batch && pts[i].threads == p->threads &&
                strcmp(names[i], names[n]) == 0)
                bad = "the same model, batch and threads as an earlier row";
        if (bad)
            break;
        p->model = names[n++];
        /* the axes, each value once, in the CSV's order (sorted below) */
        size_t k;
        for (k = 0; k < c->n_batches && c->batches[k] != p->batch; k++)
            ;
        if (k == c->n_batches && k == MAX_AXIS)
            bad = "too many batch sizes";
        else if (k == c->n_batches)
            c->batches[c->n_batches++] = p->batch;
        int t;
        for (t = 0; t < c->n_threads && c->threads[t] != p->threads; t++)
            ;
        if (t == c->n_threads && t == MAX_AXIS)
            bad = "too many thread counts";
        else if (t == c->n_threads)
            c->threads[c->n_threads++] = p->threads;
        for (k = 0; k < c->n_models && strcmp(c->models[k], p->model); k++)
            ;
        if (k == c->n_models && k == MAX_AXIS)
            bad = "too many models";
        else if (k == c->n_models)
            snprintf(c->models[c->n_models++], sizeof c->models[0], "%s", p->model);
    }
    if (!bad && ferror(f))
        bad = strerror(errno);
    fclose(f);
    if (!bad && n == 0)
        bad = "no points";
    int ok = !bad;
    if (bad)
        say("%s, line %zu: %s\n", path, row, bad);
    else {
        /* the plots' axes run upwards */
        qsort(c->batches, c->n_batches, sizeof c->batches[0], cmp_size);
        qsort(c->threads, (size_t)c->n_threads, sizeof c->threads[0], cmp_int);
        for (size_t k = 0; k < c->n_models && ok; k++)
            ok = write_svgs(c, pts, n, c->models[k]);
    }
    free(pts);
    free(names);
    return ok ? 0 : 1;
}
