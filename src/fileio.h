/*
 * fileio.h - whole-file reads and atomic writes. Not installed.
 */
#ifndef OT_FILEIO_H
#define OT_FILEIO_H

#include "common.h"

/* Writes len bytes to path atomically: a temporary file in the same folder,
 * fsync, rename over path, fsync of the folder. On failure the temporary is
 * removed and any previous file at path is untouched. */
ot_status ot__write_file_atomic(const char *path, const void *data, size_t len);

/* The same written in parts: open, write any number of times, then commit
 * (or abort, which leaves nothing). */
typedef struct ot__atomic {
    const char *path; /* borrowed until commit or abort */
    char *tmp;
    int fd;
    size_t keep;
} ot__atomic;
ot_status ot__atomic_open(ot__atomic *a, const char *path);
ot_status ot__atomic_write(ot__atomic *a, const void *data, size_t len);
/* Overwrites len bytes at offset off of what was written. */
ot_status ot__atomic_pwrite(ot__atomic *a, const void *data, size_t len, uint64_t off);
ot_status ot__atomic_commit(ot__atomic *a);
void ot__atomic_abort(ot__atomic *a);

/* Reads the whole of path (at most max_len bytes, else BAD_FORMAT) into a
 * new buffer; with `text`, a NUL byte in its first 64 KiB refuses it as
 * binary before the rest is read. Anything but a regular file is refused
 * without waiting (a FIFO). */
ot_status ot__read_file(const char *path, size_t max_len, int text, unsigned char **data,
                        size_t *len);

/* Test hook: the next atomic write fails after writing this many bytes, as a
 * full disk would (SIZE_MAX disables). */
void ot__write_fail_after(size_t bytes);

#endif
