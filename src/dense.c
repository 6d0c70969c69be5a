/*
 * dense.c - the math of a Dense layer on oneDNN inner products (2.6 API).
 * Layouts are plain: activations "nc" (rows x features), weights "oi"
 * (units x inputs), so the parameter arena needs no reorders: oneDNN's
 * preferred (blocked) weight layouts make some passes faster but cost two
 * reorders a step, more than they save.
 *
 * The forward pass as the transposed product. The inner product's forward
 * pass runs on oneDNN 2.6's sgemm, which over 16 rows and more packs the
 * whole weight matrix on every call and works in panels of 48 units.
 * oneDNN's matmul (brgemm on AVX-512) is faster on the product the other
 * way round, zt = W . src^T (units x rows), read from the same plain
 * buffers; the layer then writes dst = zt^T + b, a pass over rows x units
 * values it has just written. That pays on small shards at any width,
 * on up to 256 rows from 64 units, and where the units are no multiple of
 * 16 (a ragged panel for the inner product) while the outputs stay small;
 * beyond, the extra pass costs more than the product saves. The rule
 * depends only on the shapes and the processor, never on timing, so a
 * shard of a given size always sums in the same order and the weights
 * stay bit-reproducible.
 */
#include <stdio.h>
#include <string.h>

#include "dense.h"

int ot__dense_transposed(size_t rows, size_t in, size_t out, int mode)
{
    (void)in;
    if (mode != 0)
        return mode > 0;
    /* what oneDNN runs on: a fixed fact of the machine */
    int avx512 = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
    /* up to 64 rows whatever the width; up to 256 from 64 units; and a
     * width that is no multiple of 16 (where the inner product works on a
     * ragged panel) while the outputs fit in 1 MB, rows x units <= 2^18 */
    return avx512 && rows >= 16 &&
           (rows <= 64 || (rows <= 256 && out >= 64) ||
            (out % 16 != 0 && rows * out <= (size_t)1 << 18));
}

/* zt (out x rows) = W (out x in) . src^T (in x rows, the rows x in buffer
 * read by columns), on oneDNN's matmul; dst is written by
 * transpose_bias after it. */
static ot_status forward_transposed(ot__dense *d, dnnl_engine_t engine, size_t rows,
                                    size_t in, size_t out, const ot__dense_io *io,
                                    const char *what)
{
    ot_status status = OT_OK;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t w_md, srct_md, zt_md;
    dnnl_matmul_desc_t desc;
    d->zt = ot__alloc(rows * out, sizeof(float), "dense layer outputs, transposed");
    if (d->zt == NULL)
        return OT_OUT_OF_MEMORY;
    d->rows = rows;
    d->out = out;
    d->bias = io->b;
    d->dst_data = io->dst;
    OT_TRY(ot__md_2d(&w_md, out, in));
    OT_TRY(ot__md_strided(&srct_md, in, rows, 1, in));
    OT_TRY(ot__md_2d(&zt_md, out, rows));
    OT_DNNL(dnnl_matmul_desc_init(&desc, &w_md, &srct_md, NULL, &zt_md));
    OT_TRY(ot__pd_create(&pd, &desc, engine, NULL, what));
    OT_TRY(ot__memory(&d->tw, &w_md, engine, io->w));
    OT_TRY(ot__memory(&d->tsrc, &srct_md, engine, io->src));
    OT_TRY(ot__memory(&d->tzt, &zt_md, engine, d->zt));
    OT_TRY(ot__prim_create(&d->fwd, pd, engine, what));
    ot__prim_arg(&d->fwd, DNNL_ARG_SRC, d->tw);
    ot__prim_arg(&d->fwd, DNNL_ARG_WEIGHTS, d->tsrc);
    ot__prim_arg(&d->fwd, DNNL_ARG_DST, d->tzt);
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return status;
}

/* dst (rows x out) = zt^T + b, in tiles of 16 units so that the 16 rows of
 * zt being read stay in L1 while dst is written row by row. */
static void transpose_bias(const ot__dense *d)
{
    const size_t rows = d->rows, out = d->out;
    const float *restrict zt = d->zt, *restrict b = d->bias;
    float *restrict dst = d->dst_data;
    for (size_t u0 = 0; u0 < out; u0 += 16) {
        size_t u1 = u0 + 16 < out ? u0 + 16 : out;
        for (size_t r = 0; r < rows; r++)
            for (size_t u = u0; u < u1; u++)
                dst[r * out + u] = zt[u * rows + r] + b[u];
    }
}

ot_status ot__dense_init(ot__dense *d, dnnl_engine_t engine, size_t rows,
                         size_t in, size_t out, const ot__dense_io *io,
                         int training, size_t layer, int transposed)
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
    if (io->src && io->dst && ot__dense_transposed(rows, in, out, transposed)) {
        OT_TRY(forward_transposed(d, engine, rows, in, out, io, what));
    } else {
        OT_TRY(ot__prim_create(&d->fwd, fwd_pd, engine, what));
        ot__prim_arg(&d->fwd, DNNL_ARG_SRC, d->src);
        ot__prim_arg(&d->fwd, DNNL_ARG_WEIGHTS, d->w);
        ot__prim_arg(&d->fwd, DNNL_ARG_BIAS, d->b);
        ot__prim_arg(&d->fwd, DNNL_ARG_DST, d->dst);
    }

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
    dnnl_memory_t *mems[] = {&d->src, &d->w,  &d->b,  &d->dst,  &d->dsrc, &d->ddst,
                             &d->dw,  &d->db, &d->tw, &d->tsrc, &d->tzt};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        ot__memory_release(mems[i]);
    ot__free(d->zt);
    d->zt = NULL;
}

