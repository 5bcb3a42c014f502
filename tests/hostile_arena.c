/* SPDX-License-Identifier: MIT */
/*
 * tests/hostile_arena.c - owns the hostile-writer tests: a process
 * (tests/scribble) overwrites one region of an arena with random bytes
 * while this process collects and encodes it in a loop.
 *
 * For every region, on a fresh arena written by a child process (a labelled
 * counter, a gauge in mode sum, a histogram, a summary, a counter without
 * labels, a gauge in mode all): no scrape crashes, hangs (each collect and
 * encode gets SCRAPE_LIMIT_S, else the test aborts) or breaks the
 * exposition rules; families whose bytes the scribbler did not touch read
 * exactly what was written; and the defect the scribbler leaves is counted
 * in the snapshot's `damaged`.  Collections use a fixed time, so summary
 * windows do not move during the test.
 */
#include <signal.h>
#include <spawn.h>
#include <time.h>

#include "../fuzz/fuzz_util.h"
#include "common.h"

#define SCRIBBLE_SECONDS "1"
#define SCRAPE_LIMIT_S 60
#define MAX_BASE 64

extern char **environ;

/* One sample of the baseline: its family, its identity and its value. */
struct base {
    char family[32];
    char key[256];
    double value;
};

struct check {
    struct base base[MAX_BASE];
    size_t nbase;
    uint64_t now;
};

enum expect {
    EXACT,    /* the family reads as written */
    SUBSET,   /* every sample as written; more samples may appear */
    NO_WRONG, /* samples may be missing, none has another value */
    ANY,      /* the scribbler wrote its bytes: anything that passes the rules */
};

static void sample_key(char *out, size_t cap, const shmetrics_family_t *f, const shmetrics_sample_t *s)
{
    int n = snprintf(out, cap, "%s%s{", f->name, s->suffix);
    for (size_t k = 0; k < s->nlabels && n > 0 && (size_t)n < cap; k++)
        n += snprintf(out + n, cap - (size_t)n, "%s=%s,", s->labels[k].name, s->labels[k].value);
    if (n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, "}");
}

static bool same_value(double a, double b)
{
    return a == b || (a != a && b != b);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "hostile_arena: a scrape took longer than the limit: the collector hangs\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    abort();
}

/* A child writes the seven families and exits (shutdown folds its mode-sum
 * gauge into the retired unit; its mode-all slot stays, exited). */
