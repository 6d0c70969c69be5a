/*
 * args.c - flag parsing shared by the commands: one table per command gives
 * the flags, their types, ranges, defaults and help.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

const char *cli_program = "omptrain";

int cli_error_silent = 0;
char cli_last_error[512];

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cli_last_error, sizeof cli_last_error, fmt, ap);
    va_end(ap);
    if (!cli_error_silent)
        fprintf(stderr, "%s: error: %s\n", cli_program, cli_last_error);
}

int cli_fail(const char *context)
{
    const char *e = ot_last_error();
    size_t n = context ? strlen(context) : 0;
    /* the library's message may name the call already ("evaluate: ...") */
    if (context && !(strncmp(e, context, n) == 0 && e[n] == ':'))
        cli_error("%s: %s", context, e);
    else
        cli_error("%s", e);
    return CLI_FAILED;
}

static void default_text(const cli_opt *o, char *buf, size_t size)
{
    if (o->default_text) {
        snprintf(buf, size, "%s", o->default_text);
        return;
    }
    switch (o->kind) {
    case CLI_STRING: {
        const char *s = *(const char **)o->dest;
        snprintf(buf, size, "%s", s ? s : "none");
        break;
    }
    case CLI_SIZE: snprintf(buf, size, "%zu", *(size_t *)o->dest); break;
    case CLI_INT: snprintf(buf, size, "%d", *(int *)o->dest); break;
    case CLI_U64:
        snprintf(buf, size, "%llu", (unsigned long long)*(uint64_t *)o->dest);
        break;
    case CLI_DOUBLE: snprintf(buf, size, "%g", *(double *)o->dest); break;
    case CLI_FLOAT: {
        float f = *(float *)o->dest;
        if (isnan(f))
            snprintf(buf, size, "auto");
        else
            snprintf(buf, size, "%g", (double)f);
        break;
    }
    case CLI_BOOL: snprintf(buf, size, "%s", *(int *)o->dest ? "on" : "off"); break;
    }
}

/* "omptrain train", or the program alone when it has no commands. */
static const char *invocation(const char *command, char *buf, size_t size)
{
    snprintf(buf, size, command ? "%s %s" : "%s", cli_program, command);
    return buf;
}

static void help(const char *command, const char *summary, const cli_opt *opts,
                 size_t n)
{
    char inv[128];
    printf("usage: %s [FLAGS]\n\n%s\n\nflags:\n", invocation(command, inv, sizeof inv),
           summary);
    for (size_t i = 0; i < n; i++) {
        char lhs[64], def[128];
        if (opts[i].kind == CLI_BOOL)
            snprintf(lhs, sizeof lhs, "%s", opts[i].name);
        else
            snprintf(lhs, sizeof lhs, "%s %s", opts[i].name, opts[i].metavar);
        default_text(&opts[i], def, sizeof def);
        printf("  %-26s %s (default: %s)\n", lhs, opts[i].help, def);
    }
    printf("  %-26s %s\n", "--help", "show this help");
}

int cli_parse_value(const cli_opt *o, const char *v)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CLI_STRING:
        if (v[0] == '\0') {
            cli_error("%s: empty value", o->name);
            return 0;
        }
        *(const char **)o->dest = v;
        return 1;
    case CLI_SIZE:
    case CLI_INT:
    case CLI_U64: {
        if (v[0] == '-' || v[0] == '+' || v[0] == '\0' || isspace((unsigned char)v[0])) {
            cli_error("%s: '%s' is not a whole number >= %.0f", o->name, v, o->min);
            return 0;
        }
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || *end != '\0') {
            cli_error("%s: '%s' is not a whole number", o->name, v);
            return 0;
        }
        if (o->kind != CLI_U64 && ((double)x < o->min || (double)x > o->max)) {
            cli_error("%s: %s is out of range %.0f..%.0f", o->name, v, o->min, o->max);
            return 0;
        }
        if (o->kind == CLI_SIZE)
            *(size_t *)o->dest = (size_t)x;
        else if (o->kind == CLI_INT)
            *(int *)o->dest = (int)x;
        else
            *(uint64_t *)o->dest = (uint64_t)x;
        return 1;
    }
    case CLI_DOUBLE:
    case CLI_FLOAT: {
        double x = strtod(v, &end);
        if (errno || end == v || *end != '\0' || !isfinite(x)) {
            cli_error("%s: '%s' is not a number", o->name, v);
            return 0;
        }
        if (x < o->min || x > o->max) {
            cli_error("%s: %s is out of range [%g, %g]", o->name, v, o->min,
                      o->max);
            return 0;
        }
        if (o->kind == CLI_DOUBLE)
            *(double *)o->dest = x;
        else
            *(float *)o->dest = (float)x;
        return 1;
    }
    case CLI_BOOL:
        *(int *)o->dest = 1;
        return 1;
    }
    return 0;
}

