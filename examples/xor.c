/*
 * xor.c - the textbook's NumPy network in C: XOR learnt by a 2-2-1 network
 * of sigmoids, trained with plain SGD on the mean squared error, the whole
 * 4-sample set as one batch. Prints the four predictions.
 *
 * With only two hidden units some initialisations stall in a local minimum
 * (one input pattern stays wrong, loss 0.125), in NumPy as here; seed 1
 * converges.
 *
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
    ot_dataset *data = NULL;
    ot_model *model = NULL;
    CHECK(ot_dataset_xor(&data)); /* these four rows, labels 0 1 1 0 */

    const ot_layer layers[] = {OT_DENSE(2, OT_ACTIVATION_SIGMOID),
                               OT_DENSE(1, OT_ACTIVATION_SIGMOID)};
    CHECK(ot_model_create(&model, 2, layers, 2, /*seed*/ 1));
    ot_optimizer_config sgd = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    sgd.learning_rate = 1.0f;
    CHECK(ot_model_compile(model, OT_LOSS_MSE, &sgd));

    ot_fit_config fit = ot_fit_config_default();
    fit.batch_size = 4;
    fit.epochs = 5000;
    fit.threads = 1;
    CHECK(ot_model_fit(model, data, &fit, NULL));

    double mse, mae;
    CHECK(ot_model_evaluate(model, data, NULL, &mse, &mae));
    float p[4];
    CHECK(ot_model_predict(model, x, 4, p, 4, NULL));
    int right = 0;
    for (int i = 0; i < 4; i++) {
        int want = (int)x[2 * i] ^ (int)x[2 * i + 1];
        right += (p[i] > 0.5f) == want;
        printf("%g xor %g -> %.3f\n", (double)x[2 * i], (double)x[2 * i + 1], (double)p[i]);
    }
    printf("mse %.4f, mae %.4f, %d of 4 right\n", mse, mae, right);
    ot_model_destroy(model);
    ot_dataset_destroy(data);
    return right == 4 ? 0 : 1;
}
