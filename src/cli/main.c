/*
 * main.c - `omptrain COMMAND [FLAGS]`: dispatch and top-level help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: omptrain COMMAND [FLAGS]\n"
            "\n"
            "Data-parallel training of multilayer perceptrons on every core.\n"
            "\n"
            "commands:\n"
            "  train      train a model (defaults: the textbook Fashion-MNIST run)\n"
            "  search     hyper-parameter search: a grid of train's flags, k-fold\n"
            "             cross-validation, several fits at once (GridSearchCV)\n"
            "  evaluate   loss and metric of a saved model on a test set, confusion matrix\n"
            "  predict    a saved model's predictions for every sample, as CSV, or the\n"
            "             class of PNG, JPEG or PGM images (a hand-drawn digit)\n"
            "  show       a grid of samples with their labels and a model's predictions\n"
            "  summary    the Keras-style table of a model\n"
            "  bench      the throughput suite: samples/s per model, batch size and thread\n"
            "             count, beside the kernels, the GEMM peak and PyTorch\n"
            "\n"
            "`omptrain COMMAND --help` lists a command's flags with their defaults.\n"
            "omptrain %s\n",
            ot_version());
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
        strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("omptrain %s\n", ot_version());
        return CLI_OK;
    }
    if (strcmp(cmd, "train") == 0)
        return cli_train(argc - 2, argv + 2);
    if (strcmp(cmd, "search") == 0)
        return cli_search(argc - 2, argv + 2);
    /* under mpirun only train and search share their work; the others run
     * on rank 0 */
    if (cli_rank() > 0)
        return CLI_OK;
    if (strcmp(cmd, "evaluate") == 0)
        return cli_evaluate(argc - 2, argv + 2);
    if (strcmp(cmd, "summary") == 0)
        return cli_summary(argc - 2, argv + 2);
    if (strcmp(cmd, "predict") == 0)
        return cli_predict(argc - 2, argv + 2);
    if (strcmp(cmd, "show") == 0)
        return cli_show(argc - 2, argv + 2);
    if (strcmp(cmd, "bench") == 0)
        return bench_main("bench", argc - 2, argv + 2);
    cli_error("unknown command '%s' (expected train, search, evaluate, "
              "predict, show, summary or bench; see omptrain --help)", cmd);
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    int rc = cli_ranks_init();
    if (rc < 0)
        rc = run(argc, argv);
    cli_ranks_finish();
    return rc;
}
