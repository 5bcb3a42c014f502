/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_created.c - the creation times of series (OpenMetrics'
 * _created): set when a series is published, moved by a reset and by a
 * revival, shown by the text formats and switched off as prometheus_client
 * switches it off; and the reader's checks of the bytes layout 4 added (a
 * unit, a type, a creation time, a state index, an info key), each record
 * that fails skipped and counted as damaged with its reason.
 */
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "../shm/layout.h"
#include "../src/read/reader.h"
#include "common.h"

static shmetrics_registry_t *reg;
static const char *path;

static void setup(void)
{
    unsetenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    path = test_arena_path("created");
    reg = test_open(path, SHMETRICS_OPEN_CREATE);
}

static void teardown(void)
{
    unsetenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(created, .init = setup, .fini = teardown);
TestSuite(damage, .init = setup, .fini = teardown);

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Seconds as the library converts nanoseconds: whole and fraction apart
 * (a plain division rounds some times the other way). */
static double secs(uint64_t ns)
{
    return (double)(ns / 1000000000u) + (double)(ns % 1000000000u) / 1e9;
}

static shmetrics_snapshot_t *collect(void)
{
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0, "%s", shmetrics_errmsg());
    return snap;
}

/* Every sample of family `name` has creation time `lo` <= t <= `hi`
 * (ns, converted as the library converts them); returns t. */
static double assert_created_within(const shmetrics_snapshot_t *snap, const char *name, uint64_t lo, uint64_t hi)
{
    const shmetrics_family_t *f = test_family(snap, name);
    cr_assert(f && f->nsamples, "%s", name);
    double t = f->samples[0].created;
    cr_assert(t >= secs(lo) && t <= secs(hi), "%s: %.9f not within [%.9f, %.9f]", name, t, secs(lo), secs(hi));
    for (size_t j = 0; j < f->nsamples; j++)
        cr_assert_eq(f->samples[j].created, t, "%s: every sample of the series", name);
    return t;
}

