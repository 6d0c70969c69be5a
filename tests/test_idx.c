/*
 * test_idx.c - the IDX reader on good files and on every kind of bad one:
 * missing, bad magic, truncated header or data, a header that claims more
 * than the file holds (no huge allocation), trailing data, a cut gzip
 * stream, label and image counts that differ, zero dimensions.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/dataset.h"

static char dir[256];
static char img[300], lab[300];

static void setup(void)
{
    th_tmpdir(dir, sizeof dir);
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", dir);
    snprintf(lab, sizeof lab, "%s/train-labels-idx1-ubyte", dir);
}

TestSuite(idx, .init = setup);

static ot_status load(ot_dataset **d) { return ot_dataset_load_idx(d, img, lab); }

static void expect_error(ot_status want, const char *needle)
{
    ot_dataset *d = (ot_dataset *)1;
    ot_status st = load(&d);
    cr_assert_eq(st, want, "status %s (%s)", ot_status_str(st), ot_last_error());
    cr_assert_null(d);
    cr_assert(strstr(ot_last_error(), needle) != NULL, "message '%s' lacks '%s'",
              ot_last_error(), needle);
}

static void good_pair(int gz_images, int gz_labels)
{
    th_idx_images(img, 0x803, 6, 3, 4, 6 * 12, gz_images);
    th_idx_labels(lab, 0x801, 6, 6, 10, gz_labels);
    ot_dataset *d = NULL;
    cr_assert_eq(load(&d), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_size(d), 6);
    cr_assert_eq(ot_dataset_dim(d), 12);
    cr_assert_eq(ot_dataset_classes(d), 6);
    ot_dataset_destroy(d);
}

Test(idx, raw_and_gzip_in_any_mix)
{
    good_pair(0, 0);
    good_pair(1, 0);
    good_pair(0, 1);
    good_pair(1, 1);
}

Test(idx, pixels_are_scaled_like_the_textbook)
{
    th_idx_images(img, 0x803, 2, 6, 6, 72, 0); /* pixel i = i * 7 % 256 */
    th_idx_labels(lab, 0x801, 2, 2, 10, 0);
    ot_dataset *d = NULL;
    cr_assert_eq(load(&d), OT_OK);
    float x[72];
    cr_assert_eq(ot_dataset_features(d, x, 72), OT_OK);
    for (size_t i = 0; i < 72; i++)
        cr_assert_eq(x[i], (float)((double)(i * 7 % 256) / 255.0), "pixel %zu", i);
    cr_assert_eq(d->y[0], 0);
    cr_assert_eq(d->y[1], 1);
    ot_dataset_destroy(d);
}

Test(idx, missing_file)
{
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_IO_ERROR, "No such file");
    expect_error(OT_IO_ERROR, img);
}

Test(idx, labels_file_given_as_images)
{
    th_idx_labels(img, 0x801, 6, 6, 10, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "bad magic 0x00000801, expected 0x00000803");
}

Test(idx, zero_magic)
{
    th_idx_images(img, 0, 6, 3, 4, 72, 1);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "bad magic 0x00000000");
}

Test(idx, truncated_header)
{
    unsigned char h[6] = {0, 0, 8, 3, 0, 0};
    th_write(img, h, sizeof h, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "truncated header");
}

Test(idx, truncated_data)
{
    th_idx_images(img, 0x803, 6, 3, 4, 70, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "truncated");
    expect_error(OT_BAD_FORMAT, "declares 72 data bytes, the file holds 70");
}

Test(idx, header_claiming_terabytes_allocates_little)
{
    /* 4e9 x 1000 x 1000 would be 3.6 PiB: refused as absurd, or truncated
     * after reading what is there; under ASan a huge malloc would abort. */
    th_idx_images(img, 0x803, 4000000000u, 1000, 1000, 100, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, img);
    /* 47 GB in a gzip stream of 300 bytes: more than deflate can pack */
    th_idx_images(img, 0x803, 60000000u, 28, 28, 1000, 1);
    expect_error(OT_BAD_FORMAT, "more than a");
    th_idx_images(img, 0x803, 6, 3, 4, 72, 0);
    th_idx_labels(lab, 0x801, 4000000000u, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "can hold even compressed");
    th_idx_labels(lab, 0x801, 1000, 6, 10, 0); /* 1,000 declared, 6 there */
    expect_error(OT_BAD_FORMAT, "truncated");
}

