/*
 * model.c - layers, shapes, the parameter arena, initialisation, compile
 * and the Keras-style summary. No math of training here (see shard.c,
 * trainer.c).
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "model.h"
#include "rng.h"

/* Limits that no real MLP reaches; they keep sizes far from overflow. */
#define OT_MAX_UNITS ((size_t)1 << 24)
#define OT_MAX_PARAMS ((size_t)1 << 31)

static const char *const activation_names[] = {
    "linear", "relu", "sigmoid", "softmax", "tanh",
    "selu", "elu", "softplus", "gelu", "leaky_relu"};

static const char *const initializer_names[] = {
    "auto", "glorot_uniform", "glorot_normal", "he_uniform",
    "he_normal", "lecun_uniform", "lecun_normal", "zeros"};

static const char *const loss_names[] = {
    "sparse_categorical_crossentropy", "categorical_crossentropy",
    "binary_crossentropy", "mse", "mae", "huber"};

#define COUNT(a) (sizeof(a) / sizeof *(a))

/* Index of `name` in `names`, or -1. */
static int lookup(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

/* Parses `name` (any case) as one of names[first..n) into *out; the error
 * lists them. */
static ot_status parse_name(const char *what, const char *name,
                            const char *const *names, size_t n, size_t first,
                            int *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s name: NULL argument", what);
    int i = lookup(name, names, n);
    if (i >= (int)first) {
        *out = i;
        return OT_OK;
    }
    char list[256];
    size_t len = 0;
    for (size_t k = first; k < n && len < sizeof list; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                k > first ? ", " : "", names[k]);
    return ot__fail(OT_INVALID_ARGUMENT, "unknown %s '%s' (expected %s)", what,
                    name, list);
}

const char *ot_activation_name(ot_activation a)
{
    return (unsigned)a < COUNT(activation_names) ? activation_names[a] : NULL;
}

ot_status ot_activation_parse(const char *name, ot_activation *out)
{
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s name: NULL output", "activation");
    int i = 0;
    if (name != NULL && strcasecmp(name, "none") == 0)
        name = "linear";
    ot_status st = parse_name("activation", name, activation_names,
                              COUNT(activation_names), 0, &i);
    if (st == OT_OK)
        *out = (ot_activation)i;
    return st;
}

const char *ot_initializer_name(ot_initializer i)
{
    return (unsigned)i < COUNT(initializer_names) ? initializer_names[i] : NULL;
}

ot_status ot_initializer_parse(const char *name, ot_initializer *out)
{
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s name: NULL output", "initializer");
    int i = 0; /* "auto" is the default, not a name to give */
    ot_status st = parse_name("initializer", name, initializer_names,
                              COUNT(initializer_names), 1, &i);
    if (st == OT_OK)
        *out = (ot_initializer)i;
    return st;
}

const char *ot_loss_name(ot_loss loss)
{
    return (unsigned)loss < COUNT(loss_names) ? loss_names[loss] : NULL;
}

ot_status ot_loss_parse(const char *name, ot_loss *out)
{
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s name: NULL output", "loss");
    int i = 0;
    if (name != NULL && strcasecmp(name, "mean_squared_error") == 0)
        name = "mse";
    if (name != NULL && strcasecmp(name, "mean_absolute_error") == 0)
        name = "mae";
    ot_status st = parse_name("loss", name, loss_names, COUNT(loss_names), 0, &i);
    if (st == OT_OK)
        *out = (ot_loss)i;
    return st;
}

const char *ot_loss_metric_name(ot_loss loss)
{
    return loss <= OT_LOSS_BINARY_CROSSENTROPY ? "accuracy" : "mae";
}

int ot__loss_fuses(ot_loss loss, ot_activation last)
{
    return ((loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
             loss == OT_LOSS_CATEGORICAL_CROSSENTROPY) &&
            last == OT_ACTIVATION_SOFTMAX) ||
           (loss == OT_LOSS_BINARY_CROSSENTROPY && last == OT_ACTIVATION_SIGMOID);
}

ot_status ot__check_layers(size_t input_dim, const ot_layer *layers, size_t n_layers)
{
    if (input_dim == 0 || input_dim > OT_MAX_UNITS)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "input_dim %zu must be in 1..%zu", input_dim,
                        OT_MAX_UNITS);
    if (layers == NULL || n_layers == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "a model needs at least one layer");
    if (n_layers > OT_MAX_LAYERS)
        return ot__fail(OT_INVALID_ARGUMENT, "%zu layers: at most %d", n_layers,
                        OT_MAX_LAYERS);
    size_t in = input_dim, params = 0, dense = 0;
    for (size_t i = 0; i < n_layers; i++) {
        const ot_layer *l = &layers[i];
        if (l->kind == OT_LAYER_FLATTEN) {
            if (i != 0)
                return ot__fail(OT_INVALID_ARGUMENT,
                                "layer %zu: Flatten must be the first layer", i + 1);
            continue;
        }
        if (l->kind != OT_LAYER_DENSE)
            return ot__fail(OT_INVALID_ARGUMENT, "layer %zu: kind %d is unknown",
                            i + 1, (int)l->kind);
        dense++;
        if (l->units == 0 || l->units > OT_MAX_UNITS)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "layer %zu: units %zu must be in 1..%zu", i + 1,
                            l->units, OT_MAX_UNITS);
        if (ot_activation_name(l->activation) == NULL)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "layer %zu: activation %d is unknown", i + 1,
                            (int)l->activation);
        if (ot_initializer_name(l->initializer) == NULL)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "layer %zu: initializer %d is unknown", i + 1,
                            (int)l->initializer);
        /* in, units <= 2^24, so in * units + units cannot overflow. */
        params += in * l->units + l->units;
        if (params > OT_MAX_PARAMS)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "model has more than %zu parameters",
                            OT_MAX_PARAMS);
        in = l->units;
    }
    if (dense == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "a model needs at least one Dense layer");
    return OT_OK;
}

