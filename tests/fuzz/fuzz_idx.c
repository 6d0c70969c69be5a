/*
 * fuzz_idx.c - the IDX reader (plain and gzip): the input is a 4-byte
 * little-endian length L, an images file of L bytes, and a labels file.
 */
#include "fuzz.h"
#include "omptrain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t len = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 |
                 (size_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (len > size)
        len = size;
    char img[64], lab[64];
    int fi, fl;
    if (!fuzz_file(data, len, img, sizeof img, &fi))
        return 0;
    if (!fuzz_file(data + len, size - len, lab, sizeof lab, &fl)) {
        close(fi);
        return 0;
    }
    ot_dataset *d = NULL;
    if (ot_dataset_load_idx(&d, img, lab) == OT_OK) {
        /* what a loaded dataset promises */
        if (ot_dataset_size(d) == 0 || ot_dataset_dim(d) == 0)
            __builtin_trap();
        ot_dataset_destroy(d);
    } else if (d != NULL || ot_last_error()[0] == '\0') {
        __builtin_trap(); /* a failure returns no dataset and says why */
    }
    close(fi);
    close(fl);
    return 0;
}
