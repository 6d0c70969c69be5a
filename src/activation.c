/*
 * activation.c - every activation as oneDNN 2.6 primitives.
 *
 *   relu        eltwise relu_use_dst (alpha 0)          in place
 *   leaky_relu  eltwise relu_use_dst (alpha 0.2)        in place
 *   sigmoid     eltwise logistic_use_dst                in place
 *   tanh        eltwise tanh_use_dst                    in place
 *   elu         eltwise elu_use_dst (alpha 1)           in place
 *   softmax     softmax over the units (backward from its output)  in place
 *   softplus    eltwise soft_relu                       needs z
 *   gelu        eltwise gelu_erf                        needs z
 *   selu        oneDNN 2.6 has none: composed as eltwise elu (alpha 1.67326)
 *               from z, then eltwise linear (scale 1.05070) in place; its
 *               backward runs them in reverse: linear backward (times the
 *               scale), then elu backward from z.
 */
#include <stdio.h>
#include <string.h>

#include "activation.h"

#define SELU_ALPHA 1.6732632423543772f
#define SELU_SCALE 1.0507009873554805f

typedef struct eltwise_spec {
    dnnl_alg_kind_t alg;
    float alpha;
    int use_dst;
} eltwise_spec;

/* The eltwise primitive of an activation (selu: its elu part); 0: none. */
static int eltwise_of(ot_activation act, eltwise_spec *e)
{
    switch (act) {
    case OT_ACTIVATION_RELU: *e = (eltwise_spec){dnnl_eltwise_relu_use_dst_for_bwd, 0.0f, 1}; return 1;
    case OT_ACTIVATION_LEAKY_RELU: *e = (eltwise_spec){dnnl_eltwise_relu_use_dst_for_bwd, 0.2f, 1}; return 1;
    case OT_ACTIVATION_SIGMOID: *e = (eltwise_spec){dnnl_eltwise_logistic_use_dst_for_bwd, 0.0f, 1}; return 1;
    case OT_ACTIVATION_TANH: *e = (eltwise_spec){dnnl_eltwise_tanh_use_dst_for_bwd, 0.0f, 1}; return 1;
    case OT_ACTIVATION_ELU: *e = (eltwise_spec){dnnl_eltwise_elu_use_dst_for_bwd, 1.0f, 1}; return 1;
    case OT_ACTIVATION_SOFTPLUS: *e = (eltwise_spec){dnnl_eltwise_soft_relu, 0.0f, 0}; return 1;
    case OT_ACTIVATION_GELU: *e = (eltwise_spec){dnnl_eltwise_gelu_erf, 0.0f, 0}; return 1;
    case OT_ACTIVATION_SELU: *e = (eltwise_spec){dnnl_eltwise_elu, SELU_ALPHA, 0}; return 1;
    default: return 0;
    }
}

int ot__activation_needs_src(ot_activation act)
{
    eltwise_spec e;
    return eltwise_of(act, &e) && !e.use_dst;
}

/* A forward primitive (src -> dst) and, when bdesc is given, its backward
 * primitive (diff in place, reading bwd_mem as bwd_arg), from their op
 * descriptors, the forward one the backward's hint. */
static ot_status stage(ot__prim *fwd, ot__prim *bwd, dnnl_engine_t engine,
                       const_dnnl_op_desc_t fdesc, const_dnnl_op_desc_t bdesc,
                       dnnl_memory_t src, dnnl_memory_t dst, int bwd_arg,
                       dnnl_memory_t bwd_mem, dnnl_memory_t diff, const char *what)
{
    ot_status status = OT_OK;
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL;
    OT_TRY(ot__pd_create(&fpd, fdesc, engine, NULL, what));
    OT_TRY(ot__prim_create(fwd, fpd, engine, what));
    ot__prim_arg(fwd, DNNL_ARG_SRC, src);
    ot__prim_arg(fwd, DNNL_ARG_DST, dst);
    if (bdesc != NULL) {
        OT_TRY(ot__pd_create(&bpd, bdesc, engine, fpd, what));
        OT_TRY(ot__prim_create(bwd, bpd, engine, what));
        ot__prim_arg(bwd, bwd_arg, bwd_mem);
        ot__prim_arg(bwd, DNNL_ARG_DIFF_DST, diff);
        ot__prim_arg(bwd, DNNL_ARG_DIFF_SRC, diff);
    }
fail:
    if (fpd)
        dnnl_primitive_desc_destroy(fpd);
    if (bpd)
        dnnl_primitive_desc_destroy(bpd);
    return status;
}

/* One eltwise stage: forward src -> dst, backward diff in place from src
 * (or from dst when use_dst). */
