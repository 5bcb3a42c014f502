/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo_engine.c - owns the simulated inference engine of `shmetrics
 * demo`: one process per engine that registers vLLM's set with every
 * feature group, creates its start-up series as vLLM does, and serves
 * Poisson arrivals with log-normal prompt and output lengths through a
 * scheduler with a bounded KV cache: prefix cache hits (on the GPU, or
 * loaded back from the CPU offload tier), prompts prefilled remotely and
 * pulled over NIXL, images looked up in the multimodal cache, LoRA
 * adapters (one loaded at a time, so others wait "deferred"), speculative
 * decoding (3 draft tokens a step, each accepted only after the one
 * before it), preemptions when the growing KV no longer fits (the victim's
 * blocks offloaded to the CPU), and the odd engines put to sleep now and
 * then.  Every update is a hot-path call on a series resolved at start.
 */
#define _GNU_SOURCE
#define SHMETRICS_CPU_HOOK /* --cpus: the inline paths honour the simulated CPU */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define MAX_RUNNING 64 /* requests an engine batches at once */
#define MAX_QUEUE 512
#define TICK_NS 10000000ull
#define KV_CAPACITY 20000.0 /* tokens of KV cache */
#define SLEEP_EVERY 20.0    /* seconds between the naps of an odd engine */
#define SLEEP_FOR 4.0

static const char *const adapters[] = {"", "demo-lora-sql", "demo-lora-chat"};

struct request {
    double arrived, started, first_token, next_token, last_token;
    unsigned prompt, max_tokens, to_generate, generated;
    unsigned lora;          /* index in adapters, 0 for none */
    unsigned char image;    /* carries an image (the multimodal cache) */
    unsigned char remote;   /* prefilled elsewhere, its KV pulled over NIXL */
    unsigned char admitted; /* its prompt was counted (a preempted request comes back) */
};

/* Every series an engine writes, resolved once. */
struct series {
    shmetrics_gauge_series_t *running, *waiting, *kv, *wait_capacity, *wait_deferred;
    shmetrics_counter_series_t *prompt, *generation, *hits, *queries, *preemptions, *ext_queries, *ext_hits, *cached,
        *src_compute, *src_local, *src_external, *tier_device, *tier_host, *tier_p2p, *ok_stop, *ok_length, *ok_abort,
        *ok_error, *drafts, *draft_tokens, *accepted, *per_pos[DEMO_SPEC_TOKENS], *nixl_failed, *mm_queries, *mm_hits;
    shmetrics_histogram_series_t *ttft, *itl, *tpot, *req_tpot, *e2e, *queue, *inference, *prefill, *decode, *h_prompt,
        *h_generation, *max_tokens, *max_gen, *n, *iteration, *kv_computed, *xfer_time, *post_time, *xfer_bytes,
        *descriptors;
    struct demo_kv tiers; /* the KV beyond the GPU cache */
};

