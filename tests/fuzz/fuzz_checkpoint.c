/*
 * fuzz_checkpoint.c - the model loader: the input is a model file whose
 * trailing CRC-32 is recomputed, so that mutations reach the parser behind
 * the checksum (whose refusal the unit tests cover). A model that loads
 * must also summarise and report sane sizes.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "omptrain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd;
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    if (size > 4) {
        uint32_t crc = (uint32_t)crc32(0L, copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            copy[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    int ok = fuzz_file(copy, size, path, sizeof path, &fd);
    free(copy);
    if (!ok)
        return 0;
    ot_model *m = NULL;
    if (ot_model_load(&m, path) == OT_OK) {
        FILE *null = fopen("/dev/null", "w");
        if (null != NULL) {
            if (ot_model_summary(m, null) != OT_OK)
                __builtin_trap();
            fclose(null);
        }
        size_t n = ot_model_param_count(m);
        if (n == 0 || ot_model_input_dim(m) == 0 || ot_model_output_dim(m) == 0)
            __builtin_trap();
        ot_model_destroy(m);
    } else if (m != NULL || ot_last_error()[0] == '\0') {
        __builtin_trap();
    }
    close(fd);
    return 0;
}
