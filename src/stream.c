/*
 * stream.c - the stage that reads a run's streamed rows ahead of it
 * (stream.h); the sources it reads from are source.c's.
 */
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shard.h"
#include "stream.h"

/* A ring of this many chunks: the job's, the one a step cut by units
 * gathers ahead, and two being read. */
#define SLOTS 4
/* A chunk: about this many bytes of features, at most this many rows
 * (whole batches, at least one). */
#define ROUND_BYTES ((size_t)2 << 20)
#define ROUND_ROWS 4096

enum { SLOT_FREE, SLOT_READING, SLOT_READY, SLOT_FAILED };

typedef struct slot {
    int state;
    uint64_t seq;             /* the chunk's number in the stage's order */
    const uint32_t *idx;      /* its rows: idx[first..first+rows) */
    size_t first, rows;
    size_t end;               /* where its range ends (its last batch's end) */
    ot__stage_part part;      /* its range's */
    ot_dataset ds;            /* the rows read, in memory */
    size_t *at;               /* for callbacks: the rows' indices */
    ot_status status;         /* SLOT_FAILED: what, and why */
    char msg[320];
} slot;

typedef struct range {
    const uint32_t *idx;
    size_t first, rows, chunk;
    uint64_t seq0, chunks;    /* its chunks' numbers: seq0.. */
    ot__stage_part part;      /* part.batch 0: every row */
} range;

