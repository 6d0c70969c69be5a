/*
 * test_optimizer.c - update rules and schedules against Keras 3's published
 * formulas (keras/src/optimizers/{sgd,adam,adagrad,rmsprop,adadelta}.py,
 * schedules/learning_rate_schedule.py): numbers worked out by hand for the
 * first steps, and 25 steps against a double-precision transcription.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "src/optimizer.h"

#define N 37 /* not a multiple of the vector width */

static void step(const ot_optimizer_config *c, uint64_t t, float *w,
                 const float *g, float *s0, float *s1, float *s2, size_t n)
{
    ot__opt_step k = ot__optimizer_prepare(c, t, 0);
    float *s[OT__MAX_SLOTS] = {s0, s1, s2};
    ot__optimizer_update(c, &k, w, g, NULL, s, n);
}

static ot_optimizer_config cfg(ot_optimizer_kind k) { return ot_optimizer_config_default(k); }

Test(optimizer, defaults_are_keras)
{
    ot_optimizer_config s = cfg(OT_OPTIMIZER_SGD);
    cr_expect_eq(s.learning_rate, 0.01f);
    cr_expect_eq(s.momentum, 0.0f);
    cr_expect_eq(s.nesterov, 0);
    ot_optimizer_config a = cfg(OT_OPTIMIZER_ADAM);
    cr_expect(a.learning_rate == 0.001f && a.beta1 == 0.9f && a.beta2 == 0.999f &&
              a.epsilon == 1e-7f && a.amsgrad == 0);
    ot_optimizer_config g = cfg(OT_OPTIMIZER_ADAGRAD);
    cr_expect(g.learning_rate == 0.001f && g.initial_accumulator == 0.1f && g.epsilon == 1e-7f);
    ot_optimizer_config r = cfg(OT_OPTIMIZER_RMSPROP);
    cr_expect(r.learning_rate == 0.001f && r.rho == 0.9f && r.momentum == 0.0f &&
              r.epsilon == 1e-7f && r.centered == 0);
    ot_optimizer_config d = cfg(OT_OPTIMIZER_ADADELTA);
    cr_expect(d.learning_rate == 0.001f && d.rho == 0.95f && d.epsilon == 1e-7f);
    cr_expect_eq(ot__optimizer_slots(&s), 0);
    cr_expect_eq(ot__optimizer_slots(&a), 2);
    a.amsgrad = 1;
    cr_expect_eq(ot__optimizer_slots(&a), 3);
    r.centered = 1;
    r.momentum = 0.5f;
    cr_expect_eq(ot__optimizer_slots(&r), 3);
}

Test(optimizer, sgd_by_hand)
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    float w = 1.0f, g = 0.5f;
    step(&c, 1, &w, &g, NULL, NULL, NULL, 1);
    cr_expect_float_eq(w, 0.995f, 1e-7f, "w = 1 - 0.01 * 0.5, got %.9g", (double)w);
}

