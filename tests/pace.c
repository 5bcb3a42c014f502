/* SPDX-License-Identifier: MIT */
/*
 * tests/pace.c - a worker that writes at known rates, for the tests of
 * shmetrics top: it registers these series, prints "ready", then for
 * SECONDS keeps each counter at rate x elapsed time (checked every 10 ms
 * against CLOCK_MONOTONIC, so a late wake-up catches up) and exits.
 *
 * usage: pace ARENA SECONDS
 *
 *   pace_requests_total{route="/a"}   200 per second
 *   pace_requests_total{route="/b"}    50 per second
 *   pace_errors_total                  10 per second
 *   pace_latency_seconds (histogram, buckets 0.1 0.2 0.5 1)
 *                                      40 observations of 0.15 per second
 *   pace_inflight (gauge, mode sum)    3
 */
#define _GNU_SOURCE
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "pace: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pace ARENA SECONDS\n");
        return 2;
    }
    double seconds = atof(argv[2]);
    shmetrics_options_t o = {.path = argv[1], .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        die("open");
    const char *route[] = {"route"};
    static const double bounds[] = {0.1, 0.2, 0.5, 1};
    shmetrics_spec_t rs = {.name = "pace_requests_total", .help = "Requests.", .label_names = route, .nlabels = 1};
    shmetrics_spec_t es = {.name = "pace_errors_total", .help = "Errors."};
    shmetrics_spec_t ls = {.name = "pace_latency_seconds", .help = "Latency.", .buckets = bounds, .nbuckets = 4};
    shmetrics_spec_t gs = {.name = "pace_inflight", .help = "In flight.", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_counter_t *requests, *errors;
    shmetrics_histogram_t *latency;
    shmetrics_gauge_t *inflight;
    shmetrics_counter_series_t *a, *b, *e;
    shmetrics_histogram_series_t *l;
    shmetrics_gauge_series_t *g;
    if (shmetrics_counter_register(reg, &rs, &requests) < 0 || shmetrics_counter_register(reg, &es, &errors) < 0 ||
        shmetrics_histogram_register(reg, &ls, &latency) < 0 || shmetrics_gauge_register(reg, &gs, &inflight) < 0)
        die("register");
    if (shmetrics_counter_labels(requests, &a, "/a", NULL) < 0 ||
        shmetrics_counter_labels(requests, &b, "/b", NULL) < 0 || shmetrics_counter_labels(errors, &e, NULL) < 0 ||
        shmetrics_histogram_labels(latency, &l, NULL) < 0 || shmetrics_gauge_labels(inflight, &g, NULL) < 0)
        die("labels");
    shmetrics_gauge_set(g, 3);
    printf("ready\n");
    fflush(stdout);
    uint64_t done_a = 0, done_b = 0, done_e = 0, done_l = 0;
    double t0 = now_s();
    for (;;) {
        double t = now_s() - t0;
        if (t > seconds)
            t = seconds;
        uint64_t want_a = (uint64_t)(200 * t), want_b = (uint64_t)(50 * t), want_e = (uint64_t)(10 * t),
                 want_l = (uint64_t)(40 * t);
        shmetrics_counter_add(a, want_a - done_a);
        shmetrics_counter_add(b, want_b - done_b);
        shmetrics_counter_add(e, want_e - done_e);
        for (; done_l < want_l; done_l++)
            shmetrics_histogram_observe(l, 0.15);
        done_a = want_a;
        done_b = want_b;
        done_e = want_e;
        if (t >= seconds)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return shmetrics_shutdown(reg, 0) < 0;
}
