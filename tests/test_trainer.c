/*
 * test_trainer.c - the data-parallel engine: bit-identical weights whatever
 * the thread count, sharded == unsharded, the last partial batch, callbacks,
 * the non-finite guard, learning XOR, and a step loop that allocates nothing.
 */
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
#include "src/model.h"
#include "src/onednn.h"
#include "src/engine.h"
#include "src/fit.h"
#include "src/unit_split.h"

/* What a test forces (the step's cut, the forward product); zeros follow
 * the rules. Criterion runs each test in its own process. */
static ot__engine_options forced;

static ot_status fit_forced(ot_model *m, const ot_dataset *d, const ot_fit_config *cfg,
                                ot_history **h)
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

static void count(void)
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
static unsigned long heap_allocations(void)
{
    return atomic_load(&mallocs) - atomic_load(&in_execute);
}
static void attribute_allocations(int on)
{
    void *warm[4];
    backtrace(warm, 4); /* loads libgcc_s before the window opens */
    atomic_store(&attribute, on);
}
#else
static unsigned long heap_allocations(void) { return 0; }
static void attribute_allocations(int on) { (void)on; }
#endif

/* 20 inputs, the layers l[0..3), compiled for sparse categorical
 * cross-entropy with `kind` (SGD: Nesterov momentum 0.9). */
static ot_model *compiled_model(const ot_layer *l, unsigned seed, ot_optimizer_kind kind)
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

static ot_model *small_model(unsigned seed, ot_optimizer_kind kind)
{
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(8, OT_ACTIVATION_SIGMOID),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    return compiled_model(l, seed, kind);
}

/* The weights of model m (destroyed) after 3 epochs of 613 samples, 490 to
 * train on: batches of 50 and a last, partial one of 40. */
static float *trained_weights(ot_model *m, int threads, size_t shards, size_t *count)
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

static float *weights_after(int threads, size_t shards, ot_optimizer_kind kind,
                            size_t *count)
{
    return trained_weights(small_model(11, kind), threads, shards, count);
}

static void bit_identical_across_threads(ot_optimizer_kind kind)
{
    size_t n, n2;
    float *ref = weights_after(1, 8, kind, &n);
    const int threads[] = {2, 3, 4, 8};
    for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
        float *w = weights_after(threads[i], 8, kind, &n2);
        cr_assert_eq(n, n2);
        cr_assert(memcmp(ref, w, n * sizeof(float)) == 0,
                  "%s: weights with %d threads differ from 1 thread (8 shards)",
                  ot_optimizer_name(kind), threads[i]);
        free(w);
    }
    free(ref);
}

Test(trainer, bit_identical_across_thread_counts_adam)
{
    bit_identical_across_threads(OT_OPTIMIZER_ADAM);
}

Test(trainer, bit_identical_across_thread_counts_sgd_nesterov)
{
    bit_identical_across_threads(OT_OPTIMIZER_SGD);
}

Test(trainer, more_threads_than_shards)
{
    size_t n;
    float *a = weights_after(1, 2, OT_OPTIMIZER_ADAM, &n);
    float *b = weights_after(5, 2, OT_OPTIMIZER_ADAM, &n);
    cr_assert(memcmp(a, b, n * sizeof(float)) == 0,
              "5 threads on 2 shards differ from 1 thread");
    free(a);
    free(b);
}

Test(trainer, caller_openmp_and_floating_point_settings_untouched)
{
    int before = omp_get_max_threads();
#if defined(__SSE__)
    unsigned csr = _mm_getcsr();
#endif
    size_t n;
    free(weights_after(2, 4, OT_OPTIMIZER_SGD, &n));
    cr_assert_eq(omp_get_max_threads(), before);
#if defined(__SSE__)
    /* control bits only: bits 0-5 are sticky exception flags */
    cr_assert_eq(_mm_getcsr() & 0xffc0u, csr & 0xffc0u, "the caller's MXCSR changed");
    /* and a denormal still survives on the caller's thread */
    volatile float tiny = 1e-39f;
    cr_assert(tiny * 0.5f != 0.0f);
#endif
}

Test(trainer, shard_count_changes_only_rounding)
{
    size_t n;
    float *a = weights_after(2, 1, OT_OPTIMIZER_SGD, &n);
    float *b = weights_after(2, 7, OT_OPTIMIZER_SGD, &n);
    int differ = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(fabsf(a[i] - b[i]) <= 1e-4f * (1.0f + fabsf(a[i])),
                  "param %zu: %.9g unsharded, %.9g with 7 shards", i, (double)a[i],
                  (double)b[i]);
        differ |= a[i] != b[i];
    }
    free(a);
    free(b);
    (void)differ; /* equal or not, both are right: the sum order differs */
}

Test(trainer, sharded_gradient_equals_unsharded)
{
    ot_dataset *d = th_blobs(97, 20, 4, 9);
    ot_model *m = small_model(2, OT_OPTIMIZER_ADAM);
    size_t P = ot_model_param_count(m);
    float *g1 = malloc(P * sizeof(float)), *gs = malloc(P * sizeof(float));
    double l1, ls;
    cr_assert_eq(ot__engine_gradient_of(m, d, 1, 1, &forced, g1, &l1), OT_OK, "%s", ot_last_error());
    const size_t shards[] = {2, 5, 16, 97};
    for (size_t k = 0; k < 4; k++) {
        cr_assert_eq(ot__engine_gradient_of(m, d, shards[k], 2, &forced, gs, &ls), OT_OK);
        cr_assert(fabs(l1 - ls) <= 1e-6 * fabs(l1), "loss %g vs %g", l1, ls);
        for (size_t i = 0; i < P; i++)
            cr_assert(fabsf(g1[i] - gs[i]) <= 1e-6f + 1e-4f * fabsf(g1[i]),
                      "%zu shards, param %zu: %.9g vs %.9g", shards[k], i,
                      (double)gs[i], (double)g1[i]);
    }
    free(g1);
    free(gs);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, shard_ranges_are_balanced)
{
    size_t first, rows, next = 0;
    for (size_t s = 0; s < 4; s++) {
        ot__shard_range(10, 4, s, &first, &rows);
        cr_assert_eq(first, next);
        cr_assert_eq(rows, s < 2 ? 3u : 2u);
        next = first + rows;
    }
    ot__shard_range(3, 8, 5, &first, &rows);
    cr_assert_eq(rows, 0);
}

