/*
 * summary.c - the Keras-style summary table of a model (ot_model_summary),
 * or of a list of layers before any model is built (ot_layers_summary): it
 * needs the shapes only, never the weights, so a model too large to build
 * can still be described.
 */
#include <stdio.h>

#include "model.h"

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

ot_status ot_layers_summary(size_t input_dim, const ot_layer *layers, size_t n, FILE *out)
{
    if (out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "summary: NULL argument");
    ot_status status = ot__check_layers(input_dim, layers, n);
    if (status != OT_OK)
        return status;
    const char *rule = "_________________________________________________________________";
    const char *dbl = "=================================================================";
    fprintf(out, "Model: \"sequential\"\n%s\n", rule);
    fprintf(out, " %-28s%-26s%-10s\n", "Layer (type)", "Output Shape", "Param #");
    fprintf(out, "%s\n", dbl);
    size_t in = input_dim, params = 0, dense = 0, last = 0;
    for (size_t i = 0; i < n; i++)
        if (layers[i].kind == OT_LAYER_DENSE)
            last = i;
    for (size_t i = 0; i < n; i++) {
        char name[64], shape[64], count[32];
        if (layers[i].kind == OT_LAYER_FLATTEN) {
            snprintf(shape, sizeof shape, "(None, %zu)", input_dim);
            fprintf(out, " %-28s%-26s%-10s\n\n", "flatten (Flatten)", shape, "0");
            continue;
        }
        if (dense == 0)
            snprintf(name, sizeof name, "dense (Dense)");
        else
            snprintf(name, sizeof name, "dense_%zu (Dense)", dense);
        dense++;
        size_t units = layers[i].units, p = in * units + units;
        snprintf(shape, sizeof shape, "(None, %zu)", units);
        snprintf(count, sizeof count, "%zu", p);
        fprintf(out, " %-28s%-26s%-10s\n", name, shape, count);
        if (i != last)
            fprintf(out, "\n");
        params += p;
        in = units;
    }
    char total[40];
    group_thousands(params, total, sizeof total);
    fprintf(out, "%s\nTotal params: %s\nTrainable params: %s\n"
                 "Non-trainable params: 0\n%s\n",
            dbl, total, total, rule);
    if (ferror(out))
        return ot__fail(OT_IO_ERROR, "summary: write failed");
    return OT_OK;
}

ot_status ot_model_summary(const ot_model *m, FILE *out)
{
    if (m == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "summary: NULL argument");
    ot_layer layers[OT_MAX_LAYERS + 1];
    size_t n = ot_model_layer_count(m);
    for (size_t i = 0; i < n && i <= OT_MAX_LAYERS; i++)
        ot_model_layer(m, i, &layers[i]);
    return ot_layers_summary(m->input_dim, layers, n, out);
}
