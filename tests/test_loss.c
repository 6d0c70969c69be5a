/*
 * test_loss.c - the losses (loss.c): each one's gradient through a model,
 * as gradcheck.h checks it; the cross-entropy's exponentials and
 * binary cross-entropy's log(1 + e^v) against double precision, ulp by
 * ulp; the blocks of rows and chunks of logits against double precision,
 * with and without a gradient, in place or not.
 */
#include "gradcheck.h"
#include "src/metrics.h"

/* The loss and its own metric, as a shard computes them: the metric
 * (metrics.c) from the outputs first, then the loss and its gradient,
 * which may overwrite them. The cross-entropies' outputs are logits. */
static void loss_and_metric(ot_loss loss, const ot__loss_batch *b, float scale,
                            float *diff, double *loss_sum, double *metric_sum)
{
    ot__metric_list list = {1, {ot__loss_metric(loss)}};
    ot_activation pending = loss == OT_LOSS_BINARY_CROSSENTROPY ? OT_ACTIVATION_SIGMOID
                            : loss <= OT_LOSS_CATEGORICAL_CROSSENTROPY ? OT_ACTIVATION_SOFTMAX
                                                                        : OT_ACTIVATION_LINEAR;
    ot__sums sums = {{0.0}};
    ot__metrics_over(&list, loss, pending, b, &sums);
    ot__loss(loss, b, scale, diff, loss_sum);
    *metric_sum += sums.v[1];
}

Test(loss, gradient_categorical_soft_targets)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_TANH), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model_loss(l, 2, 2, OT_LOSS_CATEGORICAL_CROSSENTROPY, FLOATS);
}

Test(loss, gradient_categorical_from_labels)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model_loss(l, 2, 2, OT_LOSS_CATEGORICAL_CROSSENTROPY, LABELS);
}

Test(loss, gradient_binary_multilabel)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SIGMOID)};
    check_model_loss(l, 2, 2, OT_LOSS_BINARY_CROSSENTROPY, FLOATS);
}

Test(loss, gradient_binary_one_output_labels)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_ELU), OT_DENSE(1, OT_ACTIVATION_SIGMOID)};
    check_model_loss(l, 2, 1, OT_LOSS_BINARY_CROSSENTROPY, LABELS);
}

Test(loss, gradient_mse_regression)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_TANH), OT_DENSE(2, OT_ACTIVATION_LINEAR)};
    check_model_loss(l, 2, 3, OT_LOSS_MSE, FLOATS);
}

Test(loss, gradient_mse_through_sigmoid)
{
    /* the textbook XOR: sigmoid output, MSE; the sigmoid is not fused here */
    ot_layer l[] = {OT_DENSE(2, OT_ACTIVATION_SIGMOID), OT_DENSE(1, OT_ACTIVATION_SIGMOID)};
    check_model_loss(l, 2, 1, OT_LOSS_MSE, FLOATS);
}

Test(loss, gradient_mae)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_SOFTPLUS), OT_DENSE(3, OT_ACTIVATION_LINEAR)};
    check_model_loss(l, 2, 2, OT_LOSS_MAE, FLOATS);
}

Test(loss, gradient_huber)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_LEAKY_RELU), OT_DENSE(3, OT_ACTIVATION_LINEAR)};
    check_model_loss(l, 2, 2, OT_LOSS_HUBER, FLOATS);
}

Test(loss, gradient_mse_through_softmax)
{
    /* softmax that the loss does not fuse: oneDNN's softmax backward */
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model_loss(l, 2, 2, OT_LOSS_MSE, FLOATS);
}

/* ---- the cross-entropy's exponentials and its blocks of rows ---- */

/* distance in units in the last place between two non-negative floats */
static int64_t ulps(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&ib, &b, sizeof ib);
    return ia > ib ? (int64_t)ia - ib : (int64_t)ib - ia;
}

