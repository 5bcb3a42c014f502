/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_registry.c - specs, registration, look-ups, label sets, the
 * counter and gauge operations and their errors, reset, the default
 * registry and the text format, in one process.
 */
#include <math.h>
#include <time.h>

#include "common.h"

static shmetrics_registry_t *reg;
static const char *path;

static void setup(void)
{
    path = test_arena_path("reg");
    reg = test_open(path, SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(registry, .init = setup, .fini = teardown);

static int reg_counter(const char *name, size_t n, const char *const *labels, shmetrics_counter_t **out)
{
    shmetrics_spec_t spec = {.name = name, .help = "help", .label_names = labels, .nlabels = n};
    return shmetrics_counter_register(reg, &spec, out);
}

static void assert_msg(const char *needle)
{
    cr_assert(strstr(shmetrics_errmsg(), needle), "message \"%s\" lacks \"%s\"", shmetrics_errmsg(), needle);
}

Test(registry, full_name_joins_namespace_subsystem_name)
{
    shmetrics_spec_t spec = {.name = "tokens", .namespace_name = "llm", .subsystem = "engine", .help = "h"};
    shmetrics_counter_t *c, *c2;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), 0);
    cr_assert_eq(shmetrics_counter_get(reg, "llm_engine_tokens", &c2), 0);
    cr_assert_eq(c, c2);
    shmetrics_spec_t s2 = {.name = "cache", .namespace_name = "", .subsystem = "gpu", .help = "h"};
    cr_assert_eq(shmetrics_counter_register(reg, &s2, &c), 0);
    cr_assert_eq(shmetrics_counter_get(reg, "gpu_cache", &c2), 0);
    cr_assert_eq(c, c2);
}

Test(registry, bad_metric_names)
{
    shmetrics_counter_t *c;
    cr_assert_eq(reg_counter("1abc", 0, NULL, &c), -EINVAL);
    assert_msg("invalid metric name \"1abc\"");
    cr_assert_eq(reg_counter("a-b", 0, NULL, &c), -EINVAL);
    assert_msg("\"a-b\"");
    cr_assert_eq(reg_counter("", 0, NULL, &c), -EINVAL);
    assert_msg("metric name is empty");
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    cr_assert_eq(reg_counter(longname, 0, NULL, &c), -EINVAL);
    assert_msg("longer than 255 bytes");
    cr_assert_eq(reg_counter("vllm:num_preemptions", 0, NULL, &c), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_register(reg, NULL, &c), -EINVAL);
}

Test(registry, bad_label_names)
{
    shmetrics_counter_t *c;
    const char *reserved[] = {"__name"};
    cr_assert_eq(reg_counter("x", 1, reserved, &c), -EINVAL);
    assert_msg("label name \"__name\" for x is reserved");
    const char *bad[] = {"1a"};
    cr_assert_eq(reg_counter("x", 1, bad, &c), -EINVAL);
    assert_msg("invalid label name \"1a\"");
    const char *colon[] = {"a:b"};
    cr_assert_eq(reg_counter("x", 1, colon, &c), -EINVAL);
    const char *dup[] = {"a", "b", "a"};
    cr_assert_eq(reg_counter("x", 3, dup, &c), -EINVAL);
    assert_msg("label name \"a\" appears twice in x");
    const char *many[17];
    char names[17][8];
    for (int i = 0; i < 17; i++) {
        snprintf(names[i], sizeof names[i], "l%d", i);
        many[i] = names[i];
    }
    cr_assert_eq(reg_counter("x", 17, many, &c), -EINVAL);
    assert_msg("17 label names, more than 16");
    cr_assert_eq(reg_counter("x", 16, many, &c), 0);
    const char *withnull[] = {"a", NULL};
    cr_assert_eq(reg_counter("y", 2, withnull, &c), -EINVAL);
    assert_msg("label name 2 is NULL");
    shmetrics_gauge_t *g;
    const char *pid[] = {"pid"};
    shmetrics_spec_t gs = {.name = "g", .label_names = pid, .nlabels = 1, .gauge_mode = SHMETRICS_MODE_ALL};
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), -EINVAL);
    assert_msg("label name \"pid\" is reserved for a gauge in mode all");
    gs.gauge_mode = SHMETRICS_MODE_SUM;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    gs.gauge_mode = (shmetrics_gauge_mode_t)10;
    gs.name = "g2";
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), -EINVAL);
    assert_msg("unknown gauge mode 10");
}

