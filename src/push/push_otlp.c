/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_otlp.c - owns the OTLP push backend: grouping a snapshot's
 * samples into OpenTelemetry metrics and data points, the OTLP/JSON
 * encoding, and sending either encoding over HTTP (the protobuf one is in
 * src/push/push_otlp_pb.c).
 *
 * Mapping (docs/push-otlp.md), all cumulative since the arena's creation:
 *   counter    Sum, monotonic, asDouble; named without _total
 *   gauge      Gauge, asDouble (mode all: one point per pid attribute)
 *   histogram  Histogram with explicit bounds (per-bucket counts, the +Inf
 *              one last), count and sum; native buckets: an
 *              ExponentialHistogram of the same name (scale = schema, or
 *              lower when a sign spans more than SMX_OTLP_MAX_BUCKETS),
 *              and no Histogram for a native-only one
 *   summary    Summary: count, sum and the quantiles of the window
 * Labels become attributes; the resource carries service.name (default
 * "shmetrics") and the attributes given; the scope is "shmetrics".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "push.h"

struct otlp {
    struct smx_http *http;
    shmetrics_label_t *resource; /* service.name first unless given */
    size_t nresource;
};

/* ----------------------------------------------------------- grouping */

static void doc_free(struct smx_otlp_doc *d)
{
    for (size_t i = 0; i < d->nmetrics; i++) {
        for (size_t j = 0; j < d->metrics[i].npoints; j++) {
            free(d->metrics[i].points[j].bounds);
            free(d->metrics[i].points[j].values);
            free(d->metrics[i].points[j].pos);
            free(d->metrics[i].points[j].neg);
        }
        free(d->metrics[i].points);
    }
    free(d->metrics);
}

/* One histogram or summary series starting at samples[*at]: its buckets or
 * quantiles, then _sum, then _count. */
static int group_series(const shmetrics_family_t *f, size_t *at, struct smx_otlp_point *pt)
{
    size_t first = *at, k = first;
    while (k < f->nsamples && strcmp(f->samples[k].suffix, "_count") != 0)
        k++;
    if (k == f->nsamples || k == first)
        return smx_fail(-EBADMSG, "%s: a series without _count", f->name);
    const shmetrics_sample_t *cnt = &f->samples[k], *sum = &f->samples[k - 1];
    size_t nparts = k - 1 - first; /* buckets (with +Inf) or quantiles */
    bool hist = f->type == SHMETRICS_HISTOGRAM;
    if (hist && nparts == 0)
        return smx_fail(-EBADMSG, "%s: a histogram series without buckets", f->name);
    pt->attrs = sum->labels;
    pt->nattrs = sum->nlabels;
    pt->count = (uint64_t)cnt->value;
    pt->sum = sum->value;
    pt->n = hist ? nparts - 1 : nparts;
    pt->bounds = calloc(pt->n + 1, sizeof(double));
    pt->values = calloc(nparts + 1, sizeof(double));
    if (!pt->bounds || !pt->values)
        return smx_fail(-ENOMEM, "out of memory");
    double prev = 0;
    for (size_t i = 0; i < nparts; i++) {
        const shmetrics_sample_t *s = &f->samples[first + i];
        const char *v = s->nlabels ? s->labels[s->nlabels - 1].value : "0";
        if (i < pt->n)
            pt->bounds[i] = strtod(v, NULL);
        /* Buckets arrive cumulative; OTLP counts each bucket alone. */
        pt->values[i] = hist ? s->value - prev : s->value;
        prev = s->value;
    }
    *at = k + 1;
    return 0;
}

/* A native histogram series as an exponential histogram point: the
 * scale at which each sign fits in SMX_OTLP_MAX_BUCKETS, and the dense
 * counts of each (src/push/push_native.c converts the indices). */
