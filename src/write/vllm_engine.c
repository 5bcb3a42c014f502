/* SPDX-License-Identifier: MIT */
/*
 * src/write/vllm_engine.c - owns what a vLLM engine writes into the vLLM
 * set outside its steps: the series vLLM's V1 logger creates at 0 when an
 * engine starts (per engine and label value), the sleep state, and
 * vllm:cache_config_info, the gauge at 1 that carries the cache
 * configuration as labels (vLLM emulates an info metric so, and dashboards
 * read it so).  Everything goes through the public API, as a user's
 * engine would; the families are src/write/sets.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "shmetrics.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The label values vLLM creates at start-up, per family. */
static const char *const finish_reasons[] = {"stop", "length", "abort", "error"};
static const char *const waiting_reasons[] = {"capacity", "deferred"};
static const char *const prompt_sources[] = {"local_compute", "local_cache_hit", "external_kv_transfer"};
static const char *const cache_tiers[] = {"device", "host", "p2p", "disk", "external_unspecified"};
static const char *const transfer_types[] = {"CPU_to_GPU", "GPU_to_CPU"};
static const char *const fetch_stages[] = {"waiting_to_start", "in_progress", "completed_waiting"};
static const char *const sleep_states[] = {"awake", "weights_offloaded", "discard_all"};

/* The handle of member m in v (NULL when its group is not registered). */
static void *handle_of(const shmetrics_vllm_t *v, const shmetrics_set_member_t *m)
{
    return *(void *const *)((const char *)v + m->offset);
}

/* Create (model, engine[, extra]) of a family, a gauge at `value`. */
static int create(const shmetrics_set_member_t *m, void *family, const char *model, const char *engine,
                  const char *extra, double value)
{
    const char *values[3] = {model, engine, extra};
    size_t n = extra ? 3 : 2;
    if (m->nlabels != n)
        return 0;
    int rc;
    switch (m->type) {
    case SHMETRICS_GAUGE: {
        shmetrics_gauge_series_t *g;
        rc = shmetrics_gauge_labelv(family, n, values, &g);
        if (rc == 0)
            rc = shmetrics_gauge_set(g, value) < 0 ? -EINVAL : 0;
        break;
    }
    case SHMETRICS_HISTOGRAM: {
        shmetrics_histogram_series_t *h;
        rc = shmetrics_histogram_labelv(family, n, values, &h);
        break;
    }
    default: {
        shmetrics_counter_series_t *c;
        rc = shmetrics_counter_labelv(family, n, values, &c);
        break;
    }
    }
    return rc < 0 ? rc : 0;
}

/* The families vLLM creates when first written, not at start-up: the
 * offloading connectors' (but the three it keeps for dashboards, which it
 * creates per transfer_type). */
static int created_when_written(const shmetrics_set_member_t *m)
{
    if (strncmp(m->field, "simple_kv_offload_", 18) == 0)
        return 1;
    return strncmp(m->field, "kv_offload_", 11) == 0 && strcmp(m->field, "kv_offload_total_bytes") != 0 &&
           strcmp(m->field, "kv_offload_total_time") != 0 && strcmp(m->field, "kv_offload_size") != 0;
}

/* Every value of a family's third label created at start-up; NULL for a
 * family vLLM creates nothing of at start-up. */
static const char *const *start_values(const shmetrics_set_member_t *m, const shmetrics_vllm_options_t *opts, size_t *n,
                                       char (*positions)[4])
{
#define IS(f) (strcmp(m->field, f) == 0)
#define ALL(a) (*n = N(a), a)
    if (IS("request_success"))
        return ALL(finish_reasons);
    if (IS("num_requests_waiting_by_reason"))
        return ALL(waiting_reasons);
    if (IS("prompt_tokens_by_source"))
        return ALL(prompt_sources);
    if (IS("prompt_tokens_cached_by_source"))
        return ALL(cache_tiers);
    if (IS("kv_offload_total_bytes") || IS("kv_offload_total_time") || IS("kv_offload_size"))
        return ALL(transfer_types);
    if (IS("engine_sleep_state"))
        return ALL(sleep_states);
    if (IS("num_requests_kv_fetch_by_stage"))
        return ALL(fetch_stages);
    if (IS("spec_decode_num_accepted_tokens_per_pos")) {
        static _Thread_local const char *pos[SHMETRICS_VLLM_MAX_SPEC_TOKENS];
        *n = opts ? opts->num_speculative_tokens : 0;
        for (size_t i = 0; i < *n; i++) {
            /* i < SHMETRICS_VLLM_MAX_SPEC_TOKENS (64, checked by the caller): two digits at most. */
            char *d = positions[i];
            if (i >= 10)
                *d++ = (char)('0' + i / 10 % 10);
            *d++ = (char)('0' + i % 10);
            *d = 0;
            pos[i] = positions[i];
        }
        return pos;
    }
#undef IS
#undef ALL
    *n = 0;
    return NULL;
}

