/*
 * test_dev_bench.c - the developer tool dev/bench (built with -Ddev=true):
 * its probes' flags are checked against each other and the data before
 * anything is measured (exit 2), a folder in $OMPTRAIN_DATA that does not
 * hold the data fails a probe too, and the flags the suite shares with
 * bench behave as there.
 */
#include <criterion/criterion.h>

#include "helpers.h"

static char out[1 << 16];
static char env[512];

TestSuite(dev_bench, .timeout = 300);

static int run(const char *args)
{
    return th_run_normally("DEV_BENCH_BIN", env, args, out, sizeof out);
}

#define TINY "--peer none --data synthetic --models 784-16-10 --reps 1 --seconds 0.02"

Test(dev_bench, help_lists_the_probes)
{
    EXPECT_RUN("--help", 0, "usage: bench [FLAGS]");
    cr_assert(strstr(out, "--breakdown") && strstr(out, "--floors") &&
              strstr(out, "--step-parts") && strstr(out, "--hot-rows") &&
              strstr(out, "--alternatives") && strstr(out, "--layouts") &&
              strstr(out, "--time-to-accuracy"), "%s", out);
}

Test(dev_bench, probe_flags_are_checked_before_anything_is_measured)
{
    EXPECT_RUN("--breakdown --layouts", 2, "one at a time");
    EXPECT_RUN("--breakdown --auto-check", 2, "one at a time");
    EXPECT_RUN("--hot-rows 64", 2, "--hot-rows applies to --step-parts only");
    EXPECT_RUN("--floors --optimizer sgd", 2, "--optimizer adam only");
    EXPECT_RUN(TINY " --step-parts --hot-rows 8 --batch 16 --threads 1", 2,
               "error: --hot-rows 8 must be between the largest batch (16)");
    EXPECT_RUN(TINY " --step-parts --hot-rows 60001 --batch 16 --threads 1", 2,
               "and the data's 60000 rows");
    cr_assert(strstr(out, "microseconds") == NULL, "measured before failing:\n%s", out);
}

Test(dev_bench, the_data_folder_in_omptrain_data_must_load)
{
    snprintf(env, sizeof env, "OMPTRAIN_DATA=/nonexistent/omptrain-data");
    EXPECT_RUN("--peer none --models 784-16-10 --step-parts --batch 16 --threads 1 "
               "--reps 1 --seconds 0.02", 1, "/nonexistent/omptrain-data");
    cr_assert(strstr(out, "synthetic") == NULL && strstr(out, "microseconds") == NULL,
              "%s", out);
    /* --data synthetic does not read it */
    EXPECT_RUN(TINY " --step-parts --batch 16 --threads 1", 0, "microseconds per step");
}
