/*
 * bench/hotpath.c - nanoseconds per hot-path call, next to the physical
 * limit measured in the same run: a relaxed atomic add on a private cache
 * line, and on one line shared by all threads.
 *
 * Prints one JSON object per case and thread count:
 *   {"case":..., "threads":N, "processes":1, "ns_per_op":X, "baseline":B, "ratio":X/B}
 * Each figure is the median of REPS timed runs after a warm-up; threads are
 * pinned to distinct CPUs.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shmetrics.h"

#define OPS 5000000ul
#define REPS 5

enum bench_case {
    PRIVATE_ATOMIC,
    SHARED_ATOMIC,
    COUNTER_ADD,
    COUNTER_INC_WHOLE,
    COUNTER_INC_FRACTION,
    GAUGE_SET,
    GAUGE_INC,
    LABELS_INC,
    HISTOGRAM_OBSERVE,
    SUMMARY_OBSERVE,
    NCASES
};

static const char *const case_names[NCASES] = {
    "baseline_private_atomic", "baseline_shared_atomic", "counter_add_one_series",
    "counter_inc_whole_one_series", "counter_inc_fraction_one_series", "gauge_set",
    "gauge_inc", "labels_lookup_inc_1000_sets", "histogram_observe_21_buckets", "summary_observe",
};

static shmetrics_registry_t *reg;
static shmetrics_counter_t *counter, *labelled;
static shmetrics_gauge_t *gauge;
static shmetrics_histogram_t *histogram;
static shmetrics_summary_t *summary;
/* vLLM's request latency buckets (seconds). */
static const double latency_buckets[] = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0,
                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
static _Alignas(64) uint64_t shared_word;

struct job {
    enum bench_case c;
    int cpu;
    pthread_barrier_t *start;
    double ns;
    _Alignas(64) uint64_t private_word;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *run(void *p)
{
    struct job *j = p;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(j->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    shmetrics_counter_series_t *cs;
    shmetrics_gauge_series_t *gs;
    shmetrics_histogram_series_t *hs;
    shmetrics_summary_series_t *ss;
    shmetrics_counter_labels(counter, &cs, NULL);
    shmetrics_gauge_labels(gauge, &gs, NULL);
    shmetrics_histogram_labels(histogram, &hs, NULL);
    shmetrics_summary_labels(summary, &ss, NULL);
    double obs[64];
    for (int i = 0; i < 64; i++)
        obs[i] = 0.1 * (double)(i * 37 % 200); /* 0 .. 19.9 s, spread over the buckets */
    char vals[1000][8];
    for (int i = 0; i < 1000; i++) {
        snprintf(vals[i], sizeof vals[i], "v%d", i);
        shmetrics_counter_series_t *s;
        shmetrics_counter_labels(labelled, &s, "GET", vals[i], NULL);
    }
    pthread_barrier_wait(j->start);
    double t0 = now();
    switch (j->c) {
    case PRIVATE_ATOMIC:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_add_relaxed(&j->private_word, 1);
        break;
    case SHARED_ATOMIC:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_add_relaxed(&shared_word, 1);
        break;
    case COUNTER_ADD:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_counter_add(cs, 1);
        break;
    case COUNTER_INC_WHOLE:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_counter_inc(cs, 1.0);
        break;
    case COUNTER_INC_FRACTION:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_counter_inc(cs, 0.5);
        break;
    case GAUGE_SET:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_gauge_set(gs, (double)i);
        break;
    case GAUGE_INC:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_gauge_inc(gs, 1.0);
        break;
    case LABELS_INC:
        for (unsigned long i = 0; i < OPS / 4; i++) {
            shmetrics_counter_series_t *s;
            if (shmetrics_counter_labels(labelled, &s, "GET", vals[i % 1000], NULL) == 0)
                shmetrics_counter_add(s, 1);
        }
        break;
    case HISTOGRAM_OBSERVE:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_histogram_observe(hs, obs[i & 63]);
        break;
    case SUMMARY_OBSERVE:
        for (unsigned long i = 0; i < OPS; i++)
            shmetrics_summary_observe(ss, obs[i & 63]);
        break;
    default:
        break;
    }
    unsigned long ops = j->c == LABELS_INC ? OPS / 4 : OPS;
    j->ns = (now() - t0) / (double)ops;
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over REPS of the slowest thread's ns/op. */
static double measure(enum bench_case c, int threads)
{
    double r[REPS + 1];
    for (int rep = 0; rep <= REPS; rep++) {
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads);
        pthread_t th[64];
        struct job *jobs = aligned_alloc(64, sizeof(struct job) * (size_t)threads);
        for (int t = 0; t < threads; t++) {
            memset(&jobs[t], 0, sizeof jobs[t]);
            jobs[t].c = c;
            jobs[t].cpu = t;
            jobs[t].start = &start;
            pthread_create(&th[t], NULL, run, &jobs[t]);
        }
        double worst = 0;
        for (int t = 0; t < threads; t++) {
            pthread_join(th[t], NULL);
            worst = jobs[t].ns > worst ? jobs[t].ns : worst;
        }
        free(jobs);
        pthread_barrier_destroy(&start);
        r[rep] = worst; /* r[0] is the warm-up */
    }
    qsort(r + 1, REPS, sizeof r[0], cmp);
    return r[1 + REPS / 2];
}

int main(int argc, char **argv)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-%d", (int)getpid());
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL};
    if (shmetrics_open(&o, &reg) < 0) {
        fprintf(stderr, "bench: %s\n", shmetrics_errmsg());
        return 1;
    }
    const char *lbl[] = {"method", "path"};
    shmetrics_spec_t cs = {.name = "bench_total", .help = "h"};
    shmetrics_spec_t ls = {.name = "bench_labelled_total", .help = "h", .label_names = lbl, .nlabels = 2};
    shmetrics_spec_t gs = {.name = "bench_gauge", .help = "h", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_spec_t hs = {.name = "bench_latency_seconds", .help = "h", .buckets = latency_buckets,
                           .nbuckets = sizeof latency_buckets / sizeof latency_buckets[0]};
    shmetrics_spec_t ss = {.name = "bench_summary_seconds", .help = "h"};
    if (shmetrics_counter_register(reg, &cs, &counter) < 0 || shmetrics_counter_register(reg, &ls, &labelled) < 0 ||
        shmetrics_gauge_register(reg, &gs, &gauge) < 0 || shmetrics_histogram_register(reg, &hs, &histogram) < 0 ||
        shmetrics_summary_register(reg, &ss, &summary) < 0) {
        fprintf(stderr, "bench: %s\n", shmetrics_errmsg());
        return 1;
    }
    int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
    int maxthreads = argc > 1 ? atoi(argv[1]) : ncpu;
    if (maxthreads < 1 || maxthreads > 64)
        maxthreads = ncpu;
    for (int threads = 1; threads <= maxthreads; threads++) {
        double base = measure(PRIVATE_ATOMIC, threads);
        for (int c = 0; c < NCASES; c++) {
            double ns = c == PRIVATE_ATOMIC ? base : measure((enum bench_case)c, threads);
            printf("{\"case\": \"%s\", \"threads\": %d, \"processes\": 1, \"ns_per_op\": %.2f, "
                   "\"baseline\": %.2f, \"ratio\": %.2f}\n",
                   case_names[c], threads, ns, base, ns / base);
            fflush(stdout);
        }
    }
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    return 0;
}
