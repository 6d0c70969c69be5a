/*
 * ranks.c - the ranks of an MPI job (ranks.h): who owns which shards and
 * which slice of the arena, and the exchanges of a step. Without MPI
 * (meson -Dmpi=disabled, or no Open MPI found) a run has one rank.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ranks.h"

void ot__ranks_shards(int rank, int size, size_t S, size_t *lo, size_t *hi)
{
    *lo = (size_t)rank * S / (size_t)size;
    *hi = (size_t)(rank + 1) * S / (size_t)size;
}

void ot__ranks_slice(int rank, int size, size_t arena_len, size_t *lo, size_t *hi)
{
    size_t lines = arena_len / 16;
    *lo = (size_t)rank * lines / (size_t)size * 16;
    *hi = (size_t)(rank + 1) * lines / (size_t)size * 16;
}

#if OT_HAVE_MPI
#include <mpi.h>

#define OT__COL_TYPES 32

struct ot__mpi {
    MPI_Comm comm;
    /* column types of matrices rows x ld (prepared): one float of each row */
    size_t col_rows[OT__COL_TYPES], col_ld[OT__COL_TYPES];
    MPI_Datatype col_type[OT__COL_TYPES];
    int n_cols;
    size_t S, len;
    MPI_Request *req; /* [2 S + 1] */
    int *counts, *displs; /* [size]: this exchange's counts and offsets */
    int *s_counts, *s_displs; /* [size]: the shard blocks */
};

int ot__ranks_built(void) { return 1; }

/* An MPI failure as a status naming the call. */
static ot_status mpi_fail(int rc, const char *call)
{
    char text[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(rc, text, &n) != MPI_SUCCESS)
        snprintf(text, sizeof text, "error %d", rc);
    return ot__fail(OT_COMM_ERROR, "%s: %s", call, text);
}

#define OT_MPI(call)                                                          \
    do {                                                                      \
        int rc_ = (call);                                                     \
        if (rc_ != MPI_SUCCESS)                                               \
            return mpi_fail(rc_, #call);                                      \
    } while (0)

ot_status ot__ranks_open(ot__ranks *r, const void *comm)
{
    memset(r, 0, sizeof *r);
    r->size = 1;
    if (comm == NULL)
        return OT_OK;
    int init = 0, fin = 0, level = 0, main_thread = 0;
    OT_MPI(MPI_Initialized(&init));
    OT_MPI(MPI_Finalized(&fin));
    if (!init || fin)
        return ot__fail(OT_INVALID_STATE, "fit: a communicator was given, but MPI "
                        "is %s", fin ? "finalized" : "not initialized (MPI_Init_thread)");
    OT_MPI(MPI_Query_thread(&level));
    OT_MPI(MPI_Is_thread_main(&main_thread));
    if (level < MPI_THREAD_FUNNELED || (!main_thread && level < MPI_THREAD_SERIALIZED))
        return ot__fail(OT_INVALID_STATE, "fit: MPI was initialized with thread "
                        "level %d; a fit called from %s thread needs %s", level,
                        main_thread ? "MPI's main" : "another",
                        main_thread ? "MPI_THREAD_FUNNELED" : "MPI_THREAD_SERIALIZED");
    struct ot__mpi *p = ot__calloc(1, sizeof *p, "MPI state");
    if (p == NULL)
        return OT_OUT_OF_MEMORY;
    int rc = MPI_Comm_dup(*(const MPI_Comm *)comm, &p->comm);
    if (rc != MPI_SUCCESS) {
        ot__free(p);
        return mpi_fail(rc, "MPI_Comm_dup");
    }
    r->mpi = p;
    /* a failure comes back as a status, named, instead of ending the job */
    OT_MPI(MPI_Comm_set_errhandler(p->comm, MPI_ERRORS_RETURN));
    OT_MPI(MPI_Comm_rank(p->comm, &r->rank));
    OT_MPI(MPI_Comm_size(p->comm, &r->size));
    return OT_OK;
}

void ot__ranks_close(ot__ranks *r)
{
    struct ot__mpi *p = r->mpi;
    if (p != NULL) {
        for (int i = 0; i < p->n_cols; i++)
            MPI_Type_free(&p->col_type[i]);
        MPI_Comm_free(&p->comm);
        ot__free(p->req);
        ot__free(p->counts);
        ot__free(p->displs);
        ot__free(p->s_counts);
        ot__free(p->s_displs);
        ot__free(p);
    }
    memset(r, 0, sizeof *r);
    r->size = 1;
}

ot_status ot__ranks_agree(const ot__ranks *r, ot_status local, unsigned flags, unsigned *any)
{
    if (any != NULL)
        *any = flags;
    if (r->mpi == NULL)
        return local;
    /* one MPI_MIN over the failing rank (size: none) and each flag (0: set) */
    int in[5] = {local != OT_OK ? r->rank : r->size}, out[5];
    for (int i = 0; i < 4; i++)
        in[1 + i] = !(flags >> i & 1u);
    OT_MPI(MPI_Allreduce(in, out, 5, MPI_INT, MPI_MIN, r->mpi->comm));
    if (any != NULL) {
        *any = 0;
        for (int i = 0; i < 4; i++)
            *any |= (unsigned)(out[1 + i] == 0) << i;
    }
    if (out[0] == r->size)
        return OT_OK;
    char msg[400] = "";
    int st = (int)local;
    if (r->rank == out[0])
        snprintf(msg, sizeof msg, "%s", ot_last_error());
    OT_MPI(MPI_Bcast(&st, 1, MPI_INT, out[0], r->mpi->comm));
    OT_MPI(MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, out[0], r->mpi->comm));
    return ot__fail((ot_status)st, "rank %d: %s", out[0], msg);
}

