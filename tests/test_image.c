/*
 * test_image.c - images in and out of the command line: predict --image
 * decodes PGM, PNG and JPEG to the pixels they hold (checked through
 * --save-input, which writes what the model sees), inverts and resizes
 * them, and gives the probabilities predict --data gives the same pixels;
 * bad images are refused with a message; show draws a grid.
 */
#include <criterion/criterion.h>

#include "helpers.h"

#if OT_HAVE_PNG
#include <png.h>
#endif
#if OT_HAVE_JPEG
#include <jpeglib.h>
#endif

static char dir[256];
static char out[1 << 16];

static void setup(void) { th_tmpdir(dir, sizeof dir); }

TestSuite(image, .init = setup);

static int run(const char *args)
{
    return th_run_normally("OMPTRAIN_BIN", "OMPTRAIN_DATA=", args, out, sizeof out);
}

#define SIDE 8
#define DIM (SIDE * SIDE)

/* Pixel (x, y) of test image k, SIDE x SIDE: a gradient and a bright bar. */
static uint8_t pix(int k, size_t x, size_t y)
{
    return (uint8_t)(x == (size_t)(k + 2) % SIDE ? 250 : (x * 17 + y * 9 + (size_t)k * 31) % 200);
}

/* Test image k scaled up `z` times (each pixel a z x z block), into p. */
static void big(int k, size_t z, uint8_t *p)
{
    for (size_t y = 0; y < SIDE * z; y++)
        for (size_t x = 0; x < SIDE * z; x++)
            p[y * SIDE * z + x] = pix(k, x / z, y / z);
}

static void write_pgm(const char *name, const uint8_t *p, size_t w, size_t h, int text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fprintf(f, "%s\n# a comment\n%zu %zu\n255\n", text ? "P2" : "P5", w, h);
    for (size_t i = 0; i < w * h; i++)
        if (text)
            fprintf(f, "%d%c", p[i], i % w == w - 1 ? '\n' : ' ');
        else
            fputc(p[i], f);
    cr_assert_eq(fclose(f), 0);
}

/* The IDX pair t10k-* of test images 0..n-1 (labels k % 3), as idx:dir. */
static void write_idx(int n)
{
    unsigned char b[16 + 8 * DIM];
    char path[512];
    th_be32(b, 0x803);
    th_be32(b + 4, (uint32_t)n);
    th_be32(b + 8, SIDE);
    th_be32(b + 12, SIDE);
    for (int k = 0; k < n; k++)
        big(k, 1, b + 16 + k * DIM);
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte", dir);
    th_write(path, b, 16 + (size_t)n * DIM, 0);
    th_be32(b, 0x801);
    for (int k = 0; k < n; k++)
        b[8 + k] = (unsigned char)(k % 3);
    snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte", dir);
    th_write(path, b, 8 + (size_t)n, 0);
}

/* A model of DIM inputs and 3 classes, untrained: its outputs still differ
 * from image to image. */
static void write_model(void)
{
    const ot_layer layers[] = {OT_DENSE(12, OT_ACTIVATION_TANH),
                               OT_DENSE(3, OT_ACTIVATION_SOFTMAX)};
    ot_model *m = NULL;
    cr_assert_eq(ot_model_create(&m, DIM, layers, 2, 3), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_SGD);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/m.otm", dir);
    cr_assert_eq(ot_model_save(m, path), OT_OK);
    ot_model_destroy(m);
}

/* The pixels of dir/NAME.input.pgm (what --save-input wrote). */
static void read_input(const char *name, uint8_t *p)
{
    char path[512];
    static unsigned char buf[4096];
    snprintf(path, sizeof path, "%s/%s.input.pgm", dir, name);
    size_t n = th_read(path, buf, sizeof buf);
    const char head[] = "P5\n8 8\n255\n";
    cr_assert(n == sizeof head - 1 + DIM && memcmp(buf, head, sizeof head - 1) == 0,
              "%s: %zu bytes", path, n);
    memcpy(p, buf + sizeof head - 1, DIM);
}