ot_status ot__model_alloc(ot_model **out, size_t input_dim,
                          const ot_layer *layers, size_t n_layers)
{
    ot_status status;
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "model: NULL output pointer");
    *out = NULL;
    if ((status = ot__check_layers(input_dim, layers, n_layers)) != OT_OK)
        return status;

    ot_model *m = ot__calloc(1, sizeof *m, "model");
    if (m == NULL)
        return OT_OUT_OF_MEMORY;
    m->input_dim = input_dim;
    m->flatten = layers[0].kind == OT_LAYER_FLATTEN;
    m->n_layers = n_layers - (size_t)m->flatten;
    layers += m->flatten;
    m->layers = ot__calloc(m->n_layers, sizeof *m->layers, "model layers");
    if (m->layers == NULL)
        goto oom;
    size_t in = input_dim, off = 0;
    for (size_t i = 0; i < m->n_layers; i++) {
        ot__layer *l = &m->layers[i];
        l->in = in;
        l->out = layers[i].units;
        l->act = layers[i].activation;
        l->init = layers[i].initializer;
        if (l->init == OT_INIT_AUTO)
            l->init = l->act == OT_ACTIVATION_SELU ? OT_INIT_LECUN_NORMAL
                                                   : OT_INIT_GLOROT_UNIFORM;
        l->w_off = off;
        off += ot__round_floats(l->in * l->out);
        l->b_off = off;
        off += ot__round_floats(l->out);
        m->n_params += l->in * l->out + l->out;
        in = l->out;
    }
    m->arena_len = off;
    /* refused before the allocation, which would succeed and be touched */
    ot_status st = off > SIZE_MAX / sizeof(float)
                       ? ot__fail(OT_OUT_OF_MEMORY, "model: %zu parameters", m->n_params)
                       : ot__memory_check(off * sizeof(float), "model: its weights",
                                          "4 bytes a parameter");
    if (st != OT_OK) {
        ot_model_destroy(m);
        return st;
    }
    m->params = ot__calloc(m->arena_len, sizeof(float), "parameter arena");
    if (m->params == NULL)
        goto oom;
    *out = m;
    return OT_OK;
oom:
    ot_model_destroy(m);
    return OT_OUT_OF_MEMORY;
}

/* Standard normal truncated to [-2, 2], as Keras' TruncatedNormal. */
static double truncated_normal(ot__rng *rng)
{
    for (;;) {
        /* Box-Muller, one value per pair of uniforms */
        double u1 = ((double)(ot__rng_next(rng) >> 11) + 1.0) * 0x1.0p-53;
        double u2 = (double)(ot__rng_next(rng) >> 11) * 0x1.0p-53;
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        if (fabs(z) <= 2.0)
            return z;
    }
}

