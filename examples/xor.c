/*
 * xor.c - the smallest omptrain program: learn XOR with a 2-8-2 network
 * (relu hidden layer, softmax output) and print its predictions.
 * Uses the public API only: cc xor.c $(pkg-config --cflags --libs omptrain)
 */
#include <stdio.h>

#include <omptrain.h>

#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != OT_OK) {                                                 \
            fprintf(stderr, "xor: %s: %s\n", #call, ot_last_error());          \
            return 1;                                                          \
        }                                                                      \
    } while (0)

int main(void)
{
    const float x[] = {0, 0, 0, 1, 1, 0, 1, 1};
    const int32_t y[] = {0, 1, 1, 0};
    ot_dataset *data = NULL;
    ot_model *model = NULL;
    CHECK(ot_dataset_create(&data, 4, 2, x, y));

    const ot_layer layers[] = {OT_DENSE(8, OT_ACTIVATION_RELU), OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    CHECK(ot_model_create(&model, 2, layers, 2, 42));
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    adam.learning_rate = 0.05f;
    CHECK(ot_model_compile(model, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam));

    ot_fit_config fit = ot_fit_config_default();
    fit.batch_size = 4;
    fit.epochs = 300;
    CHECK(ot_model_fit(model, data, &fit, NULL));

    double loss, accuracy;
    CHECK(ot_model_evaluate(model, data, NULL, &loss, &accuracy));
    float p[8];
    CHECK(ot_model_predict(model, x, 4, p, 8, NULL));
    for (int i = 0; i < 4; i++)
        printf("%g xor %g -> %d (p = %.3f)\n", (double)x[2 * i], (double)x[2 * i + 1],
               p[2 * i + 1] > p[2 * i], (double)(p[2 * i + 1] > p[2 * i] ? p[2 * i + 1] : p[2 * i]));
    printf("loss %.4f, accuracy %.2f\n", loss, accuracy);
    ot_model_destroy(model);
    ot_dataset_destroy(data);
    return accuracy == 1.0 ? 0 : 1;
}