static int resolve(shmetrics_vllm_t *v, const char *e, struct series *s)
{
    const char *m = DEMO_MODEL;
    int rc = 0;
#define G(field, metric, ...) rc = rc ? rc : shmetrics_gauge_labels(v->metric, &s->field, m, e, ##__VA_ARGS__, NULL)
#define C(field, metric, ...) rc = rc ? rc : shmetrics_counter_labels(v->metric, &s->field, m, e, ##__VA_ARGS__, NULL)
#define H(field, metric, ...) rc = rc ? rc : shmetrics_histogram_labels(v->metric, &s->field, m, e, ##__VA_ARGS__, NULL)
    G(running, num_requests_running);
    G(waiting, num_requests_waiting);
    G(kv, kv_cache_usage_perc);
    G(wait_capacity, num_requests_waiting_by_reason, "capacity");
    G(wait_deferred, num_requests_waiting_by_reason, "deferred");
    C(prompt, prompt_tokens);
    C(generation, generation_tokens);
    C(hits, prefix_cache_hits);
    C(queries, prefix_cache_queries);
    C(preemptions, num_preemptions);
    C(ext_queries, external_prefix_cache_queries);
    C(ext_hits, external_prefix_cache_hits);
    C(cached, prompt_tokens_cached);
    C(src_compute, prompt_tokens_by_source, "local_compute");
    C(src_local, prompt_tokens_by_source, "local_cache_hit");
    C(src_external, prompt_tokens_by_source, "external_kv_transfer");
    C(tier_device, prompt_tokens_cached_by_source, "device");
    C(tier_host, prompt_tokens_cached_by_source, "host");
    C(tier_p2p, prompt_tokens_cached_by_source, "p2p");
    C(ok_stop, request_success, "stop");
    C(ok_length, request_success, "length");
    C(ok_abort, request_success, "abort");
    C(ok_error, request_success, "error");
    C(drafts, spec_decode_num_drafts);
    C(draft_tokens, spec_decode_num_draft_tokens);
    C(accepted, spec_decode_num_accepted_tokens);
    C(per_pos[0], spec_decode_num_accepted_tokens_per_pos, "0");
    C(per_pos[1], spec_decode_num_accepted_tokens_per_pos, "1");
    C(per_pos[2], spec_decode_num_accepted_tokens_per_pos, "2");
    C(nixl_failed, nixl_num_failed_transfers);
    C(mm_queries, mm_cache_queries);
    C(mm_hits, mm_cache_hits);
    H(ttft, time_to_first_token_seconds);
    H(itl, inter_token_latency_seconds);
    H(tpot, time_per_output_token_seconds);
    H(req_tpot, request_time_per_output_token_seconds);
    H(e2e, e2e_request_latency_seconds);
    H(queue, request_queue_time_seconds);
    H(inference, request_inference_time_seconds);
    H(prefill, request_prefill_time_seconds);
    H(decode, request_decode_time_seconds);
    H(h_prompt, request_prompt_tokens);
    H(h_generation, request_generation_tokens);
    H(max_tokens, request_params_max_tokens);
    H(max_gen, request_max_num_generation_tokens);
    H(n, request_params_n);
    H(iteration, iteration_tokens_total);
    H(kv_computed, request_prefill_kv_computed_tokens);
    H(xfer_time, nixl_xfer_time_seconds);
    H(post_time, nixl_post_time_seconds);
    H(xfer_bytes, nixl_bytes_transferred);
    H(descriptors, nixl_num_descriptors);
#undef G
#undef C
#undef H
    return rc ? rc : demo_kv_open(&s->tiers, v, e);
}

/* Admit q: its prompt is counted once, split into what the caches held
 * and what is computed; the time to its first token follows. */
static void admit(struct series *s, struct request *q, double t, struct demo_rng *r, struct demo_counted *c)
{
    unsigned computed = q->prompt + q->generated;
    if (!q->admitted) {
        q->admitted = 1;
        shmetrics_counter_add(s->prompt, q->prompt);
        c->prompt += q->prompt;
        shmetrics_counter_add(s->queries, q->prompt);
        unsigned external = 0, local = 0;
        if (q->remote) {
            external = q->prompt - 1;
            shmetrics_counter_add(s->ext_queries, q->prompt);
            shmetrics_counter_add(s->ext_hits, external);
            double bytes = (double)external * DEMO_KV_BYTES_PER_TOKEN;
            shmetrics_histogram_observe(s->xfer_time, bytes / 25e9 + demo_lognormal(r, 0.004, 0.4));
            shmetrics_histogram_observe(s->post_time, demo_lognormal(r, 0.0008, 0.5));
            shmetrics_histogram_observe(s->xfer_bytes, bytes);
            shmetrics_histogram_observe(s->descriptors, 32.0 * ((external + 15) / 16));
            if (demo_uniform(r) < 0.01)
                shmetrics_counter_add(s->nixl_failed, 1);
            shmetrics_counter_add(s->tier_p2p, external);
        } else if (demo_uniform(r) < 0.6) {
            local = (unsigned)(q->prompt * (0.3 + 0.5 * demo_uniform(r))) / 16 * 16;
            shmetrics_counter_add(s->hits, local);
            demo_kv_residency(&s->tiers, r, 0, demo_lognormal(r, 3.0, 1.0)); /* a cached block reused */
            /* One hit in five was evicted to the CPU tier and loaded back. */
            if (demo_uniform(r) < 0.2) {
                shmetrics_counter_add(s->tier_host, local);
                demo_kv_load(&s->tiers, r, local);
            } else {
                shmetrics_counter_add(s->tier_device, local);
            }
        }
        shmetrics_counter_add(s->cached, local + external);
        shmetrics_counter_add(s->src_local, local);
        shmetrics_counter_add(s->src_external, external);
        shmetrics_counter_add(s->src_compute, q->prompt - local - external);
        shmetrics_histogram_observe(s->kv_computed, q->prompt - local - external);
        computed = q->prompt - local - external;
        if (q->image) {
            shmetrics_counter_add(s->mm_queries, 1);
            if (demo_uniform(r) < 0.5)
                shmetrics_counter_add(s->mm_hits, 1);
        }
    }
    if (!q->started)
        q->started = t;
    q->first_token = t + demo_lognormal(r, 0.00012 * computed + 0.02, 0.35);
    q->next_token = q->first_token;
}

