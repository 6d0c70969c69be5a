/*
 * test_dataset.c - datasets in memory through the public API: slices, rows
 * and labels read back exactly, and every misuse refused with a message.
 * (The file formats have their own suites: test_idx.c, test_csv.c.)
 */
#include <criterion/criterion.h>

#include "helpers.h"

Test(dataset, slice_rows_and_labels_read_back_exactly)
{
    enum { N = 37, D = 5 };
    float x[N * D];
    int32_t y[N];
    for (size_t i = 0; i < N * D; i++)
        x[i] = (float)i * 0.25f - 3.0f;
    for (size_t i = 0; i < N; i++)
        y[i] = (int32_t)(i % 4);
    ot_dataset *d = NULL, *part = NULL;
    cr_assert_eq(ot_dataset_create(&d, N, D, x, y), OT_OK);

    float rows[10 * D];
    cr_assert_eq(ot_dataset_rows(d, 20, 10, rows, 10 * D), OT_OK, "%s", ot_last_error());
    cr_assert_eq(memcmp(rows, x + 20 * D, sizeof rows), 0);
    cr_assert_eq(ot_dataset_rows(d, N, 0, rows, 0), OT_OK, "no rows at the end is no error");

    int32_t labels[N];
    cr_assert_eq(ot_dataset_labels(d, labels, N), OT_OK);
    cr_assert_eq(memcmp(labels, y, sizeof labels), 0);

    cr_assert_eq(ot_dataset_slice(&part, d, 30, 7), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_size(part), 7u);
    cr_assert_eq(ot_dataset_dim(part), (size_t)D);
    float px[7 * D];
    int32_t py[7];
    cr_assert_eq(ot_dataset_features(part, px, 7 * D), OT_OK);
    cr_assert_eq(ot_dataset_labels(part, py, 7), OT_OK);
    cr_assert_eq(memcmp(px, x + 30 * D, sizeof px), 0);
    cr_assert_eq(memcmp(py, y + 30, sizeof py), 0);
    ot_dataset_destroy(part);
    ot_dataset_destroy(d);
}

Test(dataset, slices_keep_float_targets)
{
    float x[6 * 2] = {0}, t[6 * 3];
    for (size_t i = 0; i < 18; i++)
        t[i] = (float)i / 7.0f;
    ot_dataset *d = NULL, *part = NULL;
    cr_assert_eq(ot_dataset_create_targets(&d, 6, 2, x, 3, t), OT_OK);
    cr_assert_eq(ot_dataset_slice(&part, d, 2, 3), OT_OK);
    cr_assert_eq(ot_dataset_targets(part), 3u);
    int32_t labels[3];
    cr_assert_eq(ot_dataset_labels(part, labels, 3), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "float targets") != NULL, "%s", ot_last_error());
    ot_dataset_destroy(part);
    ot_dataset_destroy(d);
}

Test(dataset, misuse_is_refused_with_a_message)
{
    float x[4 * 2] = {0};
    int32_t y[4] = {0, 1, 0, 1};
    ot_dataset *d = NULL, *part = (ot_dataset *)1;
    cr_assert_eq(ot_dataset_create(&d, 4, 2, x, y), OT_OK);
    float rows[8];
    int32_t labels[4];
    /* rows past the end, a buffer too small, NULL */
    cr_assert_eq(ot_dataset_rows(d, 3, 2, rows, 8), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "3..5 of 4") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_rows(d, SIZE_MAX, 2, rows, 8), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_rows(d, 0, 4, rows, 7), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "buffer of 7 floats") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_rows(NULL, 0, 1, rows, 8), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_rows(d, 0, 1, NULL, 8), OT_INVALID_ARGUMENT);
    /* labels: the count must be the size */
    cr_assert_eq(ot_dataset_labels(d, labels, 3), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_labels(NULL, labels, 4), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_labels(d, NULL, 4), OT_INVALID_ARGUMENT);
    /* slices: empty, past the end, wrapping, NULL; *out cleared */
    cr_assert_eq(ot_dataset_slice(&part, d, 0, 0), OT_INVALID_ARGUMENT);
    cr_assert_null(part);
    cr_assert_eq(ot_dataset_slice(&part, d, 2, 3), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_slice(&part, d, SIZE_MAX, 2), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_slice(NULL, d, 0, 1), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_slice(&part, NULL, 0, 1), OT_INVALID_ARGUMENT);
    cr_assert_null(part);
    ot_dataset_destroy(d);
}

/* select copies the rows it is given, in order, repeats included; split is
 * a seeded shuffle cut in two; targets read back exactly. */
