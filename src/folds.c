/*
 * folds.c - k-fold cross-validation's folds, cut as scikit-learn cuts them
 * without shuffling: StratifiedKFold for labelled data (each fold takes
 * each class in the proportion the whole has, the class's rows in their
 * order), KFold otherwise (contiguous blocks, the first n % k one row
 * longer). The same folds as a GridSearchCV(cv=k) of the same rows.
 */
#include "folds.h"

/* How many p in [0, x) have p % k == i. */
static size_t below(size_t x, size_t k, size_t i)
{
    return x > i ? (x - i - 1) / k + 1 : 0;
}

ot_status ot__folds_check(const ot_dataset *d, size_t k)
{
    if (k < 2)
        return ot__fail(OT_INVALID_ARGUMENT, "folds: %zu folds: at least 2", k);
    if (k > d->n)
        return ot__fail(OT_INVALID_ARGUMENT, "folds: %zu folds of %zu samples: at most "
                        "one fold per sample", k, d->n);
    if (d->y == NULL)
        return OT_OK;
    size_t *count = ot__calloc(d->classes, sizeof *count, "class counts");
    if (count == NULL)
        return OT_OUT_OF_MEMORY;
    for (size_t r = 0; r < d->n; r++)
        count[d->y[r]]++;
    ot_status status = OT_OK;
    for (size_t c = 0; c < d->classes && status == OT_OK; c++)
        if (count[c] > 0 && count[c] < k)
            status = ot__fail(OT_INVALID_ARGUMENT, "folds: class %zu has %zu sample%s, "
                              "fewer than the %zu folds (stratified: each fold needs "
                              "one of each class)", c, count[c], count[c] == 1 ? "" : "s",
                              k);
    ot__free(count);
    return status;
}

ot_status ot__folds_rows(const ot_dataset *d, size_t k, size_t fold, uint32_t *rows,
                         size_t *n_val)
{
    ot_status status = ot__folds_check(d, k);
    if (status != OT_OK)
        return status;
    if (fold >= k)
        return ot__fail(OT_INVALID_ARGUMENT, "folds: fold %zu of %zu (0-based)", fold, k);
    const size_t n = d->n;
    size_t nv = 0, nt = 0;
    if (d->y == NULL) {
        size_t lo = fold * (n / k) + (fold < n % k ? fold : n % k);
        size_t hi = lo + n / k + (fold < n % k);
        nv = hi - lo;
        for (size_t r = 0; r < n; r++) {
            if (r >= lo && r < hi)
                rows[r - lo] = (uint32_t)r;
            else
                rows[nv + nt++] = (uint32_t)r;
        }
        *n_val = nv;
        return OT_OK;
    }
    /* The classes numbered in the order they first appear (scikit-learn's
     * encoding); class c then holds the positions [start_c, start_c +
     * count_c) of the sorted numbers; fold i takes those p with p % k == i;
     * a class's rows, in order, go to fold 0 first, then fold 1, ... */
    const size_t C = d->classes;
    size_t *count = ot__calloc(4 * C, sizeof *count, "fold allocation");
    if (count == NULL)
        return OT_OUT_OF_MEMORY;
    size_t *first = count + C, *last = count + 2 * C; /* of fold `fold`, per class */
    size_t *order = count + 3 * C, classes = 0;
    for (size_t r = 0; r < n; r++)
        if (count[d->y[r]]++ == 0)
            order[classes++] = (size_t)d->y[r];
    size_t start = 0;
    for (size_t o = 0; o < classes; o++) {
        const size_t c = order[o];
        first[c] = 0;
        for (size_t i = 0; i < fold; i++)
            first[c] += below(start + count[c], k, i) - below(start, k, i);
        last[c] = first[c] + below(start + count[c], k, fold) - below(start, k, fold);
        nv += last[c] - first[c];
        start += count[c];
        count[c] = 0; /* now: the class's rows seen so far */
    }
    size_t v = 0;
    for (size_t r = 0; r < n; r++) {
        size_t c = (size_t)d->y[r], j = count[c]++;
        if (j >= first[c] && j < last[c])
            rows[v++] = (uint32_t)r;
        else
            rows[nv + nt++] = (uint32_t)r;
    }
    ot__free(count);
    *n_val = nv;
    return OT_OK;
}

ot_status ot__folds_for_fit(const ot_dataset *d, const ot_fit_config *cfg, uint32_t **rows,
                            ot__fit_rows *out)
{
    *rows = NULL;
    if (cfg->validation_folds == 1 || cfg->validation_folds > 65535 ||
        cfg->validation_fold >= cfg->validation_folds)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation_fold %zu of validation_folds "
                        "%zu: 2 to 65535 folds, the fold 0-based", cfg->validation_fold,
                        cfg->validation_folds);
    if (cfg->validation_split > 0.0 || cfg->validation_data != NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: give validation_folds, validation_split "
                        "or validation_data, one of them");
    uint32_t *r = ot__alloc(d->n, sizeof *r, "fold rows");
    if (r == NULL)
        return OT_OUT_OF_MEMORY;
    size_t n_val;
    ot_status status = ot__folds_rows(d, cfg->validation_folds, cfg->validation_fold, r,
                                      &n_val);
    if (status != OT_OK) {
        ot__free(r);
        return status;
    }
    *out = (ot__fit_rows){.val = r, .n_val = n_val, .train = r + n_val,
                          .n_train = d->n - n_val};
    *rows = r;
    return OT_OK;
}

ot_status ot__fit_rows_check(const ot_dataset *d, const ot_fit_config *cfg,
                             const ot__fit_rows *r)
{
    if (cfg->validation_split > 0.0 || cfg->validation_data != NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: validation rows given, and "
                        "validation_split or validation_data besides");
    if (r->n_train == 0)
        return ot__fail(OT_INVALID_ARGUMENT, "fit: no rows to train on");
    const uint32_t *lists[2] = {r->train, r->val};
    size_t lens[2] = {r->n_train, r->n_val};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < lens[k]; i++)
            if (lists[k][i] >= d->n)
                return ot__fail(OT_INVALID_ARGUMENT, "fit: %s row %zu is %u, past the "
                                "data's %zu rows", k ? "validation" : "training", i,
                                (unsigned)lists[k][i], d->n);
    return OT_OK;
}
