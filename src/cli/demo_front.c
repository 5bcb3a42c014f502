/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo_front.c - owns the simulated API server of `shmetrics demo`:
 * the process in front of the engines that answers the HTTP requests, as
 * vLLM's OpenAI-compatible server does.  It records the HTTP metrics that
 * server exposes (prometheus-fastapi-instrumentator's http_requests_total
 * {handler, method, status} and http_request_duration_seconds{handler,
 * method}, and its unlabelled http_request_duration_highr_seconds) for
 * every response an engine finishes, plus the health checks and scrapes a
 * load balancer and Prometheus make, once a second.
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
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_counter_register(reg, &total, &requests) < 0 ||
        shmetrics_histogram_register(reg, &duration, &latency) < 0 ||
        shmetrics_histogram_register(reg, &highres, &latency_highr) < 0 ||
        shmetrics_counter_labels(requests, &completions, "/v1/completions", "POST", "2xx", NULL) < 0 ||
        shmetrics_counter_labels(requests, &health, "/health", "GET", "2xx", NULL) < 0 ||
        shmetrics_counter_labels(requests, &metrics, "/metrics", "GET", "2xx", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &completions_time, "/v1/completions", "POST", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &health_time, "/health", "GET", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &metrics_time, "/metrics", "GET", NULL) < 0 ||
        shmetrics_histogram_labels(latency_highr, &any_time, NULL) < 0) {
        fprintf(stderr, "demo API server: %s\n", shmetrics_errmsg());
        return 1;
    }
    uint64_t served = 0;
    double next_probe = demo_now() + 1;
    struct demo_response r;
    /* Until every engine has exited (end of file): a response is one
     * atomic write, so a full read is a whole one. */
    while (read(responses, &r, sizeof r) == (ssize_t)sizeof r) {
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
