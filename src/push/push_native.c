/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_native.c - owns what the push backends share about native
 * histograms: finding a histogram series in a snapshot and whether it is
 * native only, checking a series' native buckets before they are encoded,
 * and laying them out as OpenTelemetry's exponential buckets.
 *
 * Bucket indices.  Prometheus' bucket k at schema s holds magnitudes in
 * (2^((k-1)/2^s), 2^(k/2^s)]; OTLP's bucket i at scale s holds
 * (base^i, base^(i+1)], base = 2^(2^-s).  The same bucket is therefore
 * i = k - 1, and OTLP's offset is the first Prometheus index minus one.
 * Halving the resolution (s - 1) merges Prometheus' buckets 2k'-1 and 2k'
 * into k', so k' = ceil(k / 2), which is i' = floor(i / 2) on OTLP's side:
 * both sides give the same merged buckets, exactly.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "push.h"

size_t smx_hist_series_end(const shmetrics_family_t *f, size_t j)
{
    while (j < f->nsamples && strcmp(f->samples[j].suffix, "_count") != 0)
        j++;
    return j < f->nsamples ? j + 1 : f->nsamples;
}

const shmetrics_native_histogram_t *smx_hist_native(const shmetrics_family_t *f, size_t j, size_t end, bool *only)
{
    /* The series' _count, its last sample, carries them. */
    const shmetrics_sample_t *last = end > j ? &f->samples[end - 1] : NULL;
    const shmetrics_native_histogram_t *n = last && strcmp(last->suffix, "_count") == 0 ? last->native : NULL;
    size_t buckets = 0;
    for (size_t k = j; k < end; k++)
        buckets += strcmp(f->samples[k].suffix, "_bucket") == 0;
    /* Native only: the +Inf bucket alone (shmetrics_collect gives it, as
     * client_golang's text does), no classic bound. */
    *only = n && buckets <= 1;
    return n;
}

/* The largest index a bucket of a double can have at a schema: magnitudes
 * are within 2^-1075..2^1024, 1100 powers of two with room to spare. */
static int64_t max_index(int32_t schema)
{
    return schema >= 0 ? INT64_C(1100) << schema : (INT64_C(1100) >> -schema) + 1;
}

/* One sign: spans that hold exactly its counts, indices within range. */
static int check_side(const char *name, const char *sign, int32_t schema, const shmetrics_native_span_t *spans,
                      size_t nspans, const uint64_t *counts, size_t n)
{
    int64_t lim = max_index(schema);
    uint64_t held = 0;
    int64_t k = 0;
    if (n && !counts)
        return smx_fail(-EBADMSG, "%s: %zu %s native buckets without counts", name, n, sign);
    if (nspans && !spans)
        return smx_fail(-EBADMSG, "%s: %zu %s native spans given, but no array", name, nspans, sign);
    for (size_t i = 0; i < nspans; i++) {
        k += spans[i].offset;
        if (k >= -lim)
            k += spans[i].length;
        held += spans[i].length;
        if (k < -lim || k > lim + 1) /* k is one past the span's last bucket */
            return smx_fail(-EBADMSG, "%s: %s native span %zu reaches bucket %lld, beyond +-%lld at schema %d", name,
                            sign, i + 1, (long long)k, (long long)lim, (int)schema);
    }
    if (held != n)
        return smx_fail(-EBADMSG, "%s: the %s native spans hold %llu buckets, but %zu counts are given", name, sign,
                        (unsigned long long)held, n);
    return 0;
}

int smx_native_check(const char *name, const shmetrics_native_histogram_t *h)
{
    if (h->schema < -4 || h->schema > 8)
        return smx_fail(-EBADMSG, "%s: native schema %d is not within -4..8", name, (int)h->schema);
    if (!(h->zero_threshold >= 0) || isinf(h->zero_threshold))
        return smx_fail(-EBADMSG, "%s: native zero threshold %g is not finite and >= 0", name, h->zero_threshold);
    int rc = check_side(name, "positive", h->schema, h->positive_spans, h->npositive_spans, h->positive, h->npositive);
    if (rc == 0)
        rc = check_side(name, "negative", h->schema, h->negative_spans, h->nnegative_spans, h->negative, h->nnegative);
    return rc;
}

/* ceil(k / 2^d) with an arithmetic shift: Prometheus' index at d halvings. */
static int64_t down(int64_t k, int d)
{
    return -((-k) >> d);
}

/* The first and last Prometheus index of one sign's buckets; false for
 * none. */
static bool extent(const shmetrics_native_span_t *spans, size_t nspans, int64_t *lo, int64_t *hi)
{
    int64_t k = 0;
    bool any = false;
    for (size_t i = 0; i < nspans; i++) {
        k += spans[i].offset;
        if (spans[i].length == 0)
            continue;
        if (!any)
            *lo = k;
        any = true;
        k += spans[i].length;
        *hi = k - 1;
    }
    return any;
}

static bool fits(const shmetrics_native_span_t *spans, size_t nspans, int d, size_t max)
{
    int64_t lo, hi;
    return !extent(spans, nspans, &lo, &hi) || (uint64_t)(down(hi, d) - down(lo, d)) < max;
}

int32_t smx_otlp_scale(const shmetrics_native_histogram_t *h, size_t max)
{
    int d = 0;
    /* Indices are within +-1100 * 2^8 (smx_native_check): 25 halvings
     * leave at most two buckets. */
    while (d < 25 && !(fits(h->positive_spans, h->npositive_spans, d, max) &&
                       fits(h->negative_spans, h->nnegative_spans, d, max)))
        d++;
    return h->schema - d;
}

int smx_otlp_buckets(const shmetrics_native_span_t *spans, size_t nspans, const uint64_t *counts, int32_t schema,
                     int32_t scale, int32_t *offset, uint64_t *out, size_t cap, size_t *n)
{
    int d = schema - scale;
    int64_t lo, hi;
    *offset = 0;
    *n = 0;
    if (d < 0 || d > 25)
        return smx_fail(-EINVAL, "OTLP scale %d for native schema %d: not a lower resolution", (int)scale, (int)schema);
    if (!extent(spans, nspans, &lo, &hi))
        return 0;
    int64_t first = down(lo, d);
    size_t len = (size_t)(down(hi, d) - first) + 1;
    if (len > cap)
        return smx_fail(-ENOSPC, "native buckets %lld..%lld at scale %d need %zu OTLP buckets, room for %zu",
                        (long long)lo, (long long)hi, (int)scale, len, cap);
    *offset = (int32_t)(first - 1); /* Prometheus' k is OTLP's k - 1 */
    *n = len;
    if (!out)
        return 0;
    memset(out, 0, len * sizeof *out);
    int64_t k = 0;
    size_t c = 0;
    for (size_t i = 0; i < nspans; i++) {
        k += spans[i].offset;
        for (uint32_t b = 0; b < spans[i].length; b++, k++)
            out[down(k, d) - first] += counts[c++];
    }
    return 0;
}
