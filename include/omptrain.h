/*
 * omptrain.h - the whole public API of omptrain, a data-parallel trainer for
 * multilayer perceptrons (Keras-style Sequential stacks of Dense layers) on
 * the cores of one machine.
 *
 * Conventions
 *  - Every fallible function returns an ot_status (OT_OK is 0). On failure,
 *    ot_last_error() gives a message saying what went wrong and where.
 *  - Handles are opaque. Each *_create / *_load has a *_destroy that accepts
 *    NULL. The caller owns every handle it creates.
 *  - Config structs come from *_default() functions holding Keras' defaults:
 *    set only the fields you change.
 *  - The library never prints to stdout, never exits, and never changes the
 *    caller's OpenMP settings.
 *
 * Thread safety
 *  - ot_model: one model must not be used by two calls at the same time.
 *    Different models may be used from different caller threads at once.
 *  - ot_dataset: read-only once created; one dataset may be shared by any
 *    number of concurrent fit / evaluate calls.
 *  - ot_history: read-only once returned.
 *  - ot_last_error(): per calling thread.
 *
 * Each function says "since" the version it appeared in.
 */
#ifndef OMPTRAIN_H
#define OMPTRAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "omptrain_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(OT_BUILDING_LIBRARY) && defined(__GNUC__)
#define OT_API __attribute__((visibility("default")))
#else
#define OT_API
#endif

/* ------------------------------------------------------------------------ */
/* Statuses and errors                                                      */

/** X-macro list of every status: name, value, description. */
#define OT_STATUS_MAP(X)                                                      \
    X(OK, 0, "success")                                                       \
    X(INVALID_ARGUMENT, 1, "invalid argument")                                \
    X(INVALID_STATE, 2, "invalid state")                                      \
    X(OUT_OF_MEMORY, 3, "out of memory")                                      \
    X(IO_ERROR, 4, "input/output error")                                      \
    X(BAD_FORMAT, 5, "bad file format")                                       \
    X(BACKEND_ERROR, 6, "oneDNN error")                                       \
    X(NON_FINITE, 7, "non-finite value")

/** Status of every fallible call. */
typedef enum ot_status {
#define OT_STATUS_ENUM_(name, value, text) OT_##name = value,
    OT_STATUS_MAP(OT_STATUS_ENUM_)
#undef OT_STATUS_ENUM_
} ot_status;

/** Short description of a status ("invalid argument"). Since 0.1. */
OT_API const char *ot_status_str(ot_status status);

/**
 * The message of the last failed call on this thread, naming what and where
 * ("train-images-idx3-ubyte.gz: bad magic 0x00000000, expected 0x00000803").
 * Valid until the next omptrain call on this thread. Never NULL. Since 0.1.
 */
OT_API const char *ot_last_error(void);

/** The library's version string ("0.1.0"), for run-time checks. Since 0.1. */
OT_API const char *ot_version(void);

/* ------------------------------------------------------------------------ */
/* Layers and models                                                        */

/** Activation of a Dense layer. */
typedef enum ot_activation {
    OT_ACTIVATION_LINEAR = 0, /**< none: y = x */
    OT_ACTIVATION_RELU = 1,
    OT_ACTIVATION_SIGMOID = 2,
    OT_ACTIVATION_SOFTMAX = 3 /**< last layer only, with a cross-entropy loss */
} ot_activation;

/** Keras' name of an activation ("relu"); NULL if out of range. Since 0.1. */
OT_API const char *ot_activation_name(ot_activation activation);

/**
 * Parses a Keras activation name ("linear" or "none", "relu", "sigmoid",
 * "softmax") into *out. Since 0.1.
 */
OT_API ot_status ot_activation_parse(const char *name, ot_activation *out);

/** One Dense layer: `units` outputs followed by `activation`. */
typedef struct ot_layer {
    size_t units;
    ot_activation activation;
} ot_layer;

/** A Sequential stack of Dense layers with its weights and, once compiled,
 *  its loss, optimizer and optimizer state. */
typedef struct ot_model ot_model;

/**
 * Creates a model taking `input_dim` features through `n_layers` Dense
 * layers. Weights are glorot-uniform and biases zero, as in Keras, drawn from
 * a generator seeded with `seed`: the same seed gives the same weights.
 * The layers array is copied. Since 0.1.
 */
OT_API ot_status ot_model_create(ot_model **out, size_t input_dim,
                                 const ot_layer *layers, size_t n_layers,
                                 uint64_t seed);

/** Destroys a model; NULL is accepted. Since 0.1. */
OT_API void ot_model_destroy(ot_model *model);

/** Number of input features. Since 0.1. */
OT_API size_t ot_model_input_dim(const ot_model *model);

/** Number of outputs of the last layer (classes, for a classifier). Since 0.1. */
OT_API size_t ot_model_output_dim(const ot_model *model);

/** Number of Dense layers. Since 0.1. */
OT_API size_t ot_model_layer_count(const ot_model *model);

/** The i-th layer (0 <= i < layer count). Since 0.1. */
OT_API ot_status ot_model_layer(const ot_model *model, size_t i, ot_layer *out);

