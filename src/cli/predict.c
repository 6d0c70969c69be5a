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

enum { MAX_IMAGES = 4096, OWN = 9 };

int cli_predict(int argc, char **argv)
{
    const char *model_path = NULL, *data = NULL, *output = NULL, *label_columns = "-1";
    const char *image = NULL;
    cli_predict_images_args ia = {0};
    ot_eval_config ec = ot_eval_config_default();
    cli_opt opts[OWN + CLI_EVAL_FLAGS] = {
        {"--model", CLI_STRING, &model_path, "FILE", "model saved by train --save (required)", 0, 0, NULL},
        {"--data", CLI_STRING, &data, "SPEC", "samples: csv:FILE (features only, or with the --label-column columns, which are ignored), idx:DIR or fashion-mnist (their t10k images), xor", 0, 0, NULL},
        {"--output", CLI_STRING, &output, "FILE.csv", "where to write the predictions (with --data)", 0, 0, NULL},
        {"--label-column", CLI_STRING, &label_columns, "N[,N...]", "csv: columns to leave out when the file has more than the model's inputs", 0, 0, NULL},
        {"--image", CLI_STRING, &image, "FILE...", "instead of --data: PNG, JPEG or PGM images (any number of files after the flag), each read as gray, resized to the model's input (28x28 for 784: the mean of each pixel's box when shrinking), scaled as IDX images (b / 255); prints each one's class and top probabilities", 0, 0, NULL},
        {"--invert", CLI_BOOL, &ia.invert, NULL, "--image: 255 - pixel, for a dark drawing on white (the training images are light on dark)", 0, 0, NULL},
        {"--image-size", CLI_STRING, &ia.size, "WxH", "--image: the image shape the model takes", 0, 0, "the square of its inputs"},
        {"--class-names", CLI_STRING, &ia.class_names, "LIST", "--image: fashion-mnist, mnist, or names separated by commas", 0, 0, "the class numbers"},
        {"--save-input", CLI_STRING, &ia.save_input, "DIR", "--image: write what the model sees of each image, as DIR/FILE.input.pgm", 0, 0, NULL},
    };
    /* --image takes every argument after it up to the next flag */
    static const char *paths[MAX_IMAGES];
    char *rest[1024];
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--image") == 0) {
            int k = i + 1;
            for (; k < argc && strncmp(argv[k], "--", 2) != 0; k++) {
                if (ia.n == MAX_IMAGES) {
                    cli_error("--image: at most %d files", MAX_IMAGES);
                    return CLI_USAGE;
                }
                paths[ia.n++] = argv[k];
            }
            if (k == i + 1) {
                cli_error("--image needs at least one file");
                return CLI_USAGE;
            }
            i = k - 1;
            continue;
        }
        if (n_rest == (int)(sizeof rest / sizeof *rest)) {
            cli_error("predict: too many arguments");
            return CLI_USAGE;
        }
        rest[n_rest++] = argv[i];
    }
    argc = n_rest;
    argv = rest;
    ia.paths = paths;
    double max_memory = 0.0;
    int stream = 0;
    const char *cache_dir = NULL;
    cli_eval_flags(opts + OWN, &ec, &max_memory, &stream, &cache_dir);
    int rc = cli_parse("predict", "Write a saved model's predictions for every sample of "
                       "--data as CSV, or print the class of each --image.",
                       opts, sizeof opts / sizeof *opts, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    cli_set_max_memory(max_memory);
    if (!cli_check_columns(label_columns))
        return CLI_USAGE;
    if (model_path != NULL && ia.n > 0 && data == NULL) {
        ot_model *model = NULL;
        if (ot_model_load(&model, model_path) != OT_OK)
            return cli_fail("--model");
        rc = cli_predict_images(model, &ia);
        ot_model_destroy(model);
        return rc;
    }
    if (ia.invert || ia.size || ia.class_names || ia.save_input) {
        cli_error("predict: --invert, --image-size, --class-names and --save-input go with "
                  "--image");
        return CLI_USAGE;
    }
    if (model_path == NULL || (data == NULL) == (ia.n == 0) || (data && output == NULL)) {
        cli_error("predict: --model and either --data with --output, or --image, are "
                  "required");
        return CLI_USAGE;
    }
    if (!cli_check_output("--output", output))
        return CLI_FAILED;
    ot_model *model = NULL;
    ot_dataset *d = NULL;
    if (ot_model_load(&model, model_path) != OT_OK)
        return cli_fail("--model");
    int classifier = cli_is_classifier(model);
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
