/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_remote_write.c - owns the Prometheus remote-write 1.0 backend:
 * one WriteRequest per push (proto/remote_write.proto, compiled by protoc-c
 * at build time), snappy block compression, and the POST with the headers
 * the specification requires.
 *
 * Mapping (docs/push-remote-write.md): every sample of the exposition is
 * one time series with one sample stamped with the push's time, named as
 * in the text format (name_total, name_bucket{le}, name_sum, name_count,
 * name{quantile}); its labels are sorted by name, after the configured
 * extra labels are added.  One metadata entry per family carries its type
 * and help.  A histogram series with native buckets is also one time
 * series named as the family holding one native histogram (integer
 * counts, as Prometheus sends them); a native-only one is that alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "push.h"
#include "remote_write.pb-c.h"

struct rw {
    struct smx_http *http;
};

static void rw_close(struct shmetrics_pusher *p)
{
    struct rw *st = p->state;
    smx_http_close(st->http);
    free(st);
    p->state = NULL;
}

static int rw_open(struct shmetrics_pusher *p)
{
    struct rw *st = calloc(1, sizeof *st);
    if (!st)
        return smx_fail(-ENOMEM, "out of memory");
    p->state = st;
    char *url;
    int rc = smx_http_url(p->target, "/api/v1/write", &url);
    if (rc == 0) {
        rc = smx_http_open(url, p->headers, p->o.nheaders, p->o.timeout_ms, &p->abort_io, &st->http);
        free(url);
    }
    if (rc < 0)
        rw_close(p);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    const Smxrw__Label *x = *(Smxrw__Label *const *)a, *y = *(Smxrw__Label *const *)b;
    return strcmp(x->name, y->name);
}

static const Smxrw__MetricMetadata__MetricType rw_types[] = {
    SMXRW__METRIC_METADATA__METRIC_TYPE__UNKNOWN, SMXRW__METRIC_METADATA__METRIC_TYPE__COUNTER,
    SMXRW__METRIC_METADATA__METRIC_TYPE__GAUGE,   SMXRW__METRIC_METADATA__METRIC_TYPE__HISTOGRAM,
    SMXRW__METRIC_METADATA__METRIC_TYPE__SUMMARY, SMXRW__METRIC_METADATA__METRIC_TYPE__INFO,
    SMXRW__METRIC_METADATA__METRIC_TYPE__STATESET};

/* Everything one request needs, allocated at once. */
struct req {
    Smxrw__WriteRequest wr;
    Smxrw__TimeSeries *ts, **tsp;
    Smxrw__Sample *smp, **smpp;
    Smxrw__Label *lab, **labp;
    Smxrw__MetricMetadata *md, **mdp;
    Smxrw__Histogram *hist, **histp;
    Smxrw__BucketSpan *span, **spanp;
    int64_t *deltas;
    char *names;              /* name + suffix of every sample, NUL-separated */
    size_t s, l, n, h, sp, d; /* what is used of each */
};

static void req_free(struct req *r)
{
    free(r->ts);
    free(r->tsp);
    free(r->smp);
    free(r->smpp);
    free(r->lab);
    free(r->labp);
    free(r->md);
    free(r->mdp);
    free(r->hist);
    free(r->histp);
    free(r->span);
    free(r->spanp);
    free(r->deltas);
    free(r->names);
}

/* What a request holds, counted before it is built. */
struct sizes {
    size_t ser, lab, names, hist, spans, deltas;
};

/* Bytes of r->names a series may take: its name and its labels' names,
 * escaped or not (escaping never makes a name longer).  The extra labels
 * are the caller's, legacy names checked when the pusher was made: they
 * are not copied. */
static size_t names_size(const char *name, const char *suffix, const shmetrics_sample_t *sm)
{
    size_t n = strlen(name) + strlen(suffix) + 1;
    for (size_t k = 0; k < sm->nlabels; k++)
        n += strlen(sm->labels[k].name) + 1;
    return n;
}