ot_status ot__ranks_same(const ot__ranks *r, const uint64_t *vals, const char *const *names,
                         size_t n)
{
    if (r->mpi == NULL)
        return OT_OK;
    uint64_t *all = ot__alloc((size_t)r->size * n, sizeof *all, "rank settings");
    ot_status st = all == NULL ? OT_OUT_OF_MEMORY : OT_OK;
    /* every rank takes part, also one that could not allocate */
    st = ot__ranks_agree(r, st, 0u, NULL);
    if (st != OT_OK) {
        ot__free(all);
        return st;
    }
    int rc = MPI_Allgather(vals, (int)n, MPI_UINT64_T, all, (int)n, MPI_UINT64_T,
                           r->mpi->comm);
    if (rc != MPI_SUCCESS) {
        ot__free(all);
        return mpi_fail(rc, "MPI_Allgather");
    }
    for (int q = 1; q < r->size; q++)
        for (size_t i = 0; i < n; i++)
            if (all[(size_t)q * n + i] != all[i]) {
                st = ot__fail(OT_INVALID_ARGUMENT, "fit: every rank must run the same "
                              "fit, but rank %d has %s %llu where rank 0 has %llu", q,
                              names[i], (unsigned long long)all[(size_t)q * n + i],
                              (unsigned long long)all[i]);
                ot__free(all);
                return st;
            }
    ot__free(all);
    return OT_OK;
}

ot_status ot__ranks_sum(const ot__ranks *r, uint64_t *v)
{
    if (r->mpi == NULL)
        return OT_OK;
    uint64_t x = *v;
    OT_MPI(MPI_Allreduce(&x, v, 1, MPI_UINT64_T, MPI_SUM, r->mpi->comm));
    return OT_OK;
}

ot_status ot__ranks_prepare(ot__ranks *r, size_t S, size_t len)
{
    struct ot__mpi *p = r->mpi;
    if (p == NULL)
        return OT_OK;
    size_t R = (size_t)r->size;
    if (len / R > (size_t)INT_MAX - 16 || OT__SUMS * S > (size_t)INT_MAX)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: %zu parameters over %zu ranks: "
                        "a rank's slice is too large for MPI's int counts", len, R);
    p->S = S;
    p->len = len;
    p->req = ot__alloc(2 * S + 1, sizeof *p->req, "MPI requests");
    p->counts = ot__alloc(R, sizeof *p->counts, "MPI counts");
    p->displs = ot__alloc(R, sizeof *p->displs, "MPI offsets");
    p->s_counts = ot__alloc(R, sizeof *p->s_counts, "MPI counts");
    p->s_displs = ot__alloc(R, sizeof *p->s_displs, "MPI offsets");
    if (!p->req || !p->counts || !p->displs || !p->s_counts || !p->s_displs)
        return OT_OUT_OF_MEMORY;
    for (int q = 0; q < r->size; q++) {
        size_t lo, hi;
        ot__ranks_shards(q, r->size, S, &lo, &hi);
        p->s_counts[q] = (int)(hi - lo);
        p->s_displs[q] = (int)lo;
    }
    return OT_OK;
}

/* Starts the gathering of every shard's sums in place, in shard order: a
 * rank's block is contiguous, OT__SUMS doubles a shard. */
