/* SPDX-License-Identifier: MIT */
/*
 * src/write/sampler.c - owns the slow parts of sampled counters: the
 * per-thread slots of shmetrics_sampler_inc, handing a slot from one
 * sampler to another (its pending count is added exactly), and adding the
 * pending counts to the arena: a thread's own when it asks
 * (shmetrics_sampler_flush) and when it exits (a thread-key destructor),
 * every thread's counts of one registry's samplers before its shutdown
 * unmaps the arena, and every thread's counts at process exit (an atexit
 * handler); and the life words by which a sampler whose registry was shut
 * down knows it.
 *
 * Locks: `threads_lock` (the list of threads and the free life words),
 * then a thread's own `lock` (its slots' owner, series and life fields).
 * A thread takes its own lock alone, out of line, to switch or flush a
 * slot; a flush of other threads' slots holds threads_lock throughout, so
 * a thread's slots leave the list (at its exit) only when no flush is
 * reading them, and a shutdown unmaps its arena only after every listed
 * thread let go of its slots.  Counts are added under the locks, with
 * cancellation off (an add may grow a series' stripes, with fallocate).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/check.h"
#include "base/error.h"
#include "registry.h"

_Thread_local struct shmetrics_sampler_slot_ shmetrics_sampler_tls_[SHMETRICS_SAMPLER_SLOTS];

/* A thread that used a sampler: listed from its first use (which arms its
 * exit destructor) until that destructor, or the fork of a child (which
 * keeps only the forking thread). */
struct thread_slots {
    pthread_mutex_t lock;
    struct shmetrics_sampler_slot_ *slots;
    struct thread_slots *next, *prev;
    bool listed;
};

static _Thread_local struct thread_slots self = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct thread_slots *threads;

/* A registry's life word: `alive` while the registry is open, changed by
 * its shutdown.  Never freed (a sampler of a shut-down registry still reads
 * it): a shut-down registry's word goes to the free list, under
 * threads_lock, for the next registry opened. */
struct smx_life {
    uint64_t word;
    struct smx_life *next;
};
static struct smx_life *free_lives;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool key_ok;

static void lock(pthread_mutex_t *m, int *cancel)
{
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, cancel);
    SMX_CHECK_ZERO(pthread_mutex_lock(m));
}

static void unlock(pthread_mutex_t *m, int cancel)
{
    SMX_CHECK_ZERO(pthread_mutex_unlock(m));
    pthread_setcancelstate(cancel, NULL);
}

/* Take a slot's pending count (an exchange: its owner may be counting on
 * it) and add it to the series; with `release` the slot is freed too.
 * Under the slot's thread's lock. */
static void slot_flush(struct shmetrics_sampler_slot_ *slot, bool release)
{
    if (slot->series) {
        uint32_t n = shmetrics_xchg_seq_cst(&slot->count, 0u);
        if (n)
            shmetrics_counter_add(slot->series, n);
    }
    if (release) {
        shmetrics_store_relaxed(&slot->owner, (const struct shmetrics_sampler *)NULL);
        slot->series = NULL;
        slot->life = NULL;
    }
}

static void thread_flush(struct thread_slots *t, bool release)
{
    int cancel;
    lock(&t->lock, &cancel);
    for (int i = 0; i < SHMETRICS_SAMPLER_SLOTS; i++)
        slot_flush(&t->slots[i], release);
    unlock(&t->lock, cancel);
}

static void unlist(struct thread_slots *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->listed = false;
}

/* A thread's exit (pthread_exit, or a return from its start function; the
 * main thread only by pthread_exit): its pending counts go to the arena,
 * and its slots leave the list before its thread-local memory does. */
static void on_thread_exit(void *arg)
{
    (void)arg;
    int cancel;
    lock(&threads_lock, &cancel);
    thread_flush(&self, true);
    unlist(&self);
    unlock(&threads_lock, cancel);
}

/* Process exit (exit, or a return from main), after the exit handlers
 * registered after it: every listed thread's pending counts, the caller's
 * and those of threads still running or blocked, go to the arena.  The
 * registries still open are mapped until the process ends (nothing of
 * shmetrics unmaps at exit); those shut down took their counts already.
 * A thread still counting meanwhile: see shmetrics.h. */
static void on_process_exit(void)
{
    int cancel;
    lock(&threads_lock, &cancel);
    for (struct thread_slots *t = threads; t; t = t->next)
        thread_flush(t, false);
    unlock(&threads_lock, cancel);
}

/* fork: the child has one thread, and the pending counts in its copy of
 * the slots are the parent's (the parent adds them): it keeps the forking
 * thread's slots, with no count, and drops the other threads'. */
