/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_distributions.c - histograms and summaries in one process:
 * bucket lists and their errors, where each observation lands, NaN and
 * infinities, exact sums, accessors, the sliding window on an injected
 * clock, and the exact text of the exposition.
 */
#include <math.h>

#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static shmetrics_registry_t *reg;

static void setup(void)
{
    reg = test_open(test_arena_path("dist"), SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(histogram, .init = setup, .fini = teardown);
TestSuite(summary, .init = setup, .fini = teardown);

static void assert_msg(const char *needle)
{
    cr_assert(strstr(shmetrics_errmsg(), needle), "message \"%s\" lacks \"%s\"", shmetrics_errmsg(), needle);
}

static int hist(const char *name, const double *b, size_t n, shmetrics_histogram_t **out)
{
    shmetrics_spec_t spec = {.name = name, .help = "h", .buckets = b, .nbuckets = n};
    return shmetrics_histogram_register(reg, &spec, out);
}

static shmetrics_histogram_series_t *hist_series(const char *name, const double *b, size_t n)
{
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *s;
    cr_assert_eq(hist(name, b, n, &h), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_labels(h, &s, NULL), 0);
    return s;
}

Test(histogram, bucket_list_errors)
{
    shmetrics_histogram_t *h;
    const double unsorted[] = {1, 3, 2}, dup[] = {1, 2, 2}, nan[] = {1, NAN}, minf[] = {-INFINITY, 1};
    const double inf_mid[] = {1, INFINITY, 2}, only_inf[] = {INFINITY};
    cr_assert_eq(hist("a", unsorted, 3, &h), -EINVAL);
    assert_msg("histogram a: bucket bounds must be strictly increasing (2 after 3)");
    cr_assert_eq(hist("a", dup, 3, &h), -EINVAL);
    assert_msg("strictly increasing (2 after 2)");
    cr_assert_eq(hist("a", nan, 2, &h), -EINVAL);
    assert_msg("bucket bound 2 is nan; bounds must be finite");
    cr_assert_eq(hist("a", minf, 2, &h), -EINVAL);
    assert_msg("bucket bound 1 is -inf");
    cr_assert_eq(hist("a", inf_mid, 3, &h), -EINVAL);
    cr_assert_eq(hist("a", unsorted, 0, &h), -EINVAL);
    assert_msg("histogram a has an empty bucket list");
    cr_assert_eq(hist("a", only_inf, 1, &h), -EINVAL);
    assert_msg("empty bucket list");
    static double many[513];
    for (int i = 0; i < 513; i++)
        many[i] = i;
    cr_assert_eq(hist("a", many, 513, &h), -EINVAL);
    assert_msg("513 buckets, more than 512");
    cr_assert_eq(hist("a", many, 512, &h), 0);
    const char *le[] = {"le"};
    shmetrics_spec_t spec = {.name = "b", .label_names = le, .nlabels = 1};
    cr_assert_eq(shmetrics_histogram_register(reg, &spec, &h), -EINVAL);
    assert_msg("label name \"le\" is reserved for a histogram");
}

Test(histogram, same_buckets_same_metric_others_refused)
{
    const double b[] = {1, 2, 5}, binf[] = {1, 2, 5, INFINITY}, other[] = {1, 2, 10};
    shmetrics_histogram_t *h1, *h2;
    cr_assert_eq(hist("lat", b, 3, &h1), 0);
    cr_assert_eq(hist("lat", binf, 4, &h2), 0, "a trailing +Inf is the same list");
    cr_assert_eq(h1, h2);
    cr_assert_eq(hist("lat", other, 3, &h2), -EEXIST);
    assert_msg("lat is already registered with 3 other buckets (first 1, last 5)");
    cr_assert_eq(hist("lat", NULL, 0, &h2), -EEXIST);
    shmetrics_counter_t *c;
    shmetrics_spec_t cs = {.name = "lat"};
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &c), -EEXIST);
    assert_msg("lat is already registered as a histogram, not a counter");
}

