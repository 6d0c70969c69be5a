/*
 * cli.h - the omptrain command line: shared pieces of its commands. It uses
 * the public API only.
 */
#ifndef OT_CLI_H
#define OT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "omptrain.h"

/* Exit statuses. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2,
       CLI_INTERRUPTED = 130 /* 128 + SIGINT; 143 for SIGTERM */ };

typedef enum cli_kind {
    CLI_STRING, /* const char * */
    CLI_SIZE,   /* size_t, within [min, max] */
    CLI_INT,    /* int, within [min, max] */
    CLI_U64,    /* uint64_t */
    CLI_DOUBLE, /* double, within [min, max] */
    CLI_FLOAT,  /* float, within [min, max]; NaN default shows as "auto" */
    CLI_BOOL    /* int set to 1, no value */
} cli_kind;

typedef struct cli_opt {
    const char *name; /* "--epochs" */
    cli_kind kind;
    void *dest;       /* holds the default before parsing */
    const char *metavar;
    const char *help;
    double min, max;
    const char *default_text; /* shown instead of the value, when set */
} cli_opt;

/* The program's name in errors and help: "omptrain", unless a program that
 * borrows these parsers (bench) sets its own. */
extern const char *cli_program;

/* Parses argv[0..argc) against opts (command: "train", or NULL for a
 * program without commands); seen[i] (when not NULL) is set for
 * each option given. Returns -1 to go on, or an exit status (CLI_OK after
 * --help, CLI_USAGE after an error, already printed). */
int cli_parse(const char *command, const char *summary, const cli_opt *opts,
              size_t n_opts, int argc, char **argv, int *seen);

/* Parses one value v of the flag o into o->dest, checked against its kind
 * and range; 0 when bad (error printed). */
int cli_parse_value(const cli_opt *o, const char *v);

/* Whether the flag `name` of opts[0..n) was given (seen: from cli_parse). */
int cli_given(const cli_opt *opts, const int *seen, size_t n, const char *name);

/* A file written whole or not at all (outfile.c): cli_file_open makes a
 * temporary beside `path` (0 on failure, errno set); print into o->f;
 * cli_file_commit flushes, fsyncs and renames it over `path` with the mode
 * the umask allows (0 on failure, errno set, the previous file whole);
 * cli_file_abandon removes it. */
typedef struct cli_file {
    FILE *f;
    char *tmp;
    const char *path;
} cli_file;
int cli_file_open(cli_file *o, const char *path);
/* Whether `path` can be written (before a long run): not a folder or a
 * device, in a folder this process may write; else 0, the error printed
 * naming flag. */
int cli_check_output(const char *flag, const char *path);
int cli_file_commit(cli_file *o);
void cli_file_abandon(cli_file *o);

/* Prints "omptrain: error: <formatted>" (cli_program's name) to stderr,
 * unless cli_error_silent (a rank but the first: ranks.c); the text stays
 * in cli_last_error either way. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int cli_error_silent;
extern char cli_last_error[512];

/* omptrain under mpirun (ranks.c). cli_ranks_init, first thing in main:
 * when a launcher started this process, MPI is initialized, and every rank
 * but the first prints nothing (its errors reach rank 0 through
 * cli_ranks_agree); a build without MPI refuses to run as several ranks.
 * Returns -1 to go on, or an exit status. */
int cli_ranks_init(void);
void cli_ranks_finish(void);
int cli_rank(void);
int cli_ranks(void);
/* The communicator of the ranks for ot_fit_config.comm, NULL when one. */
const void *cli_comm(void);
/* Every rank's exit status so far (collective): the first failure in rank
 * order, whose message rank 0 prints when another rank had it. */
int cli_ranks_agree(int rc);
/* The least of every rank's v (collective). */
int cli_ranks_min(int v);
/* Rank 0 warns when some rank has fewer cores than threads (mpirun binds
 * each rank to one core when np <= 2). Collective. */
void cli_ranks_check_binding(int threads);

/* The first SIGINT or SIGTERM calls handler, a second ends the process
 * (signals.c); NULL: the default again. */
void cli_catch_signals(void (*handler)(int));

/* Prints the library's last error and returns CLI_FAILED. */
int cli_fail(const char *context);

