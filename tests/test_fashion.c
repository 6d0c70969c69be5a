/*
 * test_fashion.c - the engine learns the real thing: one epoch on the first
 * 12,000 Fashion-MNIST training images (784-100 relu-10 softmax, adam,
 * batch 32) reaches at least 0.75 accuracy on the 10,000 test images.
 * The data comes from Debian's dataset-fashion-mnist (or $OMPTRAIN_DATA);
 * CI installs it, so this test runs there.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/dataset.h"

static const char *data_dir(void)
{
    const char *d = getenv("OMPTRAIN_DATA");
    return d && *d ? d : "/usr/share/datasets/fashion-mnist";
}

Test(fashion, one_epoch_on_12000_images_learns, .timeout = 600)
{
    ot_dataset *train = NULL, *test = NULL, *part = NULL;
    cr_assert_eq(ot_dataset_load_idx_dir(&train, data_dir(), "train"), OT_OK,
                 "%s (install dataset-fashion-mnist)", ot_last_error());
    cr_assert_eq(ot_dataset_size(train), 60000);
    cr_assert_eq(ot_dataset_dim(train), 784);
    cr_assert_eq(ot_dataset_load_idx_dir(&test, data_dir(), "t10k"), OT_OK, "%s",
                 ot_last_error());
    cr_assert_eq(ot_dataset_size(test), 10000);
    cr_assert_eq(ot_dataset_slice(&part, train, 0, 12000), OT_OK, "%s", ot_last_error());

    ot_layer l[] = {OT_DENSE(100, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 784, l, 2, 42), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 1;
    fc.validation_data = test;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(m, part, &fc, &h), OT_OK, "%s", ot_last_error());
    const ot_epoch_metrics *e = ot_history_epoch(h, 0);
    cr_log_info("1 epoch on 12000 images: loss %.4f, accuracy %.4f, val_loss %.4f, "
                "val_accuracy %.4f", e->loss, e->metric, e->val_loss, e->val_metric);
    cr_assert_geq(e->val_metric, 0.75, "validation accuracy %.4f", e->val_metric);
    double loss, acc;
    cr_assert_eq(ot_model_evaluate(m, test, NULL, &loss, &acc), OT_OK);
    cr_assert_eq(acc, e->val_metric, "evaluate and fit's validation disagree");
    ot_history_destroy(h);
    ot_model_destroy(m);
    ot_dataset_destroy(part);
    ot_dataset_destroy(test);
    ot_dataset_destroy(train);
}