/** Number of trainable parameters (79,510 for 784-100-10). Since 0.1. */
OT_API size_t ot_model_param_count(const ot_model *model);

/**
 * Copies every parameter into `out` (param_count floats), layer by layer:
 * the kernel in Keras' (input, output) order flattened row-major as
 * out-major "oi" (units x inputs), then the bias. Since 0.1.
 */
OT_API ot_status ot_model_get_weights(const ot_model *model, float *out,
                                      size_t count);

/** Sets every parameter from `in`, in ot_model_get_weights' order. Since 0.1. */
OT_API ot_status ot_model_set_weights(ot_model *model, const float *in,
                                      size_t count);

/** Writes a Keras-style summary table to `out`. Since 0.1. */
OT_API ot_status ot_model_summary(const ot_model *model, FILE *out);

/* ------------------------------------------------------------------------ */
/* Loss and optimizers                                                      */

/** Loss functions. */
typedef enum ot_loss {
    /** Integer labels against a softmax last layer. */
    OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 0
} ot_loss;

/** Keras' name of a loss; NULL if out of range. Since 0.1. */
OT_API const char *ot_loss_name(ot_loss loss);

/** Parses a Keras loss name into *out. Since 0.1. */
OT_API ot_status ot_loss_parse(const char *name, ot_loss *out);

/** Optimizers. */
typedef enum ot_optimizer_kind {
    OT_OPTIMIZER_SGD = 0,
    OT_OPTIMIZER_ADAM = 1
} ot_optimizer_kind;

/** Keras' name of an optimizer ("sgd", "adam"); NULL if out of range. Since 0.1. */
OT_API const char *ot_optimizer_name(ot_optimizer_kind kind);

/** Parses an optimizer name into *out. Since 0.1. */
OT_API ot_status ot_optimizer_parse(const char *name, ot_optimizer_kind *out);

/** Optimizer hyper-parameters. Fields not used by `kind` are ignored. */
typedef struct ot_optimizer_config {
    ot_optimizer_kind kind;
    float learning_rate; /**< sgd 0.01, adam 0.001 */
    float momentum;      /**< sgd: 0 */
    int nesterov;        /**< sgd: 0 */
    float beta1;         /**< adam: 0.9 */
    float beta2;         /**< adam: 0.999 */
    float epsilon;       /**< adam: 1e-7 */
} ot_optimizer_config;

/** Keras' defaults for `kind`. Since 0.1. */
OT_API ot_optimizer_config ot_optimizer_config_default(ot_optimizer_kind kind);

/**
 * Sets the loss and the optimizer, and resets the optimizer state. The loss
 * must fit the last layer (sparse categorical cross-entropy needs softmax).
 * Since 0.1.
 */
OT_API ot_status ot_model_compile(ot_model *model, ot_loss loss,
                                  const ot_optimizer_config *optimizer);

/* ------------------------------------------------------------------------ */
/* Datasets                                                                 */

/** Samples in memory: n rows of dim float features, and int32 labels. */
typedef struct ot_dataset ot_dataset;

/**
 * Creates a dataset by copying the caller's arrays: `x` is n x dim floats,
 * row-major; `labels` n class indices (>= 0), or NULL for unlabelled data.
 * Non-finite features are refused. Since 0.1.
 */
OT_API ot_status ot_dataset_create(ot_dataset **out, size_t n, size_t dim,
                                   const float *x, const int32_t *labels);

/**
 * Loads an IDX image file (magic 0x00000803) and its IDX label file (magic
 * 0x00000801), plain or gzip-compressed. Pixels are scaled to [0, 1].
 * Since 0.1.
 */
OT_API ot_status ot_dataset_load_idx(ot_dataset **out, const char *images_path,
                                     const char *labels_path);

/**
 * Loads the MNIST-style pair `<split>-images-idx3-ubyte` and
 * `<split>-labels-idx1-ubyte` from `dir`, where split is "train" or "t10k".
 * Each name is also tried with ".gz" and with the "-images.idx3-ubyte"
 * spelling. Since 0.1.
 */
OT_API ot_status ot_dataset_load_idx_dir(ot_dataset **out, const char *dir,
                                         const char *split);

/** Destroys a dataset; NULL is accepted. Since 0.1. */
OT_API void ot_dataset_destroy(ot_dataset *dataset);

/** Number of samples. Since 0.1. */
OT_API size_t ot_dataset_size(const ot_dataset *dataset);

/** Number of features per sample. Since 0.1. */
OT_API size_t ot_dataset_dim(const ot_dataset *dataset);

/** Largest label plus one (0 for unlabelled data). Since 0.1. */
OT_API size_t ot_dataset_classes(const ot_dataset *dataset);

/* ------------------------------------------------------------------------ */
/* Training                                                                 */

/** Metrics of one finished epoch. val_* are NaN when there is no validation. */
typedef struct ot_epoch_metrics {
    size_t epoch; /**< 1-based */
    double loss;
    double accuracy;
    double val_loss;
    double val_accuracy;
    double seconds;            /**< wall time of the epoch, validation included */
    double samples_per_second; /**< training samples / training time */
} ot_epoch_metrics;

