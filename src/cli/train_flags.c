/*
 * train_flags.c - the flags of `omptrain train` (cli.h), which `omptrain
 * search` takes too and its grid sets per candidate: their table over a
 * cli_train_flags, and the layers, loss, optimizer and fit settings they
 * make.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char default_layers[] = "100:relu,10:softmax";
static const char default_loss[] = "sparse_categorical_crossentropy";
static const char default_optimizer[] = "adam";

void cli_train_flags_init(cli_train_flags *f)
{
    const ot_fit_config d = ot_fit_config_default();
    *f = (cli_train_flags){
        .data = "fashion-mnist", .layers = default_layers, .loss = default_loss,
        .label_columns = "-1", .scale = "none", .monitor = "val_loss", .threads = "auto",
        .batch = d.batch_size, .epochs = d.epochs, .shards = d.shards, .checkpoint_every = 1,
        .split = 0.2, /* the textbook's validation_split */
        .seed = d.seed,
        .of = {default_optimizer, "constant", NAN, 0.0f, NAN, NAN, NAN, NAN, NAN, 0, 0, 0, 0,
               NAN, 10000, 10},
    };
}

void cli_train_flags_table(cli_train_flags *f, cli_opt *opts)
{
    const cli_opt t[CLI_TRAIN_FLAGS] = {
        {"--data", CLI_STRING, &f->data, "SPEC", "training data: fashion-mnist (Debian's dataset-fashion-mnist, or $OMPTRAIN_DATA), idx:DIR (MNIST-style files in DIR), csv:FILE or xor; under mpirun every rank reads the whole file, or with --stream the rows its shards need (all of them where steps are cut by units)", 0, 0, NULL},
        {"--validation-data", CLI_STRING, &f->val_data, "SPEC", "validation data instead of --validation-split (idx and fashion-mnist: the t10k files)", 0, 0, NULL},
        {"--validation-fold", CLI_STRING, &f->fold, "I/K", "validate on fold I (0-based) of K-fold cross-validation instead (scikit-learn's StratifiedKFold for labels, KFold for targets, no shuffling): the split I that omptrain search --cv K scores", 0, 0, "none"},
        {"--validation-split", CLI_DOUBLE, &f->split, "F", "fraction of the training data held out, chosen by the seeded shuffle", 0, 0.99, "0.2; 0 for xor, whose 4 samples all train"},
        {"--max-memory", CLI_DOUBLE, &f->max_memory, "GB", "the most memory a data file may take (one whose header declares more is refused before it is read: a gzip bomb) and the fit (its need estimated before anything is allocated, and said in the start line)", 1e-6, 1e6, "files: half the machine's; the fit: all of it"},
        {"--stream", CLI_BOOL, &f->stream, NULL, "read the data as the run goes instead of whole: idx and fashion-mnist images by offset (a .gz once decompressed into --cache-dir), csv through a binary copy of its parsed rows made once in --cache-dir; a few MB of memory beside the labels whatever the size, the same results", 0, 0, NULL},
        {"--cache-dir", CLI_STRING, &f->cache_dir, "DIR", "where --stream keeps its copies (decompressed IDX, parsed CSV)", 0, 0, "$XDG_CACHE_HOME/omptrain, or ~/.cache/omptrain"},
        {"--label-column", CLI_STRING, &f->label_columns, "N[,N...]", "csv: target column(s), 0-based, negative from the end", 0, 0, NULL},
        {"--class-weight", CLI_STRING, &f->class_weight, "W,W,...", "Keras' class_weight: each training sample's loss times its class's weight, one per class (cross-entropies)", 0, 0, "none"},
        {"--scale", CLI_STRING, &f->scale, "KIND", "feature scaling fitted on the training part and saved in the model: none, standard, minmax", 0, 0, NULL},
        {"--layers", CLI_STRING, &f->layers, "LIST", "layers: [flatten,]UNITS:ACTIVATION[:INITIALIZER],... (activations: linear relu sigmoid softmax tanh selu elu softplus gelu leaky_relu)", 0, 0, NULL},
        {"--loss", CLI_STRING, &f->loss, "NAME", "sparse_categorical_crossentropy, categorical_crossentropy, binary_crossentropy, mse, mae, huber", 0, 0, NULL},
        {"--optimizer", CLI_STRING, &f->of.name, "NAME", "sgd, adam, adagrad, rmsprop, adadelta (Keras 3 defaults)", 0, 0, NULL},
        {"--lr", CLI_FLOAT, &f->of.lr, "RATE", "learning rate", 1e-12, 1e6, "sgd 0.01, others 0.001"},
        {"--momentum", CLI_FLOAT, &f->of.momentum, "M", "sgd, rmsprop: momentum in [0, 1)", 0, 0.999999, NULL},
        {"--nesterov", CLI_BOOL, &f->of.nesterov, NULL, "sgd: Nesterov momentum", 0, 0, NULL},
        {"--beta1", CLI_FLOAT, &f->of.beta1, "B", "adam: beta_1", 0, 0.999999, "0.9"},
        {"--beta2", CLI_FLOAT, &f->of.beta2, "B", "adam: beta_2", 0, 0.999999, "0.999"},
        {"--amsgrad", CLI_BOOL, &f->of.amsgrad, NULL, "adam: AMSGrad", 0, 0, NULL},
        {"--epsilon", CLI_FLOAT, &f->of.epsilon, "E", "adam, adagrad, rmsprop, adadelta: epsilon", 1e-30, 1, "1e-07"},
        {"--rho", CLI_FLOAT, &f->of.rho, "R", "rmsprop, adadelta: rho", 0, 0.999999, "rmsprop 0.9, adadelta 0.95"},
        {"--centered", CLI_BOOL, &f->of.centered, NULL, "rmsprop: centered", 0, 0, NULL},
        {"--initial-accumulator", CLI_FLOAT, &f->of.initial_accumulator, "A", "adagrad: initial accumulator", 0, 1e6, "0.1"},
        {"--lr-schedule", CLI_STRING, &f->of.schedule, "KIND", "constant, exponential (lr * rate^(step/decay-steps)) or step (lr * rate^floor(epoch/decay-epochs))", 0, 0, NULL},
        {"--decay-rate", CLI_DOUBLE, &f->of.decay_rate, "R", "schedule decay rate", 1e-9, 1e9, "exponential 0.96, step 0.5"},
        {"--decay-steps", CLI_SIZE, &f->of.decay_steps, "N", "exponential: steps per decay", 1, 1e12, NULL},
        {"--decay-epochs", CLI_SIZE, &f->of.decay_epochs, "N", "step: epochs per decay", 1, 1e9, NULL},
        {"--staircase", CLI_BOOL, &f->of.staircase, NULL, "exponential: decay in whole steps", 0, 0, NULL},
        {"--batch", CLI_SIZE, &f->batch, "N",
         "global batch size (more than the training samples: one batch of all of them, "
         "as in Keras)", 1, 1 << 24, NULL},
        {"--epochs", CLI_SIZE, &f->epochs, "N", "epochs (in all: with --resume, up to this epoch)", 1, 1000000, NULL},
        {"--no-shuffle", CLI_BOOL, &f->no_shuffle, NULL, "keep the training order", 0, 0, NULL},
        {"--early-stopping", CLI_BOOL, &f->early_stopping, NULL, "stop when --monitor stops improving", 0, 0, NULL},
        {"--metrics", CLI_STRING, &f->metrics, "LIST", "what is reported with the loss, whatever the loss (Keras' compile(metrics=...)): accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy, mae, mse, rmse, mape, separated by commas; saved with the model", 0, 0, "the loss's: accuracy for the cross-entropies, else mae"},
        {"--monitor", CLI_STRING, &f->monitor, "NAME", "what early stopping and --save-best watch: loss or one of the metrics, with val_ for its validation value (val_loss, val_accuracy, mae, ...)", 0, 0, NULL},
        {"--patience", CLI_SIZE, &f->patience, "N", "early stopping: epochs without improvement", 0, 1000000, NULL},
        {"--min-delta", CLI_DOUBLE, &f->min_delta, "D", "early stopping: smallest improvement", 0, 1e30, NULL},
        {"--no-restore-best", CLI_BOOL, &f->no_restore_best, NULL, "early stopping: keep the last weights, not the best", 0, 0, NULL},
        {"--save-best", CLI_STRING, &f->save_best, "FILE", "save the model whenever --monitor improves", 0, 0, NULL},
        {"--threads", CLI_STRING, &f->threads, "N|auto", "OpenMP threads; auto: up to all cores, how many take part chosen while training from the step times, and changed when other programs take cores or give them back (elastic; the weights depend on the shards alone); N: exactly N", 0, 0, NULL},
        {"--shards", CLI_SIZE, &f->shards, "N", "shards per batch (under mpirun: of the whole job, rank r the block [rN/R, (r+1)N/R)); the weights depend on it, not on --threads or the ranks", 1, 65536, "the thread count (x the ranks), at most --batch"},
        {"--seed", CLI_U64, &f->seed, "N", "seed of initialisation, split and shuffle", 0, 0, NULL},
        {"--resume", CLI_STRING, &f->resume, "FILE", "continue the run saved in FILE: architecture, loss, optimizer state, epoch and step come from it, and so do --batch, --shards, --seed, --epochs, --validation-split and --no-shuffle unless given; --layers, --loss and the optimizer's flags may be given again when they agree with it", 0, 0, NULL},
        {"--checkpoint", CLI_STRING, &f->checkpoint, "FILE", "save the model here every --checkpoint-every epochs, and on SIGINT or SIGTERM", 0, 0, NULL},
        {"--checkpoint-every", CLI_SIZE, &f->checkpoint_every, "N", "epochs between checkpoints", 1, 1000000, NULL},
        {"--save", CLI_STRING, &f->save, "FILE", "save the trained model (atomically)", 0, 0, NULL},
        {"--history", CLI_STRING, &f->history, "FILE.csv", "write per-epoch metrics as CSV", 0, 0, NULL},
        {"--plot", CLI_STRING, &f->plot, "FILE.svg", "draw loss and metric curves per epoch as SVG", 0, 0, NULL},
        {"--quiet", CLI_BOOL, &f->quiet, NULL, "no progress output", 0, 0, NULL},
    };
    for (int i = 0; i < CLI_TRAIN_FLAGS; i++)
        opts[i] = t[i];
}

