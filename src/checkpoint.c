/*
 * checkpoint.c - ot_model_save / ot_model_load, to and from a file or a
 * buffer.
 *
 * Format (version 2), every integer and float little-endian:
 *   "OMPTRAIN"  u32 version  u32 0
 *   u64 input_dim  u32 dense_layers  u32 flatten
 *   dense_layers x { u64 units  u32 activation  u32 initializer }
 *   u32 scaling  [input_dim x f32 shift, input_dim x f32 mult when scaling]
 *   u32 compiled  u32 loss  u32 optimizer  u32 flags (1 nesterov, 2 amsgrad,
 *                                                     4 centered)
 *   f32 learning_rate momentum beta1 beta2 epsilon rho initial_accumulator
 *   u32 schedule  u32 staircase  f64 decay_rate  u64 decay_steps
 *   u64 decay_epochs
 *   u64 iterations  u64 epochs
 *   u64 steps_in_epoch  f64 partial loss sum  f64 partial metric sum
 *   u64 partial samples                    (a fit stopped inside an epoch)
 *   u32 has_fit  u32 shuffle  u64 batch  u64 shards  u64 epochs  u64 seed
 *   f64 validation_split                   (the last fit's settings)
 *   u32 state_slots  u32 validation folds | validation fold << 16 (0: none)
 *   u32 metrics  8 x u32 metric (0 past `metrics`)  7 x f64 partial sums of
 *   metrics 2.. (the partial metric sum above is the first's)
 *                                          (version 2: version 1 has none,
 *                                           its metric the loss's own)
 *   u64 n_params
 *   n_params x f32 parameters (layer by layer: weights "oi", then bias)
 *   state_slots x n_params x f32 optimizer state (same order)
 *   u32 CRC-32 (zlib) of every byte before it
 * Nothing depends on the machine or the run (no time, no thread count), so
 * the same model always gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "fileio.h"
#include "le_bytes.h"
#include "model.h"

#define MAGIC "OMPTRAIN"
#define VERSION 2u

/* Bytes of the fixed part after the layer table and the scaling arrays:
 * version 1's, and version 2's metrics. */
#define TAIL_V1 (4 * 4 + 7 * 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8 + 80 + 4 + 4 + 8)
#define METRICS_BLOCK (4 + 4 * OT_METRICS_MAX + 8 * (OT_METRICS_MAX - 1))
#define TAIL_FIXED (TAIL_V1 + METRICS_BLOCK)
#define TAIL_OF(version) ((version) == 1 ? TAIL_V1 : TAIL_FIXED)

static size_t file_size(const ot_model *m, size_t slots)
{
    size_t scaling = m->scaling != OT_SCALING_NONE ? 2 * m->input_dim * 4 : 0;
    return 8 + 4 + 4 + 8 + 4 + 4 + m->n_layers * 16 + 4 + scaling + TAIL_FIXED +
           (1 + slots) * m->n_params * 4 + 4;
}

