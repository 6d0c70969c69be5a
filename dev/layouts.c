/*
 * layouts.c - plain `oi` weights (what the engine uses: the parameter arena
 * is the weights, no reorder ever) against the layout oneDNN prefers when
 * asked with format_tag any, per layer shape, rows and direction, on one
 * thread. The preferred layout can only be used by paying reorders every
 * step: the updated weights into it (once for the forward pass, once more
 * when backward-data wants another), and the weight gradient back to the
 * arena's layout for the reduction and the optimizer; the table counts them.
 * The forward pass also as the transposed product (src/dense.c), measured
 * through the engine's own layer.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probes.h"
#include "src/dense.h"
#include "src/onednn.h"
#include "src/engine.h"

enum { FWD, BWD_DATA, BWD_WEIGHTS, TO_FWD, TO_BWD_DATA, FROM_DW, ITEMS };
static const char *const item_name[ITEMS] = {"forward", "backward-data", "backward-weights",
                                             "reorder w", "reorder w (bwd-data)",
                                             "reorder dw"};

/* One layout's primitives for a layer of `in` -> `out` over `rows` rows. */
typedef struct layout {
    ot__prim prim[ITEMS]; /* the reorders only for the preferred layout */
    dnnl_memory_t mem[16];
    int n_mem;
    char w_format[32], dw_format[32];
} layout;

static dnnl_memory_t new_memory(layout *l, const dnnl_memory_desc_t *md, dnnl_engine_t engine)
{
    dnnl_memory_t m;
    if (dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE) != dnnl_success)
        die("allocating a oneDNN memory");
    void *p = NULL;
    dnnl_memory_get_data_handle(m, &p);
    size_t n = dnnl_memory_desc_get_size(md) / sizeof(float);
    for (size_t i = 0; i < n; i++)
        ((float *)p)[i] = 0.01f * (float)((int)(i % 201) - 100);
    l->mem[l->n_mem++] = m;
    return m;
}

/* "oi" for the plain layout, else oneDNN's way of naming a blocked one
 * ("OI16i64o": outer dimensions by stride, blocked ones in capitals, then
 * the inner blocks), with o the output units and i the inputs. */
static void describe(char *out, size_t size, const dnnl_memory_desc_t *md)
{
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    const char letter[2] = {'o', 'i'};
    int order[2] = {0, 1};
    if (b->strides[1] > b->strides[0]) {
        order[0] = 1;
        order[1] = 0;
    }
    size_t len = 0;
    for (int k = 0; k < 2; k++) {
        int blocked = 0;
        for (int j = 0; j < b->inner_nblks; j++)
            blocked |= b->inner_idxs[j] == order[k];
        len += (size_t)snprintf(out + len, size - len, "%c",
                                blocked ? letter[order[k]] - 32 : letter[order[k]]);
    }
    for (int j = 0; j < b->inner_nblks && len < size; j++)
        len += (size_t)snprintf(out + len, size - len, "%d%c", (int)b->inner_blks[j],
                                letter[b->inner_idxs[j]]);
}

static void reorder(ot__prim *p, dnnl_memory_t from, dnnl_memory_t to, dnnl_engine_t engine)
{
    const dnnl_memory_desc_t *a, *b;
    dnnl_primitive_desc_t pd;
    dnnl_memory_get_memory_desc(from, &a);
    dnnl_memory_get_memory_desc(to, &b);
    if (dnnl_reorder_primitive_desc_create(&pd, a, engine, b, engine, NULL) != dnnl_success ||
        ot__prim_create(p, pd, engine, "reorder") != OT_OK)
        die("creating a weight reorder");
    dnnl_primitive_desc_destroy(pd);
    ot__prim_arg(p, DNNL_ARG_FROM, from);
    ot__prim_arg(p, DNNL_ARG_TO, to);
}

