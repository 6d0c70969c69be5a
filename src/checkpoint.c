/*
 * checkpoint.c - ot_model_save / ot_model_load.
 *
 * Format (version 1), every integer and float little-endian:
 *   "OMPTRAIN"  u32 version  u32 0
 *   u64 input_dim  u32 n_layers  u32 0
 *   n_layers x { u64 units  u32 activation  u32 0 }
 *   u32 compiled  u32 loss  u32 optimizer  u32 nesterov
 *   f32 learning_rate momentum beta1 beta2 epsilon  u32 0
 *   u64 iterations  u32 state_slots  u32 0
 *   u64 n_params
 *   n_params x f32 parameters (layer by layer: weights "oi", then bias)
 *   state_slots x n_params x f32 optimizer state (same order)
 *   u32 CRC-32 (zlib) of every byte before it
 * Nothing depends on the machine or the run (no time, no thread count), so
 * the same model always gives the same bytes.
 */
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "fileio.h"
#include "model.h"

#define MAGIC "OMPTRAIN"
#define VERSION 1u

typedef struct writer {
    unsigned char *p;
} writer;

static void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *w->p++ = (unsigned char)(v >> (8 * i));
}

static void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *w->p++ = (unsigned char)(v >> (8 * i));
}

static void put_f32(writer *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(w, v);
}

static void put_floats(writer *w, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_f32(w, f[i]);
}

typedef struct reader {
    const unsigned char *p, *end;
} reader;

static int has(const reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

static uint32_t get_u32(reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)*r->p++ << (8 * i);
    return v;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)*r->p++ << (8 * i);
    return v;
}

