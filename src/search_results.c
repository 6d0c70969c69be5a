/*
 * search_results.c - a search's results (search.h): each fit's outcome
 * recorded for the candidates that share it, their means and standard
 * deviations over the splits, their ranks, as scikit-learn's cv_results_.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "search.h"

static double mean_of(const double *v, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return sum / (double)n;
}

static double std_of(const double *v, size_t n, double mean)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (v[i] - mean) * (v[i] - mean);
    return sqrt(sum / (double)n);
}

/* Candidate i's means and standard deviations, and its learning curve, the
 * mean over the splits in split order (all its splits done). */
static void summarize(ot_search *s, size_t i)
{
    const size_t K = s->splits, E = s->cands[i].fit.epochs;
    const double *sc = s->split_curve + K * s->curve_at[i];
    for (size_t j = 0; j < E; j++) {
        double sum = 0.0;
        for (size_t k = 0; k < K; k++)
            sum += sc[k * E + j];
        s->curve[s->curve_at[i] + j] = sum / (double)K;
    }
    const double *cols[3] = {s->scores + i * K, s->fit_s + i * K, s->score_s + i * K};
    for (int c = 0; c < 3; c++) {
        double mean = mean_of(cols[c], K);
        s->stats[i * 6 + 2 * c] = mean;
        s->stats[i * 6 + 2 * c + 1] = std_of(cols[c], K, mean);
    }
}

static void result_of(const ot_search *s, size_t i, ot_search_result *r)
{
    const double *st = s->stats + i * 6;
    *r = (ot_search_result){
        .candidate = i, .splits = s->splits, .scores = s->scores + i * s->splits,
        .mean_score = st[0], .std_score = st[1], .rank = s->rank[i],
        .mean_fit_time = st[2], .std_fit_time = st[3], .mean_score_time = st[4],
        .std_score_time = st[5], .error = s->error[i],
        .epoch_scores = s->curve + s->curve_at[i], .epochs = s->cands[i].fit.epochs};
}

/* Records split k of candidate i from its group's fit's outcome o. Under
 * the lock. */
static void record(ot_search *s, size_t i, size_t k, const ot__fit_outcome *o)
{
    const size_t e = s->cands[i].fit.epochs, at = i * s->splits + k;
    const size_t have = o->epochs;
    double fit_s = 0.0, score_s = 0.0, score = s->cfg.error_score;
    const char *why = NULL;
    size_t last = e;
    if (s->cands[i].fit.early_stopping.enabled && o->status == OT_OK && have > 0)
        last = s->cands[i].fit.early_stopping.restore_best_weights && o->best > 0
                   ? o->best
                   : have; /* the weights kept */
    double *curve = s->split_curve + s->splits * s->curve_at[i] + k * e;
    for (size_t j = 0; j < e; j++)
        curve[j] = j < have ? s->sign * o->em[3 * j] : NAN;
    for (size_t j = 0; j < have && j < e; j++) {
        const double *em = o->em + 3 * j; /* val_metric, samples/s, seconds */
        double train_s = em[1] > 0.0 ? (double)s->n_train[k] / em[1] : em[2];
        fit_s += train_s;
        if (j + 1 == last) {
            score_s = em[2] > train_s ? em[2] - train_s : 0.0;
            score = s->sign * em[0];
        }
    }
    if (last > have)
        why = o->status != OT_OK ? o->msg : "the fit ended before the candidate's last epoch";
    else if (!isfinite(score))
        why = "the score is not finite", score = s->cfg.error_score;
    if (why != NULL && k < s->error_split[i]) { /* the first split's, whatever the order */
        s->error_split[i] = k;
        snprintf(s->error[i], sizeof s->error[i], "split %zu: %s", k, why);
    }
    s->scores[at] = score;
    s->fit_s[at] = fit_s;
    s->score_s[at] = score_s;
    s->done[at] = 1;
    if (--s->left[i] == 0) {
        summarize(s, i);
        ot_search_result r;
        result_of(s, i, &r);
        r.rank = 0;
        if (s->cfg.on_candidate && s->cfg.on_candidate(&r, s->cfg.user))
            atomic_store(&s->cancelled, 1);
    }
}

/* Records every candidate of the item's group on its split. Under the
 * lock. */
void ot__search_record(ot_search *s, const ot__fit_outcome *o)
{
    const size_t g = o->item / s->splits, k = o->item % s->splits;
    if (!o->done)
        return;
    for (size_t i = g; i < s->n; i++)
        if (s->group[i] == g && !s->done[i * s->splits + k])
            record(s, i, k, o);
}

/* Ranks the candidates done as scikit-learn's rank_test_score: by mean
 * score, higher first, equals sharing the least rank, NaN last; 0 for the
 * others. */
void ot__search_rank(ot_search *s)
{
    for (size_t i = 0; i < s->n; i++) {
        double a = s->stats[i * 6];
        size_t r = 1;
        for (size_t j = 0; j < s->n; j++) {
            double b = s->stats[j * 6];
            if (s->left[j] == 0 && (isnan(a) ? !isnan(b) : (!isnan(b) && b > a)))
                r++;
        }
        s->rank[i] = s->left[i] == 0 ? r : 0;
    }
}

ot_status ot_search_restore(ot_search *s, size_t i, const ot_search_result *r)
{
    if (s == NULL || r == NULL || i >= s->n || r->splits != s->splits || r->scores == NULL)
        return ot__fail(OT_INVALID_ARGUMENT, "search: restore candidate %zu of %zu with %zu "
                        "splits (the search has %zu)", i, s ? s->n : 0, r ? r->splits : 0,
                        s ? s->splits : 0);
    const size_t K = s->splits;
    for (size_t k = 0; k < K; k++) {
        s->scores[i * K + k] = r->scores[k];
        s->fit_s[i * K + k] = r->mean_fit_time;
        s->score_s[i * K + k] = r->mean_score_time;
        s->done[i * K + k] = 1;
    }
    s->left[i] = 0;
    for (size_t j = 0; j < K * s->cands[i].fit.epochs; j++)
        s->split_curve[K * s->curve_at[i] + j] = NAN; /* not kept from the earlier run */
    summarize(s, i);
    double *st = s->stats + i * 6; /* the times as they were measured */
    st[2] = r->mean_fit_time;
    st[3] = r->std_fit_time;
    st[4] = r->mean_score_time;
    st[5] = r->std_score_time;
    snprintf(s->error[i], sizeof s->error[i], "%s", r->error ? r->error : "");
    return OT_OK;
}

size_t ot_search_candidates(const ot_search *s) { return s ? s->n : 0; }

int ot_search_done(const ot_search *s, size_t i)
{
    return s != NULL && i < s->n && s->left[i] == 0;
}

ot_status ot_search_result_get(const ot_search *s, size_t i, ot_search_result *out)
{
    if (s == NULL || out == NULL || i >= s->n)
        return ot__fail(OT_INVALID_ARGUMENT, "search: candidate %zu of %zu", i, s ? s->n : 0);
    if (s->left[i] > 0)
        return ot__fail(OT_INVALID_STATE, "search: candidate %zu has %zu of %zu splits to do",
                        i, s->left[i], s->splits);
    result_of(s, i, out);
    return OT_OK;
}

size_t ot_search_best(const ot_search *s)
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; s != NULL && i < s->n; i++) {
        double a = s->stats[i * 6];
        if (s->left[i] == 0 && !isnan(a) && (best == SIZE_MAX || a > s->stats[best * 6]))
            best = i;
    }
    return best;
}

