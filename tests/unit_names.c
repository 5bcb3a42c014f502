/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_names.c - UTF-8 metric and label names (spec.utf8_names):
 * what registration takes and refuses with and without it, and how every
 * exposition writes such names under each escaping scheme (underscores by
 * default, allow-utf-8 quoted in the text formats, dots, values), exact
 * bodies, with the label names of exemplars and info pairs.
 */
#include <math.h>

#include "common.h"

static shmetrics_registry_t *reg;
static const char *path;

static void setup(void)
{
    setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "true", 1);
    path = test_arena_path("names");
    reg = test_open(path, SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    unsetenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(names, .init = setup, .fini = teardown);

static void assert_fails(int rc, const char *msg)
{
    cr_assert_eq(rc, -EINVAL, "rc %d", rc);
    cr_assert_str_eq(shmetrics_errmsg(), msg);
}

Test(names, legacy_rules_unless_the_spec_asks_for_utf8)
{
    shmetrics_counter_t *c;
    const char *dotted[] = {"http.method"};
    shmetrics_spec_t s = {.name = "http.requests", .help = "h"};
    assert_fails(shmetrics_counter_register(reg, &s, &c),
                 "invalid metric name \"http.requests\": it must match [a-zA-Z_:][a-zA-Z0-9_:]*");
    s = (shmetrics_spec_t){.name = "requests", .label_names = dotted, .nlabels = 1};
    assert_fails(shmetrics_counter_register(reg, &s, &c),
                 "invalid label name \"http.method\" for requests: it must match [a-zA-Z_][a-zA-Z0-9_]*");

    s = (shmetrics_spec_t){.name = "http.requests", .label_names = dotted, .nlabels = 1, .utf8_names = 1};
    cr_assert_eq(shmetrics_counter_register(reg, &s, &c), 0, "%s", shmetrics_errmsg());
    shmetrics_counter_t *again;
    cr_assert_eq(shmetrics_counter_get(reg, "http.requests", &again), 0);
    cr_assert_eq(again, c);

    /* Still refused with it: not UTF-8, empty, too long, reserved. */
    const char bad[] = {'a', (char)0xC3, 0};
    s = (shmetrics_spec_t){.name = bad, .utf8_names = 1};
    assert_fails(shmetrics_counter_register(reg, &s, &c), "invalid metric name: it is not UTF-8");
    const char *empty[] = {""}, *reserved[] = {"__x.y"}, *notutf8[] = {bad};
    s = (shmetrics_spec_t){.name = "x.y", .label_names = empty, .nlabels = 1, .utf8_names = 1};
    assert_fails(shmetrics_counter_register(reg, &s, &c), "invalid label name for x.y: label name 1 is empty");
    s.label_names = notutf8;
    assert_fails(shmetrics_counter_register(reg, &s, &c),
                 "invalid label name for x.y: label name 1 is longer than 255 bytes or not UTF-8");
    s.label_names = reserved;
    assert_fails(shmetrics_counter_register(reg, &s, &c),
                 "label name \"__x.y\" for x.y is reserved: names starting with __ are Prometheus's own");
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    longname[3] = '.';
    s = (shmetrics_spec_t){.name = longname, .utf8_names = 1};
    cr_assert_eq(shmetrics_counter_register(reg, &s, &c), -EINVAL);
}

/* Every name kind in one arena: a counter, a histogram with an exemplar,
 * an info metric with a UTF-8 pair name. */
static void populate(void)
{
    const char *lbl[] = {"http.method", "code"};
    shmetrics_spec_t cs = {.name = "http.requests",
                           .help = "Requests.",
                           .label_names = lbl,
                           .nlabels = 2,
                           .utf8_names = 1};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *cv;
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &c), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_labels(c, &cv, "GET", "200", NULL), 0);
    const shmetrics_label_t ex[] = {{"trace.id", "abc"}};
    cr_assert_eq(shmetrics_counter_add_exemplar(cv, 3, ex, 1), 0, "%s", shmetrics_errmsg());
    const double b[] = {1};
    shmetrics_spec_t hs = {.name = "lat_seconds", .help = "L.", .buckets = b, .nbuckets = 1, .utf8_names = 1};
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *hv;
    cr_assert_eq(shmetrics_histogram_register(reg, &hs, &h), 0);
    cr_assert_eq(shmetrics_histogram_labels(h, &hv, NULL), 0);
    shmetrics_histogram_observe(hv, 0.5);
    shmetrics_spec_t is = {.name = "build", .help = "B.", .utf8_names = 1};
    shmetrics_info_t *i;
    shmetrics_info_series_t *iv;
    cr_assert_eq(shmetrics_info_register(reg, &is, &i), 0);
    cr_assert_eq(shmetrics_info_labels(i, &iv, NULL), 0);
    const shmetrics_label_t pairs[] = {{"git.sha", "abc"}, {"ünïcode", "ü"}};
    cr_assert_eq(shmetrics_info_set(iv, pairs, 2), 0, "%s", shmetrics_errmsg());
}

