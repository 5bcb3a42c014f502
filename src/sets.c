/*
 * src/sets.c - owns the ready-made metric sets: vLLM's (names, types,
 * label names and buckets as vLLM 0.10's vllm/v1/metrics/loggers.py
 * registers them, plus vLLM 0.11's inter_token_latency_seconds) and the
 * Python registry's native inference set.  Registration goes through the
 * public API, as a user's program would.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "error.h"
#include "shmetrics.h"

static const double ttft_buckets[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                      1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
static const double tpot_buckets[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                      0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
static const double request_latency_buckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,  15.0,  20.0,
                                                 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
static const double iteration_buckets[] = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
static const double n_buckets[] = {1, 2, 5, 10, 20};

#define N(a) (sizeof(a) / sizeof((a)[0]))

int shmetrics_buckets_1_2_5(uint64_t max_value, double *out, size_t cap, size_t *n)
{
    if (max_value < 1 || !out || !n)
        return smx_fail(-EINVAL, "1-2-5 buckets need a maximum of at least 1");
    static const unsigned m[] = {1, 2, 5};
    size_t k = 0;
    for (double p = 1;; p *= 10)
        for (size_t i = 0; i < 3; i++) {
            double v = m[i] * p;
            if (v > (double)max_value || k == cap) {
                *n = k;
                return 0;
            }
            out[k++] = v;
        }
}

static const char *const vllm_labels[] = {"model_name", "engine"};
static const char *const vllm_success_labels[] = {"model_name", "engine", "finished_reason"};

struct hist_def {
    const char *name;
    const char *help;
    const double *buckets; /* NULL: the 1-2-5 token list */
    size_t n;
    shmetrics_histogram_t **out;
};

/* The override for `name`, if any, and mark it used. */
static const shmetrics_bucket_override_t *override_for(const shmetrics_vllm_options_t *o, const char *name, bool *used)
{
    for (size_t i = 0; o && i < o->noverrides; i++)
        if (o->overrides[i].name && strcmp(o->overrides[i].name, name) == 0) {
            used[i] = true;
            return &o->overrides[i];
        }
    return NULL;
}

static int counter(shmetrics_registry_t *reg, const char *name, const char *help, const char *const *labels,
                   size_t nlabels, shmetrics_counter_t **out)
{
    shmetrics_spec_t s = {.name = name, .help = help, .label_names = labels, .nlabels = nlabels};
    return shmetrics_counter_register(reg, &s, out);
}

static int gauge(shmetrics_registry_t *reg, const char *name, const char *help, const char *const *labels,
                 size_t nlabels, shmetrics_gauge_mode_t mode, shmetrics_gauge_t **out)
{
    shmetrics_spec_t s = {.name = name, .help = help, .label_names = labels, .nlabels = nlabels, .gauge_mode = mode};
    return shmetrics_gauge_register(reg, &s, out);
}

