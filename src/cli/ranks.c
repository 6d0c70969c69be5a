/*
 * ranks.c - omptrain under mpirun (cli.h): MPI initialized only when a
 * launcher started the process, rank 0 the only one that prints, and the
 * ranks' exit statuses agreed so that none waits for one that has left.
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The rank count a launcher (Open MPI's mpirun, or a PMI one: MPICH's,
 * Slurm's srun) gave this process in its environment; 0: none. */
static long launched_ranks(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && *v != '\0')
            return strtol(v, NULL, 10);
    }
    return getenv("PMIX_RANK") != NULL ? 1 : 0;
}

#if OT_HAVE_MPI
#include <mpi.h>

static int mpi_on, my_rank, n_ranks = 1;
static MPI_Comm world;

int cli_ranks_init(void)
{
    if (launched_ranks() == 0)
        return -1; /* a plain run: no MPI at all */
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        cli_error("MPI_Init_thread failed");
        return CLI_FAILED;
    }
    mpi_on = 1;
    world = MPI_COMM_WORLD;
    MPI_Comm_rank(world, &my_rank);
    MPI_Comm_size(world, &n_ranks);
    if (my_rank > 0) {
        cli_error_silent = 1;
        if (freopen("/dev/null", "w", stdout) == NULL)
            fclose(stdout);
    }
    if (provided < MPI_THREAD_FUNNELED) {
        cli_error("MPI gives thread level %d; omptrain's threads need "
                  "MPI_THREAD_FUNNELED", provided);
        return cli_ranks_agree(CLI_FAILED);
    }
    return -1;
}

void cli_ranks_finish(void)
{
    if (mpi_on)
        MPI_Finalize();
    mpi_on = 0;
}

int cli_rank(void) { return my_rank; }
int cli_ranks(void) { return n_ranks; }
const void *cli_comm(void) { return n_ranks > 1 ? &world : NULL; }

int cli_ranks_agree(int rc)
{
    if (n_ranks == 1)
        return rc;
    int in = rc != CLI_OK ? my_rank : n_ranks, first = n_ranks;
    MPI_Allreduce(&in, &first, 1, MPI_INT, MPI_MIN, world);
    if (first == n_ranks)
        return CLI_OK;
    char msg[sizeof cli_last_error];
    memcpy(msg, cli_last_error, sizeof msg);
    int code = rc;
    MPI_Bcast(&code, 1, MPI_INT, first, world);
    MPI_Bcast(msg, (int)sizeof msg, MPI_CHAR, first, world);
    if (my_rank == 0 && first != 0)
        fprintf(stderr, "%s: error: rank %d: %s\n", cli_program, first, msg);
    return code;
}

int cli_ranks_min(int v)
{
    int out = v;
    if (n_ranks > 1)
        MPI_Allreduce(&v, &out, 1, MPI_INT, MPI_MIN, world);
    return out;
}

void cli_ranks_check_binding(int threads)
{
    if (n_ranks == 1)
        return;
    cpu_set_t set;
    int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : threads;
    int short_of = cores < threads ? my_rank : n_ranks, first = n_ranks;
    MPI_Allreduce(&short_of, &first, 1, MPI_INT, MPI_MIN, world);
    if (first == n_ranks)
        return;
    MPI_Bcast(&cores, 1, MPI_INT, first, world);
    if (my_rank == 0)
        fprintf(stderr, "%s: warning: rank %d may run on %d core%s for its %d threads, "
                "which then share them (Open MPI binds each rank to one core when "
                "np <= 2): mpirun --bind-to none, or --map-by slot:PE=%d\n",
                cli_program, first, cores, cores == 1 ? "" : "s", threads, threads);
}

#else /* built without MPI */

int cli_ranks_init(void)
{
    long n = launched_ranks();
    if (n > 1) {
        cli_error("this omptrain was built without MPI, so under mpirun its %ld "
                  "processes would each train a copy of the model alone; install "
                  "libopenmpi-dev and rebuild (meson setup --reconfigure build "
                  "-Dmpi=enabled), or run it without mpirun", n);
        return CLI_USAGE;
    }
    return -1;
}

void cli_ranks_finish(void) {}
int cli_rank(void) { return 0; }
int cli_ranks(void) { return 1; }
const void *cli_comm(void) { return NULL; }
int cli_ranks_agree(int rc) { return rc; }
int cli_ranks_min(int v) { return v; }
void cli_ranks_check_binding(int threads) { (void)threads; }

#endif