static ot_status start_sums(const ot__ranks *r, ot__sums *sums, MPI_Request *req)
{
    struct ot__mpi *p = r->mpi;
    for (int q = 0; q < r->size; q++) {
        p->counts[q] = OT__SUMS * p->s_counts[q];
        p->displs[q] = OT__SUMS * p->s_displs[q];
    }
    OT_MPI(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, sums->v, p->counts,
                           p->displs, MPI_DOUBLE, p->comm, req));
    return OT_OK;
}

ot_status ot__ranks_sums(const ot__ranks *r, ot__sums *sums, size_t S)
{
    (void)S;
    if (r->mpi == NULL)
        return OT_OK;
    MPI_Request req;
    ot_status st = start_sums(r, sums, &req);
    if (st != OT_OK)
        return st;
    OT_MPI(MPI_Wait(&req, MPI_STATUS_IGNORE));
    return OT_OK;
}

ot_status ot__ranks_step(const ot__ranks *r, float *const *grads, size_t ns,
                         ot__sums *sums, size_t S)
{
    struct ot__mpi *p = r->mpi;
    if (p == NULL)
        return OT_OK;
    (void)S;
    int nreq = 0;
    ot_status st = start_sums(r, sums, &p->req[nreq++]);
    if (st != OT_OK)
        return st;
    size_t my_lo, my_hi;
    ot__ranks_slice(r->rank, r->size, p->len, &my_lo, &my_hi);
    for (int q = 0; grads != NULL && q < r->size; q++) {
        if (q == r->rank)
            continue;
        size_t q_lo, q_hi;
        ot__ranks_slice(q, r->size, p->len, &q_lo, &q_hi);
        /* this rank's shards' parts of q's slice, to q */
        for (size_t s = (size_t)p->s_displs[r->rank];
             s < (size_t)(p->s_displs[r->rank] + p->s_counts[r->rank]) && s < ns; s++)
            if (q_hi > q_lo)
                OT_MPI(MPI_Isend(grads[s] + q_lo, (int)(q_hi - q_lo), MPI_FLOAT, q, (int)s,
                                 p->comm, &p->req[nreq++]));
        /* q's shards' parts of this rank's slice, from q */
        for (size_t s = (size_t)p->s_displs[q];
             s < (size_t)(p->s_displs[q] + p->s_counts[q]) && s < ns; s++)
            if (my_hi > my_lo)
                OT_MPI(MPI_Irecv(grads[s] + my_lo, (int)(my_hi - my_lo), MPI_FLOAT, q,
                                 (int)s, p->comm, &p->req[nreq++]));
    }
    OT_MPI(MPI_Waitall(nreq, p->req, MPI_STATUSES_IGNORE));
    return OT_OK;
}

ot_status ot__ranks_gather_slices(const ot__ranks *r, float *arrays, size_t n, size_t len)
{
    struct ot__mpi *p = r->mpi;
    if (p == NULL)
        return OT_OK;
    for (int q = 0; q < r->size; q++) {
        size_t lo, hi;
        ot__ranks_slice(q, r->size, len, &lo, &hi);
        p->counts[q] = (int)(hi - lo);
        p->displs[q] = (int)lo;
    }
    for (size_t i = 0; i < n; i++)
        OT_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, arrays + i * len,
                              p->counts, p->displs, MPI_FLOAT, p->comm));
    return OT_OK;
}

ot_status ot__ranks_bcast(const ot__ranks *r, void *buf, size_t bytes, int root)
{
    if (r->mpi == NULL || bytes == 0)
        return OT_OK;
    if (bytes > (size_t)INT_MAX)
        return ot__fail(OT_INVALID_ARGUMENT, "ranks: %zu bytes in one message", bytes);
    OT_MPI(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, r->mpi->comm));
    return OT_OK;
}

ot_status ot__ranks_any(const ot__ranks *r, int *flag)
{
    if (r->mpi == NULL)
        return OT_OK;
    int in = *flag != 0;
    OT_MPI(MPI_Allreduce(&in, flag, 1, MPI_INT, MPI_MAX, r->mpi->comm));
    return OT_OK;
}

static int find_cols(const struct ot__mpi *p, size_t rows, size_t ld)
{
    for (int i = 0; i < p->n_cols; i++)
        if (p->col_rows[i] == rows && p->col_ld[i] == ld)
            return i;
    return -1;
}

