/*
 * team.h - how the engine's threads wait for each other: a barrier that
 * spins briefly and then sleeps, and a count of the threads that take part
 * in it, which may change at a barrier while the others are parked
 * (asleep, using no core). Not installed.
 *
 * OpenMP's own barrier spins (libgomp: about 300,000 rounds, or forever
 * under OMP_WAIT_POLICY=active) while the thread it waits for may be
 * descheduled by another program: the spinning thread takes the core the
 * late one needs. Here a waiter spins for a bounded time (the common case,
 * a few microseconds of imbalance between the threads of a step, costs no
 * system call) and then sleeps on a futex until the last thread arrives.
 *
 * The threads are OpenMP's (one parallel region a run: engine.c); ids are
 * omp_get_thread_num(). Thread 0 always takes part.
 */
#ifndef OT_TEAM_H
#define OT_TEAM_H

#include <stdatomic.h>

/* What a thread last did at a barrier: the phase it arrived at, its core. */
typedef struct ot__team_slot {
    _Atomic unsigned gen;
    _Atomic int cpu;
    char pad[56]; /* a cache line each */
} ot__team_slot;

typedef struct ot__team {
    _Atomic unsigned arrived; /* threads at the barrier, this phase */
    _Atomic unsigned gen;     /* the barrier's phase (a futex word) */
    _Atomic unsigned sleepers;
    _Atomic unsigned active;  /* threads that take part: ids [0, active) */
    _Atomic unsigned next;    /* applied by the last arrival at a barrier */
    _Atomic unsigned park;    /* bumped to wake parked threads (a futex word) */
    _Atomic unsigned parked_sleepers;
    _Atomic int closed;       /* the run is over: parked threads leave */
    _Atomic double quiet_until; /* the shortest spin until then (seconds) */
    _Atomic double hold;        /* how long a shortest-spin spell lasts */
    _Atomic double taken_at;    /* when a thread last waited for a core */
    double spin_seconds;      /* the shortest spin before a waiter sleeps */
    double spin_max;          /* the longest (team.c: which, when) */
    ot__team_slot *slots;
} ot__team;

/* How long a waiter spins before it sleeps, at least and at most (team.c
 * says why and how); not at all while a thread it waits for last ran on
 * its own core. */
#define OT__TEAM_SPIN 50e-6
#define OT__TEAM_SPIN_MAX 5e-3

/* Which spin, and when (team.c says why): once a period of
 * OT__TEAM_PERIOD seconds, each thread measures how long it was kept off a
 * core. More than OT__TEAM_LOST of the period, and the team spins the
 * shortest for a hold of OT__TEAM_HOLD seconds, doubled up to
 * OT__TEAM_HOLD_MAX each time the long spin, tried again after a hold,
 * finds the cores still taken; back to OT__TEAM_HOLD after two periods
 * with the cores free. */
#define OT__TEAM_PERIOD 0.1
#define OT__TEAM_LOST 0.2
#define OT__TEAM_HOLD 1.0
#define OT__TEAM_HOLD_MAX 8.0

typedef struct ot__team_quiet {
    double until;    /* the shortest spin until then (0: never yet) */
    double hold;     /* the length of the next spell */
    double taken_at; /* when a thread was last kept off a core */
} ot__team_quiet;

/* The end of a period `len` seconds long at time `now`, in which a thread
 * was kept off a core for `lost` seconds. */
void ot__team_quiet_update(ot__team_quiet *q, double now, double len, double lost);

/* A team of `n` threads taking part, slots[n] of them (ot__team_join);
 * spin_seconds < 0: the adaptive default, else that spin always. */
void ot__team_init(ot__team *t, unsigned n, ot__team_slot *slots, double spin_seconds);

/* The calling thread is thread `id` of the team (before its barriers). */
void ot__team_join(ot__team *t, unsigned id);

/* Waits until every taking part thread has arrived. The last to arrive
 * applies a count set with ot__team_resize; everything written before the
 * barrier by any thread is visible after it to every thread. */
void ot__team_barrier(ot__team *t);

/* The threads that take part now, [0, ot__team_active). Read it after a
 * barrier; it does not change between two barriers. */
unsigned ot__team_active(const ot__team *t);

/* Thread 0, between two barriers: the count that takes part from the next
 * barrier on. After that barrier thread 0 calls ot__team_wake when the
 * count grew; threads at or past the new count call ot__team_park. */
void ot__team_resize(ot__team *t, unsigned n);
void ot__team_wake(ot__team *t);

/* A thread that does not take part: sleeps until it does (returns 1) or
 * the team is closed (returns 0). */
int ot__team_park(ot__team *t, unsigned id);

/* Thread 0, at the end of the run: every parked thread returns. */
void ot__team_close(ot__team *t);

#endif
