/*
 * progress.c - what a person sees while training: Keras' progress line. On
 * a terminal a live bar redrawn at most 10 times a second; into a file or a
 * pipe one line per epoch, with no carriage returns.
 */
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t last_steps; /* steps of the epoch being drawn */

cli_progress cli_progress_of(const ot_model *m, int quiet, size_t epochs)
{
    /* under mpirun rank 0 may write to a pseudo-terminal that is a pipe at
     * the far end: one line an epoch */
    cli_progress p = {isatty(STDOUT_FILENO) && cli_ranks() == 1, quiet, epochs, 0.0, 0, {0}};
    ot_metric have[OT_METRICS_MAX];
    p.n_metrics = ot_model_metrics(m, have, OT_METRICS_MAX);
    for (size_t k = 0; k < p.n_metrics; k++)
        p.metrics[k] = ot_metric_name(have[k]);
    return p;
}

/* " - NAME: V" for each metric, NAME prefixed by `prefix` */
static void metrics(const cli_progress *p, const char *prefix, const double *v)
{
    for (size_t k = 0; k < p->n_metrics; k++)
        printf(" - %s%s: %.4f", prefix, p->metrics[k], v[k]);
}

static void bar(size_t step, size_t steps)
{
    const int width = 30;
    int done = (int)((double)width * (double)step / (double)steps);
    printf("%zu/%zu [", step, steps);
    for (int i = 0; i < width; i++)
        putchar(i < done ? '=' : (i == done && step < steps ? '>' : '.'));
    putchar(']');
}

int cli_progress_step(const ot_step_metrics *s, void *user)
{
    cli_progress *p = user;
    last_steps = s->steps;
    if (p->quiet || !p->tty)
        return 0;
    double t = now();
    if (s->step != 1 && s->step != s->steps && t - p->last_draw < 0.1)
        return 0;
    p->last_draw = t;
    if (s->step == 1)
        printf("Epoch %zu/%zu\n", s->epoch, p->epochs);
    double eta = s->seconds / (double)s->step * (double)(s->steps - s->step);
    printf("\r");
    bar(s->step, s->steps);
    printf(" - ETA: %.0fs - loss: %.4f", eta, s->loss);
    metrics(p, "", s->metrics);
    printf("\033[K");
    fflush(stdout);
    return 0;
}

int cli_progress_epoch(const ot_epoch_metrics *e, void *user)
{
    cli_progress *p = user;
    if (p->quiet)
        return 0;
    if (p->tty)
        printf("\r");
    else
        printf("Epoch %zu/%zu\n", e->epoch, p->epochs);
    size_t steps = last_steps;
    bar(steps, steps);
    double per_step = steps ? e->seconds / (double)steps : 0.0;
    if (per_step >= 1e-3)
        printf(" - %.0fs %.0fms/step", e->seconds, 1e3 * per_step);
    else
        printf(" - %.0fs %.0fus/step", e->seconds, 1e6 * per_step);
    printf(" - loss: %.4f", e->loss);
    metrics(p, "", e->metrics);
    if (!isnan(e->val_loss)) {
        printf(" - val_loss: %.4f", e->val_loss);
        metrics(p, "val_", e->val_metrics);
    }
    printf(" - %.0f samples/s", e->samples_per_second);
    if (e->bytes_read > 0 && e->read_seconds > 0) /* --stream: what reading costs */
        printf(" - read %.0f MB/s, the reader busy %.0f%%", e->bytes_read / 1e6 / e->seconds,
               100.0 * e->read_seconds / e->seconds);
    else if (e->bytes_read > 0)
        printf(" - read %.0f MB/s (mapped)", e->bytes_read / 1e6 / e->seconds);
    if (e->comm_seconds > 0) /* under mpirun: the part spent between ranks */
        printf(" - exchange %.0f%% (%.2fs)", 100.0 * e->comm_seconds / e->seconds,
               e->comm_seconds);
    if (e->thread_changes > 0) /* elastic threads: another program came or went */
        printf(" - threads %.1f on average, changed %zu time%s (last: %s)", e->threads,
               e->thread_changes, e->thread_changes == 1 ? "" : "s", e->thread_change);
    printf("%s\n", p->tty ? "\033[K" : "");
    fflush(stdout);
    return 0;
}
