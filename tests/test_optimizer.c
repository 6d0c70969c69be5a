/*
 * test_optimizer.c - update rules against Keras 3's published formulas:
 * numbers worked out by hand for the first steps, and several steps against
 * a double-precision transcription of keras/src/optimizers/{sgd,adam}.py.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "src/optimizer.h"

#define N 37 /* not a multiple of the vector width */

static void step(const ot_optimizer_config *c, uint64_t t, float *w,
                 const float *g, float *s0, float *s1, size_t n)
{
    ot__opt_step k = ot__optimizer_prepare(c, t);
    ot__optimizer_update(c, &k, w, g, s0, s1, n);
}

Test(optimizer, defaults_are_keras)
{
    ot_optimizer_config s = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_expect_float_eq(s.learning_rate, 0.01f, 0);
    cr_expect_eq(s.momentum, 0.0f);
    cr_expect_eq(s.nesterov, 0);
    ot_optimizer_config a = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_expect_eq(a.learning_rate, 0.001f);
    cr_expect_eq(a.beta1, 0.9f);
    cr_expect_eq(a.beta2, 0.999f);
    cr_expect_eq(a.epsilon, 1e-7f);
}

Test(optimizer, sgd_by_hand)
{
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    float w = 1.0f, g = 0.5f;
    step(&c, 1, &w, &g, NULL, NULL, 1);
    cr_expect_float_eq(w, 0.995f, 1e-7f, "w = 1 - 0.01 * 0.5, got %.9g", (double)w);
}

Test(optimizer, momentum_by_hand)
{
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    float w = 1.0f, g = 0.5f, m = 0.0f;
    step(&c, 1, &w, &g, &m, NULL, 1); /* m = -0.005, w = 0.995 */
    step(&c, 2, &w, &g, &m, NULL, 1); /* m = -0.005 - 0.0045, w = 0.9855 */
    cr_expect_float_eq(m, -0.0095f, 1e-8f);
    cr_expect_float_eq(w, 0.9855f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, nesterov_by_hand)
{
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    c.nesterov = 1;
    float w = 1.0f, g = 0.5f, m = 0.0f;
    step(&c, 1, &w, &g, &m, NULL, 1); /* w += -0.005 + 0.9 * -0.005 -> 0.9905 */
    cr_expect_float_eq(w, 0.9905f, 1e-7f, "got %.9g", (double)w);
    step(&c, 2, &w, &g, &m, NULL, 1); /* m = -0.0095; w += -0.005 - 0.00855 */
    cr_expect_float_eq(w, 0.97695f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, adam_by_hand)
{
    /* t = 1: m = 0.05, v = 0.00025, alpha = 0.001 * sqrt(0.001) / 0.1;
     * w -= alpha * m / (sqrt(v) + 1e-7) = 0.001 * 0.0158114 / 0.0158115 */
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    float w = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
    step(&c, 1, &w, &g, &m, &v, 1);
    cr_expect_float_eq(m, 0.05f, 1e-7f);
    /* 1 - 0.999f is 0.00100004 in float32, as in Keras' float32 variables */
    cr_expect_float_eq(v, 0.00025f, 2e-8f);
    cr_expect_float_eq(w, 0.99900000632f, 1e-7f, "got %.9g", (double)w);
}

/* keras/src/optimizers/sgd.py and adam.py, in double */
static void reference(const ot_optimizer_config *c, int steps, double *w,
                      double *s0, double *s1, const float *grads)
{
    for (int t = 1; t <= steps; t++) {
        const float *g = grads + (size_t)(t - 1) * N;
        for (size_t i = 0; i < N; i++) {
            double gi = g[i], lr = c->learning_rate;
            if (c->kind == OT_OPTIMIZER_ADAM) {
                double b1 = c->beta1, b2 = c->beta2;
                double alpha = lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
                s0[i] += (gi - s0[i]) * (1 - b1);
                s1[i] += (gi * gi - s1[i]) * (1 - b2);
                w[i] -= s0[i] * alpha / (sqrt(s1[i]) + c->epsilon);
            } else if (c->momentum != 0.0f) {
                double mom = c->momentum;
                s0[i] = -gi * lr + s0[i] * mom;
                w[i] += c->nesterov ? -gi * lr + s0[i] * mom : s0[i];
            } else {
                w[i] -= lr * gi;
            }
        }
    }
}

static void against_reference(ot_optimizer_config c)
{
    enum { STEPS = 25 };
    float grads[STEPS * N], w[N], s0[N] = {0}, s1[N] = {0};
    double wd[N], s0d[N] = {0}, s1d[N] = {0};
    for (size_t i = 0; i < STEPS * N; i++)
        grads[i] = (float)(sin(0.37 * (double)i) * (1.0 + (double)(i % 5)));
    for (size_t i = 0; i < N; i++)
        wd[i] = w[i] = (float)cos((double)i);
    size_t slots = ot__optimizer_slots(&c);
    for (int t = 1; t <= STEPS; t++)
        step(&c, (uint64_t)t, w, grads + (size_t)(t - 1) * N, slots > 0 ? s0 : NULL,
             slots > 1 ? s1 : NULL, N);
    reference(&c, STEPS, wd, s0d, s1d, grads);
    for (size_t i = 0; i < N; i++)
        cr_assert(fabs(w[i] - wd[i]) <= 1e-6 * (1.0 + fabs(wd[i])),
                  "%s, param %zu after %d steps: %.9g, reference %.9g",
                  ot_optimizer_name(c.kind), i, STEPS, (double)w[i], wd[i]);
}

Test(optimizer, sgd_steps_match_reference)
{
    against_reference(ot_optimizer_config_default(OT_OPTIMIZER_SGD));
}

Test(optimizer, momentum_steps_match_reference)
{
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    against_reference(c);
}

Test(optimizer, nesterov_steps_match_reference)
{
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.momentum = 0.8f;
    c.nesterov = 1;
    c.learning_rate = 0.05f;
    against_reference(c);
}

Test(optimizer, adam_steps_match_reference)
{
    against_reference(ot_optimizer_config_default(OT_OPTIMIZER_ADAM));
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    c.learning_rate = 0.01f;
    c.beta1 = 0.8f;
    c.beta2 = 0.99f;
    c.epsilon = 1e-5f;
    against_reference(c);
}

Test(optimizer, bad_configs_are_named)
{
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.learning_rate = -1.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "learning_rate") != NULL);
    c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.nesterov = 1;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "nesterov") != NULL);
    c = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    c.beta2 = 1.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "beta2") != NULL);
    c.beta2 = NAN;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    c = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    c.epsilon = 0.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "epsilon") != NULL);
    cr_expect_eq(ot__optimizer_check(NULL), OT_INVALID_ARGUMENT);
    ot_optimizer_kind k;
    cr_expect_eq(ot_optimizer_parse("Adam", &k), OT_OK);
    cr_expect_eq(k, OT_OPTIMIZER_ADAM);
    cr_expect_eq(ot_optimizer_parse("adamw", &k), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "adamw") != NULL);
}
