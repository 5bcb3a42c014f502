/* SPDX-License-Identifier: MIT */
/*
 * shmetrics/hot.h - the hot paths: static inline updates through a resolved
 * series handle.  Included by shmetrics.h; not meant to be included alone.
 *
 * Who may call: any thread of a worker process that holds the handle,
 * concurrently with any other thread or process.  None of these functions
 * takes a lock, allocates or makes a system call, except in three rare cases:
 * - the first gauge update of a process (or of a child after fork), which
 *   claims the process's slot in the arena: it takes the registry's mutex
 *   and, when no slot is free, the arena's reclaim lock to fold the slot of
 *   a process that exited or died, and may wait up to 2 s for that lock
 *   (shm/reclaim.c).  A process that cares resolves a gauge series at
 *   start-up (resolving one claims the slot too);
 * - an update that collides with another writer's on a series' base block,
 *   or that runs on a CPU beyond the series' newest stripe set, while the
 *   series may still gain stripes: it allocates the series' next stripe set
 *   in the arena's pool (one fallocate; shm/stripes.c).  A series gains at
 *   most a dozen sets in its life;
 * - a sampled counter's call that finds its slot held by another sampler
 *   (the thread's first call of it, after a flush, or after another sampler
 *   took the slot): it takes the thread's own sampler lock, which only a
 *   shutdown or the exit handler's flush of every thread may hold
 *   meanwhile, and on the thread's first sampled call a process-wide lock
 *   and pthread_setspecific, to list the thread for those flushes
 *   (src/write/sampler.c).
 * No series handle is checked for validity here.  Nothing read from the
 * arena decides where an update lands: a stripe's address comes from the
 * process's own copy of the series' stripe set, taken out of line after
 * the set passed a reader's checks.
 *
 * Memory order: counts are compare-and-swaps (seq_cst) or relaxed atomic
 * adds, sums relaxed adds (or CAS loops on doubles), on cells of the arena; a gauge's write stamp is a
 * release store after its value; a summary's age slot is read with acquire
 * and rotated and widened by sequentially consistent CAS.  A reader sees
 * each update whole and eventually; updates are not otherwise ordered with
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

/* The cells of a counter, histogram or summary series, in the arena's cell
 * pool: its base block, and the stripe sets it gains when writers collide
 * on it (shm/layout.h).  An update takes the base block while the series
 * has no stripes, else this CPU's stripe of its newest set. */
struct shmetrics_cells_ {
    uint64_t *base; /* the base block: [0] the stripe directory, then the cells */
    /* This process's copy of the newest stripe set it has seen, checked
     * when it was taken (relaxed atomic: any thread of the process may
     * refresh it, out of line): 0 while the series has none; else the
     * address of the set's first stripe (128-byte aligned) | lg | NOGROW.
     * A copy may be older than the arena's directory: older sets stay
     * where they are and are still summed, so an add there still counts. */
    uintptr_t stripes;
    uint32_t block; /* words from one stripe to the next */
};

/* A counter series. */
struct shmetrics_counter_series {
    struct shmetrics_cells_ cells;
};

/* A gauge series: one cell in the calling process's unit. */
struct shmetrics_gauge_series {
    char *const *unit; /* the process's unit, NULL until its slot is claimed */
    size_t off;        /* byte offset of the cell in a unit */
    int stamped;       /* the family's mode needs a write time */
    struct shmetrics_registry *reg;
    uint64_t min_interval_ns;               /* rate-limited gauges, else 0 */
    struct shmetrics_counter_series *drops; /* sets dropped by the limit */
};

/* An enum series: a mostrecent gauge whose value is the index of the
 * current state. */
struct shmetrics_enum_series {
    struct shmetrics_gauge_series gauge;
    uint32_t nstates;
};

/* An info series (one label set): the gauge of its empty value set, and
 * the stamp of this process's last shmetrics_info_set of it (atomic). */
struct shmetrics_info_series {
    struct shmetrics_gauge_series gauge;
    uint64_t last_stamp;
};

/* The per-thread state of sampled counters (see shmetrics_sampler_inc):
 * a slot holds one sampler's pending count.  The owning thread updates
 * `count` with relaxed loads and stores (no read-modify-write) and reads
 * `owner` relaxed; everything else is written under the thread's lock, out
 * of line (src/write/sampler.c), where a flush of another thread (at
 * shutdown, at exit) may also take the count, by an atomic exchange, and
 * release the slot. */
