/*
 * search_ranks.c - sharing a round's fits between the ranks of a search
 * (search_ranks.h). Each rank in turn broadcasts what its fits left, packed
 * as bytes: the ranks are the same program on the same kind of machine.
 */
#include <string.h>

#include "search_ranks.h"

typedef struct packed_head {
    uint64_t item, epochs, best;
    int32_t status, done;
    char msg[160];
} packed_head;

void ot__fit_outcome_free(ot__fit_outcome *o)
{
    ot__free(o->em);
    o->em = NULL;
}

/* The bytes rank q's outcomes take. */
static size_t packed_size(const ot__fit_outcome *out, size_t count, int q, int size)
{
    size_t bytes = 0;
    for (size_t j = (size_t)q; j < count; j += (size_t)size)
        bytes += sizeof(packed_head) + 3 * out[j].epochs * sizeof(double);
    return bytes;
}

static void pack(const ot__fit_outcome *out, size_t count, int q, int size, char *buf)
{
    for (size_t j = (size_t)q; j < count; j += (size_t)size) {
        const ot__fit_outcome *o = &out[j];
        packed_head h = {o->item, o->epochs, o->best, (int32_t)o->status, o->done, ""};
        memcpy(h.msg, o->msg, sizeof h.msg);
        memcpy(buf, &h, sizeof h);
        buf += sizeof h;
        if (o->epochs > 0)
            memcpy(buf, o->em, 3 * o->epochs * sizeof(double));
        buf += 3 * o->epochs * sizeof(double);
    }
}

static ot_status unpack(ot__fit_outcome *out, size_t count, int q, int size, const char *buf,
                        size_t bytes)
{
    const char *end = buf + bytes;
    for (size_t j = (size_t)q; j < count; j += (size_t)size) {
        packed_head h;
        if ((size_t)(end - buf) < sizeof h)
            return ot__fail(OT_INVALID_STATE, "search: rank %d sent too few bytes", q);
        memcpy(&h, buf, sizeof h);
        buf += sizeof h;
        ot__fit_outcome *o = &out[j];
        *o = (ot__fit_outcome){.item = (size_t)h.item, .done = h.done,
                               .status = (ot_status)h.status, .epochs = (size_t)h.epochs,
                               .best = (size_t)h.best};
        memcpy(o->msg, h.msg, sizeof o->msg);
        o->msg[sizeof o->msg - 1] = '\0';
        size_t em = 3 * o->epochs * sizeof(double);
        if (o->epochs > (size_t)(end - buf) / (3 * sizeof(double)))
            return ot__fail(OT_INVALID_STATE, "search: rank %d sent too few bytes", q);
        if (o->epochs > 0) {
            o->em = ot__alloc(3 * o->epochs, sizeof(double), "search outcome");
            if (o->em == NULL)
                return OT_OUT_OF_MEMORY;
            memcpy(o->em, buf, em);
        }
        buf += em;
    }
    return OT_OK;
}

ot_status ot__search_share(const ot__ranks *r, ot__fit_outcome *out, size_t count)
{
    ot_status status = OT_OK;
    for (int q = 0; q < r->size && status == OT_OK; q++) {
        uint64_t bytes = r->rank == q ? packed_size(out, count, q, r->size) : 0;
        if ((status = ot__ranks_bcast(r, &bytes, sizeof bytes, q)) != OT_OK)
            break;
        char *buf = ot__alloc((size_t)bytes + 1, 1, "search outcomes");
        /* every rank takes part in the broadcast, so each says whether it can */
        ot_status local = buf == NULL ? OT_OUT_OF_MEMORY : OT_OK;
        if ((status = ot__ranks_agree(r, local, 0u, NULL)) != OT_OK) {
            ot__free(buf);
            break;
        }
        if (r->rank == q)
            pack(out, count, q, r->size, buf);
        status = ot__ranks_bcast(r, buf, (size_t)bytes, q);
        if (status == OT_OK && r->rank != q)
            status = ot__ranks_agree(r, unpack(out, count, q, r->size, buf, (size_t)bytes),
                                     0u, NULL);
        else if (status == OT_OK)
            status = ot__ranks_agree(r, OT_OK, 0u, NULL);
        ot__free(buf);
    }
    return status;
}