/* tag: dnnl_ab (oi), dnnl_ba (io) or dnnl_format_tag_any */
static void build(layout *l, dnnl_engine_t engine, size_t rows, size_t in, size_t out,
                  dnnl_format_tag_t tag)
{
    memset(l, 0, sizeof *l);
    dnnl_memory_desc_t src, dst, bias, w_plain, w_any;
    dnnl_dims_t wd = {(dnnl_dim_t)out, (dnnl_dim_t)in};
    /* the arena's layout: the tag itself when plain, else oi */
    dnnl_format_tag_t arena = tag == dnnl_format_tag_any ? dnnl_ab : tag;
    if (ot__md_2d(&src, rows, in) != OT_OK || ot__md_2d(&dst, rows, out) != OT_OK ||
        ot__md_2d(&bias, out, 0) != OT_OK ||
        dnnl_memory_desc_init_by_tag(&w_plain, 2, wd, dnnl_f32, arena) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&w_any, 2, wd, dnnl_f32, tag) != dnnl_success)
        die("describing a layer's memory");
    dnnl_inner_product_desc_t fd, bdd, bwd;
    dnnl_primitive_desc_t fpd, bdpd, bwpd;
    if (dnnl_inner_product_forward_desc_init(&fd, dnnl_forward_training, &src, &w_any, &bias,
                                             &dst) != dnnl_success ||
        ot__pd_create(&fpd, &fd, engine, NULL, "forward") != OT_OK ||
        dnnl_inner_product_backward_data_desc_init(&bdd, &src, &w_any, &dst) != dnnl_success ||
        ot__pd_create(&bdpd, &bdd, engine, fpd, "backward-data") != OT_OK ||
        dnnl_inner_product_backward_weights_desc_init(&bwd, &src, &w_any, &bias, &dst) !=
            dnnl_success ||
        ot__pd_create(&bwpd, &bwd, engine, fpd, "backward-weights") != OT_OK)
        die("describing a layer's inner products");
    const dnnl_memory_desc_t *wf = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *wb = dnnl_primitive_desc_query_md(bdpd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dw =
        dnnl_primitive_desc_query_md(bwpd, dnnl_query_diff_weights_md, 0);
    describe(l->w_format, sizeof l->w_format, wf);
    describe(l->dw_format, sizeof l->dw_format, dw);
    dnnl_memory_t m_src = new_memory(l, &src, engine), m_dst = new_memory(l, &dst, engine);
    dnnl_memory_t m_b = new_memory(l, &bias, engine), m_db = new_memory(l, &bias, engine);
    dnnl_memory_t m_ddst = new_memory(l, &dst, engine), m_dsrc = new_memory(l, &src, engine);
    dnnl_memory_t m_wf = new_memory(l, wf, engine), m_dw = new_memory(l, dw, engine);
    int same = dnnl_memory_desc_equal(wf, wb);
    dnnl_memory_t m_wb = same ? m_wf : new_memory(l, wb, engine);

    if (ot__prim_create(&l->prim[FWD], fpd, engine, "forward") != OT_OK ||
        ot__prim_create(&l->prim[BWD_DATA], bdpd, engine, "backward-data") != OT_OK ||
        ot__prim_create(&l->prim[BWD_WEIGHTS], bwpd, engine, "backward-weights") != OT_OK)
        die("creating a layer's inner products");
    ot__prim_arg(&l->prim[FWD], DNNL_ARG_SRC, m_src);
    ot__prim_arg(&l->prim[FWD], DNNL_ARG_WEIGHTS, m_wf);
    ot__prim_arg(&l->prim[FWD], DNNL_ARG_BIAS, m_b);
    ot__prim_arg(&l->prim[FWD], DNNL_ARG_DST, m_dst);
    ot__prim_arg(&l->prim[BWD_DATA], DNNL_ARG_DIFF_DST, m_ddst);
    ot__prim_arg(&l->prim[BWD_DATA], DNNL_ARG_WEIGHTS, m_wb);
    ot__prim_arg(&l->prim[BWD_DATA], DNNL_ARG_DIFF_SRC, m_dsrc);
    ot__prim_arg(&l->prim[BWD_WEIGHTS], DNNL_ARG_SRC, m_src);
    ot__prim_arg(&l->prim[BWD_WEIGHTS], DNNL_ARG_DIFF_DST, m_ddst);
    ot__prim_arg(&l->prim[BWD_WEIGHTS], DNNL_ARG_DIFF_WEIGHTS, m_dw);
    ot__prim_arg(&l->prim[BWD_WEIGHTS], DNNL_ARG_DIFF_BIAS, m_db);
    if (!dnnl_memory_desc_equal(wf, &w_plain)) {
        dnnl_memory_t arena_w = new_memory(l, &w_plain, engine);
        reorder(&l->prim[TO_FWD], arena_w, m_wf, engine);
    }
    if (!same && !dnnl_memory_desc_equal(wb, &w_plain)) {
        dnnl_memory_t arena_w = new_memory(l, &w_plain, engine);
        reorder(&l->prim[TO_BWD_DATA], arena_w, m_wb, engine);
    }
    if (!dnnl_memory_desc_equal(dw, &w_plain)) {
        dnnl_memory_t arena_dw = new_memory(l, &w_plain, engine);
        reorder(&l->prim[FROM_DW], m_dw, arena_dw, engine);
    }
    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_desc_destroy(bdpd);
    dnnl_primitive_desc_destroy(bwpd);
}

