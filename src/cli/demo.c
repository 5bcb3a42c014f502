/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo.c - owns `shmetrics demo`, the main job of `make demo`: a
 * collector and N simulated inference workers (real processes using the
 * public API, as a user's worker would) that serve Poisson arrivals with
 * log-normal prompt lengths, times to first token and inter-token
 * latencies into vLLM's metrics, while the parent prints one line a second.
 * At the end the parent checks that the arena holds exactly what the
 * workers counted (each tells it through a pipe as it exits).
 *
 * --cpus N simulates a host of N CPUs: a worker moves to a random one of
 * them at every step (shmetrics_cpu_simulate), as a scheduler moves
 * threads, so the arena is used as it would be on such a host.
 */
#define _GNU_SOURCE
#define SHMETRICS_CPU_HOOK /* --cpus: the inline paths honour the simulated CPU */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define MAX_WORKERS 64
#define MAX_RUNNING 64 /* requests a worker's engine batches at once */
#define MAX_QUEUE 512
#define TICK_NS 10000000ull

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts; /* the CLI uses the public API only, not base/ */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ a worker */

struct rng {
    uint64_t s;
};

static double uniform(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

static double lognormal(struct rng *r, double median, double sigma)
{
    double z = sqrt(-2 * log(uniform(r))) * cos(2 * M_PI * uniform(r));
    return median * exp(sigma * z);
}

/* What a worker counted, sent to the parent as it exits. */
struct counted {
    uint64_t requests, prompt, generation;
};

struct request {
    double arrived, started, first_token, next_token, last_token;
    unsigned prompt, max_tokens, to_generate, generated;
};

struct series {
    shmetrics_gauge_series_t *running, *waiting, *kv;
    shmetrics_counter_series_t *prompt, *generation, *hits, *queries, *ok_stop, *ok_length, *ok_abort;
    shmetrics_histogram_series_t *ttft, *itl, *tpot, *e2e, *queue, *inference, *prefill, *decode, *h_prompt,
        *h_generation, *max_tokens, *n, *iteration;
};

static int resolve(shmetrics_vllm_t *v, int engine, struct series *s)
{
    char e[16];
    snprintf(e, sizeof e, "%d", engine);
    const char *m = "demo-llama-3-8b";
    int rc = 0;
#define G(field, metric) rc = rc ? rc : shmetrics_gauge_labels(v->metric, &s->field, m, e, NULL)
#define C(field, metric) rc = rc ? rc : shmetrics_counter_labels(v->metric, &s->field, m, e, NULL)
#define H(field, metric) rc = rc ? rc : shmetrics_histogram_labels(v->metric, &s->field, m, e, NULL)
    G(running, num_requests_running);
    G(waiting, num_requests_waiting);
    G(kv, kv_cache_usage_perc);
    C(prompt, prompt_tokens);
    C(generation, generation_tokens);
    C(hits, prefix_cache_hits);
    C(queries, prefix_cache_queries);
    H(ttft, time_to_first_token_seconds);
    H(itl, inter_token_latency_seconds);
    H(tpot, time_per_output_token_seconds);
    H(e2e, e2e_request_latency_seconds);
    H(queue, request_queue_time_seconds);
    H(inference, request_inference_time_seconds);
    H(prefill, request_prefill_time_seconds);
    H(decode, request_decode_time_seconds);
    H(h_prompt, request_prompt_tokens);
    H(h_generation, request_generation_tokens);
    H(max_tokens, request_params_max_tokens);
    H(n, request_params_n);
    H(iteration, iteration_tokens_total);
#undef G
#undef C
#undef H
    rc = rc ? rc : shmetrics_counter_labels(v->request_success, &s->ok_stop, m, e, "stop", NULL);
    rc = rc ? rc : shmetrics_counter_labels(v->request_success, &s->ok_length, m, e, "length", NULL);
    rc = rc ? rc : shmetrics_counter_labels(v->request_success, &s->ok_abort, m, e, "abort", NULL);
    return rc;
}

static void finish(struct series *s, const struct request *q, double now, struct rng *r, struct counted *c)
{
    c->requests++;
    double prefill = q->first_token - q->started, decode = now - q->first_token;
    shmetrics_histogram_observe(s->e2e, now - q->arrived);
    shmetrics_histogram_observe(s->queue, q->started - q->arrived);
    shmetrics_histogram_observe(s->inference, now - q->started);
    shmetrics_histogram_observe(s->prefill, prefill);
    shmetrics_histogram_observe(s->decode, decode);
    if (q->generated > 1)
        shmetrics_histogram_observe(s->tpot, decode / (q->generated - 1));
    shmetrics_histogram_observe(s->h_prompt, q->prompt);
    shmetrics_histogram_observe(s->h_generation, q->generated);
    shmetrics_histogram_observe(s->max_tokens, q->max_tokens);
    shmetrics_histogram_observe(s->n, 1);
    shmetrics_counter_add(uniform(r) < 0.01               ? s->ok_abort
                          : q->generated >= q->max_tokens ? s->ok_length
                                                          : s->ok_stop,
                          1);
}

static int worker(const char *arena, int engine, double rate, uint32_t cpus, int report)
{
    signal(SIGTERM, on_signal);
    signal(SIGINT, SIG_IGN); /* the parent decides when to stop */
    shmetrics_options_t o = {.path = arena};
    shmetrics_registry_t *reg;
    shmetrics_vllm_t v;
    struct series s;
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_vllm_register(reg, NULL, &v) < 0 || resolve(&v, engine, &s) < 0) {
        fprintf(stderr, "demo worker %d: %s\n", engine, shmetrics_errmsg());
        return 1;
    }
    struct rng r = {0x9e3779b97f4a7c15ull ^ ((uint64_t)getpid() << 20)};
    static struct request queue[MAX_QUEUE];
    struct request running[MAX_RUNNING];
    unsigned nq = 0, nr = 0;
    struct counted c = {0, 0, 0};
    double t = now_s(), next_arrival = t + -log(uniform(&r)) / rate;
    static const unsigned max_tokens[] = {128, 256, 512, 1024};
    while (!stop) {
        struct timespec tick = {0, (long)TICK_NS};
        nanosleep(&tick, NULL);
        if (cpus)
            shmetrics_cpu_simulate((int32_t)(uniform(&r) * cpus));
        t = now_s();
        while (next_arrival <= t) {
            if (nq < MAX_QUEUE) {
                struct request *q = &queue[nq++];
                memset(q, 0, sizeof *q);
                q->arrived = next_arrival;
                q->prompt = 16 + (unsigned)lognormal(&r, 400, 0.8);
                q->max_tokens = max_tokens[(unsigned)(uniform(&r) * 4) & 3];
                unsigned want = 1 + (unsigned)lognormal(&r, 180, 0.9);
                q->to_generate = want < q->max_tokens ? want : q->max_tokens;
            }
            next_arrival += -log(uniform(&r)) / rate;
        }
        unsigned tokens_this_step = 0;
        /* Admit: prefill takes time proportional to the prompt. */
        while (nr < MAX_RUNNING && nq > 0) {
            struct request q = queue[0];
            memmove(queue, queue + 1, sizeof queue[0] * --nq);
            q.started = t;
            q.first_token = t + lognormal(&r, 0.00012 * q.prompt + 0.02, 0.35);
            q.next_token = q.first_token;
            running[nr++] = q;
            shmetrics_counter_add(s.prompt, q.prompt);
            c.prompt += q.prompt;
            shmetrics_counter_add(s.queries, q.prompt);
            shmetrics_counter_add(s.hits, (uint64_t)(q.prompt * 0.4));
            tokens_this_step += q.prompt;
        }
        unsigned kv_tokens = 0;
        for (unsigned i = 0; i < nr;) {
            struct request *q = &running[i];
            while (q->generated < q->to_generate && q->next_token <= t) {
                if (q->generated == 0)
                    shmetrics_histogram_observe(s.ttft, q->first_token - q->arrived);
                else
                    shmetrics_histogram_observe(s.itl, q->next_token - q->last_token);
                q->last_token = q->next_token;
                q->generated++;
                tokens_this_step++;
                shmetrics_counter_add(s.generation, 1);
                c.generation++;
                q->next_token += lognormal(&r, 0.025, 0.3);
            }
            if (q->generated >= q->to_generate) {
                finish(&s, q, t, &r, &c);
                running[i] = running[--nr];
                continue;
            }
            kv_tokens += q->prompt + q->generated;
            i++;
        }
        if (tokens_this_step)
            shmetrics_histogram_observe(s.iteration, tokens_this_step);
        shmetrics_gauge_set(s.running, nr);
        shmetrics_gauge_set(s.waiting, nq);
        shmetrics_gauge_set(s.kv, kv_tokens / (MAX_RUNNING * 1000.0));
    }
    shmetrics_shutdown(reg, 0);
    return write(report, &c, sizeof c) == (ssize_t)sizeof c ? 0 : 1;
}

/* ------------------------------------------------------------ the parent */

struct totals {
    double requests, prompt, generation;
    double ttft[64]; /* cumulative bucket counts, summed over engines */
    double running, waiting;
};

static void read_totals(const shmetrics_snapshot_t *snap, struct totals *t, const double **bounds, size_t *nb)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        bool req = strcmp(f->name, "vllm:request_success") == 0;
        bool prompt = strcmp(f->name, "vllm:prompt_tokens") == 0;
        bool generation = strcmp(f->name, "vllm:generation_tokens") == 0;
        bool ttft = strcmp(f->name, "vllm:time_to_first_token_seconds") == 0;
        bool run = strcmp(f->name, "vllm:num_requests_running") == 0;
        bool wait = strcmp(f->name, "vllm:num_requests_waiting") == 0;
        size_t b = 0;
        for (size_t j = 0; j < f->nsamples; j++) {
            const shmetrics_sample_t *s = &f->samples[j];
            if (req)
                t->requests += s->value;
            if (prompt)
                t->prompt += s->value;
            if (generation)
                t->generation += s->value;
            if (run)
                t->running += s->value;
            if (wait)
                t->waiting += s->value;
            if (ttft && strcmp(s->suffix, "_bucket") == 0) {
                if (j == 0 || strcmp(f->samples[j - 1].suffix, "_bucket") != 0)
                    b = 0;
                if (b < 64)
                    t->ttft[b++] += s->value;
            }
        }
    }
    static const double ttft_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
                                         1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    *bounds = ttft_bounds;
    *nb = sizeof ttft_bounds / sizeof ttft_bounds[0];
}

