/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo_kv.c - owns the KV tiers of a `shmetrics demo` engine beyond
 * its scheduler's GPU cache, and its estimated hardware work: the
 * offloading connector's CPU tier (loads of prefixes found there, stores of
 * finished and preempted requests' blocks, lookups, the share of the tier
 * pinned by transfers in flight), the simple CPU offload connector's pool
 * beside it, the NIXL consumer's fetch stages, the sampled block residency
 * of --kv-cache-metrics and the FLOPs and bytes of --enable-mfu-metrics.
 * The families the offloading connectors create when first written are
 * created so here; the rest are resolved at start.
 */
#include <stdio.h>

#include "demo.h"

#define BLOCK_TOKENS 16
#define CPU_BLOCKS 2048.0 /* the CPU tier, in blocks (vllm:cache_config_info's num_cpu_blocks) */
#define MODEL_PARAMS 8e9
#define WEIGHT_BYTES 16e9 /* 8B parameters of 16 bits */

#define C(slot, family, ...) rc = rc ? rc : shmetrics_counter_labels(k->v->family, &k->slot, m, e, ##__VA_ARGS__, NULL)
#define H(slot, family, ...) \
    rc = rc ? rc : shmetrics_histogram_labels(k->v->family, &k->slot, m, e, ##__VA_ARGS__, NULL)
#define G(slot, family, ...) rc = rc ? rc : shmetrics_gauge_labels(k->v->family, &k->slot, m, e, ##__VA_ARGS__, NULL)

int demo_kv_open(struct demo_kv *k, shmetrics_vllm_t *v, const char *engine)
{
    *k = (struct demo_kv){.v = v, .engine = engine};
    const char *m = DEMO_MODEL, *e = engine;
    int rc = 0;
    C(old_load_bytes, kv_offload_total_bytes, "CPU_to_GPU");
    C(old_load_time, kv_offload_total_time, "CPU_to_GPU");
    C(old_store_bytes, kv_offload_total_bytes, "GPU_to_CPU");
    C(old_store_time, kv_offload_total_time, "GPU_to_CPU");
    H(old_load_size, kv_offload_size, "CPU_to_GPU");
    H(old_store_size, kv_offload_size, "GPU_to_CPU");
    C(late_notifications, nixl_num_notifications_after_expiry);
    C(flops, estimated_flops_per_gpu);
    C(read_bytes, estimated_read_bytes_per_gpu);
    C(write_bytes, estimated_write_bytes_per_gpu);
    G(fetch_waiting, num_requests_kv_fetch_by_stage, "waiting_to_start");
    G(fetch_in_progress, num_requests_kv_fetch_by_stage, "in_progress");
    G(fetch_done, num_requests_kv_fetch_by_stage, "completed_waiting");
    H(lifetime, kv_block_lifetime_seconds);
    H(idle, kv_block_idle_before_evict_seconds);
    H(reuse_gap, kv_block_reuse_gap_seconds);
    /* The simple connector's deployment facts, at 1. */
    char capacity[16];
    snprintf(capacity, sizeof capacity, "%.0f", CPU_BLOCKS);
    shmetrics_gauge_series_t *info;
    rc = rc ? rc
            : shmetrics_gauge_labels(v->simple_kv_offload_info, &info, m, e, "cpu", "false", "false", capacity, NULL);
    if (rc == 0 && shmetrics_gauge_set(info, 1) < 0)
        rc = -1;
    return rc;
}

/* The series of a family created when first written: resolved then. */
static shmetrics_counter_series_t *counter(struct demo_kv *k, shmetrics_counter_t *family,
                                           shmetrics_counter_series_t **slot, const char *extra)
{
    if (!*slot && shmetrics_counter_labels(family, slot, DEMO_MODEL, k->engine, extra, NULL) < 0)
        *slot = NULL;
    return *slot;
}

static shmetrics_histogram_series_t *histogram(struct demo_kv *k, shmetrics_histogram_t *family,
                                               shmetrics_histogram_series_t **slot)
{
    if (!*slot && shmetrics_histogram_labels(family, slot, DEMO_MODEL, k->engine, NULL) < 0)
        *slot = NULL;
    return *slot;
}

static shmetrics_gauge_series_t *gauge(struct demo_kv *k, shmetrics_gauge_t *family, shmetrics_gauge_series_t **slot)
{
    if (!*slot && shmetrics_gauge_labels(family, slot, DEMO_MODEL, k->engine, NULL) < 0)
        *slot = NULL;
    return *slot;
}

/* Add to a series that may not exist (a failed creation is skipped). */
static void add(shmetrics_counter_series_t *c, uint64_t n)
{
    if (c)
        shmetrics_counter_add(c, n);
}

static void inc(shmetrics_counter_series_t *c, double x)
{
    if (c)
        shmetrics_counter_inc(c, x);
}

static void observe(shmetrics_histogram_series_t *h, double x)
{
    if (h)
        shmetrics_histogram_observe(h, x);
}

/* One transfer of `tokens` at 20 GB/s, under both sets of names. */
static void transfer(struct demo_kv *k, unsigned tokens, int load)
{
    shmetrics_vllm_t *v = k->v;
    double bytes = (double)tokens * DEMO_KV_BYTES_PER_TOKEN, seconds = bytes / 20e9;
    shmetrics_counter_add(load ? k->old_load_bytes : k->old_store_bytes, (uint64_t)bytes);
    shmetrics_counter_inc(load ? k->old_load_time : k->old_store_time, seconds);
    shmetrics_histogram_observe(load ? k->old_load_size : k->old_store_size, bytes);
    add(load ? counter(k, v->kv_offload_load_bytes, &k->load_bytes, NULL)
             : counter(k, v->kv_offload_store_bytes, &k->store_bytes, NULL),
        (uint64_t)bytes);
    inc(load ? counter(k, v->kv_offload_load_time, &k->load_time, NULL)
             : counter(k, v->kv_offload_store_time, &k->store_time, NULL),
        seconds);
    observe(load ? histogram(k, v->kv_offload_load_size, &k->load_size)
                 : histogram(k, v->kv_offload_store_size, &k->store_size),
            bytes);
}

void demo_kv_load(struct demo_kv *k, struct demo_rng *r, unsigned tokens)
{
    shmetrics_vllm_t *v = k->v;
    transfer(k, tokens, 1);
    observe(histogram(k, v->kv_offload_lookup_sync_delay_seconds, &k->lookup_sync), demo_lognormal(r, 0.00008, 0.6));
    /* One lookup in three defers until the tier answers. */
    if (demo_uniform(r) < 1.0 / 3)
        observe(histogram(k, v->kv_offload_lookup_async_delay_seconds, &k->lookup_async),
                demo_lognormal(r, 0.004, 0.8));
    unsigned blocks = tokens / BLOCK_TOKENS;
    add(counter(k, v->simple_kv_offload_load_blocks, &k->issued, "issued"), blocks);
    add(counter(k, v->simple_kv_offload_load_blocks, &k->completed, "completed"), blocks);
    k->reading += blocks;
}

void demo_kv_store(struct demo_kv *k, struct demo_rng *r, unsigned tokens)
{
    shmetrics_vllm_t *v = k->v;
    unsigned blocks = tokens / BLOCK_TOKENS;
    if (!blocks)
        return;
    double u = demo_uniform(r);
    observe(histogram(k, v->kv_offload_cpu_allocation_size, &k->allocation), blocks);
    if (u < 0.02) { /* no room in the tier: the store fails */
        add(counter(k, v->kv_offload_allocation_failure, &k->alloc_failures, NULL), 1);
        add(counter(k, v->simple_kv_offload_save_outcomes, &k->dropped_full, "dropped_cpu_full"), blocks);
        return;
    }
    if (u < 0.12) { /* the tier holds these blocks already */
        add(counter(k, v->kv_offload_stores_skipped, &k->skipped, NULL), 1);
        add(counter(k, v->simple_kv_offload_save_outcomes, &k->already_cached, "skipped_already_cached"), blocks);
        return;
    }
    transfer(k, blocks * BLOCK_TOKENS, 0);
    add(counter(k, v->simple_kv_offload_save_outcomes, &k->stored, "stored"), blocks);
    k->writing += blocks;
}

void demo_kv_residency(struct demo_kv *k, struct demo_rng *r, double held, double gap)
{
    /* --kv-cache-metrics-sample: one block in ten is followed. */
    if (demo_uniform(r) < 0.1) {
        double idle = demo_lognormal(r, 2.0, 0.8);
        shmetrics_histogram_observe(k->lifetime, held + idle);
        shmetrics_histogram_observe(k->idle, idle);
    }
    if (gap > 0 && demo_uniform(r) < 0.1)
        shmetrics_histogram_observe(k->reuse_gap, gap);
}

void demo_kv_step(struct demo_kv *k, struct demo_rng *r, unsigned tokens, double kv_tokens, unsigned remote_waiting,
                  unsigned remote_pulled)
{
    shmetrics_vllm_t *v = k->v;
    /* Transfers in flight pin their blocks for a few steps. */
    k->reading *= 0.7;
    k->writing *= 0.7;
    shmetrics_gauge_series_t *g;
    if ((g = gauge(k, v->kv_offload_cpu_cache_read_usage_perc, &k->cpu_read)))
        shmetrics_gauge_set(g, k->reading / CPU_BLOCKS);
    if ((g = gauge(k, v->kv_offload_cpu_cache_write_usage_perc, &k->cpu_write)))
        shmetrics_gauge_set(g, k->writing / CPU_BLOCKS);
    if ((g = gauge(k, v->kv_offload_cpu_cache_usage_perc, &k->cpu_usage)))
        shmetrics_gauge_set(g, (k->reading + k->writing) / CPU_BLOCKS);
    if ((g = gauge(k, v->simple_kv_offload_used_blocks, &k->used_blocks)))
        shmetrics_gauge_set(g, (double)(uint64_t)(k->reading + k->writing));
    if ((g = gauge(k, v->simple_kv_offload_pending_store_blocks, &k->pending_blocks)))
        shmetrics_gauge_set(g, (double)(uint64_t)k->writing);
    shmetrics_gauge_set(k->fetch_waiting, remote_waiting);
    shmetrics_gauge_set(k->fetch_in_progress, remote_pulled);
    shmetrics_gauge_set(k->fetch_done, 0);
    if (remote_pulled && demo_uniform(r) < 0.002)
        shmetrics_counter_add(k->late_notifications, 1);
    if (!tokens)
        return;
    /* A step reads the weights and the KV it attends to, and writes the
     * new tokens' KV: 2 FLOPs a parameter a token. */
    shmetrics_counter_inc(k->flops, 2 * MODEL_PARAMS * tokens);
    shmetrics_counter_inc(k->read_bytes, WEIGHT_BYTES + kv_tokens * DEMO_KV_BYTES_PER_TOKEN);
    shmetrics_counter_inc(k->write_bytes, (double)tokens * DEMO_KV_BYTES_PER_TOKEN);
}
