/*
 * fit_check.c - what a fit checks before it starts: its arguments, and,
 * over ranks, that every rank runs the same fit (fit.h).
 */
#include <math.h>
#include <string.h>

#include "fit.h"
#include "fit_control.h"
#include "model.h"
#include "optimizer.h"
#include "rng.h"
#include "stream.h"

ot_status ot__fit_check(const ot_model *m, const ot_dataset *train, const ot_fit_config *cfg)
{
    ot_status status;
    if (m == NULL || train == NULL || cfg == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: model, data and config must "
                        "not be NULL");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "fit: the model is not compiled "
                        "(call ot_model_compile first)");
    if ((status = ot__dataset_check(train, m, "fit: training data", 1)) != OT_OK)
        return status;
    if (cfg->elastic != OT_ELASTIC_AUTO && cfg->elastic != OT_ELASTIC_ON &&
        cfg->elastic != OT_ELASTIC_OFF)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: elastic %d is not OT_ELASTIC_AUTO, "
                        "_ON or _OFF", (int)cfg->elastic);
    if (cfg->batch_size == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: batch_size must be >= 1");
    if (cfg->epochs == 0 || cfg->epochs > 1000000)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: epochs %zu must be in "
                        "1..1000000", cfg->epochs);
    if (cfg->initial_epoch != SIZE_MAX && cfg->initial_epoch >= cfg->epochs)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: initial_epoch %zu: nothing "
                        "to train up to epochs %zu", cfg->initial_epoch, cfg->epochs);
    if (!(cfg->validation_split >= 0.0 && cfg->validation_split < 1.0))
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation_split %g must be "
                        "in [0, 1)", cfg->validation_split);
    if (cfg->validation_data != NULL && cfg->validation_split > 0.0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: give validation_data or "
                        "validation_split, not both");
    if (cfg->validation_data != NULL &&
        (status = ot__dataset_check(cfg->validation_data, m, "fit: validation data",
                                    1)) != OT_OK)
        return status;
    if (cfg->class_weight != NULL || cfg->class_weights != 0) {
        const size_t C = ot_model_output_dim(m), K = C == 1 ? 2 : C;
        if (m->loss != OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY &&
            m->loss != OT_LOSS_CATEGORICAL_CROSSENTROPY &&
            !(m->loss == OT_LOSS_BINARY_CROSSENTROPY && C == 1))
            return ot__fail(OT_INVALID_ARGUMENT, "fit: class weights need a cross-entropy "
                            "over classes (one sigmoid output for binary_crossentropy), not "
                            "%s with %zu outputs", ot_loss_name(m->loss), C);
        if (cfg->class_weight == NULL || cfg->class_weights != K)
            return ot__fail(OT_INVALID_ARGUMENT, "fit: %zu class weights for the model's %zu "
                            "classes", cfg->class_weight ? cfg->class_weights : 0, K);
        for (size_t k = 0; k < K; k++)
            if (!(cfg->class_weight[k] >= 0.0f) || !isfinite(cfg->class_weight[k]))
                return ot__fail(OT_INVALID_ARGUMENT, "fit: class weight %g of class %zu: "
                                "weights are finite and >= 0", (double)cfg->class_weight[k], k);
    }
    if ((status = ot__check_sample_weights(cfg->sample_weight, cfg->sample_weights, train->n,
                                           "fit: training")) != OT_OK)
        return status;
    if ((cfg->validation_sample_weight || cfg->validation_sample_weights) &&
        cfg->validation_data == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation sample weights and no "
                        "validation_data (a split keeps its rows' sample_weight)");
    if (cfg->validation_data != NULL &&
        (status = ot__check_sample_weights(cfg->validation_sample_weight,
                                           cfg->validation_sample_weights,
                                           cfg->validation_data->n, "fit: validation")) !=
            OT_OK)
        return status;
    if ((unsigned)cfg->scaling > OT_SCALING_MINMAX)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: scaling %d is unknown",
                        (int)cfg->scaling);
    return ot__control_check(m, cfg, cfg->validation_data != NULL ||
                                      cfg->validation_split > 0.0);
}