/* Prometheus' histogram_quantile over cumulative bucket deltas. */
static double quantile(double q, const double *cum, const double *bounds, size_t nb)
{
    double total = cum[nb];
    if (total <= 0)
        return NAN;
    double rank = q * total, prev_bound = 0, prev = 0;
    for (size_t i = 0; i < nb; i++) {
        if (cum[i] >= rank)
            return prev_bound + (bounds[i] - prev_bound) * (cum[i] > prev ? (rank - prev) / (cum[i] - prev) : 0);
        prev_bound = bounds[i];
        prev = cum[i];
    }
    return bounds[nb - 1];
}

static int run_demo(int argc, char **argv)
{
    uint32_t workers = 4, duration = 0, cpus = 0;
    const char *listen = "127.0.0.1:9400", *arena_arg = NULL;
    double rate = 8;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            fputs(verb_demo.usage, stdout);
            return EXIT_OK;
        }
        if (i + 1 >= argc)
            return cli_usage_error(&verb_demo, "%s needs a value, or is unknown", arg);
        const char *val = argv[++i];
        if (strcmp(arg, "--workers") == 0) {
            if (!cli_parse_u32(val, 1, MAX_WORKERS, &workers))
                return cli_usage_error(&verb_demo, "--workers takes a whole number from 1 to %d, not '%s'", MAX_WORKERS,
                                       val);
        } else if (strcmp(arg, "--cpus") == 0) {
            if (!cli_parse_u32(val, 1, 4096, &cpus))
                return cli_usage_error(&verb_demo, "--cpus takes a whole number from 1 to 4096, not '%s'", val);
        } else if (strcmp(arg, "--duration") == 0) {
            if (!cli_parse_u32(val, 1, 86400, &duration))
                return cli_usage_error(&verb_demo, "--duration takes whole seconds from 1 to 86400, not '%s'", val);
        } else if (strcmp(arg, "--listen") == 0) {
            listen = val;
        } else if (strcmp(arg, "--arena") == 0) {
            arena_arg = val;
        } else if (strcmp(arg, "--rate") == 0) {
            char *end;
            rate = strtod(val, &end);
            if (*end || !(rate > 0 && rate <= 1000))
                return cli_usage_error(&verb_demo, "--rate takes requests per second per worker, 0 to 1000, not '%s'",
                                       val);
        } else {
            return cli_usage_error(&verb_demo, "unknown option %s", arg);
        }
    }
    char arena[4096];
    if (arena_arg)
        snprintf(arena, sizeof arena, "%s%s", strchr(arena_arg, '/') ? "" : "/dev/shm/", arena_arg);
    else
        snprintf(arena, sizeof arena, "/dev/shm/shmetrics-demo-%d", (int)getpid());
    /* Default capacities (at most about 51 MiB, whatever the CPU count);
     * with --cpus, series may gain stripes for up to that many CPUs. */
    uint32_t shards = 0;
    while (cpus && (1u << shards) < cpus)
        shards++;
    shmetrics_options_t o = {.path = arena,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .shards = cpus ? 1u << shards : 0};
    shmetrics_registry_t *reg;
    shmetrics_vllm_t v;
    int rc = shmetrics_open(&o, &reg);
    if (rc < 0)
        return cli_fail("creating the demo arena", rc);
    shmetrics_server_t *srv = NULL;
    shmetrics_server_options_t so = {.listen = listen};
    if ((rc = shmetrics_vllm_register(reg, NULL, &v)) < 0 || (rc = shmetrics_server_start(reg, &so, &srv)) < 0) {
        int st = cli_fail("starting the demo", rc);
        shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
        return st;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pid_t pids[MAX_WORKERS];
    int report[2];
    if (pipe(report) < 0) {
        int st = cli_fail("starting the demo", -errno);
        shmetrics_server_stop(srv);
        shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
        return st;
    }
    for (uint32_t w = 0; w < workers; w++)
        if ((pids[w] = fork()) == 0) {
            close(report[0]);
            _exit(worker(arena, (int)w, rate, cpus, report[1]));
        }
    close(report[1]);

    const char *colon = strrchr(listen, ':');
    if (cpus)
        printf("shmetrics demo: simulating a host of %u CPUs: each worker moves to a random one at every step.\n",
               cpus);
    printf("shmetrics demo: %u simulated inference workers (separate processes, %.0f requests/s each) write\n"
           "vLLM's metrics into the arena %s; this process serves them:\n\n"
           "    curl http://%.*s:%u/metrics\n\n"
           "Each second: finished requests/s, time to first token (p50, p99, from the histogram\n"
           "as Prometheus' histogram_quantile computes it), running and waiting requests, series.\n"
           "%s\n\n",
           workers, rate, arena, (int)(colon - listen), *listen == ':' ? "127.0.0.1" : listen,
           shmetrics_server_port(srv), duration ? "" : "Ctrl-C stops it and removes the arena.");
    fflush(stdout);

    struct totals prev, cur;
    const double *bounds;
    size_t nb;
    shmetrics_snapshot_t *snap;
    memset(&prev, 0, sizeof prev);
    double t0 = now_s();
    for (unsigned sec = 1; !stop && (!duration || sec <= duration); sec++) {
        double wake = t0 + sec;
        while (!stop && now_s() < wake) {
            struct timespec nap = {0, 50000000};
            nanosleep(&nap, NULL);
        }
        if (shmetrics_collect(reg, &snap) < 0)
            break;
        read_totals(snap, &cur, &bounds, &nb);
        double delta[64];
        for (size_t i = 0; i <= nb; i++)
            delta[i] = cur.ttft[i] - prev.ttft[i];
        printf("[%4us] %6.1f req/s   TTFT p50 %6.3f s  p99 %6.3f s   running %3.0f  waiting %3.0f   series %zu\n", sec,
               cur.requests - prev.requests, quantile(0.5, delta, bounds, nb), quantile(0.99, delta, bounds, nb),
               cur.running, cur.waiting, snap->nseries);
        fflush(stdout);
        prev = cur;
        shmetrics_snapshot_free(snap);
    }
    for (uint32_t w = 0; w < workers; w++)
        kill(pids[w], SIGTERM);
    int bad = 0;
    for (uint32_t w = 0; w < workers; w++) {
        int st;
        if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad = 1;
    }
    /* Every worker has exited: the arena must hold exactly what they
     * counted. */
    struct counted sum = {0, 0, 0}, c;
    uint32_t reports = 0;
    while (read(report[0], &c, sizeof c) == (ssize_t)sizeof c) {
        sum.requests += c.requests;
        sum.prompt += c.prompt;
        sum.generation += c.generation;
        reports++;
    }
    close(report[0]);
    if (shmetrics_collect(reg, &snap) == 0) {
        read_totals(snap, &cur, &bounds, &nb);
        shmetrics_snapshot_free(snap);
        bool exact = reports == workers && cur.requests == (double)sum.requests && cur.prompt == (double)sum.prompt &&
                     cur.generation == (double)sum.generation;
        printf("\nshmetrics demo: %s: the workers counted %llu requests, %llu prompt tokens and %llu generation "
               "tokens; the arena holds %.0f, %.0f and %.0f (%u of %u workers reported)\n",
               exact ? "exact" : "MISMATCH", (unsigned long long)sum.requests, (unsigned long long)sum.prompt,
               (unsigned long long)sum.generation, cur.requests, cur.prompt, cur.generation, reports, workers);
        bad |= !exact;
    } else {
        bad = 1;
    }
    shmetrics_server_stop(srv);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    printf("\nshmetrics demo: stopped; %s removed.\n", arena);
    return bad ? EXIT_FAIL : EXIT_OK;
}

