/*
 * loss.c - Keras 3's losses, per sample the mean over the
 * outputs, with their gradients.
 *
 * The cross-entropies are computed from the logits z, the last layer's
 * softmax or sigmoid being fused here:
 *   categorical:  loss = sum_j t_j (lse(z) - z_j)        d/dz_j = p_j sum(t) - t_j
 *   binary:       loss = mean_j max(z,0) - z t + log(1 + e^-|z|)
 *                                                         d/dz_j = (s(z_j) - t_j) / C
 * so no log is taken of a rounded probability: where Keras clips p to
 * [1e-7, 1 - 1e-7] (its loss saturates at 16.1 and its gradient vanishes
 * there), these stay exact and finite.
 */
#include <math.h>
#include <string.h>

#include "loss.h"

/* Row r's weight: its class's (or 1) times its sample weight, if any. */
static inline float weight(const ot__loss_batch *b, size_t r, float class_w)
{
    return b->row_w != NULL ? class_w * b->row_w[r] : class_w;
}

/* Rows of logits are cut into blocks of this many rows: their
 * exponentials are taken in one loop over the block, not row by row. */
enum { BLOCK_ROWS = 64 };

/* Elements taken in one loop where nothing is written out: a loss with no
 * gradient (on the stack), binary cross-entropy's terms. */
enum { CHUNK = 1024 };

/* e^x for x <= 0, the shifted logits' case: x = n ln 2 + r with
 * |r| <= ln 2 / 2, e^r by a degree-7 polynomial (Cephes' expf
 * coefficients), times 2^n built in the exponent bits. Within 1 ulp of
 * e^x (all 1.12e9 floats in range were checked once: 99.2% correctly
 * rounded; the test checks a sample), exact at 0, and 0 below ln(FLT_MIN),
 * where e^x is no longer a normal float (the trainer flushes those to 0
 * anyway). Unlike calls to expf, a loop of these vectorises, which makes
 * the loss more than twice as fast. No fused multiply-adds
 * (C17 mode contracts none), so every clone gives the same bits. */
static inline float exp_nonpositive(float x)
{
    const float lo = -87.33654475f, magic = 12582912.0f; /* 1.5 * 2^23 */
    float xc = x < lo ? lo : x;
    float t = xc * 1.44269504088896341f + magic; /* n + magic, n = round(x log2 e) */
    float n = t - magic;
    float r = xc - n * 0.693359375f;             /* n ln 2 in two parts, */
    r = r - n * -2.12194440e-4f;                  /* the first exact */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t tb, magic_b = 0x4b400000u, pow2b;
    memcpy(&tb, &t, sizeof tb);
    pow2b = (tb - magic_b + 127u) << 23; /* 2^n: n >= -126 here */
    float pow2;
    memcpy(&pow2, &pow2b, sizeof pow2);
    return x < lo ? 0.0f : p * pow2;
}

OT_MULTIVERSION
void ot__exp_nonpositive(float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i] = exp_nonpositive(v[i]);
}

/* log(1 + t) for 0 <= t <= 1, the binary loss's log(1 + e^-|z|): 2 atanh(s)
 * with s = t / (2 + t) <= 1/3, by its odd series to s^15 (the next term is
 * under a quarter of an ulp), the rounding of 2 + t carried into s. Within
 * 2 ulp of log1p (all 1.07e9 floats in [0, 1] were checked once: 93.2%
 * correctly rounded, 686 at 2 ulp); with no call to log1pf, a loop of
 * these vectorises as exp_nonpositive's do. */
static inline float log1p_unit(float t)
{
    float u = 2.0f + t, c = (2.0f - u) + t; /* u + c == 2 + t exactly */
    float q = t / u, s = q - q * (c / u);
    float s2 = s * s, p = 2.0f / 15.0f;
    p = p * s2 + 2.0f / 13.0f;
    p = p * s2 + 2.0f / 11.0f;
    p = p * s2 + 2.0f / 9.0f;
    p = p * s2 + 2.0f / 7.0f;
    p = p * s2 + 2.0f / 5.0f;
    p = p * s2 + 2.0f / 3.0f;
    return 2.0f * s + s * s2 * p;
}

/* 1 / (1 + e^-v) from e = e^-|v|, never overflowing: 1 / (1 + e) for
 * v >= 0, e / (1 + e) below (a NaN stays one). */
static inline float sigmoid_from(float v, float e)
{
    return (v >= 0.0f ? 1.0f : e) / (1.0f + e);
}

OT_MULTIVERSION
void ot__sigmoid(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sigmoid_from(x[i], exp_nonpositive(-fabsf(x[i])));
}

