/* SPDX-License-Identifier: MIT */
/*
 * src/write/sets.c - owns the ready-made metric sets: vLLM's (names, types,
 * label names and buckets as vLLM's vllm/v1/metrics/loggers.py, its
 * spec-decoding, offloading and NIXL connector modules register them; see
 * docs/design.md for the source matched), with its feature groups, and the
 * Python registry's native inference set.  Each set is one table of
 * shmetrics_set_member_t, public so that bindings wrap the handles without
 * restating the specs; one loop registers any table through the public
 * API, as a user's program would.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "base/error.h"
#include "registry.h"
#include "shmetrics.h"

static const double ttft_buckets[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
                                      1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
static const double tpot_buckets[] = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                      0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
static const double request_latency_buckets[] = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                                 5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                                 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
static const double iteration_buckets[] = {1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384};
static const double n_buckets[] = {1, 2, 5, 10, 20};
/* The NIXL connector's (its transfer time uses them from the second on). */
static const double nixl_time_buckets[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0};
static const double nixl_bytes_buckets[] = {2048.0,      8192.0,      32768.0,      131072.0,
                                            524288.0,    2097152.0,   8388608.0,    33554432.0,
                                            134217728.0, 536870912.0, 2147483648.0, 8589934592.0};
static const double nixl_descriptor_buckets[] = {10,  20,   30,   50,   75,    100,   200,
                                                 400, 1000, 2000, 4000, 10000, 20000, 50000};
