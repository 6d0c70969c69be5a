/*
 * test_bench.c - the benchmark program's flags and files: every bad flag or
 * value is named in an error before anything is measured (exit 2; a --out
 * that cannot take the results, exit 1), the grid's files are whole and
 * valid, a file that cannot be written is said and fails the run, a peer
 * that dies is said and left out, and --replot refuses a CSV that is not
 * the grid's.
 */
#include <criterion/criterion.h>
#include <dirent.h>

#include <math.h>

#include "helpers.h"

static char dir[256];
static char out[1 << 16];
static char env[512]; /* before the command: VAR=value ... */

static void setup(void) { th_tmpdir(dir, sizeof dir); }

TestSuite(bench, .init = setup, .timeout = 300);

static int run(const char *args)
{
    return th_run_normally("BENCH_BIN", env, args, out, sizeof out);
}

/* A tiny grid that takes well under a second a point. */
#define TINY "--peer none --data synthetic --models 784-16-10 --reps 1 --seconds 0.02"

Test(bench, help_lists_every_flag)
{
    EXPECT_RUN("--help", 0, "usage: bench [FLAGS]");
    cr_assert(strstr(out, "--batch N,...") && strstr(out, "--time-to-accuracy") &&
              strstr(out, "(default: 16,32,64,128,256,512,1024)") && strstr(out, "--replot"),
              "%s", out);
}

Test(bench, bad_flags_and_values_name_themselves)
{
    EXPECT_RUN("--frobnicate", 2, "unknown flag '--frobnicate'");
    EXPECT_RUN("stray", 2, "unexpected argument 'stray'");
    EXPECT_RUN("--batch", 2, "--batch needs a value");
    EXPECT_RUN("--batch 0", 2, "--batch: 0 is out of range 1..4294967295");
    EXPECT_RUN("--batch -5", 2, "--batch: '-5' is not a whole number");
    EXPECT_RUN("--batch 16,,32", 2, "--batch: '' is not a whole number");
    EXPECT_RUN("--batch 16x", 2, "--batch: '16x' is not a whole number");
    EXPECT_RUN("--batch 16,16", 2, "--batch: 16 is given twice");
    EXPECT_RUN("--batch 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", 2, "more than 16 values");
    EXPECT_RUN("--batch 99999999999999999999999", 2, "is not a whole number");
    EXPECT_RUN("--threads 0", 2, "--threads: 0 is out of range 1..1024");
    EXPECT_RUN("--threads 2,many", 2, "--threads: 'many' is not a whole number");
    EXPECT_RUN("--models 784-0-10", 2, "--models: '784-0-10' is not a model");
    EXPECT_RUN("--models 784-100-", 2, "--models: '784-100-' is not a model");
    EXPECT_RUN("--models 10-10", 2, "input 784");
    EXPECT_RUN("--models 784-100-10,784-100-10", 2, "784-100-10 is given twice");
    EXPECT_RUN("--models 784-99999999-10", 2, "is not a model");
    EXPECT_RUN("--reps 0", 2, "--reps: 0 is out of range 1..16");
    EXPECT_RUN("--reps 17", 2, "--reps: 17 is out of range");
    EXPECT_RUN("--seconds nan", 2, "--seconds: 'nan' is not a number");
    EXPECT_RUN("--seconds 0", 2, "--seconds: 0 is out of range");
    EXPECT_RUN("--optimizer adamw", 2, "--optimizer: 'adamw' is not adam or sgd");
    EXPECT_RUN("--data mnist", 2, "--data: 'mnist' is not fashion-mnist or synthetic");
    EXPECT_RUN("--peer /no/such/peer.py", 2, "--peer: cannot read /no/such/peer.py");
    EXPECT_RUN("--auto-check --replot", 2, "one at a time");
    EXPECT_RUN("--load 0", 2, "--load applies to --auto-check only");
    EXPECT_RUN("--auto-check --load idle,20", 2, "--load: '20' is not idle or a nice value");
    EXPECT_RUN("--auto-check --load busy", 2, "--load: 'busy' is not idle");
    /* the engine's probes are the developer tool's (tests/test_dev_bench.c) */
    EXPECT_RUN("--breakdown", 2, "--breakdown is a probe of the engine, in the developer tool");
    EXPECT_RUN(TINY " --hot-rows 64", 2, "--hot-rows is a probe of the engine");
    EXPECT_RUN("--target 0.5", 2, "--target applies to --time-to-accuracy only");
    EXPECT_RUN("--time-to-accuracy --target 1.5", 2, "--target: 1.5 is out of range");
    /* checked against the data, still before anything is measured */
    EXPECT_RUN(TINY " --batch 60001", 2, "--batch: 60001 is more than the data's 60000 rows");
    EXPECT_RUN(TINY " --batch 1 --threads 1,2", 2, "fewer rows than --threads 2");
    cr_assert(strstr(out, "samples/s") == NULL, "measured before failing:\n%s", out);
    /* a model the library refuses, after one it takes: before either is measured */
    EXPECT_RUN(TINY " --models 784-16-10,784-16777216-16777216-10 --batch 16 --threads 1", 1,
               "784-16777216-16777216-10: model has more than");
    cr_assert(strstr(out, "samples/s") == NULL, "measured before failing:\n%s", out);
}