/* Builds the optimizer config from the flags; 0 on a flag that does not
 * apply (error printed). */

static int optimizer_from_flags(const cli_opt_flags *f, ot_optimizer_config *out)
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

static void layers_text(const ot_layer *l, size_t n, char *buf, size_t size)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < size; i++)
        at += (size_t)(l[i].kind == OT_LAYER_FLATTEN
                           ? snprintf(buf + at, size - at, "%sflatten", i ? "," : "")
                           : snprintf(buf + at, size - at, "%s%zu:%s:%s", i ? "," : "",
                                      l[i].units, ot_activation_name(l[i].activation),
                                      ot_initializer_name(l[i].initializer)));
}

int cli_train_model_agrees(const cli_train_flags *f, const cli_train_setup *su,
                           const ot_model *m, const char *path, int (*given)(const char *))
{
    if (given("--layers")) {
        ot_layer have[CLI_MAX_LAYERS];
        size_t n = ot_model_layer_count(m);
        for (size_t i = 0; i < n && i < CLI_MAX_LAYERS; i++)
            ot_model_layer(m, i, &have[i]);
        ot_layer given[CLI_MAX_LAYERS];
        for (size_t i = 0; i < su->n_layers; i++) {
            given[i] = su->layers[i];
            if (given[i].initializer == OT_INIT_AUTO) /* as the model resolves it */
                given[i].initializer = given[i].activation == OT_ACTIVATION_SELU
                                           ? OT_INIT_LECUN_NORMAL
                                           : OT_INIT_GLOROT_UNIFORM;
        }
        char a[1024], b[1024];
        layers_text(have, n, a, sizeof a);
        layers_text(given, su->n_layers, b, sizeof b);
        if (strcmp(a, b) != 0) {
            cli_error("--resume: %s has --layers %s, the command %s", path, a, b);
            return 0;
        }
    }
    ot_loss loss;
    if (given("--loss") && ot_model_loss(m, &loss) == OT_OK && loss != su->loss) {
        cli_error("--resume: %s has --loss %s, the command %s", path, ot_loss_name(loss),
                  ot_loss_name(su->loss));
        return 0;
    }
    ot_metric have[OT_METRICS_MAX];
    size_t n_have = ot_model_metrics(m, have, OT_METRICS_MAX);
    if (given("--metrics") && (n_have != su->n_metrics ||
                               memcmp(have, su->metrics, n_have * sizeof *have) != 0)) {
        char list[256] = "";
        for (size_t k = 0; k < n_have; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? "," : "",
                     ot_metric_name(have[k]));
        cli_error("--resume: %s has --metrics %s, the command %s", path, list, f->metrics);
        return 0;
    }
    ot_optimizer_config c;
    if (ot_model_optimizer(m, &c) != OT_OK)
        return 1;
    const cli_opt_flags *o = &f->of;
    ot_optimizer_kind kind = c.kind;
    ot_optimizer_parse(o->name, &kind);
    int sched = strcmp(o->schedule, "exponential") == 0 ? OT_SCHEDULE_EXPONENTIAL
                : strcmp(o->schedule, "step") == 0      ? OT_SCHEDULE_STEP
                                                        : OT_SCHEDULE_CONSTANT;
    /* the flags given, each against the file's value */
    const struct { const char *flag; double have, given; } v[] = {
        {"--optimizer", c.kind, kind}, {"--lr", c.learning_rate, o->lr},
        {"--momentum", c.momentum, o->momentum}, {"--nesterov", c.nesterov, 1},
        {"--beta1", c.beta1, o->beta1}, {"--beta2", c.beta2, o->beta2},
        {"--epsilon", c.epsilon, o->epsilon}, {"--amsgrad", c.amsgrad, 1},
        {"--rho", c.rho, o->rho}, {"--centered", c.centered, 1},
        {"--initial-accumulator", c.initial_accumulator, o->initial_accumulator},
        {"--lr-schedule", c.schedule.kind, sched},
        {"--decay-rate", c.schedule.decay_rate, o->decay_rate},
        {"--decay-steps", (double)c.schedule.decay_steps, (double)o->decay_steps},
        {"--decay-epochs", (double)c.schedule.decay_epochs, (double)o->decay_epochs},
        {"--staircase", c.schedule.staircase, 1},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        if (!given(v[i].flag) || v[i].have == v[i].given)
            continue;
        if (i == 0)
            cli_error("--resume: %s has --optimizer %s, the command %s", path,
                      ot_optimizer_name(c.kind), ot_optimizer_name(kind));
        else
            cli_error("--resume: %s has %s %g, the command %g (the optimizer's settings come "
                      "from the file: give the same, or none)", path, v[i].flag, v[i].have,
                      v[i].given);
        return 0;
    }
    return 1;
}