static const double offload_size_buckets[] = {1e6, 5e6, 10e6, 20e6, 40e6, 60e6, 80e6, 100e6, 150e6, 200e6};
static const double lookup_sync_buckets[] = {0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
static const double allocation_buckets[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144};
static const double lookup_async_buckets[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
/* --kv-cache-metrics: block residency, 1 ms to an hour. */
static const double residency_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5,  1,    2,
                                           5,     10,    20,    30,   60,   120,  300, 600, 1200, 1800, 3600};

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

/* ------------------------------------------------------------ tables */

static const char *const vllm_labels[] = {"model_name", "engine"};
static const char *const vllm_success_labels[] = {"model_name", "engine", "finished_reason"};
static const char *const vllm_reason_labels[] = {"model_name", "engine", "reason"};
static const char *const vllm_source_labels[] = {"model_name", "engine", "source"};
static const char *const vllm_position_labels[] = {"model_name", "engine", "position"};
static const char *const vllm_transfer_labels[] = {"model_name", "engine", "transfer_type"};
static const char *const vllm_sleep_labels[] = {"model_name", "engine", "sleep_state"};
static const char *const vllm_lora_labels[] = {"max_lora", "waiting_lora_adapters", "running_lora_adapters"};
static const char *const vllm_stage_labels[] = {"model_name", "engine", "stage"};
static const char *const vllm_outcome_labels[] = {"model_name", "engine", "outcome"};
static const char *const vllm_phase_labels[] = {"model_name", "engine", "phase"};
static const char *const vllm_simple_info_labels[] = {"model_name", "engine",       "backend",
                                                      "page_cache", "lazy_offload", "capacity_blocks"};

/* clang-format would read {#f ... as a preprocessor line. */
/* clang-format off */
#define VM(f, help, type, labels, mode, b, n, feat) \
    {#f, NULL, "vllm:" #f, help, type, labels, N(labels), mode, b, n, offsetof(shmetrics_vllm_t, f), feat}
#define VG(f, help) VM(f, help, SHMETRICS_GAUGE, vllm_labels, SHMETRICS_MODE_MOSTRECENT, NULL, 0, 0)
#define VC(f, help, labels, n) VM(f, help, SHMETRICS_COUNTER, labels, 0, NULL, 0, 0)
#define VH(f, help, b, n) VM(f, help, SHMETRICS_HISTOGRAM, vllm_labels, 0, b, n, 0)
#define FC(f, help, labels, feat) VM(f, help, SHMETRICS_COUNTER, labels, 0, NULL, 0, feat)
#define FH(f, help, labels, b, feat) VM(f, help, SHMETRICS_HISTOGRAM, labels, 0, b, N(b), feat)
#define FG(f, help, labels, feat) VM(f, help, SHMETRICS_GAUGE, labels, SHMETRICS_MODE_MOSTRECENT, NULL, 0, feat)
/* clang-format on */

/* In registration order, which is the exposition's. */
static const shmetrics_set_member_t vllm_members[] = {
    VG(num_requests_running, "Number of requests in model execution batches."),
    VG(num_requests_waiting, "Number of requests waiting to be processed."),
    VG(kv_cache_usage_perc, "KV-cache usage. 1 means 100 percent usage."),
    VC(prompt_tokens, "Number of prefill tokens processed.", vllm_labels, 2),
    VC(generation_tokens, "Number of generation tokens processed.", vllm_labels, 2),
    VC(num_preemptions, "Cumulative number of preemption from the engine.", vllm_labels, 2),
    VC(prefix_cache_queries, "Prefix cache queries, in terms of number of queried tokens.", vllm_labels, 2),
    VC(prefix_cache_hits, "Prefix cache hits, in terms of number of cached tokens.", vllm_labels, 2),
    VC(spec_decode_num_drafts, "Number of spec decoding drafts.", vllm_labels, 2),
    VC(spec_decode_num_draft_tokens, "Number of draft tokens.", vllm_labels, 2),
    VC(spec_decode_num_accepted_tokens, "Number of accepted tokens.", vllm_labels, 2),
    VC(request_success, "Count of successfully processed requests.", vllm_success_labels, 3),
    VH(time_to_first_token_seconds, "Histogram of time to first token in seconds.", ttft_buckets, N(ttft_buckets)),
    VH(inter_token_latency_seconds, "Histogram of inter-token latency in seconds.", tpot_buckets, N(tpot_buckets)),
    VH(time_per_output_token_seconds, "Histogram of time per output token in seconds.", tpot_buckets, N(tpot_buckets)),
    VH(e2e_request_latency_seconds, "Histogram of e2e request latency in seconds.", request_latency_buckets,
       N(request_latency_buckets)),
    VH(request_queue_time_seconds, "Histogram of time spent in WAITING phase for request.", request_latency_buckets,
       N(request_latency_buckets)),
    VH(request_inference_time_seconds, "Histogram of time spent in RUNNING phase for request.", request_latency_buckets,
       N(request_latency_buckets)),
    VH(request_prefill_time_seconds, "Histogram of time spent in PREFILL phase for request.", request_latency_buckets,
       N(request_latency_buckets)),
    VH(request_decode_time_seconds, "Histogram of time spent in DECODE phase for request.", request_latency_buckets,
       N(request_latency_buckets)),
    VH(request_prompt_tokens, "Number of prefill tokens processed.", NULL, 0),
    VH(request_generation_tokens, "Number of generation tokens processed.", NULL, 0),
    VH(request_params_max_tokens, "Histogram of the max_tokens request parameter.", NULL, 0),
    VH(request_max_num_generation_tokens, "Histogram of maximum number of requested generation tokens.", NULL, 0),
    VH(request_params_n, "Histogram of the n request parameter.", n_buckets, N(n_buckets)),
    VH(iteration_tokens_total, "Histogram of number of tokens per engine_step.", iteration_buckets,
       N(iteration_buckets)),
    /* The core families added after vLLM 0.10. */
    VM(num_requests_waiting_by_reason,
       "Number of waiting requests by reason. Reason labels: 'capacity' = waiting for scheduling capacity; "
       "'deferred' = deferred by transient constraints (LoRA budget, KV transfer, blocked status). Sum of all "
       "reasons equals vllm:num_requests_waiting.",
       SHMETRICS_GAUGE, vllm_reason_labels, SHMETRICS_MODE_MOSTRECENT, NULL, 0, 0),
    VC(external_prefix_cache_queries,
       "External prefix cache queries from KV connector cross-instance cache sharing, in terms of number of queried "
       "tokens.",
       vllm_labels, 2),
    VC(external_prefix_cache_hits,
       "External prefix cache hits from KV connector cross-instance cache sharing, in terms of number of cached "
       "tokens.",
       vllm_labels, 2),
    VC(prompt_tokens_by_source, "Number of prompt tokens by source.", vllm_source_labels, 3),
    VC(prompt_tokens_cached, "Number of cached prompt tokens (local + external).", vllm_labels, 2),
    VC(prompt_tokens_cached_by_source, "Number of cached prompt tokens by the cache tier they were found in.",
       vllm_source_labels, 3),
    VH(request_time_per_output_token_seconds, "Histogram of time_per_output_token_seconds per request.", tpot_buckets,
       N(tpot_buckets)),
    VH(request_prefill_kv_computed_tokens,
       "Histogram of new KV tokens computed during prefill (excluding cached tokens).", NULL, 0),
    /* Feature groups. */
    FC(spec_decode_num_accepted_tokens_per_pos, "Accepted tokens per draft position.", vllm_position_labels,
       SHMETRICS_VLLM_SPEC_DECODE),
    FC(kv_offload_total_bytes, "Number of bytes offloaded by KV connector", vllm_transfer_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FC(kv_offload_total_time, "Total time measured by all KV offloading operations", vllm_transfer_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FH(kv_offload_size, "Histogram of KV offload transfer size, in bytes.", vllm_transfer_labels, offload_size_buckets,
       SHMETRICS_VLLM_KV_OFFLOAD),
    VM(nixl_xfer_time_seconds, "Histogram of transfer duration for NIXL KV Cache transfers.", SHMETRICS_HISTOGRAM,
       vllm_labels, 0, nixl_time_buckets + 1, N(nixl_time_buckets) - 1, SHMETRICS_VLLM_KV_CONNECTOR),
    FH(nixl_post_time_seconds, "Histogram of transfer post time for NIXL KV Cache transfers.", vllm_labels,
       nixl_time_buckets, SHMETRICS_VLLM_KV_CONNECTOR),
    FH(nixl_bytes_transferred, "Histogram of bytes transferred per NIXL KV Cache transfers.", vllm_labels,
       nixl_bytes_buckets, SHMETRICS_VLLM_KV_CONNECTOR),
    FH(nixl_num_descriptors, "Histogram of number of descriptors per NIXL  KV Cache transfers.", vllm_labels,
       nixl_descriptor_buckets, SHMETRICS_VLLM_KV_CONNECTOR),
    FC(nixl_num_failed_transfers, "Number of failed NIXL KV Cache transfers.", vllm_labels,
       SHMETRICS_VLLM_KV_CONNECTOR),
    FC(nixl_num_failed_notifications, "Number of failed NIXL KV Cache notifications.", vllm_labels,
       SHMETRICS_VLLM_KV_CONNECTOR),
    FC(nixl_num_kv_expired_reqs,
       "Number of requests that had their KV expire. NOTE: This metric is tracked on the P instance.", vllm_labels,
       SHMETRICS_VLLM_KV_CONNECTOR),
    VM(lora_requests_info, "Running stats on lora requests.", SHMETRICS_GAUGE, vllm_lora_labels, SHMETRICS_MODE_SUM,
       NULL, 0, SHMETRICS_VLLM_LORA),
    FC(mm_cache_queries, "Multi-modal cache queries, in terms of number of queried items.", vllm_labels,
       SHMETRICS_VLLM_MULTIMODAL),
    FC(mm_cache_hits, "Multi-modal cache hits, in terms of number of cached items.", vllm_labels,
       SHMETRICS_VLLM_MULTIMODAL),
    VM(engine_sleep_state,
       "Engine sleep state; awake = 0 means engine is sleeping; awake = 1 means engine is awake; weights_offloaded = 1 "
       "means sleep level 1; discard_all = 1 means sleep level 2.",
       SHMETRICS_GAUGE, vllm_sleep_labels, SHMETRICS_MODE_MOSTRECENT, NULL, 0, SHMETRICS_VLLM_SLEEP),
    /* The offloading connector's current names (the three above stay, with
     * transfer_type, for dashboards). */
    FC(kv_offload_load_bytes, "Total bytes loaded from offload storage to GPU.", vllm_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FC(kv_offload_load_time, "Total load time from offload storage to GPU, in seconds.", vllm_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FH(kv_offload_load_size, "Histogram of KV offload load operation size, in bytes.", vllm_labels,
       offload_size_buckets, SHMETRICS_VLLM_KV_OFFLOAD),
    FC(kv_offload_store_bytes, "Total bytes stored from GPU to offload storage.", vllm_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FC(kv_offload_store_time, "Total store time from GPU to offload storage, in seconds.", vllm_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FH(kv_offload_store_size, "Histogram of KV offload store operation size, in bytes.", vllm_labels,
       offload_size_buckets, SHMETRICS_VLLM_KV_OFFLOAD),
    FH(kv_offload_lookup_sync_delay_seconds, "Histogram of the time spent in a single offload lookup call, in seconds.",
       vllm_labels, lookup_sync_buckets, SHMETRICS_VLLM_KV_OFFLOAD),
    FH(kv_offload_lookup_async_delay_seconds,
       "Histogram of time between a request's offload lookup first deferring and the following lookup resolving, "
       "or request finish, in seconds.",
       vllm_labels, lookup_async_buckets, SHMETRICS_VLLM_KV_OFFLOAD),
    FC(kv_offload_allocation_failure, "Number of KV offload store allocation attempts that failed.", vllm_labels,
       SHMETRICS_VLLM_KV_OFFLOAD),
    FC(kv_offload_stores_skipped, "Number of KV offload stores skipped because the reuse threshold was not reached.",
       vllm_labels, SHMETRICS_VLLM_KV_OFFLOAD),
    FG(kv_offload_cpu_cache_usage_perc,
       "Fraction of CPU KV-cache space currently pinned by active transfers (0.0 = idle, 1.0 = saturated). "
       "Sustained high values indicate transfers (stores or promotions) may be dropped due to insufficient capacity.",
       vllm_labels, SHMETRICS_VLLM_KV_OFFLOAD),
    FG(kv_offload_cpu_cache_write_usage_perc,
       "Fraction of CPU KV-cache space currently pinned by in-flight stores that have not yet completed (0.0 = "
       "idle, 1.0 = saturated).",
       vllm_labels, SHMETRICS_VLLM_KV_OFFLOAD),
    FG(kv_offload_cpu_cache_read_usage_perc,
       "Fraction of CPU KV-cache space currently pinned by in-flight loads that have not yet completed (0.0 = "
       "idle, 1.0 = saturated).",
       vllm_labels, SHMETRICS_VLLM_KV_OFFLOAD),
    FH(kv_offload_cpu_allocation_size,
       "Histogram of the number of CPU blocks requested by each KV offload prepare_store call.", vllm_labels,
       allocation_buckets, SHMETRICS_VLLM_KV_OFFLOAD),
    FC(nixl_num_notifications_after_expiry, "Number of NIXL notifications that arrived after the request's KV expired.",
       vllm_labels, SHMETRICS_VLLM_KV_CONNECTOR),
    FG(num_requests_kv_fetch_by_stage,
       "Number of waiting requests fetching remote KV, by stage: waiting_to_start, in_progress, completed_waiting.",
       vllm_stage_labels, SHMETRICS_VLLM_KV_CONNECTOR),
    FC(simple_kv_offload_save_outcomes,
       "Store admission decisions in SimpleCPUOffloadConnector, by outcome. Outcomes classify eager-mode boundary "
       "hand-off stores; lazy-mode stores are not classified.",
       vllm_outcome_labels, SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD),
    FC(simple_kv_offload_load_blocks,
       "KV blocks involved in offload loads by phase: issued when dispatched to workers, completed when the load "
       "finished successfully.",
       vllm_phase_labels, SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD),
    FG(simple_kv_offload_used_blocks,
       "Offload-pool blocks currently pinned by in-flight transfers or cache hits (capacity minus free). Evictable "
       "cached blocks are not counted; capacity_blocks is on vllm:simple_kv_offload_info.",
       vllm_labels, SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD),
    FG(simple_kv_offload_pending_store_blocks,
       "Offload blocks in pending stores: queued for dispatch, issued to workers, or awaiting release after a cache "
       "reset. A persistently growing value indicates a stuck transfer.",
       vllm_labels, SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD),
    FG(simple_kv_offload_info,
       "SimpleCPUOffloadConnector deployment facts. Value is always 1. backend is cpu or disk; page_cache and "
       "lazy_offload are true/false; capacity_blocks is the offload pool size.",
       vllm_simple_info_labels, SHMETRICS_VLLM_SIMPLE_KV_OFFLOAD),
    FH(kv_block_lifetime_seconds, "Histogram of KV cache block lifetime from allocation to eviction.", vllm_labels,
       residency_buckets, SHMETRICS_VLLM_KV_CACHE_METRICS),
    FH(kv_block_idle_before_evict_seconds, "Histogram of idle time before KV cache block eviction.", vllm_labels,
       residency_buckets, SHMETRICS_VLLM_KV_CACHE_METRICS),
    FH(kv_block_reuse_gap_seconds, "Histogram of time gaps between consecutive KV cache block accesses.", vllm_labels,
       residency_buckets, SHMETRICS_VLLM_KV_CACHE_METRICS),
    FC(estimated_flops_per_gpu,
       "Estimated number of floating point operations per GPU (for Model Flops Utilization calculations).", vllm_labels,
       SHMETRICS_VLLM_MFU),
    FC(estimated_read_bytes_per_gpu,
       "Estimated number of bytes read from memory per GPU (for Model Flops Utilization calculations).", vllm_labels,
       SHMETRICS_VLLM_MFU),
    FC(estimated_write_bytes_per_gpu,
       "Estimated number of bytes written to memory per GPU (for Model Flops Utilization calculations).", vllm_labels,
       SHMETRICS_VLLM_MFU),
};
_Static_assert(N(vllm_members) == sizeof(shmetrics_vllm_t) / sizeof(void *), "every vLLM handle has a member");

static const char *const model[] = {"model_name"};
static const char *const status[] = {"model_name", "status"};
static const char *const device[] = {"device"};

/* clang-format off */
#define IM(sub, f, help, type, labels, mode, b, n) \
    {#sub "_" #f, #sub, #f, help, type, labels, N(labels), mode, b, n, offsetof(shmetrics_inference_t, sub##_##f), 0}
/* clang-format on */

static const shmetrics_set_member_t inference_members[] = {
    IM(engine, requests_running, "Requests being executed.", SHMETRICS_GAUGE, model, SHMETRICS_MODE_LIVESUM, NULL, 0),
    IM(engine, requests_waiting, "Requests waiting to be scheduled.", SHMETRICS_GAUGE, model, SHMETRICS_MODE_LIVESUM,
       NULL, 0),
    IM(engine, requests, "Requests finished, by status.", SHMETRICS_COUNTER, status, 0, NULL, 0),
    IM(engine, prompt_tokens, "Prompt tokens processed.", SHMETRICS_COUNTER, model, 0, NULL, 0),
    IM(engine, generation_tokens, "Tokens generated.", SHMETRICS_COUNTER, model, 0, NULL, 0),
    IM(engine, time_to_first_token_seconds, "Time to first token.", SHMETRICS_HISTOGRAM, model, 0, ttft_buckets,
       N(ttft_buckets)),
    IM(engine, inter_token_latency_seconds, "Time between two generated tokens.", SHMETRICS_HISTOGRAM, model, 0,
       tpot_buckets, N(tpot_buckets)),
    IM(engine, e2e_latency_seconds, "Request latency, arrival to last token.", SHMETRICS_HISTOGRAM, model, 0,
       request_latency_buckets, N(request_latency_buckets)),
    IM(cache, usage_ratio, "KV-cache usage, 0 to 1.", SHMETRICS_GAUGE, model, SHMETRICS_MODE_MOSTRECENT, NULL, 0),
    IM(cache, queries, "Prefix cache queries, in tokens.", SHMETRICS_COUNTER, model, 0, NULL, 0),
    IM(cache, hits, "Prefix cache hits, in tokens.", SHMETRICS_COUNTER, model, 0, NULL, 0),
    IM(gpu, memory_used_bytes, "GPU memory in use.", SHMETRICS_GAUGE, device, SHMETRICS_MODE_MOSTRECENT, NULL, 0),
    IM(gpu, utilization_ratio, "GPU utilisation, 0 to 1.", SHMETRICS_GAUGE, device, SHMETRICS_MODE_MOSTRECENT, NULL, 0),
    IM(spec_decode, drafts, "Speculative decoding drafts.", SHMETRICS_COUNTER, model, 0, NULL, 0),
    IM(spec_decode, draft_tokens, "Draft tokens proposed.", SHMETRICS_COUNTER, model, 0, NULL, 0),
    IM(spec_decode, accepted_tokens, "Draft tokens accepted.", SHMETRICS_COUNTER, model, 0, NULL, 0),
};
_Static_assert(N(inference_members) == sizeof(shmetrics_inference_t) / sizeof(void *),
               "every inference handle has a member");

const shmetrics_set_member_t *shmetrics_vllm_members(size_t *n)
{
    if (n)
        *n = N(vllm_members);
    return vllm_members;
}

const shmetrics_set_member_t *shmetrics_inference_members(size_t *n)
{
    if (n)
        *n = N(inference_members);
    return inference_members;
}

/* ------------------------------------------------------- registering */

/* Buckets of the members whose table says NULL (the token lists). */
struct set_buckets {
    const double *tokens;
    size_t ntokens;
    const shmetrics_vllm_options_t *opts; /* per-name overrides, or NULL */
};

static const shmetrics_bucket_override_t *override_for(const shmetrics_vllm_options_t *o, const char *name)
{
    for (size_t i = 0; o && i < o->noverrides; i++)
        if (o->overrides[i].name && strcmp(o->overrides[i].name, name) == 0)
            return &o->overrides[i];
    return NULL;
}

/* The spec of member m under `ns`, with the set's buckets. */
static shmetrics_spec_t member_spec(const shmetrics_set_member_t *m, const char *ns, const struct set_buckets *b)
{
    shmetrics_spec_t s = {.name = m->name,
                          .help = m->help,
                          .namespace_name = ns,
                          .subsystem = m->subsystem,
                          .label_names = m->label_names,
                          .nlabels = m->nlabels,
                          .gauge_mode = m->gauge_mode,
                          .buckets = m->buckets,
                          .nbuckets = m->nbuckets};
    const shmetrics_bucket_override_t *ov = b ? override_for(b->opts, m->name) : NULL;
    if (ov) {
        s.buckets = ov->buckets;
        s.nbuckets = ov->nbuckets;
    } else if (m->type == SHMETRICS_HISTOGRAM && !s.buckets && b) {
        s.buckets = b->tokens;
        s.nbuckets = b->ntokens;
    }
    return s;
}

/* Register every member of a set under `ns`, storing each handle at its
 * offset in `out`.  Every spec is checked first, so that a bad namespace
 * or override registers nothing; a conflict with a family registered
 * otherwise (-EEXIST) leaves the members before it registered, which a
 * later call finds again. */
static int register_set(shmetrics_registry_t *reg, const shmetrics_set_member_t *m, size_t n, const char *ns,
                        const struct set_buckets *b, unsigned features, void *out)
{
    static _Thread_local struct smx_spec parsed;
    for (size_t i = 0; i < n; i++) {
        if (m[i].feature & ~features)
            continue;
        shmetrics_spec_t s = member_spec(&m[i], ns, b);
        int rc = smx_spec_parse(&s, m[i].type, &parsed);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (m[i].feature & ~features)
            continue;
        shmetrics_spec_t s = member_spec(&m[i], ns, b);
        void *slot = (char *)out + m[i].offset;
        int rc;
        switch (m[i].type) {
        case SHMETRICS_GAUGE:
            rc = shmetrics_gauge_register(reg, &s, slot);
            break;
        case SHMETRICS_HISTOGRAM:
            rc = shmetrics_histogram_register(reg, &s, slot);
            break;
        case SHMETRICS_SUMMARY:
            rc = shmetrics_summary_register(reg, &s, slot);
            break;
        default:
            rc = shmetrics_counter_register(reg, &s, slot);
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int shmetrics_vllm_register(shmetrics_registry_t *reg, const shmetrics_vllm_options_t *opts, shmetrics_vllm_t *v)
{
    if (!reg || !v)
        return smx_fail(-EINVAL, "no registry or output given");
    memset(v, 0, sizeof *v);
    if (opts && opts->noverrides && !opts->overrides)
        return smx_fail(-EINVAL, "%zu bucket overrides announced, none given", opts->noverrides);
    unsigned features = opts ? opts->features : 0;
    if (features & ~SHMETRICS_VLLM_ALL_FEATURES)
        return smx_fail(-EINVAL, "vLLM set: unknown feature bits 0x%x (the groups are 0x%x)",
                        features & ~SHMETRICS_VLLM_ALL_FEATURES, SHMETRICS_VLLM_ALL_FEATURES);
    if (opts && opts->num_speculative_tokens > SHMETRICS_VLLM_MAX_SPEC_TOKENS)
        return smx_fail(-EINVAL, "vLLM set: %u speculative tokens, at most %d", opts->num_speculative_tokens,
                        SHMETRICS_VLLM_MAX_SPEC_TOKENS);
    /* Every override must name a histogram of the set that is registered,
     * before anything is. */
    for (size_t i = 0; opts && i < opts->noverrides; i++) {
        const char *name = opts->overrides[i].name;
        const shmetrics_set_member_t *m = NULL;
        for (size_t j = 0; name && j < N(vllm_members) && !m; j++)
            if (vllm_members[j].type == SHMETRICS_HISTOGRAM && strcmp(vllm_members[j].name, name) == 0)
                m = &vllm_members[j];
        if (!m)
            return smx_fail(-EINVAL, "bucket override for %s: no histogram of that name in the vLLM set",
                            name ? name : "(null)");
        if (m->feature & ~features)
            return smx_fail(-EINVAL, "bucket override for %s: its feature group (0x%x) is not registered", name,
                            m->feature);
    }
    double tokens[64];
    struct set_buckets b = {.tokens = tokens, .opts = opts};
    int rc = shmetrics_buckets_1_2_5(opts && opts->max_model_len ? opts->max_model_len : 8192, tokens, N(tokens),
                                     &b.ntokens);
    if (rc < 0)
        return rc;
    return register_set(reg, vllm_members, N(vllm_members), NULL, &b, features, v);
}

int shmetrics_inference_register(shmetrics_registry_t *reg, const char *ns, shmetrics_inference_t *x)
{
    if (!reg || !x)
        return smx_fail(-EINVAL, "no registry or output given");
    memset(x, 0, sizeof *x);
    return register_set(reg, inference_members, N(inference_members), ns, NULL, 0, x);
}
