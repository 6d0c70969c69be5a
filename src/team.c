/*
 * team.c - the engine's barrier and parking (team.h).
 *
 * A waiter spins for OT__TEAM_SPIN (20 microseconds) and then sleeps. On an
 * idle machine the threads of a step reach a barrier within a few
 * microseconds of each other, so they rarely sleep and the barrier costs
 * what a spinning one does; a thread that is still waiting after 20
 * microseconds most likely waits for one that has lost its core, and gives
 * its own up to it. The wake-up of a sleeper costs a system call on the
 * last arrival (only when someone sleeps) and some microseconds of latency,
 * small beside the time slice of the program that took the core.
 *
 * Chosen by measurement (bench --auto-check, 784-100-10, 2 threads on the
 * 2-core development machine, a nice-0 load on one core): 2 threads kept
 * 0.66 of 1 thread's throughput at batch 32 and 0.93 at batch 128 with 20
 * microseconds, 0.50 and 0.87 with 50, 0.34 and 0.75 with 100, and 0.35
 * with OpenMP's own barrier; idle, 20 microseconds cost nothing measurable
 * against OpenMP's barrier (BENCHMARKS.md).
 */
#define _GNU_SOURCE /* syscall */
#include <limits.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#else
#include <sched.h>
#endif

#include "team.h"

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleeps while *w == v (or returns at once when it is not, or spuriously). */
static void sleep_on(_Atomic unsigned *w, unsigned v)
{
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
#else
    (void)w;
    (void)v;
    sched_yield();
#endif
}

static void wake_all(_Atomic unsigned *w)
{
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)w;
#endif
}

/* Spins while *w == v for at most `seconds`; whether it changed. */
static int spin_while(_Atomic unsigned *w, unsigned v, double seconds)
{
    if (atomic_load_explicit(w, memory_order_acquire) != v)
        return 1;
    if (seconds <= 0.0)
        return 0;
    double t0 = seconds_now();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(w, memory_order_acquire) != v)
                return 1;
            relax();
        }
        if (seconds_now() - t0 >= seconds)
            return 0;
    }
}

/* Waits while *w == v: spins, then sleeps, counted in *sleepers so that
 * the waker knows to make the system call. */
static void wait_while(_Atomic unsigned *w, unsigned v, _Atomic unsigned *sleepers,
                       double seconds)
{
    if (spin_while(w, v, seconds))
        return;
    atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
    while (atomic_load_explicit(w, memory_order_seq_cst) == v)
        sleep_on(w, v);
    atomic_fetch_sub_explicit(sleepers, 1, memory_order_relaxed);
}

void ot__team_init(ot__team *t, unsigned n, double spin_seconds)
{
    atomic_init(&t->arrived, 0);
    atomic_init(&t->gen, 0);
    atomic_init(&t->sleepers, 0);
    atomic_init(&t->active, n);
    atomic_init(&t->next, n);
    atomic_init(&t->park, 0);
    atomic_init(&t->parked_sleepers, 0);
    atomic_init(&t->closed, 0);
    t->spin_seconds = spin_seconds < 0.0 ? OT__TEAM_SPIN : spin_seconds;
}

void ot__team_barrier(ot__team *t)
{
    /* the phase cannot end before this thread arrives: g is current */
    unsigned g = atomic_load_explicit(&t->gen, memory_order_relaxed);
    unsigned n = atomic_load_explicit(&t->active, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&t->arrived, 1, memory_order_acq_rel) + 1 == n) {
        /* the last: every other thread is inside, none reads these */
        atomic_store_explicit(&t->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&t->active, atomic_load_explicit(&t->next, memory_order_relaxed),
                              memory_order_release);
        /* seq_cst pairs with the sleepers' increment: either the waker sees
         * a sleeper, or the sleeper sees the new phase */
        atomic_fetch_add_explicit(&t->gen, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&t->sleepers, memory_order_seq_cst) > 0)
            wake_all(&t->gen);
        return;
    }
    wait_while(&t->gen, g, &t->sleepers, t->spin_seconds);
}

unsigned ot__team_active(const ot__team *t)
{
    return atomic_load_explicit(&t->active, memory_order_acquire);
}

void ot__team_resize(ot__team *t, unsigned n)
{
    atomic_store_explicit(&t->next, n, memory_order_relaxed);
}

void ot__team_wake(ot__team *t)
{
    atomic_fetch_add_explicit(&t->park, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&t->parked_sleepers, memory_order_seq_cst) > 0)
        wake_all(&t->park);
}

int ot__team_park(ot__team *t, unsigned id)
{
    for (;;) {
        unsigned p = atomic_load_explicit(&t->park, memory_order_acquire);
        if (atomic_load_explicit(&t->closed, memory_order_acquire))
            return 0;
        if (id < ot__team_active(t))
            return 1;
        wait_while(&t->park, p, &t->parked_sleepers, t->spin_seconds);
    }
}

void ot__team_close(ot__team *t)
{
    atomic_store_explicit(&t->closed, 1, memory_order_release);
    ot__team_wake(t);
}
