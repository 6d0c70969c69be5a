/*
 * onednn.c - shared oneDNN helpers (2.6 C API): descriptors, primitives
 * with user-mode scratchpads, checked execution.
 */
#include <stdatomic.h>
#include <string.h>

#include "onednn.h"

/*
 * oneDNN's x64 sgemm, which its gemm inner products run on, generates the
 * code of all its kernels on first use, which would make a fit's first step
 * thousands of times slower than the next. A 64 x 64 x 64 product takes
 * that path; smaller ones do not. The engine calls this in each thread's
 * setup, where oneDNN runs on the calling thread alone, as in a step. Only
 * the first caller runs the product; the others go on at once (a gemm of
 * theirs would wait for the code being generated, as it did before).
 */
ot_status ot__onednn_warm_up(void)
{
    enum { N = 64 };
    static atomic_int started;
    static float a[N * N], b[N * N], c[N * N]; /* zeros; c written by one caller */
    ot_status status = OT_OK;
    if (atomic_exchange(&started, 1))
        return OT_OK;
    OT_DNNL(dnnl_sgemm('N', 'T', N, N, N, 1.0f, a, N, b, N, 0.0f, c, N));
    return OT_OK;
fail:
    atomic_store(&started, 0);
    return status;
}

ot_status ot__md_2d(dnnl_memory_desc_t *md, size_t rows, size_t cols)
{
    ot_status status = OT_OK;
    if (cols == 0) {
        dnnl_dims_t d = {(dnnl_dim_t)rows};
        OT_DNNL(dnnl_memory_desc_init_by_tag(md, 1, d, dnnl_f32, dnnl_a));
    } else {
        dnnl_dims_t d = {(dnnl_dim_t)rows, (dnnl_dim_t)cols};
        OT_DNNL(dnnl_memory_desc_init_by_tag(md, 2, d, dnnl_f32, dnnl_ab));
    }
fail:
    return status;
}

ot_status ot__md_strided(dnnl_memory_desc_t *md, size_t rows, size_t cols,
                         size_t rs, size_t cs)
{
    ot_status status = OT_OK;
    dnnl_dims_t d = {(dnnl_dim_t)rows, (dnnl_dim_t)cols};
    dnnl_dims_t s = {(dnnl_dim_t)rs, (dnnl_dim_t)cs};
    OT_DNNL(dnnl_memory_desc_init_by_strides(md, 2, d, dnnl_f32, s));
fail:
    return status;
}

ot_status ot__memory(dnnl_memory_t *mem, const dnnl_memory_desc_t *md,
                     dnnl_engine_t engine, void *data)
{
    ot_status status = OT_OK;
    *mem = NULL;
    OT_DNNL(dnnl_memory_create(mem, md, engine, data ? data : DNNL_MEMORY_NONE));
fail:
    return status;
}

ot_status ot__pd_create(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
                        dnnl_engine_t engine,
                        const_dnnl_primitive_desc_t hint, const char *what)
{
    ot_status status = OT_OK;
    dnnl_primitive_attr_t attr = NULL;
    *pd = NULL;
    OT_DNNL(dnnl_primitive_attr_create(&attr));
    OT_DNNL(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    OT_DNNL(dnnl_primitive_desc_create(pd, desc, attr, engine, hint));
    dnnl_primitive_attr_destroy(attr);
    return OT_OK;
fail:
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    /* Name the layer as well as the call. */
    char msg[512];
    ot__error_copy(msg, sizeof msg);
    return ot__fail(status, "%s: %s", what, msg);
}

ot_status ot__prim_create(ot__prim *p, const_dnnl_primitive_desc_t pd,
                          dnnl_engine_t engine, const char *what)
{
    ot_status status = OT_OK;
    memset(p, 0, sizeof *p);
    OT_DNNL(dnnl_primitive_create(&p->prim, pd));
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (smd != NULL && dnnl_memory_desc_get_size(smd) > 0) {
        OT_DNNL(dnnl_memory_create(&p->scratch, smd, engine, DNNL_MEMORY_ALLOCATE));
        ot__prim_arg(p, DNNL_ARG_SCRATCHPAD, p->scratch);
    }
    return OT_OK;
fail:
    ot__prim_destroy(p);
    char msg[512];
    ot__error_copy(msg, sizeof msg);
    return ot__fail(status, "%s: %s", what, msg);
}

void ot__prim_arg(ot__prim *p, int arg, dnnl_memory_t mem)
{
    p->args[p->nargs].arg = arg;
    p->args[p->nargs].memory = mem;
    p->nargs++;
}

ot_status ot__prim_run(const ot__prim *p, dnnl_stream_t stream)
{
    ot_status status = OT_OK;
    OT_DNNL(dnnl_primitive_execute(p->prim, stream, p->nargs, p->args));
fail:
    return status;
}

void ot__memory_release(dnnl_memory_t *m)
{
    if (*m)
        dnnl_memory_destroy(*m);
    *m = NULL;
}

void ot__prim_destroy(ot__prim *p)
{
    if (p->prim)
        dnnl_primitive_destroy(p->prim);
    ot__memory_release(&p->scratch);
    memset(p, 0, sizeof *p);
}
