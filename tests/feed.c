/* SPDX-License-Identifier: MIT */
/*
 * tests/feed.c - a worker fleet for the collector tests: PROCS processes
 * that each write SERIES labelled counter series (and one histogram and
 * one summary series), then either exit or keep writing for SECONDS.
 *
 * usage: feed ARENA PROCS SERIES [SECONDS]
 *
 * Values, so that a test can check them exactly once the fleet exited:
 *   feed_series_total{proc="P",idx="I"}  = I + 1
 *   feed_busy{}  (gauge, mode sum)       = PROCS
 *   feed_latency_seconds (histogram)     = one observation of 0.25 per process
 *   feed_ttft_seconds (summary)          = one observation of 0.5 per process
 * With SECONDS > 0, each process then adds 1 to feed_loop_total and
 * observes 0.1 into feed_latency_seconds as fast as it can until the time
 * is up, and prints how many loops it made.
 *
 * usage: feed ARENA PROCS vllm REQUESTS MAX_MODEL_LEN
 *
 * Each process registers vLLM's set (shmetrics_vllm_register) and serves
 * REQUESTS requests of model "m", engine "0": per request prompt_tokens
 * += 100, generation_tokens += 20, request_success{finished_reason="stop"}
 * += 1, one observation of 0.05 in time_to_first_token_seconds and of 100
 * in request_prompt_tokens; then it sets num_requests_running to 7.
 *
 * usage: feed ARENA PROCS grow SECONDS
 *
 * Each process adds 1 to feed_work_total{proc="P"} in a loop for SECONDS,
 * and every 100 loops registers a new series feed_grown_total{proc="P",
 * idx="I"} and adds 1 to it.  A registration that fails (a full
 * filesystem, a full arena) is counted, its first message kept, and the
 * loop goes on: a worker must survive it.  At the end each process prints
 * "P WORK GROWN FAILED FIRST_ERROR" on one line.
 *
 * usage: feed ARENA PROCS native SCHEMA COUNT
 *
 * Each process P observes into the native histogram feed_native_seconds
 * (at SCHEMA) the values (i % 1000 + 1) / 1024 for i = 0..COUNT-1, then 0
 * once; odd processes first give the series a stripe set on CPU P, as a
 * collision would (so the merge adds a base block and stripes).
 *
 * usage: feed ARENA PROCS utf8
 *
 * Each process P adds P + 1 to the counter "feed.utf8.requests" (a UTF-8
 * name, spec.utf8_names) with the labels "http.method"="GET" and
 * "proc"="P", and observes P + 0.5 into the histogram "feed.utf8.latency"
 * (buckets 1 and 10).
 *
 * With SHMETRICS_SIM_CPUS=N in the environment, every process writes as if
 * it moved over N CPUs (shmetrics_cpu_simulate), changing CPU for every
 * series it writes (and every 100 loops).
 */
#define SHMETRICS_CPU_HOOK
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long sim_cpus;

/* Move to simulated CPU number k (mod N), when simulating. */
static void sim_move(unsigned long k)
{
    if (sim_cpus)
        shmetrics_cpu_simulate((int32_t)(k % sim_cpus));
}

static int fail(const char *what)
{
    fprintf(stderr, "feed: %s: %s\n", what, shmetrics_errmsg());
    return 1;
}

