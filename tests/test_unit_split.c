/*
 * test_unit_split.c - the step cut by units (unit_split.c): gradients
 * through blocks of units (a hidden softmax kept whole, a last layer cut by
 * its inputs or in blocks), checked as gradcheck.h says; blocks that tile
 * every layer in whole lines; and the rule that chooses the cut.
 */
#include "gradcheck.h"

/* The same checks on a step cut by units: every hidden layer of at least
 * 32 units in blocks, each block over all the rows. */
static void check_units(const ot_layer *layers, size_t L, size_t shards,
                        ot_loss lossk, enum targets tk)
{
    forced.cut = 1;
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, IN, layers, L, 7), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, lossk, &oc), OT_OK);
    cr_assert(ot__usplit_applies(m, ROWS, shards, forced.cut), "the step is not cut by units");
    ot_model_destroy(m);
    check_rows(layers, L, shards, lossk, tk, ROWS);
    forced.cut = 0;
}

Test(unit_split, gradient_unit_split)
{
    /* blocks of 16 + 16 and 16 + 16 + 16 units (3 shards), a hidden
     * softmax of one block, the loss on a last layer of one block */
    ot_layer l[] = {OT_DENSE(32, OT_ACTIVATION_RELU), OT_DENSE(48, OT_ACTIVATION_GELU),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_units(l, 4, 3, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS);
}

Test(unit_split, gradient_unit_split_selu_tanh)
{
    /* activations composed of two primitives (selu) and computed from
     * their output (tanh), 2 shards for 7 rows */
    ot_layer l[] = {OT_DENSE(33, OT_ACTIVATION_SELU), OT_DENSE(40, OT_ACTIVATION_TANH),
                    OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    check_units(l, 3, 2, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS);
}

Test(unit_split, gradient_unit_split_last_layer_by_inputs)
{
    /* a last layer kept whole, cut by its inputs: 3 blocks of 16 units
     * each give their part of the outputs and take their columns of its
     * weights; the softmax runs as an activation (mse does not fuse it) */
    ot_layer l[] = {OT_DENSE(48, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_units(l, 2, 3, OT_LOSS_MSE, FLOATS);
    /* and under a loss that computes the activation itself: two blocks of
     * 16 and 17 units */
    ot_layer s[] = {OT_DENSE(33, OT_ACTIVATION_TANH), OT_DENSE(3, OT_ACTIVATION_SIGMOID)};
    check_units(s, 2, 2, OT_LOSS_BINARY_CROSSENTROPY, FLOATS);
    /* one linear output under huber, two hidden layers in blocks */
    ot_layer r[] = {OT_DENSE(32, OT_ACTIVATION_ELU), OT_DENSE(32, OT_ACTIVATION_RELU),
                    OT_DENSE(1, OT_ACTIVATION_LINEAR)};
    check_units(r, 3, 2, OT_LOSS_HUBER, FLOATS);
}

Test(unit_split, gradient_unit_split_last_layer_in_blocks)
{
    /* a linear last layer of 33 units (blocks of 16 and 17) under mse: the
     * loss reads the assembled outputs, each block its columns of the
     * gradient */
    ot_layer l[] = {OT_DENSE(32, OT_ACTIVATION_SOFTPLUS), OT_DENSE(33, OT_ACTIVATION_LINEAR)};
    check_units(l, 2, 2, OT_LOSS_MSE, FLOATS);
}

Test(unit_split, unit_blocks_tile_each_layer)
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

Test(unit_split, unit_split_rule)
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
