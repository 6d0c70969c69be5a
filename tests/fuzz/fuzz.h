/*
 * fuzz.h - shared by the fuzz targets: hands the input to the library as a
 * file (an in-memory memfd, opened through /proc/self/fd), so that the real
 * readers run unchanged.
 */
#ifndef OT_FUZZ_H
#define OT_FUZZ_H

#define _GNU_SOURCE 1 /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* A readable path holding data[0..n); close(*fd) when done. */
static inline int fuzz_file(const uint8_t *data, size_t n, char *path, size_t size, int *fd)
{
    *fd = memfd_create("omptrain-fuzz", 0);
    if (*fd < 0)
        return 0;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(*fd, data + done, n - done);
        if (w <= 0) {
            close(*fd);
            return 0;
        }
        done += (size_t)w;
    }
    snprintf(path, size, "/proc/self/fd/%d", *fd);
    return 1;
}

#endif
