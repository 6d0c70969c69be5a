/*
 * show.c - `omptrain show --data SPEC --output FILE.svg|png|pgm`: the
 * textbook's plt.imshow(image, cmap='Greys') over the first samples, a grid
 * of them with their labels and, with --predict-with MODEL, the model's
 * class for each, the wrong ones marked. SVG draws the names; a PNG or PGM
 * is the pixels alone, a wrong prediction framed in black.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

size_t cli_class_names(const char *spec, const char **names, size_t max)
{
    static char copy[4096];
    static const char *const fashion[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                          "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                          "Ankle boot"};
    if (spec == NULL)
        return 0;
    if (strcmp(spec, "fashion-mnist") == 0 || strcmp(spec, "mnist") == 0) {
        static const char *const digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
        for (size_t i = 0; i < 10 && i < max; i++)
            names[i] = spec[0] == 'f' ? fashion[i] : digits[i];
        return 10;
    }
    if (strlen(spec) >= sizeof copy) {
        cli_error("--class-names: too long");
        return 0;
    }
    strcpy(copy, spec);
    size_t n = 0;
    for (char *p = copy;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0' || n == max) {
            cli_error("--class-names: '%s' must be names separated by commas (at most %zu), "
                      "fashion-mnist or mnist", spec, max);
            return 0;
        }
        names[n++] = p;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return n;
}

/* XML text: the five characters that must be escaped. */
static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void class_text(FILE *f, const char *const *names, size_t n_names, int32_t c)
{
    if (c >= 0 && (size_t)c < n_names)
        xml_text(f, names[c]);
    else
        fprintf(f, "%d", (int)c);
}

typedef struct grid {
    size_t count, cols, side_w, side_h; /* samples, columns, image shape */
    const float *x;                     /* count x side_w*side_h, in [0, 1] */
    const int32_t *label, *pred;        /* pred NULL without a model */
    const char *const *names;
    size_t n_names;
} grid;

/* Greys as matplotlib draws it: 0 white, 1 black. */
static unsigned shade(float v)
{
    float c = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    return (unsigned)(255.0f * (1.0f - c) + 0.5f);
}

/* The SVG's shades: 64 levels (runs of one shade grow long, the file
 * small; the eye sees no step). */
static unsigned svg_shade(float v) { return shade(v) / 4 * 255 / 63; }

/* The image as an embedded PNG drawn with square pixels; 0 without libpng. */
static int embed_png(FILE *f, const float *img, const grid *g, double px)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t gray[4096];
    unsigned char *png = NULL;
    size_t len = 0, n = g->side_w * g->side_h;
    if (n > sizeof gray)
        return 0;
    for (size_t k = 0; k < n; k++)
        gray[k] = (uint8_t)shade(img[k]);
    if (!cli_png_encode(gray, g->side_w, g->side_h, &png, &len))
        return 0;
    fprintf(f, "<image width=\"%.4g\" height=\"%.4g\" style=\"image-rendering:pixelated\" "
            "href=\"data:image/png;base64,", (double)g->side_w * px, (double)g->side_h * px);
    for (size_t k = 0; k < len; k += 3) {
        unsigned v = (unsigned)png[k] << 16 | (k + 1 < len ? (unsigned)png[k + 1] << 8 : 0) |
                     (k + 2 < len ? png[k + 2] : 0);
        fputc(b64[v >> 18 & 63], f);
        fputc(b64[v >> 12 & 63], f);
        fputc(k + 1 < len ? b64[v >> 6 & 63] : '=', f);
        fputc(k + 2 < len ? b64[v & 63] : '=', f);
    }
    fputs("\"/>\n", f);
    free(png);
    return 1;
}