int cli_parse(const char *command, const char *summary, const cli_opt *opts,
              size_t n, int argc, char **argv, int *seen)
{
    char inv[128], where[64] = "";
    invocation(command, inv, sizeof inv);
    if (command)
        snprintf(where, sizeof where, "%s: ", command);
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            help(command, summary, opts, n);
            return CLI_OK;
        }
        if (strncmp(arg, "--", 2) != 0) {
            cli_error("%sunexpected argument '%s' (flags start with --; see "
                      "%s --help)", where, arg, inv);
            return CLI_USAGE;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const cli_opt *o = NULL;
        for (size_t j = 0; j < n; j++)
            if (strlen(opts[j].name) == name_len &&
                strncmp(opts[j].name, arg, name_len) == 0)
                o = &opts[j];
        if (o == NULL) {
            cli_error("%sunknown flag '%.*s' (see %s --help)", where,
                      (int)name_len, arg, inv);
            return CLI_USAGE;
        }
        const char *value;
        if (o->kind == CLI_BOOL) {
            if (eq) {
                cli_error("%s takes no value", o->name);
                return CLI_USAGE;
            }
            value = "";
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            cli_error("%s needs a value (%s)", o->name, o->metavar);
            return CLI_USAGE;
        }
        if (!cli_parse_value(o, value))
            return CLI_USAGE;
        if (seen != NULL)
            seen[o - opts] = 1;
    }
    return -1;
}

int cli_given(const cli_opt *opts, const int *seen, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(opts[i].name, name) == 0)
            return seen[i];
    return 0;
}

int cli_parse_layers(const char *spec, ot_layer *layers, size_t max, size_t *n)
{
    size_t count = 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[96];
        if (len == 0 || len >= sizeof item) {
            cli_error("--layers: bad item '%.*s' in '%s' (expected "
                      "UNITS[:ACTIVATION[:INITIALIZER]] or flatten, e.g. "
                      "flatten,100:relu,10:softmax)", (int)len, p, spec);
            return 0;
        }
        if (count == max) {
            cli_error("--layers: more than %zu layers", max);
            return 0;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        ot_layer *l = &layers[count];
        memset(l, 0, sizeof *l);
        if (strcmp(item, "flatten") == 0) {
            if (count != 0) {
                cli_error("--layers: flatten must come first");
                return 0;
            }
            l->kind = OT_LAYER_FLATTEN;
        } else {
            char *act = strchr(item, ':'), *init = NULL;
            if (act) {
                *act++ = '\0';
                init = strchr(act, ':');
                if (init)
                    *init++ = '\0';
            }
            char *e = NULL;
            errno = 0;
            unsigned long long units = strtoull(item, &e, 10);
            if (item[0] < '0' || item[0] > '9' || errno || *e != '\0' || units == 0 ||
                units > (1u << 24)) {
                cli_error("--layers: '%s' is not a number of units in 1..%u",
                          item, 1u << 24);
                return 0;
            }
            l->units = (size_t)units;
            if (ot_activation_parse(act ? act : "linear", &l->activation) != OT_OK ||
                (init && ot_initializer_parse(init, &l->initializer) != OT_OK)) {
                cli_error("--layers: %s", ot_last_error());
                return 0;
            }
        }
        count++;
        p += len;
        if (*p == ',')
            p++;
        if (end && *p == '\0') {
            cli_error("--layers: trailing ',' in '%s'", spec);
            return 0;
        }
    }
    if (count == 0) {
        cli_error("--layers: no layers in '%s'", spec);
        return 0;
    }
    *n = count;
    return 1;
}