struct shmetrics_sampler;
struct shmetrics_sampler_slot_ {
    const struct shmetrics_sampler *owner;   /* atomic; NULL: free */
    uint32_t count;                          /* atomic: pending calls */
    struct shmetrics_counter_series *series; /* the owner's series */
    const uint64_t *life;                    /* the owner's registry's life word */
};
#define SHMETRICS_SAMPLER_SLOTS 64
#ifdef __cplusplus
extern thread_local struct shmetrics_sampler_slot_ shmetrics_sampler_tls_[SHMETRICS_SAMPLER_SLOTS];
#else
extern _Thread_local struct shmetrics_sampler_slot_ shmetrics_sampler_tls_[SHMETRICS_SAMPLER_SLOTS];
#endif

/* A sampled counter: 1 in `every` increments reaches the arena, as
 * `every`.  `life` points to a word that outlives the registry of the
 * series and holds `alive` while the registry is open (its shutdown
 * changes it), so a sampler used after the shutdown is known to be dead
 * without reading the freed series. */
struct shmetrics_sampler {
    struct shmetrics_counter_series *series;
    uint32_t every;
    const uint64_t *life;
    uint64_t alive;
};

/* A native histogram's parameters, as its series handles use them (one
 * per metric, in this process's memory).  Word indexes are from a block's
 * first cell (shm/layout.h, "Native histogram cells"). */
struct shmetrics_native_ {
    uint64_t zero_bits;             /* magnitudes whose bits are at most these: the zero bucket */
    const uint64_t *bounds;         /* schema > 0: the mantissa bits of 2^(k/2^schema), k = 0..2^schema-1,
                                     * then UINT64_MAX */
    const uint16_t *lookup;         /* schema > 0: per 2^(schema+1)-th of the mantissas, the bounds below it */
    int32_t schema;                 /* -4..8 */
    int32_t lo, hi;                 /* the dense range: buckets lo..hi */
    uint32_t sum;                   /* word of the sum (its whole part) */
    uint32_t neg, pos;              /* words of bucket lo, negative and positive */
    uint32_t classic;               /* 1: classic buckets too (kind both) */
    struct shmetrics_registry *reg; /* for the arena's count of unplaced observations */
};

/* A histogram series: its classic buckets (nbuckets + 3 cells in each
 * block), or native buckets (shmetrics.h, spec.native), or both. */
struct shmetrics_histogram_series {
    struct shmetrics_cells_ cells;
    uint32_t nbuckets;                      /* finite upper bounds */
    const double *bounds;                   /* this process's copy, strictly increasing */
    const struct shmetrics_native_ *native; /* NULL: classic buckets only */
};

/* A summary series: count, sum and age_buckets sketches in each block. */
struct shmetrics_summary_series {
    struct shmetrics_cells_ cells;
    uint32_t age_buckets;
    uint64_t period_ns; /* max_age / age_buckets */
    size_t slot_words;  /* words from one age slot to the next */
};

/* The word layout of a series' cells, part of the arena format (each is
 * checked against shm/layout.h when the library is built): a cell is one
 * 8-byte word; the indexes below are words from the series' first cell. */
#define SHMETRICS_CELL_BYTES 8
#define SHMETRICS_COUNTER_WHOLE 0                          /* uint64 integer part */
#define SHMETRICS_COUNTER_FRAC 1                           /* double fractional part */
#define SHMETRICS_GAUGE_VALUE 0                            /* double value bits */
#define SHMETRICS_GAUGE_STAMP 1                            /* uint64 write stamp */
#define SHMETRICS_SUM_FRAC 1                               /* a sum's double word, after its int64 whole word */
#define SHMETRICS_HISTOGRAM_SUM(nbuckets) ((nbuckets) + 1) /* after the buckets and +Inf */
#define SHMETRICS_SUMMARY_COUNT 0
#define SHMETRICS_SUMMARY_SUM 1
#define SHMETRICS_SUMMARY_SLOTS 3 /* the first age slot */
#define SHMETRICS_AGE_EPOCH 0     /* inside an age slot */
#define SHMETRICS_AGE_RANGE 1
#define SHMETRICS_AGE_COUNTS 2       /* the uint32 sketch counts */
#define SHMETRICS_NATIVE_ZERO_WORD 3 /* a native histogram's zero bucket, after its sum */