Test(loss, exponentials_within_one_ulp)
{
    /* every 61st float from -0 down to ln(FLT_MIN), about 18 million,
     * against the double exponential rounded to float */
    enum { N = 4096 };
    float v[N], x[N];
    int64_t worst = 0;
    float worst_x = 0.0f;
    uint32_t bits = 0x80000000u; /* -0 */
    const float lo = -87.33654475f;
    for (;;) {
        size_t n = 0;
        for (; n < N; n++, bits += 61) {
            memcpy(&x[n], &bits, sizeof x[n]);
            if (!(x[n] >= lo))
                break;
            v[n] = x[n];
        }
        ot__exp_nonpositive(v, n);
        for (size_t i = 0; i < n; i++) {
            int64_t u = ulps(v[i], (float)exp((double)x[i]));
            if (u > worst) {
                worst = u;
                worst_x = x[i];
            }
        }
        if (n < N)
            break;
    }
    cr_expect_leq(worst, 1, "e^x is %lld ulp off at x = %.9g", (long long)worst,
                  (double)worst_x);
    float edge[] = {0.0f, -0.0f, -1e-30f, -87.0f, -87.4f, -104.0f, -1e30f, -INFINITY};
    ot__exp_nonpositive(edge, 8);
    cr_expect_eq(edge[0], 1.0f);
    cr_expect_eq(edge[1], 1.0f);
    cr_expect_eq(edge[2], 1.0f);
    cr_expect_leq(ulps(edge[3], (float)exp(-87.0)), 1);
    for (int i = 4; i < 8; i++)
        cr_expect_eq(edge[i], 0.0f, "e^x below ln(FLT_MIN) is 0, got %g", (double)edge[i]);
    float nan = NAN;
    ot__exp_nonpositive(&nan, 1);
    cr_expect(isnan(nan), "a NaN stays a NaN");
}

/* Given the sums (loss, metric) and gradient d that loss gave over b:
 * the same sums without a gradient, and the same sums and gradient bit
 * for bit with the gradient written over a copy of the outputs (scratch,
 * rows x C floats). */
static void same_without_gradient_and_in_place(ot_loss loss, const ot__loss_batch *b,
                                               float scale, const float *d, double sum,
                                               double metric, float *scratch)
{
    const size_t n = b->rows * b->C;
    double sum2 = 0.0, metric2 = 0.0;
    loss_and_metric(loss, b, 0.0f, NULL, &sum2, &metric2);
    cr_expect_eq(sum2, sum, "without a gradient: the same sum");
    cr_expect_eq(metric2, metric);

    memcpy(scratch, b->out, n * sizeof(float));
    ot__loss_batch in_place = *b;
    in_place.out = scratch;
    double sum3 = 0.0, metric3 = 0.0;
    loss_and_metric(loss, &in_place, scale, scratch, &sum3, &metric3);
    cr_expect_eq(sum3, sum, "diff over the outputs: the same sum");
    cr_expect_eq(metric3, metric);
    cr_expect_eq(memcmp(scratch, d, n * sizeof(float)), 0,
                 "diff over the outputs: the same gradient");
}

/* The sparse cross-entropy over rows that fill two blocks and part of a
 * third, spreads of logits from 0.01 to 200 (exponentials that vanish),
 * against double precision: loss, accuracy and the gradient; the same
 * loss without a gradient (the work rows), and with diff over the logits. */
