/*
 * engine.h - the training step and the forward pass, once, over a team of
 * OpenMP threads: the seam between what a step computes and what drives
 * it. The engine's files (engine.c, step_rows.c, step_units.c) are the only
 * ones with OpenMP pragmas. Not installed.
 *
 * A run is opened over a model with a thread and shard count, told the
 * data and the batch lengths it will see, run, and closed. Every buffer and
 * primitive is made when the run starts, before its first job. The run is
 * a sequence of jobs that a driver hands out: the driver is called on one
 * thread between barriers, with the job just done and its result, and
 * writes the next one. Epochs, validation, callbacks and files live in the
 * drivers (fit.c, inference.c); the engine knows nothing of them.
 *
 * A step's S shards are run by the T threads that take part (team.h: the
 * count may change between jobs), thread t the contiguous shards
 * [tS/T, (t+1)S/T). The step is cut in one of two ways, by a fixed rule of
 * (model, rows, S) (ot__usplit_applies), so that the weights depend on S
 * and never on T:
 *   by rows (step_rows.c): each thread its shards' forward and backward
 *     passes into their own gradients, barrier, then each thread its slice
 *     of the parameter arena, the gradients summed in shard order and the
 *     optimizer applied;
 *   by units (step_units.c, unit_split.h): each thread its blocks of every
 *     layer's units over the whole batch, a barrier after each layer, then
 *     its blocks' weights updated; nothing is summed across threads.
 *
 * With ranks (ranks.h, ot__engine_add_ranks) the shards are the job's: a
 * rank's threads split its block of them and its slice of the arena, and
 * the master exchanges with the other ranks between the barriers of a
 * step (cut by rows: the gradients and the weights; by units: each layer's
 * outputs and input-gradient parts). After every job the ranks agree, so
 * that all end at the same step.
 */
#ifndef OT_ENGINE_H
#define OT_ENGINE_H

#include "elastic.h"
#include "optimizer.h"
#include "ranks.h"
#include "shard.h"
#include "team.h"
#include "unit_split.h"

#define OT__CHUNK 1024 /* floats reduced and updated at a time, to stay in L1 */

/* What tests and developer tools may force; zeros follow the rules. */
typedef struct ot__engine_options {
    int cut;        /* 0: the rule; 1: by units wherever the model allows; -1: by rows */
    int transposed; /* dense layers' forward product (ot__dense_transposed):
                     * 0 the rule, 1 always transposed, -1 never */
    /* the team (team.h): switch_every > 0 changes the thread count after
     * every that many jobs, through every count from all down to 1 and
     * back (tests of bit-identity); round_rows: the rows of a forward
     * job's rounds in an elastic run (0: 4096); spin_us: how long a
     * waiter spins before it sleeps, always (0: as the load on the cores
     * says, team.c; -1: not at all) */
    size_t switch_every, round_rows;
    int spin_us;
} ot__engine_options;

typedef enum ot__job_kind {
    OT__JOB_END,      /* the run is over */
    OT__JOB_STEP,     /* a training step: gradient, then the optimizer */
    OT__JOB_GRADIENT, /* the gradient of a step, left in ot__engine_gradient */
    OT__JOB_FORWARD,  /* forward passes over rows, in batches of the run's batch */
    OT__JOB_PAUSE,    /* no work: the driver is called again after a barrier */
    OT__JOB_KERNELS   /* the step's primitives alone, `repeat` times, on the
                       * workers' current buffers: no gather, no loss, no
                       * reduction, no update, no barrier between them (the
                       * kernel-only ceiling of developer tools) */
} ot__job_kind;

/* Parts of a STEP that a developer tool leaves out, to time the rest. */
#define OT__SKIP_REDUCE 1u /* the shards' gradients stay apart, nothing updated */
#define OT__SKIP_UPDATE 2u /* reduced into the engine's gradient, not applied */
#define OT__SKIP_KERNELS 4u /* KERNELS: the primitives left out, `each` alone */

struct ot__engine;