static void counter_hist_summary(shmetrics_counter_series_t **c, shmetrics_histogram_series_t **h,
                                 shmetrics_summary_series_t **s)
{
    const char *lbl[] = {"code"};
    const double b[] = {1};
    shmetrics_spec_t cs = {.name = "jobs", .help = "h", .label_names = lbl, .nlabels = 1};
    shmetrics_spec_t hs = {.name = "lat", .help = "h", .buckets = b, .nbuckets = 1, .unit = "seconds"};
    shmetrics_spec_t ss = {.name = "ttft", .help = "h", .quantiles = b, .nquantiles = 0};
    shmetrics_counter_t *cm;
    shmetrics_histogram_t *hm;
    shmetrics_summary_t *sm;
    cr_assert_eq(shmetrics_counter_register(reg, &cs, &cm), 0);
    cr_assert_eq(shmetrics_histogram_register(reg, &hs, &hm), 0);
    cr_assert_eq(shmetrics_summary_register(reg, &ss, &sm), 0);
    cr_assert_eq(shmetrics_counter_labels(cm, c, "200", NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(hm, h, NULL), 0);
    cr_assert_eq(shmetrics_summary_labels(sm, s, NULL), 0);
}

Test(created, the_time_a_series_was_published)
{
    uint64_t before = real_ns();
    shmetrics_counter_series_t *c;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *s;
    counter_hist_summary(&c, &h, &s);
    uint64_t after = real_ns();
    shmetrics_spec_t gs = {.name = "g", .gauge_mode = SHMETRICS_MODE_MOSTRECENT};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *gv;
    cr_assert_eq(shmetrics_gauge_register(reg, &gs, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &gv, NULL), 0);
    shmetrics_snapshot_t *snap = collect();
    assert_created_within(snap, "jobs", before, after);
    assert_created_within(snap, "lat_seconds", before, after);
    assert_created_within(snap, "ttft", before, after);
    cr_assert_eq(test_family(snap, "g")->samples[0].created, 0.0, "gauges have none");
    shmetrics_snapshot_free(snap);
}

Test(created, moved_by_a_reset_and_by_a_revival)
{
    shmetrics_counter_series_t *c;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *s;
    counter_hist_summary(&c, &h, &s);
    shmetrics_snapshot_t *snap = collect();
    double first = assert_created_within(snap, "jobs", 0, real_ns());
    shmetrics_snapshot_free(snap);
    struct timespec ms = {0, 2000000};
    nanosleep(&ms, NULL);
    uint64_t before = real_ns();
    cr_assert_eq(shmetrics_reset(reg), 0);
    uint64_t after = real_ns();
    snap = collect();
    double reset = assert_created_within(snap, "jobs", before, after);
    assert_created_within(snap, "lat_seconds", before, after);
    assert_created_within(snap, "ttft", before, after);
    cr_assert_gt(reset, first);
    shmetrics_snapshot_free(snap);

    /* A series removed and registered again is a new series. */
    shmetrics_counter_t *cm;
    cr_assert_eq(shmetrics_counter_get(reg, "jobs", &cm), 0);
    cr_assert_eq(shmetrics_counter_remove(cm, "200", NULL), 0);
    nanosleep(&ms, NULL);
    before = real_ns();
    cr_assert_eq(shmetrics_counter_labels(cm, &c, "200", NULL), 0);
    after = real_ns();
    snap = collect();
    assert_created_within(snap, "jobs", before, after);
    shmetrics_snapshot_free(snap);
}

/* A clock a test sets: it returns *arg and counts its calls. */
static int clock_calls;
static double fixed_clock(void *arg)
{
    clock_calls++;
    return *(const double *)arg;
}

static double created_of(const char *name)
{
    shmetrics_snapshot_t *snap = collect();
    const shmetrics_family_t *f = test_family(snap, name);
    cr_assert(f && f->nsamples, "%s", name);
    double t = f->samples[0].created;
    shmetrics_snapshot_free(snap);
    return t;
}

Test(created, stamped_by_the_registry_s_clock)
{
    double now = 123.456;
    clock_calls = 0;
    cr_assert_eq(shmetrics_registry_set_clock(reg, fixed_clock, &now), 0);
    shmetrics_counter_series_t *c;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *s;
    counter_hist_summary(&c, &h, &s);
    cr_assert_eq(clock_calls, 3, "one call a new series, got %d", clock_calls);
    cr_assert_eq(created_of("jobs"), 123.456);
    cr_assert_eq(created_of("lat_seconds"), 123.456);
    cr_assert_eq(created_of("ttft"), 123.456);

    /* A known series: no call. */
    shmetrics_counter_t *cm;
    cr_assert_eq(shmetrics_counter_get(reg, "jobs", &cm), 0);
    cr_assert_eq(shmetrics_counter_labels(cm, &c, "200", NULL), 0);
    cr_assert_eq(clock_calls, 3);

    /* An exemplar's time. */
    const shmetrics_label_t ex[] = {{"trace_id", "abc"}};
    cr_assert_eq(shmetrics_counter_inc_exemplar(c, 2, ex, 1), 0);
    shmetrics_snapshot_t *snap = collect();
    const shmetrics_exemplar_t *e = test_family(snap, "jobs")->samples[0].exemplar;
    cr_assert(e);
    cr_assert_eq(e->timestamp, 123.456, "%.9f", e->timestamp);
    shmetrics_snapshot_free(snap);

    /* A reset and a revival. */
    now = 1700000000.25;
    cr_assert_eq(shmetrics_reset(reg), 0);
    cr_assert_eq(created_of("jobs"), 1700000000.25);
    cr_assert_eq(created_of("ttft"), 1700000000.25);
    now = 1700000001.5;
    cr_assert_eq(shmetrics_counter_remove(cm, "200", NULL), 0);
    cr_assert_eq(shmetrics_counter_labels(cm, &c, "200", NULL), 0);
    cr_assert_eq(created_of("jobs"), 1700000001.5);

    /* No time (NaN, 0, negative, past 2^33 s): the library's own clock. */
    const double none[] = {NAN, 0, -1, 8589934592.0, INFINITY};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        now = none[i];
        cr_assert_eq(shmetrics_counter_remove(cm, "200", NULL), 0);
        uint64_t before = real_ns();
        cr_assert_eq(shmetrics_counter_labels(cm, &c, "200", NULL), 0);
        uint64_t after = real_ns();
        double t = created_of("jobs");
        cr_assert(t >= secs(before) && t <= secs(after), "clock %g: %.9f", none[i], t);
    }

    /* NULL: the library's clock again, without a call. */
    cr_assert_eq(shmetrics_registry_set_clock(reg, NULL, NULL), 0);
    int calls = clock_calls;
    cr_assert_eq(shmetrics_counter_remove(cm, "200", NULL), 0);
    uint64_t before = real_ns();
    cr_assert_eq(shmetrics_counter_labels(cm, &c, "200", NULL), 0);
    cr_assert_geq(created_of("jobs"), secs(before));
    cr_assert_eq(clock_calls, calls);
}

