/*
 * gradcheck.h - the gradient checks that the suites of dense layers,
 * activations, losses and the cut by units share: a model's loss and
 * gradient through the engine (oneDNN inner products and eltwise
 * primitives), as a step computes them.
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
#ifndef OT_TEST_GRADCHECK_H
#define OT_TEST_GRADCHECK_H

#include <float.h>

#include "training.h"
#include "src/dense.h"
#include "src/loss.h"

#define IN 5
#define ROWS 7      /* rows of most checks */
#define MAX_ROWS 129 /* and of the checks of the transposed product's rule */

/* How the targets of a check are given. */
enum targets { LABELS, FLOATS };

static inline void check_rows(const ot_layer *layers, size_t L, size_t shards, ot_loss lossk,
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

static inline void check_model_loss(const ot_layer *layers, size_t L, size_t shards,
                                    ot_loss lossk, enum targets tk)
{
    check_rows(layers, L, shards, lossk, tk, ROWS);
}

static inline void check_model(const ot_layer *layers, size_t L, size_t shards)
{
    check_model_loss(layers, L, shards, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS);
}

#endif