static void expect_input(const char *name, int k, int invert, int tolerance)
{
    uint8_t p[DIM];
    read_input(name, p);
    for (size_t i = 0; i < DIM; i++) {
        int want = pix(k, i % SIDE, i / SIDE);
        want = invert ? 255 - want : want;
        cr_assert(abs((int)p[i] - want) <= tolerance, "%s: pixel %zu is %d, expected %d",
                  name, i, p[i], want);
    }
}

Test(image, a_pgm_is_read_resized_and_inverted_to_its_pixels)
{
    write_model();
    uint8_t p[DIM * 16];
    big(0, 4, p); /* 32 x 32: each model pixel the mean of a 4 x 4 block */
    write_pgm("a.pgm", p, SIDE * 4, SIDE * 4, 0);
    big(1, 1, p);
    for (size_t i = 0; i < DIM; i++)
        p[i] = (uint8_t)(255 - p[i]); /* dark on light: --invert gives pix(1) */
    write_pgm("b.pgm", p, SIDE, SIDE, 1);
    char a[2048];
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s/a.pgm --save-input %s", dir,
             dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    expect_input("a.pgm", 0, 0, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s/b.pgm --invert --save-input %s "
             "--class-names x,y,z", dir, dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    expect_input("b.pgm", 1, 0, 0);
    cr_assert(strstr(out, "b.pgm: class ") != NULL && strstr(out, "probability") != NULL &&
              strstr(out, "; then ") != NULL, "%s", out);
    /* 16 x 16 pixels that differ inside each 2 x 2 box: each model pixel
     * their mean, rounded */
    uint8_t q[256], seen[DIM];
    for (size_t i = 0; i < 256; i++)
        q[i] = (uint8_t)(i * 37 % 251);
    write_pgm("c.pgm", q, 16, 16, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s/c.pgm --save-input %s", dir,
             dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    read_input("c.pgm", seen);
    for (size_t y = 0; y < SIDE; y++)
        for (size_t x = 0; x < SIDE; x++) {
            int sum = q[2 * y * 16 + 2 * x] + q[2 * y * 16 + 2 * x + 1] +
                      q[(2 * y + 1) * 16 + 2 * x] + q[(2 * y + 1) * 16 + 2 * x + 1];
            cr_assert_eq(seen[y * SIDE + x], (sum + 2) / 4, "pixel (%zu, %zu)", x, y);
        }
}

/* An image of a sample's own pixels gets the probabilities predict --data
 * gives that sample. */
Test(image, an_image_gets_the_probabilities_of_the_same_sample_as_data)
{
    write_model();
    write_idx(3);
    char a[2048];
    snprintf(a, sizeof a, "predict --model %s/m.otm --data idx:%s --output %s/p.csv", dir,
             dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    char path[512], line[256];
    snprintf(path, sizeof path, "%s/p.csv", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof line, f)); /* the header */
    for (int k = 0; k < 3; k++) {
        cr_assert_not_null(fgets(line, sizeof line, f));
        double q[3];
        int cls;
        cr_assert_eq(sscanf(line, "%lf,%lf,%lf,%d", &q[0], &q[1], &q[2], &cls), 4, "%s", line);
        uint8_t p[DIM];
        big(k, 1, p);
        char name[32], want[128];
        snprintf(name, sizeof name, "s%d.pgm", k);
        write_pgm(name, p, SIDE, SIDE, 0);
        snprintf(a, sizeof a, "predict --model %s/m.otm --image %s/%s", dir, dir, name);
        cr_assert_eq(run(a), 0, "%s", out);
        snprintf(want, sizeof want, "%s: class %d, probability %.4f", name, cls, q[cls]);
        cr_assert(strstr(out, want) != NULL, "expected '%s' in:\n%s", want, out);
    }
    fclose(f);
}

#if OT_HAVE_PNG
/* A PNG of test image k, z times larger: gray 8-bit, gray 16-bit, or RGBA
 * (gray in every channel, the left half transparent over a black pixel:
 * seen over white paper). */
static void write_png(const char *name, int k, size_t z, int kind)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    cr_assert(p && info && !setjmp(png_jmpbuf(p)));
    png_init_io(p, f);
    const size_t w = SIDE * z, h = SIDE * z;
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, kind == 1 ? 16 : 8,
                 kind == 2 ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    uint8_t g[SIDE * 8 * SIDE * 8], row[SIDE * 8 * 4 * 2];
    big(k, z, g);
    for (size_t y = 0; y < h; y++) {
        for (size_t x = 0; x < w; x++) {
            uint8_t v = g[y * w + x];
            if (kind == 1) {
                row[2 * x] = v;
                row[2 * x + 1] = v;
            } else if (kind == 2) {
                int clear = x < w / 2;
                row[4 * x] = row[4 * x + 1] = row[4 * x + 2] = clear ? 0 : v;
                row[4 * x + 3] = clear ? 0 : 255;
            } else {
                row[x] = v;
            }
        }
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    cr_assert_eq(fclose(f), 0);
}

Test(image, pngs_of_every_kind_decode_to_their_pixels)
{
    write_model();
    write_png("g8.png", 2, 2, 0);
    write_png("g16.png", 3, 1, 1);
    write_png("rgba.png", 4, 1, 2);
    char a[2048];
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s/g8.png %s/g16.png %s/rgba.png "
             "--save-input %s", dir, dir, dir, dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    expect_input("g8.png", 2, 0, 0);
    /* 16 bits of v * 257 strip back to v */
    expect_input("g16.png", 3, 0, 0);
    uint8_t p[DIM];
    read_input("rgba.png", p);
    for (size_t i = 0; i < DIM; i++) {
        int want = i % SIDE < SIDE / 2 ? 255 : pix(4, i % SIDE, i / SIDE);
        cr_assert(abs((int)p[i] - want) <= 1, "rgba pixel %zu: %d, expected %d", i, p[i], want);
    }
}

Test(image, a_bad_png_is_refused_without_a_large_allocation)
{
    write_model();
    write_png("ok.png", 0, 1, 0);
    char path[512], a[2048];
    static unsigned char b[1 << 16];
    snprintf(path, sizeof path, "%s/ok.png", dir);
    size_t n = th_read(path, b, sizeof b);
    /* cut short */
    snprintf(path, sizeof path, "%s/cut.png", dir);
    th_write(path, b, n / 2, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "cut.png: not a readable PNG") != NULL, "%s", out);
    /* a header declaring 100000 x 100000 pixels (its checksum redone) */
    th_be32(b + 16, 100000);
    th_be32(b + 20, 100000);
    th_be32(b + 29, (uint32_t)crc32(0, b + 12, 17));
    snprintf(path, sizeof path, "%s/huge.png", dir);
    th_write(path, b, n, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "huge.png: ") != NULL, "%s", out);
}
#endif