Test(optimizer, momentum_by_hand)
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    float w = 1.0f, g = 0.5f, m = 0.0f;
    step(&c, 1, &w, &g, &m, NULL, NULL, 1); /* m = -0.005, w = 0.995 */
    step(&c, 2, &w, &g, &m, NULL, NULL, 1); /* m = -0.005 - 0.0045, w = 0.9855 */
    cr_expect_float_eq(m, -0.0095f, 1e-8f);
    cr_expect_float_eq(w, 0.9855f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, nesterov_by_hand)
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    c.nesterov = 1;
    float w = 1.0f, g = 0.5f, m = 0.0f;
    step(&c, 1, &w, &g, &m, NULL, NULL, 1); /* w += -0.005 + 0.9 * -0.005 -> 0.9905 */
    cr_expect_float_eq(w, 0.9905f, 1e-7f, "got %.9g", (double)w);
    step(&c, 2, &w, &g, &m, NULL, NULL, 1); /* m = -0.0095; w += -0.005 - 0.00855 */
    cr_expect_float_eq(w, 0.97695f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, adam_by_hand)
{
    /* t = 1: m = 0.05, v = 0.00025, alpha = 0.001 * sqrt(0.001) / 0.1;
     * w -= alpha * m / (sqrt(v) + 1e-7) = 0.001 * 0.0158114 / 0.0158115 */
    ot_optimizer_config c = cfg(OT_OPTIMIZER_ADAM);
    float w = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
    step(&c, 1, &w, &g, &m, &v, NULL, 1);
    cr_expect_float_eq(m, 0.05f, 1e-7f);
    /* 1 - 0.999f is 0.00100004 in float32, as in Keras' float32 variables */
    cr_expect_float_eq(v, 0.00025f, 2e-8f);
    cr_expect_float_eq(w, 0.99900000632f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, adagrad_by_hand)
{
    /* acc = 0.1 + 0.25; w = 1 - 0.001 * 0.5 / sqrt(0.35 + 1e-7) = 0.999154846 */
    ot_optimizer_config c = cfg(OT_OPTIMIZER_ADAGRAD);
    float w = 1.0f, g = 0.5f, acc[1];
    ot__optimizer_init_state(&c, acc, 1);
    cr_expect_eq(acc[0], 0.1f);
    step(&c, 1, &w, &g, acc, NULL, NULL, 1);
    cr_expect_float_eq(acc[0], 0.35f, 1e-7f);
    cr_expect_float_eq(w, 0.999154846f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, rmsprop_by_hand)
{
    /* v = 0.1 * 0.25 = 0.025; w = 1 - 0.001 * 0.5 / sqrt(0.025 + 1e-7) = 0.99683773 */
    ot_optimizer_config c = cfg(OT_OPTIMIZER_RMSPROP);
    float w = 1.0f, g = 0.5f, v = 0.0f;
    step(&c, 1, &w, &g, &v, NULL, NULL, 1);
    cr_expect_float_eq(v, 0.025f, 1e-8f);
    cr_expect_float_eq(w, 0.99683773f, 1e-7f, "got %.9g", (double)w);
}

Test(optimizer, adadelta_by_hand)
{
    /* ag = 0.05 * 0.25 = 0.0125; delta = -sqrt(1e-7) * 0.5 / sqrt(0.0125 + 1e-7)
     * = -0.00141421; w = 1 + 0.001 * delta = 0.99999858579 */
    ot_optimizer_config c = cfg(OT_OPTIMIZER_ADADELTA);
    float w = 1.0f, g = 0.5f, ag = 0.0f, ad = 0.0f;
    step(&c, 1, &w, &g, &ag, &ad, NULL, 1);
    cr_expect_float_eq(ag, 0.0125f, 1e-7f);
    cr_expect_float_eq(ad, 0.05f * 0.00141421f * 0.00141421f, 1e-10f);
    cr_expect_float_eq(w, 0.99999858579f, 1e-7f, "got %.9g", (double)w);
}

/* The Keras 3 formulas, in double. */
static void reference(const ot_optimizer_config *c, int steps, double *w,
                      double (*s)[N], const float *grads)
{
    for (int t = 1; t <= steps; t++) {
        const float *g = grads + (size_t)(t - 1) * N;
        double lr = ot__optimizer_lr(c, (uint64_t)t, 0), eps = c->epsilon;
        for (size_t i = 0; i < N; i++) {
            double gi = g[i];
            switch (c->kind) {
            case OT_OPTIMIZER_ADAM: {
                double b1 = c->beta1, b2 = c->beta2;
                double alpha = lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
                s[0][i] += (gi - s[0][i]) * (1 - b1);
                s[1][i] += (gi * gi - s[1][i]) * (1 - b2);
                double v = s[1][i];
                if (c->amsgrad) {
                    s[2][i] = fmax(s[2][i], v);
                    v = s[2][i];
                }
                w[i] -= s[0][i] * alpha / (sqrt(v) + eps);
                break;
            }
            case OT_OPTIMIZER_SGD:
                if (c->momentum != 0.0f) {
                    double mom = c->momentum;
                    s[0][i] = -gi * lr + s[0][i] * mom;
                    w[i] += c->nesterov ? -gi * lr + s[0][i] * mom : s[0][i];
                } else {
                    w[i] -= lr * gi;
                }
                break;
            case OT_OPTIMIZER_ADAGRAD:
                s[0][i] += gi * gi;
                w[i] -= lr * gi / sqrt(s[0][i] + eps);
                break;
            case OT_OPTIMIZER_RMSPROP: {
                double rho = c->rho;
                s[0][i] = rho * s[0][i] + (1 - rho) * gi * gi;
                double den = s[0][i] + eps;
                if (c->centered) {
                    s[1][i] = rho * s[1][i] + (1 - rho) * gi;
                    den = s[0][i] - s[1][i] * s[1][i] + eps;
                }
                double inc = lr * gi / sqrt(den);
                if (c->momentum != 0.0f) {
                    double *m = s[c->centered ? 2 : 1];
                    m[i] = c->momentum * m[i] + inc;
                    w[i] -= m[i];
                } else {
                    w[i] -= inc;
                }
                break;
            }
            case OT_OPTIMIZER_ADADELTA: {
                double rho = c->rho;
                s[0][i] = rho * s[0][i] + (1 - rho) * gi * gi;
                double delta = -sqrt(s[1][i] + eps) * gi / sqrt(s[0][i] + eps);
                s[1][i] = rho * s[1][i] + (1 - rho) * delta * delta;
                w[i] += lr * delta;
                break;
            }
            }
        }
    }
}

static void against_reference(ot_optimizer_config c)
{
    enum { STEPS = 25 };
    float grads[STEPS * N], w[N], state[OT__MAX_SLOTS * N];
    double wd[N], sd[OT__MAX_SLOTS][N];
    for (size_t i = 0; i < STEPS * N; i++)
        grads[i] = (float)(sin(0.37 * (double)i) * (1.0 + (double)(i % 5)));
    for (size_t i = 0; i < N; i++)
        wd[i] = w[i] = (float)cos((double)i);
    size_t slots = ot__optimizer_slots(&c);
    ot__optimizer_init_state(&c, state, N);
    for (size_t k = 0; k < OT__MAX_SLOTS; k++)
        for (size_t i = 0; i < N; i++)
            sd[k][i] = k < slots ? state[k * N + i] : 0.0;
    for (int t = 1; t <= STEPS; t++)
        step(&c, (uint64_t)t, w, grads + (size_t)(t - 1) * N,
             slots > 0 ? state : NULL, slots > 1 ? state + N : NULL,
             slots > 2 ? state + 2 * N : NULL, N);
    reference(&c, STEPS, wd, sd, grads);
    for (size_t i = 0; i < N; i++)
        cr_assert(fabs(w[i] - wd[i]) <= 1e-6 * (1.0 + fabs(wd[i])),
                  "%s, param %zu after %d steps: %.9g, reference %.9g",
                  ot_optimizer_name(c.kind), i, STEPS, (double)w[i], wd[i]);
}

Test(optimizer, sgd_steps_match_reference)
{
    against_reference(cfg(OT_OPTIMIZER_SGD));
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    against_reference(c);
    c.momentum = 0.8f;
    c.nesterov = 1;
    c.learning_rate = 0.05f;
    against_reference(c);
}

Test(optimizer, adam_steps_match_reference)
{
    against_reference(cfg(OT_OPTIMIZER_ADAM));
    ot_optimizer_config c = cfg(OT_OPTIMIZER_ADAM);
    c.learning_rate = 0.01f;
    c.beta1 = 0.8f;
    c.beta2 = 0.99f;
    c.epsilon = 1e-5f;
    against_reference(c);
    c.amsgrad = 1;
    against_reference(c);
}

Test(optimizer, adagrad_steps_match_reference)
{
    against_reference(cfg(OT_OPTIMIZER_ADAGRAD));
    ot_optimizer_config c = cfg(OT_OPTIMIZER_ADAGRAD);
    c.learning_rate = 0.05f;
    c.initial_accumulator = 0.5f;
    against_reference(c);
}

Test(optimizer, rmsprop_steps_match_reference)
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_RMSPROP);
    against_reference(c);
    c.momentum = 0.7f;
    against_reference(c);
    c.centered = 1;
    against_reference(c);
    c.momentum = 0.0f;
    against_reference(c);
}

