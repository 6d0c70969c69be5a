/*
 * loss.h - softmax and sparse categorical cross-entropy over one shard's
 * logits, computed stably with log-sum-exp. Plain C. Not installed.
 */
#ifndef OT_LOSS_H
#define OT_LOSS_H

#include "common.h"

/* logits, probs: rows x classes. probs may alias logits. */
void ot__softmax_rows(const float *logits, size_t rows, size_t classes,
                      float *probs);

/* For each row r with label y[r] (0 <= y[r] < classes):
 *   loss_r = log(sum_j exp(z_rj)) - z_r,y[r]
 * adds sum_r loss_r (in double) to *loss_sum and the rows whose argmax is
 * the label to *correct. When diff is not NULL it receives the gradient of
 * scale * sum_r loss_r with respect to the logits, softmax - onehot fused:
 *   diff_rj = scale * (p_rj - [j == y[r]]). diff may alias logits. */
void ot__scce(const float *logits, const int32_t *y, size_t rows,
              size_t classes, float scale, float *diff, double *loss_sum,
              size_t *correct);

#endif
