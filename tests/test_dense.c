/*
 * test_dense.c - finite-difference gradient checks of Dense layers with each
 * activation and of the softmax cross-entropy loss, through the real engine
 * (oneDNN inner products and eltwise primitives).
 *
 * Three checks per architecture:
 *  1. the library's loss and gradient against a double-precision reference
 *     (tests/helpers.h): |g - g_ref| <= 1e-5 + 1e-3 |g_ref|;
 *  2. the reference gradient against central differences of the reference
 *     loss, h = 1e-6: <= 1e-6 + 1e-4 |g|  (the reference is right);
 *  3. the library's gradient against central differences of the library's
 *     own float loss, h = 1e-2: <= 2e-3 + 2e-2 |g|, for the parameters whose
 *     step crosses no relu kink (where the reference's h = 1e-2 difference
 *     agrees with its analytic gradient).
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/trainer.h"

#define IN 5
#define ROWS 7

static void check_model(const ot_layer *layers, size_t L, size_t shards)
{
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, IN, layers, L, 7), OT_OK, "%s", ot_last_error());
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
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

    float x[ROWS * IN];
    int32_t y[ROWS];
    size_t C = layers[L - 1].units;
    for (size_t i = 0; i < ROWS * IN; i++)
        x[i] = (float)sin(1.7 * (double)i + 0.3);
    for (size_t r = 0; r < ROWS; r++)
        y[r] = (int32_t)((r * 2) % C);
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create(&d, ROWS, IN, x, y), OT_OK);

    double loss = 0.0;
    cr_assert_eq(ot__trainer_gradient(m, d, shards, 2, g, &loss), OT_OK, "%s", ot_last_error());
    double ref = th_ref_loss(layers, L, IN, wd, x, y, ROWS, gref);
    cr_assert(fabs(loss - ref) <= 1e-5 * (1.0 + fabs(ref)), "loss %.9g, reference %.9g", loss, ref);

    size_t kink_free = 0;
    for (size_t i = 0; i < P; i++) {
        /* 1. library vs reference */
        cr_assert(fabs(g[i] - gref[i]) <= 1e-5 + 1e-3 * fabs(gref[i]),
                  "param %zu: gradient %.9g, reference %.9g", i, (double)g[i], gref[i]);
        /* 2. reference vs its own central differences */
        double keep = wd[i], h = 1e-6;
        wd[i] = keep + h;
        double lp = th_ref_loss(layers, L, IN, wd, x, y, ROWS, NULL);
        wd[i] = keep - h;
        double lm = th_ref_loss(layers, L, IN, wd, x, y, ROWS, NULL);
        double fd = (lp - lm) / (2 * h);
        cr_assert(fabs(fd - gref[i]) <= 1e-6 + 1e-4 * fabs(gref[i]),
                  "param %zu: reference gradient %.9g, finite difference %.9g", i, gref[i], fd);
        /* 3. library vs central differences of the library's loss */
        h = 1e-2;
        wd[i] = keep + h;
        lp = th_ref_loss(layers, L, IN, wd, x, y, ROWS, NULL);
        wd[i] = keep - h;
        lm = th_ref_loss(layers, L, IN, wd, x, y, ROWS, NULL);
        wd[i] = keep;
        double fd_ref = (lp - lm) / (2 * h);
        if (fabs(fd_ref - gref[i]) > 1e-4 + 1e-2 * fabs(gref[i]))
            continue; /* the step crosses a relu kink */
        kink_free++;
        float wkeep = wf[i];
        double llp, llm;
        wf[i] = wkeep + (float)h;
        cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);
        cr_assert_eq(ot__trainer_gradient(m, d, shards, 2, g + 0, &llp), OT_OK);
        wf[i] = wkeep - (float)h;
        cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);
        cr_assert_eq(ot__trainer_gradient(m, d, shards, 2, g + 0, &llm), OT_OK);
        wf[i] = wkeep;
        cr_assert_eq(ot_model_set_weights(m, wf, P), OT_OK);
        double fd_lib = (llp - llm) / (2 * h);
        cr_assert(fabs(fd_lib - gref[i]) <= 2e-3 + 2e-2 * fabs(gref[i]),
                  "param %zu: library finite difference %.9g, gradient %.9g", i, fd_lib, gref[i]);
        /* restore g for the next parameter's check 1 */
        cr_assert_eq(ot__trainer_gradient(m, d, shards, 2, g, &loss), OT_OK);
    }
    cr_assert(kink_free > P / 2, "only %zu of %zu parameters were checked by differences",
              kink_free, P);
    ot_dataset_destroy(d);
    ot_model_destroy(m);
    free(wf);
    free(g);
    free(wd);
    free(gref);
}

Test(dense, gradient_linear)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_LINEAR), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 2, 1);
}

Test(dense, gradient_relu)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 2, 1);
}

Test(dense, gradient_sigmoid)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_SIGMOID), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 2, 1);
}

Test(dense, gradient_softmax_only)
{
    ot_layer l[] = {OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 1, 1);
}

Test(dense, gradient_deep_mixed_sharded)
{
    /* backward-data through two hidden layers; 3 uneven shards (3, 2, 2 rows) */
    ot_layer l[] = {OT_DENSE(6, OT_ACTIVATION_RELU), OT_DENSE(4, OT_ACTIVATION_SIGMOID),
                    OT_DENSE(5, OT_ACTIVATION_LINEAR), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 4, 3);
}
