/*
 * optimizer.c - SGD (momentum, Nesterov), Adam (amsgrad), Adagrad, RMSprop
 * (momentum, centered) and Adadelta, written as Keras 3 writes them
 * (the files of keras/src/optimizers/), element-wise over a slice of the arena so
 * that every thread updates its own slice; and the learning-rate schedules.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "optimizer.h"

static const char *const names[] = {"sgd", "adam", "adagrad", "rmsprop", "adadelta"};

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
    c.amsgrad = 0;
    c.rho = kind == OT_OPTIMIZER_ADADELTA ? 0.95f : 0.9f;
    c.centered = 0;
    c.initial_accumulator = 0.1f;
    c.schedule.kind = OT_SCHEDULE_CONSTANT;
    c.schedule.decay_rate = 0.96;
    c.schedule.decay_steps = 10000;
    c.schedule.decay_epochs = 10;
    c.schedule.staircase = 0;
    return c;
}

const char *ot_optimizer_name(ot_optimizer_kind kind)
{
    return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : NULL;
}

ot_status ot_optimizer_parse(const char *name, ot_optimizer_kind *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "optimizer name: NULL argument");
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        if (strcasecmp(name, names[k]) == 0) {
            *out = (ot_optimizer_kind)k;
            return OT_OK;
        }
    }
    return ot__fail(OT_INVALID_ARGUMENT,
                    "unknown optimizer '%s' (expected sgd, adam, adagrad, "
                    "rmsprop or adadelta)", name);
}

static int in_unit(float v) { return v >= 0.0f && v < 1.0f; }

ot_status ot__optimizer_check(const ot_optimizer_config *c)
{
    if (c == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "optimizer config is NULL");
    const char *name = ot_optimizer_name(c->kind);
    if (name == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "optimizer kind %d is unknown",
                        (int)c->kind);
    if (!(isfinite(c->learning_rate) && c->learning_rate > 0.0f))
        return ot__fail(OT_INVALID_ARGUMENT,
                        "%s: learning_rate %g must be a finite number > 0",
                        name, (double)c->learning_rate);
    if (c->kind != OT_OPTIMIZER_SGD &&
        !(isfinite(c->epsilon) && c->epsilon > 0.0f))
        return ot__fail(OT_INVALID_ARGUMENT,
                        "%s: epsilon %g must be a finite number > 0", name,
                        (double)c->epsilon);
    switch (c->kind) {
    case OT_OPTIMIZER_SGD:
    case OT_OPTIMIZER_RMSPROP:
        if (!in_unit(c->momentum))
            return ot__fail(OT_INVALID_ARGUMENT, "%s: momentum %g must be in [0, 1)",
                            name, (double)c->momentum);
        if (c->kind == OT_OPTIMIZER_SGD && c->nesterov && c->momentum == 0.0f)
            return ot__fail(OT_INVALID_ARGUMENT, "sgd: nesterov needs a momentum > 0");
        if (c->kind == OT_OPTIMIZER_RMSPROP && !in_unit(c->rho))
            return ot__fail(OT_INVALID_ARGUMENT, "rmsprop: rho %g must be in [0, 1)",
                            (double)c->rho);
        break;
    case OT_OPTIMIZER_ADAM:
        if (!in_unit(c->beta1))
            return ot__fail(OT_INVALID_ARGUMENT, "adam: beta1 %g must be in [0, 1)",
                            (double)c->beta1);
        if (!in_unit(c->beta2))
            return ot__fail(OT_INVALID_ARGUMENT, "adam: beta2 %g must be in [0, 1)",
                            (double)c->beta2);
        break;
    case OT_OPTIMIZER_ADAGRAD:
        if (!(isfinite(c->initial_accumulator) && c->initial_accumulator >= 0.0f))
            return ot__fail(OT_INVALID_ARGUMENT,
                            "adagrad: initial_accumulator %g must be >= 0",
                            (double)c->initial_accumulator);
        break;
    case OT_OPTIMIZER_ADADELTA:
        if (!in_unit(c->rho))
            return ot__fail(OT_INVALID_ARGUMENT, "adadelta: rho %g must be in [0, 1)",
                            (double)c->rho);
        break;
    }
    const ot_schedule *s = &c->schedule;
    switch (s->kind) {
    case OT_SCHEDULE_CONSTANT:
        break;
    case OT_SCHEDULE_EXPONENTIAL:
    case OT_SCHEDULE_STEP:
        if (!(isfinite(s->decay_rate) && s->decay_rate > 0.0))
            return ot__fail(OT_INVALID_ARGUMENT,
                            "schedule: decay_rate %g must be a finite number > 0",
                            s->decay_rate);
        if (s->kind == OT_SCHEDULE_EXPONENTIAL && s->decay_steps == 0)
            return ot__fail(OT_INVALID_ARGUMENT, "schedule: decay_steps must be >= 1");
        if (s->kind == OT_SCHEDULE_STEP && s->decay_epochs == 0)
            return ot__fail(OT_INVALID_ARGUMENT, "schedule: decay_epochs must be >= 1");
        break;
    default:
        return ot__fail(OT_INVALID_ARGUMENT, "schedule kind %d is unknown",
                        (int)s->kind);
    }
    return OT_OK;
}

size_t ot__optimizer_slots(const ot_optimizer_config *c)
{
    switch (c->kind) {
    case OT_OPTIMIZER_SGD: return c->momentum != 0.0f ? 1 : 0;
    case OT_OPTIMIZER_ADAM: return c->amsgrad ? 3 : 2;
    case OT_OPTIMIZER_ADAGRAD: return 1;
    case OT_OPTIMIZER_RMSPROP:
        return 1 + (c->centered != 0) + (c->momentum != 0.0f);
    case OT_OPTIMIZER_ADADELTA: return 2;
    }
    return 0;
}

void ot__optimizer_init_state(const ot_optimizer_config *c, float *state,
                              size_t arena_len)
{
    size_t n = ot__optimizer_slots(c) * arena_len;
    float v = c->kind == OT_OPTIMIZER_ADAGRAD ? c->initial_accumulator : 0.0f;
    for (size_t i = 0; i < n; i++)
        state[i] = v;
}

void ot__optimizer_state_slots(const ot__optimizer *o, size_t arena_len,
                               float *slot[OT__MAX_SLOTS])
{
    for (size_t k = 0; k < OT__MAX_SLOTS; k++)
        slot[k] = k < o->slots ? o->state + k * arena_len : NULL;
}

double ot__optimizer_lr(const ot_optimizer_config *c, uint64_t t, size_t epoch)
{
    const ot_schedule *s = &c->schedule;
    double lr = c->learning_rate;
    if (s->kind == OT_SCHEDULE_EXPONENTIAL) {
        /* Keras' ExponentialDecay at step = iterations before this step */
        double p = (double)(t - 1) / (double)s->decay_steps;
        if (s->staircase)
            p = floor(p);
        lr *= pow(s->decay_rate, p);
    } else if (s->kind == OT_SCHEDULE_STEP) {
        lr *= pow(s->decay_rate, floor((double)epoch / (double)s->decay_epochs));
    }
    return lr;
}

