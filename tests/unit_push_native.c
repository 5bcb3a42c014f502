/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_push_native.c - what the push backends share about native
 * histograms (src/push/push_native.c): every error of the check of a
 * series' native buckets, Prometheus' bucket indices laid out as OTLP's
 * (offset one below, dense counts, exact merging at a lower scale), and the
 * remote-write and OTLP backends refusing a snapshot whose native spans do
 * not hold its counts, before anything is sent.
 */
#include <math.h>

#include "common.h"
#include "src/push/push.h"

#define EXPECT_ERR(call, code, text)                                                                              \
    do {                                                                                                          \
        int rc_ = (call);                                                                                         \
        cr_expect_eq(rc_, (code), "%s: rc %d (%s)", text, rc_, shmetrics_errmsg());                               \
        cr_expect(strstr(shmetrics_errmsg(), text) != NULL, "message '%s' lacks '%s'", shmetrics_errmsg(), text); \
    } while (0)

/* Schema 3: buckets -8 and -7 (0.5 and (0.5, 0.545]), then 0 (1). */
static const shmetrics_native_span_t spans[] = {{-8, 2}, {6, 1}};
static const uint64_t counts[] = {1, 2, 3};

static shmetrics_native_histogram_t good(void)
{
    return (shmetrics_native_histogram_t){.schema = 3,
                                          .zero_threshold = 0x1p-128,
                                          .zero_count = 4,
                                          .count = 10,
                                          .sum = 3.5,
                                          .npositive_spans = 2,
                                          .positive_spans = spans,
                                          .npositive = 3,
                                          .positive = counts};
}

Test(push_native, check_errors)
{
    shmetrics_native_histogram_t h = good();
    cr_expect_eq(smx_native_check("lat", &h), 0, "%s", shmetrics_errmsg());
    h.npositive = 2;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG,
               "lat: the positive native spans hold 3 buckets, but 2 counts are given");
    h = good();
    h.nnegative = 1;
    h.negative = counts;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG,
               "lat: the negative native spans hold 0 buckets, but 1 counts are given");
    h = good();
    h.positive = NULL;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "lat: 3 positive native buckets without counts");
    h = good();
    h.positive_spans = NULL;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "lat: 2 positive native spans given, but no array");
    h = good();
    h.schema = 9;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "lat: native schema 9 is not within -4..8");
    h.schema = -5;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "lat: native schema -5 is not within -4..8");
    h = good();
    h.zero_threshold = -1;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "lat: native zero threshold -1 is not finite and >= 0");
    h.zero_threshold = NAN;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "native zero threshold nan");
    h = good();
    const shmetrics_native_span_t far[] = {{INT32_MAX, 1}};
    h.positive_spans = far;
    h.npositive_spans = 1;
    h.npositive = 1;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG,
               "lat: positive native span 1 reaches bucket 2147483648, beyond +-8800 at schema 3");
    const shmetrics_native_span_t low[] = {{-8801, 1}}, edge[] = {{-8800, 1}, {17599, 1}};
    h.positive_spans = low;
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "reaches bucket -8801, beyond +-8800 at schema 3");
    h.positive_spans = edge; /* -8800 and 8800: the last ones a double reaches */
    h.npositive_spans = h.npositive = 2;
    cr_expect_eq(smx_native_check("lat", &h), 0, "%s", shmetrics_errmsg());
    h.schema = -4; /* 1100 / 16 + 1 */
    EXPECT_ERR(smx_native_check("lat", &h), -EBADMSG, "reaches bucket -8800, beyond +-69 at schema -4");
}

Test(push_native, otlp_buckets_exact)
{
    uint64_t out[16];
    size_t n;
    int32_t off;
    /* Same scale: Prometheus' k is OTLP's k - 1; gaps are zeros. */
    cr_assert_eq(smx_otlp_buckets(spans, 2, counts, 3, 3, &off, out, 16, &n), 0, "%s", shmetrics_errmsg());
    cr_expect_eq(off, -9);
    cr_expect_eq(n, 9);
    const uint64_t want3[] = {1, 2, 0, 0, 0, 0, 0, 0, 3};
    cr_expect_arr_eq(out, want3, sizeof want3);
    /* One scale lower: k' = ceil(k / 2): -8 -> -4, -7 -> -3, 0 -> 0. */
    cr_assert_eq(smx_otlp_buckets(spans, 2, counts, 3, 2, &off, out, 16, &n), 0);
    cr_expect_eq(off, -5);
    cr_expect_eq(n, 5);
    const uint64_t want2[] = {1, 2, 0, 0, 3};
    cr_expect_arr_eq(out, want2, sizeof want2);
    /* Two lower: -8 -> -2, -7 -> -1 (0.5 is a bound at every scale), 0. */
    cr_assert_eq(smx_otlp_buckets(spans, 2, counts, 3, 1, &off, out, 16, &n), 0);
    cr_expect_eq(off, -3);
    cr_expect_eq(n, 3);
    const uint64_t want1[] = {1, 2, 3};
    cr_expect_arr_eq(out, want1, sizeof want1);
    /* Counting only: no array. */
    cr_assert_eq(smx_otlp_buckets(spans, 2, counts, 3, 3, &off, NULL, 16, &n), 0);
    cr_expect(off == -9 && n == 9);
    /* No bucket: offset 0, none. */
    cr_assert_eq(smx_otlp_buckets(NULL, 0, NULL, 3, 3, &off, out, 16, &n), 0);
    cr_expect(off == 0 && n == 0);
    EXPECT_ERR(smx_otlp_buckets(spans, 2, counts, 3, 3, &off, out, 8, &n), -ENOSPC,
               "native buckets -8..0 at scale 3 need 9 OTLP buckets, room for 8");
    EXPECT_ERR(smx_otlp_buckets(spans, 2, counts, 3, 4, &off, out, 16, &n), -EINVAL,
               "OTLP scale 4 for native schema 3: not a lower resolution");
}

