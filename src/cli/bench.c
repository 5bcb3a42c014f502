/* SPDX-License-Identifier: MIT */
/*
 * src/cli/bench.c - owns `shmetrics bench`: the hot-path cases of make
 * bench on this machine, or the cost of scraping an existing arena
 * (--scrape), printed as a table or as make bench's JSON lines.  The
 * measuring is src/bench/ (harness.c, hotcases.c, scrape.c), the code
 * make bench runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "src/bench/harness.h"
#include "src/bench/hotcases.h"
#include "src/bench/scrape.h"

#define MAX_SCRAPES 100000u

struct bench_args {
    const char *arena;
    uint32_t threads; /* 0: every CPU this process may use */
    uint32_t scrapes;
    bool json, scrape;
    bool threads_given, scrapes_given;
};

static int parse(int argc, char **argv, int ncpu, struct bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->scrapes = 100;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            fputs(verb_bench.usage, stdout);
            return -1;
        }
        if (arg[0] != '-')
            return cli_usage_error(&verb_bench, "unexpected argument %s", arg);
        if (strcmp(arg, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (strcmp(arg, "--scrape") == 0) {
            a->scrape = true;
            continue;
        }
        if (strcmp(arg, "--arena") != 0 && strcmp(arg, "--threads") != 0 && strcmp(arg, "--scrapes") != 0)
            return cli_usage_error(&verb_bench, "unknown option %s", arg);
        if (i + 1 >= argc)
            return cli_usage_error(&verb_bench, "%s needs a value", arg);
        const char *val = argv[++i];
        if (strcmp(arg, "--arena") == 0)
            a->arena = val;
        else if (strcmp(arg, "--threads") == 0) {
            if (!cli_parse_u32(val, 1, (uint32_t)ncpu, &a->threads))
                return cli_usage_error(&verb_bench,
                                       "--threads takes a whole number from 1 to %d (the CPUs this process may "
                                       "run on), not '%s'",
                                       ncpu, val);
            a->threads_given = true;
        } else {
            if (!cli_parse_u32(val, 1, MAX_SCRAPES, &a->scrapes))
                return cli_usage_error(&verb_bench, "--scrapes takes a whole number from 1 to %u, not '%s'",
                                       MAX_SCRAPES, val);
            a->scrapes_given = true;
        }
    }
    if (a->scrape) {
        if (a->threads_given)
            return cli_usage_error(&verb_bench, "--threads is for the hot-path cases: a scrape runs on one thread");
        a->arena = cli_arena(a->arena);
        if (!a->arena)
            return cli_usage_error(&verb_bench, "--scrape needs an arena: give --arena PATH or set SHMETRICS_ARENA");
    } else {
        if (a->arena)
            return cli_usage_error(&verb_bench, "--arena is for --scrape: the hot-path cases run on an arena of "
                                                "their own");
        if (a->scrapes_given)
            return cli_usage_error(&verb_bench, "--scrapes is for --scrape");
    }
    return 0;
}

/* ------------------------------------------------------------- hot path */

/* The cases' arena, removed on every way out (a signal included). */
static char hot_path[128];