/* The sketch geometry of summaries, part of the arena format (checked
 * against shm/layout.h when the library is built). */
#define SHMETRICS_SKETCH_SUB_BITS 6
#define SHMETRICS_SKETCH_EMIN (-32)
#define SHMETRICS_SKETCH_OCTAVES 64
#define SHMETRICS_SKETCH_HALF (SHMETRICS_SKETCH_OCTAVES << SHMETRICS_SKETCH_SUB_BITS)

/* A process's copy of a series' stripe set (struct shmetrics_cells_): the
 * address of its first stripe, whose low bits hold lg (the set has 2^lg
 * stripes, part of the arena format: checked against shm/layout.h when the
 * library is built) and NOGROW (the series gains no more sets). */
#define SHMETRICS_DIR_LG_MASK 0x3fu
#define SHMETRICS_STRIPES_NOGROW 0x40u
#define SHMETRICS_STRIPES_LOW 0x7fu

/* Tests and benchmarks: the CPU number this thread uses, set with
 * shmetrics_cpu_simulate (-1: the real one).  Honoured by the inline paths
 * of a file compiled with SHMETRICS_CPU_HOOK defined, and by the library's
 * own out-of-line paths; other code pays nothing for it. */
#ifdef __cplusplus
extern thread_local int32_t shmetrics_cpu_hook_;
#else
extern _Thread_local int32_t shmetrics_cpu_hook_;
#endif
/* Make the calling thread write as if it ran on CPU `cpu` (any number;
 * -1 goes back to the real CPU).  For tests and benchmarks that simulate a
 * host with more CPUs than the machine has.  Any thread; no error. */
void shmetrics_cpu_simulate(int32_t cpu);

/* Out-of-line helpers of the inline functions below (not for direct use). */
uint32_t shmetrics_cpu_slow_(void);
uint64_t *shmetrics_cells_grow_(struct shmetrics_cells_ *c);
int shmetrics_counter_inc_slow_(struct shmetrics_counter_series *s, double amount);
char *shmetrics_gauge_unit_slow_(struct shmetrics_gauge_series *g);
int shmetrics_gauge_add_slow_(struct shmetrics_gauge_series *g, double delta);
int shmetrics_enum_bad_index_(struct shmetrics_enum_series *e, uint32_t index);
uint64_t shmetrics_now_ns_(void);
uint64_t shmetrics_mono_ns_(void);
uint64_t shmetrics_coarse_ns_(void);
int shmetrics_bad_value_(const char *op, double v);
void shmetrics_add_double_(uint64_t *cell, double v);
int shmetrics_summary_rotate_(uint64_t *slot, uint64_t seen, uint64_t epoch);
int shmetrics_gauge_set_limited_(struct shmetrics_gauge_series *g, double v, uint64_t now_ns);
int shmetrics_sampler_switch_(struct shmetrics_sampler_slot_ *slot, const struct shmetrics_sampler *s);
void shmetrics_summary_touch_(uint64_t *range, uint32_t idx);
void shmetrics_native_observe_slow_(struct shmetrics_histogram_series *h, double v);

/* The CPU this thread runs on, from the rseq area glibc registers for each
 * thread (about half a nanosecond), or sched_getcpu where there is none.
 * It may be stale by the time it is used; that costs speed, never a count,
 * because every update is atomic. */