ot_status ot__ranks_prepare_cols(ot__ranks *r, size_t rows, size_t ld)
{
    struct ot__mpi *p = r->mpi;
    if (p == NULL || rows == 0 || find_cols(p, rows, ld) >= 0)
        return OT_OK;
    if (p->n_cols == OT__COL_TYPES || rows > (size_t)INT_MAX || ld > (size_t)INT_MAX)
        return ot__fail(OT_INVALID_STATE, "ranks: too many column shapes");
    MPI_Datatype v, t;
    OT_MPI(MPI_Type_vector((int)rows, 1, (int)ld, MPI_FLOAT, &v));
    /* one column, and the next one float further */
    int rc = MPI_Type_create_resized(v, 0, (MPI_Aint)sizeof(float), &t);
    MPI_Type_free(&v);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "MPI_Type_create_resized");
    if ((rc = MPI_Type_commit(&t)) != MPI_SUCCESS) {
        MPI_Type_free(&t);
        return mpi_fail(rc, "MPI_Type_commit");
    }
    p->col_rows[p->n_cols] = rows;
    p->col_ld[p->n_cols] = ld;
    p->col_type[p->n_cols++] = t;
    return OT_OK;
}

ot_status ot__ranks_gather_cols(const ot__ranks *r, float *m, size_t rows, size_t ld,
                                const size_t *c0, const size_t *c1)
{
    struct ot__mpi *p = r->mpi;
    if (p == NULL)
        return OT_OK;
    int k = find_cols(p, rows, ld);
    if (k < 0)
        return ot__fail(OT_INVALID_STATE, "ranks: columns of %zu x %zu not prepared", rows,
                        ld);
    for (int q = 0; q < r->size; q++) {
        p->counts[q] = (int)(c1[q] - c0[q]);
        p->displs[q] = (int)c0[q];
    }
    OT_MPI(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, m, p->counts, p->displs,
                          p->col_type[k], p->comm));
    return OT_OK;
}

#else /* built without MPI: one rank */

int ot__ranks_built(void) { return 0; }

ot_status ot__ranks_open(ot__ranks *r, const void *comm)
{
    memset(r, 0, sizeof *r);
    r->size = 1;
    if (comm != NULL)
        return ot__fail(OT_INVALID_STATE, "fit: a communicator was given, but this "
                        "omptrain was built without MPI (meson setup -Dmpi=enabled)");
    return OT_OK;
}

void ot__ranks_close(ot__ranks *r)
{
    memset(r, 0, sizeof *r);
    r->size = 1;
}

ot_status ot__ranks_agree(const ot__ranks *r, ot_status local, unsigned flags, unsigned *any)
{
    (void)r;
    if (any != NULL)
        *any = flags;
    return local;
}

ot_status ot__ranks_same(const ot__ranks *r, const uint64_t *vals, const char *const *names,
                         size_t n)
{
    (void)r, (void)vals, (void)names, (void)n;
    return OT_OK;
}

ot_status ot__ranks_sum(const ot__ranks *r, uint64_t *v)
{
    (void)r, (void)v;
    return OT_OK;
}

ot_status ot__ranks_prepare(ot__ranks *r, size_t S, size_t len)
{
    (void)r, (void)S, (void)len;
    return OT_OK;
}

ot_status ot__ranks_step(const ot__ranks *r, float *const *grads, size_t ns,
                         ot__sums *sums, size_t S)
{
    (void)r, (void)grads, (void)ns, (void)sums, (void)S;
    return OT_OK;
}

ot_status ot__ranks_sums(const ot__ranks *r, ot__sums *sums, size_t S)
{
    (void)r, (void)sums, (void)S;
    return OT_OK;
}

ot_status ot__ranks_gather_slices(const ot__ranks *r, float *arrays, size_t n, size_t len)
{
    (void)r, (void)arrays, (void)n, (void)len;
    return OT_OK;
}

ot_status ot__ranks_bcast(const ot__ranks *r, void *buf, size_t bytes, int root)
{
    (void)r, (void)buf, (void)bytes, (void)root;
    return OT_OK;
}

ot_status ot__ranks_any(const ot__ranks *r, int *flag)
{
    (void)r, (void)flag;
    return OT_OK;
}

ot_status ot__ranks_prepare_cols(ot__ranks *r, size_t rows, size_t ld)
{
    (void)r, (void)rows, (void)ld;
    return OT_OK;
}

ot_status ot__ranks_gather_cols(const ot__ranks *r, float *m, size_t rows, size_t ld,
                                const size_t *c0, const size_t *c1)
{
    (void)r, (void)m, (void)rows, (void)ld, (void)c0, (void)c1;
    return OT_OK;
}

#endif
