/*
 * unit_split.c - the training step cut by units: blocks, their buffers and
 * primitives, and the passes the trainer runs between its barriers. See
 * unit_split.h for the data flow.
 */
#include <string.h>

#include "loss.h"
#include "shard.h"
#include "unit_split.h"

#define MIN_UNITS 16 /* a block's least units: one cache line of a row */

size_t ot__usplit_blocks(const ot_model *m, size_t l, size_t shards)
{
    const ot__layer *ly = &m->layers[l];
    if (ly->act == OT_ACTIVATION_SOFTMAX ||
        (l + 1 == m->n_layers && m->compiled && m->fused))
        return 1; /* whole rows */
    size_t n = ly->out / MIN_UNITS;
    if (n > shards)
        n = shards;
    return n ? n : 1;
}

void ot__usplit_block_units(const ot_model *m, size_t l, size_t shards,
                            size_t j, size_t *c0, size_t *c1)
{
    size_t out = m->layers[l].out, n = ot__usplit_blocks(m, l, shards);
    size_t lines = out / MIN_UNITS;
    *c0 = j * lines / n * MIN_UNITS;
    *c1 = j + 1 == n ? out : (j + 1) * lines / n * MIN_UNITS;
}

/*
 * The rule. Cut by rows, every thread reads all the weights each step
 * (the others' share just written by other cores) and the shards'
 * gradients are summed across cores: traffic that grows with the
 * parameters, whatever the batch; and small shards make poor products.
 * Cut by units, what crosses grows with the rows: the gathered batch and
 * each layer's outputs and input gradients. The two cost the same when
 * the rows are about four fifths of the widest layer that is cut into
 * blocks (`dev/bench --alternatives` compares them): fewer rows, by units.
 */
int ot__usplit_applies(const ot_model *m, size_t rows, size_t shards, int mode)
{
    if (mode < 0 || shards < 2 || !m->compiled)
        return 0;
    size_t widest = 0, split = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        if (ot__usplit_blocks(m, l, shards) > 1) {
            split = 1;
            if (m->layers[l].out > widest)
                widest = m->layers[l].out;
        }
    if (!split)
        return 0;
    if (mode > 0)
        return 1;
    return rows * 5 <= widest * 4;
}

ot_status ot__usplit_open(ot__usplit *u, const ot_model *m, size_t shards,
                          const size_t *lens, size_t n_lens, size_t n_targets,
                          int transposed)
{
    memset(u, 0, sizeof *u);
    u->transposed = transposed;
    u->model = m;
    u->shards = shards;
    u->fused = m->compiled && m->fused;
    for (size_t i = 0; i < n_lens && i < OT__USPLIT_LENS; i++) {
        u->lens[u->n_lens++] = lens[i];
        if (lens[i] > u->max_rows)
            u->max_rows = lens[i];
    }
    const size_t L = m->n_layers, R = u->max_rows;
    for (size_t l = 0; l < L; l++)
        u->n_blocks[l] = ot__usplit_blocks(m, l, shards);
    u->by_inputs = L >= 2 && u->n_blocks[L - 1] == 1 && u->n_blocks[L - 2] > 1;
    if (!(u->y = ot__calloc(R, sizeof(int32_t), "batch labels")) ||
        !(u->sw = ot__calloc(R, sizeof(float), "batch sample weights")))
        goto oom;
    if (n_targets > 0 &&
        !(u->t = ot__calloc(R * n_targets, sizeof(float), "batch targets")))
        goto oom;
    for (size_t l = 1; l < L; l++) {
        if (u->by_inputs && l == L - 1)
            break; /* the blocks before it keep their outputs */
        if (!(u->in[l] = ot__calloc(R * m->layers[l].in, sizeof(float), "layer inputs")))
            goto oom;
        if (!(u->p[l] = ot__calloc(u->n_blocks[l], sizeof(float *), "input gradients")))
            goto oom;
    }
    const size_t C = m->layers[L - 1].out;
    if (u->n_blocks[L - 1] > 1 &&
        !(u->out = ot__calloc(R * C, sizeof(float), "batch outputs")))
        goto oom;
    /* by inputs, the blocks of layer L-2 read it from their first step */
    if ((u->n_blocks[L - 1] > 1 || u->by_inputs) &&
        !(u->dout = ot__calloc(R * C, sizeof(float), "batch output gradients")))
        goto oom;
    if (u->by_inputs &&
        !(u->parts = ot__calloc(u->n_blocks[L - 2], sizeof(float *), "logit parts")))
        goto oom;
    for (size_t l = 0; l < L; l++)
        if (!(u->blocks[l] = ot__calloc(u->n_blocks[l], sizeof *u->blocks[l], "unit blocks")))
            goto oom;
    return OT_OK;
oom:
    ot__usplit_close(u);
    return OT_OUT_OF_MEMORY;
}