static ot_status eltwise_stage(ot__prim *fwd, ot__prim *bwd, dnnl_engine_t engine,
                               const dnnl_memory_desc_t *md, dnnl_alg_kind_t alg,
                               float alpha, float beta, int use_dst,
                               dnnl_memory_t src, dnnl_memory_t dst,
                               dnnl_memory_t diff, int training, const char *what)
{
    ot_status status = OT_OK;
    dnnl_eltwise_desc_t fdesc, bdesc;
    OT_DNNL(dnnl_eltwise_forward_desc_init(
        &fdesc, training ? dnnl_forward_training : dnnl_forward_inference, alg,
        md, alpha, beta));
    if (training)
        OT_DNNL(dnnl_eltwise_backward_desc_init(&bdesc, alg, md, md, alpha, beta));
    status = stage(fwd, bwd, engine, &fdesc, training ? &bdesc : NULL, src, dst,
                   use_dst ? DNNL_ARG_DST : DNNL_ARG_SRC, use_dst ? dst : src, diff,
                   what);
fail:
    return status;
}

/* Softmax over the units, in place; backward from its output. */
static ot_status softmax_stage(ot__prim *fwd, ot__prim *bwd, dnnl_engine_t engine,
                               const dnnl_memory_desc_t *md, dnnl_memory_t data,
                               dnnl_memory_t diff, int training, const char *what)
{
    ot_status status = OT_OK;
    dnnl_softmax_desc_t fdesc, bdesc;
    OT_DNNL(dnnl_softmax_forward_desc_init(
        &fdesc, training ? dnnl_forward_training : dnnl_forward_inference, md, 1));
    if (training)
        OT_DNNL(dnnl_softmax_backward_desc_init(&bdesc, md, md, 1));
    status = stage(fwd, bwd, engine, &fdesc, training ? &bdesc : NULL, data, data,
                   DNNL_ARG_DST, data, diff, what);
fail:
    return status;
}

ot_status ot__activation_init(ot__activation *f, dnnl_engine_t engine,
                              ot_activation act, size_t rows, size_t units,
                              float *z, float *a, float *diff, int training,
                              size_t layer)
{
    ot_status status = OT_OK;
    dnnl_memory_desc_t md;
    eltwise_spec e = {dnnl_eltwise_relu, 0.0f, 0};
    char what[64];
    memset(f, 0, sizeof *f);
    int eltwise = eltwise_of(act, &e);
    if (!eltwise && act != OT_ACTIVATION_SOFTMAX)
        return OT_OK; /* linear */
    snprintf(what, sizeof what, "%s of layer %zu", ot_activation_name(act), layer + 1);
    OT_TRY(ot__md_2d(&md, rows, units));
    OT_TRY(ot__memory(&f->z, &md, engine, z));
    OT_TRY(ot__memory(&f->a, &md, engine, a));
    if (training)
        OT_TRY(ot__memory(&f->diff, &md, engine, diff));
    if (act == OT_ACTIVATION_SOFTMAX) {
        OT_TRY(softmax_stage(&f->fwd[0], &f->bwd[0], engine, &md, f->a, f->diff,
                             training, what));
    } else {
        OT_TRY(eltwise_stage(&f->fwd[0], &f->bwd[1], engine, &md, e.alg, e.alpha,
                             0.0f, e.use_dst, f->z, f->a, f->diff, training, what));
        if (act == OT_ACTIVATION_SELU)
            OT_TRY(eltwise_stage(&f->fwd[1], &f->bwd[0], engine, &md,
                                 dnnl_eltwise_linear, SELU_SCALE, 0.0f, 0, f->a,
                                 f->a, f->diff, training, what));
    }
    return OT_OK;
fail:
    ot__activation_destroy(f);
    return status;
}

void ot__activation_destroy(ot__activation *f)
{
    for (int i = 0; i < 2; i++) {
        ot__prim_destroy(&f->fwd[i]);
        ot__prim_destroy(&f->bwd[i]);
    }
    dnnl_memory_t *mems[] = {&f->z, &f->a, &f->diff};
    for (size_t i = 0; i < 3; i++)
        ot__memory_release(mems[i]);
}

static ot_status run_pair(const ot__prim *p, dnnl_stream_t stream)
{
    ot_status status = OT_OK;
    for (int i = 0; i < 2 && status == OT_OK; i++)
        if (p[i].prim)
            status = ot__prim_run(&p[i], stream);
    return status;
}

ot_status ot__activation_forward(ot__activation *f, dnnl_stream_t stream)
{
    return run_pair(f->fwd, stream);
}

ot_status ot__activation_backward(ot__activation *f, dnnl_stream_t stream)
{
    return run_pair(f->bwd, stream);
}
