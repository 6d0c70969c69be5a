/*
 * training.h - what the suites of the engine, fit, inference, calibration
 * and the cut by units share: the models of the tests, a fit with the
 * engine's options forced, the weights after a fixed training run, the
 * step and epoch callbacks that count, and (in builds without the
 * sanitizers) every heap allocation of the process counted: it defines
 * malloc and its kin when OT_COUNT_MALLOC is set, so a test file includes
 * it first, and only one file of an executable includes it.
 */
#ifndef OT_TEST_TRAINING_H
#define OT_TEST_TRAINING_H

#ifdef OT_COUNT_MALLOC
#define _GNU_SOURCE 1 /* dladdr */
#endif
#include <criterion/criterion.h>
#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#include <stdatomic.h>

#include "helpers.h"
#include "src/common.h"
#include "src/dataset.h"
#include "src/engine.h"
#include "src/fit.h"
#include "src/model.h"
#include "src/onednn.h"
#include "src/unit_split.h"

/* What a test forces (the step's cut, the forward product); zeros follow
 * the rules. Criterion runs each test in its own process. */
static ot__engine_options forced;

static inline ot_status fit_forced(ot_model *m, const ot_dataset *d,
                                   const ot_fit_config *cfg, ot_history **h)
{
    return ot__fit(m, d, cfg, &forced, h);
}

#ifdef OT_COUNT_MALLOC
/* Every heap allocation of the process (oneDNN's, libstdc++'s and libgomp's
 * included) is counted here, and attributed: oneDNN 2.6's own
 * dnnl_primitive_execute builds a std::unordered_map of the arguments on
 * each call, which no caller of its API can avoid, so allocations made under
 * that function are counted apart from all others. Not built under the
 * sanitizers, which own malloc; there the library's own hook is counted. */
#include <dlfcn.h>
#include <execinfo.h>
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
static atomic_ulong mallocs, in_execute;
static atomic_int attribute; /* look at the callers while set */
static _Thread_local int inside;

static inline void count(void)
{
    atomic_fetch_add(&mallocs, 1);
    if (!atomic_load(&attribute) || inside)
        return;
    inside = 1;
    void *frames[48];
    int n = backtrace(frames, 48);
    for (int i = 0; i < n; i++) {
        Dl_info info;
        if (dladdr(frames[i], &info) && info.dli_sname &&
            strcmp(info.dli_sname, "dnnl_primitive_execute") == 0) {
            atomic_fetch_add(&in_execute, 1);
            break;
        }
    }
    inside = 0;
}
void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { count(); return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    count();
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12;
}
void free(void *p) { __libc_free(p); }
/* Allocations other than oneDNN's execute bookkeeping. */
static inline unsigned long heap_allocations(void)
{
    return atomic_load(&mallocs) - atomic_load(&in_execute);
}
static inline void attribute_allocations(int on)
{
    void *warm[4];
    backtrace(warm, 4); /* loads libgcc_s before the window opens */
    atomic_store(&attribute, on);
}
#else
static inline unsigned long heap_allocations(void) { return 0; }
static inline void attribute_allocations(int on) { (void)on; }
#endif

/* 20 inputs, the layers l[0..3), compiled for sparse categorical
 * cross-entropy with `kind` (SGD: Nesterov momentum 0.9). */
static inline ot_model *compiled_model(const ot_layer *l, unsigned seed, ot_optimizer_kind kind)
{
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 20, l, 3, seed), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(kind);
    if (kind == OT_OPTIMIZER_SGD) {
        oc.momentum = 0.9f;
        oc.nesterov = 1;
    }
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    return m;
}

static inline ot_model *small_model(unsigned seed, ot_optimizer_kind kind)
{
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(8, OT_ACTIVATION_SIGMOID),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    return compiled_model(l, seed, kind);
}

/* The weights of model m (destroyed) after 3 epochs of 613 samples, 490 to
 * train on: batches of 50 and a last, partial one of 40. */
static inline float *trained_weights(ot_model *m, int threads, size_t shards, size_t *count)
{
    ot_dataset *d = th_blobs(613, 20, 4, 3);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 50;
    fc.epochs = 3;
    fc.validation_split = 0.2;
    fc.threads = threads;
    fc.shards = shards;
    fc.seed = 5;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 3);
    *count = ot_model_param_count(m);
    float *w = malloc(*count * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, w, *count), OT_OK);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    return w;
}

static inline float *weights_after(int threads, size_t shards, ot_optimizer_kind kind,
                                   size_t *count)
{
    return trained_weights(small_model(11, kind), threads, shards, count);
}

typedef struct counts {
    size_t steps, epochs, last_steps, stop_after;
    unsigned long heap_at_first, heap_at_end, heap_at_epoch1;
    uint64_t lib_at_first, lib_at_end, lib_at_epoch1;
} counts;

static inline int on_step(const ot_step_metrics *s, void *user)
{
    counts *c = user;
    c->steps++;
    c->last_steps = s->steps;
    cr_assert(s->step >= 1 && s->step <= s->steps);
    if (c->steps == 1) {
        c->heap_at_first = heap_allocations();
        c->lib_at_first = ot__alloc_count();
    }
    return c->stop_after && c->steps == c->stop_after;
}

static inline int on_epoch(const ot_epoch_metrics *e, void *user)
{
    counts *c = user;
    c->epochs++;
    cr_assert_eq(e->epoch, c->epochs);
    c->heap_at_end = heap_allocations();
    c->lib_at_end = ot__alloc_count();
    if (c->epochs == 1) {
        c->heap_at_epoch1 = c->heap_at_end;
        c->lib_at_epoch1 = c->lib_at_end;
    }
    return 0;
}

/* Hidden layers of 64 and 48 units: 4 and 3 blocks with 4 shards. */
static inline ot_model *wide_model(unsigned seed, ot_optimizer_kind kind)
{
    ot_layer l[] = {OT_DENSE(64, OT_ACTIVATION_RELU), OT_DENSE(48, OT_ACTIVATION_TANH),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    return compiled_model(l, seed, kind);
}

static inline void weights_of(const ot_model *m, float **w, size_t *n)
{
    *n = ot_model_param_count(m);
    *w = malloc(*n * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, *w, *n), OT_OK);
}

/* Whether two models have the very same weights, bit for bit. */
static inline int same_weights(const ot_model *a, const ot_model *b)
{
    float *wa, *wb;
    size_t na, nb;
    weights_of(a, &wa, &na);
    weights_of(b, &wb, &nb);
    int same = na == nb && memcmp(wa, wb, na * sizeof(float)) == 0;
    free(wa);
    free(wb);
    return same;
}

#endif
