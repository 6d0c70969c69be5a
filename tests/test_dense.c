/*
 * test_dense.c - finite-difference gradient checks of Dense layers with each
 * activation and of the softmax cross-entropy loss, through the real engine
 * (oneDNN inner products and eltwise primitives).
 *
 * Each activation (Dense layers), each loss with labels or float targets.
 * Three checks per architecture:
 *  1. the library's loss and gradient against a double-precision reference
 *     (tests/helpers.h): |g - g_ref| <= 1e-5 + 1e-3 |g_ref|;
 *  2. the reference gradient against central differences of the reference
 *     loss, h = 1e-6: <= 1e-6 + 1e-4 |g|  (the reference is right);
 *  3. the library's gradient against central differences of the library's
 *     own float loss, h = 1e-2: <= 2e-3 + 2e-2 |g|, for the parameters whose
 *     step crosses no relu kink (where the reference's h = 1e-2 difference
 *     agrees with its analytic gradient); every parameter of the small
 *     models, about 60 evenly spaced ones of the wide models.
 */
#include <float.h>

#include <criterion/criterion.h>

#include "helpers.h"
#include "src/dense.h"
#include "src/loss.h"
#include "src/engine.h"
#include "src/unit_split.h"

/* What a test forces (the step's cut, the forward product); zeros follow
 * the rules. Criterion runs each test in its own process. */
static ot__engine_options forced;

#define IN 5
#define ROWS 7      /* rows of most checks */
#define MAX_ROWS 129 /* and of the checks of the transposed product's rule */

/* How the targets of a check are given. */
enum targets { LABELS, FLOATS };

