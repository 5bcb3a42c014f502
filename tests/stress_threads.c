/* SPDX-License-Identifier: MIT */
/*
 * tests/stress_threads.c - the threaded paths of one process, written to be
 * run under ThreadSanitizer: hot counter and gauge updates, exemplars of
 * one counter and one histogram bucket written by every thread, concurrent
 * label resolution and registration, all while a collector thread reads
 * (and checks that every exemplar it sees is one a thread wrote whole).
 *
 * It is a plain program rather than a Criterion suite because Criterion's
 * sandbox maps its shared arena at fixed addresses that ThreadSanitizer
 * reserves for its shadow memory; it reports like the other suites and
 * exits non-zero on any failed check.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmetrics.h"

#if defined(__SANITIZE_THREAD__)
#define ITER 20000u
#else
#define ITER 200000u
#endif
#define THREADS 8
#define SETS 64

static int passed, failed;

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (cond) {                                              \
            passed++;                                            \
        } else {                                                 \
            failed++;                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
        }                                                        \
    } while (0)

static shmetrics_registry_t *reg;
static shmetrics_counter_t *hot;
static shmetrics_gauge_t *level;
static shmetrics_histogram_t *lat;
static shmetrics_summary_t *ttft;
static shmetrics_counter_t *ex;
static shmetrics_histogram_t *exh;
static int stop_collector;
#define EXEMPLAR_EVERY 8u

/* An exemplar is whole when its trace id, "T-N", says its value N. */
static void check_exemplar(const shmetrics_exemplar_t *x, const char *what)
{
    if (!x)
        return;
    unsigned t = 0, n = 0;
    char tail = 0;
    bool whole = x->nlabels == 1 && strcmp(x->labels[0].name, "trace_id") == 0 &&
                 sscanf(x->labels[0].value, "%u-%u%c", &t, &n, &tail) == 2 && t < THREADS && (double)n == x->value;
    CHECK(whole, "%s: a torn exemplar: %s=%s value %g", what, x->nlabels ? x->labels[0].name : "-",
          x->nlabels ? x->labels[0].value : "-", x->value);
}

static void check_exemplars(const shmetrics_snapshot_t *snap)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        if (strcmp(f->name, "ex") == 0 || strcmp(f->name, "exh") == 0)
            for (size_t j = 0; j < f->nsamples; j++)
                check_exemplar(f->samples[j].exemplar, f->name);
    }
}

static double sample(const shmetrics_snapshot_t *snap, const char *fam, const char *label_value)
{
    for (size_t i = 0; i < snap->nfamilies; i++) {
        const shmetrics_family_t *f = &snap->families[i];
        if (strcmp(f->name, fam) != 0)
            continue;
        for (size_t j = 0; j < f->nsamples; j++)
            if (!label_value || (f->samples[j].nlabels && strcmp(f->samples[j].labels[0].value, label_value) == 0))
                return f->samples[j].value;
    }
    return -1;
}

static void *collector(void *arg)
{
    (void)arg;
    double last = 0;
    int scrapes = 0;
    while (!__atomic_load_n(&stop_collector, __ATOMIC_ACQUIRE)) {
        shmetrics_snapshot_t *snap;
        char *text;
        if (shmetrics_collect(reg, &snap) < 0 || shmetrics_format_prometheus(snap, &text, NULL) < 0) {
            CHECK(0, "collect: %s", shmetrics_errmsg());
            return NULL;
        }
        check_exemplars(snap);
        double v = sample(snap, "hot", "x");
        /* A counter read while it is being incremented never goes back. */
        if (v >= 0) {
            CHECK(v >= last, "counter went back from %f to %f", last, v);
            last = v;
        }
        free(text);
        shmetrics_snapshot_free(snap);
        scrapes++;
    }
    CHECK(scrapes > 0, "the collector never ran");
    return NULL;
}

static void *worker(void *arg)
{
    long t = (long)arg;
    shmetrics_counter_series_t *s;
    shmetrics_gauge_series_t *g;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *q;
    shmetrics_counter_series_t *xs;
    shmetrics_histogram_series_t *xh;
    if (shmetrics_counter_labels(hot, &s, "x", NULL) < 0 || shmetrics_gauge_labels(level, &g, NULL) < 0 ||
        shmetrics_histogram_labels(lat, &h, NULL) < 0 || shmetrics_summary_labels(ttft, &q, NULL) < 0 ||
        shmetrics_counter_labels(ex, &xs, NULL) < 0 || shmetrics_histogram_labels(exh, &xh, NULL) < 0) {
        CHECK(0, "labels: %s", shmetrics_errmsg());
        return NULL;
    }
    for (unsigned i = 0; i < ITER; i++) {
        if (t & 1)
            shmetrics_counter_add(s, 1);
        else
            shmetrics_counter_inc(s, 1.0);
        shmetrics_gauge_inc(g, 2);
        shmetrics_gauge_dec(g, 1);
        shmetrics_histogram_observe(h, (double)(i % 7));
        shmetrics_summary_observe(q, 0.25 * (double)(i % 5 + 1));
        if (i % EXEMPLAR_EVERY == 0) {
            char id[32];
            snprintf(id, sizeof id, "%ld-%u", t, i + 1);
            shmetrics_label_t l[] = {{"trace_id", id}};
            /* CHECK counts passes in a plain int: workers only report failures. */
            if (shmetrics_counter_inc_exemplar(xs, (double)(i + 1), l, 1) != 0 ||
                shmetrics_histogram_observe_exemplar(xh, (double)(i + 1), l, 1) != 0) {
                CHECK(0, "exemplar: %s", shmetrics_errmsg());
                return NULL;
            }
        }
    }
    /* Every thread resolves every label set, in its own order. */
    shmetrics_counter_t *sets;
    const char *lbl[] = {"set"};
    shmetrics_spec_t spec = {.name = "sets_total", .help = "h", .label_names = lbl, .nlabels = 1};
    if (shmetrics_counter_register(reg, &spec, &sets) < 0) {
        CHECK(0, "register: %s", shmetrics_errmsg());
        return NULL;
    }
    for (int k = 0; k < SETS; k++) {
        char v[16];
        snprintf(v, sizeof v, "s%d", (int)((k * 37 + t * 11) % SETS));
        shmetrics_counter_series_t *ss;
        if (shmetrics_counter_labels(sets, &ss, v, NULL) < 0) {
            CHECK(0, "labels: %s", shmetrics_errmsg());
            return NULL;
        }
        shmetrics_counter_add(ss, 10);
    }
    return NULL;
}

