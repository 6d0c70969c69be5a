/*
 * bench.c - the throughput suite: samples per second of full training steps
 * (forward, loss, backward, reduction, optimizer step) over a grid of models
 * x batch sizes x thread counts, each point beside
 *   - the kernel-only ceiling: the same oneDNN primitives for the same shard
 *     shapes, run back to back by the same threads with nothing around them;
 *   - the machine's single-precision GEMM peak (oneDNN's sgemm, 2048^3);
 *   - PyTorch (bench/peers/pytorch_mlp.py), interleaved point by point.
 * Writes CSV, JSON and two SVG plots. See bench/README.md for every column.
 *
 * This is a program of the project, not of the library: it sets OpenMP
 * thread counts and uses the library's internals for the ceiling.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "omptrain.h"
#include "src/dataset.h"
#include "src/model.h"
#include "src/shard.h"

#define MAX_AXIS 16

typedef struct config {
    size_t batches[MAX_AXIS], n_batches;
    int threads[MAX_AXIS], n_threads;
    char models[MAX_AXIS][64];
    size_t n_models;
    const char *optimizer, *data, *out, *peer;
    int reps;
    double seconds;
} config;

typedef struct point {
    const char *model;
    size_t batch;
    int threads;
    double sps[16], peer_sps[16];
    int n, n_peer;
    double kernel_sps, gemm_gflops, flops_per_sample, rss_mib;
} point;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double t[16];
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static double vmin(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

static double vmax(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

static double rss_mib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

/* "784-100-10" -> layers (relu hidden, softmax last); returns the count. */
static size_t parse_model(const char *spec, size_t *input, ot_layer *layers)
{
    size_t dims[MAX_AXIS], n = 0;
    const char *p = spec;
    while (*p && n < MAX_AXIS) {
        char *end;
        dims[n++] = strtoul(p, &end, 10);
        p = *end == '-' ? end + 1 : end;
        if (end == p && *p)
            return 0;
    }
    if (n < 2)
        return 0;
    *input = dims[0];
    for (size_t i = 1; i < n; i++) {
        memset(&layers[i - 1], 0, sizeof *layers);
        layers[i - 1].units = dims[i];
        layers[i - 1].activation = i + 1 < n ? OT_ACTIVATION_RELU : OT_ACTIVATION_SOFTMAX;
    }
    return n - 1;
}

/* A compiled model of `spec` (relu hidden layers, softmax last); exits on
 * failure, as a benchmark may. */
static ot_model *make_model(const char *spec, const char *optimizer)
{
    ot_layer layers[MAX_AXIS];
    size_t in, L = parse_model(spec, &in, layers);
    ot_optimizer_kind kind;
    ot_model *m = NULL;
    if (L == 0 || ot_optimizer_parse(optimizer, &kind) != OT_OK) {
        fprintf(stderr, "bench: bad model '%s' or optimizer '%s'\n", spec, optimizer);
        exit(2);
    }
    ot_optimizer_config oc = ot_optimizer_config_default(kind);
    if (ot_model_create(&m, in, layers, L, 42) != OT_OK ||
        ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc) != OT_OK) {
        fprintf(stderr, "bench: %s\n", ot_last_error());
        exit(1);
    }
    return m;
}

/* FLOPs of one sample's training step: forward, backward-weights and
 * backward-data (not for the first layer) are one multiply-add each per
 * weight; biases, activations, loss and optimizer are left out. */
static double flops_per_sample(const ot_layer *layers, size_t L, size_t in)
{
    double f = 0;
    for (size_t l = 0; l < L; l++) {
        double w = (double)in * (double)layers[l].units;
        f += 2 * w * (l == 0 ? 2 : 3);
        in = layers[l].units;
    }
    return f;
}

/* ---- omptrain: full training steps --------------------------------------- */

typedef struct timing {
    size_t warmup, steps, batch;
    double seconds, t0, t1;
} timing;

static int time_steps(const ot_step_metrics *s, void *user)
{
    (void)s;
    timing *t = user;
    t->steps++;
    if (t->steps == t->warmup)
        t->t0 = now();
    if (t->steps > t->warmup && now() - t->t0 >= t->seconds) {
        t->t1 = now();
        return 1;
    }
    return 0;
}