static int write_svg(const char *path, const grid *g)
{
    cli_file o;
    if (!cli_file_open(&o, path)) {
        cli_error("--output: %s: cannot create a file there: %s", path, strerror(errno));
        return 0;
    }
    FILE *f = o.f;
    const double px = 112.0 / (double)(g->side_w > g->side_h ? g->side_w : g->side_h);
    const double cw = 132, ch = (double)g->side_h * px + 40;
    const size_t rows = (g->count + g->cols - 1) / g->cols;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
            "height=\"100%%\" fill=\"white\"/>\n", cw * (double)g->cols + 10,
            ch * (double)rows + 10);
    for (size_t i = 0; i < g->count; i++) {
        double x0 = 10 + cw * (double)(i % g->cols), y0 = 10 + ch * (double)(i / g->cols);
        int wrong = g->pred && g->pred[i] != g->label[i];
        fprintf(f, "<g transform=\"translate(%.1f,%.1f)\" shape-rendering=\"crispEdges\">\n",
                x0, y0);
        const float *img = g->x + i * g->side_w * g->side_h;
        if (embed_png(f, img, g, px))
            goto drawn;
        /* without libpng: runs of equal shade along each row, one rect each */
        for (size_t y = 0; y < g->side_h; y++)
            for (size_t x = 0; x < g->side_w;) {
                unsigned s = svg_shade(img[y * g->side_w + x]);
                size_t run = 1;
                while (x + run < g->side_w && svg_shade(img[y * g->side_w + x + run]) == s)
                    run++;
                if (s < 255)
                    fprintf(f, "<rect x=\"%.4g\" y=\"%.4g\" width=\"%.4g\" height=\"%.4g\" "
                            "fill=\"#%02x%02x%02x\"/>\n", (double)x * px, (double)y * px,
                            (double)run * px, px, s, s, s);
                x += run;
            }
    drawn:
        fprintf(f, "<rect width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"%s\" "
                "stroke-width=\"%d\"/>\n", (double)g->side_w * px, (double)g->side_h * px,
                wrong ? "#d62728" : "#bbbbbb", wrong ? 3 : 1);
        fprintf(f, "<text x=\"0\" y=\"%.1f\" fill=\"%s\">", (double)g->side_h * px + 15,
                wrong ? "#d62728" : "black");
        if (g->pred) {
            class_text(f, g->names, g->n_names, g->pred[i]);
            if (wrong) { /* the truth on a line of its own */
                fputs("<tspan x=\"0\" dy=\"14\">true: ", f);
                class_text(f, g->names, g->n_names, g->label[i]);
                fputs("</tspan>", f);
            }
        } else {
            class_text(f, g->names, g->n_names, g->label[i]);
        }
        fprintf(f, "</text>\n</g>\n");
    }
    fprintf(f, "</svg>\n");
    if (!cli_file_commit(&o)) {
        cli_error("--output: %s: write failed: %s", path, strerror(errno));
        return 0;
    }
    return 1;
}

static int write_raster(const char *path, const grid *g)
{
    /* each pixel 3 x 3, as the textbook's figure draws them large */
    const size_t z = 3, pad = 4, cw = z * g->side_w + 2 * pad, ch = z * g->side_h + 2 * pad;
    const size_t rows = (g->count + g->cols - 1) / g->cols, W = cw * g->cols, H = ch * rows;
    uint8_t *p = malloc(W * H);
    if (p == NULL) {
        cli_error("show: out of memory");
        return 0;
    }
    memset(p, 255, W * H);
    for (size_t i = 0; i < g->count; i++) {
        size_t x0 = cw * (i % g->cols), y0 = ch * (i / g->cols);
        const float *img = g->x + i * g->side_w * g->side_h;
        if (g->pred && g->pred[i] != g->label[i]) /* a wrong prediction: a black frame */
            for (size_t y = 1; y + 1 < ch; y++)
                for (size_t x = 1; x + 1 < cw; x++)
                    p[(y0 + y) * W + x0 + x] = 0;
        for (size_t y = 0; y < z * g->side_h; y++)
            for (size_t x = 0; x < z * g->side_w; x++)
                p[(y0 + pad + y) * W + x0 + pad + x] =
                    (uint8_t)shade(img[y / z * g->side_w + x / z]);
    }
    int ok = cli_image_write(path, p, W, H);
    free(p);
    return ok;
}

