/*
 * outfile.c - files the command line and the benchmark write: into a
 * temporary file beside the path, then fsync and rename, so that a run
 * that fails half-way leaves the previous file whole and no partial one.
 * The file gets the mode the umask allows, as a file made by fopen would;
 * a path that is a device, a FIFO or a folder is refused, not replaced.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_check_output(const char *flag, const char *path)
{
    struct stat st;
    if (path[0] == '\0') {
        cli_error("%s: empty path", flag);
        return 0;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        cli_error("%s: %s: %s", flag, path,
                  S_ISDIR(st.st_mode) ? "a folder, not a file" : "not a regular file");
        return 0;
    }
    const char *sep = strrchr(path, '/');
    char folder[4096];
    snprintf(folder, sizeof folder, "%.*s", sep == NULL ? 1 : sep == path ? 1 : (int)(sep - path),
             sep == NULL ? "." : path);
    if (access(folder, W_OK | X_OK) != 0) {
        cli_error("%s: %s: cannot write in %s: %s", flag, path, folder, strerror(errno));
        return 0;
    }
    return 1;
}

int cli_file_open(cli_file *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EPERM; /* a device or FIFO: never replaced */
        return 0;
    }
    size_t len = strlen(path) + 16;
    if ((o->tmp = malloc(len)) == NULL) {
        errno = ENOMEM;
        return 0;
    }
    /* "<name>.tmp.XXXXXX", the name cut so that it stays within NAME_MAX */
    const char *sep = strrchr(path, '/');
    size_t base = sep ? (size_t)(sep - path) + 1 : 0, keep = strlen(path) - base;
    if (keep > NAME_MAX - 11)
        keep = NAME_MAX - 11;
    snprintf(o->tmp, len, "%.*s.tmp.XXXXXX", (int)(base + keep), path);
    int fd = mkstemp(o->tmp);
    if (fd >= 0 && (o->f = fdopen(fd, "w")) != NULL)
        return 1;
    int err = errno;
    if (fd >= 0) {
        close(fd);
        unlink(o->tmp);
    }
    free(o->tmp);
    o->tmp = NULL;
    errno = err;
    return 0;
}

int cli_file_commit(cli_file *o)
{
    mode_t mask = umask(0);
    umask(mask);
    int ok = fflush(o->f) == 0 && !ferror(o->f) &&
             fchmod(fileno(o->f), 0666 & ~mask) == 0 && fsync(fileno(o->f)) == 0;
    int err = errno;
    ok = fclose(o->f) == 0 && ok;
    if (ok && rename(o->tmp, o->path) != 0)
        ok = 0;
    else if (!ok)
        errno = err;
    if (!ok) {
        err = errno;
        unlink(o->tmp);
        errno = err;
    }
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return ok;
}

void cli_file_abandon(cli_file *o)
{
    if (o->f != NULL) {
        fclose(o->f);
        unlink(o->tmp);
    }
    free(o->tmp);
    memset(o, 0, sizeof *o);
}