static double measure_omptrain(const char *spec, const ot_dataset *d, size_t batch,
                               int threads, const char *optimizer, double seconds)
{
    ot_model *m = make_model(spec, optimizer);
    timing t = {20, 0, batch, seconds, 0, 0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = 1000000;
    fc.threads = threads;
    fc.shards = (size_t)threads;
    fc.on_step = time_steps;
    fc.user = &t;
    if (ot_model_fit(m, d, &fc, NULL) != OT_OK) {
        fprintf(stderr, "bench: %s\n", ot_last_error());
        exit(1);
    }
    ot_model_destroy(m);
    return (double)((t.steps - t.warmup) * batch) / (t.t1 - t.t0);
}

/* ---- the kernel-only ceiling ----------------------------------------------- */

static double measure_kernels(const char *spec, size_t batch, int threads, double seconds)
{
    ot_model *m = make_model(spec, "sgd");
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        exit(1);
    double samples = 0, elapsed = 0;
    int failed = 0;
#pragma omp parallel num_threads(threads) reduction(+ : samples) reduction(max : elapsed)
    {
        omp_set_num_threads(1); /* as the trainer: primitives on this thread */
        int t = omp_get_thread_num();
        /* the trainer's split of the batch: one shard per thread */
        size_t rows = batch / (size_t)threads + ((size_t)t < batch % (size_t)threads);
        ot__worker w;
        float *grad = calloc(m->arena_len, sizeof(float));
        if (ot__worker_init(&w, m, engine, rows, 0, 1) != OT_OK ||
            ot__worker_plan(&w, rows) != OT_OK || grad == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        if (!failed) {
            for (int i = 0; i < 20; i++)
                ot__worker_kernels(&w, rows, grad);
#pragma omp barrier
            double t0 = now();
            size_t iters = 0;
            do {
                for (int i = 0; i < 10; i++)
                    ot__worker_kernels(&w, rows, grad);
                iters += 10;
            } while (now() - t0 < seconds);
            elapsed = now() - t0;
            samples = (double)(iters * rows);
        }
        ot__worker_destroy(&w);
        free(grad);
    }
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
    if (failed)
        exit(1);
    /* threads run independently: their samples over the slowest's time */
    return samples / elapsed;
}

/* ---- where a one-thread step's time goes ------------------------------------ */

/* Microseconds per step on one thread: the bare primitives; plus gathering
 * the rows and the loss (the worker's whole shard); plus the optimizer's
 * pass over the arena (what the trainer adds, barriers aside). Interleaved
 * round by round, medians of `rounds`. */
static void measure_breakdown(const char *spec, const ot_dataset *d, size_t batch,
                              const char *optimizer, double seconds, double us[3])
{
    ot_model *m = make_model(spec, optimizer);
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        exit(1);
    uint32_t *idx = malloc(d->n * sizeof *idx);
    for (size_t i = 0; i < d->n; i++)
        idx[i] = (uint32_t)((i * 7919) % d->n);
    enum { ROUNDS = 5 };
    double t[3][ROUNDS];
#pragma omp parallel num_threads(1)
    {
        omp_set_num_threads(1);
#if defined(__SSE__)
        unsigned csr = __builtin_ia32_stmxcsr();
        __builtin_ia32_ldmxcsr(csr | 0x8040); /* as the trainer */
#endif
        ot__worker w;
        float *grad = calloc(m->arena_len, sizeof(float));
        float *slot[OT__MAX_SLOTS] = {NULL, NULL, NULL};
        for (size_t k = 0; k < m->opt.slots; k++)
            slot[k] = m->opt.state + k * m->arena_len;
        if (ot__worker_init(&w, m, engine, batch, 0, 1) != OT_OK ||
            ot__worker_plan(&w, batch) != OT_OK || grad == NULL)
            exit(1);
        uint64_t it = 0;
        for (int r = 0; r < ROUNDS; r++)
            for (int mode = 0; mode < 3; mode++) {
                size_t steps = 0;
                double t0 = now();
                do {
                    size_t first = (it * batch) % (d->n - batch);
                    ot__rows rows = {d, idx, first, batch};
                    double l = 0, k = 0;
                    if (mode == 0)
                        ot__worker_kernels(&w, batch, grad);
                    else
                        ot__worker_train(&w, &rows, 1.0f / (float)batch, grad, &l, &k);
                    if (mode == 2) {
                        ot__opt_step st = ot__optimizer_prepare(&m->opt.cfg, ++it, 0);
                        ot__optimizer_update(&m->opt.cfg, &st, m->params, grad, slot,
                                             m->arena_len);
                    }
                    steps++;
                } while (now() - t0 < seconds / ROUNDS / 3);
                t[mode][r] = 1e6 * (now() - t0) / (double)steps;
            }
        ot__worker_destroy(&w);
        free(grad);
#if defined(__SSE__)
        __builtin_ia32_ldmxcsr(csr);
#endif
    }
    for (int mode = 0; mode < 3; mode++)
        us[mode] = median(t[mode], ROUNDS);
    free(idx);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
}

/* ---- the alternative engine: one oneDNN call over the whole batch --------- */

/* Samples/s of full training steps done the other way: no shards, each
 * primitive runs once over the whole batch and threads itself with oneDNN's
 * own OpenMP parallelism (T threads); the optimizer's pass is an OpenMP loop
 * over the arena. Denormals flushed in every thread, as the trainer does. */
static double measure_internal(const char *spec, const ot_dataset *d, size_t batch,
                               int threads, const char *optimizer, double seconds)
{
    ot_model *m = make_model(spec, optimizer);
    dnnl_engine_t engine;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
        exit(1);
    omp_set_num_threads(threads);
#if defined(__SSE__)
    unsigned csr[1024];
#pragma omp parallel num_threads(threads)
    {
        csr[omp_get_thread_num()] = __builtin_ia32_stmxcsr();
        __builtin_ia32_ldmxcsr(csr[omp_get_thread_num()] | 0x8040);
    }
#endif
    ot__worker w;
    float *grad = calloc(m->arena_len, sizeof(float));
    if (ot__worker_init(&w, m, engine, batch, 0, 1) != OT_OK ||
        ot__worker_plan(&w, batch) != OT_OK || grad == NULL) {
        fprintf(stderr, "bench: %s\n", ot_last_error());
        exit(1);
    }
    uint32_t *idx = malloc(d->n * sizeof *idx);
    for (size_t i = 0; i < d->n; i++)
        idx[i] = (uint32_t)((i * 7919) % d->n);
    float *slot[OT__MAX_SLOTS] = {NULL, NULL, NULL};
    for (size_t k = 0; k < m->opt.slots; k++)
        slot[k] = m->opt.state + k * m->arena_len;
    const size_t chunk = 4096, chunks = (m->arena_len + chunk - 1) / chunk;
    uint64_t it = 0;
    size_t steps = 0;
    double t0 = 0;
    for (;;) {
        size_t first = (it * batch) % (d->n - batch);
        ot__rows rows = {d, idx, first, batch};
        double l = 0, k = 0;
        ot__worker_train(&w, &rows, 1.0f / (float)batch, grad, &l, &k);
        ot__opt_step st = ot__optimizer_prepare(&m->opt.cfg, ++it, 0);
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t ci = 0; ci < chunks; ci++) {
            size_t c0 = ci * chunk, n = m->arena_len - c0 < chunk ? m->arena_len - c0 : chunk;
            float *sl[OT__MAX_SLOTS];
            for (int j = 0; j < OT__MAX_SLOTS; j++)
                sl[j] = slot[j] ? slot[j] + c0 : NULL;
            ot__optimizer_update(&m->opt.cfg, &st, m->params + c0, grad + c0, sl, n);
        }
        if (++steps == 20)
            t0 = now();
        if (steps > 20 && now() - t0 >= seconds)
            break;
    }
    double sps = (double)((steps - 20) * batch) / (now() - t0);
#if defined(__SSE__)
#pragma omp parallel num_threads(threads)
    __builtin_ia32_ldmxcsr(csr[omp_get_thread_num()]);
#endif
    ot__worker_destroy(&w);
    free(grad);
    free(idx);
    dnnl_engine_destroy(engine);
    ot_model_destroy(m);
    return sps;
}

/* ---- the GEMM peak ---------------------------------------------------------- */

static double measure_gemm(int threads)
{
    const dnnl_dim_t n = 2048;
    float *a = malloc((size_t)(n * n) * sizeof(float));
    float *b = malloc((size_t)(n * n) * sizeof(float));
    float *c = malloc((size_t)(n * n) * sizeof(float));
    for (dnnl_dim_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    omp_set_num_threads(threads); /* oneDNN's sgemm threads itself */
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double g = 2.0 * (double)n * (double)n * (double)n / (now() - t0) / 1e9;
        best = g > best ? g : best;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* ---- the PyTorch peer ------------------------------------------------------- */

typedef struct peer {
    pid_t pid;
    FILE *to, *from;
    char version[64], allocator[64];
} peer;

static int peer_start(peer *p, const char *script, const char *xf, const char *yf,
                      size_t n, size_t dim)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return 0;
    const char *jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    int have_jemalloc = access(jemalloc, R_OK) == 0;
    snprintf(p->allocator, sizeof p->allocator, "%s", have_jemalloc ? "jemalloc" : "glibc");
    p->pid = fork();
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        if (have_jemalloc)
            setenv("LD_PRELOAD", jemalloc, 1);
        char ns[32], ds[32];
        snprintf(ns, sizeof ns, "%zu", n);
        snprintf(ds, sizeof ds, "%zu", dim);
        execl("/usr/bin/python3", "python3", script, "--serve", xf, yf, ns, ds, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to = fdopen(in[1], "w");
    p->from = fdopen(out[0], "r");
    char line[256];
    if (p->from == NULL || fgets(line, sizeof line, p->from) == NULL ||
        sscanf(line, "ready %63s", p->version) != 1) {
        fprintf(stderr, "bench: the PyTorch peer did not start (is python3-torch "
                        "installed?); running without it\n");
        return 0;
    }
    return 1;
}

static double peer_run(peer *p, const char *model, size_t batch, int threads,
                       const char *optimizer, double seconds)
{
    fprintf(p->to, "%s %zu %d %s %.3f\n", model, batch, threads, optimizer, seconds);
    fflush(p->to);
    char line[256];
    double sps = 0;
    if (fgets(line, sizeof line, p->from) == NULL || sscanf(line, "%lf", &sps) != 1)
        return NAN;
    return sps;
}

static void peer_stop(peer *p)
{
    if (p->to)
        fclose(p->to);
    if (p->from)
        fclose(p->from);
    if (p->pid > 0)
        waitpid(p->pid, NULL, 0);
}

/* ---- output ----------------------------------------------------------------- */

static void write_results(const config *c, const point *pts, size_t n, const peer *pp,
                          int have_peer, const char *data_desc)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bench.csv", c->out);
    FILE *f = fopen(path, "w");
    snprintf(path, sizeof path, "%s/bench.json", c->out);
    FILE *j = fopen(path, "w");
    if (!f || !j) {
        fprintf(stderr, "bench: cannot write to %s: %s\n", c->out, strerror(errno));
        exit(1);
    }
    fprintf(f, "model,batch,threads,samples_per_s_median,samples_per_s_min,"
               "samples_per_s_max,ms_per_step,gflops_per_s,scaling_efficiency,"
               "kernel_ceiling_samples_per_s,efficiency_vs_kernels,gemm_peak_gflops_per_s,"
               "efficiency_vs_gemm,pytorch_samples_per_s_median,ratio_vs_pytorch,rss_mib\n");
    fprintf(j, "{\"data\": \"%s\", \"optimizer\": \"%s\", \"reps\": %d, \"seconds_per_rep\": %g,"
               " \"pytorch\": \"%s\", \"pytorch_allocator\": \"%s\", \"points\": [\n",
            data_desc, c->optimizer, c->reps, c->seconds,
            have_peer ? pp->version : "none", have_peer ? pp->allocator : "none");
    for (size_t i = 0; i < n; i++) {
        const point *p = &pts[i];
        double med = median(p->sps, p->n), one = NAN;
        for (size_t k = 0; k < n; k++)
            if (strcmp(pts[k].model, p->model) == 0 && pts[k].batch == p->batch &&
                pts[k].threads == 1)
                one = median(pts[k].sps, pts[k].n);
        double eff = isnan(one) ? NAN : med / (one * p->threads);
        double gflops = med * p->flops_per_sample / 1e9;
        double torch = p->n_peer ? median(p->peer_sps, p->n_peer) : NAN;
        fprintf(f, "%s,%zu,%d,%.0f,%.0f,%.0f,%.4f,%.2f,%.3f,%.0f,%.3f,%.1f,%.3f,%.0f,%.3f,%.0f\n",
                p->model, p->batch, p->threads, med, vmin(p->sps, p->n), vmax(p->sps, p->n),
                1e3 * (double)p->batch / med, gflops, eff, p->kernel_sps,
                med / p->kernel_sps, p->gemm_gflops, gflops / p->gemm_gflops, torch,
                med / torch, p->rss_mib);
        fprintf(j, "  {\"model\": \"%s\", \"batch\": %zu, \"threads\": %d, "
                   "\"samples_per_s\": {\"median\": %.0f, \"min\": %.0f, \"max\": %.0f}, "
                   "\"ms_per_step\": %.4f, \"gflops_per_s\": %.2f, \"scaling_efficiency\": %s, "
                   "\"kernel_ceiling_samples_per_s\": %.0f, \"gemm_peak_gflops_per_s\": %.1f, "
                   "\"pytorch_samples_per_s_median\": %s, \"rss_mib\": %.0f}%s\n",
                p->model, p->batch, p->threads, med, vmin(p->sps, p->n), vmax(p->sps, p->n),
                1e3 * (double)p->batch / med, gflops,
                isnan(eff) ? "null" : (snprintf(path, sizeof path, "%.3f", eff), path),
                p->kernel_sps, p->gemm_gflops,
                isnan(torch) ? "null" : (snprintf(path + 100, sizeof path - 100, "%.0f", torch), path + 100),
                p->rss_mib, i + 1 < n ? "," : "");
    }
    fprintf(j, "]}\n");
    fclose(f);
    fclose(j);
}

/* samples/s against batch size, a line per thread count (PyTorch dashed);
 * and speedup against threads with the ideal line, for one model. */
static void write_svgs(const config *c, const point *pts, size_t n, const char *model)
{
    static const char *const colour[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};
    char path[4096];
    snprintf(path, sizeof path, "%s/throughput-%s.svg", c->out, model);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    const double W = 640, H = 400, L = 70, R = 150, T = 40, B = 50;
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
                fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s, %d thread%s</text>\n",
                        W - R + 10, T + 16 + 18.0 * (2 * t + peer), colour[t % 8],
                        peer ? "PyTorch (dashed)" : "omptrain", c->threads[t],
                        c->threads[t] > 1 ? "s" : "");
        }
    }
    fprintf(f, "</svg>\n");
    fclose(f);