static void populate(const char *path)
{
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid) {
        test_wait_all(&pid, 1);
        return;
    }
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .families = 16,
                             .series = 64,
                             .processes = 4,
                             .shards = 2,
                             .cells = 65536};
    shmetrics_registry_t *r;
    if (shmetrics_open(&o, &r) < 0)
        _exit(1);
    const char *method[] = {"method"}, *route[] = {"route"};
    double bounds[] = {0.1, 1, 10};
    shmetrics_spec_t a = {.name = "a_requests_total", .help = "A.", .label_names = method, .nlabels = 1};
    shmetrics_spec_t b = {.name = "b_depth", .help = "B.", .gauge_mode = SHMETRICS_MODE_SUM};
    shmetrics_spec_t c =
        {.name = "c_latency", .help = "C.", .label_names = route, .nlabels = 1, .buckets = bounds, .nbuckets = 3};
    shmetrics_spec_t d = {.name = "d_tokens", .help = "D."};
    shmetrics_spec_t e = {.name = "e_jobs_total", .help = "E."};
    shmetrics_spec_t f = {.name = "f_workers", .help = "F.", .gauge_mode = SHMETRICS_MODE_ALL};
    /* Native buckets of magnitudes in (2^-1, 2^1] at schema 3: observations
     * outside take spill slots (keys in the cells). */
    shmetrics_spec_t g = {.name = "g_native",
                          .help = "G.",
                          .native = SHMETRICS_HISTOGRAM_BOTH,
                          .buckets = bounds,
                          .nbuckets = 3,
                          .native_schema = 3,
                          .native_min_exponent = -1,
                          .native_max_exponent = 1};
    shmetrics_histogram_t *gm;
    shmetrics_histogram_series_t *gs;
    shmetrics_counter_t *am, *em;
    shmetrics_gauge_t *bm, *fm;
    shmetrics_histogram_t *cm;
    shmetrics_summary_t *dm;
    shmetrics_counter_series_t *as, *es;
    shmetrics_gauge_series_t *bs, *fs;
    shmetrics_histogram_series_t *cs;
    shmetrics_summary_series_t *ds;
    if (shmetrics_counter_register(r, &a, &am) || shmetrics_gauge_register(r, &b, &bm) ||
        shmetrics_histogram_register(r, &c, &cm) || shmetrics_summary_register(r, &d, &dm) ||
        shmetrics_counter_register(r, &e, &em) || shmetrics_gauge_register(r, &f, &fm))
        _exit(2);
    if (shmetrics_counter_labels(am, &as, "GET", NULL))
        _exit(3);
    shmetrics_counter_add(as, 5);
    if (shmetrics_counter_labels(am, &as, "POST", NULL))
        _exit(3);
    shmetrics_counter_add(as, 7);
    if (shmetrics_gauge_labels(bm, &bs, NULL) || shmetrics_gauge_set(bs, 3.5) ||
        shmetrics_histogram_labels(cm, &cs, "/x", NULL) || shmetrics_summary_labels(dm, &ds, NULL) ||
        shmetrics_counter_labels(em, &es, NULL) || shmetrics_gauge_labels(fm, &fs, NULL) || shmetrics_gauge_set(fs, 1))
        _exit(4);
    shmetrics_histogram_observe(cs, 0.05);
    shmetrics_histogram_observe(cs, 0.5);
    shmetrics_histogram_observe(cs, 5);
    shmetrics_histogram_observe(cs, 50);
    for (int i = 1; i <= 100; i++)
        shmetrics_summary_observe(ds, i);
    shmetrics_counter_add(es, 42);
    if (shmetrics_histogram_register(r, &g, &gm) || shmetrics_histogram_labels(gm, &gs, NULL))
        _exit(5);
    static const double gv[] = {0.75, 1.5, -1, 0, 0.001, 100, -300, 1e9};
    for (size_t i = 0; i < sizeof gv / sizeof gv[0]; i++)
        shmetrics_histogram_observe(gs, gv[i]);
    /* Exemplars: a counter's and a histogram's blocks in the pool. */
    static const shmetrics_label_t ex[] = {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}};
    if (shmetrics_counter_inc_exemplar(es, 1, ex, 1) || shmetrics_histogram_observe_exemplar(cs, 0.5, ex, 1) ||
        shmetrics_histogram_observe_exemplar(gs, 5, ex, 1))
        _exit(6);
    shmetrics_shutdown(r, 0);
    _exit(0);
}

/* Collect and encode once, within the time limit; checks the rules. */
static shmetrics_snapshot_t *scrape(shmetrics_registry_t *reg, uint64_t now)
{
    alarm(SCRAPE_LIMIT_S);
    shmetrics_snapshot_t *snap = NULL;
    int rc = shmetrics_collect_at(reg, now, &snap);
    cr_assert_eq(rc, 0, "collect: %s", shmetrics_errmsg());
    fz_check_snapshot(snap);
    for (int fmt = 0; fmt < 3; fmt++) {
        char *out;
        size_t len;
        cr_assert_eq(shmetrics_format(snap, (shmetrics_format_t)fmt, &out, &len), 0);
        fz_check_exposition(out, len);
        free(out);
    }
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    size_t np;
    cr_assert_eq(shmetrics_processes(reg, NULL, 0, &np), 0);
    alarm(0);
    return snap;
}

static void record_baseline(struct check *c, const shmetrics_snapshot_t *snap)
{
    c->nbase = 0;
    for (size_t i = 0; i < snap->nfamilies; i++)
        for (size_t j = 0; j < snap->families[i].nsamples; j++) {
            cr_assert_lt(c->nbase, MAX_BASE);
            struct base *b = &c->base[c->nbase++];
            snprintf(b->family, sizeof b->family, "%s", snap->families[i].name);
            sample_key(b->key, sizeof b->key, &snap->families[i], &snap->families[i].samples[j]);
            b->value = snap->families[i].samples[j].value;
        }
    cr_assert_eq(snap->nfamilies, 7, "the seven families are there before scribbling");
    cr_assert_eq(snap->damaged, 0);
}

