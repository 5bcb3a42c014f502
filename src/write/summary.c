/* SPDX-License-Identifier: MIT */
/*
 * src/write/summary.c - owns the summary's sliding window: clearing an age slot
 * for a new period (the writer side, out of line), widening a slot's
 * touched range, and merging slots and shards into quantiles (the reader
 * side).  The sketch layout is in shm/layout.h.
 *
 * Window.  Time is cut in periods of max_age / age_buckets; period p's
 * observations go to slot (p + 1) % age_buckets, whose epoch word says
 * which period it holds.  The first writer of a shard to see an older epoch
 * there claims the slot (CAS to epoch | BUSY), clears the counts inside the
 * touched range, and publishes the new epoch with a release store.  Writers
 * that meet a BUSY slot, or a slot already holding a newer period than
 * their clock says, leave that observation out of the window (it still
 * counts in _count and _sum).  A reader at time t merges the slots whose
 * epoch is one of the age_buckets latest periods, t's included.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"

uint64_t shmetrics_mono_ns_(void)
{
    return smx_mono_ns();
}

uint64_t shmetrics_coarse_ns_(void)
{
    return smx_coarse_ns();
}

int shmetrics_summary_rotate_(uint64_t *slot, uint64_t seen, uint64_t epoch)
{
    for (;;) {
        if (seen == epoch)
            return 1;
        if ((seen & SHM_AGE_BUSY) || seen > epoch)
            return 0;
        uint64_t old = shmetrics_cas_seq_cst(&slot[SHM_AGE_EPOCH], seen, epoch | SHM_AGE_BUSY);
        if (old == seen)
            break;
        seen = old;
    }
    uint64_t range = shmetrics_load_relaxed(&slot[SHM_AGE_RANGE]);
    uint32_t lo = (uint32_t)(range >> 32), hi = (uint32_t)range;
    uint32_t *counts = (uint32_t *)&slot[SHM_AGE_COUNTS];
    if (hi > SHM_SKETCH_BUCKETS)
        hi = SHM_SKETCH_BUCKETS;
    for (uint32_t i = lo; i < hi; i++)
        shmetrics_store_relaxed(&counts[i], 0u);
    shmetrics_store_relaxed(&slot[SHM_AGE_RANGE], (uint64_t)0);
    shmetrics_store_release(&slot[SHM_AGE_EPOCH], epoch);
    return 1;
}

void shmetrics_summary_touch_(uint64_t *range, uint32_t idx)
{
    uint64_t seen = shmetrics_load_relaxed(range);
    for (;;) {
        uint32_t lo = (uint32_t)(seen >> 32), hi = (uint32_t)seen;
        if (hi == 0) {
            lo = idx;
            hi = idx + 1;
        } else {
            lo = idx < lo ? idx : lo;
            hi = idx + 1 > hi ? idx + 1 : hi;
        }
        uint64_t want = ((uint64_t)lo << 32) | hi;
        if (want == seen)
            return;
        uint64_t old = shmetrics_cas_seq_cst(range, seen, want);
        if (old == seen)
            return;
        seen = old;
    }
}

struct totals {
    uint64_t n;
    uint64_t whole; /* each block's word wraps; so does the sum */
    double frac;
};

static void add_totals(uint64_t *c, void *arg)
{
    struct totals *t = arg;
    t->n += shmetrics_load_relaxed(&c[SHM_SUMMARY_COUNT]);
    t->whole += shmetrics_load_relaxed(&c[SHM_SUMMARY_SUM]);
    t->frac += smx_load_double(&c[SHM_SUMMARY_SUM + SHM_SUM_FRAC]);
}

int smx_summary_totals(const struct smx_window *w, uint64_t *count, double *sum)
{
    struct totals t = {0, 0, 0};
    int rc = shm_series_blocks(w->a, &w->v, &w->f, add_totals, &t);
    *count = t.n;
    *sum = (double)(int64_t)t.whole + t.frac;
    return rc;
}

uint64_t smx_nearest_rank(double q, uint64_t n)
{
    double r = ceil(q * (double)n);
    return r < 1 ? 1 : r > (double)n ? n : (uint64_t)r;
}

/* The value a sketch bucket stands for: the midpoint of its range. */
static double bucket_value(uint32_t idx)
{
    if (idx == SHM_SKETCH_HALF)
        return 0;
    bool neg = idx < SHM_SKETCH_HALF;
    uint32_t k = neg ? SHM_SKETCH_HALF - 1 - idx : idx - SHM_SKETCH_HALF - 1;
    int e = SHM_SKETCH_EMIN + (int)(k >> SHM_SKETCH_SUB_BITS);
    double sub = (double)(k & ((1u << SHM_SKETCH_SUB_BITS) - 1));
    double v = ldexp(1.0 + (sub + 0.5) / (double)(1u << SHM_SKETCH_SUB_BITS), e);
    return neg ? -v : v;
}