typedef struct ot__job {
    ot__job_kind kind;
    ot__rows rows;     /* the rows of the step, or of every forward batch */
    ot__rows ahead;    /* STEP: the next step's rows when they are known now
                        * (rows 0 when not), for a step cut by units to
                        * gather before its last barrier */
    ot__opt_step opt;  /* STEP: the optimizer's constants of this step */
    int with_loss;     /* FORWARD: sum the loss and metrics */
    float *out;        /* FORWARD: the outputs, rows x outputs, or NULL */
    unsigned skip;     /* STEP: OT__SKIP_* parts left out; 0 for training;
                        * KERNELS: OT__SKIP_KERNELS, only `each` */
    size_t repeat;     /* KERNELS: how many times, the rows those of a step */
    /* KERNELS: called by every thread after each repetition (NULL: none),
     * for a developer tool's work on the thread's own part (tid's) */
    void (*each)(void *user, struct ot__engine *e, int tid);
    void *each_user;
    ot_status status;  /* END: the driver's own failure, its message in
                        * ot_last_error on the calling thread; with ranks,
                        * every rank's run ends with it */
    size_t done;       /* FORWARD: rows done in the engine's earlier rounds
                        * of the job (the driver leaves it 0) */
} ot__job;

typedef struct ot__job_result {
    int bad;             /* a thread failed, or a step's loss is not finite */
    ot__sums sums;       /* loss and metrics summed over the job's rows,
                          * in shard order */
    double comm_seconds; /* the master's time in exchanges with the other
                          * ranks since the run began (waits included) */
    /* since the run began: the jobs' time, and its integral of the thread
     * count (their ratio: the mean count); the changes of count and the
     * last one's reason (elastic runs) */
    double busy_seconds, thread_seconds;
    size_t switches;
    const char *why;
} ot__job_result;

/* Called on one thread between barriers: `done` is the job just finished
 * and `res` its result (both NULL on the first call); writes the next job.
 * It may read the model and write anything outside the engine. */
typedef void (*ot__driver)(void *user, const ot__job *done,
                           const ot__job_result *res, ot__job *next);

typedef struct ot__engine {
    ot_model *m;
    int threads;
    size_t shards, batch;
    int training;
    ot__engine_options opt;
    size_t n_targets;        /* float targets per row in any dataset of the run */
    size_t lens[4], n_lens;  /* the row counts the run will cut into shards */
    dnnl_engine_t dnnl;
    ot__worker *workers;     /* [threads] */
    float **grads;           /* [shards], arena layout; training only */
    ot__sums *shard_sums;    /* [shards]: loss and metrics */
    ot_status *setup_status; /* [threads] */
    ot_status *step_status;  /* [threads] */
    int *weights_bad;        /* [threads]: a non-finite weight in its part */
    char (*msg)[256];        /* [threads] */
    ot__usplit usplit;       /* steps cut by units; model NULL: none */
    ot__uthread *uthreads;   /* [threads] */
    ot__driver driver;
    void *user;
    ot__job job;             /* the next job, written before a barrier */
    int weights_broke;       /* the last step made a weight non-finite */
    int adapt;               /* ot__engine_adapt */
    /* the team: which threads take part (threads [0, active)); the counts
     * an elastic run may take, and what chooses among them */
    ot__team team;
    ot__team_slot *team_slots; /* [threads] */
    int elastic;             /* ot__engine_elastic */
    int cands[OT__ELASTIC_MAX], n_cands;
    ot__elastic ctl;
    unsigned woken;          /* thread 0's: the count it last woke */
    size_t jobs_done;
    double t_job, comm_at_job; /* when the job began, the exchanges' time then */
    double busy_seconds, thread_seconds;
    /* ranks (ranks.h): this rank's shards [s_lo, s_hi) and arena slice
     * [a_lo, a_hi); the whole of both with one rank */
    const ot__ranks *ranks;
    size_t s_lo, s_hi, a_lo, a_hi;
    int state_sliced;        /* the optimizer state is current in a_lo..a_hi only */
    int ranks_weights_bad;   /* another rank's update made a weight non-finite */
    ot_status ranks_status;  /* the first failure over the ranks, */
    char ranks_msg[512];     /* with its message */
    ot_status data_status;   /* a streamed read that failed (the master's), */
    char data_msg[512];      /* with its message */
    double comm_seconds;     /* in exchanges with the other ranks, this run */
    /* steps cut by units over the ranks (step_units.c): each rank's blocks,
     * the buffers of the other ranks' blocks that this one reads, and
     * whether the other ranks' blocks' weights and state are stale here */
    size_t *uc0, *uc1;       /* [ranks]: a layer's columns of each rank */
    float **ubufs;           /* the other ranks' blocks' buffers, to free */
    size_t n_ubufs;
    int units_sliced;
} ot__engine;