Test(optimizer, adadelta_steps_match_reference)
{
    against_reference(cfg(OT_OPTIMIZER_ADADELTA));
    ot_optimizer_config c = cfg(OT_OPTIMIZER_ADADELTA);
    c.learning_rate = 1.0f;
    c.rho = 0.9f;
    against_reference(c);
}

/* The trainer adds the last shard's gradient inside the update's loop
 * (g + g2): the very bits of updating with the sum made beforehand, for
 * every rule and variant, over 25 steps. */
static void second_gradient_is_added(ot_optimizer_config c)
{
    enum { STEPS = 25 };
    float g[N], g2[N], sum[N], w[2][N], state[2][OT__MAX_SLOTS * N];
    size_t slots = ot__optimizer_slots(&c);
    for (int v = 0; v < 2; v++) {
        ot__optimizer_init_state(&c, state[v], N);
        for (size_t i = 0; i < N; i++)
            w[v][i] = (float)cos((double)i);
    }
    for (int t = 1; t <= STEPS; t++) {
        for (size_t i = 0; i < N; i++) {
            g[i] = (float)(sin(0.37 * (double)(t * N + i)) * (1.0 + (double)(i % 5)));
            g2[i] = (float)(cos(0.91 * (double)(t * N + i)) * 0.3);
            sum[i] = g[i] + g2[i];
        }
        ot__opt_step k = ot__optimizer_prepare(&c, (uint64_t)t, 0);
        for (int v = 0; v < 2; v++) {
            float *s[OT__MAX_SLOTS];
            for (size_t j = 0; j < OT__MAX_SLOTS; j++)
                s[j] = j < slots ? state[v] + j * N : NULL;
            if (v == 0)
                ot__optimizer_update(&c, &k, w[v], sum, NULL, s, N);
            else
                ot__optimizer_update(&c, &k, w[v], g, g2, s, N);
        }
    }
    cr_assert_arr_eq(w[0], w[1], sizeof w[0], "%s: weights", ot_optimizer_name(c.kind));
    cr_assert_arr_eq(state[0], state[1], slots * N * sizeof(float), "%s: state",
                     ot_optimizer_name(c.kind));
}