int cli_show(int argc, char **argv)
{
    const char *data = "fashion-mnist", *output = NULL, *model_path = NULL, *split = "train";
    const char *class_names = NULL, *label_columns = "-1", *size = NULL;
    size_t count = 25, first = 0;
    const cli_opt opts[] = {
        {"--data", CLI_STRING, &data, "SPEC", "fashion-mnist, idx:DIR or csv:FILE", 0, 0, NULL},
        {"--split", CLI_STRING, &split, "NAME", "idx and fashion-mnist: train or t10k", 0, 0, NULL},
        {"--first", CLI_SIZE, &first, "N", "the first sample shown (0-based)", 0, 4294967295.0, NULL},
        {"--count", CLI_SIZE, &count, "N", "samples shown, in a square grid", 1, 400, NULL},
        {"--predict-with", CLI_STRING, &model_path, "FILE", "a model whose class each sample is shown with, the wrong ones marked", 0, 0, NULL},
        {"--class-names", CLI_STRING, &class_names, "LIST", "fashion-mnist, mnist, or names separated by commas (SVG)", 0, 0, "fashion-mnist's for fashion-mnist data, else the numbers"},
        {"--image-size", CLI_STRING, &size, "WxH", "the samples' image shape", 0, 0, "the square of their features"},
        {"--label-column", CLI_STRING, &label_columns, "N", "csv: the label column", 0, 0, NULL},
        {"--output", CLI_STRING, &output, "FILE", "FILE.svg (with the class names), FILE.png or FILE.pgm (the pixels, wrong predictions framed) (required)", 0, 0, NULL},
    };
    int rc = cli_parse("show", "Draw a grid of samples with their labels (and a model's "
                       "predictions), as the textbook's plt.imshow(image, cmap='Greys').",
                       opts, sizeof opts / sizeof *opts, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    if (output == NULL) {
        cli_error("show: --output FILE.svg, .png or .pgm is required");
        return CLI_USAGE;
    }
    if (!cli_check_columns(label_columns) || !cli_check_output("--output", output))
        return CLI_USAGE;
    if (class_names == NULL && strcmp(data, "fashion-mnist") == 0)
        class_names = "fashion-mnist";
    const char *names[256];
    size_t n_names = cli_class_names(class_names, names, 256);
    if (class_names != NULL && n_names == 0)
        return CLI_USAGE;
    ot_dataset *d = NULL;
    ot_model *m = NULL;
    float *x = NULL, *out = NULL;
    int32_t *pred = NULL, *all = NULL;
    cli_data_options dopt = {split, label_columns, 1, 0, 0, NULL};
    if ((rc = cli_load_data(data, &dopt, &d)) != CLI_OK)
        return rc;
    rc = CLI_FAILED;
    const size_t N = ot_dataset_size(d), D = ot_dataset_dim(d);
    grid g = {.names = names, .n_names = n_names};
    if (first >= N) {
        cli_error("--first %zu: the data has %zu samples", first, N);
        rc = CLI_USAGE;
        goto done;
    }
    g.count = count < N - first ? count : N - first;
    for (g.cols = 1; g.cols * g.cols < g.count; g.cols++)
        ;
    if (size != NULL) {
        char *end;
        g.side_w = strtoul(size, &end, 10);
        g.side_h = *end == 'x' ? strtoul(end + 1, &end, 10) : 0;
        if (g.side_w == 0 || g.side_h == 0 || *end || g.side_w * g.side_h != D) {
            cli_error("--image-size: '%s' is not WxH of the data's %zu features", size, D);
            rc = CLI_USAGE;
            goto done;
        }
    } else {
        for (g.side_w = 1; g.side_w * g.side_w < D; g.side_w++)
            ;
        g.side_h = g.side_w;
        if (g.side_w * g.side_h != D) {
            cli_error("show: %zu features are not a square image's: give --image-size WxH", D);
            rc = CLI_USAGE;
            goto done;
        }
    }
    x = malloc(g.count * D * sizeof *x);
    all = malloc(N * sizeof *all);
    if (x == NULL || all == NULL) {
        cli_error("show: out of memory");
        goto done;
    }
    if (ot_dataset_rows(d, first, g.count, x, g.count * D) != OT_OK ||
        ot_dataset_labels(d, all, N) != OT_OK) {
        cli_fail("show");
        goto done;
    }
    g.x = x;
    g.label = all + first;
    if (model_path != NULL) {
        if (ot_model_load(&m, model_path) != OT_OK) {
            cli_fail("--predict-with");
            goto done;
        }
        size_t C = ot_model_output_dim(m);
        out = malloc(g.count * C * sizeof *out);
        pred = malloc(g.count * sizeof *pred);
        if (out == NULL || pred == NULL) {
            cli_error("show: out of memory");
            goto done;
        }
        if (ot_model_predict_dataset(m, d, first, g.count, out, g.count * C, pred, NULL) !=
            OT_OK) {
            cli_fail("--predict-with");
            goto done;
        }
        g.pred = pred;
    }
    size_t len = strlen(output);
    int svg = len > 4 && strcmp(output + len - 4, ".svg") == 0;
    if (!(svg ? write_svg(output, &g) : write_raster(output, &g)))
        goto done;
    size_t wrong = 0;
    for (size_t i = 0; g.pred && i < g.count; i++)
        wrong += g.pred[i] != g.label[i];
    printf("drew samples %zu..%zu of %s into %s", first, first + g.count - 1, data, output);
    if (g.pred)
        printf(", %zu of %zu predicted wrong", wrong, g.count);
    printf("\n");
    rc = CLI_OK;
done:
    free(x);
    free(all);
    free(out);
    free(pred);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
    return rc;
}
