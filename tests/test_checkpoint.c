/*
 * test_checkpoint.c - save and load: exact round trip (weights, optimizer
 * state, step count), the same bytes for the same model, atomic writes that
 * leave the previous file intact on failure, and refusal of corrupted,
 * truncated, foreign and future files.
 */
#define _DEFAULT_SOURCE /* flock */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>

#include "helpers.h"
#include "src/common.h"
#include "src/fileio.h"
#include "src/model.h"

static char dir[256], path[300];

static void setup(void)
{
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/model.otm", dir);
}

TestSuite(checkpoint, .init = setup);

static ot_model *trained(void)
{
    ot_layer l[] = {OT_DENSE(12, OT_ACTIVATION_RELU), OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 10, l, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_dataset *d = th_blobs(90, 10, 3, 2);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.batch_size = 16;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_OK);
    ot_dataset_destroy(d);
    return m;
}

static size_t file_bytes(const char *p, unsigned char *buf, size_t cap)
{
    return th_read(p, buf, cap);
}

static int count_files(void)
{
    DIR *dd = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL)
        n += e->d_name[0] != '.';
    closedir(dd);
    return n;
}

Test(checkpoint, round_trip_is_exact)
{
    ot_model *m = trained();
    cr_assert_eq(ot_model_save(m, path), OT_OK, "%s", ot_last_error());
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_param_count(k), ot_model_param_count(m));
    cr_assert_eq(ot_model_layer_count(k), 2);
    ot_layer l;
    cr_assert_eq(ot_model_layer(k, 0, &l), OT_OK);
    cr_assert(l.units == 12 && l.activation == OT_ACTIVATION_RELU);
    cr_assert(memcmp(m->params, k->params, m->arena_len * sizeof(float)) == 0);
    cr_assert(k->compiled && k->opt.cfg.kind == OT_OPTIMIZER_ADAM);
    cr_assert_eq(k->opt.iterations, m->opt.iterations);
    cr_assert_eq(k->opt.iterations, 12); /* 2 epochs x ceil(90 / 16) */
    cr_assert(memcmp(m->opt.state, k->opt.state, 2 * m->arena_len * sizeof(float)) == 0);
    ot_model_destroy(m);
    ot_model_destroy(k);
}

/* A model saved to a buffer holds the file's bytes, and loads back from it
 * with the same checks: a changed byte is refused, the buffer only read. */
Test(checkpoint, a_buffer_holds_the_files_bytes)
{
    ot_model *m = trained();
    cr_assert_eq(ot_model_save(m, path), OT_OK, "%s", ot_last_error());
    static unsigned char file[1 << 16];
    size_t n = file_bytes(path, file, sizeof file);
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ot_model_save_to_buffer(m, &buf, &len), OT_OK, "%s", ot_last_error());
    cr_assert(len == n && memcmp(buf, file, n) == 0, "the buffer is not the file's bytes");
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load_from_buffer(&k, buf, len), OT_OK, "%s", ot_last_error());
    cr_assert(memcmp(m->params, k->params, m->arena_len * sizeof(float)) == 0);
    cr_assert_eq(k->opt.iterations, m->opt.iterations);
    ot_model_destroy(k);
    ((unsigned char *)buf)[len / 2] ^= 1;
    cr_assert_eq(ot_model_load_from_buffer(&k, buf, len), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "model buffer") != NULL, "%s", ot_last_error());
    cr_assert_null(k);
    cr_assert_eq(ot_model_load_from_buffer(&k, buf, 5), OT_BAD_FORMAT);
    cr_assert_eq(ot_model_load_from_buffer(&k, NULL, len), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_save_to_buffer(NULL, &buf, &len), OT_INVALID_ARGUMENT);
    ot_buffer_free(buf);
    ot_buffer_free(NULL);
    ot_model_destroy(m);
}

Test(checkpoint, same_model_same_bytes)
{
    ot_model *m = trained();
    char other[320];
    snprintf(other, sizeof other, "%s/again.otm", dir);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    cr_assert_eq(ot_model_save(m, other), OT_OK);
    static unsigned char a[1 << 16], b[1 << 16];
    size_t na = file_bytes(path, a, sizeof a), nb = file_bytes(other, b, sizeof b);
    cr_assert(na > 0 && na == nb && memcmp(a, b, na) == 0);
    /* and a trained-again model (same seed, same everything) too */
    ot_model *m2 = trained();
    cr_assert_eq(ot_model_save(m2, other), OT_OK);
    nb = file_bytes(other, b, sizeof b);
    cr_assert(na == nb && memcmp(a, b, na) == 0);
    ot_model_destroy(m);
    ot_model_destroy(m2);
}

static void expect_refused(const unsigned char *bytes, size_t n, const char *needle)
{
    th_write(path, bytes, n, 0);
    ot_model *k = (ot_model *)1;
    ot_status st = ot_model_load(&k, path);
    cr_assert_eq(st, OT_BAD_FORMAT, "status %s: %s", ot_status_str(st), ot_last_error());
    cr_assert_null(k);
    cr_assert(strstr(ot_last_error(), needle) != NULL, "'%s' lacks '%s'", ot_last_error(),
              needle);
}