Test(loss, categorical_in_blocks_against_double)
{
    enum { R = 150, C = 10 };
    static float z[R * C], zcopy[R * C], d[R * C], p[R * C];
    static int32_t y[R];
    uint64_t s = 12345;
    for (size_t r = 0; r < R; r++) {
        double spread = 0.01 * pow(2e4, (double)r / (R - 1));
        for (size_t j = 0; j < C; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            z[r * C + j] = (float)(spread * ((double)(s >> 11) / 9007199254740992.0 - 0.5));
        }
        y[r] = (int32_t)((r * 7) % C);
    }
    const float scale = 1.0f / R;
    double ref_loss = 0.0, ref_hits = 0.0;
    for (size_t r = 0; r < R; r++) {
        const float *zr = z + r * C;
        size_t best = 0;
        for (size_t j = 1; j < C; j++)
            if (zr[j] > zr[best])
                best = j;
        double sum = 0.0;
        for (size_t j = 0; j < C; j++)
            sum += exp((double)zr[j] - zr[best]);
        ref_loss += zr[best] + log(sum) - zr[y[r]];
        ref_hits += best == (size_t)y[r];
        for (size_t j = 0; j < C; j++) {
            double g = exp((double)zr[j] - zr[best]) / sum - (j == (size_t)y[r]);
            p[r * C + j] = (float)(g * scale);
        }
    }
    ot__loss_batch b = {.out = z, .labels = y, .rows = R, .C = C};
    double loss = 0.0, hits = 0.0;
    loss_and_metric(OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &b, scale, d, &loss, &hits);
    cr_expect_leq(fabs(loss - ref_loss), 1e-5 * ref_loss, "loss %.9g, double %.9g", loss, ref_loss);
    cr_expect_eq(hits, ref_hits);
    for (size_t i = 0; i < R * C; i++)
        cr_expect_leq(fabsf(d[i] - p[i]), 1e-8f + 1e-5f * fabsf(p[i]), "gradient %zu: %g, double %g",
                      i, (double)d[i], (double)p[i]);

    same_without_gradient_and_in_place(OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &b, scale, d,
                                       loss, hits, zcopy);

    memcpy(zcopy, z, sizeof z);
    ot__softmax_rows(zcopy, R, C);
    for (size_t i = 0; i < R * C; i++) {
        double q = p[i] / scale + (i % C == (size_t)y[i / C]);
        cr_expect_leq(fabs(zcopy[i] - q), 1e-7 + 1e-5 * q, "softmax %zu: %g, double %g", i,
                      (double)zcopy[i], q);
    }
}

/* Without a gradient the exponentials are only summed, a few rows at a
 * time or a row in pieces when it is longer than the loss's chunk: the
 * same sums as with the gradient, bit for bit, for rows of 1 to 2100
 * classes (soft targets), and the double-precision loss. */
Test(loss, categorical_without_gradient_any_width)
{
    enum { R = 70, CMAX = 2100 };
    static float z[R * CMAX], t[R * CMAX], d[R * CMAX];
    const size_t widths[] = {1, 10, 1023, 1024, 1025, 2100};
    uint64_t s = 424242;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        const size_t C = widths[w];
        double ref = 0.0;
        for (size_t r = 0; r < R; r++) {
            double m = -INFINITY, sum = 0.0, tz = 0.0, ts = 0.0;
            for (size_t j = 0; j < C; j++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                z[r * C + j] = (float)(20.0 * ((double)(s >> 11) / 9007199254740992.0 - 0.5));
                t[r * C + j] = (float)((s >> 7) % 3) / 2.0f;
                m = fmax(m, z[r * C + j]);
            }
            for (size_t j = 0; j < C; j++) {
                sum += exp(z[r * C + j] - m);
                tz += (double)t[r * C + j] * z[r * C + j];
                ts += t[r * C + j];
            }
            ref += ts * (m + log(sum)) - tz;
        }
        ot__loss_batch b = {.out = z, .targets = t, .rows = R, .C = C};
        double with = 0.0, hits = 0.0, without = 0.0, hits2 = 0.0;
        loss_and_metric(OT_LOSS_CATEGORICAL_CROSSENTROPY, &b, 1.0f / R, d, &with, &hits);
        loss_and_metric(OT_LOSS_CATEGORICAL_CROSSENTROPY, &b, 0.0f, NULL, &without, &hits2);
        cr_expect_eq(without, with, "%zu classes: %.17g without a gradient, %.17g with", C,
                     without, with);
        cr_expect_eq(hits2, hits);
        cr_expect_leq(fabs(with - ref), 1e-5 * fabs(ref) + 1e-6, "%zu classes: %.9g, double %.9g",
                      C, with, ref);
    }
}

/* log(1 + e^v) for v <= 0 is the binary loss of one logit v with target 0
 * (max(v, 0) and v t both vanish): every 61st float from -0 down to
 * ln(FLT_MIN), about 18 million, against double precision. */
