/*
 * loss.c - the softmax last layer and sparse categorical cross-entropy,
 * fused: the loss from log-sum-exp of the logits (no log of a rounded
 * probability), the gradient as probabilities minus one-hot.
 */
#include <math.h>

#include "loss.h"

static float row_max(const float *z, size_t n)
{
    float m = z[0];
    for (size_t j = 1; j < n; j++)
        m = z[j] > m ? z[j] : m;
    return m;
}

void ot__softmax_rows(const float *logits, size_t rows, size_t classes,
                      float *probs)
{
    for (size_t r = 0; r < rows; r++) {
        const float *z = logits + r * classes;
        float *p = probs + r * classes;
        float m = row_max(z, classes), sum = 0.0f;
        for (size_t j = 0; j < classes; j++) {
            p[j] = expf(z[j] - m);
            sum += p[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < classes; j++)
            p[j] *= inv;
    }
}

void ot__scce(const float *logits, const int32_t *y, size_t rows,
              size_t classes, float scale, float *diff, double *loss_sum,
              size_t *correct)
{
    double total = 0.0;
    size_t hits = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *z = logits + r * classes;
        size_t label = (size_t)y[r];
        /* argmax: the first of equal maxima, as numpy's argmax */
        size_t best = 0;
        for (size_t j = 1; j < classes; j++)
            if (z[j] > z[best])
                best = j;
        hits += best == label;
        float m = z[best], sum = 0.0f;
        for (size_t j = 0; j < classes; j++)
            sum += expf(z[j] - m);
        float lse = m + logf(sum);
        total += (double)(lse - z[label]);
        if (diff != NULL) {
            float *d = diff + r * classes;
            for (size_t j = 0; j < classes; j++)
                d[j] = scale * expf(z[j] - lse);
            d[label] -= scale;
        }
    }
    *loss_sum += total;
    *correct += hits;
}
