/*
 * fileio.c - whole-file reads and atomic writes (temporary file, fsync,
 * rename, fsync of the folder), so that nothing is ever half-written.
 */
#define _DEFAULT_SOURCE /* flock */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

static atomic_size_t write_fail_after = SIZE_MAX;

void ot__write_fail_after(size_t bytes) { atomic_store(&write_fail_after, bytes); }

static ot_status write_all(int fd, const char *path, const unsigned char *p,
                           size_t len)
{
    size_t limit = atomic_exchange(&write_fail_after, SIZE_MAX);
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done;
        if (limit != SIZE_MAX && done + chunk > limit) {
            chunk = limit > done ? limit - done : 0;
            if (chunk == 0) {
                errno = ENOSPC;
                return ot__fail(OT_IO_ERROR, "%s: write failed: %s", path,
                                strerror(errno));
            }
        }
        ssize_t w = write(fd, p + done, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ot__fail(OT_IO_ERROR, "%s: write failed: %s", path,
                            strerror(errno));
        }
        done += (size_t)w;
    }
    return OT_OK;
}

/* The process's umask, read without changing it (umask() would, for a
 * moment, for every thread). */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[128];
    unsigned mask = 0;
    int found = 0;
    while (f != NULL && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "Umask: %o", &mask) == 1;
    if (f != NULL)
        fclose(f);
    if (found)
        return (mode_t)mask;
    mode_t m = umask(022); /* no /proc: the racy way */
    umask(m);
    return m;
}

/* Removes the temporaries that saves of this name in folder dfd left when
 * they were killed: those no live writer holds (each holds a lock on its
 * own) and, lest one be taken between its creation and its lock, older
 * than a minute. */
static void remove_stale(int dfd, const char *stem)
{
    DIR *d = fdopendir(dup(dfd));
    if (d == NULL)
        return;
    size_t n = strlen(stem);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, stem, n) != 0 || strlen(e->d_name) != n + 6)
            continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime < time(NULL) - 60 &&
            flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlinkat(dfd, e->d_name, 0);
        close(fd);
    }
    closedir(d);
}

ot_status ot__atomic_open(ot__atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->fd = -1;
    if (path == NULL || path[0] == '\0')
        return ot__fail(OT_INVALID_ARGUMENT, "save: empty path");
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return ot__fail(OT_IO_ERROR, "%s: not a regular file: refusing to replace it", path);
    /* the temporary beside it: "<name>.tmp.XXXXXX", the name cut so that the
     * whole stays within NAME_MAX */
    size_t plen = strlen(path);
    const char *sep = strrchr(path, '/');
    size_t base = sep ? (size_t)(sep - path) + 1 : 0;
    a->keep = plen - base;
    if (a->keep > NAME_MAX - 11)
        a->keep = NAME_MAX - 11;
    a->path = path;
    a->tmp = ot__alloc(plen + 16, 1, "temporary file name");
    if (a->tmp == NULL)
        return OT_OUT_OF_MEMORY;
    snprintf(a->tmp, plen + 16, "%.*s.tmp.XXXXXX", (int)(base + a->keep), path);
    a->fd = mkstemp(a->tmp);
    if (a->fd < 0) {
        ot_status status = ot__fail(OT_IO_ERROR, "%s: cannot create a file there: %s",
                                    path, strerror(errno));
        ot__free(a->tmp);
        a->tmp = NULL;
        return status;
    }
    /* held while it is written: a later save sees this writer alive */
    flock(a->fd, LOCK_EX | LOCK_NB);
    return OT_OK;
}

ot_status ot__atomic_write(ot__atomic *a, const void *data, size_t len)
{
    return write_all(a->fd, a->path, data, len);
}

