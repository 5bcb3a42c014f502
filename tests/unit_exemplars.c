/* SPDX-License-Identifier: MIT */
/*
 * tests/unit_exemplars.c - exemplars of counters and histogram buckets: each
 * read back exactly, every refusal (code, message, and the count left
 * alone), a full pool, damaged slots skipped and counted, a writer killed
 * in the middle of a write and the slot taken over, and two processes
 * writing one counter's exemplar while a reader checks that it never sees
 * one torn.
 */
#include <math.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "../shm/arena.h"
#include "../shm/layout.h"
#include "../shm/names.h"
#include "../src/read/reader.h"
#include "../src/write/registry.h"
#include "common.h"

static shmetrics_registry_t *reg;
static const char *path;
static shmetrics_counter_series_t *cs;
static shmetrics_histogram_series_t *hs;

static const double bounds[] = {0.1, 0.5, 1};

static void setup(void)
{
    path = test_arena_path("exemplars");
    reg = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_counter_t *c;
    shmetrics_histogram_t *h;
    shmetrics_spec_t cspec = {.name = "requests", .help = "r"};
    shmetrics_spec_t hspec = {.name = "latency", .help = "l", .buckets = bounds, .nbuckets = 3};
    cr_assert_eq(shmetrics_counter_register(reg, &cspec, &c), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_register(reg, &hspec, &h), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_counter_labels(c, &cs, NULL), 0);
    cr_assert_eq(shmetrics_histogram_labels(h, &hs, NULL), 0);
}

static void teardown(void)
{
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
}

TestSuite(exemplars, .init = setup, .fini = teardown);

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static shmetrics_snapshot_t *collect(void)
{
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(reg, &snap), 0, "%s", shmetrics_errmsg());
    return snap;
}

static const shmetrics_sample_t *sample(const shmetrics_snapshot_t *snap, const char *fam, size_t i)
{
    const shmetrics_family_t *f = test_family(snap, fam);
    cr_assert(f && f->nsamples > i, "%s", fam);
    return &f->samples[i];
}

static void assert_exemplar(const shmetrics_exemplar_t *x, double value, uint64_t lo, uint64_t hi, size_t n,
                            const shmetrics_label_t *want)
{
    cr_assert(x, "no exemplar");
    cr_assert_eq(x->value, value, "value %g, want %g", x->value, value);
    /* The stamp is CLOCK_REALTIME_COARSE: a few ticks behind the precise
     * clock the test read before the write, at most (seen: 1.5). */
    struct timespec res;
    cr_assert_eq(clock_getres(CLOCK_REALTIME_COARSE, &res), 0);
    double tick = (double)res.tv_sec + (double)res.tv_nsec / 1e9;
    cr_assert(x->timestamp >= (double)lo / 1e9 - 4 * tick - 1e-6 && x->timestamp <= (double)hi / 1e9 + 1e-6,
              "timestamp %.9f, read between %.9f and %.9f (tick %.6f)", x->timestamp, (double)lo / 1e9,
              (double)hi / 1e9, tick);
    cr_assert_eq(x->nlabels, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(x->labels[i].name, want[i].name);
        cr_assert_str_eq(x->labels[i].value, want[i].value);
    }
}

static const uint64_t *block_of(const void *handle, uint32_t nslots)
{
    const uint64_t *b;
    cr_assert_eq(shm_exemplar_find(reg->arena, smx_series_of_handle(handle)->idx, nslots, &b), 0, "%s",
                 shmetrics_errmsg());
    return b;
}

Test(exemplars, counter_exemplar_read_back_exactly)
{
    static const shmetrics_label_t l[] = {{"trace_id", "abc"}, {"span_id", "\xc3\xa9t\xc3\xa9"}};
    shmetrics_counter_add(cs, 4);
    uint64_t lo = real_ns();
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 1.5, l, 2), 0, "%s", shmetrics_errmsg());
    uint64_t hi = real_ns();
    shmetrics_snapshot_t *snap = collect();
    const shmetrics_sample_t *s = sample(snap, "requests", 0);
    cr_assert_eq(s->value, 5.5);
    assert_exemplar(s->exemplar, 1.5, lo, hi, 2, l);
    cr_assert_eq(snap->damaged, 0);
    shmetrics_snapshot_free(snap);

    /* The last one wins; an exemplar may have no labels; add takes whole numbers. */
    lo = real_ns();
    cr_assert_eq(shmetrics_counter_add_exemplar(cs, 7, NULL, 0), 0, "%s", shmetrics_errmsg());
    hi = real_ns();
    snap = collect();
    s = sample(snap, "requests", 0);
    cr_assert_eq(s->value, 12.5);
    assert_exemplar(s->exemplar, 7, lo, hi, 0, NULL);
    shmetrics_snapshot_free(snap);
}

