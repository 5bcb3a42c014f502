/* SPDX-License-Identifier: MIT */
/*
 * tests/regress_distributions.c - histograms and summaries written by many
 * processes and threads: exact bucket counts and sums, _count equal to the
 * +Inf bucket in every scrape while writers run, and summary quantiles
 * within 1% of the exact ones for three distributions of 1,000,000 values.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "common.h"

#define PROCS 4
#define THREADS 4
#if SANITIZED
#define ROUNDS 2000
#else
#define ROUNDS 20000
#endif

/* ---------------------------------------------- exact across processes */

static const double values[] = {0.001, 0.3, 1, 2, 7, 50, 3, 1000};
#define NVALUES (sizeof values / sizeof values[0])
static const double bounds[] = {0.01, 1, 5, 100};

struct obs_arg {
    shmetrics_histogram_series_t *frac, *whole;
};

static void *observe_thread(void *p)
{
    struct obs_arg *a = p;
    for (int r = 0; r < ROUNDS; r++)
        for (size_t i = 0; i < NVALUES; i++) {
            shmetrics_histogram_observe(a->frac, values[i]);
            shmetrics_histogram_observe(a->whole, (double)(i * 3 + 1));
        }
    return NULL;
}

Test(distributions, histogram_exact_across_processes_and_threads, .timeout = 300)
{
    const char *path = test_arena_path("hexact");
    struct test_gate gate;
    test_gate_init(&gate);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *r = test_worker_open(path);
            const char *lbl[] = {"kind"};
            shmetrics_spec_t spec =
                {.name = "obs", .help = "h", .label_names = lbl, .nlabels = 1, .buckets = bounds, .nbuckets = 4};
            shmetrics_histogram_t *h;
            struct obs_arg arg;
            test_gate_wait(&gate);
            if (shmetrics_histogram_register(r, &spec, &h) < 0 ||
                shmetrics_histogram_labels(h, &arg.frac, "mixed", NULL) < 0 ||
                shmetrics_histogram_labels(h, &arg.whole, "whole", NULL) < 0)
                _exit(11);
            pthread_t th[THREADS];
            for (int t = 0; t < THREADS; t++)
                pthread_create(&th[t], NULL, observe_thread, &arg);
            for (int t = 0; t < THREADS; t++)
                pthread_join(th[t], NULL);
            _exit(0);
        }
    }
    test_gate_open(&gate);
    test_wait_all(pids, PROCS);

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect(r, &snap), 0);
    const double per = (double)PROCS * THREADS * ROUNDS;
    /* mixed: le=0.01 {0.001}, le=1 {+0.3, 1}, le=5 {+2, 3}, le=100 {+7, 50}, +Inf {+1000} */
    const char *les[] = {"le=0.01", "le=1.0", "le=5.0", "le=100.0", "le=+Inf"};
    const double cum[] = {1, 3, 5, 7, 8};
    for (int b = 0; b < 5; b++) {
        const char *want[] = {"kind=mixed", les[b]};
        cr_assert_eq(test_sample(snap, "obs", 2, want), cum[b] * per, "%s", les[b]);
    }
    const shmetrics_family_t *f = test_family(snap, "obs");
    double count = NAN, sum = NAN, wsum = NAN;
    for (size_t i = 0; i < f->nsamples; i++) {
        const shmetrics_sample_t *s = &f->samples[i];
        if (strcmp(s->labels[0].value, "mixed") == 0 && strcmp(s->suffix, "_count") == 0)
            count = s->value;
        if (strcmp(s->labels[0].value, "mixed") == 0 && strcmp(s->suffix, "_sum") == 0)
            sum = s->value;
        if (strcmp(s->labels[0].value, "whole") == 0 && strcmp(s->suffix, "_sum") == 0)
            wsum = s->value;
    }
    cr_assert_eq(count, 8 * per);
    double one_round = 0;
    for (size_t i = 0; i < NVALUES; i++)
        one_round += values[i];
    cr_assert_float_eq(sum, one_round * per, 1e-9 * one_round * per);
    /* whole: 1 + 4 + ... + 22 = 92 per round, exact. */
    cr_assert_eq(wsum, 92 * per);
    shmetrics_snapshot_free(snap);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ------------------------------ _count and +Inf while writers are writing */

