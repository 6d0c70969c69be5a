/*
 * bench.h - the pieces of the benchmark (bench/): shared helpers and the
 * timed fits (common.c), the PyTorch peer (peer.c), the grid's output
 * (report.c) and time to accuracy (accuracy.c). It drives the public API
 * only; the developer tool dev/bench runs the same suite with the engine's
 * probes (bench_probes).
 */
#ifndef OT_BENCH_H
#define OT_BENCH_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"
#include "omptrain.h"

#define MAX_AXIS 16
#define DATA_DIM 784 /* Fashion-MNIST's, and the synthetic rows' */
#define MAX_UNITS (1u << 24) /* the library's bound on a layer's width */
#define MODEL_NAME (MAX_AXIS * 9) /* "784-100-...": MAX_AXIS widths of 8 digits */

typedef struct config {
    size_t batches[MAX_AXIS], n_batches;
    int threads[MAX_AXIS], n_threads;
    char models[MAX_AXIS][MODEL_NAME];
    size_t n_models;
    const char *optimizer, *data, *out, *peer, *python;
    int reps;
    double seconds;
    size_t hot_rows; /* --step-parts: rows drawn from the first hot_rows only; 0: all */
} config;

/* One point of the grid and its repetitions. */
typedef struct point {
    const char *model;
    size_t batch;
    int threads;
    double sps[16], peer_sps[16];
    int n, n_peer;
    double kernel_sps, gemm_gflops, flops_per_sample, peak_mib;
    double scaling; /* median over the repetitions of samples/s / (threads x
                     * the 1-thread point's in the same repetition); NAN
                     * without a 1-thread point */
    double scaling_ceiling; /* the scaling the kernels' ceilings allow, the
                             * rest divided perfectly (bench/README.md);
                             * median over the repetitions; NAN likewise */
    int units; /* the steps are cut by units (else by rows) */
} point;

/* ---- common.c ---- */
double now(void);                         /* monotonic seconds */
/* A message on stderr after the program's name ("bench: ", or "omptrain: "
 * under `omptrain bench`). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Says on stderr what failed (and the library's last error), exits 1. */
_Noreturn void die(const char *what);
double median(const double *v, int n);    /* n <= 16 */
/* The strong-scaling efficiency a T-thread step would reach if its kernels
 * ran at their T-thread ceiling (kernels_t samples/s) and the rest of the
 * 1-thread step (sps1 samples/s, kernels1 of it its kernels' ceiling) were
 * divided among the T threads at no cost: the column scaling_ceiling. */
double scaling_ceiling(int threads, double sps1, double kernels1, double kernels_t);
int cmp_size(const void *a, const void *b); /* qsort's order of size_t */
double vmin(const double *v, int n);
double vmax(const double *v, int n);
/* The peak resident memory of this process since the last peak_reset
 * (0 when the peak cannot be reset: then since the start), MiB. */
int peak_reset(void);
double peak_mib(void);
/* "16,32": at most max whole numbers in [lo, hi], each once, into out in
 * ascending order; 0 when bad, after an error that names flag. */
int parse_axis(const char *flag, const char *s, size_t lo, size_t hi, size_t *out,
               size_t max, size_t *n);
/* "784-100-10" -> layers (relu hidden, softmax last); returns the count of
 * layers, 0 unless spec is 2 to MAX_AXIS widths in 1..MAX_UNITS joined by '-'. */
size_t parse_model(const char *spec, size_t *input, ot_layer *layers);
/* An output file built in memory, then written atomically (a temporary,
 * fsync, rename): a run that fails leaves the previous file whole. */
typedef struct outfile {
    cli_file file;
    char path[4096];
} outfile;
/* The stream to print DIR/NAME into; NULL when it cannot be had (said). */
FILE *out_open(outfile *o, const char *dir, const char *name);
/* Writes the file; 0 when it could not (said, the old file left as it was). */
int out_close(outfile *o);
/* Drops it, the old file left as it was. */
void out_abandon(outfile *o);
/* A compiled model of `spec`, seed 42; exits on failure. */
ot_model *make_model(const char *spec, const char *optimizer);
double flops_per_sample(const ot_layer *layers, size_t L, size_t in);
/* Samples/s of full training steps through ot_model_fit (shards = threads),
 * 20 warm-up steps excluded, at least `seconds` timed. */
double measure_omptrain(const char *spec, const ot_dataset *d, size_t batch,
                        int threads, const char *optimizer, double seconds);
/* The same through `fit`, a function of ot_model_fit's kind. */
typedef ot_status (*bench_fit)(ot_model *m, const ot_dataset *d, const ot_fit_config *cfg,
                               ot_history **history);
double measure_fit(const char *spec, const ot_dataset *d, size_t batch, int threads,
                   const char *optimizer, double seconds, bench_fit fit);
/* GFLOP/s of oneDNN's sgemm on 2048^3 with `threads` threads: the best of
 * `runs` timed calls, after one untimed. */