Test(exemplars, no_exemplar_no_block)
{
    shmetrics_counter_add(cs, 1);
    shmetrics_snapshot_t *snap = collect();
    cr_assert_null(sample(snap, "requests", 0)->exemplar);
    for (size_t i = 0; i < 6; i++)
        cr_assert_null(sample(snap, "latency", i)->exemplar);
    shmetrics_snapshot_free(snap);
    const uint64_t *b;
    cr_assert_eq(shm_exemplar_find(reg->arena, smx_series_of_handle(cs)->idx, 1, &b), -ENOENT);
}

Test(exemplars, histogram_exemplar_per_bucket)
{
    static const shmetrics_label_t a[] = {{"trace_id", "a"}}, b[] = {{"trace_id", "b"}}, c[] = {{"trace_id", "c"}};
    uint64_t lo = real_ns();
    cr_assert_eq(shmetrics_histogram_observe_exemplar(hs, 0.3, a, 1), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_observe_exemplar(hs, 0.5, b, 1), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_observe_exemplar(hs, 7, c, 1), 0, "%s", shmetrics_errmsg());
    uint64_t hi = real_ns();
    shmetrics_snapshot_t *snap = collect();
    /* _bucket le=0.1, 0.5, 1, +Inf, then _sum and _count */
    cr_assert_null(sample(snap, "latency", 0)->exemplar);
    assert_exemplar(sample(snap, "latency", 1)->exemplar, 0.5, lo, hi, 1, b); /* 0.5 came last to le=0.5 */
    cr_assert_null(sample(snap, "latency", 2)->exemplar);
    assert_exemplar(sample(snap, "latency", 3)->exemplar, 7, lo, hi, 1, c);
    cr_assert_null(sample(snap, "latency", 4)->exemplar);
    cr_assert_null(sample(snap, "latency", 5)->exemplar);
    cr_assert_eq(sample(snap, "latency", 5)->value, 3);
    cr_assert_eq(sample(snap, "latency", 4)->value, 7.8);
    shmetrics_snapshot_free(snap);
}

/* A value of n characters of `ch` (UTF-8 bytes `ch`). */
static char *repeat(const char *ch, size_t n)
{
    size_t l = strlen(ch);
    char *s = malloc(n * l + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, ch, l);
    s[n * l] = 0;
    return s;
}

Test(exemplars, at_most_128_characters)
{
    /* "t" and 127 four-byte characters: 128 characters, 509 bytes, 511 with the NULs. */
    char *v = repeat("\xf0\x9f\x98\x80", 127);
    shmetrics_label_t l[] = {{"t", v}};
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 1, l, 1), 0, "%s", shmetrics_errmsg());
    shmetrics_snapshot_t *snap = collect();
    const shmetrics_exemplar_t *x = sample(snap, "requests", 0)->exemplar;
    cr_assert(x);
    cr_assert_str_eq(x->labels[0].value, v);
    shmetrics_snapshot_free(snap);
    free(v);

    v = repeat("x", 126); /* "tr" + 126: 128 characters */
    shmetrics_label_t m[] = {{"tr", v}};
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 1, m, 1), 0, "%s", shmetrics_errmsg());
    free(v);
    v = repeat("x", 127); /* 129 */
    m[0].value = v;
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 1, m, 1), -EINVAL);
    cr_assert_str_eq(shmetrics_errmsg(), "exemplar labels have 129 UTF-8 characters, exceeding the limit of 128");
    free(v);
    cr_assert_eq(shmetrics_counter_sum(cs), 2); /* the refused one did not count */
}

static void assert_refused(int rc, const char *msg)
{
    cr_assert_eq(rc, -EINVAL, "rc %d", rc);
    cr_assert_str_eq(shmetrics_errmsg(), msg);
}