Test(dataset, select_split_and_targets)
{
    float x[10 * 2], t[10 * 3];
    int32_t y[10];
    for (int i = 0; i < 10; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(100 + i);
        y[i] = i % 4;
        for (int k = 0; k < 3; k++)
            t[3 * i + k] = (float)(10 * i + k);
    }
    ot_dataset *d = NULL, *s = NULL, *a = NULL, *b = NULL, *r = NULL;
    cr_assert_eq(ot_dataset_create(&d, 10, 2, x, y), OT_OK);
    const size_t idx[] = {7, 2, 2, 9};
    cr_assert_eq(ot_dataset_select(&s, d, idx, 4), OT_OK);
    float rows[8];
    int32_t labels[4];
    cr_assert_eq(ot_dataset_rows(s, 0, 4, rows, 8), OT_OK);
    cr_assert_eq(ot_dataset_labels(s, labels, 4), OT_OK);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(rows[2 * i], (float)idx[i]);
        cr_assert_eq(rows[2 * i + 1], (float)(100 + idx[i]));
        cr_assert_eq(labels[i], (int32_t)(idx[i] % 4));
    }
    const size_t bad[] = {1, 10};
    cr_assert_eq(ot_dataset_select(&r, d, bad, 2), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "index 1 is row 10 of 10") != NULL, "%s", ot_last_error());
    cr_assert_null(r);

    cr_assert_eq(ot_dataset_split(&a, &b, d, 0.25, 7), OT_OK);
    cr_assert_eq(ot_dataset_size(a), 7u);
    cr_assert_eq(ot_dataset_size(b), 3u);
    float ra[14], rb[6];
    cr_assert_eq(ot_dataset_rows(a, 0, 7, ra, 14), OT_OK);
    cr_assert_eq(ot_dataset_rows(b, 0, 3, rb, 6), OT_OK);
    int seen[10] = {0}, moved = 0;
    for (int i = 0; i < 7; i++) {
        seen[(int)ra[2 * i]]++;
        moved += (int)ra[2 * i] != i;
    }
    for (int i = 0; i < 3; i++)
        seen[(int)rb[2 * i]]++;
    for (int i = 0; i < 10; i++)
        cr_assert_eq(seen[i], 1, "row %d in both parts or neither", i);
    cr_assert_gt(moved, 0, "the rows were not shuffled");
    ot_dataset *a2 = NULL, *b2 = NULL;
    cr_assert_eq(ot_dataset_split(&a2, &b2, d, 0.25, 7), OT_OK);
    float ra2[14];
    cr_assert_eq(ot_dataset_rows(a2, 0, 7, ra2, 14), OT_OK);
    cr_assert(memcmp(ra, ra2, sizeof ra) == 0, "the same seed split differently");
    ot_dataset *c = NULL, *e = NULL;
    cr_assert_eq(ot_dataset_split(&c, &e, d, 0.0, 7), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_split(&c, &e, d, 0.99, 7), OT_INVALID_ARGUMENT);
    cr_assert(c == NULL && e == NULL);

    float tv[30];
    cr_assert_eq(ot_dataset_target_values(d, tv, 30), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_create_targets(&r, 10, 2, x, 3, t), OT_OK);
    cr_assert_eq(ot_dataset_target_values(r, tv, 29), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_target_values(r, tv, 30), OT_OK);
    cr_assert(memcmp(tv, t, sizeof t) == 0);
    ot_dataset *rs = NULL;
    cr_assert_eq(ot_dataset_select(&rs, r, idx, 4), OT_OK);
    cr_assert_eq(ot_dataset_target_values(rs, tv, 12), OT_OK);
    cr_assert_eq(tv[3], t[3 * 2]);
    ot_dataset_destroy(rs);
    ot_dataset_destroy(a2);
    ot_dataset_destroy(b2);
    ot_dataset_destroy(a);
    ot_dataset_destroy(b);
    ot_dataset_destroy(r);
    ot_dataset_destroy(s);
    ot_dataset_destroy(d);
}

/* A borrowed dataset reads the caller's arrays in place: the same fit as a
 * copy, the checks of a copy, and destroying it leaves the arrays alone
 * (AddressSanitizer would see a free of memory the library did not
 * allocate). */
Test(dataset, a_borrowed_dataset_trains_as_a_copy_and_frees_nothing)
{
    const size_t n = 200, dim = 5;
    float *x = malloc(n * dim * sizeof *x), t[200];
    int32_t *y = malloc(n * sizeof *y);
    cr_assert(x && y);
    for (size_t i = 0; i < n * dim; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 3);
        t[i] = (float)i / 100.0f;
    }
    ot_dataset *copy = NULL, *borrowed = NULL;
    cr_assert_eq(ot_dataset_create(&copy, n, dim, x, y), OT_OK);
    cr_assert_eq(ot_dataset_borrow(&borrowed, n, dim, x, y), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_classes(borrowed), 3u);
    const ot_layer layers[] = {OT_DENSE(8, OT_ACTIVATION_RELU),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    unsigned char *bytes[2];
    size_t len[2];
    ot_dataset *both[2] = {copy, borrowed};
    for (int k = 0; k < 2; k++) {
        ot_model *m = NULL;
        cr_assert_eq(ot_model_create(&m, dim, layers, 2, 4), OT_OK);
        ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
        cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
        ot_fit_config fc = ot_fit_config_default();
        fc.epochs = 2;
        fc.threads = 2;
        fc.validation_split = 0.2;
        cr_assert_eq(ot_model_fit(m, both[k], &fc, NULL), OT_OK, "%s", ot_last_error());
        void *b = NULL;
        cr_assert_eq(ot_model_save_to_buffer(m, &b, &len[k]), OT_OK);
        bytes[k] = b;
        ot_model_destroy(m);
    }
    cr_assert(len[0] == len[1] && memcmp(bytes[0], bytes[1], len[0]) == 0);
    ot_buffer_free(bytes[0]);
    ot_buffer_free(bytes[1]);
    ot_dataset_destroy(borrowed);
    ot_dataset_destroy(copy);
    /* float targets; and the checks of a copy */
    cr_assert_eq(ot_dataset_borrow_targets(&borrowed, n, dim, x, 1, t), OT_OK);
    cr_assert_eq(ot_dataset_targets(borrowed), 1u);
    ot_dataset_destroy(borrowed);
    x[7] = NAN;
    cr_assert_eq(ot_dataset_borrow(&borrowed, n, dim, x, y), OT_NON_FINITE);
    cr_assert_null(borrowed);
    x[7] = 0.0f;
    y[3] = -2;
    cr_assert_eq(ot_dataset_borrow(&borrowed, n, dim, x, y), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "label -2 of sample 3") != NULL, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_borrow_targets(&borrowed, n, dim, x, 1, NULL), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_borrow(NULL, n, dim, x, y), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_borrow(&borrowed, n, dim, NULL, y), OT_INVALID_ARGUMENT);
    free(x);
    free(y);
}
