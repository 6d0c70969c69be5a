/*
 * test_calibrate.c - --threads auto (calibrate.c): a choice among the
 * counts it tried, and the model left as it was.
 */
#include "training.h"

Test(calibrate, choose_threads_by_calibration_leaves_the_model_alone)
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
