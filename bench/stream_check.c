/*
 * stream_check.c - bench --stream-check: training samples/s of the same
 * IDX data in memory and streamed (ot_dataset_stream_idx), the file in the
 * page cache: mapped (a file of at most 128 MB, rows copied from the
 * mapping) and read by pread (as a larger file is, forced here by a memory
 * limit below the map's), each point the median of --reps runs,
 * interleaved, at the most --threads.
 */
#include <stdio.h>

#include "bench.h"

enum { SIDES = 3 };

int bench_stream_check(const config *c, const char *dir)
{
    char cache[4096];
    snprintf(cache, sizeof cache, "%s/cache", c->out);
    ot_dataset *d[SIDES] = {NULL, NULL, NULL};
    if (ot_dataset_load_idx_dir(&d[0], dir, "train") != OT_OK ||
        ot_dataset_stream_idx_dir(&d[1], dir, "train", cache) != OT_OK) {
        say("%s\n", ot_last_error());
        ot_dataset_destroy(d[0]);
        return 1;
    }
    /* below four times the file, a streamed file is not mapped */
    const size_t limit = ot_memory_limit();
    ot_set_memory_limit(ot_dataset_size(d[0]) * ot_dataset_dim(d[0]) * 2);
    ot_status st = ot_dataset_stream_idx_dir(&d[2], dir, "train", cache);
    ot_set_memory_limit(limit);
    if (st != OT_OK) {
        say("%s\n", ot_last_error());
        ot_dataset_destroy(d[0]);
        ot_dataset_destroy(d[1]);
        return 1;
    }
    printf("\nTraining samples/s of %s's training images (%zu x %zu) in memory and "
           "streamed from the page cache (median of %d runs of %.1f s, interleaved)\n\n",
           dir, ot_dataset_size(d[0]), ot_dataset_dim(d[0]), c->reps, c->seconds);
    printf("| model | batch | threads | in memory | streamed, mapped | / memory | streamed, "
           "pread | / memory |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    int threads = c->threads[c->n_threads - 1];
    for (size_t mi = 0; mi < c->n_models; mi++)
        for (size_t b = 0; b < c->n_batches; b++) {
            double sps[SIDES][16];
            for (int rep = 0; rep < c->reps; rep++)
                for (int k = 0; k < SIDES; k++)
                    sps[k][rep] = measure_omptrain(c->models[mi], d[k], c->batches[b],
                                                   threads, c->optimizer, c->seconds);
            double m[SIDES];
            for (int k = 0; k < SIDES; k++)
                m[k] = median(sps[k], c->reps);
            printf("| %s | %zu | %d | %.0f | %.0f | %.3f | %.0f | %.3f |\n", c->models[mi],
                   c->batches[b], threads, m[0], m[1], m[1] / m[0], m[2], m[2] / m[0]);
            fflush(stdout);
        }
    for (int k = 0; k < SIDES; k++)
        ot_dataset_destroy(d[k]);
    return 0;
}