int cli_parse_metrics(const char *flag, const char *list, ot_metric *out, size_t *n)
{
    *n = 0;
    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(len < sizeof name ? len : sizeof name - 1), p);
        if (*n == OT_METRICS_MAX) {
            cli_error("%s: '%s' names more than %d metrics", flag, list, OT_METRICS_MAX);
            return 0;
        }
        if (len == 0 || len >= sizeof name || ot_metric_parse(name, &out[*n]) != OT_OK) {
            cli_error("%s: '%.*s' is not a metric (accuracy, binary_accuracy, "
                      "categorical_accuracy, sparse_categorical_accuracy, "
                      "top_k_categorical_accuracy, mae, mse, rmse, mape)", flag, (int)len, p);
            return 0;
        }
        for (size_t k = 0; k < *n; k++)
            if (out[k] == out[*n]) {
                cli_error("%s: %s is given twice", flag, ot_metric_name(out[k]));
                return 0;
            }
        ++*n;
        p += len + (p[len] == ',');
        if (p[-1] == ',' && *p == '\0') {
            cli_error("%s: '%s' ends with a comma", flag, list);
            return 0;
        }
    }
    if (*n == 0) {
        cli_error("%s: an empty list", flag);
        return 0;
    }
    return 1;
}

int cli_is_classifier(const ot_model *m)
{
    ot_loss loss;
    if (ot_model_loss(m, &loss) != OT_OK || loss <= OT_LOSS_BINARY_CROSSENTROPY)
        return 1;
    ot_metric have[OT_METRICS_MAX];
    size_t n = ot_model_metrics(m, have, OT_METRICS_MAX);
    for (size_t k = 0; k < n; k++)
        if (ot_metric_higher_is_better(have[k])) /* the accuracies */
            return 1;
    return 0;
}

