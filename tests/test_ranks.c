/*
 * test_ranks.c - training over MPI ranks (ranks.h): the shard blocks and
 * arena slices, the library's refusals, and, in a build with MPI, omptrain
 * under mpirun on loopback: every layout of ranks x threads gives the model
 * file of one process with the same shard count (uneven blocks, a short
 * last batch, both cuts, resume after SIGTERM), rank 0 alone prints and
 * writes, a rank's bad input or different settings stop every rank with
 * its message, and a killed rank ends the job. In a build without MPI,
 * omptrain refuses to run as several ranks.
 */
#include <criterion/criterion.h>
#include <time.h>

#include "helpers.h"
#include "src/ranks.h"

static char dir[256];
static char out[1 << 16];

static void setup(void) { th_tmpdir(dir, sizeof dir); }

TestSuite(ranks, .init = setup, .timeout = 600);

Test(ranks, blocks_and_slices_cover_everything_once)
{
    for (int R = 1; R <= 7; R++)
        for (size_t S = 1; S <= 20; S++) {
            size_t next = 0;
            for (int r = 0; r < R; r++) {
                size_t lo, hi;
                ot__ranks_shards(r, R, S, &lo, &hi);
                cr_assert_eq(lo, next);
                cr_assert(hi >= lo && hi - lo <= S / (size_t)R + 1);
                next = hi;
            }
            cr_assert_eq(next, S);
        }
    for (int R = 1; R <= 7; R++) {
        size_t next = 0, len = 63 * 16;
        for (int r = 0; r < R; r++) {
            size_t lo, hi;
            ot__ranks_slice(r, R, len, &lo, &hi);
            cr_assert_eq(lo, next);
            cr_assert_eq(lo % 16, 0u, "slices are whole 64-byte lines");
            next = hi;
        }
        cr_assert_eq(next, len);
    }
}

/* A communicator the library cannot use is refused before anything. */
Test(ranks, a_communicator_without_mpi_is_refused)
{
    ot_dataset *d = th_blobs(64, 4, 2, 1);
    ot_model *m = NULL;
    const ot_layer layers[] = {OT_DENSE(2, OT_ACTIVATION_SOFTMAX)};
    cr_assert_eq(ot_model_create(&m, 4, layers, 1, 1), OT_OK);
    ot_optimizer_config adam = ot_optimizer_config_default(OT_OPTIMIZER_ADAM);
    cr_assert_eq(ot_model_compile(m, OT_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam), OT_OK);
    ot_fit_config c = ot_fit_config_default();
    int not_a_comm = 0;
    c.comm = &not_a_comm;
    ot_status st = ot_model_fit(m, d, &c, NULL);
    cr_assert_eq(st, OT_INVALID_STATE);
#if OT_HAVE_MPI
    cr_assert(ot_mpi_available());
    cr_assert(strstr(ot_last_error(), "MPI is not initialized") != NULL, "%s", ot_last_error());
#else
    cr_assert(!ot_mpi_available());
    cr_assert(strstr(ot_last_error(), "built without MPI") != NULL, "%s", ot_last_error());
#endif
    cr_assert_eq(ot_model_epochs_trained(m), 0u);
    ot_model_destroy(m);
    ot_dataset_destroy(d);
}

#if OT_HAVE_MPI

/* mpirun on loopback, as root too, in containers, with every rank free to
 * use every core, and waiting threads asleep (more threads than cores);
 * leaks inside Open MPI's own libraries are not ours. */
#define MPIRUN_ENV                                                             \
    "OMP_WAIT_POLICY=passive "                                                 \
    "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "               \
    "OMPI_MCA_btl_vader_single_copy_mechanism=none OMPTRAIN_DATA= "            \
    "LSAN_OPTIONS=suppressions=" OT_SOURCE_DIR "/tests/lsan-mpi.supp:print_suppressions=0:fast_unwind_on_malloc=0"
#define MPIRUN "--oversubscribe --bind-to none"

/* Runs `MPIRUN ARGS` (ARGS may hold several omptrain commands: ranks with
 * other flags); the output into out. */
