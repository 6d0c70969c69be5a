/*
 * train.c - `omptrain train`: with no flags, the textbook run (Fashion-MNIST,
 * Dense(100, relu), Dense(10, softmax), adam, sparse categorical
 * cross-entropy, batch 32, 5 epochs, 20% validation, seed 42) on every core.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_LAYERS 64

/* The first SIGINT or SIGTERM asks training to stop after the current step;
 * the handler is then the default again, so a second one ends the process. */
static volatile sig_atomic_t interrupted;

static void on_signal(int signo) { interrupted = signo; }

static void catch_signals(int on)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sa.sa_flags = on ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int on_step(const ot_step_metrics *s, void *user)
{
    cli_progress_step(s, user);
    return interrupted != 0;
}

static const char default_layers[] = "100:relu,10:softmax";
static const char default_loss[] = "sparse_categorical_crossentropy";
static const char default_optimizer[] = "adam";

/* Builds the optimizer config from the flags; 0 on a flag that does not
 * apply (error printed). */
typedef struct opt_flags {
    const char *name, *schedule;
    float lr, momentum, beta1, beta2, epsilon, rho, initial_accumulator;
    int nesterov, amsgrad, centered, staircase;
    double decay_rate;
    size_t decay_steps, decay_epochs;
} opt_flags;

static int optimizer_from_flags(const opt_flags *f, ot_optimizer_config *out)
{
    ot_optimizer_kind kind;
    if (ot_optimizer_parse(f->name, &kind) != OT_OK) {
        cli_error("--optimizer: %s", ot_last_error());
        return 0;
    }
    ot_optimizer_config c = ot_optimizer_config_default(kind);
    /* Which flags each optimizer takes; any other given flag is an error. */
    struct { const char *flag; int given; unsigned takes; } use[] = {
        {"--momentum", f->momentum != 0.0f, 1u << OT_OPTIMIZER_SGD | 1u << OT_OPTIMIZER_RMSPROP},
        {"--nesterov", f->nesterov, 1u << OT_OPTIMIZER_SGD},
        {"--beta1", !isnan(f->beta1), 1u << OT_OPTIMIZER_ADAM},
        {"--beta2", !isnan(f->beta2), 1u << OT_OPTIMIZER_ADAM},
        {"--amsgrad", f->amsgrad, 1u << OT_OPTIMIZER_ADAM},
        {"--epsilon", !isnan(f->epsilon), ~(1u << OT_OPTIMIZER_SGD)},
        {"--rho", !isnan(f->rho), 1u << OT_OPTIMIZER_RMSPROP | 1u << OT_OPTIMIZER_ADADELTA},
        {"--centered", f->centered, 1u << OT_OPTIMIZER_RMSPROP},
        {"--initial-accumulator", !isnan(f->initial_accumulator), 1u << OT_OPTIMIZER_ADAGRAD},
    };
    for (size_t i = 0; i < sizeof use / sizeof *use; i++)
        if (use[i].given && !(use[i].takes & (1u << kind))) {
            cli_error("%s does not apply to --optimizer %s", use[i].flag, f->name);
            return 0;
        }
    if (!isnan(f->lr))
        c.learning_rate = f->lr;
    c.momentum = f->momentum;
    c.nesterov = f->nesterov;
    c.amsgrad = f->amsgrad;
    c.centered = f->centered;
    if (!isnan(f->beta1))
        c.beta1 = f->beta1;
    if (!isnan(f->beta2))
        c.beta2 = f->beta2;
    if (!isnan(f->epsilon))
        c.epsilon = f->epsilon;
    if (!isnan(f->rho))
        c.rho = f->rho;
    if (!isnan(f->initial_accumulator))
        c.initial_accumulator = f->initial_accumulator;
    if (strcmp(f->schedule, "constant") == 0) {
        c.schedule.kind = OT_SCHEDULE_CONSTANT;
    } else if (strcmp(f->schedule, "exponential") == 0) {
        c.schedule.kind = OT_SCHEDULE_EXPONENTIAL;
        c.schedule.decay_rate = isnan(f->decay_rate) ? 0.96 : f->decay_rate;
    } else if (strcmp(f->schedule, "step") == 0) {
        c.schedule.kind = OT_SCHEDULE_STEP;
        c.schedule.decay_rate = isnan(f->decay_rate) ? 0.5 : f->decay_rate;
    } else {
        cli_error("--lr-schedule: unknown schedule '%s' (expected constant, "
                  "exponential or step)", f->schedule);
        return 0;
    }
    c.schedule.decay_steps = f->decay_steps;
    c.schedule.decay_epochs = f->decay_epochs;
    c.schedule.staircase = f->staircase;
    if (c.kind == OT_OPTIMIZER_SGD && c.nesterov && c.momentum == 0.0f) {
        cli_error("--nesterov needs --momentum > 0");
        return 0;
    }
    *out = c;
    return 1;
}