/* The model file's bytes, into a new buffer. */
static ot_status serialize(const ot_model *m, unsigned char **out, size_t *out_len)
{
    size_t slots = m->compiled ? m->opt.slots : 0;
    size_t len = file_size(m, slots);
    unsigned char *buf = ot__alloc(len, 1, "model file");
    float *packed = ot__alloc(m->n_params, sizeof(float), "model file");
    if (buf == NULL || packed == NULL) {
        ot__free(buf);
        ot__free(packed);
        return OT_OUT_OF_MEMORY;
    }
    writer w = {buf};
    memcpy(w.p, MAGIC, 8);
    w.p += 8;
    put_u32(&w, VERSION);
    put_u32(&w, 0);
    put_u64(&w, m->input_dim);
    put_u32(&w, (uint32_t)m->n_layers);
    put_u32(&w, (uint32_t)m->flatten);
    for (size_t i = 0; i < m->n_layers; i++) {
        put_u64(&w, m->layers[i].out);
        put_u32(&w, (uint32_t)m->layers[i].act);
        put_u32(&w, (uint32_t)m->layers[i].init);
    }
    put_u32(&w, (uint32_t)m->scaling);
    if (m->scaling != OT_SCALING_NONE) {
        put_floats(&w, m->shift, m->input_dim);
        put_floats(&w, m->mult, m->input_dim);
    }
    ot_optimizer_config c = m->compiled ? m->opt.cfg : ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    put_u32(&w, (uint32_t)m->compiled);
    put_u32(&w, m->compiled ? (uint32_t)m->loss : 0);
    put_u32(&w, (uint32_t)c.kind);
    put_u32(&w, (uint32_t)((c.nesterov != 0) | (c.amsgrad != 0) << 1 | (c.centered != 0) << 2));
    float hp[7] = {c.learning_rate, c.momentum, c.beta1, c.beta2, c.epsilon, c.rho,
                   c.initial_accumulator};
    put_floats(&w, hp, 7);
    put_u32(&w, (uint32_t)c.schedule.kind);
    put_u32(&w, (uint32_t)(c.schedule.staircase != 0));
    put_f64(&w, c.schedule.decay_rate);
    put_u64(&w, c.schedule.decay_steps);
    put_u64(&w, c.schedule.decay_epochs);
    put_u64(&w, m->compiled ? m->opt.iterations : 0);
    put_u64(&w, m->epochs);
    put_u64(&w, m->steps_in_epoch);
    put_f64(&w, m->part.v[0]);
    put_f64(&w, m->part.v[1]);
    put_u64(&w, m->part_seen);
    put_u32(&w, (uint32_t)m->has_fit);
    put_u32(&w, (uint32_t)(m->fit_shuffle != 0));
    put_u64(&w, m->fit_batch);
    put_u64(&w, m->fit_shards);
    put_u64(&w, m->fit_epochs);
    put_u64(&w, m->fit_seed);
    put_f64(&w, m->fit_split);
    put_u32(&w, (uint32_t)slots);
    put_u32(&w, (uint32_t)(m->fit_folds | m->fit_fold << 16));
    put_u32(&w, m->compiled ? (uint32_t)m->metrics.n : 0);
    for (size_t k = 0; k < OT_METRICS_MAX; k++)
        put_u32(&w, m->compiled && k < m->metrics.n ? (uint32_t)m->metrics.m[k] : 0);
    for (size_t k = 1; k < OT_METRICS_MAX; k++)
        put_f64(&w, m->part.v[1 + k]);
    put_u64(&w, m->n_params);
    ot__arena_pack(m, m->params, packed);
    put_floats(&w, packed, m->n_params);
    for (size_t s = 0; s < slots; s++) {
        ot__arena_pack(m, m->opt.state + s * m->arena_len, packed);
        put_floats(&w, packed, m->n_params);
    }
    put_u32(&w, (uint32_t)crc32_z(0L, buf, len - 4));
    ot__free(packed);
    *out = buf;
    *out_len = len;
    return OT_OK;
}

ot_status ot_model_save(const ot_model *m, const char *path)
{
    if (m == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "save: NULL argument");
    unsigned char *buf = NULL;
    size_t len = 0;
    ot_status status = serialize(m, &buf, &len);
    if (status == OT_OK)
        status = ot__write_file_atomic(path, buf, len);
    ot__free(buf);
    return status;
}

ot_status ot_model_save_to_buffer(const ot_model *m, void **data, size_t *len)
{
    if (m == NULL || data == NULL || len == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "save to buffer: NULL argument");
    *data = NULL;
    *len = 0;
    unsigned char *buf = NULL;
    ot_status status = serialize(m, &buf, len);
    if (status == OT_OK)
        *data = buf;
    return status;
}

void ot_buffer_free(void *data) { ot__free(data); }

static ot_status bad(const char *path, const char *what)
{
    return ot__fail(OT_BAD_FORMAT, "%s: %s", path, what);
}

/* Reads n finite floats; names the first that is not. */
static ot_status get_finite(reader *r, float *out, size_t n, const char *path,
                            const char *what)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = get_f32(r);
        if (!isfinite(out[i]))
            return ot__fail(OT_BAD_FORMAT, "%s: %s value %zu is not finite",
                            path, what, i);
    }
    return OT_OK;
}

