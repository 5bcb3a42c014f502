/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose_protobuf.c - owns the Prometheus protobuf exposition
 * format (application/vnd.google.protobuf;
 * proto=io.prometheus.client.MetricFamily; encoding=delimited): one
 * MetricFamily message per family of the snapshot, each preceded by its
 * length as a varint.  The messages are those of proto/metrics.proto,
 * written through src/expose/pbwire.c; the field numbers below are that
 * file's.
 *
 * Prometheus turns every message back into the series of the text format,
 * and they must be the ones a text scrape gives, name for name, label for
 * label, value for value:
 *
 *   - A family is named as Prometheus names its samples: a counter family
 *     as its samples, name_total (as the 0.0.4 text names it); others by
 *     their name, to which Prometheus adds _bucket, _sum and _count.
 *   - A counter or gauge sample is one Metric, with the sample's labels
 *     (an ALL-mode gauge's pid among them).
 *   - A histogram series is one Metric: its labels but le, sample_count
 *     (the _count sample), sample_sum, and a Bucket (cumulative count,
 *     upper bound) per finite bound.  The +Inf bucket is left out, as
 *     client_golang leaves it out, when it equals the count (always, in a
 *     snapshot of shmetrics_collect): Prometheus adds it back from
 *     sample_count.  Prometheus spells the le label from the bound as Go
 *     does, "0.005", "1.0", "1e+06", which is how the snapshot spells it.
 *   - A summary series is one Metric: its labels but quantile,
 *     sample_count, sample_sum, and a Quantile per quantile sample.
 *   - Counts that are whole numbers from 0 to 2^64 go in the integer
 *     fields; another count of a histogram (a snapshot built by hand) goes
 *     in the float field, which Prometheus reads instead when it is not 0;
 *     a summary has no float count, and such a count is rounded (0 for
 *     NaN and negative ones).
 *   - A family without samples is left out (client_golang sends none;
 *     Prometheus skips them), and a family of an unknown type is UNTYPED,
 *     one Metric per sample.
 *
 * The series of a histogram or summary family are found by grouping
 * neighbouring samples with the same labels (le and quantile aside), the
 * order shmetrics_collect gives them.  Each type has its own Metric
 * writer.
 *
 *   - A native histogram series (its _count sample carries the native
 *     buckets) adds schema, zero_threshold, zero_count and the spans and
 *     deltas of each sign, integer counts, as client_golang writes them;
 *     a native-only one has no classic bucket (its +Inf bucket is the
 *     count, left out as above), so Prometheus reads it as native only.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pbwire.h"
#include "shmetrics.h"

/* proto/metrics.proto, field by field. */
enum {
    PB_FAMILY_NAME = 1,
    PB_FAMILY_HELP = 2,
    PB_FAMILY_TYPE = 3,
    PB_FAMILY_METRIC = 4,
    PB_FAMILY_UNIT = 5,
    PB_LABEL_NAME = 1,
    PB_LABEL_VALUE = 2,
    PB_METRIC_LABEL = 1,
    PB_METRIC_GAUGE = 2,
    PB_METRIC_COUNTER = 3,
    PB_METRIC_SUMMARY = 4,
    PB_METRIC_UNTYPED = 5,
    PB_METRIC_HISTOGRAM = 7,
    PB_VALUE = 1, /* Gauge, Counter and Untyped: value */
    PB_COUNTER_EXEMPLAR = 2,
    PB_COUNTER_CREATED = 3,
    PB_SUMMARY_CREATED = 4,
    PB_HISTOGRAM_CREATED = 15,
    PB_HISTOGRAM_EXEMPLARS = 16,
    PB_TIMESTAMP_SECONDS = 1,
    PB_TIMESTAMP_NANOS = 2,
    PB_SUMMARY_COUNT = 1,
    PB_SUMMARY_SUM = 2,
    PB_SUMMARY_QUANTILE = 3,
    PB_QUANTILE_QUANTILE = 1,
    PB_QUANTILE_VALUE = 2,
    PB_HISTOGRAM_COUNT = 1,
    PB_HISTOGRAM_SUM = 2,
    PB_HISTOGRAM_BUCKET = 3,
    PB_HISTOGRAM_COUNT_FLOAT = 4,
    PB_HISTOGRAM_SCHEMA = 5,
    PB_HISTOGRAM_ZERO_THRESHOLD = 6,
    PB_HISTOGRAM_ZERO_COUNT = 7,
    PB_HISTOGRAM_NEGATIVE_SPAN = 9,
    PB_HISTOGRAM_NEGATIVE_DELTA = 10,
    PB_HISTOGRAM_POSITIVE_SPAN = 12,
    PB_HISTOGRAM_POSITIVE_DELTA = 13,
    PB_SPAN_OFFSET = 1,
    PB_SPAN_LENGTH = 2,
    PB_BUCKET_COUNT = 1,
    PB_BUCKET_BOUND = 2,
    PB_BUCKET_EXEMPLAR = 3,
    PB_BUCKET_COUNT_FLOAT = 4,
    PB_EXEMPLAR_LABEL = 1,
    PB_EXEMPLAR_VALUE = 2,
    PB_EXEMPLAR_TIMESTAMP = 3,
};

/* MetricType. */
enum { PB_COUNTER = 0, PB_GAUGE = 1, PB_SUMMARY = 2, PB_UNTYPED = 3, PB_HISTOGRAM = 4 };

static bool is(const shmetrics_sample_t *s, const char *suffix)
{
    return strcmp(s->suffix, suffix) == 0;
}

/* A name (and suffix) in `field`, escaped as the scraper asked
 * (src/expose/names.c; allow-utf-8: as it is, never quoted here). */
static void put_name(struct smx_buf *b, uint32_t field, const char *name, const char *suffix, unsigned flags,
                     bool metric)
{
    unsigned scheme = smx_escaping_of(flags);
    if (scheme == SMX_ESCAPE_UTF8) {
        smx_pb_string(b, field, name, suffix);
        return;
    }
    struct smx_buf n = {0};
    smx_buf_name(&n, name, suffix, scheme, metric, false);
    smx_buf_putc(&n, 0);
    if (n.oom)
        b->oom = true;
    else
        smx_pb_string(b, field, n.data, NULL);
    free(n.data);
}

/* Labels' names and values in `field` (Metric.label, Exemplar.label), all
 * but the one named `skip` (NULL: all). */
static void put_pairs(struct smx_buf *b, uint32_t field, const shmetrics_label_t *l, size_t n, const char *skip,
                      unsigned flags)
{
    for (size_t i = 0; i < n; i++) {
        if (skip && strcmp(l[i].name, skip) == 0)
            continue;
        size_t m = smx_pb_begin(b, field);
        put_name(b, PB_LABEL_NAME, l[i].name, NULL, flags, false);
        smx_pb_string(b, PB_LABEL_VALUE, l[i].value, NULL);
        smx_pb_end(b, m);
    }
}

/* A sample's labels, all but the one named `skip` (NULL: all). */
static void put_labels(struct smx_buf *b, const shmetrics_sample_t *s, const char *skip, unsigned flags)
{
    put_pairs(b, PB_METRIC_LABEL, s->labels, s->nlabels, skip, flags);
}

/* The value of the label `name` of a sample, NULL if it has none. */
static const char *label(const shmetrics_sample_t *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0)
            return s->labels[i].value;
    return NULL;
}

