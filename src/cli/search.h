/*
 * search.h - `omptrain search`'s candidates (search_grid.c): the grid of
 * train flags a search varies, and the values of each candidate.
 */
#ifndef OT_CLI_SEARCH_H
#define OT_CLI_SEARCH_H

#include "cli.h"

enum { SEARCH_MAX_PARAMS = 32, SEARCH_MAX_VALUES = 256, SEARCH_VALUE_LEN = 256,
       SEARCH_MAX_CANDIDATES = 100000, SEARCH_PARAMS_LEN = 4096 };

typedef enum search_what { SEARCH_FLAG, SEARCH_UNITS, SEARCH_ACTIVATION } search_what;

/* One name of the grid: its values, or (--random) a range of numbers. */
typedef struct search_param {
    const char *name;  /* "batch", "units" */
    const char *flag;  /* "--batch", or NULL for units and activation */
    search_what what;
    cli_kind kind;
    char *vals[SEARCH_MAX_VALUES];
    size_t n;
    int range, log;
    double lo, hi;
} search_param;

typedef struct search_grid {
    char *text; /* the spec, cut in place */
    search_param params[SEARCH_MAX_PARAMS];
    size_t n;   /* sorted by name */
} search_grid;

/* Parses --grid (ranges only with `random`); 0 on a bad part (error
 * printed, naming it). Free with search_grid_free, also after a failure. */
int search_grid_parse(search_grid *g, const char *spec, int random);

/* The grid's combinations; SIZE_MAX with a range, or beyond
 * SEARCH_MAX_CANDIDATES. */
size_t search_grid_size(const search_grid *g);

/* The values of candidate c: combination c of the grid, or (random) the
 * next draw from *rng. */
void search_grid_values(const search_grid *g, size_t c, int random, uint64_t *rng,
                        char (*out)[SEARCH_VALUE_LEN]);

/* Sets the values on train flags *tf (the base run's, a copy) through each
 * flag's parser, and makes *su from them; 0 when refused (error printed). */
int search_grid_apply(const search_grid *g, char (*vals)[SEARCH_VALUE_LEN],
                      cli_train_flags *tf, cli_train_setup *su);

void search_grid_free(search_grid *g);

/* A round of a search: an ot_search of some of the candidates (ids[j] is
 * its candidate j's number), with --halving the epochs they all train. */
typedef struct search_round {
    ot_search *s;
    size_t *ids, n;
    size_t epochs; /* 0 without --halving */
} search_round;

/* A search's candidates: the grid, each one's values (n x grid->n), and
 * its rounds (one without --halving). */
typedef struct search_run {
    const search_grid *grid;
    char (*vals)[SEARCH_VALUE_LEN];
    size_t n;
    search_round *rounds;
    size_t n_rounds, round; /* the round running */
    size_t done;            /* of its candidates */
    int quiet, halving;
    const char *scored_by;  /* what a score is: "accuracy", "minus the mae" */
} search_run;

/* The folder's files (search_files.c). Candidate c's parameters as
 * scikit-learn's `params` column shows them: "{'batch': 32, 'epochs': 1}". */
void search_params_text(const search_run *r, size_t c, char *buf, size_t size);
/* cv_results.csv of the candidates done in every round (atomically); with
 * --halving the columns iter and n_resources, and the rank over every row,
 * the last round's first (HalvingGridSearchCV's); 0 on failure (said). */
int search_write_results(const search_run *r, const char *path, size_t splits);
/* DIR/scores.svg (search_svg.c): each candidate's mean score and its
 * learning curve, the best in red (atomically); 0 on failure (said). */
int search_write_svg(const search_run *r, const char *path, size_t splits);
/* The search's flags, one a line (atomically); 0 on failure (said). */
int search_write_args(const char *path, int argc, char **argv);
/* Reads them back into buf, argv[] pointing into it; their count, or -1
 * (said). */
int search_read_args(const char *path, char *buf, size_t size, char **argv, int max);
/* Restores into round k's search the candidates that cv_results.csv at
 * path holds for that round, matched by their params; their count (0 when
 * there is no file), or -1 on a file that is not this search's (said). */
long search_restore(const search_run *r, size_t k, const char *path, size_t splits);

#endif
