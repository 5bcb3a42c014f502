/* SPDX-License-Identifier: MIT */
/*
 * src/push/push_otlp_pb.c - owns the OTLP protobuf encoding: the points that
 * src/push/push_otlp.c grouped, as an ExportMetricsServiceRequest (the subset
 * in proto/otlp_metrics.proto, compiled by protoc-c at build time); a
 * native histogram's point is an ExponentialHistogramDataPoint.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "otlp_metrics.pb-c.h"
#include "push.h"

/* Every allocation of one encoding, freed together. */
struct pool {
    void **ptr;
    size_t n, cap;
    bool oom;
};

static void *pool_get(struct pool *p, size_t size)
{
    if (p->oom)
        return NULL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        void **np = realloc(p->ptr, cap * sizeof *np);
        if (!np) {
            p->oom = true;
            return NULL;
        }
        p->ptr = np;
        p->cap = cap;
    }
    void *m = calloc(1, size ? size : 1);
    if (!m) {
        p->oom = true;
        return NULL;
    }
    p->ptr[p->n++] = m;
    return m;
}

static void pool_free(struct pool *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->ptr[i]);
    free(p->ptr);
}

static Smxotlp__KeyValue **attrs(struct pool *pl, const shmetrics_label_t *l, size_t n)
{
    Smxotlp__KeyValue **kv = pool_get(pl, n * sizeof *kv);
    for (size_t i = 0; kv && i < n; i++) {
        Smxotlp__KeyValue *k = pool_get(pl, sizeof *k);
        Smxotlp__AnyValue *v = pool_get(pl, sizeof *v);
        if (!k || !v)
            return NULL;
        smxotlp__key_value__init(k);
        smxotlp__any_value__init(v);
        v->value_case = SMXOTLP__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = (char *)l[i].value;
        k->key = (char *)l[i].name;
        k->value = v;
        kv[i] = k;
    }
    return kv;
}

static void *number_points(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m)
{
    Smxotlp__NumberDataPoint **pts = pool_get(pl, m->npoints * sizeof *pts);
    for (size_t i = 0; pts && i < m->npoints; i++) {
        Smxotlp__NumberDataPoint *pt = pool_get(pl, sizeof *pt);
        if (!pt)
            return NULL;
        smxotlp__number_data_point__init(pt);
        pt->n_attributes = m->points[i].nattrs;
        pt->attributes = attrs(pl, m->points[i].attrs, m->points[i].nattrs);
        pt->has_start_time_unix_nano = pt->has_time_unix_nano = 1;
        pt->start_time_unix_nano = d->start_ns;
        pt->time_unix_nano = d->now_ns;
        pt->value_case = SMXOTLP__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
        pt->as_double = m->points[i].value;
        pts[i] = pt;
    }
    return pts;
}

static void *histogram_points(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m)
{
    Smxotlp__HistogramDataPoint **pts = pool_get(pl, m->npoints * sizeof *pts);
    for (size_t i = 0; pts && i < m->npoints; i++) {
        const struct smx_otlp_point *src = &m->points[i];
        Smxotlp__HistogramDataPoint *pt = pool_get(pl, sizeof *pt);
        uint64_t *counts = pool_get(pl, (src->n + 1) * sizeof *counts);
        if (!pt || !counts)
            return NULL;
        smxotlp__histogram_data_point__init(pt);
        pt->n_attributes = src->nattrs;
        pt->attributes = attrs(pl, src->attrs, src->nattrs);
        pt->has_start_time_unix_nano = pt->has_time_unix_nano = pt->has_count = pt->has_sum = 1;
        pt->start_time_unix_nano = d->start_ns;
        pt->time_unix_nano = d->now_ns;
        pt->count = src->count;
        pt->sum = src->sum;
        for (size_t b = 0; b <= src->n; b++)
            counts[b] = (uint64_t)src->values[b];
        pt->n_bucket_counts = src->n + 1;
        pt->bucket_counts = counts;
        pt->n_explicit_bounds = src->n;
        pt->explicit_bounds = src->bounds;
        pts[i] = pt;
    }
    return pts;
}