/* Re-words a failure of a library call on the file's contents: a bad
 * value is a bad file; running out of memory stays what it is. */
static ot_status invalid(const char *path, ot_status status)
{
    char msg[400];
    ot__error_copy(msg, sizeof msg);
    return ot__fail(status == OT_OUT_OF_MEMORY ? status : OT_BAD_FORMAT, "%s: %s",
                    path, msg);
}

/* Everything a model file says before its numbers. */
typedef struct head {
    uint64_t input_dim;
    uint32_t n_layers, flatten, scaling, compiled, loss, slots, folds;
    ot_layer layers[OT_MAX_LAYERS];
    const unsigned char *scaling_at; /* 2 x input_dim f32, when scaling */
    ot_optimizer_config opt;
    uint64_t iterations, epochs, steps_in_epoch, part_seen, n_params;
    ot__sums part;
    uint32_t n_metrics, metrics[OT_METRICS_MAX];
    uint32_t has_fit, fit_shuffle;
    uint64_t fit_batch, fit_shards, fit_epochs, fit_seed;
    double fit_split;
} head;

static int sums_finite(const ot__sums *s)
{
    for (size_t k = 0; k < OT__SUMS; k++)
        if (!isfinite(s->v[k]))
            return 0;
    return 1;
}

/* A compiled model's: 1 to OT_METRICS_MAX known metrics, each once, the
 * slots after them 0; a model not compiled has none */
static int metrics_valid(const head *h)
{
    if (h->compiled ? h->n_metrics == 0 || h->n_metrics > OT_METRICS_MAX : h->n_metrics != 0)
        return 0;
    for (uint32_t k = 0; k < OT_METRICS_MAX; k++) {
        if (k >= h->n_metrics ? h->metrics[k] != 0
                              : ot_metric_name((ot_metric)h->metrics[k]) == NULL)
            return 0;
        for (uint32_t j = 0; j < k && k < h->n_metrics; j++)
            if (h->metrics[j] == h->metrics[k])
                return 0;
    }
    return 1;
}

/* Reads and checks the header from r (the file's bytes after the magic, up
 * to its checksum, or to the end of the header alone); `len`: the whole
 * file's. */