#if OT_HAVE_JPEG
static void write_jpeg(const char *name, int k, size_t z, int color)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)(SIDE * z);
    c.image_height = (JDIMENSION)(SIDE * z);
    c.input_components = color ? 3 : 1;
    c.in_color_space = color ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t g[SIDE * 8 * SIDE * 8], row[SIDE * 8 * 3];
    big(k, z, g);
    while (c.next_scanline < c.image_height) {
        for (size_t x = 0; x < SIDE * z; x++)
            for (int ch = 0; ch < (color ? 3 : 1); ch++)
                row[x * (color ? 3 : 1) + (size_t)ch] = g[c.next_scanline * SIDE * z + x];
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    cr_assert_eq(fclose(f), 0);
}

Test(image, jpegs_decode_near_their_pixels_and_a_cut_one_is_refused)
{
    write_model();
    write_jpeg("g.jpg", 5, 4, 0);
    write_jpeg("c.jpg", 6, 4, 1);
    char a[2048];
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s/g.jpg %s/c.jpg --save-input %s",
             dir, dir, dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    /* quality 100 loses a little; each model pixel is a 4 x 4 block's mean */
    expect_input("g.jpg", 5, 0, 6);
    expect_input("c.jpg", 6, 0, 6);
    char path[512];
    static unsigned char b[1 << 16];
    snprintf(path, sizeof path, "%s/g.jpg", dir);
    size_t n = th_read(path, b, sizeof b);
    snprintf(path, sizeof path, "%s/cut.jpg", dir);
    th_write(path, b, n / 2, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "cut.jpg: not a readable JPEG") != NULL, "%s", out);
}
#endif

