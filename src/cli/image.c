/*
 * image.c - images in and out for predict --image and show (cli.h):
 * grayscale PNG, JPEG (Debian's libpng and libjpeg, when the build found
 * them) and PGM read into bytes, resized, and a grayscale PNG or PGM
 * written. Sizes are checked from the header before anything is allocated,
 * and every decoder's error comes back as a message, never as an exit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#if OT_HAVE_PNG
#include <png.h>
#endif
#if OT_HAVE_JPEG
#include <jpeglib.h>
#include <jerror.h>
#endif

/* A declared size beyond this is refused before anything is decoded: 64
 * megapixels, a photograph's size many times over. */
#define MAX_PIXELS ((size_t)1 << 26)

static int bad(const char *path, const char *why)
{
    cli_error("--image: %s: %s", path, why);
    return 0;
}

static int check_size(const char *path, size_t w, size_t h)
{
    char msg[160];
    if (w == 0 || h == 0) {
        snprintf(msg, sizeof msg, "an image of %zu x %zu pixels", w, h);
        return bad(path, msg);
    }
    if (w > MAX_PIXELS || h > MAX_PIXELS / w) {
        snprintf(msg, sizeof msg, "%zu x %zu pixels: more than the %zu megapixels an image "
                 "may have", w, h, MAX_PIXELS >> 20);
        return bad(path, msg);
    }
    return 1;
}

/* ---- PGM (netpbm P5 binary and P2 text, maxval up to 65535) ---- */