static ot_status read_head(reader *r, const char *path, size_t len, head *h)
{
    memset(h, 0, sizeof *h);
    const uint32_t version = get_u32(r); /* checked: 1 or 2 */
    get_u32(r);
    h->input_dim = get_u64(r);
    h->n_layers = get_u32(r);
    h->flatten = get_u32(r);
    if (h->n_layers == 0 || h->n_layers + (h->flatten != 0) > OT_MAX_LAYERS || h->flatten > 1)
        return ot__fail(OT_BAD_FORMAT, "%s: %u layers", path, h->n_layers);
    if (h->input_dim == 0 || h->input_dim > ((uint64_t)1 << 24))
        return ot__fail(OT_BAD_FORMAT, "%s: input dimension %llu is absurd",
                        path, (unsigned long long)h->input_dim);
    if (!has(r, (size_t)h->n_layers * 16 + 4))
        return bad(path, "truncated layer table");
    h->layers[0].kind = OT_LAYER_FLATTEN;
    for (uint32_t i = 0; i < h->n_layers; i++) {
        ot_layer *l = &h->layers[i + h->flatten];
        uint64_t units = get_u64(r);
        l->activation = (ot_activation)get_u32(r);
        l->initializer = (ot_initializer)get_u32(r);
        l->kind = OT_LAYER_DENSE;
        l->units = units > ((uint64_t)1 << 24) ? 0 : (size_t)units;
    }
    h->scaling = get_u32(r);
    if (h->scaling > OT_SCALING_MINMAX)
        return ot__fail(OT_BAD_FORMAT, "%s: scaling %u is unknown", path, h->scaling);
    /* The parameters must be in the file before anything is allocated for
     * them: a crafted header cannot make us allocate what it does not hold. */
    uint64_t params = 0, in = h->input_dim;
    for (uint32_t i = 0; i < h->n_layers; i++) {
        uint64_t u = h->layers[i + h->flatten].units;
        params += in * u + u; /* in, u <= 2^24: no overflow in 64 bits */
        if (params > (uint64_t)len)
            return ot__fail(OT_BAD_FORMAT, "%s: the layers declare more "
                            "parameters than the file's %zu bytes hold", path, len);
        in = u;
    }
    if (h->scaling != OT_SCALING_NONE) {
        if (!has(r, 2 * (size_t)h->input_dim * 4))
            return bad(path, "truncated scaling section");
        h->scaling_at = r->p;
        r->p += 2 * (size_t)h->input_dim * 4;
    }
    if (!has(r, TAIL_OF(version)))
        return bad(path, "truncated header");
    h->compiled = get_u32(r);
    h->loss = get_u32(r);
    ot_optimizer_config *c = &h->opt;
    *c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c->kind = (ot_optimizer_kind)get_u32(r);
    uint32_t flags = get_u32(r);
    c->nesterov = flags & 1;
    c->amsgrad = (flags >> 1) & 1;
    c->centered = (flags >> 2) & 1;
    c->learning_rate = get_f32(r);
    c->momentum = get_f32(r);
    c->beta1 = get_f32(r);
    c->beta2 = get_f32(r);
    c->epsilon = get_f32(r);
    c->rho = get_f32(r);
    c->initial_accumulator = get_f32(r);
    c->schedule.kind = (ot_schedule_kind)get_u32(r);
    c->schedule.staircase = (int)get_u32(r);
    c->schedule.decay_rate = get_f64(r);
    c->schedule.decay_steps = (size_t)get_u64(r);
    c->schedule.decay_epochs = (size_t)get_u64(r);
    h->iterations = get_u64(r);
    h->epochs = get_u64(r);
    h->steps_in_epoch = get_u64(r);
    h->part.v[0] = get_f64(r);
    h->part.v[1] = get_f64(r);
    h->part_seen = get_u64(r);
    h->has_fit = get_u32(r);
    h->fit_shuffle = get_u32(r);
    h->fit_batch = get_u64(r);
    h->fit_shards = get_u64(r);
    h->fit_epochs = get_u64(r);
    h->fit_seed = get_u64(r);
    h->fit_split = get_f64(r);
    h->slots = get_u32(r);
    h->folds = get_u32(r);
    if (version == 1) {
        h->n_metrics = h->compiled != 0;
        h->metrics[0] = h->compiled ? (uint32_t)ot__loss_metric((ot_loss)h->loss) : 0;
    } else {
        h->n_metrics = get_u32(r);
        for (size_t k = 0; k < OT_METRICS_MAX; k++)
            h->metrics[k] = get_u32(r);
        for (size_t k = 1; k < OT_METRICS_MAX; k++)
            h->part.v[1 + k] = get_f64(r);
    }
    h->n_params = get_u64(r);
    if (h->n_params != params)
        return ot__fail(OT_BAD_FORMAT, "%s: %llu parameters stored, the architecture "
                        "has %llu", path, (unsigned long long)h->n_params,
                        (unsigned long long)params);
    if (h->compiled > 1 || h->slots > OT__MAX_SLOTS || (flags >> 3) != 0 ||
        h->epochs > 1000000)
        return bad(path, "invalid optimizer section");
    const uint32_t folds = h->folds;
    if (h->has_fit > 1 || h->fit_shuffle > 1 || h->fit_batch > ((uint64_t)1 << 32) ||
        h->fit_shards > 65536 || h->fit_epochs > 1000000 ||
        h->steps_in_epoch > ((uint64_t)1 << 32) || h->part_seen > ((uint64_t)1 << 40) ||
        !sums_finite(&h->part) ||
        !(h->fit_split >= 0.0 && h->fit_split < 1.0) ||
        (h->has_fit && (h->fit_batch == 0 || h->fit_shards == 0 || h->fit_epochs == 0)) ||
        ((folds & 0xffff) == 0 ? folds != 0
                               : (folds & 0xffff) < 2 || folds >> 16 >= (folds & 0xffff)))
        return bad(path, "invalid training-state section");
    if (!h->compiled && h->slots != 0)
        return bad(path, "optimizer state without an optimizer");
    if (!metrics_valid(h))
        return bad(path, "invalid metrics section");
    return OT_OK;
}