/* How --data specs are read: the IDX split ("train" or "t10k") and, for
 * csv:FILE, the target columns and whether they are integer labels. */
typedef struct cli_data_options {
    const char *split;
    const char *label_columns; /* "-1", "3", "4,5,6" */
    int integer_labels;
    size_t features;           /* > 0: a CSV with exactly this many columns
                                  is read as features only (predict) */
    int stream;                /* --stream: idx data read as runs need it */
    const char *cache_dir;     /* --cache-dir, or NULL */
} cli_data_options;

/* Checks a --label-column list; 0 when bad (error printed). */
int cli_check_columns(const char *list);

/* Loads `spec`: fashion-mnist, idx:DIR, csv:FILE or xor. */
int cli_load_data(const char *spec, const cli_data_options *o, ot_dataset **out);

/* An 8-bit grayscale image (image.c). */
typedef struct cli_image {
    uint8_t *pixels; /* width x height, row by row; malloc'd */
    size_t width, height;
} cli_image;

/* Reads a PNG, JPEG or PGM file (told by its first bytes) as 8-bit gray:
 * colour by BT.709 luma, transparency over white; 0 when it cannot (error
 * printed, naming the file): not an image, cut short, 0 x 0, more than 64
 * megapixels declared (refused before decoding), or a format this build
 * has no library for. */
int cli_image_read(const char *path, cli_image *img);
void cli_image_free(cli_image *img);
/* src resized to w x h into out: each pixel the mean of its box when
 * shrinking (cv.resize's INTER_AREA), bilinear when enlarging. */
void cli_image_resize(const cli_image *src, size_t w, size_t h, uint8_t *out);
/* Writes gray pixels (w x h) atomically as PNG (a .png path) or PGM; 0 on
 * failure (error printed). */
int cli_image_write(const char *path, const uint8_t *gray, size_t w, size_t h);

/* gray (w x h) as a PNG file's bytes in memory (*out malloc'd); 0 when
 * this build has no libpng, or out of memory. */
int cli_png_encode(const uint8_t *gray, size_t w, size_t h, unsigned char **out, size_t *len);

/* Class names: "fashion-mnist", "mnist" or "a,b,c" into names (at most
 * max, pointers into a static copy); the count, or 0 when bad (error
 * printed). NULL spec: 0 names, no error. */
size_t cli_class_names(const char *spec, const char **names, size_t max);

/* Parses "100:relu,10:softmax" into layers (at most `max`). */
int cli_parse_layers(const char *spec, ot_layer *layers, size_t max,
                     size_t *n);

/* Per-step and per-epoch progress printing (Keras-like). */
typedef struct cli_progress {
    int tty, quiet;
    size_t epochs;
    double last_draw;
    size_t n_metrics;
    const char *metrics[OT_METRICS_MAX]; /* their names */
} cli_progress;

/* The progress of a fit of m, printed unless quiet. */
cli_progress cli_progress_of(const ot_model *m, int quiet, size_t epochs);

int cli_progress_step(const ot_step_metrics *s, void *user);
int cli_progress_epoch(const ot_epoch_metrics *e, void *user);

/* Writes the CLI_EVAL_FLAGS flags that evaluate and predict share
 * (--batch, --threads, --shards, --max-memory) at opts, parsed into *ec,
 * which holds the library's defaults (ot_eval_config_default) until then,
 * and *max_memory (GB, 0 until given). */
enum { CLI_EVAL_FLAGS = 6 };
void cli_eval_flags(cli_opt *opts, ot_eval_config *ec, double *max_memory, int *stream,
                    const char **cache_dir);
/* --max-memory GB: the library's limit on what a data file may take (0:
 * its default). */
void cli_set_max_memory(double gb);

/* The flags of `omptrain train` (train_flags.c), which search takes too:
 * their values, the table over them, and what they make. */
typedef struct cli_opt_flags {
    const char *name, *schedule;
    float lr, momentum, beta1, beta2, epsilon, rho, initial_accumulator;
    int nesterov, amsgrad, centered, staircase;
    double decay_rate;
    size_t decay_steps, decay_epochs;
} cli_opt_flags;

