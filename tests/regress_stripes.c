/* SPDX-License-Identifier: MIT */
/*
 * tests/regress_stripes.c - the cell pool and its stripes under writers
 * that collide, on simulated hosts of up to 1,024 CPUs (SHMETRICS_CPU_HOOK):
 * counts stay exact across processes and threads, stripes appear only
 * under contention and never past the arena's limit (summaries: 2), a full
 * pool refuses stripes without losing a count, and a reader rejects a
 * damaged stripe directory or set instead of following it.
 */
#define SHMETRICS_CPU_HOOK
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sys/mman.h>

#include "../shm/layout.h"
#include "../src/read/reader.h"
#include "../src/write/registry.h"
#include "common.h"

#define WRITERS 4
#define THREADS 2
#define ROUNDS 1000000

static shmetrics_registry_t *create(const char *path, uint32_t shards, uint64_t cells)
{
    shmetrics_options_t o = {.path = path,
                             .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL,
                             .families = 16,
                             .series = 4096,
                             .processes = 16,
                             .shards = shards,
                             .cells = cells};
    shmetrics_registry_t *r = NULL;
    int rc = shmetrics_open(&o, &r);
    cr_assert_eq(rc, 0, "create %s: %s", path, shmetrics_errmsg());
    return r;
}

static shmetrics_arena_info_t info_of(shmetrics_registry_t *r)
{
    shmetrics_arena_info_t in;
    cr_assert_eq(shmetrics_arena_info(r, &in), 0);
    return in;
}

struct handles {
    shmetrics_counter_series_t *c;
    shmetrics_histogram_series_t *h;
    shmetrics_summary_series_t *s;
};

static const double bounds[] = {1, 2, 4, 8};

static void resolve(shmetrics_registry_t *r, struct handles *h)
{
    shmetrics_spec_t cs = {.name = "hits_total", .help = "h"};
    shmetrics_spec_t hs = {.name = "lat", .help = "h", .buckets = bounds, .nbuckets = 4};
    shmetrics_spec_t ss = {.name = "size", .help = "h"};
    shmetrics_counter_t *c;
    shmetrics_histogram_t *hi;
    shmetrics_summary_t *s;
    if (shmetrics_counter_register(r, &cs, &c) < 0 || shmetrics_histogram_register(r, &hs, &hi) < 0 ||
        shmetrics_summary_register(r, &ss, &s) < 0 || shmetrics_counter_labels(c, &h->c, NULL) < 0 ||
        shmetrics_histogram_labels(hi, &h->h, NULL) < 0 || shmetrics_summary_labels(s, &h->s, NULL) < 0) {
        fprintf(stderr, "resolve: %s\n", shmetrics_errmsg());
        _exit(11);
    }
}

struct writer {
    struct handles *h;
    uint32_t cpus;
    uint64_t seed;
};

/* ROUNDS updates of each series, moving to another simulated CPU every 64:
 * counter +1, histogram i % 10 (whole, so the sum is exact), summary
 * 1 + i % 1000. */
static void *write_all(void *arg)
{
    struct writer *w = arg;
    uint64_t x = w->seed;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        if (i % 64 == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shmetrics_cpu_simulate((int32_t)(x % w->cpus));
        }
        shmetrics_counter_add(w->h->c, 1);
        shmetrics_histogram_observe(w->h->h, (double)(i % 10));
        shmetrics_summary_observe(w->h->s, (double)(1 + i % 1000));
    }
    return NULL;
}

static void run_writers(const char *path, uint32_t cpus)
{
    pid_t pids[WRITERS];
    struct test_gate gate;
    test_gate_init(&gate);
    for (int p = 0; p < WRITERS; p++) {
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *r = test_worker_open(path);
            struct handles h;
            resolve(r, &h);
            test_gate_wait(&gate); /* all writers start at once */
            pthread_t t[THREADS];
            struct writer w[THREADS];
            for (int k = 0; k < THREADS; k++) {
                w[k] = (struct writer){&h, cpus, 0x9e3779b97f4a7c15ull * (uint64_t)(p * THREADS + k + 1)};
                pthread_create(&t[k], NULL, write_all, &w[k]);
            }
            for (int k = 0; k < THREADS; k++)
                pthread_join(t[k], NULL);
            shmetrics_shutdown(r, 0);
            _exit(0);
        }
        cr_assert_gt(pids[p], 0);
    }
    usleep(100000); /* every writer has resolved its series */
    test_gate_open(&gate);
    test_wait_all(pids, WRITERS);
}

