/*
 * search.h - a hyper-parameter search's state (search.c runs the fits,
 * search_results.c records and ranks what they left). Not installed.
 */
#ifndef OT_SEARCH_H
#define OT_SEARCH_H

#include <pthread.h>
#include <stdatomic.h>

#include "search_ranks.h"

struct ot_search {
    const ot_dataset *data;
    ot_search_config cfg;
    size_t n, splits;
    ot_search_candidate *cands;
    ot_layer *layers;
    int sign;                 /* +1: higher is better (accuracies); -1: lower */
    int has_scoring;          /* cfg.scoring given: every model reports it */
    ot_metric scoring;
    int jobs, threads;
    size_t *group;            /* each candidate's group: its first candidate */
    size_t *n_train;          /* per split: the rows trained on */
    double *scores, *fit_s, *score_s; /* n x splits */
    unsigned char *done;      /* n x splits */
    size_t *left;             /* splits not done, per candidate */
    char (*error)[192];       /* per candidate */
    size_t *rank;             /* per candidate, once all are done */
    double *stats;            /* per candidate: 6 means and stds */
    double *curve;            /* per candidate, its epochs: the score after each */
    double *split_curve;      /* the same per split: candidate i's K x epochs at
                                 K x curve_at[i] */
    size_t *curve_at;         /* where candidate i's curve starts */
    size_t *error_split;      /* per candidate: the split whose error is kept */
    size_t *items, n_items;
    size_t *run, n_run;       /* the items this rank fits in this round */
    ot__fit_outcome *slots;   /* over ranks: the round's outcomes */
    ot__ranks ranks;
    _Atomic size_t next;
    _Atomic int cancelled;
    pthread_mutex_t lock;
    int has_lock;
};

/* Records every candidate of the outcome's group on its split (nothing
 * when the fit was cancelled). Under the lock. */
void ot__search_record(ot_search *s, const ot__fit_outcome *o);

/* Ranks the candidates done as scikit-learn's rank_test_score: by mean
 * score, higher first, equals sharing the least rank, NaN last; 0 for the
 * others. */
void ot__search_rank(ot_search *s);

#endif