Test(created, a_clock_on_a_bad_handle)
{
    cr_assert_eq(shmetrics_registry_set_clock(NULL, fixed_clock, NULL), -EINVAL);
    cr_assert(strstr(shmetrics_errmsg(), "shmetrics_registry_set_clock"), "%s", shmetrics_errmsg());
    int junk[16] = {0};
    cr_assert_eq(shmetrics_registry_set_clock((shmetrics_registry_t *)junk, fixed_clock, NULL), -EINVAL);
}

/* How the formats spell `v`: the value of a gauge built by hand. */
static char *spell(double v)
{
    shmetrics_sample_t smp = {.suffix = "", .value = v};
    shmetrics_family_t f = {.name = "v", .help = "", .type = SHMETRICS_GAUGE, .nsamples = 1, .samples = &smp};
    shmetrics_snapshot_t snap = {.nfamilies = 1, .families = &f};
    char *text;
    cr_assert_eq(shmetrics_format(&snap, SHMETRICS_FORMAT_PROMETHEUS, &text, NULL), 0);
    char *value = strdup(strstr(text, "\nv ") + 3);
    *strchr(value, '\n') = 0;
    free(text);
    return value;
}

Test(created, shown_in_openmetrics_not_in_0_0_4)
{
    shmetrics_counter_series_t *c;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *s;
    counter_hist_summary(&c, &h, &s);
    shmetrics_counter_add(c, 2);
    shmetrics_histogram_observe(h, 0.5);
    shmetrics_summary_observe(s, 3);
    shmetrics_snapshot_t *snap = collect();
    char *tc = spell(test_family(snap, "jobs")->samples[0].created);
    char *th = spell(test_family(snap, "lat_seconds")->samples[0].created);
    char *ts = spell(test_family(snap, "ttft")->samples[0].created);
    char want[2048], *text;
    snprintf(want, sizeof want,
             /* 0.0.4: no creation times (as client_golang) */
             "# HELP jobs_total h\n# TYPE jobs_total counter\njobs_total{code=\"200\"} 2\n"
             "# HELP lat_seconds h\n# TYPE lat_seconds histogram\nlat_seconds_bucket{le=\"1.0\"} 1\n"
             "lat_seconds_bucket{le=\"+Inf\"} 1\nlat_seconds_sum 0.5\nlat_seconds_count 1\n"
             "# HELP ttft h\n# TYPE ttft summary\nttft_sum 3\nttft_count 1\n");
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_PROMETHEUS, &text, NULL), 0);
    cr_assert_str_eq(text, want);
    free(text);
    snprintf(want, sizeof want,
             "# TYPE jobs counter\n# HELP jobs h\njobs_total{code=\"200\"} 2\njobs_created{code=\"200\"} %s\n"
             "# TYPE lat_seconds histogram\n# UNIT lat_seconds seconds\n# HELP lat_seconds h\n"
             "lat_seconds_bucket{le=\"1.0\"} 1\nlat_seconds_bucket{le=\"+Inf\"} 1\nlat_seconds_sum 0.5\n"
             "lat_seconds_count 1\nlat_seconds_created %s\n"
             "# TYPE ttft summary\n# HELP ttft h\nttft_sum 3\nttft_count 1\nttft_created %s\n# EOF\n",
             tc, th, ts);
    cr_assert_eq(shmetrics_format(snap, SHMETRICS_FORMAT_OPENMETRICS, &text, NULL), 0);
    cr_assert_str_eq(text, want);
    free(text);
    free(tc);
    free(th);
    free(ts);
    shmetrics_snapshot_free(snap);
}

