/*
 * ot__loss under binary cross-entropy (with its gradient), ot__sigmoid, and
 * ot__loss under sparse categorical cross-entropy without a gradient (as
 * evaluation runs it), timed alone: best of 9 runs, microseconds. Built
 * once with src/loss.c and src/loss.h from before the change (with the
 * ot__sigmoid it replaced, old_sigmoid.c, and the work rows the old
 * categorical loss needed without a gradient, WITH_WORK) and once with
 * the ones after, compiled alike, from the repository's root after
 * `meson compile -C build`:
 *
 *   R=bench/results/amd-zen5-2-cores/binary-loss
 *   F="-std=c17 -O2 -Wall -Wextra -fno-math-errno -fvect-cost-model=dynamic
 *      -D_POSIX_C_SOURCE=200809L -DOT_BUILDING_LIBRARY -I include -I build -I build/src"
 *   mkdir -p /tmp/old && git show fad04a3:src/loss.c > /tmp/old/loss.c &&
 *     git show fad04a3:src/loss.h > /tmp/old/loss.h && cp src/common.h /tmp/old/
 *   gcc $F -DWITH_WORK -I /tmp/old $R/loss_timing.c /tmp/old/loss.c $R/old_sigmoid.c -o old -lm
 *   gcc $F -I src $R/loss_timing.c src/loss.c -o new -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loss.h"

/* before the change it was declared in activation.h */
void ot__sigmoid(float *x, size_t n);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    enum { MAX = 1024 * 10 };
    static float z[MAX], d[MAX], t[MAX], x[MAX];
    static int32_t y[1024];
    srand(1);
    for (int i = 0; i < MAX; i++) {
        z[i] = (float)(rand() % 2000 - 1000) / 100.0f;
        t[i] = (float)(rand() % 2);
    }
    for (int i = 0; i < 1024; i++)
        y[i] = rand() % 2;
    const size_t classes[2] = {1, 10};
    for (int c = 0; c < 2; c++) {
        const size_t C = classes[c];
        for (size_t rows = 64; rows <= 1024; rows *= 4) {
            ot__loss_batch b = {.out = z, .labels = C == 1 ? y : NULL,
                                .targets = C == 1 ? NULL : t, .rows = rows, .C = C};
            double loss = 0.0, metric = 0.0, best = 1e9, best_s = 1e9;
            for (int r = 0; r < 9; r++) {
                double t0 = now();
                for (int i = 0; i < 2000; i++)
                    ot__loss(OT_LOSS_BINARY_CROSSENTROPY, &b, 1.0f / (float)rows, d,
                             &loss, &metric);
                t0 = (now() - t0) / 2000;
                best = t0 < best ? t0 : best;
            }
            for (int r = 0; r < 9; r++) {
                double t0 = now();
                for (int i = 0; i < 2000; i++) {
                    for (size_t k = 0; k < rows * C; k++)
                        x[k] = z[k];
                    ot__sigmoid(x, rows * C);
                }
                t0 = (now() - t0) / 2000;
                best_s = t0 < best_s ? t0 : best_s;
            }
            printf("binary cross-entropy, %4zu rows x %2zu: %7.2f us; sigmoid of as many "
                   "(with a copy): %6.2f us\n", rows, C, best * 1e6, best_s * 1e6);
        }
    }
    static float logits[1024 * 1000];
#ifdef WITH_WORK
    static float work[1024 * 1000];
#endif
    for (int i = 0; i < 1024 * 1000; i++)
        logits[i] = (float)(rand() % 2000 - 1000) / 100.0f;
    for (int i = 0; i < 1024; i++)
        y[i] = rand() % 10;
    const size_t wide[3] = {10, 100, 1000};
    for (int c = 0; c < 3; c++) {
        ot__loss_batch b = {.out = logits, .labels = y, .rows = 1024, .C = wide[c]
#ifdef WITH_WORK
                            , .work = work
#endif
        };
        const int calls = wide[c] == 1000 ? 50 : 500;
        double loss = 0.0, hits = 0.0, best = 1e9;
        for (int r = 0; r < 9; r++) {
            double t0 = now();
            for (int i = 0; i < calls; i++)
                ot__loss(OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &b, 0.0f, NULL, &loss,
                         &hits);
            t0 = (now() - t0) / calls;
            best = t0 < best ? t0 : best;
        }
        printf("sparse categorical cross-entropy without a gradient, 1024 rows x %4zu: "
               "%8.2f us\n", wide[c], best * 1e6);
    }
    return 0;
}