static void fork_prepare(void)
{
    SMX_CHECK_ZERO(pthread_mutex_lock(&threads_lock));
}

static void fork_parent(void)
{
    SMX_CHECK_ZERO(pthread_mutex_unlock(&threads_lock));
}

static void fork_child(void)
{
    threads = NULL;
    if (self.listed) {
        self.next = self.prev = NULL;
        threads = &self;
        for (int i = 0; i < SHMETRICS_SAMPLER_SLOTS; i++)
            shmetrics_store_relaxed(&shmetrics_sampler_tls_[i].count, 0u);
    }
    SMX_CHECK_ZERO(pthread_mutex_unlock(&threads_lock));
}

static void init(void)
{
    key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
    /* Without the handler (atexit fails only out of memory) counts pending
     * at exit are lost, as they were before there was one. */
    (void)atexit(on_process_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* List the calling thread and arm its exit destructor; false when the
 * destructor cannot be armed (no key, or no memory for its value): the
 * thread's slots must then stay unused, as nothing would take them out of
 * the list at its exit. */
static bool list_self(void)
{
    pthread_once(&init_once, init);
    if (!key_ok || pthread_setspecific(exit_key, &self) != 0)
        return false;
    int cancel;
    lock(&threads_lock, &cancel);
    self.slots = shmetrics_sampler_tls_;
    self.prev = NULL;
    self.next = threads;
    if (threads)
        threads->prev = &self;
    threads = &self;
    self.listed = true;
    unlock(&threads_lock, cancel);
    return true;
}

int shmetrics_sampler_init(shmetrics_sampler_t *s, shmetrics_counter_series_t *series, double rate)
{
    if (!s || !series)
        return smx_fail(-EINVAL, "no sampler or series given");
    if (!(rate > 0 && rate <= 1))
        return smx_fail(-EINVAL, "sampling rate %g is outside (0, 1]", rate);
    double every = round(1 / rate);
    if (every > 1e9)
        return smx_fail(-EINVAL, "sampling rate %g is below 1e-9", rate);
    shmetrics_registry_t *reg = smx_counter_registry(series);
    s->series = series;
    s->every = (uint32_t)every;
    s->life = &reg->life->word;
    s->alive = reg->alive;
    return 0;
}

/* The slow path of shmetrics_sampler_inc: the slot holds another sampler
 * (or none).  1 when the slot is now `s`'s and the call is to be counted
 * there; 0 when the call is done: dropped for a sampler of a registry that
 * was shut down (or one never initialised), added on its own when this
 * thread's slots cannot be listed. */
int shmetrics_sampler_switch_(struct shmetrics_sampler_slot_ *slot, const struct shmetrics_sampler *s)
{
    if (!s->life || shmetrics_load_acquire(s->life) != s->alive)
        return 0;
    if (!self.listed && !list_self()) {
        shmetrics_counter_add(s->series, 1);
        return 0;
    }
    int cancel;
    lock(&self.lock, &cancel);
    slot_flush(slot, true);
    slot->series = s->series;
    slot->life = s->life;
    shmetrics_store_relaxed(&slot->count, 0u);
    shmetrics_store_relaxed(&slot->owner, s);
    unlock(&self.lock, cancel);
    return 1;
}

void shmetrics_sampler_flush(void)
{
    if (self.listed)
        thread_flush(&self, true);
}

int smx_samplers_open(shmetrics_registry_t *reg)
{
    int cancel;
    lock(&threads_lock, &cancel);
    struct smx_life *l = free_lives;
    if (l)
        free_lives = l->next;
    unlock(&threads_lock, cancel);
    if (!l && !(l = calloc(1, sizeof *l)))
        return smx_fail(-ENOMEM, "out of memory");
    reg->life = l;
    reg->alive = shmetrics_load_relaxed(&l->word);
    return 0;
}

void smx_samplers_close(shmetrics_registry_t *reg)
{
    struct smx_life *l = reg->life;
    if (!l)
        return;
    int cancel;
    lock(&threads_lock, &cancel);
    /* Dead first: no thread takes a slot for one of its samplers again. */
    shmetrics_store_release(&l->word, reg->alive + 1);
    for (struct thread_slots *t = threads; t; t = t->next) {
        int c2;
        lock(&t->lock, &c2);
        for (int i = 0; i < SHMETRICS_SAMPLER_SLOTS; i++)
            if (t->slots[i].life == &l->word)
                slot_flush(&t->slots[i], true);
        unlock(&t->lock, c2);
    }
    l->next = free_lives;
    free_lives = l;
    unlock(&threads_lock, cancel);
    reg->life = NULL;
}
