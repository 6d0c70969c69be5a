/*
 * fashion_mnist.c - the textbook's Keras run in C: Dense(100, relu),
 * Dense(10, softmax), adam, sparse categorical cross-entropy, batch 32,
 * 20% validation, then evaluate on the test set.
 *
 * usage: fashion_mnist [DIR [EPOCHS]]   (DIR: Debian's dataset-fashion-mnist)
 */
#include <stdio.h>
#include <stdlib.h>

#include <omptrain.h>

#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != OT_OK) {                                                 \
            fprintf(stderr, "fashion_mnist: %s\n", ot_last_error());           \
            goto done;                                                         \
        }                                                                      \
    } while (0)

static int print_epoch(const ot_epoch_metrics *e, void *user)
{
    (void)user;
    printf("epoch %zu - loss: %.4f - accuracy: %.4f - val_loss: %.4f - "
           "val_accuracy: %.4f - %.1fs\n",
           e->epoch, e->loss, e->metric, e->val_loss, e->val_metric, e->seconds);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    int rc = 1;
    ot_dataset *train = NULL, *test = NULL;
    ot_model *model = NULL;
    ot_history *history = NULL;

    CHECK(ot_dataset_load_idx_dir(&train, dir, "train"));
    CHECK(ot_dataset_load_idx_dir(&test, dir, "t10k"));
    const ot_layer layers[] = {OT_DENSE(100, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
    CHECK(ot_model_create(&model, ot_dataset_dim(train), layers, 2, 42));
    ot_model_summary(model, stdout);
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    CHECK(ot_model_compile(model, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam));

    ot_fit_config fit = ot_fit_config_default(); /* batch 32, seed 42 */
    fit.epochs = argc > 2 ? (size_t)atoi(argv[2]) : 5;
    fit.validation_split = 0.2;
    fit.on_epoch = print_epoch;
    CHECK(ot_model_fit(model, train, &fit, &history));

    double loss, accuracy;
    CHECK(ot_model_evaluate(model, test, NULL, &loss, &accuracy));
    printf("test - loss: %.4f - accuracy: %.4f\n", loss, accuracy);
    rc = accuracy > 0.75 ? 0 : 1;
done:
    ot_history_destroy(history);
    ot_model_destroy(model);
    ot_dataset_destroy(test);
    ot_dataset_destroy(train);
    return rc;
}