Test(distributions, count_equals_inf_bucket_while_writing, .timeout = 300)
{
    const char *path = test_arena_path("hlive");
    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_CREATE);
    shmetrics_spec_t spec = {.name = "live", .help = "h", .buckets = bounds, .nbuckets = 4};
    shmetrics_histogram_t *h;
    cr_assert_eq(shmetrics_histogram_register(r, &spec, &h), 0);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *w = test_worker_open(path);
            shmetrics_histogram_t *wh;
            shmetrics_histogram_series_t *s;
            if (shmetrics_histogram_register(w, &spec, &wh) < 0 || shmetrics_histogram_labels(wh, &s, NULL) < 0)
                _exit(11);
            for (unsigned long i = 0;; i++)
                shmetrics_histogram_observe(s, values[i % NVALUES]);
        }
    }
    /* Scrape only once the writers run: forked workers may not be
     * scheduled yet on a loaded machine (wait at most 30 s). */
    for (int tries = 0;; tries++) {
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(r, &snap), 0);
        const shmetrics_family_t *f = test_family(snap, "live");
        cr_assert_not_null(f);
        bool started = f->nsamples == 7 && f->samples[6].value > 0;
        shmetrics_snapshot_free(snap);
        if (started)
            break;
        cr_assert_lt(tries, 30000, "no observation within 30 s of starting the writers");
        usleep(1000);
    }
    double last = 0;
    for (int i = 0; i < 1000; i++) {
        shmetrics_snapshot_t *snap;
        cr_assert_eq(shmetrics_collect(r, &snap), 0);
        const shmetrics_family_t *f = test_family(snap, "live");
        cr_assert_not_null(f);
        if (f->nsamples) {
            cr_assert_eq(f->nsamples, 7);
            double inf = f->samples[4].value, count = f->samples[6].value;
            cr_assert_str_eq(f->samples[4].labels[0].value, "+Inf");
            cr_assert_str_eq(f->samples[6].suffix, "_count");
            cr_assert_eq(count, inf, "scrape %d: _count %g, +Inf bucket %g", i, count, inf);
            for (int b = 1; b < 5; b++)
                cr_assert_geq(f->samples[b].value, f->samples[b - 1].value, "buckets are cumulative");
            cr_assert_geq(count, last, "the count never goes back");
            last = count;
        }
        shmetrics_snapshot_free(snap);
    }
    for (int p = 0; p < PROCS; p++)
        kill(pids[p], SIGKILL);
    for (int p = 0; p < PROCS; p++)
        waitpid(pids[p], NULL, 0);
    cr_assert_gt(last, 0, "the writers wrote while we read");
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

/* ------------------------------------------------ summary accuracy */

#define N_VALUES 1000000
#define PER_PROC (N_VALUES / PROCS)

enum dist { UNIFORM, LOGNORMAL, BIMODAL };

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static double normal(uint64_t *s)
{
    return sqrt(-2 * log(unit(s))) * cos(2 * M_PI * unit(s));
}

/* Value i of process p's share, the same whoever computes it. */
static void generate(enum dist d, int p, double *out)
{
    uint64_t s = 0x1234567ull * (uint64_t)(d + 1) + (uint64_t)p * 0x9e37ull;
    for (int i = 0; i < PER_PROC; i++) {
        switch (d) {
        case UNIFORM:
            out[i] = 1000 * unit(&s);
            break;
        case LOGNORMAL:
            out[i] = exp(0.5 + 1.2 * normal(&s));
            break;
        case BIMODAL:
            out[i] = unit(&s) < 0.7 ? 0.05 + 0.01 * fabs(normal(&s)) : 3 + 0.5 * fabs(normal(&s));
            break;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const double qs[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999};
#define NQ (sizeof qs / sizeof qs[0])

static void accuracy(enum dist d, const char *name)
{
    const char *path = test_arena_path(name);
    uint64_t t = shmetrics_timer_start();
    shmetrics_spec_t spec = {.name = name, .help = "h", .quantiles = qs, .nquantiles = NQ};
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        if ((pids[p] = fork()) == 0) {
            shmetrics_registry_t *w = test_worker_open(path);
            shmetrics_summary_t *m;
            shmetrics_summary_series_t *s;
            double *v = malloc(sizeof *v * PER_PROC);
            if (!v || shmetrics_summary_register(w, &spec, &m) < 0 || shmetrics_summary_labels(m, &s, NULL) < 0)
                _exit(11);
            generate(d, p, v);
            for (int i = 0; i < PER_PROC; i++)
                shmetrics_summary_observe_at(s, v[i], t);
            _exit(0);
        }
    }
    test_wait_all(pids, PROCS);
    double *all = malloc(sizeof *all * N_VALUES);
    cr_assert_not_null(all);
    double sum = 0;
    for (int p = 0; p < PROCS; p++)
        generate(d, p, all + p * PER_PROC);
    for (int i = 0; i < N_VALUES; i++)
        sum += all[i];
    qsort(all, N_VALUES, sizeof *all, cmp_double);

    shmetrics_registry_t *r = test_open(path, SHMETRICS_OPEN_READONLY);
    shmetrics_snapshot_t *snap;
    cr_assert_eq(shmetrics_collect_at(r, t, &snap), 0);
    const shmetrics_family_t *f = test_family(snap, name);
    cr_assert_not_null(f);
    cr_assert_eq(f->nsamples, NQ + 2);
    for (size_t j = 0; j < NQ; j++) {
        size_t rank = (size_t)ceil(qs[j] * N_VALUES); /* nearest rank, 1-based */
        double exact = all[rank - 1], got = f->samples[j].value;
        double err = fabs(got - exact) / exact;
        cr_assert_leq(err, 0.01, "%s q=%g: exact %.9g, reported %.9g, error %.3f%%", name, qs[j], exact, got,
                      100 * err);
    }
    cr_assert_eq(f->samples[NQ + 1].value, (double)N_VALUES, "_count");
    cr_assert_float_eq(f->samples[NQ].value, sum, 1e-9 * sum, "_sum");
    shmetrics_snapshot_free(snap);
    free(all);
    shmetrics_shutdown(r, SHMETRICS_SHUTDOWN_UNLINK);
}

Test(distributions, summary_accuracy_uniform, .timeout = 300)
{
    accuracy(UNIFORM, "uniform");
}

Test(distributions, summary_accuracy_lognormal, .timeout = 300)
{
    accuracy(LOGNORMAL, "lognormal");
}

Test(distributions, summary_accuracy_bimodal, .timeout = 300)
{
    accuracy(BIMODAL, "bimodal");
}
