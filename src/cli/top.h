/* SPDX-License-Identifier: MIT */
/*
 * src/cli/top.h - what the three parts of `shmetrics top` share: the model
 * (top_model.c: an arena read into rows with rates, filtered and sorted),
 * the plain-text snapshots (top_batch.c), the full-screen view
 * (top_screen.c, ncurses) and the collector's figures (top_collector.c);
 * top.c parses the options and picks a view.
 */
#ifndef SHMETRICS_CLI_TOP_H
#define SHMETRICS_CLI_TOP_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

enum top_sort { TOP_SORT_RATE, TOP_SORT_VALUE, TOP_SORT_NAME, TOP_NSORTS };

/* One line of the view: a counter, gauge or info sample, or a histogram or
 * summary series (its _count, with p50/p99 or its quantiles). */
struct top_row {
    char *key; /* name{labels}, as exposed: what the filter matches and the name sort uses */
    shmetrics_type_t type;
    shmetrics_gauge_mode_t mode; /* gauges */
    double value;                /* the value; a histogram's or summary's count */
    double rate;                 /* per second since the previous read; NAN on the first */
    double p50, p99;             /* histograms: estimated from the buckets; NAN for none */
    char *quantiles;             /* summaries: "0.5=… 0.99=…"; NULL for others */
    size_t nbuckets;             /* histograms: the classic buckets, +Inf last */
    double *bounds, *cum;        /* their upper bounds and cumulative counts */
};

/* The collector's own figures (top_collector.c), when --collector names
 * one. */
struct top_collector {
    const char *addr; /* HOST:PORT */
    bool ok;          /* the last poll found its figures */
    char line[512];   /* what the header shows: the figures, or why there are none */
};
/* Is `addr` a HOST:PORT (port 1 to 65535) to poll? */
bool top_collector_addr_ok(const char *addr);
/* GET http://ADDR/metrics (500 ms at most) into c->line. */
void top_collector_poll(struct top_collector *c);

struct top_model {
    const char *path;
    struct top_collector *collector; /* NULL: none is polled */
    shmetrics_registry_t *reg;
    struct top_row *rows, *prev; /* this read's rows; the previous read's, sorted by key */
    size_t nrows, nprev;
    size_t *shown; /* indices of the rows the filter keeps, in the sort's order */
    size_t nshown;
    enum top_sort sort;
    regex_t re;
    bool has_re;
    char filter[256];
    uint64_t read_ns, prev_ns; /* CLOCK_MONOTONIC of this read and the previous one */
    double refresh_ms;         /* what the last read, rates and sort took */
    shmetrics_arena_info_t info;
    size_t procs_attached, procs_dead, procs_exited;
    uint64_t damaged;
    dev_t dev;
    ino_t ino;
    char err[512]; /* why the last call failed */
};

/* Open `path` read-only (the messages of dump on a failure): 0 or
 * EXIT_FAIL.  `m` starts sorted by rate, with no filter. */
int top_model_open(struct top_model *m, const char *path);
/* Read the arena into rows, with rates against the previous read, then
 * filter and sort (and poll the collector, if any).  0, or -1 with m->err saying why (the arena was removed
 * or replaced, or could not be read). */
int top_model_read(struct top_model *m);
/* Keep the rows whose key matches the extended regular expression `re`
 * ("" keeps every row).  0, or -1 with m->err naming the problem (the old
 * filter stays). */
int top_model_filter(struct top_model *m, const char *re);
/* Apply the filter and the sort to the rows of the last read. */
void top_model_order(struct top_model *m);
void top_model_close(struct top_model *m);
/* "rate", "value" or "name"; a word back to the sort: -1 for another. */
const char *top_sort_name(enum top_sort s);
int top_sort_parse(const char *word);

/* The header's lines: the arena's path and use. */
void top_header(const struct top_model *m, char *line1, char *line2, size_t len);
/* A row's cells: type, value, rate and detail, as both views print them. */
void top_cells(const struct top_row *r, char *type, char *value, char *rate, char *detail, size_t len);

/* The views: each runs until done, stopped or the arena fails, and returns
 * the command's exit status. */
struct top_opts {
    uint32_t interval_ms;
    uint32_t count; /* batch: snapshots to print, 0 for no end */
};
int top_batch(struct top_model *m, const struct top_opts *o, FILE *out);
int top_screen(struct top_model *m, const struct top_opts *o);

#endif
