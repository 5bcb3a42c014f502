/* SPDX-License-Identifier: MIT */
/*
 * src/cli/top.c - owns `shmetrics top`: its options, and the choice between
 * the full-screen view (top_screen.c) and plain-text snapshots
 * (top_batch.c) over the model of top_model.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "top.h"

static int run_top(int argc, char **argv)
{
    const char *arena = NULL, *filter = "", *collector = NULL;
    struct top_opts o = {.interval_ms = 1000};
    bool batch = false, once = false, count_given = false;
    int sort = TOP_SORT_RATE;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) {
            fputs(verb_top.usage, stdout);
            return EXIT_OK;
        }
        if (arg[0] != '-')
            return cli_usage_error(&verb_top, "unexpected argument %s", arg);
        if (strcmp(arg, "--batch") == 0 || strcmp(arg, "-b") == 0) {
            batch = true;
            continue;
        }
        if (strcmp(arg, "--once") == 0 || strcmp(arg, "-1") == 0) {
            once = true;
            continue;
        }
        if (strcmp(arg, "--arena") != 0 && strcmp(arg, "--interval") != 0 && strcmp(arg, "--count") != 0 &&
            strcmp(arg, "--sort") != 0 && strcmp(arg, "--filter") != 0 && strcmp(arg, "--collector") != 0)
            return cli_usage_error(&verb_top, "unknown option %s", arg);
        if (i + 1 >= argc)
            return cli_usage_error(&verb_top, "%s needs a value", arg);
        const char *val = argv[++i];
        if (strcmp(arg, "--arena") == 0)
            arena = val;
        else if (strcmp(arg, "--filter") == 0)
            filter = val;
        else if (strcmp(arg, "--collector") == 0) {
            if (!top_collector_addr_ok(val))
                return cli_usage_error(&verb_top, "--collector takes HOST:PORT (127.0.0.1:9400), not '%s'", val);
            collector = val;
        } else if (strcmp(arg, "--interval") == 0) {
            if (!cli_parse_duration(val, &o.interval_ms) || o.interval_ms < 10 || o.interval_ms > 3600000)
                return cli_usage_error(&verb_top, "--interval takes a duration from 10ms to 1h (2s, 500ms), not '%s'",
                                       val);
        } else if (strcmp(arg, "--count") == 0) {
            if (!cli_parse_u32(val, 1, 1000000000, &o.count))
                return cli_usage_error(&verb_top, "--count takes a whole number from 1 to 1000000000, not '%s'", val);
            count_given = true;
        } else if ((sort = top_sort_parse(val)) < 0)
            return cli_usage_error(&verb_top, "--sort takes rate, value or name, not '%s'", val);
    }
    if (once && count_given)
        return cli_usage_error(&verb_top, "--once and --count: give one of them (--once is --count 1)");
    if (once)
        o.count = 1;
    batch = batch || once || !isatty(STDOUT_FILENO);
    if (count_given && !batch)
        return cli_usage_error(&verb_top, "--count is for --batch: the full-screen view runs until q");
    arena = cli_arena(arena);
    if (!arena)
        return cli_usage_error(&verb_top, "no arena: give --arena PATH or set SHMETRICS_ARENA");
    if (!batch && !isatty(STDIN_FILENO))
        return cli_usage_error(&verb_top, "the full-screen view needs a terminal on standard input (or --batch)");

    struct top_model m;
    int st = top_model_open(&m, arena);
    if (st)
        return st;
    m.sort = (enum top_sort)sort;
    struct top_collector col = {.addr = collector};
    if (collector) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        m.collector = &col;
    }
    if (top_model_filter(&m, filter) < 0) {
        char why[sizeof m.err];
        snprintf(why, sizeof why, "%s", m.err);
        top_model_close(&m);
        return cli_usage_error(&verb_top, "%s", why);
    }
    st = batch ? top_batch(&m, &o, stdout) : top_screen(&m, &o);
    top_model_close(&m);
    return st;
}

const struct verb verb_top = {
    "top",
    "a live view of an arena: values, rates, percentiles",
    "usage: shmetrics top [--arena PATH] [--interval DURATION] [--sort KEY] [--filter REGEX]\n"
    "                     [--collector HOST:PORT]\n"
    "       shmetrics top --batch [--count N] [...]\n"
    "       shmetrics top --once [...]\n"
    "\n"
    "Opens the arena read-only, as the collector does, and shows every series,\n"
    "read again every interval: counters with their value and rate per second,\n"
    "gauges with their value and mode, histograms with the rate of observations\n"
    "and p50 and p99 estimated from the buckets (over the observations since the\n"
    "previous read, as Prometheus' histogram_quantile estimates them), summaries\n"
    "with their quantiles; above them the arena's use (families, series, memory)\n"
    "and its processes (attached, dead, exited); with --collector, the figures\n"
    "of the collector serving it (scrapes, the last one's duration, memory).\n"
    "\n"
    "Keys: q quits; / types a filter (an extended regular expression matched\n"
    "against the name and labels, name{label=\"value\",...}; empty for none); s\n"
    "sorts by rate, then value, then name; arrows, PgUp, PgDn, Home and End\n"
    "scroll.\n"
    "\n"
    "With --batch, or when standard output is not a terminal, prints plain text\n"
    "snapshots instead, one every interval, each with rates over the interval\n"
    "before it: a header, then a line per row.  --once prints one (after one\n"
    "interval) and exits.\n"
    "\n"
    "  --arena PATH        the arena (default: $SHMETRICS_ARENA)\n"
    "  --interval DURATION the time between reads (default 1s; 10ms to 1h)\n"
    "  --sort KEY          rate (the default: largest first), value or name\n"
    "  --filter REGEX      only the rows whose name{labels} matches REGEX\n"
    "  --collector HOST:PORT\n"
    "                      read the figures of the collector (shmetrics serve)\n"
    "                      there from its /metrics at each refresh\n"
    "  --batch, -b         plain text snapshots\n"
    "  --count N           with --batch: stop after N snapshots\n"
    "  --once, -1          one snapshot: --batch --count 1\n"
    "  --help              this message\n",
    run_top,
};
