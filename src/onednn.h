/*
 * onednn.h - the few helpers every oneDNN user in the library shares:
 * plain 2-D memory descriptors, user-mode scratchpads, primitive creation
 * and execution with checked statuses. Not installed.
 */
#ifndef OT_ONEDNN_H
#define OT_ONEDNN_H

#include "common.h"

/* A primitive with its argument list and its own scratchpad. */
typedef struct ot__prim {
    dnnl_primitive_t prim;
    dnnl_memory_t scratch; /* NULL when the primitive needs none */
    int nargs;
    dnnl_exec_arg_t args[8];
} ot__prim;

/* f32 descriptor of a rows x cols row-major matrix (cols == 0: a vector). */
ot_status ot__md_2d(dnnl_memory_desc_t *md, size_t rows, size_t cols);

/* f32 descriptor of a rows x cols matrix whose element (i, j) is at
 * i * rs + j * cs: a transposed view, or a block of columns of a wider
 * matrix. */
ot_status ot__md_strided(dnnl_memory_desc_t *md, size_t rows, size_t cols,
                         size_t rs, size_t cs);

/* A memory object over `data` (not owned; NULL: set before use). */
ot_status ot__memory(dnnl_memory_t *mem, const dnnl_memory_desc_t *md,
                     dnnl_engine_t engine, void *data);

/* Primitive descriptor with a user-mode scratchpad. */
ot_status ot__pd_create(dnnl_primitive_desc_t *pd, const_dnnl_op_desc_t desc,
                        dnnl_engine_t engine,
                        const_dnnl_primitive_desc_t hint, const char *what);

/* Creates the primitive of `pd` and its scratchpad memory; the arguments are
 * added with ot__prim_arg. */
ot_status ot__prim_create(ot__prim *p, const_dnnl_primitive_desc_t pd,
                          dnnl_engine_t engine, const char *what);

void ot__prim_arg(ot__prim *p, int arg, dnnl_memory_t mem);

/* Executes on `stream` (in the calling thread: see trainer.c). */
ot_status ot__prim_run(const ot__prim *p, dnnl_stream_t stream);

void ot__prim_destroy(ot__prim *p);

/* Runs one small sgemm, once per process, so that oneDNN generates the
 * code of its gemm kernels before a step rather than in the first one. */
ot_status ot__onednn_warm_up(void);

/* Destroys *m when it is not NULL and clears it. */
void ot__memory_release(dnnl_memory_t *m);

#endif
