/*
 * team.c - the engine's barrier and parking (team.h).
 *
 * A waiter spins and then sleeps on a futex; it sleeps at once when a
 * thread it waits for last arrived at a barrier from the waiter's own core
 * (there the spin would only keep the late thread off that core). How long
 * it spins depends on who else wants the cores:
 *
 * - Nobody, or only programs of lower priority (nice 19): a long spin
 *   (OT__TEAM_SPIN_MAX). A waiter that sleeps hands its core to the niced
 *   program, and the scheduler lets that program finish its slice before
 *   the woken thread runs again: every barrier then costs up to a slice,
 *   and 2 threads fall to the speed of 1 for seconds at a time. A spinner
 *   keeps the core, as the scheduler gives a nice-0 thread ~98% of it.
 * - Programs or threads of equal priority (a nice-0 load, more threads than
 *   cores, mpirun's ranks beyond the cores): the shortest spin
 *   (OT__TEAM_SPIN), long enough to outlast a sleeper's wake-up when the
 *   team's threads are on different cores. A long spin there holds a core
 *   another thread needs (the late one, or another rank), and keeps the
 *   scheduler from moving the other program onto the spinner's core.
 *
 * Each thread tells the two apart from what it can see of itself: once a
 * period (OT__TEAM_PERIOD), the time it spent runnable but waiting for a
 * core (the scheduler's run-queue delay, /proc/thread-self/schedstat) and
 * the time its spins lost their core (a jump of the clock between two
 * looks). More than OT__TEAM_LOST of the period: the whole team spins the
 * shortest for a hold (OT__TEAM_HOLD seconds, doubled up to
 * OT__TEAM_HOLD_MAX while each try of the long spin finds the cores still
 * taken). A niced program costs the team's threads about 2% of their time,
 * below the bound, so under it the team keeps the long spin.
 */
#define _GNU_SOURCE /* syscall */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "team.h"

#define OT__TEAM_GAP 100e-6 /* a spin that saw the clock jump lost its core */

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

/* Seconds the calling thread has spent runnable but not running, or -1
 * where the system does not say. */
static double run_queue_seconds(void)
{
#if defined(__linux__)
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1.0;
    char buf[96];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1.0;
    buf[n] = '\0';
    char *end;
    strtoull(buf, &end, 10); /* time on the cpu */
    if (end == buf)
        return -1.0;
    char *p = end;
    unsigned long long waited = strtoull(p, &end, 10);
    return end == p ? -1.0 : 1e-9 * (double)waited;
#else
    return -1.0;
#endif
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

/* The calling thread in the team it runs in (ot__team_join): its id; the
 * time at its last barrier; the start of its period, its run-queue delay
 * then, and the seconds its spins have lost their core since. */
static _Thread_local unsigned my_id;
static _Thread_local double my_now;
static _Thread_local double my_period;
static _Thread_local double my_queued;
static _Thread_local double my_lost;

/* Spins while *w == v for at most `seconds`; whether it changed. */
static int spin_while(_Atomic unsigned *w, unsigned v, double seconds)
{
    if (atomic_load_explicit(w, memory_order_acquire) != v)
        return 1;
    if (seconds <= 0.0)
        return 0;
    double t0 = seconds_now(), last = t0;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(w, memory_order_acquire) != v)
                return 1;
            relax();
        }
        double now = seconds_now();
        if (now - last > OT__TEAM_GAP)
            my_lost += now - last;
        if (now - t0 >= seconds)
            return 0;
        last = now;
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

/* The spin of a wait that starts now (my_now: the last barrier's end). */
static double spin_now(const ot__team *t)
{
    return my_now < atomic_load_explicit(&t->quiet_until, memory_order_relaxed)
               ? t->spin_seconds
               : t->spin_max;
}

void ot__team_quiet_update(ot__team_quiet *q, double now, double len, double lost)
{
    if (lost > OT__TEAM_LOST * len) {
        if (now >= q->until) {
            /* the long spin tried right after a spell: a longer spell */
            if (q->until > 0.0 && now - q->until <= 2.0 * OT__TEAM_PERIOD)
                q->hold = 2.0 * q->hold < OT__TEAM_HOLD_MAX ? 2.0 * q->hold : OT__TEAM_HOLD_MAX;
            q->until = now + q->hold;
        }
        q->taken_at = now;
    } else if (now >= q->until && q->hold > OT__TEAM_HOLD &&
               now - q->taken_at > 2.0 * OT__TEAM_PERIOD) {
        q->hold = OT__TEAM_HOLD;
    }
}

/* After a barrier: at the end of this thread's period, the time it was
 * kept off a core updates the team's spell of shortest spins. Two
 * threads may update at once; either's result does. */
static void after_wait(ot__team *t)
{
    my_now = seconds_now();
    double len = my_now - my_period;
    if (len < OT__TEAM_PERIOD)
        return;
    double queued = run_queue_seconds();
    double waited = queued >= 0.0 && my_queued >= 0.0 ? queued - my_queued : 0.0;
    ot__team_quiet q = {
        .until = atomic_load_explicit(&t->quiet_until, memory_order_relaxed),
        .hold = atomic_load_explicit(&t->hold, memory_order_relaxed),
        .taken_at = atomic_load_explicit(&t->taken_at, memory_order_relaxed),
    };
    ot__team_quiet_update(&q, my_now, len, waited > my_lost ? waited : my_lost);
    atomic_store_explicit(&t->quiet_until, q.until, memory_order_relaxed);
    atomic_store_explicit(&t->hold, q.hold, memory_order_relaxed);
    atomic_store_explicit(&t->taken_at, q.taken_at, memory_order_relaxed);
    my_period = my_now;
    my_queued = queued;
    my_lost = 0.0;
}

void ot__team_join(ot__team *t, unsigned id)
{
    (void)t;
    my_id = id;
    my_now = my_period = seconds_now();
    my_queued = run_queue_seconds();
    my_lost = 0.0;
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
    atomic_init(&t->quiet_until, 0.0);
    atomic_init(&t->hold, OT__TEAM_HOLD);
    atomic_init(&t->taken_at, 0.0);
    t->spin_seconds = spin_seconds < 0.0 ? OT__TEAM_SPIN : spin_seconds;
    t->spin_max = spin_seconds < 0.0 ? OT__TEAM_SPIN_MAX : spin_seconds;
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
        after_wait(t);
        return;
    }
    wait_while(&t->gen, g, &t->sleepers, late_one_here(t, n, g, cpu) ? 0.0 : spin_now(t));
    after_wait(t);
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
        /* parked because the cores are taken: the short spin */
        wait_while(&t->park, p, &t->parked_sleepers, t->spin_seconds);
    }
}

void ot__team_close(ot__team *t)
{
    atomic_store_explicit(&t->closed, 1, memory_order_release);
    ot__team_wake(t);
}
