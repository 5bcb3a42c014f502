/* SPDX-License-Identifier: MIT */
/*
 * src/write/histogram.c - owns what histograms add to counters: bucket lists
 * (the default one and the linear and exponential helpers) and the merged
 * read of a histogram series' per-CPU cells.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"

const double SHMETRICS_DEFAULT_BUCKETS[SHMETRICS_DEFAULT_NBUCKETS] = {
    .005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10,
};

static int check_count(size_t count)
{
    if (count == 0 || count > SHM_MAX_BUCKETS)
        return smx_fail(-EINVAL, "a bucket list needs 1 to %u bounds, not %zu", SHM_MAX_BUCKETS, count);
    return 0;
}

int shmetrics_buckets_linear(double start, double width, size_t count, double *out)
{
    int rc = check_count(count);
    if (rc < 0)
        return rc;
    if (!out || !isfinite(start) || !(width > 0) || !isfinite(width))
        return smx_fail(-EINVAL, "linear buckets need a finite start and a finite width > 0");
    for (size_t i = 0; i < count; i++) {
        out[i] = start + width * (double)i;
        if (!isfinite(out[i]) || (i && !(out[i] > out[i - 1])))
            return smx_fail(-EINVAL, "linear bucket %zu is not finite or not above the one before", i + 1);
    }
    return 0;
}

int shmetrics_buckets_exponential(double start, double factor, size_t count, double *out)
{
    int rc = check_count(count);
    if (rc < 0)
        return rc;
    if (!out || !(start > 0) || !isfinite(start) || !(factor > 1) || !isfinite(factor))
        return smx_fail(-EINVAL, "exponential buckets need a finite start > 0 and a finite factor > 1");
    out[0] = start;
    for (size_t i = 1; i < count; i++) {
        out[i] = out[i - 1] * factor;
        if (!isfinite(out[i]))
            return smx_fail(-EINVAL, "exponential bucket %zu overflows", i + 1);
    }
    return 0;
}

struct hist_acc {
    uint64_t *cumulative;
    uint32_t nclassic; /* classic bucket words: nbuckets + 1, or 0 (native only) */
    uint32_t sum_word;
    uint64_t whole; /* each block's word wraps; so does the sum */
    double frac;
    struct smx_native_acc *native;
};

static void add_block(uint64_t *c, void *arg)
{
    struct hist_acc *h = arg;
    for (uint32_t b = 0; b < h->nclassic; b++)
        h->cumulative[b] += shmetrics_load_relaxed(&c[b]);
    h->whole += shmetrics_load_relaxed(&c[h->sum_word]);
    h->frac += smx_load_double(&c[h->sum_word + SHM_SUM_FRAC]);
    if (h->native)
        smx_native_acc_block(h->native, c);
}

/* Bucket counts are summed over the blocks first and made cumulative
 * after, so the +Inf bucket (the last cumulative value) is the total
 * count. */
int smx_histogram_read(const struct shm_arena *a, const struct shm_series_view *v, const struct shm_family_view *f,
                       uint64_t *cumulative, double *sum, struct smx_native_acc *native)
{
    bool nat = f->native_kind != SHM_NATIVE_NONE;
    struct smx_native_acc local;
    if (nat && !native) {
        if (smx_native_acc_init(&local, f) < 0)
            return -ENOMEM;
        native = &local;
    }
    uint32_t nclassic = f->native_kind == SHM_NATIVE_ONLY ? 0 : f->nbuckets + 1;
    struct hist_acc h = {cumulative, nclassic, SHM_NATIVE_SUM(f->native_kind, f->nbuckets), 0, 0, nat ? native : NULL};
    memset(cumulative, 0, sizeof *cumulative * (nclassic ? nclassic : 1));
    int rc = shm_series_blocks(a, v, f, add_block, &h);
    for (uint32_t b = 1; b < nclassic; b++)
        cumulative[b] += cumulative[b - 1];
    if (nat) {
        /* The +Inf bucket (native only: the one there is) is the count:
         * kind both counts each observation twice, and a reader may see
         * one count of an observation in flight and not the other. */
        uint64_t n = smx_native_count(native);
        uint64_t *inf = &cumulative[nclassic ? nclassic - 1 : 0];
        if (*inf < n)
            *inf = n;
        if (native == &local)
            smx_native_acc_free(&local);
    }
    *sum = (double)(int64_t)h.whole + h.frac;
    return rc;
}

static void read_series(const shmetrics_histogram_series_t *s, uint64_t *cum, double *sum)
{
    const struct shm_arena *a;
    struct shm_series_view v;
    struct shm_family_view f;
    smx_cells_views(&s->cells, &a, &v, &f);
    smx_histogram_read(a, &v, &f, cum, sum, NULL);
}

/* The count: the +Inf bucket (a native-only histogram's only one). */
static uint64_t count_of(const shmetrics_histogram_series_t *s, const uint64_t *cum)
{
    return s->native && !s->native->classic ? cum[0] : cum[s->nbuckets];
}

uint64_t shmetrics_histogram_count(const shmetrics_histogram_series_t *s)
{
    uint64_t cum[SHM_MAX_BUCKETS + 1];
    double sum;
    read_series(s, cum, &sum);
    return count_of(s, cum);
}

double shmetrics_histogram_sum(const shmetrics_histogram_series_t *s)
{
    uint64_t cum[SHM_MAX_BUCKETS + 1];
    double sum;
    read_series(s, cum, &sum);
    return sum;
}

int shmetrics_histogram_buckets(const shmetrics_histogram_series_t *s, uint64_t *out, size_t cap)
{
    if (!s || !out || cap < (size_t)s->nbuckets + 1)
        return smx_fail(-EINVAL, "the histogram has %u buckets with +Inf; room for %zu given", s ? s->nbuckets + 1 : 0,
                        cap);
    double sum;
    read_series(s, out, &sum);
    return 0;
}

int shmetrics_histogram_bounds(const shmetrics_histogram_t *h, const double **bounds, size_t *n)
{
    if (!h || !bounds || !n)
        return smx_fail(-EINVAL, "no histogram or output given");
    int rc = smx_metric_check(&h->m, SHMETRICS_HISTOGRAM, __func__);
    if (rc < 0)
        return rc;
    *bounds = h->m.bounds;
    *n = h->m.nbuckets;
    return 0;
}
