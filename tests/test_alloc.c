/*
 * test_alloc.c - allocation-failure injection: the library's allocations all
 * go through one hook (src/alloc.c); fail its 1st, 2nd, ... Nth allocation
 * during each operation until the operation succeeds, and check that every
 * failure is a clean OT_OUT_OF_MEMORY with a message, leaves the objects
 * destroyable, and leaks nothing (the sanitizer build runs this suite under
 * LeakSanitizer). oneDNN's own allocations are not the library's and are not
 * injected.
 */
#include <criterion/criterion.h>

#include "helpers.h"
#include "src/common.h"
#include "src/fit.h"
#include "src/unit_split.h"

/* What a test forces (the step's cut, the forward product); zeros follow
 * the rules. Criterion runs each test in its own process. */
static ot__engine_options forced;

typedef ot_status (*op_fn)(void *ctx);

/* Runs op with the k-th allocation failing, k = 1, 2, ... until it passes;
 * returns how many failures were injected. */
static size_t inject(const char *name, op_fn op, void (*undo)(void *), void *ctx)
{
    for (size_t k = 1; k < 100000; k++) {
        ot__alloc_fail_after(k);
        ot_status st = op(ctx);
        ot__alloc_fail_after(0);
        if (st == OT_OK)
            return k - 1;
        cr_assert_eq(st, OT_OUT_OF_MEMORY, "%s, allocation %zu failing: %s (%s)", name, k,
                     ot_status_str(st), ot_last_error());
        cr_assert(ot_last_error()[0] != '\0', "%s: no message", name);
        if (undo)
            undo(ctx);
    }
    cr_assert_fail("%s never succeeded", name);
    return 0;
}

typedef struct ctx {
    ot_model *model;
    ot_dataset *data;
    ot_history *hist;
    char path[300], csv[300], img[300], lab[300];
} ctx;

static void drop_model(void *p)
{
    ctx *c = p;
    ot_model_destroy(c->model);
    c->model = NULL;
}

static void drop_data(void *p)
{
    ctx *c = p;
    ot_dataset_destroy(c->data);
    c->data = NULL;
}

static ot_status op_create(void *p)
{
    ctx *c = p;
    ot_layer l[] = {OT_FLATTEN, OT_DENSE(16, OT_ACTIVATION_SELU),
                    OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    return ot_model_create(&c->model, 20, l, 3, 1);
}

static ot_status op_compile(void *p)
{
    ctx *c = p;
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_RMSPROP);
    oc.centered = 1;
    oc.momentum = 0.5f;
    return ot_model_compile(c->model, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc);
}

static ot_status op_fit(void *p)
{
    ctx *c = p;
    ot_fit_config fc = ot_fit_config_default();
    fc.epochs = 2;
    fc.batch_size = 16;
    fc.validation_split = 0.25;
    fc.threads = 2;
    fc.shards = 3;
    fc.scaling = OT_SCALING_STANDARD;
    fc.early_stopping.enabled = 1;
    ot_history_destroy(c->hist);
    c->hist = NULL;
    return ot__fit(c->model, c->data, &fc, &forced, &c->hist);
}

static ot_status op_evaluate(void *p)
{
    ctx *c = p;
    double l, a;
    return ot_model_evaluate(c->model, c->data, NULL, &l, &a);
}

static ot_status op_confusion(void *p)
{
    ctx *c = p;
    size_t counts[16];
    return ot_model_confusion_matrix(c->model, c->data, NULL, counts, 4);
}

static ot_status op_save(void *p)
{
    ctx *c = p;
    return ot_model_save(c->model, c->path);
}

static ot_status op_load(void *p)
{
    ctx *c = p;
    return ot_model_load(&c->model, c->path);
}

static ot_status op_history(void *p)
{
    ctx *c = p;
    ot_status st = ot_history_write_csv(c->hist, c->csv);
    return st == OT_OK ? ot_history_write_svg(c->hist, c->csv) : st;
}

static ot_status op_idx(void *p)
{
    ctx *c = p;
    return ot_dataset_load_idx(&c->data, c->img, c->lab);
}

static ot_status op_csv(void *p)
{
    ctx *c = p;
    return ot_dataset_load_csv(&c->data, c->csv, NULL);
}