/* threads 0: ot_default_threads(); shards 0: one per thread. */
ot_status ot__engine_resolve(int threads, size_t shards, int *t_out, size_t *s_out);
/* The most threads a parallel region started here can have now: 1 inside
 * a caller's region when no more levels may be active. */
int ot__engine_team_limit(void);
/* The run takes the team OpenMP gives, up to its thread count, instead of
 * failing on a smaller one (threads = 0: inside a caller's parallel region,
 * with OMP_DYNAMIC or a thread limit); the shards, and so the results, stay
 * the same. */
void ot__engine_adapt(ot__engine *e);
/* The run changes how many of its threads take part while it runs, from
 * its own job times (elastic.h), between every job and every round of a
 * forward job; the shards, and so the results, stay the same. */
void ot__engine_elastic(ot__engine *e);

ot_status ot__engine_open(ot__engine *e, ot_model *m, int threads, size_t shards,
                          size_t batch, int training, const ot__engine_options *opt);
/* The run's steps and forward passes are shared with the other ranks of r
 * (ranks.h); call before ot__engine_run. Without: one rank. */
void ot__engine_add_ranks(ot__engine *e, const ot__ranks *r);
/* The run will see rows of d (its float targets sized the buffers). */
void ot__engine_add_data(ot__engine *e, const ot_dataset *d);
/* The run will cut batches of len rows into shards (0: ignored). */
void ot__engine_add_length(ot__engine *e, size_t len);
/* Training steps of these lengths: those the rule cuts by units get their
 * blocks. Call after ot__engine_add_data. */
ot_status ot__engine_add_steps(ot__engine *e, const size_t *len, size_t n);

/* Runs the driver's jobs; the first failure of a thread, in thread order,
 * with its message. A step that made weights non-finite ends the run with
 * e->weights_broke set (the driver has already been told of the step). */
ot_status ot__engine_run(ot__engine *e, ot__driver driver, void *user);
/* Runs one job; its result in *res. */
ot_status ot__engine_run_one(ot__engine *e, const ot__job *job, ot__job_result *res);
void ot__engine_close(ot__engine *e);

/* The gradient of the mean loss over rows [0, n) of d, one step cut into
 * `shards` shards run by `threads` threads, packed like
 * ot_model_get_weights, and the mean loss. Changes nothing. */
ot_status ot__engine_gradient_of(ot_model *m, const ot_dataset *d, size_t shards,
                                 int threads, const ot__engine_options *opt,
                                 float *grad, double *loss);

/* ---- for the engine's own files ------------------------------------------ */

/* Every taking part thread waits for the others (team.h). */
static inline void ot__engine_barrier(ot__engine *e) { ot__team_barrier(&e->team); }

/* engine_team.c: the shards of thread tid when `a` threads take part; the
 * counts the run may take and its team (all of its threads take part at
 * first; with switch_every every count; elastic, those that change how
 * many shards the busiest thread runs, ceil(S / k)); the rows of a forward
 * job's rounds (between two the count may change) and of a job or round;
 * the master's tick after a job: its time and count recorded, the count
 * for the next job set (the barrier that ends this one applies it). */
void ot__engine_shards_at(const ot__engine *e, int tid, unsigned a, size_t *lo, size_t *hi);
void ot__engine_team_setup(ot__engine *e);
size_t ot__engine_round_rows(const ot__engine *e, size_t n);
size_t ot__engine_job_rows(const ot__engine *e, const ot__job *j);
void ot__engine_team_tick(ot__engine *e, const ot__job *done);

/* The shards [lo, hi) of thread tid: its part of its rank's block. */
void ot__engine_my_shards(const ot__engine *e, int tid, size_t *lo, size_t *hi);
/* The shards [lo, hi) of thread tid among all of the run's, as with one
 * rank. */
void ot__engine_all_shards(const ot__engine *e, int tid, size_t *lo, size_t *hi);
/* The arena [lo, hi) (floats, whole lines) that thread tid reduces and
 * updates in a step cut by rows: its part of its rank's slice. */
void ot__engine_my_slice(const ot__engine *e, int tid, size_t *lo, size_t *hi);
/* The first failure in thread order, with its message on the calling
 * thread; whether any thread failed; whether any update made a weight
 * non-finite (with ranks: on any rank). */
ot_status ot__engine_first_failure(const ot__engine *e, const ot_status *slots);
int ot__engine_any_failure(const ot__engine *e, const ot_status *slots);
int ot__engine_any_weights_bad(const ot__engine *e);