/* Does format `fmt` of the arena show a creation time? */
static bool shows_created(shmetrics_format_t fmt, unsigned flags)
{
    shmetrics_snapshot_t *snap = collect();
    char *text;
    cr_assert_eq(shmetrics_format_with(snap, fmt, flags, &text, NULL), 0);
    bool shown = strstr(text, "_created") != NULL;
    free(text);
    shmetrics_snapshot_free(snap);
    return shown;
}

Test(created, switched_off_by_a_flag_or_prometheus_client_s_variable)
{
    shmetrics_counter_series_t *c;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *s;
    counter_hist_summary(&c, &h, &s);
    cr_assert(!shows_created(SHMETRICS_FORMAT_PROMETHEUS, 0), "0.0.4 never shows them");
    const shmetrics_format_t fmt = SHMETRICS_FORMAT_OPENMETRICS;
    cr_assert(shows_created(fmt, 0));
    cr_assert(!shows_created(fmt, SHMETRICS_FORMAT_NO_CREATED));
    const char *off[] = {"True", "true", "1", "t", "T"}, *on[] = {"False", "0", "", "yes"};
    for (size_t i = 0; i < 5; i++) {
        setenv("PROMETHEUS_DISABLE_CREATED_SERIES", off[i], 1);
        cr_assert(!shows_created(fmt, 0), "%s", off[i]);
    }
    for (size_t i = 0; i < 4; i++) {
        setenv("PROMETHEUS_DISABLE_CREATED_SERIES", on[i], 1);
        cr_assert(shows_created(fmt, 0), "%s", on[i]);
    }
    unsetenv("PROMETHEUS_DISABLE_CREATED_SERIES");
    shmetrics_snapshot_t *snap = collect();
    char *text = NULL;
    cr_assert_eq(shmetrics_format_with(snap, SHMETRICS_FORMAT_PROMETHEUS, 0x100, &text, NULL), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "unknown format flags 0x100");
    cr_assert_null(text);
    cr_assert_eq(shmetrics_format_with(snap, SHMETRICS_FORMAT_PROMETHEUS,
                                       SHMETRICS_FORMAT_UTF8 | SHMETRICS_FORMAT_ESCAPE_DOTS, &text, NULL),
                 -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "format flags 0x6 name more than one escaping scheme");
    cr_assert_null(text);
    shmetrics_snapshot_free(snap);
}

/* ----------------------------------------------------------------- damage */

/* The arena file, mapped read-write as a hostile writer would. */
struct mapped {
    char *p;
    size_t size;
    const struct shm_header *h;
};

static struct mapped map_arena(void)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    cr_assert(fd >= 0 && fstat(fd, &st) == 0);
    struct mapped m = {mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), (size_t)st.st_size,
                       NULL};
    cr_assert(m.p != MAP_FAILED);
    close(fd);
    m.h = (const struct shm_header *)m.p;
    return m;
}

static struct shm_family *family_rec(struct mapped *m, const char *name, uint32_t *idx)
{
    struct shm_family *f = (struct shm_family *)(m->p + m->h->off_families);
    for (uint32_t i = 0; i < m->h->families_used; i++)
        if (f[i].name_len == strlen(name) && memcmp(m->p + m->h->off_heap + f[i].name_off, name, f[i].name_len) == 0) {
            *idx = i;
            return &f[i];
        }
    cr_assert_fail("no family %s", name);
    return NULL;
}

