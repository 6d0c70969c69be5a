/*
 * search_files.c - what `omptrain search` keeps in its folder (search.h):
 * cv_results.csv with scikit-learn's cv_results_ columns, written after
 * the search and when it stops; search.args, the search's own flags; and
 * both read back by --resume, which restores the candidates already done.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"

/* The shortest decimal that reads back as x. */
static void put_double(FILE *f, double x)
{
    char buf[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, x);
        if (strtod(buf, NULL) == x || isnan(x))
            break;
    }
    fputs(isnan(x) ? "nan" : buf, f);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void put_field(FILE *f, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void search_params_text(const search_run *r, size_t c, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "{");
    for (size_t i = 0; i < r->grid->n && at < size; i++) {
        const char *v = r->vals[c * r->grid->n + i];
        char *end;
        strtod(v, &end);
        int number = end != v && *end == '\0';
        at += (size_t)snprintf(buf + at, size - at, "%s'%s': %s%s%s", i ? ", " : "",
                               r->grid->params[i].name, number ? "" : "'", v,
                               number ? "" : "'");
    }
    if (at < size)
        snprintf(buf + at, size - at, "}");
}

/* Row (k, j)'s rank among every round's rows done: by round, the last
 * first, then by mean score, higher first, equals sharing, NaN last. */
static size_t halving_rank(const search_run *r, size_t k, double mean)
{
    size_t rank = 1;
    for (size_t q = 0; q < r->n_rounds; q++)
        for (size_t j = 0; j < r->rounds[q].n; j++) {
            ot_search_result o;
            if (ot_search_result_get(r->rounds[q].s, j, &o) != OT_OK)
                continue;
            double b = o.mean_score;
            rank += q > k || (q == k && (isnan(mean) ? !isnan(b) : (!isnan(b) && b > mean)));
        }
    return rank;
}