/* check(c) for every rule and variant: each its own loop */
static void every_rule(void (*check)(ot_optimizer_config))
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    check(c);
    c.momentum = 0.9f;
    check(c);
    c.nesterov = 1;
    check(c);
    c = cfg(OT_OPTIMIZER_ADAM);
    check(c);
    c.amsgrad = 1;
    check(c);
    check(cfg(OT_OPTIMIZER_ADAGRAD));
    c = cfg(OT_OPTIMIZER_RMSPROP);
    for (int centered = 0; centered < 2; centered++)
        for (int mom = 0; mom < 2; mom++) {
            c.centered = centered;
            c.momentum = mom ? 0.7f : 0.0f;
            check(c);
        }
    check(cfg(OT_OPTIMIZER_ADADELTA));
}

Test(optimizer, second_gradient_is_added_in_the_loop) { every_rule(second_gradient_is_added); }

/* The update says whether every weight it wrote is finite: yes for finite
 * gradients; no when one gradient is a NaN or one weight an infinity,
 * wherever it lies (in the vector body or the tail), with or without g2. */
static void non_finite_weights_are_said(ot_optimizer_config c)
{
    const char *name = ot_optimizer_name(c.kind);
    size_t slots = ot__optimizer_slots(&c);
    static const size_t where[] = {0, 17, N - 1};
    for (int two = 0; two < 2; two++)
        for (int what = 0; what < 3; what++)
            for (size_t p = 0; p < sizeof where / sizeof *where; p++) {
                float g[N], g2[N], w[N], state[OT__MAX_SLOTS * N];
                ot__optimizer_init_state(&c, state, N);
                for (size_t i = 0; i < N; i++) {
                    w[i] = (float)cos((double)i);
                    g[i] = (float)sin((double)i);
                    g2[i] = 0.25f;
                }
                if (what == 1)
                    g[where[p]] = NAN;
                else if (what == 2)
                    w[where[p]] = -INFINITY;
                float *s[OT__MAX_SLOTS];
                for (size_t j = 0; j < OT__MAX_SLOTS; j++)
                    s[j] = j < slots ? state + j * N : NULL;
                ot__opt_step k = ot__optimizer_prepare(&c, 1, 0);
                int ok = ot__optimizer_update(&c, &k, w, g, two ? g2 : NULL, s, N);
                cr_assert_eq(ok, what == 0, "%s (momentum %g, centered %d), %s at %zu, g2 %d: %d",
                             name, (double)c.momentum, c.centered,
                             what == 0 ? "all finite" : what == 1 ? "a NaN gradient" : "an infinite weight",
                             where[p], two, ok);
                if (what == 0)
                    break;
            }
}

