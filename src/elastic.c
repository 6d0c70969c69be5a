/*
 * elastic.c - the thread count chosen while a run goes (elastic.h).
 */
#include <stdio.h>
#include <string.h>

#include "elastic.h"

#define WINDOW 0.03       /* seconds a rate is measured over, at least */
#define MIN_INTERVAL 0.2  /* between probes after a change, or a slowdown */
#define MAX_INTERVAL 3.2  /* between probes while the count holds */
#define GAIN 1.05         /* a probe must beat the count it runs by this */
#define SLOW 0.8          /* below this share of its rate, a count is slowed */

void ot__elastic_init(ot__elastic *c, const int *cands, int n, int start)
{
    memset(c, 0, sizeof *c);
    c->n = n < OT__ELASTIC_MAX ? n : OT__ELASTIC_MAX;
    for (int i = 0; i < c->n; i++) {
        c->cands[i] = cands[i];
        if (cands[i] == start)
            c->cur = i;
    }
    c->probe = c->verify = -1;
    c->skip = 1; /* the first job builds caches */
    c->lower_next = 1;
    c->interval = MIN_INTERVAL;
    c->last_probe = -MIN_INTERVAL; /* the first probe after one window */
}

static int running(const ot__elastic *c)
{
    return c->cands[c->probe >= 0 ? c->probe : c->cur];
}

/* The neighbour of cur to probe next; -1: none. */
static int neighbour(ot__elastic *c, int slowed)
{
    int lo = c->cur - 1, hi = c->cur + 1 < c->n ? c->cur + 1 : -1;
    if (slowed && lo >= 0)
        return lo;
    int pick = c->lower_next ? (lo >= 0 ? lo : hi) : (hi >= 0 ? hi : lo);
    c->lower_next = !c->lower_next;
    return pick;
}

int ot__elastic_tick(ot__elastic *c, double seconds, double rows)
{
    if (c->n < 2)
        return c->cands[c->cur];
    c->clock += seconds;
    if (c->skip > 0) {
        c->skip--;
        return running(c);
    }
    c->win_t += seconds;
    c->win_rows += rows;
    c->win_jobs++;
    if (c->win_t < WINDOW || c->win_jobs < 2)
        return running(c);
    double r = c->win_rows / c->win_t;
    c->win_t = c->win_rows = 0.0;
    c->win_jobs = 0;
    if (c->probe >= 0) {
        /* the probe's window: back to the count in force for one more */
        c->probe_rate = r;
        c->verify = c->probe;
        c->probe = -1;
        c->skip = 1;
        return running(c);
    }
    if (c->verify >= 0) {
        /* the count's windows before and after the probe: a dip of one
         * (another program's slice) is not taken for a slowdown, a lasting
         * one is in both */
        int k = c->verify;
        double base = 0.5 * (c->rate_cur + r);
        c->verify = -1;
        c->last_probe = c->clock;
        c->prev = 0.0;
        if (c->probe_rate > base * GAIN) {
            snprintf(c->why, sizeof c->why,
                     "%d thread%s %.0f samples/s, %d thread%s %.0f samples/s", c->cands[k],
                     c->cands[k] == 1 ? "" : "s", c->probe_rate, c->cands[c->cur],
                     c->cands[c->cur] == 1 ? "" : "s", base);
            c->lower_next = k > c->cur; /* back the way it came, first */
            c->cur = k;
            c->ref[k] = c->probe_rate;
            c->interval = MIN_INTERVAL;
            c->switches++;
            c->skip = 1;
            return running(c);
        }
        /* the count holds: its rate of now is the one a slowdown is told from */
        c->ref[c->cur] = base;
        c->interval = c->interval * 2 < MAX_INTERVAL ? c->interval * 2 : MAX_INTERVAL;
        return running(c);
    }
    /* slowed: two windows running well below the count's mean rate (one
     * alone is noise on a shared machine); the rate to beat: the mean of
     * the last two */
    double *ref = &c->ref[c->cur];
    int slowed = c->prev > 0 && r < SLOW * *ref && c->prev < SLOW * *ref;
    c->rate_cur = c->prev > 0 ? 0.5 * (r + c->prev) : r;
    *ref = *ref > 0 ? 0.75 * *ref + 0.25 * r : r;
    c->prev = r;
    double since = c->clock - c->last_probe;
    if (since >= c->interval || (slowed && since >= MIN_INTERVAL)) {
        int k = neighbour(c, slowed);
        if (k >= 0) {
            c->probe = k;
            c->skip = 1;
        }
    }
    return running(c);
}
