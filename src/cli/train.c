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

/* The first SIGINT or SIGTERM asks training to stop after the current step
 * (signals.c). */
static volatile sig_atomic_t interrupted;

static void on_signal(int signo) { interrupted = signo; }


static int on_step(const ot_step_metrics *s, void *user)
{
    cli_progress_step(s, user);
    return interrupted != 0;
}

/* Whether cli_train's flag was given (for cli_train_model_agrees). */
static const cli_opt *given_opts;
static const int *given_seen;

static int flag_given(const char *flag)
{
    return cli_given(given_opts, given_seen, CLI_TRAIN_FLAGS, flag);
}

int cli_train(int argc, char **argv)
{
    cli_train_flags tf;
    cli_train_flags_init(&tf);
    cli_opt opts[CLI_TRAIN_FLAGS];
    cli_train_flags_table(&tf, opts);
    const size_t n_opts = CLI_TRAIN_FLAGS;
    int seen[CLI_TRAIN_FLAGS] = {0};
    int rc = cli_parse("train", "Train a model and report loss and metric per epoch. "
                       "SIGINT (Ctrl-C) or SIGTERM stops after the current step, saves "
                       "to --checkpoint (or --save) and exits with 128 + the signal. "
                       "`mpirun -np R omptrain train ...` trains over R ranks (rank 0 "
                       "prints and writes the files).",
                       opts, n_opts, argc, argv, seen);
    if (rc >= 0)
        return rc;
    given_opts = opts;
    given_seen = seen;
    const char *data = tf.data, *val_data = tf.val_data, *resume = tf.resume;
    const char *save = tf.save, *history_path = tf.history, *plot_path = tf.plot;
    const char *checkpoint = tf.checkpoint, *label_columns = tf.label_columns;
    int quiet = tf.quiet;

    cli_train_setup su;
    if (!cli_train_setup_from(&tf, tf.resume != NULL, &su))
        return CLI_USAGE;
    ot_loss loss = su.loss;
    if (su.folds && (val_data || cli_given(opts, seen, n_opts, "--validation-split"))) {
        cli_error("--validation-fold: give it, --validation-split or --validation-data, "
                  "one of them");
        return CLI_USAGE;
    }
    const char *outputs[][2] = {{"--save", save}, {"--history", history_path},
                                {"--plot", plot_path}, {"--checkpoint", checkpoint},
                                {"--save-best", tf.save_best}};
    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; i++)
        if (outputs[i][1] && !cli_check_output(outputs[i][0], outputs[i][1]))
            return CLI_FAILED;
    if (!resume && tf.shards > tf.batch) {
        cli_error("--shards %zu for --batch %zu: at most one shard a sample", tf.shards,
                  tf.batch);
        return CLI_USAGE;
    }
    if (val_data != NULL && cli_given(opts, seen, n_opts, "--validation-split")) {
        cli_error("--validation-split and --validation-data: give one of them (the data is "
                  "validated on instead of a split)");
        return CLI_USAGE;
    }
    if (val_data != NULL)
        tf.split = 0.0;
    /* the textbook's XOR network learns its four samples: none held out */
    if (strcmp(data, "xor") == 0 && !cli_given(opts, seen, n_opts, "--validation-split"))
        tf.split = 0.0;
    int auto_threads = su.auto_threads, threads = su.threads;

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
        /* the command run again with --resume: its model flags must agree */
        if (!cli_train_model_agrees(&tf, &su, model, resume, flag_given)) {
            rc = CLI_USAGE;
            goto setup_done;
        }
        /* the interrupted run's settings, unless given again */
        ot_fit_config rcfg = ot_model_resume_config(model);
        if (!cli_given(opts, seen, n_opts, "--batch"))
            tf.batch = rcfg.batch_size;
        if (!cli_given(opts, seen, n_opts, "--shards"))
            tf.shards = rcfg.shards;
        if (!cli_given(opts, seen, n_opts, "--seed"))
            tf.seed = rcfg.seed;
        if (!cli_given(opts, seen, n_opts, "--epochs"))
            tf.epochs = rcfg.epochs;
        if (!cli_given(opts, seen, n_opts, "--validation-split") && val_data == NULL &&
            su.folds == 0) {
            tf.split = rcfg.validation_split;
            su.folds = rcfg.validation_folds;
            su.fold = rcfg.validation_fold;
        }
        if (!cli_given(opts, seen, n_opts, "--no-shuffle"))
            tf.no_shuffle = !rcfg.shuffle;
    }
    int integer_labels = loss == OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                         loss == OT_LOSS_CATEGORICAL_CROSSENTROPY;
    cli_data_options dopt = {"train", label_columns, integer_labels, 0, tf.stream,
                             tf.cache_dir};
    /* Under mpirun every rank loads, builds and calibrates for itself; they
     * go on together, or all stop with the first failure (cli_ranks_agree). */
    if ((rc = cli_load_data(data, &dopt, &train)) != CLI_OK)
        goto setup_done;
    dopt.split = "t10k";
    if (val_data && (rc = cli_load_data(val_data, &dopt, &val)) != CLI_OK)
        goto setup_done;
    rc = CLI_FAILED;
    if (!resume) {
        /* a model too large for the machine is refused before it is built */
        ot_fit_config pre = ot_fit_config_default();
        cli_train_fit_config(&tf, &su, &pre);
        size_t need = 0;
        if (ot_layers_fit_memory(ot_dataset_dim(train), su.layers, su.n_layers, &su.oc,
                                 ot_dataset_size(train), &pre, &need) != OT_OK) {
            cli_fail("--layers");
            goto setup_done;
        }
        if (ot_model_create(&model, ot_dataset_dim(train), su.layers, su.n_layers, tf.seed) !=
            OT_OK) {
            cli_fail("--layers");
            goto setup_done;
        }
        if (ot_model_compile(model, loss, &su.oc) != OT_OK) {
            cli_fail(NULL);
            goto setup_done;
        }
    }
    if (!cli_train_metrics(&tf, &su, model)) {
        rc = CLI_USAGE;
        goto setup_done;
    }
    rc = CLI_OK;
