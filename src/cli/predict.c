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

/* Writes the CSV whole or not at all: the predictions of d's rows, a chunk
 * at a time, so that a streamed data set is never all in memory. */
static int write_predictions(const char *path, const ot_model *m, const ot_dataset *d,
                             const ot_eval_config *ec, int classifier)
{
    const size_t n = ot_dataset_size(d), C = ot_model_output_dim(m), chunk = 65536;
    float *out = malloc(chunk * C * sizeof *out);
    int32_t *cls = malloc(chunk * sizeof *cls);
    cli_file o;
    if (out == NULL || cls == NULL) {
        free(out);
        free(cls);
        cli_error("predict: out of memory");
        return CLI_FAILED;
    }
    if (!cli_file_open(&o, path)) {
        cli_error("--output: %s: cannot create a file there: %s", path, strerror(errno));
        free(out);
        free(cls);
        return CLI_FAILED;
    }
    FILE *f = o.f;
    for (size_t j = 0; j < C; j++)
        fprintf(f, "%s%s%zu", j ? "," : "", classifier ? "p" : "y", j);
    fprintf(f, classifier ? ",class\n" : "\n");
    int ok = 1;
    for (size_t at = 0; at < n && ok; at += chunk) {
        size_t k = n - at < chunk ? n - at : chunk;
        if (ot_model_predict_dataset(m, d, at, k, out, k * C, cls, ec) != OT_OK) {
            cli_fail("predict");
            ok = 0;
            break;
        }
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < C; j++)
                fprintf(f, "%s%.9g", j ? "," : "", (double)out[i * C + j]);
            if (classifier)
                fprintf(f, ",%d", (int)cls[i]);
            fputc('\n', f);
        }
    }
    free(out);
    free(cls);
    if (!ok) {
        cli_file_abandon(&o);
        return CLI_FAILED;
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
    int stream = 0;
    const char *cache_dir = NULL;
    cli_eval_flags(opts + 4, &ec, &max_memory, &stream, &cache_dir);
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
    if (ot_model_load(&model, model_path) != OT_OK)
        return cli_fail("--model");
    ot_loss loss;
    int classifier = ot_model_loss(model, &loss) == OT_OK ? loss <= OT_LOSS_BINARY_CROSSENTROPY : 1;
    cli_data_options dopt = {"t10k", label_columns, 0, ot_model_input_dim(model), stream,
                             cache_dir};
    if ((rc = cli_load_data(data, &dopt, &d)) != CLI_OK)
        goto done;
    rc = CLI_FAILED;
    size_t n = ot_dataset_size(d), dim = ot_dataset_dim(d);
    if (dim != ot_model_input_dim(model)) {
        cli_error("--data: %zu features per sample, the model takes %zu", dim,
                  ot_model_input_dim(model));
        goto done;
    }
    rc = write_predictions(output, model, d, &ec, classifier);
    if (rc == CLI_OK)
        printf("wrote %zu predictions to %s\n", n, output);
done:
    ot_dataset_destroy(d);
    ot_model_destroy(model);
    return rc;
}