static int worker(const char *arena, int p, long series, double seconds)
{
    shmetrics_options_t o = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        return fail("open");
    const char *lbl[] = {"proc", "idx"};
    shmetrics_spec_t cs = {.name = "feed_series_total",
                           .help = "Series written by the feed.",
                           .label_names = lbl,
                           .nlabels = 2,
                           .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
    shmetrics_spec_t ls = {.name = "feed_loop_total", .help = "Loops of the feed."};
    shmetrics_spec_t gs = {.name = "feed_busy", .help = "Feed processes.", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_spec_t hs = {.name = "feed_latency_seconds", .help = "Feed latency."};
    shmetrics_spec_t ss = {.name = "feed_ttft_seconds", .help = "Feed time to first token."};
    shmetrics_counter_t *c, *loop;
    shmetrics_gauge_t *g;
    shmetrics_histogram_t *h;
    shmetrics_summary_t *s;
    shmetrics_counter_series_t *loop_s;
    shmetrics_gauge_series_t *g_s;
    shmetrics_histogram_series_t *h_s;
    shmetrics_summary_series_t *s_s;
    if (shmetrics_counter_register(reg, &cs, &c) < 0 || shmetrics_counter_register(reg, &ls, &loop) < 0 ||
        shmetrics_gauge_register(reg, &gs, &g) < 0 || shmetrics_histogram_register(reg, &hs, &h) < 0 ||
        shmetrics_summary_register(reg, &ss, &s) < 0 || shmetrics_counter_labels(loop, &loop_s, NULL) < 0 ||
        shmetrics_gauge_labels(g, &g_s, NULL) < 0 || shmetrics_histogram_labels(h, &h_s, NULL) < 0 ||
        shmetrics_summary_labels(s, &s_s, NULL) < 0)
        return fail("register");
    char proc[24], idx[24];
    snprintf(proc, sizeof proc, "%d", p);
    for (long i = 0; i < series; i++) {
        shmetrics_counter_series_t *cser;
        snprintf(idx, sizeof idx, "%ld", i);
        sim_move((unsigned long)p * 7919u + (unsigned long)i * 131u);
        if (shmetrics_counter_labels(c, &cser, proc, idx, NULL) < 0)
            return fail("labels");
        shmetrics_counter_add(cser, (uint64_t)i + 1);
    }
    shmetrics_gauge_set(g_s, 1);
    shmetrics_histogram_observe(h_s, 0.25);
    shmetrics_summary_observe(s_s, 0.5);
    if (seconds > 0) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        unsigned long loops = 0;
        do {
            for (int k = 0; k < 1000; k++) {
                shmetrics_counter_add(loop_s, 1);
                shmetrics_histogram_observe(h_s, 0.1);
            }
            loops += 1000;
            clock_gettime(CLOCK_MONOTONIC, &t);
        } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
        printf("%lu\n", loops);
        fflush(stdout);
    }
    return shmetrics_shutdown(reg, 0) < 0;
}

static int vllm_worker(const char *arena, long requests, unsigned long max_model_len)
{
    shmetrics_options_t o = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    shmetrics_vllm_options_t vo = {.max_model_len = max_model_len};
    shmetrics_vllm_t v;
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_vllm_register(reg, &vo, &v) < 0)
        return fail("vllm register");
    shmetrics_counter_series_t *prompt, *gen, *ok;
    shmetrics_histogram_series_t *ttft, *plen;
    shmetrics_gauge_series_t *running;
    if (shmetrics_counter_labels(v.prompt_tokens, &prompt, "m", "0", NULL) < 0 ||
        shmetrics_counter_labels(v.generation_tokens, &gen, "m", "0", NULL) < 0 ||
        shmetrics_counter_labels(v.request_success, &ok, "m", "0", "stop", NULL) < 0 ||
        shmetrics_histogram_labels(v.time_to_first_token_seconds, &ttft, "m", "0", NULL) < 0 ||
        shmetrics_histogram_labels(v.request_prompt_tokens, &plen, "m", "0", NULL) < 0 ||
        shmetrics_gauge_labels(v.num_requests_running, &running, "m", "0", NULL) < 0)
        return fail("vllm labels");
    for (long i = 0; i < requests; i++) {
        sim_move((unsigned long)getpid() * 7919u + (unsigned long)i);
        shmetrics_counter_add(prompt, 100);
        shmetrics_counter_add(gen, 20);
        shmetrics_counter_add(ok, 1);
        shmetrics_histogram_observe(ttft, 0.05);
        shmetrics_histogram_observe(plen, 100);
    }
    shmetrics_gauge_set(running, 7);
    return shmetrics_shutdown(reg, 0) < 0;
}