/* The reduction sums in shard order, element by element, whatever the
 * vector width: bit for bit the sequential sum, over chunk lengths with and
 * without a tail, 1 to 5 shards, an offset chunk; the slices tile the arena
 * in whole 64-byte lines. */
Test(trainer, reduction_is_the_sequential_sum_in_shard_order)
{
    enum { LEN = 160, MAXS = 5 };
    float buf[MAXS][LEN], ref[LEN];
    for (size_t ns = 1; ns <= MAXS; ns++)
        for (size_t n = 1; n <= 67; n += 11) {
            float *g[MAXS];
            for (size_t s = 0; s < ns; s++) {
                g[s] = buf[s];
                for (size_t i = 0; i < LEN; i++) /* values whose sums round */
                    buf[s][i] = (float)((double)((i * 7 + s * 13) % 29) * 0.1 - 1.3) *
                                (s % 2 ? 1e-3f : 1.0f);
            }
            const size_t c = 48;
            for (size_t i = 0; i < n; i++) {
                float a = buf[0][c + i];
                for (size_t s = 1; s < ns; s++)
                    a += buf[s][c + i];
                ref[i] = a;
            }
            float before = buf[0][c + n]; /* just past the chunk */
            ot__reduce_chunk(g, ns, c, n);
            cr_assert_eq(memcmp(buf[0] + c, ref, n * sizeof(float)), 0,
                         "%zu shards, %zu floats", ns, n);
            cr_assert_eq(buf[0][c + n], before, "wrote past the chunk");
        }
    size_t lo, hi, next = 0; /* the arena is whole lines (ot__round_floats) */
    for (int t = 0; t < 4; t++) {
        ot__arena_slice(63 * 16, 4, t, &lo, &hi);
        cr_assert_eq(lo, next);
        cr_assert_eq(lo % 16, 0u);
        cr_assert(hi - lo >= 15 * 16 && hi - lo <= 16 * 16);
        next = hi;
    }
    cr_assert_eq(next, 63u * 16);
}

typedef struct counts {
    size_t steps, epochs, last_steps, stop_after;
    unsigned long heap_at_first, heap_at_end, heap_at_epoch1;
    uint64_t lib_at_first, lib_at_end, lib_at_epoch1;
} counts;

static int on_step(const ot_step_metrics *s, void *user)
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

static int on_epoch(const ot_epoch_metrics *e, void *user)
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

Test(trainer, last_partial_batch_is_trained)
{
    ot_dataset *d = th_blobs(10, 20, 4, 1);
    ot_model *m = small_model(1, OT_OPTIMIZER_SGD);
    counts c = {0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 4; /* 4 + 4 + 2 */
    fc.epochs = 2;
    fc.threads = 2;
    fc.shards = 3;
    fc.on_step = on_step;
    fc.on_epoch = on_epoch;
    fc.user = &c;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(c.last_steps, 3);
    cr_assert_eq(c.steps, 6);
    cr_assert_eq(c.epochs, 2);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* Weights after 2 epochs of small_model on 10 samples (8 to train on) in
 * batches of `batch`, and the steps the last epoch had. */
static float *weights_for_batch(size_t batch, size_t *count, size_t *steps)
{
    ot_dataset *d = th_blobs(10, 20, 4, 1);
    ot_model *m = small_model(3, OT_OPTIMIZER_ADAM);
    counts c = {0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = 2;
    fc.validation_split = 0.2;
    fc.threads = 2;
    fc.shards = 3;
    fc.on_step = on_step;
    fc.user = &c;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "batch %zu: %s", batch,
                 ot_last_error());
    *steps = c.last_steps;
    *count = ot_model_param_count(m);
    float *w = malloc(*count * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, w, *count), OT_OK);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    return w;
}

/* As in Keras, a batch larger than the training part is one batch of all of
 * it; buffers follow the rows, so an absurd batch allocates nothing absurd. */
Test(trainer, batch_larger_than_the_data_is_one_batch_of_all_of_it)
{
    size_t n, steps;
    float *ref = weights_for_batch(8, &n, &steps);
    cr_assert_eq(steps, 1);
    const size_t batches[] = {9, 32, (size_t)1 << 40};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++) {
        size_t n2, steps2;
        float *w = weights_for_batch(batches[i], &n2, &steps2);
        cr_assert_eq(steps2, 1, "batch %zu: %zu steps an epoch", batches[i], steps2);
        cr_assert(n == n2 && memcmp(ref, w, n * sizeof(float)) == 0,
                  "batch %zu trains otherwise than a batch of the 8 samples", batches[i]);
        free(w);
    }
    free(ref);
}

Test(trainer, callback_stops_training)
{
    ot_dataset *d = th_blobs(100, 20, 4, 1);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    counts c = {0};
    c.stop_after = 5;
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 10;
    fc.epochs = 3;
    fc.on_step = on_step;
    fc.on_epoch = on_epoch;
    fc.user = &c;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK);
    cr_assert_eq(c.steps, 5);
    cr_assert_eq(c.epochs, 0);
    cr_assert_eq(ot_history_length(h), 0);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* Trains 3 epochs of 613 samples (batches of 50, a last one of 40, 20%
 * validation: its passes are inside the loop too) on 2 threads, counting
 * every allocation from the end of the first step (or, with `from_epoch`,
 * of the first epoch) to the end of the last epoch. */
static void loop_allocates_nothing(ot_model *m, size_t shards, int from_epoch)
{
    ot_dataset *d = th_blobs(613, 20, 4, 3);
    counts c = {0};
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 50;
    fc.epochs = 3;
    fc.validation_split = 0.2;
    fc.threads = 2;
    fc.shards = shards;
    fc.on_step = on_step;
    fc.on_epoch = on_epoch;
    fc.user = &c;
    attribute_allocations(1);
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK);
    attribute_allocations(0);
    cr_assert_eq(c.epochs, 3);
    uint64_t lib0 = from_epoch ? c.lib_at_epoch1 : c.lib_at_first;
    unsigned long heap0 = from_epoch ? c.heap_at_epoch1 : c.heap_at_first;
    cr_assert_eq(c.lib_at_end, lib0, "library allocations in the loop: %llu",
                 (unsigned long long)(c.lib_at_end - lib0));
    cr_assert_eq(c.heap_at_end, heap0, "heap allocations in the loop: %lu",
                 c.heap_at_end - heap0);