/* Do a and b carry the same labels, a label named `skip` aside? */
static bool same_series(const shmetrics_sample_t *a, const shmetrics_sample_t *b, const char *skip)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->nlabels && strcmp(a->labels[i].name, skip) == 0)
            i++;
        while (j < b->nlabels && strcmp(b->labels[j].name, skip) == 0)
            j++;
        if (i == a->nlabels || j == b->nlabels)
            return i == a->nlabels && j == b->nlabels;
        if (strcmp(a->labels[i].name, b->labels[j].name) || strcmp(a->labels[i].value, b->labels[j].value))
            return false;
        i++, j++;
    }
}

/* The samples from j that belong to the series of sample j: neighbours
 * with its labels (`skip` aside), up to and including its _count. */
static size_t series_end(const shmetrics_family_t *f, size_t j, const char *skip)
{
    size_t k = j;
    while (k < f->nsamples && same_series(&f->samples[j], &f->samples[k], skip))
        if (is(&f->samples[k++], "_count"))
            break;
    return k;
}

static bool whole_count(double v)
{
    return v >= 0 && v < 18446744073709551616.0 && v == floor(v);
}

/* A count that is not whole, rounded: NaN and negative ones to 0, those
 * past the integers' range to the largest.  (A double that is not whole
 * is below 2^53, where round is exact.) */
