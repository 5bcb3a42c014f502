/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo.h - what the three parts of `shmetrics demo` share: the
 * parent (demo.c), the simulated inference engines (demo_engine.c) and the
 * simulated API server in front of them (demo_front.c).
 */
#ifndef SHMETRICS_CLI_DEMO_H
#define SHMETRICS_CLI_DEMO_H

#include <math.h>
#include <signal.h>
#include <stdint.h>

#include "cli.h"

#define DEMO_MODEL "demo-llama-3-8b"
#define DEMO_SPEC_TOKENS 3 /* draft tokens per speculative step */
/* The groups the demo's engines run: every one of vLLM's. */
#define DEMO_FEATURES SHMETRICS_VLLM_ALL_FEATURES

/* Set by SIGTERM (and SIGINT in the parent): stop at the next step. */
extern volatile sig_atomic_t demo_stop;
void demo_on_signal(int sig);

/* What an engine counted, sent to the parent as it exits. */
struct demo_counted {
    uint64_t requests, prompt, generation;
};

/* What an engine tells the API server in front of it (a pipe write of this
 * size is atomic): a finished request, or a sleep-mode operation the
 * server dispatched to the engine. */
enum demo_kind { DEMO_COMPLETION, DEMO_SLEEP, DEMO_WAKE };
struct demo_response {
    float seconds; /* arrival to last token, or the operation's duration */
    uint16_t engine;
    uint16_t kind;              /* enum demo_kind */
    uint32_t prompt, generated; /* a completion's tokens */
};

/* The engines' random numbers: xorshift64, uniform in (0, 1), log-normal. */
struct demo_rng {
    uint64_t s;
};

static inline double demo_uniform(struct demo_rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

static inline double demo_lognormal(struct demo_rng *r, double median, double sigma)
{
    double z = sqrt(-2 * log(demo_uniform(r))) * cos(6.283185307179586 * demo_uniform(r)) /* 2 pi */;
    return median * exp(sigma * z);
}

#define DEMO_KV_BYTES_PER_TOKEN 131072 /* an 8B model's K and V, 32 layers, 8 heads of 128, 16 bits */

/* An engine's KV tiers and accounting beyond its scheduler (demo_kv.c):
 * the offloading connector's CPU tier, the simple CPU offload connector's
 * pool, the NIXL consumer's fetch stages, sampled block residency and the
 * estimated FLOPs and memory traffic. */
struct demo_kv {
    shmetrics_vllm_t *v;
    const char *engine;
    /* the offloading connector's families vLLM keeps for dashboards */
    shmetrics_counter_series_t *old_load_bytes, *old_load_time, *old_store_bytes, *old_store_time;
    shmetrics_histogram_series_t *old_load_size, *old_store_size;
    /* created when first written, as vLLM creates them */
    shmetrics_counter_series_t *load_bytes, *load_time, *store_bytes, *store_time, *alloc_failures, *skipped, *stored,
        *dropped_full, *already_cached, *issued, *completed;
    shmetrics_histogram_series_t *load_size, *store_size, *lookup_sync, *lookup_async, *allocation;
    shmetrics_gauge_series_t *cpu_usage, *cpu_write, *cpu_read, *used_blocks, *pending_blocks;
    /* created at start-up */
    shmetrics_counter_series_t *late_notifications, *flops, *read_bytes, *write_bytes;
    shmetrics_gauge_series_t *fetch_waiting, *fetch_in_progress, *fetch_done;
    shmetrics_histogram_series_t *lifetime, *idle, *reuse_gap;
    double reading, writing; /* blocks pinned by loads and stores in flight */
};

/* Resolve the series an engine writes from its start (and set
 * vllm:simple_kv_offload_info); 0 or the library's error. */
int demo_kv_open(struct demo_kv *k, shmetrics_vllm_t *v, const char *engine);
/* `tokens` of a prefix found in the CPU tier, loaded back to the GPU. */
void demo_kv_load(struct demo_kv *k, struct demo_rng *r, unsigned tokens);
/* `tokens` of KV stored from the GPU to the CPU tier (a finished request's
 * blocks, or a preempted one's). */
void demo_kv_store(struct demo_kv *k, struct demo_rng *r, unsigned tokens);
/* A request's blocks freed after `held` seconds (sampled residency); a
 * prefix hit reuses a block after `gap` seconds when gap > 0. */
void demo_kv_residency(struct demo_kv *k, struct demo_rng *r, double held, double gap);
/* The end of a step: `tokens` processed over `kv_tokens` of KV, remote
 * requests waiting for their KV and being pulled. */
void demo_kv_step(struct demo_kv *k, struct demo_rng *r, unsigned tokens, double kv_tokens, unsigned remote_waiting,
                  unsigned remote_pulled);

/* The vLLM set's options of the demo (the same in every process). */
void demo_vllm_options(shmetrics_vllm_options_t *o);

/* An engine process: serves simulated requests into the arena until
 * SIGTERM, tells `front` about each finished request and `report` what it
 * counted.  Its exit status. */
int demo_engine(const char *arena, int engine, double rate, uint32_t cpus, int report, int front);

/* The API server process: reads the engines' responses from `responses`
 * until every engine has closed it, recording vLLM's HTTP metrics, then
 * writes the number it served to `report`.  Its exit status. */
int demo_front(const char *arena, int responses, int report);

/* The seconds of CLOCK_MONOTONIC. */
double demo_now(void);

#endif
