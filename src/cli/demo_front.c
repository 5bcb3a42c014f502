/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo_front.c - owns the simulated API server of `shmetrics demo`:
 * the process in front of the engines that answers the HTTP requests, as
 * vLLM's OpenAI-compatible server does.  It records the HTTP metrics that
 * server exposes (prometheus-fastapi-instrumentator's default ones:
 * http_requests_total{handler, method, status},
 * http_request_duration_seconds{handler, method}, the unlabelled
 * http_request_duration_highr_seconds, and the summaries
 * http_request_size_bytes{handler} and http_response_size_bytes{handler},
 * without quantiles) for every response an engine finishes; vLLM leaves its
 * probes out (/health, /metrics, /load, /ping, /version, /server_info), so
 * health checks and scrapes are not counted.  And the sleep-mode
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

/* The sleep-mode families, with the in-flight gauges at 0. */
static int sleep_mode(shmetrics_registry_t *reg, shmetrics_histogram_t **took)
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
    shmetrics_gauge_t *g;
    if (shmetrics_histogram_register(reg, &duration, took) < 0 || shmetrics_gauge_register(reg, &in_flight, &g) < 0)
        return -1;
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) {
        shmetrics_gauge_series_t *zero;
        if (shmetrics_gauge_labels(g, &zero, operations[i], NULL) < 0 || shmetrics_gauge_set(zero, 0) < 0)
            return -1;
    }
    return 0;
}

/* The series of one sleep-mode operation, made at its first call as the
 * instrumentator and vLLM make theirs. */
struct operation {
    shmetrics_counter_series_t *calls;
    shmetrics_histogram_series_t *took, *calls_time;
    shmetrics_summary_series_t *in, *out;
};

static int operation_series(struct operation *op, int wake, shmetrics_histogram_t *took, shmetrics_counter_t *requests,
                            shmetrics_histogram_t *latency, shmetrics_summary_t *in_size, shmetrics_summary_t *out_size)
{
    const char *path = wake ? "/wake_up" : "/sleep";
    if (op->calls)
        return 0;
    if (shmetrics_histogram_labels(took, &op->took, wake ? "wake" : "sleep", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &op->calls_time, path, "POST", NULL) < 0 ||
        shmetrics_summary_labels(in_size, &op->in, path, NULL) < 0 ||
        shmetrics_summary_labels(out_size, &op->out, path, NULL) < 0 ||
        shmetrics_counter_labels(requests, &op->calls, path, "POST", "2xx", NULL) < 0) {
        op->calls = NULL;
        return -1;
    }
    return 0;
}

int demo_front(const char *arena, int responses, int report)
{
    signal(SIGTERM, SIG_IGN); /* it stops when the engines have closed their end */
    signal(SIGINT, SIG_IGN);
    static const char *const by_handler[] = {"handler", "method", "status"};
    static const char *const by_route[] = {"handler", "method"};
    static const char *const by_path[] = {"handler"};
    static const double no_quantiles[1] = {0};
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
    /* Summaries without quantiles (no_quantiles, none of it read): _sum
     * and _count, as prometheus_client's Summary. */
    shmetrics_spec_t request_size = {.name = "http_request_size_bytes",
                                     .help = "Content length of incoming requests by handler. Only value of header is "
                                             "respected. Otherwise ignored. No percentile calculated.",
                                     .label_names = by_path,
                                     .nlabels = 1,
                                     .quantiles = no_quantiles};
    shmetrics_spec_t response_size = {.name = "http_response_size_bytes",
                                      .help = "Content length of outgoing responses by handler. Only value of header "
                                              "is respected. Otherwise ignored. No percentile calculated.",
                                      .label_names = by_path,
                                      .nlabels = 1,
                                      .quantiles = no_quantiles};
    shmetrics_options_t o = {.path = arena};
    shmetrics_registry_t *reg;
    shmetrics_counter_t *requests;
    shmetrics_histogram_t *latency, *latency_highr;
    shmetrics_summary_t *in_size, *out_size;
    shmetrics_histogram_t *took;
    shmetrics_counter_series_t *completions;
    shmetrics_histogram_series_t *completions_time, *any_time;
    shmetrics_summary_series_t *completions_in, *completions_out;
    struct operation ops[2] = {{0}, {0}}; /* sleep, wake */
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_counter_register(reg, &total, &requests) < 0 ||
        shmetrics_histogram_register(reg, &duration, &latency) < 0 ||
        shmetrics_histogram_register(reg, &highres, &latency_highr) < 0 ||
        shmetrics_summary_register(reg, &request_size, &in_size) < 0 ||
        shmetrics_summary_register(reg, &response_size, &out_size) < 0 ||
        shmetrics_counter_labels(requests, &completions, "/v1/completions", "POST", "2xx", NULL) < 0 ||
        shmetrics_histogram_labels(latency, &completions_time, "/v1/completions", "POST", NULL) < 0 ||
        shmetrics_histogram_labels(latency_highr, &any_time, NULL) < 0 ||
        shmetrics_summary_labels(in_size, &completions_in, "/v1/completions", NULL) < 0 ||
        shmetrics_summary_labels(out_size, &completions_out, "/v1/completions", NULL) < 0 ||
        sleep_mode(reg, &took) < 0) {
        fprintf(stderr, "demo API server: %s\n", shmetrics_errmsg());
        return 1;
    }
    uint64_t served = 0;
    struct demo_response r;
    /* Until every engine has exited (end of file): a response is one
     * atomic write, so a full read is a whole one. */
    while (read(responses, &r, sizeof r) == (ssize_t)sizeof r) {
        shmetrics_histogram_observe(any_time, r.seconds);
        if (r.kind != DEMO_COMPLETION) {
            struct operation *op = &ops[r.kind == DEMO_WAKE];
            if (operation_series(op, r.kind == DEMO_WAKE, took, requests, latency, in_size, out_size) < 0) {
                fprintf(stderr, "demo API server: %s\n", shmetrics_errmsg());
                continue;
            }
            shmetrics_histogram_observe(op->took, r.seconds);
            shmetrics_counter_add(op->calls, 1);
            shmetrics_histogram_observe(op->calls_time, r.seconds);
            shmetrics_summary_observe(op->in, 0); /* no body */
            shmetrics_summary_observe(op->out, 2);
            continue;
        }
        shmetrics_counter_add(completions, 1);
        shmetrics_histogram_observe(completions_time, r.seconds);
        /* About 4 bytes a token of text, in a JSON body. */
        shmetrics_summary_observe(completions_in, 120 + 4.0 * r.prompt);
        shmetrics_summary_observe(completions_out, 300 + 4.0 * r.generated);
        served++;
    }
    shmetrics_shutdown(reg, 0);
    return write(report, &served, sizeof served) == (ssize_t)sizeof served ? 0 : 1;
}