#undef X
#undef Y

    /* speedup against threads (strong scaling), a line per batch size */
    snprintf(path, sizeof path, "%s/speedup-%s.svg", c->out, model);
    f = fopen(path, "w");
    if (!f)
        return;
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
        double one = NAN;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(pts[i].model, model) && pts[i].batch == c->batches[b] && pts[i].threads == 1)
                one = median(pts[i].sps, pts[i].n);
        if (isnan(one))
            continue;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                colour[b % 8]);
        for (size_t i = 0; i < n; i++)
            if (!strcmp(pts[i].model, model) && pts[i].batch == c->batches[b])
                fprintf(f, "%.1f,%.1f ", SX(pts[i].threads), SY(median(pts[i].sps, pts[i].n) / one));
        fprintf(f, "\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">batch %zu</text>\n",
                W - R + 10, T + 34 + 18.0 * (double)b, colour[b % 8], c->batches[b]);
    }
    fprintf(f, "</svg>\n");
    fclose(f);
#undef SX
#undef SY
}

static int parse_list(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char *end;
        out[n++] = strtoul(s, &end, 10);
        if (end == s)
            return 0;
        s = *end == ',' ? end + 1 : end;
    }
    return (int)n;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench [--batch 16,32,64,128,256,512,1024] [--threads 1,...,cores]\n"
            "             [--models 784-100-10,784-512-10,784-1024-1024-10]\n"
            "             [--optimizer adam|sgd] [--reps 3] [--seconds 1.0]\n"
            "             [--peer PATH|none] [--data fashion-mnist|synthetic] [--out DIR]\n"
            "             [--breakdown]   (instead of the grid: where a 1-thread step's time goes)\n"
            "             [--auto-check]  (instead of the grid: --threads auto against each\n"
            "                              fixed thread count, median of --reps runs each)\n"
            "             [--alternatives] (instead of the grid: sharded data-parallel against\n"
            "                              one oneDNN call over the whole batch, oneDNN threading)\n");
}

