/* SPDX-License-Identifier: MIT */
/*
 * bench/collector.c - what a scrape costs: shmetrics_collect (merge of
 * every shard) + shmetrics_format (Prometheus text 0.0.4) + freeing both,
 * for 1,000, 10,000 and 100,000 counter series and 1,000 and 10,000
 * histogram series (vLLM's 21 latency buckets), written by 1, 4 and 16
 * processes.
 *
 * usage: collector [MAXSERIES]
 *
 * The shape is a pre-fork server's: every writer process resolves and
 * updates every one of the N series (2 labels, handler and code), so the
 * scrape exposes N series whatever the number of processes.  The writers
 * are added to one arena in steps (1, then 3 more, then 12 more), and the
 * arena is scraped after each step through a read-only registry, as
 * `shmetrics serve` does.  A scrape is timed in CPU time of the scraping
 * thread (user + system: the scrape is single-threaded and does no I/O, so
 * on an idle machine this is its wall time, and on a shared one it leaves
 * out the time other processes had the CPU).  Each figure is the median of
 * 5 scrapes after a warm-up scrape; a scrape that spent less than 95% of
 * its wall time on the CPU is repeated (bench_settle in harness.h, at most
 * 15 scrapes).
 *
 * Baseline, measured right before each case on the snapshot it scrapes:
 * formatting the same samples with snprintf ("%.17g" for values), the
 * cost of printing the text alone, without merging anything.
 *
 * The scrape and its baseline are timed by src/bench/scrape.c, as
 * shmetrics bench --scrape times them.
 *
 * Prints one JSON object per case (see harness.h) with "series", "samples",
 * "us_per_series", "bytes" (the size of the text) and "collect_ms" (the
 * median of the merge alone; the rest is encoding and freeing).  Uses the public API
 * only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "scrape.h"
#include "shmetrics.h"

static const double latency_buckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
#define NLATENCY (sizeof latency_buckets / sizeof latency_buckets[0])
#define MAX_ATTEMPTS 15

static const int process_steps[] = {1, 4, 16};

static void die(const char *what)
{
    fprintf(stderr, "collector: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

/* One writer process: resolve every series and update it once. */
static int writer(const char *path, int histograms, long n)
{
    shmetrics_options_t o = {.path = path};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        die("writer open");
    const char *lbl[] = {"handler", "code"};
    char handler[64];
    if (histograms) {
        shmetrics_spec_t hs = {.name = "bench_request_seconds",
                               .help = "Request latency.",
                               .label_names = lbl,
                               .nlabels = 2,
                               .buckets = latency_buckets,
                               .nbuckets = NLATENCY,
                               .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
        shmetrics_histogram_t *h;
        if (shmetrics_histogram_register(reg, &hs, &h) < 0)
            die("register");
        for (long i = 0; i < n; i++) {
            shmetrics_histogram_series_t *s;
            snprintf(handler, sizeof handler, "/api/v1/resource/%ld", i);
            if (shmetrics_histogram_labels(h, &s, handler, "200", NULL) < 0)
                die("labels");
            shmetrics_histogram_observe(s, 0.1 * (double)(i % 200) + 0.05);
        }
    } else {
        shmetrics_spec_t cs = {.name = "bench_requests_total",
                               .help = "Requests served.",
                               .label_names = lbl,
                               .nlabels = 2,
                               .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
        shmetrics_counter_t *c;
        if (shmetrics_counter_register(reg, &cs, &c) < 0)
            die("register");
        for (long i = 0; i < n; i++) {
            shmetrics_counter_series_t *s;
            snprintf(handler, sizeof handler, "/api/v1/resource/%ld", i);
            if (shmetrics_counter_labels(c, &s, handler, "200", NULL) < 0)
                die("labels");
            shmetrics_counter_add(s, (uint64_t)i + 1);
        }
    }
    return shmetrics_shutdown(reg, 0) < 0;
}

static void run_writers(const char *path, int histograms, long n, int count)
{
    fflush(stdout);
    for (int p = 0; p < count; p++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("collector: fork");
            exit(1);
        }
        if (pid == 0)
            _exit(writer(path, histograms, n));
    }
    for (int p = 0; p < count; p++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "collector: a writer failed\n");
            exit(1);
        }
    }
}

