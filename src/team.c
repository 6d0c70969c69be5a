/*
 * team.c - the engine's barrier and parking (team.h).
 *
 * A waiter spins for OT__TEAM_SPIN (50 microseconds) and then sleeps, or
 * sleeps at once when a thread it waits for last arrived at a barrier from
 * the waiter's own core. On an idle machine the threads of a step reach a
 * barrier within a few microseconds of each other, so they rarely sleep and
 * the barrier costs what a spinning one does. Another program on the
 * machine makes the scheduler put two of the run's threads on one core now
 * and then: there a spinning waiter holds the core the late thread needs,
 * for its whole spin at every barrier, and sleeping at once hands it over.
 * On different cores the spin must outlast a sleeper's wake-up (tens of
 * microseconds in a virtual machine), or each wake-up makes the next
 * barrier's wait long enough to sleep too.
 *
 * Chosen by measurement (bench --auto-check, 784-100-10, 2 threads on the
 * 2-core development machine, another program's CPU-bound loop started
 * partway through): with a fixed spin and no core check, 2 threads kept
 * 0.66 / 0.93 of 1 thread's throughput at batch 32 / 128 under a nice-0
 * load with 20 microseconds, 0.50 / 0.87 with 50 and 0.34 / 0.75 with 100
 * while under a nice-19 load 20 microseconds fell below 1 thread (0.80 at
 * batch 32) where 50 stayed above it (1.38); with the core check and 50
 * microseconds, 0.83 / 0.98 under nice 0 and 1.40 / 1.27 under nice 19.
 * Against OpenMP's own barrier (8 epochs of omptrain train, 2 runs each,
 * interleaved): under nice 0, 0.76-0.83 / 0.67-0.74 before, 0.90-0.99 /
 * 1.07-1.12 after; under nice 19 OpenMP's spinning did better, 1.45-1.47 /
 * 1.55-1.62 before against 1.09-1.24 / 1.13-1.59 after: a sleeping waiter
 * lets the nice-19 program onto its core, and the wake-up must preempt it.
 */
#define _GNU_SOURCE /* syscall */
#include <limits.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
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
 * the waker knows to make the system call. Whether it slept. */
static int wait_while(_Atomic unsigned *w, unsigned v, _Atomic unsigned *sleepers,
                      double seconds)
{
    if (spin_while(w, v, seconds))
        return 0;
    atomic_fetch_add_explicit(sleepers, 1, memory_order_seq_cst);
    while (atomic_load_explicit(w, memory_order_seq_cst) == v)
        sleep_on(w, v);
    atomic_fetch_sub_explicit(sleepers, 1, memory_order_relaxed);
    return 1;
}

/* The calling thread's id in the team it runs in (ot__team_join). */
static _Thread_local unsigned my_id;

void ot__team_join(ot__team *t, unsigned id)
{
    (void)t;
    my_id = id;
}

/* Whether a thread of [0, n) that has not arrived at phase g last ran on
 * this core: then it is waiting for this one's core, and spinning would
 * only keep it off. */
static int late_one_here(const ot__team *t, unsigned n, unsigned g, int cpu)
{
    if (cpu < 0)
        return 0;
    for (unsigned i = 0; i < n; i++)
        if (i != my_id && atomic_load_explicit(&t->slots[i].gen, memory_order_relaxed) != g + 1 &&
            atomic_load_explicit(&t->slots[i].cpu, memory_order_relaxed) == cpu)
            return 1;
    return 0;
}

void ot__team_init(ot__team *t, unsigned n, ot__team_slot *slots, double spin_seconds)
{
    t->slots = slots;
    for (unsigned i = 0; i < n; i++) {
        atomic_init(&slots[i].gen, 0);
        atomic_init(&slots[i].cpu, -1);
    }
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
#if defined(__linux__)
    int cpu = sched_getcpu();
#else
    int cpu = -1;
#endif
    ot__team_slot *me = &t->slots[my_id];
    atomic_store_explicit(&me->cpu, cpu, memory_order_relaxed);
    atomic_store_explicit(&me->gen, g + 1, memory_order_relaxed);
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
    wait_while(&t->gen, g, &t->sleepers,
               late_one_here(t, n, g, cpu) ? 0.0 : t->spin_seconds);
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
