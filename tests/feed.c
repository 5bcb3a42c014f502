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
 */
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    shmetrics_spec_t cs = {.name = "feed_series_total", .help = "Series written by the feed.", .label_names = lbl,
                           .nlabels = 2, .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
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

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: feed ARENA PROCS SERIES [SECONDS]\n");
        return 2;
    }
    int procs = atoi(argv[2]);
    long series = atol(argv[3]);
    double seconds = argc > 4 ? atof(argv[4]) : 0;
    if (procs < 1 || procs > 1024 || series < 0) {
        fprintf(stderr, "feed: bad PROCS or SERIES\n");
        return 2;
    }
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0)
            _exit(worker(argv[1], p, series, seconds));
    }
    int bad = 0;
    for (int p = 0; p < procs; p++) {
        int st;
        if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
            bad = 1;
    }
    return bad;
}