/* The next header number, past whitespace and # comments; -1 at a bad one. */
static long pnm_number(FILE *f)
{
    int c = fgetc(f);
    for (;;) {
        while (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            c = fgetc(f);
        if (c != '#')
            break;
        while (c != '\n' && c != EOF)
            c = fgetc(f);
    }
    long v = 0;
    int digits = 0;
    while (c >= '0' && c <= '9' && digits < 10) {
        v = v * 10 + (c - '0');
        digits++;
        c = fgetc(f);
    }
    if (digits == 0 || digits == 10 || (c != EOF && c != ' ' && c != '\t' && c != '\n' &&
                                        c != '\r' && c != '#'))
        return -1;
    if (c == '#')
        ungetc(c, f);
    return v;
}

static int read_pgm(FILE *f, const char *path, int text, cli_image *img)
{
    long w = pnm_number(f), h = pnm_number(f), maxval = pnm_number(f);
    if (w < 0 || h < 0 || maxval < 1 || maxval > 65535)
        return bad(path, "a PGM header without a width, height and maximum value (1..65535)");
    if (!check_size(path, (size_t)w, (size_t)h))
        return 0;
    size_t n = (size_t)w * (size_t)h;
    uint8_t *p = malloc(n);
    if (p == NULL)
        return bad(path, "out of memory");
    for (size_t i = 0; i < n; i++) {
        long v;
        if (text) {
            v = pnm_number(f);
        } else if (maxval < 256) {
            int c = fgetc(f);
            v = c == EOF ? -1 : c;
        } else {
            int hi = fgetc(f), lo = fgetc(f);
            v = hi == EOF || lo == EOF ? -1 : hi << 8 | lo;
        }
        if (v < 0 || v > maxval) {
            free(p);
            char msg[128];
            snprintf(msg, sizeof msg, "%s at pixel %zu of %zu", v < 0 ? "cut short" :
                     "a value above its maximum", i, n);
            return bad(path, msg);
        }
        p[i] = (uint8_t)((v * 255 + maxval / 2) / maxval);
    }
    img->pixels = p;
    img->width = (size_t)w;
    img->height = (size_t)h;
    return 1;
}

/* ---- PNG ---- */

#if OT_HAVE_PNG
typedef struct png_err {
    jmp_buf jmp;
    char msg[200];
} png_err;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int read_png(FILE *f, const char *path, cli_image *img)
{
    png_err e = {.msg = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &e, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *volatile rgba = NULL, *volatile gray = NULL;
    png_bytep *volatile rows = NULL;
    if (png == NULL || info == NULL) {
        png_destroy_read_struct(&png, &info, NULL);
        return bad(path, "out of memory");
    }
    if (setjmp(e.jmp)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(rgba);
        free(gray);
        free(rows);
        char msg[240];
        snprintf(msg, sizeof msg, "not a readable PNG: %s", e.msg);
        return bad(path, msg);
    }
    /* libpng refuses larger headers itself, before allocating */
    png_set_user_limits(png, 1u << 16, 1u << 16);
    png_init_io(png, f);
    png_read_info(png, info);
    size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (!check_size(path, w, h)) {
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    /* every kind as 8-bit gray and alpha */
    png_set_expand(png);
    png_set_strip_16(png);
    png_byte type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_RGB || type == PNG_COLOR_TYPE_RGB_ALPHA ||
        type == PNG_COLOR_TYPE_PALETTE)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1); /* ITU-R BT.709, libpng's default */
    if (!(png_get_color_type(png, info) & PNG_COLOR_MASK_ALPHA) &&
        !png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != 2 * w)
        png_error(png, "an unexpected pixel layout");
    rgba = malloc(2 * w * h);
    gray = malloc(w * h);
    rows = malloc(h * sizeof *rows);
    if (rgba == NULL || gray == NULL || rows == NULL)
        png_error(png, "out of memory");
    for (size_t y = 0; y < h; y++)
        rows[y] = rgba + 2 * w * y;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    /* transparent parts over white paper, as a drawing program shows them */
    for (size_t i = 0; i < w * h; i++) {
        unsigned g = rgba[2 * i], a = rgba[2 * i + 1];
        gray[i] = (uint8_t)((g * a + 255u * (255u - a) + 127u) / 255u);
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(rgba);
    free(rows);
    img->pixels = gray;
    img->width = w;
    img->height = h;
    return 1;
}
#endif

/* ---- JPEG ---- */

#if OT_HAVE_JPEG
typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    int cut; /* the data ended before the image did */
} jpeg_err;

static void jpeg_on_error(j_common_ptr c)
{
    longjmp(((jpeg_err *)(void *)c->err)->jmp, 1);
}

/* Warnings (libjpeg prints them on stderr): a stream cut short is filled
 * with gray and only warned about, so that is remembered; the others (a
 * few stray bytes) are let be. */
static void jpeg_on_message(j_common_ptr c, int level)
{
    jpeg_err *e = (jpeg_err *)(void *)c->err;
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
        e->cut = 1;
}

static int read_jpeg(FILE *f, const char *path, cli_image *img)
{
    struct jpeg_decompress_struct c;
    jpeg_err e;
    uint8_t *volatile gray = NULL;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jpeg_on_error;
    e.mgr.emit_message = jpeg_on_message;
    e.cut = 0;
    if (setjmp(e.jmp)) {
        char msg[JMSG_LENGTH_MAX], why[JMSG_LENGTH_MAX + 40];
        (*c.err->format_message)((j_common_ptr)&c, msg);
        jpeg_destroy_decompress(&c);
        free(gray);
        snprintf(why, sizeof why, "not a readable JPEG: %s", msg);
        return bad(path, why);
    }
    jpeg_create_decompress(&c);
    jpeg_stdio_src(&c, f);
    jpeg_read_header(&c, TRUE);
    if (!check_size(path, c.image_width, c.image_height)) {
        jpeg_destroy_decompress(&c);
        return 0;
    }
    c.out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(&c);
    const size_t w = c.output_width, h = c.output_height;
    gray = malloc(w * h);
    if (gray == NULL) {
        jpeg_destroy_decompress(&c);
        return bad(path, "out of memory");
    }
    while (c.output_scanline < h) {
        JSAMPROW row = gray + (size_t)c.output_scanline * w;
        jpeg_read_scanlines(&c, &row, 1);
    }
    jpeg_finish_decompress(&c);
    int cut = e.cut;
    jpeg_destroy_decompress(&c);
    if (cut) {
        free(gray);
        return bad(path, "not a readable JPEG: the data is cut short or corrupt");
    }
    img->pixels = gray;
    img->width = w;
    img->height = h;
    return 1;
}
#endif

int cli_image_read(const char *path, cli_image *img)
{
    memset(img, 0, sizeof *img);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_error("--image: %s: cannot open: %s", path, strerror(errno));
        return 0;
    }
    unsigned char m[8] = {0};
    size_t got = fread(m, 1, sizeof m, f);
    rewind(f);
    int ok;
    if (got >= 2 && m[0] == 'P' && (m[1] == '5' || m[1] == '2')) {
        fseek(f, 2, SEEK_SET);
        ok = read_pgm(f, path, m[1] == '2', img);
    } else if (got == 8 && memcmp(m, "\x89PNG\r\n\x1a\n", 8) == 0) {
#if OT_HAVE_PNG
        ok = read_png(f, path, img);
#else
        ok = bad(path, "a PNG, and this omptrain was built without libpng (install "
                 "libpng-dev and rebuild): convert it to PGM");
#endif
    } else if (got >= 3 && m[0] == 0xff && m[1] == 0xd8 && m[2] == 0xff) {
#if OT_HAVE_JPEG
        ok = read_jpeg(f, path, img);
#else
        ok = bad(path, "a JPEG, and this omptrain was built without libjpeg (install "
                 "libjpeg-dev and rebuild): convert it to PGM");
#endif
    } else {
        ok = bad(path, "not a PNG, JPEG or PGM image (by its first bytes)");
    }
    fclose(f);
    return ok;
}

/* The mean of src over the box [x0, x1) x [y0, y1) (fractions of pixels
 * weighed by their share). */
static double box_mean(const cli_image *s, double x0, double x1, double y0, double y1)
{
    double sum = 0.0, area = 0.0;
    for (size_t y = (size_t)y0; (double)y < y1 && y < s->height; y++) {
        double hy = ((double)y + 1 < y1 ? (double)y + 1 : y1) - ((double)y > y0 ? (double)y : y0);
        for (size_t x = (size_t)x0; (double)x < x1 && x < s->width; x++) {
            double hx = ((double)x + 1 < x1 ? (double)x + 1 : x1) -
                        ((double)x > x0 ? (double)x : x0);
            sum += hx * hy * s->pixels[y * s->width + x];
            area += hx * hy;
        }
    }
    return area > 0.0 ? sum / area : 0.0;
}

