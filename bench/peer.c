/*
 * peer.c - the PyTorch peer (bench/peers/pytorch_mlp.py) as a child
 * process: one request per line on its stdin, one answer per line back.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* One line from the peer within `timeout` seconds; 0 at its end or when it
 * does not come (the line is whole: one request, one answer, nothing more
 * is ever buffered). */
static int read_line(peer *p, char *line, size_t size, double timeout)
{
    struct pollfd pf = {fileno(p->from), POLLIN, 0};
    int r;
    while ((r = poll(&pf, 1, (int)(timeout * 1000))) < 0 && errno == EINTR)
        ;
    return r > 0 && fgets(line, (int)size, p->from) != NULL;
}

int peer_start(peer *p, const char *python, const char *script, const char *xf,
               const char *yf, size_t n, size_t dim)
{
    int in[2], out[2];
    /* a peer that dies makes writes to it fail, not kill the benchmark */
    signal(SIGPIPE, SIG_IGN);
    if (pipe(in) || pipe(out))
        return 0;
    const char *jemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
    int have_jemalloc = access(jemalloc, R_OK) == 0;
    snprintf(p->allocator, sizeof p->allocator, "%s", have_jemalloc ? "jemalloc" : "glibc");
    p->pid = fork();
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        if (have_jemalloc)
            setenv("LD_PRELOAD", jemalloc, 1);
        char ns[32], ds[32];
        snprintf(ns, sizeof ns, "%zu", n);
        snprintf(ds, sizeof ds, "%zu", dim);
        execl(python, python, script, "--serve", xf, yf, ns, ds, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to = fdopen(in[1], "w");
    p->from = fdopen(out[0], "r");
    char line[256];
    if (p->to == NULL || p->from == NULL || !read_line(p, line, sizeof line, 300) ||
        sscanf(line, "ready %63s %63s", p->version, p->blas) < 1) {
        say("the PyTorch peer %s did not start (does %s run, with torch? "
            "Debian's package is python3-torch); running without it\n", script, python);
        if (p->pid > 0)
            kill(p->pid, SIGKILL);
        peer_stop(p);
        return 0;
    }
    if (p->blas[0] == '\0') /* a peer that does not say */
        snprintf(p->blas, sizeof p->blas, "unknown");
    return 1;
}

const char *peer_describe(const peer *p, int have_peer, char *buf, size_t size)
{
    if (!have_peer)
        snprintf(buf, size, "not run");
    else
        snprintf(buf, size, "%s%s (BLAS %s, allocator %s)", p->version,
                 p->lost ? ", lost during the run" : "", p->blas, p->allocator);
    return buf;
}

int peer_ask(peer *p, const char *request, char *answer, size_t size, double timeout)
{
    if (p->lost)
        return 0;
    const char *why = NULL;
    if (fprintf(p->to, "%s\n", request) < 0 || fflush(p->to) != 0)
        why = "it stopped reading";
    else if (!read_line(p, answer, size, timeout))
        why = feof(p->from) ? "it ended" : "no answer in time";
    if (why == NULL)
        return 1;
    say("the PyTorch peer is lost (%s, asked '%s'): its figures are "
        "nan from here\n", why, request);
    p->lost = 1;
    if (p->pid > 0)
        kill(p->pid, SIGKILL);
    return 0;
}

double peer_run(peer *p, const char *model, size_t batch, int threads,
                const char *optimizer, double seconds)
{
    char req[256], line[256];
    double sps = 0;
    snprintf(req, sizeof req, "%s %zu %d %s %.3f", model, batch, threads, optimizer, seconds);
    /* its model built, warm-up and timed steps: minutes at the most */
    if (!peer_ask(p, req, line, sizeof line, 120 + 10 * seconds) ||
        sscanf(line, "%lf", &sps) != 1)
        return NAN;
    return sps;
}

void peer_measure_gemm(peer *p, const int *threads, int n)
{
    char req[64], line[256];
    p->n_gemm = 0;
    for (int t = 0; t < n && t < MAX_AXIS; t++) {
        double g = NAN;
        snprintf(req, sizeof req, "gemm %d", threads[t]);
        if (!peer_ask(p, req, line, sizeof line, 120) || sscanf(line, "%lf", &g) != 1)
            g = NAN;
        p->gemm_threads[p->n_gemm] = threads[t];
        p->gemm_gflops[p->n_gemm++] = g;
        /* A BLAS far below oneDNN's GEMM on the same cores makes the
         * ratios a measure of that BLAS: Debian's OpenBLAS 0.3.21 takes its
         * Haswell kernels on AMD Zen 5, half its SkylakeX kernels' speed
         * there. Said before the grid, with the way to choose others. */
        double ours = measure_gemm(threads[t], 3);
        if (g < PEER_GEMM_FLOOR * ours)
            say("PyTorch's own GEMM ran at %.0f%% of oneDNN's on %d thread%s (%.1f against "
                "%.1f GFLOP/s, BLAS %s): its figures here are those of that BLAS; "
                "OPENBLAS_CORETYPE chooses OpenBLAS's kernels (see bench/README.md)\n",
                100.0 * g / ours, threads[t], threads[t] > 1 ? "s" : "", g, ours, p->blas);
    }
}

int peer_write_data(const char *dir, const ot_dataset *d, char *xf, char *yf, size_t size)
{
    snprintf(xf, size, "%s/.features.f32", dir);
    snprintf(yf, size, "%s/.labels.i32", dir);
    FILE *fx = fopen(xf, "wb"), *fy = fopen(yf, "wb");
    /* the features as floats, as omptrain's gathers give them */
    enum { CHUNK = 1024 };
    const size_t N = ot_dataset_size(d), dim = ot_dataset_dim(d);
    float *rows = malloc(CHUNK * dim * sizeof(float));
    int32_t *labels = malloc(N * sizeof(int32_t));
    int ok = fx && fy && rows && labels && ot_dataset_labels(d, labels, N) == OT_OK &&
             fwrite(labels, sizeof(int32_t), N, fy) == N;
    for (size_t i = 0; ok && i < N; i += CHUNK) {
        size_t n = N - i < CHUNK ? N - i : CHUNK;
        ok = ot_dataset_rows(d, i, n, rows, CHUNK * dim) == OT_OK &&
             fwrite(rows, sizeof(float), n * dim, fx) == n * dim;
    }
    free(rows);
    free(labels);
    if (fx && fclose(fx) != 0)
        ok = 0;
    if (fy && fclose(fy) != 0)
        ok = 0;
    if (!ok) {
        say("cannot write the peer's data in %s; running without it\n", dir);
        unlink(xf);
        unlink(yf);
    }
    return ok;
}

int peer_start_with(peer *p, const char *python, const char *script, const char *dir,
                    const ot_dataset *d)
{
    char xf[4096], yf[4096];
    int started = peer_write_data(dir, d, xf, yf, sizeof xf) &&
                  peer_start(p, python, script, xf, yf, ot_dataset_size(d), ot_dataset_dim(d));
    /* the peer has read them once it is ready: no 188 MB left behind */
    unlink(xf);
    unlink(yf);
    return started;
}

void peer_stop(peer *p)
{
    if (p->to)
        fclose(p->to);
    if (p->from)
        fclose(p->from);
    if (p->pid > 0)
        waitpid(p->pid, NULL, 0);
    p->to = p->from = NULL;
    p->pid = 0;
}