static char *body_len(shmetrics_format_t fmt, unsigned flags, size_t *len)
{
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    char *text;
    cr_assert_eq(shmetrics_format_with(snap, fmt, flags, &text, len), 0, "%s", shmetrics_errmsg());
    shmetrics_snapshot_free(snap);
    return text;
}

static char *body(shmetrics_format_t fmt, unsigned flags)
{
    return body_len(fmt, flags, NULL);
}

/* Protobuf strings: the bytes are there, or not. */
static bool has(const char *p, size_t len, const char *s)
{
    return memmem(p, len, s, strlen(s)) != NULL;
}

Test(names, protobuf_names_escaped_or_as_they_are)
{
    populate();
    size_t len;
    char *pb = body_len(SHMETRICS_FORMAT_PROTOBUF, 0, &len);
    cr_assert(has(pb, len, "http_requests_total") && has(pb, len, "http_method") && has(pb, len, "trace_id"));
    cr_assert(!has(pb, len, "http.requests") && !has(pb, len, "http.method") && !has(pb, len, "trace.id"));
    free(pb);
    pb = body_len(SHMETRICS_FORMAT_PROTOBUF, SHMETRICS_FORMAT_UTF8, &len);
    cr_assert(has(pb, len, "http.requests_total") && has(pb, len, "http.method") && has(pb, len, "trace.id"));
    cr_assert(!has(pb, len, "\"http.requests"), "never quoted in protobuf");
    free(pb);
    pb = body_len(SHMETRICS_FORMAT_PROTOBUF, SHMETRICS_FORMAT_ESCAPE_VALUES, &len);
    cr_assert(has(pb, len, "U__http_2e_requests__total") && has(pb, len, "U__git_2e_sha"));
    free(pb);
}

/* `want` within `text`, line by line in order (the exemplar times and the
 * families' order aside, each checked line is whole). */
static void assert_lines(const char *text, const char *const *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s\n", want[i]);
        cr_assert(strstr(text, line), "missing line:\n%s\nin:\n%s", want[i], text);
    }
}

Test(names, underscores_by_default)
{
    populate();
    char *t = body(SHMETRICS_FORMAT_PROMETHEUS, 0);
    const char *want[] = {
        "# HELP http_requests_total Requests.",
        "# TYPE http_requests_total counter",
        "http_requests_total{http_method=\"GET\",code=\"200\"} 3",
        "lat_seconds_bucket{le=\"1.0\"} 1",
        "build_info{git_sha=\"abc\",_n_code=\"ü\"} 1",
    };
    assert_lines(t, want, sizeof want / sizeof want[0]);
    cr_assert_null(strstr(t, "http.requests"));
    free(t);
    t = body(SHMETRICS_FORMAT_OPENMETRICS, 0);
    cr_assert(strstr(t, "# TYPE http_requests counter\n# HELP http_requests Requests.\n"), "%s", t);
    cr_assert(strstr(t, "http_requests_total{http_method=\"GET\",code=\"200\"} 3 # {trace_id=\"abc\"} 3"), "%s", t);
    free(t);
}

Test(names, utf8_quoted_where_the_legacy_set_ends)
{
    populate();
    char *t = body(SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_UTF8);
    const char *want[] = {
        "# HELP \"http.requests_total\" Requests.",
        "# TYPE \"http.requests_total\" counter",
        "{\"http.requests_total\",\"http.method\"=\"GET\",code=\"200\"} 3",
        "lat_seconds_bucket{le=\"1.0\"} 1",
        "build_info{\"git.sha\"=\"abc\",\"ünïcode\"=\"ü\"} 1",
    };
    assert_lines(t, want, sizeof want / sizeof want[0]);
    free(t);
    t = body(SHMETRICS_FORMAT_OPENMETRICS, SHMETRICS_FORMAT_UTF8);
    cr_assert(strstr(t, "# TYPE \"http.requests\" counter\n# HELP \"http.requests\" Requests.\n"), "%s", t);
    cr_assert(strstr(t, "{\"http.requests_total\",\"http.method\"=\"GET\",code=\"200\"} 3 # {\"trace.id\"=\"abc\"} 3"),
              "%s", t);
    free(t);
    /* JSON: names as they are, whatever the flags, escaped as JSON
     * strings (a quote, a control character). */
    shmetrics_spec_t ws = {.name = "we\"ird\x01", .help = "W.", .utf8_names = 1};
    shmetrics_counter_t *w;
    shmetrics_counter_series_t *wv;
    cr_assert_eq(shmetrics_counter_register(reg, &ws, &w), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_labels(w, &wv, NULL), 0);
    t = body(SHMETRICS_FORMAT_JSON, 0);
    cr_assert(strstr(t, "\"http.requests\"") && strstr(t, "\"http.method\""), "%s", t);
    cr_assert(strstr(t, "{\"name\":\"we\\\"ird\\u0001_total\",\"labels\":{}"), "%s", t);
    free(t);
    /* And in the text formats: underscores, or quoted with the quote escaped. */
    t = body(SHMETRICS_FORMAT_PROMETHEUS, 0);
    cr_assert(strstr(t, "\nwe_ird__total 0\n"), "%s", t);
    free(t);
    t = body(SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_UTF8);
    cr_assert(strstr(t, "\n{\"we\\\"ird\x01_total\"} 0\n"), "%s", t);
    free(t);
}