static void block_destroy(ot__ublock *b)
{
    for (size_t k = 0; k < OT__USPLIT_LENS; k++) {
        ot__dense_destroy(&b->dense[k]);
        ot__activation_destroy(&b->act[k]);
        ot__dense_cols_destroy(&b->head[k]);
    }
    if (b->a != b->z)
        ot__free(b->a);
    ot__free(b->z);
    if (!b->d_shared)
        ot__free(b->d);
    ot__free(b->p);
    ot__free(b->part);
}

void ot__usplit_close(ot__usplit *u)
{
    if (u->model == NULL)
        return;
    for (size_t l = 0; l < u->model->n_layers; l++) {
        for (size_t j = 0; u->blocks[l] != NULL && j < u->n_blocks[l]; j++)
            if (u->blocks[l][j].made)
                block_destroy(&u->blocks[l][j]);
        ot__free(u->blocks[l]);
    }
    ot__free(u->y);
    ot__free(u->sw);
    ot__free(u->t);
    for (size_t l = 0; l < u->model->n_layers; l++) {
        ot__free(u->in[l]);
        ot__free(u->p[l]);
    }
    size_t L = u->model->n_layers;
    if (L > 0 && u->n_blocks[L - 1] > 1)
        ot__free(u->out);
    if (L > 0 && (u->n_blocks[L - 1] > 1 || u->by_inputs))
        ot__free(u->dout);
    ot__free(u->parts);
    memset(u, 0, sizeof *u);
}

/* Whether b is the last layer's block of a last layer cut by its inputs,
 * or a block of the layer before it. */
static int is_head(const ot__usplit *u, const ot__ublock *b)
{
    return u->by_inputs && b->layer + 1 == u->model->n_layers;
}

static int feeds_head(const ot__usplit *u, const ot__ublock *b)
{
    return u->by_inputs && b->layer + 2 == u->model->n_layers;
}

static ot_status block_init(ot__ublock *b, ot__usplit *u, float *x, dnnl_engine_t engine)
{
    ot_status status = OT_OK;
    const ot_model *m = u->model;
    const size_t l = b->layer, L = m->n_layers, R = u->max_rows;
    const ot__layer *ly = &m->layers[l];
    const size_t w = b->c1 - b->c0;
    int act = ot__model_runs_activation(m, l);
    /* by inputs, the last layer's block sums the parts and runs no product */
    const int head = is_head(u, b);
    b->z = ot__calloc(R * w, sizeof(float), "block outputs");
    if (head) {
        b->d = u->dout;
        b->d_shared = 1;
    } else {
        b->d = ot__calloc(R * w, sizeof(float), "block gradients");
    }
    if (!b->z || !b->d)
        return OT_OUT_OF_MEMORY;
    b->a = b->z;
    if (act && ot__activation_needs_src(ly->act) &&
        !(b->a = ot__calloc(R * w, sizeof(float), "block activations")))
        return OT_OUT_OF_MEMORY;
    if (l > 0 && !head) {
        if (!(b->p = ot__calloc(R * ly->in, sizeof(float), "block input gradients")))
            return OT_OUT_OF_MEMORY;
        u->p[l][b->j] = b->p;
    }
    if (l + 1 == L && u->n_blocks[l] == 1) {
        u->out = u->fused ? b->z : b->a;
        if (!head) /* by inputs, the others read u->dout as this runs */
            u->dout = b->d;
    }
    const int feeds = feeds_head(u, b);
    const ot__layer *last = &m->layers[L - 1];
    if (feeds) {
        if (!(b->part = ot__calloc(R * last->out, sizeof(float), "logit part")))
            return OT_OUT_OF_MEMORY;
        u->parts[b->j] = b->part;
    }
    for (size_t i = 0; i < u->n_lens; i++) {
        if (act)
            OT_TRY(ot__activation_init(&b->act[i], engine, ly->act, u->lens[i],
                                       w, b->z, b->a, b->d, 1, l));
        if (feeds) {
            ot__dense_cols_io io = {
                .src = b->a,
                .w = m->params + last->w_off,
                .part = b->part,
                .ddst = u->dout,
                .dsrc = b->d,
            };
            OT_TRY(ot__dense_cols_init(&b->head[i], engine, u->lens[i], last->in,
                                       last->out, b->c0, b->c1, &io, L - 1));
        }
        if (head)
            continue;
        ot__dense_io io = {
            .src = l == 0 ? x : u->in[l],
            .w = m->params + ly->w_off + b->c0 * ly->in,
            .b = m->params + ly->b_off + b->c0,
            .dst = b->z,
            .ddst = b->d,
            .dsrc = b->p,
        };
        OT_TRY(ot__dense_init(&b->dense[i], engine, u->lens[i], ly->in, w, &io, 1, l,
                              u->transposed));
    }
    b->src = x;
fail:
    return status;
}