/* e = exp(z - max of its row) for n rows of C (e may be z). */
static void shifted_exps(const float *z, float *e, size_t n, size_t C,
                         const float *max)
{
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < C; j++)
            e[r * C + j] = z[r * C + j] - max[r];
    ot__exp_nonpositive(e, n * C);
}

/* the sum of a row's exponentials, in order */
static float row_sum(const float *e, size_t C)
{
    float sum = 0.0f;
    for (size_t j = 0; j < C; j++)
        sum += e[j];
    return sum;
}

/* sum[i] = row_sum of exp(z - max) for n rows of C, the exponentials kept
 * nowhere: as many whole rows as CHUNK floats hold at a time, or a row
 * longer than that in pieces, each sum in column order all the same. */
static void exp_sums(const float *z, size_t n, size_t C, const float *max,
                     float *sum)
{
    float e[CHUNK];
    if (C <= CHUNK) {
        const size_t per = CHUNK / C;
        for (size_t i0 = 0; i0 < n; i0 += per) {
            size_t m = n - i0 < per ? n - i0 : per;
            shifted_exps(z + i0 * C, e, m, C, max + i0);
            for (size_t i = 0; i < m; i++)
                sum[i0 + i] = row_sum(e + i * C, C);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sum[i] = 0.0f;
        for (size_t j0 = 0; j0 < C; j0 += CHUNK) {
            size_t k = C - j0 < CHUNK ? C - j0 : CHUNK;
            shifted_exps(z + i * C + j0, e, 1, k, max + i);
            for (size_t j = 0; j < k; j++)
                sum[i] += e[j];
        }
    }
}

void ot__softmax_rows(float *x, size_t rows, size_t classes)
{
    float max[BLOCK_ROWS];
    for (size_t r0 = 0; r0 < rows; r0 += BLOCK_ROWS) {
        size_t n = rows - r0 < BLOCK_ROWS ? rows - r0 : BLOCK_ROWS;
        float *x0 = x + r0 * classes;
        for (size_t i = 0; i < n; i++) {
            const float *z = x0 + i * classes;
            max[i] = z[ot__argmax(z, classes)];
        }
        shifted_exps(x0, x0, n, classes, max);
        for (size_t i = 0; i < n; i++) {
            float *e = x0 + i * classes, inv = 1.0f / row_sum(e, classes);
            for (size_t j = 0; j < classes; j++)
                e[j] *= inv;
        }
    }
}

/* One exponential per logit: lse = max + log(sum), and the softmax
 * p_j = e_j / sum of the same e_j, rather than exp(z_j - lse), a second
 * exponential per logit. A block's rows are read first (maximum,
 * targets), then their exponentials taken in one loop into diff (or only
 * summed, when no gradient is asked), then each row's loss and gradient. */
static void categorical(const ot__loss_batch *b, int sparse, float scale,
                        float *diff, double *loss_sum)
{
    const size_t C = b->C;
    double total = 0.0;
    float max[BLOCK_ROWS], tsum[BLOCK_ROWS], tz[BLOCK_ROWS], sum[BLOCK_ROWS];
    size_t true_class[BLOCK_ROWS];
    for (size_t r0 = 0; r0 < b->rows; r0 += BLOCK_ROWS) {
        size_t n = b->rows - r0 < BLOCK_ROWS ? b->rows - r0 : BLOCK_ROWS;
        for (size_t i = 0; i < n; i++) {
            const size_t r = r0 + i;
            const float *z = b->out + r * C;
            max[i] = z[ot__argmax(z, C)];
            tsum[i] = tz[i] = 0.0f;
            true_class[i] = 0;
            if (sparse) {
                true_class[i] = (size_t)b->labels[r];
                tsum[i] = 1.0f;
                tz[i] = z[true_class[i]];
            } else {
                float tbest = ot__loss_target(b, r, 0);
                for (size_t j = 0; j < C; j++) {
                    float t = ot__loss_target(b, r, j);
                    tsum[i] += t;
                    tz[i] += t * z[j];
                    if (t > tbest) {
                        tbest = t;
                        true_class[i] = j;
                    }
                }
            }
        }
        /* the block's z is read whole above: e may overwrite it from here */
        float *e0 = diff != NULL ? diff + r0 * C : NULL;
        if (e0 != NULL) {
            shifted_exps(b->out + r0 * C, e0, n, C, max);
            for (size_t i = 0; i < n; i++)
                sum[i] = row_sum(e0 + i * C, C);
        } else {
            exp_sums(b->out + r0 * C, n, C, max, sum);
        }
        for (size_t i = 0; i < n; i++) {
            float lse = max[i] + logf(sum[i]);
            /* sum_j t_j (lse - z_j), times the true class's weight */
            const float w = weight(b, r0 + i, b->class_w ? b->class_w[true_class[i]] : 1.0f);
            total += (double)(w * (tsum[i] * lse - tz[i]));
            if (e0 == NULL)
                continue;
            const float ws = scale * w;
            float *d = e0 + i * C, k = ws * tsum[i] / sum[i];
            if (sparse) {
                for (size_t j = 0; j < C; j++)
                    d[j] *= k;
                d[true_class[i]] -= ws;
            } else {
                for (size_t j = 0; j < C; j++)
                    d[j] = d[j] * k - ws * ot__loss_target(b, r0 + i, j);
            }
        }
    }
    *loss_sum += total;
}

/* Binary cross-entropy's terms that need an exponential, for n logits:
 * sp = log(1 + e^-|v|) and s = the sigmoid of v, from one e^-|v| each. */
OT_MULTIVERSION
static void binary_terms(const float *restrict v, float *restrict sp,
                         float *restrict s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float e = exp_nonpositive(-fabsf(v[i]));
        sp[i] = log1p_unit(e);
        s[i] = sigmoid_from(v[i], e);
    }
}