/* A file that could hold what its header declares, but more than the
 * memory limit allows (a gzip bomb inflating to gigabytes): refused before
 * reading, naming the limit; a limit raised lets it load. */
Test(idx, a_header_beyond_the_memory_limit_is_refused_before_reading)
{
    th_idx_images(img, 0x803, 6, 3, 4, 72, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    cr_assert(ot_memory_limit() >= ((size_t)1 << 20), "%zu", ot_memory_limit());
    ot_set_memory_limit(50);
    expect_error(OT_OUT_OF_MEMORY, "more than the memory limit");
    cr_assert(strstr(ot_last_error(), "--max-memory") != NULL, "%s", ot_last_error());
    ot_set_memory_limit(1000);
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_load_idx(&d, img, lab), OT_OK, "%s", ot_last_error());
    ot_dataset_destroy(d);
    ot_set_memory_limit(0);
}

Test(idx, trailing_data)
{
    th_idx_images(img, 0x803, 6, 3, 4, 80, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "more data than the header declares");
}

Test(idx, zero_dimension)
{
    th_idx_images(img, 0x803, 6, 0, 4, 0, 0);
    th_idx_labels(lab, 0x801, 6, 6, 10, 0);
    expect_error(OT_BAD_FORMAT, "dimension 2 is 0");
}

Test(idx, cut_gzip_stream)
{
    char full[300];
    snprintf(full, sizeof full, "%s/full.gz", dir);
    th_idx_images(full, 0x803, 600, 28, 28, 600 * 784, 1);
    unsigned char *buf = malloc(1 << 20);
    size_t n = th_read(full, buf, 1 << 20);
    cr_assert_gt(n, 100);
    th_write(img, buf, n / 2, 0); /* half a gzip stream */
    free(buf);
    th_idx_labels(lab, 0x801, 600, 600, 10, 0);
    ot_dataset *d = NULL;
    ot_status st = load(&d);
    cr_assert_eq(st, OT_BAD_FORMAT, "%s", ot_last_error());
    cr_assert_null(d);
}

Test(idx, label_count_differs)
{
    th_idx_images(img, 0x803, 6, 3, 4, 72, 0);
    th_idx_labels(lab, 0x801, 5, 5, 10, 0);
    expect_error(OT_BAD_FORMAT, "5 labels for the 6 images");
}

