/*
 * helpers.h - small helpers shared by the Criterion tests: temporary
 * folders, IDX fixtures, synthetic datasets and a double-precision reference
 * MLP (forward, loss and backward) for checking the library's numbers.
 */
#ifndef OT_TEST_HELPERS_H
#define OT_TEST_HELPERS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "omptrain.h"

/* A fresh folder under $TMPDIR or /tmp; the path is written into buf. */
static inline void th_tmpdir(char *buf, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(buf, size, "%s/omptrain-test-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

/* Runs "ENV BIN ARGS 2>&1" through the shell with BIN from the environment
 * variable bin_var (set by meson test), its output into out (size bytes,
 * NUL-terminated); returns its exit status, 128 + the signal that ended it,
 * or -1 when it could not be run. */
static inline int th_run(const char *bin_var, const char *env, const char *args, char *out,
                         size_t size)
{
    const char *bin = getenv(bin_var);
    char cmd[4096];
    out[0] = '\0';
    if (bin == NULL) {
        snprintf(out, size, "%s is not set (run through meson test)", bin_var);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", env, bin, args);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* th_run for a test of a command: the program must have run and ended by
 * itself (an exit status, not a signal), or the test fails with its output. */
static inline int th_run_normally(const char *bin_var, const char *env, const char *args,
                                  char *out, size_t size)
{
    int rc = th_run(bin_var, env, args, out, size);
    cr_assert(rc >= 0 && rc < 128, "'%s' did not exit normally (%d)\n%s", args, rc, out);
    return rc;
}

/* In a Criterion test of a command: runs args through the test file's own
 * run(), which leaves the output in its `out`, and checks the exit status
 * and that the output holds needle. */
#define EXPECT_RUN(args, code, needle)                                         \
    do {                                                                       \
        int rc_ = run(args);                                                   \
        cr_assert_eq(rc_, code, "'%s' exited %d, expected %d:\n%s", args, rc_, \
                     code, out);                                               \
        cr_assert(strstr(out, needle) != NULL, "'%s' output lacks '%s':\n%s",  \
                  args, needle, out);                                          \
    } while (0)

static inline void th_write(const char *path, const void *data, size_t len, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || gzwrite(f, data, (unsigned)len) != (int)len || gzclose(f) != Z_OK)
            abort();
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0)
            abort();
    }
}

static inline size_t th_read(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Whether the files dir/a and dir/b (each at most 4 MiB) hold the same
 * bytes; both must be there. */
static inline int th_same_files(const char *dir, const char *a, const char *b)
{
    static unsigned char x[1 << 22], y[1 << 22];
    char pa[512], pb[512];
    snprintf(pa, sizeof pa, "%s/%s", dir, a);
    snprintf(pb, sizeof pb, "%s/%s", dir, b);
    size_t na = th_read(pa, x, sizeof x), nb = th_read(pb, y, sizeof y);
    if (na == 0 || nb == 0) {
        fprintf(stderr, "%s or %s is missing\n", pa, pb);
        abort();
    }
    return na == nb && memcmp(x, y, na) == 0;
}

static inline void th_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* IDX images: magic, n, rows, cols, then `payload` bytes of pixels (pixel i
 * = i * 7 % 256) - pass payload != n*rows*cols to make broken files. */
static inline void th_idx_images(const char *path, uint32_t magic, uint32_t n,
                                 uint32_t rows, uint32_t cols, size_t payload,
                                 int gz)
{
    size_t len = 16 + payload;
    unsigned char *b = malloc(len);
    th_be32(b, magic);
    th_be32(b + 4, n);
    th_be32(b + 8, rows);
    th_be32(b + 12, cols);
    for (size_t i = 0; i < payload; i++)
        b[16 + i] = (unsigned char)(i * 7 % 256);
    th_write(path, b, len, gz);
    free(b);
}

/* IDX labels: magic, n, then `payload` labels (label i = i % classes). */
static inline void th_idx_labels(const char *path, uint32_t magic, uint32_t n,
                                 size_t payload, unsigned classes, int gz)
{
    size_t len = 8 + payload;
    unsigned char *b = malloc(len);
    th_be32(b, magic);
    th_be32(b + 4, n);
    for (size_t i = 0; i < payload; i++)
        b[8 + i] = (unsigned char)(i % classes);
    th_write(path, b, len, gz);
    free(b);
}

/* A learnable synthetic classification problem: class c has its mean on
 * feature c, plus uniform noise. Deterministic in `seed`. */
static inline ot_dataset *th_blobs(size_t n, size_t dim, size_t classes,
                                   unsigned seed)
{
    float *x = malloc(n * dim * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % classes);
        for (size_t j = 0; j < dim; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            float u = (float)(s >> 40) / (float)(1 << 24);
            x[i * dim + j] = (u - 0.5f) + (j % classes == (size_t)y[i] ? 1.5f : 0.0f);
        }
    }
    ot_dataset *d = NULL;
    if (ot_dataset_create(&d, n, dim, x, y) != OT_OK)
        abort();
    free(x);
    free(y);
    return d;
}

/* ---- double-precision reference MLP ---------------------------------- */

static inline double th_act(ot_activation a, double z)
{
    const double sa = 1.6732632423543772, ss = 1.0507009873554805;
    switch (a) {
    case OT_ACTIVATION_RELU: return z > 0 ? z : 0;
    case OT_ACTIVATION_LEAKY_RELU: return z > 0 ? z : 0.2 * z;
    case OT_ACTIVATION_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case OT_ACTIVATION_TANH: return tanh(z);
    case OT_ACTIVATION_ELU: return z > 0 ? z : expm1(z);
    case OT_ACTIVATION_SELU: return ss * (z > 0 ? z : sa * expm1(z));
    case OT_ACTIVATION_SOFTPLUS: return log1p(exp(z));
    case OT_ACTIVATION_GELU: return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    default: return z;
    }
}

/* f'(z) */
static inline double th_dact(ot_activation a, double z)
{
    const double sa = 1.6732632423543772, ss = 1.0507009873554805;
    double s = 1.0 / (1.0 + exp(-z));
    switch (a) {
    case OT_ACTIVATION_RELU: return z > 0 ? 1.0 : 0.0;
    case OT_ACTIVATION_LEAKY_RELU: return z > 0 ? 1.0 : 0.2;
    case OT_ACTIVATION_SIGMOID: return s * (1.0 - s);
    case OT_ACTIVATION_TANH: return 1.0 - tanh(z) * tanh(z);
    case OT_ACTIVATION_ELU: return z > 0 ? 1.0 : exp(z);
    case OT_ACTIVATION_SELU: return ss * (z > 0 ? 1.0 : sa * exp(z));
    case OT_ACTIVATION_SOFTPLUS: return s;
    case OT_ACTIVATION_GELU:
        return 0.5 * (1.0 + erf(z / sqrt(2.0))) + z * exp(-0.5 * z * z) / sqrt(2.0 * 3.141592653589793);
    default: return 1.0;
    }
}

/* The target of output j of row r: a float target, or from a label. */
static inline double th_target(const int32_t *y, const float *t, size_t r, size_t j,
                               size_t C)
{
    if (t)
        return t[r * C + j];
    return C == 1 ? (double)y[r] : (double)((size_t)y[r] == j);
}

/* Mean loss of the packed parameters `w` (ot_model_get_weights order) over
 * n rows, with labels y or targets t; the gradient into g (may be NULL).
 * The cross-entropies take the last layer's logits (softmax or sigmoid
 * fused); the other losses its activations. */
static inline double th_ref_loss_any(const ot_layer *layers, size_t L, size_t in,
                                     const double *w, const float *x,
                                     const int32_t *y, const float *t, size_t n,
                                     ot_loss loss, double *g)
{
    size_t maxu = in;
    for (size_t l = 0; l < L; l++)
        if (layers[l].units > maxu)
            maxu = layers[l].units;
    double *acts = calloc((L + 1) * maxu, sizeof(double)); /* a_l, a_0 = x */
    double *zs = calloc((L + 1) * maxu, sizeof(double));
    double *delta = calloc(maxu, sizeof(double));
    double *nd = calloc(maxu, sizeof(double));
    size_t P = 0, dims[65];
    dims[0] = in;
    for (size_t l = 0; l < L; l++) {
        dims[l + 1] = layers[l].units;
        P += dims[l] * dims[l + 1] + dims[l + 1];
    }
    if (g)
        memset(g, 0, P * sizeof(double));
    int ce = loss <= OT_LOSS_BINARY_CROSSENTROPY;
    double total = 0.0;
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < in; j++)
            acts[j] = x[r * in + j];
        size_t off = 0;
        for (size_t l = 0; l < L; l++) {
            const double *W = w + off, *b = w + off + dims[l] * dims[l + 1];
            double *src = acts + l * maxu, *dst = acts + (l + 1) * maxu;
            double *z = zs + (l + 1) * maxu;
            for (size_t o = 0; o < dims[l + 1]; o++) {
                z[o] = b[o];
                for (size_t i = 0; i < dims[l]; i++)
                    z[o] += W[o * dims[l] + i] * src[i];
                dst[o] = th_act(layers[l].activation, z[o]);
            }
            if (layers[l].activation == OT_ACTIVATION_SOFTMAX) {
                double m = z[0], sum = 0;
                for (size_t o = 1; o < dims[l + 1]; o++)
                    m = z[o] > m ? z[o] : m;
                for (size_t o = 0; o < dims[l + 1]; o++)
                    sum += exp(z[o] - m);
                for (size_t o = 0; o < dims[l + 1]; o++)
                    dst[o] = exp(z[o] - m) / sum;
            }
            off += dims[l] * dims[l + 1] + dims[l + 1];
        }
        size_t C = dims[L];
        double *z = zs + L * maxu, *a = acts + L * maxu;
        /* loss and its gradient: wrt z when a cross-entropy, else wrt a */
        if (loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
            loss == OT_LOSS_CATEGORICAL_CROSSENTROPY) {
            double m = z[0], sum = 0.0, tsum = 0.0, l = 0.0;
            for (size_t j = 1; j < C; j++)
                m = z[j] > m ? z[j] : m;
            for (size_t j = 0; j < C; j++)
                sum += exp(z[j] - m);
            double lse = m + log(sum);
            for (size_t j = 0; j < C; j++) {
                double tj = th_target(y, t, r, j, C);
                tsum += tj;
                l += tj * (lse - z[j]);
            }
            total += l;
            for (size_t j = 0; j < C; j++)
                delta[j] = (exp(z[j] - lse) * tsum - th_target(y, t, r, j, C)) / (double)n;
        } else {
            double l = 0.0;
            for (size_t j = 0; j < C; j++) {
                double tj = th_target(y, t, r, j, C), v = ce ? z[j] : a[j], e = v - tj, d;
                switch (loss) {
                case OT_LOSS_BINARY_CROSSENTROPY:
                    l += fmax(v, 0) - v * tj + log1p(exp(-fabs(v)));
                    d = 1.0 / (1.0 + exp(-v)) - tj;
                    break;
                case OT_LOSS_MSE: l += e * e; d = 2 * e; break;
                case OT_LOSS_MAE: l += fabs(e); d = (e > 0) - (e < 0); break;
                default:
                    l += fabs(e) <= 1 ? 0.5 * e * e : fabs(e) - 0.5;
                    d = fmin(fmax(e, -1.0), 1.0);
                    break;
                }
                delta[j] = d / (double)C / (double)n;
            }
            total += l / (double)C;
        }
        if (!g)
            continue;
        for (size_t l = L; l-- > 0;) {
            /* delta: gradient wrt a_{l+1}; turn it into the gradient wrt z */
            if (!(ce && l + 1 == L)) {
                double *zz = zs + (l + 1) * maxu, *aa = acts + (l + 1) * maxu;
                if (layers[l].activation == OT_ACTIVATION_SOFTMAX) {
                    double dot = 0;
                    for (size_t o = 0; o < dims[l + 1]; o++)
                        dot += aa[o] * delta[o];
                    for (size_t o = 0; o < dims[l + 1]; o++)
                        delta[o] = aa[o] * (delta[o] - dot);
                } else {
                    for (size_t o = 0; o < dims[l + 1]; o++)
                        delta[o] *= th_dact(layers[l].activation, zz[o]);
                }
            }
            off -= dims[l] * dims[l + 1] + dims[l + 1];
            const double *W = w + off;
            double *gW = g + off, *gb = g + off + dims[l] * dims[l + 1];
            const double *src = acts + l * maxu;
            for (size_t o = 0; o < dims[l + 1]; o++) {
                gb[o] += delta[o];
                for (size_t i = 0; i < dims[l]; i++)
                    gW[o * dims[l] + i] += delta[o] * src[i];
            }
            if (l == 0)
                break;
            for (size_t i = 0; i < dims[l]; i++) {
                double s = 0.0;
                for (size_t o = 0; o < dims[l + 1]; o++)
                    s += W[o * dims[l] + i] * delta[o];
                nd[i] = s;
            }
            memcpy(delta, nd, dims[l] * sizeof(double));
        }
    }
    free(acts);
    free(zs);
    free(delta);
    free(nd);
    return total / (double)n;
}

/* Sparse categorical cross-entropy, the last layer softmax. */
static inline double th_ref_loss(const ot_layer *layers, size_t L, size_t in,
                                 const double *w, const float *x,
                                 const int32_t *y, size_t n, double *g)
{
    return th_ref_loss_any(layers, L, in, w, x, y, NULL, n,
                           OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, g);
}

#endif
