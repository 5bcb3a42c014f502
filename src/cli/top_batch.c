/* SPDX-License-Identifier: MIT */
/*
 * src/cli/top_batch.c - owns `shmetrics top --batch`: plain-text snapshots
 * for scripts and logs (as top -b and varnishstat -1 print), one every
 * interval, until --count of them, --once, SIGINT or SIGTERM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "top.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Sleep `ms`, or less when a stop signal comes. */
static void pause_ms(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (!stop_signal && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void print_snapshot(const struct top_model *m, FILE *out)
{
    char l1[1024], l2[1024], when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    top_header(m, l1, l2, sizeof l1);
    fprintf(out, "shmetrics top at %s: %zu of %zu rows, rates over %.3f s\n%s\n%s\n", when, m->nshown, m->nrows,
            m->prev_ns ? (double)(m->read_ns - m->prev_ns) / 1e9 : 0.0, l1, l2);
    if (m->collector)
        fprintf(out, "%s\n", m->collector->line);
    fprintf(out, "\n");
    int w = 4;
    for (size_t i = 0; i < m->nshown; i++) {
        int len = (int)strlen(m->rows[m->shown[i]].key);
        w = len > w ? len : w;
    }
    char line[8192];
    snprintf(line, sizeof line, "%-*s %-9s %14s %12s %s", w, "NAME", "TYPE", "VALUE", "RATE/s", "DETAIL");
    fprintf(out, "%s\n", line);
    for (size_t i = 0; i < m->nshown; i++) {
        const struct top_row *r = &m->rows[m->shown[i]];
        char type[512], value[512], rate[512], detail[512];
        top_cells(r, type, value, rate, detail, sizeof detail);
        int n = snprintf(line, sizeof line, "%-*s %-9s %14s %12s %s", w, r->key, type, value, rate, detail);
        if (n >= (int)sizeof line)
            n = (int)sizeof line - 1;
        while (n > 0 && line[n - 1] == ' ')
            line[--n] = 0;
        fprintf(out, "%s\n", line);
    }
    fprintf(out, "\n");
    fflush(out);
}

int top_batch(struct top_model *m, const struct top_opts *o, FILE *out)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Every snapshot printed has rates: the first read is the start of the
     * first interval. */
    if (top_model_read(m) < 0) {
        fprintf(stderr, "shmetrics top: %s\n", m->err);
        return EXIT_FAIL;
    }
    for (uint32_t printed = 0; !stop_signal;) {
        pause_ms(o->interval_ms);
        if (stop_signal)
            break;
        if (top_model_read(m) < 0) {
            fprintf(stderr, "shmetrics top: %s\n", m->err);
            return EXIT_FAIL;
        }
        print_snapshot(m, out);
        if (ferror(out))
            return EXIT_FAIL; /* main reports the write error */
        if (o->count && ++printed == o->count)
            break;
    }
    return EXIT_OK;
}