static int mpirun(const char *args)
{
    char a[2048];
    snprintf(a, sizeof a, MPIRUN " %s", args);
    return th_run_normally("MPIRUN_BIN", MPIRUN_ENV, a, out, sizeof out);
}

static int omptrain(const char *args)
{
    return th_run_normally("OMPTRAIN_BIN", "OMPTRAIN_DATA=", args, out, sizeof out);
}

static const char *bin(void) { return getenv("OMPTRAIN_BIN"); }

/* Whether the files a and b (in dir) hold the same bytes. */
static int same_file(const char *a, const char *b) { return th_same_files(dir, a, b); }

static size_t count(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* 600 training rows of Fashion-MNIST, 5400 to validate: small and real. */
#define SMALL "train --validation-split 0.9 --quiet"

Test(ranks, four_shards_give_one_model_whatever_the_layout)
{
    char a[1536];
    /* batch 128 cuts by rows; 600 rows leave a last batch of 88 */
    const char *flags = SMALL " --epochs 2 --shards 4 --batch 128";
    snprintf(a, sizeof a, "%s %s --threads 4 --save %s/alone.otm", flags, "", dir);
    cr_assert_eq(omptrain(a), 0, "%s", out);
    const int layouts[][2] = {{1, 4}, {2, 2}, {4, 1}};
    for (size_t i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "-np %d %s %s --threads %d --save %s/r%d.otm", layouts[i][0],
                 bin(), flags, layouts[i][1], dir, layouts[i][0]);
        cr_assert_eq(mpirun(a), 0, "%s\n%s", a, out);
        char name[32];
        snprintf(name, sizeof name, "r%d.otm", layouts[i][0]);
        cr_assert(same_file("alone.otm", name), "%d ranks x %d threads differ from one "
                  "process", layouts[i][0], layouts[i][1]);
    }
}

/* History file `name` (in dir) without its time columns (the last 4). */
static void history_values(const char *name, char *text, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t n = th_read(path, (unsigned char *)text, size - 1);
    text[n] = '\0';
    char *w = text;
    for (char *line = text; *line;) {
        char *end = strchr(line, '\n'), *cut = end;
        for (int k = 0; k < 4; k++)
            while (cut > line && *--cut != ',')
                ;
        size_t len = (size_t)(cut - line);
        memmove(w, line, len);
        w += len;
        *w++ = '\n';
        line = end + 1;
    }
    *w = '\0';
}