/* The merge's counts, one per sketch bucket (64 KiB): a buffer per
 * thread, kept between merges and zeroed at the start of each (as calloc
 * did).  Not a malloc per merge: a merge reads the arena, and a file
 * truncated under it ends the read by a jump out of the fault handler
 * (shm/guard.c) that would lose a buffer allocated for it. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_key_make(void)
{
    scratch_key_ok = pthread_key_create(&scratch_key, free) == 0;
}

/* The thread's buffer, zeroed; NULL when memory (or a key) is short. */
static uint64_t *scratch_get(void)
{
    pthread_once(&scratch_once, scratch_key_make);
    if (!scratch_key_ok)
        return NULL;
    uint64_t *b = pthread_getspecific(scratch_key);
    if (b) {
        memset(b, 0, SHM_SKETCH_BUCKETS * sizeof *b);
    } else if (!(b = calloc(SHM_SKETCH_BUCKETS, sizeof *b)) || pthread_setspecific(scratch_key, b) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

struct merge {
    const struct smx_window *w;
    uint64_t now_epoch, oldest;
    uint64_t *merged;
    uint32_t lo, hi;
    uint64_t total;
    bool nomem;
};

static void merge_block(uint64_t *c, void *arg)
{
    struct merge *m = arg;
    for (uint32_t a = 0; a < m->w->f.age_buckets; a++) {
        const uint64_t *slot = c + SHM_SUMMARY_SLOTS + (size_t)a * SHM_AGE_SLOT_WORDS;
        uint64_t epoch = shmetrics_load_acquire(&slot[SHM_AGE_EPOCH]);
        if (epoch < m->oldest || epoch > m->now_epoch) /* BUSY is above any epoch */
            continue;
        uint64_t range = shmetrics_load_relaxed(&slot[SHM_AGE_RANGE]);
        uint32_t rlo = (uint32_t)(range >> 32), rhi = (uint32_t)range;
        if (rhi > SHM_SKETCH_BUCKETS)
            rhi = SHM_SKETCH_BUCKETS;
        if (rlo >= rhi)
            continue;
        if (!m->merged && !(m->merged = scratch_get())) {
            m->nomem = true;
            return;
        }
        const uint32_t *counts = (const uint32_t *)&slot[SHM_AGE_COUNTS];
        for (uint32_t i = rlo; i < rhi; i++) {
            uint32_t v = shmetrics_load_relaxed(&counts[i]);
            m->merged[i] += v;
            m->total += v;
        }
        m->lo = rlo < m->lo ? rlo : m->lo;
        m->hi = rhi > m->hi ? rhi : m->hi;
    }
}

int smx_summary_quantiles(const struct smx_window *w, uint64_t now_ns, const double *q, uint32_t n, double *out)
{
    struct merge m = {w, now_ns / w->period_ns + 1, 0, NULL, SHM_SKETCH_BUCKETS, 0, 0, false};
    m.oldest = m.now_epoch >= w->f.age_buckets ? m.now_epoch - w->f.age_buckets + 1 : 1;
    int rc = shm_series_blocks(w->a, &w->v, &w->f, merge_block, &m);
    if (m.nomem)
        return -ENOMEM;
    uint64_t *merged = m.merged, total = m.total;
    uint32_t lo = m.lo, hi = m.hi;
    for (uint32_t j = 0; j < n; j++)
        out[j] = NAN;
    if (total == 0)
        return rc;
    /* Nearest rank: the ceil(q * total)-th smallest observation (the first
     * for q = 0), for each q; the q are increasing, so one walk serves all. */
    uint64_t cum = 0;
    uint32_t i = lo, j = 0;
    for (; i < hi && j < n; i++) {
        cum += merged[i];
        while (j < n && cum >= smx_nearest_rank(q[j], total))
            out[j++] = bucket_value(i);
    }
    while (j < n)
        out[j++] = bucket_value(hi - 1);
    return rc;
}

static struct smx_window window_of(const shmetrics_summary_series_t *s)
{
    struct smx_window w;
    smx_cells_views(&s->cells, &w.a, &w.v, &w.f);
    w.period_ns = s->period_ns;
    return w;
}

uint64_t shmetrics_summary_count(const shmetrics_summary_series_t *s)
{
    struct smx_window w = window_of(s);
    uint64_t n;
    double sum;
    smx_summary_totals(&w, &n, &sum);
    return n;
}

double shmetrics_summary_sum(const shmetrics_summary_series_t *s)
{
    struct smx_window w = window_of(s);
    uint64_t n;
    double sum;
    smx_summary_totals(&w, &n, &sum);
    return sum;
}

int shmetrics_summary_quantile(const shmetrics_summary_series_t *s, double q, uint64_t now_ns, double *out)
{
    if (!s || !out || !(q >= 0 && q <= 1))
        return smx_fail(-EINVAL, "a quantile must be within [0, 1], not %g", q);
    struct smx_window w = window_of(s);
    int rc = smx_summary_quantiles(&w, now_ns ? now_ns : smx_coarse_ns(), &q, 1, out);
    return rc < 0 ? smx_fail(rc, "out of memory merging a summary") : 0;
}
