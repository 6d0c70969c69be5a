/*
 * eval_flags.c - the flags that evaluate and predict share, over the
 * library's own defaults (ot_eval_config_default).
 */
#include "cli.h"

void cli_set_max_memory(double gb)
{
    if (gb > 0.0)
        ot_set_memory_limit((size_t)(gb * 1e9));
}

void cli_eval_flags(cli_opt *opts, ot_eval_config *ec, double *max_memory, int *stream,
                    const char **cache_dir)
{
    const cli_opt flags[CLI_EVAL_FLAGS] = {
        {"--batch", CLI_SIZE, &ec->batch_size, "N", "batch size", 1, 1 << 24, NULL},
        {"--threads", CLI_INT, &ec->threads, "N", "OpenMP threads", 1, 1024,
         ec->threads == 0 ? "all cores" : NULL},
        {"--shards", CLI_SIZE, &ec->shards, "N", "shards per batch", 1, 65536,
         ec->shards == 0 ? "the thread count" : NULL},
        {"--max-memory", CLI_DOUBLE, max_memory, "GB", "the most memory a data file may take: one whose header declares more is refused before it is read", 1e-6, 1e6, "half the machine's"},
        {"--stream", CLI_BOOL, stream, NULL, "read the data as the run goes instead of whole: idx and fashion-mnist images by offset (a .gz once decompressed into --cache-dir), csv through a binary copy of its parsed rows made once in --cache-dir; a few MB of memory beside the labels whatever the size, the same results", 0, 0, NULL},
        {"--cache-dir", CLI_STRING, cache_dir, "DIR", "where --stream keeps its copies (decompressed IDX, parsed CSV)", 0, 0, "$XDG_CACHE_HOME/omptrain, or ~/.cache/omptrain"},
    };
    for (int i = 0; i < CLI_EVAL_FLAGS; i++)
        opts[i] = flags[i];
}