int search_write_results(const search_run *r, const char *path, size_t splits)
{
    cli_file o;
    if (!cli_file_open(&o, path)) {
        cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    FILE *f = o.f;
    const search_grid *g = r->grid;
    fputs("mean_fit_time,std_fit_time,mean_score_time,std_score_time", f);
    if (r->halving)
        fputs(",iter,n_resources", f);
    for (size_t i = 0; i < g->n; i++)
        fprintf(f, ",param_%s", g->params[i].name);
    fputs(",params", f);
    for (size_t k = 0; k < splits; k++)
        fprintf(f, ",split%zu_test_score", k);
    fputs(",mean_test_score,std_test_score,rank_test_score,error\n", f);
    for (size_t k = 0; k < r->n_rounds; k++)
        for (size_t j = 0; j < r->rounds[k].n; j++) {
            ot_search_result res;
            if (r->rounds[k].s == NULL || ot_search_result_get(r->rounds[k].s, j, &res) != OT_OK)
                continue;
            const size_t c = r->rounds[k].ids[j];
            const double t[4] = {res.mean_fit_time, res.std_fit_time, res.mean_score_time,
                                 res.std_score_time};
            for (int i = 0; i < 4; i++) {
                if (i)
                    fputc(',', f);
                put_double(f, t[i]);
            }
            if (r->halving)
                fprintf(f, ",%zu,%zu", k, r->rounds[k].epochs);
            for (size_t i = 0; i < g->n; i++) {
                fputc(',', f);
                put_field(f, r->vals[c * g->n + i]);
            }
            char params[SEARCH_PARAMS_LEN];
            search_params_text(r, c, params, sizeof params);
            fputc(',', f);
            put_field(f, params);
            for (size_t q = 0; q < splits; q++) {
                fputc(',', f);
                put_double(f, res.scores[q]);
            }
            fputc(',', f);
            put_double(f, res.mean_score);
            fputc(',', f);
            put_double(f, res.std_score);
            fprintf(f, ",%zu,", r->halving ? halving_rank(r, k, res.mean_score) : res.rank);
            put_field(f, res.error);
            fputc('\n', f);
        }
    if (!cli_file_commit(&o)) {
        cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

int search_write_args(const char *path, int argc, char **argv)
{
    cli_file o;
    if (!cli_file_open(&o, path)) {
        cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    for (int i = 0; i < argc; i++) {
        if (strpbrk(argv[i], "\n\r")) {
            cli_file_abandon(&o);
            cli_error("an argument holds a line break: '%s'", argv[i]);
            return 0;
        }
        fprintf(o.f, "%s\n", argv[i]);
    }
    if (!cli_file_commit(&o)) {
        cli_error("%s: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

int search_read_args(const char *path, char *buf, size_t size, char **argv, int max)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        cli_error("--resume: %s: %s (not a search folder?)", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, size - 1, f);
    int full = n == size - 1 && fgetc(f) != EOF;
    fclose(f);
    buf[n] = '\0';
    if (full || strlen(buf) != n) {
        cli_error("--resume: %s: %s", path, full ? "too long" : "holds a NUL byte");
        return -1;
    }
    int argc = 0;
    for (char *p = buf, *nl; *p; p = nl + 1) {
        if ((nl = strchr(p, '\n')) == NULL || argc == max) {
            cli_error("--resume: %s: %s", path, nl ? "too many arguments"
                                                   : "its last line is cut");
            return -1;
        }
        *nl = '\0';
        argv[argc++] = p;
    }
    return argc;
}

/* Cuts a CSV line in place into at most max fields (quotes undone); their
 * count, or -1 when a quote is not closed. */
static int csv_fields(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return n;
        char *w = p;
        fields[n++] = w;
        if (*p == '"') {
            for (p++;; p++) {
                if (*p == '\0')
                    return -1;
                if (*p == '"' && p[1] == '"')
                    p++;
                else if (*p == '"')
                    break;
                *w++ = *p;
            }
            p++;
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                *w++ = *p++;
        }
        int more = *p == ',';
        *w = '\0';
        if (!more)
            return n;
        p++;
    }
}

long search_restore(const search_run *r, size_t k, const char *path, size_t splits)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        cli_error("--resume: %s: %s", path, strerror(errno));
        return -1;
    }
    enum { MAX_FIELDS = 10 + SEARCH_MAX_PARAMS + 1024 };
    static char line[1 << 16];
    char *fld[MAX_FIELDS];
    double scores[1024];
    const search_round *rd = &r->rounds[k];
    unsigned char *used = calloc(rd->n ? rd->n : 1, 1);
    long restored = 0, row = 1;
    int params_at = 4 + 2 * r->halving + (int)r->grid->n, nf = 0;
    if (!used || !fgets(line, sizeof line, f) ||
        (nf = csv_fields(line, fld, MAX_FIELDS)) != params_at + 5 + (int)splits ||
        strcmp(fld[params_at], "params") != 0) {
        cli_error("--resume: %s: not the cv_results.csv of this search (%d columns, "
                  "expected %d)", path, nf, params_at + 5 + (int)splits);
        restored = -1;
    }
    while (restored >= 0 && fgets(line, sizeof line, f)) {
        row++;
        if (csv_fields(line, fld, MAX_FIELDS) != nf) {
            cli_error("--resume: %s:%ld: %d columns expected", path, row, nf);
            restored = -1;
            break;
        }
        if (r->halving && strtoul(fld[4], NULL, 10) != k)
            continue; /* another round's */
        size_t j = 0;
        char params[SEARCH_PARAMS_LEN];
        for (; j < rd->n; j++) {
            search_params_text(r, rd->ids[j], params, sizeof params);
            if (!used[j] && strcmp(params, fld[params_at]) == 0)
                break;
        }
        if (j == rd->n) {
            cli_error("--resume: %s:%ld: %s is none of this search's candidates%s", path, row,
                      fld[params_at], r->halving ? " in its round" : "");
            restored = -1;
            break;
        }
        for (size_t q = 0; q < splits; q++)
            scores[q] = strtod(fld[params_at + 1 + (int)q], NULL);
        ot_search_result res = {.candidate = j, .splits = splits, .scores = scores,
                                .mean_fit_time = strtod(fld[0], NULL),
                                .std_fit_time = strtod(fld[1], NULL),
                                .mean_score_time = strtod(fld[2], NULL),
                                .std_score_time = strtod(fld[3], NULL),
                                .error = fld[nf - 1]};
        if (ot_search_restore(rd->s, j, &res) != OT_OK) {
            cli_fail("--resume");
            restored = -1;
            break;
        }
        used[j] = 1;
        restored++;
    }
    free(used);
    fclose(f);
    return restored;
}