/* $OMPTRAIN_DATA, as for omptrain: a folder named there that does not hold
 * the data fails the run, never falls back to synthetic rows unsaid */
Test(bench, the_data_folder_in_omptrain_data_must_load)
{
    snprintf(env, sizeof env, "OMPTRAIN_DATA=%s/none", dir);
    char args[512];
    snprintf(args, sizeof args, "--peer none --models 784-16-10 --batch 16 --threads 1 "
             "--reps 1 --seconds 0.02 --out %s", dir);
    EXPECT_RUN(args, 1, "/none");
    cr_assert(strstr(out, "synthetic") == NULL && strstr(out, "samples/s") == NULL, "%s", out);
    /* --data synthetic does not read it */
    snprintf(args, sizeof args, TINY " --batch 16 --threads 1 --out %s", dir);
    EXPECT_RUN(args, 0, "samples/s");
}

Test(bench, an_out_folder_that_cannot_take_the_results_fails_first)
{
    char args[1024], file[512];
    snprintf(file, sizeof file, "%s/a-file", dir);
    th_write(file, "x", 1, 0);
    snprintf(args, sizeof args, TINY " --batch 16 --threads 1 --out %s", file);
    EXPECT_RUN(args, 1, "is not a folder");
    snprintf(args, sizeof args, TINY " --batch 16 --threads 1 --out %s/no/such/folder", dir);
    EXPECT_RUN(args, 1, "--out: cannot make the folder");
    cr_assert(strstr(out, "samples/s") == NULL, "measured before failing:\n%s", out);
}

/* --auto-check: a row per load with every fixed count, auto, and auto's
 * wall time over the best fixed one's; the load process is gone after. */
Test(bench, auto_check_measures_each_count_idle_and_under_load)
{
    char args[512];
    snprintf(args, sizeof args, TINY " --auto-check --batch 16 --threads 1,2 --load idle,19");
    EXPECT_RUN(args, 0, "| 784-16-10 | 16 | idle |");
    cr_assert(strstr(out, "| 784-16-10 | 16 | nice 19 |") != NULL, "%s", out);
    cr_assert(strstr(out, "| 1 thread | 2 threads | auto | auto / best fixed |") != NULL, "%s",
              out);
    double a1, a2, au, ratio;
    const char *row = strstr(out, "| 784-16-10 | 16 | idle |");
    cr_assert_eq(sscanf(row, "| 784-16-10 | 16 | idle | %lf | %lf | %lf | %lf |", &a1, &a2, &au,
                        &ratio), 4, "%s", row);
    cr_assert(a1 > 0 && a2 > 0 && au > 0 && ratio > 0, "%s", row);
    cr_assert(fabs(ratio - fmax(a1, a2) / au) < 0.01 * ratio, "%s", row);
}