Test(optimizer, non_finite_weights_are_said) { every_rule(non_finite_weights_are_said); }

Test(optimizer, schedules)
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    c.learning_rate = 0.1f;
    c.schedule.kind = OT_SCHEDULE_EXPONENTIAL;
    c.schedule.decay_rate = 0.5;
    c.schedule.decay_steps = 10;
    /* Keras' ExponentialDecay(0.1, 10, 0.5) at step = iterations (0-based) */
    cr_expect_float_eq(ot__optimizer_lr(&c, 1, 0), 0.1f, 1e-7);
    cr_expect_float_eq(ot__optimizer_lr(&c, 11, 0), 0.05f, 1e-7);
    cr_expect_float_eq(ot__optimizer_lr(&c, 6, 0), 0.1f * pow(0.5, 0.5), 1e-7);
    c.schedule.staircase = 1;
    cr_expect_float_eq(ot__optimizer_lr(&c, 6, 0), 0.1f, 1e-7);
    cr_expect_float_eq(ot__optimizer_lr(&c, 21, 0), 0.025f, 1e-7);
    c.schedule.kind = OT_SCHEDULE_STEP;
    c.schedule.decay_epochs = 3;
    cr_expect_float_eq(ot__optimizer_lr(&c, 999, 2), 0.1f, 1e-7);
    cr_expect_float_eq(ot__optimizer_lr(&c, 999, 3), 0.05f, 1e-7);
    cr_expect_float_eq(ot__optimizer_lr(&c, 999, 7), 0.025f, 1e-7);
    /* Adam's bias correction multiplies the scheduled rate */
    ot_optimizer_config a = cfg(OT_OPTIMIZER_ADAM);
    a.schedule = c.schedule;
    ot__opt_step k = ot__optimizer_prepare(&a, 1, 3);
    cr_expect_float_eq(k.lr, 0.0005 * sqrt(1 - 0.999) / (1 - 0.9), 1e-7);
}

Test(optimizer, bad_configs_are_named)
{
    ot_optimizer_config c = cfg(OT_OPTIMIZER_SGD);
    c.learning_rate = -1.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "learning_rate") != NULL);
    c = cfg(OT_OPTIMIZER_SGD);
    c.nesterov = 1;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "nesterov") != NULL);
    c = cfg(OT_OPTIMIZER_ADAM);
    c.beta2 = 1.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "beta2") != NULL);
    c.beta2 = NAN;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    c = cfg(OT_OPTIMIZER_ADAM);
    c.epsilon = 0.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "epsilon") != NULL);
    c = cfg(OT_OPTIMIZER_RMSPROP);
    c.rho = 1.5f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "rho") != NULL);
    c = cfg(OT_OPTIMIZER_ADAGRAD);
    c.initial_accumulator = -1.0f;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    c = cfg(OT_OPTIMIZER_SGD);
    c.schedule.kind = OT_SCHEDULE_EXPONENTIAL;
    c.schedule.decay_steps = 0;
    cr_expect_eq(ot__optimizer_check(&c), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "decay_steps") != NULL);
    cr_expect_eq(ot__optimizer_check(NULL), OT_INVALID_ARGUMENT);
    ot_optimizer_kind k;
    cr_expect_eq(ot_optimizer_parse("Adam", &k), OT_OK);
    cr_expect_eq(k, OT_OPTIMIZER_ADAM);
    cr_expect_eq(ot_optimizer_parse("RMSprop", &k), OT_OK);
    cr_expect_eq(k, OT_OPTIMIZER_RMSPROP);
    cr_expect_eq(ot_optimizer_parse("adamw", &k), OT_INVALID_ARGUMENT);
    cr_expect(strstr(ot_last_error(), "adamw") != NULL);
}