Test(registry, bad_help)
{
    shmetrics_spec_t spec = {.name = "x", .help = "caf\xc3"};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), -EINVAL);
    assert_msg("help text of x is not valid UTF-8");
    static char big[5000];
    memset(big, 'h', sizeof big - 1);
    spec.help = big;
    cr_assert_eq(shmetrics_counter_register(reg, &spec, &c), -EINVAL);
    assert_msg("longer than 4096 bytes");
}

Test(registry, same_spec_same_metric_conflicts_refused)
{
    const char *ab[] = {"a", "b"}, *ba[] = {"b", "a"};
    shmetrics_counter_t *c1, *c2;
    cr_assert_eq(reg_counter("req_total", 2, ab, &c1), 0);
    cr_assert_eq(reg_counter("req_total", 2, ab, &c2), 0);
    cr_assert_eq(c1, c2);
    cr_assert_eq(reg_counter("req", 2, ab, &c2), 0, "req and req_total are one counter");
    cr_assert_eq(c1, c2);
    cr_assert_eq(reg_counter("req_total", 2, ba, &c2), -EEXIST);
    assert_msg("req is already registered with label names (a,b), not (b,a)");
    cr_assert_eq(reg_counter("req_total", 1, ab, &c2), -EEXIST);
    assert_msg("with label names (a,b), not (a)");
    shmetrics_gauge_t *g;
    shmetrics_spec_t gs = {.name = "req"};
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), -EEXIST);
    assert_msg("req is already registered as a counter, not a gauge");
    gs.name = "temp";
    gs.gauge_mode = SHMETRICS_MODE_MAX;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    gs.gauge_mode = SHMETRICS_MODE_MIN;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), -EEXIST);
    assert_msg("temp is already registered with mode max, not min");
}

Test(registry, conflicts_across_processes)
{
    const char *ab[] = {"a", "b"};
    shmetrics_counter_t *c;
    cr_assert_eq(reg_counter("shared_total", 2, ab, &c), 0);
    pid_t pid = fork();
    if (pid == 0) {
        shmetrics_registry_t *r2;
        shmetrics_options_t o = {.path = path};
        if (shmetrics_open(&o, &r2) < 0)
            _exit(1);
        shmetrics_spec_t s = {.name = "shared", .help = "h", .label_names = ab, .nlabels = 1};
        shmetrics_counter_t *c2;
        int rc = shmetrics_counter_register(r2, &s, &c2);
        _exit(rc == -EEXIST && strstr(shmetrics_errmsg(), "label names (a,b), not (a)") ? 0 : 2);
    }
    test_wait_all(&pid, 1);
}

Test(registry, get_errors)
{
    shmetrics_counter_t *c;
    shmetrics_gauge_t *g;
    cr_assert_eq(shmetrics_counter_get(reg, "nothing", &c), -ENOENT);
    assert_msg("no metric named nothing");
    shmetrics_spec_t gs = {.name = "temperature"};
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    cr_assert_eq(shmetrics_counter_get(reg, "temperature", &c), -EINVAL);
    assert_msg("temperature is a gauge, not a counter");
    shmetrics_gauge_t *g2;
    cr_assert_eq(shmetrics_gauge_get(reg, "temperature", &g2), 0);
    cr_assert_eq(g, g2);
}