Test(histogram, bounds_as_registered_here_and_by_another_process)
{
    const double binf[] = {0.1, 0.5, 1, INFINITY};
    shmetrics_histogram_t *h;
    cr_assert_eq(hist("span_seconds", binf, 4, &h), 0);
    const double *b;
    size_t n;
    cr_assert_eq(shmetrics_histogram_bounds(h, &b, &n), 0);
    cr_assert(n == 3 && b[0] == 0.1 && b[1] == 0.5 && b[2] == 1.0, "n %zu", n);
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-test-dist-%d", (int)getpid()); /* setup's arena */
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* Another process finds the family by name: the bounds come from
         * the arena's record. */
        shmetrics_options_t o = {.path = path};
        shmetrics_registry_t *other;
        shmetrics_histogram_t *g;
        int ok = shmetrics_open(&o, &other) == 0 && shmetrics_histogram_get(other, "span_seconds", &g) == 0 &&
                 shmetrics_histogram_bounds(g, &b, &n) == 0 && n == 3 && b[0] == 0.1 && b[2] == 1.0;
        _exit(ok ? 0 : 1);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the other process read other bounds");
    cr_assert_eq(shmetrics_histogram_bounds(NULL, &b, &n), -EINVAL);
    assert_msg("no histogram or output given");
    cr_assert_eq(shmetrics_histogram_bounds(h, NULL, &n), -EINVAL);
}

Test(histogram, default_and_helper_buckets)
{
    shmetrics_histogram_series_t *s = hist_series("d", NULL, 0);
    cr_assert_eq(s->nbuckets, 14);
    for (int i = 0; i < 14; i++)
        cr_assert_eq(s->bounds[i], SHMETRICS_DEFAULT_BUCKETS[i]);
    double lin[4], exp4[4];
    cr_assert_eq(shmetrics_buckets_linear(1, 0.5, 4, lin), 0);
    cr_assert(lin[0] == 1 && lin[1] == 1.5 && lin[2] == 2 && lin[3] == 2.5);
    cr_assert_eq(shmetrics_buckets_exponential(1, 10, 4, exp4), 0);
    cr_assert(exp4[0] == 1 && exp4[1] == 10 && exp4[2] == 100 && exp4[3] == 1000);
    cr_assert_eq(shmetrics_buckets_linear(0, 0, 4, lin), -EINVAL);
    assert_msg("finite width > 0");
    cr_assert_eq(shmetrics_buckets_linear(0, 1, 0, lin), -EINVAL);
    assert_msg("1 to 512 bounds, not 0");
    cr_assert_eq(shmetrics_buckets_exponential(0, 2, 4, exp4), -EINVAL);
    cr_assert_eq(shmetrics_buckets_exponential(1, 1, 4, exp4), -EINVAL);
    cr_assert_eq(shmetrics_buckets_exponential(1e300, 1e10, 3, exp4), -EINVAL);
    assert_msg("exponential bucket 2 overflows");
    cr_assert_eq(shmetrics_buckets_linear(NAN, 1, 2, lin), -EINVAL);
}

Test(histogram, observations_land_in_their_bucket)
{
    const double b[] = {1, 2, 5};
    shmetrics_histogram_series_t *s = hist_series("h", b, 3);
    const double obs[] = {0.5, 1, 1.5, 2, 5, 5.0001, 100, -3};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        shmetrics_histogram_observe(s, obs[i]);
    uint64_t cum[4];
    cr_assert_eq(shmetrics_histogram_buckets(s, cum, 4), 0);
    /* le=1: 0.5 1 -3; le=2: +1.5 2; le=5: +5; +Inf: +5.0001 100 */
    cr_assert_eq(cum[0], 3);
    cr_assert_eq(cum[1], 5);
    cr_assert_eq(cum[2], 6);
    cr_assert_eq(cum[3], 8);
    cr_assert_eq(shmetrics_histogram_count(s), 8);
    cr_assert_float_eq(shmetrics_histogram_sum(s), 0.5 + 1 + 1.5 + 2 + 5 + 5.0001 + 100 - 3, 1e-12);
    cr_assert_eq(shmetrics_histogram_buckets(s, cum, 3), -EINVAL);
    assert_msg("the histogram has 4 buckets with +Inf; room for 3 given");
}

