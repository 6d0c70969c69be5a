/*
 * data.c - the --data specs of the command line.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

int cli_load_data(const char *spec, const char *split, ot_dataset **out)
{
    const char *dir = NULL;
    if (strcmp(spec, "fashion-mnist") == 0) {
        dir = getenv("OMPTRAIN_DATA");
        if (dir == NULL || dir[0] == '\0')
            dir = FASHION_MNIST_DIR;
    } else if (strncmp(spec, "idx:", 4) == 0 && spec[4] != '\0') {
        dir = spec + 4;
    } else {
        cli_error("--data: unknown data '%s' (expected fashion-mnist or "
                  "idx:DIR)", spec);
        return CLI_USAGE;
    }
    if (ot_dataset_load_idx_dir(out, dir, split) != OT_OK) {
        if (strcmp(spec, "fashion-mnist") == 0 && getenv("OMPTRAIN_DATA") == NULL)
            cli_error("%s (install Debian's dataset-fashion-mnist, or set "
                      "OMPTRAIN_DATA)", ot_last_error());
        else
            cli_error("%s", ot_last_error());
        return CLI_FAILED;
    }
    return CLI_OK;
}