Test(ranks, uneven_blocks_and_both_cuts)
{
    char a[1536], h1[8192], h2[8192];
    /* 6 shards over 3 ranks or 4 (blocks of 1 and 2); batch 250 on 256
     * units is cut by rows, its last batch of 100 by units; every metric's
     * sums cross the ranks with the loss's */
    const char *flags = SMALL " --epochs 2 --shards 6 --batch 250 --layers 256:relu,10:softmax "
                        "--metrics accuracy,mse,top_k_categorical_accuracy,mape";
    snprintf(a, sizeof a, "%s --threads 3 --save %s/alone.otm --history %s/alone.csv", flags,
             dir, dir);
    cr_assert_eq(omptrain(a), 0, "%s", out);
    snprintf(a, sizeof a, "-np 3 %s %s --threads 1 --save %s/r3.otm --history %s/r3.csv", bin(),
             flags, dir, dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert(same_file("alone.otm", "r3.otm"));
    history_values("alone.csv", h1, sizeof h1);
    history_values("r3.csv", h2, sizeof h2);
    cr_assert(strstr(h1, "epoch,loss,accuracy,mse,top_k_categorical_accuracy,mape,val_loss,"
                         "val_accuracy,val_mse,val_top_k_categorical_accuracy,val_mape\n1,") ==
              h1, "%s", h1);
    cr_assert_str_eq(h1, h2);
    snprintf(a, sizeof a, "-np 4 %s %s --threads 2 --save %s/r4.otm", bin(), flags, dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert(same_file("alone.otm", "r4.otm"));
}

Test(ranks, the_default_shard_count_is_ranks_times_threads)
{
    char a[1536];
    snprintf(a, sizeof a, "%s --epochs 1 --batch 64 --threads 2 --shards 4 --save %s/alone.otm",
             SMALL, dir);
    cr_assert_eq(omptrain(a), 0, "%s", out);
    snprintf(a, sizeof a, "-np 2 %s train --validation-split 0.9 --epochs 1 --batch 64 "
             "--threads 2 --save %s/r2.otm", bin(), dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert(strstr(out, "2 ranks x 2 threads, 4 shards") != NULL, "%s", out);
    cr_assert(same_file("alone.otm", "r2.otm"));
}

Test(ranks, rank_0_alone_prints_and_writes)
{
    char a[1536];
    snprintf(a, sizeof a, "-np 3 %s train --validation-split 0.9 --epochs 2 --threads 1 "
             "--batch 100 --history %s/h.csv --save %s/m.otm", bin(), dir, dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert_eq(count(out, "omptrain 0.1.0:"), 1u, "%s", out);
    cr_assert_eq(count(out, "Epoch 2/2"), 1u, "%s", out);
    cr_assert_eq(count(out, "saved the model"), 1u, "%s", out);
    cr_assert(strstr(out, "3 ranks x 1 thread, 3 shards") != NULL, "%s", out);
    char h[512];
    snprintf(h, sizeof h, "%s/h.csv", dir);
    static unsigned char buf[4096];
    size_t n = th_read(h, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert_eq(count((char *)buf, "\n"), 3u, "a header and 2 epochs:\n%s", buf);
    /* the other commands run on rank 0 alone */
    snprintf(a, sizeof a, "-np 2 %s summary --model %s/m.otm", bin(), dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert_eq(count(out, "Total params"), 1u, "%s", out);
}

Test(ranks, auto_threads_are_elastic_on_every_rank)
{
    /* each rank changes its own count; the shards are the sum of the
     * ranks' threads, so the weights are those of a fixed layout */
    char a[1536];
    snprintf(a, sizeof a, "-np 2 -x OMP_NUM_THREADS=2 %s train --validation-split 0.9 "
             "--epochs 1 --batch 128 --save %s/auto.otm", bin(), dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert(strstr(out, "2 ranks x up to 2 threads (elastic") != NULL, "%s", out);
    cr_assert(strstr(out, "4 shards") != NULL, "%s", out);
    snprintf(a, sizeof a, "-np 2 %s train --validation-split 0.9 --epochs 1 --batch 128 "
             "--threads 1 --shards 4 --save %s/fixed.otm", bin(), dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert(same_file("auto.otm", "fixed.otm"),
              "elastic ranks' model differs from 2 x 1 thread, 4 shards");
}

Test(ranks, bad_input_on_one_rank_stops_every_rank_with_its_message)
{
    char a[1536];
    snprintf(a, sizeof a, "-np 1 %s %s : -np 1 %s train --data csv:%s/missing.csv --quiet",
             bin(), SMALL, bin(), dir);
    cr_assert_eq(mpirun(a), 1, "%s", out);
    cr_assert_eq(count(out, "error: rank 1:"), 1u, "%s", out);
    cr_assert(strstr(out, "missing.csv") != NULL, "%s", out);
}

Test(ranks, a_rank_with_other_settings_stops_every_rank)
{
    char a[1536];
    snprintf(a, sizeof a, "-np 1 %s %s --threads 1 --seed 1 : -np 1 %s %s --threads 1 "
             "--seed 2", bin(), SMALL, bin(), SMALL);
    cr_assert_eq(mpirun(a), 1, "%s", out);
    cr_assert(strstr(out, "rank 1 has seed 2 where rank 0 has 1") != NULL, "%s", out);
    cr_assert_eq(count(out, "every rank must run the same fit"), 1u, "%s", out);
    /* other metrics would add other sums in the same places */
    snprintf(a, sizeof a, "-np 1 %s %s --threads 1 --metrics accuracy,mse : -np 1 %s %s "
             "--threads 1 --metrics accuracy,mae", bin(), SMALL, bin(), SMALL);
    cr_assert_eq(mpirun(a), 1, "%s", out);
    cr_assert(strstr(out, "rank 1 has the metrics (4 bits each)") != NULL, "%s", out);
}

Test(ranks, a_killed_rank_ends_the_job)
{
    char a[1536];
    /* a run far longer than the test; rank 1 (the newest of the ranks'
     * processes, found by this test's own folder in their arguments) is
     * killed once it trains */
    snprintf(a, sizeof a, "-c '%s " MPIRUN " -np 2 %s train --epochs 100000 --threads 1 "
             "--quiet --history %s/h.csv & sleep 4; pkill -KILL -n -f \"history %s/h.csv\"; "
             "s=$(date +%%s); wait $!; rc=$?; echo \"ended $(( $(date +%%s) - s ))s after "
             "the kill, status $rc\"; exit $rc'", getenv("MPIRUN_BIN"), bin(), dir, dir);
    time_t t0 = time(NULL);
    int rc = th_run("SHELL_BIN", MPIRUN_ENV, a, out, sizeof out);
    cr_assert(rc > 0, "%d\n%s", rc, out); /* mpirun's own status, 137 */
    cr_assert(time(NULL) - t0 < 60, "the job outlived the killed rank:\n%s", out);
    cr_assert(strstr(out, "killed") || strstr(out, "Killed") || strstr(out, "signal 9"),
              "%s", out);
}

Test(ranks, sigterm_saves_and_resume_reaches_the_same_bytes)
{
    char a[1536];
    const char *flags = "--validation-split 0.9 --batch 50 --shards 2 --quiet";
    /* an uninterrupted run of 400 epochs, one process */
    snprintf(a, sizeof a, "train %s --epochs 400 --threads 2 --save %s/full.otm", flags, dir);
    cr_assert_eq(omptrain(a), 0, "%s", out);
    /* the same on 2 ranks, stopped by a SIGTERM to mpirun, which passes it
     * on; then resumed on 2 ranks */
    snprintf(a, sizeof a, "-c '%s " MPIRUN " -np 2 %s train %s --epochs 400 --threads 1 "
             "--checkpoint %s/ck.otm & sleep 3; kill -TERM $!; wait $!; exit 0'",
             getenv("MPIRUN_BIN"), bin(), flags, dir);
    th_run_normally("SHELL_BIN", MPIRUN_ENV, a, out, sizeof out);
    cr_assert(strstr(out, "interrupted by SIGTERM") != NULL, "%s", out);
    snprintf(a, sizeof a, "-np 2 %s train --resume %s/ck.otm --threads 1 --quiet --save "
             "%s/resumed.otm", bin(), dir, dir);
    cr_assert_eq(mpirun(a), 0, "%s", out);
    cr_assert(same_file("full.otm", "resumed.otm"));
}

/* Streamed by pread (a memory limit below the map's), each rank reads the
 * rows of its own shards (or, in steps cut by units, every row) and writes
 * the model of one process training from memory. */
Test(ranks, a_streamed_fit_over_ranks_gives_the_model_of_one_process)
{
    char a[1536];
    /* 600 rows train, the rest validates */
    const char *cases[] = {"train --validation-split 0.99 --quiet --epochs 2 --batch 100",
                           "train --validation-split 0.99 --quiet --epochs 1 --batch 8 "
                           "--layers 256:relu,10:softmax"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s --threads 2 --shards 2 --save %s/alone.otm", cases[i], dir);
        cr_assert_eq(omptrain(a), 0, "%s", out);
        snprintf(a, sizeof a, "-np 2 %s %s --threads 1 --stream --max-memory 0.01 --cache-dir "
                 "%s/cache --save %s/r2.otm", bin(), cases[i], dir, dir);
        cr_assert_eq(mpirun(a), 0, "%s", out);
        cr_assert(same_file("alone.otm", "r2.otm"), "case %zu: 2 streaming ranks differ from "
                  "one process", i);
    }
}

/* 120 rows of 8 features around their class's mean, 3 classes. */
static void write_small_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    uint32_t x = 12345;
    for (int i = 0; i < 120; i++) {
        for (int j = 0; j < 8; j++) {
            x = x * 1664525u + 1013904223u;
            fprintf(f, "%.3f,", (double)(i % 3) + (double)(x >> 8) / 16777216.0 * 2.0 - 1.0);
        }
        fprintf(f, "%d\n", i % 3);
    }
    cr_assert_eq(fclose(f), 0);
}

/* cv_results.csv of search folder `name` without its four time columns. */
static void results_without_times(const char *name, char *buf, size_t size)
{
    char path[512], line[4096];
    snprintf(path, sizeof path, "%s/%s/cv_results.csv", dir, name);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s is missing", path);
    size_t at = 0;
    buf[0] = '\0';
    while (fgets(line, sizeof line, f) && at < size) {
        char *p = line;
        for (int i = 0; i < 4 && p; i++)
            p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
        cr_assert_not_null(p, "%s: %s", path, line);
        at += (size_t)snprintf(buf + at, size - at, "%s", p);
    }
    fclose(f);
}

/* The ranks share a search's fits; every layout writes the results and the
 * refit model of one process, and rank 0 alone prints and writes. */
Test(ranks, a_search_over_ranks_gives_the_results_of_one_process)
{
    char a[1536], csv[512];
    static char one[1 << 14], other[1 << 14];
    snprintf(csv, sizeof csv, "%s/d.csv", dir);
    write_small_csv(csv);
    const char *flags = "--grid 'epochs=1,3;batch=8,16;units=4|8' --layers 8:relu,3:softmax "
                        "--lr 0.01 --shards 2";
    snprintf(a, sizeof a, "search --data csv:%s %s --jobs 1 --threads 1 --out %s/alone", csv,
             flags, dir);
    cr_assert_eq(omptrain(a), 0, "%s", out);
    results_without_times("alone", one, sizeof one);
    const int layouts[][2] = {{2, 1}, {3, 2}};
    for (size_t i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "-np %d %s search --data csv:%s %s --jobs %d --threads 1 "
                 "--out %s/r%d", layouts[i][0], bin(), csv, flags, layouts[i][1], dir,
                 layouts[i][0]);
        cr_assert_eq(mpirun(a), 0, "%s\n%s", a, out);
        cr_assert_eq(count(out, "best: "), 1u, "%s", out);
        cr_assert_eq(count(out, "[8/8]"), 1u, "%s", out);
        char name[32];
        snprintf(name, sizeof name, "r%d", layouts[i][0]);
        results_without_times(name, other, sizeof other);
        cr_assert_str_eq(one, other, "%d ranks x %d jobs", layouts[i][0], layouts[i][1]);
        snprintf(name, sizeof name, "r%d/best.otm", layouts[i][0]);
        cr_assert(same_file("alone/best.otm", name), "the refit over %d ranks",
                  layouts[i][0]);
    }
    /* a file only rank 1 cannot read stops every rank, with its message */
    snprintf(a, sizeof a, "-np 2 %s search --data csv:%s %s --out %s/x : -np 1 %s search "
             "--data csv:%s/none.csv %s --out %s/x", bin(), csv, flags, dir, bin(), dir, flags,
             dir);
    cr_assert_eq(mpirun(a), 1, "%s", out);
    cr_assert(strstr(out, "rank 2: ") != NULL && strstr(out, "none.csv") != NULL, "%s", out);
}

#else /* built without MPI */

Test(ranks, a_build_without_mpi_refuses_to_run_as_ranks)
{
    int rc = th_run_normally("OMPTRAIN_BIN", "OMPI_COMM_WORLD_SIZE=2 OMPTRAIN_DATA=",
                             "train --data xor --quiet", out, sizeof out);
    cr_assert_eq(rc, 2, "%s", out);
    cr_assert(strstr(out, "built without MPI") != NULL, "%s", out);
}

#endif