Test(alloc, every_failure_is_clean)
{
    ctx c;
    memset(&c, 0, sizeof c);
    char dir[256];
    th_tmpdir(dir, sizeof dir);
    snprintf(c.path, sizeof c.path, "%s/m.otm", dir);
    snprintf(c.csv, sizeof c.csv, "%s/h.csv", dir);
    snprintf(c.img, sizeof c.img, "%s/img.gz", dir);
    snprintf(c.lab, sizeof c.lab, "%s/lab", dir);

    size_t n = inject("model create", op_create, drop_model, &c);
    cr_assert_geq(n, 3, "model create made %zu allocations", n);
    n = inject("compile", op_compile, NULL, &c);
    cr_assert_geq(n, 1);
    c.data = th_blobs(100, 20, 4, 1);
    n = inject("fit", op_fit, NULL, &c);
    cr_assert_geq(n, 10, "fit made %zu allocations", n);
    n = inject("evaluate", op_evaluate, NULL, &c);
    cr_assert_geq(n, 5);
    inject("confusion matrix", op_confusion, NULL, &c);
    inject("history", op_history, NULL, &c);
    inject("save", op_save, NULL, &c);
    ot_model_destroy(c.model);
    c.model = NULL;
    n = inject("load", op_load, drop_model, &c);
    cr_assert_geq(n, 3);
    ot_dataset_destroy(c.data);
    c.data = NULL;

    th_idx_images(c.img, 0x803, 3000, 28, 28, 3000 * 784, 1); /* grows past 1 MiB */
    th_idx_labels(c.lab, 0x801, 3000, 3000, 10, 0);
    n = inject("IDX load", op_idx, drop_data, &c);
    cr_assert_geq(n, 4, "IDX load made %zu allocations", n);
    ot_dataset_destroy(c.data);
    c.data = NULL;
    th_write(c.csv, "a,b,y\n1,2,0\n3,4,1\n", 18, 0);
    n = inject("CSV load", op_csv, drop_data, &c);
    cr_assert_geq(n, 4);
    ot_dataset_destroy(c.data);
    ot_history_destroy(c.hist);
    ot_model_destroy(c.model);
}

/* Steps cut by units: their shared buffers, each thread's blocks (a kept
 * pre-activation for gelu), a last layer kept whole and so cut by its
 * inputs, and, with a last layer in blocks, the
 * assembled outputs; every failure clean, nothing leaked. */
Test(alloc, fit_cut_by_units_failures_are_clean)
{
    ctx c;
    memset(&c, 0, sizeof c);
    forced.cut = 1;
    ot_layer a[] = {OT_DENSE(48, OT_ACTIVATION_GELU), OT_DENSE(4, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&c.model, 20, a, 2, 1), OT_OK);
    ot_optimizer_config oc = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(c.model, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &oc), OT_OK);
    cr_assert(ot__usplit_applies(c.model, 16, 3, forced.cut));
    c.data = th_blobs(100, 20, 4, 1);
    size_t n = inject("fit cut by units", op_fit, NULL, &c);
    cr_assert_geq(n, 10, "fit made %zu allocations", n);
    ot_model_destroy(c.model);
    ot_dataset_destroy(c.data);

    enum { R = 100, C = 40 };
    float x[R * 20], t[R * C];
    for (size_t i = 0; i < R * 20; i++)
        x[i] = (float)sin(0.3 * (double)i);
    for (size_t i = 0; i < R * C; i++)
        t[i] = (float)cos(0.7 * (double)i);
    cr_assert_eq(ot_dataset_create_targets(&c.data, R, 20, x, C, t), OT_OK);
    ot_layer b[] = {OT_DENSE(64, OT_ACTIVATION_TANH), OT_DENSE(C, OT_ACTIVATION_LINEAR)};
    cr_assert_eq(ot_model_create(&c.model, 20, b, 2, 1), OT_OK);
    cr_assert_eq(ot_model_compile(c.model, OT_LOSS_MSE, &oc), OT_OK);
    n = inject("fit cut by units, last layer in blocks", op_fit, NULL, &c);
    cr_assert_geq(n, 10, "fit made %zu allocations", n);
    ot_model_destroy(c.model);
    ot_dataset_destroy(c.data);
    ot_history_destroy(c.hist);
    forced.cut = 0;
}

/* Allocations start on a cache line, and from 4 MiB on a huge page; a size
 * that would wrap in the rounding is refused, not made small. */
Test(alloc, alignment_and_sizes_at_the_edges)
{
    const size_t sizes[] = {1, 63, 64, 1000, ((size_t)4 << 20) - 1, (size_t)4 << 20,
                            ((size_t)5 << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = ot__alloc(sizes[i], 1, "test");
        cr_assert_not_null(p, "%zu bytes: %s", sizes[i], ot_last_error());
        size_t align = sizes[i] >= ((size_t)4 << 20) ? (size_t)2 << 20 : 64;
        cr_assert_eq((uintptr_t)p % align, 0, "%zu bytes at %p", sizes[i], (void *)p);
        p[0] = 1;
        p[sizes[i] - 1] = 2; /* the whole size is there (ASan checks) */
        ot__free(p);
    }
    cr_assert_null(ot__alloc(SIZE_MAX - 10, 1, "absurd"));
    cr_assert(strstr(ot_last_error(), "absurd") && strstr(ot_last_error(), "overflows"),
              "%s", ot_last_error());
    cr_assert_null(ot__alloc(SIZE_MAX / 2, 4, "absurd"));
}