#ifdef OT_COUNT_MALLOC
    cr_assert(heap0 > 0, "the malloc counter counts nothing");
    cr_log_info("oneDNN's dnnl_primitive_execute made %lu allocations of its own",
                atomic_load(&in_execute));
#endif
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, step_loop_allocates_nothing)
{
    loop_allocates_nothing(small_model(11, OT_OPTIMIZER_ADAM), 3, 0);
}

/* A diverging run on model m (SGD at a rate of 1e30) with `shards`. */
static void non_finite_loss_stops(ot_model *m, size_t shards)
{
    ot_dataset *d = th_blobs(64, 20, 4, 1);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    oc.learning_rate = 1e30f; /* diverges within a few steps */
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 8;
    fc.epochs = 50;
    fc.shards = shards;
    ot_status st = fit_forced(m, d, &fc, NULL);
    cr_assert_eq(st, OT_NON_FINITE, "status %s", ot_status_str(st));
    cr_assert(strstr(ot_last_error(), "epoch") && strstr(ot_last_error(), "step"),
              "%s", ot_last_error());
    size_t P = ot_model_param_count(m);
    float *w = malloc(P * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, w, P), OT_OK);
    for (size_t i = 0; i < P; i++)
        cr_assert(!isnan(w[i]), "param %zu is NaN", i);
    free(w);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, non_finite_loss_stops_and_keeps_last_good_weights)
{
    non_finite_loss_stops(small_model(1, OT_OPTIMIZER_SGD), 0);
}