/* A name as remote-write 1.0 wants it ([a-zA-Z_:][a-zA-Z0-9_:]* for a
 * metric, no ':' for a label): a UTF-8 name (spec.utf8_names) escaped with
 * underscores, as a scrape that asks for no escaping gets it, into
 * r->names; a legacy one as it is. */
static const char *rw_name(struct req *r, const char *name, const char *suffix, bool metric)
{
    struct smx_buf b = {0};
    smx_buf_name(&b, name, suffix, SMX_ESCAPE_UNDERSCORES, metric, false);
    char *out = r->names + r->n;
    if (b.oom) { /* cannot escape: sent as it is */
        r->n += (size_t)sprintf(out, "%s%s", name, suffix) + 1;
    } else {
        memcpy(out, b.data, b.len);
        out[b.len] = 0;
        r->n += b.len + 1;
    }
    free(b.data);
    return out;
}

/* The next time series: __name__ = name + suffix, the extra labels and
 * the sample's, sorted by name. */
static Smxrw__TimeSeries *add_series(struct shmetrics_pusher *p, struct req *r, const char *name, const char *suffix,
                                     const shmetrics_sample_t *sm)
{
    Smxrw__TimeSeries *t = &r->ts[r->s];
    smxrw__time_series__init(t);
    r->tsp[r->s++] = t;
    t->labels = &r->labp[r->l];
    const char *full = rw_name(r, name, suffix, true);
    size_t first = r->l;
    smxrw__label__init(&r->lab[r->l]);
    r->lab[r->l].name = "__name__";
    r->lab[r->l].value = (char *)full;
    r->labp[r->l] = &r->lab[r->l];
    r->l++;
    for (size_t k = 0; k < p->o.nlabels + sm->nlabels; k++, r->l++) {
        const shmetrics_label_t *src = k < p->o.nlabels ? &p->o.labels[k] : &sm->labels[k - p->o.nlabels];
        smxrw__label__init(&r->lab[r->l]);
        r->lab[r->l].name = k < p->o.nlabels ? (char *)src->name : (char *)rw_name(r, src->name, "", false);
        r->lab[r->l].value = (char *)src->value;
        r->labp[r->l] = &r->lab[r->l];
    }
    t->n_labels = r->l - first;
    qsort(t->labels, t->n_labels, sizeof *t->labels, by_name);
    /* A series label wins over an extra one of the same name. */
    size_t w = 0;
    for (size_t k = 0; k < t->n_labels; k++) {
        if (w && strcmp(t->labels[w - 1]->name, t->labels[k]->name) == 0) {
            bool extra_before = t->labels[w - 1] >= &r->lab[first + 1] &&
                                t->labels[w - 1] < &r->lab[first + 1 + p->o.nlabels];
            if (extra_before)
                t->labels[w - 1] = t->labels[k];
            continue;
        }
        t->labels[w++] = t->labels[k];
    }
    t->n_labels = w;
    return t;
}

/* One sign's spans, and its counts as Prometheus sends integer ones: each
 * bucket minus the one before, the first minus 0. */
static void add_side(struct req *r, const shmetrics_native_span_t *spans, size_t nspans, const uint64_t *counts,
                     size_t n, size_t *n_spans, Smxrw__BucketSpan ***out_spans, size_t *n_deltas, int64_t **deltas)
{
    *out_spans = &r->spanp[r->sp];
    *n_spans = nspans;
    for (size_t i = 0; i < nspans; i++, r->sp++) {
        Smxrw__BucketSpan *b = &r->span[r->sp];
        smxrw__bucket_span__init(b);
        b->has_offset = b->has_length = 1;
        b->offset = spans[i].offset;
        b->length = spans[i].length;
        r->spanp[r->sp] = b;
    }
    *deltas = &r->deltas[r->d];
    *n_deltas = n;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        r->deltas[r->d++] = (int64_t)(counts[i] - prev);
        prev = counts[i];
    }
}