ot_status ot__dense_forward(ot__dense *d, dnnl_stream_t stream)
{
    ot_status status = OT_OK;
    OT_TRY(ot__prim_run(&d->fwd, stream));
    if (d->zt != NULL)
        transpose_bias(d);
fail:
    return status;
}

ot_status ot__dense_set_src(ot__dense *d, float *src)
{
    ot_status status = OT_OK;
    OT_DNNL(dnnl_memory_set_data_handle(d->src, src));
    if (d->tsrc != NULL)
        OT_DNNL(dnnl_memory_set_data_handle(d->tsrc, src));
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

/* One of the three products of ot__dense_cols: dst = a . b on oneDNN's
 * matmul, with the views' descriptors; a and b are bound now, dst too
 * unless it is NULL (set per call). */
static ot_status cols_product(ot__prim *p, dnnl_memory_t mem[3], dnnl_engine_t engine,
                              const dnnl_memory_desc_t md[3], float *data[3],
                              const char *what)
{
    ot_status status = OT_OK;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_matmul_desc_t desc;
    OT_DNNL(dnnl_matmul_desc_init(&desc, &md[0], &md[1], NULL, &md[2]));
    OT_TRY(ot__pd_create(&pd, &desc, engine, NULL, what));
    for (int k = 0; k < 3; k++)
        OT_TRY(ot__memory(&mem[k], &md[k], engine, data[k]));
    OT_TRY(ot__prim_create(p, pd, engine, what));
    ot__prim_arg(p, DNNL_ARG_SRC, mem[0]);
    ot__prim_arg(p, DNNL_ARG_WEIGHTS, mem[1]);
    ot__prim_arg(p, DNNL_ARG_DST, mem[2]);
fail:
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return status;
}

ot_status ot__dense_cols_init(ot__dense_cols *d, dnnl_engine_t engine, size_t rows,
                              size_t in, size_t out, size_t c0, size_t c1,
                              const ot__dense_cols_io *io, size_t layer)
{
    ot_status status = OT_OK;
    const size_t w = c1 - c0;
    char what[80];
    memset(d, 0, sizeof *d);
    d->w = io->w + c0;
    d->c0 = c0;
    d->in = in;
    d->out = out;
    d->cols = w;
    d->wc = ot__alloc(out * w, sizeof(float), "a block's columns of the weights");
    d->dwc = ot__alloc(out * w, sizeof(float), "a block's columns of the gradient");
    if (d->wc == NULL || d->dwc == NULL) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    dnnl_memory_desc_t fwd[3], bwd_d[3], bwd_w[3];
    /* part (rows x out) = src (rows x w) . wc^T (w x out) */
    OT_TRY(ot__md_2d(&fwd[0], rows, w));
    OT_TRY(ot__md_strided(&fwd[1], w, out, 1, w));
    OT_TRY(ot__md_2d(&fwd[2], rows, out));
    /* dsrc (rows x w) = ddst (rows x out) . wc (out x w) */
    OT_TRY(ot__md_2d(&bwd_d[0], rows, out));
    OT_TRY(ot__md_2d(&bwd_d[1], out, w));
    OT_TRY(ot__md_2d(&bwd_d[2], rows, w));
    /* dwc (out x w) = ddst^T (out x rows) . src (rows x w) */
    OT_TRY(ot__md_strided(&bwd_w[0], out, rows, 1, out));
    OT_TRY(ot__md_2d(&bwd_w[1], rows, w));
    OT_TRY(ot__md_2d(&bwd_w[2], out, w));
    snprintf(what, sizeof what, "dense layer %zu forward, inputs %zu-%zu", layer + 1,
             c0, c1);
    OT_TRY(cols_product(&d->fwd, d->mem[0], engine, fwd,
                        (float *[]){io->src, d->wc, io->part}, what));
    snprintf(what, sizeof what, "dense layer %zu backward-data, inputs %zu-%zu",
             layer + 1, c0, c1);
    OT_TRY(cols_product(&d->bwd_d, d->mem[1], engine, bwd_d,
                        (float *[]){io->ddst, d->wc, io->dsrc}, what));
    snprintf(what, sizeof what, "dense layer %zu backward-weights, inputs %zu-%zu",
             layer + 1, c0, c1);
    OT_TRY(cols_product(&d->bwd_w, d->mem[2], engine, bwd_w,
                        (float *[]){io->ddst, io->src, d->dwc}, what));
fail:
    if (status != OT_OK)
        ot__dense_cols_destroy(d);
    return status;
}

void ot__dense_cols_destroy(ot__dense_cols *d)
{
    ot__prim_destroy(&d->fwd);
    ot__prim_destroy(&d->bwd_d);
    ot__prim_destroy(&d->bwd_w);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            ot__memory_release(&d->mem[i][k]);
    ot__free(d->wc);
    ot__free(d->dwc);
    d->wc = d->dwc = NULL;
}

ot_status ot__dense_cols_forward(ot__dense_cols *d, dnnl_stream_t stream)
{
    ot__copy_block(d->wc, d->cols, d->w, d->in, d->out, d->cols);
    return ot__prim_run(&d->fwd, stream);
}

ot_status ot__dense_cols_backward(ot__dense_cols *d, dnnl_stream_t stream, float *dw)
{
    ot_status status = OT_OK;
    OT_TRY(ot__prim_run(&d->bwd_w, stream));
    OT_TRY(ot__prim_run(&d->bwd_d, stream));
    OT_DNNL(dnnl_stream_wait(stream));
    ot__copy_block(dw + d->c0, d->in, d->dwc, d->cols, d->out, d->cols);
fail:
    return status;
}
