/*
 * alloc.c - the one path for library allocations: aligned, overflow-checked,
 * counted, and able to fail on demand for the allocation-failure tests.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static atomic_uint_fast64_t alloc_calls;
static atomic_uint_fast64_t fail_at; /* 0: never; else the call number */

uint64_t ot__alloc_count(void) { return atomic_load(&alloc_calls); }

void ot__alloc_fail_after(uint64_t n)
{
    atomic_store(&fail_at, n ? atomic_load(&alloc_calls) + n : 0);
}

void *ot__alloc(size_t count, size_t size, const char *what)
{
    uint64_t call = atomic_fetch_add(&alloc_calls, 1) + 1;
    uint64_t fail = atomic_load(&fail_at);
    if (count != 0 && size > SIZE_MAX / count) {
        ot__fail(OT_OUT_OF_MEMORY, "%s: %zu x %zu bytes overflows", what,
                 count, size);
        return NULL;
    }
    size_t bytes = count * size;
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0)
        bytes = 64;
    void *p = NULL;
    if (fail != 0 && call == fail)
        p = NULL;
    else
        p = aligned_alloc(64, bytes);
    if (p == NULL)
        ot__fail(OT_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what,
                 bytes);
    return p;
}

void *ot__calloc(size_t count, size_t size, const char *what)
{
    void *p = ot__alloc(count, size, what);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void ot__free(void *p) { free(p); }
