/* SPDX-License-Identifier: MIT */
/*
 * shm/reclaim.c - owns giving process slots back: folding a departed
 * process's gauge cells into the retired unit, and freeing its slot, so
 * that an arena serves any number of short-lived processes; and the two
 * ends of a process's tenure that use it, claiming a slot (a free one, from
 * shm/procs.c, else one given back here) and detaching.
 *
 * Who and when.  A process frees its own slot at shutdown.  A process that
 * attaches read-write reclaims the slots of processes that died without
 * detaching (SIGKILL, crash).  A process that needs a slot and finds none
 * free reclaims dead ones, then the exited slots kept for `all`-mode
 * gauges, oldest first.  A collector only reads: it leaves dead processes'
 * cells in place and excludes them from the live modes itself.
 *
 * Folding.  For each gauge series the slot wrote (write stamp != 0):
 *   sum, min, max, mostrecent   merged into the retired unit's cell, which
 *                               readers merge like one more process: the
 *                               last value written is kept
 *   live modes                  dropped (a dead process does not count)
 *   all                         kept in the slot while it is EXITED (one
 *                               sample per exited process, as
 *                               prometheus_client does), dropped when the
 *                               slot is taken back for a new process
 * A cell is claimed by a compare-and-swap of its stamp to 0 before its
 * value is folded, so a reclaimer that dies midway and one that takes over
 * never fold a value twice (a value may be lost instead).  Folding into the
 * retired unit is serialised by the arena's reclaim lock (the holder's pid
 * and start time in the header; threads of one process also take a local
 * mutex first); a lock whose holder no longer exists is taken over, and a
 * reclaimer that cannot get the lock within RECLAIM_WAIT_NS leaves the
 * slot for later (a stopped holder, or a lock word another process wrote
 * must not stall every detach and attach).  The slot is re-checked under the lock against what the caller saw, so a
 * slot freed and claimed by a new process meanwhile is left alone.  A freed
 * slot's unit is cleared whole, cells of removed series included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arena_priv.h"
#include "base/clock.h"
#include "base/error.h"

/* How long a reclaimer waits for the lock: folding one slot takes
 * microseconds to milliseconds. */
#define RECLAIM_WAIT_NS 2000000000ull

/* Threads of one process take the arena's lock one at a time. */
static pthread_mutex_t local_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t lock_word_of_self(void)
{
    return (uint32_t)getpid() | (shm_start_time(0) << 32);
}

