/*
 * optimizer.c - SGD (momentum, Nesterov) and Adam, written as Keras 3
 * writes them (keras/src/optimizers/sgd.py, adam.py), element-wise over a
 * slice of the arena so that every thread updates its own slice.
 */
#include <math.h>
#include <strings.h>

#include "optimizer.h"

ot_optimizer_config ot_optimizer_config_default(ot_optimizer_kind kind)
{
    ot_optimizer_config c = {0};
    c.kind = kind;
    c.learning_rate = kind == OT_OPTIMIZER_SGD ? 0.01f : 0.001f;
    c.momentum = 0.0f;
    c.nesterov = 0;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.epsilon = 1e-7f;
    return c;
}

const char *ot_optimizer_name(ot_optimizer_kind kind)
{
    switch (kind) {
    case OT_OPTIMIZER_SGD: return "sgd";
    case OT_OPTIMIZER_ADAM: return "adam";
    }
    return NULL;
}

ot_status ot_optimizer_parse(const char *name, ot_optimizer_kind *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "optimizer name: NULL argument");
    for (int k = OT_OPTIMIZER_SGD; k <= OT_OPTIMIZER_ADAM; k++) {
        if (strcasecmp(name, ot_optimizer_name((ot_optimizer_kind)k)) == 0) {
            *out = (ot_optimizer_kind)k;
            return OT_OK;
        }
    }
    return ot__fail(OT_INVALID_ARGUMENT,
                    "unknown optimizer '%s' (expected sgd or adam)", name);
}

ot_status ot__optimizer_check(const ot_optimizer_config *c)
{
    if (c == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "optimizer config is NULL");
    if (c->kind != OT_OPTIMIZER_SGD && c->kind != OT_OPTIMIZER_ADAM)
        return ot__fail(OT_INVALID_ARGUMENT, "optimizer kind %d is unknown",
                        (int)c->kind);
    if (!(isfinite(c->learning_rate) && c->learning_rate > 0.0f))
        return ot__fail(OT_INVALID_ARGUMENT,
                        "learning_rate %g must be a finite number > 0",
                        (double)c->learning_rate);
    if (c->kind == OT_OPTIMIZER_SGD) {
        if (!(c->momentum >= 0.0f && c->momentum < 1.0f))
            return ot__fail(OT_INVALID_ARGUMENT,
                            "momentum %g must be in [0, 1)",
                            (double)c->momentum);
        if (c->nesterov && c->momentum == 0.0f)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "nesterov needs a momentum > 0");
    } else {
        if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f))
            return ot__fail(OT_INVALID_ARGUMENT, "beta1 %g must be in [0, 1)",
                            (double)c->beta1);
        if (!(c->beta2 >= 0.0f && c->beta2 < 1.0f))
            return ot__fail(OT_INVALID_ARGUMENT, "beta2 %g must be in [0, 1)",
                            (double)c->beta2);
        if (!(isfinite(c->epsilon) && c->epsilon > 0.0f))
            return ot__fail(OT_INVALID_ARGUMENT,
                            "epsilon %g must be a finite number > 0",
                            (double)c->epsilon);
    }
    return OT_OK;
}

size_t ot__optimizer_slots(const ot_optimizer_config *c)
{
    if (c->kind == OT_OPTIMIZER_ADAM)
        return 2;
    return c->momentum != 0.0f ? 1 : 0;
}

ot__opt_step ot__optimizer_prepare(const ot_optimizer_config *c, uint64_t t)
{
    ot__opt_step k = {c->learning_rate, 0.0f, 0.0f, 0.0f};
    if (c->kind == OT_OPTIMIZER_ADAM) {
        /* alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t), in double. */
        double b1t = pow((double)c->beta1, (double)t);
        double b2t = pow((double)c->beta2, (double)t);
        k.lr = (float)((double)c->learning_rate * sqrt(1.0 - b2t) / (1.0 - b1t));
        k.a = 1.0f - c->beta1;
        k.b = 1.0f - c->beta2;
        k.c = c->epsilon;
    } else {
        k.a = c->momentum;
    }
    return k;
}

void ot__optimizer_update(const ot_optimizer_config *c, const ot__opt_step *k,
                          float *restrict w, const float *restrict g,
                          float *restrict s0, float *restrict s1, size_t n)
{
    const float lr = k->lr;
    if (c->kind == OT_OPTIMIZER_ADAM) {
        /* m += (g - m) * (1 - beta1); v += (g^2 - v) * (1 - beta2);
         * w -= m * alpha / (sqrt(v) + epsilon) */
        const float one_b1 = k->a, one_b2 = k->b, eps = k->c;
        for (size_t i = 0; i < n; i++) {
            float gi = g[i];
            float m = s0[i] + (gi - s0[i]) * one_b1;
            float v = s1[i] + (gi * gi - s1[i]) * one_b2;
            s0[i] = m;
            s1[i] = v;
            w[i] -= (m * lr) / (sqrtf(v) + eps);
        }
    } else if (s0 == NULL) {
        /* w -= lr * g */
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * g[i];
    } else {
        /* m = -g * lr + m * momentum;
         * w += m (or, Nesterov: w += -g * lr + m * momentum) */
        const float mom = k->a;
        if (c->nesterov) {
            for (size_t i = 0; i < n; i++) {
                float m = -g[i] * lr + s0[i] * mom;
                s0[i] = m;
                w[i] += -g[i] * lr + m * mom;
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                float m = -g[i] * lr + s0[i] * mom;
                s0[i] = m;
                w[i] += m;
            }
        }
    }
}
