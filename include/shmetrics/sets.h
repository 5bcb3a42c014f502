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
    size_t offset;    /* offsetof the handle in the set's struct */
    unsigned feature; /* the set's feature group (SHMETRICS_VLLM_*), 0 for the core */
} shmetrics_set_member_t;

/* A bucket list that replaces a histogram's default in a set, by family
 * name (as vLLM's --custom-histogram-buckets does). */
typedef struct shmetrics_bucket_override {
    const char *name; /* e.g. "vllm:time_to_first_token_seconds" */
    const double *buckets;
    size_t nbuckets;
} shmetrics_bucket_override_t;

/*
 * The vLLM set's feature groups: the families vLLM registers only when an
 * engine runs the feature (shmetrics_vllm_options_t.features, or'ed).
 *   SPEC_DECODE   spec_decode_num_accepted_tokens_per_pos{position}, and the
 *                 start-up series of the three spec_decode_* counters of the
 *                 core (vllm/v1/spec_decode/metrics.py)
 *   KV_OFFLOAD    the offloading connector's (CPU tier): kv_offload_load_bytes,
 *                 kv_offload_load_time, kv_offload_store_bytes,
 *                 kv_offload_store_time, kv_offload_allocation_failure,
 *                 kv_offload_stores_skipped (counters), kv_offload_load_size,
 *                 kv_offload_store_size (histograms, bytes),
 *                 kv_offload_lookup_sync_delay_seconds,
 *                 kv_offload_lookup_async_delay_seconds (histograms),
 *                 kv_offload_cpu_cache_usage_perc,
 *                 kv_offload_cpu_cache_write_usage_perc,
 *                 kv_offload_cpu_cache_read_usage_perc (gauges),
 *                 kv_offload_cpu_allocation_size (histogram, blocks); and the
 *                 names vLLM keeps for dashboards, kv_offload_total_bytes,
 *                 kv_offload_total_time (counters), kv_offload_size
 *                 (histogram), each with the label transfer_type
 *                 ("CPU_to_GPU", "GPU_to_CPU")
 *   KV_CONNECTOR  the NIXL connector's nixl_xfer_time_seconds,
 *                 nixl_post_time_seconds, nixl_bytes_transferred,
 *                 nixl_num_descriptors (histograms), nixl_num_failed_transfers,
 *                 nixl_num_failed_notifications, nixl_num_kv_expired_reqs,
 *                 nixl_num_notifications_after_expiry (counters), and the
 *                 consumer's num_requests_kv_fetch_by_stage{stage} (gauge:
 *                 "waiting_to_start", "in_progress", "completed_waiting")
 *   LORA          lora_requests_info{max_lora, waiting_lora_adapters,
 *                 running_lora_adapters}, a gauge in mode sum that vLLM sets
 *                 to the current Unix time at every engine step
 *   MULTIMODAL    mm_cache_queries, mm_cache_hits (counters)
 *   SLEEP         engine_sleep_state{sleep_state} (gauge, mostrecent): 1 or 0
 *                 per state "awake", "weights_offloaded", "discard_all"
 *   SIMPLE_KV_OFFLOAD  the simple CPU offload connector's
 *                 simple_kv_offload_save_outcomes{outcome} (counter: "stored",
 *                 "dropped_cpu_full", ...), simple_kv_offload_load_blocks
 *                 {phase} (counter: "issued", "completed"),
 *                 simple_kv_offload_used_blocks,
 *                 simple_kv_offload_pending_store_blocks (gauges) and
 *                 simple_kv_offload_info{backend, page_cache, lazy_offload,
 *                 capacity_blocks} (a gauge at 1)
 *   KV_CACHE_METRICS  --kv-cache-metrics: the sampled block residency
 *                 histograms kv_block_lifetime_seconds,
 *                 kv_block_idle_before_evict_seconds, kv_block_reuse_gap_seconds
 *   MFU           --enable-mfu-metrics: estimated_flops_per_gpu,
 *                 estimated_read_bytes_per_gpu, estimated_write_bytes_per_gpu
 *                 (counters)
 * The offloading connectors' new families, and the simple connector's, are
 * created when first written, as vLLM's are; the others at start-up.
 * vLLM registers the MULTIMODAL and SLEEP families on every engine, text-only
 * or not, with sleep mode or not: SHMETRICS_VLLM_AS_VLLM is what a plain vLLM
 * engine exposes.
 */
