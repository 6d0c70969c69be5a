/*
 * idx.c - the IDX format of the MNIST family (images 0x00000803, labels
 * 0x00000801), plain or gzip-compressed (zlib reads both). Sizes come from
 * the header, but memory grows only as data really arrives, so a crafted
 * header cannot make us allocate what the file does not hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

typedef struct idx_file {
    const char *path;
    gzFile gz;
    size_t size; /* of the file, compressed or not */
} idx_file;

static ot_status idx_open(idx_file *f, const char *path)
{
    f->path = path;
    f->gz = NULL;
    /* not blocking: a FIFO would wait in open() for a writer forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ot__fail(OT_IO_ERROR, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return ot__fail(OT_IO_ERROR, "%s: cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ot__fail(OT_IO_ERROR, "%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    errno = 0;
    f->gz = gzdopen(fd, "rb");
    if (f->gz == NULL) {
        close(fd);
        return ot__fail(OT_IO_ERROR, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "out of memory");
    }
    return OT_OK;
}

/* Reads up to len bytes; returns the count read or -1 with the error set. */
static long long idx_read(idx_file *f, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done;
        if (chunk > (1u << 30))
            chunk = 1u << 30;
        int r = gzread(f->gz, (unsigned char *)buf + done, (unsigned)chunk);
        if (r < 0) {
            int err;
            const char *msg = gzerror(f->gz, &err);
            ot__fail(OT_BAD_FORMAT, "%s: corrupt data: %s", f->path,
                     err == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (r == 0) {
            /* zlib reports a cut gzip stream at the end of input too. */
            int err;
            const char *msg = gzerror(f->gz, &err);
            if (err != Z_OK && err != Z_STREAM_END) {
                ot__fail(OT_BAD_FORMAT, "%s: corrupt data: %s", f->path, msg);
                return -1;
            }
            break;
        }
        done += (size_t)r;
    }
    return (long long)done;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* Reads the magic and the dims; checks the magic against `magic`. */
static ot_status idx_header(idx_file *f, uint32_t magic, uint32_t *dims,
                            int ndims)
{
    unsigned char h[4 * 4];
    size_t len = 4 + 4 * (size_t)ndims;
    long long r = idx_read(f, h, len);
    if (r < 0)
        return OT_BAD_FORMAT;
    if ((size_t)r < 4)
        return ot__fail(OT_BAD_FORMAT,
                        "%s: truncated header: %lld bytes, expected %zu",
                        f->path, r, len);
    uint32_t got = be32(h);
    if (got != magic)
        return ot__fail(OT_BAD_FORMAT, "%s: bad magic 0x%08x, expected 0x%08x",
                        f->path, got, magic);
    if ((size_t)r < len)
        return ot__fail(OT_BAD_FORMAT,
                        "%s: truncated header: %lld bytes, expected %zu",
                        f->path, r, len);
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        if (dims[i] == 0)
            return ot__fail(OT_BAD_FORMAT, "%s: dimension %d is 0", f->path,
                            i + 1);
    }
    return OT_OK;
}

/* Reads exactly `declared` payload bytes into a buffer that grows with the
 * data; refuses a short file and trailing data, and before reading, a size
 * the file cannot hold (deflate packs at most 1032 bytes into one) or that
 * makes `need` bytes in all, more than the memory limit. */
static ot_status idx_payload(idx_file *f, size_t declared, size_t need, unsigned char **out)
{
    if (declared / 1032 > f->size)
        return ot__fail(OT_BAD_FORMAT, "%s: the header declares %zu bytes, more than a "
                        "%zu-byte file can hold even compressed", f->path, declared, f->size);
    if (need > ot_memory_limit())
        return ot__fail(OT_OUT_OF_MEMORY, "%s: the header declares %zu bytes, which need "
                        "%.3g GB, more than the memory limit of %.3g GB (raise it with "
                        "ot_set_memory_limit, or --max-memory)", f->path, declared,
                        (double)need / 1e9, (double)ot_memory_limit() / 1e9);
    size_t cap = declared < ((size_t)1 << 20) ? declared : ((size_t)1 << 20);
    size_t have = 0;
    ot_status status = OT_BAD_FORMAT;
    unsigned char *buf = ot__alloc(cap, 1, f->path);
    if (buf == NULL)
        return OT_OUT_OF_MEMORY;
    for (;;) {
        long long r = idx_read(f, buf + have, cap - have);
        if (r < 0)
            goto fail;
        have += (size_t)r;
        if (have < cap) {
            ot__fail(OT_BAD_FORMAT,
                     "%s: truncated: the header declares %zu data bytes, the "
                     "file holds %zu",
                     f->path, declared, have);
            goto fail;
        }
        if (have == declared)
            break;
        size_t ncap = cap > declared / 2 ? declared : cap * 2;
        unsigned char *nbuf = ot__alloc(ncap, 1, f->path);
        if (nbuf == NULL) {
            status = OT_OUT_OF_MEMORY;
            goto fail;
        }
        memcpy(nbuf, buf, have);
        ot__free(buf);
        buf = nbuf;
        cap = ncap;
    }
    unsigned char extra;
    long long r = idx_read(f, &extra, 1);
    if (r < 0)
        goto fail;
    if (r > 0) {
        ot__fail(OT_BAD_FORMAT,
                 "%s: more data than the header declares (%zu bytes)", f->path,
                 declared);
        goto fail;
    }
    *out = buf;
    return OT_OK;
fail:
    ot__free(buf);
    return status;
}

static ot_status read_images(const char *path, size_t *n, size_t *dim,
                             uint8_t **pixels_out)
{
    idx_file f;
    ot_status status = idx_open(&f, path);
    unsigned char *raw = NULL;
    if (status != OT_OK)
        return status;
    uint32_t d[3];
    if ((status = idx_header(&f, IDX_IMAGES_MAGIC, d, 3)) != OT_OK)
        goto done;
    size_t pixels = (size_t)d[1] * d[2]; /* < 2^64 */
    if (pixels > ((size_t)1 << 24) || (size_t)d[0] > SIZE_MAX / 4 / pixels) {
        status = ot__fail(OT_BAD_FORMAT, "%s: absurd size %u x %u x %u", path,
                          d[0], d[1], d[2]);
        goto done;
    }
    size_t bytes = (size_t)d[0] * pixels;
    if ((status = idx_payload(&f, bytes, bytes, &raw)) != OT_OK)
        goto done;
    /* kept as bytes: the dataset's features are b / 255 (dataset.h) */
    *n = d[0];
    *dim = pixels;
    *pixels_out = raw;
    raw = NULL;
done:
    ot__free(raw);
    gzclose(f.gz);
    return status;
}

static ot_status read_labels(const char *path, size_t *n, int32_t **y)
{
    idx_file f;
    ot_status status = idx_open(&f, path);
    unsigned char *raw = NULL;
    if (status != OT_OK)
        return status;
    uint32_t d[1];
    if ((status = idx_header(&f, IDX_LABELS_MAGIC, d, 1)) != OT_OK)
        goto done;
    /* the bytes, then the labels as int32 */
    if ((status = idx_payload(&f, d[0], (size_t)d[0] * 5, &raw)) != OT_OK)
        goto done;
    int32_t *lab = ot__alloc(d[0], sizeof(int32_t), "labels");
    if (lab == NULL) {
        status = OT_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t i = 0; i < d[0]; i++)
        lab[i] = raw[i];
    *n = d[0];
    *y = lab;
done:
    ot__free(raw);
    gzclose(f.gz);
    return status;
}

ot_status ot_dataset_load_idx(ot_dataset **out, const char *images_path,
                              const char *labels_path)
{
    if (out == NULL || images_path == NULL || labels_path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load_idx: NULL argument");
    *out = NULL;
    size_t n = 0, dim = 0, nl = 0;
    uint8_t *x = NULL;
    int32_t *y = NULL;
    ot_status status = read_images(images_path, &n, &dim, &x);
    if (status != OT_OK)
        return status;
    status = read_labels(labels_path, &nl, &y);
    if (status != OT_OK) {
        ot__free(x);
        return status;
    }
    if (nl != n) {
        ot__free(x);
        ot__free(y);
        return ot__fail(OT_BAD_FORMAT, "%s: %zu labels for the %zu images of %s",
                        labels_path, nl, n, images_path);
    }
    return ot__dataset_wrap_pixels(out, n, dim, x, y);
}

/* Finds `<dir>/<split>-<kind>-idx?-ubyte[.gz]` or the ".idx?-ubyte" spelling:
 * 0, or why the first spelling cannot be had (its name in buf). */
static int find_idx(char *buf, size_t size, const char *dir, const char *split,
                    const char *kind, int ndims)
{
    static const char *const forms[] = {"%s/%s-%s-idx%d-ubyte",
                                        "%s/%s-%s-idx%d-ubyte.gz",
                                        "%s/%s-%s.idx%d-ubyte",
                                        "%s/%s-%s.idx%d-ubyte.gz"};
    int err = ENOENT;
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        int len = snprintf(buf, size, forms[i], dir, split, kind, ndims);
        if (len > 0 && (size_t)len < size && access(buf, F_OK) == 0)
            return 0;
        if (i == 0)
            err = errno; /* ELOOP, EACCES, ENOTDIR: say so, not "no such file" */
    }
    snprintf(buf, size, forms[0], dir, split, kind, ndims);
    return err ? err : ENOENT;
}

ot_status ot_dataset_load_idx_dir(ot_dataset **out, const char *dir,
                                  const char *split)
{
    if (out == NULL || dir == NULL || split == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load_idx_dir: NULL argument");
    *out = NULL;
    char images[4096], labels[4096];
    int err = find_idx(images, sizeof images, dir, split, "images", 3);
    const char *which = images;
    if (err == 0) {
        err = find_idx(labels, sizeof labels, dir, split, "labels", 1);
        which = labels;
    }
    if (err != 0)
        return ot__fail(OT_IO_ERROR, "%s: cannot open: %s", which,
                        err == ENOENT ? "no such file (nor .gz)" : strerror(err));
    return ot_dataset_load_idx(out, images, labels);
}
