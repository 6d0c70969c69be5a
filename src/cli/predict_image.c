/*
 * predict_image.c - `omptrain predict --model M --image FILE...`: the
 * textbook's hand-drawn digit, cv.imread(FILE, IMREAD_GRAYSCALE) resized
 * to the model's input, inverted when asked (255 - image: a dark drawing on
 * white paper becomes the training images' light on dark), scaled as the
 * IDX images are (b / 255), then the class and the top probabilities of
 * each file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The image shape for a model of `inputs`: --image-size WxH, or the
 * square of that many pixels; 0 when neither fits (error printed). */
static int image_shape(const char *size, size_t inputs, size_t *w, size_t *h)
{
    if (size != NULL) {
        char *end;
        unsigned long a = strtoul(size, &end, 10), b = 0;
        if (end != size && *end == 'x')
            b = strtoul(end + 1, &end, 10);
        if (a == 0 || b == 0 || *end != '\0' || a > 65536 || b > 65536) {
            cli_error("--image-size: '%s' is not WxH (e.g. 28x28)", size);
            return 0;
        }
        if (a * b != inputs) {
            cli_error("--image-size %s: %lu pixels, the model takes %zu inputs", size, a * b,
                      inputs);
            return 0;
        }
        *w = a;
        *h = b;
        return 1;
    }
    size_t s = 1;
    while (s * s < inputs)
        s++;
    if (s * s != inputs) {
        cli_error("--image: the model takes %zu inputs, not a square image's: give "
                  "--image-size WxH", inputs);
        return 0;
    }
    *w = *h = s;
    return 1;
}

int cli_predict_images(const ot_model *m, const cli_predict_images_args *a)
{
    const size_t D = ot_model_input_dim(m), C = ot_model_output_dim(m);
    size_t w, h;
    const char *names[256];
    size_t n_names = cli_class_names(a->class_names, names, 256);
    if (a->class_names != NULL && n_names == 0)
        return CLI_USAGE;
    if (n_names > 0 && n_names != (C == 1 ? 2 : C)) {
        cli_error("--class-names: %zu names, the model has %zu classes", n_names,
                  C == 1 ? (size_t)2 : C);
        return CLI_USAGE;
    }
    if (!image_shape(a->size, D, &w, &h))
        return CLI_USAGE;
    float *x = malloc(a->n * D * sizeof *x), *p = malloc(a->n * C * sizeof *p);
    uint8_t *small = malloc(D);
    int rc = CLI_FAILED;
    if (x == NULL || p == NULL || small == NULL) {
        cli_error("predict: out of memory");
        goto done;
    }
    for (size_t i = 0; i < a->n; i++) {
        cli_image img;
        if (!cli_image_read(a->paths[i], &img))
            goto done;
        double mean = 0.0;
        for (size_t k = 0; k < img.width * img.height; k++)
            mean += img.pixels[k];
        mean /= (double)(img.width * img.height);
        cli_image_resize(&img, w, h, small);
        cli_image_free(&img);
        for (size_t k = 0; k < D; k++)
            x[i * D + k] = (float)(a->invert ? 255 - small[k] : small[k]) / 255.0f;
        if (mean > 127.5 && !a->invert)
            fprintf(stderr, "%s: note: %s is mostly light; Fashion-MNIST's and MNIST's "
                    "images are light on dark: a dark drawing on white wants --invert\n",
                    cli_program, a->paths[i]);
        if (a->save_input != NULL) {
            char path[4096];
            const char *base = strrchr(a->paths[i], '/');
            snprintf(path, sizeof path, "%s/%s.input.pgm", a->save_input,
                     base ? base + 1 : a->paths[i]);
            for (size_t k = 0; k < D; k++)
                small[k] = (uint8_t)(x[i * D + k] * 255.0f + 0.5f);
            if (!cli_image_write(path, small, w, h))
                goto done;
        }
    }
    ot_eval_config ec = ot_eval_config_default();
    ec.threads = 1;
    if (ot_model_predict(m, x, a->n, p, a->n * C, &ec) != OT_OK) {
        cli_fail("predict");
        goto done;
    }
    ot_loss loss;
    int classifier = ot_model_loss(m, &loss) != OT_OK || loss <= OT_LOSS_BINARY_CROSSENTROPY;
    for (size_t i = 0; i < a->n && !classifier; i++) { /* a regression: its values */
        printf("%s:", a->paths[i]);
        for (size_t j = 0; j < C; j++)
            printf(" %.6g", (double)p[i * C + j]);
        printf("\n");
    }
    for (size_t i = 0; i < a->n && classifier; i++) {
        const float *q = p + i * C;
        /* the classes by probability, the first of equals first; one
         * sigmoid output is the classes 0 and 1 */
        size_t order[3], k = C == 1 ? 2 : C, top = k < 3 ? k : 3;
        float two[2] = {1.0f - q[0], q[0]};
        const float *prob = C == 1 ? two : q;
        for (size_t t = 0; t < top; t++) {
            size_t best = SIZE_MAX;
            for (size_t j = 0; j < k; j++) {
                int used = 0;
                for (size_t u = 0; u < t; u++)
                    used |= order[u] == j;
                if (!used && (best == SIZE_MAX || prob[j] > prob[best]))
                    best = j;
            }
            order[t] = best;
        }
        printf("%s: class %zu", a->paths[i], order[0]);
        if (n_names)
            printf(" (%s)", names[order[0]]);
        printf(", probability %.4f", (double)prob[order[0]]);
        for (size_t t = 1; t < top; t++) {
            printf("%s %zu", t == 1 ? "; then" : ",", order[t]);
            if (n_names)
                printf(" (%s)", names[order[t]]);
            printf(" %.4f", (double)prob[order[t]]);
        }
        printf("\n");
    }
    rc = CLI_OK;
done:
    free(x);
    free(p);
    free(small);
    return rc;
}
