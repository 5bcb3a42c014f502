/* SPDX-License-Identifier: MIT */
/*
 * bench/memory.c - arena bytes per series for each metric type, written by
 * one thread (no stripes).
 *
 * usage: memory
 *
 * For each type, a fresh arena with default capacities gets one metric
 * with 2 labels and N series (1,000; 16 for summaries, whose default room is
 * 32 series), and shmetrics_arena_info() is read before and after.  A
 * series costs:
 *   - its directory entry: a 64-byte record and 8 bytes of index (two
 *     4-byte buckets per series of capacity, docs/arena-format.md);
 *   - its label values in the heap (heap_used);
 *   - its block in the cell pool (cells_used x 8), stripes included;
 *   - for gauges, its cell in every process unit (proc_cells_used x 8 x
 *     the process capacity, 256 by default).
 * This is address space reserved in the file.  The extra member
 * "resident_bytes_per_series" is what the file's blocks grew by once one
 * thread updated each series (for summaries, 200 values spread over three
 * decades): pool blocks are allocated when handed out, process units as
 * their processes write.
 *
 * Baseline: the bytes of a counter series measured the same way (the ratio
 * says how many counters a series of each type weighs).  Uses the public
 * API only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "shmetrics.h"

static const double latency_buckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
#define NLATENCY (sizeof latency_buckets / sizeof latency_buckets[0])
#define RECORD_BYTES 72 /* series record + its share of the series index */

enum kind { COUNTER, GAUGE, HISTOGRAM_DEFAULT, HISTOGRAM_VLLM, SUMMARY, NKINDS };
static const char *const kind_names[NKINDS] = {"memory_counter", "memory_gauge", "memory_histogram_14_buckets",
                                               "memory_histogram_21_buckets", "memory_summary"};

static void die(const char *what)
{
    fprintf(stderr, "memory: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

static double used_bytes(const shmetrics_arena_info_t *in)
{
    return (double)in->series_used * RECORD_BYTES + (double)in->heap_used + (double)in->cells_used * 8 +
           (double)in->processes_cap * (double)in->proc_cells_used * 8;
}

static double file_blocks(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_blocks * 512 : 0;
}

/* Register one metric of `kind` with n series, updating each once. */
static void fill(shmetrics_registry_t *reg, enum kind kind, int n)
{
    const char *lbl[] = {"handler", "code"};
    shmetrics_spec_t spec = {.name = "bench_metric",
                             .help = "h",
                             .label_names = lbl,
                             .nlabels = 2,
                             .max_series = SHMETRICS_MAX_SERIES_UNLIMITED};
    shmetrics_counter_t *c = NULL;
    shmetrics_gauge_t *g = NULL;
    shmetrics_histogram_t *h = NULL;
    shmetrics_summary_t *s = NULL;
    int rc;
    switch (kind) {
    case COUNTER:
        rc = shmetrics_counter_register(reg, &spec, &c);
        break;
    case GAUGE:
        rc = shmetrics_gauge_register(reg, &spec, &g);
        break;
    case HISTOGRAM_VLLM:
        spec.buckets = latency_buckets;
        spec.nbuckets = NLATENCY;
        /* fall through */
    case HISTOGRAM_DEFAULT:
        rc = shmetrics_histogram_register(reg, &spec, &h);
        break;
    default:
        rc = shmetrics_summary_register(reg, &spec, &s);
        break;
    }
    if (rc < 0)
        die("register");
    for (int i = 0; i < n; i++) {
        char handler[64];
        snprintf(handler, sizeof handler, "/api/v1/resource/%d", i);
        const char *vals[] = {handler, "200"};
        shmetrics_counter_series_t *cs;
        shmetrics_gauge_series_t *gs;
        shmetrics_histogram_series_t *hs;
        shmetrics_summary_series_t *ss;
        if (c && (rc = shmetrics_counter_labelv(c, 2, vals, &cs)) == 0)
            shmetrics_counter_add(cs, 1);
        else if (g && (rc = shmetrics_gauge_labelv(g, 2, vals, &gs)) == 0)
            shmetrics_gauge_set(gs, 1);
        else if (h && (rc = shmetrics_histogram_labelv(h, 2, vals, &hs)) == 0)
            shmetrics_histogram_observe(hs, 0.25);
        else if (s && (rc = shmetrics_summary_labelv(s, 2, vals, &ss)) == 0)
            for (int k = 0; k < 200; k++) /* 1 ms .. 1 s, log-spaced */
                shmetrics_summary_observe(ss, 0.001 * pow(1000.0, k / 199.0));
        if (rc < 0)
            die("labels");
    }
}

int main(void)
{
    double bytes[NKINDS], resident[NKINDS];
    uint32_t shards = 0;
    for (int k = 0; k < NKINDS; k++) {
        int n = k == SUMMARY ? 16 : 1000;
        char path[128];
        snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-mem-%d", (int)getpid());
        unlink(path);
        shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL};
        shmetrics_registry_t *reg;
        shmetrics_arena_info_t before, after;
        if (shmetrics_open(&o, &reg) < 0 || shmetrics_arena_info(reg, &before) < 0)
            die("open");
        double blocks = file_blocks(path);
        fill(reg, (enum kind)k, n);
        if (shmetrics_arena_info(reg, &after) < 0)
            die("info");
        shards = after.shards;
        /* The family's own record and heap bytes are spread over its series. */
        bytes[k] = (used_bytes(&after) - used_bytes(&before)) / n;
        resident[k] = (file_blocks(path) - blocks) / n;
        shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    }
    for (int k = 0; k < NKINDS; k++) {
        char extra[128];
        snprintf(extra, sizeof extra, "\"shards\": %u, \"resident_bytes_per_series\": %.1f", shards, resident[k]);
        bench_emit(kind_names[k], 1, 1, "bytes_per_series", bytes[k], bytes[COUNTER], "memory_counter", extra);
    }
    return 0;
}