static Smxotlp__ExponentialHistogramDataPoint__Buckets *buckets(struct pool *pl, int32_t offset, uint64_t *counts,
                                                                size_t n)
{
    if (n == 0) /* a sign without buckets is left out */
        return NULL;
    Smxotlp__ExponentialHistogramDataPoint__Buckets *b = pool_get(pl, sizeof *b);
    if (!b)
        return NULL;
    smxotlp__exponential_histogram_data_point__buckets__init(b);
    b->has_offset = 1;
    b->offset = offset;
    b->n_bucket_counts = n;
    b->bucket_counts = counts;
    return b;
}

/* Native histograms: scale, zero bucket and the dense buckets that
 * src/push/push_otlp.c laid out. */
static void *exponential_points(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m)
{
    Smxotlp__ExponentialHistogramDataPoint **pts = pool_get(pl, m->npoints * sizeof *pts);
    for (size_t i = 0; pts && i < m->npoints; i++) {
        const struct smx_otlp_point *src = &m->points[i];
        Smxotlp__ExponentialHistogramDataPoint *pt = pool_get(pl, sizeof *pt);
        if (!pt)
            return NULL;
        smxotlp__exponential_histogram_data_point__init(pt);
        pt->n_attributes = src->nattrs;
        pt->attributes = attrs(pl, src->attrs, src->nattrs);
        pt->has_start_time_unix_nano = pt->has_time_unix_nano = pt->has_count = pt->has_sum = 1;
        pt->has_scale = pt->has_zero_count = pt->has_zero_threshold = 1;
        pt->start_time_unix_nano = d->start_ns;
        pt->time_unix_nano = d->now_ns;
        pt->count = src->count;
        pt->sum = src->sum;
        pt->scale = src->scale;
        pt->zero_count = src->native->zero_count;
        pt->zero_threshold = src->native->zero_threshold;
        pt->positive = buckets(pl, src->pos_offset, src->pos, src->npos);
        pt->negative = buckets(pl, src->neg_offset, src->neg, src->nneg);
        pts[i] = pt;
    }
    return pts;
}

static void *summary_points(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m)
{
    Smxotlp__SummaryDataPoint **pts = pool_get(pl, m->npoints * sizeof *pts);
    for (size_t i = 0; pts && i < m->npoints; i++) {
        const struct smx_otlp_point *src = &m->points[i];
        Smxotlp__SummaryDataPoint *pt = pool_get(pl, sizeof *pt);
        Smxotlp__ValueAtQuantile **qv = pool_get(pl, src->n * sizeof *qv);
        if (!pt || !qv)
            return NULL;
        smxotlp__summary_data_point__init(pt);
        pt->n_attributes = src->nattrs;
        pt->attributes = attrs(pl, src->attrs, src->nattrs);
        pt->has_start_time_unix_nano = pt->has_time_unix_nano = pt->has_count = pt->has_sum = 1;
        pt->start_time_unix_nano = d->start_ns;
        pt->time_unix_nano = d->now_ns;
        pt->count = src->count;
        pt->sum = src->sum;
        for (size_t q = 0; q < src->n; q++) {
            Smxotlp__ValueAtQuantile *v = pool_get(pl, sizeof *v);
            if (!v)
                return NULL;
            smxotlp__value_at_quantile__init(v);
            v->has_quantile = v->has_value = 1;
            v->quantile = src->bounds[q];
            v->value = src->values[q];
            qv[q] = v;
        }
        pt->n_quantile_values = src->n;
        pt->quantile_values = qv;
        pts[i] = pt;
    }
    return pts;
}

static bool histogram_metric(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m,
                             Smxotlp__Metric *out)
{
    Smxotlp__Histogram *h = pool_get(pl, sizeof *h);
    if (!h)
        return false;
    smxotlp__histogram__init(h);
    h->has_aggregation_temporality = 1;
    h->aggregation_temporality = SMXOTLP__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    h->n_data_points = m->npoints;
    h->data_points = histogram_points(pl, d, m);
    out->data_case = SMXOTLP__METRIC__DATA_HISTOGRAM;
    out->histogram = h;
    return true;
}

static bool exponential_metric(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m,
                               Smxotlp__Metric *out)
{
    Smxotlp__ExponentialHistogram *e = pool_get(pl, sizeof *e);
    if (!e)
        return false;
    smxotlp__exponential_histogram__init(e);
    e->has_aggregation_temporality = 1;
    e->aggregation_temporality = SMXOTLP__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
    e->n_data_points = m->npoints;
    e->data_points = exponential_points(pl, d, m);
    out->data_case = SMXOTLP__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
    out->exponential_histogram = e;
    return true;
}