ot__opt_step ot__optimizer_prepare(const ot_optimizer_config *c, uint64_t t,
                                   size_t epoch)
{
    double lr = ot__optimizer_lr(c, t, epoch);
    if (c->kind == OT_OPTIMIZER_ADAM) {
        /* alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t), in double */
        double b1t = pow((double)c->beta1, (double)t);
        double b2t = pow((double)c->beta2, (double)t);
        lr = lr * sqrt(1.0 - b2t) / (1.0 - b1t);
    }
    ot__opt_step k = {(float)lr};
    return k;
}

/* 1 when x is an infinity or a NaN, from its bits: an integer that the
 * element loops OR together as they write each weight, which vectorises in
 * every loop and is nearly free beside Adam's divider, where a separate
 * pass over each chunk after the update would cost a tenth of Adam. */
static inline __attribute__((always_inline)) uint32_t nonfinite(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return (u & 0x7f800000u) == 0x7f800000u;
}

/* The gradient at i: g[i], or g[i] + g2[i] when `two` (a constant at each
 * call, so that every variant is its own branch-free loop). The trainer
 * passes the last shard's gradient as g2 rather than summing it in a pass
 * of its own (see shard_step in trainer.c). */
static inline __attribute__((always_inline)) float
grad_at(const float *restrict g, const float *restrict g2, size_t i, const int two)
{
    return two ? g[i] + g2[i] : g[i];
}