static void check_rows(const ot_layer *layers, size_t L, size_t shards, ot_loss lossk,
                       enum targets tk, const size_t rows)
{
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, IN, layers, L, 7), OT_OK, "%s", ot_last_error());
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, lossk, &oc), OT_OK, "%s", ot_last_error());
    size_t P = ot_model_param_count(m);
    float *wf = malloc(P * sizeof(float)), *g = malloc(P * sizeof(float));
    double *wd = malloc(P * sizeof(double)), *gref = malloc(P * sizeof(double));
    /* Non-zero biases too, so that their gradients mean something. */
    cr_assert_eq(ot_model_get_weights(m, wf, P), OT_OK);
    for (size_t i = 0; i < P; i++) {
        if (wf[i] == 0.0f)
            wf[i] = 0.1f * (float)((int)(i % 7) - 3);
        wd[i] = wf[i];
    }
    cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);

    float x[MAX_ROWS * IN];
    int32_t y[MAX_ROWS];
    size_t C = layers[L - 1].units;
    float t[MAX_ROWS * 40];
    for (size_t i = 0; i < rows * IN; i++)
        x[i] = (float)sin(1.7 * (double)i + 0.3);
    for (size_t r = 0; r < rows; r++)
        y[r] = (int32_t)((r * 2) % (C > 1 ? C : 2));
    for (size_t i = 0; i < rows * C; i++) {
        if (lossk == OT_LOSS_BINARY_CROSSENTROPY)
            t[i] = (float)((i * 7 / 3) % 2);              /* multi-label 0/1 */
        else if (lossk == OT_LOSS_CATEGORICAL_CROSSENTROPY)
            t[i] = (i % C == (i / C) % C) ? 0.7f : 0.3f / (float)(C - 1); /* soft */
        else
            t[i] = (float)(1.5 * cos(0.9 * (double)i));      /* regression */
    }
    const float *tp = tk == FLOATS ? t : NULL;
    const int32_t *yp = tk == LABELS ? y : NULL;
    ot_dataset *d = NULL;
    if (tk == FLOATS)
        cr_assert_eq(ot_dataset_create_targets(&d, rows, IN, x, C, t), OT_OK);
    else
        cr_assert_eq(ot_dataset_create(&d, rows, IN, x, y), OT_OK);

    double loss = 0.0;
    cr_assert_eq(ot__engine_gradient_of(m, d, shards, 2, &forced, g, &loss), OT_OK, "%s", ot_last_error());
    double ref = th_ref_loss_any(layers, L, IN, wd, x, yp, tp, rows, lossk, gref);
    cr_assert(fabs(loss - ref) <= 1e-5 * (1.0 + fabs(ref)), "loss %.9g, reference %.9g", loss, ref);

    size_t kink_free = 0, checked = 0;
    for (size_t i = 0; i < P; i++) {
        /* 1. library vs reference */
        cr_assert(fabs(g[i] - gref[i]) <= 1e-5 + 1e-3 * fabs(gref[i]),
                  "param %zu: gradient %.9g, reference %.9g", i, (double)g[i], gref[i]);
        /* 2. reference vs its own central differences */
        double keep = wd[i], h = 1e-6;
        wd[i] = keep + h;
        double lp = th_ref_loss_any(layers, L, IN, wd, x, yp, tp, rows, lossk, NULL);
        wd[i] = keep - h;
        double lm = th_ref_loss_any(layers, L, IN, wd, x, yp, tp, rows, lossk, NULL);
        double fd = (lp - lm) / (2 * h);
        cr_assert(fabs(fd - gref[i]) <= 1e-6 + 1e-4 * fabs(gref[i]),
                  "param %zu: reference gradient %.9g, finite difference %.9g", i, gref[i], fd);
        /* 3. library vs central differences of the library's loss (for
         * the wide models about 60 parameters, evenly spaced: each
         * difference is two whole gradient runs) */
        if (P > 300 && i % (P / 60 + 1) != 0) {
            wd[i] = keep;
            continue;
        }
        checked++;
        h = 1e-2;
        wd[i] = keep + h;
        lp = th_ref_loss_any(layers, L, IN, wd, x, yp, tp, rows, lossk, NULL);
        wd[i] = keep - h;
        lm = th_ref_loss_any(layers, L, IN, wd, x, yp, tp, rows, lossk, NULL);
        wd[i] = keep;
        double fd_ref = (lp - lm) / (2 * h);
        if (fabs(fd_ref - gref[i]) > 1e-4 + 1e-2 * fabs(gref[i]))
            continue; /* the step crosses a relu kink */
        kink_free++;
        float wkeep = wf[i];
        double llp, llm;
        wf[i] = wkeep + (float)h;
        cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);
        cr_assert_eq(ot__engine_gradient_of(m, d, shards, 2, &forced, g + 0, &llp), OT_OK);
        wf[i] = wkeep - (float)h;
        cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);
        cr_assert_eq(ot__engine_gradient_of(m, d, shards, 2, &forced, g + 0, &llm), OT_OK);
        wf[i] = wkeep;
        cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);
        double fd_lib = (llp - llm) / (2 * h);
        cr_assert(fabs(fd_lib - gref[i]) <= 2e-3 + 2e-2 * fabs(gref[i]),
                  "param %zu: library finite difference %.9g, gradient %.9g", i, fd_lib, gref[i]);
        /* restore g for the next parameter's check 1 */
        cr_assert_eq(ot__engine_gradient_of(m, d, shards, 2, &forced, g, &loss), OT_OK);
    }
    cr_assert(kink_free > checked / 2, "only %zu of %zu parameters were checked by "
              "differences", kink_free, checked);
    ot_dataset_destroy(d);
    ot_model_destroy(m);
    free(wf);
    free(g);
    free(wd);
    free(gref);
}

static void check_model_loss(const ot_layer *layers, size_t L, size_t shards,
                             ot_loss lossk, enum targets tk)
{
    check_rows(layers, L, shards, lossk, tk, ROWS);
}

static void check_model(const ot_layer *layers, size_t L, size_t shards)
{
    check_model_loss(layers, L, shards, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS);
}

static void check_activation(ot_activation a)
{
    ot_layer l[] = {OT_DENSE(4, a), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 2, 1);
}

