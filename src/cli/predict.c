/*
 * predict.c - `omptrain predict --model FILE --data SPEC --output FILE.csv`:
 * the model's outputs for every sample (probabilities or values) and, for a
 * classifier, the predicted class, one CSV row per sample.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Writes the CSV whole or not at all. */
static int write_predictions(const char *path, const float *out, const int32_t *cls,
                             size_t n, size_t C, int classifier)
{
    cli_file o;
    if (!cli_file_open(&o, path)) {
        cli_error("--output: %s: cannot create a file there: %s", path, strerror(errno));
        return CLI_FAILED;
    }
    FILE *f = o.f;
    for (size_t j = 0; j < C; j++)
        fprintf(f, "%s%s%zu", j ? "," : "", classifier ? "p" : "y", j);
    fprintf(f, classifier ? ",class\n" : "\n");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < C; j++)
            fprintf(f, "%s%.9g", j ? "," : "", (double)out[i * C + j]);
        if (classifier)
            fprintf(f, ",%d", (int)cls[i]);
        fputc('\n', f);
    }
    if (!cli_file_commit(&o)) {
        cli_error("--output: %s: write failed: %s", path, strerror(errno));
        return CLI_FAILED;
    }
    return CLI_OK;
}

int cli_predict(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *output = NULL, *label_columns = "-1";
    ot_eval_config ec = ot_eval_config_default();
    cli_opt opts[4 + CLI_EVAL_FLAGS] = {
        {"--model", CLI_STRING, &model_path, "FILE", "model saved by train --save (required)", 0, 0, NULL},
        {"--data", CLI_STRING, &data, "SPEC", "samples (required): csv:FILE (features only, or with the --label-column columns, which are ignored), idx:DIR or fashion-mnist (their t10k images), xor", 0, 0, NULL},
        {"--output", CLI_STRING, &output, "FILE.csv", "where to write the predictions (required)", 0, 0, NULL},
        {"--label-column", CLI_STRING, &label_columns, "N[,N...]", "csv: columns to leave out when the file has more than the model's inputs", 0, 0, NULL},
    };
    double max_memory = 0.0;
    cli_eval_flags(opts + 4, &ec, &max_memory);
    int rc = cli_parse("predict", "Write a saved model's predictions for every sample as CSV.",
                       opts, sizeof opts / sizeof *opts, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    cli_set_max_memory(max_memory);
    if (!cli_check_columns(label_columns))
        return CLI_USAGE;
    if (model_path == NULL || data == NULL || output == NULL) {
        cli_error("predict: --model, --data and --output are required");
        return CLI_USAGE;
    }
    if (!cli_check_output("--output", output))
        return CLI_FAILED;
    ot_model *model = NULL;
    ot_dataset *d = NULL;
    float *out = NULL, *x = NULL;
    int32_t *cls = NULL;
    if (ot_model_load(&model, model_path) != OT_OK)
        return cli_fail("--model");
    ot_loss loss;
    int classifier = ot_model_loss(model, &loss) == OT_OK ? loss <= OT_LOSS_BINARY_CROSSENTROPY : 1;
    cli_data_options dopt = {"t10k", label_columns, 0, ot_model_input_dim(model)};
    if ((rc = cli_load_data(data, &dopt, &d)) != CLI_OK)
        goto done;
    rc = CLI_FAILED;
    size_t n = ot_dataset_size(d), dim = ot_dataset_dim(d), C = ot_model_output_dim(model);
    if (dim != ot_model_input_dim(model)) {
        cli_error("--data: %zu features per sample, the model takes %zu", dim,
                  ot_model_input_dim(model));
        goto done;
    }
    /* The public API predicts from the caller's rows: rebuild them. */
    x = malloc(n * dim * sizeof *x);
    out = malloc(n * C * sizeof *out);
    cls = malloc(n * sizeof *cls);
    if (!x || !out || !cls) {
        cli_error("predict: out of memory");
        goto done;
    }
    if (ot_dataset_features(d, x, n * dim) != OT_OK) {
        cli_fail(NULL);
        goto done;
    }
    if (ot_model_predict(model, x, n, out, n * C, &ec) != OT_OK ||
        ot_model_predict_classes(model, x, n, cls, &ec) != OT_OK) {
        cli_fail("predict");
        goto done;
    }
    rc = write_predictions(output, out, cls, n, C, classifier);
    if (rc == CLI_OK)
        printf("wrote %zu predictions to %s\n", n, output);
done:
    free(x);
    free(out);
    free(cls);
    ot_dataset_destroy(d);
    ot_model_destroy(model);
    return rc;
}
