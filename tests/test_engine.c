/*
 * test_engine.c - the engine (engine.c, step_rows.c, step_units.c): the
 * same weights, bit for bit, whatever the thread count, for both cuts of
 * the step; a sharded gradient equal to the unsharded one; the reduction
 * the sequential sum in shard order; a step loop that allocates nothing;
 * several caller threads at once; the caller's settings untouched.
 */
#include "training.h"

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

Test(engine, bit_identical_across_thread_counts_adam)
{
    bit_identical_across_threads(OT_OPTIMIZER_ADAM);
}

Test(engine, bit_identical_across_thread_counts_sgd_nesterov)
{
    bit_identical_across_threads(OT_OPTIMIZER_SGD);
}

Test(engine, more_threads_than_shards)
{
    size_t n;
    float *a = weights_after(1, 2, OT_OPTIMIZER_ADAM, &n);
    float *b = weights_after(5, 2, OT_OPTIMIZER_ADAM, &n);
    cr_assert(memcmp(a, b, n * sizeof(float)) == 0,
              "5 threads on 2 shards differ from 1 thread");
    free(a);
    free(b);
}

Test(engine, caller_openmp_and_floating_point_settings_untouched)
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

Test(engine, shard_count_changes_only_rounding)
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

Test(engine, sharded_gradient_equals_unsharded)
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

/* The reduction sums in shard order, element by element, whatever the
 * vector width: bit for bit the sequential sum, over chunk lengths with and
 * without a tail, 1 to 5 shards, an offset chunk; the slices tile the arena
 * in whole 64-byte lines. */
Test(engine, reduction_is_the_sequential_sum_in_shard_order)
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
        ot__ranks_slice(t, 4, 63 * 16, &lo, &hi);
        cr_assert_eq(lo, next);
        cr_assert_eq(lo % 16, 0u);
        cr_assert(hi - lo >= 15 * 16 && hi - lo <= 16 * 16);
        next = hi;
    }
    cr_assert_eq(next, 63u * 16);
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

Test(engine, step_loop_allocates_nothing)
{
    loop_allocates_nothing(small_model(11, OT_OPTIMIZER_ADAM), 3, 0);
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

Test(engine, several_caller_threads_on_different_models)
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

Test(engine, unit_split_bit_identical_across_thread_counts_adam)
{
    unit_split_bit_identical(OT_OPTIMIZER_ADAM);
}

Test(engine, unit_split_bit_identical_across_thread_counts_sgd_nesterov)
{
    unit_split_bit_identical(OT_OPTIMIZER_SGD);
}

Test(engine, unit_split_changes_only_rounding)
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

Test(engine, unit_split_step_loop_allocates_nothing)
{
    /* From the end of the first epoch: in a step cut by units the master
     * calls on_step while the other threads may still be inside oneDNN's
     * execute, whose own allocations are counted apart only once the call
     * has begun; at the end of an epoch every thread waits. */
    forced.cut = 1;
    loop_allocates_nothing(wide_model(11, OT_OPTIMIZER_ADAM), 3, 1);
}

/* oneDNN's sgemm generates the code of its kernels on its first call, in
 * allocations of its own (21 ms on the first backward pass of a fit: see
 * ot__onednn_warm_up). After the warm-up that a fit's setup runs, a first
 * product of a layer's shape allocates as much as a second one: the code
 * generation is not left to the first step. */
Test(engine, gemm_code_is_generated_before_the_first_step)
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

Test(engine, default_threads_is_what_openmp_gives_this_thread)
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
