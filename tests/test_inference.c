/*
 * test_inference.c - evaluate, predict, classes and the confusion matrix
 * (inference.c): the same figures whatever the thread count, and classes
 * that agree with evaluate.
 */
#include "training.h"

Test(inference, evaluate_same_whatever_the_threads)
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

Test(inference, confusion_matrix_and_classes)
{
    ot_dataset *d = th_blobs(200, 20, 4, 3);
    ot_model *m = small_model(1, OT_OPTIMIZER_ADAM);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 5;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_OK);
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
