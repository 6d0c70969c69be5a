/*
 * ot__loss under binary cross-entropy (with its gradient) and ot__sigmoid,
 * timed alone: best of 9 runs of 2000 calls, microseconds. Built once with
 * a src/loss.c from before the change (with the ot__sigmoid it replaced,
 * old_sigmoid.c) and once with the one after, compiled alike, from the
 * repository's root after `meson compile -C build`:
 *
 *   R=bench/results/amd-zen5-2-cores/binary-loss
 *   F="-std=c17 -O2 -Wall -Wextra -fno-math-errno -fvect-cost-model=dynamic -D_POSIX_C_SOURCE=200809L
 *      -DOT_BUILDING_LIBRARY -I include -I src -I build -I build/src"
 *   git show fad04a3:src/loss.c > /tmp/old_loss.c
 *   gcc $F $R/loss_timing.c /tmp/old_loss.c $R/old_sigmoid.c -o old -lm
 *   gcc $F $R/loss_timing.c src/loss.c -o new -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loss.h"

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
    return 0;
}