static inline __attribute__((always_inline)) uint32_t sgd(const ot_optimizer_config *c, float lr, float *restrict w,
                const float *restrict g, const float *restrict g2, float *restrict m, size_t n, const int two)
{
    uint32_t bad = 0;
    if (m == NULL) {
        /* w -= lr * g */
        for (size_t i = 0; i < n; i++) {
            float wi = w[i] - lr * grad_at(g, g2, i, two);
            w[i] = wi;
            bad |= nonfinite(wi);
        }
        return bad;
    }
    /* m = -g * lr + m * momentum; w += m (Nesterov: w += -g * lr + m * momentum) */
    const float mom = c->momentum;
    if (c->nesterov) {
        for (size_t i = 0; i < n; i++) {
            float gi = grad_at(g, g2, i, two);
            float v = -gi * lr + m[i] * mom;
            m[i] = v;
            float wi = w[i] + (-gi * lr + v * mom);
            w[i] = wi;
            bad |= nonfinite(wi);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float v = -grad_at(g, g2, i, two) * lr + m[i] * mom;
            m[i] = v;
            float wi = w[i] + v;
            w[i] = wi;
            bad |= nonfinite(wi);
        }
    }
    return bad;
}

/* One Adam element loop; `ams` is a constant at each call, so each variant
 * compiles to its own branch-free (vectorised) loop. */
static inline __attribute__((always_inline)) uint32_t
adam_loop(float alpha, float one_b1, float one_b2, float eps, float *restrict w,
          const float *restrict g, const float *restrict g2, float *restrict m, float *restrict v,
          float *restrict vhat, size_t n, const int ams, const int two)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = grad_at(g, g2, i, two);
        float mi = m[i] + (gi - m[i]) * one_b1;
        float vi = v[i] + (gi * gi - v[i]) * one_b2;
        m[i] = mi;
        v[i] = vi;
        if (ams) {
            /* max(vhat, v) as a comparison, which GCC vectorises (fmaxf,
             * for its rule on NaN, it does not: training was 3x slower).
             * The same values as fmaxf(vhat, v) here: a NaN v keeps vhat
             * either way, and vhat never holds a NaN (it takes only v that
             * compared greater). */
            vi = vi > vhat[i] ? vi : vhat[i];
            vhat[i] = vi;
        }
        float wi = w[i] - (mi * alpha) / (sqrtf(vi) + eps);
        w[i] = wi;
        bad |= nonfinite(wi);
    }
    return bad;
}

static inline __attribute__((always_inline)) uint32_t adam(const ot_optimizer_config *c, float alpha, float *restrict w,
                 const float *restrict g, const float *restrict g2, float *restrict m,
                 float *restrict v, float *restrict vhat, size_t n, const int two)
{
    /* m += (g - m) * (1 - beta1); v += (g^2 - v) * (1 - beta2);
     * amsgrad: vhat = max(vhat, v), used in place of v;
     * w -= m * alpha / (sqrt(v) + epsilon) */
    const float one_b1 = 1.0f - c->beta1, one_b2 = 1.0f - c->beta2, eps = c->epsilon;
    if (vhat != NULL)
        return adam_loop(alpha, one_b1, one_b2, eps, w, g, g2, m, v, vhat, n, 1, two);
    return adam_loop(alpha, one_b1, one_b2, eps, w, g, g2, m, v, NULL, n, 0, two);
}

static inline __attribute__((always_inline)) uint32_t adagrad(const ot_optimizer_config *c, float lr, float *restrict w,
                    const float *restrict g, const float *restrict g2, float *restrict acc, size_t n, const int two)
{
    /* acc += g^2; w -= lr * g / sqrt(acc + epsilon) */
    const float eps = c->epsilon;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = grad_at(g, g2, i, two);
        float a = acc[i] + gi * gi;
        acc[i] = a;
        float wi = w[i] - lr * gi / sqrtf(a + eps);
        w[i] = wi;
        bad |= nonfinite(wi);
    }
    return bad;
}

static inline __attribute__((always_inline)) uint32_t
rmsprop_loop(const ot_optimizer_config *c, float lr, float *restrict w,
             const float *restrict g, const float *restrict g2, float *restrict vel, float *restrict avg,
             float *restrict mom, size_t n, const int centered, const int momentum,
             const int two)
{
    const float rho = c->rho, one_rho = 1.0f - c->rho, eps = c->epsilon, mu = c->momentum;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = grad_at(g, g2, i, two);
        float v = rho * vel[i] + one_rho * gi * gi;
        vel[i] = v;
        float den = v + eps;
        if (centered) {
            float a = rho * avg[i] + one_rho * gi;
            avg[i] = a;
            den = v - a * a + eps;
        }
        float inc = lr * gi / sqrtf(den);
        if (momentum) {
            float mm = mu * mom[i] + inc;
            mom[i] = mm;
            inc = mm;
        }
        float wi = w[i] - inc;
        w[i] = wi;
        bad |= nonfinite(wi);
    }
    return bad;
}