static size_t block_shard(const ot__usplit *u, size_t l, size_t j)
{
    return j * u->shards / u->n_blocks[l];
}

ot_status ot__usplit_thread_init(ot__uthread *ut, ot__usplit *u, dnnl_engine_t engine,
                                 size_t s_lo, size_t s_hi, int with_x)
{
    ot_status status = OT_OK;
    const ot_model *m = u->model;
    memset(ut, 0, sizeof *ut);
    ut->loss = s_lo == 0 && s_hi > 0;
    OT_DNNL(dnnl_stream_create(&ut->stream, engine, dnnl_stream_default_flags));
    if (with_x &&
        !(ut->x = ot__calloc(u->max_rows * m->input_dim, sizeof(float), "batch inputs")))
        return OT_OUT_OF_MEMORY;
    size_t l = 0, j = 0;
    for (ot__ublock *b; (b = ot__usplit_next_block(u, s_lo, s_hi, &l, &j)) != NULL;) {
        b->layer = l;
        b->j = j - 1;
        b->made = 1;
        ot__usplit_block_units(m, l, u->shards, b->j, &b->c0, &b->c1);
        OT_TRY(block_init(b, u, ut->x, engine));
    }
fail:
    return status;
}

void ot__uthread_destroy(ot__uthread *ut)
{
    ot__free(ut->x);
    if (ut->stream)
        dnnl_stream_destroy(ut->stream);
    memset(ut, 0, sizeof *ut);
}

ot__ublock *ot__usplit_next_block(const ot__usplit *u, size_t s_lo, size_t s_hi, size_t *l,
                                  size_t *j)
{
    for (; *l < u->model->n_layers; (*l)++, *j = 0)
        while (*j < u->n_blocks[*l]) {
            size_t k = (*j)++, s = block_shard(u, *l, k);
            if (s >= s_lo && s < s_hi)
                return &u->blocks[*l][k];
        }
    return NULL;
}

int ot__usplit_block_range(const ot__usplit *u, const ot__ublock *b, size_t i,
                           size_t *off, size_t *n)
{
    const ot_model *m = u->model;
    const ot__layer *ly = &m->layers[b->layer];
    const size_t w = b->c1 - b->c0;
    if (is_head(u, b)) {
        *off = ly->b_off; /* its weights belong to the blocks before it */
        *n = ly->out;
        return i == 0;
    }
    if (i < 2) {
        *off = i == 0 ? ly->w_off + b->c0 * ly->in : ly->b_off + b->c0;
        *n = i == 0 ? w * ly->in : w;
        return 1;
    }
    const ot__layer *last = &m->layers[b->layer + 1];
    if (!feeds_head(u, b) || i - 2 >= last->out)
        return 0;
    *off = last->w_off + (i - 2) * last->in + b->c0; /* row i - 2, its columns */
    *n = w;
    return 1;
}

int ot__usplit_owns(const ot__usplit *u, size_t l, size_t s_lo, size_t s_hi)
{
    for (size_t j = 0; j < u->n_blocks[l]; j++) {
        size_t s = block_shard(u, l, j);
        if (s >= s_lo && s < s_hi)
            return 1;
    }
    return 0;
}

int ot__usplit_len(const ot__usplit *u, size_t rows)
{
    for (size_t i = 0; i < u->n_lens; i++)
        if (u->lens[i] == rows)
            return (int)i;
    return -1;
}

