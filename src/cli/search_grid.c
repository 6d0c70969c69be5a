/*
 * search_grid.c - the candidates of `omptrain search` (search.h): --grid
 * 'name=v1,v2;name=...' over train's flags (and `units` and `activation`,
 * the hidden layers'), every combination in scikit-learn's ParameterGrid
 * order (the names sorted, the last one changing fastest), or --random N
 * draws from lists and ranges (lo..hi, lo..hi:log), as ParameterSampler.
 * Each value goes through its flag's own parser, so a grid refuses what
 * the flag refuses.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"

/* Flags a grid may not set: files, the data, how the run is cut, and the
 * class weights (a candidate would hold a pointer into its setup's). */
static const char *const not_in_grid[] = {
    "data", "validation-data", "validation-split", "validation-fold", "label-column",
    "threads", "quiet", "stream", "cache-dir", "max-memory", "class-weight",
    "resume", "checkpoint", "checkpoint-every", "save", "save-best", "history", "plot",
    "metrics", /* the search's scoring: one for every candidate */
};

static const cli_opt *train_flag(const cli_opt *opts, const char *name)
{
    for (int i = 0; i < CLI_TRAIN_FLAGS; i++)
        if (strcmp(opts[i].name + 2, name) == 0)
            return &opts[i];
    return NULL;
}

/* Splits s at `sep` in place into items[]; their count, or SIZE_MAX when
 * more than max. */
static size_t split_at(char *s, char sep, char **items, size_t max)
{
    size_t n = 0;
    for (char *p = s;; p++) {
        char *end = strchr(p, sep);
        if (end)
            *end = '\0';
        if (n == max)
            return SIZE_MAX;
        items[n++] = p;
        if (!end)
            return n;
        p = end;
    }
}

static int parse_range(search_param *p, const char *v)
{
    const char *dots = strstr(v, "..");
    if (dots == NULL)
        return 0;
    char *end;
    p->lo = strtod(v, &end);
    if (end != dots)
        return -1;
    p->hi = strtod(dots + 2, &end);
    p->log = strcmp(end, ":log") == 0;
    if (end == dots + 2 || (*end != '\0' && !p->log) || !(p->lo <= p->hi) ||
        !isfinite(p->lo) || !isfinite(p->hi) || (p->log && !(p->lo > 0.0)))
        return -1;
    p->range = 1;
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const search_param *)a)->name, ((const search_param *)b)->name);
}

int search_grid_parse(search_grid *g, const char *spec, int random)
{
    memset(g, 0, sizeof *g);
    cli_train_flags scratch;
    cli_train_flags_init(&scratch);
    cli_opt opts[CLI_TRAIN_FLAGS];
    cli_train_flags_table(&scratch, opts);
    g->text = strdup(spec);
    if (g->text == NULL) {
        cli_error("--grid: out of memory");
        return 0;
    }
    char *parts[SEARCH_MAX_PARAMS];
    size_t n = split_at(g->text, ';', parts, SEARCH_MAX_PARAMS);
    if (n == SIZE_MAX) {
        cli_error("--grid: more than %d parameters", SEARCH_MAX_PARAMS);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        search_param *p = &g->params[g->n];
        char *eq = strchr(parts[i], '=');
        if (parts[i][0] == '\0' && i + 1 == n && n > 1)
            break; /* a trailing ';' */
        if (eq == NULL || eq == parts[i]) {
            cli_error("--grid: '%s' is not name=value,value,...", parts[i]);
            return 0;
        }
        *eq = '\0';
        p->name = parts[i];
        for (size_t j = 0; j < g->n; j++)
            if (strcmp(g->params[j].name, p->name) == 0) {
                cli_error("--grid: %s is given twice", p->name);
                return 0;
            }
        p->what = strcmp(p->name, "units") == 0        ? SEARCH_UNITS
                  : strcmp(p->name, "activation") == 0 ? SEARCH_ACTIVATION
                                                       : SEARCH_FLAG;
        if (p->what == SEARCH_FLAG) {
            const cli_opt *o = train_flag(opts, p->name);
            int banned = 0;
            for (size_t b = 0; b < sizeof not_in_grid / sizeof *not_in_grid; b++)
                banned |= strcmp(p->name, not_in_grid[b]) == 0;
            if (o == NULL || banned) {
                cli_error("--grid: %s is %s", p->name,
                          o ? "not a flag a search varies (files, data, threads)"
                            : "not a flag of train (see omptrain train --help), units or "
                              "activation");
                return 0;
            }
            p->flag = o->name;
            p->kind = o->kind;
        }
        char *vals = eq + 1;
        /* alternatives holding commas (--layers) are separated by '|' */
        p->n = split_at(vals, strchr(vals, '|') ? '|' : ',', p->vals, SEARCH_MAX_VALUES);
        if (p->n == SIZE_MAX) {
            cli_error("--grid: %s has more than %d values", p->name, SEARCH_MAX_VALUES);
            return 0;
        }
        for (size_t j = 0; j < p->n; j++)
            if (p->vals[j][0] == '\0') {
                cli_error("--grid: %s has an empty value", p->name);
                return 0;
            }
        int r = p->n == 1 ? parse_range(p, p->vals[0]) : 0;
        if (r < 0 || (r > 0 && !random)) {
            cli_error("--grid: %s=%s: %s", p->name, p->vals[0],
                      r > 0 ? "a range needs --random N"
                            : "a range is lo..hi or lo..hi:log, lo <= hi (lo > 0 for log)");
            return 0;
        }
        if (r > 0 && p->kind != CLI_SIZE && p->kind != CLI_INT && p->kind != CLI_DOUBLE &&
            p->kind != CLI_FLOAT) {
            cli_error("--grid: %s takes no range of numbers", p->name);
            return 0;
        }
        g->n++;
    }
    qsort(g->params, g->n, sizeof *g->params, by_name);
    return 1;
}

