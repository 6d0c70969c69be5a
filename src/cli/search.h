/*
 * search.h - `omptrain search`'s candidates (search_grid.c): the grid of
 * train flags a search varies, and the values of each candidate.
 */
#ifndef OT_CLI_SEARCH_H
#define OT_CLI_SEARCH_H

#include "cli.h"

enum { SEARCH_MAX_PARAMS = 32, SEARCH_MAX_VALUES = 256, SEARCH_VALUE_LEN = 256,
       SEARCH_MAX_CANDIDATES = 100000 };

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

#endif
