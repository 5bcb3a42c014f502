/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo_front.c - owns the simulated API server of `shmetrics demo`:
 * the process in front of the engines that answers the HTTP requests, as
 * vLLM's OpenAI-compatible server does.  It records the HTTP metrics that
 * server exposes (prometheus-fastapi-instrumentator's http_requests_total
 * {handler, method, status} and http_request_duration_seconds{handler,
 * method}, and its unlabelled http_request_duration_highr_seconds) for
 * every response an engine finishes, plus the health checks and scrapes a
 * load balancer and Prometheus make, once a second; and the sleep-mode
 * operations it dispatches to the engines (POST /sleep and /wake_up), in
 * vllm:sleep_mode_operation_duration_seconds{operation} and
 * vllm:sleep_mode_operations_in_flight{operation}, which it creates at 0
 * for each operation as vLLM's server does.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

/* The instrumentator's bucket lists (its latency_lowr_buckets and
 * latency_highr_buckets). */
static const double lowr[] = {0.1, 0.5, 1};
static const double highr[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1,  1.5, 2,
                               2.5,  3,     3.5,  4,     4.5, 5,    7.5, 10,   30, 60};
/* vLLM's sleep-mode operation metrics (its API server's). */
static const double operation_buckets[] = {0.01, 0.1, 1, 10, 30, 60, 120, 300, 600};
static const char *const operations[] = {"sleep", "release_kv_cache_memory", "wake"};

/* The sleep-mode families, the in-flight gauges at 0; the handles of the
 * sleep and wake operations. */
static int sleep_mode(shmetrics_registry_t *reg, shmetrics_counter_t *requests, shmetrics_histogram_t *latency,
                      shmetrics_histogram_series_t *took[2], shmetrics_counter_series_t *calls[2],
                      shmetrics_histogram_series_t *calls_time[2])
{
    static const char *const by_operation[] = {"operation"};
    shmetrics_spec_t duration = {.name = "vllm:sleep_mode_operation_duration_seconds",
                                 .help = "Duration of one sleep-mode operation.",
                                 .label_names = by_operation,
                                 .nlabels = 1,
                                 .buckets = operation_buckets,
                                 .nbuckets = sizeof operation_buckets / sizeof operation_buckets[0]};
    shmetrics_spec_t in_flight = {.name = "vllm:sleep_mode_operations_in_flight",
                                  .help = "Sleep-mode operations currently awaited.",
                                  .label_names = by_operation,
                                  .nlabels = 1,
                                  .gauge_mode = SHMETRICS_MODE_LIVESUM};
    shmetrics_histogram_t *d;
    shmetrics_gauge_t *g;
    if (shmetrics_histogram_register(reg, &duration, &d) < 0 || shmetrics_gauge_register(reg, &in_flight, &g) < 0)
        return -1;
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) {
        shmetrics_gauge_series_t *zero;
        if (shmetrics_gauge_labels(g, &zero, operations[i], NULL) < 0 || shmetrics_gauge_set(zero, 0) < 0)
            return -1;
    }
    if (shmetrics_histogram_labels(d, &took[0], "sleep", NULL) < 0 ||
        shmetrics_histogram_labels(d, &took[1], "wake", NULL) < 0 ||
        shmetrics_counter_labels(requests, &calls[0], "/sleep", "POST", "2xx", NULL) < 0 ||
        shmetrics_counter_labels(requests, &calls[1], "/wake_up", "POST", "2xx", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &calls_time[0], "/sleep", "POST", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &calls_time[1], "/wake_up", "POST", NULL) < 0)
        return -1;
    return 0;
}

int demo_front(const char *arena, int responses, int report)
{
    signal(SIGTERM, SIG_IGN); /* it stops when the engines have closed their end */
    signal(SIGINT, SIG_IGN);
    static const char *const by_handler[] = {"handler", "method", "status"};
    static const char *const by_route[] = {"handler", "method"};
    shmetrics_spec_t total = {.name = "http_requests_total",
                              .help = "Total number of requests by method, status and handler.",
                              .label_names = by_handler,
                              .nlabels = 3};
    shmetrics_spec_t duration = {.name = "http_request_duration_seconds",
                                 .help = "Latency with only few buckets by handler. Made to be only used if "
                                         "aggregation by handler is important.",
                                 .label_names = by_route,
                                 .nlabels = 2,
                                 .buckets = lowr,
                                 .nbuckets = sizeof lowr / sizeof lowr[0]};
    shmetrics_spec_t highres = {.name = "http_request_duration_highr_seconds",
                                .help = "Latency with many buckets but no API specific labels. Made for more "
                                        "accurate percentile calculations.",
                                .buckets = highr,
                                .nbuckets = sizeof highr / sizeof highr[0]};
    shmetrics_options_t o = {.path = arena};
    shmetrics_registry_t *reg;
    shmetrics_counter_t *requests;
    shmetrics_histogram_t *latency, *latency_highr;
    shmetrics_counter_series_t *completions, *health, *metrics;
    shmetrics_histogram_series_t *completions_time, *health_time, *metrics_time, *any_time;
    shmetrics_histogram_series_t *took[2], *calls_time[2];
    shmetrics_counter_series_t *calls[2];
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_counter_register(reg, &total, &requests) < 0 ||
        shmetrics_histogram_register(reg, &duration, &latency) < 0 ||
        shmetrics_histogram_register(reg, &highres, &latency_highr) < 0 ||
        shmetrics_counter_labels(requests, &completions, "/v1/completions", "POST", "2xx", NULL) < 0 ||
        shmetrics_counter_labels(requests, &health, "/health", "GET", "2xx", NULL) < 0 ||
        shmetrics_counter_labels(requests, &metrics, "/metrics", "GET", "2xx", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &completions_time, "/v1/completions", "POST", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &health_time, "/health", "GET", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &metrics_time, "/metrics", "GET", NULL) < 0 ||
        shmetrics_histogram_labels(latency_highr, &any_time, NULL) < 0 ||
        sleep_mode(reg, requests, latency, took, calls, calls_time) < 0) {
        fprintf(stderr, "demo API server: %s\n", shmetrics_errmsg());
        return 1;
    }
    uint64_t served = 0;
    double next_probe = demo_now() + 1;
    struct demo_response r;
    /* Until every engine has exited (end of file): a response is one
     * atomic write, so a full read is a whole one. */
    while (read(responses, &r, sizeof r) == (ssize_t)sizeof r) {
        if (r.kind != DEMO_COMPLETION) {
            int wake = r.kind == DEMO_WAKE;
            shmetrics_histogram_observe(took[wake], r.seconds);
            shmetrics_counter_add(calls[wake], 1);
            shmetrics_histogram_observe(calls_time[wake], r.seconds);
            shmetrics_histogram_observe(any_time, r.seconds);
            continue;
        }
        shmetrics_counter_add(completions, 1);
        shmetrics_histogram_observe(completions_time, r.seconds);
        shmetrics_histogram_observe(any_time, r.seconds);
        served++;
        for (double t = demo_now(); t >= next_probe; next_probe += 1) {
            shmetrics_counter_add(health, 1);
            shmetrics_histogram_observe(health_time, 0.0004);
            shmetrics_counter_add(metrics, 1);
            shmetrics_histogram_observe(metrics_time, 0.003);
        }
    }
    shmetrics_shutdown(reg, 0);
    return write(report, &served, sizeof served) == (ssize_t)sizeof served ? 0 : 1;
}