typedef struct cli_train_flags {
    const char *data, *val_data, *layers, *loss, *save, *history, *plot, *resume,
        *label_columns, *scale, *monitor, *save_best, *checkpoint, *threads, *fold,
        *cache_dir, *class_weight, *metrics;
    size_t batch, epochs, shards, patience, checkpoint_every;
    double split, min_delta, max_memory; /* max_memory: GB, 0 the library's */
    int quiet, no_shuffle, early_stopping, no_restore_best, stream;
    uint64_t seed;
    cli_opt_flags of;
} cli_train_flags;

enum { CLI_TRAIN_FLAGS = 48, CLI_MAX_LAYERS = 64, CLI_MAX_CLASS_WEIGHTS = 4096 };

/* The defaults: the textbook's run. */
void cli_train_flags_init(cli_train_flags *f);
/* Writes the CLI_TRAIN_FLAGS flags over *f at opts. */
void cli_train_flags_table(cli_train_flags *f, cli_opt *opts);

typedef struct cli_train_setup {
    ot_layer layers[CLI_MAX_LAYERS];
    size_t n_layers;
    ot_loss loss;
    ot_optimizer_config oc;
    ot_scaling scaling;
    ot_monitor monitor;        /* cli_train_monitor's, once the model is made */
    ot_metric metrics[OT_METRICS_MAX]; /* --metrics, n_metrics of them (0: the loss's) */
    size_t n_metrics;
    int threads, auto_threads; /* threads 0 with auto */
    size_t folds, fold;        /* --validation-fold I/K: fold I of K, else 0 */
    float class_w[CLI_MAX_CLASS_WEIGHTS]; /* --class-weight, n_class_w of them */
    size_t n_class_w;
} cli_train_setup;

/* What the flags make (resuming: not the optimizer, the file's); 0 on a bad value
 * (error printed). */
int cli_train_setup_from(const cli_train_flags *f, int resuming, cli_train_setup *s);
/* Whether the --layers, --loss, --optimizer and optimizer flags given
 * (given(flag): whether it was; su: what they make) agree with the model
 * file at path; else 0, the first difference named with both values. */
int cli_train_model_agrees(const cli_train_flags *f, const cli_train_setup *su,
                           const ot_model *m, const char *path, int (*given)(const char *));
/* Sets the model's --metrics (when given) and resolves --monitor against
 * them into su->monitor; 0 on a monitor the model does not report (error
 * printed). */
int cli_train_metrics(const cli_train_flags *f, cli_train_setup *su, ot_model *m);
/* Parses a comma-separated list of Keras metric names for `flag`; 0 on a
 * bad list (error printed). */
int cli_parse_metrics(const char *flag, const char *list, ot_metric *out, size_t *n);
/* Whether a model is a classifier: a cross-entropy, or an accuracy among
 * its metrics (mse on one-hot digits, the textbook's). */
int cli_is_classifier(const ot_model *m);
/* Sets the fit config's fields that the flags give (batch, epochs, split
 * or fold, shuffle, threads, shards, seed, scaling, early stopping). */
void cli_train_fit_config(const cli_train_flags *f, const cli_train_setup *s,
                          ot_fit_config *fc);

int cli_train(int argc, char **argv);
int cli_search(int argc, char **argv);
int cli_evaluate(int argc, char **argv);
int cli_summary(int argc, char **argv);
int cli_predict(int argc, char **argv);

/* predict --image: each file's class and top probabilities. */
typedef struct cli_predict_images_args {
    const char *const *paths;
    size_t n;
    const char *size;        /* --image-size WxH, or NULL: square */
    int invert;              /* --invert: 255 - pixel */
    const char *class_names; /* --class-names, or NULL */
    const char *save_input;  /* --save-input DIR: what the model saw, as PGM */
} cli_predict_images_args;
int cli_predict_images(const ot_model *m, const cli_predict_images_args *a);
int cli_show(int argc, char **argv);
/* The throughput suite (bench/bench.c) over the flags argv[0..argc):
 * `command` is "bench" under omptrain (its help and errors say `omptrain
 * bench`), NULL for the program `bench`. Returns the exit status. */
int bench_main(const char *command, int argc, char **argv);

#endif
