/*
 * test_stream.c - streamed datasets: an IDX file read by offset (plain, or
 * gzip through its copy in the cache) and the caller's callbacks give the
 * bits of the same data in memory, in fit, resume, evaluate and predict;
 * reads that fail stop the run with their message.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "helpers.h"
#include "src/dataset.h"

static char dir[256];

static void setup(void) { th_tmpdir(dir, sizeof dir); }

TestSuite(stream, .init = setup);

#define N 600
#define SIDE 8
#define DIM (SIDE * SIDE)
#define CLASSES 4

/* Pixel j of image i: its class's stripe plus noise, so that rows differ
 * and a model learns something. */
static uint8_t pixel(size_t i, size_t j)
{
    uint32_t h = (uint32_t)(i * 2654435761u) ^ (uint32_t)(j * 40503u);
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    uint8_t noise = (uint8_t)(h & 63);
    return (uint8_t)(j / (DIM / CLASSES) == i % CLASSES ? 180 + noise / 2 : noise);
}

/* images.idx3-ubyte and labels.idx1-ubyte in dir (and .gz copies). */
static void write_idx(int gz)
{
    unsigned char *b = malloc(16 + (size_t)N * DIM);
    th_be32(b, 0x803);
    th_be32(b + 4, N);
    th_be32(b + 8, SIDE);
    th_be32(b + 12, SIDE);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < DIM; j++)
            b[16 + i * DIM + j] = pixel(i, j);
    char path[512];
    snprintf(path, sizeof path, "%s/images.idx3-ubyte%s", dir, gz ? ".gz" : "");
    th_write(path, b, 16 + (size_t)N * DIM, gz);
    th_be32(b, 0x801);
    th_be32(b + 4, N);
    for (size_t i = 0; i < N; i++)
        b[8 + i] = (unsigned char)(i % CLASSES);
    snprintf(path, sizeof path, "%s/labels.idx1-ubyte%s", dir, gz ? ".gz" : "");
    th_write(path, b, 8 + N, gz);
    free(b);
}

static void write_csv(const char *name, int header);

/* streamed: 0 in memory, 1 streamed (a small file: mapped), 2 streamed
 * and read by pread (as a file too large to map is: the memory limit below
 * four times the file). */
static ot_dataset *open_idx(int streamed, int gz)
{
    char images[512], labels[512], cache[512];
    snprintf(images, sizeof images, "%s/images.idx3-ubyte%s", dir, gz ? ".gz" : "");
    snprintf(labels, sizeof labels, "%s/labels.idx1-ubyte%s", dir, gz ? ".gz" : "");
    snprintf(cache, sizeof cache, "%s/cache", dir);
    ot_dataset *d = NULL;
    const size_t limit = ot_memory_limit();
    if (streamed == 2)
        ot_set_memory_limit((size_t)N * DIM * 2);
    ot_status st = streamed ? ot_dataset_stream_idx(&d, images, labels, cache)
                            : ot_dataset_load_idx(&d, images, labels);
    ot_set_memory_limit(limit);
    cr_assert_eq(st, OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_is_streamed(d), streamed > 0);
    return d;
}

/* The model file a fit of d writes; the history's last val_loss in *val. */
static const float *fit_weights; /* sample weights of fit_bytes' fits, or NULL */

static unsigned char *fit_bytes(const ot_dataset *d, const ot_layer *layers, size_t L,
                                size_t batch, ot_scaling scaling, size_t *len, double *val)
{
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, DIM, layers, L, 7), OT_OK, "%s", ot_last_error());
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = batch;
    fc.epochs = 2;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_split = 0.2;
    fc.scaling = scaling;
    fc.sample_weight = fit_weights;
    fc.sample_weights = fit_weights ? ot_dataset_size(d) : 0;
    ot_history *h = NULL;
    cr_assert_eq(ot_model_fit(m, d, &fc, &h), OT_OK, "%s", ot_last_error());
    *val = ot_history_epoch(h, ot_history_length(h) - 1)->val_loss;
    ot_history_destroy(h);
    void *buf = NULL;
    cr_assert_eq(ot_model_save_to_buffer(m, &buf, len), OT_OK);
    ot_model_destroy(m);
    return buf;
}