#define SHMETRICS_VLLM_SPEC_DECODE 0x01u
#define SHMETRICS_VLLM_KV_OFFLOAD 0x02u
#define SHMETRICS_VLLM_KV_CONNECTOR 0x04u
#define SHMETRICS_VLLM_LORA 0x08u
#define SHMETRICS_VLLM_MULTIMODAL 0x10u
#define SHMETRICS_VLLM_SLEEP 0x20u
#define SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD 0x40u
#define SHMETRICS_VLLM_KV_CACHE_METRICS 0x80u
#define SHMETRICS_VLLM_MFU 0x100u
#define SHMETRICS_VLLM_ALL_FEATURES 0x1ffu
#define SHMETRICS_VLLM_AS_VLLM (SHMETRICS_VLLM_MULTIMODAL | SHMETRICS_VLLM_SLEEP)
#define SHMETRICS_VLLM_MAX_SPEC_TOKENS 64

/* Options of the vLLM set; all zero (or NULL options) gives the core set
 * with vLLM's defaults, as before feature groups existed. */
typedef struct shmetrics_vllm_options {
    uint64_t max_model_len; /* top of the 1-2-5 token buckets; 0 means 8192 */
    const shmetrics_bucket_override_t *overrides;
    size_t noverrides;
    unsigned features;               /* SHMETRICS_VLLM_* groups to register */
    unsigned num_speculative_tokens; /* SPEC_DECODE: draft positions created at start-up (at most 64) */
} shmetrics_vllm_options_t;

/*
 * vLLM's metrics, following vllm/v1/metrics/loggers.py of vLLM's V1 engine
 * after vLLM v0.22.0 (docs/design.md names the source matched).  Every family
 * has the label names (model_name, engine), some one more: request_success
 * finished_reason ("stop", "length", "abort", "error"),
 * num_requests_waiting_by_reason reason ("capacity", "deferred"),
 * prompt_tokens_by_source source ("local_compute", "local_cache_hit",
 * "external_kv_transfer"), prompt_tokens_cached_by_source source ("device",
 * "host", "p2p", "disk", "external_unspecified").  time_per_output_token_seconds
 * is the name vLLM keeps behind --show-hidden-metrics-for-version (it was
 * renamed inter_token_latency_seconds).  Counters are named without _total
 * and exposed with it.  The handles of a feature group not asked for stay
 * NULL.  New members are appended, so the struct grows between versions:
 * compile against the header of the library you link.
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
    /* core, added to vLLM after 0.10 */
    shmetrics_gauge_t *num_requests_waiting_by_reason;
    shmetrics_counter_t *external_prefix_cache_queries;
    shmetrics_counter_t *external_prefix_cache_hits;
    shmetrics_counter_t *prompt_tokens_by_source;
    shmetrics_counter_t *prompt_tokens_cached;
    shmetrics_counter_t *prompt_tokens_cached_by_source;
    shmetrics_histogram_t *request_time_per_output_token_seconds;
    shmetrics_histogram_t *request_prefill_kv_computed_tokens;
    /* SHMETRICS_VLLM_SPEC_DECODE */
    shmetrics_counter_t *spec_decode_num_accepted_tokens_per_pos;
    /* SHMETRICS_VLLM_KV_OFFLOAD */
    shmetrics_counter_t *kv_offload_total_bytes;
    shmetrics_counter_t *kv_offload_total_time;
    shmetrics_histogram_t *kv_offload_size;
    /* SHMETRICS_VLLM_KV_CONNECTOR */
    shmetrics_histogram_t *nixl_xfer_time_seconds;
    shmetrics_histogram_t *nixl_post_time_seconds;
    shmetrics_histogram_t *nixl_bytes_transferred;
    shmetrics_histogram_t *nixl_num_descriptors;
    shmetrics_counter_t *nixl_num_failed_transfers;
    shmetrics_counter_t *nixl_num_failed_notifications;
    shmetrics_counter_t *nixl_num_kv_expired_reqs;
    /* SHMETRICS_VLLM_LORA */
    shmetrics_gauge_t *lora_requests_info;
    /* SHMETRICS_VLLM_MULTIMODAL */
    shmetrics_counter_t *mm_cache_queries;
    shmetrics_counter_t *mm_cache_hits;
    /* SHMETRICS_VLLM_SLEEP */
    shmetrics_gauge_t *engine_sleep_state;
    /* SHMETRICS_VLLM_KV_OFFLOAD, the offloading connector's current names */
    shmetrics_counter_t *kv_offload_load_bytes;
    shmetrics_counter_t *kv_offload_load_time;
    shmetrics_histogram_t *kv_offload_load_size;
    shmetrics_counter_t *kv_offload_store_bytes;
    shmetrics_counter_t *kv_offload_store_time;
    shmetrics_histogram_t *kv_offload_store_size;
    shmetrics_histogram_t *kv_offload_lookup_sync_delay_seconds;
    shmetrics_histogram_t *kv_offload_lookup_async_delay_seconds;
    shmetrics_counter_t *kv_offload_allocation_failure;
    shmetrics_counter_t *kv_offload_stores_skipped;
    shmetrics_gauge_t *kv_offload_cpu_cache_usage_perc;
    shmetrics_gauge_t *kv_offload_cpu_cache_write_usage_perc;
    shmetrics_gauge_t *kv_offload_cpu_cache_read_usage_perc;
    shmetrics_histogram_t *kv_offload_cpu_allocation_size;
    /* SHMETRICS_VLLM_KV_CONNECTOR */
    shmetrics_counter_t *nixl_num_notifications_after_expiry;
    shmetrics_gauge_t *num_requests_kv_fetch_by_stage;
    /* SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD */
    shmetrics_counter_t *simple_kv_offload_save_outcomes;
    shmetrics_counter_t *simple_kv_offload_load_blocks;
    shmetrics_gauge_t *simple_kv_offload_used_blocks;
    shmetrics_gauge_t *simple_kv_offload_pending_store_blocks;
    shmetrics_gauge_t *simple_kv_offload_info;
    /* SHMETRICS_VLLM_KV_CACHE_METRICS */
    shmetrics_histogram_t *kv_block_lifetime_seconds;
    shmetrics_histogram_t *kv_block_idle_before_evict_seconds;
    shmetrics_histogram_t *kv_block_reuse_gap_seconds;
    /* SHMETRICS_VLLM_MFU */
    shmetrics_counter_t *estimated_flops_per_gpu;
    shmetrics_counter_t *estimated_read_bytes_per_gpu;
    shmetrics_counter_t *estimated_write_bytes_per_gpu;
} shmetrics_vllm_t;

