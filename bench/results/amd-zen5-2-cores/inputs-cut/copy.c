/*
 * What keeping a contiguous copy of a thread's columns of W0 would cost a
 * step: 100 rows of k floats copied out of the arena's 100 x 784 rows, in
 * cache (as just after the thread's update), best of 9 runs of 10,000.
 *
 *   gcc -O2 -Wall copy.c -o copy && ./copy
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    float *w = aligned_alloc(64, 100 * 784 * sizeof(float));
    float *p = aligned_alloc(64, 100 * 400 * sizeof(float));
    if (w == NULL || p == NULL)
        return 1;
    for (int i = 0; i < 100 * 784; i++)
        w[i] = (float)i;
    for (int k = 392; k <= 400; k += 8) {
        double best = 1e9;
        for (int r = 0; r < 9; r++) {
            double t = now();
            for (int i = 0; i < 10000; i++) {
                for (int u = 0; u < 100; u++)
                    memcpy(p + u * k, w + u * 784 + (784 - k), (size_t)k * sizeof(float));
                __asm__ volatile("" : : "r"(p) : "memory");
            }
            t = (now() - t) / 10000;
            best = t < best ? t : best;
        }
        printf("copy of 100 x %d floats out of the 100 x 784 rows: %.2f us\n", k, best * 1e6);
    }
    return 0;
}
