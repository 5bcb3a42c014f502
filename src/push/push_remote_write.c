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
 * and help.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *names; /* name + suffix of every sample, NUL-separated */
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
    free(r->names);
}

static int build(struct shmetrics_pusher *p, const struct smx_push_ctx *c, struct req *r)
{
    const shmetrics_snapshot_t *snap = c->snap;
    size_t nser = 0, nlab = 0, nnames = 0;
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        for (size_t j = 0; j < f->nsamples; j++) {
            nser++;
            nlab += f->samples[j].nlabels + 1 + p->o.nlabels;
            nnames += strlen(f->name) + strlen(f->samples[j].suffix) + 1;
        }
    }
    memset(r, 0, sizeof *r);
    smxrw__write_request__init(&r->wr);
    r->ts = calloc(nser + 1, sizeof *r->ts);
    r->tsp = calloc(nser + 1, sizeof *r->tsp);
    r->smp = calloc(nser + 1, sizeof *r->smp);
    r->smpp = calloc(nser + 1, sizeof *r->smpp);
    r->lab = calloc(nlab + 1, sizeof *r->lab);
    r->labp = calloc(nlab + 1, sizeof *r->labp);
    r->md = calloc(snap->nfamilies + 1, sizeof *r->md);
    r->mdp = calloc(snap->nfamilies + 1, sizeof *r->mdp);
    r->names = malloc(nnames + 1);
    if (!r->ts || !r->tsp || !r->smp || !r->smpp || !r->lab || !r->labp || !r->md || !r->mdp || !r->names)
        return smx_fail(-ENOMEM, "out of memory for %zu series", nser);
    int64_t ts_ms = (int64_t)(c->now_ns / 1000000u);
    size_t s = 0, l = 0, n = 0;
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        Smxrw__MetricMetadata *md = &r->md[i];
        smxrw__metric_metadata__init(md);
        md->has_type = 1;
        md->type = rw_types[f->type <= SHMETRICS_STATESET ? f->type : 0];
        md->metric_family_name = (char *)f->name;
        md->help = (char *)(f->help ? f->help : "");
        r->mdp[i] = md;
        for (size_t j = 0; j < f->nsamples; j++, s++) {
            const shmetrics_sample_t *sm = &f->samples[j];
            Smxrw__TimeSeries *t = &r->ts[s];
            smxrw__time_series__init(t);
            smxrw__sample__init(&r->smp[s]);
            r->smp[s].has_value = r->smp[s].has_timestamp = 1;
            r->smp[s].value = sm->value;
            r->smp[s].timestamp = ts_ms;
            r->smpp[s] = &r->smp[s];
            t->n_samples = 1;
            t->samples = &r->smpp[s];
            t->labels = &r->labp[l];
            char *name = r->names + n;
            n += (size_t)sprintf(name, "%s%s", f->name, sm->suffix) + 1;
            size_t first = l;
            smxrw__label__init(&r->lab[l]);
            r->lab[l].name = "__name__";
            r->lab[l].value = name;
            r->labp[l] = &r->lab[l];
            l++;
            for (size_t k = 0; k < p->o.nlabels + sm->nlabels; k++, l++) {
                const shmetrics_label_t *src = k < p->o.nlabels ? &p->o.labels[k] : &sm->labels[k - p->o.nlabels];
                smxrw__label__init(&r->lab[l]);
                r->lab[l].name = (char *)src->name;
                r->lab[l].value = (char *)src->value;
                r->labp[l] = &r->lab[l];
            }
            t->n_labels = l - first;
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
            r->tsp[s] = t;
        }
    }
    r->wr.n_timeseries = nser;
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