/* Bilinear at pixel centres (cv.resize's INTER_LINEAR), edges clamped. */
static double bilinear(const cli_image *s, double fx, double fy)
{
    fx = fx < 0.0 ? 0.0 : fx > (double)s->width - 1 ? (double)s->width - 1 : fx;
    fy = fy < 0.0 ? 0.0 : fy > (double)s->height - 1 ? (double)s->height - 1 : fy;
    size_t x0 = (size_t)fx, y0 = (size_t)fy;
    size_t x1 = x0 + 1 < s->width ? x0 + 1 : x0, y1 = y0 + 1 < s->height ? y0 + 1 : y0;
    double ax = fx - (double)x0, ay = fy - (double)y0;
    const uint8_t *p = s->pixels;
    double top = p[y0 * s->width + x0] * (1 - ax) + p[y0 * s->width + x1] * ax;
    double bottom = p[y1 * s->width + x0] * (1 - ax) + p[y1 * s->width + x1] * ax;
    return top * (1 - ay) + bottom * ay;
}

void cli_image_resize(const cli_image *src, size_t w, size_t h, uint8_t *out)
{
    const double sx = (double)src->width / (double)w, sy = (double)src->height / (double)h;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            double v;
            if (sx >= 1.0 && sy >= 1.0) /* shrinking: each pixel the mean of its box
                                         * (cv.resize's INTER_AREA) */
                v = box_mean(src, (double)x * sx, (double)(x + 1) * sx, (double)y * sy,
                             (double)(y + 1) * sy);
            else
                v = bilinear(src, ((double)x + 0.5) * sx - 0.5, ((double)y + 0.5) * sy - 0.5);
            out[y * w + x] = (uint8_t)(v + 0.5 < 255.0 ? v + 0.5 : 255.0);
        }
}

void cli_image_free(cli_image *img)
{
    free(img->pixels);
    memset(img, 0, sizeof *img);
}

#if OT_HAVE_PNG
typedef struct mem_png {
    unsigned char *data;
    size_t len, cap;
    int failed;
} mem_png;

static void mem_write(png_structp p, png_bytep bytes, png_size_t n)
{
    mem_png *m = png_get_io_ptr(p);
    if (m->failed)
        return;
    if (m->len + n > m->cap) {
        size_t cap = (m->cap ? 2 * m->cap : 1024) + n;
        unsigned char *d = realloc(m->data, cap);
        if (d == NULL) {
            m->failed = 1;
            return;
        }
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, bytes, n);
    m->len += n;
}

static void mem_flush(png_structp p) { (void)p; }
#endif

int cli_png_encode(const uint8_t *gray, size_t w, size_t h, unsigned char **out, size_t *len)
{
#if OT_HAVE_PNG
    mem_png m = {0};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    if (p == NULL || info == NULL || setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        free(m.data);
        return 0;
    }
    png_set_write_fn(p, &m, mem_write, mem_flush);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (size_t y = 0; y < h; y++)
        png_write_row(p, gray + y * w);
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    if (m.failed) {
        free(m.data);
        return 0;
    }
    *out = m.data;
    *len = m.len;
    return 1;
#else
    (void)gray, (void)w, (void)h, (void)out, (void)len;
    return 0;
#endif
}

int cli_image_write(const char *path, const uint8_t *gray, size_t w, size_t h)
{
    size_t len = strlen(path);
    int png = len > 4 && strcmp(path + len - 4, ".png") == 0;
    cli_file o;
    if (!cli_file_open(&o, path)) {
        cli_error("--output: %s: cannot create a file there: %s", path, strerror(errno));
        return 0;
    }
    int ok = 1;
    if (!png) {
        fprintf(o.f, "P5\n%zu %zu\n255\n", w, h);
        ok = fwrite(gray, 1, w * h, o.f) == w * h;
    } else {
#if OT_HAVE_PNG
        png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = p ? png_create_info_struct(p) : NULL;
        if (p == NULL || info == NULL || setjmp(png_jmpbuf(p))) {
            ok = 0;
        } else {
            png_init_io(p, o.f);
            png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                         PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                         PNG_FILTER_TYPE_DEFAULT);
            png_write_info(p, info);
            for (size_t y = 0; y < h; y++)
                png_write_row(p, gray + y * w);
            png_write_end(p, NULL);
        }
        png_destroy_write_struct(&p, &info);
#else
        cli_file_abandon(&o);
        cli_error("--output: %s: this omptrain was built without libpng (install libpng-dev "
                  "and rebuild): write .svg or .pgm", path);
        return 0;
#endif
    }
    if (!ok) {
        cli_file_abandon(&o);
        cli_error("--output: %s: cannot write the image", path);
        return 0;
    }
    if (!cli_file_commit(&o)) {
        cli_error("--output: %s: write failed: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}