void ot__usplit_gather(ot__usplit *u, ot__uthread *ut, const ot__rows *r, int with_x)
{
    const ot_model *m = u->model;
    const ot_dataset *d = r->data;
    ot__scaling sc = {m->shift, m->mult};
    if (with_x)
        ot__dataset_gather(d, &sc, r->idx, r->first, r->rows, ut->x, NULL, NULL);
    if (!ut->loss)
        return;
    ot__dataset_gather(d, NULL, r->idx, r->first, r->rows, NULL, d->y ? u->y : NULL,
                       d->t ? u->t : NULL);
    u->weighted = r->weight != NULL;
    if (u->weighted)
        ot__rows_weights(r, 0, r->rows, u->sw);
}

/* d[r][c] = p[0][r * ld + c] + p[1][..] + ... + p[n-1][..], in block order. */
OT_MULTIVERSION
static void sum_columns(float *d, size_t w, float *const *p, size_t n,
                        size_t ld, size_t c0, size_t rows)
{
    for (size_t r = 0; r < rows; r++) {
        float *dr = d + r * w;
        memcpy(dr, p[0] + r * ld + c0, w * sizeof(float));
        for (size_t k = 1; k < n; k++) {
            const float *pr = p[k] + r * ld + c0;
            for (size_t c = 0; c < w; c++)
                dr[c] += pr[c];
        }
    }
}

/* z[r][c] = b[c] + part[0][r][c] + part[1][r][c] + ..., in block order. */
OT_MULTIVERSION
static void sum_parts(float *z, const float *b, float *const *part, size_t n,
                      size_t rows, size_t C)
{
    for (size_t r = 0; r < rows; r++) {
        float *zr = z + r * C;
        for (size_t c = 0; c < C; c++)
            zr[c] = b[c] + part[0][r * C + c];
        for (size_t k = 1; k < n; k++) {
            const float *pr = part[k] + r * C;
            for (size_t c = 0; c < C; c++)
                zr[c] += pr[c];
        }
    }
}

/* db[c] = d[0][c] + d[1][c] + ..., in row order. */
OT_MULTIVERSION
static void sum_rows(float *db, const float *d, size_t rows, size_t C)
{
    memcpy(db, d, C * sizeof(float));
    for (size_t r = 1; r < rows; r++)
        for (size_t c = 0; c < C; c++)
            db[c] += d[r * C + c];
}

/* A block of layer 0 reads the rows of the thread that runs it. */
static ot_status runs_here(ot__ublock *b, const ot__uthread *ut, const ot__usplit *u)
{
    ot_status status = OT_OK;
    if (b->layer > 0 || b->src == ut->x)
        return OT_OK;
    for (size_t i = 0; i < u->n_lens; i++)
        OT_TRY(ot__dense_set_src(&b->dense[i], ut->x));
    b->src = ut->x;
fail:
    return status;
}

ot_status ot__usplit_forward(ot__uthread *ut, ot__usplit *u, size_t l, int li,
                             size_t s_lo, size_t s_hi)
{
    ot_status status = OT_OK;
    const ot_model *m = u->model;
    const size_t L = m->n_layers, rows = u->lens[li];
    size_t bl = l, bj = 0;
    for (ot__ublock *b; (b = ot__usplit_next_block(u, s_lo, s_hi, &bl, &bj)) != NULL &&
                        bl == l;) {
        OT_TRY(runs_here(b, ut, u));
        if (is_head(u, b))
            sum_parts(b->z, m->params + m->layers[l].b_off, u->parts,
                      u->n_blocks[l - 1], rows, m->layers[l].out);
        else
            OT_TRY(ot__dense_forward(&b->dense[li], ut->stream));
        OT_TRY(ot__activation_forward(&b->act[li], ut->stream));
        if (feeds_head(u, b))
            OT_TRY(ot__dense_cols_forward(&b->head[li], ut->stream));
        OT_DNNL(dnnl_stream_wait(ut->stream));
        if (feeds_head(u, b))
            continue; /* its outputs stay with it: the next layer took its part */
        const float *a = l + 1 == L && u->fused ? b->z : b->a;
        const size_t w = b->c1 - b->c0;
        if (l + 1 < L)
            ot__copy_block(u->in[l + 1] + b->c0, m->layers[l].out, a, w, rows, w);
        else if (u->n_blocks[l] > 1)
            ot__copy_block(u->out + b->c0, m->layers[l].out, a, w, rows, w);
    }
fail:
    return status;
}