/* Register (or find, in any process) the vLLM set: the core and the
 * feature groups opts->features names.  -EINVAL, nothing registered, for
 * an override naming no histogram of the set or of a group not asked for,
 * for features outside SHMETRICS_VLLM_ALL_FEATURES, or for more than 64
 * num_speculative_tokens; an override's bucket list is checked as a spec's.
 * Setup. */
int shmetrics_vllm_register(shmetrics_registry_t *reg, const shmetrics_vllm_options_t *opts, shmetrics_vllm_t *out);

/* Create the series of one engine as vLLM's V1 logger does when the engine
 * starts (PrometheusStatLogger.__init__): every (model_name, engine)
 * series of the registered families at 0, request_success for each
 * finished_reason, num_requests_waiting_by_reason for each reason, the
 * by_source counters for each source; with SPEC_DECODE the spec_decode_*
 * counters and one accepted_tokens_per_pos series per position below
 * opts->num_speculative_tokens; with KV_OFFLOAD each transfer_type of the
 * three families vLLM keeps for dashboards; with KV_CONNECTOR each stage;
 * with SLEEP engine_sleep_state awake 1, weights_offloaded 0, discard_all 0.
 * lora_requests_info has no start-up series (vLLM sets it at the first
 * step), nor have the offloading connectors' current families (vLLM
 * creates them when first written).  `opts` must be the options the set was registered with.  -EINVAL
 * for a NULL or non-UTF-8 model_name or engine, or a set not registered;
 * otherwise as shmetrics_counter_labels.  Worker (not a hot path). */
int shmetrics_vllm_engine_start(const shmetrics_vllm_t *v, const shmetrics_vllm_options_t *opts, const char *model_name,
                                const char *engine);

/* Set engine_sleep_state of one engine as vLLM's record_sleep_state does:
 * sleeping 0 is awake; sleeping 1 at level 1 offloads the weights, at
 * level 2 discards all.  -EINVAL for a set without SHMETRICS_VLLM_SLEEP, a
 * level other than 1 or 2 while sleeping, or a NULL label. Worker. */
int shmetrics_vllm_sleep_state(const shmetrics_vllm_t *v, const char *model_name, const char *engine, int sleeping,
                               int level);

/* vllm:cache_config_info as vLLM exposes it: a gauge (mode mostrecent) at
 * 1 whose label names are the configuration's names then "engine" (vLLM's
 * CacheConfig.metrics_info(), e.g. block_size="16"), for one engine.  At
 * most 15 pairs; -EINVAL for more, a NULL pair name or value, or a bad
 * label name; -EEXIST if the family exists with other label names (as
 * registration).  Worker. */
int shmetrics_vllm_cache_config_info(shmetrics_registry_t *reg, const shmetrics_label_t *config, size_t n,
                                     const char *engine);

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