int shmetrics_vllm_engine_start(const shmetrics_vllm_t *v, const shmetrics_vllm_options_t *opts, const char *model_name,
                                const char *engine)
{
    if (!v || !model_name || !engine)
        return smx_fail(-EINVAL, "vLLM engine start: no set, model_name or engine given");
    if (!v->prompt_tokens)
        return smx_fail(-EINVAL, "vLLM engine start: the set is not registered");
    unsigned features = opts ? opts->features : 0;
    if (opts && opts->num_speculative_tokens > SHMETRICS_VLLM_MAX_SPEC_TOKENS)
        return smx_fail(-EINVAL, "vLLM engine start: %u speculative tokens, at most %d", opts->num_speculative_tokens,
                        SHMETRICS_VLLM_MAX_SPEC_TOKENS);
    size_t nm;
    const shmetrics_set_member_t *m = shmetrics_vllm_members(&nm);
    char positions[SHMETRICS_VLLM_MAX_SPEC_TOKENS][4];
    for (size_t i = 0; i < nm; i++) {
        void *family = handle_of(v, &m[i]);
        if (!family || (m[i].feature & ~features) || strcmp(m[i].label_names[0], "model_name") != 0 ||
            created_when_written(&m[i]))
            continue; /* not registered, lora_requests_info, or made when first written */
        /* vLLM makes the spec-decoding counters only for a drafting engine. */
        if (!(features & SHMETRICS_VLLM_SPEC_DECODE) && strncmp(m[i].field, "spec_decode_", 12) == 0)
            continue;
        int rc = 0;
        if (m[i].nlabels == 2) {
            rc = create(&m[i], family, model_name, engine, NULL, 0);
        } else {
            size_t n;
            const char *const *vals = start_values(&m[i], opts, &n, positions);
            for (size_t k = 0; k < n && rc == 0; k++)
                rc = create(&m[i], family, model_name, engine, vals[k], strcmp(vals[k], "awake") == 0 ? 1 : 0);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

int shmetrics_vllm_sleep_state(const shmetrics_vllm_t *v, const char *model_name, const char *engine, int sleeping,
                               int level)
{
    if (!v || !v->engine_sleep_state)
        return smx_fail(-EINVAL, "vLLM sleep state: the set has no engine_sleep_state (SHMETRICS_VLLM_SLEEP)");
    if (!model_name || !engine)
        return smx_fail(-EINVAL, "vLLM sleep state: no model_name or engine given");
    if (sleeping && level != 1 && level != 2)
        return smx_fail(-EINVAL, "vLLM sleep state: sleep level %d, not 1 (weights offloaded) or 2 (discard all)",
                        level);
    /* vLLM's record_sleep_state: awake 1 unless sleeping, then one of the
     * two levels. */
    const double value[3] = {sleeping ? 0 : 1, sleeping && level == 1, sleeping && level == 2};
    for (size_t i = 0; i < N(sleep_states); i++) {
        const char *values[3] = {model_name, engine, sleep_states[i]};
        shmetrics_gauge_series_t *g;
        int rc = shmetrics_gauge_labelv(v->engine_sleep_state, 3, values, &g);
        if (rc < 0)
            return rc;
        if (shmetrics_gauge_set(g, value[i]) < 0)
            return smx_fail(-EINVAL, "vLLM sleep state: the gauge refused %g", value[i]);
    }
    return 0;
}

int shmetrics_vllm_cache_config_info(shmetrics_registry_t *reg, const shmetrics_label_t *config, size_t n,
                                     const char *engine)
{
    if (!reg || (n && !config) || !engine)
        return smx_fail(-EINVAL, "vllm:cache_config_info: no registry, configuration or engine given");
    if (n > 15)
        return smx_fail(-EINVAL, "vllm:cache_config_info: %zu configuration labels, at most 15 (with engine)", n);
    const char *names[16], *values[16];
    for (size_t i = 0; i < n; i++) {
        if (!config[i].name || !config[i].value)
            return smx_fail(-EINVAL, "vllm:cache_config_info: configuration label %zu has no name or value", i);
        names[i] = config[i].name;
        values[i] = config[i].value;
    }
    names[n] = "engine";
    values[n] = engine;
    shmetrics_spec_t spec = {.name = "vllm:cache_config_info",
                             .help = "Information of the LLMEngine CacheConfig",
                             .label_names = names,
                             .nlabels = n + 1,
                             .gauge_mode = SHMETRICS_MODE_MOSTRECENT};
    shmetrics_gauge_t *info;
    shmetrics_gauge_series_t *g;
    int rc = shmetrics_gauge_register(reg, &spec, &info);
    if (rc == 0)
        rc = shmetrics_gauge_labelv(info, n + 1, values, &g);
    if (rc < 0)
        return rc;
    return shmetrics_gauge_set(g, 1) < 0 ? smx_fail(-EINVAL, "vllm:cache_config_info: the gauge refused 1") : 0;
}