static float get_f32(reader *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static size_t header_size(size_t n_layers)
{
    return 8 + 4 + 4 + 8 + 4 + 4 + n_layers * 16 + 4 * 4 + 5 * 4 + 4 + 8 + 4 +
           4 + 8;
}

ot_status ot_model_save(const ot_model *m, const char *path)
{
    if (m == NULL || path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "save: NULL argument");
    size_t slots = m->compiled ? m->opt.slots : 0;
    size_t len = header_size(m->n_layers) + (1 + slots) * m->n_params * 4 + 4;
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
    put_u32(&w, 0);
    for (size_t i = 0; i < m->n_layers; i++) {
        put_u64(&w, m->layers[i].out);
        put_u32(&w, (uint32_t)m->layers[i].act);
        put_u32(&w, 0);
    }
    const ot_optimizer_config *c = &m->opt.cfg;
    put_u32(&w, (uint32_t)m->compiled);
    put_u32(&w, m->compiled ? (uint32_t)m->loss : 0);
    put_u32(&w, m->compiled ? (uint32_t)c->kind : 0);
    put_u32(&w, m->compiled ? (uint32_t)(c->nesterov != 0) : 0);
    put_f32(&w, m->compiled ? c->learning_rate : 0.0f);
    put_f32(&w, m->compiled ? c->momentum : 0.0f);
    put_f32(&w, m->compiled ? c->beta1 : 0.0f);
    put_f32(&w, m->compiled ? c->beta2 : 0.0f);
    put_f32(&w, m->compiled ? c->epsilon : 0.0f);
    put_u32(&w, 0);
    put_u64(&w, m->compiled ? m->opt.iterations : 0);
    put_u32(&w, (uint32_t)slots);
    put_u32(&w, 0);
    put_u64(&w, m->n_params);
    ot__arena_pack(m, m->params, packed);
    put_floats(&w, packed, m->n_params);
    for (size_t s = 0; s < slots; s++) {
        ot__arena_pack(m, m->opt.state + s * m->arena_len, packed);
        put_floats(&w, packed, m->n_params);
    }
    put_u32(&w, (uint32_t)crc32_z(0L, buf, len - 4));
    ot__free(packed);
    ot_status status = ot__write_file_atomic(path, buf, len);
    ot__free(buf);
    return status;
}

static ot_status bad(const char *path, const char *what)
{
    return ot__fail(OT_BAD_FORMAT, "%s: %s", path, what);
}

static ot_status parse(ot_model **out, const char *path,
                       const unsigned char *buf, size_t len)
{
    ot_status status;
    if (len < 8 || memcmp(buf, MAGIC, 8) != 0)
        return bad(path, "not an omptrain model file (bad magic)");
    if (len < header_size(0) + 4)
        return bad(path, "truncated model file");
    reader r = {buf + 8, buf + len - 4};
    uint32_t version = get_u32(&r);
    if (version != VERSION)
        return ot__fail(OT_BAD_FORMAT, "%s: format version %u, this omptrain "
                        "reads version %u", path, version, VERSION);
    reader crc_r = {buf + len - 4, buf + len};
    uint32_t stored = get_u32(&crc_r);
    uint32_t actual = (uint32_t)crc32_z(0L, buf, len - 4);
    if (stored != actual)
        return ot__fail(OT_BAD_FORMAT, "%s: checksum mismatch (stored 0x%08x, "
                        "computed 0x%08x): the file is corrupted or truncated",
                        path, stored, actual);
    get_u32(&r);
    uint64_t input_dim = get_u64(&r);
    uint32_t n_layers = get_u32(&r);
    get_u32(&r);
    if (n_layers == 0 || n_layers > 64)
        return ot__fail(OT_BAD_FORMAT, "%s: %u layers", path, n_layers);
    if (!has(&r, (size_t)n_layers * 16))
        return bad(path, "truncated layer table");
    ot_layer layers[64];
    for (uint32_t i = 0; i < n_layers; i++) {
        uint64_t units = get_u64(&r);
        uint32_t act = get_u32(&r);
        get_u32(&r);
        if (units > ((uint64_t)1 << 24) || ot_activation_name((ot_activation)act) == NULL)
            return ot__fail(OT_BAD_FORMAT, "%s: layer %u is invalid (units %llu, "
                            "activation %u)", path, i + 1,
                            (unsigned long long)units, act);
        layers[i].units = (size_t)units;
        layers[i].activation = (ot_activation)act;
    }
    if (input_dim > ((uint64_t)1 << 24))
        return ot__fail(OT_BAD_FORMAT, "%s: input dimension %llu is absurd",
                        path, (unsigned long long)input_dim);
    if (!has(&r, 4 * 4 + 5 * 4 + 4 + 8 + 4 + 4 + 8))
        return bad(path, "truncated header");
    uint32_t compiled = get_u32(&r), loss = get_u32(&r);
    ot_optimizer_config c = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    c.kind = (ot_optimizer_kind)get_u32(&r);
    c.nesterov = (int)get_u32(&r);
    c.learning_rate = get_f32(&r);
    c.momentum = get_f32(&r);
    c.beta1 = get_f32(&r);
    c.beta2 = get_f32(&r);
    c.epsilon = get_f32(&r);
    get_u32(&r);
    uint64_t iterations = get_u64(&r);
    uint32_t slots = get_u32(&r);
    get_u32(&r);
    uint64_t n_params = get_u64(&r);

    ot_model *m = NULL;
    if ((status = ot__model_alloc(&m, (size_t)input_dim, layers, n_layers)) != OT_OK) {
        char msg[400];
        ot__error_copy(msg, sizeof msg);
        return ot__fail(OT_BAD_FORMAT, "%s: %s", path, msg);
    }
    float *packed = NULL;
    if (n_params != m->n_params) {
        status = ot__fail(OT_BAD_FORMAT, "%s: %llu parameters stored, the "
                          "architecture has %zu", path,
                          (unsigned long long)n_params, m->n_params);
        goto fail;
    }
    if (compiled > 1 || slots > 2) {
        status = bad(path, "invalid optimizer section");
        goto fail;
    }
    if ((size_t)(r.end - r.p) != (1 + (size_t)slots) * m->n_params * 4) {
        status = ot__fail(OT_BAD_FORMAT, "%s: %zu data bytes, expected %zu",
                          path, (size_t)(r.end - r.p),
                          (1 + (size_t)slots) * m->n_params * 4);
        goto fail;
    }
    if (compiled) {
        if ((status = ot_model_compile(m, (ot_loss)loss, &c)) != OT_OK) {
            char msg[400];
            ot__error_copy(msg, sizeof msg);
            status = ot__fail(OT_BAD_FORMAT, "%s: %s", path, msg);
            goto fail;
        }
        if (m->opt.slots != slots) {
            status = bad(path, "optimizer state does not match the optimizer");
            goto fail;
        }
        m->opt.iterations = iterations;
    } else if (slots != 0) {
        status = bad(path, "optimizer state without an optimizer");
        goto fail;
    }
    packed = ot__alloc(m->n_params, sizeof(float), "model file");
    if (packed == NULL) {
        status = OT_OUT_OF_MEMORY;
        goto fail;
    }
    for (size_t s = 0; s <= slots; s++) {
        for (size_t i = 0; i < m->n_params; i++) {
            packed[i] = get_f32(&r);
            if (!isfinite(packed[i])) {
                status = ot__fail(OT_BAD_FORMAT, "%s: %s value %zu is not finite",
                                  path, s == 0 ? "parameter" : "optimizer state", i);
                goto fail;
            }
        }
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
    ot_status status = ot__read_file(path, (size_t)1 << 36, &buf, &len);
    if (status != OT_OK)
        return status;
    status = parse(out, path, buf, len);
    ot__free(buf);
    return status;
}