int cli_train_metrics(const cli_train_flags *f, cli_train_setup *su, ot_model *m)
{
    if (su->n_metrics > 0 && ot_model_set_metrics(m, su->metrics, su->n_metrics) != OT_OK) {
        cli_error("--metrics: %s", ot_last_error());
        return 0;
    }
    if (ot_model_monitor_parse(m, f->monitor, &su->monitor) != OT_OK) {
        cli_error("--monitor: %s", ot_last_error());
        return 0;
    }
    return 1;
}

int cli_train_setup_from(const cli_train_flags *f, int resuming, cli_train_setup *s)
{
    memset(s, 0, sizeof *s);
    if (!cli_parse_layers(f->layers, s->layers, CLI_MAX_LAYERS, &s->n_layers))
        return 0;
    if (ot_loss_parse(f->loss, &s->loss) != OT_OK) {
        cli_error("--loss: %s", ot_last_error());
        return 0;
    }
    /* resuming, the optimizer is the file's: its flags are checked against it */
    if ((!resuming && !optimizer_from_flags(&f->of, &s->oc)) ||
        !parse_scaling(f->scale, &s->scaling))
        return 0;
    if (!cli_check_columns(f->label_columns))
        return 0;
    if (f->metrics != NULL && !cli_parse_metrics("--metrics", f->metrics, s->metrics,
                                                 &s->n_metrics))
        return 0;
    /* --monitor: loss or a metric name here, one of the model's once it is made */
    const char *mon = strncmp(f->monitor, "val_", 4) == 0 ? f->monitor + 4 : f->monitor;
    ot_metric metric;
    if (strcmp(mon, "loss") != 0 && ot_metric_parse(mon, &metric) != OT_OK) {
        cli_error("--monitor: '%s' is not loss, a metric, or either with val_", f->monitor);
        return 0;
    }
    if (ot_monitor_parse(f->monitor, &s->monitor) != OT_OK)
        s->monitor = OT_MONITOR_VAL_LOSS; /* cli_train_metrics resolves it */
    for (const char *p = f->class_weight; p != NULL && *p;) {
        char *end;
        float w = strtof(p, &end);
        if (end == p || (*end != ',' && *end != '\0') || !(w >= 0.0f) || !isfinite(w) ||
            s->n_class_w == CLI_MAX_CLASS_WEIGHTS) {
            cli_error("--class-weight: '%s' is not a list of weights >= 0 (at most %d)",
                      f->class_weight, CLI_MAX_CLASS_WEIGHTS);
            return 0;
        }
        s->class_w[s->n_class_w++] = w;
        p = *end ? end + 1 : end;
    }
    if (f->class_weight != NULL && s->n_class_w == 0) {
        cli_error("--class-weight: an empty list");
        return 0;
    }
    if (f->fold != NULL) {
        char *end;
        unsigned long long i = strtoull(f->fold, &end, 10), k = 0;
        if (end != f->fold && *end == '/' && end[1] != '\0')
            k = strtoull(end + 1, &end, 10);
        if (f->fold[0] < '0' || f->fold[0] > '9' || *end != '\0' || k < 2 || k > 65535 ||
            i >= k) {
            cli_error("--validation-fold: '%s' is not I/K with 2 <= K <= 65535 and "
                      "0 <= I < K", f->fold);
            return 0;
        }
        s->fold = (size_t)i;
        s->folds = (size_t)k;
    }
    cli_set_max_memory(f->max_memory);
    s->auto_threads = strcmp(f->threads, "auto") == 0;
    if (!s->auto_threads) {
        char *end;
        long t = strtol(f->threads, &end, 10);
        if (*end != '\0' || end == f->threads || t < 1 || t > 1024) {
            cli_error("--threads: '%s' is not auto or a number in 1..1024", f->threads);
            return 0;
        }
        s->threads = (int)t;
    }
    return 1;
}

void cli_train_fit_config(const cli_train_flags *f, const cli_train_setup *s,
                          ot_fit_config *fc)
{
    fc->batch_size = f->batch;
    fc->epochs = f->epochs;
    fc->validation_split = s->folds ? 0.0 : f->split;
    fc->validation_folds = s->folds;
    fc->validation_fold = s->fold;
    fc->shuffle = !f->no_shuffle;
    fc->threads = s->threads;
    fc->shards = f->shards;
    fc->seed = f->seed;
    fc->scaling = s->scaling;
    fc->early_stopping.enabled = f->early_stopping;
    fc->early_stopping.monitor = s->monitor;
    fc->early_stopping.patience = f->patience;
    fc->early_stopping.min_delta = f->min_delta;
    fc->early_stopping.restore_best_weights = !f->no_restore_best;
    fc->best_monitor = s->monitor;
    fc->class_weight = s->n_class_w ? s->class_w : NULL;
    fc->class_weights = s->n_class_w;
}