/* Samples of `family` in `snap` carrying `key`, and how many have `value`. */
static size_t find(const shmetrics_snapshot_t *snap, const char *family, const char *key, double value, size_t *same)
{
    size_t n = 0;
    *same = 0;
    char k[256];
    for (size_t i = 0; i < snap->nfamilies; i++) {
        if (strcmp(snap->families[i].name, family) != 0)
            continue;
        for (size_t j = 0; j < snap->families[i].nsamples; j++) {
            sample_key(k, sizeof k, &snap->families[i], &snap->families[i].samples[j]);
            if (strcmp(k, key) == 0) {
                n++;
                *same += same_value(snap->families[i].samples[j].value, value);
            }
        }
    }
    return n;
}

static size_t family_samples(const shmetrics_snapshot_t *snap, const char *family)
{
    size_t n = 0;
    for (size_t i = 0; i < snap->nfamilies; i++)
        if (strcmp(snap->families[i].name, family) == 0)
            n += snap->families[i].nsamples;
    return n;
}

static void judge(const struct check *c, const shmetrics_snapshot_t *snap, const char *family, enum expect e,
                  const char *region)
{
    size_t expected = 0;
    for (size_t i = 0; i < c->nbase; i++) {
        const struct base *b = &c->base[i];
        if (strcmp(b->family, family) != 0)
            continue;
        expected++;
        size_t same, n = find(snap, family, b->key, b->value, &same);
        if (e == EXACT || e == SUBSET)
            cr_assert(same >= 1, "%s: scribbling %s changed or hid %s", family, region, b->key);
        if (e == EXACT)
            cr_assert_eq(n, 1, "%s: scribbling %s doubled %s", family, region, b->key);
        if (e == NO_WRONG)
            cr_assert_eq(same, n, "%s: scribbling %s made %s wrong", family, region, b->key);
    }
    if (e == EXACT)
        cr_assert_eq(family_samples(snap, family), expected, "%s: scribbling %s added samples", family, region);
}

static const char *const families[] = {"a_requests", "b_depth",   "c_latency", "d_tokens",
                                       "e_jobs",     "f_workers", "g_native"};

/* Scribble `region` (of `target` only, if given) while scraping. */
static void run_region(const char *region, const char *target, const enum expect exp[7], bool damage)
{
    const char *scribble = getenv("SHMETRICS_SCRIBBLE");
    cr_assert(scribble, "SHMETRICS_SCRIBBLE names the scribble program");
    signal(SIGALRM, on_alarm);
    char path[128];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-test-hostile-%d", (int)getpid());
    unlink(path);
    populate(path);
    shmetrics_registry_t *reg = test_open(path, SHMETRICS_OPEN_READONLY);
    static struct check c;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c.now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    shmetrics_snapshot_t *snap = scrape(reg, c.now);
    record_baseline(&c, snap);
    shmetrics_snapshot_free(snap);

    char seed[32];
    snprintf(seed, sizeof seed, "%d", (int)getpid());
    char *argv[] = {(char *)scribble, path, (char *)region, SCRIBBLE_SECONDS, seed, (char *)target, NULL};
    if (!target)
        argv[5] = NULL;
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, scribble, NULL, NULL, argv, environ), 0);
    unsigned long scrapes = 0;
    uint64_t most_damaged = 0;
    int st = 0;
    for (;;) {
        pid_t done = waitpid(pid, &st, WNOHANG);
        snap = scrape(reg, c.now);
        scrapes++;
        most_damaged = snap->damaged > most_damaged ? snap->damaged : most_damaged;
        for (int i = 0; i < 7; i++)
            judge(&c, snap, families[i], exp[i], region);
        bool last = done == pid;
        if (last && damage)
            cr_assert_gt(snap->damaged, 0, "the defect left in %s is counted as damage", region);
        shmetrics_snapshot_free(snap);
        if (last)
            break;
    }
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "scribble %s failed: 0x%x", region, st);
    printf("hostile_arena: %s%s%s: %lu scrapes while scribbling, at most %llu damaged records\n", region,
           target ? " of " : "", target ? target : "", scrapes, (unsigned long long)most_damaged);
    fflush(stdout);
    shmetrics_shutdown(reg, 0);
    unlink(path);
}