/* One speculative step of q: the draft's tokens accepted in order, plus the
 * token the target model adds; what it emits. */
static unsigned spec_step(struct series *s, struct demo_rng *r)
{
    static const double accept[DEMO_SPEC_TOKENS] = {0.75, 0.65, 0.55};
    unsigned n = 0;
    while (n < DEMO_SPEC_TOKENS && demo_uniform(r) < accept[n])
        shmetrics_counter_add(s->per_pos[n++], 1);
    shmetrics_counter_add(s->drafts, 1);
    shmetrics_counter_add(s->draft_tokens, DEMO_SPEC_TOKENS);
    shmetrics_counter_add(s->accepted, n);
    return n + 1;
}

static void finish(struct series *s, const struct request *q, double now, struct demo_rng *r, struct demo_counted *c,
                   int engine, int front)
{
    c->requests++;
    double prefill = q->first_token - q->started, decode = now - q->first_token;
    shmetrics_histogram_observe(s->e2e, now - q->arrived);
    shmetrics_histogram_observe(s->queue, q->started - q->arrived);
    shmetrics_histogram_observe(s->inference, now - q->started);
    shmetrics_histogram_observe(s->prefill, prefill);
    shmetrics_histogram_observe(s->decode, decode);
    if (q->generated > 1) {
        shmetrics_histogram_observe(s->tpot, decode / (q->generated - 1));
        shmetrics_histogram_observe(s->req_tpot, decode / (q->generated - 1));
    }
    shmetrics_histogram_observe(s->h_prompt, q->prompt);
    shmetrics_histogram_observe(s->h_generation, q->generated);
    shmetrics_histogram_observe(s->max_tokens, q->max_tokens);
    shmetrics_histogram_observe(s->max_gen, q->max_tokens);
    shmetrics_histogram_observe(s->n, 1);
    double u = demo_uniform(r);
    shmetrics_counter_add(u < 0.005                       ? s->ok_error
                          : u < 0.015                     ? s->ok_abort
                          : q->generated >= q->max_tokens ? s->ok_length
                                                          : s->ok_stop,
                          1);
    /* Its blocks go to the CPU tier, and are freed on the GPU. */
    demo_kv_store(&s->tiers, r, q->prompt + q->generated);
    demo_kv_residency(&s->tiers, r, now - q->started, 0);
    struct demo_response resp = {(float)(now - q->arrived), (uint16_t)engine, DEMO_COMPLETION, q->prompt, q->generated};
    if (write(front, &resp, sizeof resp) != (ssize_t)sizeof resp)
        demo_stop = 1; /* the API server is gone */
}

/* "a,b" of the adapters in use by `reqs` (vLLM joins their names so). */
static void adapter_list(const struct request *reqs, unsigned n, char *out, size_t cap)
{
    int used[3] = {0, 0, 0};
    for (unsigned i = 0; i < n; i++)
        used[reqs[i].lora] = 1;
    out[0] = 0;
    for (int a = 1; a < 3; a++)
        if (used[a])
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "", adapters[a]);
}

