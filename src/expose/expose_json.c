/* SPDX-License-Identifier: MIT */
/*
 * src/expose/expose_json.c - owns the JSON format: an array of the families in
 * snapshot order, one a line,
 *
 *   {"name":"http_requests","type":"counter","help":"...","samples":[
 *     {"name":"http_requests_total","labels":{"code":"200"},"value":3}, ...]}
 *
 * where a sample's name is the family's name plus the sample's suffix.
 * Strings are escaped as RFC 8259 asks (quote, backslash, and control
 * characters as \u00XX); they are UTF-8 already and other bytes pass
 * through.  Finite values are JSON numbers as smx_buf_double spells them
 * (an integer, or a decimal or exponent form such as 0.25 or 1e+20, all
 * valid JSON); NaN, +Inf and -Inf, which JSON has no numbers for, are the
 * strings "NaN", "+Inf" and "-Inf".  Every sample is shown, including those
 * the OpenMetrics format leaves out.  A family with a unit has
 * "unit":"..." after its help.  Creation times of series are not shown:
 * the text formats and protobuf carry them.  The _count sample of a native
 * histogram has "native":{"schema", "zero_threshold", "zero_count",
 * "count", "sum", "nan_count", "unplaced", "positive", "negative"} after
 * its value, each sign's populated buckets as [index, count] pairs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "shmetrics.h"

static void put_value(struct smx_buf *b, double v)
{
    if (isnan(v))
        smx_buf_puts(b, "\"NaN\"");
    else if (isinf(v))
        smx_buf_puts(b, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    else
        smx_buf_double(b, v);
}

static void put_u64(struct smx_buf *b, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)v);
    smx_buf_puts(b, num);
}

/* One sign's populated buckets, [index, count] pairs by index. */
static void put_buckets(struct smx_buf *b, const char *key, const shmetrics_native_span_t *spans, size_t nspans,
                        const uint64_t *counts)
{
    smx_buf_puts(b, key);
    smx_buf_putc(b, '[');
    int64_t idx = 0;
    size_t k = 0;
    bool first = true;
    for (size_t i = 0; i < nspans; i++) {
        idx += spans[i].offset;
        for (uint32_t j = 0; j < spans[i].length; j++, idx++, k++) {
            if (!counts[k])
                continue;
            char pair[32];
            snprintf(pair, sizeof pair, "%s[%lld,", first ? "" : ",", (long long)idx);
            smx_buf_puts(b, pair);
            put_u64(b, counts[k]);
            smx_buf_putc(b, ']');
            first = false;
        }
    }
    smx_buf_putc(b, ']');
}

/* A native histogram, on its _count sample. */
static void put_native(struct smx_buf *b, const shmetrics_native_histogram_t *n)
{
    char schema[16];
    snprintf(schema, sizeof schema, "%d", (int)n->schema);
    smx_buf_puts(b, ",\"native\":{\"schema\":");
    smx_buf_puts(b, schema);
    smx_buf_puts(b, ",\"zero_threshold\":");
    put_value(b, n->zero_threshold);
    smx_buf_puts(b, ",\"zero_count\":");
    put_u64(b, n->zero_count);
    smx_buf_puts(b, ",\"count\":");
    put_u64(b, n->count);
    smx_buf_puts(b, ",\"sum\":");
    put_value(b, n->sum);
    smx_buf_puts(b, ",\"nan_count\":");
    put_u64(b, n->nan_count);
    smx_buf_puts(b, ",\"unplaced\":");
    put_u64(b, n->unplaced);
    put_buckets(b, ",\"positive\":", n->positive_spans, n->npositive_spans, n->positive);
    put_buckets(b, ",\"negative\":", n->negative_spans, n->nnegative_spans, n->negative);
    smx_buf_putc(b, '}');
}

static void put_sample(struct smx_buf *b, const char *family, const shmetrics_sample_t *s)
{
    /* The sample's name escaped as JSON: a UTF-8 name (spec.utf8_names)
     * may hold any character. */
    struct smx_buf name = {0};
    smx_buf_puts(&name, family);
    smx_buf_puts(&name, s->suffix);
    smx_buf_putc(&name, 0);
    smx_buf_puts(b, "{\"name\":");
    if (name.oom)
        b->oom = true;
    else
        smx_buf_json_string(b, name.data);
    free(name.data);
    smx_buf_puts(b, ",\"labels\":{");
    for (size_t i = 0; i < s->nlabels; i++) {
        if (i)
            smx_buf_putc(b, ',');
        smx_buf_json_string(b, s->labels[i].name);
        smx_buf_putc(b, ':');
        smx_buf_json_string(b, s->labels[i].value);
    }
    smx_buf_puts(b, "},\"value\":");
    put_value(b, s->value);
    if (s->native)
        put_native(b, s->native);
    smx_buf_putc(b, '}');
}

void smx_encode_json(struct smx_buf *b, const shmetrics_snapshot_t *snap, unsigned flags)
{
    (void)flags; /* creation times are not shown here */
    smx_buf_putc(b, '[');
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        smx_buf_puts(b, i ? ",\n{\"name\":" : "\n{\"name\":");
        smx_buf_json_string(b, f->name);
        smx_buf_puts(b, ",\"type\":\"");
        smx_buf_puts(b, smx_type_name(f->type));
        smx_buf_puts(b, "\",\"help\":");
        smx_buf_json_string(b, f->help);
        if (f->unit && *f->unit) {
            smx_buf_puts(b, ",\"unit\":");
            smx_buf_json_string(b, f->unit);
        }
        smx_buf_puts(b, ",\"samples\":[");
        for (size_t j = 0; j < f->nsamples; j++) {
            if (j)
                smx_buf_putc(b, ',');
            put_sample(b, f->name, &f->samples[j]);
        }
        smx_buf_puts(b, "]}");
    }
    smx_buf_puts(b, snap->nfamilies ? "\n]\n" : "]\n");
}
