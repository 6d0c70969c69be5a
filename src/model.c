/*
 * model.c - layers, shapes, the parameter arena, initialisation, compile
 * and the Keras-style summary. No math of training here (see shard.c,
 * trainer.c).
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "model.h"
#include "rng.h"

/* Limits that no real MLP reaches; they keep sizes far from overflow. */
#define OT_MAX_LAYERS 64
#define OT_MAX_UNITS ((size_t)1 << 24)
#define OT_MAX_PARAMS ((size_t)1 << 31)

static const char *const activation_names[] = {"linear", "relu", "sigmoid",
                                               "softmax"};

const char *ot_activation_name(ot_activation a)
{
    if ((unsigned)a >= sizeof activation_names / sizeof *activation_names)
        return NULL;
    return activation_names[a];
}

ot_status ot_activation_parse(const char *name, ot_activation *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "activation name: NULL argument");
    if (strcasecmp(name, "none") == 0) {
        *out = OT_ACTIVATION_LINEAR;
        return OT_OK;
    }
    for (size_t i = 0; i < sizeof activation_names / sizeof *activation_names; i++) {
        if (strcasecmp(name, activation_names[i]) == 0) {
            *out = (ot_activation)i;
            return OT_OK;
        }
    }
    return ot__fail(OT_INVALID_ARGUMENT,
                    "unknown activation '%s' (expected linear, relu, sigmoid "
                    "or softmax)",
                    name);
}

const char *ot_loss_name(ot_loss loss)
{
    return loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
               ? "sparse_categorical_crossentropy"
               : NULL;
}

ot_status ot_loss_parse(const char *name, ot_loss *out)
{
    if (name == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "loss name: NULL argument");
    if (strcasecmp(name, "sparse_categorical_crossentropy") == 0) {
        *out = OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        return OT_OK;
    }
    return ot__fail(OT_INVALID_ARGUMENT,
                    "unknown loss '%s' (expected "
                    "sparse_categorical_crossentropy)",
                    name);
}

static ot_status check_layers(size_t input_dim, const ot_layer *layers,
                              size_t n_layers)
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
    size_t in = input_dim, params = 0;
    for (size_t i = 0; i < n_layers; i++) {
        const ot_layer *l = &layers[i];
        if (l->units == 0 || l->units > OT_MAX_UNITS)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "layer %zu: units %zu must be in 1..%zu", i + 1,
                            l->units, OT_MAX_UNITS);
        if (ot_activation_name(l->activation) == NULL)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "layer %zu: activation %d is unknown", i + 1,
                            (int)l->activation);
        if (l->activation == OT_ACTIVATION_SOFTMAX && i + 1 != n_layers)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "layer %zu: softmax is supported on the last "
                            "layer only",
                            i + 1);
        /* in, units <= 2^24, so in * units + units cannot overflow. */
        params += in * l->units + l->units;
        if (params > OT_MAX_PARAMS)
            return ot__fail(OT_INVALID_ARGUMENT,
                            "model has more than %zu parameters",
                            OT_MAX_PARAMS);
        in = l->units;
    }
    return OT_OK;
}

ot_status ot__model_alloc(ot_model **out, size_t input_dim,
                          const ot_layer *layers, size_t n_layers)
{
    ot_status status;
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "model: NULL output pointer");
    *out = NULL;
    if ((status = check_layers(input_dim, layers, n_layers)) != OT_OK)
        return status;

    ot_model *m = ot__calloc(1, sizeof *m, "model");
    if (m == NULL)
        return OT_OUT_OF_MEMORY;
    m->input_dim = input_dim;
    m->n_layers = n_layers;
    m->layers = ot__calloc(n_layers, sizeof *m->layers, "model layers");
    if (m->layers == NULL)
        goto oom;
    size_t in = input_dim, off = 0;
    for (size_t i = 0; i < n_layers; i++) {
        ot__layer *l = &m->layers[i];
        l->in = in;
        l->out = layers[i].units;
        l->act = layers[i].activation;
        l->w_off = off;
        off += ot__round_floats(l->in * l->out);
        l->b_off = off;
        off += ot__round_floats(l->out);
        m->n_params += l->in * l->out + l->out;
        in = l->out;
    }
    m->arena_len = off;
    m->params = ot__calloc(m->arena_len, sizeof(float), "parameter arena");
    if (m->params == NULL)
        goto oom;
    *out = m;
    return OT_OK;