static int native_point(const shmetrics_family_t *f, const shmetrics_sample_t *cnt,
                        const shmetrics_native_histogram_t *nh, struct smx_otlp_point *pt)
{
    int rc = smx_native_check(f->name, nh);
    if (rc < 0)
        return rc;
    pt->attrs = cnt->labels;
    pt->nattrs = cnt->nlabels;
    pt->count = nh->count;
    pt->sum = nh->sum;
    pt->native = nh;
    pt->scale = smx_otlp_scale(nh, SMX_OTLP_MAX_BUCKETS);
    rc = smx_otlp_buckets(nh->positive_spans, nh->npositive_spans, nh->positive, nh->schema, pt->scale, &pt->pos_offset,
                          NULL, SMX_OTLP_MAX_BUCKETS, &pt->npos);
    if (rc == 0)
        rc = smx_otlp_buckets(nh->negative_spans, nh->nnegative_spans, nh->negative, nh->schema, pt->scale,
                              &pt->neg_offset, NULL, SMX_OTLP_MAX_BUCKETS, &pt->nneg);
    if (rc < 0)
        return smx_fail_prefix(rc, "%s", f->name);
    pt->pos = calloc(pt->npos + 1, sizeof *pt->pos);
    pt->neg = calloc(pt->nneg + 1, sizeof *pt->neg);
    if (!pt->pos || !pt->neg)
        return smx_fail(-ENOMEM, "out of memory");
    smx_otlp_buckets(nh->positive_spans, nh->npositive_spans, nh->positive, nh->schema, pt->scale, &pt->pos_offset,
                     pt->pos, pt->npos, &pt->npos);
    smx_otlp_buckets(nh->negative_spans, nh->nnegative_spans, nh->negative, nh->schema, pt->scale, &pt->neg_offset,
                     pt->neg, pt->nneg, &pt->nneg);
    return 0;
}

static struct smx_otlp_metric *new_metric(struct smx_otlp_doc *d, const shmetrics_family_t *f, bool exponential)
{
    struct smx_otlp_metric *m = &d->metrics[d->nmetrics];
    m->fam = f;
    m->exponential = exponential;
    m->points = calloc(f->nsamples, sizeof *m->points);
    if (!m->points) {
        smx_fail(-ENOMEM, "out of memory");
        return NULL;
    }
    d->nmetrics++;
    return m;
}

/* A histogram family: its classic series as a Histogram, its native ones
 * as an ExponentialHistogram of the same name (both for a histogram with
 * both kinds of buckets; a native-only one has no classic metric). */
static int group_histogram(const shmetrics_family_t *f, struct smx_otlp_doc *d)
{
    struct smx_otlp_metric *classic = NULL, *expo = NULL;
    for (size_t at = 0; at < f->nsamples;) {
        size_t end = smx_hist_series_end(f, at);
        bool only;
        const shmetrics_native_histogram_t *nh = smx_hist_native(f, at, end, &only);
        int rc = 0;
        if (!only && !classic && !(classic = new_metric(d, f, false)))
            return -ENOMEM;
        if (nh && !expo && !(expo = new_metric(d, f, true)))
            return -ENOMEM;
        if (nh)
            rc = native_point(f, &f->samples[end - 1], nh, &expo->points[expo->npoints++]);
        if (rc == 0 && !only)
            rc = group_series(f, &at, &classic->points[classic->npoints++]);
        if (rc < 0)
            return rc;
        at = end;
    }
    return 0;
}