Test(push_native, otlp_scale_lowers_until_both_signs_fit)
{
    shmetrics_native_histogram_t h = good();
    cr_expect_eq(smx_otlp_scale(&h, 9), 3, "9 buckets fit in 9");
    cr_expect_eq(smx_otlp_scale(&h, 8), 2, "5 at scale 2");
    cr_expect_eq(smx_otlp_scale(&h, 3), 1, "3 at scale 1");
    cr_expect_eq(smx_otlp_scale(&h, 2), 0, "-1 (ceil(-8/8)), 0 (-7 and 0 merged) at scale 0");
    uint64_t out[4];
    size_t n;
    int32_t off;
    cr_assert_eq(smx_otlp_buckets(spans, 2, counts, 3, 0, &off, out, 4, &n), 0);
    cr_expect(off == -2 && n == 2 && out[0] == 1 && out[1] == 5, "offset %d, %zu buckets", (int)off, n);
    /* The negative side decides as well: buckets -100 and 100. */
    const shmetrics_native_span_t wide[] = {{-100, 1}, {199, 1}};
    h.negative_spans = wide;
    h.nnegative_spans = 2;
    h.negative = counts;
    h.nnegative = 2;
    cr_expect_eq(smx_otlp_scale(&h, 9), -2, "201 buckets, then 101, 51, 26, 14, and 8 at scale -2 (%d)",
                 smx_otlp_scale(&h, 9));
    /* The whole double range at schema 8 (+-280000 of +-281600): 560001
     * buckets, 4376 at scale 1, 2188 at scale 0. */
    const shmetrics_native_span_t huge[] = {{-280000, 1}, {559999, 1}};
    h.schema = 8;
    h.positive_spans = NULL;
    h.npositive_spans = h.npositive = 0;
    h.negative_spans = huge;
    cr_expect_eq(smx_native_check("lat", &h), 0, "%s", shmetrics_errmsg());
    cr_expect_eq(smx_otlp_scale(&h, SMX_OTLP_MAX_BUCKETS), 0);
    uint64_t big[2200];
    cr_expect_eq(smx_otlp_buckets(huge, 2, counts, 8, 0, &off, big, 2200, &n), 0, "%s", shmetrics_errmsg());
    cr_expect(n == 2188 && off == -1094 && big[0] == 1 && big[2187] == 2, "n %zu offset %d", n, (int)off);
}

/* A snapshot with one native-only histogram series whose positive spans
 * hold 3 buckets but carry 2 counts. */
static shmetrics_native_histogram_t bad_native;
static const shmetrics_label_t inf_label[] = {{"le", "+Inf"}};
static shmetrics_sample_t bad_samples[3];
static shmetrics_family_t bad_family;
static shmetrics_snapshot_t bad_snap;

static void build_bad(void)
{
    bad_native = good();
    bad_native.npositive = 2;
    bad_samples[0] = (shmetrics_sample_t){.suffix = "_bucket", .nlabels = 1, .labels = inf_label, .value = 10};
    bad_samples[1] = (shmetrics_sample_t){.suffix = "_sum", .value = 3.5};
    bad_samples[2] = (shmetrics_sample_t){.suffix = "_count", .value = 10, .native = &bad_native};
    bad_family = (shmetrics_family_t){.name = "bad_seconds",
                                      .help = "Bad.",
                                      .type = SHMETRICS_HISTOGRAM,
                                      .nsamples = 3,
                                      .samples = bad_samples};
    bad_snap = (shmetrics_snapshot_t){.nfamilies = 1, .families = &bad_family};
}

static void expect_refused(shmetrics_push_backend_t backend, unsigned flags)
{
    shmetrics_registry_t *reg = test_open(test_arena_path("push-native"), SHMETRICS_OPEN_CREATE);
    shmetrics_push_options_t o = {.backend = backend, .target = "http://127.0.0.1:1", .flags = flags};
    shmetrics_pusher_t *p;
    cr_assert_eq(shmetrics_pusher_create(reg, &o, &p), 0, "%s", shmetrics_errmsg());
    build_bad();
    struct smx_push_ctx c = {.snap = &bad_snap, .now_ns = 2000000000, .start_ns = 1000000000};
    /* Refused before a connection is tried (port 1 would say so). */
    EXPECT_ERR(p->be->push(p, &c), -EBADMSG,
               "bad_seconds: the positive native spans hold 3 buckets, but 2 counts are given");
    cr_expect_eq(c.bytes, 0, "nothing sent");
    shmetrics_pusher_stop(p);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(push_native, remote_write_refuses_bad_spans)
{
    expect_refused(SHMETRICS_PUSH_REMOTE_WRITE, SHMETRICS_PUSH_NO_SELF);
}

Test(push_native, otlp_refuses_bad_spans)
{
    expect_refused(SHMETRICS_PUSH_OTLP, SHMETRICS_PUSH_NO_SELF);
    expect_refused(SHMETRICS_PUSH_OTLP, SHMETRICS_PUSH_NO_SELF | SHMETRICS_PUSH_OTLP_JSON);
}