/* A fingerprint of d's features (a streamed one's: its file's), labels and
 * targets. */
static uint64_t dataset_hash(const ot_dataset *d)
{
    uint64_t h = d->source ? d->source->id ^ d->n
                           : ot__hash_bytes(d->n, d->x ? (const void *)d->x
                                                       : (const void *)d->pixels,
                                            d->n * d->dim * (d->x ? sizeof(float) : 1));
    h = ot__hash_bytes(h, d->y, d->y ? d->n * sizeof *d->y : 0);
    return ot__hash_bytes(h, d->t, d->t ? d->n * d->n_targets * sizeof(float) : 0);
}

ot_status ot__fit_same(const ot_model *m, const ot_fit_config *cfg, const ot_dataset *d,
                       size_t first_epoch, size_t first_step, size_t batch,
                       const ot__ranks *r, int T, size_t *S)
{
    const ot_dataset *v = cfg->validation_data;
    uint64_t split_bits;
    memcpy(&split_bits, &cfg->validation_split, sizeof split_bits);
    uint64_t data_hash = dataset_hash(d), val_hash = v ? dataset_hash(v) : 0;
    uint64_t weights_hash = ot__hash_bytes(cfg->class_weights, cfg->class_weight,
                                           cfg->class_weight ? cfg->class_weights * 4 : 0);
    weights_hash = ot__hash_bytes(weights_hash ^ cfg->sample_weights, cfg->sample_weight,
                                  cfg->sample_weight ? cfg->sample_weights * 4 : 0);
    weights_hash = ot__hash_bytes(weights_hash ^ cfg->validation_sample_weights,
                                  cfg->validation_sample_weight,
                                  cfg->validation_sample_weight
                                      ? cfg->validation_sample_weights * 4 : 0);
    uint64_t metrics = 0; /* the list, 4 bits a metric, its count on top */
    for (size_t k = 0; k < m->metrics.n; k++)
        metrics |= (uint64_t)m->metrics.m[k] << (4 * k);
    metrics |= (uint64_t)m->metrics.n << 60;
    uint64_t model_hash = ot__hash_bytes(m->arena_len, m->params, m->arena_len * sizeof(float));
    model_hash = ot__hash_bytes(model_hash, m->opt.state,
                                m->opt.slots * m->arena_len * sizeof(float));
    const char *names[] = {"batch_size", "shards", "epochs", "seed", "shuffle",
                           "validation_split (bits)", "first epoch", "first step",
                           "optimizer steps", "parameters", "a hash of the weights and "
                           "optimizer state", "training samples", "a hash of the training "
                           "data", "validation samples", "a hash of the validation data",
                           "scaling", "initial_epoch", "a hash of the class and sample "
                           "weights", "the metrics (4 bits each)"};
    uint64_t vals[] = {cfg->batch_size, cfg->shards, cfg->epochs, cfg->seed,
                       (uint64_t)cfg->shuffle, split_bits, first_epoch, first_step,
                       m->opt.iterations, m->arena_len, model_hash, d->n, data_hash,
                       v ? v->n : 0, val_hash, (uint64_t)cfg->scaling, cfg->initial_epoch,
                       weights_hash, metrics};
    ot_status status = ot__ranks_same(r, vals, names, sizeof vals / sizeof *vals);
    if (status != OT_OK || cfg->shards != 0 || m->has_fit)
        return status;
    uint64_t sum = (uint64_t)T;
    if ((status = ot__ranks_sum(r, &sum)) != OT_OK)
        return status;
    if (sum > 65536)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: %llu threads over %d ranks make more "
                        "than 65536 shards: give shards", (unsigned long long)sum, r->size);
    *S = (size_t)sum < batch ? (size_t)sum : batch;
    return OT_OK;
}


/* The estimate from the shapes: P parameters (the arena's floats), the
 * optimizer's slots, the inputs and the sums of the layers' inputs and
 * units. */