/* The last series record of family `fam`, and its index. */
static struct shm_series *series_rec(struct mapped *m, uint32_t fam, uint32_t *idx)
{
    struct shm_series *s = (struct shm_series *)(m->p + m->h->off_series), *found = NULL;
    for (uint32_t i = 0; i < m->h->series_used; i++)
        if (s[i].family == fam) {
            found = &s[i];
            *idx = i;
        }
    cr_assert(found, "a series of family %u", fam);
    return found;
}

/* One record damaged: the snapshot counts it, gives `why`, and lacks
 * family `gone` while it keeps family `kept`. */
static void assert_damaged(const char *why, const char *gone, const char *kept)
{
    shmetrics_snapshot_t *snap = collect();
    cr_assert_eq(snap->damaged, 1, "%s", smx_snapshot_first_damage(snap));
    cr_assert_str_eq(smx_snapshot_first_damage(snap), why);
    const shmetrics_family_t *f = test_family(snap, gone);
    cr_assert(!f || f->nsamples == 0, "%s is not shown", gone);
    cr_assert(test_family(snap, kept) && test_family(snap, kept)->nsamples, "%s is still read", kept);
    shmetrics_snapshot_free(snap);
}

static void a_good_counter(void)
{
    shmetrics_spec_t sp = {.name = "good"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(reg, &sp, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
}

Test(damage, a_bad_unit_or_an_unknown_type)
{
    a_good_counter();
    shmetrics_spec_t sp = {.name = "size", .unit = "bytes"};
    shmetrics_gauge_t *g;
    shmetrics_gauge_series_t *s;
    cr_assert_eq(shmetrics_gauge_register(reg, &sp, &g), 0);
    cr_assert_eq(shmetrics_gauge_labels(g, &s, NULL), 0);
    struct mapped m = map_arena();
    uint32_t fi;
    struct shm_family *f = family_rec(&m, "size_bytes", &fi);
    char *unit = m.p + m.h->off_heap + f->unit_off;
    unit[2] = '-';
    char why[96];
    snprintf(why, sizeof why, "family record %u: bad unit", fi);
    assert_damaged(why, "size_bytes", "good");
    unit[2] = 't';
    f->unit_len = 65;
    assert_damaged(why, "size_bytes", "good");
    f->unit_len = 5;
    f->type = 7;
    snprintf(why, sizeof why, "family record %u: unknown type 7", fi);
    assert_damaged(why, "size_bytes", "good");
    f->type = SHM_TYPE_INFO;
    snprintf(why, sizeof why, "family record %u: bad gauge mode 0", fi);
    assert_damaged(why, "size_bytes", "good");
    munmap(m.p, m.size);
}

Test(damage, a_creation_time_unset_or_more_than_a_day_ahead)
{
    a_good_counter();
    shmetrics_spec_t sp = {.name = "jobs"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(reg, &sp, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    struct mapped m = map_arena();
    uint32_t fi, si;
    family_rec(&m, "jobs", &fi);
    struct shm_series *rec = series_rec(&m, fi, &si);
    uint64_t ahead = real_ns() + UINT64_C(2) * 86400 * 1000000000u;
    rec->created_ns = ahead;
    char why[128];
    snprintf(why, sizeof why, "series record %u: creation time %llu ns is not plausible", si,
             (unsigned long long)ahead);
    assert_damaged(why, "jobs", "good");
    rec->created_ns = 0;
    snprintf(why, sizeof why, "series record %u: creation time 0 ns is not plausible", si);
    assert_damaged(why, "jobs", "good");
    /* An hour ahead (a clock stepped back) is still a time. */
    uint64_t hour = real_ns() + UINT64_C(3600) * 1000000000u;
    rec->created_ns = hour;
    shmetrics_snapshot_t *snap = collect();
    cr_assert_eq(snap->damaged, 0);
    cr_assert_eq(test_family(snap, "jobs")->samples[0].created, secs(hour));
    shmetrics_snapshot_free(snap);
    munmap(m.p, m.size);
}

Test(damage, a_state_index_that_names_no_state)
{
    a_good_counter();
    const char *states[] = {"a", "b", "c"};
    shmetrics_spec_t sp = {.name = "st", .states = states, .nstates = 3};
    shmetrics_enum_t *e;
    shmetrics_enum_series_t *s;
    cr_assert_eq(shmetrics_enum_register(reg, &sp, &e), 0);
    cr_assert_eq(shmetrics_enum_labels(e, &s, NULL), 0);
    struct mapped m = map_arena();
    uint32_t fi, si;
    family_rec(&m, "st", &fi);
    series_rec(&m, fi, &si);
    munmap(m.p, m.size);
    /* A writer of the arena that stores what no state is: the cell is a
     * gauge's, and shmetrics_gauge_set writes any value into it. */
    const double bad[] = {3, -1, 0.5, NAN, INFINITY};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(shmetrics_gauge_set(&s->gauge, bad[i]), 0);
        char why[96];
        snprintf(why, sizeof why, "series record %u: state index %g out of range (3 states)", si, bad[i]);
        assert_damaged(why, "st", "good");
    }
    cr_assert_eq(shmetrics_enum_state(s, "c"), 0);
    shmetrics_snapshot_t *snap = collect();
    cr_assert_eq(snap->damaged, 0);
    const char *c[] = {"st=c"};
    cr_assert_eq(test_sample(snap, "st", 1, c), 1.0);
    shmetrics_snapshot_free(snap);
}

Test(damage, bad_state_names_or_an_info_key)
{
    a_good_counter();
    const char *states[] = {"a", "b"};
    shmetrics_spec_t sp = {.name = "st", .states = states, .nstates = 2};
    shmetrics_enum_t *e;
    shmetrics_enum_series_t *es;
    cr_assert_eq(shmetrics_enum_register(reg, &sp, &e), 0);
    cr_assert_eq(shmetrics_enum_labels(e, &es, NULL), 0);
    struct mapped m = map_arena();
    uint32_t fi;
    struct shm_family *f = family_rec(&m, "st", &fi);
    char *list = m.p + m.h->off_heap + f->states_off;
    list[2] = 'a'; /* "a\0a\0": a state twice */
    char why[96];
    snprintf(why, sizeof why, "family record %u: bad state names", fi);
    assert_damaged(why, "st", "good");
    list[2] = 'b';
    f->nstates = 3;
    assert_damaged(why, "st", "good");
    f->nstates = 2;
    munmap(m.p, m.size);

    shmetrics_spec_t is = {.name = "build"};
    shmetrics_info_t *i;
    shmetrics_info_series_t *s;
    cr_assert_eq(shmetrics_info_register(reg, &is, &i), 0);
    cr_assert_eq(shmetrics_info_labels(i, &s, NULL), 0);
    shmetrics_label_t v[] = {{"version", "1"}};
    cr_assert_eq(shmetrics_info_set(s, v, 1), 0);
    m = map_arena();
    uint32_t si;
    family_rec(&m, "build", &fi);
    struct shm_series *rec = series_rec(&m, fi, &si);
    char *key = m.p + m.h->off_heap + rec->key_off;
    memcpy(key, "__", 2); /* version -> __rsion: reserved */
    snprintf(why, sizeof why, "series record %u: bad label values", si);
    shmetrics_snapshot_t *snap = collect();
    cr_assert_eq(snap->damaged, 1);
    cr_assert_str_eq(smx_snapshot_first_damage(snap), why);
    const shmetrics_family_t *bf = test_family(snap, "build");
    cr_assert_eq(bf->nsamples, 1, "the empty value set is shown instead");
    cr_assert_eq(bf->samples[0].nlabels, 0);
    shmetrics_snapshot_free(snap);
    memcpy(key, "ve", 2);
    key[rec->key_len - 2] = 0; /* a value with no name: an odd member count */
    snap = collect();
    cr_assert_eq(snap->damaged, 1);
    cr_assert_str_eq(smx_snapshot_first_damage(snap), why);
    shmetrics_snapshot_free(snap);
    munmap(m.p, m.size);
}
