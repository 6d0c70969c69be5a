/*
 * activation.c - relu and sigmoid as oneDNN eltwise primitives, forward and
 * backward, in place on the layer's buffers.
 */
#include <stdio.h>
#include <string.h>

#include "activation.h"

ot_status ot__activation_init(ot__activation *a, dnnl_engine_t engine,
                              ot_activation act, size_t rows, size_t units,
                              float *data, float *diff, int training,
                              size_t layer)
{
    ot_status status = OT_OK;
    dnnl_primitive_desc_t fwd_pd = NULL, bwd_pd = NULL;
    dnnl_memory_desc_t md;
    dnnl_eltwise_desc_t desc;
    dnnl_alg_kind_t alg;
    char what[64];
    memset(a, 0, sizeof *a);

    switch (act) {
    case OT_ACTIVATION_RELU: alg = dnnl_eltwise_relu_use_dst_for_bwd; break;
    case OT_ACTIVATION_SIGMOID: alg = dnnl_eltwise_logistic_use_dst_for_bwd; break;
    default: return OT_OK; /* linear; softmax lives in loss.c */
    }
    OT_TRY(ot__md_2d(&md, rows, units));
    OT_TRY(ot__memory(&a->data, &md, engine, data));

    snprintf(what, sizeof what, "%s of layer %zu forward",
             ot_activation_name(act), layer + 1);
    OT_DNNL(dnnl_eltwise_forward_desc_init(
        &desc, training ? dnnl_forward_training : dnnl_forward_inference, alg,
        &md, 0.0f, 0.0f));
    OT_TRY(ot__pd_create(&fwd_pd, &desc, engine, NULL, what));
    OT_TRY(ot__prim_create(&a->fwd, fwd_pd, engine, what));
    ot__prim_arg(&a->fwd, DNNL_ARG_SRC, a->data);
    ot__prim_arg(&a->fwd, DNNL_ARG_DST, a->data);

    if (training) {
        snprintf(what, sizeof what, "%s of layer %zu backward",
                 ot_activation_name(act), layer + 1);
        OT_TRY(ot__memory(&a->diff, &md, engine, diff));
        OT_DNNL(dnnl_eltwise_backward_desc_init(&desc, alg, &md, &md, 0.0f, 0.0f));
        OT_TRY(ot__pd_create(&bwd_pd, &desc, engine, fwd_pd, what));
        OT_TRY(ot__prim_create(&a->bwd, bwd_pd, engine, what));
        ot__prim_arg(&a->bwd, DNNL_ARG_DST, a->data);
        ot__prim_arg(&a->bwd, DNNL_ARG_DIFF_DST, a->diff);
        ot__prim_arg(&a->bwd, DNNL_ARG_DIFF_SRC, a->diff);
    }
    status = OT_OK;
fail:
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (bwd_pd)
        dnnl_primitive_desc_destroy(bwd_pd);
    if (status != OT_OK)
        ot__activation_destroy(a);
    return status;
}

void ot__activation_destroy(ot__activation *a)
{
    ot__prim_destroy(&a->fwd);
    ot__prim_destroy(&a->bwd);
    if (a->data)
        dnnl_memory_destroy(a->data);
    if (a->diff)
        dnnl_memory_destroy(a->diff);
    a->data = a->diff = NULL;
}

ot_status ot__activation_forward(ot__activation *a, dnnl_stream_t stream)
{
    return a->fwd.prim ? ot__prim_run(&a->fwd, stream) : OT_OK;
}

ot_status ot__activation_backward(ot__activation *a, dnnl_stream_t stream)
{
    return a->bwd.prim ? ot__prim_run(&a->bwd, stream) : OT_OK;
}