static uint64_t rounded_count(double v)
{
    if (whole_count(v))
        return (uint64_t)v;
    if (!(v > 0))
        return 0;
    return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)round(v);
}

/* A count into its integer field, or its float one if it is not whole. */
static void put_count(struct smx_buf *b, uint32_t field, uint32_t float_field, double v)
{
    if (whole_count(v))
        smx_pb_uint64(b, field, (uint64_t)v);
    else
        smx_pb_double(b, float_field, v);
}

static void put_timestamp(struct smx_buf *b, uint32_t field, double t);

/* A series' creation time (seconds since the epoch) as a Timestamp in
 * `field`, when it has one and the flags allow it. */
static void put_created(struct smx_buf *b, uint32_t field, double created, unsigned flags)
{
    if (!(created > 0) || (flags & SHMETRICS_FORMAT_NO_CREATED) || created >= 9.2e18)
        return;
    put_timestamp(b, field, created);
}

/* An exemplar (labels, value, and its time when it has a plausible one)
 * in `field`: Counter.exemplar or Bucket.exemplar. */
static void put_exemplar(struct smx_buf *b, uint32_t field, const shmetrics_exemplar_t *x, unsigned flags)
{
    if (!x)
        return;
    size_t e = smx_pb_begin(b, field);
    put_pairs(b, PB_EXEMPLAR_LABEL, x->labels, x->nlabels, NULL, flags);
    smx_pb_double(b, PB_EXEMPLAR_VALUE, x->value);
    if (x->timestamp > 0 && x->timestamp < 9.2e18)
        put_timestamp(b, PB_EXEMPLAR_TIMESTAMP, x->timestamp);
    smx_pb_end(b, e);
}

/* A time in seconds since the epoch as a Timestamp message in `field`. */
static void put_timestamp(struct smx_buf *b, uint32_t field, double created)
{
    double whole = floor(created);
    int64_t nanos = (int64_t)llround((created - whole) * 1e9);
    int64_t secs = (int64_t)whole;
    if (nanos >= 1000000000) {
        secs++;
        nanos -= 1000000000;
    }
    size_t t = smx_pb_begin(b, field);
    smx_pb_uint64(b, PB_TIMESTAMP_SECONDS, (uint64_t)secs);
    if (nanos)
        smx_pb_uint64(b, PB_TIMESTAMP_NANOS, (uint64_t)nanos);
    smx_pb_end(b, t);
}

/* Counter, gauge and untyped: one Metric for sample j. */
static size_t value_metric(struct smx_buf *b, const shmetrics_family_t *f, size_t j, uint32_t field, unsigned flags)
{
    const shmetrics_sample_t *s = &f->samples[j];
    size_t m = smx_pb_begin(b, PB_FAMILY_METRIC);
    put_labels(b, s, NULL, flags);
    size_t v = smx_pb_begin(b, field);
    smx_pb_double(b, PB_VALUE, s->value);
    if (field == PB_METRIC_COUNTER) {
        put_exemplar(b, PB_COUNTER_EXEMPLAR, s->exemplar, flags);
        put_created(b, PB_COUNTER_CREATED, s->created, flags);
    }
    smx_pb_end(b, v);
    smx_pb_end(b, m);
    return 1;
}

static size_t counter_metric(struct smx_buf *b, const shmetrics_family_t *f, size_t j, unsigned flags)
{
    return value_metric(b, f, j, PB_METRIC_COUNTER, flags);
}

static size_t gauge_metric(struct smx_buf *b, const shmetrics_family_t *f, size_t j, unsigned flags)
{
    return value_metric(b, f, j, PB_METRIC_GAUGE, flags);
}

static size_t untyped_metric(struct smx_buf *b, const shmetrics_family_t *f, size_t j, unsigned flags)
{
    return value_metric(b, f, j, PB_METRIC_UNTYPED, flags);
}

/* One sign's native buckets: its spans, then the count of each bucket as
 * the difference from the one before (the first: from 0), packed. */
