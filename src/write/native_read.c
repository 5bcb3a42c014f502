/* SPDX-License-Identifier: MIT */
/*
 * src/write/native_read.c - owns the read side of native histograms: adding
 * the native part of a series' blocks (dense range, spill slots, zero
 * bucket, NaN and unplaced counts), reducing the resolution while more
 * buckets are populated than the family allows (as client_golang does at
 * write time), and laying the buckets out as Prometheus' spans.  Why the
 * cells are so: the top of src/write/native.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "registry.h"
#include "shm/layout.h"

int smx_native_acc_init(struct smx_native_acc *acc, const struct shm_family_view *f)
{
    memset(acc, 0, sizeof *acc);
    int32_t lo = shm_native_lo(f->native_schema, f->native_min_exponent);
    acc->lo = lo;
    acc->window = (uint32_t)(shm_native_hi(f->native_schema, f->native_max_exponent) - lo + 1);
    acc->sum_word = SHM_NATIVE_SUM(f->native_kind, f->nbuckets);
    acc->counts = calloc(2 * (size_t)acc->window, sizeof *acc->counts);
    return acc->counts ? 0 : smx_fail(-ENOMEM, "out of memory");
}

void smx_native_acc_free(struct smx_native_acc *acc)
{
    free(acc->counts);
    free(acc->spill);
    acc->counts = NULL;
    acc->spill = NULL;
}

static void spilled(struct smx_native_acc *acc, uint64_t key, uint64_t count)
{
    if (key & ~(SHM_NATIVE_KEY_SET | SHM_NATIVE_KEY_NEG | UINT64_C(0xffffffff)) || !(key & SHM_NATIVE_KEY_SET)) {
        acc->bad_key = true;
        return;
    }
    int32_t k = (int32_t)(uint32_t)key;
    uint32_t neg = (key & SHM_NATIVE_KEY_NEG) != 0;
    for (uint32_t i = 0; i < acc->nspill; i++)
        if (acc->spill[i].key == k && acc->spill[i].neg == neg) {
            acc->spill[i].count += count;
            return;
        }
    if (acc->nspill == acc->spill_cap) {
        uint32_t cap = acc->spill_cap ? 2 * acc->spill_cap : SHM_NATIVE_SPILL;
        struct smx_native_bucket *n = realloc(acc->spill, sizeof *n * cap);
        if (!n) {
            acc->oom = true;
            return;
        }
        acc->spill = n;
        acc->spill_cap = cap;
    }
    acc->spill[acc->nspill++] = (struct smx_native_bucket){k, neg, count};
}

void smx_native_acc_block(struct smx_native_acc *acc, const uint64_t *cells)
{
    const uint64_t *c = cells + acc->sum_word;
    acc->nan += shmetrics_load_relaxed(&c[SHM_NATIVE_NAN]);
    acc->zero += shmetrics_load_relaxed(&c[SHM_NATIVE_ZERO]);
    acc->unplaced += shmetrics_load_relaxed(&c[SHM_NATIVE_UNPLACED]);
    for (uint32_t i = 0; i < SHM_NATIVE_SPILL; i++) {
        uint64_t key = shmetrics_load_relaxed(&c[SHM_NATIVE_SLOTS + 2 * i]);
        uint64_t n = shmetrics_load_relaxed(&c[SHM_NATIVE_SLOTS + 2 * i + 1]);
        if (key)
            spilled(acc, key, n);
        else if (n)
            acc->bad_key = true; /* a count without its bucket */
    }
    const uint64_t *w = c + SHM_NATIVE_NEG;
    for (uint32_t i = 0; i < 2 * acc->window; i++)
        acc->counts[i] += shmetrics_load_relaxed(&w[i]);
}

uint64_t smx_native_count(const struct smx_native_acc *acc)
{
    uint64_t n = acc->nan + acc->zero + acc->unplaced;
    for (uint32_t i = 0; i < 2 * acc->window; i++)
        n += acc->counts[i];
    for (uint32_t i = 0; i < acc->nspill; i++)
        n += acc->spill[i].count;
    return n;
}

static int by_key(const void *x, const void *y)
{
    const struct smx_native_bucket *a = x, *b = y;
    return a->key < b->key ? -1 : a->key > b->key;
}

/* ceil(k / 2): the bucket of schema s - 1 that holds bucket k of schema s. */
static int32_t half_up(int32_t k)
{
    return k >= 0 ? (k + 1) / 2 : -((-k) / 2);
}

