/*
 * model.h - the model's internals: layers, the parameter arena, feature
 * scaling and the optimizer state. Not installed.
 *
 * Arena layout: for each Dense layer, its weights (units x inputs, oneDNN
 * "oi", row-major) then its bias (units), each starting on a 64-byte line.
 * The padding between tensors is zero in the parameters, in every gradient
 * and in the optimizer state, and stays zero.
 */
#ifndef OT_MODEL_H
#define OT_MODEL_H

#include "common.h"
#include "metrics.h"
#include "optimizer.h"

#define OT_MAX_LAYERS 64

typedef struct ot__layer {
    size_t in, out;       /* inputs and units */
    ot_activation act;
    ot_initializer init;
    size_t w_off, b_off;  /* offsets of weights and bias in the arena */
} ot__layer;

struct ot_model {
    size_t input_dim;
    int flatten;      /* a Flatten layer stands first (summary only) */
    size_t n_layers;  /* Dense layers */
    ot__layer *layers;
    size_t n_params;  /* trainable parameters */
    size_t arena_len; /* floats in the arena, padding included */
    float *params;    /* arena_len floats */

    /* Feature scaling, x' = (x - shift) * mult, fitted on training data. */
    ot_scaling scaling;
    float *shift, *mult; /* input_dim each, or NULL */

    int compiled;
    ot_loss loss;
    int fused;         /* the last activation is computed inside the loss */
    ot__metric_list metrics; /* reported with the loss (compiled: >= 1) */
    ot__optimizer opt; /* config, step count and state over the arena */
    size_t epochs;     /* epochs trained */

    /* A fit stopped inside an epoch (by a callback, a signal): the steps of
     * epoch `epochs + 1` already taken, and the metric sums so far, so that
     * a resumed fit takes up exactly there. */
    size_t steps_in_epoch;
    ot__sums part;
    size_t part_seen;

    _Atomic int cancel; /* ot_model_cancel: the fit stops after its step */
    /* The settings of the last fit, which a resumed fit must repeat. */
    int has_fit;
    size_t fit_batch, fit_shards, fit_epochs;
    uint64_t fit_seed;
    double fit_split;
    size_t fit_folds, fit_fold; /* validation_folds, validation_fold */
    const float *class_w;       /* during a fit: its class weights, or NULL
                                 * (not saved: the fit's config, as in Keras) */
    int fit_shuffle;
};

/* Whether layer l's activation runs as primitives of its own: not linear,
 * and not a last activation that the loss computes. */
int ot__model_runs_activation(const ot_model *model, size_t l);

/* Widest layer (units), for sizing per-row buffers. */
size_t ot__model_max_units(const ot_model *model);

/* Copies `src` arena (params or a state slot) to plain packed order, and back. */
void ot__arena_pack(const ot_model *model, const float *arena, float *out);
void ot__arena_unpack(const ot_model *model, const float *in, float *arena);

/* Creates the model's structure with zeroed parameters (no initialisation). */
/* Whether layers[0, n_layers) over input_dim inputs make a model (the
 * checks of ot_model_create, naming the first bad layer). */
ot_status ot__check_layers(size_t input_dim, const ot_layer *layers, size_t n_layers);

ot_status ot__model_alloc(ot_model **out, size_t input_dim,
                          const ot_layer *layers, size_t n_layers);

/* Sets the scaling arrays (copied); NULL arrays for none. */
ot_status ot__model_set_scaling(ot_model *model, ot_scaling kind,
                                const float *shift, const float *mult);

/* Whether the loss computes the last layer's activation itself (softmax with
 * the categorical cross-entropies, sigmoid with binary cross-entropy). */
int ot__loss_fuses(ot_loss loss, ot_activation last);

#endif
