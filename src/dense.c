/*
 * dense.c - the math of a Dense layer on oneDNN inner products (2.6 API).
 * Layouts are plain: activations "nc" (rows x features), weights "oi"
 * (units x inputs), so the parameter arena needs no reorders.
 */
#include <stdio.h>
#include <string.h>

#include "dense.h"

ot_status ot__dense_init(ot__dense *d, dnnl_engine_t engine, size_t rows,
                         size_t in, size_t out, const ot__dense_io *io,
                         int training, size_t layer)
{
    ot_status status = OT_OK;
    dnnl_primitive_desc_t fwd_pd = NULL, bw_pd = NULL, bd_pd = NULL;
    dnnl_memory_desc_t src_md, w_md, b_md, dst_md;
    dnnl_inner_product_desc_t desc;
    char what[64];
    memset(d, 0, sizeof *d);

    OT_TRY(ot__md_2d(&src_md, rows, in));
    OT_TRY(ot__md_2d(&w_md, out, in));
    OT_TRY(ot__md_2d(&b_md, out, 0));
    OT_TRY(ot__md_2d(&dst_md, rows, out));

    /* src (rows x in), w (out x in), b (out) -> dst (rows x out) */
    snprintf(what, sizeof what, "dense layer %zu forward", layer + 1);
    OT_DNNL(dnnl_inner_product_forward_desc_init(
        &desc, training ? dnnl_forward_training : dnnl_forward_inference,
        &src_md, &w_md, &b_md, &dst_md));
    OT_TRY(ot__pd_create(&fwd_pd, &desc, engine, NULL, what));
    OT_TRY(ot__memory(&d->src, &src_md, engine, io->src));
    OT_TRY(ot__memory(&d->w, &w_md, engine, io->w));
    OT_TRY(ot__memory(&d->b, &b_md, engine, io->b));
    OT_TRY(ot__memory(&d->dst, &dst_md, engine, io->dst));
    OT_TRY(ot__prim_create(&d->fwd, fwd_pd, engine, what));
    ot__prim_arg(&d->fwd, DNNL_ARG_SRC, d->src);
    ot__prim_arg(&d->fwd, DNNL_ARG_WEIGHTS, d->w);
    ot__prim_arg(&d->fwd, DNNL_ARG_BIAS, d->b);
    ot__prim_arg(&d->fwd, DNNL_ARG_DST, d->dst);

    if (training) {
        /* ddst (rows x out), src -> dw (out x in), db (out) */
        snprintf(what, sizeof what, "dense layer %zu backward-weights", layer + 1);
        OT_DNNL(dnnl_inner_product_backward_weights_desc_init(
            &desc, &src_md, &w_md, &b_md, &dst_md));
        OT_TRY(ot__pd_create(&bw_pd, &desc, engine, fwd_pd, what));
        OT_TRY(ot__memory(&d->ddst, &dst_md, engine, io->ddst));
        OT_TRY(ot__memory(&d->dw, &w_md, engine, NULL));
        OT_TRY(ot__memory(&d->db, &b_md, engine, NULL));
        OT_TRY(ot__prim_create(&d->bwd_w, bw_pd, engine, what));
        ot__prim_arg(&d->bwd_w, DNNL_ARG_SRC, d->src);
        ot__prim_arg(&d->bwd_w, DNNL_ARG_DIFF_DST, d->ddst);
        ot__prim_arg(&d->bwd_w, DNNL_ARG_DIFF_WEIGHTS, d->dw);
        ot__prim_arg(&d->bwd_w, DNNL_ARG_DIFF_BIAS, d->db);

        if (io->dsrc != NULL) {
            /* ddst (rows x out), w (out x in) -> dsrc (rows x in) */
            snprintf(what, sizeof what, "dense layer %zu backward-data", layer + 1);
            OT_DNNL(dnnl_inner_product_backward_data_desc_init(
                &desc, &src_md, &w_md, &dst_md));
            OT_TRY(ot__pd_create(&bd_pd, &desc, engine, fwd_pd, what));
            OT_TRY(ot__memory(&d->dsrc, &src_md, engine, io->dsrc));
            OT_TRY(ot__prim_create(&d->bwd_d, bd_pd, engine, what));
            ot__prim_arg(&d->bwd_d, DNNL_ARG_DIFF_DST, d->ddst);
            ot__prim_arg(&d->bwd_d, DNNL_ARG_WEIGHTS, d->w);
            ot__prim_arg(&d->bwd_d, DNNL_ARG_DIFF_SRC, d->dsrc);
        }
    }
    status = OT_OK;
fail:
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (bw_pd)
        dnnl_primitive_desc_destroy(bw_pd);
    if (bd_pd)
        dnnl_primitive_desc_destroy(bd_pd);
    if (status != OT_OK)
        ot__dense_destroy(d);
    return status;
}

void ot__dense_destroy(ot__dense *d)
{
    ot__prim_destroy(&d->fwd);
    ot__prim_destroy(&d->bwd_w);
    ot__prim_destroy(&d->bwd_d);
    dnnl_memory_t *mems[] = {&d->src, &d->w, &d->b, &d->dst,
                             &d->dsrc, &d->ddst, &d->dw, &d->db};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++) {
        if (*mems[i])
            dnnl_memory_destroy(*mems[i]);
        *mems[i] = NULL;
    }
}

ot_status ot__dense_forward(ot__dense *d, dnnl_stream_t stream)
{
    return ot__prim_run(&d->fwd, stream);
}

ot_status ot__dense_backward(ot__dense *d, dnnl_stream_t stream, float *dw,
                             float *db)
{
    ot_status status = OT_OK;
    OT_DNNL(dnnl_memory_set_data_handle(d->dw, dw));
    OT_DNNL(dnnl_memory_set_data_handle(d->db, db));
    OT_TRY(ot__prim_run(&d->bwd_w, stream));
    if (d->bwd_d.prim != NULL)
        OT_TRY(ot__prim_run(&d->bwd_d, stream));
fail:
    return status;
}