Test(exemplars, every_refusal_changes_nothing)
{
    static const shmetrics_label_t bad_name[] = {{"trace-id", "a"}};
    static const shmetrics_label_t bad_utf8[] = {{"trace_id", "a\xff"}};
    static const shmetrics_label_t twice[] = {{"a", "1"}, {"a", "2"}};
    static const shmetrics_label_t null_value[] = {{"a", NULL}};
    static const shmetrics_label_t null_name[] = {{NULL, "1"}};
    static const shmetrics_label_t ok[] = {{"a", "1"}};
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, bad_name, 1),
                   "exemplar label name \"trace-id\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    assert_refused(shmetrics_counter_add_exemplar(cs, 1, bad_utf8, 1),
                   "exemplar label trace_id: the value is not UTF-8");
    assert_refused(shmetrics_histogram_observe_exemplar(hs, 1, twice, 2), "exemplar label a is given twice");
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, null_value, 1), "exemplar label 0: NULL value");
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, null_name, 1), "exemplar label 0: NULL name");
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, NULL, 2), "exemplar: 2 labels but no array");
    assert_refused(shmetrics_counter_inc_exemplar(cs, -1, ok, 1),
                   "counter increment: -1 is negative; the value is unchanged");
    assert_refused(shmetrics_counter_inc_exemplar(cs, INFINITY, ok, 1),
                   "counter increment: inf is infinite; the value is unchanged");
    assert_refused(shmetrics_counter_inc_exemplar(cs, NAN, ok, 1),
                   "counter increment: nan is not a number; the value is unchanged");
    assert_refused(shmetrics_histogram_observe_exemplar(hs, NAN, ok, 1),
                   "histogram observation with an exemplar: nan is not a number; nothing is observed");
    assert_refused(shmetrics_histogram_observe_exemplar(hs, -INFINITY, ok, 1),
                   "histogram observation with an exemplar: -inf is infinite; nothing is observed");
    /* The checks' bounds: a name refused at its last byte, an empty name,
     * a value longer than 128 four-byte characters (the encoder stops
     * reading it, the message counts it all), more labels than characters. */
    static const shmetrics_label_t late_bad[] = {{"trace_id.", "a"}};
    static const shmetrics_label_t empty_name[] = {{"", "a"}};
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, late_bad, 1),
                   "exemplar label name \"trace_id.\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, empty_name, 1),
                   "exemplar label name \"\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    char *longv = repeat("y", 600);
    shmetrics_label_t long_value[] = {{"t", longv}};
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, long_value, 1),
                   "exemplar labels have 601 UTF-8 characters, exceeding the limit of 128");
    free(longv);
    shmetrics_label_t many[130];
    char names[130][8];
    for (int i = 0; i < 130; i++) {
        snprintf(names[i], sizeof names[i], "l%d", i);
        many[i] = (shmetrics_label_t){names[i], ""};
    }
    /* l0..l9: 10 x 2, l10..l99: 90 x 3, l100..l129: 30 x 4 characters. */
    assert_refused(shmetrics_counter_inc_exemplar(cs, 1, many, 130),
                   "exemplar labels have 410 UTF-8 characters, exceeding the limit of 128");
    assert_refused(shmetrics_counter_inc_exemplar(NULL, 1, ok, 1), "counter_inc_exemplar: NULL series");
    assert_refused(shmetrics_counter_add_exemplar(NULL, 1, ok, 1), "counter_add_exemplar: NULL series");
    assert_refused(shmetrics_histogram_observe_exemplar(NULL, 1, ok, 1), "histogram_observe_exemplar: NULL series");
    cr_assert_eq(shmetrics_counter_sum(cs), 0);
    uint64_t b[4];
    cr_assert_eq(shmetrics_histogram_buckets(hs, b, 4), 0);
    cr_assert_eq(b[3], 0);
    const uint64_t *blk;
    cr_assert_eq(shm_exemplar_find(reg->arena, smx_series_of_handle(cs)->idx, 1, &blk), -ENOENT);
    cr_assert_eq(shm_exemplar_find(reg->arena, smx_series_of_handle(hs)->idx, 4, &blk), -ENOENT);
}

