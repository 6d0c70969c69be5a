/*
 * shared_gather.c - would a step cut by units gather faster if the two
 * threads shared the batch's bytes? Two threads, 3000 steps of 64 random
 * rows of Fashion-MNIST each, a 600 KB pass between gathers for the
 * kernels; per thread, microseconds per gather:
 *   own floats    each thread decodes all 64 rows from the data set into its
 *                 own floats (what the engine does, ot__dataset_gather);
 *   shared bytes  each copies the bytes of its 32 rows into one shared
 *                 buffer (50 KB), a barrier, then each decodes all 64 rows
 *                 from it into its own floats.
 * Built against a build's static library:
 *
 *   cc -O2 -std=c17 -fopenmp -I SRC/src -I SRC/include -I BUILD \
 *      shared_gather.c BUILD/src/libomptrain.a -ldnnl -lz -lm -o shared_gather
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omptrain.h>
#include "dataset.h"

static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+1e-9*t.tv_nsec;}
enum { B = 64, STEPS = 3000 };
static void bytes_rows(const ot_dataset *d, const uint32_t *idx, size_t r0, size_t r1, uint8_t *dst) {
    size_t dim = d->dim;
    for (size_t r = r0; r < r1; r++) {
        if (r + 4 < r1) { const char *n = (const char *)(d->pixels + (size_t)idx[r + 4] * dim);
            for (size_t o = 0; o < dim; o += 64) __builtin_prefetch(n + o, 0, 3); }
        memcpy(dst + r * dim, d->pixels + (size_t)idx[r] * dim, dim);
    }
}
int main(int argc, char **argv) {
    ot_dataset *d;
    if (ot_dataset_load_idx(&d, "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                            "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") != OT_OK) { puts(ot_last_error()); return 1; }
    size_t dim = d->dim, n = d->n;
    uint32_t *idx = malloc(sizeof *idx * B * (STEPS + 1));
    srand(1); for (size_t i = 0; i < (size_t)B * (STEPS + 1); i++) idx[i] = (uint32_t)(rand() % n);
    uint8_t *shared = aligned_alloc(64, B * dim);
    int mode_list[] = {0, 1, 0, 1, 0, 1};
    /* per-thread busy work between gathers: touch 600 KB (like the kernels) */
    for (int mi = 0; mi < 6; mi++) {
        int mode = mode_list[mi];
        double tsum[2] = {0, 0}, wall = 0;
#pragma omp parallel num_threads(2)
        {
            int t = omp_get_thread_num();
            float *x = aligned_alloc(64, B * dim * sizeof(float));
            float *work = aligned_alloc(64, 600 * 1024);
            memset(work, 0, 600 * 1024);
            double acc = 0, w0 = 0;
#pragma omp barrier
            w0 = omp_get_wtime();
            for (int s = 0; s < STEPS; s++) {
                /* the kernels: stream over 600 KB */
                for (size_t k = 0; k < 600 * 1024 / 4; k += 16) work[k] += 1.0f;
                const uint32_t *ix = idx + (size_t)s * B;
                double t0 = now();
                if (mode == 0) {
                    ot__dataset_gather(d, NULL, ix, 0, B, x, NULL, NULL);
                } else {
                    bytes_rows(d, ix, (size_t)t * B / 2, (size_t)(t + 1) * B / 2, shared);
#pragma omp barrier
                    ot__pixels_to_floats(shared, x, B * dim);
                }
                acc += now() - t0;
#pragma omp barrier
            }
            double w1 = omp_get_wtime();
            tsum[t] = acc / STEPS * 1e6;
            if (t == 0) wall = (w1 - w0) / STEPS * 1e6;
            free(x); free(work);
        }
        printf("%s: gather per thread %.2f / %.2f us, step %.2f us\n", mode ? "shared bytes" : "own floats  ", tsum[0], tsum[1], wall);
    }
    return 0;
}