static void expect_same_fit(const ot_dataset *a, const ot_dataset *b, const ot_layer *layers,
                            size_t L, size_t batch, ot_scaling scaling)
{
    size_t la, lb;
    double va, vb;
    unsigned char *x = fit_bytes(a, layers, L, batch, scaling, &la, &va);
    unsigned char *y = fit_bytes(b, layers, L, batch, scaling, &lb, &vb);
    cr_assert(la == lb && memcmp(x, y, la) == 0, "batch %zu: the model files differ", batch);
    cr_assert(va == vb, "val_loss %.17g streamed, %.17g in memory", vb, va);
    ot_buffer_free(x);
    ot_buffer_free(y);
}

Test(stream, an_idx_file_read_by_offset_trains_the_bits_of_memory)
{
    write_idx(0);
    ot_dataset *mem = open_idx(0, 0);
    for (int how = 1; how <= 2; how++) { /* mapped, then read by pread */
        ot_dataset *str = open_idx(how, 0);
        cr_assert_eq(ot_dataset_size(str), N);
        cr_assert_eq(ot_dataset_classes(str), CLASSES);
        const ot_layer small[] = {OT_DENSE(32, OT_ACTIVATION_RELU),
                                  OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
        /* batches cut by rows, with the last one short, and standard scaling */
        expect_same_fit(mem, str, small, 2, 32, OT_SCALING_STANDARD);
        expect_same_fit(mem, str, small, 2, 100, OT_SCALING_MINMAX);
        /* small batches on a wide layer: steps cut by units, rows gathered ahead */
        const ot_layer wide[] = {OT_DENSE(512, OT_ACTIVATION_RELU),
                                 OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
        expect_same_fit(mem, str, wide, 2, 4, OT_SCALING_NONE);
        ot_dataset_destroy(str);
    }
    ot_dataset_destroy(mem);
}

/* Sample weights come from the caller's array by row, streamed or not. */
Test(stream, sample_weights_weigh_the_streamed_rows_as_in_memory)
{
    write_idx(0);
    static float sw[N];
    for (size_t i = 0; i < N; i++)
        sw[i] = (float)(i % 4) * 0.5f;
    fit_weights = sw;
    ot_dataset *mem = open_idx(0, 0), *str = open_idx(2, 0);
    const ot_layer small[] = {OT_DENSE(32, OT_ACTIVATION_RELU),
                              OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    const ot_layer wide[] = {OT_DENSE(512, OT_ACTIVATION_RELU),
                             OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    expect_same_fit(mem, str, small, 2, 32, OT_SCALING_NONE);
    expect_same_fit(mem, str, wide, 2, 4, OT_SCALING_NONE);
    fit_weights = NULL;
    size_t la, lb;
    double va, vb;
    unsigned char *x = fit_bytes(str, small, 2, 32, OT_SCALING_NONE, &la, &va);
    fit_weights = sw;
    unsigned char *y = fit_bytes(str, small, 2, 32, OT_SCALING_NONE, &lb, &vb);
    cr_assert(la != lb || memcmp(x, y, la) != 0, "the weights changed nothing");
    ot_buffer_free(x);
    ot_buffer_free(y);
    ot_dataset_destroy(mem);
    ot_dataset_destroy(str);
}

Test(stream, a_gzip_file_is_read_from_its_copy_in_the_cache)
{
    write_idx(1);
    ot_dataset *mem = open_idx(0, 1), *str = open_idx(1, 1);
    const ot_layer layers[] = {OT_DENSE(16, OT_ACTIVATION_RELU),
                               OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    expect_same_fit(mem, str, layers, 2, 64, OT_SCALING_NONE);
    /* one copy, made once: a second open uses it */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test $(ls %s/cache | wc -l) -eq 1", dir);
    cr_assert_eq(system(cmd), 0, "one copy in the cache");
    snprintf(cmd, sizeof cmd, "touch -d '2001-01-01' %s/cache/*", dir);
    cr_assert_eq(system(cmd), 0);
    ot_dataset *again = open_idx(1, 1);
    snprintf(cmd, sizeof cmd, "test -n \"$(find %s/cache -type f ! -newermt 2001-01-02)\"",
             dir);
    cr_assert_eq(system(cmd), 0, "the copy was made again");
    /* a changed file gets a copy of its own */
    write_idx(1);
    ot_dataset *changed = open_idx(1, 1);
    snprintf(cmd, sizeof cmd, "test $(ls %s/cache | wc -l) -eq 2", dir);
    cr_assert_eq(system(cmd), 0, "a second copy for the changed file");
    ot_dataset_destroy(again);
    ot_dataset_destroy(changed);
    ot_dataset_destroy(mem);
    ot_dataset_destroy(str);
}

Test(stream, evaluate_predict_and_reads_into_memory_match)
{
    write_idx(0);
    ot_dataset *mem = open_idx(0, 0), *str = open_idx(2, 0);
    ot_model *m = NULL;
    const ot_layer layers[] = {OT_DENSE(16, OT_ACTIVATION_RELU),
                               OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&m, DIM, layers, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_eval_config ec = ot_eval_config_default();
    ec.batch_size = 7;
    ec.threads = 2;
    double l1, k1, l2, k2;
    cr_assert_eq(ot_model_evaluate(m, mem, &ec, &l1, &k1), OT_OK);
    cr_assert_eq(ot_model_evaluate(m, str, &ec, &l2, &k2), OT_OK, "%s", ot_last_error());
    cr_assert(l1 == l2 && k1 == k2, "loss %.17g vs %.17g", l1, l2);
    size_t c1[CLASSES * CLASSES], c2[CLASSES * CLASSES];
    cr_assert_eq(ot_model_confusion_matrix(m, mem, &ec, c1, CLASSES), OT_OK);
    cr_assert_eq(ot_model_confusion_matrix(m, str, &ec, c2, CLASSES), OT_OK, "%s",
                 ot_last_error());
    cr_assert_arr_eq(c1, c2, sizeof c1);
    static float a[N * DIM], b[N * DIM];
    cr_assert_eq(ot_dataset_features(mem, a, N * DIM), OT_OK);
    cr_assert_eq(ot_dataset_features(str, b, N * DIM), OT_OK, "%s", ot_last_error());
    cr_assert_arr_eq(a, b, sizeof a);
    size_t rows[] = {599, 3, 3, 250};
    ot_dataset *sa = NULL, *sb = NULL;
    cr_assert_eq(ot_dataset_select(&sa, mem, rows, 4), OT_OK);
    cr_assert_eq(ot_dataset_select(&sb, str, rows, 4), OT_OK, "%s", ot_last_error());
    cr_assert(!ot_dataset_is_streamed(sb), "a selection is in memory");
    cr_assert_eq(ot_dataset_features(sa, a, 4 * DIM), OT_OK);
    cr_assert_eq(ot_dataset_features(sb, b, 4 * DIM), OT_OK);
    cr_assert_arr_eq(a, b, 4 * DIM * sizeof(float));
    ot_dataset_destroy(sa);
    ot_dataset_destroy(sb);
    ot_model_destroy(m);
    ot_dataset_destroy(mem);
    ot_dataset_destroy(str);
}

static int stop_after(const ot_step_metrics *sm, void *user)
{
    return sm->global_step == *(const uint64_t *)user;
}

/* A fit stopped inside an epoch and taken up again from the saved model
 * reaches the bytes of one that was not stopped. */
Test(stream, a_fit_stopped_inside_an_epoch_resumes_to_the_same_bytes)
{
    write_idx(0);
    ot_dataset *str = open_idx(2, 0);
    const ot_layer layers[] = {OT_DENSE(16, OT_ACTIVATION_RELU),
                               OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 32;
    fc.epochs = 3;
    fc.threads = 2;
    fc.shards = 2;
    fc.validation_split = 0.1;
    ot_model *whole = NULL, *part = NULL;
    cr_assert_eq(ot_model_create(&whole, DIM, layers, 2, 5), OT_OK);
    cr_assert_eq(ot_model_compile(whole, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    cr_assert_eq(ot_model_fit(whole, str, &fc, NULL), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_model_create(&part, DIM, layers, 2, 5), OT_OK);
    cr_assert_eq(ot_model_compile(part, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    uint64_t at = 23; /* 17 steps an epoch: inside the second */
    fc.on_step = stop_after;
    fc.user = &at;
    cr_assert_eq(ot_model_fit(part, str, &fc, NULL), OT_OK, "%s", ot_last_error());
    void *buf = NULL;
    size_t len = 0;
    cr_assert_eq(ot_model_save_to_buffer(part, &buf, &len), OT_OK);
    ot_model_destroy(part);
    cr_assert_eq(ot_model_load_from_buffer(&part, buf, len), OT_OK, "%s", ot_last_error());
    ot_buffer_free(buf);
    ot_fit_config rc = ot_model_resume_config(part);
    rc.threads = 1;
    cr_assert_eq(ot_model_fit(part, str, &rc, NULL), OT_OK, "%s", ot_last_error());
    void *a = NULL, *b = NULL;
    size_t la, lb;
    cr_assert_eq(ot_model_save_to_buffer(whole, &a, &la), OT_OK);
    cr_assert_eq(ot_model_save_to_buffer(part, &b, &lb), OT_OK);
    cr_assert(la == lb && memcmp(a, b, la) == 0, "the resumed fit differs");
    ot_buffer_free(a);
    ot_buffer_free(b);
    ot_model_destroy(whole);
    ot_model_destroy(part);
    ot_dataset_destroy(str);
}

/* The callback source: the same features as write_idx's, as floats. */
typedef struct gen {
    size_t fail_at;         /* a row whose call fails, or SIZE_MAX */
    size_t relabel_at;      /* a row whose label changes after the first call */
    int calls_with_x;
    pthread_mutex_t lock;
} gen;

static int gen_rows(void *user, const size_t *rows, size_t n, float *x, int32_t *labels,
                    float *targets, char *error, size_t error_size)
{
    gen *g = user;
    (void)targets;
    for (size_t i = 0; i < n; i++) {
        if (rows[i] == g->fail_at && x != NULL) {
            snprintf(error, error_size, "sensor %zu is offline", rows[i]);
            return 1;
        }
        labels[i] = (int32_t)(rows[i] % CLASSES);
        if (x != NULL && rows[i] == g->relabel_at)
            labels[i] = (labels[i] + 1) % CLASSES;
        for (size_t j = 0; x != NULL && j < DIM; j++)
            x[i * DIM + j] = ot__pixel(pixel(rows[i], j));
    }
    if (x != NULL) {
        pthread_mutex_lock(&g->lock);
        g->calls_with_x++;
        pthread_mutex_unlock(&g->lock);
    }
    return 0;
}

static ot_dataset *from_source(gen *g)
{
    ot_source src = {.n = N, .dim = DIM, .rows = gen_rows, .user = g};
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_from_source(&d, &src), OT_OK, "%s", ot_last_error());
    return d;
}

Test(stream, a_callback_source_trains_the_bits_of_memory)
{
    write_idx(0);
    gen g = {SIZE_MAX, SIZE_MAX, 0, PTHREAD_MUTEX_INITIALIZER};
    ot_dataset *mem = open_idx(0, 0), *src = from_source(&g);
    cr_assert_eq(ot_dataset_classes(src), CLASSES);
    const ot_layer layers[] = {OT_DENSE(16, OT_ACTIVATION_TANH),
                               OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    expect_same_fit(mem, src, layers, 2, 50, OT_SCALING_STANDARD);
    cr_assert_gt(g.calls_with_x, 0);
    ot_dataset_destroy(mem);
    ot_dataset_destroy(src);
}

static void expect_fit_fails(const ot_dataset *d, ot_status want, const char *text)
{
    const ot_layer layers[] = {OT_DENSE(CLASSES, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, DIM, layers, 1, 1), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.threads = 2;
    fc.validation_split = 0.1;
    ot_status st = ot_model_fit(m, d, &fc, NULL);
    cr_assert_eq(st, want, "%s: %s", ot_status_str(st), ot_last_error());
    cr_assert(strstr(ot_last_error(), text) != NULL, "%s", ot_last_error());
    ot_model_destroy(m);
}

Test(stream, a_failing_callback_stops_the_fit_with_its_message)
{
    gen g = {417, SIZE_MAX, 0, PTHREAD_MUTEX_INITIALIZER};
    ot_dataset *d = from_source(&g);
    expect_fit_fails(d, OT_SOURCE_ERROR, "sensor 417 is offline");
    ot_dataset_destroy(d);
    gen h = {SIZE_MAX, 33, 0, PTHREAD_MUTEX_INITIALIZER};
    d = from_source(&h);
    expect_fit_fails(d, OT_SOURCE_ERROR, "row 33's label is 2 now, 1 when the dataset was made");
    ot_dataset_destroy(d);
    ot_source bad = {.n = 0, .dim = DIM, .rows = gen_rows, .user = &g};
    cr_assert_eq(ot_dataset_from_source(&d, &bad), OT_INVALID_ARGUMENT);
    bad.n = N;
    bad.rows = NULL;
    cr_assert_eq(ot_dataset_from_source(&d, &bad), OT_INVALID_ARGUMENT);
    cr_assert_eq(ot_dataset_from_source(NULL, &bad), OT_INVALID_ARGUMENT);
}

Test(stream, a_file_cut_short_is_refused_and_one_cut_while_training_stops_it)
{
    write_idx(0);
    char images[512], labels[512], cmd[1024];
    snprintf(images, sizeof images, "%s/images.idx3-ubyte", dir);
    snprintf(labels, sizeof labels, "%s/labels.idx1-ubyte", dir);
    ot_dataset *d = NULL;
    ot_dataset *mapped = open_idx(1, 0), *read = open_idx(2, 0);
    snprintf(cmd, sizeof cmd, "truncate -s 20000 %s", images);
    cr_assert_eq(system(cmd), 0);
    expect_fit_fails(read, OT_IO_ERROR, "cut short at row");
    expect_fit_fails(mapped, OT_IO_ERROR, "cut short");
    ot_dataset_destroy(mapped);
    ot_dataset_destroy(read);
    cr_assert_eq(ot_dataset_stream_idx(&d, images, labels, NULL), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "truncated") != NULL, "%s", ot_last_error());
    snprintf(cmd, sizeof cmd, "%s/nothing", dir);
    cr_assert_eq(ot_dataset_stream_idx(&d, cmd, labels, NULL), OT_IO_ERROR);
}

static char out[1 << 16];

static int run(const char *args)
{
    return th_run_normally("OMPTRAIN_BIN", "OMPTRAIN_DATA=", args, out, sizeof out);
}

static int same_files(const char *a, const char *b) { return th_same_files(dir, a, b); }

/* The files idx:DIR wants: train-* and t10k-* (the same data). */
static void write_idx_dir(void)
{
    write_idx(1);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd %s && mv images.idx3-ubyte.gz train-images-idx3-ubyte.gz && "
             "mv labels.idx1-ubyte.gz train-labels-idx1-ubyte.gz && "
             "cp train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz && "
             "cp train-labels-idx1-ubyte.gz t10k-labels-idx1-ubyte.gz", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(stream, the_command_line_streams_to_the_same_files)
{
    write_idx_dir();
    char a[2048];
    const char *common = "--layers 16:relu,4:softmax --epochs 2 --batch 16 --threads 2 "
                         "--scale standard";
    snprintf(a, sizeof a, "train --data idx:%s %s --save %s/mem.otm", dir, common, dir);
    EXPECT_RUN(a, 0, "saved the model");
    snprintf(a, sizeof a, "train --data idx:%s %s --stream --cache-dir %s/c --save %s/str.otm",
             dir, common, dir, dir);
    EXPECT_RUN(a, 0, "(streamed: the rows read as training goes)");
    cr_assert(strstr(out, "read ") != NULL && strstr(out, "MB/s") != NULL, "%s", out);
    cr_assert(same_files("mem.otm", "str.otm"), "train --stream wrote another model");
    snprintf(a, sizeof a, "predict --model %s/mem.otm --data idx:%s --output %s/mem.csv "
             "--batch 7", dir, dir, dir);
    EXPECT_RUN(a, 0, "wrote 600 predictions");
    snprintf(a, sizeof a, "predict --model %s/mem.otm --data idx:%s --stream --cache-dir %s/c "
             "--max-memory 0.0001 --output %s/str.csv --batch 7", dir, dir, dir, dir);
    EXPECT_RUN(a, 0, "wrote 600 predictions");
    cr_assert(same_files("mem.csv", "str.csv"), "predict --stream wrote other predictions");
    snprintf(a, sizeof a, "evaluate --model %s/mem.otm --data idx:%s --stream --cache-dir %s/c",
             dir, dir, dir);
    EXPECT_RUN(a, 0, "accuracy");
    snprintf(a, sizeof a, "train --data xor --stream");
    EXPECT_RUN(a, 2, "--stream: xor is four samples in memory");
    /* a CSV, through its parsed copy */
    write_csv("d.csv", 1);
    const char *csv = "--label-column -2 --layers 8:relu,3:softmax --epochs 2 --threads 2";
    snprintf(a, sizeof a, "train --data csv:%s/d.csv %s --save %s/cm.otm", dir, csv, dir);
    EXPECT_RUN(a, 0, "saved the model");
    snprintf(a, sizeof a, "train --data csv:%s/d.csv %s --stream --cache-dir %s/c --save "
             "%s/cs.otm", dir, csv, dir, dir);
    EXPECT_RUN(a, 0, "(streamed: ");
    cr_assert(same_files("cm.otm", "cs.otm"), "train --stream of a CSV wrote another model");
}

/* A CSV of N rows: a header, DIM_CSV features, a label (0..2) and a value
 * (a feature when the label is the target, a target beside it else). */
#define DIM_CSV 6
static void write_csv(const char *name, int header)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    if (header)
        fprintf(f, "a,b,c,d,e,f,label,value\r\n");
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < DIM_CSV; j++)
            fprintf(f, "%.3f,", (double)pixel(i, j * 7) / 100.0 + (double)(i % 3) * (j == i % 3));
        fprintf(f, "%zu,%.2f\r\n", i % 3, (double)(i % 17) / 4.0);
        if (i == 100)
            fprintf(f, "   \n"); /* a blank line is skipped */
    }
    cr_assert_eq(fclose(f), 0);
}

static ot_dataset *open_csv(const char *name, int streamed, const ot_csv_options *o)
{
    char path[512], cache[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    ot_dataset *d = NULL;
    const size_t limit = ot_memory_limit();
    if (streamed == 2) /* read by pread: too large to map */
        ot_set_memory_limit((size_t)N * DIM_CSV * 4 * 2);
    ot_status st = streamed ? ot_dataset_stream_csv(&d, path, o, cache)
                            : ot_dataset_load_csv(&d, path, o);
    ot_set_memory_limit(limit);
    cr_assert_eq(st, OT_OK, "%s", ot_last_error());
    return d;
}

static unsigned char *fit_csv(const ot_dataset *d, ot_loss loss, size_t outputs,
                              ot_activation last, size_t *len)
{
    const ot_layer layers[] = {OT_DENSE(8, OT_ACTIVATION_RELU), OT_DENSE(outputs, last)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, ot_dataset_dim(d), layers, 2, 9), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, loss, &oc), OT_OK);
    ot_fit_config fc = ot_fit_config_default();
    fc.batch_size = 16;
    fc.epochs = 2;
    fc.threads = 2;
    fc.validation_split = 0.25;
    fc.scaling = OT_SCALING_STANDARD;
    cr_assert_eq(ot_model_fit(m, d, &fc, NULL), OT_OK, "%s", ot_last_error());
    void *buf = NULL;
    cr_assert_eq(ot_model_save_to_buffer(m, &buf, len), OT_OK);
    ot_model_destroy(m);
    return buf;
}

Test(stream, a_csv_streamed_through_its_parsed_copy_trains_the_bits_of_memory)
{
    write_csv("d.csv", 1);
    ot_csv_options labels = ot_csv_options_default();
    labels.target_columns[0] = -2;
    ot_csv_options values = ot_csv_options_default();
    values.integer_labels = 0;
    values.n_target_columns = 2;
    values.target_columns[0] = -2;
    values.target_columns[1] = -1;
    ot_dataset *mem = open_csv("d.csv", 0, &labels), *mv = open_csv("d.csv", 0, &values);
    for (int how = 1; how <= 2; how++) {
        ot_dataset *str = open_csv("d.csv", how, &labels), *sv = open_csv("d.csv", how, &values);
        cr_assert(ot_dataset_is_streamed(str) && ot_dataset_had_header(str));
        cr_assert_eq(ot_dataset_size(str), N);
        cr_assert_eq(ot_dataset_targets(sv), 2u);
        size_t la, lb;
        unsigned char *a = fit_csv(mem, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 3,
                                   OT_ACTIVATION_SOFTMAX, &la);
        unsigned char *b = fit_csv(str, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 3,
                                   OT_ACTIVATION_SOFTMAX, &lb);
        cr_assert(la == lb && memcmp(a, b, la) == 0, "labels: the model files differ");
        ot_buffer_free(a);
        ot_buffer_free(b);
        a = fit_csv(mv, OT_LOSS_MSE, 2, OT_ACTIVATION_LINEAR, &la);
        b = fit_csv(sv, OT_LOSS_MSE, 2, OT_ACTIVATION_LINEAR, &lb);
        cr_assert(la == lb && memcmp(a, b, la) == 0, "targets: the model files differ");
        ot_buffer_free(a);
        ot_buffer_free(b);
        ot_dataset_destroy(str);
        ot_dataset_destroy(sv);
    }
    /* a copy for each way of reading the file, made once */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test $(ls %s/cache | wc -l) -eq 2", dir);
    cr_assert_eq(system(cmd), 0, "two copies: labels and targets");
    ot_dataset_destroy(mem);
    ot_dataset_destroy(mv);
}

/* Each bad CSV gets, streamed, the message a load gives, and leaves no
 * copy behind. */
Test(stream, a_bad_csv_streamed_gets_the_message_a_load_gives)
{
#define BAD(text) {text, sizeof text - 1}
    static const struct {
        const char *text;
        size_t len;
    } bad[] = {
        BAD("1,2,3\n4,5\n"),              /* ragged */
        BAD("a,b,label\n1,2,0\n3,x,1\n"), /* not a number */
        BAD("1,2,0\n3,1e39,1\n"),         /* beyond a float */
        BAD("1,2,0\n3,4,-1\n"),           /* a negative label */
        BAD("a,b,label\n\n  \n"),         /* no data rows */
        BAD("1,2,0\n3,4\0,1\n"),          /* a NUL byte */
        BAD("1,nan,0\n1,2,1\n"),          /* a first row with a nan is data */
    };
#undef BAD
    char path[512], cache[512], cmd[1024], want[600];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.csv", dir, i);
        th_write(path, bad[i].text, bad[i].len, 0);
        ot_dataset *d = NULL;
        ot_status a = ot_dataset_load_csv(&d, path, NULL);
        cr_assert_neq(a, OT_OK, "case %zu loads", i);
        snprintf(want, sizeof want, "%s", ot_last_error());
        ot_status b = ot_dataset_stream_csv(&d, path, NULL, cache);
        cr_assert_eq(b, a, "case %zu: %s", i, ot_last_error());
        /* the whole-file reader says "not text" where the line reader says
         * where the NUL is: both name the file and refuse it as binary */
        if (strstr(want, "binary") == NULL)
            cr_assert_str_eq(ot_last_error(), want, "case %zu", i);
        else
            cr_assert(strstr(ot_last_error(), "a binary file") != NULL, "%s", ot_last_error());
    }
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/cache)\"", dir);
    cr_assert_eq(system(cmd), 0, "a failed parse left a file in the cache");
    /* a copy that is not whole is refused, with what to do */
    write_csv("d.csv", 0);
    ot_csv_options o = ot_csv_options_default();
    o.target_columns[0] = -2;
    ot_dataset_destroy(open_csv("d.csv", 1, &o));
    snprintf(cmd, sizeof cmd, "for f in %s/cache/*; do truncate -s 100 \"$f\"; done", dir);
    cr_assert_eq(system(cmd), 0);
    ot_dataset *d = NULL;
    snprintf(path, sizeof path, "%s/d.csv", dir);
    cr_assert_eq(ot_dataset_stream_csv(&d, path, &o, cache), OT_BAD_FORMAT);
    cr_assert(strstr(ot_last_error(), "remove it to have it made again") != NULL, "%s",
              ot_last_error());
}