/* Keras' VarianceScaling: uniform limit sqrt(3 s / n), or a normal truncated
 * at 2 standard deviations with stddev sqrt(s / n) / 0.8796 (the stddev of
 * the truncated unit normal), n = fan_in or (fan_in + fan_out) / 2. */
static void init_kernel(const ot__layer *l, float *w, ot__rng *rng)
{
    const size_t n = l->in * l->out;
    double fan_in = (double)l->in, fan_avg = (double)(l->in + l->out) / 2.0;
    double scale = 1.0, fan = fan_in;
    int normal = 0;
    switch (l->init) {
    case OT_INIT_GLOROT_UNIFORM: fan = fan_avg; break;
    case OT_INIT_GLOROT_NORMAL: fan = fan_avg; normal = 1; break;
    case OT_INIT_HE_UNIFORM: scale = 2.0; break;
    case OT_INIT_HE_NORMAL: scale = 2.0; normal = 1; break;
    case OT_INIT_LECUN_UNIFORM: break;
    case OT_INIT_LECUN_NORMAL: normal = 1; break;
    case OT_INIT_ZEROS:
    case OT_INIT_AUTO:
        memset(w, 0, n * sizeof(float));
        return;
    }
    if (normal) {
        double stddev = sqrt(scale / fan) / 0.87962566103423978;
        for (size_t j = 0; j < n; j++)
            w[j] = (float)(stddev * truncated_normal(rng));
    } else {
        float limit = (float)sqrt(3.0 * scale / fan);
        for (size_t j = 0; j < n; j++)
            w[j] = (2.0f * ot__rng_uniformf(rng) - 1.0f) * limit;
    }
}

ot_status ot_model_create(ot_model **out, size_t input_dim,
                          const ot_layer *layers, size_t n_layers,
                          uint64_t seed)
{
    ot_status status = ot__model_alloc(out, input_dim, layers, n_layers);
    if (status != OT_OK)
        return status;
    ot_model *m = *out;
    /* Kernels drawn layer by layer in oi order; biases zero. */
    ot__rng rng;
    ot__rng_seed(&rng, seed);
    for (size_t i = 0; i < m->n_layers; i++)
        init_kernel(&m->layers[i], m->params + m->layers[i].w_off, &rng);
    return OT_OK;
}

void ot_model_destroy(ot_model *m)
{
    if (m == NULL)
        return;
    ot__free(m->opt.state);
    ot__free(m->shift);
    ot__free(m->mult);
    ot__free(m->params);
    ot__free(m->layers);
    ot__free(m);
}

size_t ot_model_input_dim(const ot_model *m) { return m ? m->input_dim : 0; }

size_t ot_model_output_dim(const ot_model *m)
{
    return m ? m->layers[m->n_layers - 1].out : 0;
}

size_t ot_model_layer_count(const ot_model *m)
{
    return m ? m->n_layers + (size_t)m->flatten : 0;
}

size_t ot_model_epochs_trained(const ot_model *m) { return m ? m->epochs : 0; }

size_t ot_model_steps_in_epoch(const ot_model *m) { return m ? m->steps_in_epoch : 0; }

ot_status ot_model_cancel(ot_model *m)
{
    if (m == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "cancel: NULL model");
    atomic_store(&m->cancel, 1);
    return OT_OK;
}

ot_status ot_model_set_learning_rate(ot_model *m, float lr)
{
    if (m == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "set learning rate: NULL model");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "set learning rate: the model is not compiled");
    if (!(isfinite(lr) && lr > 0.0f))
        return ot__fail(OT_INVALID_ARGUMENT, "set learning rate: %g must be finite and "
                        "> 0", (double)lr);
    m->opt.cfg.learning_rate = lr;
    return OT_OK;
}

ot_status ot_model_loss(const ot_model *m, ot_loss *out)
{
    if (m == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "model loss: NULL argument");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "the model is not compiled");
    *out = m->loss;
    return OT_OK;
}

ot_status ot_model_optimizer(const ot_model *m, ot_optimizer_config *out)
{
    if (m == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "model optimizer: NULL argument");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "the model is not compiled");
    *out = m->opt.cfg;
    return OT_OK;
}