int shmetrics_vllm_register(shmetrics_registry_t *reg, const shmetrics_vllm_options_t *opts, shmetrics_vllm_t *v)
{
    if (!reg || !v)
        return smx_fail(-EINVAL, "no registry or output given");
    memset(v, 0, sizeof *v);
    double tokens[64];
    size_t ntokens;
    int rc = shmetrics_buckets_1_2_5(opts && opts->max_model_len ? opts->max_model_len : 8192, tokens, 64, &ntokens);
    if (rc < 0)
        return rc;
    bool used[64] = {false};
    if (opts && opts->noverrides > 64)
        return smx_fail(-EINVAL, "at most 64 bucket overrides, %zu given", opts->noverrides);

    struct hist_def hists[] = {
        {"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", ttft_buckets,
         N(ttft_buckets), &v->time_to_first_token_seconds},
        {"vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", tpot_buckets,
         N(tpot_buckets), &v->inter_token_latency_seconds},
        {"vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", tpot_buckets,
         N(tpot_buckets), &v->time_per_output_token_seconds},
        {"vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", request_latency_buckets,
         N(request_latency_buckets), &v->e2e_request_latency_seconds},
        {"vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
         request_latency_buckets, N(request_latency_buckets), &v->request_queue_time_seconds},
        {"vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.",
         request_latency_buckets, N(request_latency_buckets), &v->request_inference_time_seconds},
        {"vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
         request_latency_buckets, N(request_latency_buckets), &v->request_prefill_time_seconds},
        {"vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
         request_latency_buckets, N(request_latency_buckets), &v->request_decode_time_seconds},
        {"vllm:request_prompt_tokens", "Number of prefill tokens processed.", NULL, 0, &v->request_prompt_tokens},
        {"vllm:request_generation_tokens", "Number of generation tokens processed.", NULL, 0,
         &v->request_generation_tokens},
        {"vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", NULL, 0,
         &v->request_params_max_tokens},
        {"vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.",
         NULL, 0, &v->request_max_num_generation_tokens},
        {"vllm:request_params_n", "Histogram of the n request parameter.", n_buckets, N(n_buckets),
         &v->request_params_n},
        {"vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", iteration_buckets,
         N(iteration_buckets), &v->iteration_tokens_total},
    };
    /* Every override must name a histogram of the set, before anything is
     * registered. */
    for (size_t i = 0; i < N(hists); i++)
        override_for(opts, hists[i].name, used);
    for (size_t i = 0; opts && i < opts->noverrides; i++)
        if (!used[i])
            return smx_fail(-EINVAL, "bucket override for %s: no histogram of that name in the vLLM set",
                            opts->overrides[i].name ? opts->overrides[i].name : "(null)");
    struct {
        const char *name, *help;
        shmetrics_gauge_t **out;
    } gauges[] = {
        {"vllm:num_requests_running", "Number of requests in model execution batches.", &v->num_requests_running},
        {"vllm:num_requests_waiting", "Number of requests waiting to be processed.", &v->num_requests_waiting},
        {"vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", &v->kv_cache_usage_perc},
    };
    for (size_t i = 0; i < N(gauges); i++)
        if ((rc = gauge(reg, gauges[i].name, gauges[i].help, vllm_labels, 2, SHMETRICS_MODE_MOSTRECENT,
                        gauges[i].out)) < 0)
            return rc;

    struct {
        const char *name, *help;
        shmetrics_counter_t **out;
    } counters[] = {
        {"vllm:prompt_tokens", "Number of prefill tokens processed.", &v->prompt_tokens},
        {"vllm:generation_tokens", "Number of generation tokens processed.", &v->generation_tokens},
        {"vllm:num_preemptions", "Cumulative number of preemption from the engine.", &v->num_preemptions},
        {"vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
         &v->prefix_cache_queries},
        {"vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", &v->prefix_cache_hits},
        {"vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", &v->spec_decode_num_drafts},
        {"vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", &v->spec_decode_num_draft_tokens},
        {"vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.", &v->spec_decode_num_accepted_tokens},
    };
    for (size_t i = 0; i < N(counters); i++)
        if ((rc = counter(reg, counters[i].name, counters[i].help, vllm_labels, 2, counters[i].out)) < 0)
            return rc;
    if ((rc = counter(reg, "vllm:request_success", "Count of successfully processed requests.", vllm_success_labels,
                      3, &v->request_success)) < 0)
        return rc;

    for (size_t i = 0; i < N(hists); i++) {
        const shmetrics_bucket_override_t *ov = override_for(opts, hists[i].name, used);
        shmetrics_spec_t s = {.name = hists[i].name, .help = hists[i].help, .label_names = vllm_labels, .nlabels = 2,
                              .buckets = ov ? ov->buckets : hists[i].buckets ? hists[i].buckets : tokens,
                              .nbuckets = ov ? ov->nbuckets : hists[i].buckets ? hists[i].n : ntokens};
        if ((rc = shmetrics_histogram_register(reg, &s, hists[i].out)) < 0)
            return rc;
    }
    return 0;
}

