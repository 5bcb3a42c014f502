/* SPDX-License-Identifier: MIT */
/*
 * src/bench/hotcases.c - owns the hot-path cases of the benchmarks (see
 * hotcases.h): each worker thread's handles and inputs, the loops, the
 * simulated hosts, and the suite that runs them next to their baselines.
 * Compiled with SHMETRICS_CPU_HOOK (the simulated hosts need it), in
 * make bench and in shmetrics bench alike, so both measure the same code.
 */
#define SHMETRICS_CPU_HOOK
#include "hotcases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_SETS 1000

static shmetrics_counter_t *counter, *labelled;
static shmetrics_gauge_t *gauge;
static shmetrics_histogram_t *histogram, *native3, *native8;
static shmetrics_summary_t *summary;

/* vLLM's request latency buckets (seconds). */
static const double latency_buckets[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                         30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
#define NLATENCY (sizeof latency_buckets / sizeof latency_buckets[0])

/* Each worker thread's handles and inputs. */
struct hot {
    shmetrics_counter_series_t *c;
    shmetrics_gauge_series_t *g;
    shmetrics_histogram_series_t *h;
    shmetrics_histogram_series_t *n3, *n8; /* native, schemas 3 and 8 */
    shmetrics_summary_series_t *s;
    shmetrics_sampler_t smp; /* on c, rate 0.01 */
    double obs[64];
    unsigned next;     /* the next label set, kept across calls of the loop */
    uint32_t sim_cpus; /* simulated CPUs, 0: the real one */
    int thread;
    uint64_t rng;
    char vals[LABEL_SETS][8];
};

/* A failure in a worker thread's set-up (a fresh arena of bench_hot_open
 * has room for every series: only memory can run out). */
static void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s\n", what, shmetrics_errmsg());
    exit(1);
}

/* The simulated host of the sim cases: its CPU count (0: none). */
static uint32_t sim_cpus;
static int sim_marker;

/* arg: NULL for one series shared by all threads, &sim_marker for the one
 * series of the current simulated host, else a series per thread. */
static void *hot_setup(void *arg, int thread)
{
    struct hot *h = aligned_alloc(64, (sizeof(struct hot) + 63) / 64 * 64);
    if (h == NULL)
        exit(1);
    char name[16];
    if (arg == &sim_marker)
        snprintf(name, sizeof name, "sim%u", sim_cpus);
    else
        snprintf(name, sizeof name, arg ? "t%d" : "shared", thread);
    h->sim_cpus = arg == &sim_marker ? sim_cpus : 0;
    h->thread = thread;
    h->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(thread + 1);
    if (shmetrics_counter_labels(counter, &h->c, name, NULL) < 0 ||
        shmetrics_gauge_labels(gauge, &h->g, name, NULL) < 0 ||
        shmetrics_histogram_labels(histogram, &h->h, name, NULL) < 0 ||
        shmetrics_histogram_labels(native3, &h->n3, name, NULL) < 0 ||
        shmetrics_histogram_labels(native8, &h->n8, name, NULL) < 0 ||
        shmetrics_summary_labels(summary, &h->s, name, NULL) < 0)
        die("labels");
    if (shmetrics_sampler_init(&h->smp, h->c, 0.01) < 0)
        die("sampler");
    /* 0 .. 19.9 s in steps of 0.1: fractional values over 12 buckets. */
    for (int i = 0; i < 64; i++)
        h->obs[i] = 0.1 * (double)(i * 37 % 200);
    h->next = 0;
    for (int i = 0; i < LABEL_SETS; i++) {
        shmetrics_counter_series_t *s;
        snprintf(h->vals[i], sizeof h->vals[i], "v%d", i);
        if (shmetrics_counter_labels(labelled, &s, "GET", h->vals[i], NULL) < 0)
            die("labels");
    }
    return h;
}

/* The sampler lives in the state: its pending counts go out before the
 * state is freed. */
static void hot_teardown(void *p)
{
    shmetrics_sampler_flush();
    free(p);
}

static void counter_add_loop(void *p, uint64_t ops)
{
    shmetrics_counter_series_t *c = ((struct hot *)p)->c;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_counter_add(c, 1);
}

