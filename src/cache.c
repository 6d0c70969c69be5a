/*
 * cache.c - the cache of streamed data (cache.h).
 */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "rng.h"

/* mkdir -p of path (modified in place, restored). */
static ot_status make_dirs(char *path)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int rc = mkdir(path, 0777);
        int err = errno;
        *p = c;
        if (rc != 0 && err != EEXIST)
            return ot__fail(OT_IO_ERROR, "cache: cannot make %.*s: %s", (int)(p - path),
                            path, strerror(err));
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return ot__fail(OT_IO_ERROR, "cache: %s is not a folder", path);
    return OT_OK;
}

ot_status ot__cache_path(char *buf, size_t size, const char *cache_dir, const char *src,
                         int fd, const void *key, size_t key_len, const char *ext)
{
    char dir[PATH_MAX];
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int len;
    if (cache_dir != NULL)
        len = snprintf(dir, sizeof dir, "%s", cache_dir);
    else if (xdg != NULL && xdg[0] == '/')
        len = snprintf(dir, sizeof dir, "%s/omptrain", xdg);
    else if (home != NULL && home[0] != '\0')
        len = snprintf(dir, sizeof dir, "%s/.cache/omptrain", home);
    else
        return ot__fail(OT_IO_ERROR, "cache: no folder for %s's copy (neither "
                        "XDG_CACHE_HOME nor HOME is set): give one", src);
    if (len <= 0 || (size_t)len >= sizeof dir)
        return ot__fail(OT_INVALID_ARGUMENT, "cache: the folder's name is too long");
    ot_status st = make_dirs(dir);
    if (st != OT_OK)
        return st;
    struct stat s;
    if (fstat(fd, &s) != 0)
        return ot__fail(OT_IO_ERROR, "%s: cannot stat: %s", src, strerror(errno));
    char abs[PATH_MAX];
    if (realpath(src, abs) == NULL)
        snprintf(abs, sizeof abs, "%s", src);
    unsigned char head[1 << 16];
    ssize_t got = pread(fd, head, sizeof head, 0);
    uint64_t id[3] = {(uint64_t)s.st_size, (uint64_t)s.st_mtim.tv_sec,
                      (uint64_t)s.st_mtim.tv_nsec};
    uint64_t h = ot__hash_bytes(0x6f6d70747261696eULL, abs, strlen(abs));
    h = ot__hash_bytes(h, id, sizeof id);
    h = ot__hash_bytes(h, head, got > 0 ? (size_t)got : 0);
    h = ot__hash_bytes(h, key, key_len);
    const char *base = strrchr(src, '/');
    base = base ? base + 1 : src;
    len = snprintf(buf, size, "%s/%.100s.%016llx%s", dir, base, (unsigned long long)h, ext);
    if (len <= 0 || (size_t)len >= size)
        return ot__fail(OT_INVALID_ARGUMENT, "cache: the copy's name is too long");
    return OT_OK;
}