static size_t memory_of(double P, double slots, double input_dim, double inputs,
                        double units, size_t batch, size_t shards, int threads,
                        size_t n_samples)
{
    const double S = (double)(shards ? shards : 1), B = (double)batch;
    const double rows = ceil(B / S); /* a shard's */
    double floats = P * (1.0 + slots)          /* the weights and optimizer state */
                    + P * (1.0 + slots)        /* their copy at an epoch's start */
                    + S * P                    /* each shard's gradient */
                    + (double)threads * rows * (input_dim + 3.0 * units) /* a thread's
                                                  shard buffers */
                    + B * (inputs + 3.0 * units); /* a step cut by units: the batch's */
    double bytes = 4.0 * floats + 8.0 * (double)n_samples; /* and the epoch's order */
    return bytes < (double)SIZE_MAX ? (size_t)bytes : SIZE_MAX;
}

size_t ot__fit_memory(const ot_model *m, size_t batch, size_t shards, int threads,
                      size_t n_samples)
{
    double units = 0.0, inputs = 0.0;
    for (size_t l = 0; l < m->n_layers; l++) {
        units += (double)m->layers[l].out;
        inputs += (double)m->layers[l].in;
    }
    return memory_of((double)m->arena_len, (double)m->opt.slots, (double)m->input_dim, inputs,
                     units, batch, shards, threads, n_samples);
}

ot_status ot__fit_memory_check(size_t need)
{
    return ot__memory_check(need, "fit: this run", "the weights, the optimizer state and a "
                            "copy of both, a gradient per shard, each thread's buffers: fewer "
                            "units, shards or a smaller batch need less");
}

/* The threads, shards and batch a fit of n_samples with cfg takes (fit's
 * plan, without the data's own checks). */
static ot_status fit_shape(const ot_fit_config *cfg, size_t model_shards, size_t n_samples,
                           int *T, size_t *S, size_t *batch)
{
    ot_status status = ot__engine_resolve(cfg->threads, model_shards, T, S);
    if (status != OT_OK)
        return status;
    size_t n_val = (size_t)ceil(cfg->validation_split * (double)n_samples);
    size_t n_train = n_samples > n_val ? n_samples - n_val : 1;
    *batch = cfg->batch_size < n_train ? cfg->batch_size : n_train;
    if (*batch == 0)
        *batch = 1;
    if (*S > *batch)
        *S = *batch;
    return OT_OK;
}

ot_status ot_model_fit_memory(const ot_model *m, size_t n_samples, const ot_fit_config *cfg,
                              size_t *bytes)
{
    if (m == NULL || cfg == NULL || bytes == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit memory: NULL argument");
    int T;
    size_t S, batch;
    ot_status status = fit_shape(cfg, cfg->shards == 0 && m->has_fit ? m->fit_shards
                                                                     : cfg->shards,
                                 n_samples, &T, &S, &batch);
    if (status == OT_OK)
        *bytes = ot__fit_memory(m, batch, S, T, n_samples);
    return status;
}

ot_status ot_layers_fit_memory(size_t input_dim, const ot_layer *layers, size_t n,
                               const ot_optimizer_config *opt, size_t n_samples,
                               const ot_fit_config *cfg, size_t *bytes)
{
    if (opt == NULL || cfg == NULL || bytes == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit memory: NULL argument");
    ot_status status = ot__check_layers(input_dim, layers, n);
    int T;
    size_t S, batch;
    if (status == OT_OK)
        status = fit_shape(cfg, cfg->shards, n_samples, &T, &S, &batch);
    if (status != OT_OK)
        return status;
    double P = 0.0, units = 0.0, inputs = 0.0, in = (double)input_dim;
    for (size_t l = 0; l < n; l++) {
        if (layers[l].kind != OT_LAYER_DENSE)
            continue;
        double out = (double)layers[l].units;
        P += in * out + out + 32.0; /* each block rounded to whole lines */
        units += out;
        inputs += in;
        in = out;
    }
    size_t need = memory_of(P, (double)ot__optimizer_slots(opt), (double)input_dim, inputs,
                            units, batch, S, T, n_samples);
    *bytes = need;
    return ot__fit_memory_check(need);
}