struct ot__stage {
    const ot_dataset *d;
    size_t max_rows;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t reader;
    int started, stop;
    slot slots[SLOTS];
    range *ranges;            /* posted, oldest first, a ring */
    size_t n_ranges, cap_ranges, head;
    uint64_t posted, next;    /* chunks posted; the next one to read */
    uint64_t current;         /* the first chunk of the job handed out last */
    uint64_t bytes;
    double seconds;
    int mapped;               /* the view gathers from the source's mapping: no
                               * reader, only the file's size checked */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads rows [first, first + n) of chunk sl's range into its buffers at
 * their place in the chunk. */
static ot_status read_rows(ot__stage *s, slot *sl, size_t first, size_t n)
{
    const ot_dataset *d = s->d;
    ot_dataset *b = &sl->ds;
    const size_t at = first - sl->first, rb = d->source->row_bytes;
    unsigned char *x = (b->pixels ? b->pixels : (unsigned char *)b->x) + at * rb;
    if (d->source->fd < 0) /* the source gives the labels, checked */
        return ot__source_read(d, sl->idx, first, n, x, sl->at + at, b->y ? b->y + at : NULL,
                               b->t ? b->t + at * d->n_targets : NULL);
    return ot__source_read(d, sl->idx, first, n, x, NULL, NULL, NULL);
}

/* Reads chunk `sl` (its rows set) into its buffers: every row, or of each
 * batch the rows of this rank's shards. Called without the lock. */
static ot_status read_chunk(ot__stage *s, slot *sl)
{
    const ot_dataset *d = s->d;
    const size_t n = sl->rows, nt = d->n_targets;
    ot_dataset *b = &sl->ds;
    b->n = n;
    ot_status st = OT_OK;
    const ot__stage_part *p = &sl->part;
    if (p->batch == 0) {
        st = read_rows(s, sl, sl->first, n);
    } else {
        for (size_t b0 = sl->first / p->batch * p->batch; st == OT_OK && b0 < sl->first + n;
             b0 += p->batch) {
            size_t bn = sl->end - b0 < p->batch ? sl->end - b0 : p->batch, f0, r0, f1, r1;
            ot__shard_range(bn, p->shards, p->lo, &f0, &r0);
            ot__shard_range(bn, p->shards, p->hi - 1, &f1, &r1);
            size_t lo = b0 + f0 > sl->first ? b0 + f0 : sl->first;
            size_t hi = b0 + f1 + r1 < sl->first + n ? b0 + f1 + r1 : sl->first + n;
            if (hi > lo)
                st = read_rows(s, sl, lo, hi - lo);
        }
    }
    if (st != OT_OK || d->source->fd < 0)
        return st;
    for (size_t i = 0; st == OT_OK && i < n; i++) {
        size_t r = sl->idx ? sl->idx[sl->first + i] : sl->first + i;
        if (b->y)
            b->y[i] = d->y[r];
        if (b->t)
            memcpy(b->t + i * nt, d->t + r * nt, nt * sizeof(float));
    }
    return st;
}

/* The range chunk `seq` belongs to (posted). Under the lock. */
static const range *range_of(const ot__stage *s, uint64_t seq)
{
    for (size_t i = 0; i < s->n_ranges; i++) {
        const range *g = &s->ranges[(s->head + i) % s->cap_ranges];
        if (seq >= g->seq0 && seq < g->seq0 + g->chunks)
            return g;
    }
    return NULL;
}

static void *reader(void *arg)
{
    ot__stage *s = arg;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        slot *sl = NULL;
        while (!s->stop) {
            sl = NULL;
            if (s->next < s->posted)
                for (int i = 0; i < SLOTS && sl == NULL; i++)
                    if (s->slots[i].state == SLOT_FREE)
                        sl = &s->slots[i];
            if (sl != NULL)
                break;
            pthread_cond_wait(&s->cond, &s->lock);
        }
        if (s->stop)
            break;
        const range *g = range_of(s, s->next);
        uint64_t c = s->next - g->seq0;
        sl->seq = s->next++;
        sl->state = SLOT_READING;
        sl->idx = g->idx;
        sl->first = g->first + (size_t)c * g->chunk;
        sl->rows = g->first + g->rows - sl->first < g->chunk ? g->first + g->rows - sl->first
                                                             : g->chunk;
        sl->end = g->first + g->rows;
        sl->part = g->part;
        pthread_mutex_unlock(&s->lock);
        double t0 = now_s();
        ot_status st = read_chunk(s, sl);
        double dt = now_s() - t0;
        pthread_mutex_lock(&s->lock);
        sl->status = st;
        if (st != OT_OK)
            ot__error_copy(sl->msg, sizeof sl->msg);
        sl->state = st == OT_OK ? SLOT_READY : SLOT_FAILED;
        s->bytes += sl->rows * s->d->source->row_bytes;
        s->seconds += dt;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

ot_status ot__stage_open(ot__stage **out, const ot_dataset *d, size_t max_rows,
                         ot_dataset *view)
{
    *out = NULL;
    ot__stage *s = ot__calloc(1, sizeof *s, "stage");
    if (s == NULL)
        return OT_OUT_OF_MEMORY;
    s->d = d;
    s->max_rows = max_rows;
    if (d->source->map != NULL) {
        /* zero copy: the view's pixels or floats are the mapping's */
        s->mapped = 1;
        *view = *d;
        const unsigned char *rows = d->source->map + d->source->offset;
        if (d->source->pixels)
            view->pixels = (uint8_t *)rows;
        else
            view->x = (float *)(void *)rows;
        view->stage = s;
        *out = s;
        return OT_OK;
    }
    s->cap_ranges = 8;
    s->ranges = ot__calloc(s->cap_ranges, sizeof *s->ranges, "stage ranges");
    ot_status st = s->ranges ? OT_OK : OT_OUT_OF_MEMORY;
    const struct ot__source *src = d->source;
    for (int i = 0; i < SLOTS && st == OT_OK; i++) {
        ot_dataset *b = &s->slots[i].ds;
        b->dim = d->dim;
        b->classes = d->classes;
        b->n_targets = d->n_targets;
        if (src->pixels)
            b->pixels = ot__alloc(max_rows * d->dim, 1, "stage rows");
        else
            b->x = ot__alloc(max_rows * d->dim, sizeof(float), "stage rows");
        if (d->y)
            b->y = ot__alloc(max_rows, sizeof(int32_t), "stage labels");
        if (d->t)
            b->t = ot__alloc(max_rows * d->n_targets, sizeof(float), "stage targets");
        if (src->fd < 0)
            s->slots[i].at = ot__alloc(max_rows, sizeof(size_t), "stage rows");
        if ((src->pixels ? !b->pixels : !b->x) || (d->y && !b->y) || (d->t && !b->t) ||
            (src->fd < 0 && !s->slots[i].at))
            st = OT_OUT_OF_MEMORY;
    }
    if (st == OT_OK) {
        if (pthread_mutex_init(&s->lock, NULL) != 0 || pthread_cond_init(&s->cond, NULL) != 0)
            st = ot__fail(OT_OUT_OF_MEMORY, "stage: no mutex");
        else if (pthread_create(&s->reader, NULL, reader, s) != 0)
            st = ot__fail(OT_OUT_OF_MEMORY, "stage: cannot start the reader thread");
        else
            s->started = 1;
    }
    if (st != OT_OK) {
        ot__stage_close(s);
        return st;
    }
    *view = *d;
    view->stage = s;
    *out = s;
    return OT_OK;
}

void ot__stage_close(ot__stage *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stop = 1;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->reader, NULL);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
    }
    for (int i = 0; i < SLOTS; i++) {
        ot__free(s->slots[i].ds.pixels);
        ot__free(s->slots[i].ds.x);
        ot__free(s->slots[i].ds.y);
        ot__free(s->slots[i].ds.t);
        ot__free(s->slots[i].at);
    }
    ot__free(s->ranges);
    ot__free(s);
}