Test(trainer, learns_xor)
{
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const int32_t y[] = {0, 1, 1, 0};
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create(&d, 4, 2, x, y), OT_OK);
    ot_layer l[] = {OT_DENSE(8, OT_ACTIVATION_RELU), OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 2, l, 2, 42), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.learning_rate = 0.05f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 4;
    fc.epochs = 300;
    fc.threads = 2;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &loss, &acc), OT_OK);
    cr_assert_eq(acc, 1.0, "XOR accuracy %g (loss %g)", acc, loss);
    float p[8];
    cr_assert_eq(ot_model_predict(m, x, 4, p, 8, NULL), OT_OK);
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(p[2 * i] + p[2 * i + 1], 1.0f, 1e-5f);
        cr_assert_gt(p[2 * i + y[i]], 0.9f, "sample %d: p = %g", i, (double)p[2 * i + y[i]]);
    }
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, evaluate_same_whatever_the_threads)
{
    ot_dataset *d = th_blobs(333, 20, 4, 8);
    ot_model *m = small_model(4, OT_OPTIMIZER_ADAM);
    ot_eval_config ec = ot_eval_config_default();
    ec.shards = 4;
    double l1, a1, l2, a2;
    ec.threads = 1;
    cr_assert_eq(ot_model_evaluate(m, d, &ec, &l1, &a1), OT_OK);
    ec.threads = 3;
    cr_assert_eq(ot_model_evaluate(m, d, &ec, &l2, &a2), OT_OK);
    cr_assert(l1 == l2 && a1 == a2, "loss %.17g vs %.17g", l1, l2);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, history_csv)
{
    ot_dataset *d = th_blobs(200, 20, 4, 1);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.validation_split = 0.25;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK);
    cr_assert_eq(ot_history_length(h), 2);
    const ot_epoch_metrics *e = ot_history_epoch(h, 1);
    cr_assert(e && e->epoch == 2 && e->val_metric >= 0 && e->val_metric <= 1);
    cr_assert(e->samples_per_second > 0 && e->seconds > 0);
    cr_assert_null(ot_history_epoch(h, 2));
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.csv", dir);
    cr_assert_eq(ot_history_write_csv(h, path), OT_OK);
    unsigned char buf[4096];
    size_t n = th_read(path, buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert(strncmp((char *)buf, "epoch,loss,accuracy,val_loss,val_accuracy,seconds,"
                                   "samples_per_second\n1,", 70) == 0, "%s", buf);
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    cr_assert_eq(lines, 3);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* ---- the workflow: resume, early stopping, best model, scaling ---- */

static ot_fit_config workflow_config(void)
{
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 32;
    fc.validation_split = 0.25;
    fc.threads = 2;
    fc.shards = 3;
    fc.seed = 17;
    return fc;
}

static void weights_of(const ot_model *m, float **w, size_t *n)
{
    *n = ot_model_param_count(m);
    *w = malloc(*n * sizeof(float));
    cr_assert_eq(ot_model_get_weights(m, *w, *n), OT_OK);
}

/* Whether two models have the very same weights, bit for bit. */
static int same_weights(const ot_model *a, const ot_model *b)
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

Test(trainer, resume_ends_bit_identical_to_an_uninterrupted_run)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/half.otm", dir);
    ot_dataset *d = th_blobs(400, 20, 4, 5);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.schedule.kind = OT_SCHEDULE_EXPONENTIAL;
    oc.schedule.decay_steps = 7;
    oc.schedule.decay_rate = 0.9;
    ot_fit_config fc = workflow_config();
    fc.scaling = OT_SCALING_STANDARD;

    ot_model *a = small_model(3, OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(a, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    fc.epochs = 4;
    cr_assert_eq(fit_forced(a, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_epochs_trained(a), 4);

    ot_model *b = small_model(3, OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(b, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    fc.epochs = 2;
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_OK);
    cr_assert_eq(ot_model_save(b, path), OT_OK);
    ot_model_destroy(b);
    b = NULL;
    cr_assert_eq(ot_model_load(&b, path), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_epochs_trained(b), 2);
    fc.epochs = 4; /* initial_epoch: the model's own count */
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(b, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 2);
    cr_assert_eq(ot_history_epoch(h, 0)->epoch, 3);

    cr_assert(same_weights(a, b), "2 epochs + resume + 2 epochs differ from 4 epochs");
    fc.initial_epoch = 4;
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "nothing to train") != NULL);
    ot_history_destroy(h);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

Test(trainer, early_stopping_restores_the_best_epoch)
{
    ot_dataset *d = th_blobs(300, 20, 4, 2);
    ot_fit_config fc = workflow_config();
    /* epoch 1 always improves on +inf; with a huge min_delta nothing after */
    fc.epochs = 10;
    fc.early_stopping.enabled = 1;
    fc.early_stopping.monitor = OT_MONITOR_VAL_LOSS;
    fc.early_stopping.patience = 2;
    fc.early_stopping.min_delta = 1e9;
    ot_model *m = small_model(8, OT_OPTIMIZER_ADAM);
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 3, "stopped after %zu epochs", ot_history_length(h));
    cr_assert_eq(ot_history_best_epoch(h), 1);

    ot_model *one = small_model(8, OT_OPTIMIZER_ADAM);
    ot_fit_config f1 = workflow_config();
    f1.epochs = 1;
    cr_assert_eq(fit_forced(one, d, &f1, NULL), OT_OK);
    cr_assert(same_weights(m, one), "the restored weights are not those of epoch 1");
    ot_history_destroy(h);
    ot_model_destroy(one);

    /* monitoring a validation value needs validation data */
    fc.validation_split = 0.0;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "no validation data") != NULL, "%s", ot_last_error());
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, best_model_is_saved_when_the_monitor_improves)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/best.otm", dir);
    ot_dataset *d = th_blobs(300, 20, 4, 4);
    ot_fit_config fc = workflow_config();
    fc.epochs = 6;
    fc.best_model_path = path;
    fc.best_monitor = OT_MONITOR_VAL_METRIC; /* accuracy: higher is better */
    ot_model *m = small_model(2, OT_OPTIMIZER_SGD);
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    size_t best = 0;
    double best_v = -1;
    for (size_t i = 0; i < ot_history_length(h); i++)
        if (ot_history_epoch(h, i)->val_metric > best_v) {
            best_v = ot_history_epoch(h, i)->val_metric;
            best = ot_history_epoch(h, i)->epoch;
        }
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_epochs_trained(k), best, "saved epoch %zu, best %zu",
                 ot_model_epochs_trained(k), best);
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(k, d, NULL, &loss, &acc), OT_OK);
    ot_history_destroy(h);
    ot_model_destroy(k);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, scaling_is_fitted_on_the_training_part_and_kept)
{
    /* features far from zero: standard scaling makes them learnable */
    ot_dataset *raw = th_blobs(200, 20, 4, 6);
    float *x = malloc(200 * 20 * sizeof(float));
    int32_t y[200];
    for (size_t i = 0; i < 200 * 20; i++)
        x[i] = 1000.0f + 50.0f * raw->x[i];
    for (size_t i = 0; i < 200; i++)
        y[i] = raw->y[i];
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create(&d, 200, 20, x, y), OT_OK);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    ot_fit_config fc = workflow_config();
    fc.epochs = 30;
    fc.scaling = OT_SCALING_STANDARD;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK);
    cr_assert_eq(ot_model_scaling(m), OT_SCALING_STANDARD);
    /* the statistics come from the 150 training rows only */
    cr_assert(fabsf(m->shift[0] - 1000.0f) < 30.0f && m->mult[0] > 0.01f);
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/s.otm", dir);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK);
    float p1[8], p2[8];
    cr_assert_eq(ot_model_predict(m, x, 2, p1, 8, NULL), OT_OK);
    cr_assert_eq(ot_model_predict(k, x, 2, p2, 8, NULL), OT_OK);
    cr_assert(memcmp(p1, p2, sizeof p1) == 0, "the loaded model predicts differently");
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(k, d, NULL, &loss, &acc), OT_OK);
    cr_assert_gt(acc, 0.9, "accuracy %g with scaling", acc);
    free(x);
    ot_model_destroy(m);
    ot_model_destroy(k);
    ot_dataset_destroy(d);
    ot_dataset_destroy(raw);
}