Test(histogram, many_buckets_use_binary_search)
{
    double b[100];
    cr_assert_eq(shmetrics_buckets_linear(1, 1, 100, b), 0);
    shmetrics_histogram_series_t *s = hist_series("wide", b, 100);
    for (int v = 0; v <= 101; v++)
        shmetrics_histogram_observe(s, v);
    uint64_t cum[101];
    cr_assert_eq(shmetrics_histogram_buckets(s, cum, 101), 0);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(cum[i], (uint64_t)i + 2, "le=%d: %llu", i + 1, (unsigned long long)cum[i]);
    cr_assert_eq(cum[100], 102);
}

Test(histogram, whole_number_sums_are_exact)
{
    shmetrics_histogram_series_t *s = hist_series("tokens", NULL, 0);
    /* In a double, 2^53 + 1 + 1 stays 2^53; the whole-number cell keeps it. */
    shmetrics_histogram_observe(s, 9007199254740992.0);
    shmetrics_histogram_observe(s, 1);
    shmetrics_histogram_observe(s, 1);
    cr_assert_eq(shmetrics_histogram_sum(s), 9007199254740994.0);
    shmetrics_histogram_observe(s, -9007199254740994.0);
    cr_assert_eq(shmetrics_histogram_sum(s), 0.0);
}

Test(histogram, nan_and_infinities)
{
    const double b[] = {1, 2};
    shmetrics_histogram_series_t *s = hist_series("weird", b, 2);
    shmetrics_histogram_observe(s, -INFINITY);
    shmetrics_histogram_observe(s, 1.5);
    uint64_t cum[3];
    cr_assert_eq(shmetrics_histogram_buckets(s, cum, 3), 0);
    cr_assert(cum[0] == 1 && cum[1] == 2 && cum[2] == 2);
    cr_assert(isinf(shmetrics_histogram_sum(s)) && shmetrics_histogram_sum(s) < 0);
    shmetrics_histogram_observe(s, INFINITY);
    cr_assert(isnan(shmetrics_histogram_sum(s)), "-Inf + +Inf is NaN");
    shmetrics_histogram_series_t *n = hist_series("nan_obs", b, 2);
    shmetrics_histogram_observe(n, NAN);
    cr_assert_eq(shmetrics_histogram_buckets(n, cum, 3), 0);
    cr_assert(cum[0] == 0 && cum[1] == 0 && cum[2] == 1, "NaN counts in +Inf");
    cr_assert_eq(shmetrics_histogram_count(n), 1);
    cr_assert(isnan(shmetrics_histogram_sum(n)));
}

Test(histogram, timer_observes_elapsed_seconds)
{
    const double b[] = {0.5, 60};
    shmetrics_histogram_series_t *s = hist_series("timed", b, 2);
    uint64_t t = shmetrics_timer_start();
    usleep(2000);
    shmetrics_histogram_observe_since(s, t);
    uint64_t cum[3];
    cr_assert_eq(shmetrics_histogram_buckets(s, cum, 3), 0);
    cr_assert_eq(cum[0], 1);
    cr_assert(shmetrics_histogram_sum(s) >= 0.002, "%g", shmetrics_histogram_sum(s));
}