/* --search-check without its peers: omptrain's row, the grid it searched. */
Test(bench, search_check_times_the_textbook_grid_search)
{
    EXPECT_RUN(TINY " --search-check --batch 16,32", 0,
               "784-16-10, epochs 1,2,3 x batch 16,32, 3-fold cross-validation");
    double seconds, score;
    const char *row = strstr(out, "| omptrain search |");
    cr_assert(row != NULL, "%s", out);
    cr_assert_eq(sscanf(row, "| omptrain search | %lf | %lf | batch=", &seconds, &score), 2,
                 "%s", row);
    cr_assert(seconds > 0 && score >= 0 && score <= 1, "%s", row);
    EXPECT_RUN(TINY " --search-check --auto-check", 2, "one at a time");
}

/* Whether DIR holds a file whose name contains ".tmp." (a temporary left). */
static int temporaries_in(const char *d)
{
    DIR *dp = opendir(d);
    cr_assert(dp != NULL);
    int found = 0;
    for (struct dirent *e; (e = readdir(dp)) != NULL;)
        found |= strstr(e->d_name, ".tmp.") != NULL;
    closedir(dp);
    return found;
}

Test(bench, the_grid_writes_whole_files_and_says_when_it_cannot)
{
    char args[1024], path[512], args2[1024];
    static unsigned char buf[1 << 16];
    /* a folder that does not exist yet is made; axes in any order */
    snprintf(args, sizeof args, TINY " --batch 32,16 --threads 2,1 --out %s/res", dir);
    EXPECT_RUN(args, 0, "results in");
    snprintf(path, sizeof path, "%s/res/bench.csv", dir);
    size_t n = th_read(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(n > 0 && strncmp((char *)buf, "model,batch,threads,", 20) == 0, "%s", buf);
    /* four rows, batch 16 before 32 and 1 thread before 2 */
    cr_assert(strstr((char *)buf, "\n784-16-10,16,1,") != NULL &&
              strstr((char *)buf, "\n784-16-10,16,1,") < strstr((char *)buf, "\n784-16-10,16,2,") &&
              strstr((char *)buf, "\n784-16-10,16,2,") < strstr((char *)buf, "\n784-16-10,32,1,") &&
              strstr((char *)buf, "\n784-16-10,32,2,") != NULL, "%s", buf);
    /* the JSON holds null, never nan or inf (no PyTorch here) */
    snprintf(path, sizeof path, "%s/res/bench.json", dir);
    n = th_read(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(n > 0 && strstr((char *)buf, "\"pytorch_samples_per_s_median\": null") &&
              !strstr((char *)buf, "nan") && !strstr((char *)buf, "inf") &&
              strcmp((char *)buf + n - 3, "]}\n") == 0, "%s", buf);
    snprintf(path, sizeof path, "%s/res/speedup-784-16-10.svg", dir);
    n = th_read(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strstr((char *)buf, "<polyline") && strstr((char *)buf, "</svg>"), "%s", buf);
    snprintf(path, sizeof path, "%s/res", dir);
    cr_assert(!temporaries_in(path));

    /* a file that cannot be written (a folder in its place): said, exit 1,
     * the others written, no temporary left */
    snprintf(path, sizeof path, "%s/res/throughput-784-16-10.svg", dir);
    cr_assert(remove(path) == 0 && mkdir(path, 0755) == 0);
    snprintf(args2, sizeof args2, TINY " --batch 16 --threads 1 --out %s/res", dir);
    EXPECT_RUN(args2, 1, "cannot write");
    cr_assert(strstr(out, "throughput-784-16-10.svg") && strstr(out, "NOT all written"), "%s",
              out);
    snprintf(path, sizeof path, "%s/res/bench.csv", dir);
    n = th_read(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strstr((char *)buf, "\n784-16-10,16,1,") && !strstr((char *)buf, ",32,"),
              "bench.csv is not the second run's:\n%s", buf);
    snprintf(path, sizeof path, "%s/res", dir);
    cr_assert(!temporaries_in(path));
}

Test(bench, replot_refuses_what_is_not_the_grids_csv)
{
    char args[1024], path[512];
    const char *header = "model,batch,threads,samples_per_s_median,samples_per_s_min,"
                         "samples_per_s_max,ms_per_step,gflops_per_s,scaling_efficiency,"
                         "kernel_ceiling_samples_per_s,efficiency_vs_kernels,"
                         "gemm_peak_gflops_per_s,efficiency_vs_gemm,"
                         "pytorch_samples_per_s_median,ratio_vs_pytorch,peak_rss_mib,cut\n";
    const char *row = "784-16-10,16,1,1000,900,1100,16.0,1.0,1.000,2000,0.5,100.0,0.01,nan,nan,"
                      "100,rows\n";
    char csv[2048];
    snprintf(path, sizeof path, "%s/bench.csv", dir);
    snprintf(args, sizeof args, "--replot --out %s", dir);

    EXPECT_RUN(args, 1, "cannot read");                        /* no file */
    th_write(path, "a,b\n1,2\n", 8, 0);
    EXPECT_RUN(args, 1, "not bench's CSV");                    /* another CSV */
    th_write(path, header, strlen(header), 0);
    EXPECT_RUN(args, 1, "no points");                          /* a header alone */
    snprintf(csv, sizeof csv, "%s%s784-16-10,32,1,12", header, row);
    th_write(path, csv, strlen(csv), 0);
    EXPECT_RUN(args, 1, "line 3: not a row of bench's CSV");   /* cut short */
    snprintf(csv, sizeof csv, "%s../../x,16,1,1000,900,1100,16.0,1.0,1.000,2000,0.5,100.0,"
                              "0.01,nan,nan,100,rows\n", header);
    th_write(path, csv, strlen(csv), 0);
    EXPECT_RUN(args, 1, "line 2: not a row");                  /* not a model: a path */
    snprintf(csv, sizeof csv, "%s%s%s", header, row, row);
    th_write(path, csv, strlen(csv), 0);
    EXPECT_RUN(args, 1, "line 3: the same model, batch and threads"); /* a point twice */
    /* the column scaling_ceiling after the cut: a number, or nan */
    snprintf(csv, sizeof csv, "%s784-16-10,16,1,1000,900,1100,16.0,1.0,1.000,2000,0.5,100.0,"
                              "0.01,nan,nan,100,rows,x\n", header);
    th_write(path, csv, strlen(csv), 0);
    EXPECT_RUN(args, 1, "line 2: not a row");
    snprintf(csv, sizeof csv, "%s784-16-10,16,1,1000,900,1100,16.0,1.0,1.000,2000,0.5,100.0,"
                              "0.01,nan,nan,100,rows,1.000\n784-16-10,16,2,1500,1400,1600,"
                              "10.7,1.5,0.750,3000,0.5,200.0,0.01,nan,nan,100,units,nan\n",
             header);
    th_write(path, csv, strlen(csv), 0);
    cr_assert_eq(run(args), 0, "%s", out);
    snprintf(csv, sizeof csv, "%s%s", header, row);
    th_write(path, csv, strlen(csv), 0);
    cr_assert_eq(run(args), 0, "%s", out);
    snprintf(path, sizeof path, "%s/throughput-784-16-10.svg", dir);
    unsigned char svg[4096];
    size_t n = th_read(path, svg, sizeof svg - 1);
    svg[n] = '\0';
    cr_assert(strstr((char *)svg, "<polyline"), "%s", svg);
}

Test(bench, a_peer_that_dies_is_said_and_left_out)
{
    char args[2048], script[300], res[300];
    const char *fake = "print('ready fake-torch', flush=True)\n"; /* then ends */
    snprintf(script, sizeof script, "%s/peer.py", dir);
    th_write(script, fake, strlen(fake), 0);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(args, sizeof args, "--peer %s --data synthetic --models 784-16-10 --reps 2 "
             "--seconds 0.02 --batch 16,32 --threads 1 --out %s", script, res);
    EXPECT_RUN(args, 0, "the PyTorch peer is lost (");
    cr_assert(strstr(out, "PyTorch: fake-torch, lost during the run (BLAS unknown") != NULL,
              "%s", out);
    /* said once, not at every point */
    cr_assert(strstr(strstr(out, "is lost") + 1, "is lost") == NULL, "%s", out);
    /* the rows it was given are gone */
    DIR *dp = opendir(res);
    cr_assert(dp != NULL);
    for (struct dirent *e; (e = readdir(dp)) != NULL;)
        cr_assert(strstr(e->d_name, ".f32") == NULL && strstr(e->d_name, ".i32") == NULL,
                  "%s left in %s", e->d_name, res);
    closedir(dp);
}

/* A peer whose GEMM is far below oneDNN's is said before the grid, with
 * its BLAS; one level with it is not. */
Test(bench, a_peer_with_a_slow_blas_is_said)
{
    char args[2048], script[300], res[300];
    const char *answers[] = {"0.5", "1e9"};
    for (int i = 0; i < 2; i++) {
        char fake[512];
        snprintf(fake, sizeof fake, "import sys\n"
                 "print('ready fake-torch FakeBLAS-Oldcore', flush=True)\n"
                 "sys.stdin.readline()\n"
                 "print('%s', flush=True)\n", answers[i]); /* then ends */
        snprintf(script, sizeof script, "%s/peer.py", dir);
        th_write(script, fake, strlen(fake), 0);
        snprintf(res, sizeof res, "%s/res%d", dir, i);
        snprintf(args, sizeof args, "--peer %s --data synthetic --models 784-16-10 --reps 1 "
                 "--seconds 0.02 --batch 16 --threads 1 --out %s", script, res);
        EXPECT_RUN(args, 0, "the PyTorch peer is lost (");
        /* the percentage depends on this machine's GEMM: not checked */
        const char *said = strstr(out, "bench: PyTorch's own GEMM ran at ");
        if (i == 0)
            cr_assert(said != NULL && strstr(said, "% of oneDNN's on 1 thread (0.5 against ") &&
                          strstr(said, "BLAS FakeBLAS-Oldcore)") != NULL,
                      "%s", out);
        else
            cr_assert(strstr(out, "PyTorch's own GEMM ran at") == NULL, "%s", out);
    }
}

Test(bench, a_grid_killed_half_way_keeps_the_points_it_measured)
{
    char args[2048], script[300], res[300], path[400];
    /* a peer that answers its GEMM and the first point, then kills the
     * benchmark */
    const char *fake = "import os, sys\n"
                       "print('ready fake-torch', flush=True)\n"
                       "sys.stdin.readline()\n"
                       "print('123.0', flush=True)\n"
                       "sys.stdin.readline()\n"
                       "print('1000.0 10 0.01', flush=True)\n"
                       "sys.stdin.readline()\n"
                       "os.kill(os.getppid(), 9)\n";
    snprintf(script, sizeof script, "%s/peer.py", dir);
    th_write(script, fake, strlen(fake), 0);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(args, sizeof args, "--peer %s --data synthetic --models 784-16-10 --reps 1 "
             "--seconds 0.02 --batch 16,32 --threads 1 --out %s", script, res);
    int rc = th_run("BENCH_BIN", env, args, out, sizeof out);
    cr_assert_eq(rc, 128 + 9, "exit %d, not killed:\n%s", rc, out);
    static unsigned char buf[1 << 14];
    snprintf(path, sizeof path, "%s/bench.csv", res);
    size_t n = th_read(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(strstr((char *)buf, "\n784-16-10,16,1,") && strstr((char *)buf, ",1000,") &&
              !strstr((char *)buf, ",32,"), "bench.csv:\n%s\noutput:\n%s", buf, out);
    snprintf(path, sizeof path, "%s/bench.json", res);
    n = th_read(path, buf, sizeof buf - 1);
    buf[n] = '\0';
    cr_assert(n > 3 && strcmp((char *)buf + n - 3, "]}\n") == 0, "%s", buf);
    cr_assert(strstr((char *)buf, "\"pytorch_gemm_gflops_per_s\": [{\"threads\": 1, "
                                  "\"median\": 123.0}]") != NULL, "%s", buf);
}