Test(trainer, regression_learns)
{
    /* y0 = x0 + 2 x1 - x2, y1 = sin(x3): two targets, mse, linear output */
    enum { R = 512 };
    float *x = malloc(R * 4 * sizeof(float)), *t = malloc(R * 2 * sizeof(float));
    for (size_t i = 0; i < R; i++) {
        for (size_t j = 0; j < 4; j++)
            x[i * 4 + j] = (float)sin(0.7 * (double)(i * 4 + j) + (double)j);
        t[i * 2] = x[i * 4] + 2 * x[i * 4 + 1] - x[i * 4 + 2];
        t[i * 2 + 1] = sinf(x[i * 4 + 3]);
    }
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, R, 4, x, 2, t), OT_OK);
    ot_layer l[] = {OT_DENSE(32, OT_ACTIVATION_TANH), OT_DENSE(2, OT_ACTIVATION_LINEAR)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 4, l, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.learning_rate = 0.01f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 60;
    fc.validation_split = 0.2;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_str_eq(ot_history_metric_name(h), "mae");
    const ot_epoch_metrics *e = ot_history_epoch(h, 59);
    cr_assert_lt(e->val_metric, 0.1, "val mae %g", e->val_metric);
    cr_assert_lt(e->val_loss, 0.02, "val mse %g", e->val_loss);
    double mse, mae;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &mse, &mae), OT_OK);
    cr_assert_lt(mae, 0.1);
    free(x);
    free(t);
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, multilabel_binary_crossentropy_learns)
{
    /* label k of a sample is on when feature k is positive */
    enum { R = 400 };
    float *x = malloc(R * 6 * sizeof(float)), *t = malloc(R * 3 * sizeof(float));
    for (size_t i = 0; i < R; i++) {
        for (size_t j = 0; j < 6; j++)
            x[i * 6 + j] = (float)sin(1.3 * (double)(i * 6 + j));
        for (size_t k = 0; k < 3; k++)
            t[i * 3 + k] = x[i * 6 + k] > 0 ? 1.0f : 0.0f;
    }
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, R, 6, x, 3, t), OT_OK);
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SIGMOID)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 6, l, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    oc.learning_rate = 0.01f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_BINARY_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 40;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &loss, &acc), OT_OK);
    cr_assert_gt(acc, 0.95, "binary accuracy %g", acc);
    float p[6];
    cr_assert_eq(ot_model_predict(m, x, 2, p, 6, NULL), OT_OK);
    for (int j = 0; j < 6; j++)
        cr_assert(p[j] >= 0.0f && p[j] <= 1.0f, "predict gives probabilities");
    free(x);
    free(t);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, categorical_with_one_hot_matches_sparse)
{
    ot_dataset *d = th_blobs(256, 20, 4, 7);
    float *onehot = malloc(256 * 4 * sizeof(float));
    cr_assert_eq(ot_to_categorical(d->y, 256, 4, onehot), OT_OK);
    ot_dataset *dh = NULL;
    cr_assert_eq(ot_dataset_create_targets(&dh, 256, 20, d->x, 4, onehot), OT_OK);
    ot_model *a = small_model(5, OT_OPTIMIZER_SGD), *b = small_model(5, OT_OPTIMIZER_SGD);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(b, OT_LOSS_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    cr_assert_eq(ot_model_compile(a, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    cr_assert_eq(fit_forced(a, d, &fc, NULL), OT_OK);
    cr_assert_eq(fit_forced(b, dh, &fc, NULL), OT_OK, "%s", ot_last_error());
    float *wa, *wb;
    size_t n;
    weights_of(a, &wa, &n);
    weights_of(b, &wb, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(wa[i] - wb[i]) <= 1e-5f * (1 + fabsf(wa[i])), "param %zu", i);
    /* sparse needs labels */
    cr_assert_eq(fit_forced(a, dh, &fc, NULL), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "needs integer labels") != NULL);
    int32_t bad[2] = {0, 4};
    cr_assert_eq(ot_to_categorical(bad, 2, 4, onehot), OT_INVALID_ARGUMENT);
    free(wa);
    free(wb);
    free(onehot);
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
    ot_dataset_destroy(dh);
}

Test(trainer, confusion_matrix_and_classes)
{
    ot_dataset *d = th_blobs(200, 20, 4, 3);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 5;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK);
    size_t counts[16];
    cr_assert_eq(ot_model_confusion_matrix(m, d, NULL, counts, 4), OT_OK);
    int32_t cls[200];
    cr_assert_eq(ot_model_predict_classes(m, d->x, 200, cls, NULL), OT_OK);
    size_t check[16] = {0}, total = 0, hits = 0;
    for (size_t i = 0; i < 200; i++)
        check[d->y[i] * 4 + cls[i]]++;
    for (size_t i = 0; i < 16; i++) {
        cr_assert_eq(counts[i], check[i]);
        total += counts[i];
    }
    for (size_t k = 0; k < 4; k++)
        hits += counts[k * 5];
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(m, d, NULL, &loss, &acc), OT_OK);
    cr_assert_eq(total, 200);
    cr_assert_float_eq((double)hits / 200.0, acc, 1e-12);
    cr_assert_eq(ot_model_confusion_matrix(m, d, NULL, counts, 3), OT_INVALID_ARGUMENT);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, periodic_checkpoints_and_a_stop_inside_an_epoch)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/ck.otm", dir);
    ot_dataset *d = th_blobs(320, 20, 4, 9);
    ot_fit_config fc = workflow_config();
    fc.epochs = 5;
    fc.checkpoint_path = path;
    fc.checkpoint_every = 2;
    ot_model *full = small_model(4, OT_OPTIMIZER_ADAM);
    cr_assert_eq(fit_forced(full, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK);
    cr_assert_eq(ot_model_epochs_trained(k), 4);
    ot_model_destroy(k);

    /* stopped by a callback after step 5 of epoch 2, saved, loaded, resumed */
    ot_model *m = small_model(4, OT_OPTIMIZER_ADAM);
    counts c = {0};
    c.stop_after = 8 + 5; /* 8 steps an epoch: 240 training rows / 32 */
    fc.checkpoint_path = NULL;
    fc.on_step = on_step;
    fc.user = &c;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK);
    cr_assert_eq(ot_model_epochs_trained(m), 1);
    cr_assert_eq(ot_model_steps_in_epoch(m), 5);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    ot_model_destroy(m);
    m = NULL;
    cr_assert_eq(ot_model_load(&m, path), OT_OK);
    cr_assert_eq(ot_model_steps_in_epoch(m), 5);
    ot_fit_config rc = ot_model_resume_config(m);
    cr_assert(rc.batch_size == 32 && rc.shards == 3 && rc.seed == 17 && rc.epochs == 5 &&
              rc.validation_split == 0.25 && rc.shuffle == 1);
    rc.threads = 1;
    ot_history *h = NULL;
    cr_assert_eq(fit_forced(m, d, &rc, &h), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_history_length(h), 4); /* epochs 2 (from step 6) to 5 */
    cr_assert(same_weights(full, m), "stopped inside an epoch and resumed: the weights "
              "differ from the run never stopped");
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_model_destroy(full);
    ot_dataset_destroy(d);
}

/* ---- several caller threads at once, each on its own model ---- */

#include <pthread.h>

typedef struct caller {
    unsigned seed;
    const ot_dataset *data;
    float *weights;
    size_t n;
    ot_status status;
} caller;

static void *caller_main(void *p)
{
    caller *c = p;
    ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    c->status = ot_model_create(&m, 20, l, 2, c->seed);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    if (c->status == OT_OK)
        c->status = ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 3;
    fc.threads = 2;
    fc.shards = 4;
    fc.validation_split = 0.2;
    if (c->status == OT_OK)
        c->status = fit_forced(m, c->data, &fc, NULL);
    c->n = ot_model_param_count(m);
    c->weights = malloc(c->n * sizeof(float));
    if (c->status == OT_OK)
        c->status = ot_model_get_weights(m, c->weights, c->n);
    ot_model_destroy(m);
    return NULL;
}