int main(int argc, char **argv)
{
    config c = {{16, 32, 64, 128, 256, 512, 1024}, 7, {0}, 0, {"784-100-10", "784-512-10",
                "784-1024-1024-10"}, 3, "adam", "fashion-mnist", "bench-results",
                "bench/peers/pytorch_mlp.py", 3, 1.0};
    int cores = omp_get_num_procs(), breakdown = 0, auto_check = 0, alternatives = 0;
    for (int t = 1; t <= cores && t <= MAX_AXIS; t++)
        c.threads[c.n_threads++] = t;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--breakdown") == 0) {
            breakdown = 1;
            continue;
        }
        if (strcmp(argv[i], "--auto-check") == 0) {
            auto_check = 1;
            continue;
        }
        if (strcmp(argv[i], "--alternatives") == 0) {
            alternatives = 1;
            continue;
        }
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--batch") == 0) {
            c.n_batches = (size_t)parse_list(v, c.batches, MAX_AXIS);
        } else if (strcmp(a, "--threads") == 0) {
            size_t t[MAX_AXIS];
            c.n_threads = parse_list(v, t, MAX_AXIS);
            for (int k = 0; k < c.n_threads; k++)
                c.threads[k] = (int)t[k];
        } else if (strcmp(a, "--models") == 0) {
            c.n_models = 0;
            for (const char *p = v; *p && c.n_models < MAX_AXIS;) {
                size_t len = strcspn(p, ",");
                snprintf(c.models[c.n_models++], sizeof c.models[0], "%.*s", (int)len, p);
                p += len + (p[len] == ',');
            }
        } else if (strcmp(a, "--optimizer") == 0) {
            c.optimizer = v;
        } else if (strcmp(a, "--reps") == 0) {
            c.reps = atoi(v);
        } else if (strcmp(a, "--seconds") == 0) {
            c.seconds = atof(v);
        } else if (strcmp(a, "--peer") == 0) {
            c.peer = v;
        } else if (strcmp(a, "--data") == 0) {
            c.data = v;
        } else if (strcmp(a, "--out") == 0) {
            c.out = v;
        } else {
            usage();
            return 2;
        }
    }
    if (c.n_batches == 0 || c.n_threads == 0 || c.n_models == 0 || c.reps < 1 ||
        c.reps > 16 || !(c.seconds > 0)) {
        usage();
        return 2;
    }
    mkdir(c.out, 0755);

    /* the data: Fashion-MNIST's training images, or random rows of that shape */
    ot_dataset *d = NULL;
    char data_desc[128] = "Fashion-MNIST train (60,000 x 784)";
    if (strcmp(c.data, "synthetic") == 0 ||
        ot_dataset_load_idx_dir(&d, "/usr/share/datasets/fashion-mnist", "train") != OT_OK) {
        if (strcmp(c.data, "synthetic") != 0)
            fprintf(stderr, "bench: Fashion-MNIST not found; synthetic data of the same shape\n");
        snprintf(data_desc, sizeof data_desc, "synthetic (60,000 x 784)");
        size_t n = 60000, dim = 784;
        float *x = malloc(n * dim * sizeof(float));
        int32_t *y = malloc(n * sizeof(int32_t));
        for (size_t i = 0; i < n * dim; i++)
            x[i] = (float)((i * 2654435761u) % 256) / 255.0f;
        for (size_t i = 0; i < n; i++)
            y[i] = (int32_t)(i % 10);
        if (ot_dataset_create(&d, n, dim, x, y) != OT_OK)
            return 1;
        free(x);
        free(y);
    }

    if (breakdown) {
        printf("one thread, %s: microseconds per step\n", c.optimizer);
        printf("%-18s %6s %10s %14s %14s %12s\n", "model", "batch", "kernels",
               "+gather+loss", "+optimizer", "kernels/all");
        for (size_t mi = 0; mi < c.n_models; mi++)
            for (size_t bi = 0; bi < c.n_batches; bi++) {
                double us[3];
                measure_breakdown(c.models[mi], d, c.batches[bi], c.optimizer, 3 * c.seconds, us);
                printf("%-18s %6zu %10.1f %14.1f %14.1f %12.2f\n", c.models[mi],
                       c.batches[bi], us[0], us[1], us[2], us[0] / us[2]);
                fflush(stdout);
            }
        ot_dataset_destroy(d);
        return 0;
    }

    if (alternatives) {
        /* interleaved: sharded (omptrain), then one call with oneDNN threading */
        printf("%-18s %6s %7s %14s %18s %8s\n", "model", "batch", "threads", "sharded s/s",
               "one-call s/s", "ratio");
        for (size_t mi = 0; mi < c.n_models; mi++)
            for (size_t bi = 0; bi < c.n_batches; bi++)
                for (int ti = 0; ti < c.n_threads; ti++) {
                    double a[16], b[16];
                    for (int r = 0; r < c.reps; r++) {
                        a[r] = measure_omptrain(c.models[mi], d, c.batches[bi], c.threads[ti],
                                                c.optimizer, c.seconds);
                        b[r] = measure_internal(c.models[mi], d, c.batches[bi], c.threads[ti],
                                                c.optimizer, c.seconds);
                    }
                    double ma = median(a, c.reps), mb = median(b, c.reps);
                    printf("%-18s %6zu %7d %14.0f %18.0f %8.2f\n", c.models[mi], c.batches[bi],
                           c.threads[ti], ma, mb, ma / mb);
                    fflush(stdout);
                }
        ot_dataset_destroy(d);
        return 0;
    }

    if (auto_check) {
        /* what --threads auto chooses, against every fixed thread count */
        printf("%-18s %6s %-30s %6s %10s %8s\n", "model", "batch", "fixed threads: samples/s",
               "auto", "auto s/s", "vs best");
        for (size_t mi = 0; mi < c.n_models; mi++)
            for (size_t bi = 0; bi < c.n_batches; bi++) {
                double med[MAX_AXIS], best = 0;
                char fixed[256] = "";
                size_t len = 0;
                for (int ti = 0; ti < c.n_threads; ti++) {
                    double v[16];
                    for (int r = 0; r < c.reps; r++)
                        v[r] = measure_omptrain(c.models[mi], d, c.batches[bi], c.threads[ti],
                                                c.optimizer, c.seconds);
                    med[ti] = median(v, c.reps);
                    best = med[ti] > best ? med[ti] : best;
                    len += (size_t)snprintf(fixed + len, sizeof fixed - len, "%d: %.0f  ",
                                            c.threads[ti], med[ti]);
                }
                ot_model *m = make_model(c.models[mi], c.optimizer);
                ot_thread_choice tc;
                if (ot_model_choose_threads(m, d, c.batches[bi], 0, 0.2, &tc) != OT_OK) {
                    fprintf(stderr, "bench: %s\n", ot_last_error());
                    return 1;
                }
                ot_model_destroy(m);
                double v[16];
                for (int r = 0; r < c.reps; r++)
                    v[r] = measure_omptrain(c.models[mi], d, c.batches[bi], tc.threads,
                                            c.optimizer, c.seconds);
                double a = median(v, c.reps);
                printf("%-18s %6zu %-30s %6d %10.0f %8.2f\n", c.models[mi], c.batches[bi],
                       fixed, tc.threads, a, a / best);
                fflush(stdout);
            }
        ot_dataset_destroy(d);
        return 0;
    }

    peer pp;
    memset(&pp, 0, sizeof pp);
    int have_peer = 0;
    if (strcmp(c.peer, "none") != 0) {
        char xf[4096], yf[4096];
        snprintf(xf, sizeof xf, "%s/.features.f32", c.out);
        snprintf(yf, sizeof yf, "%s/.labels.i32", c.out);
        FILE *fx = fopen(xf, "wb"), *fy = fopen(yf, "wb");
        if (fx && fy) {
            fwrite(d->x, sizeof(float), d->n * d->dim, fx);
            fwrite(d->y, sizeof(int32_t), d->n, fy);
        }
        if (fx)
            fclose(fx);
        if (fy)
            fclose(fy);
        have_peer = peer_start(&pp, c.peer, xf, yf, d->n, d->dim);
    }

    double gemm[MAX_AXIS + 1];
    for (int t = 0; t < c.n_threads; t++)
        gemm[t] = measure_gemm(c.threads[t]);

    size_t total = c.n_models * c.n_batches * (size_t)c.n_threads;
    point *pts = calloc(total, sizeof *pts);
    size_t n = 0;
    printf("%-18s %6s %7s %12s %12s %8s %12s %8s\n", "model", "batch", "threads",
           "samples/s", "kernels", "eff", "PyTorch", "ratio");
    for (size_t mi = 0; mi < c.n_models; mi++)
        for (size_t bi = 0; bi < c.n_batches; bi++)
            for (int ti = 0; ti < c.n_threads; ti++) {
                point *p = &pts[n++];
                ot_layer layers[MAX_AXIS];
                size_t in, L = parse_model(c.models[mi], &in, layers);
                if (L == 0 || in != d->dim) {
                    fprintf(stderr, "bench: bad model '%s' (input must be %zu)\n",
                            c.models[mi], d->dim);
                    return 2;
                }
                p->model = c.models[mi];
                p->batch = c.batches[bi];
                p->threads = c.threads[ti];
                p->flops_per_sample = flops_per_sample(layers, L, in);
                p->gemm_gflops = gemm[ti];
                for (int r = 0; r < c.reps; r++) { /* interleaved with the peer */
                    p->sps[p->n++] = measure_omptrain(p->model, d, p->batch, p->threads,
                                                      c.optimizer, c.seconds);
                    if (have_peer)
                        p->peer_sps[p->n_peer++] = peer_run(&pp, p->model, p->batch,
                                                            p->threads, c.optimizer, c.seconds);
                }
                p->kernel_sps = measure_kernels(p->model, p->batch, p->threads, c.seconds);
                p->rss_mib = rss_mib();
                double med = median(p->sps, p->n);
                double torch = p->n_peer ? median(p->peer_sps, p->n_peer) : NAN;
                printf("%-18s %6zu %7d %12.0f %12.0f %8.2f %12.0f %8.2f\n", p->model,
                       p->batch, p->threads, med, p->kernel_sps, med / p->kernel_sps, torch,
                       med / torch);
                fflush(stdout);
            }
    write_results(&c, pts, n, &pp, have_peer, data_desc);
    for (size_t mi = 0; mi < c.n_models; mi++)
        write_svgs(&c, pts, n, c.models[mi]);
    printf("GEMM peak (oneDNN sgemm 2048^3):");
    for (int t = 0; t < c.n_threads; t++)
        printf(" %d thread%s %.1f GFLOP/s;", c.threads[t], c.threads[t] > 1 ? "s" : "", gemm[t]);
    printf("\nPyTorch: %s (allocator %s); results in %s/\n", have_peer ? pp.version : "not run",
           have_peer ? pp.allocator : "-", c.out);
    if (have_peer)
        peer_stop(&pp);
    free(pts);
    ot_dataset_destroy(d);
    return 0;
}