ot_status ot__atomic_pwrite(ot__atomic *a, const void *data, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(a->fd, (const unsigned char *)data + done, len - done,
                           (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return ot__fail(OT_IO_ERROR, "%s: write failed: %s", a->path, strerror(errno));
        done += (size_t)w;
    }
    return OT_OK;
}

void ot__atomic_abort(ot__atomic *a)
{
    if (a->fd >= 0) {
        close(a->fd);
        unlink(a->tmp);
    }
    ot__free(a->tmp);
    a->tmp = NULL;
    a->fd = -1;
}

ot_status ot__atomic_commit(ot__atomic *a)
{
    const char *path = a->path;
    int fd = a->fd;
    a->fd = -1;
    ot_status status = OT_OK;
    if (fchmod(fd, 0666 & ~current_umask()) != 0)
        status = ot__fail(OT_IO_ERROR, "%s: chmod failed: %s", path,
                          strerror(errno));
    if (status == OT_OK && fsync(fd) != 0)
        status = ot__fail(OT_IO_ERROR, "%s: fsync failed: %s", path,
                          strerror(errno));
    if (close(fd) != 0 && status == OT_OK)
        status = ot__fail(OT_IO_ERROR, "%s: close failed: %s", path,
                          strerror(errno));
    if (status == OT_OK && rename(a->tmp, path) != 0)
        status = ot__fail(OT_IO_ERROR, "%s: rename failed: %s", path,
                          strerror(errno));
    if (status != OT_OK) {
        unlink(a->tmp);
        ot__free(a->tmp);
        a->tmp = NULL;
        return status;
    }
    ot__free(a->tmp);
    a->tmp = NULL;
    /* Make the rename itself durable. */
    size_t plen = strlen(path);
    const char *sep = strrchr(path, '/');
    size_t base = sep ? (size_t)(sep - path) + 1 : 0;
    char *dir = ot__alloc(plen + 1, 1, "folder name");
    if (dir == NULL)
        return OT_OK; /* the file is written; only the folder sync is skipped */
    memcpy(dir, path, plen + 1);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        /* and the temporaries of this name that killed saves left */
        char stem[NAME_MAX + 1];
        snprintf(stem, sizeof stem, "%.*s.tmp.", (int)a->keep, path + base);
        remove_stale(dfd, stem);
        close(dfd);
    }
    ot__free(dir);
    return OT_OK;
}

ot_status ot__write_file_atomic(const char *path, const void *data, size_t len)
{
    ot__atomic a;
    ot_status status = ot__atomic_open(&a, path);
    if (status == OT_OK)
        status = ot__atomic_write(&a, data, len);
    if (status != OT_OK) {
        ot__atomic_abort(&a);
        return status;
    }
    return ot__atomic_commit(&a);
}

ot_status ot__read_file(const char *path, size_t max_len, int text, unsigned char **data,
                        size_t *len)
{
    /* not blocking: a FIFO would wait in open() for a writer forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ot__fail(OT_IO_ERROR, "%s: cannot open: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        ot_status s = ot__fail(OT_IO_ERROR, "%s: cannot stat: %s", path,
                               strerror(errno));
        close(fd);
        return s;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ot__fail(OT_IO_ERROR, "%s: not a regular file", path);
    }
    if ((unsigned long long)st.st_size > max_len) {
        close(fd);
        return ot__fail(OT_BAD_FORMAT, "%s: %lld bytes: larger than any valid "
                        "file of this kind (%zu)", path,
                        (long long)st.st_size, max_len);
    }
    size_t size = (size_t)st.st_size;
    if (text) { /* a binary file is told by its first block, not after reading it all */
        unsigned char head[1 << 16];
        ssize_t r = pread(fd, head, sizeof head < size ? sizeof head : size, 0);
        const unsigned char *nul = r > 0 ? memchr(head, '\0', (size_t)r) : NULL;
        if (nul != NULL) {
            close(fd);
            return ot__fail(OT_BAD_FORMAT, "%s: a binary file, not text (a NUL byte at "
                            "offset %zu)", path, (size_t)(nul - head));
        }
    }
    unsigned char *buf = ot__alloc(size, 1, path);
    if (buf == NULL) {
        close(fd);
        return OT_OUT_OF_MEMORY;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t r = read(fd, buf + done, size - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ot_status s = ot__fail(OT_IO_ERROR, "%s: read failed: %s", path,
                                   r < 0 ? strerror(errno) : "file shrank");
            ot__free(buf);
            close(fd);
            return s;
        }
        done += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = size;
    return OT_OK;
}