static void destroy(layout *l)
{
    for (int i = 0; i < ITEMS; i++)
        ot__prim_destroy(&l->prim[i]);
    for (int i = 0; i < l->n_mem; i++)
        ot__memory_release(&l->mem[i]);
}

static ot_status run_prim(void *p, dnnl_stream_t stream) { return ot__prim_run(p, stream); }

static ot_status run_dense_forward(void *d, dnnl_stream_t stream)
{
    return ot__dense_forward(d, stream);
}

/* Microseconds per call of run(arg), at least `seconds`. */
static double time_calls(ot_status (*run)(void *, dnnl_stream_t), void *arg,
                         dnnl_stream_t stream, double seconds)
{
    size_t calls = 0;
    double t0 = now();
    do {
        for (int i = 0; i < 10; i++)
            if (run(arg, stream) != OT_OK)
                die("running a primitive");
        calls += 10;
    } while (now() - t0 < seconds);
    return 1e6 * (now() - t0) / (double)calls;
}

/* One item's primitive (0 when the layout needs none). */
static double time_item(ot__prim *p, dnnl_stream_t stream, double seconds)
{
    return p->prim == NULL ? 0 : time_calls(run_prim, p, stream, seconds);
}

/* The engine's forward pass by the transposed product (oneDNN's matmul,
 * then the transposition and the bias), whatever rows the rule gives it. */
static void build_transposed(ot__dense *d, float **bufs, dnnl_engine_t engine,
                             size_t rows, size_t in, size_t out)
{
    size_t sizes[5] = {rows * in, out * in, out, rows * out, rows * out};
    for (int i = 0; i < 5; i++) {
        bufs[i] = calloc(sizes[i], sizeof(float));
        if (bufs[i] == NULL)
            die("allocating a layer's buffers");
        for (size_t j = 0; j < sizes[i]; j++)
            bufs[i][j] = 0.01f * (float)((int)(j % 201) - 100);
    }
    ot__dense_io io = {bufs[0], bufs[1], bufs[2], bufs[3], bufs[4], NULL};
    ot_status st = ot__dense_init(d, engine, rows, in, out, &io, 1, 0, 1);
    if (st != OT_OK)
        die("building a dense layer");
}

