/*
 * test_dense.c - Dense layers (dense.c): gradients of deep and sharded
 * models, and the forward pass as the transposed product and its rule,
 * checked as gradcheck.h says.
 */
#include "gradcheck.h"

Test(dense, gradient_softmax_only)
{
    ot_layer l[] = {OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 1, 1);
}

Test(dense, gradient_deep_mixed_sharded)
{
    /* backward-data through three hidden layers; 3 uneven shards (3, 2, 2 rows) */
    ot_layer l[] = {OT_DENSE(6, OT_ACTIVATION_RELU), OT_DENSE(4, OT_ACTIVATION_SELU),
                    OT_DENSE(5, OT_ACTIVATION_GELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_model(l, 4, 3);
}

/* The forward pass as the transposed product (dense.c): on AVX-512, 16 to
 * 64 rows at any width, up to 256 from 64 units, and beyond while rows x
 * units <= 2^18 where the units are no multiple of 16; the inner product
 * otherwise. */
Test(dense, transposed_rule)
{
    int avx512 = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
    cr_expect_eq(ot__dense_transposed(15, 784, 100, 0), 0);
    cr_expect_eq(ot__dense_transposed(16, 784, 100, 0), avx512);
    cr_expect_eq(ot__dense_transposed(40, 5, 6, 0), avx512);
    cr_expect_eq(ot__dense_transposed(64, 784, 32, 0), avx512);
    cr_expect_eq(ot__dense_transposed(65, 784, 32, 0), 0);
    cr_expect_eq(ot__dense_transposed(128, 784, 48, 0), 0);
    cr_expect_eq(ot__dense_transposed(128, 1024, 1024, 0), avx512);
    cr_expect_eq(ot__dense_transposed(256, 784, 64, 0), avx512);
    cr_expect_eq(ot__dense_transposed(256, 1024, 1 << 20, 0), avx512);
    cr_expect_eq(ot__dense_transposed(257, 784, 1024, 0), 0);
    cr_expect_eq(ot__dense_transposed(512, 784, 512, 0), 0);
    cr_expect_eq(ot__dense_transposed(512, 784, 128, 0), 0);
    cr_expect_eq(ot__dense_transposed(512, 784, 20, 0), avx512);
    cr_expect_eq(ot__dense_transposed(1024, 784, 100, 0), avx512);
    cr_expect_eq(ot__dense_transposed(2621, 784, 100, 0), avx512);
    cr_expect_eq(ot__dense_transposed(2622, 784, 100, 0), 0);
    cr_expect_eq(ot__dense_transposed(26214, 100, 10, 0), avx512);
    cr_expect_eq(ot__dense_transposed(26215, 100, 10, 0), 0);
}

Test(dense, gradient_transposed)
{
    /* one shard of 40 rows, two of 24 and 23, one of 33 with mse, one of
     * 128 and three of 43, and one of 129: every row's output in its place
     * and every unit's bias, checked through the loss and gradient against
     * the reference (the transposed product on AVX-512, the inner product
     * elsewhere) */
    ot_layer l[] = {OT_DENSE(20, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 40);
    check_rows(l, 2, 2, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 47);
    check_rows(l, 2, 1, OT_LOSS_MSE, FLOATS, 33);
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 128);
    check_rows(l, 2, 3, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 129);
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 129);
    /* and on every processor, whatever the rule says there: the transposed
     * product over 7 rows and 3 shards (3, 2, 2 rows), the inner product
     * over 40 */
    forced.transposed = 1;
    check_rows(l, 2, 1, OT_LOSS_MSE, FLOATS, ROWS);
    check_rows(l, 2, 3, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, ROWS);
    forced.transposed = -1;
    check_rows(l, 2, 1, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LABELS, 40);
    forced.transposed = 0;
}
