/* SPDX-License-Identifier: MIT */
/*
 * bench/push_cost.c - what a pusher costs the workers: nanoseconds per
 * shmetrics_counter_add on a worker thread pinned to CPU 0, with no pusher,
 * with the null backend (metrics switched off) pushing every millisecond,
 * and with a StatsD pusher reading and sending the whole arena (1,000
 * counter series and a histogram, the worker's own series among them)
 * every millisecond to a UDP socket of this process on 127.0.0.1.  The
 * pusher's thread runs on the last CPU, so that the figures show what
 * pushing costs a worker, not a worker sharing its CPU with it.
 *
 * Prints one JSON object per case:
 *   {"case":..., "pusher":..., "interval_ms":1, "pushes":N, "ns_per_op":X,
 *    "min_ns":..., "max_ns":..., "no_pusher_ns":B, "ratio":X/B}
 * Each figure is the median of REPS timed runs (min and max beside it);
 * the cases take turns run after run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "shmetrics.h"

#define OPS 20000000ul
#define REPS 9

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static shmetrics_counter_series_t *hot;

static void *worker(void *arg)
{
    double *ns = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    double t0 = now_ns();
    for (unsigned long i = 0; i < OPS; i++)
        shmetrics_counter_add(hot, 1);
    *ns = (now_ns() - t0) / (double)OPS;
    return NULL;
}

static double one_run(void)
{
    pthread_t t;
    double ns = 0;
    pthread_create(&t, NULL, worker, &ns);
    pthread_join(t, NULL);
    return ns;
}

/* One timed run with the given pusher (NULL: none) running; *pushes gets
 * how many pushes it made meanwhile. */
static double run_with(shmetrics_registry_t *reg, const shmetrics_push_options_t *o, uint64_t *pushes)
{
    shmetrics_pusher_t *p = NULL;
    if (o && shmetrics_pusher_start(reg, o, &p) < 0) {
        fprintf(stderr, "push_cost: %s\n", shmetrics_errmsg());
        exit(1);
    }
    shmetrics_push_stats_t before = {0}, after = {0};
    if (p)
        shmetrics_pusher_stats(p, &before);
    double ns = one_run();
    if (p) {
        shmetrics_pusher_stats(p, &after);
        shmetrics_pusher_stop(p);
    }
    *pushes += after.attempts - before.attempts;
    return ns;
}

int main(void)
{
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-push-%d", (int)getpid());
    unlink(path);
    shmetrics_options_t opts = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&opts, &reg) < 0) {
        fprintf(stderr, "push_cost: %s\n", shmetrics_errmsg());
        return 1;
    }
    const char *lbl[] = {"i"};
    shmetrics_spec_t cs = {.name = "bench_series_total", .help = "Series.", .label_names = lbl, .nlabels = 1};
    shmetrics_spec_t hs = {.name = "bench_latency_seconds", .help = "Latency."};
    shmetrics_counter_t *c;
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *hser;
    shmetrics_counter_register(reg, &cs, &c);
    shmetrics_histogram_register(reg, &hs, &h);
    shmetrics_histogram_labels(h, &hser, NULL);
    shmetrics_histogram_observe(hser, 0.2);
    for (int i = 0; i < 1000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        shmetrics_counter_series_t *s;
        shmetrics_counter_labels(c, &s, v, NULL);
        shmetrics_counter_add(s, (uint64_t)i);
        if (i == 0)
            hot = s;
    }
    /* A StatsD sink nobody reads: the kernel drops what does not fit. */
    int sink = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    bind(sink, (struct sockaddr *)&a, sizeof a);
    getsockname(sink, (struct sockaddr *)&a, &al);
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", ntohs(a.sin_port));

    shmetrics_push_options_t null_o = {.backend = SHMETRICS_PUSH_NULL, .interval_ms = 1};
    shmetrics_push_options_t statsd_o = {.backend = SHMETRICS_PUSH_STATSD,
                                         .target = target,
                                         .interval_ms = 1,
                                         .max_datagram = 8192};
    struct {
        const char *name;
        const shmetrics_push_options_t *o;
    } cases[] = {{"none", NULL}, {"null", &null_o}, {"statsd", &statsd_o}};
    /* The pusher's thread inherits this thread's CPU: the last one, so
     * that it never takes the worker's CPU 0 away from it. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(ncpu > 1 ? (int)ncpu - 1 : 0, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    /* The cases take turns, run after run, so that a change in the
     * machine's load falls on all of them alike. */
    enum { NCASES = sizeof cases / sizeof cases[0] };
    double v[NCASES][REPS];
    uint64_t pushes[NCASES] = {0};
    one_run(); /* warm-up */
    for (int r = 0; r < REPS; r++)
        for (size_t i = 0; i < NCASES; i++)
            v[i][r] = run_with(reg, cases[i].o, &pushes[i]);
    double base = 0;
    for (size_t i = 0; i < NCASES; i++) {
        qsort(v[i], REPS, sizeof v[i][0], cmp);
        double ns = v[i][REPS / 2];
        if (i == 0)
            base = ns;
        printf("{\"case\":\"counter_add_one_series\",\"pusher\":\"%s\",\"interval_ms\":%d,\"pushes\":%llu,"
               "\"ns_per_op\":%.3f,\"min_ns\":%.3f,\"max_ns\":%.3f,\"no_pusher_ns\":%.3f,\"ratio\":%.3f}\n",
               cases[i].name, cases[i].o ? 1 : 0, (unsigned long long)pushes[i], ns, v[i][0], v[i][REPS - 1], base,
               ns / base);
    }
    close(sink);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    return 0;
}