/* The native histogram of a series, as one time series named as the
 * family, with the labels of its _count sample. */
static void add_native(struct shmetrics_pusher *p, struct req *r, const shmetrics_family_t *f,
                       const shmetrics_sample_t *cnt, const shmetrics_native_histogram_t *nh, int64_t ts_ms)
{
    Smxrw__TimeSeries *t = add_series(p, r, f->name, "", cnt);
    Smxrw__Histogram *h = &r->hist[r->h];
    smxrw__histogram__init(h);
    r->histp[r->h++] = h;
    h->has_count_int = h->has_sum = h->has_schema = h->has_zero_threshold = h->has_zero_count_int = 1;
    h->has_reset_hint = h->has_timestamp = 1;
    h->count_int = nh->count;
    h->sum = nh->sum;
    h->schema = nh->schema;
    h->zero_threshold = nh->zero_threshold;
    h->zero_count_int = nh->zero_count;
    /* Prometheus finds resets itself (a count below the last one). */
    h->reset_hint = SMXRW__HISTOGRAM__RESET_HINT__UNKNOWN;
    h->timestamp = ts_ms;
    add_side(r, nh->negative_spans, nh->nnegative_spans, nh->negative, nh->nnegative, &h->n_negative_spans,
             &h->negative_spans, &h->n_negative_deltas, &h->negative_deltas);
    add_side(r, nh->positive_spans, nh->npositive_spans, nh->positive, nh->npositive, &h->n_positive_spans,
             &h->positive_spans, &h->n_positive_deltas, &h->positive_deltas);
    t->n_histograms = 1;
    t->histograms = &r->histp[r->h - 1];
}

/* Walk the snapshot: count what it needs (r NULL) or fill r.  A histogram
 * series with native buckets adds one native series; a native-only one
 * sends nothing else (its lone +Inf bucket, _sum and _count are in it). */
static int walk(struct shmetrics_pusher *p, const struct smx_push_ctx *c, struct req *r, struct sizes *z)
{
    const shmetrics_snapshot_t *snap = c->snap;
    int64_t ts_ms = (int64_t)(c->now_ns / 1000000u);
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        for (size_t j = 0; j < f->nsamples;) {
            size_t end = j + 1;
            bool only = false;
            const shmetrics_native_histogram_t *nh = NULL;
            if (f->type == SHMETRICS_HISTOGRAM) {
                end = smx_hist_series_end(f, j);
                nh = smx_hist_native(f, j, end, &only);
            }
            if (nh && !r) {
                int rc = smx_native_check(f->name, nh);
                if (rc < 0)
                    return rc;
                z->ser++;
                z->hist++;
                z->lab += f->samples[end - 1].nlabels + 1 + p->o.nlabels;
                z->names += names_size(f->name, "", &f->samples[end - 1]);
                z->spans += nh->npositive_spans + nh->nnegative_spans;
                z->deltas += nh->npositive + nh->nnegative;
            } else if (nh) {
                add_native(p, r, f, &f->samples[end - 1], nh, ts_ms);
            }
            for (size_t k = j; k < end && !only; k++) {
                const shmetrics_sample_t *sm = &f->samples[k];
                if (!r) {
                    z->ser++;
                    z->lab += sm->nlabels + 1 + p->o.nlabels;
                    z->names += names_size(f->name, sm->suffix, sm);
                    continue;
                }
                Smxrw__TimeSeries *t = add_series(p, r, f->name, sm->suffix, sm);
                Smxrw__Sample *x = &r->smp[r->s - 1];
                smxrw__sample__init(x);
                x->has_value = x->has_timestamp = 1;
                x->value = sm->value;
                x->timestamp = ts_ms;
                r->smpp[r->s - 1] = x;
                t->n_samples = 1;
                t->samples = &r->smpp[r->s - 1];
            }
            j = end;
        }
    }
    return 0;
}