static void counter_inc_integer_loop(void *p, uint64_t ops)
{
    shmetrics_counter_series_t *c = ((struct hot *)p)->c;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_counter_inc(c, 1.0);
}

/* An increment carrying an exemplar (a 32-character trace id): checking
 * and encoding the labels, the add, and the slot's sequence-lock write. */
static void counter_inc_exemplar_loop(void *p, uint64_t ops)
{
    shmetrics_counter_series_t *c = ((struct hot *)p)->c;
    static const shmetrics_label_t l[] = {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}};
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_counter_inc_exemplar(c, 1.0, l, 1);
}

static void counter_inc_fraction_loop(void *p, uint64_t ops)
{
    shmetrics_counter_series_t *c = ((struct hot *)p)->c;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_counter_inc(c, 0.5);
}

static void sampler_inc_loop(void *p, uint64_t ops)
{
    shmetrics_sampler_t *smp = &((struct hot *)p)->smp;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_sampler_inc(smp);
}

static void gauge_set_loop(void *p, uint64_t ops)
{
    shmetrics_gauge_series_t *g = ((struct hot *)p)->g;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_gauge_set(g, (double)i);
}

static void gauge_inc_loop(void *p, uint64_t ops)
{
    shmetrics_gauge_series_t *g = ((struct hot *)p)->g;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_gauge_inc(g, 1.0);
}

static void native_observe_loop(void *p, uint64_t ops)
{
    struct hot *h = p;
    shmetrics_histogram_series_t *s = h->n3;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_histogram_observe(s, h->obs[i & 63]);
}

static void native8_observe_loop(void *p, uint64_t ops)
{
    struct hot *h = p;
    shmetrics_histogram_series_t *s = h->n8;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_histogram_observe(s, h->obs[i & 63]);
}

static void histogram_observe_loop(void *p, uint64_t ops)
{
    struct hot *h = p;
    shmetrics_histogram_series_t *s = h->h;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_histogram_observe(s, h->obs[i & 63]);
}

/* The simulated CPU each thread is on now, -1 for none: two threads that
 * run at once are never on one CPU, on a simulated host as on a real one. */
static int32_t sim_on[BENCH_MAX_THREADS];

/* Move this thread to another random simulated CPU, one no other thread
 * is on. */
static void sim_move(struct hot *h)
{
    for (;;) {
        h->rng ^= h->rng << 13;
        h->rng ^= h->rng >> 7;
        h->rng ^= h->rng << 17;
        int32_t cpu = (int32_t)(h->rng % h->sim_cpus);
        int taken = 0;
        for (int t = 0; t < BENCH_MAX_THREADS; t++)
            taken |= t != h->thread && __atomic_load_n(&sim_on[t], __ATOMIC_ACQUIRE) == cpu;
        if (taken)
            continue;
        /* Claimed by a sequentially consistent store to our own word, then
         * checked again: of two threads that pick one CPU at once, at least
         * one sees the other (and picks again). */
        __atomic_store_n(&sim_on[h->thread], cpu, __ATOMIC_SEQ_CST);
        taken = 0;
        for (int t = 0; t < BENCH_MAX_THREADS; t++)
            taken |= t != h->thread && __atomic_load_n(&sim_on[t], __ATOMIC_SEQ_CST) == cpu;
        if (!taken) {
            shmetrics_cpu_simulate(cpu);
            return;
        }
        __atomic_store_n(&sim_on[h->thread], -1, __ATOMIC_SEQ_CST);
    }
}

/* Run `loop` in stretches of 4,096 calls, each on another simulated CPU. */
static void sim_run(struct hot *h, uint64_t ops, bench_loop_fn loop)
{
    while (ops) {
        uint64_t n = ops < 4096 ? ops : 4096;
        sim_move(h);
        loop(h, n);
        ops -= n;
    }
}

static void summary_observe_loop(void *p, uint64_t ops);

static void counter_add_sim_loop(void *p, uint64_t ops)
{
    sim_run(p, ops, counter_add_loop);
}