static int group(const struct smx_push_ctx *c, const struct otlp *st, struct smx_otlp_doc *d)
{
    memset(d, 0, sizeof *d);
    d->resource = st->resource;
    d->nresource = st->nresource;
    d->start_ns = c->start_ns;
    d->now_ns = c->now_ns;
    /* A histogram family may give two metrics. */
    d->metrics = calloc(2 * c->snap->nfamilies + 1, sizeof *d->metrics);
    if (!d->metrics)
        return smx_fail(-ENOMEM, "out of memory");
    for (size_t i = 0; i < c->snap->nfamilies; i++) {
        const shmetrics_family_t *f = &c->snap->families[i];
        if (f->nsamples == 0)
            continue;
        if (f->type == SHMETRICS_HISTOGRAM) {
            int rc = group_histogram(f, d);
            if (rc < 0)
                return rc;
            continue;
        }
        struct smx_otlp_metric *m = new_metric(d, f, false);
        if (!m)
            return -ENOMEM;
        for (size_t at = 0; at < f->nsamples;) {
            struct smx_otlp_point *pt = &m->points[m->npoints++];
            if (f->type != SHMETRICS_SUMMARY) {
                pt->attrs = f->samples[at].labels;
                pt->nattrs = f->samples[at].nlabels;
                pt->value = f->samples[at].value;
                at++;
                continue;
            }
            int rc = group_series(f, &at, pt);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- JSON */

/* A double as the protobuf JSON mapping writes it: a number, or the strings
 * "NaN", "Infinity", "-Infinity". */
static void json_double(struct smx_buf *b, double v)
{
    if (isnan(v))
        smx_buf_puts(b, "\"NaN\"");
    else if (isinf(v))
        smx_buf_puts(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        smx_buf_double(b, v);
}

/* 64-bit integers are strings in OTLP/JSON. */
static void json_u64(struct smx_buf *b, uint64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "\"%" PRIu64 "\"", v);
    smx_buf_puts(b, tmp);
}

/* ,"attributes":[...], or nothing when there are none. */
static void json_attrs(struct smx_buf *b, const shmetrics_label_t *l, size_t n)
{
    if (n == 0)
        return;
    smx_buf_puts(b, ",\"attributes\":[");
    for (size_t i = 0; i < n; i++) {
        smx_buf_puts(b, i ? ",{\"key\":" : "{\"key\":");
        smx_buf_json_string(b, l[i].name);
        smx_buf_puts(b, ",\"value\":{\"stringValue\":");
        smx_buf_json_string(b, l[i].value);
        smx_buf_puts(b, "}}");
    }
    smx_buf_putc(b, ']');
}

/* ,"NAME":{"offset":O,"bucketCounts":[...]}, or nothing for a sign
 * without buckets. */
static void json_buckets(struct smx_buf *b, const char *name, int32_t offset, const uint64_t *counts, size_t n)
{
    char tmp[64];
    if (n == 0)
        return;
    snprintf(tmp, sizeof tmp, ",\"%s\":{\"offset\":%d,\"bucketCounts\":[", name, (int)offset);
    smx_buf_puts(b, tmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            smx_buf_putc(b, ',');
        json_u64(b, counts[i]);
    }
    smx_buf_puts(b, "]}");
}

static void json_exponential(struct smx_buf *b, const struct smx_otlp_point *pt)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, ",\"scale\":%d", (int)pt->scale);
    smx_buf_puts(b, tmp);
    smx_buf_puts(b, ",\"zeroCount\":");
    json_u64(b, pt->native->zero_count);
    smx_buf_puts(b, ",\"zeroThreshold\":");
    json_double(b, pt->native->zero_threshold);
    json_buckets(b, "positive", pt->pos_offset, pt->pos, pt->npos);
    json_buckets(b, "negative", pt->neg_offset, pt->neg, pt->nneg);
}

static void json_point(struct smx_buf *b, const struct smx_otlp_doc *d, const shmetrics_family_t *f,
                       const struct smx_otlp_point *pt)
{
    smx_buf_puts(b, "{\"startTimeUnixNano\":");
    json_u64(b, d->start_ns);
    smx_buf_puts(b, ",\"timeUnixNano\":");
    json_u64(b, d->now_ns);
    json_attrs(b, pt->attrs, pt->nattrs);
    if (f->type != SHMETRICS_HISTOGRAM && f->type != SHMETRICS_SUMMARY) {
        smx_buf_puts(b, ",\"asDouble\":");
        json_double(b, pt->value);
    } else {
        smx_buf_puts(b, ",\"count\":");
        json_u64(b, pt->count);
        smx_buf_puts(b, ",\"sum\":");
        json_double(b, pt->sum);
    }
    if (pt->native) {
        json_exponential(b, pt);
    } else if (f->type == SHMETRICS_HISTOGRAM) {
        smx_buf_puts(b, ",\"bucketCounts\":[");
        for (size_t i = 0; i <= pt->n; i++) {
            if (i)
                smx_buf_putc(b, ',');
            json_u64(b, (uint64_t)pt->values[i]);
        }
        smx_buf_puts(b, "],\"explicitBounds\":[");
        for (size_t i = 0; i < pt->n; i++) {
            if (i)
                smx_buf_putc(b, ',');
            json_double(b, pt->bounds[i]);
        }
        smx_buf_putc(b, ']');
    } else if (f->type == SHMETRICS_SUMMARY) {
        smx_buf_puts(b, ",\"quantileValues\":[");
        for (size_t i = 0; i < pt->n; i++) {
            smx_buf_puts(b, i ? ",{\"quantile\":" : "{\"quantile\":");
            json_double(b, pt->bounds[i]);
            smx_buf_puts(b, ",\"value\":");
            json_double(b, pt->values[i]);
            smx_buf_putc(b, '}');
        }
        smx_buf_putc(b, ']');
    }
    smx_buf_putc(b, '}');
}

static void json_encode(struct smx_buf *b, const struct smx_otlp_doc *d)
{
    smx_buf_puts(b, "{\"resourceMetrics\":[{\"resource\":{\"droppedAttributesCount\":0");
    json_attrs(b, d->resource, d->nresource);
    smx_buf_puts(b, "},\"scopeMetrics\":[{\"scope\":{\"name\":\"shmetrics\",\"version\":\"" SHMETRICS_VERSION
                    "\"},\"metrics\":[");
    for (size_t i = 0; i < d->nmetrics; i++) {
        const struct smx_otlp_metric *m = &d->metrics[i];
        const shmetrics_family_t *f = m->fam;
        smx_buf_puts(b, i ? ",{\"name\":" : "{\"name\":");
        smx_buf_json_string(b, f->name);
        smx_buf_puts(b, ",\"description\":");
        smx_buf_json_string(b, f->help ? f->help : "");
        static const char *const kinds[] = {"", "sum", "gauge", "histogram", "summary", "gauge", "gauge"};
        smx_buf_puts(b, ",\"");
        smx_buf_puts(b, m->exponential ? "exponentialHistogram" : kinds[f->type]);
        smx_buf_puts(b, "\":{\"dataPoints\":[");
        for (size_t j = 0; j < m->npoints; j++) {
            if (j)
                smx_buf_putc(b, ',');
            json_point(b, d, f, &m->points[j]);
        }
        smx_buf_putc(b, ']');
        if (f->type == SHMETRICS_COUNTER)
            smx_buf_puts(b, ",\"aggregationTemporality\":2,\"isMonotonic\":true");
        else if (f->type == SHMETRICS_HISTOGRAM)
            smx_buf_puts(b, ",\"aggregationTemporality\":2");
        smx_buf_puts(b, "}}");
    }
    smx_buf_puts(b, "]}]}]}");
}

/* ------------------------------------------------------------- backend */

static void otlp_close(struct shmetrics_pusher *p)
{
    struct otlp *st = p->state;
    smx_http_close(st->http);
    free(st->resource);
    free(st);
    p->state = NULL;
}

static int otlp_open(struct shmetrics_pusher *p)
{
    struct otlp *st = calloc(1, sizeof *st);
    if (!st)
        return smx_fail(-ENOMEM, "out of memory");
    p->state = st;
    bool named = false;
    for (size_t i = 0; i < p->o.nresource; i++)
        named |= strcmp(p->o.resource[i].name, "service.name") == 0;
    st->resource = calloc(p->o.nresource + 1, sizeof *st->resource);
    if (!st->resource) {
        otlp_close(p);
        return smx_fail(-ENOMEM, "out of memory");
    }
    if (!named)
        st->resource[st->nresource++] = (shmetrics_label_t){"service.name", "shmetrics"};
    for (size_t i = 0; i < p->o.nresource; i++)
        st->resource[st->nresource++] = p->o.resource[i];
    char *url;
    int rc = smx_http_url(p->target, "/v1/metrics", &url);
    if (rc == 0) {
        rc = smx_http_open(url, p->headers, p->o.nheaders, p->o.timeout_ms, &p->abort_io, &st->http);
        free(url);
    }
    if (rc < 0)
        otlp_close(p);
    return rc;
}

static int otlp_push(struct shmetrics_pusher *p, struct smx_push_ctx *c)
{
    struct otlp *st = p->state;
    struct smx_otlp_doc d;
    int rc = group(c, st, &d);
    void *body = NULL;
    size_t len = 0;
    bool json = p->o.flags & SHMETRICS_PUSH_OTLP_JSON;
    if (rc == 0 && json) {
        struct smx_buf b = {0};
        json_encode(&b, &d);
        body = b.data;
        len = b.len;
        if (b.oom)
            rc = smx_fail(-ENOMEM, "out of memory");
    } else if (rc == 0) {
        rc = smx_otlp_encode_pb(&d, (uint8_t **)&body, &len);
    }
    if (rc == 0) {
        const char *hdr[] = {json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf"};
        rc = smx_http_post(st->http, hdr, 1, body, len);
    }
    for (size_t i = 0; i < d.nmetrics; i++)
        c->samples += d.metrics[i].npoints;
    c->bytes = len;
    free(body);
    doc_free(&d);
    return rc;
}

const struct smx_backend smx_backend_otlp = {"otlp", otlp_open, otlp_push, NULL, otlp_close};