/** Progress inside an epoch, after each optimizer step. */
typedef struct ot_step_metrics {
    size_t epoch;    /**< 1-based */
    size_t step;     /**< 1-based, within the epoch */
    size_t steps;    /**< steps in this epoch */
    double loss;     /**< mean over the epoch's samples so far */
    double accuracy; /**< idem */
    double seconds;  /**< since the epoch started */
} ot_step_metrics;

/**
 * Called on one thread after each epoch (and, for on_step, after each step)
 * while the model is being trained. Return non-zero to stop training after
 * this epoch or step. A callback must not call omptrain on the same model.
 */
typedef int (*ot_epoch_callback)(const ot_epoch_metrics *metrics, void *user);
typedef int (*ot_step_callback)(const ot_step_metrics *metrics, void *user);

/** How ot_model_fit trains. */
typedef struct ot_fit_config {
    size_t batch_size;       /**< global batch: 32 */
    size_t epochs;           /**< 5 */
    double validation_split; /**< fraction held out, chosen by the seeded shuffle: 0 */
    const ot_dataset *validation_data; /**< used instead of the split when set: NULL */
    int shuffle;             /**< reshuffle the training part every epoch: 1 */
    int threads;             /**< OpenMP threads; 0 = omp_get_max_threads(): 0 */
    size_t shards;           /**< shards per batch; 0 = the thread count: 0 */
    uint64_t seed;           /**< split and shuffle generator: 42 */
    ot_epoch_callback on_epoch; /**< NULL */
    ot_step_callback on_step;   /**< NULL */
    void *user;              /**< passed to the callbacks: NULL */
} ot_fit_config;

/** Keras' fit defaults (batch 32), 5 epochs, seed 42. Since 0.1. */
OT_API ot_fit_config ot_fit_config_default(void);

/** Per-epoch metrics of a fit. */
typedef struct ot_history ot_history;

/**
 * Trains a compiled model on `train`. Each global batch is cut into shards
 * computed by the threads, the shard gradients are summed in a fixed order
 * and one optimizer step updates the weights: for a given seed, batch size
 * and shard count the weights come out bit-identical whatever the number of
 * threads. The last partial batch of an epoch is trained. When `history` is
 * not NULL it receives the per-epoch metrics of the epochs completed, also
 * when a callback stops training or training fails (NULL if the arguments
 * were refused). A non-finite loss stops training with OT_NON_FINITE before
 * that step's update, keeping the last good weights. Since 0.1.
 */
OT_API ot_status ot_model_fit(ot_model *model, const ot_dataset *train,
                              const ot_fit_config *config,
                              ot_history **history);

/** Number of epochs recorded. Since 0.1. */
OT_API size_t ot_history_length(const ot_history *history);

/** Metrics of the i-th recorded epoch; NULL when out of range. Since 0.1. */
OT_API const ot_epoch_metrics *ot_history_epoch(const ot_history *history,
                                                size_t i);

/**
 * Writes the history as CSV with the header
 * epoch,loss,accuracy,val_loss,val_accuracy,seconds,samples_per_second
 * (atomically: a failed write leaves any previous file intact). Since 0.1.
 */
OT_API ot_status ot_history_write_csv(const ot_history *history,
                                      const char *path);

/** Destroys a history; NULL is accepted. Since 0.1. */
OT_API void ot_history_destroy(ot_history *history);

/** How evaluate and predict run: batches, threads and shards. */
typedef struct ot_eval_config {
    size_t batch_size; /**< 32 */
    int threads;       /**< 0 = omp_get_max_threads() */
    size_t shards;     /**< 0 = the thread count */
} ot_eval_config;

/** Keras' evaluate defaults (batch 32). Since 0.1. */
OT_API ot_eval_config ot_eval_config_default(void);

/**
 * Mean loss and accuracy of a compiled model over a labelled dataset.
 * `config` may be NULL for the defaults. Since 0.1.
 */
OT_API ot_status ot_model_evaluate(ot_model *model, const ot_dataset *data,
                                   const ot_eval_config *config, double *loss,
                                   double *accuracy);

/**
 * Writes the model's outputs for n rows of `x` (n x input_dim floats) into
 * `out` (n x output_dim floats, row-major): class probabilities for a softmax
 * last layer. `config` may be NULL. Since 0.1.
 */
OT_API ot_status ot_model_predict(ot_model *model, const float *x, size_t n,
                                  float *out, size_t out_count,
                                  const ot_eval_config *config);

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */

/**
 * Saves the architecture, weights, loss, optimizer and optimizer state to
 * `path`, atomically (temporary file, fsync, rename): a failed save leaves
 * the previous file intact. The same model always gives the same bytes.
 * Since 0.1.
 */
OT_API ot_status ot_model_save(const ot_model *model, const char *path);

/** Loads a model written by ot_model_save; checks magic, version, sizes and
 *  checksum. Since 0.1. */
OT_API ot_status ot_model_load(ot_model **out, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* OMPTRAIN_H */