size_t search_grid_size(const search_grid *g)
{
    size_t n = 1;
    for (size_t i = 0; i < g->n; i++) {
        if (g->params[i].range)
            return SIZE_MAX;
        if (n > SEARCH_MAX_CANDIDATES / g->params[i].n)
            return SIZE_MAX;
        n *= g->params[i].n;
    }
    return n;
}

/* splitmix64: the draws of --random, from the seed. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(next_u64(s) >> 11) * 0x1p-53; }

void search_grid_values(const search_grid *g, size_t c, int random, uint64_t *rng,
                        char (*out)[SEARCH_VALUE_LEN])
{
    if (!random) { /* the last name changes fastest */
        for (size_t i = g->n; i-- > 0;) {
            const search_param *p = &g->params[i];
            snprintf(out[i], SEARCH_VALUE_LEN, "%s", p->vals[c % p->n]);
            c /= p->n;
        }
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        const search_param *p = &g->params[i];
        if (!p->range) {
            snprintf(out[i], SEARCH_VALUE_LEN, "%s", p->vals[next_u64(rng) % p->n]);
            continue;
        }
        double u = uniform(rng);
        double x = p->log ? exp(log(p->lo) + u * (log(p->hi) - log(p->lo)))
                          : p->lo + u * (p->hi - p->lo);
        if (p->kind == CLI_SIZE || p->kind == CLI_INT) {
            x = p->log ? floor(x) : floor(p->lo + u * (p->hi - p->lo + 1.0));
            x = x > p->hi ? p->hi : x < p->lo ? p->lo : x;
            snprintf(out[i], SEARCH_VALUE_LEN, "%.0f", x);
        } else {
            snprintf(out[i], SEARCH_VALUE_LEN, "%.4g", x);
        }
    }
}

/* The hidden layers (all Dense layers but the last) take the units or the
 * activation v. */
static int set_hidden(cli_train_setup *su, const search_param *p, const char *v)
{
    ot_activation act = OT_ACTIVATION_RELU;
    size_t units = 0;
    if (p->what == SEARCH_ACTIVATION && ot_activation_parse(v, &act) != OT_OK) {
        cli_error("--grid: activation=%s: %s", v, ot_last_error());
        return 0;
    }
    if (p->what == SEARCH_UNITS) {
        char *end;
        unsigned long long u = strtoull(v, &end, 10);
        if (!isdigit((unsigned char)v[0]) || *end != '\0' || u < 1 || u > 1u << 24) {
            cli_error("--grid: units=%s is not a number of units in 1..%u", v, 1u << 24);
            return 0;
        }
        units = (size_t)u;
    }
    size_t last = SIZE_MAX, hidden = 0;
    for (size_t l = 0; l < su->n_layers; l++)
        if (su->layers[l].kind == OT_LAYER_DENSE)
            last = l;
    for (size_t l = 0; l < su->n_layers; l++) {
        if (su->layers[l].kind != OT_LAYER_DENSE || l == last)
            continue;
        hidden++;
        if (units)
            su->layers[l].units = units;
        else
            su->layers[l].activation = act;
    }
    if (hidden == 0) {
        cli_error("--grid: %s: --layers has no hidden layer", p->name);
        return 0;
    }
    return 1;
}

int search_grid_apply(const search_grid *g, char (*vals)[SEARCH_VALUE_LEN],
                      cli_train_flags *tf, cli_train_setup *su)
{
    cli_opt opts[CLI_TRAIN_FLAGS];
    cli_train_flags_table(tf, opts);
    for (size_t i = 0; i < g->n; i++) {
        const search_param *p = &g->params[i];
        if (p->what != SEARCH_FLAG)
            continue;
        const cli_opt *o = train_flag(opts, p->name);
        if (o->kind == CLI_BOOL) {
            int on = strcmp(vals[i], "true") == 0 || strcmp(vals[i], "1") == 0;
            if (!on && strcmp(vals[i], "false") != 0 && strcmp(vals[i], "0") != 0) {
                cli_error("--grid: %s=%s: a switch is true or false", p->name, vals[i]);
                return 0;
            }
            *(int *)o->dest = on;
        } else if (!cli_parse_value(o, vals[i])) {
            return 0;
        }
    }
    if (!cli_train_setup_from(tf, 0, su))
        return 0;
    for (size_t i = 0; i < g->n; i++)
        if (g->params[i].what != SEARCH_FLAG && !set_hidden(su, &g->params[i], vals[i]))
            return 0;
    return 1;
}

void search_grid_free(search_grid *g)
{
    free(g->text);
    g->text = NULL;
}