double measure_gemm(int threads, int runs);

/* What the developer tool (dev/) adds to the suite: the kernel-only
 * ceiling of each grid point, and modes that replace the grid, each
 * returning the exit status. NULL members: not there. */
typedef struct bench_probes {
    double (*kernels)(const char *spec, size_t batch, int threads, double seconds);
    int (*breakdown)(const config *c, const ot_dataset *d);
    int (*floors)(const config *c, const ot_dataset *d);
    int (*step_parts)(const config *c, const ot_dataset *d);
    int (*alternatives)(const config *c, const ot_dataset *d);
    int (*layouts)(const config *c, const ot_dataset *d);
} bench_probes;

/* The suite over argv[0..argc) (bench_main's), with the developer's probes
 * when `probes` is not NULL. */
int bench_run(const char *command, int argc, char **argv, const bench_probes *probes);

/* ---- peer.c ---- */
/* Below this fraction of oneDNN's GEMM peak, the peer's own GEMM is said
 * to be slow (peer_measure_gemm). */
#define PEER_GEMM_FLOOR 0.75

typedef struct peer {
    pid_t pid;
    FILE *to, *from;
    char version[64], blas[64], allocator[64];
    /* torch.mm's GFLOP/s (2048^3) per thread count, timed at the start */
    int gemm_threads[MAX_AXIS];
    double gemm_gflops[MAX_AXIS];
    int n_gemm;
    int lost; /* it failed to answer once: not asked again */
} peer;

/* Starts `python` (an interpreter with torch) on pytorch_mlp.py --serve over
 * the raw rows in xf/yf; 0 when torch is not there (said on stderr). */
int peer_start(peer *p, const char *python, const char *script, const char *xf,
               const char *yf, size_t n, size_t dim);
/* Samples/s of the peer's training steps; NAN on failure. */
double peer_run(peer *p, const char *model, size_t batch, int threads,
                const char *optimizer, double seconds);
/* Sends one request line and reads one answer line into `answer`, waiting
 * at most `timeout` seconds; 0 on failure, when the peer is killed and
 * marked lost (said once on stderr). */
/* The peer's GEMM peak (torch.mm 2048^3, median of 5) for each of
 * threads[0..n), into p->gemm_*: NAN where it does not answer. Says so
 * where it is below PEER_GEMM_FLOOR of oneDNN's sgemm on as many threads. */
void peer_measure_gemm(peer *p, const int *threads, int n);
/* What the peer was, for the output: "1.13.0a0 (BLAS OpenBLAS-0.3.21-SkylakeX,
 * allocator jemalloc)", its loss said, or "not run". */
const char *peer_describe(const peer *p, int have_peer, char *buf, size_t size);
int peer_ask(peer *p, const char *request, char *answer, size_t size, double timeout);
void peer_stop(peer *p);
/* Writes the rows of `d` for a peer into DIR/.features.f32 and
 * DIR/.labels.i32 (their paths into xf, yf); 0 when it could not (said,
 * nothing left). */
int peer_write_data(const char *dir, const ot_dataset *d, char *xf, char *yf, size_t size);
/* Writes the rows of `d` for the peer (peer_write_data) and starts it; 0
 * when it could not. */
int peer_start_with(peer *p, const char *python, const char *script, const char *dir,
                    const ot_dataset *d);

/* ---- load.c ---- */
/* --auto-check: --threads auto against the fixed counts of c->threads and
 * the peer's, for each load (INT32_MAX: idle; else a nice value); the exit
 * status. */
int bench_auto_check(const config *c, const ot_dataset *d, peer *pp, int have_peer,
                     const int *loads, int n_loads);

/* ---- search_check.c ---- */
/* --search-check: the textbook's grid search (epochs 1, 2, 3 x c->batches,
 * 3-fold cross-validation, the refit) of c->models[0] by omptrain, and by
 * scikit-learn and a PyTorch loop when c->peer is not "none"; the exit
 * status. */
int bench_search_check(const config *c, const ot_dataset *d);
/* bench --stream-check: dir's training IDX files in memory and streamed. */
int bench_stream_check(const config *c, const char *dir);

/* ---- report.c ---- */
/* Each returns 0 when a file could not be written (said on stderr). */
int write_results(const config *c, const point *pts, size_t n, const peer *pp,
                  int have_peer, const char *data_desc);
int write_svgs(const config *c, const point *pts, size_t n, const char *model);
/* The plots again from c->out/bench.csv (axes in the CSV's order): for a
 * CSV from another machine, or after a change to the plots. */
int replot(config *c);

/* ---- accuracy.c ---- */
/* Seconds to reach `target` validation accuracy, omptrain against the peer;
 * prints a table; returns 0, or 3 when some omptrain run did not reach it. */
int run_time_to_accuracy(const config *c, peer *pp, int have_peer, const ot_dataset *train,
                         const ot_dataset *val, double target);

#endif