Test(names, dots_and_values)
{
    populate();
    char *t = body(SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_ESCAPE_DOTS);
    const char *dots[] = {
        "# TYPE http_dot_requests__total counter",
        "http_dot_requests__total{http_dot_method=\"GET\",code=\"200\"} 3",
        "lat__seconds__bucket{le=\"1.0\"} 1",
        "build__info{git_dot_sha=\"abc\",__n__code=\"ü\"} 1",
    };
    assert_lines(t, dots, sizeof dots / sizeof dots[0]);
    free(t);
    t = body(SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_ESCAPE_VALUES);
    const char *values[] = {
        "# TYPE U__http_2e_requests__total counter",
        "U__http_2e_requests__total{U__http_2e_method=\"GET\",code=\"200\"} 3",
        "lat_seconds_bucket{le=\"1.0\"} 1",
        "build_info{U__git_2e_sha=\"abc\",U___fc_n_ef_code=\"ü\"} 1",
    };
    assert_lines(t, values, sizeof values / sizeof values[0]);
    free(t);
}

Test(names, exemplar_and_info_names_follow_the_metric)
{
    const char *lbl[] = {"code"};
    shmetrics_spec_t s = {.name = "legacy", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *cv;
    cr_assert_eq(shmetrics_counter_register(reg, &s, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &cv, "200", NULL), 0);
    const shmetrics_label_t ex[] = {{"trace.id", "abc"}};
    assert_fails(shmetrics_counter_add_exemplar(cv, 1, ex, 1),
                 "exemplar label name \"trace.id\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    /* The same metric registered again with utf8_names: its exemplars may
     * carry UTF-8 label names. */
    s.utf8_names = 1;
    cr_assert_eq(shmetrics_counter_register(reg, &s, &c), 0);
    cr_assert_eq(shmetrics_counter_add_exemplar(cv, 1, ex, 1), 0, "%s", shmetrics_errmsg());
    const char bad[] = {'t', (char)0xFF, 0};
    const shmetrics_label_t notutf8[] = {{bad, "x"}};
    assert_fails(shmetrics_counter_add_exemplar(cv, 1, notutf8, 1), "exemplar label 0: the name is not UTF-8");
    const shmetrics_label_t empty[] = {{"", "x"}};
    assert_fails(shmetrics_counter_add_exemplar(cv, 1, empty, 1), "exemplar label 0: the name is empty");
    char longname[300];
    memset(longname, 0, sizeof longname);
    for (size_t i = 0; i < 128; i++)
        memcpy(longname + 2 * i, "é", 2); /* 128 characters, 256 bytes */
    const shmetrics_label_t toolong[] = {{longname, ""}};
    assert_fails(shmetrics_counter_add_exemplar(cv, 1, toolong, 1),
                 "exemplar label 0: the name is longer than 255 bytes");
    double total;
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    total = test_family(snap, "legacy")->samples[0].value;
    cr_assert_eq(total, 1.0, "refused exemplars count nothing: %g", total);
    shmetrics_snapshot_free(snap);

    shmetrics_spec_t is = {.name = "build", .help = "B."};
    shmetrics_info_t *i;
    shmetrics_info_series_t *iv;
    cr_assert_eq(shmetrics_info_register(reg, &is, &i), 0);
    cr_assert_eq(shmetrics_info_labels(i, &iv, NULL), 0);
    const shmetrics_label_t pairs[] = {{"git.sha", "abc"}};
    assert_fails(shmetrics_info_set(iv, pairs, 1),
                 "info build: invalid label name \"git.sha\": it must match [a-zA-Z_][a-zA-Z0-9_]*");
}