static void on_stop(int sig)
{
    unlink(hot_path); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void report_row(const struct bench_result *r, void *ctx)
{
    (void)ctx;
    printf("%-34s %7d %10.2f %10.2f %7.2f %3d/%d\n", r->name, r->threads, r->value, r->baseline,
           r->baseline > 0 ? r->value / r->baseline : 0.0, r->clean_reps, BENCH_REPS);
    fflush(stdout);
}

static int run_hot(const struct bench_args *a, int ncpu)
{
    int threads = a->threads ? (int)a->threads : ncpu;
    snprintf(hot_path, sizeof hot_path, "/dev/shm/shmetrics-bench-%d", (int)getpid());
    shmetrics_registry_t *reg;
    int rc = bench_hot_open(hot_path, &reg);
    if (rc < 0)
        return cli_fail("creating the benchmark's arena", rc);
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (!a->json) {
        printf("shmetrics hot path on %d of %d CPUs: threads pinned, ns per call (the slowest thread's),\n"
               "the median of %d repetitions of %.0f ms; baseline: a relaxed atomic add on a cache line\n"
               "private to each thread, measured right before each case; CLEAN: undisturbed repetitions.\n\n",
               threads, ncpu, BENCH_REPS, BENCH_TARGET_MS);
        printf("%-34s %7s %10s %10s %7s %5s\n", "CASE", "THREADS", "NS/CALL", "BASELINE", "RATIO", "CLEAN");
        fflush(stdout);
    }
    bench_hot_suite(threads, 0, a->json ? bench_report_json : report_row, NULL);
    rc = shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    return rc < 0 ? cli_fail("removing the benchmark's arena", rc) : EXIT_OK;
}

/* --------------------------------------------------------------- scrape */

static int run_scrape(const struct bench_args *a)
{
    shmetrics_registry_t *reg;
    int st = cli_open_readonly(a->arena, &reg);
    if (st)
        return st;
    size_t n = a->scrapes;
    double *cpu = calloc(n, sizeof *cpu), *wall = calloc(n, sizeof *wall), *merge = calloc(n, sizeof *merge);
    double *base = calloc(n, sizeof *base);
    shmetrics_snapshot_t *snap = NULL;
    struct bench_scrape one = {0};
    size_t samples = 0;
    if (!cpu || !wall || !merge || !base) {
        fprintf(stderr, "shmetrics bench: no memory for %zu timings\n", n);
        st = EXIT_FAIL;
        goto out;
    }
    int rc = bench_scrape_once(reg, &one); /* warm-up */
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = bench_scrape_once(reg, &one);
        cpu[i] = one.cpu_ns / 1e6;
        wall[i] = one.wall_ns / 1e6;
        merge[i] = one.collect_ns / 1e6;
    }
    if (rc == 0)
        rc = shmetrics_collect(reg, &snap);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = bench_snprintf_text(snap, &base[i], &samples);
        base[i] /= 1e6;
    }
    if (rc < 0) {
        st = cli_fail("reading the arena", rc);
    } else {
        double med = bench_median(cpu, n), p99 = bench_percentile(cpu, n, 99);
        double wmed = bench_median(wall, n), mmed = bench_median(merge, n), bmed = bench_median(base, n);
        size_t series = one.nseries;
        if (a->json) {
            char extra[512];
            snprintf(extra, sizeof extra,
                     "\"series\": %zu, \"samples\": %zu, \"us_per_series\": %.3f, \"bytes\": %zu, "
                     "\"collect_ms\": %.3f, \"p99_ms\": %.3f, \"wall_ms\": %.3f, \"scrapes\": %zu",
                     series, samples, series ? med * 1e3 / (double)series : 0.0, one.bytes, mmed, p99, wmed, n);
            bench_emit("scrape_arena", 1, (int)snap->procs_attached, "ms", med, bmed, "baseline_snprintf_text", extra);
        } else {
            printf("arena     %s\n", a->arena);
            printf("content   %zu series, %zu samples, %zu bytes of Prometheus text; %zu processes attached\n", series,
                   samples, one.bytes, snap->procs_attached);
            printf("scrapes   %zu, read-only: collect + format + free, CPU time of the scraping thread\n", n);
            printf("median    %.3f ms (the merge %.3f ms)\n", med, mmed);
            printf("p99       %.3f ms\n", p99);
            printf("wall      %.3f ms median\n", wmed);
            printf("baseline  %.3f ms median: printing the same samples with snprintf (ratio %.2f)\n", bmed,
                   bmed > 0 ? med / bmed : 0.0);
        }
        if (snap->damaged)
            fprintf(stderr, "shmetrics bench: %llu damaged records skipped\n", (unsigned long long)snap->damaged);
    }
out:
    shmetrics_snapshot_free(snap);
    free(cpu);
    free(wall);
    free(merge);
    free(base);
    shmetrics_shutdown(reg, 0);
    return st;
}

static int run_bench(int argc, char **argv)
{
    int cpus[BENCH_MAX_THREADS];
    int ncpu = bench_cpus(cpus, BENCH_MAX_THREADS);
    struct bench_args a;
    int st = parse(argc, argv, ncpu, &a);
    if (st)
        return st < 0 ? EXIT_OK : st;
    return a.scrape ? run_scrape(&a) : run_hot(&a, ncpu);
}

const struct verb verb_bench = {
    "bench",
    "measure the hot path, or the cost of scraping an arena, on this machine",
    "usage: shmetrics bench [--threads N] [--json]\n"
    "       shmetrics bench --scrape [--arena PATH] [--scrapes N] [--json]\n"
    "\n"
    "Runs the hot-path cases of the project's benchmark suite on this machine,\n"
    "with its method: counter add and inc, gauge set and inc, histogram, native\n"
    "histogram and summary observe, a sampled counter, an exemplar, each with one\n"
    "series shared by all threads and with a series per thread, and label\n"
    "look-up + inc; at every thread count from 1 to N, each thread pinned to its\n"
    "own CPU.  A figure is the slowest thread's ns per call, the median of 5\n"
    "undisturbed repetitions of 3 ms; the baseline, measured right before each\n"
    "case, is a relaxed atomic add on a cache line private to each thread.  The\n"
    "cases run on an arena of their own in /dev/shm, removed at the end.\n"
    "\n"
    "With --scrape, times N scrapes of an existing arena, opened read-only as the\n"
    "collector opens it (nothing is written, nothing stops): collect, format as\n"
    "Prometheus text, free; the median and the 99th percentile of the scraping\n"
    "thread's CPU time, the median wall time, and the baseline of printing the\n"
    "same samples with snprintf.\n"
    "\n"
    "  --threads N       the most threads (default: every CPU this process may\n"
    "                    run on, at most 64)\n"
    "  --scrape          time scrapes of --arena instead\n"
    "  --arena PATH      the arena to scrape (default: $SHMETRICS_ARENA)\n"
    "  --scrapes N       how many scrapes (default 100, at most 100000)\n"
    "  --json            one JSON object per result, as make bench writes them\n"
    "                    (build/bench.jsonl), instead of a table\n"
    "  --help            this message\n",
    run_bench,
};