Test(stripes, counts_stay_exact_when_writers_on_1024_cpus_collide)
{
    const char *path = test_arena_path("stripes-exact");
    shmetrics_registry_t *r = create(path, 1024, 0);
    run_writers(path, 1024);
    const double n = (double)WRITERS * THREADS * ROUNDS;
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(test_sample(snap, "hits", 0, NULL), n);
    const char *inf[] = {"le=+Inf"}, *two[] = {"le=2.0"};
    cr_assert_eq(test_sample(snap, "lat", 1, inf), n);
    cr_assert_eq(test_sample(snap, "lat", 1, two), n * 3 / 10, "0, 1, 2 of every ten");
    /* Each writer's sum of i % 10 over ROUNDS (a multiple of 10) rounds. */
    double sum = 0;
    const shmetrics_family_t *lat = test_family(snap, "lat");
    for (size_t i = 0; lat && i < lat->nsamples; i++)
        if (strcmp(lat->samples[i].suffix, "_sum") == 0)
            sum = lat->samples[i].value;
    cr_assert_eq(sum, (double)WRITERS * THREADS * (ROUNDS / 10) * 45);
    const shmetrics_family_t *size = test_family(snap, "size");
    cr_assert_not_null(size);
    /* 1 .. 1000 uniformly: the q-quantile is q * 1000, within 1%. */
    static const double qs[] = {0.5, 0.9, 0.95, 0.99};
    size_t k = 0;
    for (size_t i = 0; i < size->nsamples; i++) {
        const shmetrics_sample_t *s = &size->samples[i];
        if (strcmp(s->suffix, "_count") == 0)
            cr_assert_eq(s->value, n);
        if (s->suffix[0] == 0) {
            double want = qs[k++] * 1000;
            cr_assert(fabs(s->value - want) <= want * 0.01, "quantile %g: %g, want %g", qs[k - 1], s->value, want);
        }
    }
    cr_assert_eq(k, 4);
    shmetrics_snapshot_free(snap);
    shmetrics_arena_info_t in = info_of(r);
    cr_assert_gt(in.striped, 0, "8 writers on 2 cores collided: the series gained stripes");
    cr_assert_eq(in.stripes_refused, 0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(stripes, never_more_than_the_limit_and_summaries_two)
{
    const char *path = test_arena_path("stripes-limit");
    shmetrics_registry_t *r = create(path, 4, 0);
    shmetrics_arena_info_t before = info_of(r);
    run_writers(path, 1024);
    shmetrics_arena_info_t in = info_of(r);
    /* Counter and histogram: at most two sets (2 then 4 stripes, or 4 at
     * once) each; summary: one set of 2. */
    cr_assert_leq(in.striped, 5, "%llu stripe sets", (unsigned long long)in.striped);
    uint64_t summary_block = SHM_BLOCK_WORDS(SHM_SUMMARY_CELLS(5));
    uint64_t summary_stripe = SHM_STRIPE_WORDS(SHM_SUMMARY_CELLS(5));
    /* Base blocks, then at most sets of 2 and 4 stripes (1 and 2 for a
     * summary), each with its header and up to a line to align it. */
    uint64_t set = SHM_SET_HEADER_WORDS + SHM_LINE_WORDS;
    uint64_t most = SHM_BLOCK_WORDS(SHM_COUNTER_CELLS) + SHM_STRIPE_WORDS(SHM_COUNTER_CELLS) * (2 + 4) +
                    SHM_BLOCK_WORDS(SHM_HISTOGRAM_CELLS(4)) + SHM_STRIPE_WORDS(SHM_HISTOGRAM_CELLS(4)) * (2 + 4) +
                    summary_block + summary_stripe * 2 + 5 * set;
    cr_assert_leq(in.cells_used - before.cells_used, most, "%llu words", (unsigned long long)in.cells_used);
    /* A summary series with its stripes stays under 1 MB at any CPU count. */
    cr_assert_lt((summary_block + summary_stripe * 2 + set) * 8, 1u << 20);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    cr_assert_eq(test_sample(snap, "hits", 0, NULL), (double)WRITERS * THREADS * ROUNDS);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(stripes, none_without_contention_whatever_the_cpus)
{
    const char *path = test_arena_path("stripes-none");
    shmetrics_registry_t *r = create(path, 256, 0);
    shmetrics_spec_t cs = {.name = "seq_total", .help = "h", .label_names = (const char *[]){"i"}, .nlabels = 1};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(r, &cs, &c), 0);
    shmetrics_arena_info_t before = info_of(r);
    for (int i = 0; i < 1000; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        shmetrics_counter_series_t *s;
        cr_assert_eq(shmetrics_counter_labels(c, &s, v, NULL), 0);
        for (int cpu = 0; cpu < 256; cpu++) {
            shmetrics_cpu_simulate(cpu);
            shmetrics_counter_add(s, 1);
        }
    }
    shmetrics_cpu_simulate(-1);
    shmetrics_arena_info_t in = info_of(r);
    cr_assert_eq(in.striped, 0, "one writer never collides with itself");
    cr_assert_eq(in.cells_used - before.cells_used, 1000 * SHM_BLOCK_WORDS(SHM_COUNTER_CELLS),
                 "one line per counter series, whatever the CPUs that wrote it");
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const char *p[] = {"i=999"};
    cr_assert_eq(test_sample(snap, "seq", 1, p), 256.0);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

struct hammer {
    shmetrics_counter_series_t *c;
    uint32_t n;
};

static void *hammer(void *arg)
{
    struct hammer *h = arg;
    for (uint32_t i = 0; i < h->n; i++)
        shmetrics_counter_add(h->c, 1);
    return NULL;
}

/* Two threads add to one series until they collide and the arena refuses
 * the stripes that asks for (or 20 rounds of 2 x 500,000 adds); how many
 * adds were made.  On a loaded machine the two threads may never run at
 * the same time: then the test takes the path a collision takes (a failed
 * compare-and-swap calls shmetrics_cells_grow_) itself, and says so. */
static uint64_t hammer_until_refused(shmetrics_registry_t *r, shmetrics_counter_series_t *hot)
{
    uint64_t total = 0;
    for (int round = 0; round < 20 && info_of(r).stripes_refused == 0; round++) {
        pthread_t t[2];
        struct hammer h = {hot, 500000};
        for (int k = 0; k < 2; k++)
            pthread_create(&t[k], NULL, hammer, &h);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        total += 2 * h.n;
    }
    if (info_of(r).stripes_refused == 0) {
        cr_log_info("the threads never collided: the test takes the collision's path itself");
        uint64_t *cells = shmetrics_cells_grow_(&hot->cells);
        shmetrics_add_relaxed(&cells[SHMETRICS_COUNTER_WHOLE], 1);
        total += 1;
    }
    return total;
}

Test(stripes, a_full_pool_refuses_stripes_and_loses_no_count)
{
    const char *path = test_arena_path("stripes-full");
    shmetrics_registry_t *r = create(path, 1024, 1024); /* 1,024 cells: 128 counter lines */
    shmetrics_spec_t cs = {.name = "fill_total", .help = "h", .label_names = (const char *[]){"i"}, .nlabels = 1};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(r, &cs, &c), 0);
    shmetrics_counter_series_t *hot = NULL, *s;
    int rc, i = 0;
    char v[16];
    do {
        snprintf(v, sizeof v, "%d", i++);
        rc = shmetrics_counter_labels(c, &s, v, NULL);
        if (rc == 0 && !hot)
            hot = s;
    } while (rc == 0);
    cr_assert_eq(rc, -ENOSPC);
    cr_assert(strstr(shmetrics_errmsg(), "the cell pool (8192 bytes) has no room"), "%s", shmetrics_errmsg());
    cr_assert_eq(i - 1, 128, "128 series filled the pool");
    uint64_t total = hammer_until_refused(r, hot);
    shmetrics_arena_info_t in = info_of(r);
    cr_assert_geq(in.stripes_refused, 1, "the collision asked for stripes the pool did not have");
    cr_assert_eq(in.striped, 0);
    cr_assert_eq(shmetrics_counter_sum(hot), (double)total, "every add counted, in the base block");
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* The file offset of the base block of the newest pool allocation. */
static uint64_t base_block_offset(const char *path, uint64_t cells_used_before)
{
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    struct shm_header h;
    cr_assert_eq(pread(fd, &h, sizeof h, 0), (ssize_t)sizeof h);
    close(fd);
    return h.off_pool + cells_used_before * SHM_CELL_BYTES;
}

static void poke(const char *path, uint64_t off, uint64_t value)
{
    int fd = open(path, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, &value, sizeof value, (off_t)off), (ssize_t)sizeof value);
    close(fd);
}

Test(stripes, a_damaged_directory_or_set_is_rejected_not_followed)
{
    const char *path = test_arena_path("stripes-damaged");
    shmetrics_registry_t *r = create(path, 1024, 0);
    shmetrics_spec_t ok = {.name = "ok_total", .help = "h"}, bad = {.name = "bad_total", .help = "h"};
    shmetrics_counter_t *c;
    shmetrics_counter_series_t *s;
    cr_assert_eq(shmetrics_counter_register(r, &ok, &c), 0);
    cr_assert_eq(shmetrics_counter_labels(c, &s, NULL), 0);
    shmetrics_counter_add(s, 7);
    cr_assert_eq(shmetrics_counter_register(r, &bad, &c), 0);
    shmetrics_arena_info_t before = info_of(r);
    shmetrics_counter_series_t *victim;
    cr_assert_eq(shmetrics_counter_labels(c, &victim, NULL), 0);
    shmetrics_counter_add(victim, 5);
    uint64_t dir = base_block_offset(path, before.cells_used);
    /* Four more series: the pool then holds 48 words, room for a set of 2. */
    shmetrics_spec_t pad = {.name = "pad_total", .help = "h", .label_names = (const char *[]){"i"}, .nlabels = 1};
    cr_assert_eq(shmetrics_counter_register(r, &pad, &c), 0);
    for (const char *const *v = (const char *const[]){"1", "2", "3", "4", NULL}; *v; v++)
        cr_assert_eq(shmetrics_counter_labels(c, &s, *v, NULL), 0);
    shmetrics_registry_t *ro = test_open(path, SHMETRICS_OPEN_READONLY);
    static const struct {
        uint64_t word;
        const char *why;
        bool outside; /* a writer must not follow it: it leaves the pool */
    } cases[] = {
        {(UINT64_C(1) << 40 << SHM_DIR_SHIFT) | 1, "bad stripe directory", true},     /* beyond the pool */
        {(UINT64_C(0) << SHM_DIR_SHIFT) | 1, "bad stripe set at pool word 0", false}, /* a block, not a set */
        {(UINT64_C(3) << SHM_DIR_SHIFT) | 1, "bad stripe directory", false},          /* not on a line */
        {(UINT64_C(0) << SHM_DIR_SHIFT) | 13, "bad stripe directory", true},          /* lg over the limit */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        poke(path, dir, cases[k].word);
        if (cases[k].outside)
            shmetrics_counter_add(victim, 1); /* lands in the base block, not outside the mapping */
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(ro, &snap), 0);
        cr_assert_eq(snap->damaged, 1, "case %zu", k);
        cr_assert_eq(test_sample(snap, "ok", 0, NULL), 7.0, "the other series is read");
        cr_assert(isnan(test_sample(snap, "bad", 0, NULL)), "the damaged series is skipped");
        cr_assert(strstr(smx_snapshot_first_damage(snap), cases[k].why), "case %zu: %s", k,
                  smx_snapshot_first_damage(snap));
        shmetrics_snapshot_free(snap);
    }
    poke(path, dir, 0);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(ro, &snap), 0);
    cr_assert_eq(snap->damaged, 0);
    cr_assert_eq(test_sample(snap, "bad", 0, NULL), 7.0, "repaired, it reads again, with the 2 adds made meanwhile");
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(ro, 0);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(stripes, stripes_never_take_the_room_registrations_need)
{
    const char *path = test_arena_path("stripes-half");
    shmetrics_registry_t *r = create(path, 1024, 1024); /* 1,024 cells: 128 counter lines */
    shmetrics_spec_t cs = {.name = "half_total", .help = "h", .label_names = (const char *[]){"i"}, .nlabels = 1};
    shmetrics_counter_t *c;
    cr_assert_eq(shmetrics_counter_register(r, &cs, &c), 0);
    shmetrics_counter_series_t *hot = NULL, *s;
    char v[16];
    for (int i = 0; i < 65; i++) { /* 520 cells: past half the pool */
        snprintf(v, sizeof v, "%d", i);
        cr_assert_eq(shmetrics_counter_labels(c, &s, v, NULL), 0, "%s", shmetrics_errmsg());
        hot = hot ? hot : s;
    }
    uint64_t total = hammer_until_refused(r, hot);
    shmetrics_arena_info_t in = info_of(r);
    cr_assert_geq(in.stripes_refused, 1, "a set would have taken the pool past half its size");
    cr_assert_eq(in.striped, 0);
    cr_assert_eq(shmetrics_counter_sum(hot), (double)total, "every add counted, in the base block");
    /* The rest of the pool is still there for new series: all 128 fit. */
    for (int i = 65; i < 128; i++) {
        snprintf(v, sizeof v, "%d", i);
        cr_assert_eq(shmetrics_counter_labels(c, &s, v, NULL), 0, "series %d: %s", i, shmetrics_errmsg());
    }
    cr_assert_eq(info_of(r).cells_used, 1024);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}
