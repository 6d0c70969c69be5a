/*
 * fuzz_csv.c - the CSV reader: the first byte chooses the options (header
 * mode, integer labels or float targets, target column), the rest is the
 * file. The streamed reader (a line at a time into a binary copy) must
 * agree with the load: the same status and message, and the same rows.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "omptrain.h"

/* A folder of this process's for the streamed copies, emptied after each
 * input. */
static const char *cache_dir(void)
{
    static char dir[256];
    if (dir[0] == '\0') {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/omptrain-fuzz-XXXXXX", base && *base ? base : "/tmp");
        if (mkdtemp(dir) == NULL)
            __builtin_trap();
    }
    return dir;
}

static void empty(const char *dir)
{
    DIR *d = opendir(dir);
    char path[512];
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d != NULL)
        closedir(d);
}

/* The streamed reader against the load's result (status, message, a). */
static void compare_stream(const char *path, const ot_csv_options *o, ot_status want,
                           const char *msg, const ot_dataset *a)
{
    ot_dataset *b = NULL;
    ot_status got = ot_dataset_stream_csv(&b, path, o, cache_dir());
    empty(cache_dir());
    if (got != want)
        __builtin_trap();
    /* the whole-file reader and the line reader word a NUL byte apart */
    if (got != OT_OK && strstr(msg, "binary") == NULL && strcmp(msg, ot_last_error()) != 0)
        __builtin_trap();
    if (got != OT_OK)
        return;
    size_t n = ot_dataset_size(a), dim = ot_dataset_dim(a);
    if (ot_dataset_size(b) != n || ot_dataset_dim(b) != dim ||
        ot_dataset_had_header(b) != ot_dataset_had_header(a) ||
        ot_dataset_targets(b) != ot_dataset_targets(a) ||
        ot_dataset_classes(b) != ot_dataset_classes(a))
        __builtin_trap();
    float *x = malloc(n * dim * sizeof *x), *y = malloc(n * dim * sizeof *y);
    if (x != NULL && y != NULL && ot_dataset_features(a, x, n * dim) == OT_OK &&
        (ot_dataset_features(b, y, n * dim) != OT_OK || memcmp(x, y, n * dim * sizeof *x) != 0))
        __builtin_trap();
    free(x);
    free(y);
    ot_dataset_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ot_csv_options o = ot_csv_options_default();
    o.header = (int)(data[0] % 3) - 1;
    o.integer_labels = (data[0] >> 2) & 1;
    o.target_columns[0] = (int)((data[0] >> 3) & 7) - 4;
    o.n_target_columns = (data[0] >> 6) & 1 ? 0 : 1; /* 0: features only */
    char path[64];
    int fd;
    if (!fuzz_file(data + 1, size - 1, path, sizeof path, &fd))
        return 0;
    ot_dataset *d = NULL;
    ot_status st = ot_dataset_load_csv(&d, path, &o);
    char msg[600];
    snprintf(msg, sizeof msg, "%s", ot_last_error());
    compare_stream(path, &o, st, msg, d);
    if (st == OT_OK) {
        size_t n = ot_dataset_size(d) * ot_dataset_dim(d);
        if (n == 0)
            __builtin_trap();
        /* every value loaded is finite: one beyond a float's range is refused */
        float *x = malloc(n * sizeof *x);
        if (x != NULL && ot_dataset_features(d, x, n) == OT_OK)
            for (size_t i = 0; i < n; i++)
                if (!isfinite(x[i]))
                    __builtin_trap();
        free(x);
        ot_dataset_destroy(d);
    } else if (d != NULL || ot_last_error()[0] == '\0') {
        __builtin_trap();
    }
    close(fd);
    return 0;
}
