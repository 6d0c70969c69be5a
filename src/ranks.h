/*
 * ranks.h - the ranks of an MPI job that train one model together: which
 * shards and which slice of the parameter arena each rank owns, and what
 * they exchange. Not installed.
 *
 * A fit over R ranks cuts each batch into the job's S shards exactly as one
 * process does; rank r owns the contiguous shards [rS/R, (r+1)S/R) and its
 * threads split that block (engine.h). Every rank also owns a slice of the
 * parameter arena (whole 64-byte lines). After a step's shards:
 *
 *   every rank sends each of its shards' gradients, cut at the slices, to
 *   the slices' owners, and receives every other shard's part of its own
 *   slice (point to point; with the shard losses gathered alongside);
 *   each rank sums its slice over all S shards in shard order, element by
 *   element, and applies the optimizer to it: the sum one process makes;
 *   the slices of the new weights are gathered on every rank.
 *
 * MPI_Allreduce is not used for the gradient: its summation order changes
 * with the rank count. A rank sends (its shards) x (R-1)/R of the arena and
 * receives as much for the weights: with one shard a rank, what a ring
 * allreduce sends; with two, 1.5 times that. The optimizer's state stays
 * sliced during an epoch and is gathered where a whole copy is needed (the
 * end of an epoch, before a step cut by units, the end of the run).
 *
 * In a step cut by units (small batches on wide layers) a rank's threads
 * run the blocks of its shards, and what a layer's blocks write for the
 * others (the next layer's input columns, parts of the logits or of the
 * input gradient, the loss) is gathered or broadcast between the layers
 * (step_units.c): the same sums in the same block order. No OpenMP here: the
 * engine's master thread calls these between its barriers (MPI at least
 * MPI_THREAD_FUNNELED, SERIALIZED when the fit is called from a thread
 * other than MPI's main thread). Built without MPI, a run has one rank and
 * a communicator is refused.
 */
#ifndef OT_RANKS_H
#define OT_RANKS_H

#include "common.h"
#include "metrics.h"

struct ot__mpi; /* ranks.c: the communicator and the exchange's buffers */

typedef struct ot__ranks {
    int rank, size;      /* 0 and 1 without a communicator */
    struct ot__mpi *mpi; /* NULL without a communicator */
} ot__ranks;

/* Whether the library was built with MPI. */
int ot__ranks_built(void);

/* The ranks of `comm` (the address of an MPI_Comm; NULL: this process
 * alone). Collective over comm: it is duplicated, so that no message of
 * the fit meets one of the caller's. */
ot_status ot__ranks_open(ot__ranks *r, const void *comm);
void ot__ranks_close(ot__ranks *r);

/* The first failure over the ranks, in rank order: every rank returns the
 * same status with the failing rank's message (prefixed by its rank).
 * `local` is this rank's status, with its message in ot_last_error; *any
 * (when not NULL) receives the OR over the ranks of their `flags` (4 bits).
 * Collective. */
ot_status ot__ranks_agree(const ot__ranks *r, ot_status local, unsigned flags, unsigned *any);

/* Fails, on every rank, unless every rank has the same vals[0..n) (named
 * by names[]): the first difference from rank 0 is named. Collective. */
ot_status ot__ranks_same(const ot__ranks *r, const uint64_t *vals, const char *const *names,
                         size_t n);

/* The sum of v over the ranks. Collective. */
ot_status ot__ranks_sum(const ot__ranks *r, uint64_t *v);

/* The shards [lo, hi) of rank `rank` among S. */
void ot__ranks_shards(int rank, int size, size_t S, size_t *lo, size_t *hi);
/* The arena slice [lo, hi) (floats, whole lines of 16) of rank `rank`. */
void ot__ranks_slice(int rank, int size, size_t arena_len, size_t *lo, size_t *hi);

/* Buffers for the exchanges of a run over S shards of an arena of `len`
 * floats. */
ot_status ot__ranks_prepare(ot__ranks *r, size_t S, size_t len);

/* After a step cut by rows over `ns` shards that hold rows: the losses and
 * metrics of every shard gathered on every rank (this rank's in [lo, hi)
 * of its block) and, unless `grads` is NULL, every shard's gradient over
 * this rank's slice received into grads[s]. */
ot_status ot__ranks_step(const ot__ranks *r, float *const *grads, size_t ns,
                         ot__sums *sums, size_t S);
/* The losses and metrics of every shard gathered on every rank. */
ot_status ot__ranks_sums(const ot__ranks *r, ot__sums *sums, size_t S);
/* Every rank's slice of each of the n arrays of `len` floats (the weights,
 * or the optimizer state's slots) gathered on every rank. */
ot_status ot__ranks_gather_slices(const ot__ranks *r, float *arrays, size_t n, size_t len);

/* For steps cut by units over the ranks (step_units.c): */
/* bytes of buf from rank root to every rank. */
ot_status ot__ranks_bcast(const ot__ranks *r, void *buf, size_t bytes, int root);
/* Whether any rank's flag is set, on every rank. */
ot_status ot__ranks_any(const ot__ranks *r, int *flag);
/* Makes the column gathers of matrices of rows x ld ready (setup). */
ot_status ot__ranks_prepare_cols(ot__ranks *r, size_t rows, size_t ld);
/* Rank q's columns [c0[q], c1[q]) of the rows x ld matrix m, gathered on
 * every rank (prepared by ot__ranks_prepare_cols). */
ot_status ot__ranks_gather_cols(const ot__ranks *r, float *m, size_t rows, size_t ld,
                                const size_t *c0, const size_t *c1);

#endif