struct scrape_ctx {
    shmetrics_registry_t *reg;
    const shmetrics_snapshot_t *snap;
    size_t bytes, nseries, samples;
    int n;
    double collect[BENCH_MAX_ATTEMPTS], score[BENCH_MAX_ATTEMPTS];
};

/* Scored as bench/harness.h says: the share of the wall time on the CPU. */
static double scrape_rep(void *p, double *score)
{
    struct scrape_ctx *x = p;
    double t0 = bench_now_ns();
    struct bench_scrape one;
    if (bench_scrape_once(x->reg, &one) < 0)
        die("scrape");
    double ns = one.cpu_ns;
    x->collect[x->n] = one.collect_ns;
    x->bytes = one.bytes;
    x->nseries = one.nseries;
    *score = x->score[x->n++] = ns / (bench_now_ns() - t0);
    return ns / 1e6;
}

static double baseline_rep(void *p, double *score)
{
    struct scrape_ctx *x = p;
    double t0 = bench_now_ns();
    double ns;
    if (bench_snprintf_text(x->snap, &ns, &x->samples) < 0)
        die("baseline");
    *score = ns / (bench_now_ns() - t0);
    return ns / 1e6;
}

static void measure(const char *path, const char *kind, long n, int processes)
{
    shmetrics_options_t ro = {.path = path, .flags = SHMETRICS_OPEN_READONLY};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&ro, &reg) < 0)
        die("open read-only");
    shmetrics_snapshot_t *snap;
    if (shmetrics_collect(reg, &snap) < 0)
        die("collect");
    struct scrape_ctx x = {.reg = reg, .snap = snap};
    int bc, cc;
    double score;
    baseline_rep(&x, &score); /* warm-ups */
    scrape_rep(&x, &score);
    x.n = 0;
    double base = bench_settle(baseline_rep, &x, MAX_ATTEMPTS, &bc);
    double ms = bench_settle(scrape_rep, &x, MAX_ATTEMPTS, &cc);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(reg, 0);
    if ((long)x.nseries != n) {
        fprintf(stderr, "collector: %zu series scraped, %ld expected\n", x.nseries, n);
        exit(1);
    }
    /* The merge's share, over the clean repetitions (all when too few). */
    double c[BENCH_MAX_ATTEMPTS];
    int nc = 0;
    for (int i = 0; i < x.n; i++)
        if (cc < BENCH_REPS || x.score[i] >= BENCH_CLEAN)
            c[nc++] = x.collect[i];
    char name[64], extra[256];
    snprintf(name, sizeof name, "scrape_%s_%ld", kind, n);
    snprintf(extra, sizeof extra,
             "\"series\": %ld, \"samples\": %zu, \"us_per_series\": %.3f, \"bytes\": %zu, \"collect_ms\": %.3f, "
             "\"clean_reps\": %d, \"baseline_clean_reps\": %d",
             n, x.samples, ms * 1e3 / (double)n, x.bytes, bench_median(c, (size_t)nc) / 1e6, cc, bc);
    bench_emit(name, 1, processes, "ms", ms, base, "baseline_snprintf_text", extra);
}

static void workload(const char *kind, int histograms, long n)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-scrape-%d", (int)getpid());
    unlink(path);
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .families = 16,
                             .series = (uint32_t)n + 64,
                             /* A block per series, and room for a set of 2
                              * stripes on each (writers may collide): 8 + 48
                              * words a counter, 32 + 80 a histogram. */
                             .cells = (uint64_t)(n + 64) * (histograms ? 112 : 56)};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        die("create");
    shmetrics_shutdown(reg, 0);
    int writers = 0;
    for (size_t s = 0; s < sizeof process_steps / sizeof process_steps[0]; s++) {
        run_writers(path, histograms, n, process_steps[s] - writers);
        writers = process_steps[s];
        measure(path, kind, n, writers);
    }
    unlink(path);
}

int main(int argc, char **argv)
{
    long max = argc > 1 ? atol(argv[1]) : 100000;
    for (long n = 1000; n <= max && n <= 100000; n *= 10)
        workload("counter_series", 0, n);
    for (long n = 1000; n <= max && n <= 10000; n *= 10)
        workload("histogram_series", 1, n);
    return 0;
}
