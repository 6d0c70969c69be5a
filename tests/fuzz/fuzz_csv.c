/*
 * fuzz_csv.c - the CSV reader: the first byte chooses the options (header
 * mode, integer labels or float targets, target column), the rest is the
 * file.
 */
#include <math.h>
#include <stdlib.h>

#include "fuzz.h"
#include "omptrain.h"

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
    if (ot_dataset_load_csv(&d, path, &o) == OT_OK) {
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