/* engine_ranks.c, on the master between barriers, with ranks: after the
 * threads' setup (the other ranks' shards' gradients, the exchanges'
 * buffers, every rank's verdict); before the driver sees a forward pass
 * (every shard's sums; returns whether any rank failed it); after the
 * driver (every rank ends where one ends; the optimizer state and the
 * blocks' weights gathered before what needs them whole); at the end. */
void ot__engine_ranks_setup(ot__engine *e);
int ot__engine_ranks_forward(ot__engine *e, int bad);
void ot__engine_ranks_agree(ot__engine *e);
/* The first job, before any thread runs it: a rank whose driver or data
 * ended the run at once (a streamed read that failed) ends every rank. */
void ot__engine_ranks_start(ot__engine *e);
void ot__engine_ranks_finish(ot__engine *e);
/* The master, after a step's shards (between barriers, with ranks): every
 * shard's loss, and the other ranks' gradients over this rank's slice. */
void ot__engine_exchange(ot__engine *e, size_t ns, int gradients);
/* The master, after a step's update (with ranks): every rank's slice of
 * the new weights. */
void ot__engine_share_weights(ot__engine *e);
/* Records a thread's failure with its message. */
void ot__engine_thread_fail(ot__engine *e, ot_status *slot, int tid, ot_status st);
/* Every thread's verdict on a step from the same data: a failure, or a
 * loss that is not finite. */
int ot__engine_step_verdict(const ot__engine *e);
/* The master's part after a job, before the barrier that ends it: the
 * result to the driver, the next job from it. */
void ot__engine_hand_over(ot__engine *e, const ot__job *done, int bad);
/* The ranges [*off, *off + *n) of the parameters that thread tid updates
 * in a step, one a call from a cursor that starts at zero: its blocks' (cut
 * by units) or its slice of the arena; 0 past the last. */
typedef struct ot__range_cursor {
    size_t block, k, layer;
    ot__ublock *cur;
} ot__range_cursor;
int ot__engine_next_own_range(const ot__engine *e, int tid, ot__range_cursor *c, size_t *off,
                              size_t *n);
/* The optimizer over arena[off, off + n) with the gradient in grads[0],
 * plus `last` (another shard's gradient) when not NULL; flags a weight it
 * makes non-finite. */
void ot__engine_update(ot__engine *e, int tid, const ot__opt_step *k,
                       float *const *slot, size_t off, size_t n, const float *last);

/* step_rows.c: a step cut by rows, to its last barrier; returns the verdict. */
int ot__rows_step(ot__engine *e, int tid, const ot__job *job, float *const *slot);
/* g0[c..c+n) += grads[1][..] + ... + grads[ns-1][..], in shard order. */
void ot__reduce_chunk(float *const *grads, size_t ns, size_t c, size_t n);

/* step_units.c: the blocks of a run's steps cut by units (for lens[0..n)
 * where the rule applies), a thread's share of them, and the step. With
 * ranks, a rank's threads own the blocks of its shards: the master makes
 * what a layer's blocks wrote whole on every rank before the next layer
 * reads it (ot__units_ranks_*). */
ot_status ot__units_open(ot__engine *e, const size_t *lens, size_t n);
/* With ranks, on the master after the threads' setup: the other ranks'
 * blocks' buffers this rank reads, the column gathers. */
ot_status ot__units_ranks_setup(ot__engine *e);
/* With ranks, on the master: the weights and optimizer state of every
 * block whole on every rank again (after steps cut by units). */
ot_status ot__units_ranks_gather(ot__engine *e);
ot_status ot__units_thread_init(ot__engine *e, int tid, size_t s_lo, size_t s_hi);
void ot__units_close(ot__engine *e);
/* The index of a step of `rows` rows among the unit cut's lengths, or -1:
 * the step is cut by rows. */
int ot__units_len(const ot__engine *e, size_t rows);
/* A step cut by units, to its last barrier; *gathered: the rows this thread
 * holds already (ahead of the step), updated. Returns the verdict. */
int ot__units_step(ot__engine *e, int tid, const ot__job *job, int li,
                   float *const *slot, ot__rows *gathered);

/* Denormal floats flushed to zero in the calling thread, as in every
 * thread of the engine's regions (engine.c says why); returns the setting
 * before, for ot__fp_leave. */
unsigned ot__fp_enter(void);
void ot__fp_leave(unsigned old);

#endif