static inline __attribute__((always_inline)) uint32_t rmsprop(const ot_optimizer_config *c, float lr, float *restrict w,
                    const float *restrict g, const float *restrict g2, float *restrict vel,
                    float *restrict avg, float *restrict mom, size_t n, const int two)
{
    /* vel = rho vel + (1 - rho) g^2;
     * centered: avg = rho avg + (1 - rho) g, denominator = vel - avg^2 + eps,
     * else denominator = vel + eps;
     * increment = lr * g / sqrt(denominator);
     * momentum: mom = momentum * mom + increment, w -= mom; else w -= increment
     * (each combination its own branch-free loop) */
    if (avg && mom)
        return rmsprop_loop(c, lr, w, g, g2, vel, avg, mom, n, 1, 1, two);
    if (avg)
        return rmsprop_loop(c, lr, w, g, g2, vel, avg, NULL, n, 1, 0, two);
    if (mom)
        return rmsprop_loop(c, lr, w, g, g2, vel, NULL, mom, n, 0, 1, two);
    return rmsprop_loop(c, lr, w, g, g2, vel, NULL, NULL, n, 0, 0, two);
}

static inline __attribute__((always_inline)) uint32_t adadelta(const ot_optimizer_config *c, float lr, float *restrict w,
                     const float *restrict g, const float *restrict g2, float *restrict acc_g,
                     float *restrict acc_d, size_t n, const int two)
{
    /* acc_g = rho acc_g + (1 - rho) g^2;
     * delta = -sqrt(acc_d + eps) * g / sqrt(acc_g + eps);
     * acc_d = rho acc_d + (1 - rho) delta^2; w += lr * delta */
    const float rho = c->rho, one_rho = 1.0f - c->rho, eps = c->epsilon;
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = grad_at(g, g2, i, two);
        float ag = rho * acc_g[i] + one_rho * gi * gi;
        acc_g[i] = ag;
        float delta = -sqrtf(acc_d[i] + eps) * gi / sqrtf(ag + eps);
        acc_d[i] = rho * acc_d[i] + one_rho * delta * delta;
        float wi = w[i] + lr * delta;
        w[i] = wi;
        bad |= nonfinite(wi);
    }
    return bad;
}

/* nonzero when a weight it wrote is not finite */
static inline __attribute__((always_inline)) uint32_t
update(const ot_optimizer_config *c, const ot__opt_step *k, float *restrict w,
       const float *restrict g, const float *restrict g2,
       float *const s[OT__MAX_SLOTS], size_t n, const int two)
{
    switch (c->kind) {
    case OT_OPTIMIZER_SGD:
        return sgd(c, k->lr, w, g, g2, s[0], n, two);
    case OT_OPTIMIZER_ADAM:
        return adam(c, k->lr, w, g, g2, s[0], s[1], c->amsgrad ? s[2] : NULL, n, two);
    case OT_OPTIMIZER_ADAGRAD:
        return adagrad(c, k->lr, w, g, g2, s[0], n, two);
    case OT_OPTIMIZER_RMSPROP: {
        /* slots: velocity, then average gradient (centered), then momentum */
        float *avg = c->centered ? s[1] : NULL;
        float *mom = c->momentum != 0.0f ? s[c->centered ? 2 : 1] : NULL;
        return rmsprop(c, k->lr, w, g, g2, s[0], avg, mom, n, two);
    }
    case OT_OPTIMIZER_ADADELTA:
        return adadelta(c, k->lr, w, g, g2, s[0], s[1], n, two);
    }
    return 0;
}

OT_MULTIVERSION
int ot__optimizer_update(const ot_optimizer_config *c, const ot__opt_step *k,
                         float *restrict w, const float *restrict g,
                         const float *restrict g2, float *const s[OT__MAX_SLOTS],
                         size_t n)
{
    uint32_t bad = g2 != NULL ? update(c, k, w, g, g2, s, n, 1)
                              : update(c, k, w, g, NULL, s, n, 0);
    return bad == 0;
}