int main(void)
{
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-stress-%d", (int)getpid());
    unlink(path);
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE};
    if (shmetrics_open(&o, &reg) < 0) {
        fprintf(stderr, "open: %s\n", shmetrics_errmsg());
        return 1;
    }
    const char *lbl[] = {"k"};
    shmetrics_spec_t cs = {.name = "hot_total", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_spec_t gs = {.name = "level", .help = "h", .gauge_mode = SHMETRICS_MODE_SUM};
    CHECK(shmetrics_counter_register(reg, &cs, &hot) == 0, "%s", shmetrics_errmsg());
    CHECK(shmetrics_gauge_register(reg, &gs, &level) == 0, "%s", shmetrics_errmsg());
    const double b[] = {1, 3, 5};
    shmetrics_spec_t hs = {.name = "lat", .help = "h", .buckets = b, .nbuckets = 3};
    shmetrics_spec_t ss = {.name = "ttft", .help = "h"};
    CHECK(shmetrics_histogram_register(reg, &hs, &lat) == 0, "%s", shmetrics_errmsg());
    CHECK(shmetrics_summary_register(reg, &ss, &ttft) == 0, "%s", shmetrics_errmsg());
    shmetrics_spec_t xcs = {.name = "ex_total", .help = "h"};
    shmetrics_spec_t xhs = {.name = "exh", .help = "h", .buckets = b, .nbuckets = 1};
    CHECK(shmetrics_counter_register(reg, &xcs, &ex) == 0, "%s", shmetrics_errmsg());
    CHECK(shmetrics_histogram_register(reg, &xhs, &exh) == 0, "%s", shmetrics_errmsg());

    pthread_t col, th[THREADS];
    pthread_create(&col, NULL, collector, NULL);
    for (long t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, worker, (void *)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    __atomic_store_n(&stop_collector, 1, __ATOMIC_RELEASE);
    pthread_join(col, NULL);

    shmetrics_snapshot_t *snap;
    CHECK(shmetrics_collect(reg, &snap) == 0, "%s", shmetrics_errmsg());
    CHECK(sample(snap, "hot", "x") == (double)THREADS * ITER, "hot = %f", sample(snap, "hot", "x"));
    CHECK(sample(snap, "level", NULL) == (double)THREADS * ITER, "level = %f", sample(snap, "level", NULL));
    size_t nsets = 0;
    for (size_t i = 0; i < snap->nfamilies; i++)
        if (strcmp(snap->families[i].name, "sets") == 0)
            nsets = snap->families[i].nsamples;
    CHECK(nsets == SETS, "%zu label sets", nsets);
    /* Each thread added 1 + 9 + 17 + ... (i + 1 for i = 0, 8, ...). */
    double per_thread = 0;
    for (unsigned i = 0; i < ITER; i += EXEMPLAR_EVERY)
        per_thread += i + 1;
    CHECK(sample(snap, "ex", NULL) == THREADS * per_thread, "ex = %f", sample(snap, "ex", NULL));
    check_exemplars(snap);
    size_t seen = 0;
    for (size_t i = 0; i < snap->nfamilies; i++)
        for (size_t j = 0; j < snap->families[i].nsamples; j++)
            seen += snap->families[i].samples[j].exemplar != NULL;
    CHECK(seen == 3, "%zu exemplars in the end (the counter's, the histogram's bucket 1 and +Inf)", seen);
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *q;
    CHECK(shmetrics_histogram_labels(lat, &h, NULL) == 0 && shmetrics_summary_labels(ttft, &q, NULL) == 0, "labels");
    CHECK(shmetrics_histogram_count(h) == (uint64_t)THREADS * ITER, "histogram count %llu",
          (unsigned long long)shmetrics_histogram_count(h));
    CHECK(shmetrics_summary_count(q) == (uint64_t)THREADS * ITER, "summary count %llu",
          (unsigned long long)shmetrics_summary_count(q));
    double med = 0;
    CHECK(shmetrics_summary_quantile(q, 0.5, 0, &med) == 0 && med > 0.74 && med < 0.76, "median %g", med);
    for (int k = 0; k < SETS; k++) {
        char v[16];
        snprintf(v, sizeof v, "s%d", k);
        CHECK(sample(snap, "sets", v) == 10.0 * THREADS, "%s = %f", v, sample(snap, "sets", v));
    }
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
