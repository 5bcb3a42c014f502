/* SPDX-License-Identifier: MIT */
/*
 * src/bench/scrape.h - what a scrape costs, measured the same way by make
 * bench (bench/collector.c) and by shmetrics bench --scrape: one scrape is
 * shmetrics_collect (the merge of every shard and process) +
 * shmetrics_format (Prometheus text 0.0.4) + freeing both, timed in CPU
 * time of the scraping thread (user + system: a scrape is single-threaded
 * and does no I/O, so on an idle machine this is its wall time, and on a
 * shared one it leaves out the time other processes had the CPU).  The
 * baseline prints the same samples with snprintf ("%.17g" for values): the
 * cost of the text alone, without merging anything.
 */
#ifndef BENCH_SCRAPE_H
#define BENCH_SCRAPE_H

#include <stddef.h>

#include "shmetrics.h"

struct bench_scrape {
    double cpu_ns;     /* the whole scrape, CPU time */
    double wall_ns;    /* the same, wall time */
    double collect_ns; /* the merge's share, CPU time */
    size_t bytes;      /* the text's length */
    size_t nseries;    /* series read */
};

/* One scrape of `reg` (read-only is enough).  0, or the negative errno
 * code of shmetrics_collect or shmetrics_format (shmetrics_errmsg() names
 * the problem). */
int bench_scrape_once(shmetrics_registry_t *reg, struct bench_scrape *out);

/* The baseline on `snap`: ns of CPU time; *samples gets the number of
 * samples printed.  -ENOMEM when the text found no memory. */
int bench_snprintf_text(const shmetrics_snapshot_t *snap, double *ns, size_t *samples);

#endif