static int build(struct shmetrics_pusher *p, const struct smx_push_ctx *c, struct req *r)
{
    const shmetrics_snapshot_t *snap = c->snap;
    struct sizes z = {0};
    memset(r, 0, sizeof *r);
    int rc = walk(p, c, NULL, &z);
    if (rc < 0)
        return rc;
    smxrw__write_request__init(&r->wr);
    r->ts = calloc(z.ser + 1, sizeof *r->ts);
    r->tsp = calloc(z.ser + 1, sizeof *r->tsp);
    r->smp = calloc(z.ser + 1, sizeof *r->smp);
    r->smpp = calloc(z.ser + 1, sizeof *r->smpp);
    r->lab = calloc(z.lab + 1, sizeof *r->lab);
    r->labp = calloc(z.lab + 1, sizeof *r->labp);
    r->md = calloc(snap->nfamilies + 1, sizeof *r->md);
    r->mdp = calloc(snap->nfamilies + 1, sizeof *r->mdp);
    r->hist = calloc(z.hist + 1, sizeof *r->hist);
    r->histp = calloc(z.hist + 1, sizeof *r->histp);
    r->span = calloc(z.spans + 1, sizeof *r->span);
    r->spanp = calloc(z.spans + 1, sizeof *r->spanp);
    r->deltas = calloc(z.deltas + 1, sizeof *r->deltas);
    r->names = malloc(z.names + 1);
    if (!r->ts || !r->tsp || !r->smp || !r->smpp || !r->lab || !r->labp || !r->md || !r->mdp || !r->hist || !r->histp ||
        !r->span || !r->spanp || !r->deltas || !r->names)
        return smx_fail(-ENOMEM, "out of memory for %zu series", z.ser);
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        Smxrw__MetricMetadata *md = &r->md[i];
        smxrw__metric_metadata__init(md);
        md->has_type = 1;
        md->type = rw_types[f->type <= SHMETRICS_STATESET ? f->type : 0];
        md->metric_family_name = (char *)f->name;
        md->help = (char *)(f->help ? f->help : "");
        r->mdp[i] = md;
    }
    walk(p, c, r, &z);
    r->wr.n_timeseries = r->s;
    r->wr.timeseries = r->tsp;
    r->wr.n_metadata = snap->nfamilies;
    r->wr.metadata = r->mdp;
    return 0;
}

static int rw_push(struct shmetrics_pusher *p, struct smx_push_ctx *c)
{
    struct rw *st = p->state;
    struct req r;
    int rc = build(p, c, &r);
    uint8_t *pb = NULL;
    char *z = NULL;
    size_t pblen = 0, zlen = 0;
    if (rc == 0) {
        pblen = smxrw__write_request__get_packed_size(&r.wr);
        pb = malloc(pblen ? pblen : 1);
        zlen = snappy_max_compressed_length(pblen);
        z = malloc(zlen ? zlen : 1);
        if (!pb || !z)
            rc = smx_fail(-ENOMEM, "out of memory for a request of %zu bytes", pblen);
    }
    if (rc == 0) {
        smxrw__write_request__pack(&r.wr, pb);
        if (snappy_compress((const char *)pb, pblen, z, &zlen) != SNAPPY_OK)
            rc = smx_fail(-EIO, "snappy could not compress %zu bytes", pblen);
    }
    if (rc == 0) {
        static const char *const hdr[] = {"Content-Type: application/x-protobuf", "Content-Encoding: snappy",
                                          "X-Prometheus-Remote-Write-Version: 0.1.0"};
        rc = smx_http_post(st->http, hdr, 3, z, zlen);
    }
    c->samples = r.wr.n_timeseries;
    c->bytes = zlen;
    free(pb);
    free(z);
    req_free(&r);
    return rc;
}

const struct smx_backend smx_backend_remote_write = {"remote-write", rw_open, rw_push, NULL, rw_close};