ot_scaling ot_model_scaling(const ot_model *m)
{
    return m ? m->scaling : OT_SCALING_NONE;
}

ot_status ot__model_set_scaling(ot_model *m, ot_scaling kind, const float *shift,
                                const float *mult)
{
    float *s = NULL, *k = NULL;
    if (kind != OT_SCALING_NONE) {
        s = ot__alloc(m->input_dim, sizeof(float), "feature scaling");
        k = ot__alloc(m->input_dim, sizeof(float), "feature scaling");
        if (s == NULL || k == NULL) {
            ot__free(s);
            ot__free(k);
            return OT_OUT_OF_MEMORY;
        }
        memcpy(s, shift, m->input_dim * sizeof(float));
        memcpy(k, mult, m->input_dim * sizeof(float));
    }
    ot__free(m->shift);
    ot__free(m->mult);
    m->scaling = kind;
    m->shift = s;
    m->mult = k;
    return OT_OK;
}

size_t ot_model_param_count(const ot_model *m) { return m ? m->n_params : 0; }

int ot__model_runs_activation(const ot_model *m, size_t l)
{
    return m->layers[l].act != OT_ACTIVATION_LINEAR &&
           !(m->compiled && m->fused && l + 1 == m->n_layers);
}

size_t ot__model_max_units(const ot_model *m)
{
    size_t w = 0;
    for (size_t i = 0; i < m->n_layers; i++)
        if (m->layers[i].out > w)
            w = m->layers[i].out;
    return w;
}

ot_status ot_model_layer(const ot_model *m, size_t i, ot_layer *out)
{
    if (m == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "model layer: NULL argument");
    size_t count = m->n_layers + (size_t)m->flatten;
    if (i >= count)
        return ot__fail(OT_INVALID_ARGUMENT, "layer index %zu: the model has %zu",
                        i, count);
    memset(out, 0, sizeof *out);
    if (m->flatten && i == 0) {
        out->kind = OT_LAYER_FLATTEN;
        out->units = m->input_dim;
        return OT_OK;
    }
    const ot__layer *l = &m->layers[i - (size_t)m->flatten];
    out->kind = OT_LAYER_DENSE;
    out->units = l->out;
    out->activation = l->act;
    out->initializer = l->init;
    return OT_OK;
}

void ot__arena_pack(const ot_model *m, const float *arena, float *out)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        const ot__layer *l = &m->layers[i];
        memcpy(out, arena + l->w_off, l->in * l->out * sizeof(float));
        out += l->in * l->out;
        memcpy(out, arena + l->b_off, l->out * sizeof(float));
        out += l->out;
    }
}

void ot__arena_unpack(const ot_model *m, const float *in, float *arena)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        const ot__layer *l = &m->layers[i];
        memcpy(arena + l->w_off, in, l->in * l->out * sizeof(float));
        in += l->in * l->out;
        memcpy(arena + l->b_off, in, l->out * sizeof(float));
        in += l->out;
    }
}

ot_status ot_model_get_weights(const ot_model *m, float *out, size_t count)
{
    if (m == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "get_weights: NULL argument");
    if (count != m->n_params)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "get_weights: buffer of %zu floats, the model has %zu "
                        "parameters",
                        count, m->n_params);
    ot__arena_pack(m, m->params, out);
    return OT_OK;
}

ot_status ot_model_set_weights(ot_model *m, const float *in, size_t count)
{
    if (m == NULL || in == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "set_weights: NULL argument");
    if (count != m->n_params)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "set_weights: %zu floats given, the model has %zu "
                        "parameters",
                        count, m->n_params);
    for (size_t i = 0; i < count; i++)
        if (!isfinite(in[i]))
            return ot__fail(OT_NON_FINITE,
                            "set_weights: parameter %zu is not finite", i);
    ot__arena_unpack(m, in, m->params);
    return OT_OK;
}

/* Layer `layer`'s kernel and bias counts, checked against the caller's. */
static ot_status layer_check(const ot_model *m, size_t layer, const void *kernel,
                             size_t kernel_count, const void *bias, size_t bias_count,
                             const char *what)
{
    if (m == NULL || kernel == NULL || bias == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: NULL argument", what);
    if (layer >= m->n_layers)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: layer %zu: the model has %zu Dense "
                        "layers", what, layer, m->n_layers);
    const ot__layer *l = &m->layers[layer];
    if (kernel_count != l->in * l->out || bias_count != l->out)
        return ot__fail(OT_INVALID_ARGUMENT, "%s: layer %zu has a %zu x %zu kernel and %zu "
                        "biases; %zu and %zu floats given", what, layer, l->out, l->in,
                        l->out, kernel_count, bias_count);
    return OT_OK;
}

