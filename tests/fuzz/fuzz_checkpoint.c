/*
 * fuzz_checkpoint.c - the model loader: the input is a model file. A model
 * that loads must also summarise, predict-size and save cleanly.
 */
#include "fuzz.h"
#include "omptrain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd;
    if (!fuzz_file(data, size, path, sizeof path, &fd))
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
