/*
 * dense.c - the math of a Dense layer on oneDNN inner products (2.6 API).
 * Layouts are plain: activations "nc" (rows x features), weights "oi"
 * (units x inputs), so the parameter arena needs no reorders: oneDNN's
 * preferred (blocked) weight layouts make some passes faster but cost two
 * reorders a step, more than they save (`bench --layouts`, BENCHMARKS.md).
 *
 * Row blocks. With oi weights the forward pass is a product with the
 * transposed weight matrix. oneDNN 2.6's sgemm has an AVX-512 kernel for
 * such products over 2 to 15 rows that reads the weights in place; from 16
 * rows on it packs the whole weight matrix first, on every call, which for
 * a small matrix costs more than the arithmetic (784 x 100: 9 us for 8
 * rows, 30 us for 16, measured with `bench --layouts`). So a shard of 16 to
 * 63 rows whose weights are small (at most 128 Ki floats, they stay in L2)
 * runs its forward pass in blocks of at most 15 rows. The rule depends only
 * on the shapes and the processor, never on timing, so a shard of a given
 * size always sums in the same order and the weights stay bit-reproducible.
 */
#include <stdio.h>
#include <string.h>

#include "dense.h"

size_t ot__dense_row_blocks(size_t rows, size_t in, size_t out)
{
    /* what oneDNN runs on: a fixed fact of the machine */
    int avx512 = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
    if (!avx512 || rows < 16 || rows >= 64 || in * out > ((size_t)128 << 10))
        return 1;
    return (rows + 14) / 15;
}

/* The forward primitives: one per row block, each over its rows of src and
 * dst (pd_full serves when the shard is one block). */
static ot_status forward_blocks(ot__dense *d, dnnl_engine_t engine,
                                const_dnnl_primitive_desc_t pd_full,
                                const dnnl_inner_product_desc_t *full, size_t rows,
                                size_t in, size_t out, const ot__dense_io *io,
                                const char *what)
{
    ot_status status = OT_OK;
    dnnl_primitive_desc_t pd = NULL;
    d->n_fwd = io->src && io->dst ? ot__dense_row_blocks(rows, in, out) : 1;
    if (d->n_fwd > OT__MAX_ROW_BLOCKS)
        return ot__fail(OT_INVALID_STATE, "%s: %zu row blocks, at most %d", what,
                        d->n_fwd, OT__MAX_ROW_BLOCKS);
    size_t first = 0;
    for (size_t k = 0; k < d->n_fwd; k++) {
        size_t n = rows / d->n_fwd + (k < rows % d->n_fwd);
        if (d->n_fwd == 1) {
            d->fsrc[k] = d->src;
            d->fdst[k] = d->dst;
            OT_TRY(ot__prim_create(&d->fwd[k], pd_full, engine, what));
        } else {
            dnnl_memory_desc_t src_md, dst_md;
            dnnl_inner_product_desc_t desc;
            OT_TRY(ot__md_2d(&src_md, n, in));
            OT_TRY(ot__md_2d(&dst_md, n, out));
            OT_TRY(ot__memory(&d->fsrc[k], &src_md, engine, io->src + first * in));
            OT_TRY(ot__memory(&d->fdst[k], &dst_md, engine, io->dst + first * out));
            OT_DNNL(dnnl_inner_product_forward_desc_init(
                &desc, full->prop_kind, &src_md, &full->weights_desc,
                &full->bias_desc, &dst_md));
            OT_TRY(ot__pd_create(&pd, &desc, engine, NULL, what));
            OT_TRY(ot__prim_create(&d->fwd[k], pd, engine, what));
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
        ot__prim_arg(&d->fwd[k], DNNL_ARG_SRC, d->fsrc[k]);
        ot__prim_arg(&d->fwd[k], DNNL_ARG_WEIGHTS, d->w);
        ot__prim_arg(&d->fwd[k], DNNL_ARG_BIAS, d->b);
        ot__prim_arg(&d->fwd[k], DNNL_ARG_DST, d->fdst[k]);
        first += n;
    }
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return status;
}

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
    OT_TRY(forward_blocks(d, engine, fwd_pd, &desc, rows, in, out, io, what));

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
    for (size_t k = 0; k < OT__MAX_ROW_BLOCKS; k++) {
        ot__prim_destroy(&d->fwd[k]);
        if (d->fsrc[k] && d->fsrc[k] != d->src)
            dnnl_memory_destroy(d->fsrc[k]);
        if (d->fdst[k] && d->fdst[k] != d->dst)
            dnnl_memory_destroy(d->fdst[k]);
        d->fsrc[k] = d->fdst[k] = NULL;
    }
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
    ot_status status = OT_OK;
    for (size_t k = 0; k < d->n_fwd; k++)
        OT_TRY(ot__prim_run(&d->fwd[k], stream));
fail:
    return status;
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