ot_status ot_model_get_layer_weights(const ot_model *m, size_t layer, float *kernel,
                                     size_t kernel_count, float *bias, size_t bias_count)
{
    ot_status st = layer_check(m, layer, kernel, kernel_count, bias, bias_count,
                               "get_layer_weights");
    if (st != OT_OK)
        return st;
    const ot__layer *l = &m->layers[layer];
    memcpy(kernel, m->params + l->w_off, kernel_count * sizeof(float));
    memcpy(bias, m->params + l->b_off, bias_count * sizeof(float));
    return OT_OK;
}

ot_status ot_model_set_layer_weights(ot_model *m, size_t layer, const float *kernel,
                                     size_t kernel_count, const float *bias,
                                     size_t bias_count)
{
    ot_status st = layer_check(m, layer, kernel, kernel_count, bias, bias_count,
                               "set_layer_weights");
    if (st != OT_OK)
        return st;
    for (size_t i = 0; i < kernel_count + bias_count; i++)
        if (!isfinite(i < kernel_count ? kernel[i] : bias[i - kernel_count]))
            return ot__fail(OT_NON_FINITE, "set_layer_weights: layer %zu: %s %zu is not "
                            "finite", layer, i < kernel_count ? "kernel value" : "bias",
                            i < kernel_count ? i : i - kernel_count);
    const ot__layer *l = &m->layers[layer];
    memcpy(m->params + l->w_off, kernel, kernel_count * sizeof(float));
    memcpy(m->params + l->b_off, bias, bias_count * sizeof(float));
    return OT_OK;
}

ot_status ot_model_compile(ot_model *m, ot_loss loss,
                           const ot_optimizer_config *opt)
{
    ot_status status;
    if (m == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "compile: model is NULL");
    if (ot_loss_name(loss) == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "compile: loss %d is unknown",
                        (int)loss);
    if ((status = ot__optimizer_check(opt)) != OT_OK)
        return status;
    const ot__layer *last = &m->layers[m->n_layers - 1];
    const char *act = ot_activation_name(last->act);
    switch (loss) {
    case OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
    case OT_LOSS_CATEGORICAL_CROSSENTROPY:
        if (last->act != OT_ACTIVATION_SOFTMAX)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "compile: %s needs a softmax last layer, not %s",
                            ot_loss_name(loss), act);
        if (last->out < 2)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "compile: %s needs at least 2 output units, the "
                            "last layer has %zu",
                            ot_loss_name(loss), last->out);
        break;
    case OT_LOSS_BINARY_CROSSENTROPY:
        if (last->act != OT_ACTIVATION_SIGMOID)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "compile: binary_crossentropy needs a sigmoid last "
                            "layer, not %s",
                            act);
        break;
    default:
        break;
    }
    size_t slots = ot__optimizer_slots(opt);
    float *state = NULL;
    ot_status st = ot__memory_check((1 + slots) * m->arena_len * sizeof(float),
                                    "compile: the weights with the optimizer's state",
                                    "4 bytes a parameter and a slot");
    if (st != OT_OK)
        return st;
    if (slots > 0) {
        state = ot__alloc(slots * m->arena_len, sizeof(float), "optimizer state");
        if (state == NULL)
            return OT_OUT_OF_MEMORY;
        ot__optimizer_init_state(opt, state, m->arena_len);
    }
    ot__free(m->opt.state);
    m->opt.cfg = *opt;
    m->opt.iterations = 0;
    m->opt.slots = slots;
    m->opt.state = state;
    m->loss = loss;
    m->fused = ot__loss_fuses(loss, last->act);
    m->metrics = (ot__metric_list){1, {ot__loss_metric(loss)}};
    m->epochs = 0;
    m->steps_in_epoch = 0;
    m->part = (ot__sums){{0.0}};
    m->part_seen = 0;
    m->compiled = 1;
    return OT_OK;
}