Test(idx, directory_lookup_finds_gzip_names)
{
    char gzimg[320], gzlab[320];
    snprintf(gzimg, sizeof gzimg, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(gzlab, sizeof gzlab, "%s/t10k-labels-idx1-ubyte.gz", dir);
    th_idx_images(gzimg, 0x803, 3, 2, 2, 12, 1);
    th_idx_labels(gzlab, 0x801, 3, 3, 10, 1);
    ot_dataset *d = NULL;
    cr_assert_eq(ot_dataset_load_idx_dir(&d, dir, "t10k"), OT_OK, "%s", ot_last_error());
    cr_assert_eq(ot_dataset_size(d), 3);
    ot_dataset_destroy(d);
    cr_assert_eq(ot_dataset_load_idx_dir(&d, dir, "train"), OT_IO_ERROR);
    cr_assert(strstr(ot_last_error(), "train-images-idx3-ubyte") != NULL, "%s",
              ot_last_error());
}

/* Images are kept as bytes (a quarter of the memory) and decoded in every
 * gather: each of the 256 bytes must give the textbook's x / 255.0 to the
 * bit, whether gathered in order, at random, or with scaling. */
Test(idx, every_byte_decodes_like_the_textbook)
{
    for (int b = 0; b < 256; b++)
        cr_assert_eq(ot__pixel((uint8_t)b), (float)((double)b / 255.0), "byte %d", b);
    th_idx_images(img, 0x803, 256, 1, 3, 768, 0); /* 256 rows of 3 pixels */
    th_idx_labels(lab, 0x801, 256, 256, 10, 0);
    ot_dataset *d = NULL;
    cr_assert_eq(load(&d), OT_OK);
    cr_assert_not_null(d->pixels, "images are kept as bytes");
    cr_assert_null(d->x);
    float all[768], rows[768];
    cr_assert_eq(ot_dataset_features(d, all, 768), OT_OK);
    for (size_t i = 0; i < 768; i++)
        cr_assert_eq(all[i], (float)((double)(i * 7 % 256) / 255.0), "pixel %zu", i);
    /* random rows (with the prefetch ahead), and scaled */
    uint32_t idx[256];
    for (uint32_t r = 0; r < 256; r++)
        idx[r] = (r * 97 + 13) % 256;
    float shift[3] = {0.25f, -1.0f, 0.5f}, mult[3] = {2.0f, 0.5f, 3.0f};
    ot__scaling sc = {shift, mult};
    int32_t labels[256];
    ot__dataset_gather(d, &sc, idx, 0, 256, rows, labels, NULL);
    for (size_t r = 0; r < 256; r++) {
        cr_assert_eq(labels[r], d->y[idx[r]]);
        for (size_t j = 0; j < 3; j++)
            cr_assert_eq(rows[r * 3 + j], (all[idx[r] * 3 + j] - shift[j]) * mult[j],
                         "row %zu feature %zu", r, j);
    }
    /* a slice keeps the bytes */
    ot_dataset *part = NULL;
    cr_assert_eq(ot_dataset_slice(&part, d, 100, 50), OT_OK);
    cr_assert_not_null(part->pixels);
    float px[150];
    cr_assert_eq(ot_dataset_features(part, px, 150), OT_OK);
    cr_assert_arr_eq(px, all + 300, sizeof px);
    cr_assert_eq(part->y[0], d->y[100]);
    ot_dataset *bad = (ot_dataset *)1;
    cr_assert_eq(ot_dataset_slice(&bad, d, 200, 57), OT_INVALID_ARGUMENT);
    cr_assert_null(bad);
    ot_dataset_destroy(part);
    ot_dataset_destroy(d);
}

/* The vector paths decode bytes by a multiplication with the rest of 1/255
 * carried, not a division: on each path this processor has, every byte at
 * every offset into a vector, in the vector body and in the tail, and
 * through a gather of rows wider than a vector (with scaling), must give
 * the division's bits. */
Test(idx, every_byte_decodes_alike_on_every_path)
{
    enum { N = 256 + 40 };
    uint8_t bytes[N];
    for (size_t i = 0; i < N; i++)
        bytes[i] = (uint8_t)(i * 151 + 7); /* each byte, in a scrambled order */
    const size_t dim = 37, n = 256;
    uint8_t *px = ot__alloc(n * dim, 1, "test pixels");
    int32_t *y = ot__alloc(n, sizeof *y, "test labels");
    cr_assert(px != NULL && y != NULL);
    for (size_t i = 0; i < n * dim; i++)
        px[i] = (uint8_t)(i * 29 + i / 256);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)(i % 10);
    ot_dataset *d = NULL;
    cr_assert_eq(ot__dataset_wrap_pixels(&d, n, dim, px, y), OT_OK);
    float shift[37], mult[37];
    for (size_t j = 0; j < dim; j++) {
        shift[j] = 0.01f * (float)j;
        mult[j] = 1.0f + 0.125f * (float)j;
    }
    ot__scaling sc = {shift, mult};
    uint32_t idx[256];
    for (uint32_t r = 0; r < n; r++)
        idx[r] = (r * 97 + 13) % 256;
    static float out[256 * 37];
    int paths = 0;
    for (int path = 0; path <= 2; path++) {
        if (!ot__pixels_path(path))
            continue;
        paths++;
        for (size_t off = 0; off < 32; off++)
            for (size_t len = 0; off + len <= N; len += len < 40 ? 1 : 37) {
                float o[N + 1];
                o[len] = -1.0f; /* nothing past the end is written */
                ot__pixels_to_floats(bytes + off, o, len);
                for (size_t j = 0; j < len; j++)
                    cr_assert_eq(o[j], (float)((double)bytes[off + j] / 255.0),
                                 "path %d, byte %d at %zu of %zu", path, bytes[off + j],
                                 off + j, len);
                cr_assert_eq(o[len], -1.0f, "path %d wrote past %zu", path, len);
            }
        ot__dataset_gather(d, &sc, idx, 0, n, out, NULL, NULL);
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < dim; j++) {
                float v = (float)((double)px[idx[r] * dim + j] / 255.0);
                cr_assert_eq(out[r * dim + j], (v - shift[j]) * mult[j],
                             "path %d, row %zu feature %zu", path, r, j);
            }
    }
    cr_assert_eq(ot__pixels_path(-1), 1);
    cr_assert(paths >= 1);
    cr_assert_eq(ot__pixels_path(3), 0, "no such path");
