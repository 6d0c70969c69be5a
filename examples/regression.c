/*
 * regression.c - a regression with the public API: learn y = sin(2 pi x)
 * and y' = x^2 (two targets) from 1,000 noisy samples with a 1-32-32-2
 * tanh network, mean squared error, Adam and early stopping on a held-out
 * fifth, reporting mae and rmse as metrics (Keras' metrics=['mae', 'rmse']);
 * then the mean absolute error on fresh points.
 *
 * cc regression.c $(pkg-config --cflags --libs omptrain) -lm
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <omptrain.h>

#define N 1000
#define CHECK(call)                                                            \
    do {                                                                       \
        if ((call) != OT_OK) {                                                 \
            fprintf(stderr, "regression: %s: %s\n", #call, ot_last_error());   \
            goto done;                                                         \
        }                                                                      \
    } while (0)

int main(void)
{
    static float x[N], y[2 * N];
    int rc = 1;
    ot_dataset *data = NULL;
    ot_model *model = NULL;
    ot_history *history = NULL;
    srand(7);
    for (int i = 0; i < N; i++) {
        x[i] = (float)rand() / (float)RAND_MAX;
        float noise = 0.02f * ((float)rand() / (float)RAND_MAX - 0.5f);
        y[2 * i] = sinf(6.2831853f * x[i]) + noise;
        y[2 * i + 1] = x[i] * x[i] + noise;
    }
    CHECK(ot_dataset_create_targets(&data, N, 1, x, 2, y));
    const ot_layer layers[] = {OT_DENSE(32, OT_ACTIVATION_TANH),
                               OT_DENSE(32, OT_ACTIVATION_TANH),
                               OT_DENSE(2, OT_ACTIVATION_LINEAR)};
    CHECK(ot_model_create(&model, 1, layers, 3, 42));
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    adam.learning_rate = 0.01f;
    CHECK(ot_model_compile(model, OT_LOSS_MSE, &adam));
    const ot_metric metrics[] = {OT_METRIC_MAE, OT_METRIC_RMSE};
    CHECK(ot_model_set_metrics(model, metrics, 2));

    ot_fit_config fit = ot_fit_config_default();
    fit.epochs = 300;
    fit.validation_split = 0.2;
    fit.early_stopping.enabled = 1; /* val_loss, best weights kept */
    fit.early_stopping.patience = 20;
    CHECK(ot_model_fit(model, data, &fit, &history));
    const ot_epoch_metrics *best = ot_history_epoch(history, ot_history_best_epoch(history) - 1);
    printf("trained %zu epochs, best %zu: val_%s %.4f, val_%s %.4f\n",
           ot_history_length(history), best->epoch, ot_history_metric(history, 0),
           best->val_metrics[0], ot_history_metric(history, 1), best->val_metrics[1]);

    float grid[101], pred[202];
    for (int i = 0; i <= 100; i++)
        grid[i] = (float)i / 100.0f;
    CHECK(ot_model_predict(model, grid, 101, pred, 202, NULL));
    double mae0 = 0, mae1 = 0;
    for (int i = 0; i <= 100; i++) {
        mae0 += fabs(pred[2 * i] - sin(6.283185307179586 * grid[i])) / 101;
        mae1 += fabs(pred[2 * i + 1] - (double)grid[i] * grid[i]) / 101;
    }
    printf("mean absolute error on 101 fresh points: sin %.4f, square %.4f\n", mae0, mae1);
    rc = mae0 < 0.05 && mae1 < 0.05 ? 0 : 1;
done:
    ot_history_destroy(history);
    ot_model_destroy(model);
    ot_dataset_destroy(data);
    return rc;
}