Test(exemplars, full_pool_counts_but_keeps_no_exemplar)
{
    /* A pool of one page (512 words): the histogram's block (24 words) fits,
     * its exemplar block (8 + 15 * 72 words, the 14 default buckets and +Inf)
     * does not. */
    const char *p = test_arena_path("exemplars-full");
    shmetrics_options_t o = {.path = p, .flags = SHMETRICS_OPEN_CREATE, .cells = 512};
    shmetrics_registry_t *r;
    cr_assert_eq(shmetrics_open(&o, &r), 0, "%s", shmetrics_errmsg());
    shmetrics_histogram_t *h;
    shmetrics_histogram_series_t *s;
    shmetrics_spec_t spec = {.name = "h", .help = "h"};
    cr_assert_eq(shmetrics_histogram_register(r, &spec, &h), 0, "%s", shmetrics_errmsg());
    cr_assert_eq(shmetrics_histogram_labels(h, &s, NULL), 0);
    static const shmetrics_label_t l[] = {{"trace_id", "x"}};
    int rc = shmetrics_histogram_observe_exemplar(s, 0.2, l, 1);
    cr_assert_eq(rc, -ENOSPC, "rc %d %s", rc, shmetrics_errmsg());
    cr_assert_str_eq(shmetrics_errmsg(), "h: exemplar: arena full: the cell pool (4096 bytes) has no room for 8704 "
                                         "more for an exemplar block (create the arena with more --cells)");
    cr_assert_eq(shmetrics_histogram_sum(s), 0.2); /* counted all the same */
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(exemplars, damaged_slots_are_skipped_and_counted)
{
    static const shmetrics_label_t l[] = {{"trace_id", "abc"}};
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 2, l, 1), 0);
    uint64_t *slot = (uint64_t *)(uintptr_t)block_of(cs, 1) + SHM_EXEMPLAR_HEADER_WORDS;
    struct {
        uint32_t word;
        uint64_t value;
        const char *why;
    } cases[] = {
        {SHM_EXEMPLAR_LEN, 513, "exemplar 0: label text of 513 bytes"},
        {SHM_EXEMPLAR_TEXT_W, 0x0063626100646974ull /* "tid\0abc\0" wrong name */, NULL},
        {SHM_EXEMPLAR_TEXT_W, 0x00ff626100642d74ull /* "t-d\0ab\xff\0" */, "exemplar 0: bad labels, value or time"},
        {SHM_EXEMPLAR_VALUE, 0x7ff8000000000000ull /* NaN */, "exemplar 0: bad labels, value or time"},
        {SHM_EXEMPLAR_TS, 0, "exemplar 0: bad labels, value or time"},
    };
    uint32_t series = smx_series_of_handle(cs)->idx;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 2, l, 1), 0);
        slot[cases[i].word] = cases[i].value;
        if (cases[i].word == SHM_EXEMPLAR_TEXT_W)
            slot[SHM_EXEMPLAR_LEN] = 8;
        shmetrics_snapshot_t *snap = collect();
        const shmetrics_sample_t *s = sample(snap, "requests", 0);
        cr_assert_eq(s->value, 2.0 * (double)(i + 2), "case %zu: the series stays", i);
        if (!cases[i].why) { /* "tid"="abc": well formed, read as it is */
            cr_assert(s->exemplar);
            cr_assert_str_eq(s->exemplar->labels[0].name, "tid");
            cr_assert_eq(snap->damaged, 0);
        } else {
            char want[160];
            snprintf(want, sizeof want, "series record %u: %s", series, cases[i].why);
            cr_assert_null(s->exemplar, "case %zu", i);
            cr_assert_eq(snap->damaged, 1, "case %zu", i);
            cr_assert_str_eq(smx_snapshot_first_damage(snap), want, "case %zu", i);
        }
        shmetrics_snapshot_free(snap);
    }
    /* A block whose header is not an exemplar block's. */
    uint64_t *hdr = (uint64_t *)(uintptr_t)block_of(cs, 1);
    hdr[SHM_EXEMPLAR_MAGIC_W] = 1;
    shmetrics_snapshot_t *snap = collect();
    cr_assert_null(sample(snap, "requests", 0)->exemplar);
    cr_assert_eq(snap->damaged, 1);
    char want[96];
    snprintf(want, sizeof want, "series record %u: bad exemplar block header", series);
    cr_assert_str_eq(smx_snapshot_first_damage(snap), want);
    shmetrics_snapshot_free(snap);
}