oom:
    ot_model_destroy(m);
    return OT_OUT_OF_MEMORY;
}

ot_status ot_model_create(ot_model **out, size_t input_dim,
                          const ot_layer *layers, size_t n_layers,
                          uint64_t seed)
{
    ot_status status = ot__model_alloc(out, input_dim, layers, n_layers);
    if (status != OT_OK)
        return status;
    ot_model *m = *out;
    /* glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out));
     * biases zero. Drawn layer by layer in oi order. */
    ot__rng rng;
    ot__rng_seed(&rng, seed);
    for (size_t i = 0; i < m->n_layers; i++) {
        const ot__layer *l = &m->layers[i];
        float limit = (float)sqrt(6.0 / (double)(l->in + l->out));
        float *w = m->params + l->w_off;
        for (size_t j = 0; j < l->in * l->out; j++)
            w[j] = (2.0f * ot__rng_uniformf(&rng) - 1.0f) * limit;
    }
    return OT_OK;
}

void ot_model_destroy(ot_model *m)
{
    if (m == NULL)
        return;
    ot__free(m->opt.state);
    ot__free(m->params);
    ot__free(m->layers);
    ot__free(m);
}

size_t ot_model_input_dim(const ot_model *m) { return m ? m->input_dim : 0; }

size_t ot_model_output_dim(const ot_model *m)
{
    return m ? m->layers[m->n_layers - 1].out : 0;
}

size_t ot_model_layer_count(const ot_model *m) { return m ? m->n_layers : 0; }

size_t ot_model_param_count(const ot_model *m) { return m ? m->n_params : 0; }

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
    if (i >= m->n_layers)
        return ot__fail(OT_INVALID_ARGUMENT, "layer index %zu: the model has %zu",
                        i, m->n_layers);
    out->units = m->layers[i].out;
    out->activation = m->layers[i].act;
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
    if (loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY &&
        last->act != OT_ACTIVATION_SOFTMAX)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "compile: sparse_categorical_crossentropy needs a "
                        "softmax last layer, not %s",
                        ot_activation_name(last->act));
    if (loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && last->out < 2)
        return ot__fail(OT_INVALID_ARGUMENT,
                        "compile: sparse_categorical_crossentropy needs at "
                        "least 2 output units, the last layer has %zu",
                        last->out);
    size_t slots = ot__optimizer_slots(opt);
    float *state = NULL;
    if (slots > 0) {
        state = ot__calloc(slots * m->arena_len, sizeof(float),
                           "optimizer state");
        if (state == NULL)
            return OT_OUT_OF_MEMORY;
    }
    ot__free(m->opt.state);
    m->opt.cfg = *opt;
    m->opt.iterations = 0;
    m->opt.slots = slots;
    m->opt.state = state;
    m->loss = loss;
    m->compiled = 1;
    return OT_OK;
}

/* 79510 -> "79,510" */
static void group_thousands(size_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%zu", v);
    size_t j = 0;
    for (int i = 0; i < n && j + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = '\0';
}

ot_status ot_model_summary(const ot_model *m, FILE *out)
{
    if (m == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "summary: NULL argument");
    const char *rule = "_________________________________________________________________";
    const char *dbl = "=================================================================";
    fprintf(out, "Model: \"sequential\"\n%s\n", rule);
    fprintf(out, " %-28s%-26s%-10s\n", "Layer (type)", "Output Shape", "Param #");
    fprintf(out, "%s\n", dbl);
    for (size_t i = 0; i < m->n_layers; i++) {
        const ot__layer *l = &m->layers[i];
        char name[64], shape[64], params[32];
        if (i == 0)
            snprintf(name, sizeof name, "dense (Dense)");
        else
            snprintf(name, sizeof name, "dense_%zu (Dense)", i);
        snprintf(shape, sizeof shape, "(None, %zu)", l->out);
        snprintf(params, sizeof params, "%zu", l->in * l->out + l->out);
        fprintf(out, " %-28s%-26s%-10s\n", name, shape, params);
        if (i + 1 < m->n_layers)
            fprintf(out, "\n");
    }
    char total[40];
    group_thousands(m->n_params, total, sizeof total);
    fprintf(out, "%s\nTotal params: %s\nTrainable params: %s\n"
                 "Non-trainable params: 0\n%s\n",
            dbl, total, total, rule);
    if (ferror(out))
        return ot__fail(OT_IO_ERROR, "summary: write failed");
    return OT_OK;
}
