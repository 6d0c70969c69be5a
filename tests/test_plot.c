/*
 * test_plot.c - the SVG curves: a well-formed standalone document with one
 * curve per series (training and validation of loss and metric), points at
 * the right places, and a clear error for an empty history.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/history.h"

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static ot_history *history_of(size_t epochs, int with_val, const ot__metric_list *list)
{
    ot_history *h = NULL;
    cr_assert_eq(ot__history_new(&h, epochs, list), OT_OK);
    for (size_t i = 0; i < epochs; i++) {
        ot_epoch_metrics *e = &h->epochs[h->len++];
        e->epoch = i + 1;
        e->loss = 1.0 / (double)(i + 1);
        e->val_loss = with_val ? 1.2 / (double)(i + 1) : NAN;
        e->n_metrics = list->n;
        for (size_t k = 0; k < list->n; k++) {
            e->metrics[k] = 0.5 + 0.05 * (double)i + 0.01 * (double)k;
            e->val_metrics[k] = with_val ? 0.45 + 0.05 * (double)i : NAN;
        }
        e->metric = e->metrics[0];
        e->val_metric = e->val_metrics[0];
    }
    return h;
}

static ot_history *history(size_t epochs, int with_val)
{
    static const ot__metric_list accuracy = {1, {OT_METRIC_ACCURACY}};
    return history_of(epochs, with_val, &accuracy);
}

Test(plot, a_panel_for_each_metric)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.svg", dir);
    const ot__metric_list list = {2, {OT_METRIC_ACCURACY, OT_METRIC_MSE}};
    ot_history *h = history_of(4, 1, &list);
    cr_assert_eq(ot_history_write_svg(h, path), OT_OK, "%s", ot_last_error());
    static char buf[1 << 16];
    size_t n = th_read(path, (unsigned char *)buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert(strstr(buf, "width=\"1380\"") != NULL, "three panels of 460");
    cr_assert_eq(count(buf, "<polyline"), 6);
    cr_assert_eq(count(buf, "<circle"), 24);
    cr_assert(strstr(buf, ">loss</text>") && strstr(buf, ">accuracy</text>") &&
              strstr(buf, ">mse</text>"));
    ot_history_destroy(h);
}

Test(plot, two_panels_four_curves)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.svg", dir);
    ot_history *h = history(5, 1);
    cr_assert_eq(ot_history_write_svg(h, path), OT_OK, "%s", ot_last_error());
    static char buf[1 << 16];
    size_t n = th_read(path, (unsigned char *)buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert(strncmp(buf, "<?xml", 5) == 0);
    cr_assert(strstr(buf, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    cr_assert(strstr(buf, "</svg>\n") == buf + n - 7);
    cr_assert_eq(count(buf, "<polyline"), 4);
    cr_assert_eq(count(buf, "<circle"), 20);
    cr_assert_eq(count(buf, "<g "), count(buf, "</g>"));
    cr_assert(strstr(buf, ">loss</text>") && strstr(buf, ">accuracy</text>") &&
              strstr(buf, ">validation</text>") && strstr(buf, ">epoch</text>"));
    ot_history_destroy(h);

    h = history(3, 0); /* no validation: training curves only */
    cr_assert_eq(ot_history_write_svg(h, path), OT_OK);
    n = th_read(path, (unsigned char *)buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert_eq(count(buf, "<polyline"), 2);
    cr_assert(strstr(buf, ">validation</text>") == NULL);
    ot_history_destroy(h);

    h = history(0, 1);
    cr_assert_eq(ot_history_write_svg(h, path), OT_INVALID_ARGUMENT);
    cr_assert(strstr(ot_last_error(), "no epochs") != NULL);
    ot_history_destroy(h);
}

Test(plot, one_epoch_and_constant_values)
{
    char dir[256], path[300];
    th_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/h.svg", dir);
    ot_history *h = history(1, 1);
    h->epochs[0].loss = h->epochs[0].val_loss = 0.5;
    cr_assert_eq(ot_history_write_svg(h, path), OT_OK);
    static char buf[1 << 16];
    size_t n = th_read(path, (unsigned char *)buf, sizeof buf - 1);
    buf[n] = 0;
    cr_assert(strstr(buf, "nan") == NULL && strstr(buf, "inf") == NULL, "%s", buf);
    ot_history_destroy(h);
}