Test(dense, gradient_linear) { check_activation(OT_ACTIVATION_LINEAR); }
Test(dense, gradient_relu) { check_activation(OT_ACTIVATION_RELU); }
Test(dense, gradient_sigmoid) { check_activation(OT_ACTIVATION_SIGMOID); }
Test(dense, gradient_tanh) { check_activation(OT_ACTIVATION_TANH); }
Test(dense, gradient_selu) { check_activation(OT_ACTIVATION_SELU); }
Test(dense, gradient_elu) { check_activation(OT_ACTIVATION_ELU); }
Test(dense, gradient_softplus) { check_activation(OT_ACTIVATION_SOFTPLUS); }
Test(dense, gradient_gelu) { check_activation(OT_ACTIVATION_GELU); }
Test(dense, gradient_leaky_relu) { check_activation(OT_ACTIVATION_LEAKY_RELU); }
Test(dense, gradient_hidden_softmax) { check_activation(OT_ACTIVATION_SOFTMAX); }

Test(dense, gradient_softmax_only)
{
    ot_layer l[] = {OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 1, 1);
}

Test(dense, gradient_deep_mixed_sharded)
{
    /* backward-data through three hidden layers; 3 uneven shards (3, 2, 2 rows) */
    ot_layer l[] = {OT_DENSE(6, OT_ACTIVATION_RELU), OT_DENSE(4, OT_ACTIVATION_SELU),
                    OT_DENSE(5, OT_ACTIVATION_GELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 4, 3);
}

/* The forward pass as the transposed product (dense.c): on AVX-512, 16 to
 * 64 rows at any width, up to 256 from 64 units, and beyond while rows x
 * units <= 2^18 where the units are no multiple of 16; the inner product
 * otherwise. */
Test(dense, transposed_rule)
{
    int avx512 = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
    cr_expect_eq(ot__dense_transposed(15, 784, 100, 0), 0);
    cr_expect_eq(ot__dense_transposed(16, 784, 100, 0), avx512);
    cr_expect_eq(ot__dense_transposed(40, 5, 6, 0), avx512);
    cr_expect_eq(ot__dense_transposed(64, 784, 32, 0), avx512);
    cr_expect_eq(ot__dense_transposed(65, 784, 32, 0), 0);
    cr_expect_eq(ot__dense_transposed(128, 784, 48, 0), 0);
    cr_expect_eq(ot__dense_transposed(128, 1024, 1024, 0), avx512);
    cr_expect_eq(ot__dense_transposed(256, 784, 64, 0), avx512);
    cr_expect_eq(ot__dense_transposed(256, 1024, 1 << 20, 0), avx512);
    cr_expect_eq(ot__dense_transposed(257, 784, 1024, 0), 0);
    cr_expect_eq(ot__dense_transposed(512, 784, 512, 0), 0);
    cr_expect_eq(ot__dense_transposed(512, 784, 128, 0), 0);
    cr_expect_eq(ot__dense_transposed(512, 784, 20, 0), avx512);
    cr_expect_eq(ot__dense_transposed(1024, 784, 100, 0), avx512);
    cr_expect_eq(ot__dense_transposed(2621, 784, 100, 0), avx512);
    cr_expect_eq(ot__dense_transposed(2622, 784, 100, 0), 0);
    cr_expect_eq(ot__dense_transposed(26214, 100, 10, 0), avx512);
    cr_expect_eq(ot__dense_transposed(26215, 100, 10, 0), 0);
}

Test(dense, gradient_transposed)
{
    /* one shard of 40 rows, two of 24 and 23, one of 33 with mse, one of
     * 128 and three of 43, and one of 129: every row's output in its place
     * and every unit's bias, checked through the loss and gradient against
     * the reference (the transposed product on AVX-512, the inner product
     * elsewhere) */
    ot_layer l[] = {OT_DENSE(20, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 40);
    check_rows(l, 2, 2, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 47);
    check_rows(l, 2, 1, OT_LOSS_MSE, FLOATS, 33);
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 128);
    check_rows(l, 2, 3, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 129);
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 129);
    /* and on every processor, whatever the rule says there: the transposed
     * product over 7 rows and 3 shards (3, 2, 2 rows), the inner product
     * over 40 */
    forced.transposed = 1;
    check_rows(l, 2, 1, OT_LOSS_MSE, FLOATS, ROWS);
    check_rows(l, 2, 3, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, ROWS);
    forced.transposed = -1;
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 40);
    forced.transposed = 0;
}

/* ---- steps cut by units (unit_split.c) ---- */

/* The same checks on a step cut by units: every hidden layer of at least
 * 32 units in blocks, each block over all the rows. */
