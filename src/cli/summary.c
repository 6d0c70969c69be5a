/*
 * summary.c - `omptrain summary`: the Keras-style table of a model given by
 * --layers or by a saved --model.
 */
#include <stdio.h>

#include "cli.h"

#define MAX_LAYERS 64

int cli_summary(int argc, char **argv)
{
    const char *layers_spec = "100:relu,10:softmax", *model_path = NULL;
    size_t input_dim = 784;
    const cli_opt opts[] = {
        {"--layers", CLI_STRING, &layers_spec, "LIST", "Dense layers UNITS:ACTIVATION,...", 0, 0, NULL},
        {"--input-dim", CLI_SIZE, &input_dim, "N", "input features (28x28 images: 784)", 1, 1 << 24, NULL},
        {"--model", CLI_STRING, &model_path, "FILE", "a saved model instead of --layers", 0, 0, NULL},
    };
    int rc = cli_parse("summary", "Print the Keras-style summary table of a model.",
                       opts, sizeof opts / sizeof *opts, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    if (model_path == NULL) { /* the table from the shapes: no weights made */
        ot_layer layers[MAX_LAYERS];
        size_t n;
        if (!cli_parse_layers(layers_spec, layers, MAX_LAYERS, &n))
            return CLI_USAGE;
        if (ot_layers_summary(input_dim, layers, n, stdout) != OT_OK)
            return cli_fail("--layers");
        return CLI_OK;
    }
    /* the file's header alone: its weights are never read into memory */
    return ot_model_file_summary(model_path, stdout) == OT_OK ? CLI_OK : cli_fail("--model");
}