#define E EXACT
#define S SUBSET
#define N NO_WRONG
#define X ANY

TestSuite(hostile, .timeout = 300);

Test(hostile, header_after_attach_changes_nothing)
{
    /* The reader took every offset from its private copy at attach. */
    run_region("header-fixed", NULL, (enum expect[7]){E, E, E, E, E, E, E}, false);
}

Test(hostile, allocation_words_hide_records_but_never_change_values)
{
    run_region("header-words", NULL, (enum expect[7]){N, N, N, N, N, N, N}, false);
}

Test(hostile, indexes_are_not_read_by_the_collector)
{
    run_region("family-index", NULL, (enum expect[7]){E, E, E, E, E, E, E}, false);
    run_region("series-index", NULL, (enum expect[7]){E, E, E, E, E, E, E}, false);
}

Test(hostile, process_table_touches_gauges_only)
{
    run_region("procs", NULL, (enum expect[7]){E, X, E, E, E, X, E}, true);
}

Test(hostile, one_family_record)
{
    /* A rewritten record may point its name at another family's (in the
     * heap): it then shows up under that name, beside that family's own
     * samples. */
    run_region("families", "c_latency", (enum expect[7]){S, S, X, S, S, S, S}, true);
    run_region("families", "b_depth", (enum expect[7]){S, X, S, S, S, S, S}, true);
}

Test(hostile, one_family_series_records)
{
    /* A rewritten series record may name another family whose labels its
     * key fits: that family gains a series, and keeps its own. */
    run_region("series", "a_requests", (enum expect[7]){X, S, S, S, S, S, S}, true);
    run_region("series", "d_tokens", (enum expect[7]){S, S, S, X, S, S, S}, true);
}

Test(hostile, one_family_strings)
{
    run_region("heap", "d_tokens", (enum expect[7]){E, E, E, X, E, E, E}, true);
    run_region("heap", "c_latency", (enum expect[7]){E, E, X, E, E, E, E}, true);
}

Test(hostile, one_family_cells)
{
    run_region("cells", "c_latency", (enum expect[7]){E, E, X, E, E, E, E}, false);
    run_region("cells", "d_tokens", (enum expect[7]){E, E, E, X, E, E, E}, false);
    run_region("cells", "b_depth", (enum expect[7]){E, X, E, E, E, E, E}, false);
}

Test(hostile, native_family_record_and_cells)
{
    /* Bytes 108..127 of the record (kind, schema, zero threshold, bucket
     * limit, dense range) and the spill keys in the cells. */
    run_region("families", "g_native", (enum expect[7]){S, S, S, S, S, S, X}, true);
    run_region("cells", "g_native", (enum expect[7]){E, E, E, E, E, E, X}, false);
}

Test(hostile, exemplar_blocks_never_change_values)
{
    /* An exemplar may be hidden or wrong-but-valid; no sample changes. */
    run_region("exemplars", "e_jobs", (enum expect[7]){E, E, E, E, E, E, E}, true);
    run_region("exemplars", NULL, (enum expect[7]){E, E, E, E, E, E, E}, true);
}

Test(hostile, whole_regions)
{
    run_region("families", NULL, (enum expect[7]){X, X, X, X, X, X, X}, true);
    run_region("series", NULL, (enum expect[7]){X, X, X, X, X, X, X}, true);
    run_region("heap", NULL, (enum expect[7]){X, X, X, X, X, X, X}, true);
    run_region("cells", NULL, (enum expect[7]){X, X, X, X, X, X, X}, false);
    run_region("all", NULL, (enum expect[7]){X, X, X, X, X, X, X}, false);
}