static void put_native_side(struct smx_buf *b, uint32_t span_field, uint32_t delta_field,
                            const shmetrics_native_span_t *spans, size_t nspans, const uint64_t *counts, size_t n)
{
    for (size_t i = 0; i < nspans; i++) {
        size_t sp = smx_pb_begin(b, span_field);
        smx_pb_sint64(b, PB_SPAN_OFFSET, spans[i].offset);
        smx_pb_uint64(b, PB_SPAN_LENGTH, spans[i].length);
        smx_pb_end(b, sp);
    }
    if (!n)
        return;
    size_t d = smx_pb_begin(b, delta_field);
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        smx_pb_zigzag(b, (int64_t)(counts[i] - prev));
        prev = counts[i];
    }
    smx_pb_end(b, d);
}

/* The native fields of a Histogram (client_golang's layout): schema, zero
 * bucket, spans and deltas.  A histogram with no bucket, no zero count and
 * a zero threshold of 0 gets an empty positive span, as client_golang
 * gives it, so that Prometheus still reads it as a native one. */
static void put_native(struct smx_buf *b, const shmetrics_native_histogram_t *n)
{
    smx_pb_sint64(b, PB_HISTOGRAM_SCHEMA, n->schema);
    smx_pb_double(b, PB_HISTOGRAM_ZERO_THRESHOLD, n->zero_threshold);
    smx_pb_uint64(b, PB_HISTOGRAM_ZERO_COUNT, n->zero_count);
    put_native_side(b, PB_HISTOGRAM_NEGATIVE_SPAN, PB_HISTOGRAM_NEGATIVE_DELTA, n->negative_spans, n->nnegative_spans,
                    n->negative, n->nnegative);
    put_native_side(b, PB_HISTOGRAM_POSITIVE_SPAN, PB_HISTOGRAM_POSITIVE_DELTA, n->positive_spans, n->npositive_spans,
                    n->positive, n->npositive);
    if (n->zero_threshold == 0 && n->zero_count == 0 && !n->npositive_spans && !n->nnegative_spans) {
        static const shmetrics_native_span_t empty = {0, 0};
        put_native_side(b, PB_HISTOGRAM_POSITIVE_SPAN, PB_HISTOGRAM_POSITIVE_DELTA, &empty, 1, NULL, 0);
    }
}

/* A histogram series from sample j: classic buckets, count and sum, and
 * the native buckets its _count sample carries. */
static size_t histogram_metric(struct smx_buf *b, const shmetrics_family_t *f, size_t j, unsigned flags)
{
    size_t end = series_end(f, j, "le");
    const shmetrics_sample_t *count = NULL, *sum = NULL, *inf = NULL;
    for (size_t k = j; k < end; k++) {
        const shmetrics_sample_t *s = &f->samples[k];
        const char *le = label(s, "le");
        if (is(s, "_count"))
            count = s;
        else if (is(s, "_sum"))
            sum = s;
        else if (is(s, "_bucket") && le && isinf(strtod(le, NULL)) && strtod(le, NULL) > 0)
            inf = s;
    }
    /* Without a _count (a snapshot built by hand), the +Inf bucket is it. */
    double n = count ? count->value : inf ? inf->value : 0;
    size_t m = smx_pb_begin(b, PB_FAMILY_METRIC);
    put_labels(b, &f->samples[j], "le", flags);
    size_t h = smx_pb_begin(b, PB_METRIC_HISTOGRAM);
    put_count(b, PB_HISTOGRAM_COUNT, PB_HISTOGRAM_COUNT_FLOAT, n);
    if (sum)
        smx_pb_double(b, PB_HISTOGRAM_SUM, sum->value);
    for (size_t k = j; k < end; k++) {
        const shmetrics_sample_t *s = &f->samples[k];
        const char *le = label(s, "le");
        /* +Inf is left out when Prometheus would add the same (and it
         * has no exemplar to carry). */
        if (!is(s, "_bucket") || !le || (s == inf && s->value == n && !s->exemplar))
            continue;
        size_t bk = smx_pb_begin(b, PB_HISTOGRAM_BUCKET);
        put_count(b, PB_BUCKET_COUNT, PB_BUCKET_COUNT_FLOAT, s->value);
        smx_pb_double(b, PB_BUCKET_BOUND, strtod(le, NULL));
        put_exemplar(b, PB_BUCKET_EXEMPLAR, s->exemplar, flags);
        smx_pb_end(b, bk);
    }
    if (count && count->native) {
        put_native(b, count->native);
        /* A native histogram's exemplars also go in Histogram.exemplars,
         * where Prometheus reads them once it knows that field (2.42
         * reads them from the buckets above): the buckets' exemplars, in
         * bucket order. */
        for (size_t k = j; k < end; k++)
            if (is(&f->samples[k], "_bucket"))
                put_exemplar(b, PB_HISTOGRAM_EXEMPLARS, f->samples[k].exemplar, flags);
    }
    if (count)
        put_created(b, PB_HISTOGRAM_CREATED, count->created, flags);
    smx_pb_end(b, h);
    smx_pb_end(b, m);
    return end - j;
}

