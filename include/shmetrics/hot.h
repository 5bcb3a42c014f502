/*
 * shmetrics/hot.h - the hot paths: static inline updates through a resolved
 * series handle.  Included by shmetrics.h; not meant to be included alone.
 *
 * Who may call: any thread of a worker process that holds the handle,
 * concurrently with any other thread or process.  None of these functions
 * takes a lock, allocates or makes a system call, except the first gauge
 * update of a process (or of a child after fork), which claims the
 * process's slot in the arena.
 *
 * Memory order: every update is a relaxed atomic on a cell of the arena.  A
 * reader sees each update whole and eventually; updates are not ordered with
 * respect to other memory.  Whatever a process wrote before it exited (or
 * before any synchronisation with the reader, such as waitpid) is seen.
 *
 * The structure fields below are private to these functions.
 */
#ifndef SHMETRICS_HOT_H
#define SHMETRICS_HOT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shmetrics/atomic.h"

#if defined(__has_include)
#if __has_include(<sys/rseq.h>) && (defined(__x86_64__) || defined(__aarch64__))
#include <sys/rseq.h>
#define SHMETRICS_HAVE_RSEQ 1
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

struct shmetrics_registry;

/* A counter series: one cell at the same offset in every per-CPU unit. */
struct shmetrics_counter_series {
    char *cell0;         /* the series' first word in CPU unit 0 */
    size_t stride;       /* bytes from one CPU unit to the next */
    uint32_t shard_mask; /* units - 1 */
};

/* A gauge series: one cell in the calling process's unit. */
struct shmetrics_gauge_series {
    char *const *unit;   /* the process's unit, NULL until its slot is claimed */
    size_t off;          /* byte offset of the cell in a unit */
    int stamped;         /* the family's mode needs a write time */
    struct shmetrics_registry *reg;
};

/* Out-of-line helpers of the inline functions below (not for direct use). */
uint32_t shmetrics_cpu_slow_(void);
int shmetrics_counter_inc_slow_(struct shmetrics_counter_series *s, double amount);
char *shmetrics_gauge_unit_slow_(struct shmetrics_gauge_series *g);
int shmetrics_gauge_add_slow_(struct shmetrics_gauge_series *g, double delta);
uint64_t shmetrics_now_ns_(void);
int shmetrics_bad_value_(const char *op, double v);

/* The CPU this thread runs on, from the rseq area glibc registers for each
 * thread (about half a nanosecond), or sched_getcpu where there is none.
 * It may be stale by the time it is used; that costs speed, never a count,
 * because every update is atomic. */
static inline uint32_t shmetrics_cpu_(void)
{
#ifdef SHMETRICS_HAVE_RSEQ
    if (__builtin_expect(__rseq_size != 0, 1)) {
        const volatile struct rseq *rs =
            (const volatile struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
        int32_t cpu = (int32_t)rs->cpu_id;
        if (__builtin_expect(cpu >= 0, 1))
            return (uint32_t)cpu;
    }
#endif
    return shmetrics_cpu_slow_();
}

static inline uint64_t *shmetrics_counter_cell_(const struct shmetrics_counter_series *s)
{
    return (uint64_t *)(s->cell0 + (size_t)(shmetrics_cpu_() & s->shard_mask) * s->stride);
}

/* Add a whole number to a counter: one relaxed fetch-add on this CPU's
 * shard.  Cannot fail. */
static inline void shmetrics_counter_add(struct shmetrics_counter_series *s, uint64_t n)
{
    shmetrics_add_relaxed(shmetrics_counter_cell_(s), n);
}

/* Add `amount` (>= 0, finite) to a counter.  Whole amounts below 2^64 take
 * the fetch-add above and are exact; others take a compare-and-swap loop on
 * a double cell beside it.  Returns 0, or -EINVAL (value unchanged) for a
 * negative, NaN or infinite amount. */
static inline int shmetrics_counter_inc(struct shmetrics_counter_series *s, double amount)
{
    if (__builtin_expect(amount >= 0.0 && amount < 18446744073709551616.0, 1)) {
        uint64_t n = (uint64_t)amount;
        if (__builtin_expect((double)n == amount, 1)) {
            shmetrics_add_relaxed(shmetrics_counter_cell_(s), n);
            return 0;
        }
    }
    return shmetrics_counter_inc_slow_(s, amount);
}

static inline uint64_t *shmetrics_gauge_cell_(struct shmetrics_gauge_series *g)
{
    char *u = shmetrics_load_relaxed((char **)g->unit);
    if (__builtin_expect(u == NULL, 0) && (u = shmetrics_gauge_unit_slow_(g)) == NULL)
        return NULL;
    return (uint64_t *)(u + g->off);
}

/* Set a gauge (any value, NaN and infinities included).  Two stores in
 * this process's cell: the value (relaxed), then its write stamp (release;
 * free on x86).  Returns
 * 0, or -ENOSPC when the process cannot get a slot in the arena. */
static inline int shmetrics_gauge_set(struct shmetrics_gauge_series *g, double v)
{
    uint64_t *cell = shmetrics_gauge_cell_(g);
    if (__builtin_expect(cell == NULL, 0))
        return -ENOSPC;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    shmetrics_store_relaxed(&cell[0], bits);
    /* Release: a reader that sees this stamp sees this value or a later one. */
    shmetrics_store_release(&cell[1], g->stamped ? shmetrics_now_ns_() : (uint64_t)1);
    return 0;
}

/* Add `delta` (finite) to this process's cell of a gauge: a CAS loop, out
 * of line.  -EINVAL for NaN or an infinity (value unchanged). */
static inline int shmetrics_gauge_inc(struct shmetrics_gauge_series *g, double delta)
{
    return shmetrics_gauge_add_slow_(g, delta);
}

static inline int shmetrics_gauge_dec(struct shmetrics_gauge_series *g, double delta)
{
    return shmetrics_gauge_add_slow_(g, -delta);
}

/* Set a gauge to the current time in seconds since the Unix epoch. */
static inline int shmetrics_gauge_set_to_current_time(struct shmetrics_gauge_series *g)
{
    return shmetrics_gauge_set(g, (double)shmetrics_now_ns_() / 1e9);
}

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* SHMETRICS_HOT_H */
