/*
 * cache.h - where the copies of data files that streaming reads (a gzip
 * file decompressed) are kept, and how they are named. Not installed.
 */
#ifndef OT_CACHE_H
#define OT_CACHE_H

#include "common.h"

/* The path in cache_dir (NULL: $XDG_CACHE_HOME/omptrain, else
 * ~/.cache/omptrain, made if missing) of the copy of file `src` (open on
 * fd), named after its base name, and a hash of its absolute path, size,
 * modification time and first 64 KiB and `key` (how it is read), then
 * `ext`: a copy of a changed file, or one read otherwise, has another name. */
ot_status ot__cache_path(char *buf, size_t size, const char *cache_dir, const char *src,
                         int fd, const void *key, size_t key_len, const char *ext);

#endif