/* Is the process named by a lock word still there (same pid, same start)? */
static bool holder_alive(uint64_t word)
{
    uint32_t pid = (uint32_t)word;
    if (!pid || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
        return false;
    /* Either start time unknown: the pid alone decides, as for slots. */
    uint64_t st = shm_start_time(pid);
    return st == 0 || (uint32_t)(word >> 32) == 0 || (uint32_t)st == (uint32_t)(word >> 32);
}

/* Take the arena's reclaim lock, or give up after RECLAIM_WAIT_NS with
 * -EBUSY: a holder that is alive but never lets go (stopped, or a word
 * another process wrote) must not stall every detach and attach. */
static int lock_reclaim(struct shm_arena *a)
{
    pthread_mutex_lock(&local_lock);
    uint64_t me = lock_word_of_self();
    uint64_t deadline = smx_mono_ns() + RECLAIM_WAIT_NS;
    for (unsigned tries = 0;; tries++) {
        uint64_t holder = shmetrics_cas_seq_cst(&a->sh->reclaim_lock, (uint64_t)0, me);
        if (holder == 0)
            return 0;
        if (!holder_alive(holder) && shmetrics_cas_seq_cst(&a->sh->reclaim_lock, holder, me) == holder)
            return 0;
        if (smx_mono_ns() > deadline) {
            pthread_mutex_unlock(&local_lock);
            return smx_fail(-EBUSY,
                            "the reclaim lock of the arena is held by process %u for more than %llu ms: "
                            "slots are not reclaimed now",
                            (uint32_t)holder, (unsigned long long)(RECLAIM_WAIT_NS / 1000000u));
        }
        if (tries < 100) {
            sched_yield();
        } else {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
}

static void unlock_reclaim(struct shm_arena *a)
{
    shmetrics_store_release(&a->sh->reclaim_lock, (uint64_t)0);
    pthread_mutex_unlock(&local_lock);
}

static double bits_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* Merge (v, stamp) into the retired cell of a gauge in `mode`. */
static void fold(uint64_t *retired, uint32_t mode, double v, uint64_t stamp)
{
    uint64_t rstamp = shmetrics_load_relaxed(&retired[1]);
    double r = bits_double(shmetrics_load_relaxed(&retired[0]));
    bool empty = rstamp == 0;
    switch (mode) {
    case SHM_MODE_SUM:
        r = empty ? v : r + v;
        break;
    case SHM_MODE_MIN:
        r = empty || v < r ? v : r;
        break;
    case SHM_MODE_MAX:
        r = empty || v > r ? v : r;
        break;
    case SHM_MODE_MOSTRECENT:
        if (!empty && stamp < rstamp)
            return;
        r = v;
        rstamp = stamp;
        break;
    default:
        return;
    }
    if (mode != SHM_MODE_MOSTRECENT && (empty || stamp > rstamp))
        rstamp = stamp;
    shmetrics_store_relaxed(&retired[0], double_bits(r));
    shmetrics_store_release(&retired[1], rstamp);
}

/* Fold or drop the slot's gauge cells.  Returns whether any `all`-mode
 * value was kept. */
static bool fold_slot(struct shm_arena *a, uint32_t slot, bool keep_all)
{
    bool kept = false;
    uint32_t ns = shm_series_used(a);
    uint64_t ready = shm_unit_ready_words(a, slot);
    for (uint32_t i = 0; i < ns; i++) {
        struct shm_series_view v;
        struct shm_family_view f;
        if (shm_series_with_family(a, i, &v, &f) < 0 || !SHM_TYPE_IN_UNITS(f.type))
            continue;
        if (v.cell + SHM_GAUGE_CELLS > ready)
            continue; /* never written by this slot's process */
        uint64_t *cell = shm_proc_cell(a, slot, v.cell);
        uint64_t stamp = shmetrics_load_acquire(&cell[SHM_GAUGE_STAMP]);
        if (stamp == 0)
            continue;
        if (f.mode == SHM_MODE_ALL && keep_all) {
            kept = true;
            continue;
        }
        if (shmetrics_cas_seq_cst(&cell[SHM_GAUGE_STAMP], stamp, (uint64_t)0) != stamp)
            continue;
        double value = bits_double(shmetrics_load_relaxed(&cell[SHM_GAUGE_VALUE]));
        shmetrics_store_relaxed(&cell[SHM_GAUGE_VALUE], (uint64_t)0);
        if (f.mode != SHM_MODE_ALL && f.mode < SHM_MODE_LIVE)
            fold(shm_proc_cell(a, a->h.processes_cap, v.cell), f.mode, value, stamp);
    }
    return kept;
}

/* After the fold, no word of the unit may be left for the slot's next
 * owner: cells of removed series are not visited by the fold. */
static void clear_unit(struct shm_arena *a, uint32_t slot)
{
    uint64_t used = shmetrics_load_relaxed(&a->sh->proc_cells_used);
    uint64_t ready = shm_unit_ready_words(a, slot);
    uint64_t *w = shm_proc_cell(a, slot, 0);
    for (uint64_t i = 0; i < used && i < ready; i++)
        if (shmetrics_load_relaxed(&w[i]))
            shmetrics_store_relaxed(&w[i], (uint64_t)0);
}

int shm_proc_reclaim(struct shm_arena *a, const struct shm_proc_view *seen, bool keep_all)
{
    if (a->rdonly || seen->slot >= a->h.processes_cap)
        return -EINVAL;
    uint32_t slot = seen->slot;
    struct shm_proc *p = &shm_procs(a)[slot];
    int rc = lock_reclaim(a);
    if (rc < 0)
        return rc;
    /* The slot must still be the one the caller judged: not freed and
     * claimed by a new process meanwhile. */
    struct shm_proc_view now;
    if (shm_proc_view(a, slot, &now) < 0 || now.state != seen->state || now.pid != seen->pid ||
        now.start_time != seen->start_time || now.detach_ns != seen->detach_ns) {
        unlock_reclaim(a);
        return -EAGAIN;
    }
    /* The retired unit takes the folded values: its cells must be real
     * first, or the values would be lost (or the write would fault). */
    rc = shm_unit_ready(a, a->h.processes_cap, shm_unit_ready_words(a, slot));
    if (rc < 0) {
        unlock_reclaim(a);
        return rc;
    }
    bool kept = fold_slot(a, slot, keep_all);
    if (kept) {
        if (now.state == SHM_PROC_ACTIVE) {
            shmetrics_store_relaxed(&p->detach_ns, smx_real_ns());
            shmetrics_store_release(&p->state, SHM_PROC_EXITED);
        }
    } else {
        clear_unit(a, slot);
        shmetrics_store_relaxed(&p->pid, 0u);
        shmetrics_store_release(&p->state, SHM_PROC_FREE);
        shmetrics_add_relaxed(&a->sh->reclaimed, (uint64_t)1);
    }
    unlock_reclaim(a);
    return 0;
}

void shm_reclaim_after_fork(void)
{
    pthread_mutex_init(&local_lock, NULL);
}

int shm_proc_reclaim_dead(struct shm_arena *a)
{
    int n = 0;
    for (uint32_t i = 0; i < a->h.processes_cap; i++) {
        struct shm_proc_view v;
        if (shm_proc_view(a, i, &v) < 0 || v.state != SHM_PROC_ACTIVE || shm_proc_alive(&v))
            continue;
        int rc = shm_proc_reclaim(a, &v, true);
        if (rc == -EBUSY)
            break; /* the lock is stuck: another time */
        if (rc == 0)
            n++;
    }
    return n;
}

/* The exited slot that detached first; false if there is none. */
static bool oldest_exited(struct shm_arena *a, struct shm_proc_view *best)
{
    bool found = false;
    for (uint32_t i = 0; i < a->h.processes_cap; i++) {
        struct shm_proc_view v;
        if (shm_proc_view(a, i, &v) == 0 && v.state == SHM_PROC_EXITED && (!found || v.detach_ns < best->detach_ns)) {
            *best = v;
            found = true;
        }
    }
    return found;
}

int shm_proc_make_room(struct shm_arena *a)
{
    if (shm_proc_reclaim_dead(a) > 0)
        return 0;
    struct shm_proc_view v;
    if (!oldest_exited(a, &v))
        return -ENOSPC;
    int rc = shm_proc_reclaim(a, &v, false);
    return rc == -EAGAIN ? 0 : rc; /* someone else changed it: look again */
}

int shm_proc_claim(struct shm_arena *a, uint32_t *slot)
{
    if (a->rdonly)
        return smx_fail(-EROFS, "the arena is open read-only");
    /* A free slot; else make one from a dead or exited process. */
    uint64_t fs_refused = shmetrics_load_relaxed(&a->sh->fs_refused);
    for (int attempt = 0; attempt < 4; attempt++) {
        if (shm_proc_claim_free(a, slot) == 0)
            return 0;
        if (attempt == 3 || shm_proc_make_room(a) < 0)
            break;
    }
    shmetrics_add_relaxed(&a->sh->refused, 1);
    if (shmetrics_load_relaxed(&a->sh->fs_refused) != fs_refused)
        return smx_fail(-ENOSPC,
                        "no process slot: the slot of a process that left could not be given back, "
                        "because the filesystem holding %s is full (its gauge values need room in the "
                        "retired unit)",
                        a->path);
    return smx_fail(-ENOSPC, "arena full: all %u process slots are taken by live processes", a->h.processes_cap);
}

void shm_proc_detach(struct shm_arena *a, uint32_t slot)
{
    struct shm_proc_view self;
    if (a->rdonly || shm_proc_view(a, slot, &self) < 0 || self.pid != (uint32_t)getpid())
        return;
    shm_proc_reclaim(a, &self, true);
}
