/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_protobuf.c - the protobuf exposition format read back through
 * the code protoc-c generates from proto/metrics.proto (the encoder writes
 * the wire format by hand): the delimited framing, every field of every
 * family type as exact values, lengths that need more than one varint byte,
 * and the cases only a snapshot built by hand has (a +Inf bucket that is
 * not the count, counts that are not whole, families without samples or of
 * an unknown type); creation times, units, info and stateset families.
 */
#include <math.h>
#include <time.h>

#include "common.h"
#include "metrics.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily family_t;
typedef Io__Prometheus__Client__Metric metric_t;

#define PB_COUNTER IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER
#define PB_GAUGE IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE
#define PB_SUMMARY IO__PROMETHEUS__CLIENT__METRIC_TYPE__SUMMARY
#define PB_UNTYPED IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED
#define PB_HISTOGRAM IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM

#define MAX_FAMILIES 16

struct decoded {
    family_t *f[MAX_FAMILIES];
    size_t n;
    size_t prefix_bytes[MAX_FAMILIES]; /* the varint length of each message */
};

/* Split a delimited stream and unpack every message; the stream must end
 * exactly after the last one. */
static void decode(const char *body, size_t len, struct decoded *d)
{
    const uint8_t *p = (const uint8_t *)body;
    size_t pos = 0;
    d->n = 0;
    while (pos < len) {
        uint64_t n = 0;
        size_t start = pos;
        for (int shift = 0;; shift += 7) {
            cr_assert(pos < len && shift < 64, "a whole varint at %zu", start);
            n |= (uint64_t)(p[pos] & 0x7f) << shift;
            if (p[pos++] < 0x80)
                break;
        }
        cr_assert(n <= len - pos, "message %zu: %llu bytes at %zu, %zu left", d->n, (unsigned long long)n, pos,
                  len - pos);
        cr_assert(d->n < MAX_FAMILIES);
        d->prefix_bytes[d->n] = pos - start;
        d->f[d->n] = io__prometheus__client__metric_family__unpack(NULL, (size_t)n, p + pos);
        cr_assert_not_null(d->f[d->n], "message %zu unpacks", d->n);
        d->n++;
        pos += (size_t)n;
    }
    cr_assert_eq(pos, len);
}

static void decoded_free(struct decoded *d)
{
    for (size_t i = 0; i < d->n; i++)
        io__prometheus__client__metric_family__free_unpacked(d->f[i], NULL);
}

static void encode_decode(const shmetrics_snapshot_t *snap, struct decoded *d)
{
    char *body = NULL;
    size_t len = 0;
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_PROTOBUF, &body, &len), 0, "%s", shmetrics_errmsg());
    decode(body, len, d);
    free(body);
}

static void assert_label(const metric_t *m, size_t i, const char *name, const char *value)
{
    cr_assert(i < m->n_label, "label %zu of %zu", i, m->n_label);
    cr_assert_str_eq(m->label[i]->name, name);
    cr_assert_str_eq(m->label[i]->value, value);
}

/* No field a classic exposition leaves unset is set. */
static void assert_plain(const metric_t *m)
{
    cr_assert(!m->has_timestamp_ms);
    if (m->histogram) {
        const Io__Prometheus__Client__Histogram *h = m->histogram;
        cr_assert(!h->has_schema && !h->has_zero_threshold && !h->has_zero_count && !h->has_zero_count_float);
        cr_assert(!h->n_positive_span && !h->n_negative_span && !h->n_positive_delta && !h->n_negative_delta);
        cr_assert(!h->n_positive_count && !h->n_negative_count && !h->n_exemplars);
    }
    /* created_timestamp: tests/unit_types.c. */
    if (m->counter)
        cr_assert(!m->counter->exemplar);
}