Test(exemplars, writer_killed_mid_write_is_taken_over)
{
    static const shmetrics_label_t dead[] = {{"trace_id", "dead"}}, live[] = {{"trace_id", "live"}},
                                   late[] = {{"trace_id", "late"}};
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 1, live, 1), 0); /* the block exists */
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        shm_exemplar_stop_hook = 1;
        shmetrics_counter_inc_exemplar(cs, 99, dead, 1); /* stops between the CAS and the release */
        _exit(0);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
    cr_assert(WIFSTOPPED(st));
    const uint64_t *b = block_of(cs, 1);
    uint64_t dropped, taken;
    /* While the writer lives (stopped), its slot is its own: dropped, and readers skip it. */
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 2, late, 1), 0);
    shm_exemplar_counts(b, &dropped, &taken);
    cr_assert_eq(dropped, 1);
    cr_assert_eq(taken, 0);
    shmetrics_snapshot_t *snap = collect();
    cr_assert_null(sample(snap, "requests", 0)->exemplar);
    cr_assert_eq(sample(snap, "requests", 0)->value, 102);
    cr_assert_eq(snap->damaged, 0);
    shmetrics_snapshot_free(snap);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* Dead: the next writer takes the slot over and its exemplar is whole. */
    uint64_t lo = real_ns();
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 3, late, 1), 0);
    uint64_t hi = real_ns();
    shm_exemplar_counts(b, &dropped, &taken);
    cr_assert_eq(dropped, 1);
    cr_assert_eq(taken, 1);
    /* The arena's totals (shmetrics stat, the collector's self metrics):
     * the histogram's block has none of either. */
    cr_assert_eq(shmetrics_histogram_observe_exemplar(hs, 1, late, 1), 0);
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(reg, &in), 0);
    cr_assert_eq(in.exemplars_dropped, 1);
    cr_assert_eq(in.exemplars_taken_over, 1);
    snap = collect();
    assert_exemplar(sample(snap, "requests", 0)->exemplar, 3, lo, hi, 1, late);
    cr_assert_eq(sample(snap, "requests", 0)->value, 105);
    shmetrics_snapshot_free(snap);
}

/* What the writers and the reader share: the reader's word to stop, and
 * how many exemplars each writer wrote. */
struct torn_run {
    uint32_t stop;     /* atomic */
    uint64_t count[2]; /* atomic, each its writer's */
};

/* Two processes write exemplars to one counter as fast as they can, until
 * the reader says stop; each exemplar is trace_id=N, pad=(N mod 61) x's,
 * value N, so that a torn one (fields of two writes) shows. */
static void writer(int k, struct test_gate *g, struct torn_run *run)
{
    test_gate_wait(g);
    char id[32], pad[64];
    shmetrics_label_t l[] = {{"trace_id", id}, {"pad", pad}};
    for (uint32_t i = 1; !__atomic_load_n(&run->stop, __ATOMIC_RELAXED) && i < UINT32_MAX / 4; i++) {
        uint32_t n = i * 2 + (uint32_t)k;
        snprintf(id, sizeof id, "%u", n);
        memset(pad, 'x', n % 61);
        pad[n % 61] = 0;
        if (shmetrics_counter_inc_exemplar(cs, n, l, 2) < 0)
            _exit(3);
        __atomic_store_n(&run->count[k], i, __ATOMIC_RELAXED);
    }
    _exit(0);
}

/* The reader runs until it has seen 1,000 changes (or 60 s pass: a
 * machine too loaded to run the three at once), so that it overlaps the
 * writers however the scheduler runs them. */
