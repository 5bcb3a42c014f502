/* SPDX-License-Identifier: MIT */
/*
 * bench/manycore.c - what a many-core host costs the arena and the
 * collector, simulated on this machine: arenas whose series may gain
 * stripes for 2, 64, 256 and 1,024 CPUs, written by processes that move
 * over that many simulated CPUs (shmetrics_cpu_simulate).
 *
 * usage: manycore [COUNTERS [HISTOGRAMS]]      (default 100000 and 1000)
 *
 * For each CPU count, a fresh arena gets COUNTERS counter series and
 * HISTOGRAMS histogram series (vLLM's 21 latency buckets):
 *   - "from 2 CPUs": 2 writer processes, each on its own simulated CPU,
 *     resolve and update every series;
 *   - "from all CPUs" (the worst case): 2 writer threads of one process
 *     walk the series in step, adding to each from every simulated CPU in
 *     turn, so that they collide on every series and stripes grow.
 * Then a scrape (shmetrics_collect + Prometheus text + free, CPU time of
 * the scraping thread, median of 5 after a warm-up, as bench/collector.c)
 * in a child process that opens the arena read-only, which also reports
 * its peak resident memory (ru_maxrss).  Each case prints the scrape in
 * ms, the ratio to the same scrape of the 2-CPU arena written from 2 CPUs
 * (the baseline, measured first), the collector's max RSS, the arena's
 * allocated bytes per series (st_blocks) and the stripe sets it holds.
 * Uses the public API, with SHMETRICS_CPU_HOOK for the simulated CPUs.
 */
#define SHMETRICS_CPU_HOOK
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmetrics.h"

static const double latency_buckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
#define NLATENCY (sizeof latency_buckets / sizeof latency_buckets[0])

static long ncounters = 100000, nhistograms = 1000;

__attribute__((noreturn)) static void die(const char *what)
{
    fprintf(stderr, "manycore: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

struct metrics {
    shmetrics_counter_t *c;
    shmetrics_histogram_t *h;
};

/* Wait for a child; a figure of a run whose writer failed is no figure. */
static void wait_ok(const char *who)
{
    int st;
    if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "manycore: %s failed\n", who);
        exit(1);
    }
}

static void register_metrics(shmetrics_registry_t *reg, struct metrics *m)
{
    const char *lbl[] = {"idx"};
    shmetrics_spec_t cs = {.name = "many_total",
                           .help = "h",
                           .label_names = lbl,
                           .nlabels = 1,
                           .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
    shmetrics_spec_t hs = {.name = "many_latency_seconds",
                           .help = "h",
                           .label_names = lbl,
                           .nlabels = 1,
                           .buckets = latency_buckets,
                           .nbuckets = NLATENCY,
                           .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
    if (shmetrics_counter_register(reg, &cs, &m->c) < 0 || shmetrics_histogram_register(reg, &hs, &m->h) < 0)
        die("register");
}

/* Update series i (counters first, then histograms) n times, moving over
 * `cpus` simulated CPUs from `first` when cpus > 0. */
static void update(struct metrics *m, long i, int n, uint32_t cpus, uint32_t first)
{
    char v[24];
    snprintf(v, sizeof v, "%ld", i < ncounters ? i : i - ncounters);
    const char *vals[] = {v};
    shmetrics_counter_series_t *cs = NULL;
    shmetrics_histogram_series_t *hs = NULL;
    if (i < ncounters ? shmetrics_counter_labelv(m->c, 1, vals, &cs) < 0
                      : shmetrics_histogram_labelv(m->h, 1, vals, &hs) < 0)
        die("labels");
    for (int k = 0; k < n; k++) {
        if (cpus)
            shmetrics_cpu_simulate((int32_t)((first + (uint32_t)k) % cpus));
        if (cs)
            shmetrics_counter_add(cs, 1);
        else
            shmetrics_histogram_observe(hs, 0.25);
    }
}

static shmetrics_registry_t *open_arena(const char *path, unsigned flags, uint32_t shards)
{
    shmetrics_options_t o = {.path = path,
                             .flags = flags,
                             .shards = shards,
                             .series = (uint32_t)(ncounters + nhistograms + 64),
                             .cells = (uint64_t)(ncounters * 8 + nhistograms * 32) * 4 + (1u << 20)};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&o, &reg) < 0)
        die("open");
    return reg;
}

/* From 2 CPUs: 2 processes, each on one simulated CPU. */
static void write_from_two(const char *path, uint32_t cpus)
{
    for (int p = 0; p < 2; p++) {
        pid_t pid = fork();
        if (pid == 0) {
            shmetrics_registry_t *reg = open_arena(path, 0, 0);
            struct metrics m;
            register_metrics(reg, &m);
            shmetrics_cpu_simulate((int32_t)(p * (cpus / 2)));
            for (long i = 0; i < ncounters + nhistograms; i++)
                update(&m, i, 1, 0, 0);
            shmetrics_shutdown(reg, 0);
            _exit(0);
        }
    }
    for (int p = 0; p < 2; p++)
        wait_ok("a writer");
}

struct walker {
    struct metrics *m;
    uint32_t cpus, first;
    pthread_barrier_t *step;
};

