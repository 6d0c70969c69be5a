/*
 * elastic.h - how many of a run's threads take part, chosen while it runs
 * from its own job times (engine.c asks after every job). Knows nothing of
 * threads: it reads durations and rows and answers a count, so that the
 * tests drive it with made-up timings. Not installed.
 *
 * The weights depend on the shards, never on the thread count, so any
 * count may run any step. The controller measures the count it runs in
 * windows of about 20 ms, and now and then runs a neighbouring count for
 * one window (a probe, after one job to warm up), then the count in force
 * for one more: the probe wins when 5% faster than the mean of the count's
 * window before it and the one after (a dip in one window is another
 * program's time slice, a lasting slowdown is in both). Probes come soon after the start and after a change (0.2 s),
 * then ever more rarely while the count holds (up to 3.2 s apart), and at
 * once (0.2 s apart at most) when two windows in a row run below four
 * fifths of the count's moving mean rate: the sign that another program
 * took cores.
 */
#ifndef OT_ELASTIC_H
#define OT_ELASTIC_H

#include <stddef.h>

#define OT__ELASTIC_MAX 64 /* counts to choose from */

typedef struct ot__elastic {
    int cands[OT__ELASTIC_MAX]; /* ascending */
    int n, cur;                 /* cands[cur] runs */
    int probe;                  /* the index being probed, or -1 */
    int skip;                   /* jobs left to warm up before measuring */
    int lower_next;             /* which neighbour the next probe tries */
    double clock, last_probe, interval;
    double win_t, win_rows;
    int win_jobs;
    double rate_cur;            /* the last two windows of cands[cur], rows/s */
    double prev;                /* the window before the last, or 0 */
    int verify;                 /* after a probe of cands[verify], the window
                                 * back at cands[cur] that decides, or -1 */
    double probe_rate;          /* the probe's window, rows/s */
    double ref[OT__ELASTIC_MAX]; /* each count's mean rate (moving, 1/4 a window) */
    /* what changed: the number of switches, the last one's reason */
    size_t switches;
    char why[160];
} ot__elastic;

/* Counts cands[0..n) (ascending, distinct, n <= OT__ELASTIC_MAX), starting
 * with `start` (one of them). */
void ot__elastic_init(ot__elastic *c, const int *cands, int n, int start);

/* A job of `rows` rows took `seconds`; returns the count for the next job. */
int ot__elastic_tick(ot__elastic *c, double seconds, double rows);

#endif
