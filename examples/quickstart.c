/* SPDX-License-Identifier: MIT */
/*
 * examples/quickstart.c - the README example: open an arena, register a
 * labelled counter, resolve a series, increment it, print the exposition.
 */
#include <shmetrics.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *arena = argc > 1 ? argv[1] : "quickstart";
    shmetrics_options_t opts = {.path = arena, .flags = SHMETRICS_OPEN_CREATE};
    shmetrics_registry_t *reg;
    if (shmetrics_open(&opts, &reg) < 0) {
        fprintf(stderr, "open: %s\n", shmetrics_errmsg());
        return 1;
    }

    const char *labels[] = {"method", "code"};
    shmetrics_spec_t spec = {.name = "http_requests_total",
                             .help = "Requests served.",
                             .label_names = labels,
                             .nlabels = 2};
    shmetrics_counter_t *requests;
    shmetrics_counter_series_t *ok;
    if (shmetrics_counter_register(reg, &spec, &requests) < 0 ||
        shmetrics_counter_labels(requests, &ok, "GET", "200", NULL) < 0) {
        fprintf(stderr, "register: %s\n", shmetrics_errmsg());
        return 1;
    }
    for (int i = 0; i < 1000; i++)
        shmetrics_counter_add(ok, 1); /* the hot path: one relaxed atomic add */

    shmetrics_snapshot_t *snap;
    char *text;
    if (shmetrics_collect(reg, &snap) < 0 || shmetrics_format_prometheus(snap, &text, NULL) < 0) {
        fprintf(stderr, "collect: %s\n", shmetrics_errmsg());
        return 1;
    }
    fputs(text, stdout);
    free(text);
    shmetrics_snapshot_free(snap);
    return shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK) < 0;
}
