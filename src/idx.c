/*
 * idx.c - the IDX format of the MNIST family (images 0x00000803, labels
 * 0x00000801), plain or gzip-compressed (zlib reads both). Sizes come from
 * the header, but memory grows only as data really arrives, so a crafted
 * header cannot make us allocate what the file does not hold. Streamed,
 * the images are read by offset: from the file, or from its decompressed
 * copy in the cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cache.h"
#include "dataset.h"
#include "fileio.h"
#include "stream.h"

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

/* The images and labels files of `split` in dir (4096 bytes each). */
static ot_status find_pair(const char *dir, const char *split, char *images, char *labels)
{
    int err = find_idx(images, 4096, dir, split, "images", 3);
    const char *which = images;
    if (err == 0) {
        err = find_idx(labels, 4096, dir, split, "labels", 1);
        which = labels;
    }
    if (err != 0)
        return ot__fail(OT_IO_ERROR, "%s: cannot open: %s", which,
                        err == ENOENT ? "no such file (nor .gz)" : strerror(err));
    return OT_OK;
}

ot_status ot_dataset_load_idx_dir(ot_dataset **out, const char *dir,
                                  const char *split)
{
    if (out == NULL || dir == NULL || split == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "load_idx_dir: NULL argument");
    *out = NULL;
    char images[4096], labels[4096];
    ot_status status = find_pair(dir, split, images, labels);
    return status == OT_OK ? ot_dataset_load_idx(out, images, labels) : status;
}

/* Opens path (already checked) for reading by offset: the plain file must
 * hold the header and exactly `bytes` after it. */
static ot_status open_plain(const char *path, const char *named, size_t bytes,
                            struct ot__source *src)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        ot_status status = ot__fail(OT_IO_ERROR, "%s: cannot open: %s", path,
                                    strerror(errno));
        if (fd >= 0)
            close(fd);
        return status;
    }
    if ((uint64_t)st.st_size != 16 + (uint64_t)bytes) {
        close(fd);
        return ot__fail(OT_BAD_FORMAT, "%s: %s: the header declares %zu data bytes, the "
                        "file holds %lld", named, (uint64_t)st.st_size < 16 + bytes ?
                        "truncated" : "more data than the header declares", bytes,
                        (long long)st.st_size - 16);
    }
    src->fd = fd;
    src->offset = 16;
    ot__source_map(src, (size_t)st.st_size);
    src->id = ot__source_fingerprint(fd, (uint64_t)st.st_size);
    snprintf(src->name, sizeof src->name, "%s", path);
    return OT_OK;
}

/* Decompresses the rest of f (the header read: h, 16 bytes) into `copy`,
 * atomically: exactly `bytes` of data, as the in-memory reader wants. */
static ot_status decompress(idx_file *f, const unsigned char *h, size_t bytes,
                            const char *copy)
{
    ot__atomic a;
    ot_status status = ot__atomic_open(&a, copy);
    if (status != OT_OK)
        return status;
    const size_t cap = (size_t)1 << 20;
    unsigned char *buf = ot__alloc(cap, 1, "decompression");
    status = buf ? ot__atomic_write(&a, h, 16) : OT_OUT_OF_MEMORY;
    size_t have = 0;
    while (status == OT_OK && have <= bytes) {
        long long r = idx_read(f, buf, cap);
        if (r < 0)
            status = OT_BAD_FORMAT;
        else if (r == 0)
            break;
        else if ((have += (size_t)r) <= bytes)
            status = ot__atomic_write(&a, buf, (size_t)r);
    }
    if (status == OT_OK && have != bytes)
        status = ot__fail(OT_BAD_FORMAT, "%s: %s: the header declares %zu data bytes, the "
                          "file holds %zu", f->path, have < bytes ? "truncated"
                          : "more data than the header declares", bytes, have);
    ot__free(buf);
    if (status != OT_OK) {
        ot__atomic_abort(&a);
        return status;
    }
    return ot__atomic_commit(&a);
}

static ot_status stream_images(const char *path, const char *cache_dir,
                               struct ot__source *src, size_t *n, size_t *dim)
{
    idx_file f;
    ot_status status = idx_open(&f, path);
    if (status != OT_OK)
        return status;
    uint32_t d[3];
    if ((status = idx_header(&f, IDX_IMAGES_MAGIC, d, 3)) != OT_OK)
        goto done;
    size_t pixels = (size_t)d[1] * d[2];
    if (pixels > ((size_t)1 << 24) || (size_t)d[0] > SIZE_MAX / 4 / pixels) {
        status = ot__fail(OT_BAD_FORMAT, "%s: absurd size %u x %u x %u", path, d[0], d[1],
                          d[2]);
        goto done;
    }
    const size_t bytes = (size_t)d[0] * pixels;
    *n = d[0];
    *dim = pixels;
    src->row_bytes = pixels;
    src->pixels = 1;
    if (gzdirect(f.gz)) { /* not compressed: read where it is */
        status = open_plain(path, path, bytes, src);
        goto done;
    }
    char copy[4096];
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    status = fd < 0 ? ot__fail(OT_IO_ERROR, "%s: cannot open: %s", path, strerror(errno))
                    : ot__cache_path(copy, sizeof copy, cache_dir, path, fd, NULL, 0,
                                     ".idx3-ubyte");
    if (fd >= 0)
        close(fd);
    if (status != OT_OK)
        goto done;
    if (access(copy, F_OK) != 0) { /* made once; a copy is whole or absent */
        unsigned char h[16] = {0, 0, 8, 3};
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 4; k++)
                h[4 + 4 * i + k] = (unsigned char)(d[i] >> (24 - 8 * k));
        if ((status = decompress(&f, h, bytes, copy)) != OT_OK)
            goto done;
    }
    status = open_plain(copy, path, bytes, src);
done:
    gzclose(f.gz);
    return status;
}

ot_status ot_dataset_stream_idx(ot_dataset **out, const char *images_path,
                                const char *labels_path, const char *cache_dir)
{
    if (out == NULL || images_path == NULL || labels_path == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "stream_idx: NULL argument");
    *out = NULL;
    struct ot__source *src = ot__calloc(1, sizeof *src, "stream source");
    if (src == NULL)
        return OT_OUT_OF_MEMORY;
    src->fd = -1;
    size_t n = 0, dim = 0, nl = 0;
    int32_t *y = NULL;
    ot_status status = stream_images(images_path, cache_dir, src, &n, &dim);
    if (status == OT_OK)
        status = read_labels(labels_path, &nl, &y);
    if (status == OT_OK && nl != n)
        status = ot__fail(OT_BAD_FORMAT, "%s: %zu labels for the %zu images of %s",
                          labels_path, nl, n, images_path);
    if (status != OT_OK) {
        ot__source_close(src);
        ot__free(y);
        return status;
    }
    return ot__dataset_streamed(out, src, n, dim, y, NULL, 0);
}

ot_status ot_dataset_stream_idx_dir(ot_dataset **out, const char *dir, const char *split,
                                    const char *cache_dir)
{
    if (out == NULL || dir == NULL || split == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "stream_idx_dir: NULL argument");
    *out = NULL;
    char images[4096], labels[4096];
    ot_status status = find_pair(dir, split, images, labels);
    return status == OT_OK ? ot_dataset_stream_idx(out, images, labels, cache_dir) : status;
}