/* The numbers after the header: `body` bytes, as many as the header says. */
static ot_status check_body(const head *h, const char *path, uint64_t body)
{
    uint64_t want = (1 + (uint64_t)h->slots) * h->n_params * 4;
    if (body != want)
        return ot__fail(OT_BAD_FORMAT, "%s: %llu data bytes, expected %llu", path,
                        (unsigned long long)body, (unsigned long long)want);
    return OT_OK;
}

static ot_status parse(ot_model **out, const char *path,
                       const unsigned char *buf, size_t len)
{
    ot_status status;
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0)
        return bad(path, "not an omptrain model file (bad magic)");
    if (len < 8 + 4 + 4 + 8 + 4 + 4 + 4)
        return bad(path, "truncated model file");
    reader r = {buf + 8, buf + len - 4};
    uint32_t version = get_u32(&r);
    r.p -= 4;
    if (version != 1 && version != VERSION) /* read_head reads past it */
        return ot__fail(OT_BAD_FORMAT, "%s: format version %u, this omptrain "
                        "reads versions 1 and %u", path, version, VERSION);
    reader crc_r = {buf + len - 4, buf + len};
    uint32_t stored = get_u32(&crc_r);
    uint32_t actual = (uint32_t)crc32_z(0L, buf, len - 4);
    if (stored != actual)
        return ot__fail(OT_BAD_FORMAT, "%s: checksum mismatch (stored 0x%08x, "
                        "computed 0x%08x): the file is corrupted or truncated",
                        path, stored, actual);
    head h;
    if ((status = read_head(&r, path, len, &h)) != OT_OK ||
        (status = check_body(&h, path, (uint64_t)(r.end - r.p))) != OT_OK)
        return status;
    ot_model *m = NULL;
    float *packed = NULL;
    if ((status = ot__model_alloc(&m, (size_t)h.input_dim, h.layers,
                                  h.n_layers + h.flatten)) != OT_OK)
        return invalid(path, status);
    if (h.scaling != OT_SCALING_NONE) {
        size_t d = m->input_dim;
        reader sr = {h.scaling_at, h.scaling_at + 2 * d * 4};
        packed = ot__alloc(2 * d, sizeof(float), "model file");
        if (packed == NULL) {
            status = OT_OUT_OF_MEMORY;
            goto fail;
        }
        OT_TRY(get_finite(&sr, packed, 2 * d, path, "scaling"));
        OT_TRY(ot__model_set_scaling(m, (ot_scaling)h.scaling, packed, packed + d));
        ot__free(packed);
        packed = NULL;
    }
    if (h.compiled) {
        if ((status = ot_model_compile(m, (ot_loss)h.loss, &h.opt)) != OT_OK) {
            status = invalid(path, status);
            goto fail;
        }
        if (m->opt.slots != h.slots) {
            status = bad(path, "optimizer state does not match the optimizer");
            goto fail;
        }
        m->opt.iterations = h.iterations;
    }
    m->epochs = (size_t)h.epochs;
    m->steps_in_epoch = (size_t)h.steps_in_epoch;
    m->part = h.part;
    if (h.compiled) { /* valid: checked by read_head */
        m->metrics.n = h.n_metrics;
        for (size_t k = 0; k < h.n_metrics; k++)
            m->metrics.m[k] = (ot_metric)h.metrics[k];
    }
    m->part_seen = (size_t)h.part_seen;
    m->has_fit = (int)h.has_fit;
    m->fit_shuffle = (int)h.fit_shuffle;
    m->fit_batch = (size_t)h.fit_batch;
    m->fit_shards = (size_t)h.fit_shards;
    m->fit_epochs = (size_t)h.fit_epochs;
    m->fit_seed = h.fit_seed;
    m->fit_split = h.fit_split;
    m->fit_folds = h.folds & 0xffff;
    m->fit_fold = h.folds >> 16;
    packed = ot__alloc(m->n_params, sizeof(float), "model file");
    if (packed == NULL) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t s = 0; s <= h.slots; s++) {
        OT_TRY(get_finite(&r, packed, m->n_params, path,
                          s == 0 ? "parameter" : "optimizer state"));
        ot__arena_unpack(m, packed, s == 0 ? m->params
                                           : m->opt.state + (s - 1) * m->arena_len);
    }
    ot__free(packed);
    *out = m;
    return OT_OK;