void ot__usplit_loss(ot__usplit *u, const ot_dataset *d, size_t rows,
                     float scale, ot__sums *sums)
{
    const ot_model *m = u->model;
    ot__loss_batch b = {
        .out = u->out,
        .labels = d->y ? u->y : NULL,
        .targets = d->t ? u->t : NULL,
        .rows = rows,
        .C = m->layers[m->n_layers - 1].out,
        .class_w = m->class_w,
        .row_w = u->weighted ? u->sw : NULL,
    };
    ot__metrics(m, &b, sums); /* before the gradient, which may overwrite out */
    ot__loss(m->loss, &b, scale, u->dout, &sums->v[0]);
}

ot_status ot__usplit_backward(ot__uthread *ut, ot__usplit *u, size_t l, int li,
                              size_t s_lo, size_t s_hi, float *grad)
{
    ot_status status = OT_OK;
    const ot_model *m = u->model;
    const size_t L = m->n_layers, rows = u->lens[li];
    const ot__layer *ly = &m->layers[l];
    size_t bl = l, bj = 0;
    for (ot__ublock *b; (b = ot__usplit_next_block(u, s_lo, s_hi, &bl, &bj)) != NULL &&
                        bl == l;) {
        size_t w = b->c1 - b->c0;
        if (feeds_head(u, b))
            OT_TRY(ot__dense_cols_backward(&b->head[li], ut->stream,
                                           grad + m->layers[l + 1].w_off));
        else if (l + 1 < L)
            sum_columns(b->d, w, u->p[l + 1], u->n_blocks[l + 1],
                        m->layers[l + 1].in, b->c0, rows);
        else if (u->n_blocks[l] > 1)
            ot__copy_block(b->d, w, u->dout + b->c0, ly->out, rows, w);
        OT_TRY(ot__activation_backward(&b->act[li], ut->stream));
        if (is_head(u, b)) {
            OT_DNNL(dnnl_stream_wait(ut->stream));
            sum_rows(grad + ly->b_off, b->d, rows, ly->out);
            continue;
        }
        OT_TRY(ot__dense_backward(&b->dense[li], ut->stream,
                                  grad + ly->w_off + b->c0 * ly->in,
                                  grad + ly->b_off + b->c0));
        OT_DNNL(dnnl_stream_wait(ut->stream));
    }
fail:
    return status;
}

ot_status ot__usplit_kernels(ot__uthread *ut, ot__usplit *u, int li, size_t s_lo,
                             size_t s_hi, float *grad)
{
    ot_status status = OT_OK;
    const ot_model *m = u->model;
    size_t bl = 0, bj = 0;
    for (ot__ublock *b; (b = ot__usplit_next_block(u, s_lo, s_hi, &bl, &bj)) != NULL;) {
        OT_TRY(runs_here(b, ut, u));
        if (!is_head(u, b))
            OT_TRY(ot__dense_forward(&b->dense[li], ut->stream));
        OT_TRY(ot__activation_forward(&b->act[li], ut->stream));
        if (feeds_head(u, b))
            OT_TRY(ot__dense_cols_forward(&b->head[li], ut->stream));
    }
    /* backward: the same blocks, last first */
    for (size_t l = m->n_layers; l-- > 0;)
        for (size_t j = u->n_blocks[l]; j-- > 0;) {
            size_t s = block_shard(u, l, j);
            if (s < s_lo || s >= s_hi)
                continue;
            ot__ublock *b = &u->blocks[l][j];
            const ot__layer *ly = &m->layers[l];
            if (feeds_head(u, b))
                OT_TRY(ot__dense_cols_backward(&b->head[li], ut->stream,
                                               grad + m->layers[l + 1].w_off));
            OT_TRY(ot__activation_backward(&b->act[li], ut->stream));
            if (!is_head(u, b))
                OT_TRY(ot__dense_backward(&b->dense[li], ut->stream,
                                          grad + ly->w_off + b->c0 * ly->in,
                                          grad + ly->b_off + b->c0));
        }
    OT_DNNL(dnnl_stream_wait(ut->stream));
fail:
    return status;
}

ot_status ot_model_step_cut(const ot_model *m, size_t rows, size_t shards,
                            ot_step_cut *out)
{
    if (m == NULL || out == NULL || rows == 0 || shards == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "step cut: NULL model or output, "
                        "or zero rows or shards");
    if (!m->compiled)
        return ot__fail(OT_INVALID_STATE, "step cut: the model is not compiled");
    *out = ot__usplit_applies(m, rows, shards, 0) ? OT_STEP_CUT_UNITS : OT_STEP_CUT_ROWS;
    return OT_OK;
}