static void histogram_observe_sim_loop(void *p, uint64_t ops)
{
    sim_run(p, ops, histogram_observe_loop);
}

static void summary_observe_sim_loop(void *p, uint64_t ops)
{
    sim_run(p, ops, summary_observe_loop);
}

static void summary_observe_loop(void *p, uint64_t ops)
{
    struct hot *h = p;
    shmetrics_summary_series_t *s = h->s;
    for (uint64_t i = 0; i < ops; i++)
        shmetrics_summary_observe(s, h->obs[i & 63]);
}

static void labels_inc_loop(void *p, uint64_t ops)
{
    struct hot *h = p;
    unsigned k = h->next;
    for (uint64_t i = 0; i < ops; i++) {
        shmetrics_counter_series_t *s;
        if (shmetrics_counter_labels(labelled, &s, "GET", h->vals[k], NULL) == 0)
            shmetrics_counter_add(s, 1);
        if (++k == LABEL_SETS)
            k = 0;
    }
    h->next = k;
}

struct hot_case {
    const char *name;
    bench_loop_fn loop;
    int per_thread_too; /* also run with a series per thread */
};

static const struct hot_case cases[] = {
    {"counter_add", counter_add_loop, 1},
    {"counter_inc_integer", counter_inc_integer_loop, 1},
    {"counter_inc_fraction", counter_inc_fraction_loop, 1},
    {"counter_inc_exemplar", counter_inc_exemplar_loop, 1},
    {"sampler_inc", sampler_inc_loop, 1},
    {"gauge_set", gauge_set_loop, 1},
    {"gauge_inc", gauge_inc_loop, 1},
    {"histogram_observe", histogram_observe_loop, 1},
    {"native_observe", native_observe_loop, 1},
    {"native_observe_schema8", native8_observe_loop, 1},
    {"summary_observe", summary_observe_loop, 1},
    {"labels_lookup_inc", labels_inc_loop, 0},
};

/* The simulated hosts: counter add at each CPU count, histogram and
 * summary observe at 256. */
static const struct sim_case {
    const char *name;
    bench_loop_fn loop;
    uint32_t cpus;
} sim_cases[] = {
    {"counter_add_one_series_sim2", counter_add_sim_loop, 2},
    {"counter_add_one_series_sim64", counter_add_sim_loop, 64},
    {"counter_add_one_series_sim256", counter_add_sim_loop, 256},
    {"counter_add_one_series_sim1024", counter_add_sim_loop, 1024},
    {"histogram_observe_one_series_sim256", histogram_observe_sim_loop, 256},
    {"summary_observe_one_series_sim256", summary_observe_sim_loop, 256},
};

static int register_all(shmetrics_registry_t *reg)
{
    const char *series_lbl[] = {"series"};
    const char *lbl[] = {"method", "path"};
    shmetrics_spec_t cs = {.name = "bench_total", .help = "h", .label_names = series_lbl, .nlabels = 1};
    shmetrics_spec_t ls = {.name = "bench_labelled_total", .help = "h", .label_names = lbl, .nlabels = 2};
    shmetrics_spec_t gs = {.name = "bench_gauge", .help = "h", .label_names = series_lbl, .nlabels = 1};
    shmetrics_spec_t hs = {.name = "bench_latency_seconds",
                           .help = "h",
                           .label_names = series_lbl,
                           .nlabels = 1,
                           .buckets = latency_buckets,
                           .nbuckets = NLATENCY};
    shmetrics_spec_t ss = {.name = "bench_summary_seconds", .help = "h", .label_names = series_lbl, .nlabels = 1};
    shmetrics_spec_t n3 = {.name = "bench_native_seconds",
                           .help = "h",
                           .label_names = series_lbl,
                           .nlabels = 1,
                           .native = SHMETRICS_HISTOGRAM_NATIVE,
                           .native_schema = 3};
    /* Schema 8 over 2^-4..2^5 (2,304 buckets per sign): the inputs stay
     * in the dense range. */
    shmetrics_spec_t n8 = {.name = "bench_native8_seconds",
                           .help = "h",
                           .label_names = series_lbl,
                           .nlabels = 1,
                           .native = SHMETRICS_HISTOGRAM_NATIVE,
                           .native_schema = 8,
                           .native_min_exponent = -4,
                           .native_max_exponent = 5};
    int rc;
    if ((rc = shmetrics_counter_register(reg, &cs, &counter)) < 0 ||
        (rc = shmetrics_counter_register(reg, &ls, &labelled)) < 0 ||
        (rc = shmetrics_gauge_register(reg, &gs, &gauge)) < 0 ||
        (rc = shmetrics_histogram_register(reg, &hs, &histogram)) < 0 ||
        (rc = shmetrics_summary_register(reg, &ss, &summary)) < 0 ||
        (rc = shmetrics_histogram_register(reg, &n3, &native3)) < 0 ||
        (rc = shmetrics_histogram_register(reg, &n8, &native8)) < 0)
        return rc;
    return 0;
}