fail:
    ot__free(packed);
    ot_model_destroy(m);
    return status;
}

ot_status ot_model_load(ot_model **out, const char *path)
{
    if (out == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load: NULL argument");
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    ot_status status = ot__read_file(path, (size_t)1 << 36, 0, &buf, &len);
    if (status != OT_OK)
        return status;
    status = parse(out, path, buf, len);
    ot__free(buf);
    return status;
}

ot_status ot_model_load_from_buffer(ot_model **out, const void *data, size_t len)
{
    if (out == NULL || data == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load from buffer: NULL argument");
    *out = NULL;
    return parse(out, "model buffer", data, len);
}

/* Reads exactly n bytes at offset off of fd. */
static ot_status read_at(int fd, const char *path, unsigned char *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(fd, buf + done, n - done, (off_t)(off + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return ot__fail(OT_IO_ERROR, "%s: read failed: %s", path,
                            got < 0 ? strerror(errno) : "the file shrank");
        done += (size_t)got;
    }
    return OT_OK;
}

/* The file's header, read and checked, its checksum computed over the whole
 * file a block at a time: nothing of the size of the weights in memory. */
static ot_status read_file_head(int fd, const char *path, uint64_t size, head *h,
                                unsigned char **buf_out)
{
    const size_t first = 8 + 4 + 4 + 8 + 4 + 4;
    if (size < first + 4)
        return bad(path, size >= 8 ? "truncated model file"
                                   : "not an omptrain model file (bad magic)");
    unsigned char fixed[8 + 4 + 4 + 8 + 4 + 4];
    ot_status st = read_at(fd, path, fixed, first, 0);
    if (st != OT_OK)
        return st;
    if (memcmp(fixed, MAGIC, 8) != 0)
        return bad(path, "not an omptrain model file (bad magic)");
    reader r = {fixed + 8, fixed + first};
    uint32_t version = get_u32(&r);
    if (version != 1 && version != VERSION)
        return ot__fail(OT_BAD_FORMAT, "%s: format version %u, this omptrain reads "
                        "versions 1 and %u", path, version, VERSION);
    get_u32(&r);
    uint64_t input_dim = get_u64(&r);
    uint64_t n_layers = get_u32(&r);
    if (n_layers > OT_MAX_LAYERS || input_dim > ((uint64_t)1 << 24))
        return ot__fail(OT_BAD_FORMAT, "%s: %llu layers of input %llu", path,
                        (unsigned long long)n_layers, (unsigned long long)input_dim);
    /* the scaling flag's place, then the header's whole length */
    uint64_t at = first + n_layers * 16;
    unsigned char sc[4];
    if (at + 4 > size - 4 || (st = read_at(fd, path, sc, 4, at)) != OT_OK)
        return st != OT_OK ? st : bad(path, "truncated layer table");
    reader sr = {sc, sc + 4};
    uint64_t len = at + 4 + (get_u32(&sr) ? 8 * input_dim : 0) + TAIL_OF(version);
    if (len > size - 4)
        return bad(path, "truncated header");
    unsigned char *buf = ot__alloc((size_t)len, 1, "model file header");
    if (buf == NULL)
        return OT_OUT_OF_MEMORY;
    if ((st = read_at(fd, path, buf, (size_t)len, 0)) != OT_OK)
        goto fail;
    /* the checksum of every byte before it */
    uLong crc = crc32_z(0L, buf, (size_t)len);
    unsigned char block[1 << 16];
    for (uint64_t off = len; off < size - 4;) {
        size_t n = size - 4 - off < sizeof block ? (size_t)(size - 4 - off) : sizeof block;
        if ((st = read_at(fd, path, block, n, off)) != OT_OK)
            goto fail;
        crc = crc32_z(crc, block, n);
        off += n;
    }
    unsigned char tail[4];
    if ((st = read_at(fd, path, tail, 4, size - 4)) != OT_OK)
        goto fail;
    reader cr = {tail, tail + 4};
    uint32_t stored = get_u32(&cr);
    if (stored != (uint32_t)crc) {
        st = ot__fail(OT_BAD_FORMAT, "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): "
                      "the file is corrupted or truncated", path, stored, (uint32_t)crc);
        goto fail;
    }
    reader hr = {buf + 8, buf + len};
    if ((st = read_head(&hr, path, size > SIZE_MAX ? SIZE_MAX : (size_t)size, h)) != OT_OK ||
        (st = check_body(h, path, size - 4 - len)) != OT_OK)
        goto fail;
    *buf_out = buf;
    return OT_OK;
fail:
    ot__free(buf);
    return st;
}

ot_status ot_model_file_summary(const char *path, FILE *out)
{
    if (path == NULL || out == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "file summary: NULL argument");
    /* not blocking: a FIFO would wait in open() for a writer forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat s;
    if (fd < 0 || fstat(fd, &s) != 0 || !S_ISREG(s.st_mode)) {
        ot_status st = ot__fail(OT_IO_ERROR, "%s: %s", path,
                                fd < 0 || !S_ISREG(s.st_mode) ? (fd < 0 ? strerror(errno)
                                                                        : "not a regular file")
                                                              : strerror(errno));
        if (fd >= 0)
            close(fd);
        return st;
    }
    head h;
    unsigned char *buf = NULL;
    ot_status st = read_file_head(fd, path, (uint64_t)s.st_size, &h, &buf);
    close(fd);
    if (st != OT_OK)
        return st;
    ot__free(buf); /* the header's numbers were read from it into h */
    h.scaling_at = NULL;
    if ((st = ot_layers_summary((size_t)h.input_dim, h.layers, h.n_layers + h.flatten, out)) !=
        OT_OK)
        return st;
    static const char *const scalings[] = {"none", "standard", "minmax"};
    if (h.compiled) {
        fprintf(out, "Loss: %s; optimizer: %s, learning rate %g%s\nMetrics:",
                ot_loss_name((ot_loss)h.loss), ot_optimizer_name(h.opt.kind),
                (double)h.opt.learning_rate,
                h.opt.schedule.kind != OT_SCHEDULE_CONSTANT ? " (scheduled)" : "");
        for (uint32_t k = 0; k < h.n_metrics; k++)
            fprintf(out, "%s %s", k ? "," : "", ot_metric_name((ot_metric)h.metrics[k]));
        fprintf(out, "\n");
    } else
        fprintf(out, "Not compiled: no loss or optimizer\n");
    fprintf(out, "Feature scaling: %s\n", scalings[h.scaling]);
    fprintf(out, "Trained: %llu epoch%s", (unsigned long long)h.epochs,
            h.epochs == 1 ? "" : "s");
    if (h.steps_in_epoch > 0)
        fprintf(out, " and %llu step%s of the next", (unsigned long long)h.steps_in_epoch,
                h.steps_in_epoch == 1 ? "" : "s");
    fprintf(out, " (%llu optimizer steps)\n", (unsigned long long)h.iterations);
    if (h.has_fit) {
        fprintf(out, "Last fit: batch %llu, %llu shard%s, seed %llu, %s", 
                (unsigned long long)h.fit_batch, (unsigned long long)h.fit_shards,
                h.fit_shards == 1 ? "" : "s", (unsigned long long)h.fit_seed,
                h.fit_shuffle ? "shuffled" : "not shuffled");
        if (h.folds)
            fprintf(out, ", validating on fold %u of %u", h.folds >> 16, h.folds & 0xffff);
        else if (h.fit_split > 0.0)
            fprintf(out, ", validation split %g", h.fit_split);
        fprintf(out, ", up to epoch %llu\n", (unsigned long long)h.fit_epochs);
    }
    if (ferror(out))
        return ot__fail(OT_IO_ERROR, "summary: write failed");
    return OT_OK;
}