static void *walk(void *arg)
{
    struct walker *w = arg;
    int n = w->cpus < 64 ? (int)w->cpus : 64; /* CPUs visited per series and thread */
    for (long i = 0; i < ncounters + nhistograms; i++) {
        if (i % 64 == 0)
            pthread_barrier_wait(w->step); /* keep the two in step */
        update(w->m, i, n, w->cpus, w->first + (uint32_t)i * 7u);
    }
    return NULL;
}

/* From all CPUs: 2 threads in step, every series from many CPUs. */
static void write_from_all(const char *path, uint32_t cpus)
{
    pid_t pid = fork();
    if (pid == 0) {
        shmetrics_registry_t *reg = open_arena(path, 0, 0);
        struct metrics m;
        register_metrics(reg, &m);
        /* Every series first, from one thread: stripes the pool cannot
         * hold are then refused (the series stay exact, on the blocks they
         * have), and no registration fails for lack of room. */
        for (long i = 0; i < ncounters + nhistograms; i++)
            update(&m, i, 0, 0, 0);
        pthread_barrier_t step;
        pthread_barrier_init(&step, NULL, 2);
        struct walker w[2] = {{&m, cpus, 0, &step}, {&m, cpus, cpus / 2 + 1, &step}};
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            pthread_create(&t[k], NULL, walk, &w[k]);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        shmetrics_shutdown(reg, 0);
        _exit(0);
    }
    wait_ok("the writer");
}

struct scrape_result {
    double ms;
    long maxrss_kb;
    size_t series; /* series the scrape read: all, or the figure is wrong */
};

/* Scrape in a child (a collector of its own, so that its peak RSS is the
 * scrape's): median of 5 after a warm-up. */
static struct scrape_result scrape(const char *path)
{
    int fd[2];
    if (pipe(fd) < 0)
        die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        shmetrics_registry_t *reg = open_arena(path, SHMETRICS_OPEN_READONLY, 0);
        double t[6];
        size_t series = 0;
        for (int k = 0; k < 6; k++) {
            double t0 = bench_thread_cpu_ns();
            shmetrics_snapshot_t *snap;
            char *text = NULL;
            size_t len;
            if (shmetrics_collect(reg, &snap) < 0 ||
                shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, &text, &len) < 0)
                die("scrape");
            free(text);
            series = snap->nseries;
            shmetrics_snapshot_free(snap);
            t[k] = (bench_thread_cpu_ns() - t0) / 1e6;
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        struct scrape_result r = {bench_median(t + 1, 5), ru.ru_maxrss, series};
        if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(1);
        shmetrics_shutdown(reg, 0);
        _exit(0);
    }
    close(fd[1]);
    struct scrape_result r = {0, 0, 0};
    if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r)
        die("scrape child");
    close(fd[0]);
    waitpid(pid, NULL, 0);
    return r;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        ncounters = atol(argv[1]);
    if (argc > 2)
        nhistograms = atol(argv[2]);
    if (ncounters < 1 || nhistograms < 0) {
        fprintf(stderr, "usage: manycore [COUNTERS [HISTOGRAMS]]\n");
        return 2;
    }
    static const uint32_t cpu_counts[] = {2, 64, 256, 1024};
    double base = 0;
    for (int worst = 0; worst <= 1; worst++)
        for (size_t c = 0; c < sizeof cpu_counts / sizeof cpu_counts[0]; c++) {
            uint32_t cpus = cpu_counts[c];
            char path[128];
            snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-many-%d", (int)getpid());
            unlink(path);
            shmetrics_registry_t *reg = open_arena(path, SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL, cpus);
            shmetrics_shutdown(reg, 0);
            if (worst)
                write_from_all(path, cpus);
            else
                write_from_two(path, cpus);
            struct scrape_result r = scrape(path);
            if (r.series != (size_t)(ncounters + nhistograms)) {
                fprintf(stderr, "manycore: the scrape read %zu series of %ld\n", r.series, ncounters + nhistograms);
                return 1;
            }
            if (!worst && c == 0)
                base = r.ms;
            reg = open_arena(path, SHMETRICS_OPEN_READONLY, 0);
            shmetrics_arena_info_t in;
            shmetrics_arena_info(reg, &in);
            shmetrics_shutdown(reg, 0);
            struct stat st;
            double per_series = stat(path, &st) == 0 ? (double)st.st_blocks * 512 / (double)(ncounters + nhistograms)
                                                     : 0;
            char name[64], extra[256];
            snprintf(name, sizeof name, "scrape_%s_%u_cpus", worst ? "from_all_cpus" : "from_2_cpus", cpus);
            snprintf(extra, sizeof extra,
                     "\"cpus\": %u, \"series\": %ld, \"collector_max_rss_mb\": %.1f, "
                     "\"arena_bytes_per_series\": %.1f, \"stripe_sets\": %llu, \"stripe_sets_refused\": %llu, "
                     "\"arena_allocated_mb\": %.1f, \"series_read\": %zu",
                     cpus, ncounters + nhistograms, (double)r.maxrss_kb / 1024, per_series,
                     (unsigned long long)in.striped, (unsigned long long)in.stripes_refused,
                     (double)in.allocated_bytes / 1048576, r.series);
            bench_emit(name, 1, 1, "ms", r.ms, base, "scrape_from_2_cpus_2_cpus", extra);
            unlink(path);
        }
    return 0;
}
