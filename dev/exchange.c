/*
 * exchange.c - dev/exchange, under mpirun: a training step's exchange
 * between ranks as omptrain makes it (ranks.c: every shard's gradient cut at
 * the ranks' arena slices and sent to their owners, the shard losses
 * alongside, the new weights' slices gathered, the ranks' agreement) beside
 * a plain MPI_Allreduce of the summed gradient (each rank first sums its
 * own shards; what DDP and Horovod do, whose summation order changes with
 * the rank count) plus the same agreement, over arenas of the given sizes.
 * Interleaved, REPS times each; rank 0 prints the medians.
 *
 *   mpirun -np R build/dev/exchange [SHARDS_PER_RANK [REPS [PARAMS,...]]]
 *   defaults: 1 shard a rank, 200 reps, 79510 and 1863690 parameters
 *   (784-100-10 and 784-1024-1024-10)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/ranks.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void check(ot_status st, const char *what)
{
    if (st != OT_OK) {
        fprintf(stderr, "exchange: %s: %s\n", what, ot_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    size_t per_rank = argc > 1 ? (size_t)atol(argv[1]) : 1;
    int reps = argc > 2 ? atoi(argv[2]) : 200;
    const char *list = argc > 3 ? argv[3] : "79510,1863690";
    if (per_rank < 1 || reps < 1) {
        fprintf(stderr, "usage: mpirun -np R exchange [SHARDS_PER_RANK [REPS [PARAMS,...]]]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Comm world = MPI_COMM_WORLD;
    ot__ranks r;
    check(ot__ranks_open(&r, &world), "ranks");
    const size_t R = (size_t)r.size, S = R * per_rank;
    if (r.rank == 0)
        printf("| parameters | ranks | shards a rank | bytes a rank sends, ordered | "
               "ring allreduce | ordered exchange | MPI_Allreduce | ordered / allreduce |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    char *copy = strdup(list);
    for (char *tok = strtok(copy, ","); tok != NULL; tok = strtok(NULL, ",")) {
        size_t P = (size_t)atol(tok), len = (P + 15) / 16 * 16;
        check(ot__ranks_prepare(&r, S, len), "prepare");
        float **g = malloc(S * sizeof *g), *w = calloc(len, sizeof *w);
        ot__sums *sums = calloc(S, sizeof *sums);
        double *t_ord = malloc((size_t)reps * sizeof *t_ord);
        double *t_all = malloc((size_t)reps * sizeof *t_all);
        for (size_t s = 0; s < S; s++) {
            g[s] = malloc(len * sizeof **g);
            for (size_t i = 0; i < len; i++)
                g[s][i] = (float)((s + i) % 7) * 1e-3f;
        }
        size_t lo, hi;
        ot__ranks_shards(r.rank, r.size, S, &lo, &hi);
        for (int k = 0; k < reps; k++) {
            MPI_Barrier(world);
            double t0 = MPI_Wtime();
            check(ot__ranks_step(&r, g, S, sums, S), "step");
            check(ot__ranks_gather_slices(&r, w, 1, len), "gather");
            check(ot__ranks_agree(&r, OT_OK, 0u, NULL), "agree");
            t_ord[k] = MPI_Wtime() - t0;
            MPI_Barrier(world);
            t0 = MPI_Wtime();
            for (size_t s = lo + 1; s < hi; s++) /* the rank's own shards, summed */
                for (size_t i = 0; i < len; i++)
                    g[lo][i] += g[s][i];
            MPI_Allreduce(MPI_IN_PLACE, g[lo], (int)len, MPI_FLOAT, MPI_SUM, world);
            check(ot__ranks_agree(&r, OT_OK, 0u, NULL), "agree");
            t_all[k] = MPI_Wtime() - t0;
        }
        double a = median(t_ord, reps), b = median(t_all, reps);
        double sent = 4.0 * (double)len * (double)(R - 1) / (double)R * (double)(per_rank + 1);
        double ring = 4.0 * (double)len * 2.0 * (double)(R - 1) / (double)R;
        if (r.rank == 0)
            printf("| %zu | %zu | %zu | %.2f MB | %.2f MB | %.1f us | %.1f us | %.2f |\n", P, R,
                   per_rank, sent / 1e6, ring / 1e6, 1e6 * a, 1e6 * b, a / b);
        for (size_t s = 0; s < S; s++)
            free(g[s]);
        free(g), free(w), free(sums), free(t_ord), free(t_all);
        /* the next size's buffers */
        ot__ranks_close(&r);
        check(ot__ranks_open(&r, &world), "ranks");
    }
    free(copy);
    ot__ranks_close(&r);
    MPI_Finalize();
    return 0;
}