/* Row r's weight in binary cross-entropy: with class weights, one output's
 * label, 0 or 1, is the row's class. */
static float binary_weight(const ot__loss_batch *b, size_t r)
{
    return weight(b, r, b->class_w ? b->class_w[ot__loss_target(b, r, 0) > 0.5f] : 1.0f);
}

/* Binary cross-entropy on logits over rows x C elements, taken in chunks
 * that may end inside a row: each chunk's terms in one loop, then each
 * element's loss, hit and gradient, and each row's mean as it ends. */
static void binary(const ot__loss_batch *b, float scale, float *diff,
                   double *loss_sum)
{
    const size_t C = b->C, n = b->rows * C;
    const float inv_c = 1.0f / (float)C, g = scale * inv_c;
    float sp[CHUNK], s[CHUNK], l = 0.0f;
    double total = 0.0;
    size_t r = 0, j = 0;
    float w = b->rows > 0 ? binary_weight(b, 0) : 1.0f;
    for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
        const size_t k = n - i0 < CHUNK ? n - i0 : CHUNK;
        binary_terms(b->out + i0, sp, s, k);
        for (size_t i = 0; i < k; i++) {
            float v = b->out[i0 + i], t = ot__loss_target(b, r, j);
            l += fmaxf(v, 0.0f) - v * t + sp[i];
            if (diff != NULL) /* after v: diff may be out */
                diff[i0 + i] = g * w * (s[i] - t);
            if (++j == C) {
                total += (double)(w * (l * inv_c));
                if (r + 1 < b->rows)
                    w = binary_weight(b, r + 1);
                l = 0.0f;
                j = 0;
                r++;
            }
        }
    }
    *loss_sum += total;
}

/* Element-wise losses on outputs: mse, mae, huber. */
static void elementwise(ot_loss loss, const ot__loss_batch *b, float scale,
                        float *diff, double *loss_sum)
{
    const size_t C = b->C;
    const float inv_c = 1.0f / (float)C;
    double total = 0.0;
    for (size_t r = 0; r < b->rows; r++) {
        const float *y = b->out + r * C;
        float *d = diff ? diff + r * C : NULL;
        float l = 0.0f, w = weight(b, r, 1.0f), g = scale * inv_c * w;
        for (size_t j = 0; j < C; j++) {
            float t = ot__loss_target(b, r, j), v = y[j], e = v - t, dv;
            switch (loss) {
            case OT_LOSS_MSE:
                l += e * e;
                dv = 2.0f * e;
                break;
            case OT_LOSS_MAE:
                l += fabsf(e);
                dv = (float)((e > 0.0f) - (e < 0.0f));
                break;
            default: /* huber, delta 1 */
                l += fabsf(e) <= 1.0f ? 0.5f * e * e : fabsf(e) - 0.5f;
                dv = fminf(fmaxf(e, -1.0f), 1.0f);
                break;
            }
            if (d != NULL)
                d[j] = g * dv;
        }
        total += (double)(w * (l * inv_c));
    }
    *loss_sum += total;
}

void ot__loss(ot_loss loss, const ot__loss_batch *b, float scale, float *diff,
              double *loss_sum)
{
    switch (loss) {
    case OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        categorical(b, 1, scale, diff, loss_sum);
        break;
    case OT_LOSS_CATEGORICAL_CROSSENTROPY:
        categorical(b, 0, scale, diff, loss_sum);
        break;
    case OT_LOSS_BINARY_CROSSENTROPY:
        binary(b, scale, diff, loss_sum);
        break;
    default:
        elementwise(loss, b, scale, diff, loss_sum);
        break;
    }
}