static Smxotlp__Metric *metric(struct pool *pl, const struct smx_otlp_doc *d, const struct smx_otlp_metric *m)
{
    Smxotlp__Metric *out = pool_get(pl, sizeof *out);
    if (!out)
        return NULL;
    smxotlp__metric__init(out);
    out->name = (char *)m->fam->name;
    out->description = (char *)(m->fam->help ? m->fam->help : "");
    switch (m->fam->type) {
    case SHMETRICS_COUNTER: {
        Smxotlp__Sum *s = pool_get(pl, sizeof *s);
        if (!s)
            return NULL;
        smxotlp__sum__init(s);
        s->has_aggregation_temporality = s->has_is_monotonic = 1;
        s->aggregation_temporality = SMXOTLP__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
        s->is_monotonic = 1;
        s->n_data_points = m->npoints;
        s->data_points = number_points(pl, d, m);
        out->data_case = SMXOTLP__METRIC__DATA_SUM;
        out->sum = s;
        break;
    }
    case SHMETRICS_GAUGE:
    case SHMETRICS_INFO: /* OTLP has neither: gauges, as Prometheus reads them */
    case SHMETRICS_STATESET: {
        Smxotlp__Gauge *g = pool_get(pl, sizeof *g);
        if (!g)
            return NULL;
        smxotlp__gauge__init(g);
        g->n_data_points = m->npoints;
        g->data_points = number_points(pl, d, m);
        out->data_case = SMXOTLP__METRIC__DATA_GAUGE;
        out->gauge = g;
        break;
    }
    case SHMETRICS_HISTOGRAM:
        if (!(m->exponential ? exponential_metric(pl, d, m, out) : histogram_metric(pl, d, m, out)))
            return NULL;
        break;
    case SHMETRICS_SUMMARY: {
        Smxotlp__Summary *s = pool_get(pl, sizeof *s);
        if (!s)
            return NULL;
        smxotlp__summary__init(s);
        s->n_data_points = m->npoints;
        s->data_points = summary_points(pl, d, m);
        out->data_case = SMXOTLP__METRIC__DATA_SUMMARY;
        out->summary = s;
        break;
    }
    }
    return out;
}

int smx_otlp_encode_pb(const struct smx_otlp_doc *d, uint8_t **out, size_t *len)
{
    struct pool pl = {0};
    Smxotlp__ExportMetricsServiceRequest req = SMXOTLP__EXPORT_METRICS_SERVICE_REQUEST__INIT;
    Smxotlp__ResourceMetrics rm = SMXOTLP__RESOURCE_METRICS__INIT, *rmp = &rm;
    Smxotlp__Resource res = SMXOTLP__RESOURCE__INIT;
    Smxotlp__ScopeMetrics sm = SMXOTLP__SCOPE_METRICS__INIT, *smp = &sm;
    Smxotlp__InstrumentationScope scope = SMXOTLP__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "shmetrics";
    scope.version = SHMETRICS_VERSION;
    res.n_attributes = d->nresource;
    res.attributes = attrs(&pl, d->resource, d->nresource);
    sm.scope = &scope;
    sm.n_metrics = d->nmetrics;
    sm.metrics = pool_get(&pl, d->nmetrics * sizeof *sm.metrics);
    for (size_t i = 0; sm.metrics && i < d->nmetrics; i++)
        sm.metrics[i] = metric(&pl, d, &d->metrics[i]);
    rm.resource = &res;
    rm.n_scope_metrics = 1;
    rm.scope_metrics = &smp;
    req.n_resource_metrics = 1;
    req.resource_metrics = &rmp;
    int rc = 0;
    if (pl.oom) {
        rc = smx_fail(-ENOMEM, "out of memory");
    } else {
        *len = smxotlp__export_metrics_service_request__get_packed_size(&req);
        *out = malloc(*len ? *len : 1);
        if (!*out)
            rc = smx_fail(-ENOMEM, "out of memory");
        else
            smxotlp__export_metrics_service_request__pack(&req, *out);
    }
    pool_free(&pl);
    return rc;
}