Test(image, bad_images_and_flags_are_refused_with_a_message)
{
    write_model();
    char path[512], a[2048];
    snprintf(path, sizeof path, "%s/text.png", dir);
    th_write(path, "hello, world", 12, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "not a PNG, JPEG or PGM image") != NULL, "%s", out);
    snprintf(path, sizeof path, "%s/empty.pgm", dir);
    th_write(path, "P5 0 0 255\n", 11, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "an image of 0 x 0 pixels") != NULL, "%s", out);
    snprintf(path, sizeof path, "%s/huge.pgm", dir);
    th_write(path, "P5 1000000 1000000 255\n", 23, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "more than the 64 megapixels") != NULL, "%s", out);
    snprintf(path, sizeof path, "%s/cut.pgm", dir);
    th_write(path, "P5 8 8 255\nabc", 14, 0);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s", dir, path);
    cr_assert_eq(run(a), 1, "%s", out);
    cr_assert(strstr(out, "cut short at pixel 3 of 64") != NULL, "%s", out);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image %s --image-size 4x4", dir, path);
    cr_assert_eq(run(a), 2, "%s", out);
    cr_assert(strstr(out, "--image-size 4x4: 16 pixels, the model takes 64 inputs") != NULL,
              "%s", out);
    snprintf(a, sizeof a, "predict --model %s/m.otm --image", dir);
    cr_assert_eq(run(a), 2, "%s", out);
    snprintf(a, sizeof a, "predict --model %s/m.otm --data xor --invert --output x.csv", dir);
    cr_assert_eq(run(a), 2, "%s", out);
    cr_assert(strstr(out, "go with --image") != NULL, "%s", out);
}

Test(image, show_draws_the_samples_and_marks_wrong_predictions)
{
    write_model();
    write_idx(7);
    char a[2048], path[512];
    snprintf(a, sizeof a, "show --data idx:%s --split t10k --predict-with %s/m.otm --output "
             "%s/g.svg --class-names a,b,c", dir, dir, dir);
    cr_assert_eq(run(a), 0, "%s", out);
    cr_assert(strstr(out, "drew samples 0..6") != NULL, "%s", out);
    static unsigned char svg[1 << 20];
    snprintf(path, sizeof path, "%s/g.svg", dir);
    size_t n = th_read(path, svg, sizeof svg - 1);
    svg[n] = '\0';
    /* every sample captioned; a wrong one in red with the truth */
    size_t captions = 0, wrong = 0;
    for (const char *p = (char *)svg; (p = strstr(p, "<text")) != NULL; p++)
        captions++;
    for (const char *p = (char *)svg; (p = strstr(p, "true: ")) != NULL; p++)
        wrong++;
    cr_assert_eq(captions, 7u, "%s", svg);
    char said[64];
    snprintf(said, sizeof said, "%zu of 7 predicted wrong", wrong);
    cr_assert(strstr(out, said) != NULL, "%s (the SVG marks %zu)", out, wrong);
    snprintf(a, sizeof a, "show --data idx:%s --split t10k --count 4 --output %s/g.pgm", dir,
             dir);
    cr_assert_eq(run(a), 0, "%s", out);
    snprintf(path, sizeof path, "%s/g.pgm", dir);
    n = th_read(path, svg, sizeof svg);
    /* 2 x 2 cells of 3 x 8 pixels and a margin of 4 on each side */
    const char head[] = "P5\n64 64\n255\n";
    cr_assert(n == sizeof head - 1 + 64 * 64 && memcmp(svg, head, sizeof head - 1) == 0,
              "%zu bytes", n);
    /* sample 0's pixel (0, 0) in Greys: 255 - pix */
    cr_assert_eq(svg[sizeof head - 1 + 4 * 64 + 4], 255 - pix(0, 0, 0));
}