Test(checkpoint, corrupted_truncated_foreign_future)
{
    ot_model *m = trained();
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    static unsigned char buf[1 << 16];
    size_t n = file_bytes(path, buf, sizeof buf);
    buf[n / 2] ^= 0x10;
    expect_refused(buf, n, "checksum mismatch");
    buf[n / 2] ^= 0x10;
    expect_refused(buf, n - 9, "checksum mismatch");
    expect_refused(buf, 20, "truncated");
    expect_refused((const unsigned char *)"hello, world\n", 13, "not an omptrain model");
    expect_refused(buf, 0, "not an omptrain model");
    buf[8] = 9; /* version */
    expect_refused(buf, n, "format version 9");
    ot_model_destroy(m);
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, "/nonexistent/model.otm"), OT_IO_ERROR);
    cr_assert(strstr(ot_last_error(), "No such file") != NULL);
}

Test(checkpoint, failed_save_leaves_previous_file_intact)
{
    ot_model *m = trained();
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    static unsigned char before[1 << 16], after[1 << 16];
    size_t nb = file_bytes(path, before, sizeof before);
    /* a different model, whose save dies half-way as on a full disk */
    ot_layer l[] = {OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_model *other = NULL;
    cr_assert_eq(ot_model_create(&other, 10, l, 1, 9), OT_OK);
    ot__write_fail_after(50);
    ot_status st = ot_model_save(other, path);
    cr_assert_eq(st, OT_IO_ERROR, "%s", ot_status_str(st));
    cr_assert(strstr(ot_last_error(), "No space left") != NULL, "%s", ot_last_error());
    size_t na = file_bytes(path, after, sizeof after);
    cr_assert(na == nb && memcmp(before, after, nb) == 0, "the previous file changed");
    cr_assert_eq(count_files(), 1, "a temporary file was left behind");
    /* a folder that does not exist */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/no/such/folder/m.otm", dir);
    cr_assert_eq(ot_model_save(m, bad), OT_IO_ERROR);
    cr_assert(strstr(ot_last_error(), bad) != NULL);
    ot_model_destroy(m);
    ot_model_destroy(other);
}

/* What a save may and may not replace, and what it leaves: a FIFO or a
 * device stays what it is; the file gets the mode the umask allows; a name
 * of 254 bytes can be saved (the temporary's is cut to NAME_MAX); the
 * temporaries of killed saves of the same name are removed, but not one a
 * live writer holds, nor one just made. */
Test(checkpoint, saves_replace_only_files_honour_the_umask_and_clean_up)
{
    ot_model *m = trained();
    char p[600];
    snprintf(p, sizeof p, "%s/fifo", dir);
    cr_assert_eq(mkfifo(p, 0600), 0);
    cr_assert_eq(ot_model_save(m, p), OT_IO_ERROR);
    cr_assert(strstr(ot_last_error(), "not a regular file") != NULL, "%s", ot_last_error());
    struct stat st;
    cr_assert(stat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    cr_assert_eq(ot_model_save(m, "/dev/null"), OT_IO_ERROR);
    mode_t old = umask(077);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    cr_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode %o under umask 077",
              (unsigned)(st.st_mode & 0777));
    umask(022);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    cr_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "mode %o under umask 022",
              (unsigned)(st.st_mode & 0777));
    umask(old);
    char name[255];
    memset(name, 'n', 254);
    name[254] = '\0';
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert_eq(ot_model_save(m, p), OT_OK, "%s", ot_last_error());
    /* three temporaries of model.otm: killed long ago, held, just made */
    char stale[400], held[400], fresh[400];
    snprintf(stale, sizeof stale, "%s.tmp.AAAAAA", path);
    snprintf(held, sizeof held, "%s.tmp.BBBBBB", path);
    snprintf(fresh, sizeof fresh, "%s.tmp.CCCCCC", path);
    th_write(stale, "x", 1, 0);
    th_write(held, "x", 1, 0);
    th_write(fresh, "x", 1, 0);
    struct timespec long_ago[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    cr_assert_eq(utimensat(AT_FDCWD, stale, long_ago, 0), 0);
    cr_assert_eq(utimensat(AT_FDCWD, held, long_ago, 0), 0);
    int fd = open(held, O_RDONLY);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    cr_assert_neq(access(stale, F_OK), 0, "a killed save's temporary stayed");
    cr_assert_eq(access(held, F_OK), 0, "a live writer's temporary was removed");
    cr_assert_eq(access(fresh, F_OK), 0, "a temporary just made was removed");
    close(fd);
    ot_model_destroy(m);
}

Test(checkpoint, uncompiled_model_round_trips)
{
    ot_layer l[] = {OT_DENSE(4, OT_ACTIVATION_SIGMOID), OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 3, l, 2, 1), OT_OK);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    ot_model *k = NULL;
    cr_assert_eq(ot_model_load(&k, path), OT_OK);
    cr_assert(!k->compiled);
    cr_assert(memcmp(m->params, k->params, m->arena_len * sizeof(float)) == 0);
    ot_model_destroy(m);
    ot_model_destroy(k);
}

