/* SPDX-License-Identifier: MIT */
/*
 * tests/stress_push.c - a pusher's threads, written to be run under
 * ThreadSanitizer: 4 writer threads add to a counter while a pusher thread
 * sends StatsD deltas every millisecond and another thread calls
 * shmetrics_pusher_push at the same time; a reader thread drains the UDP
 * socket.  Once the writers are done, the pusher stops with one last push:
 * the deltas received must add up to the counter's value exactly (every
 * increment sent once, none twice).
 *
 * A plain program, like tests/stress_threads.c, for the same reason
 * (Criterion's sandbox and ThreadSanitizer's shadow memory).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shmetrics.h"

#if defined(__SANITIZE_THREAD__)
#define ITER 100000u
#else
#define ITER 500000u
#endif
#define WRITERS 4

static shmetrics_counter_series_t *hot;
static int rx;
static int stop_reader, stop_pushing;
static unsigned long long received; /* the sum of the deltas read */
static unsigned long long lines;
static shmetrics_pusher_t *pusher;

static void *writer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < ITER; i++) {
        shmetrics_counter_add(hot, 1);
        if (i % 1000 == 999)
            usleep(200); /* spread the writes over many pushes */
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    char buf[65536];
    struct pollfd p = {rx, POLLIN, 0};
    for (;;) {
        int ready = poll(&p, 1, 50);
        if (ready <= 0) {
            if (__atomic_load_n(&stop_reader, __ATOMIC_ACQUIRE))
                break;
            continue;
        }
        ssize_t n = recv(rx, buf, sizeof buf - 1, 0);
        if (n <= 0)
            continue;
        buf[n] = 0;
        for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
            if (strncmp(l, "stress_hot_total:", 17) == 0) {
                received += strtoull(l + 17, NULL, 10);
                lines++;
            }
    }
    return NULL;
}

/* Pushes from another thread while the pusher's own thread runs. */
static void *extra_pusher(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop_pushing, __ATOMIC_ACQUIRE)) {
        shmetrics_pusher_push(pusher);
        shmetrics_push_stats_t st;
        shmetrics_pusher_stats(pusher, &st);
        usleep(500);
    }
    return NULL;
}

int main(void)
{
    char path[64];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-stress-push-%d", (int)getpid());
    unlink(path);
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    shmetrics_counter_t *c;
    shmetrics_spec_t cs = {.name = "stress_hot_total", .help = "Hot."};
    if (shmetrics_open(&o, &reg) < 0 || shmetrics_counter_register(reg, &cs, &c) < 0 ||
        shmetrics_counter_labels(c, &hot, NULL) < 0) {
        fprintf(stderr, "stress_push: %s\n", shmetrics_errmsg());
        return 1;
    }
    rx = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(rx, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(rx, (struct sockaddr *)&a, &al) < 0) {
        perror("stress_push: bind");
        return 1;
    }
    char target[64];
    snprintf(target, sizeof target, "127.0.0.1:%d", ntohs(a.sin_port));
    shmetrics_push_options_t po = {.backend = SHMETRICS_PUSH_STATSD,
                                   .target = target,
                                   .interval_ms = 1,
                                   .flags = SHMETRICS_PUSH_NO_SELF | SHMETRICS_PUSH_FINAL};
    pthread_t rt, pt, wt[WRITERS];
    pthread_create(&rt, NULL, reader, NULL);
    if (shmetrics_pusher_start(reg, &po, &pusher) < 0) {
        fprintf(stderr, "stress_push: %s\n", shmetrics_errmsg());
        return 1;
    }
    pthread_create(&pt, NULL, extra_pusher, NULL);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&wt[i], NULL, writer, NULL);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    __atomic_store_n(&stop_pushing, 1, __ATOMIC_RELEASE);
    pthread_join(pt, NULL);
    shmetrics_push_stats_t st;
    shmetrics_pusher_stats(pusher, &st);
    shmetrics_pusher_stop(pusher); /* the last push carries the rest */
    __atomic_store_n(&stop_reader, 1, __ATOMIC_RELEASE);
    pthread_join(rt, NULL);
    close(rx);
    unsigned long long want = (unsigned long long)WRITERS * ITER;
    int passed = 0, failed = 0;
    if (received == want)
        passed++;
    else
        failed++, fprintf(stderr, "FAIL: the deltas add up to %llu, the counter is %llu\n", received, want);
    if (st.attempts > 1 && st.failures == 0)
        passed++;
    else
        failed++, fprintf(stderr, "FAIL: %llu pushes, %llu failed\n", (unsigned long long)st.attempts,
                          (unsigned long long)st.failures);
    printf("# %llu pushes sent %llu deltas adding up to %llu\n", (unsigned long long)st.attempts + 1, lines, received);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
