/* SPDX-License-Identifier: MIT */
/*
 * src/bench/scrape.c - owns the timing of one scrape and of its baseline
 * (see scrape.h), shared by bench/collector.c and shmetrics bench.
 */
#include "scrape.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

int bench_scrape_once(shmetrics_registry_t *reg, struct bench_scrape *out)
{
    double w0 = bench_now_ns();
    double t0 = bench_thread_cpu_ns();
    shmetrics_snapshot_t *snap;
    char *text;
    size_t len;
    int rc = shmetrics_collect(reg, &snap);
    if (rc < 0)
        return rc;
    out->collect_ns = bench_thread_cpu_ns() - t0;
    if ((rc = shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, &text, &len)) < 0) {
        shmetrics_snapshot_free(snap);
        return rc;
    }
    out->nseries = snap->nseries;
    shmetrics_snapshot_free(snap);
    free(text);
    out->cpu_ns = bench_thread_cpu_ns() - t0;
    out->wall_ns = bench_now_ns() - w0;
    out->bytes = len;
    return 0;
}

int bench_snprintf_text(const shmetrics_snapshot_t *snap, double *ns, size_t *samples)
{
    double t0 = bench_thread_cpu_ns();
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL)
        return -ENOMEM;
    *samples = 0;
    for (size_t f = 0; f < snap->nfamilies; f++) {
        const shmetrics_family_t *fam = &snap->families[f];
        for (size_t i = 0; i < fam->nsamples; i++) {
            const shmetrics_sample_t *s = &fam->samples[i];
            for (;;) {
                size_t room = cap - len;
                int k = snprintf(buf + len, room, "%s%s{", fam->name, s->suffix);
                for (size_t l = 0; l < s->nlabels && k >= 0 && (size_t)k < room; l++)
                    k += snprintf(buf + len + k, room - (size_t)k, "%s%s=\"%s\"", l ? "," : "", s->labels[l].name,
                                  s->labels[l].value);
                if (k >= 0 && (size_t)k < room)
                    k += snprintf(buf + len + k, room - (size_t)k, "} %.17g\n", s->value);
                if (k >= 0 && (size_t)k < room) {
                    len += (size_t)k;
                    break;
                }
                cap *= 2;
                char *bigger = realloc(buf, cap);
                if (bigger == NULL) {
                    free(buf);
                    return -ENOMEM;
                }
                buf = bigger;
            }
            ++*samples;
        }
    }
    free(buf);
    *ns = bench_thread_cpu_ns() - t0;
    return 0;
}