int bench_hot_open(const char *path, shmetrics_registry_t **reg)
{
    /* Stripes for up to 1,024 CPUs, the largest simulated host. */
    shmetrics_options_t o = {.path = path, .flags = SHMETRICS_OPEN_CREATE | SHMETRICS_OPEN_EXCL, .shards = 1024};
    int rc = shmetrics_open(&o, reg);
    if (rc < 0)
        return rc;
    if ((rc = register_all(*reg)) < 0) {
        /* Keep the registration's message: the shutdown may replace it. */
        shmetrics_shutdown(*reg, SHMETRICS_SHUTDOWN_UNLINK);
        *reg = NULL;
    }
    return rc;
}

void bench_hot_suite(int maxthreads, unsigned flags, bench_report_fn report, void *ctx)
{
    int one = 0;
    for (int threads = 1; threads <= maxthreads; threads++) {
        int bc, cc;
        struct bench_result r = {.threads = threads,
                                 .processes = 1,
                                 .unit = "ns_per_op",
                                 .baseline_case = "baseline_private_atomic"};
        double base = bench_private_atomic(threads, &bc);
        r.name = "baseline_private_atomic";
        r.value = r.baseline = base;
        r.clean_reps = r.baseline_clean_reps = bc;
        report(&r, ctx);
        double shared = bench_shared_atomic(threads, &cc);
        base = bench_private_atomic(threads, &bc);
        r.name = "baseline_shared_atomic";
        r.value = shared;
        r.baseline = base;
        r.clean_reps = cc;
        r.baseline_clean_reps = bc;
        report(&r, ctx);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            for (int per_thread = 0; per_thread <= cases[c].per_thread_too; per_thread++) {
                char name[96];
                snprintf(name, sizeof name, "%s%s", cases[c].name,
                         !cases[c].per_thread_too ? ""
                         : per_thread             ? "_per_thread"
                                                  : "_one_series");
                /* The baseline right before the case: both see the same load. */
                base = bench_private_atomic(threads, &bc);
                double ns = bench_threads(threads, hot_setup, cases[c].loop, hot_teardown, per_thread ? &one : NULL,
                                          &cc);
                r.name = name;
                r.value = ns;
                r.baseline = base;
                r.clean_reps = cc;
                r.baseline_clean_reps = bc;
                report(&r, ctx);
            }
        }
        if (!(flags & BENCH_HOT_SIM))
            continue;
        for (size_t c = 0; c < sizeof sim_cases / sizeof sim_cases[0]; c++) {
            char extra[32];
            sim_cpus = sim_cases[c].cpus;
            for (int t = 0; t < BENCH_MAX_THREADS; t++)
                sim_on[t] = -1;
            base = bench_private_atomic(threads, &bc);
            double ns = bench_threads(threads, hot_setup, sim_cases[c].loop, hot_teardown, &sim_marker, &cc);
            snprintf(extra, sizeof extra, "\"cpus\": %u", sim_cpus);
            r.name = sim_cases[c].name;
            r.value = ns;
            r.baseline = base;
            r.clean_reps = cc;
            r.baseline_clean_reps = bc;
            r.extra = extra;
            report(&r, ctx);
            r.extra = NULL;
        }
    }
}
