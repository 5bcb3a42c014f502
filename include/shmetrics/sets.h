/* SPDX-License-Identifier: MIT */
/*
 * shmetrics/sets.h - ready-made metric sets: vLLM's Prometheus metrics (V1
 * engine) under vLLM's own names, and the native inference set of the
 * Python registry shmetrics replaces.  Included by shmetrics.h.
 */
#ifndef SHMETRICS_SETS_H
#define SHMETRICS_SETS_H

#ifdef __cplusplus
extern "C" {
#endif

#pragma GCC visibility push(default)

/*
 * One family of a ready-made set, as the set registers it.  Bindings and
 * tools wrap a set's handles with these instead of restating the specs:
 * the handle of member m lives at (char *)&set + m.offset.
 */
typedef struct shmetrics_set_member {
    const char *field;     /* its member of the set's struct: "prompt_tokens" */
    const char *subsystem; /* NULL for none */
    const char *name;      /* without namespace and subsystem; counters without _total */
    const char *help;
    shmetrics_type_t type;
    const char *const *label_names;
    size_t nlabels;
    shmetrics_gauge_mode_t gauge_mode; /* gauges */
    const double *buckets;             /* histograms; NULL: the 1-2-5 token list up to max_model_len */
    size_t nbuckets;
    size_t offset; /* offsetof the handle in the set's struct */
} shmetrics_set_member_t;

/* A bucket list that replaces a histogram's default in a set, by family
 * name (as vLLM's --custom-histogram-buckets does). */
typedef struct shmetrics_bucket_override {
    const char *name; /* e.g. "vllm:time_to_first_token_seconds" */
    const double *buckets;
    size_t nbuckets;
} shmetrics_bucket_override_t;

typedef struct shmetrics_vllm_options {
    uint64_t max_model_len; /* top of the 1-2-5 token buckets; 0 means 8192 */
    const shmetrics_bucket_override_t *overrides;
    size_t noverrides;
} shmetrics_vllm_options_t;

/*
 * vLLM's metrics, following vllm/v1/metrics/loggers.py of vLLM 0.10 (V1
 * engine), with inter_token_latency_seconds as vLLM 0.11 added it (the
 * buckets of time_per_output_token_seconds).  Every family has the label
 * names (model_name, engine); request_success adds finished_reason
 * ("stop", "length", "abort").  Counters are named without _total and
 * exposed with it.
 */
typedef struct shmetrics_vllm {
    /* gauges, mode mostrecent */
    shmetrics_gauge_t *num_requests_running;
    shmetrics_gauge_t *num_requests_waiting;
    shmetrics_gauge_t *kv_cache_usage_perc;
    /* counters */
    shmetrics_counter_t *prompt_tokens;
    shmetrics_counter_t *generation_tokens;
    shmetrics_counter_t *num_preemptions;
    shmetrics_counter_t *request_success;
    shmetrics_counter_t *prefix_cache_queries;
    shmetrics_counter_t *prefix_cache_hits;
    shmetrics_counter_t *spec_decode_num_drafts;
    shmetrics_counter_t *spec_decode_num_draft_tokens;
    shmetrics_counter_t *spec_decode_num_accepted_tokens;
    /* latency histograms (seconds) */
    shmetrics_histogram_t *time_to_first_token_seconds;
    shmetrics_histogram_t *inter_token_latency_seconds;
    shmetrics_histogram_t *time_per_output_token_seconds;
    shmetrics_histogram_t *e2e_request_latency_seconds;
    shmetrics_histogram_t *request_queue_time_seconds;
    shmetrics_histogram_t *request_inference_time_seconds;
    shmetrics_histogram_t *request_prefill_time_seconds;
    shmetrics_histogram_t *request_decode_time_seconds;
    /* token-count histograms */
    shmetrics_histogram_t *request_prompt_tokens;
    shmetrics_histogram_t *request_generation_tokens;
    shmetrics_histogram_t *request_params_max_tokens;
    shmetrics_histogram_t *request_params_n;
    shmetrics_histogram_t *request_max_num_generation_tokens;
    shmetrics_histogram_t *iteration_tokens_total;
} shmetrics_vllm_t;

/* Register (or find, in any process) the vLLM set.  An override naming no
 * histogram of the set is -EINVAL (nothing is registered then); an
 * override's bucket list is checked as a spec's.  Setup. */
int shmetrics_vllm_register(shmetrics_registry_t *reg, const shmetrics_vllm_options_t *opts, shmetrics_vllm_t *out);

/* The members of the vLLM set in registration order (which is the
 * exposition's); *n gets their number.  Full names are the member names
 * ("vllm:prompt_tokens").  Static data; any caller. */
const shmetrics_set_member_t *shmetrics_vllm_members(size_t *n);

/* vLLM's 1-2-5 bucket list up to max_value (1, 2, 5, 10, 20, 50, ...):
 * fills out[0..*n-1], at most `cap`.  -EINVAL if max_value < 1. */
int shmetrics_buckets_1_2_5(uint64_t max_value, double *out, size_t cap, size_t *n);

/*
 * The Python registry's own inference set, named namespace_subsystem_name
 * with the subsystems engine, cache, gpu and spec_decode:
 *   engine       requests_running, requests_waiting (gauges, livesum),
 *                requests (counter, label status), prompt_tokens,
 *                generation_tokens (counters), time_to_first_token_seconds,
 *                inter_token_latency_seconds, e2e_latency_seconds
 *                (histograms, vLLM's buckets)
 *   cache        usage_ratio (gauge, mostrecent), queries, hits (counters)
 *   gpu          memory_used_bytes, utilization_ratio (gauges, label
 *                device, mostrecent)
 *   spec_decode  drafts, draft_tokens, accepted_tokens (counters)
 * Every family but gpu's has the label model_name.
 */
typedef struct shmetrics_inference {
    shmetrics_gauge_t *engine_requests_running;
    shmetrics_gauge_t *engine_requests_waiting;
    shmetrics_counter_t *engine_requests;
    shmetrics_counter_t *engine_prompt_tokens;
    shmetrics_counter_t *engine_generation_tokens;
    shmetrics_histogram_t *engine_time_to_first_token_seconds;
    shmetrics_histogram_t *engine_inter_token_latency_seconds;
    shmetrics_histogram_t *engine_e2e_latency_seconds;
    shmetrics_gauge_t *cache_usage_ratio;
    shmetrics_counter_t *cache_queries;
    shmetrics_counter_t *cache_hits;
    shmetrics_gauge_t *gpu_memory_used_bytes;
    shmetrics_gauge_t *gpu_utilization_ratio;
    shmetrics_counter_t *spec_decode_drafts;
    shmetrics_counter_t *spec_decode_draft_tokens;
    shmetrics_counter_t *spec_decode_accepted_tokens;
} shmetrics_inference_t;

/* Register the inference set under `namespace_name` (a metric-name prefix,
 * e.g. "llm"; NULL or "" for none).  Setup. */
int shmetrics_inference_register(shmetrics_registry_t *reg, const char *namespace_name, shmetrics_inference_t *out);

/* The members of the inference set in registration order; a full name is
 * namespace_subsystem_name.  Static data; any caller. */
const shmetrics_set_member_t *shmetrics_inference_members(size_t *n);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* SHMETRICS_SETS_H */
