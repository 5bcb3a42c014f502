/* SPDX-License-Identifier: MIT */
/*
 * tests/hold.c - workers that stay attached to an arena, for the tests of
 * the process_* families the collector reads from /proc: PROCS processes
 * that each attach and write (worker P = 0, 2, 4, ... sets a gauge, the
 * others only add to a counter: writing either takes a slot in the
 * process table), burn CPU_MS milliseconds of CPU, open FDS more descriptors on
 * /dev/null, set their soft open-file limit to 1000 + P (P = 0..PROCS-1),
 * start 2 threads that sleep, print one line, then sleep until killed.
 *
 * usage: hold ARENA PROCS CPU_MS FDS
 *
 * A worker's line: "PID CPU_SECONDS MAX_FDS", CPU_SECONDS being its CPU
 * time (CLOCK_PROCESS_CPUTIME_ID) once the burning is done, at least
 * CPU_MS / 1000 + 0.03 (/proc counts whole clock ticks).  The parent
 * reaps the workers as they die (a killed one leaves no zombie) and exits
 * once they all have; kill the process group to end them all.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static int worker(const char *arena, int p, long cpu_ms, long fds)
{
    shmetrics_options_t o = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    shmetrics_spec_t gs = {.name = "hold_up", .help = "Held workers."};
    shmetrics_spec_t cs = {.name = "hold_counted_total", .help = "Workers that write counters only."};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *cseries;
    if (shmetrics_open(&o, &reg) < 0 ||
        (p % 2 == 0
             ? shmetrics_gauge_register(reg, &gs, &g) < 0 || shmetrics_gauge_labels(g, &s, NULL) < 0
             : shmetrics_counter_register(reg, &cs, &c) < 0 || shmetrics_counter_labels(c, &cseries, NULL) < 0)) {
        fprintf(stderr, "hold: %s\n", shmetrics_errmsg());
        return 1;
    }
    if (p % 2 == 0)
        shmetrics_gauge_set(s, 1);
    else
        shmetrics_counter_add(cseries, 1);
    volatile unsigned long spin = 0;
    while (cpu_seconds() < (double)cpu_ms / 1000 + 0.03)
        for (int k = 0; k < 100000; k++)
            spin++;
    for (long i = 0; i < fds; i++)
        if (open("/dev/null", O_RDONLY) < 0) {
            perror("hold: /dev/null");
            return 1;
        }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = (rlim_t)(1000 + p);
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        perror("hold: setrlimit");
        return 1;
    }
    pthread_t t;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t, NULL, sleeper, NULL) != 0) {
            fprintf(stderr, "hold: no thread\n");
            return 1;
        }
    printf("%d %.9f %d\n", (int)getpid(), cpu_seconds(), 1000 + p);
    fflush(stdout);
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: hold ARENA PROCS CPU_MS FDS\n");
        return 2;
    }
    int procs = atoi(argv[2]);
    long cpu_ms = atol(argv[3]), fds = atol(argv[4]);
    if (procs < 1 || procs > 4096 || cpu_ms < 0 || fds < 0 || fds > 900) {
        fprintf(stderr, "hold: bad PROCS, CPU_MS or FDS\n");
        return 2;
    }
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("hold: fork");
            return 1;
        }
        if (pid == 0)
            _exit(worker(argv[1], p, cpu_ms, fds));
    }
    int bad = 0, st;
    while (wait(&st) > 0)
        if (WIFEXITED(st) && WEXITSTATUS(st))
            bad = 1;
    return bad;
}
