/* SPDX-License-Identifier: MIT */
/*
 * src/cli/demo.c - owns `shmetrics demo`, the main job of `make demo`: a
 * collector, N simulated inference engines (src/cli/demo_engine.c) and the
 * simulated API server in front of them (src/cli/demo_front.c), real
 * processes using the public API as a user's would, writing vLLM's metrics
 * while the parent prints one line a second.  At the end the parent checks
 * that the arena holds exactly what the engines and the API server counted
 * (each tells it through a pipe as it exits).
 *
 * --cpus N simulates a host of N CPUs: an engine moves to a random one of
 * them at every step (shmetrics_cpu_simulate), as a scheduler moves
 * threads, so the arena is used as it would be on such a host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"

#define MAX_WORKERS 64

volatile sig_atomic_t demo_stop;

void demo_on_signal(int sig)
{
    (void)sig;
    demo_stop = 1;
}

double demo_now(void)
{
    struct timespec ts; /* the CLI uses the public API only, not base/ */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void demo_vllm_options(shmetrics_vllm_options_t *o)
{
    memset(o, 0, sizeof *o);
    o->features = DEMO_FEATURES;
    o->num_speculative_tokens = DEMO_SPEC_TOKENS;
}

/* ------------------------------------------------------------ the parent */

struct totals {
    double requests, prompt, generation, http;
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
        bool http = strcmp(f->name, "http_requests") == 0;
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
            if (http && s->nlabels > 0 && strcmp(s->labels[0].value, "/v1/completions") == 0)
                t->http += s->value;
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
    shmetrics_vllm_options_t vo;
    demo_vllm_options(&vo);
    int rc = shmetrics_open(&o, &reg);
    if (rc < 0)
        return cli_fail("creating the demo arena", rc);
    shmetrics_server_t *srv = NULL;
    shmetrics_server_options_t so = {.listen = listen};
    if ((rc = shmetrics_vllm_register(reg, &vo, &v)) < 0 || (rc = shmetrics_server_start(reg, &so, &srv)) < 0) {
        int st = cli_fail("starting the demo", rc);
        shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
        return st;
    }
    signal(SIGINT, demo_on_signal);
    signal(SIGTERM, demo_on_signal);
    pid_t pids[MAX_WORKERS], front_pid;
    int report[2], responses[2], front_report[2];
    if (pipe(report) < 0 || pipe(responses) < 0 || pipe(front_report) < 0) {
        int st = cli_fail("starting the demo", -errno);
        shmetrics_server_stop(srv);
        shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
        return st;
    }
    if ((front_pid = fork()) == 0) {
        close(responses[1]);
        close(report[0]);
        close(report[1]);
        close(front_report[0]);
        _exit(demo_front(arena, responses[0], front_report[1]));
    }
    close(responses[0]);
    close(front_report[1]);
    for (uint32_t w = 0; w < workers; w++)
        if ((pids[w] = fork()) == 0) {
            close(report[0]);
            close(front_report[0]);
            _exit(demo_engine(arena, (int)w, rate, cpus, report[1], responses[1]));
        }
    close(report[1]);
    close(responses[1]);

    const char *colon = strrchr(listen, ':');
    if (cpus)
        printf("shmetrics demo: simulating a host of %u CPUs: each worker moves to a random one at every step.\n",
               cpus);
    printf("shmetrics demo: %u simulated inference engines (separate processes, %.0f requests/s each) and the\n"
           "API server in front of them write vLLM's metrics into the arena %s; this process serves them:\n\n"
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
    double t0 = demo_now();
    for (unsigned sec = 1; !demo_stop && (!duration || sec <= duration); sec++) {
        double wake = t0 + sec;
        while (!demo_stop && demo_now() < wake) {
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
    /* The engines have closed their end: the API server drains and exits. */
    int front_st;
    uint64_t served = 0;
    if (waitpid(front_pid, &front_st, 0) < 0 || !WIFEXITED(front_st) || WEXITSTATUS(front_st) ||
        read(front_report[0], &served, sizeof served) != (ssize_t)sizeof served)
        bad = 1;
    close(front_report[0]);
    /* Every worker has exited: the arena must hold exactly what they
     * counted. */
    struct demo_counted sum = {0, 0, 0}, c;
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
                     cur.generation == (double)sum.generation && served == sum.requests && cur.http == (double)served;
        printf("\nshmetrics demo: %s: the workers counted %llu requests, %llu prompt tokens and %llu generation "
               "tokens; the arena holds %.0f, %.0f and %.0f (%u of %u workers reported); the API server answered "
               "%llu, the arena holds %.0f\n",
               exact ? "exact" : "MISMATCH", (unsigned long long)sum.requests, (unsigned long long)sum.prompt,
               (unsigned long long)sum.generation, cur.requests, cur.prompt, cur.generation, reports, workers,
               (unsigned long long)served, cur.http);
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
    "Creates an arena, serves it over HTTP, and starts N engine processes that\n"
    "simulate a vLLM inference engine each, and one that simulates the API server\n"
    "in front of them, all writing vLLM's metrics (vllm:*, every feature group)\n"
    "through the public API.  The engines simulate Poisson arrivals, log-normal\n"
    "prompt and output lengths, times to first token and inter-token latencies;\n"
    "a KV cache of 20,000 tokens with prefix cache hits (some loaded back from the\n"
    "CPU offload tier), finished requests' blocks stored to that tier (some\n"
    "skipped, some failing), the simple CPU offload connector's pool, and\n"
    "preemptions when it overflows (the victim's KV offloaded to the CPU); sampled\n"
    "block residency; the estimated FLOPs and memory traffic of each step; prompts\n"
    "prefilled elsewhere and pulled over NIXL; images in the multimodal cache; two\n"
    "LoRA adapters, one loaded at a time (requests for the other wait, deferred);\n"
    "speculative decoding with 3 draft tokens a step, accepted per position;\n"
    "finish reasons stop, length, abort and error; and the odd engines asleep\n"
    "(level 1) 4 s in every 20.  Each engine starts with the series vLLM creates\n"
    "at 0 and vllm:cache_config_info.  The API server records\n"
    "http_requests_total, http_request_duration_seconds and the request and\n"
    "response sizes for every response and every sleep and wake operation (with\n"
    "vllm:sleep_mode_operation_duration_seconds), and, as vLLM's server, not its\n"
    "probes (/health, /metrics).  Every second it prints finished requests/s, p50\n"
    "and p99 time to first token, running and waiting requests and the series\n"
    "count.  Runs until Ctrl-C (or SIGTERM) or --duration, then stops the\n"
    "processes and removes the arena, after checking that the arena holds exactly\n"
    "the requests and tokens the engines counted and the responses the API server\n"
    "counted (\"exact\", or \"MISMATCH\" and exit 1).\n"
    "\n"
    "  --workers N         engine processes (default 4, at most 64)\n"
    "  --duration SECONDS  stop after this long (default: run until Ctrl-C)\n"
    "  --listen HOST:PORT  where to serve /metrics (default 127.0.0.1:9400)\n"
    "  --rate R            requests per second per engine (default 8)\n"
    "  --arena PATH        the arena to create (it must not exist; default\n"
    "                      /dev/shm/shmetrics-demo-PID), with default capacities\n"
    "  --cpus N            simulate a host of N CPUs (1 to 4096): each engine moves\n"
    "                      to a random one at every step, and series may gain\n"
    "                      stripes for up to N CPUs\n"
    "  --help              this message\n",
    run_demo,
};