static int optimizer_flags_given(const opt_flags *f)
{
    return !isnan(f->lr) || f->momentum != 0.0f || f->nesterov || !isnan(f->beta1) ||
           !isnan(f->beta2) || !isnan(f->epsilon) || f->amsgrad || !isnan(f->rho) ||
           f->centered || !isnan(f->initial_accumulator) ||
           strcmp(f->schedule, "constant") != 0 || !isnan(f->decay_rate) ||
           f->staircase;
}

static int parse_scaling(const char *name, ot_scaling *out)
{
    if (strcmp(name, "none") == 0)
        *out = OT_SCALING_NONE;
    else if (strcmp(name, "standard") == 0)
        *out = OT_SCALING_STANDARD;
    else if (strcmp(name, "minmax") == 0)
        *out = OT_SCALING_MINMAX;
    else {
        cli_error("--scale: unknown scaling '%s' (expected none, standard or "
                  "minmax)", name);
        return 0;
    }
    return 1;
}

int cli_train(int argc, char **argv)
{
    const char *data = "fashion-mnist", *val_data = NULL, *layers_spec = default_layers;
    const char *loss_name = default_loss, *save = NULL, *history_path = NULL;
    const char *plot_path = NULL, *resume = NULL, *label_columns = "-1";
    const char *scale_name = "none", *monitor = "val_loss", *save_best = NULL;
    const char *checkpoint = NULL;
    const ot_fit_config defaults = ot_fit_config_default();
    size_t batch = defaults.batch_size, epochs = defaults.epochs, shards = defaults.shards;
    size_t patience = 0, checkpoint_every = 1;
    double split = 0.2, min_delta = 0.0; /* the textbook's validation_split */
    int threads = defaults.threads, quiet = 0, no_shuffle = 0;
    const char *threads_spec = "auto";
    int early_stopping = 0, no_restore_best = 0;
    uint64_t seed = defaults.seed;
    opt_flags of = {default_optimizer, "constant", NAN, 0.0f, NAN, NAN, NAN, NAN, NAN,
                    0, 0, 0, 0, NAN, 10000, 10};
    const cli_opt opts[] = {
        {"--data", CLI_STRING, &data, "SPEC", "training data: fashion-mnist (Debian's dataset-fashion-mnist, or $OMPTRAIN_DATA), idx:DIR (MNIST-style files in DIR), csv:FILE or xor; under mpirun every rank reads the whole file", 0, 0, NULL},
        {"--validation-data", CLI_STRING, &val_data, "SPEC", "validation data instead of --validation-split (idx and fashion-mnist: the t10k files)", 0, 0, NULL},
        {"--validation-split", CLI_DOUBLE, &split, "F", "fraction of the training data held out, chosen by the seeded shuffle", 0, 0.99, NULL},
        {"--label-column", CLI_STRING, &label_columns, "N[,N...]", "csv: target column(s), 0-based, negative from the end", 0, 0, NULL},
        {"--scale", CLI_STRING, &scale_name, "KIND", "feature scaling fitted on the training part and saved in the model: none, standard, minmax", 0, 0, NULL},
        {"--layers", CLI_STRING, &layers_spec, "LIST", "layers: [flatten,]UNITS:ACTIVATION[:INITIALIZER],... (activations: linear relu sigmoid softmax tanh selu elu softplus gelu leaky_relu)", 0, 0, NULL},
        {"--loss", CLI_STRING, &loss_name, "NAME", "sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy, mse, mae, huber", 0, 0, NULL},
        {"--optimizer", CLI_STRING, &of.name, "NAME", "sgd, adam, adagrad, rmsprop, adadelta (Keras 3 defaults)", 0, 0, NULL},
        {"--lr", CLI_FLOAT, &of.lr, "RATE", "learning rate", 1e-12, 1e6, "sgd 0.01, others 0.001"},
        {"--momentum", CLI_FLOAT, &of.momentum, "M", "sgd, rmsprop: momentum in [0, 1)", 0, 0.999999, NULL},
        {"--nesterov", CLI_BOOL, &of.nesterov, NULL, "sgd: Nesterov momentum", 0, 0, NULL},
        {"--beta1", CLI_FLOAT, &of.beta1, "B", "adam: beta_1", 0, 0.999999, "0.9"},
        {"--beta2", CLI_FLOAT, &of.beta2, "B", "adam: beta_2", 0, 0.999999, "0.999"},
        {"--amsgrad", CLI_BOOL, &of.amsgrad, NULL, "adam: AMSGrad", 0, 0, NULL},
        {"--epsilon", CLI_FLOAT, &of.epsilon, "E", "adam, adagrad, rmsprop, adadelta: epsilon", 1e-30, 1, "1e-07"},
        {"--rho", CLI_FLOAT, &of.rho, "R", "rmsprop, adadelta: rho", 0, 0.999999, "rmsprop 0.9, adadelta 0.95"},
        {"--centered", CLI_BOOL, &of.centered, NULL, "rmsprop: centered", 0, 0, NULL},
        {"--initial-accumulator", CLI_FLOAT, &of.initial_accumulator, "A", "adagrad: initial accumulator", 0, 1e6, "0.1"},
        {"--lr-schedule", CLI_STRING, &of.schedule, "KIND", "constant, exponential (lr * rate^(step/decay-steps)) or step (lr * rate^floor(epoch/decay-epochs))", 0, 0, NULL},
        {"--decay-rate", CLI_DOUBLE, &of.decay_rate, "R", "schedule decay rate", 1e-9, 1e9, "exponential 0.96, step 0.5"},
        {"--decay-steps", CLI_SIZE, &of.decay_steps, "N", "exponential: steps per decay", 1, 1e12, NULL},
        {"--decay-epochs", CLI_SIZE, &of.decay_epochs, "N", "step: epochs per decay", 1, 1e9, NULL},
        {"--staircase", CLI_BOOL, &of.staircase, NULL, "exponential: decay in whole steps", 0, 0, NULL},
        {"--batch", CLI_SIZE, &batch, "N",
         "global batch size (more than the training samples: one batch of all of them, "
         "as in Keras)", 1, 1 << 24, NULL},
        {"--epochs", CLI_SIZE, &epochs, "N", "epochs (in all: with --resume, up to this epoch)", 1, 1000000, NULL},
        {"--no-shuffle", CLI_BOOL, &no_shuffle, NULL, "keep the training order", 0, 0, NULL},
        {"--early-stopping", CLI_BOOL, &early_stopping, NULL, "stop when --monitor stops improving", 0, 0, NULL},
        {"--monitor", CLI_STRING, &monitor, "NAME", "what early stopping and --save-best watch: val_loss, val_accuracy, val_mae, loss, accuracy, mae", 0, 0, NULL},
        {"--patience", CLI_SIZE, &patience, "N", "early stopping: epochs without improvement", 0, 1000000, NULL},
        {"--min-delta", CLI_DOUBLE, &min_delta, "D", "early stopping: smallest improvement", 0, 1e30, NULL},
        {"--no-restore-best", CLI_BOOL, &no_restore_best, NULL, "early stopping: keep the last weights, not the best", 0, 0, NULL},
        {"--save-best", CLI_STRING, &save_best, "FILE", "save the model whenever --monitor improves", 0, 0, NULL},
        {"--threads", CLI_STRING, &threads_spec, "N|auto", "OpenMP threads; auto: up to all cores, how many take part chosen while training from the step times, and changed when other programs take cores or give them back (elastic; the weights depend on the shards alone); N: exactly N", 0, 0, NULL},
        {"--shards", CLI_SIZE, &shards, "N", "shards per batch (under mpirun: of the whole job, rank r the block [rN/R, (r+1)N/R)); the weights depend on it, not on --threads or the ranks", 1, 65536, "the thread count (x the ranks)"},
        {"--seed", CLI_U64, &seed, "N", "seed of initialisation, split and shuffle", 0, 0, NULL},
        {"--resume", CLI_STRING, &resume, "FILE", "continue the run saved in FILE: architecture, loss, optimizer state, epoch and step come from it, and so do --batch, --shards, --seed, --epochs, --validation-split and --no-shuffle unless given", 0, 0, NULL},
        {"--checkpoint", CLI_STRING, &checkpoint, "FILE", "save the model here every --checkpoint-every epochs, and on SIGINT or SIGTERM", 0, 0, NULL},
        {"--checkpoint-every", CLI_SIZE, &checkpoint_every, "N", "epochs between checkpoints", 1, 1000000, NULL},
        {"--save", CLI_STRING, &save, "FILE", "save the trained model (atomically)", 0, 0, NULL},
        {"--history", CLI_STRING, &history_path, "FILE.csv", "write per-epoch metrics as CSV", 0, 0, NULL},
        {"--plot", CLI_STRING, &plot_path, "FILE.svg", "draw loss and metric curves per epoch as SVG", 0, 0, NULL},
        {"--quiet", CLI_BOOL, &quiet, NULL, "no progress output", 0, 0, NULL},
    };
    const size_t n_opts = sizeof opts / sizeof *opts;
    int seen[sizeof opts / sizeof *opts] = {0};
    int rc = cli_parse("train", "Train a model and report loss and metric per epoch. "
                       "SIGINT (Ctrl-C) or SIGTERM stops after the current step, saves "
                       "to --checkpoint (or --save) and exits with 128 + the signal. "
                       "`mpirun -np R omptrain train ...` trains over R ranks (rank 0 "
                       "prints and writes the files).",
                       opts, n_opts, argc, argv, seen);
    if (rc >= 0)
        return rc;

    ot_layer layers[MAX_LAYERS];
    size_t n_layers = 0;
    ot_loss loss;
    ot_optimizer_config oc;
    ot_scaling scaling;
    ot_monitor mon;
    if (resume && (layers_spec != default_layers || loss_name != default_loss ||
                   of.name != default_optimizer || optimizer_flags_given(&of))) {
        cli_error("--resume takes the architecture, loss and optimizer from the "
                  "model file: drop --layers, --loss, --optimizer and its flags");
        return CLI_USAGE;
    }
    if (!resume && !cli_parse_layers(layers_spec, layers, MAX_LAYERS, &n_layers))
        return CLI_USAGE;
    if (ot_loss_parse(loss_name, &loss) != OT_OK) {
        cli_error("--loss: %s", ot_last_error());
        return CLI_USAGE;
    }
    if (!optimizer_from_flags(&of, &oc) || !parse_scaling(scale_name, &scaling))
        return CLI_USAGE;
    if (!cli_check_columns(label_columns))
        return CLI_USAGE;
    if (ot_monitor_parse(monitor, &mon) != OT_OK) {
        cli_error("--monitor: %s", ot_last_error());
        return CLI_USAGE;
    }
    if (val_data != NULL)
        split = 0.0;
    int auto_threads = strcmp(threads_spec, "auto") == 0;
    if (!auto_threads) {
        char *end;
        long t = strtol(threads_spec, &end, 10);
        if (*end != '\0' || end == threads_spec || t < 1 || t > 1024) {
            cli_error("--threads: '%s' is not auto or a number in 1..1024", threads_spec);
            return CLI_USAGE;
        }
        threads = (int)t;
    }

    ot_dataset *train = NULL, *val = NULL;
    ot_model *model = NULL;
    ot_history *hist = NULL;
    if (resume) {
        if (ot_model_load(&model, resume) != OT_OK) {
            rc = cli_fail("--resume");
            goto setup_done;
        }
        if (ot_model_loss(model, &loss) != OT_OK) {
            cli_error("--resume: %s: the model was saved before it was compiled", resume);
            rc = CLI_FAILED;
            goto setup_done;
        }
        /* the interrupted run's settings, unless given again */
        ot_fit_config rcfg = ot_model_resume_config(model);
        if (!cli_given(opts, seen, n_opts, "--batch"))
            batch = rcfg.batch_size;
        if (!cli_given(opts, seen, n_opts, "--shards"))
            shards = rcfg.shards;
        if (!cli_given(opts, seen, n_opts, "--seed"))
            seed = rcfg.seed;
        if (!cli_given(opts, seen, n_opts, "--epochs"))
            epochs = rcfg.epochs;
        if (!cli_given(opts, seen, n_opts, "--validation-split") && val_data == NULL)
            split = rcfg.validation_split;
        if (!cli_given(opts, seen, n_opts, "--no-shuffle"))
            no_shuffle = !rcfg.shuffle;
    }
    int integer_labels = loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                         loss == OT_LOSS_CATEGORICAL_CROSSENTROPY;
    cli_data_options dopt = {"train", label_columns, integer_labels, 0};
    /* Under mpirun every rank loads, builds and calibrates for itself; they
     * go on together, or all stop with the first failure (cli_ranks_agree). */
    if ((rc = cli_load_data(data, &dopt, &train)) != CLI_OK)
        goto setup_done;
    dopt.split = "t10k";
    if (val_data && (rc = cli_load_data(val_data, &dopt, &val)) != CLI_OK)
        goto setup_done;
    rc = CLI_FAILED;
    if (!resume) {
        if (ot_model_create(&model, ot_dataset_dim(train), layers, n_layers, seed) != OT_OK) {
            cli_fail("--layers");
            goto setup_done;
        }
        if (ot_model_compile(model, loss, &oc) != OT_OK) {
            cli_fail(NULL);
            goto setup_done;
        }
    }
    rc = CLI_OK;
setup_done:
    if ((rc = cli_ranks_agree(rc)) != CLI_OK)
        goto done;
    rc = CLI_FAILED;
    cli_ranks_check_binding(threads ? threads : ot_default_threads());
    ot_fit_config fc = defaults;
    fc.batch_size = batch;
    fc.epochs = epochs;
    if (resume) /* --epochs counts from the start of the run */
        fc.initial_epoch = ot_model_epochs_trained(model);
    fc.validation_split = split;
    fc.validation_data = val;
    fc.shuffle = !no_shuffle;
    fc.threads = threads;
    fc.shards = shards;
    fc.seed = seed;
    fc.scaling = scaling;
    fc.early_stopping.enabled = early_stopping;
    fc.early_stopping.monitor = mon;
    fc.early_stopping.patience = patience;
    fc.early_stopping.min_delta = min_delta;
    fc.early_stopping.restore_best_weights = !no_restore_best;
    fc.best_model_path = save_best;
    fc.best_monitor = mon;
    fc.checkpoint_path = checkpoint;
    fc.checkpoint_every = checkpoint_every;
    fc.comm = cli_comm();
    /* under mpirun rank 0 may write to a pseudo-terminal that is a pipe at
     * the far end: one line an epoch */
    cli_progress prog = {isatty(STDOUT_FILENO) && cli_ranks() == 1, quiet, epochs, 0.0,
                         ot_loss_metric_name(loss)};
    fc.on_step = on_step;
    fc.on_epoch = cli_progress_epoch;
    fc.user = &prog;
    if (!quiet) {
        printf("omptrain %s: %zu samples of %zu features from %s%s; ", ot_version(),
               ot_dataset_size(train), ot_dataset_dim(train), data,
               strncmp(data, "csv:", 4) != 0      ? ""
               : ot_dataset_had_header(train) ? " (a header line, then the rows)"
                                              : " (no header line: every line a row)");
        printf("%zu", ot_model_input_dim(model));
        for (size_t i = 0; i < ot_model_layer_count(model); i++) {
            ot_layer l;
            ot_model_layer(model, i, &l);
            if (l.kind == OT_LAYER_DENSE)
                printf("-%zu", l.units);
        }
        /* what the library makes of 0 for either (threads: the same on
         * every rank here) */
        int t = threads ? threads : ot_default_threads();
        size_t s = shards ? shards : (size_t)t * (size_t)cli_ranks();
        ot_step_cut cut = OT_STEP_CUT_ROWS;
        ot_model_step_cut(model, batch, s, &cut);
        printf(" (%zu params), batch %zu, ", ot_model_param_count(model), batch);
        if (cli_ranks() > 1)
            printf("%d ranks x ", cli_ranks());
        printf("%s%d thread%s%s, %zu shards (steps cut by %s), seed %llu",
               auto_threads && t > 1 ? "up to " : "", t, t == 1 ? "" : "s",
               auto_threads && t > 1 ? " (elastic: as many as run fastest now)" : "", s,
               cut == OT_STEP_CUT_UNITS ? "units" : "rows", (unsigned long long)seed);
        if (resume && ot_model_steps_in_epoch(model) > 0)
            printf(", resuming %s at epoch %zu after step %zu", resume,
                   ot_model_epochs_trained(model) + 1, ot_model_steps_in_epoch(model));
        else if (resume)
            printf(", resuming %s after epoch %zu", resume,
                   ot_model_epochs_trained(model));
        printf("\n");
        fflush(stdout);
    }
    interrupted = 0;
    catch_signals(1);
    ot_status st = ot_model_fit(model, train, &fc, &hist);
    catch_signals(0);
    if (st != OT_OK)
        cli_fail("train");
    interrupted = -cli_ranks_min(-(int)interrupted); /* a signal to any rank */
    if (cli_rank() > 0) { /* rank 0 writes the files */
        rc = st == OT_OK ? CLI_OK : CLI_FAILED;
        goto done;
    }
    if (hist && ot_history_length(hist) > 0) {
        if (history_path && ot_history_write_csv(hist, history_path) != OT_OK) {
            cli_fail("--history");
            st = OT_IO_ERROR;
        }
        if (plot_path && ot_history_write_svg(hist, plot_path) != OT_OK) {
            cli_fail("--plot");
            st = OT_IO_ERROR;
        }
        if (!quiet && early_stopping && ot_history_best_epoch(hist) > 0)
            printf("early stopping: best epoch %zu%s\n", ot_history_best_epoch(hist),
                   no_restore_best ? "" : " (its weights are kept)");
    }
    if (st != OT_OK)
        goto done;
    if (interrupted) {
        const char *name = interrupted == SIGINT ? "SIGINT" : "SIGTERM";
        const char *where = checkpoint ? checkpoint : save;
        if (!prog.tty || quiet)
            fflush(stdout);
        else
            printf("\n");
        if (where == NULL) {
            cli_error("interrupted by %s at epoch %zu, step %zu: nothing saved "
                      "(give --checkpoint or --save to keep the run)", name,
                      ot_model_epochs_trained(model) + 1, ot_model_steps_in_epoch(model));
        } else if (ot_model_save(model, where) != OT_OK) {
            cli_fail("interrupted, and saving failed");
        } else {
            fprintf(stderr, "omptrain: interrupted by %s at epoch %zu, step %zu: "
                    "saved to %s; continue with: omptrain train --resume %s "
                    "(and the same --data)\n", name, ot_model_epochs_trained(model) + 1,
                    ot_model_steps_in_epoch(model), where, where);
        }
        rc = 128 + interrupted;
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
    rc = cli_ranks_agree(rc);
    ot_history_destroy(hist);
    ot_model_destroy(model);
    ot_dataset_destroy(val);
    ot_dataset_destroy(train);
    return rc;
}
