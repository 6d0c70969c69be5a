/*
 * alloc.c - the one path for library allocations: aligned, overflow-checked,
 * counted, and able to fail on demand for the allocation-failure tests.
 */
#define _DEFAULT_SOURCE 1 /* madvise */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

#define LINE 64
#define HUGE_PAGE ((size_t)2 << 20)
/* From this size an allocation starts on a huge page and asks the kernel
 * for huge pages (when transparent huge pages are set to madvise, as on
 * Debian). A training step gathers its rows at random from the data set,
 * and on 4 KiB pages most rows of Fashion-MNIST's 47 MB cost a TLB miss.
 * Waste: under one huge page, on allocations of at least twice that. */
#define HUGE_FROM ((size_t)4 << 20)

static atomic_size_t memory_limit; /* 0: the machine's memory */

void ot_set_memory_limit(size_t bytes) { atomic_store(&memory_limit, bytes); }

int ot__memory_limit_set(void) { return atomic_load(&memory_limit) != 0; }

size_t ot__machine_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : SIZE_MAX;
}

ot_status ot__memory_check(size_t need, const char *what, const char *why)
{
    const int set = ot__memory_limit_set();
    size_t limit = set ? ot_memory_limit() : ot__machine_memory();
    if (need <= limit)
        return OT_OK;
    return ot__fail(OT_OUT_OF_MEMORY, "%s needs about %.3g GB (%s), more than %s of %.3g GB%s",
                    what, (double)need / 1e9, why,
                    set ? "the memory limit" : "the machine's memory", (double)limit / 1e9,
                    set ? " (ot_set_memory_limit, --max-memory)" : "");
}

size_t ot_memory_limit(void)
{
    size_t limit = atomic_load(&memory_limit);
    if (limit != 0)
        return limit;
    /* half the machine: the rest is the run's own buffers, and other work */
    size_t machine = ot__machine_memory();
    return machine == SIZE_MAX ? SIZE_MAX : machine / 2;
}

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
    if (count != 0 && (size > SIZE_MAX / count || count * size > SIZE_MAX - HUGE_PAGE)) {
        ot__fail(OT_OUT_OF_MEMORY, "%s: %zu x %zu bytes overflows", what,
                 count, size);
        return NULL;
    }
    size_t bytes = count * size;
    size_t align = bytes >= HUGE_FROM ? HUGE_PAGE : LINE;
    bytes = (bytes + align - 1) & ~(align - 1);
    if (bytes == 0)
        bytes = LINE;
    void *p = NULL;
    if (fail != 0 && call == fail)
        p = NULL;
    else
        p = aligned_alloc(align, bytes);
#ifdef MADV_HUGEPAGE
    if (p != NULL && align == HUGE_PAGE)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: refused, nothing changes */
#endif
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