Test(protobuf, arena_families_decode_field_for_field)
{
    const char *path = test_arena_path("pb-fields");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    const char *req_labels[] = {"code", "method"};
    shmetrics_spec_t cs = {.name = "req_total", .help = "Requests.", .label_names = req_labels, .nlabels = 2};
    shmetrics_spec_t qs = {.name = "queue", .help = "Queue \"depth\"\\n.", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_spec_t ws = {.name = "workers_busy", .help = "Busy.", .gauge_mode = SHMETRICS_MODE_ALL};
    const char *h_labels[] = {"handler"};
    const double bounds[] = {0.1, 1, 1e6};
    shmetrics_spec_t hs = {.name = "lat_seconds",
                           .help = "Latency.",
                           .label_names = h_labels,
                           .nlabels = 1,
                           .buckets = bounds,
                           .nbuckets = 3};
    const double qs_[] = {0.5, 0.99};
    shmetrics_spec_t ss = {.name = "ttft_seconds", .help = "TTFT.", .quantiles = qs_, .nquantiles = 2};
    shmetrics_counter_t *c;
    shmetrics_gauge_t *q, *w;
    shmetrics_histogram_t *h;
    shmetrics_summary_t *s;
    cr_assert_eq(shmetrics_counter_register(r, &cs, &c), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_gauge_register(r, &qs, &q), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_gauge_register(r, &ws, &w), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_register(r, &hs, &h), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_summary_register(r, &ss, &s), 0, "%s", shmetrics_errmsg());
    shmetrics_counter_series_t *c1, *c2;
    shmetrics_gauge_series_t *qv, *wv;
    shmetrics_histogram_series_t *hv;
    shmetrics_summary_series_t *sv;
    cr_assert_eq(shmetrics_counter_labels(c, &c1, "200", "GET", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &c2, "500", "POST", NULL), 0);
    cr_assert_eq(shmetrics_gauge_labels(q, &qv, NULL), 0);
    cr_assert_eq(shmetrics_gauge_labels(w, &wv, NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(h, &hv, "/a", NULL), 0);
    cr_assert_eq(shmetrics_summary_labels(s, &sv, NULL), 0);
    shmetrics_counter_add(c1, 3);
    shmetrics_counter_add(c2, 5);
    shmetrics_gauge_set(qv, 7.5);
    shmetrics_gauge_set(wv, 2);
    shmetrics_histogram_observe(hv, 0.05);
    shmetrics_histogram_observe(hv, 0.5);
    shmetrics_histogram_observe(hv, 0.5);
    shmetrics_histogram_observe(hv, 2e6);
    uint64_t now = 1000000000000ull;
    shmetrics_summary_observe_at(sv, 0.25, now);
    shmetrics_summary_observe_at(sv, 0.25, now);

    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect_at(r, now, &snap), 0, "%s", shmetrics_errmsg());
    struct decoded d;
    encode_decode(snap, &d);
    shmetrics_snapshot_free(snap);

    cr_assert_eq(d.n, 5, "one message per family: %zu", d.n);
    for (size_t i = 0; i < d.n; i++) {
        cr_assert_eq(d.f[i]->base.n_unknown_fields, 0);
        cr_assert(d.f[i]->has_type, "family %zu has its type", i);
        cr_assert_null(d.f[i]->unit);
        for (size_t j = 0; j < d.f[i]->n_metric; j++)
            assert_plain(d.f[i]->metric[j]);
    }

    /* The counter family is named like its samples. */
    family_t *f = d.f[0];
    cr_assert_str_eq(f->name, "req_total");
    cr_assert_str_eq(f->help, "Requests.");
    cr_assert_eq(f->type, PB_COUNTER);
    cr_assert_eq(f->n_metric, 2);
    assert_label(f->metric[0], 0, "code", "200");
    assert_label(f->metric[0], 1, "method", "GET");
    cr_assert_eq(f->metric[0]->n_label, 2);
    cr_assert(f->metric[0]->counter && f->metric[0]->counter->has_value);
    cr_assert_eq(f->metric[0]->counter->value, 3.0);
    assert_label(f->metric[1], 0, "code", "500");
    assert_label(f->metric[1], 1, "method", "POST");
    cr_assert_eq(f->metric[1]->counter->value, 5.0);
    cr_assert(!f->metric[0]->gauge && !f->metric[0]->histogram && !f->metric[0]->summary && !f->metric[0]->untyped);

    /* Help text goes as it is, without the text format's escapes. */
    f = d.f[1];
    cr_assert_str_eq(f->name, "queue");
    cr_assert_str_eq(f->help, "Queue \"depth\"\\n.");
    cr_assert_eq(f->type, PB_GAUGE);
    cr_assert_eq(f->n_metric, 1);
    cr_assert_eq(f->metric[0]->n_label, 0);
    cr_assert(f->metric[0]->gauge && f->metric[0]->gauge->has_value);
    cr_assert_eq(f->metric[0]->gauge->value, 7.5);

    /* Mode all: one metric per process, with its pid. */
    f = d.f[2];
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    cr_assert_str_eq(f->name, "workers_busy");
    cr_assert_eq(f->type, PB_GAUGE);
    cr_assert_eq(f->n_metric, 1);
    cr_assert_eq(f->metric[0]->n_label, 1);
    assert_label(f->metric[0], 0, "pid", pid);
    cr_assert_eq(f->metric[0]->gauge->value, 2.0);

    /* The histogram: labels without le, the finite buckets, no +Inf. */
    f = d.f[3];
    cr_assert_str_eq(f->name, "lat_seconds");
    cr_assert_str_eq(f->help, "Latency.");
    cr_assert_eq(f->type, PB_HISTOGRAM);
    cr_assert_eq(f->n_metric, 1);
    cr_assert_eq(f->metric[0]->n_label, 1);
    assert_label(f->metric[0], 0, "handler", "/a");
    const Io__Prometheus__Client__Histogram *hg = f->metric[0]->histogram;
    cr_assert_not_null(hg);
    cr_assert(hg->has_sample_count && !hg->has_sample_count_float);
    cr_assert_eq(hg->sample_count, 4);
    cr_assert(hg->has_sample_sum);
    cr_assert_eq(hg->sample_sum, 0.05 + 0.5 + 0.5 + 2e6);
    cr_assert_eq(hg->n_bucket, 3, "the finite buckets only: %zu", hg->n_bucket);
    const double want_bound[] = {0.1, 1, 1e6};
    const uint64_t want_count[] = {1, 3, 3};
    for (size_t i = 0; i < 3; i++) {
        cr_assert(hg->bucket[i]->has_cumulative_count && !hg->bucket[i]->has_cumulative_count_float);
        cr_assert_eq(hg->bucket[i]->cumulative_count, want_count[i], "bucket %zu: %llu", i,
                     (unsigned long long)hg->bucket[i]->cumulative_count);
        cr_assert(hg->bucket[i]->has_upper_bound);
        cr_assert_eq(hg->bucket[i]->upper_bound, want_bound[i]);
        cr_assert_null(hg->bucket[i]->exemplar);
    }

    /* The summary: count, sum, the quantiles in order. */
    f = d.f[4];
    cr_assert_str_eq(f->name, "ttft_seconds");
    cr_assert_eq(f->type, PB_SUMMARY);
    cr_assert_eq(f->n_metric, 1);
    cr_assert_eq(f->metric[0]->n_label, 0);
    const Io__Prometheus__Client__Summary *sm = f->metric[0]->summary;
    cr_assert_not_null(sm);
    cr_assert(sm->has_sample_count && sm->has_sample_sum);
    cr_assert_eq(sm->sample_count, 2);
    cr_assert_eq(sm->sample_sum, 0.5);
    cr_assert_eq(sm->n_quantile, 2);
    cr_assert_eq(sm->quantile[0]->quantile, 0.5);
    cr_assert_eq(sm->quantile[0]->value, 0.251953125);
    cr_assert_eq(sm->quantile[1]->quantile, 0.99);
    cr_assert_eq(sm->quantile[1]->value, 0.251953125);

    decoded_free(&d);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* 300 series of a histogram, with long label values: each Metric needs a
 * two-byte length, the family a three-byte one. */
Test(protobuf, long_messages_take_longer_length_prefixes)
{
    const char *path = test_arena_path("pb-long");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    const char *labels[] = {"path"};
    shmetrics_spec_t hs = {.name = "big_seconds", .help = "Big.", .label_names = labels, .nlabels = 1};
    shmetrics_histogram_t *h;
    cr_assert_eq(shmetrics_histogram_register(r, &hs, &h), 0, "%s", shmetrics_errmsg());
    char value[200];
    for (int i = 0; i < 300; i++) {
        snprintf(value, sizeof value, "/%0150d/%03d", 0, i);
        shmetrics_histogram_series_t *s;
        cr_assert_eq(shmetrics_histogram_labels(h, &s, value, NULL), 0, "%s", shmetrics_errmsg());
        for (int k = 0; k <= i % 7; k++)
            shmetrics_histogram_observe(s, 0.3);
    }
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0, "%s", shmetrics_errmsg());
    struct decoded d;
    encode_decode(snap, &d);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(d.n, 1);
    cr_assert_eq(d.prefix_bytes[0], 3, "a family of over 16 KiB: a 3-byte length (%zu)", d.prefix_bytes[0]);
    family_t *f = d.f[0];
    cr_assert_eq(f->n_metric, 300);
    for (size_t i = 0; i < 300; i++) {
        snprintf(value, sizeof value, "/%0150d/%03zu", 0, i);
        const metric_t *m = f->metric[i];
        cr_assert_eq(m->n_label, 1);
        assert_label(m, 0, "path", value);
        cr_assert_eq(m->histogram->sample_count, i % 7 + 1);
        cr_assert_eq(m->histogram->n_bucket, SHMETRICS_DEFAULT_NBUCKETS);
        /* 0.3 falls in (0.25, 0.5]: buckets 0.5 and up hold every one. */
        for (size_t b = 0; b < SHMETRICS_DEFAULT_NBUCKETS; b++)
            cr_assert_eq(m->histogram->bucket[b]->cumulative_count, SHMETRICS_DEFAULT_BUCKETS[b] < 0.3 ? 0 : i % 7 + 1,
                         "series %zu bucket %zu", i, b);
    }
    decoded_free(&d);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* What only a snapshot built by hand can hold. */
Test(protobuf, hand_built_snapshot_keeps_the_text_formats_values)
{
    static const shmetrics_label_t le1[] = {{"x", "a"}, {"le", "1.0"}};
    static const shmetrics_label_t leinf[] = {{"x", "a"}, {"le", "+Inf"}};
    static const shmetrics_label_t xa[] = {{"x", "a"}};
    static const shmetrics_label_t q5[] = {{"quantile", "0.5"}};
    /* +Inf (5) is not the count (4): the bucket is sent, as it is. */
    static const shmetrics_sample_t odd[] = {{"_bucket", 2, le1, 2.5, 0, NULL, NULL},
                                             {"_bucket", 2, leinf, 5, 0, NULL, NULL},
                                             {"_sum", 1, xa, 1.5, 0, NULL, NULL},
                                             {"_count", 1, xa, 4, 0, NULL, NULL}};
    static const shmetrics_sample_t sum[] = {{"", 1, q5, NAN, 0, NULL, NULL},
                                             {"_sum", 0, NULL, -1, 0, NULL, NULL},
                                             {"_count", 0, NULL, 2.6, 0, NULL, NULL}};
    static const shmetrics_sample_t weird[] = {{"", 0, NULL, 1, 0, NULL, NULL}, {"", 1, xa, 2, 0, NULL, NULL}};
    static const shmetrics_family_t fams[] = {
        {.name = "odd", .help = "", .type = SHMETRICS_HISTOGRAM, .nsamples = 4, .samples = odd},
        {.name = "empty", .help = "none", .type = SHMETRICS_GAUGE, .nsamples = 0, .samples = NULL},
        {.name = "sm", .help = "s", .type = SHMETRICS_SUMMARY, .nsamples = 3, .samples = sum},
        {.name = "weird", .help = "w", .type = (shmetrics_type_t)99, .nsamples = 2, .samples = weird},
    };
    shmetrics_snapshot_t snap = {.nfamilies = 4, .families = fams};
    struct decoded d;
    encode_decode(&snap, &d);
    cr_assert_eq(d.n, 3, "the family without samples is left out: %zu", d.n);

    family_t *f = d.f[0];
    cr_assert_str_eq(f->name, "odd");
    cr_assert_str_eq(f->help, "");
    const Io__Prometheus__Client__Histogram *h = f->metric[0]->histogram;
    cr_assert_eq(f->metric[0]->n_label, 1);
    assert_label(f->metric[0], 0, "x", "a");
    cr_assert(h->has_sample_count && h->sample_count == 4);
    cr_assert_eq(h->n_bucket, 2);
    cr_assert(h->bucket[0]->has_cumulative_count_float && !h->bucket[0]->has_cumulative_count);
    cr_assert_eq(h->bucket[0]->cumulative_count_float, 2.5);
    cr_assert_eq(h->bucket[0]->upper_bound, 1.0);
    cr_assert_eq(h->bucket[1]->cumulative_count, 5);
    cr_assert(isinf(h->bucket[1]->upper_bound) && h->bucket[1]->upper_bound > 0);

    f = d.f[1];
    cr_assert_str_eq(f->name, "sm");
    cr_assert_eq(f->type, PB_SUMMARY);
    const Io__Prometheus__Client__Summary *s = f->metric[0]->summary;
    cr_assert_eq(s->sample_count, 3, "2.6 rounds to 3: %llu", (unsigned long long)s->sample_count);
    cr_assert_eq(s->sample_sum, -1.0);
    cr_assert_eq(s->n_quantile, 1);
    cr_assert_eq(s->quantile[0]->quantile, 0.5);
    cr_assert(isnan(s->quantile[0]->value));

    f = d.f[2];
    cr_assert_str_eq(f->name, "weird");
    cr_assert_eq(f->type, PB_UNTYPED);
    cr_assert_eq(f->n_metric, 2);
    cr_assert_eq(f->metric[0]->untyped->value, 1.0);
    cr_assert_eq(f->metric[1]->untyped->value, 2.0);
    assert_label(f->metric[1], 0, "x", "a");
    decoded_free(&d);

    /* Nothing to send: an empty body. */
    shmetrics_snapshot_t none = {0};
    char *body;
    size_t len = 99;
    cr_assert_eq(shmetrics_format(&none, SHMETRICS_FORMAT_PROTOBUF, &body, &len), 0);
    cr_assert_eq(len, 0);
    free(body);
}

Test(protobuf, name_and_content_type)
{
    shmetrics_format_t fmt = SHMETRICS_FORMAT_JSON;
    cr_assert_eq(shmetrics_format_parse("protobuf", &fmt), 0);
    cr_assert_eq(fmt, SHMETRICS_FORMAT_PROTOBUF);
    cr_assert_eq((int)SHMETRICS_FORMAT_PROTOBUF, 3);
    cr_assert_str_eq(shmetrics_format_content_type(SHMETRICS_FORMAT_PROTOBUF),
                     "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited");
    cr_assert_eq(shmetrics_format_parse("xml", &fmt), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "unknown format 'xml' (prometheus, openmetrics, json, protobuf)");
    cr_assert_null(shmetrics_format_content_type((shmetrics_format_t)4));
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A Timestamp within [lo, hi] ns (to the microsecond a double keeps). */
static void assert_time_within(const Io__Prometheus__Client__Timestamp *t, uint64_t lo, uint64_t hi)
{
    cr_assert_not_null(t, "a created_timestamp");
    cr_assert(t->nanos >= 0 && t->nanos < 1000000000);
    double at = (double)t->seconds + t->nanos / 1e9;
    cr_assert(at >= (double)lo / 1e9 - 1e-6 && at <= (double)hi / 1e9 + 1e-6, "%.9f not within [%.9f, %.9f]", at,
              (double)lo / 1e9, (double)hi / 1e9);
}

/* Layout 4: created_timestamp (Counter 3, Summary 4, Histogram 15), the
 * family's unit (5), info and stateset as gauges. */
Test(protobuf, creation_times_units_info_and_stateset)
{
    const char *path = test_arena_path("pb-types");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    unsetenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    uint64_t before = real_ns();
    const double b[] = {1};
    const char *states[] = {"a", "b"};
    shmetrics_spec_t cs = {.name = "sent_total", .help = "S.", .unit = "bytes"};
    shmetrics_spec_t hs = {.name = "lat", .help = "L.", .unit = "seconds", .buckets = b, .nbuckets = 1};
    shmetrics_spec_t ss = {.name = "ttft", .help = "T.", .quantiles = b, .nquantiles = 0};
    shmetrics_spec_t is = {.name = "build", .help = "B."};
    shmetrics_spec_t es = {.name = "st", .help = "E.", .states = states, .nstates = 2};
    shmetrics_counter_t *c;
    shmetrics_histogram_t *h;
    shmetrics_summary_t *s;
    shmetrics_info_t *i;
    shmetrics_enum_t *e;
    shmetrics_counter_series_t *cv;
    shmetrics_histogram_series_t *hv;
    shmetrics_summary_series_t *sv;
    shmetrics_info_series_t *iv;
    shmetrics_enum_series_t *ev;
    cr_assert_eq(shmetrics_counter_register(r, &cs, &c), 0);
    cr_assert_eq(shmetrics_histogram_register(r, &hs, &h), 0);
    cr_assert_eq(shmetrics_summary_register(r, &ss, &s), 0);
    cr_assert_eq(shmetrics_info_register(r, &is, &i), 0);
    cr_assert_eq(shmetrics_enum_register(r, &es, &e), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &cv, NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(h, &hv, NULL), 0);
    cr_assert_eq(shmetrics_summary_labels(s, &sv, NULL), 0);
    cr_assert_eq(shmetrics_info_labels(i, &iv, NULL), 0);
    cr_assert_eq(shmetrics_enum_labels(e, &ev, NULL), 0);
    uint64_t after = real_ns();
    shmetrics_counter_add(cv, 2);
    shmetrics_histogram_observe(hv, 0.5);
    shmetrics_summary_observe(sv, 3);
    shmetrics_label_t v[] = {{"version", "1.2.3"}};
    cr_assert_eq(shmetrics_info_set(iv, v, 1), 0);
    cr_assert_eq(shmetrics_enum_state(ev, "b"), 0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    struct decoded d;
    encode_decode(snap, &d);
    cr_assert_eq(d.n, 5);
    cr_assert_str_eq(d.f[0]->name, "sent_bytes_total");
    cr_assert_str_eq(d.f[0]->unit, "bytes");
    assert_time_within(d.f[0]->metric[0]->counter->created_timestamp, before, after);
    cr_assert_str_eq(d.f[1]->name, "lat_seconds");
    cr_assert_str_eq(d.f[1]->unit, "seconds");
    assert_time_within(d.f[1]->metric[0]->histogram->created_timestamp, before, after);
    cr_assert_str_eq(d.f[2]->name, "ttft");
    cr_assert_null(d.f[2]->unit, "no unit, no field");
    assert_time_within(d.f[2]->metric[0]->summary->created_timestamp, before, after);
    cr_assert_str_eq(d.f[3]->name, "build_info");
    cr_assert_eq(d.f[3]->type, PB_GAUGE);
    cr_assert_eq(d.f[3]->n_metric, 1);
    assert_label(d.f[3]->metric[0], 0, "version", "1.2.3");
    cr_assert_eq(d.f[3]->metric[0]->gauge->value, 1.0);
    cr_assert_str_eq(d.f[4]->name, "st");
    cr_assert_eq(d.f[4]->type, PB_GAUGE);
    cr_assert_eq(d.f[4]->n_metric, 2);
    assert_label(d.f[4]->metric[1], 0, "st", "b");
    cr_assert_eq(d.f[4]->metric[0]->gauge->value, 0.0);
    cr_assert_eq(d.f[4]->metric[1]->gauge->value, 1.0);
    decoded_free(&d);
    /* Switched off: no created_timestamp anywhere. */
    char *body;
    size_t len;
    cr_assert_eq(shmetrics_format_with(snap, SHMETRICS_FORMAT_PROTOBUF, SHMETRICS_FORMAT_NO_CREATED, &body, &len), 0);
    decode(body, len, &d);
    free(body);
    cr_assert_null(d.f[0]->metric[0]->counter->created_timestamp);
    cr_assert_null(d.f[1]->metric[0]->histogram->created_timestamp);
    cr_assert_null(d.f[2]->metric[0]->summary->created_timestamp);
    decoded_free(&d);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(protobuf, exemplars_of_counters_and_buckets)
{
    static const shmetrics_label_t tl[] = {{"trace_id", "abc"}, {"span", "\xc3\xa9"}};
    static const shmetrics_exemplar_t xc = {2, tl, 1.5, 1700000000.25};
    static const shmetrics_exemplar_t xb = {1, tl, 0.3, 1700000001.0};
    static const shmetrics_exemplar_t xi = {0, NULL, 7, 0};
    static const shmetrics_label_t le1[] = {{"le", "0.5"}}, leinf[] = {{"le", "+Inf"}};
    static const shmetrics_sample_t cs[] = {{.suffix = "_total", .value = 3, .exemplar = &xc}};
    static const shmetrics_sample_t hs[] = {
        {.suffix = "_bucket", .nlabels = 1, .labels = le1, .value = 1, .exemplar = &xb},
        {.suffix = "_bucket", .nlabels = 1, .labels = leinf, .value = 2, .exemplar = &xi},
        {.suffix = "_sum", .value = 7.3},
        {.suffix = "_count", .value = 2}};
    static const shmetrics_family_t fams[] = {
        {.name = "c", .help = "", .type = SHMETRICS_COUNTER, .nsamples = 1, .samples = cs},
        {.name = "h", .help = "", .type = SHMETRICS_HISTOGRAM, .nsamples = 4, .samples = hs},
    };
    shmetrics_snapshot_t snap = {.nfamilies = 2, .families = fams};
    struct decoded d;
    encode_decode(&snap, &d);
    cr_assert_eq(d.n, 2);
    const Io__Prometheus__Client__Exemplar *e = d.f[0]->metric[0]->counter->exemplar;
    cr_assert_not_null(e);
    cr_assert_eq(e->n_label, 2);
    cr_assert_str_eq(e->label[0]->name, "trace_id");
    cr_assert_str_eq(e->label[0]->value, "abc");
    cr_assert_str_eq(e->label[1]->name, "span");
    cr_assert_str_eq(e->label[1]->value, "\xc3\xa9");
    cr_assert_eq(e->value, 1.5);
    cr_assert_not_null(e->timestamp);
    cr_assert_eq(e->timestamp->seconds, 1700000000);
    cr_assert_eq(e->timestamp->nanos, 250000000);
    const Io__Prometheus__Client__Histogram *h = d.f[1]->metric[0]->histogram;
    /* The +Inf bucket is sent because it carries an exemplar. */
    cr_assert_eq(h->n_bucket, 2);
    cr_assert_eq(h->bucket[0]->exemplar->value, 0.3);
    cr_assert_eq(h->bucket[0]->exemplar->n_label, 1);
    cr_assert_eq(h->bucket[0]->exemplar->timestamp->seconds, 1700000001);
    cr_assert_eq(h->bucket[0]->exemplar->timestamp->nanos, 0);
    cr_assert(isinf(h->bucket[1]->upper_bound));
    cr_assert_eq(h->bucket[1]->cumulative_count, 2);
    cr_assert_eq(h->bucket[1]->exemplar->value, 7);
    cr_assert_eq(h->bucket[1]->exemplar->n_label, 0);
    cr_assert_null(h->bucket[1]->exemplar->timestamp);
    decoded_free(&d);
}

/* A native histogram's exemplars: in its buckets (the +Inf one of a
 * native-only histogram, where Prometheus 2.42 reads them) and in
 * Histogram.exemplars (where later Prometheus reads them first). */
Test(protobuf, native_histogram_exemplars_in_both_places)
{
    const char *path = test_arena_path("pb-native-ex");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    const double b[] = {1};
    shmetrics_spec_t ns = {.name = "nat", .help = "N.", .native = SHMETRICS_HISTOGRAM_NATIVE};
    shmetrics_spec_t bs = {.name = "both",
                           .help = "B.",
                           .native = SHMETRICS_HISTOGRAM_BOTH,
                           .buckets = b,
                           .nbuckets = 1};
    shmetrics_histogram_t *nm, *bm;
    shmetrics_histogram_series_t *n, *bo;
    cr_assert_eq(shmetrics_histogram_register(r, &ns, &nm), 0);
    cr_assert_eq(shmetrics_histogram_register(r, &bs, &bm), 0);
    cr_assert_eq(shmetrics_histogram_labels(nm, &n, NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(bm, &bo, NULL), 0);
    static const shmetrics_label_t t1[] = {{"trace_id", "n1"}}, t2[] = {{"trace_id", "b1"}},
                                   t3[] = {{"trace_id", "b2"}};
    cr_assert_eq(shmetrics_histogram_observe_exemplar(n, 3.5, t1, 1), 0);
    cr_assert_eq(shmetrics_histogram_observe_exemplar(bo, 0.5, t2, 1), 0);
    cr_assert_eq(shmetrics_histogram_observe_exemplar(bo, 4, t3, 1), 0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    struct decoded d;
    encode_decode(snap, &d);
    cr_assert_eq(d.n, 2);
    const Io__Prometheus__Client__Histogram *h = d.f[0]->metric[0]->histogram;
    cr_assert_str_eq(d.f[0]->name, "nat");
    cr_assert_eq(h->n_bucket, 1);
    cr_assert(isinf(h->bucket[0]->upper_bound));
    cr_assert_str_eq(h->bucket[0]->exemplar->label[0]->value, "n1");
    cr_assert_eq(h->n_exemplars, 1);
    cr_assert_eq(h->exemplars[0]->value, 3.5);
    cr_assert_str_eq(h->exemplars[0]->label[0]->name, "trace_id");
    cr_assert_str_eq(h->exemplars[0]->label[0]->value, "n1");
    cr_assert_not_null(h->exemplars[0]->timestamp);
    cr_assert_gt(h->exemplars[0]->timestamp->seconds, 1700000000);
    h = d.f[1]->metric[0]->histogram;
    cr_assert_str_eq(d.f[1]->name, "both");
    cr_assert_eq(h->n_exemplars, 2);
    cr_assert_str_eq(h->exemplars[0]->label[0]->value, "b1");
    cr_assert_eq(h->exemplars[0]->value, 0.5);
    cr_assert_str_eq(h->exemplars[1]->label[0]->value, "b2");
    cr_assert_eq(h->exemplars[1]->value, 4);
    decoded_free(&d);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* Native histograms: schema, zero bucket, spans and deltas of each sign
 * (integer counts), no classic bucket for a native-only one, classic
 * buckets and native ones for kind both, and the empty span client_golang
 * gives a histogram that would otherwise look classic. */
Test(protobuf, native_histograms_spans_and_deltas)
{
    const char *path = test_arena_path("pb-native");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    const double b[] = {1};
    shmetrics_spec_t ns = {.name = "nat", .help = "N.", .native = SHMETRICS_HISTOGRAM_NATIVE};
    shmetrics_spec_t bs = {.name = "both",
                           .help = "B.",
                           .native = SHMETRICS_HISTOGRAM_BOTH,
                           .buckets = b,
                           .nbuckets = 1};
    shmetrics_spec_t es = {.name = "empty",
                           .help = "E.",
                           .native = SHMETRICS_HISTOGRAM_NATIVE,
                           .native_zero_threshold = 5e-324};
    shmetrics_histogram_t *n, *bo, *e;
    shmetrics_histogram_series_t *nv, *bv, *ev;
    cr_assert_eq(shmetrics_histogram_register(r, &ns, &n), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_register(r, &bs, &bo), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_register(r, &es, &e), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_labels(n, &nv, NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(bo, &bv, NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(e, &ev, NULL), 0);
    /* Schema 0: 1 in bucket 0, 2 in 1, 8 in 3; -3 in negative 2. */
    const double obs[] = {1, 2, 2, 8, -3, 0};
    for (size_t i = 0; i < 6; i++) {
        shmetrics_histogram_observe(nv, obs[i]);
        shmetrics_histogram_observe(bv, obs[i]);
    }
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    struct decoded d;
    encode_decode(snap, &d);
    cr_assert_eq(d.n, 3);
    for (size_t i = 0; i < 2; i++) {
        const Io__Prometheus__Client__Histogram *h = d.f[i]->metric[0]->histogram;
        cr_assert_eq(d.f[i]->type, PB_HISTOGRAM);
        cr_assert_eq(h->sample_count, 6);
        cr_assert_eq(h->sample_sum, 10);
        cr_assert(h->has_schema && h->schema == 0);
        cr_assert(h->has_zero_threshold && h->zero_threshold == SHMETRICS_NATIVE_ZERO_THRESHOLD);
        cr_assert(h->has_zero_count && h->zero_count == 1);
        cr_assert_eq(h->n_positive_span, 1);
        cr_assert_eq(h->positive_span[0]->offset, 0);
        cr_assert_eq(h->positive_span[0]->length, 4);
        const int64_t deltas[] = {1, 1, -2, 1}; /* counts 1 2 0 1 */
        cr_assert_eq(h->n_positive_delta, 4);
        for (size_t k = 0; k < 4; k++)
            cr_assert_eq(h->positive_delta[k], deltas[k], "delta %zu", k);
        cr_assert_eq(h->n_negative_span, 1);
        cr_assert_eq(h->negative_span[0]->offset, 2);
        cr_assert_eq(h->negative_span[0]->length, 1);
        cr_assert_eq(h->n_negative_delta, 1);
        cr_assert_eq(h->negative_delta[0], 1);
        cr_assert_eq(h->n_positive_count + h->n_negative_count, 0);
    }
    cr_assert_str_eq(d.f[0]->name, "nat");
    cr_assert_eq(d.f[0]->metric[0]->histogram->n_bucket, 0);
    cr_assert_str_eq(d.f[1]->name, "both");
    const Io__Prometheus__Client__Histogram *hb = d.f[1]->metric[0]->histogram;
    cr_assert_eq(hb->n_bucket, 1);
    cr_assert_eq(hb->bucket[0]->upper_bound, 1);
    cr_assert_eq(hb->bucket[0]->cumulative_count, 3); /* -3, 0, 1 */
    /* Empty, with a threshold that is not 0: no span needed. */
    const Io__Prometheus__Client__Histogram *he = d.f[2]->metric[0]->histogram;
    cr_assert_eq(he->sample_count, 0);
    cr_assert_eq(he->zero_threshold, 5e-324);
    cr_assert_eq(he->n_positive_span + he->n_negative_span, 0);
    decoded_free(&d);
    shmetrics_snapshot_free(snap);

    /* A hand-built snapshot with a zero threshold of 0 and nothing
     * observed gets client_golang's empty span. */
    shmetrics_native_histogram_t nh = {.schema = 3};
    shmetrics_sample_t smp[] = {{.suffix = "_bucket", .value = 0},
                                {.suffix = "_sum", .value = 0},
                                {.suffix = "_count", .value = 0, .native = &nh}};
    static const shmetrics_label_t inf[] = {{"le", "+Inf"}};
    smp[0].nlabels = 1;
    smp[0].labels = inf;
    shmetrics_family_t fam = {.name = "z", .help = "", .type = SHMETRICS_HISTOGRAM, .nsamples = 3, .samples = smp};
    shmetrics_snapshot_t hand = {.nfamilies = 1, .families = &fam};
    encode_decode(&hand, &d);
    const Io__Prometheus__Client__Histogram *hz = d.f[0]->metric[0]->histogram;
    cr_assert_eq(hz->schema, 3);
    cr_assert_eq(hz->zero_threshold, 0);
    cr_assert_eq(hz->n_positive_span, 1);
    cr_assert_eq(hz->positive_span[0]->offset, 0);
    cr_assert_eq(hz->positive_span[0]->length, 0);
    cr_assert_eq(hz->n_positive_delta, 0);
    decoded_free(&d);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}