Test(loss, binary_softplus_within_two_ulp)
{
    int64_t worst = 0;
    float worst_v = 0.0f;
    const float lo = -87.33654475f;
    const int32_t label = 0;
    for (uint32_t bits = 0x80000000u;; bits += 61) {
        float v;
        memcpy(&v, &bits, sizeof v);
        if (!(v >= lo))
            break;
        ot__loss_batch b = {.out = &v, .labels = &label, .rows = 1, .C = 1};
        double loss = 0.0, hits = 0.0;
        loss_and_metric(OT_LOSS_BINARY_CROSSENTROPY, &b, 1.0f, NULL, &loss, &hits);
        int64_t u = ulps((float)loss, (float)log1p(exp((double)v)));
        if (u > worst) {
            worst = u;
            worst_v = v;
        }
    }
    cr_expect_leq(worst, 2, "log(1 + e^v) is %lld ulp off at v = %.9g", (long long)worst,
                  (double)worst_v);
}

/* Binary cross-entropy over 400 rows of 3 logits (chunks of 1024 elements
 * end inside rows), logits spread up to 400 (exponentials that vanish,
 * both signs), soft targets, against double precision: loss, binary
 * accuracy, gradient; without a gradient; with the gradient written over
 * the logits; one output with labels; and the sigmoid of predict. */
Test(loss, binary_in_chunks_against_double)
{
    enum { R = 400, C = 3, N = R * C };
    static float z[N], zcopy[N], d[N], t[N], p[N], tol[N];
    static int32_t y[R];
    uint64_t s = 987654321;
    for (size_t i = 0; i < N; i++) {
        double spread = 0.01 * pow(4e4, (double)(i / C) / (R - 1));
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        z[i] = (float)(spread * ((double)(s >> 11) / 9007199254740992.0 - 0.5));
        t[i] = (float)((s >> 20) % 5) / 4.0f; /* 0, 0.25, ..., 1 */
    }
    for (size_t r = 0; r < R; r++)
        y[r] = (int32_t)(r % 3 == 0);
    const float scale = 1.0f / R;
    double ref_loss = 0.0, ref_metric = 0.0;
    for (size_t r = 0; r < R; r++) {
        double l = 0.0, m = 0.0;
        for (size_t j = 0; j < C; j++) {
            size_t i = r * C + j;
            double v = z[i], sig = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
            l += fmax(v, 0.0) - v * t[i] + log1p(exp(-fabs(v)));
            m += (v > 0.0 ? 1.0 : 0.0) == t[i];
            p[i] = (float)(scale / C * (sig - t[i]));
            /* s - t loses s's relative precision where they are close:
             * 3 ulp of the larger, and as much again for the float factor
             * scale / C, rounded twice, and the product */
            tol[i] = (float)(4e-7 * scale / C * (sig + t[i])) + 1e-30f;
        }
        ref_loss += l / C;
        ref_metric += m / C;
    }
    ot__loss_batch b = {.out = z, .targets = t, .rows = R, .C = C};
    double loss = 0.0, metric = 0.0;
    loss_and_metric(OT_LOSS_BINARY_CROSSENTROPY, &b, scale, d, &loss, &metric);
    cr_expect_leq(fabs(loss - ref_loss), 1e-5 * ref_loss, "loss %.9g, double %.9g", loss,
                  ref_loss);
    /* each row's mean over its 3 outputs is rounded to float */
    cr_expect_leq(fabs(metric - ref_metric), 1e-6 * ref_metric,
                  "binary accuracy %.9g, double %.9g", metric, ref_metric);
    for (size_t i = 0; i < N; i++)
        cr_expect_leq(fabsf(d[i] - p[i]), tol[i], "gradient %zu: %g, double %g", i,
                      (double)d[i], (double)p[i]);

    same_without_gradient_and_in_place(OT_LOSS_BINARY_CROSSENTROPY, &b, scale, d, loss,
                                       metric, zcopy);

    /* one output, labels 0 or 1: the first R logits */
    ot__loss_batch one = {.out = z, .labels = y, .rows = R, .C = 1};
    double loss4 = 0.0, metric4 = 0.0, ref4 = 0.0, hits4 = 0.0;
    loss_and_metric(OT_LOSS_BINARY_CROSSENTROPY, &one, scale, d, &loss4, &metric4);
    for (size_t r = 0; r < R; r++) {
        double v = z[r], sig = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
        ref4 += fmax(v, 0.0) - v * y[r] + log1p(exp(-fabs(v)));
        hits4 += (v > 0.0) == (y[r] == 1);
        double g = scale * (sig - y[r]);
        cr_expect_leq(fabs(d[r] - g), 4e-7 * scale * (sig + y[r]) + 1e-30,
                      "one output, gradient %zu: %g, double %g", r, (double)d[r], g);
    }
    cr_expect_leq(fabs(loss4 - ref4), 1e-5 * ref4, "one output: loss %.9g, double %.9g",
                  loss4, ref4);
    cr_expect_eq(metric4, hits4);

    memcpy(zcopy, z, sizeof z);
    ot__sigmoid(zcopy, N);
    for (size_t i = 0; i < N; i++) {
        double v = z[i], sig = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
        if (sig < FLT_MIN) /* e^v below the normal floats: flushed to 0 */
            cr_expect_eq(zcopy[i], 0.0f, "sigmoid %zu: %g, double %g", i, (double)zcopy[i], sig);
        else
            cr_expect_leq(ulps(zcopy[i], (float)sig), 2, "sigmoid %zu: %g, double %g", i,
                          (double)zcopy[i], sig);
    }
    float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e30f, -1e30f, 100.0f, -80.0f, NAN};
    ot__sigmoid(edge, 9);
    cr_expect_eq(edge[0], 0.5f);
    cr_expect_eq(edge[1], 0.5f);
    cr_expect_eq(edge[2], 1.0f);
    cr_expect_eq(edge[3], 0.0f);
    cr_expect_eq(edge[4], 1.0f);
    cr_expect_eq(edge[5], 0.0f);
    cr_expect_eq(edge[6], 1.0f);
    cr_expect_leq(ulps(edge[7], (float)exp(-80.0)), 2, "sigmoid(-80): %g", (double)edge[7]);
    cr_expect(isnan(edge[8]), "a NaN stays a NaN");
}