/* A file with a valid checksum whose header declares a 2^24 x 2^24 layer:
 * refused from its size, before anything is allocated for it. */
Test(checkpoint, crafted_huge_header_allocates_nothing_large)
{
    unsigned char b[512];
    size_t n = 0;
#define PUT(v, bytes)                                                          \
    do {                                                                       \
        uint64_t v_ = (v);                                                     \
        for (int i_ = 0; i_ < (bytes); i_++)                                   \
            b[n++] = (unsigned char)(v_ >> (8 * i_));                          \
    } while (0)
    memcpy(b, "OMPTRAIN", 8);
    n = 8;
    PUT(1, 4);             /* version */
    PUT(0, 4);
    PUT(1u << 24, 8);      /* input_dim */
    PUT(1, 4);             /* one Dense layer */
    PUT(0, 4);             /* no flatten */
    PUT(1u << 24, 8);      /* units */
    PUT(OT_ACTIVATION_SOFTMAX, 4);
    PUT(OT_INIT_GLOROT_UNIFORM, 4);
    PUT(0, 4);             /* no scaling */
    memset(b + n, 0, 200); /* the rest of the header, zeros */
    n += 200;
    uint32_t crc = (uint32_t)crc32(0L, b, (uInt)n);
    PUT(crc, 4);
#undef PUT
    th_write(path, b, n, 0);
    ot_model *m = (ot_model *)1;
    uint64_t before = ot__alloc_count();
    cr_assert_eq(ot_model_load(&m, path), OT_BAD_FORMAT, "%s", ot_last_error());
    cr_assert_null(m);
    cr_assert(strstr(ot_last_error(), "more parameters than the file") != NULL, "%s",
              ot_last_error());
    /* reading the file itself is the only allocation */
    cr_assert_leq(ot__alloc_count() - before, 1);
}

/* A model file's summary reads its header alone (one allocation, for it),
 * says what the file holds, and refuses a damaged file as a load does. */
Test(checkpoint, a_file_summary_reads_the_header_alone)
{
    char d[256], path[512];
    th_tmpdir(d, sizeof d);
    snprintf(path, sizeof path, "%s/m.otm", d);
    const ot_layer layers[] = {OT_DENSE(300, OT_ACTIVATION_RELU),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, 20, layers, 2, 1), OT_OK);
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam), OT_OK);
    ot_dataset *data = th_blobs(100, 20, 3, 2);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 1;
    fc.batch_size = 16;
    fc.shards = 2;
    fc.threads = 1;
    fc.validation_split = 0.1;
    fc.scaling = OT_SCALING_STANDARD;
    cr_assert_eq(ot_model_fit(m, data, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    uint64_t before = ot__alloc_count();
    cr_assert_eq(ot_model_file_summary(path, f), OT_OK, "%s", ot_last_error());
    cr_assert_leq(ot__alloc_count() - before, 1, "more than the header allocated");
    fclose(f);
    const char *want[] = {"Total params: 7,203", "Loss: sparse_categorical_crossentropy; "
                          "optimizer: adam, learning rate 0.001", "Feature scaling: standard",
                          "Trained: 1 epoch (6 optimizer steps)", "Last fit: batch 16, 2 "
                          "shards, seed 42, shuffled, validation split 0.1, up to epoch 1"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        cr_assert(strstr(text, want[i]) != NULL, "'%s' missing:\n%s", want[i], text);
    free(text);
    /* damaged: every status a load gives, the summary gives */
    static unsigned char b[1 << 16];
    size_t n = th_read(path, b, sizeof b);
    const size_t at[] = {0, 9, 30, 60, 100, n / 2, n - 1};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        b[at[k]] ^= 0x40;
        th_write(path, b, n, 0);
        ot_model *l = NULL;
        ot_status want_st = ot_model_load(&l, path);
        FILE *sink = fopen("/dev/null", "w");
        cr_assert_eq(ot_model_file_summary(path, sink), want_st, "byte %zu", at[k]);
        fclose(sink);
        cr_assert_neq(want_st, OT_OK);
        b[at[k]] ^= 0x40;
    }
    th_write(path, b, n / 3, 0); /* cut short */
    cr_assert_eq(ot_model_file_summary(path, stdout), OT_BAD_FORMAT);
    cr_assert_eq(ot_model_file_summary(d, stdout), OT_IO_ERROR);
    cr_assert_eq(ot_model_file_summary(NULL, stdout), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_model_file_summary(path, NULL), OT_INVALID_ARGUMENT);
    ot_model_destroy(m);
    ot_dataset_destroy(data);
}
