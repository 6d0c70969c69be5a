/*
 * le_bytes.h - little-endian integers and floats written to and read from
 * a byte buffer, the model file's encoding. Not installed.
 */
#ifndef OT_LE_BYTES_H
#define OT_LE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct writer {
    unsigned char *p;
} writer;

static inline void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *w->p++ = (unsigned char)(v >> (8 * i));
}

static inline void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *w->p++ = (unsigned char)(v >> (8 * i));
}

static inline void put_f32(writer *w, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    put_u32(w, v);
}

static inline void put_f64(writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(w, v);
}

static inline void put_floats(writer *w, const float *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_f32(w, f[i]);
}

typedef struct reader {
    const unsigned char *p, *end;
} reader;

static inline int has(const reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }

static inline uint32_t get_u32(reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)*r->p++ << (8 * i);
    return v;
}

static inline uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)*r->p++ << (8 * i);
    return v;
}

static inline float get_f32(reader *r)
{
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static inline double get_f64(reader *r)
{
    uint64_t v = get_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

#endif
