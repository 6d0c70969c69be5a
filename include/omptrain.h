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
 *  - ot_model: calls that take a const ot_model * only read it: any number
 *    of threads may run them on one model at once (evaluate, predict,
 *    summary, save, ...), each call with its own threads, while no call
 *    that changes the model (fit, compile, set_weights, load into it) runs.
 *    Different models may be used from different caller threads at once.
 *    ot_model_cancel may be called from any thread at any time.
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
    X(NON_FINITE, 7, "non-finite value")                                      \
    X(COMM_ERROR, 8, "MPI error")                                             \
    X(CANCELLED, 9, "cancelled")                                              \
    X(SOURCE_ERROR, 10, "data source error")

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
 * Like errno, it means something only right after a call returned a status
 * other than OT_OK: a successful call leaves it as it was (it may still
 * hold an older failure's text, or ""). Valid until the next omptrain call
 * on this thread. Never NULL. Since 0.1.
 */
OT_API const char *ot_last_error(void);

/**
 * The most memory a data file may make the library allocate for it: an IDX
 * file whose header declares more is refused before anything is read (a gzip
 * "bomb" of a few MB that inflates to gigabytes). 0 (the default): half
 * the machine's physical memory. Process-wide. Since 0.1.
 */
OT_API void ot_set_memory_limit(size_t bytes);

/** The limit in force, in bytes. Since 0.1. */
OT_API size_t ot_memory_limit(void);

/** The library's version string ("0.1.0"), for run-time checks. Since 0.1. */
OT_API const char *ot_version(void);

/**
 * The library's version as a number, MAJOR * 10000 + MINOR * 100 + PATCH
 * (100 for 0.1.0): compare it with OT_VERSION_NUMBER, the header's, to find
 * a program running against another library than it was built with.
 * Since 0.1.
 */
OT_API int ot_version_number(void);

/* ------------------------------------------------------------------------ */
/* Layers and models                                                        */

/** Activation of a Dense layer (Keras 3 definitions). */
typedef enum ot_activation {
    OT_ACTIVATION_LINEAR = 0,  /**< none: y = x */
    OT_ACTIVATION_RELU = 1,    /**< max(x, 0) */
    OT_ACTIVATION_SIGMOID = 2, /**< 1 / (1 + e^-x) */
    OT_ACTIVATION_SOFTMAX = 3, /**< e^x_i / sum_j e^x_j over the units */
    OT_ACTIVATION_TANH = 4,
    OT_ACTIVATION_SELU = 5,    /**< 1.0507 * elu(x, 1.6733) */
    OT_ACTIVATION_ELU = 6,     /**< x > 0 ? x : e^x - 1 */
    OT_ACTIVATION_SOFTPLUS = 7, /**< log(1 + e^x) */
    OT_ACTIVATION_GELU = 8,    /**< x * Phi(x), the exact (erf) form */
    OT_ACTIVATION_LEAKY_RELU = 9 /**< x > 0 ? x : 0.2 x (Keras 3's default slope) */
} ot_activation;

/** Kernel initialisers (biases always start at zero). */
typedef enum ot_initializer {
    OT_INIT_AUTO = 0,           /**< lecun_normal for selu, glorot_uniform otherwise */
    OT_INIT_GLOROT_UNIFORM = 1, /**< U(-l, l), l = sqrt(6 / (fan_in + fan_out)) */
    OT_INIT_GLOROT_NORMAL = 2,  /**< truncated normal, stddev sqrt(2 / (fan_in + fan_out)) */
    OT_INIT_HE_UNIFORM = 3,     /**< U(-l, l), l = sqrt(6 / fan_in) */
    OT_INIT_HE_NORMAL = 4,      /**< truncated normal, stddev sqrt(2 / fan_in) */
    OT_INIT_LECUN_UNIFORM = 5,  /**< U(-l, l), l = sqrt(3 / fan_in) */
    OT_INIT_LECUN_NORMAL = 6,   /**< truncated normal, stddev sqrt(1 / fan_in) */
    OT_INIT_ZEROS = 7
} ot_initializer;

/** Kinds of layer. */
typedef enum ot_layer_kind {
    OT_LAYER_DENSE = 0,
    /** Flatten: first layer only; the input is already a flat row of
     *  input_dim features (28x28 images are 784), so it only shows in the
     *  summary, with 0 parameters. */
    OT_LAYER_FLATTEN = 1
} ot_layer_kind;

/** Keras' name of an activation ("relu"); NULL if out of range. Since 0.1. */
OT_API const char *ot_activation_name(ot_activation activation);

/**
 * Parses a Keras activation name ("linear" or "none", "relu", "sigmoid",
 * "softmax", "tanh", "selu", "elu", "softplus", "gelu", "leaky_relu") into
 * *out. Since 0.1.
 */
OT_API ot_status ot_activation_parse(const char *name, ot_activation *out);

/** Keras' name of an initialiser ("he_normal"); NULL if out of range. Since 0.1. */
OT_API const char *ot_initializer_name(ot_initializer init);

/** Parses a Keras initialiser name into *out. Since 0.1. */
OT_API ot_status ot_initializer_parse(const char *name, ot_initializer *out);

/**
 * One layer. A zero-initialised ot_layer with units and activation set is a
 * Dense layer with the default initialiser; write it with the initialiser
 * macros below: {OT_DENSE(100, OT_ACTIVATION_RELU), OT_DENSE(10,
 * OT_ACTIVATION_SOFTMAX)}.
 */
typedef struct ot_layer {
    size_t units;                /**< Dense: outputs; Flatten: ignored */
    ot_activation activation;    /**< Dense only */
    ot_initializer initializer;  /**< Dense only; OT_INIT_AUTO by default */
    ot_layer_kind kind;          /**< OT_LAYER_DENSE by default */
} ot_layer;

/** Initialiser of a Dense layer with the default kernel initialiser. */
#define OT_DENSE(units_, activation_) {.units = (units_), .activation = (activation_)}
/** Initialiser of a Dense layer with a chosen kernel initialiser. */
#define OT_DENSE_INIT(units_, activation_, init_)                             \
    {.units = (units_), .activation = (activation_), .initializer = (init_)}
/** Initialiser of a Flatten layer (first only). */
#define OT_FLATTEN {.kind = OT_LAYER_FLATTEN}

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
 * the kernel as units x inputs, row-major (oneDNN's "oi": row u holds the
 * weights into unit u; the transpose of a Keras kernel, which is inputs x
 * units), then the bias (units). Since 0.1.
 */
OT_API ot_status ot_model_get_weights(const ot_model *model, float *out,
                                      size_t count);

/** Sets every parameter from `in`, in ot_model_get_weights' order. Since 0.1. */

/**
 * One Dense layer's parameters (layer: 0 for the first Dense layer; a
 * Flatten counts none): its kernel into `kernel` as ot_model_get_weights
 * lays it out, units x inputs (the transpose of a Keras kernel), and its
 * bias (units) into `bias`. The counts must hold them. Since 0.1.
 */
OT_API ot_status ot_model_get_layer_weights(const ot_model *model, size_t layer,
                                            float *kernel, size_t kernel_count,
                                            float *bias, size_t bias_count);

/** Sets one Dense layer's kernel and bias, laid out as ot_model_get_layer_weights
 *  gives them; non-finite values are refused. Since 0.1. */
OT_API ot_status ot_model_set_layer_weights(ot_model *model, size_t layer,
                                            const float *kernel, size_t kernel_count,
                                            const float *bias, size_t bias_count);
OT_API ot_status ot_model_set_weights(ot_model *model, const float *in,
                                      size_t count);

/** Writes a Keras-style summary table to `out`. Since 0.1. */
OT_API ot_status ot_model_summary(const ot_model *model, FILE *out);

/** The same table for `n` layers over `input_dim` inputs, checked as
 *  ot_model_create checks them, without building a model: no weights are
 *  allocated, so a model too large for memory can be described. Since 0.1. */
OT_API ot_status ot_layers_summary(size_t input_dim, const ot_layer *layers, size_t n,
                                   FILE *out);

/* ------------------------------------------------------------------------ */
/* Loss and optimizers                                                      */

/**
 * Loss functions (Keras 3 definitions, mean over the outputs of a sample and
 * then over the batch). The cross-entropies are computed from the logits of
 * the last layer, whose softmax (or sigmoid) is fused into the loss: stable
 * log-sum-exp instead of Keras' log of probabilities clipped to
 * [1e-7, 1 - 1e-7], so the loss is exact where Keras' saturates at
 * -log(1e-7) = 16.1, and the gradient is probabilities minus targets.
 */
typedef enum ot_loss {
    /** Integer labels against a softmax last layer. Metric: accuracy. */
    OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 0,
    /** One-hot (or soft) targets against a softmax last layer. Metric: accuracy. */
    OT_LOSS_CATEGORICAL_CROSSENTROPY = 1,
    /** Targets in [0, 1], one or more per sample (multi-label), against a
     *  sigmoid last layer. Metric: binary accuracy at threshold 0.5. */
    OT_LOSS_BINARY_CROSSENTROPY = 2,
    /** Mean squared error. Metric: mae. */
    OT_LOSS_MSE = 3,
    /** Mean absolute error. Metric: mae. */
    OT_LOSS_MAE = 4,
    /** Huber, delta 1: 0.5 e^2 if |e| <= 1, else |e| - 0.5. Metric: mae. */
    OT_LOSS_HUBER = 5
} ot_loss;

/** Keras' name of a loss; NULL if out of range. Since 0.1. */
OT_API const char *ot_loss_name(ot_loss loss);

/** Parses a Keras loss name into *out. Since 0.1. */
OT_API ot_status ot_loss_parse(const char *name, ot_loss *out);

/** The metric reported with a loss: "accuracy" for the cross-entropies,
 *  "mae" for the regression losses. Since 0.1. */
OT_API const char *ot_loss_metric_name(ot_loss loss);

/**
 * Metrics reported with the loss (Keras' compile(metrics=[...])), each the
 * mean over the samples of a per-sample value, computed on the model's
 * outputs (probabilities where the loss fuses the last activation) and
 * independent of the loss. A model reports the list set by
 * ot_model_set_metrics, by default the loss's own metric alone
 * (ot_loss_metric_name).
 */
typedef enum ot_metric {
    /** Keras' "accuracy", resolved as Keras resolves it: binary accuracy
     *  with binary cross-entropy or one output, else categorical accuracy. */
    OT_METRIC_ACCURACY = 0,
    /** Per output, whether output > 0.5 agrees with target > 0.5; the mean
     *  over the outputs. */
    OT_METRIC_BINARY_ACCURACY = 1,
    /** Whether the largest output (the first of equals) is the true class:
     *  the label, or the largest entry of a target row. */
    OT_METRIC_CATEGORICAL_ACCURACY = 2,
    /** The same as categorical accuracy here (integer labels are read as
     *  one-hot rows); Keras' name for a sparse-label model. */
    OT_METRIC_SPARSE_CATEGORICAL_ACCURACY = 3,
    /** Whether fewer than 5 outputs are larger than the true class's. */
    OT_METRIC_TOP_K_CATEGORICAL_ACCURACY = 4,
    /** Mean absolute error over the outputs. */
    OT_METRIC_MAE = 5,
    /** Mean squared error over the outputs. */
    OT_METRIC_MSE = 6,
    /** Root mean squared error: the square root of the mean squared error
     *  over all samples (not a mean of roots). */
    OT_METRIC_RMSE = 7,
    /** Mean absolute percentage error, 100 |t - y| / max(|t|, 1e-7). */
    OT_METRIC_MAPE = 8
} ot_metric;

/** Most metrics a model reports. */
#define OT_METRICS_MAX 8

/** Keras' name of a metric ("accuracy", "binary_accuracy",
 *  "categorical_accuracy", "sparse_categorical_accuracy",
 *  "top_k_categorical_accuracy", "mae", "mse", "rmse", "mape"), the name
 *  its values carry in a history; NULL if out of range. Since 0.1. */
OT_API const char *ot_metric_name(ot_metric metric);

/** Parses a Keras metric name into *out: the names of ot_metric_name and
 *  Keras' aliases "acc", "mean_absolute_error", "mean_squared_error",
 *  "root_mean_squared_error", "mean_absolute_percentage_error". Since 0.1. */
OT_API ot_status ot_metric_parse(const char *name, ot_metric *out);

/** Whether a higher value of the metric is better (the accuracies). Since 0.1. */
OT_API int ot_metric_higher_is_better(ot_metric metric);

/** Optimizers. */
typedef enum ot_optimizer_kind {
    OT_OPTIMIZER_SGD = 0,
    OT_OPTIMIZER_ADAM = 1,
    OT_OPTIMIZER_ADAGRAD = 2,
    OT_OPTIMIZER_RMSPROP = 3,
    OT_OPTIMIZER_ADADELTA = 4
} ot_optimizer_kind;

/** Keras' name of an optimizer ("sgd", "adam", "adagrad", "rmsprop",
 *  "adadelta"); NULL if out of range. Since 0.1. */
OT_API const char *ot_optimizer_name(ot_optimizer_kind kind);

/** Parses an optimizer name into *out. Since 0.1. */
OT_API ot_status ot_optimizer_parse(const char *name, ot_optimizer_kind *out);

/** Learning-rate schedules, applied to the optimizer's learning_rate. */
typedef enum ot_schedule_kind {
    OT_SCHEDULE_CONSTANT = 0,
    /** lr * decay_rate ^ (step / decay_steps), steps counted from the first
     *  optimizer step; floor of the exponent when staircase (Keras'
     *  ExponentialDecay). */
    OT_SCHEDULE_EXPONENTIAL = 1,
    /** lr * decay_rate ^ floor(epoch / decay_epochs), epochs counted from 0
     *  (the step decay of the textbooks' LearningRateScheduler). */
    OT_SCHEDULE_STEP = 2
} ot_schedule_kind;

typedef struct ot_schedule {
    ot_schedule_kind kind; /**< constant */
    double decay_rate;     /**< 0.96 for exponential, 0.5 for step */
    size_t decay_steps;    /**< exponential: 10000 */
    size_t decay_epochs;   /**< step: 10 */
    int staircase;         /**< exponential: 0 */
} ot_schedule;

/**
 * Optimizer hyper-parameters, Keras 3's names and defaults. Fields that
 * `kind` does not use are ignored.
 */
typedef struct ot_optimizer_config {
    ot_optimizer_kind kind;
    float learning_rate; /**< sgd 0.01, adam/adagrad/rmsprop/adadelta 0.001 */
    float momentum;      /**< sgd, rmsprop: 0 */
    int nesterov;        /**< sgd: 0 */
    float beta1;         /**< adam: 0.9 */
    float beta2;         /**< adam: 0.999 */
    float epsilon;       /**< adam, adagrad, rmsprop, adadelta: 1e-7 */
    int amsgrad;         /**< adam: 0 */
    float rho;           /**< rmsprop 0.9, adadelta 0.95 */
    int centered;        /**< rmsprop: 0 */
    float initial_accumulator; /**< adagrad: 0.1 */
    ot_schedule schedule; /**< constant */
} ot_optimizer_config;

/** Keras' defaults for `kind`. Since 0.1. */
OT_API ot_optimizer_config ot_optimizer_config_default(ot_optimizer_kind kind);

/**
 * Sets the loss and the optimizer, and resets the optimizer state and the
 * epoch count. The loss must fit the last layer: the categorical
 * cross-entropies need softmax, binary cross-entropy needs sigmoid; the
 * regression losses take any last activation. Since 0.1.
 */
OT_API ot_status ot_model_compile(ot_model *model, ot_loss loss,
                                  const ot_optimizer_config *optimizer);

/** The loss a model was compiled with; OT_INVALID_STATE if it was not. Since 0.1. */
OT_API ot_status ot_model_loss(const ot_model *model, ot_loss *out);

/**
 * Sets the metrics a compiled model reports, in order (Keras'
 * compile(metrics=[...])): each fit's history, its callbacks, evaluate
 * (ot_model_evaluate_metrics) and the monitors of early stopping and
 * best-model saving (ot_model_monitor_parse). n_metrics 0 restores the
 * default, the loss's own metric; at most OT_METRICS_MAX, each once.
 * ot_model_compile restores the default; the list is saved with the model.
 * OT_INVALID_STATE on a model that is not compiled, or inside an epoch a fit
 * left unfinished (its partial sums are those of the list it ran with).
 * Since 0.1.
 */
OT_API ot_status ot_model_set_metrics(ot_model *model, const ot_metric *metrics,
                                      size_t n_metrics);

/** The metrics a compiled model reports: their count (0 when not compiled),
 *  and the first min(count, cap) of them in out (out may be NULL when cap
 *  is 0). Since 0.1. */
OT_API size_t ot_model_metrics(const ot_model *model, ot_metric *out, size_t cap);

/** The optimizer config a model was compiled with (its learning rate as
 *  ot_model_set_learning_rate last set it); OT_INVALID_STATE if it was not
 *  compiled. Since 0.1. */
OT_API ot_status ot_model_optimizer(const ot_model *model, ot_optimizer_config *out);

/** Epochs trained so far (restored by ot_model_load). Since 0.1. */
OT_API size_t ot_model_epochs_trained(const ot_model *model);

/** Steps already taken of the next epoch, when the last fit was stopped
 *  inside an epoch (by a callback); 0 otherwise. Since 0.1. */
OT_API size_t ot_model_steps_in_epoch(const ot_model *model);

/* ------------------------------------------------------------------------ */
/* Datasets                                                                 */

/** Samples in memory: n rows of dim float features, and either int32
 *  labels (classification) or n x targets float targets (one-hot, multi-label
 *  or regression), or neither (data to predict). */
typedef struct ot_dataset ot_dataset;

/**
 * Creates a dataset by copying the caller's arrays: `x` is n x dim floats,
 * row-major; `labels` n class indices (>= 0), or NULL for unlabelled data.
 * Non-finite features are refused. Since 0.1.
 */
OT_API ot_status ot_dataset_create(ot_dataset **out, size_t n, size_t dim,
                                   const float *x, const int32_t *labels);

/**
 * Creates a dataset with float targets, copying the arrays: `targets` is
 * n x n_targets floats (one-hot rows, multi-label 0/1 rows, or regression
 * values). Non-finite values are refused. Since 0.1.
 */
OT_API ot_status ot_dataset_create_targets(ot_dataset **out, size_t n,
                                           size_t dim, const float *x,
                                           size_t n_targets,
                                           const float *targets);

/**
 * A dataset over the caller's arrays, without a copy: ot_dataset_create's
 * and ot_dataset_create_targets' checks, made now. x (n x dim) and labels
 * (n, or NULL) or targets (n x n_targets) stay the caller's: they must
 * outlive the dataset and stay unchanged while it is used (a fit, an
 * evaluation or a search only reads them; slices, selections and splits
 * are copies); destroying the dataset frees none of them. Since 0.1.
 */
OT_API ot_status ot_dataset_borrow(ot_dataset **out, size_t n, size_t dim, const float *x,
                                   const int32_t *labels);
/** The same with float targets. Since 0.1. */
OT_API ot_status ot_dataset_borrow_targets(ot_dataset **out, size_t n, size_t dim,
                                           const float *x, size_t n_targets,
                                           const float *targets);

/**
 * Keras' to_categorical: writes n x classes one-hot rows for `labels` into
 * `out` (n * classes floats). Labels must be in [0, classes). Since 0.1.
 */
OT_API ot_status ot_to_categorical(const int32_t *labels, size_t n,
                                   size_t classes, float *out);

/** Feature scaling, with statistics taken from the training part only and
 *  stored in the model so that evaluate and predict apply them. */
typedef enum ot_scaling {
    OT_SCALING_NONE = 0,
    OT_SCALING_STANDARD = 1, /**< (x - mean) / std (std 0: 1) */
    OT_SCALING_MINMAX = 2    /**< (x - min) / (max - min) (range 0: 1) */
} ot_scaling;

/** How a CSV file is read. */
typedef struct ot_csv_options {
    /** Target columns, 0-based; negative counts from the end (-1: last).
     *  Several columns for several regression targets or one-hot rows. */
    int target_columns[16]; /**< {-1} */
    size_t n_target_columns; /**< 1; 0 reads features only (to predict) */
    /** Read the targets as integer class labels (1 column) rather than
     *  floats. */
    int integer_labels;     /**< 1 */
    /** First line: 1 a header, 0 data, -1 detect: a header is a line none
     *  of whose fields is a number; a first line with numbers and other
     *  fields (a typo, nan, an empty field) is data, refused as any other
     *  line would be. A UTF-8 byte order mark before it is skipped. */
    int header;             /**< -1 */
    char delimiter;         /**< ',' */
} ot_csv_options;

/** Defaults: last column as integer label, header detected, commas. Since 0.1. */
OT_API ot_csv_options ot_csv_options_default(void);

/**
 * Loads numeric CSV. Every row must have the same number of fields; a field
 * that is not a finite number, or whose value is beyond a float's range
 * (1e39), is refused with its line and column. Since 0.1.
 */
OT_API ot_status ot_dataset_load_csv(ot_dataset **out, const char *path,
                                     const ot_csv_options *options);

/** 1 when `d` was read by ot_dataset_load_csv from a file whose first line
 * was a header (and so not a row); 0 otherwise. Since 0.1. */
OT_API int ot_dataset_had_header(const ot_dataset *d);

/** The four XOR samples (2 features, labels 0 1 1 0), Since 0.1. */
OT_API ot_status ot_dataset_xor(ot_dataset **out);

/**
 * Loads an IDX image file (magic 0x00000803) and its IDX label file (magic
 * 0x00000801), plain or gzip-compressed. Pixels are scaled to [0, 1]: each
 * byte b is the feature b / 255.0, rounded to float, as the textbook's
 * x / 255.0 gives it. The pixels stay bytes in memory (a quarter of the
 * floats' size) and are converted when read; ot_dataset_features gives the
 * floats. Since 0.1.
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

/*
 * Streamed datasets: data larger than memory, or made by the caller as
 * training goes (Keras' tf.data and keras.utils.Sequence). The labels or
 * targets are held in memory (4 bytes a sample); the features stay in a file
 * or with the caller and are read as a run needs them, by a reader thread
 * of the run's own, ahead of the steps. A fit, evaluation or prediction on
 * a streamed dataset gives the bits the same data in memory gives. Such a
 * dataset is shared like any other (several fits at once each read for
 * themselves); ot_dataset_features, _rows, _slice, _select and _split read
 * what they are asked for into memory.
 */

/**
 * Opens an IDX image file and its label file for streaming: the labels are
 * read, the images read by offset as they are needed. A gzip-compressed
 * image file cannot be read by offset: it is decompressed once into
 * `cache_dir` (NULL: $XDG_CACHE_HOME/omptrain, or ~/.cache/omptrain), under
 * a name made of its path, size, modification time and first 64 KiB, and
 * that copy is used as long as they do not change. The data must not change
 * while it is read. Since 0.1.
 */
OT_API ot_status ot_dataset_stream_idx(ot_dataset **out, const char *images_path,
                                       const char *labels_path, const char *cache_dir);

/**
 * A CSV file streamed: parsed once, a line at a time, into a binary copy in
 * `cache_dir` (as ot_dataset_stream_idx's; named after the file and the
 * options too), with ot_dataset_load_csv's checks and messages; the copy's
 * features are then read by offset and its labels or targets held in
 * memory. The copy is used again while the file and the options are
 * unchanged. Since 0.1.
 */
OT_API ot_status ot_dataset_stream_csv(ot_dataset **out, const char *path,
                                       const ot_csv_options *options, const char *cache_dir);

/** ot_dataset_load_idx_dir's pair, streamed. Since 0.1. */
OT_API ot_status ot_dataset_stream_idx_dir(ot_dataset **out, const char *dir,
                                           const char *split, const char *cache_dir);

/**
 * A data source's rows (keras.utils.Sequence.__getitem__, by rows): fills
 * the n rows whose indices are rows[0..n) into x (n x dim floats, row by
 * row) and their labels (n) or targets (n x n_targets), whichever the
 * source declared. x is NULL when only the labels or targets are asked for:
 * ot_dataset_from_source asks for every row's once. A row's labels and
 * features must be the same each time it is asked for (a run checks the
 * labels). Returns 0, or non-zero with a message in error (error_size bytes,
 * "" to start) to stop the run that asked, with OT_SOURCE_ERROR and the
 * message.
 *
 * Who calls it: each run (fit, evaluate, predict) on the dataset calls it
 * from a reader thread of its own, one call at a time, for a chunk of rows
 * (at most 4096, or one batch when that is more: several steps' batches,
 * or a part of a validation pass) ahead of the steps that need them; several runs at once (a search) call it at
 * once from their readers. It must not call omptrain on a model that is
 * being fitted or return before x is filled.
 */
typedef int (*ot_source_rows_fn)(void *user, const size_t *rows, size_t n, float *x,
                                 int32_t *labels, float *targets, char *error,
                                 size_t error_size);

/** A data source: n samples of dim features, with integer labels
 *  (n_targets 0) or n_targets float targets each. */
typedef struct ot_source {
    size_t n, dim;
    size_t n_targets;
    ot_source_rows_fn rows;
    void *user;
} ot_source;

/**
 * A streamed dataset whose rows come from the caller's callback (the
 * source is copied; user must outlive the dataset). The labels or targets
 * are asked for now, in chunks of 4096 rows, and checked as a dataset's
 * are (labels >= 0, finite targets); features must be finite, which each
 * run checks as it reads them. Since 0.1.
 */
OT_API ot_status ot_dataset_from_source(ot_dataset **out, const ot_source *source);

/** 1 when the dataset is streamed (a file read by offset, or a source). Since 0.1. */
OT_API int ot_dataset_is_streamed(const ot_dataset *dataset);

/** Destroys a dataset; NULL is accepted. Since 0.1. */
OT_API void ot_dataset_destroy(ot_dataset *dataset);

/** Number of samples. Since 0.1. */
OT_API size_t ot_dataset_size(const ot_dataset *dataset);

/** Number of features per sample. Since 0.1. */
OT_API size_t ot_dataset_dim(const ot_dataset *dataset);

/** Largest label plus one (0 for unlabelled data or float targets). Since 0.1. */
OT_API size_t ot_dataset_classes(const ot_dataset *dataset);

/** Number of float target columns (0 for labels or unlabelled data). Since 0.1. */
OT_API size_t ot_dataset_targets(const ot_dataset *dataset);

/**
 * A new dataset holding a copy of rows [first, first + n) of `dataset`:
 * features, labels or targets (a validation part, a subset to try a model
 * on). Since 0.1.
 */
OT_API ot_status ot_dataset_slice(ot_dataset **out, const ot_dataset *dataset,
                                  size_t first, size_t n);

/**
 * Copies the features of rows [first, first + n) (n x dim floats, as
 * loaded: unscaled) into out, which holds `count` floats. Since 0.1.
 */
OT_API ot_status ot_dataset_rows(const ot_dataset *dataset, size_t first, size_t n,
                                 float *out, size_t count);

/**
 * A new dataset holding a copy of rows idx[0..n) of `dataset`, in that
 * order (a fold, a shuffled subset; an index may repeat: a bootstrap
 * sample). An index past the rows is refused, naming it. Since 0.1.
 */
OT_API ot_status ot_dataset_select(ot_dataset **out, const ot_dataset *dataset,
                                   const size_t *idx, size_t n);

/**
 * scikit-learn's train_test_split: the rows shuffled by `seed`, the last
 * ceil(test_fraction x size) of them a copy in *test, the others in *train
 * (each in the shuffled order). test_fraction in (0, 1), both parts at
 * least one row. Since 0.1.
 */
OT_API ot_status ot_dataset_split(ot_dataset **train, ot_dataset **test,
                                  const ot_dataset *dataset, double test_fraction,
                                  uint64_t seed);

/**
 * Copies the float targets (size x ot_dataset_targets of them) into out,
 * which holds `count`; OT_INVALID_ARGUMENT for labels or none. Since 0.1.
 */
OT_API ot_status ot_dataset_target_values(const ot_dataset *dataset, float *out,
                                          size_t count);

/**
 * Copies the integer labels (size of them) into out, which holds `count`;
 * OT_INVALID_ARGUMENT for data with float targets or none. Since 0.1.
 */
OT_API ot_status ot_dataset_labels(const ot_dataset *dataset, int32_t *out,
                                   size_t count);

/** Copies the features (size x dim floats, as loaded: unscaled) into out.
 *  Since 0.1. */
OT_API ot_status ot_dataset_features(const ot_dataset *dataset, float *out,
                                     size_t count);

/* ------------------------------------------------------------------------ */
/* Training                                                                 */

/** Metrics of one finished epoch. `metric` is the model's first metric
 *  (by default the loss's own, accuracy or mae: ot_loss_metric_name),
 *  `metrics` all n_metrics of them (ot_model_metrics). val_* are NaN when
 *  there is no validation. */
typedef struct ot_epoch_metrics {
    size_t epoch; /**< 1-based, counted over the model's whole training */
    double loss;
    double metric;
    double val_loss;
    double val_metric;
    double learning_rate;      /**< at the epoch's last step */
    double seconds;            /**< wall time of the epoch, validation included */
    double samples_per_second; /**< training samples / training time */
    double comm_seconds;       /**< of `seconds`, the time spent exchanging
                                    with the other ranks of ot_fit_config.comm
                                    (waits for slower ranks included); 0
                                    without ranks */
    double threads;            /**< how many threads ran the epoch's steps,
                                    the mean over their time (an elastic fit
                                    changes the count: ot_elastic) */
    size_t thread_changes;     /**< how often the count changed in the epoch */
    const char *thread_change; /**< why it last changed, in words (the rates
                                    compared), or "" when it never did;
                                    valid during the callback */
    double bytes_read;         /**< streamed data: the bytes of features the
                                    epoch read (training and validation);
                                    0 in memory */
    double read_seconds;       /**< of them, the reader's time reading (a
                                    file's pread calls, or a source's
                                    callback; 0 from a mapped file, whose
                                    rows are copied by the steps) */
    size_t n_metrics;          /**< the model's metrics (>= 1) */
    double metrics[OT_METRICS_MAX];     /**< [0] is `metric` */
    double val_metrics[OT_METRICS_MAX]; /**< [0] is `val_metric` */
} ot_epoch_metrics;

/** Progress inside an epoch, after each optimizer step. */
typedef struct ot_step_metrics {
    size_t epoch;    /**< 1-based */
    size_t step;     /**< 1-based, within the epoch */
    size_t steps;    /**< steps in this epoch */
    double loss;     /**< mean over the epoch's samples so far */
    double metric;   /**< idem: the first metric */
    double seconds;  /**< since the epoch started */
    uint64_t global_step; /**< optimizer steps the model has taken, this one included */
    double learning_rate; /**< this step's (scheduled) */
    size_t n_metrics;     /**< as in ot_epoch_metrics */
    double metrics[OT_METRICS_MAX]; /**< [0] is `metric` */
} ot_step_metrics;

/**
 * Called on one thread after each epoch (and, for on_step, after each step)
 * while the model is being trained. Return non-zero to stop training after
 * this epoch or step. A callback may call ot_model_set_learning_rate and
 * ot_model_cancel on the model, and no other omptrain function on it.
 */
typedef int (*ot_epoch_callback)(const ot_epoch_metrics *metrics, void *user);
typedef int (*ot_step_callback)(const ot_step_metrics *metrics, void *user);

/** What early stopping and best-model saving watch. */
typedef enum ot_monitor {
    OT_MONITOR_VAL_LOSS = 0, /**< lower is better */
    OT_MONITOR_VAL_METRIC = 1, /**< the first metric's validation value:
                                    higher is better for the accuracies,
                                    lower for the errors */
    OT_MONITOR_LOSS = 2,
    OT_MONITOR_METRIC = 3    /**< the first metric's training value */
} ot_monitor;

/** The model's metric k (0-based, in ot_model_metrics' order), on the
 *  validation data or the training data; k 0 is OT_MONITOR_VAL_METRIC and
 *  OT_MONITOR_METRIC. A k the model does not have fails the fit. */
#define OT_MONITOR_VAL_METRIC_AT(k) ((ot_monitor)((k) == 0 ? 1 : 2 + 2 * (int)(k)))
#define OT_MONITOR_METRIC_AT(k) ((ot_monitor)((k) == 0 ? 3 : 3 + 2 * (int)(k)))

/** Parses "val_loss", "val_accuracy", "val_mae", "loss", "accuracy", "mae",
 *  the last four being the first metric, whatever its name. Since 0.1. */
OT_API ot_status ot_monitor_parse(const char *name, ot_monitor *out);

/** Parses "loss", "val_loss", or a metric of the model's list with or
 *  without "val_" (Keras' names and aliases, as ot_metric_parse reads
 *  them) into *out; a metric the model does not report is refused, naming
 *  those it does. Since 0.1. */
OT_API ot_status ot_model_monitor_parse(const ot_model *model, const char *name,
                                        ot_monitor *out);

/** Keras' EarlyStopping. */
typedef struct ot_early_stopping {
    int enabled;          /**< 0 */
    ot_monitor monitor;   /**< val_loss */
    size_t patience;      /**< epochs without improvement before stopping: 0 */
    double min_delta;     /**< smallest change that counts as improvement: 0 */
    int restore_best_weights; /**< 1 (Keras' default is 0; ours keeps the best) */
} ot_early_stopping;

/** Whether the threads that take part in a fit, evaluate or predict may
 * change while it runs (elastic threads; docs/design.md, "The team"). */
typedef enum ot_elastic {
    OT_ELASTIC_AUTO = 0, /**< elastic when threads is 0, else fixed */
    OT_ELASTIC_ON = 1,   /**< elastic, threads (or its default) the most */
    OT_ELASTIC_OFF = 2   /**< every thread always */
} ot_elastic;

/** How ot_model_fit trains. */
typedef struct ot_fit_config {
    size_t batch_size;       /**< global batch; larger than the training
                                  part, one batch of all of it (Keras): 32 */
    size_t epochs;           /**< with initial_epoch SIZE_MAX (the default),
                                  how many epochs this fit trains after the
                                  model's own, as each fit in Keras does (a
                                  second fit of epochs 1 trains one more);
                                  with initial_epoch set, the epoch to end
                                  with: 5 */
    double validation_split; /**< fraction held out, chosen by the seeded shuffle: 0 */
    const ot_dataset *validation_data; /**< used instead of the split when set: NULL */
    int shuffle;             /**< reshuffle the training part every epoch: 1 */
    int threads;             /**< OpenMP threads, exactly (OT_INVALID_STATE when
                                  OpenMP gives fewer); 0: as many as OpenMP
                                  gives, up to ot_default_threads() (fewer
                                  inside the caller's own parallel region,
                                  or with OMP_DYNAMIC): 0 */
    size_t shards;           /**< shards per batch; 0: the model's own from
                                  its last fit, else ot_default_threads()
                                  (with comm: the sum of the ranks'
                                  threads), whatever team OpenMP gives, and
                                  at most batch_size: 0 */
    uint64_t seed;           /**< split and shuffle generator: 42 */
    size_t initial_epoch;    /**< SIZE_MAX: continue after the model's own
                                  epochs (ot_model_epochs_trained) for
                                  `epochs` more. Else the epochs already
                                  trained: the fit trains epochs
                                  initial_epoch + 1 .. epochs, as Keras'
                                  initial_epoch does; ot_model_resume_config
                                  sets it to resume a run exactly: SIZE_MAX */
    ot_scaling scaling;      /**< fit feature scaling on the training part
                                  when the model has none yet: none */
    ot_early_stopping early_stopping;
    const char *best_model_path; /**< save the model here whenever the
                                      monitored value improves: NULL */
    ot_monitor best_monitor; /**< val_loss */
    const char *checkpoint_path; /**< save the model here every
                                      checkpoint_every epochs: NULL */
    size_t checkpoint_every; /**< 1 */
    ot_epoch_callback on_epoch; /**< NULL */
    ot_step_callback on_step;   /**< NULL */
    void *user;              /**< passed to the callbacks: NULL */
    /** MPI: the address of an MPI_Comm whose ranks train this model
     * together, or NULL for this process alone: NULL. Every rank of it calls
     * ot_model_fit with the same model, data and config (checked: a rank
     * that differs fails the fit on every rank); the global batch is cut
     * into `shards` shards (0: the sum of the ranks' threads), rank r the
     * contiguous block [rS/R, (r+1)S/R), and the weights are bit-identical
     * to one process's with the same shard count. MPI must be initialized
     * with MPI_THREAD_FUNNELED or more (SERIALIZED when the fit runs on
     * another thread than MPI's main one). Only rank 0 writes
     * checkpoint_path and best_model_path; the callbacks run on every rank,
     * and a stop on any rank stops every rank at the same step. A failure on
     * one rank fails the fit on every rank with that rank's message. The
     * communicator is duplicated, so the caller's own messages never meet
     * the fit's. ot_mpi_available() says whether the library was built with
     * MPI; without, a communicator is refused. */
    const void *comm;
    /** Elastic threads: how many of the threads take part is chosen while
     * the fit runs, from its own step times, and changes at step boundaries
     * when another program takes cores or gives them back. The shards, and
     * so the weights, stay exactly the same. Waits between the threads spin
     * briefly and then sleep whatever this is. OT_ELASTIC_AUTO (the
     * default): elastic when threads is 0. */
    ot_elastic elastic;
    /** k-fold cross-validation's hold-out: with validation_folds k >= 2 the
     * training data is cut into k folds as scikit-learn cuts them without
     * shuffling (StratifiedKFold for labels, each fold holding each class in
     * proportion; KFold for float targets, contiguous blocks): the folds of
     * GridSearchCV(cv=k). Fold validation_fold (0-based) is validated on
     * after every epoch, the other folds, in the data's order, are trained
     * on. Instead of validation_split and validation_data. 0: no folds. */
    size_t validation_folds;
    size_t validation_fold;
    /** Keras' class_weight: class_weights floats (>= 0, finite), one per
     * class (the outputs; 2 for one sigmoid output), each training sample's
     * loss and gradient times its class's weight (its label, or its one-hot
     * target's largest entry), the batch still divided by its size; the
     * training loss is reported weighted, the metric and the validation
     * loss not. Cross-entropies only. Borrowed for the fit; not saved. NULL
     * and 0: none. */
    const float *class_weight;
    size_t class_weights;
    /** Keras' sample_weight: sample_weights floats (>= 0, finite), one per
     * sample of the training data, in its order. Each sample's loss and
     * gradient is times its weight (and its class's, with class_weight), the
     * batch still divided by its size (Keras' sum over the batch size). A
     * validation split or fold of the same data keeps its samples' weights,
     * as Keras splits sample_weight with x and y: the training and
     * validation losses are reported weighted; validation_data is not
     * weighted; the metrics never are. Any loss. Borrowed for the fit; not
     * saved. NULL and 0: none. Since 0.1. */
    const float *sample_weight;
    size_t sample_weights;
    /** Keras' validation_data=(x, y, sample_weight): one weight per sample
     * of validation_data, its validation loss then weighted as evaluate
     * weighs it. NULL and 0: none. Since 0.1. */
    const float *validation_sample_weight;
    size_t validation_sample_weights;
} ot_fit_config;

/**
 * About how many bytes a fit of `model` on n_samples with `config` needs (an
 * upper estimate: the weights and optimizer state and their copy at each
 * epoch's start, a gradient per shard, each thread's buffers, the epoch's
 * order; the data is not counted). ot_model_fit refuses with
 * OT_OUT_OF_MEMORY, before allocating, a fit that needs more than the
 * memory limit when one was set (ot_set_memory_limit), else the machine's
 * physical memory. Since 0.1.
 */
OT_API ot_status ot_model_fit_memory(const ot_model *model, size_t n_samples,
                                     const ot_fit_config *config, size_t *bytes);

/**
 * The same for a model not built yet, from its layers and optimizer: the
 * estimate in *bytes, and OT_OUT_OF_MEMORY, saying how much, when ot_model_fit
 * would refuse it; a program checks a model too large for the machine before
 * ot_model_create and ot_model_compile allocate it. Since 0.1.
 */
OT_API ot_status ot_layers_fit_memory(size_t input_dim, const ot_layer *layers, size_t n,
                                      const ot_optimizer_config *optimizer,
                                      size_t n_samples, const ot_fit_config *config,
                                      size_t *bytes);

/** Whether this library was built with MPI (ot_fit_config.comm). Since 0.1. */
OT_API int ot_mpi_available(void);

/**
 * Asks the fit running on `model` (from another thread, a callback or a
 * signal handler: it only sets an atomic flag) to stop after its current
 * step; that fit returns OT_CANCELLED, with the model as after the step,
 * where ot_model_resume_config takes up. Called when no fit runs, it
 * cancels the next one at its first step. Since 0.1.
 */
OT_API ot_status ot_model_cancel(ot_model *model);

/**
 * Sets the optimizer's learning rate (the base its schedule decays): from a
 * fit's callback it takes effect at the next step (Keras' ReduceLROnPlateau
 * or a schedule of one's own); it is saved with the model. Must be finite
 * and > 0. Since 0.1.
 */
OT_API ot_status ot_model_set_learning_rate(ot_model *model, float learning_rate);

/** Keras' fit defaults (batch 32), 5 epochs, seed 42, elastic threads.
 * Since 0.1. */
OT_API ot_fit_config ot_fit_config_default(void);

/**
 * The defaults with the settings of the model's last fit (batch size,
 * shards, seed, validation split, shuffle: saved with the model; epochs:
 * the epoch that fit was to end with, and initial_epoch the model's own
 * count), to resume it: the same data and this config end with the same
 * weights as the fit that was never interrupted, also from inside an
 * epoch. Plain defaults for a model never fitted. Since 0.1.
 */
OT_API ot_fit_config ot_model_resume_config(const ot_model *model);

/** Per-epoch metrics of a fit. */
typedef struct ot_history ot_history;

/**
 * Trains a compiled model on `train`. Each global batch is cut into shards
 * computed by the threads, the shard gradients are summed in a fixed order
 * and one optimizer step updates the weights: for a given seed, batch size
 * and shard count the weights come out bit-identical whatever the number of
 * threads. The last partial batch of an epoch is trained. A fit stopped by a
 * step callback records where it stopped: fitting the saved (or the same)
 * model again with ot_model_resume_config takes up at the next step. When
 * `history` is
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

/** Name of the history's first metric (by default the loss's own,
 *  "accuracy" or "mae"). Since 0.1. */
OT_API const char *ot_history_metric_name(const ot_history *history);

/** The history's metrics (those of the model during the fit): their count,
 *  and the k-th's name (ot_metric_name), NULL when k is out of range.
 *  Since 0.1. */
OT_API size_t ot_history_metrics(const ot_history *history);
OT_API const char *ot_history_metric(const ot_history *history, size_t k);

/** Epoch (1-based) with the best monitored value of an early stopping, or 0.
 *  Since 0.1. */
OT_API size_t ot_history_best_epoch(const ot_history *history);

/**
 * Writes the history as CSV with the header
 * epoch,loss,METRIC,val_loss,val_METRIC,seconds,samples_per_second
 * where METRIC is accuracy or mae (atomically: a failed write leaves any
 * previous file intact). Since 0.1.
 */
OT_API ot_status ot_history_write_csv(const ot_history *history,
                                      const char *path);

/**
 * Draws the loss and metric curves, training and validation, per epoch, as a
 * standalone SVG file (atomically). Since 0.1.
 */
OT_API ot_status ot_history_write_svg(const ot_history *history,
                                      const char *path);

/** Destroys a history; NULL is accepted. Since 0.1. */
OT_API void ot_history_destroy(ot_history *history);

/** What ot_model_choose_threads measured and chose. */
typedef struct ot_thread_choice {
    int threads;   /**< the fastest thread count */
    size_t shards; /**< the shard count to use with it */
    int n_tried;
    int tried[16];                /**< the thread counts tried */
    double samples_per_second[16]; /**< their training throughput */
} ot_thread_choice;

/**
 * Chooses the thread count for training `model` on `data` with this batch
 * size, by calibration: a throw-away copy of the model trains for about
 * `seconds` with each candidate (1, 2, 4, ... up to omp_get_max_threads(),
 * and that count itself), in three rounds that interleave the candidates,
 * and the fastest best round wins (samples_per_second holds each one's
 * best round). The model is not changed.
 * With shards == 0 the shard count follows the thread count (so the chosen
 * count decides the weights: print or save it, as `omptrain train` does);
 * with shards > 0 only thread counts up to it are tried, and the weights do
 * not depend on the choice. OT_INVALID_ARGUMENT when batch_size is 0 or
 * below shards, as ot_model_fit would give. Since 0.1.
 */
OT_API ot_status ot_model_choose_threads(const ot_model *model,
                                         const ot_dataset *data,
                                         size_t batch_size, size_t shards,
                                         double seconds,
                                         ot_thread_choice *out);

/**
 * The most threads `threads = 0` in a fit, evaluate or predict config asks
 * for when called from this thread: OpenMP's omp_get_max_threads()
 * (OMP_NUM_THREADS, or all cores), at most OMP_THREAD_LIMIT. The run takes
 * the team OpenMP gives: inside the caller's own parallel region (nesting
 * off, as by default) that is one thread, and with OMP_DYNAMIC it may be
 * fewer; the shard count that `shards = 0` stands for is still this count,
 * so the results are the same bits as outside, only slower. Since 0.1.
 */
OT_API int ot_default_threads(void);

/** How the threads share a training step (docs/design.md, "The two cuts
 *  of a step"). */
typedef enum ot_step_cut {
    OT_STEP_CUT_ROWS = 0,  /**< each thread its shards' rows, all layers; the
                                shards' gradients are summed */
    OT_STEP_CUT_UNITS = 1  /**< each thread its blocks of every layer's units,
                                over all the rows: small batches, wide layers */
} ot_step_cut;

/**
 * How a training step of `rows` rows on `shards` shards is cut between the
 * threads: a fixed rule of the model's shapes, the rows and the shard count,
 * never of the thread count (so the weights do not depend on it). An epoch's
 * last, partial batch has its own rows and may be cut the other way.
 * OT_INVALID_ARGUMENT for NULL or zero arguments, OT_INVALID_STATE if the
 * model is not compiled. Since 0.1.
 */
OT_API ot_status ot_model_step_cut(const ot_model *model, size_t rows,
                                   size_t shards, ot_step_cut *out);

/** How evaluate and predict run: batches, threads and shards. */
typedef struct ot_eval_config {
    size_t batch_size; /**< 32 */
    int threads;       /**< 0: as many as OpenMP gives, up to
                            ot_default_threads() (fewer inside the caller's
                            own parallel region, or with OMP_DYNAMIC); N:
                            exactly N */
    size_t shards;     /**< 0 = the thread count */
    ot_elastic elastic; /**< as in ot_fit_config: elastic when threads is 0;
                             the count may change between rounds of 4096
                             rows */
    /** evaluate: Keras' sample_weight, sample_weights floats (>= 0,
     * finite), one per sample of the data: the loss is the sum of each
     * sample's loss times its weight over the samples (Keras' evaluate);
     * the metrics are not weighted. Prediction ignores them. NULL and 0:
     * none. Since 0.1. */
    const float *sample_weight;
    size_t sample_weights;
} ot_eval_config;

/** Keras' evaluate defaults (batch 32). Since 0.1. */
OT_API ot_eval_config ot_eval_config_default(void);

/**
 * Mean loss and first metric (ot_model_metrics; by default the loss's own,
 * accuracy or mae) of a compiled model over a dataset with labels or
 * targets. `config` may be NULL for the defaults; loss or metric may be
 * NULL. Since 0.1.
 */
OT_API ot_status ot_model_evaluate(const ot_model *model, const ot_dataset *data,
                                   const ot_eval_config *config, double *loss,
                                   double *metric);

/** As ot_model_evaluate, with every metric of the model: the first
 *  min(cap, ot_model_metrics) of them in metrics, in the model's order.
 *  Since 0.1. */
OT_API ot_status ot_model_evaluate_metrics(const ot_model *model,
                                           const ot_dataset *data,
                                           const ot_eval_config *config,
                                           double *loss, double *metrics,
                                           size_t cap);

/**
 * Confusion matrix of a classifier over a labelled dataset: `counts` gets
 * classes x classes entries, row = true class, column = predicted class
 * (argmax). classes must be the model's output count. Since 0.1.
 */
OT_API ot_status ot_model_confusion_matrix(const ot_model *model,
                                           const ot_dataset *data,
                                           const ot_eval_config *config,
                                           size_t *counts, size_t classes);

/**
 * Writes the model's outputs for n rows of `x` (n x input_dim floats) into
 * `out` (n x output_dim floats, row-major): class probabilities for a softmax
 * last layer, values for a regression. The model's feature scaling is
 * applied to x first. `config` may be NULL. A NaN or infinite feature is
 * refused with OT_NON_FINITE naming its row and column, as datasets refuse
 * them. Since 0.1.
 */
OT_API ot_status ot_model_predict(const ot_model *model, const float *x, size_t n,
                                  float *out, size_t out_count,
                                  const ot_eval_config *config);

/**
 * Predicted classes (argmax of the outputs; for one sigmoid output, 1 when
 * above 0.5) of n rows of x into `classes`. Since 0.1.
 */
OT_API ot_status ot_model_predict_classes(const ot_model *model, const float *x,
                                          size_t n, int32_t *classes,
                                          const ot_eval_config *config);

/**
 * ot_model_predict for rows first..first+n of a dataset (streamed or in
 * memory; its labels, if any, are not used): the outputs into `out` (n x
 * output_dim) and, unless `classes` is NULL, the predicted classes as
 * ot_model_predict_classes gives them. Since 0.1.
 */
OT_API ot_status ot_model_predict_dataset(const ot_model *model, const ot_dataset *data,
                                          size_t first, size_t n, float *out,
                                          size_t out_count, int32_t *classes,
                                          const ot_eval_config *config);

/** Scaling the model applies to its inputs (after a fit with scaling, or a
 *  load). Since 0.1. */
OT_API ot_scaling ot_model_scaling(const ot_model *model);

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */

/**
 * Saves the architecture, weights, feature scaling, loss, optimizer,
 * optimizer state and epoch count to `path`, atomically (temporary file, fsync, rename): a failed save leaves
 * the previous file intact. The same model always gives the same bytes.
 * Since 0.1.
 */
OT_API ot_status ot_model_save(const ot_model *model, const char *path);

/** Loads a model written by ot_model_save; checks magic, version, sizes and
 *  checksum. Since 0.1. */
OT_API ot_status ot_model_load(ot_model **out, const char *path);

/**
 * The bytes ot_model_save writes, into a new buffer *data of *len bytes (a
 * model kept in memory, sent over a socket, stored in a database); free it
 * with ot_buffer_free. Since 0.1.
 */
OT_API ot_status ot_model_save_to_buffer(const ot_model *model, void **data, size_t *len);

/**
 * A model file's summary without building the model: its layer table (as
 * ot_model_summary's), then its loss and optimizer, feature scaling, the
 * epochs and steps trained and its last fit's settings (batch, shards,
 * seed, validation). The file is checked as ot_model_load checks it (its
 * checksum over every byte), a block at a time: only its header is held in
 * memory, never its weights. Since 0.1.
 */
OT_API ot_status ot_model_file_summary(const char *path, FILE *out);

/** ot_model_load from a model file's bytes in memory, checked as a file's
 *  are ("model buffer" in messages); the buffer is only read. Since 0.1. */
OT_API ot_status ot_model_load_from_buffer(ot_model **out, const void *data, size_t len);

/** Frees a buffer the library gave (ot_model_save_to_buffer); NULL is
 *  accepted. Since 0.1. */
OT_API void ot_buffer_free(void *data);

/* ------------------------------------------------------------------------ */
/* Hyper-parameter search                                                   */

/** One configuration a search tries: the model it builds and how it is
 *  fitted (scikit-learn's parameter setting of GridSearchCV). */
typedef struct ot_search_candidate {
    const ot_layer *layers;        /**< the model's layers (copied) */
    size_t n_layers;
    ot_loss loss;
    ot_optimizer_config optimizer;
    /** batch_size, epochs, seed (the model's initialisation's too),
     * shuffle, scaling, shards (0: ot_default_threads(), whatever the jobs
     * and threads: the scores never depend on them) and early_stopping are
     * the candidate's. The search sets the validation part, threads and
     * elastic; validation_*, initial_epoch (SIZE_MAX), the paths, the
     * callbacks and comm must be left as ot_fit_config_default() has them. */
    ot_fit_config fit;
} ot_search_candidate;

/** One candidate's results: a row of scikit-learn's cv_results_. */
typedef struct ot_search_result {
    size_t candidate;      /**< its index in the candidates given */
    size_t splits;         /**< folds, or 1 with a hold-out */
    const double *scores;  /**< per split: the score on the held-out part
                                after the candidate's last epoch (the
                                metric, higher is better: accuracy, or
                                minus the mean absolute error); a failed
                                fit's is the error score */
    double mean_score, std_score; /**< over the splits (std: population) */
    size_t rank;           /**< 1 the best; equal means share a rank; a NaN
                                mean ranks last (rank_test_score); among the
                                candidates done when a run ended (cancelled:
                                those done then); 0 in the callback */
    double mean_fit_time, std_fit_time;     /**< seconds training, per split */
    double mean_score_time, std_score_time; /**< seconds scoring, per split */
    const char *error;     /**< "" or why a split failed (its first) */
    const double *epoch_scores; /**< the mean over the splits of the score
                                     after each epoch, 1 to `epochs` (the
                                     learning curve; NaN where a fit had
                                     stopped, and for a restored candidate) */
    size_t epochs;
} ot_search_result;

/** Called once for each candidate when all its splits are done, one call at
 *  a time (from the search's worker threads); non-zero cancels the search.
 *  The result is valid during the call. */
typedef int (*ot_search_callback)(const ot_search_result *result, void *user);

/** How a search runs. */
typedef struct ot_search_config {
    size_t cv;               /**< k of k-fold cross-validation, k >= 2
                                  (ot_fit_config.validation_folds: stratified
                                  for labels): 3 */
    double validation_split; /**< > 0: one hold-out of this fraction, chosen
                                  by each candidate's seeded shuffle, instead
                                  of folds: 0 */
    int jobs;                /**< fits at once; 0: planned with threads so
                                  that jobs x threads = the cores, as many
                                  fits of one thread as there is work for: 0 */
    int threads;             /**< threads of each fit (fixed counts); 0: planned: 0 */
    double error_score;      /**< the score of a split whose fit failed (a
                                  non-finite loss, say): NaN */
    ot_search_callback on_candidate; /**< NULL */
    void *user;              /**< passed to on_candidate: NULL */
    /** scikit-learn's scoring: a Keras metric name (ot_metric_parse) that
     * every fit reports and every split is scored by (the metric, or minus
     * it where lower is better), whatever the candidates' losses; their
     * early stopping's OT_MONITOR_*METRIC is it. NULL: each candidate's
     * loss's own metric (accuracy or mae), the same for all. */
    const char *scoring;
    /** MPI: the address of an MPI_Comm whose ranks share the search (as
     * ot_fit_config.comm: built with MPI, initialized at least
     * MPI_THREAD_FUNNELED, the search called from MPI's main thread). Every
     * rank calls every ot_search function with the same arguments: create,
     * run, restore and refit are collective. The fits go in rounds of
     * ranks x jobs, each rank with its own jobs and threads (planned on the
     * cores this rank may run on), and after each round every rank holds
     * every result: the same as one process's, bit for bit, callbacks
     * included (called on every rank, in candidate order within a round).
     * A cancel on any rank stops all after the round. The refit trains over
     * the ranks (ot_fit_config.comm). NULL: this process alone. */
    const void *comm;
} ot_search_config;

/** A search: its candidates, its data, its results. */
typedef struct ot_search ot_search;

/** 3 folds, planned jobs and threads, error score NaN. Since 0.1. */
OT_API ot_search_config ot_search_config_default(void);

/**
 * A search of `n` candidates (copied) on `data` (borrowed: it must outlive
 * the search, read-only and shared by every fit, the folds index lists into
 * it). Checks every candidate and the config, naming the first bad one; the
 * folds must fit the data (each class at least cv samples). Since 0.1.
 */
OT_API ot_status ot_search_create(ot_search **out, const ot_dataset *data,
                                  const ot_search_candidate *candidates, size_t n,
                                  const ot_search_config *config);

/**
 * Fits every candidate on every split that is not done yet, `jobs` fits at
 * once. Each candidate's scores depend only on it, its split and the data:
 * the same for any jobs and threads, bit for bit. Candidates that differ
 * only in their epochs (and stop early on none) share their fits: epoch e
 * of a longer fit is the fit of e epochs, as each epoch's order depends on
 * the seed and the epoch alone. A failed fit scores the error score and
 * the search goes on. OT_CANCELLED after ot_search_cancel or a callback's
 * stop: the candidates done keep their results, and another call goes on
 * with the rest. Since 0.1.
 */
OT_API ot_status ot_search_run(ot_search *search);

/**
 * Marks candidate i done with the results of an earlier run of the same
 * search (its scores, error and times as ot_search_result_get gave them; the
 * rank is ignored): a search stopped in another process, taken up again.
 * Since 0.1.
 */
OT_API ot_status ot_search_restore(ot_search *search, size_t candidate,
                                   const ot_search_result *result);

/** Asks a running search to stop after each running fit's current step
 *  (from any thread, or a signal handler: it sets atomic flags). Since 0.1. */
OT_API ot_status ot_search_cancel(ot_search *search);

/** The number of candidates. Since 0.1. */
OT_API size_t ot_search_candidates(const ot_search *search);

/** The jobs and threads a run uses (planned, or as configured). Since 0.1. */
OT_API void ot_search_plan(const ot_search *search, int *jobs, int *threads);

/** Whether candidate i has all its splits done. Since 0.1. */
OT_API int ot_search_done(const ot_search *search, size_t candidate);

/** Candidate i's results (valid until the search is destroyed or run
 *  again); OT_INVALID_STATE while it is not done. Since 0.1. */
OT_API ot_status ot_search_result_get(const ot_search *search, size_t candidate,
                                      ot_search_result *out);

/** The best candidate (best_index_: rank 1, the first of equals), or
 *  SIZE_MAX while none is done with a finite mean. Since 0.1. */
OT_API size_t ot_search_best(const ot_search *search);

/**
 * Fits candidate i on all the data, as GridSearchCV's refit does (no
 * validation; `threads` as ot_fit_config.threads: 0 elastic), into a new
 * model. `history` as in ot_model_fit. ot_search_cancel stops it
 * (OT_CANCELLED, no model). Since 0.1.
 */
OT_API ot_status ot_search_refit(const ot_search *search, size_t candidate, int threads,
                                 ot_model **out, ot_history **history);

/** Destroys a search (not while it runs); NULL is accepted. Since 0.1. */
OT_API void ot_search_destroy(ot_search *search);

#ifdef __cplusplus
}
#endif

#endif /* OMPTRAIN_H */