static inline uint32_t shmetrics_cpu_(void)
{
#ifdef SHMETRICS_CPU_HOOK
    if (__builtin_expect(shmetrics_cpu_hook_ >= 0, 0))
        return (uint32_t)shmetrics_cpu_hook_;
#endif
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

/* The stripe of this CPU in the newest set of directory word d (lg != 0).
 * A CPU beyond the set, while the series may still grow, gives NULL: the
 * caller grows it out of line.  At the limit (NOGROW), CPUs fold onto the
 * stripes there are.  The word comes from shared memory: a set that would
 * not fit in the pool (a damaged or hostile arena) is not followed, and the
 * base block is used instead. */
/* The stripe of this CPU in the set `sp` (a nonzero shmetrics_cells_
 * stripes word), or NULL when the set has none for this CPU and may still
 * grow: the caller goes out of line.  At the limit (NOGROW), CPUs fold onto
 * the stripes there are; a set of no stripes (NOGROW before any) is the
 * base block. */
static inline uint64_t *shmetrics_stripe_(const struct shmetrics_cells_ *c, uintptr_t sp)
{
    uint32_t lg = (uint32_t)sp & SHMETRICS_DIR_LG_MASK;
    if (__builtin_expect(lg == 0, 0))
        return c->base + 1;
    uint32_t cpu = shmetrics_cpu_();
    if (__builtin_expect(cpu >> lg, 0)) {
        if (!(sp & SHMETRICS_STRIPES_NOGROW))
            return NULL;
        cpu &= (1u << lg) - 1;
    }
    return (uint64_t *)(sp & ~(uintptr_t)SHMETRICS_STRIPES_LOW) + (size_t)cpu * c->block + 1;
}

/* Add n to cell `word` of the cells this thread updates, and return them
 * (for the rest of the update: a sum, a sketch).  While the series has no
 * stripes (as far as this process knows), its base block, by
 * compare-and-swap: a CAS fails only when another writer changed the word
 * in between, and the series then gains a stripe set (out of line) where
 * the add is made.  Once it has stripes, a relaxed fetch-add on this CPU's
 * stripe, whose address comes from the process's copy of the set alone (a
 * CPU beyond it grows the series or refreshes the copy, out of line). */
static inline uint64_t *shmetrics_cells_add_(struct shmetrics_cells_ *c, uint32_t word, uint64_t n)
{
    uintptr_t sp = shmetrics_load_relaxed(&c->stripes);
    uint64_t *cells;
    if (__builtin_expect(sp == 0, 1)) {
        cells = c->base + 1;
        uint64_t old = shmetrics_load_relaxed(&cells[word]);
        if (__builtin_expect(shmetrics_cas_seq_cst(&cells[word], old, old + n) == old, 1))
            return cells;
    } else {
        cells = shmetrics_stripe_(c, sp);
        if (__builtin_expect(cells != NULL, 1)) {
            shmetrics_add_relaxed(&cells[word], n);
            return cells;
        }
    }
    cells = shmetrics_cells_grow_(c);
    shmetrics_add_relaxed(&cells[word], n);
    return cells;
}

/* The cells an update that adds nothing to a count uses (fractional
 * amounts): the base block, or this CPU's stripe. */
static inline uint64_t *shmetrics_cells_(struct shmetrics_cells_ *c)
{
    uintptr_t sp = shmetrics_load_relaxed(&c->stripes);
    if (__builtin_expect(sp == 0, 1))
        return c->base + 1;
    uint64_t *cells = shmetrics_stripe_(c, sp);
    return cells ? cells : shmetrics_cells_grow_(c);
}

/* Add a whole number to a counter: a compare-and-swap on the series' cell
 * while it has no stripes, then a relaxed fetch-add on this CPU's stripe
 * (see shmetrics_cells_add_).  Cannot fail. */
static inline void shmetrics_counter_add(struct shmetrics_counter_series *s, uint64_t n)
{
    shmetrics_cells_add_(&s->cells, SHMETRICS_COUNTER_WHOLE, n);
}

/* Add `amount` (>= 0, finite) to a counter.  Whole amounts below 2^64 take
 * the path above and are exact; others take a compare-and-swap loop on a
 * double cell beside it.  Returns 0, or -EINVAL (value unchanged) for a
 * negative, NaN or infinite amount. */
static inline int shmetrics_counter_inc(struct shmetrics_counter_series *s, double amount)
{
    if (__builtin_expect(amount >= 0.0 && amount < 18446744073709551616.0, 1)) {
        uint64_t n = (uint64_t)amount;
        if (__builtin_expect((double)n == amount, 1)) {
            shmetrics_counter_add(s, n);
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
 * free on x86).  A rate-limited gauge (spec.min_interval_seconds) takes an
 * out-of-line path instead: a set within the interval after the last
 * accepted one is dropped and counted.  Returns 0; 1 when a rate-limited
 * gauge dropped the set; -ENOSPC when the process cannot get a slot in the
 * arena (the first write of a process may wait, see above). */
static inline int shmetrics_gauge_set(struct shmetrics_gauge_series *g, double v)
{
    if (__builtin_expect(g->min_interval_ns != 0, 0))
        return shmetrics_gauge_set_limited_(g, v, 0);
    uint64_t *cell = shmetrics_gauge_cell_(g);
    if (__builtin_expect(cell == NULL, 0))
        return -ENOSPC;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    shmetrics_store_relaxed(&cell[SHMETRICS_GAUGE_VALUE], bits);
    /* Release: a reader that sees this stamp sees this value or a later one. */
    shmetrics_store_release(&cell[SHMETRICS_GAUGE_STAMP], g->stamped ? shmetrics_now_ns_() : (uint64_t)1);
    return 0;
}

/* Set a gauge as if at `now_ns` (CLOCK_REALTIME ns): for tests of
 * rate-limited gauges and replays.  Returns what shmetrics_gauge_set does. */
static inline int shmetrics_gauge_set_at(struct shmetrics_gauge_series *g, double v, uint64_t now_ns)
{
    return shmetrics_gauge_set_limited_(g, v, now_ns ? now_ns : 1);
}

/* Add `delta` (finite) to this process's cell of a gauge: a CAS loop, out
 * of line (the stamp then stored with release, as by shmetrics_gauge_set).
 * Returns 0; -EINVAL for NaN or an infinity (value unchanged); -ENOSPC
 * when the process cannot get a slot in the arena (the first write of a
 * process may wait, see above). */
static inline int shmetrics_gauge_inc(struct shmetrics_gauge_series *g, double delta)
{
    return shmetrics_gauge_add_slow_(g, delta);
}

/* Subtract `delta`: shmetrics_gauge_inc(g, -delta), with its returns. */
static inline int shmetrics_gauge_dec(struct shmetrics_gauge_series *g, double delta)
{
    return shmetrics_gauge_add_slow_(g, -delta);
}

/* Set a gauge to the current time in seconds since the Unix epoch (one
 * clock_gettime).  Returns what shmetrics_gauge_set does. */
static inline int shmetrics_gauge_set_to_current_time(struct shmetrics_gauge_series *g)
{
    return shmetrics_gauge_set(g, (double)shmetrics_now_ns_() / 1e9);
}

/* Set an enum series to its state number `index` (0 for the first of
 * spec.states): a shmetrics_gauge_set of the index, stamped with the time
 * (one clock_gettime), so that the most recently set state wins across
 * processes.  Returns 0; -EINVAL, nothing changed, with a message naming
 * the index, for an index beyond the states; -ENOSPC as
 * shmetrics_gauge_set. */
static inline int shmetrics_enum_state_index(struct shmetrics_enum_series *e, uint32_t index)
{
    if (__builtin_expect(index >= e->nstates, 0))
        return shmetrics_enum_bad_index_(e, index);
    return shmetrics_gauge_set(&e->gauge, (double)index);
}

#pragma GCC visibility pop

/* -------------------------------------------------------- sampled counters */

/* Count one event on a sampled counter: each thread counts its own calls
 * and adds `every` to the counter on every `every`-th, so the counter is
 * exact whenever a thread's count is a multiple of `every` and otherwise
 * behind by less than `every` per thread until shmetrics_sampler_flush,
 * the thread's exit, the registry's shutdown or the process's exit adds
 * the rest (shmetrics.h says when each happens).  No atomic read-modify-
 * write on the other calls: a thread-local slot compare, a load and a
 * store.  A sampler whose registry was shut down counts nothing (each call
 * then takes the out-of-line path). */
static inline void shmetrics_sampler_inc(struct shmetrics_sampler *s)
{
    struct shmetrics_sampler_slot_ *slot =
        &shmetrics_sampler_tls_[((uintptr_t)s / sizeof *s) & (SHMETRICS_SAMPLER_SLOTS - 1)];
    if (__builtin_expect(shmetrics_load_relaxed(&slot->owner) != s, 0) && !shmetrics_sampler_switch_(slot, s))
        return;
    uint32_t n = shmetrics_load_relaxed(&slot->count) + 1;
    if (n >= s->every) {
        /* n is `every`; `>=` (no dearer than `==`) keeps a sampler
         * initialised again with a lower rate under a thread's count from
         * counting past it without ever adding. */
        shmetrics_store_relaxed(&slot->count, 0u);
        shmetrics_counter_add(s->series, n);
    } else {
        shmetrics_store_relaxed(&slot->count, n);
    }
}

/* ------------------------------------------------------------ histograms */

/* Add `v` to a sum kept as a whole part (int64 word) and a double word
 * beside it: whole numbers take one relaxed fetch-add and stay exact. */
static inline void shmetrics_sum_add_(uint64_t *whole, double v)
{
    if (__builtin_expect(v >= -9.2e18 && v <= 9.2e18, 1)) {
        int64_t n = (int64_t)v;
        if ((double)n == v) {
            shmetrics_add_relaxed(whole, (uint64_t)n);
            return;
        }
    }
    shmetrics_add_double_(whole + SHMETRICS_SUM_FRAC, v);
}

/* The bucket of `v`: the first bound >= v, or nbuckets (+Inf) when there
 * is none; NaN compares false with every bound, so it lands in +Inf. */
static inline uint32_t shmetrics_bucket_index_(const double *b, uint32_t n, double v)
{
    uint32_t lo = 0, hi = n;
    if (n <= 16) {
        while (lo < n && !(v <= b[lo]))
            lo++;
        return lo;
    }
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (v <= b[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The native bucket of a normal, finite magnitude (its bits `mag`): with
 * mag = 1.m * 2^e, at schema s <= 0 the ceiling of e' / 2^-s, e' being e
 * for m = 0 (a power of two ends its bucket) and e + 1 otherwise; at s > 0,
 * e * 2^s + j, j the number of the schema's bounds 2^(k/2^s) (k =
 * 0..2^s-1, as mantissa bits) below 1.m.  Two bounds are more than a
 * 2^(s+1)-th of the mantissas apart (2^(1/2^s) - 1 > ln 2 / 2^s), so the
 * top s + 1 bits of m name a stretch with at most one bound in it: j is
 * the count of bounds below the stretch (a table), plus one if that bound
 * is below m. */
static inline int32_t shmetrics_native_key_(const struct shmetrics_native_ *n, uint64_t mag)
{
    int32_t e = (int32_t)(mag >> 52) - 1023;
    uint64_t m = mag & ((UINT64_C(1) << 52) - 1);
    int32_t s = n->schema;
    if (s <= 0)
        return (e + (m != 0) + (1 << -s) - 1) >> -s;
    uint32_t j = n->lookup[m >> (51 - s)];
    j += n->bounds[j] < m;
    return e * (1 << s) + (int32_t)j;
}

/* A native (or both) histogram's observation: the bucket's word of the
 * dense range or the zero bucket takes the compare-and-swap (see
 * shmetrics_cells_add_), the sum a relaxed add in the same block, and kind
 * both's classic bucket a relaxed add there too.  NaN, infinities,
 * subnormal magnitudes above the zero threshold and buckets outside the
 * dense range go out of line. */
static inline void shmetrics_native_observe_(struct shmetrics_histogram_series *h, double v)
{
    const struct shmetrics_native_ *n = h->native;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t mag = bits & ~(UINT64_C(1) << 63);
    uint32_t word;
    if (mag <= n->zero_bits) {
        word = n->sum + SHMETRICS_NATIVE_ZERO_WORD;
    } else {
        int32_t key;
        if (__builtin_expect(mag >= UINT64_C(0x7ff0000000000000) || mag < (UINT64_C(1) << 52), 0) ||
            __builtin_expect((key = shmetrics_native_key_(n, mag)) < n->lo || key > n->hi, 0)) {
            shmetrics_native_observe_slow_(h, v);
            return;
        }
        word = ((bits >> 63) ? n->neg : n->pos) + (uint32_t)(key - n->lo);
    }
    uint64_t *c = shmetrics_cells_add_(&h->cells, word, 1);
    if (n->classic)
        shmetrics_add_relaxed(&c[shmetrics_bucket_index_(h->bounds, h->nbuckets, v)], (uint64_t)1);
    shmetrics_sum_add_(&c[n->sum], v);
}

/* Record one observation: a compare-and-swap on its bucket (see
 * shmetrics_cells_add_) and a relaxed add on the sum (a CAS loop when `v`
 * is not a whole number), in the series' base block or this CPU's stripe.  Every
 * double is accepted, as Prometheus clients do: NaN counts in +Inf and makes
 * the sum NaN; +Inf counts in +Inf, -Inf in the first bucket, and each
 * makes the sum infinite.  A native histogram counts its native bucket
 * instead (or as well, kind both): see shmetrics.h. */
static inline void shmetrics_histogram_observe(struct shmetrics_histogram_series *h, double v)
{
    if (__builtin_expect(h->native != NULL, 0)) {
        shmetrics_native_observe_(h, v);
        return;
    }
    uint64_t *c = shmetrics_cells_add_(&h->cells, shmetrics_bucket_index_(h->bounds, h->nbuckets, v), 1);
    shmetrics_sum_add_(&c[SHMETRICS_HISTOGRAM_SUM(h->nbuckets)], v);
}

/* A CLOCK_MONOTONIC timestamp in ns, for the *_observe_since helpers. */
static inline uint64_t shmetrics_timer_start(void)
{
    return shmetrics_mono_ns_();
}

/* Observe the seconds elapsed since `start` (from shmetrics_timer_start). */
static inline void shmetrics_histogram_observe_since(struct shmetrics_histogram_series *h, uint64_t start)
{
    shmetrics_histogram_observe(h, (double)(shmetrics_mono_ns_() - start) / 1e9);
}

/* -------------------------------------------------------------- summaries */

/* The sketch index of a finite or infinite `v` (see shm/layout.h). */
static inline uint32_t shmetrics_sketch_index_(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint64_t mag = bits & ~(UINT64_C(1) << 63);
    if (mag == 0)
        return SHMETRICS_SKETCH_HALF;
    int e = (int)(mag >> 52) - 1023;
    int32_t k;
    if (e < SHMETRICS_SKETCH_EMIN)
        k = 0;
    else if (e >= SHMETRICS_SKETCH_EMIN + SHMETRICS_SKETCH_OCTAVES)
        k = SHMETRICS_SKETCH_HALF - 1;
    else
        k = ((e - SHMETRICS_SKETCH_EMIN) << SHMETRICS_SKETCH_SUB_BITS) |
            (int32_t)((mag >> (52 - SHMETRICS_SKETCH_SUB_BITS)) & ((1u << SHMETRICS_SKETCH_SUB_BITS) - 1));
    return (bits >> 63) ? (uint32_t)(SHMETRICS_SKETCH_HALF - 1 - k) : (uint32_t)(SHMETRICS_SKETCH_HALF + 1 + k);
}

/* Record one observation made at `now_ns` (CLOCK_MONOTONIC): the all-time
 * count (see shmetrics_cells_add_) and sum, and the
 * sketch of the current age slot, in the series' base block or this CPU's
 * stripe.  The first observation of a slot in a new period clears it (out
 * of line, once per period).  NaN counts in _count and makes _sum NaN but
 * does not rank; infinities rank at the ends of the sketch's range. */
static inline void shmetrics_summary_observe_at(struct shmetrics_summary_series *s, double v, uint64_t now_ns)
{
    uint64_t *c = shmetrics_cells_add_(&s->cells, SHMETRICS_SUMMARY_COUNT, 1);
    shmetrics_sum_add_(&c[SHMETRICS_SUMMARY_SUM], v);
    if (v != v)
        return;
    uint64_t epoch = now_ns / s->period_ns + 1;
    uint64_t *slot = c + SHMETRICS_SUMMARY_SLOTS + (size_t)(epoch % s->age_buckets) * s->slot_words;
    /* Acquire: the touched range read next is the one published with it. */
    uint64_t seen = shmetrics_load_acquire(&slot[SHMETRICS_AGE_EPOCH]);
    if (__builtin_expect(seen != epoch, 0) && !shmetrics_summary_rotate_(slot, seen, epoch))
        return;
    uint32_t idx = shmetrics_sketch_index_(v);
    uint64_t range = shmetrics_load_relaxed(&slot[SHMETRICS_AGE_RANGE]);
    if (__builtin_expect((uint32_t)range == 0 || idx < (uint32_t)(range >> 32) || idx >= (uint32_t)range, 0))
        shmetrics_summary_touch_(&slot[SHMETRICS_AGE_RANGE], idx);
    shmetrics_add_relaxed((uint32_t *)&slot[SHMETRICS_AGE_COUNTS] + idx, (uint32_t)1);
}

/* The same at the current time (CLOCK_MONOTONIC_COARSE, a few ns). */
static inline void shmetrics_summary_observe(struct shmetrics_summary_series *s, double v)
{
    shmetrics_summary_observe_at(s, v, shmetrics_coarse_ns_());
}

static inline void shmetrics_summary_observe_since(struct shmetrics_summary_series *s, uint64_t start)
{
    uint64_t now = shmetrics_mono_ns_();
    shmetrics_summary_observe_at(s, (double)(now - start) / 1e9, now);
}

#ifdef __cplusplus
}
#endif

#endif /* SHMETRICS_HOT_H */