Test(exemplars, two_processes_never_a_torn_exemplar, .timeout = 120)
{
    static const shmetrics_label_t l[] = {{"trace_id", "0"}, {"pad", ""}};
    cr_assert_eq(shmetrics_counter_inc_exemplar(cs, 0, l, 2), 0);
    struct torn_run *run = mmap(NULL, sizeof *run, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(run != MAP_FAILED);
    memset(run, 0, sizeof *run);
    struct test_gate g;
    test_gate_init(&g);
    pid_t pids[2];
    for (int k = 0; k < 2; k++) {
        pids[k] = fork();
        cr_assert(pids[k] >= 0);
        if (pids[k] == 0)
            writer(k, &g, run);
    }
    test_gate_open(&g);
    const uint64_t *b = block_of(cs, 1);
    uint32_t seen = 0, distinct = 0;
    double last = -1;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct shm_exemplar e;
        int rc = shm_exemplar_read(b, 0, &e);
        if (rc == 0) {
            cr_assert(smx_exemplar_text_ok(e.text, e.len));
            const char *id = e.text + strlen("trace_id") + 1;
            const char *pad = id + strlen(id) + 1 + strlen("pad") + 1;
            cr_assert_str_eq(e.text, "trace_id");
            double n = strtod(id, NULL);
            cr_assert_eq(e.value, n, "torn: value %g, trace_id %s", e.value, id);
            cr_assert_eq(strlen(pad), (size_t)n % 61, "torn: trace_id %s, pad %zu", id, strlen(pad));
            seen++;
            distinct += e.value != last;
            last = e.value;
        } else {
            cr_assert_eq(rc, -EAGAIN);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (distinct >= 1000 || now.tv_sec - t0.tv_sec > 60)
            break;
    }
    __atomic_store_n(&run->stop, 1, __ATOMIC_RELAXED);
    for (int k = 0; k < 2; k++) {
        int st;
        cr_assert_eq(waitpid(pids[k], &st, 0), pids[k]);
        cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    uint64_t dropped, taken;
    shm_exemplar_counts(b, &dropped, &taken);
    cr_assert_eq(taken, 0);
    cr_assert_geq(distinct, 1000, "the reader saw %u changes in 60 s", distinct);
    /* Every write counted, exemplar stored or dropped: writer k added
     * 2i + k for i = 1 .. count[k]. */
    double want = 0;
    for (int k = 0; k < 2; k++)
        for (uint64_t i = 1; i <= run->count[k]; i++)
            want += (double)(i * 2 + (uint64_t)k);
    cr_assert_eq(shmetrics_counter_sum(cs), want);
    cr_log_info("reads %u, changes seen %u, writes %llu + %llu, exemplars dropped %llu", seen, distinct,
                (unsigned long long)run->count[0], (unsigned long long)run->count[1], (unsigned long long)dropped);
    munmap(run, sizeof *run);
}

Test(exemplars, openmetrics_prints_them_text_0_0_4_does_not)
{
    static const shmetrics_label_t tl[] = {{"trace_id", "a\"b"}, {"span", "\xc3\xa9"}};
    static const shmetrics_exemplar_t xc = {2, tl, 1.5, 1700000000.123};
    static const shmetrics_exemplar_t xb = {0, NULL, 0.3, 0};
    static const shmetrics_label_t le1[] = {{"le", "0.5"}}, leinf[] = {{"le", "+Inf"}};
    static const shmetrics_sample_t cs[] = {{"_total", 0, NULL, 3, 0, NULL, &xc}};
    static const shmetrics_sample_t hs[] = {{"_bucket", 1, le1, 1, 0, NULL, &xb},
                                            {"_bucket", 1, leinf, 2, 0, NULL, NULL},
                                            {"_sum", 0, NULL, 7.3, 0, NULL, &xb}, /* not a bucket: not shown */
                                            {"_count", 0, NULL, 2, 0, NULL, NULL}};
    static const shmetrics_family_t fams[] = {
        {.name = "c", .help = "", .type = SHMETRICS_COUNTER, .nsamples = 1, .samples = cs},
        {.name = "h", .help = "", .type = SHMETRICS_HISTOGRAM, .nsamples = 4, .samples = hs},
    };
    shmetrics_snapshot_t snap = {.nfamilies = 2, .families = fams};
    char *out;
    size_t len;
    cr_assert_eq(shmetrics_format(&snap, SHMETRICS_FORMAT_OPENMETRICS, &out, &len), 0);
    cr_assert_str_eq(out, "# TYPE c counter\n# HELP c \n"
                          "c_total 3 # {trace_id=\"a\\\"b\",span=\"\xc3\xa9\"} 1.5 1700000000.123\n"
                          "# TYPE h histogram\n# HELP h \n"
                          "h_bucket{le=\"0.5\"} 1 # {} 0.3\n"
                          "h_bucket{le=\"+Inf\"} 2\n"
                          "h_sum 7.3\nh_count 2\n# EOF\n");
    free(out);
    cr_assert_eq(shmetrics_format(&snap, SHMETRICS_FORMAT_PROMETHEUS, &out, &len), 0);
    cr_assert_null(strstr(out, "#  {"));
    cr_assert_null(strstr(out, "trace_id"));
    free(out);
}
