/*
 * gather_timing.c - microseconds for ot__dataset_gather of random rows of
 * Fashion-MNIST's training images (kept as bytes), as a step gathers them:
 * 64 and 1024 rows, plain and with standard scaling. Built against one
 * build's static library, so that two builds can be timed alternately:
 *
 *   cc -O2 -std=c17 -I SRC/src -I SRC/include -I BUILD gather_timing.c \
 *      BUILD/src/libomptrain.a -ldnnl -lz -lm -fopenmp -o gather_timing
 *   ./gather_timing [hot]   (hot: rows drawn from the first 512 only)
 *
 * Prints the best of 9 runs of 200 gathers, each of fresh random rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omptrain.h>

#include "dataset.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int hot = argc > 1 && strcmp(argv[1], "hot") == 0;
    ot_dataset *d = NULL;
    if (ot_dataset_load_idx_dir(&d, "/usr/share/datasets/fashion-mnist", "train") != OT_OK) {
        fprintf(stderr, "%s\n", ot_last_error());
        return 1;
    }
    const size_t n = d->n, dim = d->dim, from = hot ? 512 : n, reps = 200;
    uint32_t *idx = malloc(reps * 1024 * sizeof *idx);
    float *out = aligned_alloc(64, 1024 * dim * sizeof(float));
    float *shift = malloc(dim * sizeof(float)), *mult = malloc(dim * sizeof(float));
    if (!idx || !out || !shift || !mult)
        return 1;
    for (size_t i = 0; i < reps * 1024; i++)
        idx[i] = (uint32_t)((i * 7919 + 17) % from);
    for (size_t j = 0; j < dim; j++) {
        shift[j] = 0.25f;
        mult[j] = 1.5f;
    }
    const size_t batches[] = {64, 1024};
    for (int scaled = 0; scaled < 2; scaled++)
        for (int b = 0; b < 2; b++) {
            const size_t rows = batches[b];
            ot__scaling sc = {scaled ? shift : NULL, scaled ? mult : NULL};
            double best = 1e9;
            for (int r = 0; r < 9; r++) {
                double t0 = now();
                for (size_t k = 0; k < reps; k++)
                    ot__dataset_gather(d, &sc, idx, (k * rows) % (reps * 1024 - rows), rows,
                                       out, NULL, NULL);
                double t = (now() - t0) / (double)reps;
                best = t < best ? t : best;
            }
            printf("%-6s %-8s %5zu rows: %8.2f us\n", hot ? "hot" : "random",
                   scaled ? "scaled" : "plain", rows, best * 1e6);
        }
    ot_dataset_destroy(d);
    return 0;
}