Test(trainer, several_caller_threads_on_different_models)
{
    enum { K = 4 };
    ot_dataset *d = th_blobs(300, 20, 4, 12); /* shared, read-only */
    caller alone[K], together[K];
    pthread_t t[K];
    for (unsigned i = 0; i < K; i++) {
        alone[i] = (caller){i + 1, d, NULL, 0, OT_OK};
        caller_main(&alone[i]);
        cr_assert_eq(alone[i].status, OT_OK);
    }
    for (unsigned i = 0; i < K; i++) {
        together[i] = (caller){i + 1, d, NULL, 0, OT_OK};
        cr_assert_eq(pthread_create(&t[i], NULL, caller_main, &together[i]), 0);
    }
    for (unsigned i = 0; i < K; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(together[i].status, OT_OK, "caller %u: %s", i, ot_status_str(together[i].status));
        cr_assert(memcmp(alone[i].weights, together[i].weights, alone[i].n * sizeof(float)) == 0,
                  "caller %u: concurrent training changed the weights", i);
        free(alone[i].weights);
        free(together[i].weights);
    }
    ot_dataset_destroy(d);
}

/* mse on targets of 1e15: a finite loss (~1e30) and gradient (~1e15),
 * but with a learning rate of 1e30 the first update overflows; hidden:
 * the units of the linear hidden layer. */
static void non_finite_weights_fall_back(size_t hidden, size_t shards)
{
    enum { R = 64 };
    float x[R * 4], t[R];
    for (size_t i = 0; i < R * 4; i++)
        x[i] = (float)sin((double)i);
    for (size_t i = 0; i < R; i++)
        t[i] = 1e15f;
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, R, 4, x, 1, t), OT_OK);
    ot_layer l[] = {OT_DENSE(hidden, OT_ACTIVATION_LINEAR), OT_DENSE(1, OT_ACTIVATION_LINEAR)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 4, l, 2, 1), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    oc.learning_rate = 1e30f;
    cr_assert_eq(ot_model_compile(m, OT_LOSS_MSE, &oc), OT_OK);
    float *before, *after;
    size_t n;
    weights_of(m, &before, &n);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 16;
    fc.epochs = 3;
    fc.shards = shards;
    ot_status st = fit_forced(m, d, &fc, NULL);
    cr_assert_eq(st, OT_NON_FINITE, "%s: %s", ot_status_str(st), ot_last_error());
    cr_assert(strstr(ot_last_error(), "epoch 1, step 1: the update made weights non-finite"),
              "%s", ot_last_error());
    weights_of(m, &after, &n);
    cr_assert(memcmp(before, after, n * sizeof(float)) == 0,
              "the weights of the start of the epoch were not restored");
    free(before);
    free(after);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

Test(trainer, non_finite_weights_fall_back_to_the_epoch_start)
{
    non_finite_weights_fall_back(8, 0);
}

Test(trainer, choose_threads_by_calibration_leaves_the_model_alone)
{
    ot_dataset *d = th_blobs(400, 20, 4, 3);
    ot_model *m = small_model(6, OT_OPTIMIZER_ADAM);
    float *before, *after;
    size_t n;
    weights_of(m, &before, &n);
    ot_thread_choice tc;
    cr_assert_eq(ot_model_choose_threads(m, d, 32, 0, 0.05, &tc), OT_OK, "%s", ot_last_error());
    cr_assert_geq(tc.n_tried, 1);
    cr_assert_eq(tc.tried[0], 1);
    int best = 0;
    for (int i = 0; i < tc.n_tried; i++) {
        cr_assert_gt(tc.samples_per_second[i], 0.0);
        if (tc.samples_per_second[i] > tc.samples_per_second[best])
            best = i;
    }
    cr_assert_eq(tc.threads, tc.tried[best]);
    cr_assert_eq(tc.shards, (size_t)tc.threads);
    weights_of(m, &after, &n);
    cr_assert(memcmp(before, after, n * sizeof(float)) == 0, "calibration trained the model");
    cr_assert_eq(ot_model_epochs_trained(m), 0);
    /* a fixed shard count: only thread counts up to it, and it stays */
    cr_assert_eq(ot_model_choose_threads(m, d, 32, 1, 0.05, &tc), OT_OK);
    cr_assert(tc.n_tried == 1 && tc.threads == 1 && tc.shards == 1);
    cr_assert_eq(ot_model_choose_threads(m, d, 32, 0, 0.0, &tc), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_choose_threads(m, d, 0, 0, 0.05, &tc), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_choose_threads(m, d, 32, 64, 0.05, &tc), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "64 shards for a batch of 32") != NULL, "%s",
              ot_last_error());
    free(before);
    free(after);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

/* ---- steps cut by units (unit_split.c) ---------------------------------- */

/* Hidden layers of 64 and 48 units: 4 and 3 blocks with 4 shards. */
static ot_model *wide_model(unsigned seed, ot_optimizer_kind kind)
{
    ot_layer l[] = {OT_DENSE(64, OT_ACTIVATION_RELU), OT_DENSE(48, OT_ACTIVATION_TANH),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    return compiled_model(l, seed, kind);
}

/* The same for the wide model; mode: ot__usplit_force's. */
static float *wide_weights_after(int mode, int threads, size_t shards,
                                 ot_optimizer_kind kind, size_t *count)
{
    forced.cut = mode;
    ot_model *m = wide_model(11, kind);
    cr_assert_eq(ot__usplit_applies(m, 50, shards, forced.cut), mode > 0);
    cr_assert_eq(ot__usplit_applies(m, 40, shards, forced.cut), mode > 0);
    float *w = trained_weights(m, threads, shards, count);
    forced.cut = 0;
    return w;
}

static void unit_split_bit_identical(ot_optimizer_kind kind)
{
    size_t n, n2;
    float *ref = wide_weights_after(1, 1, 4, kind, &n);
    const int threads[] = {2, 3, 4, 7};
    for (size_t i = 0; i < sizeof threads / sizeof *threads; i++) {
        float *w = wide_weights_after(1, threads[i], 4, kind, &n2);
        cr_assert_eq(n, n2);
        cr_assert(memcmp(ref, w, n * sizeof(float)) == 0,
                  "%s, cut by units: weights with %d threads differ from 1 thread "
                  "(4 shards)", ot_optimizer_name(kind), threads[i]);
        free(w);
    }
    free(ref);
}

Test(trainer, unit_split_bit_identical_across_thread_counts_adam)
{
    unit_split_bit_identical(OT_OPTIMIZER_ADAM);
}

Test(trainer, unit_split_bit_identical_across_thread_counts_sgd_nesterov)
{
    unit_split_bit_identical(OT_OPTIMIZER_SGD);
}

Test(trainer, unit_split_changes_only_rounding)
{
    /* the same training cut by rows and by units: the sums differ in order
     * only, so after 27 steps the weights agree to rounding */
    size_t n;
    float *rows = wide_weights_after(-1, 2, 4, OT_OPTIMIZER_SGD, &n);
    float *units = wide_weights_after(1, 2, 4, OT_OPTIMIZER_SGD, &n);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert(fabsf(rows[i] - units[i]) <= 1e-4f * (1.0f + fabsf(rows[i])),
                  "param %zu: %.9g by rows, %.9g by units", i, (double)rows[i],
                  (double)units[i]);
        differ += rows[i] != units[i];
    }
    cr_assert(differ > 0, "cut by units gave the very same bits: did it run?");
    free(rows);
    free(units);
}

