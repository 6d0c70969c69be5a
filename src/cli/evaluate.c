/*
 * evaluate.c - `omptrain evaluate --model FILE`: loss and accuracy on the
 * test set (the t10k files).
 */
#include <omp.h>
#include <stdio.h>

#include "cli.h"

int cli_evaluate(int argc, char **argv)
{
    const char *model_path = NULL, *data = "fashion-mnist";
    size_t batch = 32, shards = 0;
    int threads = omp_get_max_threads();
    char threads_text[64];
    snprintf(threads_text, sizeof threads_text, "all cores: %d", threads);
    const cli_opt opts[] = {
        {"--model", CLI_STRING, &model_path, "FILE", "model saved by train --save (required)", 0, 0, NULL},
        {"--data", CLI_STRING, &data, "SPEC", "test data: fashion-mnist or idx:DIR (its t10k files)", 0, 0, NULL},
        {"--batch", CLI_SIZE, &batch, "N", "batch size", 1, 1 << 24, NULL},
        {"--threads", CLI_INT, &threads, "N", "OpenMP threads", 1, 1024, threads_text},
        {"--shards", CLI_SIZE, &shards, "N", "shards per batch", 1, 65536, "the thread count"},
    };
    int rc = cli_parse("evaluate", "Report the loss and accuracy of a saved model on a test set.",
                       opts, sizeof opts / sizeof *opts, argc, argv);
    if (rc >= 0)
        return rc;
    if (model_path == NULL) {
        cli_error("evaluate: --model FILE is required");
        return CLI_USAGE;
    }
    ot_model *model = NULL;
    ot_dataset *test = NULL;
    if (ot_model_load(&model, model_path) != OT_OK)
        return cli_fail("--model");
    if ((rc = cli_load_data(data, "t10k", &test)) != CLI_OK) {
        ot_model_destroy(model);
        return rc;
    }
    ot_eval_config ec = ot_eval_config_default();
    ec.batch_size = batch;
    ec.threads = threads;
    ec.shards = shards;
    double loss, acc;
    rc = CLI_OK;
    if (ot_model_evaluate(model, test, &ec, &loss, &acc) != OT_OK)
        rc = cli_fail("evaluate");
    else
        printf("%zu samples - loss: %.4f - accuracy: %.4f\n",
               ot_dataset_size(test), loss, acc);
    ot_dataset_destroy(test);
    ot_model_destroy(model);
    return rc;
}
