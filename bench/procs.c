/* SPDX-License-Identifier: MIT */
/*
 * bench/procs.c - what the workers' process_* families cost a scrape: the
 * collector reads /proc/PID/stat, /proc/PID/limits and /proc/PID/fd for
 * every attached, live process at each scrape.  16, 64 and 256 worker
 * processes (each attached to one arena, holding a slot with one gauge
 * and sleeping) are scraped over HTTP by two servers of this process on
 * the same read-only registry: one with the process metrics (the
 * default), one with SHMETRICS_SERVER_NO_PROCESS_METRICS.
 *
 * usage: procs [MAXPROCS]      (default 256)
 *
 * The figure is the server's own measure of a scrape, read back from
 * shmetrics_collector_last_scrape_duration_seconds (wall time of reading
 * the arena, reading /proc, encoding): the median of ROUNDS scrapes of
 * each server, taken in turns, after a warm-up.  The client's round trip
 * (connect, request, the whole body) is given beside it.  The machine may
 * be shared: wall times, hence medians.
 *
 * Prints one JSON object per step (see harness.h):
 *   {"case": "scrape_with_process_metrics", "processes": P, "ms": WITH,
 *    "baseline": WITHOUT, "baseline_case": "scrape_without_process_metrics",
 *    "ratio": ..., "added_ms": WITH - WITHOUT, "added_us_per_process": ...,
 *    "round_trip_ms": ..., "round_trip_baseline_ms": ..., "samples": P}
 * Uses the public API only.
 */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "shmetrics.h"

#define ROUNDS 41

static const int steps[] = {16, 64, 256};

static _Noreturn void die(const char *what)
{
    fprintf(stderr, "procs: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

/* A worker: attach, take a slot (a gauge set), say so, sleep. */
static void worker(const char *path, int ready)
{
    shmetrics_options_t o = {.path = path};
    shmetrics_registry_t *reg;
    shmetrics_spec_t gs = {.name = "bench_worker_up", .help = "Workers."};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_gauge_register(reg, &gs, &g) < 0 ||
        shmetrics_gauge_labels(g, &s, NULL) < 0)
        die("worker");
    shmetrics_gauge_set(s, 1);
    if (write(ready, "x", 1) != 1)
        _exit(1);
    for (;;)
        pause();
}

/* GET /metrics over HTTP/1.0: the body (malloc'd), NULL on failure. */
static char *get(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return NULL;
    static const char req[] = "GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap && !(buf = realloc(buf, cap *= 2)))
            exit(1);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = 0;
    return buf;
}

/* The value of the sample line that starts with `name ` (or NAN). */
static double value_of(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; (p = strstr(p, name)) != NULL; p += n)
        if ((p == body || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return NAN;
}

static size_t count_lines(const char *body, const char *prefix)
{
    size_t k = 0, n = strlen(prefix);
    for (const char *p = body; (p = strstr(p, prefix)) != NULL; p += n)
        k += p == body || p[-1] == '\n';
    return k;
}

static void measure(unsigned with, unsigned without, int processes)
{
    double srv[2][ROUNDS], rt[2][ROUNDS];
    unsigned ports[2] = {with, without};
    size_t samples = 0;
    for (int s = 0; s < 2; s++)
        free(get(ports[s])); /* warm-ups */
    for (int r = 0; r < ROUNDS; r++)
        for (int s = 0; s < 2; s++) {
            double t0 = bench_now_ns();
            char *body = get(ports[s]);
            rt[s][r] = (bench_now_ns() - t0) / 1e6;
            if (!body)
                die("GET /metrics");
            /* What the previous scrape of this server took. */
            srv[s][r] = value_of(body, "shmetrics_collector_last_scrape_duration_seconds") * 1e3;
            if (s == 0)
                samples = count_lines(body, "process_cpu_seconds_total{");
            else if (count_lines(body, "process_cpu_seconds_total{"))
                die("process metrics switched off, yet there");
            free(body);
        }
    if ((int)samples != processes) {
        fprintf(stderr, "procs: %zu process samples, %d processes\n", samples, processes);
        exit(1);
    }
    double w = bench_median(srv[0], ROUNDS), wo = bench_median(srv[1], ROUNDS);
    double rw = bench_median(rt[0], ROUNDS), rwo = bench_median(rt[1], ROUNDS);
    char extra[256];
    snprintf(extra, sizeof extra,
             "\"added_ms\": %.3f, \"added_us_per_process\": %.2f, \"round_trip_ms\": %.3f, "
             "\"round_trip_baseline_ms\": %.3f, \"samples\": %zu",
             w - wo, (w - wo) * 1e3 / processes, rw, rwo, samples);
    bench_emit("scrape_with_process_metrics", 1, processes, "ms", w, wo, "scrape_without_process_metrics", extra);
}

int main(int argc, char **argv)
{
    int max = argc > 1 ? atoi(argv[1]) : 256;
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-procs-%d", (int)getpid());
    unlink(path);
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .processes = (uint32_t)max + 16};
    shmetrics_registry_t *w;
    if (shmetrics_open(&o, &w) < 0)
        die("create");
    shmetrics_shutdown(w, 0);
    shmetrics_options_t ro = {.path = path, .flags = SHMETRICS_OPEN_READONLY};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&ro, &reg) < 0)
        die("open read-only");
    shmetrics_server_options_t on = {.listen = "127.0.0.1:0", .threads = 1};
    shmetrics_server_options_t off = {.listen = "127.0.0.1:0",
                                      .threads = 1,
                                      .flags = SHMETRICS_SERVER_NO_PROCESS_METRICS};
    shmetrics_server_t *s_on, *s_off;
    if (shmetrics_server_start(reg, &on, &s_on) < 0 || shmetrics_server_start(reg, &off, &s_off) < 0)
        die("server");
    int ready[2];
    if (pipe(ready) < 0)
        die("pipe");
    pid_t *pids = calloc((size_t)max, sizeof *pids);
    int n = 0;
    for (size_t s = 0; s < sizeof steps / sizeof steps[0] && steps[s] <= max; s++) {
        fflush(stdout);
        for (; n < steps[s]; n++) {
            if ((pids[n] = fork()) < 0)
                die("fork");
            if (pids[n] == 0) {
                close(ready[0]);
                worker(path, ready[1]);
            }
            char c;
            if (read(ready[0], &c, 1) != 1)
                die("a worker did not start");
        }
        measure(shmetrics_server_port(s_on), shmetrics_server_port(s_off), n);
    }
    for (int i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(pids[i], NULL, 0);
    shmetrics_server_stop(s_on);
    shmetrics_server_stop(s_off);
    shmetrics_shutdown(reg, 0);
    unlink(path);
    free(pids);
    return 0;
}