Test(trainer, unit_split_step_loop_allocates_nothing)
{
    /* From the end of the first epoch: in a step cut by units the master
     * calls on_step while the other threads may still be inside oneDNN's
     * execute, whose own allocations are counted apart only once the call
     * has begun; at the end of an epoch every thread waits. */
    forced.cut = 1;
    loop_allocates_nothing(wide_model(11, OT_OPTIMIZER_ADAM), 3, 1);
}

Test(trainer, unit_split_stop_inside_an_epoch_and_go_on)
{
    /* rows gathered ahead for the next step are not kept across fits: a
     * fit stopped after step 4 of epoch 2 and continued ends on the same
     * bits as one that ran through */
    forced.cut = 1;
    ot_dataset *d = th_blobs(613, 20, 4, 3);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 50;
    fc.epochs = 3;
    fc.threads = 2;
    fc.shards = 4;
    ot_model *a = wide_model(4, OT_OPTIMIZER_ADAM);
    cr_assert_eq(fit_forced(a, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    ot_model *b = wide_model(4, OT_OPTIMIZER_ADAM);
    counts c = {0};
    c.stop_after = 13 + 4; /* 13 steps an epoch */
    fc.on_step = on_step;
    fc.user = &c;
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_OK);
    cr_assert_eq(c.steps, 17);
    fc.on_step = NULL;
    cr_assert_eq(fit_forced(b, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert(same_weights(a, b), "stopped and continued differs from one run");
    ot_model_destroy(a);
    ot_model_destroy(b);
    ot_dataset_destroy(d);
}

Test(trainer, unit_blocks_tile_each_layer)
{
    const size_t units[] = {1, 15, 16, 31, 32, 33, 47, 48, 100, 512, 1000, 1024};
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        ot_layer l[] = {OT_DENSE(units[u], OT_ACTIVATION_RELU),
                        OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
        ot_model *m = NULL;
        cr_assert_eq(ot_model_create(&m, 8, l, 2, 1), OT_OK);
        ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
        cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
        for (size_t S = 1; S <= 20; S++) {
            size_t n = ot__usplit_blocks(m, 0, S), end = 0;
            cr_assert(n >= 1 && n <= S);
            cr_assert_eq(n, units[u] / 16 < S ? (units[u] / 16 ? units[u] / 16 : 1) : S,
                         "%zu units, %zu shards: %zu blocks", units[u], S, n);
            for (size_t j = 0; j < n; j++) {
                size_t c0, c1;
                ot__usplit_block_units(m, 0, S, j, &c0, &c1);
                cr_assert_eq(c0, end, "%zu units, %zu shards: block %zu starts at %zu",
                             units[u], S, j, c0);
                cr_assert(c0 % 16 == 0);
                cr_assert(c1 - c0 >= (n > 1 ? 16u : 1u));
                end = c1;
            }
            cr_assert_eq(end, units[u]);
            /* the last layer, whose softmax the loss computes, stays whole */
            cr_assert_eq(ot__usplit_blocks(m, 1, S), 1);
        }
        ot_model_destroy(m);
    }
}

Test(trainer, unit_split_rule)
{
    /* units up to four fifths of the widest split layer, from two shards on */
    const char *spec[] = {"100", "512", "1024,1024"};
    const size_t widest[] = {100, 512, 1024};
    for (size_t k = 0; k < 3; k++) {
        ot_layer l[3];
        size_t L = 0;
        char buf[32];
        snprintf(buf, sizeof buf, "%s", spec[k]);
        for (char *p = strtok(buf, ","); p; p = strtok(NULL, ","))
            l[L++] = (ot_layer)OT_DENSE((size_t)atoi(p), OT_ACTIVATION_RELU);
        l[L++] = (ot_layer)OT_DENSE(10, OT_ACTIVATION_SOFTMAX);
        ot_model *m = NULL;
        cr_assert_eq(ot_model_create(&m, 784, l, L, 1), OT_OK);
        ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
        cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
        size_t most = widest[k] * 4 / 5; /* 80, 409, 819 */
        cr_assert(!ot__usplit_applies(m, 16, 1, forced.cut), "one shard is never cut by units");
        cr_assert(ot__usplit_applies(m, most, 2, forced.cut));
        cr_assert(!ot__usplit_applies(m, most + 1, 2, forced.cut));
        cr_assert(ot__usplit_applies(m, 16, 16, forced.cut));
        /* the public query says the same */
        ot_step_cut cut = OT_STEP_CUT_ROWS;
        cr_assert_eq(ot_model_step_cut(m, most, 2, &cut), OT_OK);
        cr_assert_eq(cut, OT_STEP_CUT_UNITS);
        cr_assert_eq(ot_model_step_cut(m, most + 1, 2, &cut), OT_OK);
        cr_assert_eq(cut, OT_STEP_CUT_ROWS);
        cr_assert_eq(ot_model_step_cut(m, 16, 1, &cut), OT_OK);
        cr_assert_eq(cut, OT_STEP_CUT_ROWS);
        forced.cut = -1;
        cr_assert(!ot__usplit_applies(m, 16, 2, forced.cut));
        forced.cut = 0;
        ot_model_destroy(m);
    }
    /* misuse of the query */
    ot_step_cut cut;
    ot_model *raw = NULL;
    ot_layer rl[] = {OT_DENSE(100, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&raw, 784, rl, 2, 1), OT_OK);
    cr_assert_eq(ot_model_step_cut(raw, 16, 2, &cut), OT_INVALID_STATE);
    cr_assert_eq(ot_model_step_cut(NULL, 16, 2, &cut), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_step_cut(raw, 16, 2, NULL), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_step_cut(raw, 0, 2, &cut), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_step_cut(raw, 16, 0, &cut), OT_INVALID_ARGUMENT);
    ot_model_destroy(raw);
    /* no layer of 32 units: nothing to cut */
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    forced.cut = 1;
    cr_assert(!ot__usplit_applies(m, 4, 4, forced.cut));
    forced.cut = 0;
    ot_model_destroy(m);
}

Test(trainer, unit_split_non_finite_loss_stops)
{
    forced.cut = 1;
    ot_model *m = wide_model(1, OT_OPTIMIZER_SGD);
    cr_assert(ot__usplit_applies(m, 8, 2, forced.cut));
    non_finite_loss_stops(m, 2);
}

Test(trainer, unit_split_non_finite_weights_fall_back_to_the_epoch_start)
{
    /* 32 hidden units: two blocks, each thread finds its own overflow */
    forced.cut = 1;
    non_finite_weights_fall_back(32, 2);
}

/* The weights of the wide model trained with categorical cross-entropy on
 * labels, validated on one-hot float rows: the run holds float targets
 * that its training rows do not have. mode: ot__usplit_force's. */
static float *labels_with_target_validation(int mode, size_t *n)
{
    ot_dataset *d = th_blobs(300, 20, 4, 3), *v = th_blobs(100, 20, 4, 7), *vt = NULL;
    float onehot[100 * 4];
    cr_assert_eq(ot_to_categorical(v->y, 100, 4, onehot), OT_OK);
    cr_assert_eq(ot_dataset_create_targets(&vt, 100, 20, v->x, 4, onehot), OT_OK);
    ot_layer l[] = {OT_DENSE(64, OT_ACTIVATION_RELU), OT_DENSE(48, OT_ACTIVATION_TANH),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 20, l, 3, 2), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    forced.cut = mode;
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 16;
    fc.epochs = 2;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_data = vt;
    cr_assert_eq(fit_forced(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    forced.cut = 0;
    float *w;
    weights_of(m, &w, n);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    ot_dataset_destroy(v);
    ot_dataset_destroy(vt);
    return w;
}

Test(trainer, unit_split_labels_with_float_validation_targets)
{
    size_t n;
    float *rows = labels_with_target_validation(-1, &n);
    float *units = labels_with_target_validation(1, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(rows[i] - units[i]) <= 1e-4f * (1.0f + fabsf(rows[i])),
                  "param %zu: %.9g by rows, %.9g by units", i, (double)rows[i],
                  (double)units[i]);
    free(rows);
    free(units);
}

/* oneDNN's sgemm generates the code of its kernels on its first call, in
 * allocations of its own (21 ms on the first backward pass of a fit: see
 * ot__onednn_warm_up). After the warm-up that a fit's setup runs, a first
 * product of a layer's shape allocates as much as a second one: the code
 * generation is not left to the first step. */
Test(trainer, gemm_code_is_generated_before_the_first_step)
{
#ifdef OT_COUNT_MALLOC
    enum { M = 100, N = 784, K = 32 };
    float *a = calloc(K * M, sizeof(float)), *b = calloc(K * N, sizeof(float)),
          *c = calloc(M * N, sizeof(float));
    cr_assert(a && b && c);
    cr_assert_eq(ot__onednn_warm_up(), OT_OK);
    unsigned long n[2];
    for (int i = 0; i < 2; i++) {
        unsigned long before = atomic_load(&mallocs);
        cr_assert_eq(dnnl_sgemm('T', 'N', M, N, K, 1.0f, a, M, b, N, 0.0f, c, N),
                     dnnl_success);
        n[i] = atomic_load(&mallocs) - before;
    }
    cr_assert_eq(n[0], n[1], "the first product made %lu allocations, the second %lu",
                 n[0], n[1]);
    free(a);
    free(b);
    free(c);
#else
    cr_skip_test("needs the allocation counter, which sanitizer builds do not have");
#endif
}

Test(trainer, default_threads_is_what_openmp_gives_this_thread)
{
    cr_assert_eq(ot_default_threads(), omp_get_max_threads());
    omp_set_num_threads(3);
    cr_assert_eq(ot_default_threads(), 3);
    /* and what a fit with threads = 0 ran on: every shard count's weights
     * are those of the same fit with that many threads given */
    ot_dataset *d = th_blobs(120, 6, 3, 5);
    ot_layer l[] = {OT_DENSE(8, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    float w[2][83] = {{0}}; /* 6 x 8 + 8 + 8 x 3 + 3 */
    for (int k = 0; k < 2; k++) {
        ot_model *m = NULL;
        cr_assert_eq(ot_model_create(&m, 6, l, 2, 7), OT_OK);
        ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
        cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
        ot_fit_config fc = ot_fit_config_default();
        fc.epochs = 1;
        fc.batch_size = 12;
        fc.threads = k == 0 ? 0 : 3;
        fc.shards = k == 0 ? 0 : 3;
        cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
        cr_assert_eq(ot_model_param_count(m), 83u);
        cr_assert_eq(ot_model_get_weights(m, w[k], 83), OT_OK, "%s", ot_last_error());
        ot_model_destroy(m);
    }
    cr_assert_eq(memcmp(w[0], w[1], sizeof w[0]), 0);
    ot_dataset_destroy(d);
}