int demo_engine(const char *arena, int engine, double rate, uint32_t cpus, int report, int front)
{
    signal(SIGTERM, demo_on_signal);
    signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
    char e[16];
    snprintf(e, sizeof e, "%d", engine);
    shmetrics_options_t o = {.path = arena};
    shmetrics_vllm_options_t vo;
    demo_vllm_options(&vo);
    shmetrics_registry_t *reg;
    shmetrics_vllm_t v;
    struct series s;
    static const shmetrics_label_t cache_config[] = {
        {"block_size", "16"},
        {"cache_dtype", "auto"},
        {"enable_prefix_caching", "True"},
        {"gpu_memory_utilization", "0.9"},
        {"num_gpu_blocks", "750"},
        {"num_cpu_blocks", "2048"},
    };
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_vllm_register(reg, &vo, &v) < 0 ||
        shmetrics_vllm_engine_start(&v, &vo, DEMO_MODEL, e) < 0 ||
        shmetrics_vllm_cache_config_info(reg, cache_config, sizeof cache_config / sizeof cache_config[0], e) < 0 ||
        resolve(&v, e, &s) < 0) {
        fprintf(stderr, "demo engine %d: %s\n", engine, shmetrics_errmsg());
        return 1;
    }
    struct demo_rng r = {0x9e3779b97f4a7c15ull ^ ((uint64_t)getpid() << 20)};
    static struct request queue[MAX_QUEUE];
    struct request running[MAX_RUNNING];
    unsigned nq = 0, nr = 0;
    struct demo_counted c = {0, 0, 0};
    double start = demo_now(), t = start, next_arrival = t + -log(demo_uniform(&r)) / rate;
    int asleep = 0;
    static const unsigned max_tokens[] = {128, 256, 512, 1024};
    char last_running[64] = "-", last_waiting[64] = "-";
    shmetrics_gauge_series_t *lora = NULL;
    while (!demo_stop) {
        struct timespec tick = {0, (long)TICK_NS};
        nanosleep(&tick, NULL);
        if (cpus)
            shmetrics_cpu_simulate((int32_t)(demo_uniform(&r) * cpus));
        t = demo_now();
        /* The odd engines nap now and then (sleep level 1: weights offloaded). */
        int nap = (engine & 1) && fmod(t - start, SLEEP_EVERY) >= SLEEP_EVERY - SLEEP_FOR;
        if (nap != asleep) {
            asleep = nap;
            if (shmetrics_vllm_sleep_state(&v, DEMO_MODEL, e, nap, 1) < 0)
                fprintf(stderr, "demo engine %d: %s\n", engine, shmetrics_errmsg());
            /* The API server dispatched it (/sleep or /wake_up): offloading
             * the weights takes a second or so, loading them back more. */
            struct demo_response op = {(float)demo_lognormal(&r, nap ? 1.2 : 2.5, 0.3), (uint16_t)engine,
                                       nap ? DEMO_SLEEP : DEMO_WAKE, 0, 0};
            if (write(front, &op, sizeof op) != (ssize_t)sizeof op)
                demo_stop = 1;
        }
        while (next_arrival <= t) {
            if (nq < MAX_QUEUE) {
                struct request *q = &queue[nq++];
                memset(q, 0, sizeof *q);
                q->arrived = next_arrival;
                q->prompt = 16 + (unsigned)demo_lognormal(&r, 400, 0.8);
                q->max_tokens = max_tokens[(unsigned)(demo_uniform(&r) * 4) & 3];
                unsigned want = 1 + (unsigned)demo_lognormal(&r, 180, 0.9);
                q->to_generate = want < q->max_tokens ? want : q->max_tokens;
                double u = demo_uniform(&r);
                q->lora = u < 0.1 ? 1 : u < 0.15 ? 2 : 0;
                q->image = demo_uniform(&r) < 0.2;
                q->remote = demo_uniform(&r) < 0.15;
            }
            next_arrival += -log(demo_uniform(&r)) / rate;
        }
        if (asleep)
            continue;
        double kv_used = 0;
        unsigned loaded = 0; /* the adapter in use, at most one (max_lora 1) */
        for (unsigned i = 0; i < nr; i++) {
            kv_used += running[i].prompt + running[i].generated;
            loaded = running[i].lora ? running[i].lora : loaded;
        }
        unsigned tokens_this_step = 0, deferred = 0, pulled = 0;
        /* Admit in order while the KV cache has room; a request for another
         * adapter than the loaded one waits, deferred, and once one has
         * waited half a second the loaded adapter takes no new requests,
         * so that it drains and the other one loads. */
        int drain = 0;
        for (unsigned i = 0; i < nq && !drain; i++)
            drain = queue[i].lora && loaded && queue[i].lora != loaded && t - queue[i].arrived > 0.5;
        for (unsigned i = 0; i < nq && nr < MAX_RUNNING;) {
            struct request *q = &queue[i];
            if (q->lora && loaded && (q->lora != loaded || drain)) {
                deferred++;
                i++;
                continue;
            }
            if (kv_used + q->prompt + q->generated > 0.99 * KV_CAPACITY)
                break;
            pulled += q->remote && !q->admitted;
            admit(&s, q, t, &r, &c);
            kv_used += q->prompt + q->generated;
            tokens_this_step += q->prompt;
            loaded = q->lora ? q->lora : loaded;
            running[nr++] = *q;
            memmove(q, q + 1, sizeof *q * (--nq - i));
        }
        for (unsigned i = 0; i < nr;) {
            struct request *q = &running[i];
            while (q->generated < q->to_generate && q->next_token <= t) {
                unsigned k = q->generated == 0 ? 1 : spec_step(&s, &r);
                if (k > q->to_generate - q->generated)
                    k = q->to_generate - q->generated;
                if (q->generated == 0)
                    shmetrics_histogram_observe(s.ttft, q->first_token - q->arrived);
                else
                    shmetrics_histogram_observe(s.itl, q->next_token - q->last_token);
                q->last_token = q->next_token;
                q->generated += k;
                kv_used += k;
                tokens_this_step += k;
                shmetrics_counter_add(s.generation, k);
                c.generation += k;
                q->next_token += demo_lognormal(&r, 0.025, 0.3);
            }
            if (q->generated >= q->to_generate) {
                kv_used -= q->prompt + q->generated;
                finish(&s, q, t, &r, &c, engine, front);
                running[i] = running[--nr];
                continue;
            }
            i++;
        }
        /* The KV cache overflows as outputs grow: preempt the newest
         * request, its blocks offloaded to the CPU; it waits at the head. */
        while (kv_used > KV_CAPACITY && nr > 1 && nq < MAX_QUEUE) {
            struct request *q = &running[--nr];
            kv_used -= q->prompt + q->generated;
            shmetrics_counter_add(s.preemptions, 1);
            demo_kv_store(&s.tiers, &r, q->prompt + q->generated);
            memmove(queue + 1, queue, sizeof queue[0] * nq++);
            queue[0] = *q;
        }
        if (tokens_this_step)
            shmetrics_histogram_observe(s.iteration, tokens_this_step);
        shmetrics_gauge_set(s.running, nr);
        shmetrics_gauge_set(s.waiting, nq);
        shmetrics_gauge_set(s.wait_capacity, nq - deferred);
        shmetrics_gauge_set(s.wait_deferred, deferred);
        shmetrics_gauge_set(s.kv, kv_used / KV_CAPACITY);
        unsigned remote_waiting = 0;
        for (unsigned i = 0; i < nq; i++)
            remote_waiting += queue[i].remote && !queue[i].admitted;
        demo_kv_step(&s.tiers, &r, tokens_this_step, kv_used, remote_waiting, pulled);
        /* vllm:lora_requests_info: the adapters running and waiting, set to
         * the time at every step (a new label set when they change).  It has
         * no engine label and vLLM sums it across processes: engine 0 alone
         * reports it, as one engine core does in vLLM. */
        if (engine != 0)
            continue;
        char run_list[64], wait_list[64];
        adapter_list(running, nr, run_list, sizeof run_list);
        adapter_list(queue, nq, wait_list, sizeof wait_list);
        if (!lora || strcmp(run_list, last_running) != 0 || strcmp(wait_list, last_waiting) != 0) {
            if (shmetrics_gauge_labels(v.lora_requests_info, &lora, "1", wait_list, run_list, NULL) < 0)
                lora = NULL;
            snprintf(last_running, sizeof last_running, "%s", run_list);
            snprintf(last_waiting, sizeof last_waiting, "%s", wait_list);
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        if (lora)
            shmetrics_gauge_set(lora, (double)now.tv_sec + now.tv_nsec / 1e9);
    }
    shmetrics_shutdown(reg, 0);
    return write(report, &c, sizeof c) == (ssize_t)sizeof c ? 0 : 1;
}