int shmetrics_inference_register(shmetrics_registry_t *reg, const char *ns, shmetrics_inference_t *x)
{
    if (!reg || !x)
        return smx_fail(-EINVAL, "no registry or output given");
    memset(x, 0, sizeof *x);
    static const char *const model[] = {"model_name"};
    static const char *const status[] = {"model_name", "status"};
    static const char *const device[] = {"device"};
    struct {
        const char *sub, *name, *help;
        shmetrics_type_t type;
        const char *const *labels;
        size_t nlabels;
        shmetrics_gauge_mode_t mode;
        const double *buckets;
        size_t nbuckets;
        void *out;
    } defs[] = {
        {"engine", "requests_running", "Requests being executed.", SHMETRICS_GAUGE, model, 1,
         SHMETRICS_MODE_LIVESUM, NULL, 0, &x->engine_requests_running},
        {"engine", "requests_waiting", "Requests waiting to be scheduled.", SHMETRICS_GAUGE, model, 1,
         SHMETRICS_MODE_LIVESUM, NULL, 0, &x->engine_requests_waiting},
        {"engine", "requests", "Requests finished, by status.", SHMETRICS_COUNTER, status, 2, 0, NULL, 0,
         &x->engine_requests},
        {"engine", "prompt_tokens", "Prompt tokens processed.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0,
         &x->engine_prompt_tokens},
        {"engine", "generation_tokens", "Tokens generated.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0,
         &x->engine_generation_tokens},
        {"engine", "time_to_first_token_seconds", "Time to first token.", SHMETRICS_HISTOGRAM, model, 1, 0,
         ttft_buckets, N(ttft_buckets), &x->engine_time_to_first_token_seconds},
        {"engine", "inter_token_latency_seconds", "Time between two generated tokens.", SHMETRICS_HISTOGRAM, model,
         1, 0, tpot_buckets, N(tpot_buckets), &x->engine_inter_token_latency_seconds},
        {"engine", "e2e_latency_seconds", "Request latency, arrival to last token.", SHMETRICS_HISTOGRAM, model, 1,
         0, request_latency_buckets, N(request_latency_buckets), &x->engine_e2e_latency_seconds},
        {"cache", "usage_ratio", "KV-cache usage, 0 to 1.", SHMETRICS_GAUGE, model, 1, SHMETRICS_MODE_MOSTRECENT,
         NULL, 0, &x->cache_usage_ratio},
        {"cache", "queries", "Prefix cache queries, in tokens.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0,
         &x->cache_queries},
        {"cache", "hits", "Prefix cache hits, in tokens.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0, &x->cache_hits},
        {"gpu", "memory_used_bytes", "GPU memory in use.", SHMETRICS_GAUGE, device, 1, SHMETRICS_MODE_MOSTRECENT,
         NULL, 0, &x->gpu_memory_used_bytes},
        {"gpu", "utilization_ratio", "GPU utilisation, 0 to 1.", SHMETRICS_GAUGE, device, 1,
         SHMETRICS_MODE_MOSTRECENT, NULL, 0, &x->gpu_utilization_ratio},
        {"spec_decode", "drafts", "Speculative decoding drafts.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0,
         &x->spec_decode_drafts},
        {"spec_decode", "draft_tokens", "Draft tokens proposed.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0,
         &x->spec_decode_draft_tokens},
        {"spec_decode", "accepted_tokens", "Draft tokens accepted.", SHMETRICS_COUNTER, model, 1, 0, NULL, 0,
         &x->spec_decode_accepted_tokens},
    };
    for (size_t i = 0; i < N(defs); i++) {
        shmetrics_spec_t s = {.name = defs[i].name, .help = defs[i].help, .namespace_name = ns,
                              .subsystem = defs[i].sub, .label_names = defs[i].labels, .nlabels = defs[i].nlabels,
                              .gauge_mode = defs[i].mode, .buckets = defs[i].buckets, .nbuckets = defs[i].nbuckets};
        int rc;
        switch (defs[i].type) {
        case SHMETRICS_GAUGE:
            rc = shmetrics_gauge_register(reg, &s, defs[i].out);
            break;
        case SHMETRICS_HISTOGRAM:
            rc = shmetrics_histogram_register(reg, &s, defs[i].out);
            break;
        default:
            rc = shmetrics_counter_register(reg, &s, defs[i].out);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}