/* One sign's populated buckets, sorted, duplicates merged: *n of them. */
static struct smx_native_bucket *one_sign(const struct smx_native_acc *acc, uint32_t neg, uint32_t *n)
{
    struct smx_native_bucket *b = malloc(sizeof *b * ((size_t)acc->window + acc->nspill + 1));
    if (!b)
        return NULL;
    uint32_t k = 0;
    const uint64_t *w = acc->counts + (neg ? 0 : acc->window);
    for (uint32_t i = 0; i < acc->window; i++)
        if (w[i])
            b[k++] = (struct smx_native_bucket){acc->lo + (int32_t)i, neg, w[i]};
    for (uint32_t i = 0; i < acc->nspill; i++)
        if (acc->spill[i].neg == neg && acc->spill[i].count)
            b[k++] = acc->spill[i];
    qsort(b, k, sizeof *b, by_key);
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (m && b[m - 1].key == b[i].key)
            b[m - 1].count += b[i].count;
        else
            b[m++] = b[i];
    }
    *n = m;
    return b;
}

/* Halve the resolution of a sorted list: merge each pair of buckets. */
static uint32_t halve(struct smx_native_bucket *b, uint32_t n)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        int32_t k = half_up(b[i].key);
        if (m && b[m - 1].key == k)
            b[m - 1].count += b[i].count;
        else
            b[m++] = (struct smx_native_bucket){k, b[i].neg, b[i].count};
    }
    return m;
}

/* Spans of a sorted list: a gap of up to 2 empty buckets stays inside a
 * span (as client_golang lays them out: two empty buckets cost less than
 * a new span). */
static int spans(const struct smx_native_bucket *b, uint32_t n, void *(*alloc)(void *, size_t), void *arg,
                 const shmetrics_native_span_t **spans_out, size_t *nspans, const uint64_t **counts_out,
                 size_t *ncounts)
{
    size_t ns = 0, nc = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t gap = i ? (int64_t)b[i].key - b[i - 1].key - 1 : 0;
        if (i == 0 || gap > 2)
            ns++;
        else
            nc += (size_t)gap;
        nc++;
    }
    shmetrics_native_span_t *sp = alloc(arg, sizeof *sp * (ns ? ns : 1));
    uint64_t *c = alloc(arg, sizeof *c * (nc ? nc : 1));
    if (!sp || !c)
        return -ENOMEM;
    size_t s = 0, k = 0;
    for (uint32_t i = 0; i < n; i++) {
        int64_t gap = i ? (int64_t)b[i].key - b[i - 1].key - 1 : 0;
        if (i == 0 || gap > 2) {
            sp[s++] = (shmetrics_native_span_t){(int32_t)(i == 0 ? b[i].key : gap), 0};
        } else {
            for (int64_t g = 0; g < gap; g++) {
                c[k++] = 0;
                sp[s - 1].length++;
            }
        }
        c[k++] = b[i].count;
        sp[s - 1].length++;
    }
    *spans_out = sp;
    *nspans = ns;
    *counts_out = c;
    *ncounts = nc;
    return 0;
}

int smx_native_build(const struct smx_native_acc *acc, const struct shm_family_view *f, uint64_t count, double sum,
                     void *(*alloc)(void *, size_t), void *arg, shmetrics_native_histogram_t *out)
{
    if (acc->bad_key)
        return smx_fail(-EBADMSG, "family record %u: a native spill slot holds no bucket", f->idx);
    if (acc->oom)
        return -ENOMEM;
    memset(out, 0, sizeof *out);
    uint32_t nn, np;
    struct smx_native_bucket *neg = one_sign(acc, 1, &nn);
    struct smx_native_bucket *pos = one_sign(acc, 0, &np);
    int rc = neg && pos ? 0 : -ENOMEM;
    int32_t schema = f->native_schema;
    while (rc == 0 && (uint64_t)nn + np > f->native_max_buckets && schema > SHM_NATIVE_MIN_SCHEMA) {
        nn = halve(neg, nn);
        np = halve(pos, np);
        schema--;
    }
    if (rc == 0)
        rc = spans(pos, np, alloc, arg, &out->positive_spans, &out->npositive_spans, &out->positive, &out->npositive);
    if (rc == 0)
        rc = spans(neg, nn, alloc, arg, &out->negative_spans, &out->nnegative_spans, &out->negative, &out->nnegative);
    free(neg);
    free(pos);
    if (rc < 0)
        return rc;
    out->schema = schema;
    out->zero_threshold = f->native_zero_threshold;
    out->zero_count = acc->zero;
    out->count = count;
    out->sum = sum;
    out->nan_count = acc->nan;
    out->unplaced = acc->unplaced;
    return 0;
}
