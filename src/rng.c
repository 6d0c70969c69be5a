/*
 * rng.c - xoshiro256** (Blackman and Vigna) seeded with splitmix64.
 */
#include <string.h>

#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ot__rng_derive(uint64_t seed, uint64_t stream)
{
    uint64_t x = stream * 0xd1b54a32d192ed03ULL;
    return splitmix64(&x) ^ seed;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ot__rng_seed(ot__rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t ot__rng_next(ot__rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float ot__rng_uniformf(ot__rng *rng)
{
    return (float)(ot__rng_next(rng) >> 40) * 0x1.0p-24f;
}

uint64_t ot__rng_below(ot__rng *rng, uint64_t bound)
{
    /* Rejection from the top: the accepted range is a multiple of bound. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do
        x = ot__rng_next(rng);
    while (x >= limit);
    return x % bound;
}

void ot__rng_shuffle(ot__rng *rng, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ot__rng_below(rng, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

uint64_t ot__hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    uint64_t w = n;
    for (; i < n; i++)
        w = (w << 8) | b[i];
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return splitmix64(&h);
}