/* Each row of b weighs wr[r] (its class's and its own weights together):
 * its loss and gradient are wr[r] times the unweighted row's, the metric
 * is not weighted. */
static void expect_rows_weighted(int k, ot_loss kind, const ot__loss_batch *b,
                                 const float *wr, float scale)
{
    enum { MAX = 64 * 4 };
    float d[MAX], dr[4];
    const size_t R = b->rows, C = b->C;
    cr_assert(R * C <= MAX && C <= 4);
    double loss = 0.0, metric = 0.0, want = 0.0, want_metric = 0.0;
    loss_and_metric(kind, b, scale, d, &loss, &metric);
    for (size_t r = 0; r < R; r++) {
        ot__loss_batch one = *b;
        one.out = b->out + r * C;
        one.labels = b->labels ? b->labels + r : NULL;
        one.targets = b->targets ? b->targets + r * C : NULL;
        one.rows = 1;
        one.class_w = one.row_w = NULL;
        double l = 0.0, m = 0.0;
        loss_and_metric(kind, &one, scale, dr, &l, &m);
        want += (double)wr[r] * l;
        want_metric += m;
        for (size_t j = 0; j < C; j++)
            cr_expect_leq(fabsf(d[r * C + j] - wr[r] * dr[j]), 1e-7f * (1.0f + fabsf(dr[j])),
                          "case %d row %zu output %zu: %g, weight x unweighted %g", k, r, j,
                          (double)d[r * C + j], (double)(wr[r] * dr[j]));
    }
    cr_expect_leq(fabs(loss - want), 1e-5 * want, "case %d: %.9g, expected %.9g", k, loss, want);
    cr_expect_eq(metric, want_metric, "the metric is not weighted");
}

/* Weights of 1 (class or sample) give the unweighted bits. */
static void expect_ones_change_nothing(int k, ot_loss kind, ot__loss_batch b, float scale)
{
    float d1[64 * 4], d0[64 * 4];
    double l1 = 0, m1 = 0, l0 = 0, m0 = 0;
    loss_and_metric(kind, &b, scale, d1, &l1, &m1);
    b.class_w = b.row_w = NULL;
    loss_and_metric(kind, &b, scale, d0, &l0, &m0);
    cr_expect(l1 == l0 && m1 == m0 && memcmp(d1, d0, b.rows * b.C * sizeof(float)) == 0,
              "case %d: weights of 1 change the bits", k);
}