ot_status ot__stage_post(const ot_dataset *view, const uint32_t *idx, size_t first,
                         size_t rows, size_t chunk, const ot__stage_part *part)
{
    ot__stage *s = view->stage;
    if (s == NULL || s->mapped || rows == 0)
        return OT_OK;
    if (chunk == 0 || chunk > s->max_rows)
        return ot__fail(OT_INVALID_STATE, "stage: chunks of %zu rows, buffers of %zu", chunk,
                        s->max_rows);
    pthread_mutex_lock(&s->lock);
    ot_status st = OT_OK;
    if (s->n_ranges == s->cap_ranges) {
        range *r = ot__calloc(2 * s->cap_ranges, sizeof *r, "stage ranges");
        if (r == NULL) {
            st = OT_OUT_OF_MEMORY;
        } else {
            for (size_t i = 0; i < s->n_ranges; i++)
                r[i] = s->ranges[(s->head + i) % s->cap_ranges];
            ot__free(s->ranges);
            s->ranges = r;
            s->head = 0;
            s->cap_ranges *= 2;
        }
    }
    if (st == OT_OK) {
        range g = {idx, first, rows, chunk, s->posted, (rows + chunk - 1) / chunk,
                   part ? *part : (ot__stage_part){0, 0, 0, 0}};
        s->ranges[(s->head + s->n_ranges++) % s->cap_ranges] = g;
        s->posted += g.chunks;
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

size_t ot__stage_chunk(const ot_dataset *d, size_t batch)
{
    if (d->source == NULL)
        return batch;
    size_t rows = ROUND_BYTES / d->source->row_bytes;
    rows = (rows < ROUND_ROWS ? rows : ROUND_ROWS) / batch * batch;
    return rows > batch ? rows : batch;
}

ot_status ot__stages_open(ot__stages *s, const ot_dataset **train, const ot_dataset **val,
                          size_t batch)
{
    memset(s, 0, sizeof *s);
    const ot_dataset *t = *train, *v = *val;
    ot_status st = OT_OK;
    if (t != NULL && t->source != NULL) {
        st = ot__stage_open(&s->stage[0], t, ot__stage_chunk(t, batch), &s->views[0]);
        if (st == OT_OK)
            *train = &s->views[0];
    }
    if (st == OT_OK && v == t && v != NULL) {
        *val = *train;
    } else if (st == OT_OK && v != NULL && v->source != NULL) {
        st = ot__stage_open(&s->stage[1], v, ot__stage_chunk(v, batch), &s->views[1]);
        if (st == OT_OK)
            *val = &s->views[1];
    }
    return st;
}

void ot__stages_close(ot__stages *s)
{
    ot__stage_close(s->stage[0]);
    ot__stage_close(s->stage[1]);
    memset(s, 0, sizeof *s);
}

/* The chunk numbers of rows idx[first..first+rows): the earliest posted
 * range not yet released that holds them. Under the lock. */
static int chunks_of(const ot__stage *s, const uint32_t *idx, size_t first, size_t rows,
                     uint64_t *lo, uint64_t *hi)
{
    for (size_t i = 0; i < s->n_ranges; i++) {
        const range *g = &s->ranges[(s->head + i) % s->cap_ranges];
        if (g->idx != idx || first < g->first || first + rows > g->first + g->rows)
            continue;
        *lo = g->seq0 + (first - g->first) / g->chunk;
        *hi = g->seq0 + (first + rows - 1 - g->first) / g->chunk;
        if (*hi >= s->current || i + 1 == s->n_ranges)
            return 1;
    }
    return 0;
}

ot_status ot__stage_ready(const ot_dataset *view, const uint32_t *idx, size_t first,
                          size_t rows, int release)
{
    ot__stage *s = view->stage;
    if (s == NULL || rows == 0)
        return OT_OK;
    if (s->mapped) {
        /* a mapped file cut short would end the process with SIGBUS where a
         * read says so: its size is checked before each job (a system call
         * a step; a file cut during the step still ends it) */
        if (release)
            s->bytes += rows * s->d->source->row_bytes;
        struct stat st;
        if (fstat(s->d->source->fd, &st) != 0 || (size_t)st.st_size < s->d->source->map_len)
            return ot__fail(OT_IO_ERROR, "%s: cut short (was the file changed while it was "
                            "read?)", s->d->source->name);
        return OT_OK;
    }
    pthread_mutex_lock(&s->lock);
    uint64_t lo, hi;
    if (!chunks_of(s, idx, first, rows, &lo, &hi)) {
        pthread_mutex_unlock(&s->lock);
        return ot__fail(OT_INVALID_STATE, "stage: rows %zu..%zu were not posted", first,
                        first + rows);
    }
    if (hi - lo + 2 > SLOTS) {
        pthread_mutex_unlock(&s->lock);
        return ot__fail(OT_INVALID_STATE, "stage: rows %zu..%zu span %llu chunks", first,
                        first + rows, (unsigned long long)(hi - lo + 1));
    }
    if (release) {
        /* a job needs these now: what was read for earlier ones may go, and
         * what was posted before them and not read yet (a run that left a
         * pass) is skipped */
        s->current = lo;
        int freed = 0; /* the reader is woken only when there is work for it */
        for (int i = 0; i < SLOTS; i++)
            if ((s->slots[i].state == SLOT_READY || s->slots[i].state == SLOT_FAILED) &&
                s->slots[i].seq < lo) {
                s->slots[i].state = SLOT_FREE;
                freed = 1;
            }
        while (s->n_ranges > 0) {
            const range *g = &s->ranges[s->head];
            if (g->seq0 + g->chunks > lo)
                break;
            s->head = (s->head + 1) % s->cap_ranges;
            s->n_ranges--;
        }
        if (s->next < lo) {
            s->next = lo;
            freed = 1;
        }
        if (freed)
            pthread_cond_broadcast(&s->cond);
    }
    ot_status st = OT_OK;
    for (uint64_t q = lo; q <= hi && st == OT_OK; q++) {
        const slot *sl = NULL;
        for (;;) {
            for (int i = 0; i < SLOTS && sl == NULL; i++)
                if (s->slots[i].seq == q && (s->slots[i].state == SLOT_READY ||
                                             s->slots[i].state == SLOT_FAILED))
                    sl = &s->slots[i];
            if (sl != NULL)
                break;
            pthread_cond_wait(&s->cond, &s->lock);
        }
        if (sl->state == SLOT_FAILED) {
            ot__error_restore(sl->msg);
            st = sl->status;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}

void ot__stage_gather(const ot_dataset *view, const ot__scaling *sc, const uint32_t *idx,
                      size_t first, size_t rows, float *out, int32_t *labels,
                      float *targets)
{
    /* The lock only to find the chunk: the engine handed the job out once
     * its rows were read, and their chunks are not freed before the next
     * job is, when this one's gathers are over. */
    ot__stage *s = view->stage;
    const size_t dim = view->dim, nt = view->n_targets;
    size_t done = 0;
    while (done < rows) {
        const slot *best = NULL;
        size_t at = first + done;
        pthread_mutex_lock(&s->lock);
        for (int i = 0; i < SLOTS; i++) {
            const slot *sl = &s->slots[i];
            if (sl->state == SLOT_READY && sl->idx == idx && sl->seq >= s->current &&
                at >= sl->first && at < sl->first + sl->rows &&
                (best == NULL || sl->seq < best->seq))
                best = sl;
        }
        pthread_mutex_unlock(&s->lock);
        if (best == NULL) /* a bug: the engine hands out jobs whose rows are read */
            __builtin_trap();
        size_t n = best->first + best->rows - at;
        if (n > rows - done)
            n = rows - done;
        ot__dataset_gather(&best->ds, sc, NULL, at - best->first, n,
                           out ? out + done * dim : NULL, labels ? labels + done : NULL,
                           targets ? targets + done * nt : NULL);
        done += n;
    }
}

void ot__stages_stats(const ot__stages *ss, double *bytes, double *seconds)
{
    *bytes = 0.0;
    *seconds = 0.0;
    for (int i = 0; i < 2; i++) {
        ot__stage *s = ss->stage[i];
        if (s == NULL)
            continue;
        if (s->mapped) {
            *bytes += (double)s->bytes;
            continue;
        }
        pthread_mutex_lock(&s->lock);
        *bytes += (double)s->bytes;
        *seconds += s->seconds;
        pthread_mutex_unlock(&s->lock);
    }
}