setup_done:
    if ((rc = cli_ranks_agree(rc)) != CLI_OK)
        goto done;
    rc = CLI_FAILED;
    cli_ranks_check_binding(threads ? threads : ot_default_threads());
    ot_fit_config fc = ot_fit_config_default();
    cli_train_fit_config(&tf, &su, &fc);
    if (resume) /* --epochs counts from the start of the run */
        fc.initial_epoch = ot_model_epochs_trained(model);
    fc.validation_data = val;
    fc.best_model_path = tf.save_best;
    fc.checkpoint_path = checkpoint;
    fc.checkpoint_every = tf.checkpoint_every;
    fc.comm = cli_comm();
    cli_progress prog = cli_progress_of(model, quiet, tf.epochs);
    fc.on_step = on_step;
    fc.on_epoch = cli_progress_epoch;
    fc.user = &prog;
    if (!quiet) {
        printf("omptrain %s: %zu samples of %zu features from %s%s; ", ot_version(),
               ot_dataset_size(train), ot_dataset_dim(train), data,
               ot_dataset_is_streamed(train)      ? " (streamed: the rows read as training "
                                                    "goes)"
               : strncmp(data, "csv:", 4) != 0    ? ""
               : ot_dataset_had_header(train) ? " (a header line, then the rows)"
                                              : " (no header line: every line a row)");
        /* the fit's own rule: ceil(split x N) held out */
        size_t N = ot_dataset_size(train);
        size_t held = fc.validation_folds ? 0 : (size_t)ceil(fc.validation_split * (double)N);
        if (val)
            printf("%zu train, %zu validate (%s); ", N, ot_dataset_size(val), val_data);
        else if (fc.validation_folds)
            printf("fold %zu of %zu validates; ", fc.validation_fold, fc.validation_folds);
        else
            printf("%zu train, %zu validate; ", N - held, held);
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
        size_t s = tf.shards ? tf.shards : (size_t)t * (size_t)cli_ranks();
        if (!tf.shards && s > tf.batch)
            s = tf.batch;
        ot_step_cut cut = OT_STEP_CUT_ROWS;
        ot_model_step_cut(model, tf.batch, s, &cut);
        size_t need = 0;
        ot_model_fit_memory(model, N, &fc, &need);
        printf(" (%zu params; the fit needs about %.0f MB), batch %zu, ",
               ot_model_param_count(model), ceil((double)need / 1e6), tf.batch);
        if (cli_ranks() > 1)
            printf("%d ranks x ", cli_ranks());
        printf("%s%d thread%s%s, %zu shard%s (steps cut by %s), seed %llu",
               auto_threads && t > 1 ? "up to " : "", t, t == 1 ? "" : "s",
               auto_threads && t > 1 ? " (elastic: as many as run fastest now)" : "", s,
               s == 1 ? "" : "s",
               cut == OT_STEP_CUT_UNITS ? "units" : "rows", (unsigned long long)tf.seed);
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
    cli_catch_signals(on_signal);
    ot_status st = ot_model_fit(model, train, &fc, &hist);
    cli_catch_signals(NULL);
    if (st != OT_OK)
        cli_fail("train");
    interrupted = -cli_ranks_min(-(int)interrupted); /* a signal to any rank */
    if (cli_rank() > 0) { /* rank 0 writes the files */
        rc = st == OT_OK ? CLI_OK : CLI_FAILED;
        goto done;
    }
    /* a side file that fails is said, and the model is saved all the same */
    const char *lost = NULL;
    if (hist && ot_history_length(hist) > 0) {
        if (history_path && ot_history_write_csv(hist, history_path) != OT_OK) {
            cli_fail("--history");
            lost = "--history";
        }
        if (plot_path && ot_history_write_svg(hist, plot_path) != OT_OK) {
            cli_fail("--plot");
            lost = lost ? "--history and --plot" : "--plot";
        }
        if (!quiet && tf.early_stopping && ot_history_best_epoch(hist) > 0)
            printf("early stopping: best epoch %zu%s\n", ot_history_best_epoch(hist),
                   tf.no_restore_best ? "" : " (its weights are kept)");
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
    if (lost) {
        cli_error("%s could not be written (above)%s", lost,
                  save ? "; the model is saved" : "");
        goto done;
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