Test(histogram, prometheus_text_exact)
{
    const char *lbl[] = {"route"};
    const double b[] = {0.005, 1, 2.5, 1e6};
    shmetrics_spec_t spec =
        {.name = "lat_seconds", .help = "Latency.", .label_names = lbl, .nlabels = 1, .buckets = b, .nbuckets = 4};
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *s;
    cr_assert_eq(shmetrics_histogram_register(reg, &spec, &h), 0);
    cr_assert_eq(shmetrics_histogram_labels(h, &s, "/x", NULL), 0);
    shmetrics_histogram_observe(s, 0.005);
    shmetrics_histogram_observe(s, 2);
    shmetrics_histogram_observe(s, 3);
    shmetrics_histogram_observe(s, 2e6);
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    /* Creation times: tests/unit_created.c. */
    cr_assert_eq(shmetrics_format_with(snap, SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_NO_CREATED, &text, NULL), 0);
    cr_assert_str_eq(text, "# HELP lat_seconds Latency.\n"
                           "# TYPE lat_seconds histogram\n"
                           "lat_seconds_bucket{route=\"/x\",le=\"0.005\"} 1\n"
                           "lat_seconds_bucket{route=\"/x\",le=\"1.0\"} 1\n"
                           "lat_seconds_bucket{route=\"/x\",le=\"2.5\"} 2\n"
                           "lat_seconds_bucket{route=\"/x\",le=\"1e+06\"} 3\n"
                           "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"
                           "lat_seconds_sum{route=\"/x\"} 2000005.005\n"
                           "lat_seconds_count{route=\"/x\"} 4\n");
    free(text);
    shmetrics_snapshot_free(snap);
}

/* ---------------------------------------------------------------- summary */

static int summ(const char *name, const double *q, size_t nq, double max_age, uint32_t ages, shmetrics_summary_t **out)
{
    shmetrics_spec_t spec =
        {.name = name, .help = "h", .quantiles = q, .nquantiles = nq, .max_age_seconds = max_age, .age_buckets = ages};
    return shmetrics_summary_register(reg, &spec, out);
}

/* The value the sketch reports for v > 0: its bucket's midpoint. */
static double sketch_value(double v)
{
    int e;
    double m = frexp(v, &e); /* v = m * 2^e, m in [0.5, 1) */
    double f = m * 2;        /* [1, 2) */
    int sub = (int)((f - 1) * 64);
    return ldexp(1 + (sub + 0.5) / 64, e - 1);
}

Test(summary, parameter_errors)
{
    shmetrics_summary_t *s;
    const double bad[] = {0.5, 1.5}, order[] = {0.9, 0.5}, nanq[] = {NAN};
    cr_assert_eq(summ("s", bad, 2, 0, 0, &s), -EINVAL);
    assert_msg("summary s: quantile 1.5 is not within [0, 1]");
    cr_assert_eq(summ("s", order, 2, 0, 0, &s), -EINVAL);
    assert_msg("quantiles must be strictly increasing (0.5 after 0.9)");
    cr_assert_eq(summ("s", nanq, 1, 0, 0, &s), -EINVAL);
    cr_assert_eq(summ("s", NULL, 0, -1, 0, &s), -EINVAL);
    assert_msg("max age -1 s must be between 1 ms per age bucket and 7 days");
    cr_assert_eq(summ("s", NULL, 0, NAN, 0, &s), -EINVAL);
    cr_assert_eq(summ("s", NULL, 0, 0, 17, &s), -EINVAL);
    assert_msg("17 age buckets, more than 16");
    static double many[17];
    for (int i = 0; i < 17; i++)
        many[i] = i / 20.0;
    cr_assert_eq(summ("s", many, 17, 0, 0, &s), -EINVAL);
    assert_msg("17 quantiles, more than 16");
    const char *ql[] = {"quantile"};
    shmetrics_spec_t spec = {.name = "s", .label_names = ql, .nlabels = 1};
    cr_assert_eq(shmetrics_summary_register(reg, &spec, &s), -EINVAL);
    assert_msg("label name \"quantile\" is reserved for a summary");
    cr_assert_eq(summ("ok", NULL, 0, 0, 0, &s), 0);
    const double q[] = {0.5};
    shmetrics_summary_t *s2;
    cr_assert_eq(summ("ok", q, 1, 0, 0, &s2), -EEXIST);
    assert_msg("ok is already registered with 4 other quantiles");
    cr_assert_eq(summ("ok", NULL, 0, 30, 0, &s2), -EEXIST);
    assert_msg("with max age 60 s in 5 age buckets");
    cr_assert_eq(summ("ok", NULL, 0, 60, 5, &s2), 0);
    cr_assert_eq(s, s2);
}

