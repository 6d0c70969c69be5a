/*
 * data.c - the --data specs of the command line: fashion-mnist, idx:DIR,
 * csv:FILE and xor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* "-1" or "3,4,5" into columns; 0 on a bad list (error printed). */
static int parse_columns(const char *list, ot_csv_options *c)
{
    const char *p = list;
    c->n_target_columns = 0;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < -100000 || v > 100000 ||
            (*end != ',' && *end != '\0')) {
            cli_error("--label-column: '%s' is not a list of column numbers "
                      "(0-based; -1 is the last)", list);
            return 0;
        }
        if (c->n_target_columns == sizeof c->target_columns / sizeof *c->target_columns) {
            cli_error("--label-column: at most 16 columns");
            return 0;
        }
        c->target_columns[c->n_target_columns++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (c->n_target_columns == 0) {
        cli_error("--label-column: empty list");
        return 0;
    }
    return 1;
}

int cli_check_columns(const char *list)
{
    ot_csv_options c = ot_csv_options_default();
    return parse_columns(list, &c);
}

int cli_load_data(const char *spec, const cli_data_options *o, ot_dataset **out)
{
    const char *dir = NULL;
    if (o->stream && strcmp(spec, "xor") == 0) {
        cli_error("--stream: xor is four samples in memory: nothing to stream");
        return CLI_USAGE;
    }
    if (strcmp(spec, "xor") == 0) {
        if (ot_dataset_xor(out) != OT_OK)
            return cli_fail("--data xor");
        return CLI_OK;
    }
    if (strncmp(spec, "csv:", 4) == 0 && spec[4] != '\0') {
        ot_csv_options c = ot_csv_options_default();
        if (!parse_columns(o->label_columns ? o->label_columns : "-1", &c))
            return CLI_USAGE;
        c.integer_labels = o->integer_labels && c.n_target_columns == 1;
        if (o->features > 0) {
            /* predict: features only when the row width says so */
            ot_csv_options f = c;
            f.n_target_columns = 0;
            if ((o->stream ? ot_dataset_stream_csv(out, spec + 4, &f, o->cache_dir)
                           : ot_dataset_load_csv(out, spec + 4, &f)) == OT_OK &&
                ot_dataset_dim(*out) == o->features)
                return CLI_OK;
            ot_dataset_destroy(*out);
            *out = NULL;
        }
        if ((o->stream ? ot_dataset_stream_csv(out, spec + 4, &c, o->cache_dir)
                       : ot_dataset_load_csv(out, spec + 4, &c)) != OT_OK)
            return cli_fail(NULL);
        return CLI_OK;
    }
    if (strcmp(spec, "fashion-mnist") == 0) {
        dir = getenv("OMPTRAIN_DATA");
        if (dir == NULL || dir[0] == '\0')
            dir = FASHION_MNIST_DIR;
    } else if (strncmp(spec, "idx:", 4) == 0 && spec[4] != '\0') {
        dir = spec + 4;
    } else {
        cli_error("--data: unknown data '%s' (expected fashion-mnist, idx:DIR, "
                  "csv:FILE or xor)", spec);
        return CLI_USAGE;
    }
    if ((o->stream ? ot_dataset_stream_idx_dir(out, dir, o->split, o->cache_dir)
                   : ot_dataset_load_idx_dir(out, dir, o->split)) != OT_OK) {
        if (strcmp(spec, "fashion-mnist") == 0 && getenv("OMPTRAIN_DATA") == NULL &&
            strstr(ot_last_error(), "no such file") != NULL) /* not there: say where from */
            cli_error("%s (install Debian's dataset-fashion-mnist, or set "
                      "OMPTRAIN_DATA)", ot_last_error());
        else
            cli_error("%s", ot_last_error());
        return CLI_FAILED;
    }
    return CLI_OK;
}
