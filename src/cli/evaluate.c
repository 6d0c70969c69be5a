/*
 * evaluate.c - `omptrain evaluate --model FILE`: loss and metric on the test
 * set (the t10k files, or a CSV), and for a classifier its confusion matrix.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void print_confusion(const size_t *counts, size_t K)
{
    printf("confusion matrix (rows: true class, columns: predicted class)\n");
    printf("%8s", "");
    for (size_t j = 0; j < K; j++)
        printf(" %7zu", j);
    printf("\n");
    for (size_t i = 0; i < K; i++) {
        size_t total = 0;
        printf("%8zu", i);
        for (size_t j = 0; j < K; j++) {
            printf(" %7zu", counts[i * K + j]);
            total += counts[i * K + j];
        }
        printf("   recall %.4f\n", total ? (double)counts[i * K + i] / (double)total : 0.0);
    }
}

int cli_evaluate(int argc, char **argv)
{
    const char *model_path = NULL, *data = "fashion-mnist", *label_columns = "-1",
               *metrics = NULL;
    ot_eval_config ec = ot_eval_config_default();
    cli_opt opts[5 + CLI_EVAL_FLAGS] = {
        {"--model", CLI_STRING, &model_path, "FILE", "model saved by train --save (required)", 0, 0, NULL},
        {"--test-data", CLI_STRING, &data, "SPEC", "test data: fashion-mnist or idx:DIR (their t10k files), csv:FILE", 0, 0, NULL},
        {"--data", CLI_STRING, &data, "SPEC", "the same as --test-data", 0, 0, NULL},
        {"--label-column", CLI_STRING, &label_columns, "N[,N...]", "csv: target column(s), 0-based, negative from the end", 0, 0, NULL},
        {"--metrics", CLI_STRING, &metrics, "LIST", "the metrics to report instead of the model's (train --metrics' names)", 0, 0, "the model's"},
    };
    double max_memory = 0.0;
    int stream = 0;
    const char *cache_dir = NULL;
    cli_eval_flags(opts + 5, &ec, &max_memory, &stream, &cache_dir);
    int rc = cli_parse("evaluate", "Report the loss and metrics of a saved model on a test set, and a classifier's confusion matrix.",
                       opts, sizeof opts / sizeof *opts, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    cli_set_max_memory(max_memory);
    if (!cli_check_columns(label_columns))
        return CLI_USAGE;
    if (model_path == NULL) {
        cli_error("evaluate: --model FILE is required");
        return CLI_USAGE;
    }
    ot_metric chosen[OT_METRICS_MAX];
    size_t n_chosen = 0;
    if (metrics != NULL && !cli_parse_metrics("--metrics", metrics, chosen, &n_chosen))
        return CLI_USAGE;
    ot_model *model = NULL;
    ot_dataset *test = NULL;
    ot_loss loss;
    size_t *counts = NULL;
    if (ot_model_load(&model, model_path) != OT_OK)
        return cli_fail("--model");
    if (ot_model_loss(model, &loss) != OT_OK) {
        cli_error("--model: %s: saved before it was compiled: its loss is unknown",
                  model_path);
        ot_model_destroy(model);
        return CLI_FAILED;
    }
    if (n_chosen > 0 && ot_model_set_metrics(model, chosen, n_chosen) != OT_OK) {
        cli_fail("--metrics");
        ot_model_destroy(model);
        return CLI_FAILED;
    }
    int classifier = cli_is_classifier(model);
    cli_data_options dopt = {"t10k", label_columns,
                             loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                                 loss == OT_LOSS_CATEGORICAL_CROSSENTROPY, 0, stream,
                             cache_dir};
    if ((rc = cli_load_data(data, &dopt, &test)) != CLI_OK) {
        ot_model_destroy(model);
        return rc;
    }
    double l, values[OT_METRICS_MAX];
    ot_metric have[OT_METRICS_MAX];
    size_t n_have = ot_model_metrics(model, have, OT_METRICS_MAX);
    rc = CLI_OK;
    if (ot_model_evaluate_metrics(model, test, &ec, &l, values, OT_METRICS_MAX) != OT_OK) {
        rc = cli_fail("evaluate");
        goto done;
    }
    printf("%zu samples - loss: %.4f", ot_dataset_size(test), l);
    for (size_t k = 0; k < n_have; k++)
        printf(" - %s: %.4f", ot_metric_name(have[k]), values[k]);
    printf("\n");
    size_t C = ot_model_output_dim(model), K = C == 1 ? 2 : C;
    if (classifier && ot_dataset_classes(test) > 0 && K <= 1000) {
        counts = calloc(K * K, sizeof *counts);
        if (counts == NULL) {
            cli_error("evaluate: out of memory");
            rc = CLI_FAILED;
            goto done;
        }
        if (ot_model_confusion_matrix(model, test, &ec, counts, K) != OT_OK)
            rc = cli_fail("confusion matrix");
        else
            print_confusion(counts, K);
    }
done:
    free(counts);
    ot_dataset_destroy(test);
    ot_model_destroy(model);
    return rc;
}