Test(summary, quantiles_count_sum)
{
    shmetrics_summary_t *m;
    shmetrics_summary_series_t *s;
    const double q[] = {0, 0.5, 0.9, 1};
    cr_assert_eq(summ("ttft", q, 4, 0, 0, &m), 0);
    cr_assert_eq(shmetrics_summary_labels(m, &s, NULL), 0);
    double v;
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, 0, &v), 0);
    cr_assert(isnan(v), "an empty window has no quantile");
    for (int i = 1; i <= 100; i++)
        shmetrics_summary_observe(s, i);
    cr_assert_eq(shmetrics_summary_count(s), 100);
    cr_assert_eq(shmetrics_summary_sum(s), 5050.0);
    const double want[][2] = {{0, 1}, {0.5, 50}, {0.9, 90}, {0.99, 99}, {1, 100}};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(shmetrics_summary_quantile(s, want[i][0], 0, &v), 0);
        cr_assert_eq(v, sketch_value(want[i][1]), "q=%g: %g", want[i][0], v);
        cr_assert_leq(fabs(v - want[i][1]) / want[i][1], 1.0 / 128);
    }
    cr_assert_eq(shmetrics_summary_quantile(s, 1.1, 0, &v), -EINVAL);
    assert_msg("within [0, 1], not 1.1");
}

Test(summary, zero_negative_nan_infinite)
{
    shmetrics_summary_t *m;
    shmetrics_summary_series_t *s;
    const double q[] = {0, 0.5, 1};
    cr_assert_eq(summ("odd", q, 3, 0, 0, &m), 0);
    cr_assert_eq(shmetrics_summary_labels(m, &s, NULL), 0);
    shmetrics_summary_observe(s, -8);
    shmetrics_summary_observe(s, 0);
    shmetrics_summary_observe(s, 8);
    double v;
    cr_assert_eq(shmetrics_summary_quantile(s, 0, 0, &v), 0);
    cr_assert_eq(v, -sketch_value(8));
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, 0, &v), 0);
    cr_assert_eq(v, 0.0);
    cr_assert_eq(shmetrics_summary_quantile(s, 1, 0, &v), 0);
    cr_assert_eq(v, sketch_value(8));
    shmetrics_summary_observe(s, NAN);
    cr_assert_eq(shmetrics_summary_count(s), 4, "NaN counts");
    cr_assert(isnan(shmetrics_summary_sum(s)), "and poisons the sum");
    cr_assert_eq(shmetrics_summary_quantile(s, 1, 0, &v), 0);
    cr_assert_eq(v, sketch_value(8), "but does not rank");
    shmetrics_summary_observe(s, INFINITY);
    cr_assert_eq(shmetrics_summary_quantile(s, 1, 0, &v), 0);
    cr_assert(v > 4.2e9 && v < 4.3e9, "+Inf ranks at the top of the range, 2^32: %g", v);
}