static int grow_worker(const char *arena, int p, double seconds)
{
    shmetrics_options_t o = {.path = arena};
    shmetrics_registry_t *reg;
    const char *lbl[] = {"proc", "idx"};
    shmetrics_spec_t ws = {.name = "feed_work_total",
                           .help = "Loops of the grow feed.",
                           .label_names = lbl,
                           .nlabels = 1};
    shmetrics_spec_t gs = {.name = "feed_grown_total",
                           .help = "Series the grow feed added.",
                           .label_names = lbl,
                           .nlabels = 2,
                           .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
    shmetrics_counter_t *work, *grown;
    shmetrics_counter_series_t *w;
    char proc[24], idx[24], first[256] = "-";
    snprintf(proc, sizeof proc, "%d", p);
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_counter_register(reg, &ws, &work) < 0 ||
        shmetrics_counter_register(reg, &gs, &grown) < 0 || shmetrics_counter_labels(work, &w, proc, NULL) < 0)
        return fail("grow register");
    unsigned long loops = 0, ngrown = 0, failed = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        shmetrics_counter_add(w, 1);
        if (++loops % 100 == 0) {
            shmetrics_counter_series_t *g;
            sim_move((unsigned long)p * 7919u + loops / 100);
            snprintf(idx, sizeof idx, "%lu", ngrown + failed);
            if (shmetrics_counter_labels(grown, &g, proc, idx, NULL) == 0) {
                shmetrics_counter_add(g, 1);
                ngrown++;
            } else if (failed++ == 0) {
                snprintf(first, sizeof first, "%s", shmetrics_errmsg());
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
    printf("%d %lu %lu %lu %s\n", p, loops, ngrown, failed, first);
    fflush(stdout);
    return shmetrics_shutdown(reg, 0) < 0;
}

static int native_worker(const char *arena, int p, int schema, long count)
{
    shmetrics_options_t o = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        return fail("open");
    shmetrics_spec_t spec = {.name = "feed_native_seconds",
                             .help = "Feed latency, native buckets.",
                             .native = SHMETRICS_HISTOGRAM_NATIVE,
                             .native_schema = schema};
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *s;
    if (shmetrics_histogram_register(reg, &spec, &h) < 0 || shmetrics_histogram_labels(h, &s, NULL) < 0)
        return fail("native histogram");
    if (p % 2) {
        shmetrics_cpu_simulate(p);
        shmetrics_cells_grow_(&s->cells);
    }
    for (long i = 0; i < count; i++)
        shmetrics_histogram_observe(s, (double)(i % 1000 + 1) / 1024);
    shmetrics_histogram_observe(s, 0);
    return shmetrics_shutdown(reg, 0) < 0 ? fail("shutdown") : 0;
}

static int utf8_worker(const char *arena, int p)
{
    shmetrics_options_t o = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        return fail("open");
    const char *lbl[] = {"http.method", "proc"};
    const double b[] = {1, 10};
    shmetrics_spec_t cs = {.name = "feed.utf8.requests",
                           .help = "UTF-8 names.",
                           .label_names = lbl,
                           .nlabels = 2,
                           .utf8_names = 1};
    shmetrics_spec_t hs = {.name = "feed.utf8.latency",
                           .help = "UTF-8 names.",
                           .buckets = b,
                           .nbuckets = 2,
                           .utf8_names = 1};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *cv;
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *hv;
    char proc[16];
    snprintf(proc, sizeof proc, "%d", p);
    if (shmetrics_counter_register(reg, &cs, &c) < 0 || shmetrics_counter_labels(c, &cv, "GET", proc, NULL) < 0 ||
        shmetrics_histogram_register(reg, &hs, &h) < 0 || shmetrics_histogram_labels(h, &hv, NULL) < 0)
        return fail("utf8 register");
    shmetrics_counter_add(cv, (uint64_t)p + 1);
    shmetrics_histogram_observe(hv, p + 0.5);
    return shmetrics_shutdown(reg, 0) < 0 ? fail("shutdown") : 0;
}

int main(int argc, char **argv)
{
    const char *sim = getenv("SHMETRICS_SIM_CPUS");
    sim_cpus = sim ? strtoul(sim, NULL, 10) : 0;
    if (argc < 4) {
        fprintf(stderr,
                "usage: feed ARENA PROCS SERIES [SECONDS]\n       feed ARENA PROCS vllm REQUESTS MAX_MODEL_LEN\n"
                "       feed ARENA PROCS grow SECONDS\n       feed ARENA PROCS native SCHEMA COUNT\n"
                "       feed ARENA PROCS utf8\n");
        return 2;
    }
    int procs = atoi(argv[2]);
    int vllm = strcmp(argv[3], "vllm") == 0, grow = strcmp(argv[3], "grow") == 0;
    int native = strcmp(argv[3], "native") == 0, utf8 = strcmp(argv[3], "utf8") == 0;
    long series = vllm || grow || native || utf8 ? 0 : atol(argv[3]);
    if (native && argc != 6) {
        fprintf(stderr, "feed: native needs SCHEMA and COUNT\n");
        return 2;
    }
    double seconds = argc > 4 ? atof(argv[4]) : 0;
    long requests = vllm && argc > 4 ? atol(argv[4]) : 0;
    unsigned long max_model_len = vllm && argc > 5 ? strtoul(argv[5], NULL, 10) : 0;
    if (procs < 1 || procs > 1024 || series < 0 || (vllm && (argc != 6 || requests < 0))) {
        fprintf(stderr, "feed: bad PROCS, SERIES or vllm arguments\n");
        return 2;
    }
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(utf8     ? utf8_worker(argv[1], p)
                  : native ? native_worker(argv[1], p, atoi(argv[4]), atol(argv[5]))
                  : vllm   ? vllm_worker(argv[1], requests, max_model_len)
                  : grow   ? grow_worker(argv[1], p, seconds)
                           : worker(argv[1], p, series, seconds));
    }
    int bad = 0;
    for (int p = 0; p < procs; p++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad = 1;
    }
    return bad;
}
