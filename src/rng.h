/*
 * rng.h - the one seeded generator behind initialisation, splits and
 * shuffles (xoshiro256** seeded through splitmix64). Not thread-safe: each
 * user owns its generator.
 */
#ifndef OT_RNG_H
#define OT_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ot__rng {
    uint64_t s[4];
} ot__rng;

void ot__rng_seed(ot__rng *rng, uint64_t seed);
/* A seed derived from (seed, stream): independent generators per epoch. */
uint64_t ot__rng_derive(uint64_t seed, uint64_t stream);
uint64_t ot__rng_next(ot__rng *rng);
/* Uniform in [0, 1) with 24 random bits, as float. */
float ot__rng_uniformf(ot__rng *rng);
/* Uniform integer in [0, bound), unbiased; bound > 0. */
uint64_t ot__rng_below(ot__rng *rng, uint64_t bound);
/* Fisher-Yates shuffle of n indices. */
void ot__rng_shuffle(ot__rng *rng, uint32_t *idx, size_t n);

/* A 64-bit fingerprint of n bytes, continuing from h (not cryptographic:
 * to tell whether two copies of data differ). */
uint64_t ot__hash_bytes(uint64_t h, const void *p, size_t n);

#endif