/* Class weights (Keras' class_weight): each row's loss and gradient are its
 * true class's weight times the unweighted row's; the metric is not
 * weighted; weights of 1 give the unweighted bits. For the sparse and the
 * one-hot cross-entropy and one sigmoid output. */
Test(loss, class_weights_scale_each_row_by_its_class)
{
    enum { R = 37, C = 4 };
    float z[R * C], t[R * C], v[R], wr[R], w[C] = {0.5f, 2.0f, 0.0f, 3.25f};
    const float ones[C] = {1.0f, 1.0f, 1.0f, 1.0f};
    int32_t y[R], yb[R];
    for (size_t i = 0; i < R * C; i++)
        z[i] = (float)((i * 7919) % 97) / 13.0f - 3.0f;
    for (size_t r = 0; r < R; r++) {
        y[r] = (int32_t)((r * 5) % C);
        yb[r] = (int32_t)(r % 3 == 0);
        v[r] = (float)((r * 31) % 23) / 4.0f - 2.5f;
        for (size_t j = 0; j < C; j++)
            t[r * C + j] = (size_t)y[r] == j ? 1.0f : 0.0f;
    }
    const ot_loss kinds[3] = {OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                              OT_LOSS_CATEGORICAL_CROSSENTROPY, OT_LOSS_BINARY_CROSSENTROPY};
    for (int k = 0; k < 3; k++) {
        const int binary = k == 2;
        ot__loss_batch b = {.out = binary ? v : z, .labels = k == 1 ? NULL : binary ? yb : y,
                            .targets = k == 1 ? t : NULL, .rows = R, .C = binary ? 1 : C,
                            .class_w = w};
        for (size_t r = 0; r < R; r++)
            wr[r] = w[binary ? (size_t)yb[r] : (size_t)y[r]];
        expect_rows_weighted(k, kinds[k], &b, wr, 1.0f / R);
        b.class_w = ones;
        expect_ones_change_nothing(k, kinds[k], b, 1.0f / R);
    }
}

/* Sample weights, every loss: each row's loss and gradient are its weight
 * (times its class's, where class weights are given too) times the
 * unweighted row's; the metric is not weighted; weights of 1 give the
 * unweighted bits. */
Test(loss, sample_weights_scale_each_row_by_its_own)
{
    enum { R = 29, C = 3 };
    float z[R * C], t[R * C], sw[R], wr[R], ones[R], cw[C] = {0.5f, 2.0f, 1.5f};
    int32_t y[R], yb[R];
    for (size_t i = 0; i < R * C; i++)
        z[i] = (float)((i * 7919) % 89) / 11.0f - 4.0f;
    for (size_t r = 0; r < R; r++) {
        y[r] = (int32_t)((r * 5) % C);
        yb[r] = (int32_t)(r % 3 == 0);
        sw[r] = (float)(r % 5) * 0.75f; /* zeros among them */
        ones[r] = 1.0f;
        for (size_t j = 0; j < C; j++)
            t[r * C + j] = (size_t)y[r] == j ? 1.0f : 0.0f;
    }
    const ot_loss kinds[] = {OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                             OT_LOSS_CATEGORICAL_CROSSENTROPY, OT_LOSS_BINARY_CROSSENTROPY,
                             OT_LOSS_MSE, OT_LOSS_MAE, OT_LOSS_HUBER};
    for (int k = 0; k < 6; k++) {
        const int sparse = k == 0, binary = k == 2, ce = k < 3;
        ot__loss_batch b = {.out = z, .labels = sparse ? y : binary ? yb : NULL,
                            .targets = sparse || binary ? NULL : t, .rows = R,
                            .C = binary ? 1 : C, .row_w = sw};
        for (int with_class = 0; with_class < 1 + ce; with_class++) {
            b.class_w = with_class ? cw : NULL;
            for (size_t r = 0; r < R; r++)
                wr[r] = sw[r] * (with_class ? cw[binary ? (size_t)yb[r] : (size_t)y[r]] : 1.0f);
            expect_rows_weighted(2 * k + with_class, kinds[k], &b, wr, 1.0f / R);
        }
        b.class_w = NULL;
        b.row_w = ones;
        expect_ones_change_nothing(k, kinds[k], b, 1.0f / R);
    }
}
