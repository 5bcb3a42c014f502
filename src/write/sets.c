/* SPDX-License-Identifier: MIT */
/*
 * src/write/sets.c - owns the ready-made metric sets: vLLM's (names, types,
 * label names and buckets as vLLM 0.10's vllm/v1/metrics/loggers.py
 * registers them, plus vLLM 0.11's inter_token_latency_seconds) and the
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

/* clang-format would read {#f ... as a preprocessor line. */
/* clang-format off */
#define VG(f, help) \
    {#f, NULL, "vllm:" #f, help, SHMETRICS_GAUGE, vllm_labels, 2, SHMETRICS_MODE_MOSTRECENT, NULL, 0, \
     offsetof(shmetrics_vllm_t, f)}
#define VC(f, help, labels, n) \
    {#f, NULL, "vllm:" #f, help, SHMETRICS_COUNTER, labels, n, 0, NULL, 0, offsetof(shmetrics_vllm_t, f)}
#define VH(f, help, b, n) \
    {#f, NULL, "vllm:" #f, help, SHMETRICS_HISTOGRAM, vllm_labels, 2, 0, b, n, offsetof(shmetrics_vllm_t, f)}
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
};
_Static_assert(N(vllm_members) == sizeof(shmetrics_vllm_t) / sizeof(void *), "every vLLM handle has a member");

static const char *const model[] = {"model_name"};
static const char *const status[] = {"model_name", "status"};
static const char *const device[] = {"device"};

/* clang-format off */
#define IM(sub, f, help, type, labels, mode, b, n) \
    {#sub "_" #f, #sub, #f, help, type, labels, N(labels), mode, b, n, offsetof(shmetrics_inference_t, sub##_##f)}
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
                        const struct set_buckets *b, void *out)
{
    static _Thread_local struct smx_spec parsed;
    for (size_t i = 0; i < n; i++) {
        shmetrics_spec_t s = member_spec(&m[i], ns, b);
        int rc = smx_spec_parse(&s, m[i].type, &parsed);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
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
    /* Every override must name a histogram of the set, before anything is
     * registered. */
    for (size_t i = 0; opts && i < opts->noverrides; i++) {
        const char *name = opts->overrides[i].name;
        bool found = false;
        for (size_t j = 0; name && j < N(vllm_members) && !found; j++)
            found = vllm_members[j].type == SHMETRICS_HISTOGRAM && strcmp(vllm_members[j].name, name) == 0;
        if (!found)
            return smx_fail(-EINVAL, "bucket override for %s: no histogram of that name in the vLLM set",
                            name ? name : "(null)");
    }
    double tokens[64];
    struct set_buckets b = {.tokens = tokens, .opts = opts};
    int rc = shmetrics_buckets_1_2_5(opts && opts->max_model_len ? opts->max_model_len : 8192, tokens, N(tokens),
                                     &b.ntokens);
    if (rc < 0)
        return rc;
    return register_set(reg, vllm_members, N(vllm_members), NULL, &b, v);
}

int shmetrics_inference_register(shmetrics_registry_t *reg, const char *ns, shmetrics_inference_t *x)
{
    if (!reg || !x)
        return smx_fail(-EINVAL, "no registry or output given");
    memset(x, 0, sizeof *x);
    return register_set(reg, inference_members, N(inference_members), ns, NULL, x);
}