void run_layouts(const config *c)
{
    omp_set_num_threads(1); /* as inside the trainer: one thread per primitive */
    unsigned csr = ot__fp_enter(); /* as inside the trainer */
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success)
        die("creating a oneDNN engine and stream");
    printf("one thread, microseconds per call, medians of 5 interleaved rounds;\n"
           "oi, io: weights and their gradient plain in the arena (units x inputs, or\n"
           "inputs x units as a Keras kernel), no reorder; preferred: oneDNN's choice\n"
           "(format_tag any) plus the reorders from and to an oi arena it needs each step;\n"
           "transposed: the forward pass as the engine runs it on AVX-512 where its rule\n"
           "says so (src/dense.c), whatever the rule says here: oneDNN's matmul on\n"
           "W . src^T, then dst = its transpose plus the bias\n");
    printf("%-10s %6s  %-20s %8s %8s %10s %9s %9s %11s %8s\n", "layer", "rows", "direction",
           "oi", "io", "preferred", "io/oi", "pref/oi", "transposed", "tr/oi");
    enum { K = 3, ROUNDS = 5 };
    const dnnl_format_tag_t tags[K] = {dnnl_ab, dnnl_ba, dnnl_format_tag_any};
    for (size_t mi = 0; mi < c->n_models; mi++) {
        ot_layer layers[MAX_AXIS];
        size_t in, L = parse_model(c->models[mi], &in, layers);
        for (size_t li = 0; li < L; li++) {
            size_t out = layers[li].units;
            for (size_t bi = 0; bi < c->n_batches; bi++) {
                size_t rows = c->batches[bi];
                layout lay[K];
                for (int k = 0; k < K; k++)
                    build(&lay[k], engine, rows, in, out, tags[k]);
                ot__dense tr;
                float *tr_bufs[5];
                build_transposed(&tr, tr_bufs, engine, rows, in, out);
                double t[K][ITEMS][ROUNDS], t_tr[ROUNDS];
                for (int r = 0; r < ROUNDS; r++) {
                    for (int item = 0; item < ITEMS; item++)
                        for (int k = 0; k < K; k++)
                            t[k][item][r] = time_item(&lay[k].prim[item], stream,
                                                      c->seconds / 30);
                    t_tr[r] = time_calls(run_dense_forward, &tr, stream, c->seconds / 30);
                }
                ot__dense_destroy(&tr);
                for (int i = 0; i < 5; i++)
                    free(tr_bufs[i]);
                double us_tr = median(t_tr, ROUNDS);
                double us[K][ITEMS], total[K] = {0};
                for (int k = 0; k < K; k++)
                    for (int item = 0; item < ITEMS; item++) {
                        us[k][item] = median(t[k][item], ROUNDS);
                        /* the first layer has no backward-data pass */
                        if (li > 0 || (item != BWD_DATA && item != TO_BWD_DATA))
                            total[k] += us[k][item];
                    }
                char layer[32];
                snprintf(layer, sizeof layer, "%zux%zu", in, out);
                for (int item = 0; item < ITEMS; item++) {
                    if (li == 0 && (item == BWD_DATA || item == TO_BWD_DATA))
                        continue;
                    if (item >= TO_FWD && us[K - 1][item] == 0)
                        continue;
                    printf("%-10s %6zu  %-20s %8.1f %8.1f %10.1f", layer, rows,
                           item_name[item], us[0][item], us[1][item], us[2][item]);
                    if (item < TO_FWD)
                        printf(" %9.2f %9.2f", us[1][item] / us[0][item],
                               us[2][item] / us[0][item]);
                    if (item == FWD)
                        printf(" %11.1f %8.2f", us_tr, us_tr / us[0][item]);
                    printf("\n");
                }
                printf("%-10s %6zu  %-20s %8.1f %8.1f %10.1f %9.2f %9.2f   (preferred: w %s, "
                       "dw %s)\n", layer, rows, "step total", total[0], total[1], total[2],
                       total[1] / total[0], total[2] / total[0], lay[2].w_format,
                       lay[2].dw_format);
                fflush(stdout);
                for (int k = 0; k < K; k++)
                    destroy(&lay[k]);
            }
            in = out;
        }
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    ot__fp_leave(csr);
}