/* A summary series from sample j: quantiles, count and sum. */
static size_t summary_metric(struct smx_buf *b, const shmetrics_family_t *f, size_t j, unsigned flags)
{
    size_t end = series_end(f, j, "quantile");
    size_t m = smx_pb_begin(b, PB_FAMILY_METRIC);
    put_labels(b, &f->samples[j], "quantile", flags);
    size_t sm = smx_pb_begin(b, PB_METRIC_SUMMARY);
    for (size_t k = j; k < end; k++) {
        const shmetrics_sample_t *s = &f->samples[k];
        if (is(s, "_count"))
            smx_pb_uint64(b, PB_SUMMARY_COUNT, rounded_count(s->value));
        else if (is(s, "_sum"))
            smx_pb_double(b, PB_SUMMARY_SUM, s->value);
    }
    for (size_t k = j; k < end; k++) {
        const shmetrics_sample_t *s = &f->samples[k];
        const char *q = label(s, "quantile");
        if (!is(s, "") || !q)
            continue;
        size_t qm = smx_pb_begin(b, PB_SUMMARY_QUANTILE);
        smx_pb_double(b, PB_QUANTILE_QUANTILE, strtod(q, NULL));
        smx_pb_double(b, PB_QUANTILE_VALUE, s->value);
        smx_pb_end(b, qm);
    }
    for (size_t k = j; k < end; k++)
        if (is(&f->samples[k], "_count"))
            put_created(b, PB_SUMMARY_CREATED, f->samples[k].created, flags);
    smx_pb_end(b, sm);
    smx_pb_end(b, m);
    return end - j;
}

/* Per type: the MetricType, the suffix of the family name, and the writer
 * of one Metric from sample j (it returns how many samples it took). */
static const struct {
    uint32_t pb_type;
    const char *name_suffix;
    size_t (*metric)(struct smx_buf *, const shmetrics_family_t *, size_t, unsigned);
} types[] = {
    [SHMETRICS_COUNTER] = {PB_COUNTER, "_total", counter_metric},
    [SHMETRICS_GAUGE] = {PB_GAUGE, "", gauge_metric},
    [SHMETRICS_HISTOGRAM] = {PB_HISTOGRAM, "", histogram_metric},
    [SHMETRICS_SUMMARY] = {PB_SUMMARY, "", summary_metric},
    /* The protobuf format has no info and stateset types: Prometheus reads
     * them, in the text formats, as gauges, name_info and name. */
    [SHMETRICS_INFO] = {PB_GAUGE, "_info", gauge_metric},
    [SHMETRICS_STATESET] = {PB_GAUGE, "", gauge_metric},
};
static const size_t ntypes = sizeof types / sizeof types[0];

void smx_encode_protobuf(struct smx_buf *b, const shmetrics_snapshot_t *snap, unsigned flags)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        if (!f->nsamples)
            continue;
        bool known = (size_t)f->type < ntypes && types[f->type].metric;
        size_t fam = smx_pb_begin(b, 0);
        put_name(b, PB_FAMILY_NAME, f->name, known ? types[f->type].name_suffix : NULL, flags, true);
        smx_pb_string(b, PB_FAMILY_HELP, f->help, NULL);
        smx_pb_uint64(b, PB_FAMILY_TYPE, known ? types[f->type].pb_type : PB_UNTYPED);
        const char *unit = smx_family_unit(f);
        if (unit)
            smx_pb_string(b, PB_FAMILY_UNIT, unit, NULL);
        for (size_t j = 0; j < f->nsamples && !b->oom;)
            j += known ? types[f->type].metric(b, f, j, flags) : untyped_metric(b, f, j, flags);
        smx_pb_end(b, fam);
    }
}
