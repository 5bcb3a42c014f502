/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose_openmetrics.c - owns the OpenMetrics 1.0.0 text format: TYPE,
 * UNIT and HELP lines named after the family (a counter without _total, an
 * info family without _info), the escaping of help text and label values,
 * sample lines, each counter, histogram and summary series' name_created
 * sample after its others, and the closing "# EOF".  A UNIT line is
 * written only for a family whose name ends with _UNIT, as the
 * specification requires.
 *
 * OpenMetrics has rules on values that the 0.0.4 format does not have, and
 * prometheus_client's OpenMetrics parser rejects a whole exposition that
 * breaks one of them.  Where a snapshot holds such a value, this format
 * leaves the offending samples out (the 0.0.4 and JSON formats show them):
 *
 *   - A histogram with a negative bucket bound has no _sum and no _count:
 *     "negative threshold buckets MAY be used, but then the Histogram
 *     MetricPoint MUST NOT contain a sum value", and _count is present if
 *     and only if _sum is.  (The parser: "Cannot have _sum with negative
 *     buckets", "_sum/_gsum must be present if _count is present".)  The
 *     +Inf bucket still carries the count.
 *   - A histogram series whose sum is negative or NaN (negative or NaN
 *     observations with non-negative bounds) likewise has no _sum and no
 *     _count: the sum is semantically a counter and MUST NOT be NaN or
 *     negative.  (The parser: "Counter-like samples cannot be NaN",
 *     "... cannot be negative".)  A sum of +Inf is kept.
 *   - A summary series whose sum is negative or NaN has no _sum; its
 *     _count stays, since a summary may carry a count alone.
 *   - A summary quantile whose value is negative is left out ("Quantile
 *     values MUST NOT be negative"; the parser: "Quantile values cannot be
 *     negative").  NaN, the value of an empty window, is kept: the
 *     specification asks for it.
 *
 * Exemplars follow the sample they belong to, as the specification has
 * them: " # {labels} value timestamp" after a counter's _total sample and
 * after a histogram's _bucket samples (the only ones that have one), the
 * timestamp in seconds with three decimals, as Prometheus keeps it.
 *
 * Counters cannot be negative or NaN (the library refuses such amounts),
 * and bucket and count values are whole numbers, printed without a point.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "shmetrics.h"

static bool is(const shmetrics_sample_t *s, const char *suffix)
{
    return strcmp(s->suffix, suffix) == 0;
}

static bool same_labels(const shmetrics_sample_t *a, const shmetrics_sample_t *b)
{
    if (a->nlabels != b->nlabels)
        return false;
    for (size_t i = 0; i < a->nlabels; i++)
        if (strcmp(a->labels[i].name, b->labels[i].name) || strcmp(a->labels[i].value, b->labels[i].value))
            return false;
    return true;
}

/* Does a histogram family have a bucket bound below zero? */
static bool negative_bounds(const shmetrics_family_t *f)
{
    for (size_t j = 0; j < f->nsamples; j++) {
        const shmetrics_sample_t *s = &f->samples[j];
        if (is(s, "_bucket") && s->nlabels && strcmp(s->labels[s->nlabels - 1].name, "le") == 0)
            return strtod(s->labels[s->nlabels - 1].value, NULL) < 0; /* the first is the lowest */
    }
    return false;
}

/* The _sum sample of the series that the _count at j belongs to: its
 * neighbour with the same labels (collect puts _sum just before _count). */
static const shmetrics_sample_t *sum_of_count(const shmetrics_family_t *f, size_t j)
{
    const shmetrics_sample_t *c = &f->samples[j];
    if (j > 0 && is(c - 1, "_sum") && same_labels(c - 1, c))
        return c - 1;
    if (j + 1 < f->nsamples && is(c + 1, "_sum") && same_labels(c + 1, c))
        return c + 1;
    return NULL;
}

/* Whether sample j of family f may be shown (see the top of the file). */
static bool shown(const shmetrics_family_t *f, size_t j, bool neg_bounds)
{
    const shmetrics_sample_t *s = &f->samples[j];
    if (f->type == SHMETRICS_HISTOGRAM) {
        if (is(s, "_count"))
            s = sum_of_count(f, j);
        else if (!is(s, "_sum"))
            return true;
        return s && !neg_bounds && s->value >= 0;
    }
    if (f->type == SHMETRICS_SUMMARY) {
        if (is(s, "_sum"))
            return s->value >= 0;
        if (is(s, ""))
            return !(s->value < 0);
    }
    return true;
}

/* A sample line, with its exemplar if it has one. */
static void put_sample(struct smx_buf *b, const char *name, const shmetrics_sample_t *s, unsigned scheme)
{
    const shmetrics_exemplar_t *x = s->exemplar;
    smx_buf_sample_open(b, name, s, scheme);
    if (x && (is(s, "_total") || is(s, "_bucket"))) {
        smx_buf_puts(b, " # {");
        smx_buf_label_pairs(b, x->labels, x->nlabels, scheme);
        smx_buf_puts(b, "} ");
        smx_buf_double(b, x->value);
        if (x->timestamp > 0) {
            char ts[48];
            snprintf(ts, sizeof ts, " %.3f", x->timestamp);
            smx_buf_puts(b, ts);
        }
    }
    smx_buf_putc(b, '\n');
}

void smx_encode_openmetrics(struct smx_buf *b, const shmetrics_snapshot_t *snap, unsigned flags)
{
    unsigned scheme = smx_escaping_of(flags);
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        /* The order the specification recommends: TYPE, UNIT, HELP. */
        smx_buf_puts(b, "# TYPE ");
        smx_buf_name(b, f->name, "", scheme, true, true);
        smx_buf_putc(b, ' ');
        smx_buf_puts(b, smx_type_name(f->type));
        const char *unit = smx_family_unit(f);
        if (unit) {
            smx_buf_puts(b, "\n# UNIT ");
            smx_buf_name(b, f->name, "", scheme, true, true);
            smx_buf_putc(b, ' ');
            smx_buf_puts(b, unit);
        }
        smx_buf_puts(b, "\n# HELP ");
        smx_buf_name(b, f->name, "", scheme, true, true);
        smx_buf_putc(b, ' ');
        smx_buf_escaped(b, f->help, true);
        smx_buf_putc(b, '\n');
        bool neg = f->type == SHMETRICS_HISTOGRAM && negative_bounds(f);
        for (size_t j = 0; j < f->nsamples; j++) {
            const shmetrics_sample_t *s = &f->samples[j];
            if (shown(f, j, neg))
                put_sample(b, f->name, s, scheme);
            /* The series' creation time after its samples, as
             * prometheus_client puts it. */
            if (!(flags & SHMETRICS_FORMAT_NO_CREATED) && smx_sample_ends_dated_series(f, s)) {
                shmetrics_sample_t c = *s;
                c.suffix = "_created";
                c.value = s->created;
                smx_buf_sample(b, f->name, &c, scheme);
            }
        }
    }
    smx_buf_puts(b, "# EOF\n");
}