const struct verb verb_demo = {
    "demo",
    "run simulated inference workers and a collector (vLLM metrics)",
    "usage: shmetrics demo [--workers N] [--duration SECONDS] [--listen HOST:PORT] [--rate R]\n"
    "                      [--arena PATH] [--cpus N]\n"
    "\n"
    "Creates an arena, serves it over HTTP, and starts N worker processes that\n"
    "simulate an inference engine each: Poisson arrivals, log-normal prompt and\n"
    "output lengths, times to first token and inter-token latencies, recorded in\n"
    "vLLM's metrics (vllm:*).  Every second it prints finished requests/s, p50\n"
    "and p99 time to first token, running and waiting requests and the series\n"
    "count.  Runs until Ctrl-C (or SIGTERM) or --duration, then stops the workers\n"
    "and removes the arena, after checking that the arena holds exactly the\n"
    "requests and tokens the workers counted (\"exact\", or \"MISMATCH\" and exit 1).\n"
    "\n"
    "  --workers N         worker processes (default 4, at most 64)\n"
    "  --duration SECONDS  stop after this long (default: run until Ctrl-C)\n"
    "  --listen HOST:PORT  where to serve /metrics (default 127.0.0.1:9400)\n"
    "  --rate R            requests per second per worker (default 8)\n"
    "  --arena PATH        the arena to create (it must not exist; default\n"
    "                      /dev/shm/shmetrics-demo-PID), with default capacities\n"
    "  --cpus N            simulate a host of N CPUs (1 to 4096): each worker moves\n"
    "                      to a random one at every step, and series may gain\n"
    "                      stripes for up to N CPUs\n"
    "  --help              this message\n",
    run_demo,
};
