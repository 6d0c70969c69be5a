/*
 * common.h - internals shared by every library file: error reporting, the
 * allocation hook, and the check macros. Not installed.
 */
#ifndef OT_COMMON_H
#define OT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl.h>

#include "omptrain.h"

#if defined(__GNUC__)
#define OT__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define OT__PRINTF(f, a)
#endif

/* Records a formatted message for ot_last_error() on this thread and returns
 * `status`, so that `return ot__fail(OT_IO_ERROR, "...")` reads naturally. */
ot_status ot__fail(ot_status status, const char *fmt, ...) OT__PRINTF(2, 3);

/* Copies the calling thread's last error message into buf (for handing a
 * worker thread's message back to the caller's thread). */
void ot__error_copy(char *buf, size_t size);

/* Sets the calling thread's message verbatim. */
void ot__error_restore(const char *message);

/* Turns a oneDNN status into an omptrain status naming the call. */
ot_status ot__dnnl_fail(dnnl_status_t st, const char *call, const char *file,
                        int line);

/* Every oneDNN call goes through this: on failure it records the call's text
 * and jumps to the function's `fail` label with `status` set. */
#define OT_DNNL(call)                                                         \
    do {                                                                      \
        dnnl_status_t ot_dnnl_st_ = (call);                                   \
        if (ot_dnnl_st_ != dnnl_success) {                                    \
            status = ot__dnnl_fail(ot_dnnl_st_, #call, __FILE__, __LINE__);   \
            goto fail;                                                        \
        }                                                                     \
    } while (0)

/* Propagates a failing ot_status to the `fail` label. */
#define OT_TRY(expr)                                                          \
    do {                                                                      \
        status = (expr);                                                      \
        if (status != OT_OK)                                                  \
            goto fail;                                                        \
    } while (0)

/* ---- allocation: every library allocation goes through these ---------- */

/* 64-byte aligned, uninitialised; NULL on failure (with the message set,
 * naming `what`). `count * size` overflow is a failure. */
void *ot__alloc(size_t count, size_t size, const char *what);
/* Same, zero-filled. */
void *ot__calloc(size_t count, size_t size, const char *what);
void ot__free(void *p);

/* Test hooks: the number of ot__alloc/ot__calloc calls so far, and making
 * the n-th call from now fail (0 disables). */
uint64_t ot__alloc_count(void);
void ot__alloc_fail_after(uint64_t n);

/* The machine's physical memory in bytes (SIZE_MAX when unknown), and
 * whether ot_set_memory_limit set a limit (else the limit is half that). */
size_t ot__machine_memory(void);
int ot__memory_limit_set(void);
/* Fails with OT_OUT_OF_MEMORY when `need` bytes are more than the memory
 * limit set, or else the machine's memory: "<what> needs about N GB (<why>),
 * more than ...". */
ot_status ot__memory_check(size_t need, const char *what, const char *why);

/* dst[r * dld + c] = src[r * sld + c] for r < rows, c < w: a block of
 * columns of one row-major matrix into another. */
static inline void ot__copy_block(float *restrict dst, size_t dld,
                                  const float *restrict src, size_t sld,
                                  size_t rows, size_t w)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * dld, src + r * sld, w * sizeof(float));
}

/* Seconds on a monotonic clock. */
static inline double ot__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Rounds n floats up to a whole number of 64-byte lines. */
static inline size_t ot__round_floats(size_t n) { return (n + 15) & ~(size_t)15; }

/* Hot element-wise loops (the optimizer updates) are compiled for AVX-512,
 * AVX2 and the baseline, and the best one the processor has is chosen at
 * load time. Every operation is element-wise and correctly rounded (no FMA
 * contraction in ISO C mode), so all three give the same bits. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
#define OT_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define OT_MULTIVERSION
#endif

#endif