Test(summary, window_slides_on_an_injected_clock)
{
    shmetrics_summary_t *m;
    shmetrics_summary_series_t *s;
    const double q[] = {0.5};
    /* max_age 60 s in 5 slots of 12 s. */
    cr_assert_eq(summ("win", q, 1, 60, 5, &m), 0);
    cr_assert_eq(shmetrics_summary_labels(m, &s, NULL), 0);
    const uint64_t sec = 1000000000ull, t0 = 1000 * sec;
    for (int i = 0; i < 10; i++)
        shmetrics_summary_observe_at(s, 1, t0);
    double v;
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, t0 + 30 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(1));
    for (int i = 0; i < 30; i++)
        shmetrics_summary_observe_at(s, 100, t0 + 30 * sec);
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, t0 + 30 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(100));
    /* At t0 + 61 s the first ten are older than max_age: gone. */
    const double lo[] = {0};
    shmetrics_summary_t *m0;
    cr_assert_eq(summ("win", lo, 1, 60, 5, &m0), -EEXIST);
    cr_assert_eq(shmetrics_summary_quantile(s, 0, t0 + 61 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(100), "the minimum is now 100: %g", v);
    cr_assert_eq(shmetrics_summary_quantile(s, 0, t0 + 47 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(1), "47 s after, still in the window");
    /* 60 s after the second batch, nothing is left; all-time totals stay. */
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, t0 + 91 * sec, &v), 0);
    cr_assert(isnan(v));
    cr_assert_eq(shmetrics_summary_count(s), 40);
    cr_assert_eq(shmetrics_summary_sum(s), 3010.0);
    /* A slot reused for a new period starts empty. */
    shmetrics_summary_observe_at(s, 7, t0 + 120 * sec);
    cr_assert_eq(shmetrics_summary_quantile(s, 0, t0 + 120 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(7));
    cr_assert_eq(shmetrics_summary_quantile(s, 1, t0 + 120 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(7));
    /* An observation stamped before the slot's period is left out of the
     * window (a late clock), never out of the totals. */
    shmetrics_summary_observe_at(s, 9, t0 + 60 * sec);
    cr_assert_eq(shmetrics_summary_count(s), 42);
    cr_assert_eq(shmetrics_summary_quantile(s, 1, t0 + 120 * sec, &v), 0);
    cr_assert_eq(v, sketch_value(7));
    /* The snapshot uses the same window. */
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect_at(reg, t0 + 120 * sec, &snap), 0);
    const char *q5[] = {"quantile=0.5"};
    cr_assert_eq(test_sample(snap, "win", 1, q5), sketch_value(7));
    shmetrics_snapshot_free(snap);
}

Test(summary, prometheus_text_exact)
{
    const char *lbl[] = {"model"};
    const double q[] = {0.5, 0.99};
    shmetrics_spec_t spec =
        {.name = "ttft_seconds", .help = "TTFT.", .label_names = lbl, .nlabels = 1, .quantiles = q, .nquantiles = 2};
    shmetrics_summary_t *m;
    shmetrics_summary_series_t *s;
    cr_assert_eq(shmetrics_summary_register(reg, &spec, &m), 0);
    cr_assert_eq(shmetrics_summary_labels(m, &s, "llama", NULL), 0);
    shmetrics_summary_observe(s, 0.2);
    shmetrics_summary_observe(s, 0.4);
    shmetrics_snapshot_t *snap;
    char *text;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0);
    /* Creation times: tests/unit_created.c. */
    cr_assert_eq(shmetrics_format_with(snap, SHMETRICS_FORMAT_PROMETHEUS, SHMETRICS_FORMAT_NO_CREATED, &text, NULL), 0);
    cr_assert_str_eq(text, "# HELP ttft_seconds TTFT.\n"
                           "# TYPE ttft_seconds summary\n"
                           "ttft_seconds{model=\"llama\",quantile=\"0.5\"} 0.2001953125\n"
                           "ttft_seconds{model=\"llama\",quantile=\"0.99\"} 0.400390625\n"
                           "ttft_seconds_sum{model=\"llama\"} 0.6000000000000001\n"
                           "ttft_seconds_count{model=\"llama\"} 2\n");
    free(text);
    shmetrics_snapshot_free(snap);
}

Test(summary, reset_clears_window_and_totals)
{
    shmetrics_summary_t *m;
    shmetrics_summary_series_t *s;
    cr_assert_eq(summ("r", NULL, 0, 0, 0, &m), 0);
    cr_assert_eq(shmetrics_summary_labels(m, &s, NULL), 0);
    shmetrics_summary_observe(s, 3);
    cr_assert_eq(shmetrics_reset(reg), 0);
    double v;
    cr_assert_eq(shmetrics_summary_count(s), 0);
    cr_assert_eq(shmetrics_summary_sum(s), 0.0);
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, 0, &v), 0);
    cr_assert(isnan(v));
    shmetrics_summary_observe(s, 5);
    cr_assert_eq(shmetrics_summary_quantile(s, 0.5, 0, &v), 0);
    cr_assert_eq(v, sketch_value(5));
}
