/*
 * train.c - `omptrain train`: with no flags, the textbook run (Fashion-MNIST,
 * Dense(100, relu), Dense(10, softmax), adam, batch 32, 5 epochs, 20%
 * validation, seed 42) on every core.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_LAYERS 64

int cli_train(int argc, char **argv)
{
    const char *data = "fashion-mnist", *layers_spec = "100:relu,10:softmax";
    const char *optimizer = "adam", *save = NULL, *history_path = NULL;
    size_t batch = 32, epochs = 5, shards = 0;
    double split = 0.2;
    int threads = omp_get_max_threads(), nesterov = 0, quiet = 0;
    uint64_t seed = 42;
    float lr = NAN, momentum = 0.0f, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;
    char threads_text[64];
    snprintf(threads_text, sizeof threads_text, "all cores: %d", threads);
    const cli_opt opts[] = {
        {"--data", CLI_STRING, &data, "SPEC", "training data: fashion-mnist (Debian's dataset-fashion-mnist, or $OMPTRAIN_DATA) or idx:DIR (MNIST-style files in DIR)", 0, 0, NULL},
        {"--layers", CLI_STRING, &layers_spec, "LIST", "Dense layers UNITS:ACTIVATION,... (linear, relu, sigmoid; softmax last)", 0, 0, NULL},
        {"--optimizer", CLI_STRING, &optimizer, "NAME", "sgd or adam", 0, 0, NULL},
        {"--lr", CLI_FLOAT, &lr, "RATE", "learning rate", 1e-12, 1e6, "sgd 0.01, adam 0.001"},
        {"--momentum", CLI_FLOAT, &momentum, "M", "sgd momentum in [0, 1)", 0, 0.999999, NULL},
        {"--nesterov", CLI_BOOL, &nesterov, NULL, "sgd: Nesterov momentum", 0, 0, NULL},
        {"--beta1", CLI_FLOAT, &beta1, "B", "adam beta_1", 0, 0.999999, NULL},
        {"--beta2", CLI_FLOAT, &beta2, "B", "adam beta_2", 0, 0.999999, NULL},
        {"--epsilon", CLI_FLOAT, &epsilon, "E", "adam epsilon", 1e-30, 1, NULL},
        {"--batch", CLI_SIZE, &batch, "N", "global batch size", 1, 1 << 24, NULL},
        {"--epochs", CLI_SIZE, &epochs, "N", "epochs", 1, 1000000, NULL},
        {"--validation-split", CLI_DOUBLE, &split, "F", "fraction of the training data held out, chosen by the seeded shuffle", 0, 0.99, NULL},
        {"--threads", CLI_INT, &threads, "N", "OpenMP threads", 1, 1024, threads_text},
        {"--shards", CLI_SIZE, &shards, "N", "shards per batch; the weights depend on it, not on --threads", 1, 65536, "the thread count"},
        {"--seed", CLI_U64, &seed, "N", "seed of initialisation, split and shuffle", 0, 0, NULL},
        {"--save", CLI_STRING, &save, "FILE", "save the trained model (atomically)", 0, 0, NULL},
        {"--history", CLI_STRING, &history_path, "FILE.csv", "write per-epoch metrics as CSV", 0, 0, NULL},
        {"--quiet", CLI_BOOL, &quiet, NULL, "no progress output", 0, 0, NULL},
    };
    int rc = cli_parse("train", "Train a model and report loss and accuracy per epoch.",
                       opts, sizeof opts / sizeof *opts, argc, argv);
    if (rc >= 0)
        return rc;

    ot_layer layers[MAX_LAYERS];
    size_t n_layers;
    if (!cli_parse_layers(layers_spec, layers, MAX_LAYERS, &n_layers))
        return CLI_USAGE;
    ot_optimizer_kind kind;
    if (ot_optimizer_parse(optimizer, &kind) != OT_OK) {
        cli_error("--optimizer: %s", ot_last_error());
        return CLI_USAGE;
    }
    ot_optimizer_config oc = ot_optimizer_config_default(kind);
    if (!isnan(lr))
        oc.learning_rate = lr;
    oc.momentum = momentum;
    oc.nesterov = nesterov;
    oc.beta1 = beta1;
    oc.beta2 = beta2;
    oc.epsilon = epsilon;
    if (kind != OT_OPTIMIZER_SGD && (nesterov || momentum != 0.0f)) {
        cli_error("%s applies to --optimizer sgd, not %s",
                  nesterov ? "--nesterov" : "--momentum", optimizer);
        return CLI_USAGE;
    }
    if (kind != OT_OPTIMIZER_ADAM && (beta1 != 0.9f || beta2 != 0.999f || epsilon != 1e-7f)) {
        cli_error("--beta1, --beta2 and --epsilon apply to --optimizer adam, not %s",
                  optimizer);
        return CLI_USAGE;
    }
    if (nesterov && momentum == 0.0f) {
        cli_error("--nesterov needs --momentum > 0");
        return CLI_USAGE;
    }
    if (shards == 0)
        shards = (size_t)threads;

    ot_dataset *train = NULL;
    ot_model *model = NULL;
    ot_history *hist = NULL;
    if ((rc = cli_load_data(data, "train", &train)) != CLI_OK)
        return rc;
    rc = CLI_FAILED;
    if (ot_model_create(&model, ot_dataset_dim(train), layers, n_layers, seed) != OT_OK) {
        cli_fail("--layers");
        goto done;
    }
    if (ot_model_compile(model, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc) != OT_OK) {
        cli_fail(NULL);
        goto done;
    }
    cli_progress prog = {isatty(STDOUT_FILENO), quiet, epochs, 0.0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = epochs;
    fc.validation_split = split;
    fc.threads = threads;
    fc.shards = shards;
    fc.seed = seed;
    fc.on_step = cli_progress_step;
    fc.on_epoch = cli_progress_epoch;
    fc.user = &prog;
    if (!quiet) {
        printf("omptrain %s: %zu samples of %zu features from %s; ", ot_version(),
               ot_dataset_size(train), ot_dataset_dim(train), data);
        printf("%zu", ot_dataset_dim(train));
        for (size_t i = 0; i < n_layers; i++)
            printf("-%zu", layers[i].units);
        printf(" (%zu params), %s, batch %zu, %d threads, %zu shards, seed %llu\n",
               ot_model_param_count(model), ot_optimizer_name(kind), batch,
               threads, shards, (unsigned long long)seed);
        fflush(stdout);
    }
    ot_status st = ot_model_fit(model, train, &fc, &hist);
    if (st != OT_OK) {
        cli_fail("train");
        if (history_path && hist && ot_history_length(hist) > 0)
            ot_history_write_csv(hist, history_path);
        goto done;
    }
    if (history_path && ot_history_write_csv(hist, history_path) != OT_OK) {
        cli_fail("--history");
        goto done;
    }
    if (save) {
        if (ot_model_save(model, save) != OT_OK) {
            cli_fail("--save");
            goto done;
        }
        if (!quiet)
            printf("saved the model to %s\n", save);
    }
    rc = CLI_OK;
done:
    ot_history_destroy(hist);
    ot_model_destroy(model);
    ot_dataset_destroy(train);
    return rc;
}