#if defined(__x86_64__) && defined(__GNUC__)
    cr_log_info("pixel decoding paths checked: %d of 3", paths);
#endif
    ot_dataset_destroy(d);
}

/* Training on images kept as bytes gives the very weights of training on
 * the same features given as floats: split, shuffle, scaling statistics,
 * gathers and evaluation all see the same values. */
Test(idx, bytes_train_like_floats)
{
    th_idx_images(img, 0x803, 240, 3, 4, 240 * 12, 0);
    th_idx_labels(lab, 0x801, 240, 240, 10, 0);
    ot_dataset *bytes = NULL, *floats = NULL;
    cr_assert_eq(load(&bytes), OT_OK);
    cr_assert_not_null(bytes->pixels);
    /* the floats as the textbook computes them from the file's pixels */
    float *x = malloc(240 * 12 * sizeof(float));
    for (size_t i = 0; i < 240 * 12; i++)
        x[i] = (float)((double)(i * 7 % 256) / 255.0);
    cr_assert_eq(ot_dataset_create(&floats, 240, 12, x, bytes->y), OT_OK);
    free(x);
    cr_assert_null(floats->pixels);
    float w[2][12 * 16 + 16 + 16 * 10 + 10];
    double acc[2];
    for (int k = 0; k < 2; k++) {
        ot_layer l[] = {OT_DENSE(16, OT_ACTIVATION_RELU), OT_DENSE(10, OT_ACTIVATION_SOFTMAX)};
        ot_model *m = NULL;
        cr_assert_eq(ot_model_create(&m, 12, l, 2, 5), OT_OK);
        ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
        cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
        ot_fit_config fc = ot_fit_config_default();
        fc.batch_size = 16;
        fc.epochs = 2;
        fc.validation_split = 0.25;
        fc.scaling = OT_SCALING_STANDARD;
        fc.threads = 2;
        fc.shards = 2;
        cr_assert_eq(ot_model_fit(m, k ? floats : bytes, &fc, NULL), OT_OK, "%s",
                     ot_last_error());
        cr_assert_eq(ot_model_param_count(m), sizeof w[k] / sizeof(float));
        cr_assert_eq(ot_model_get_weights(m, w[k], sizeof w[k] / sizeof(float)), OT_OK);
        double loss;
        cr_assert_eq(ot_model_evaluate(m, k ? floats : bytes, NULL, &loss, &acc[k]), OT_OK,
                     "%s", ot_last_error());
        ot_model_destroy(m);
    }
    cr_assert_eq(memcmp(w[0], w[1], sizeof w[0]), 0, "weights differ");
    cr_assert_eq(acc[0], acc[1]);
    ot_dataset_destroy(bytes);
    ot_dataset_destroy(floats);
}