static void check_units(const ot_layer *layers, size_t L, size_t shards,
                        ot_loss lossk, enum targets tk)
{
    forced.cut = 1;
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, IN, layers, L, 7), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, lossk, &oc), OT_OK);
    cr_assert(ot__usplit_applies(m, ROWS, shards, forced.cut), "the step is not cut by units");
    ot_model_destroy(m);
    check_rows(layers, L, shards, lossk, tk, ROWS);
    forced.cut = 0;
}

Test(dense, gradient_unit_split)
{
    /* blocks of 16 + 16 and 16 + 16 + 16 units (3 shards), a hidden
     * softmax of one block, the loss on a last layer of one block */
    ot_layer l[] = {OT_DENSE(32, OT_ACTIVATION_RELU), OT_DENSE(48, OT_ACTIVATION_GELU),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_units(l, 4, 3, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS);
}

Test(dense, gradient_unit_split_selu_tanh)
{
    /* activations composed of two primitives (selu) and computed from
     * their output (tanh), 2 shards for 7 rows */
    ot_layer l[] = {OT_DENSE(33, OT_ACTIVATION_SELU), OT_DENSE(40, OT_ACTIVATION_TANH),
                    OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    check_units(l, 3, 2, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS);
}

Test(dense, gradient_unit_split_last_layer_by_inputs)
{
    /* a last layer kept whole, cut by its inputs: 3 blocks of 16 units
     * each give their part of the outputs and take their columns of its
     * weights; the softmax runs as an activation (mse does not fuse it) */
    ot_layer l[] = {OT_DENSE(48, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_units(l, 2, 3, OT_LOSS_MSE, FLOATS);
    /* and under a loss that computes the activation itself: two blocks of
     * 16 and 17 units */
    ot_layer s[] = {OT_DENSE(33, OT_ACTIVATION_TANH), OT_DENSE(3, OT_ACTIVATION_SIGMOID)};
    check_units(s, 2, 2, OT_LOSS_BINARY_CROSSENTROPY, FLOATS);
    /* one linear output under huber, two hidden layers in blocks */
    ot_layer r[] = {OT_DENSE(32, OT_ACTIVATION_ELU), OT_DENSE(32, OT_ACTIVATION_RELU),
                    OT_DENSE(1, OT_ACTIVATION_LINEAR)};
    check_units(r, 3, 2, OT_LOSS_HUBER, FLOATS);
}

Test(dense, gradient_unit_split_last_layer_in_blocks)
{
    /* a linear last layer of 33 units (blocks of 16 and 17) under mse: the
     * loss reads the assembled outputs, each block its columns of the
     * gradient */
    ot_layer l[] = {OT_DENSE(32, OT_ACTIVATION_SOFTPLUS), OT_DENSE(33, OT_ACTIVATION_LINEAR)};
    check_units(l, 2, 2, OT_LOSS_MSE, FLOATS);
}

/* ---- losses ---- */

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
    ot__loss(loss, b, 0.0f, NULL, &sum2, &metric2);
    cr_expect_eq(sum2, sum, "without a gradient: the same sum");
    cr_expect_eq(metric2, metric);

    memcpy(scratch, b->out, n * sizeof(float));
    ot__loss_batch in_place = *b;
    in_place.out = scratch;
    double sum3 = 0.0, metric3 = 0.0;
    ot__loss(loss, &in_place, scale, scratch, &sum3, &metric3);
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
    ot__loss(OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &b, scale, d, &loss, &hits);
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
        ot__loss(OT_LOSS_CATEGORICAL_CROSSENTROPY, &b, 1.0f / R, d, &with, &hits);
        ot__loss(OT_LOSS_CATEGORICAL_CROSSENTROPY, &b, 0.0f, NULL, &without, &hits2);
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
        ot__loss(OT_LOSS_BINARY_CROSSENTROPY, &b, 1.0f, NULL, &loss, &hits);
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
    ot__loss(OT_LOSS_BINARY_CROSSENTROPY, &b, scale, d, &loss, &metric);
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
    ot__loss(OT_LOSS_BINARY_CROSSENTROPY, &one, scale, d, &loss4, &metric4);
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