Test(registry, label_values)
{
    const char *ab[] = {"method", "code"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s1, *s2, *s3;
    cr_assert_eq(reg_counter("http_total", 2, ab, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s1, "GET", "200", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s2, "GET", "200", NULL), 0);
    cr_assert_eq(s1, s2, "the cache returns the same handle");
    cr_assert_eq(shmetrics_counter_labels(c, &s3, "GET", "500", NULL), 0);
    cr_assert_neq(s1, s3);
    cr_assert_eq(shmetrics_counter_labels(c, &s3, "GET", NULL), -EINVAL);
    assert_msg("http has 2 label names, 1 values given");
    cr_assert_eq(shmetrics_counter_labels(c, &s3, "GET", "200", "x", NULL), -EINVAL);
    assert_msg("2 label names, 3 values given");
    cr_assert_eq(shmetrics_counter_labels(c, &s3, "GET", "\xff", NULL), -EINVAL);
    assert_msg("label value 2 of http is not valid UTF-8");
    static char big[3000];
    memset(big, 'v', sizeof big - 1);
    cr_assert_eq(shmetrics_counter_labels(c, &s3, big, "1", NULL), -EINVAL);
    assert_msg("label value 1 of http is longer than 2048 bytes");
    const char *vals[] = {"PUT", NULL};
    cr_assert_eq(shmetrics_counter_labelv(c, 2, vals, &s3), -EINVAL);
    assert_msg("label value 2 of http is NULL");
    /* Empty values are values. */
    cr_assert_eq(shmetrics_counter_labels(c, &s3, "", "", NULL), 0);
    shmetrics_counter_t *nolabels;
    cr_assert_eq(reg_counter("plain_total", 0, NULL, &nolabels), 0);
    cr_assert_eq(shmetrics_counter_labels(nolabels, &s3, NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(nolabels, &s3, "x", NULL), -EINVAL);
}

Test(registry, counter_increments)
{
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(reg_counter("n_total", 0, NULL, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    cr_assert_eq(shmetrics_counter_inc(s, 1), 0);
    cr_assert_eq(shmetrics_counter_inc(s, 0.5), 0);
    cr_assert_eq(shmetrics_counter_inc(s, 0.25), 0);
    cr_assert_eq(shmetrics_counter_sum(s), 1.75);
    cr_assert_eq(shmetrics_counter_inc(s, -1), -EINVAL);
    assert_msg("counter increment: -1 is negative; the value is unchanged");
    cr_assert_eq(shmetrics_counter_inc(s, NAN), -EINVAL);
    assert_msg("not a number");
    cr_assert_eq(shmetrics_counter_inc(s, INFINITY), -EINVAL);
    assert_msg("infinite");
    cr_assert_eq(shmetrics_counter_sum(s), 1.75);
    cr_assert_eq(shmetrics_counter_inc(s, 0), 0);
    cr_assert_eq(shmetrics_counter_sum(s), 1.75);

    shmetrics_counter_t *big;
    shmetrics_counter_series_t *b;
    cr_assert_eq(reg_counter("big_total", 0, NULL, &big), 0);
    cr_assert_eq(shmetrics_counter_labels(big, &b, NULL), 0);
    /* 2^52 + 1 twice: exact in the integer cell. */
    cr_assert_eq(shmetrics_counter_inc(b, 4503599627370497.0), 0);
    shmetrics_counter_add(b, 4503599627370497ull);
    cr_assert_eq(shmetrics_counter_sum(b), 9007199254740994.0);
    /* Amounts beyond 2^64 take the fractional cell. */
    cr_assert_eq(shmetrics_counter_inc(b, 1e20), 0);
    cr_assert_eq(shmetrics_counter_sum(b), 1e20 + 9007199254740994.0);
}

Test(registry, gauge_operations)
{
    shmetrics_spec_t gs = {.name = "q", .help = "h", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    cr_assert_eq(shmetrics_gauge_local(s), 0.0);
    cr_assert_eq(shmetrics_gauge_set(s, 10), 0);
    cr_assert_eq(shmetrics_gauge_inc(s, 2.5), 0);
    cr_assert_eq(shmetrics_gauge_dec(s, 5), 0);
    cr_assert_eq(shmetrics_gauge_local(s), 7.5);
    cr_assert_eq(shmetrics_gauge_inc(s, NAN), -EINVAL);
    assert_msg("gauge change: nan is not a number");
    cr_assert_eq(shmetrics_gauge_dec(s, INFINITY), -EINVAL);
    cr_assert_eq(shmetrics_gauge_local(s), 7.5);
    cr_assert_eq(shmetrics_gauge_set(s, -3), 0);
    cr_assert_eq(shmetrics_gauge_local(s), -3.0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    cr_assert_eq(shmetrics_gauge_set_to_current_time(s), 0);
    double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    cr_assert(fabs(shmetrics_gauge_local(s) - now) < 5.0, "%f vs %f", shmetrics_gauge_local(s), now);
}

Test(registry, reset_zeroes_everything)
{
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(reg_counter("r_total", 0, NULL, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    cr_assert_eq(shmetrics_counter_inc(s, 41.5), 0);
    shmetrics_spec_t gs = {.name = "rg", .help = "h", .gauge_mode = SHMETRICS_MODE_MAX};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *gsr;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gsr, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(gsr, 9), 0);
    cr_assert_eq(shmetrics_reset(reg), 0);
    cr_assert_eq(shmetrics_counter_sum(s), 0.0);
    cr_assert_eq(shmetrics_gauge_local(gsr), 0.0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(test_sample(snap, "rg", 0, NULL), 0.0, "a reset gauge still shows, as 0");
    cr_assert_eq(test_sample(snap, "r", 0, NULL), 0.0);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(shmetrics_counter_inc(s, 2), 0);
    cr_assert_eq(shmetrics_counter_sum(s), 2.0);
}

Test(registry, prometheus_text_exact)
{
    const char *lbl[] = {"path", "code"};
    shmetrics_spec_t cs = {.name = "http_requests_total",
                           .help = "Requests \\ served\nall",
                           .label_names = lbl,
                           .nlabels = 2};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s1, *s2;
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s1, "/a\"b", "200", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s2, "c:\\d\ne", "500", NULL), 0);
    shmetrics_counter_add(s1, 16000000);
    cr_assert_eq(shmetrics_counter_inc(s2, 0.1), 0);
    shmetrics_spec_t gs = {.name = "temp_celsius", .help = "Temperature", .gauge_mode = SHMETRICS_MODE_MOSTRECENT};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *gsr;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gsr, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(gsr, -1.5e-7), 0);
    shmetrics_spec_t ns = {.name = "nan_gauge", .help = "", .gauge_mode = SHMETRICS_MODE_SUM};
    cr_assert_eq(shmetrics_gauge_register(reg, &ns, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gsr, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(gsr, NAN), 0);
    shmetrics_spec_t is = {.name = "inf_gauge", .help = "x", .gauge_mode = SHMETRICS_MODE_SUM};
    cr_assert_eq(shmetrics_gauge_register(reg, &is, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gsr, NULL), 0);
    cr_assert_eq(shmetrics_gauge_set(gsr, -INFINITY), 0);

    shmetrics_snapshot_t *snap;
    char *text;
    size_t len;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_eq(snap->damaged, 0);
    /* The counter's _created family: tests/unit_types.c. */
    cr_assert_eq(shmetrics_format_with(snap, SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_NO_CREATED, &text, &len), 0);
    const char *want = "# HELP http_requests_total Requests \\\\ served\\nall\n"
                       "# TYPE http_requests_total counter\n"
                       "http_requests_total{path=\"/a\\\"b\",code=\"200\"} 16000000\n"
                       "http_requests_total{path=\"c:\\\\d\\ne\",code=\"500\"} 0.1\n"
                       "# HELP temp_celsius Temperature\n"
                       "# TYPE temp_celsius gauge\n"
                       "temp_celsius -1.5e-07\n"
                       "# HELP nan_gauge \n"
                       "# TYPE nan_gauge gauge\n"
                       "nan_gauge NaN\n"
                       "# HELP inf_gauge x\n"
                       "# TYPE inf_gauge gauge\n"
                       "inf_gauge -Inf\n";
    cr_assert_str_eq(text, want);
    cr_assert_eq(len, strlen(want));
    free(text);
    shmetrics_snapshot_free(snap);
}

Test(registry, help_of_first_registration_is_kept)
{
    shmetrics_spec_t a = {.name = "h1", .help = "first"}, b = {.name = "h1", .help = "second"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(reg, &a, &c), 0);
    cr_assert_eq(shmetrics_counter_register(reg, &b, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    cr_assert_str_eq(test_family(snap, "h1")->help, "first");
    shmetrics_snapshot_free(snap);
}

Test(default_registry, from_environment)
{
    const char *p = test_arena_path("default");
    cr_assert_eq(setenv("SHMETRICS_ARENA", p, 1), 0);
    shmetrics_registry_t *d = shmetrics_default();
    cr_assert_not_null(d, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_default(), d);
    cr_assert_eq(access(p, F_OK), 0);
    shmetrics_spec_t spec = {.name = "via_default_total", .help = "h"};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(d, &spec, &c), 0);
    unlink(p);
}

Test(default_registry, unset)
{
    unsetenv("SHMETRICS_ARENA");
    cr_assert_null(shmetrics_default());
    cr_assert(strstr(shmetrics_errmsg(), "SHMETRICS_ARENA is not set"), "%s", shmetrics_errmsg());
}

Test(default_registry, bad_arena)
{
    cr_assert_eq(setenv("SHMETRICS_ARENA", "/dev/shm/no-such-dir-shmetrics/x", 1), 0);
    cr_assert_null(shmetrics_default());
    cr_assert(strstr(shmetrics_errmsg(), "default registry: cannot create an arena"), "%s", shmetrics_errmsg());
}

Test(shutdown, bad_arguments)
{
    cr_assert_eq(shmetrics_shutdown(NULL, 0), -EINVAL);
    const char *p = test_arena_path("shut");
    shmetrics_registry_t *r = test_open(p, SHMETRICS_OPEN_CREATE);
    cr_assert_eq(shmetrics_shutdown(r, 0x10), -EINVAL);
    assert_msg("unknown shutdown flags");
    cr_assert_eq(shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK), 0);
    cr_assert_eq(access(p, F_OK), -1);
}

Test(registry, exposed_names_must_not_clash)
{
    shmetrics_counter_t *c;
    shmetrics_gauge_t *g;
    shmetrics_histogram_t *h;
    shmetrics_summary_t *s;
    shmetrics_spec_t jobs = {.name = "jobs_total", .help = "h"};
    cr_assert_eq(shmetrics_counter_register(reg, &jobs, &c), 0);
    shmetrics_spec_t hjobs = {.name = "jobs_total", .help = "h"};
    cr_assert_eq(shmetrics_histogram_register(reg, &hjobs, &h), -EEXIST);
    assert_msg("jobs_total clashes with counter jobs, which exposes jobs_total");
    shmetrics_spec_t lat = {.name = "lat", .help = "h"};
    cr_assert_eq(shmetrics_histogram_register(reg, &lat, &h), 0);
    const char *taken[] = {"lat_bucket", "lat_sum", "lat_count"};
    for (int i = 0; i < 3; i++) {
        shmetrics_spec_t gs = {.name = taken[i], .help = "h"};
        cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), -EEXIST, "%s", taken[i]);
        assert_msg("clashes with histogram lat, which exposes");
    }
    /* The other way round: a new family whose samples would take a name. */
    shmetrics_spec_t q = {.name = "q_sum", .help = "h"};
    cr_assert_eq(shmetrics_gauge_register(reg, &q, &g), 0);
    shmetrics_spec_t qs = {.name = "q", .help = "h"};
    cr_assert_eq(shmetrics_summary_register(reg, &qs, &s), -EEXIST);
    assert_msg("q would expose q_sum, the name of an existing gauge");
    shmetrics_spec_t x = {.name = "x_total", .help = "h"};
    cr_assert_eq(shmetrics_gauge_register(reg, &x, &g), 0);
    shmetrics_spec_t xc = {.name = "x", .help = "h"};
    cr_assert_eq(shmetrics_counter_register(reg, &xc, &c), -EEXIST);
    assert_msg("x would expose x_total, the name of an existing gauge");
    /* Names that only look alike are fine. */
    shmetrics_spec_t ok = {.name = "lat_buckets", .help = "h"};
    cr_assert_eq(shmetrics_gauge_register(reg, &ok, &g), 0);
}

Test(registry, type_and_mode_words_round_trip)
{
    cr_assert_str_eq(shmetrics_type_name(SHMETRICS_COUNTER), "counter");
    cr_assert_str_eq(shmetrics_type_name(SHMETRICS_GAUGE), "gauge");
    cr_assert_str_eq(shmetrics_type_name(SHMETRICS_HISTOGRAM), "histogram");
    cr_assert_str_eq(shmetrics_type_name(SHMETRICS_SUMMARY), "summary");
    cr_assert_null(shmetrics_type_name((shmetrics_type_t)0));
    cr_assert_str_eq(shmetrics_type_name(SHMETRICS_INFO), "info");
    cr_assert_str_eq(shmetrics_type_name(SHMETRICS_STATESET), "stateset");
    cr_assert_null(shmetrics_type_name((shmetrics_type_t)7));
    static const char *const words[] = {"all",     "sum",     "min",     "max",     "mostrecent",
                                        "liveall", "livesum", "livemin", "livemax", "livemostrecent"};
    for (int m = 0; m < 10; m++) {
        shmetrics_gauge_mode_t back = SHMETRICS_MODE_ALL;
        cr_assert_str_eq(shmetrics_gauge_mode_name((shmetrics_gauge_mode_t)m), words[m]);
        cr_assert_eq(shmetrics_gauge_mode_parse(words[m], &back), 0);
        cr_assert_eq((int)back, m);
    }
    cr_assert_null(shmetrics_gauge_mode_name((shmetrics_gauge_mode_t)10));
    cr_assert_null(shmetrics_gauge_mode_name((shmetrics_gauge_mode_t)-1));
    shmetrics_gauge_mode_t out = SHMETRICS_MODE_SUM;
    cr_assert_eq(shmetrics_gauge_mode_parse("recent", &out), -EINVAL);
    assert_msg("unknown gauge mode 'recent': use all, sum, min, max, mostrecent or their live variants");
    cr_assert_eq(out, SHMETRICS_MODE_SUM, "left as it was");
    cr_assert_eq(shmetrics_gauge_mode_parse(NULL, &out), -EINVAL);
    assert_msg("unknown gauge mode '(null)'");
    cr_assert_eq(shmetrics_gauge_mode_parse("sum", NULL), -EINVAL);
}

Test(registry, full_name_is_the_registered_name)
{
    char buf[256];
    shmetrics_spec_t s = {.name = "requests_total", .namespace_name = "app", .subsystem = "web"};
    cr_assert_eq(shmetrics_full_name(&s, SHMETRICS_COUNTER, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "app_web_requests");
    cr_assert_eq(shmetrics_full_name(&s, SHMETRICS_GAUGE, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "app_web_requests_total");
    shmetrics_spec_t bare = {.name = "up", .namespace_name = "", .subsystem = "engine"};
    cr_assert_eq(shmetrics_full_name(&bare, SHMETRICS_GAUGE, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "engine_up");
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(reg, &s, &c), 0);
    shmetrics_counter_t *found;
    cr_assert_eq(shmetrics_counter_get(reg, "app_web_requests", &found), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(found, c);
    cr_assert_eq(shmetrics_full_name(&bare, SHMETRICS_GAUGE, buf, 9), -EINVAL);
    assert_msg("the name engine_up needs 10 bytes, 9 given");
    cr_assert_eq(shmetrics_full_name(&bare, SHMETRICS_GAUGE, buf, 10), 0);
    shmetrics_spec_t bad = {.name = "up", .namespace_name = "9x"};
    cr_assert_eq(shmetrics_full_name(&bad, SHMETRICS_GAUGE, buf, sizeof buf), -EINVAL);
    assert_msg("invalid metric name \"9x_up\"");
    cr_assert_eq(shmetrics_full_name(NULL, SHMETRICS_GAUGE, buf, sizeof buf), -EINVAL);
    assert_msg("no metric spec given");
}

/* ------------------------------------------------------------ own counters */

/* The library's own counters (src/write/series.c: the overflow count and the
 * rate-limited gauges' drop count) are ordinary families of the arena.  A
 * read-write open registers none of them: each appears the first time it
 * is needed, with its name and help, labelled `metric`, and only once. */
Test(self_families, registered_when_first_needed_with_their_name_and_help)
{
    const char *p = test_arena_path("self");
    shmetrics_registry_t *r = test_open(p, SHMETRICS_OPEN_CREATE);
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    cr_assert_eq(in.families_used, 0, "a read-write open registers no family");

    const char *lbl[] = {"user"};
    shmetrics_spec_t cs = {.name = "req", .help = "h", .label_names = lbl, .nlabels = 1, .max_series = 1};
    shmetrics_gauge_t *g;
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *cx, *cy, *cz;
    shmetrics_gauge_series_t *gs;
    cr_assert_eq(shmetrics_counter_register(r, &cs, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &cx, "x", NULL), 0);
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    cr_assert_eq(in.families_used, 1, "no fold yet: no overflow count");
    cr_assert_eq(shmetrics_counter_labels(c, &cy, "y", NULL), 0, "folded, and counted");
    cr_assert_eq(shmetrics_counter_labels(c, &cz, "z", NULL), 0, "folded, and counted by the same family");
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    cr_assert_eq(in.families_used, 2);

    shmetrics_spec_t gsp = {.name = "load", .help = "h", .min_interval_seconds = SHMETRICS_GAUGE_MIN_INTERVAL};
    cr_assert_eq(shmetrics_gauge_register(r, &gsp, &g), 0);
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    cr_assert_eq(in.families_used, 3, "registering a rate-limited gauge does not need its drop count");
    cr_assert_eq(shmetrics_gauge_labels(g, &gs, NULL), 0);
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    cr_assert_eq(in.families_used, 4, "resolving its series does");

    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const shmetrics_family_t *over = test_family(snap, "shmetrics_cardinality_overflow");
    const shmetrics_family_t *drop = test_family(snap, "shmetrics_gauge_sets_dropped");
    cr_assert(over && drop);
    cr_assert_eq(over->type, SHMETRICS_COUNTER);
    cr_assert_str_eq(over->help, "Label sets folded into their metric's overflow series (per process, per label set).");
    cr_assert_eq(drop->type, SHMETRICS_COUNTER);
    cr_assert_str_eq(drop->help, "Sets of rate-limited gauges dropped because they came too soon.");
    const char *mreq[] = {"metric=req"}, *mload[] = {"metric=load"};
    cr_assert_eq(test_sample(snap, "shmetrics_cardinality_overflow", 1, mreq), 2.0);
    cr_assert_eq(test_sample(snap, "shmetrics_gauge_sets_dropped", 1, mload), 0.0);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* A reader registers nothing: not at open, and not when a look-up of a
 * writer's family would need the library's own counters. */
Test(self_families, a_read_only_open_registers_none)
{
    const char *p = test_arena_path("selfro");
    shmetrics_registry_t *w = test_open(p, SHMETRICS_OPEN_CREATE);
    shmetrics_registry_t *ro = test_open(p, SHMETRICS_OPEN_READONLY);
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(ro, &in), 0);
    cr_assert_eq(in.families_used, 0, "a fresh arena opened read-only has no family");

    const char *lbl[] = {"user"};
    shmetrics_spec_t cs = {.name = "req", .help = "h", .label_names = lbl, .nlabels = 1, .max_series = 1};
    shmetrics_spec_t gsp = {.name = "load", .help = "h", .min_interval_seconds = SHMETRICS_GAUGE_MIN_INTERVAL};
    shmetrics_counter_t *c;
    shmetrics_gauge_t *g;
    shmetrics_counter_series_t *cs1;
    shmetrics_gauge_series_t *gs;
    cr_assert_eq(shmetrics_counter_register(w, &cs, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &cs1, "x", NULL), 0);
    cr_assert_eq(shmetrics_gauge_register(w, &gsp, &g), 0);

    cr_assert_eq(shmetrics_counter_get(ro, "req", &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &cs1, "y", NULL), -EROFS, "over the limit, and read-only");
    cr_assert_eq(shmetrics_gauge_get(ro, "load", &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gs, NULL), -EROFS);
    cr_assert_eq(shmetrics_arena_info(ro, &in), 0);
    cr_assert_eq(in.families_used, 2, "the writer's two families, and nothing of the reader's");
    shmetrics_shutdown(ro, 0);
    shmetrics_shutdown(w, SHMETRICS_SHUTDOWN_UNLINK);
}
