/*
 * common.c - what every mode of the benchmark shares: clocks and medians,
 * the models of a spec such as "784-100-10", the FLOPs of a step, and
 * omptrain's full training steps timed through the public API.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include <oneapi/dnnl/dnnl.h>

double now(void)
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

double median(const double *v, int n)
{
    double t[16];
    memcpy(t, v, (size_t)n * sizeof *t);
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

double scaling_ceiling(int threads, double sps1, double kernels1, double kernels_t)
{
    /* seconds per sample: t1 the 1-thread step, k1 its kernels, kt the
     * T-thread kernels; the ideal T-thread step is kt + (t1 - k1) / T */
    double t1 = 1.0 / sps1, k1 = 1.0 / kernels1, kt = 1.0 / kernels_t;
    return t1 / (threads * kt + (t1 - k1));
}

double vmin(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

double vmax(const double *v, int n)
{
    double m = v[0];
    for (int i = 1; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

int peak_reset(void)
{
    /* Linux: writing 5 to clear_refs resets the peak resident size */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return 0;
    int ok = fputs("5", f) >= 0;
    return fclose(f) == 0 && ok;
}

double peak_mib(void)
{
    char line[256];
    double kib = NAN;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib / 1024.0;
}

size_t parse_model(const char *spec, size_t *input, ot_layer *layers)
{
    size_t dims[MAX_AXIS], n = 0;
    for (const char *p = spec;;) {
        if (*p < '0' || *p > '9' || n == MAX_AXIS)
            return 0;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v == 0 || v > MAX_UNITS)
            return 0;
        dims[n++] = (size_t)v;
        if (*end == '\0')
            break;
        if (*end != '-')
            return 0;
        p = end + 1;
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

int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int parse_axis(const char *flag, const char *s, size_t lo, size_t hi, size_t *out,
               size_t max, size_t *n)
{
    size_t v;
    const cli_opt o = {flag, CLI_SIZE, &v, "N", "", (double)lo, (double)hi, NULL};
    *n = 0;
    for (const char *p = s;;) {
        char item[32];
        size_t len = strcspn(p, ",");
        if (len >= sizeof item) {
            cli_error("%s: '%.*s' is not a whole number", flag, (int)len, p);
            return 0;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!cli_parse_value(&o, item))
            return 0;
        if (*n == max) {
            cli_error("%s: more than %zu values in '%s'", flag, max, s);
            return 0;
        }
        for (size_t i = 0; i < *n; i++)
            if (out[i] == v) {
                cli_error("%s: %zu is given twice", flag, v);
                return 0;
            }
        out[(*n)++] = v;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    qsort(out, *n, sizeof *out, cmp_size);
    return 1;
}

/* A compiled model of `spec` (relu hidden layers, softmax last); exits on
 * failure, as a benchmark may. */
ot_model *make_model(const char *spec, const char *optimizer)
{
    ot_layer layers[MAX_AXIS];
    size_t in, L = parse_model(spec, &in, layers);
    ot_optimizer_kind kind;
    ot_model *m = NULL;
    if (L == 0 || ot_optimizer_parse(optimizer, &kind) != OT_OK) {
        say("bad model '%s' or optimizer '%s'\n", spec, optimizer);
        exit(2);
    }
    ot_optimizer_config oc = ot_optimizer_config_default(kind);
    if (ot_model_create(&m, in, layers, L, 42) != OT_OK ||
        ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc) != OT_OK) {
        say("%s: %s\n", spec, ot_last_error());
        exit(1);
    }
    return m;
}

/* FLOPs of one sample's training step: forward, backward-weights and
 * backward-data (not for the first layer) are one multiply-add each per
 * weight; biases, activations, loss and optimizer are left out. */
double flops_per_sample(const ot_layer *layers, size_t L, size_t in)
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

double measure_omptrain(const char *spec, const ot_dataset *d, size_t batch,
                        int threads, const char *optimizer, double seconds)
{
    return measure_fit(spec, d, batch, threads, optimizer, seconds, ot_model_fit);
}

double measure_fit(const char *spec, const ot_dataset *d, size_t batch, int threads,
                   const char *optimizer, double seconds, bench_fit fit)
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
    if (fit(m, d, &fc, NULL) != OT_OK) {
        say("%s\n", ot_last_error());
        exit(1);
    }
    ot_model_destroy(m);
    return (double)((t.steps - t.warmup) * batch) / (t.t1 - t.t0);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", cli_program);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

_Noreturn void die(const char *what)
{
    const char *why = ot_last_error();
    say("%s failed%s%s\n", what, why && *why ? ": " : "", why ? why : "");
    exit(1);
}

FILE *out_open(outfile *o, const char *dir, const char *name)
{
    snprintf(o->path, sizeof o->path, "%s/%s", dir, name);
    if (!cli_file_open(&o->file, o->path)) {
        say("cannot write %s: %s\n", o->path, strerror(errno));
        return NULL;
    }
    return o->file.f;
}

void out_abandon(outfile *o) { cli_file_abandon(&o->file); }

int out_close(outfile *o)
{
    if (!cli_file_commit(&o->file)) {
        say("cannot write %s: %s\n", o->path, strerror(errno));
        return 0;
    }
    return 1;
}


double measure_gemm(int threads, int runs)
{
    const dnnl_dim_t n = 2048;
    float *a = malloc((size_t)(n * n) * sizeof(float));
    float *b = malloc((size_t)(n * n) * sizeof(float));
    float *c = malloc((size_t)(n * n) * sizeof(float));
    if (!a || !b || !c) {
        say("no memory for the GEMM peak's 48 MB\n");
        exit(1);
    }
    for (dnnl_dim_t i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    omp_set_num_threads(threads); /* oneDNN's sgemm threads itself */
    if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n) != dnnl_success) {
        say("oneDNN's sgemm failed\n");
        exit(1);
    }
    double best = 0;
    for (int r = 0; r < runs; r++) {
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
