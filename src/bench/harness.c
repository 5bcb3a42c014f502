/* SPDX-License-Identifier: MIT */
/*
 * src/bench/harness.c - the measuring harness shared by the benchmark
 * programs and the shmetrics bench command: pinned worker threads driven by barriers, calibration, medians, the
 * atomic baselines and the JSON result lines (see harness.h).
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

double bench_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Involuntary context switches of the calling thread so far. */
static long nivcsw(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

int bench_cpus(int *out, int cap)
{
    cpu_set_t set;
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) < 0) {
        out[0] = 0;
        return 1;
    }
    for (int c = 0; c < CPU_SETSIZE && n < cap; c++)
        if (CPU_ISSET(c, &set))
            out[n++] = c;
    return n > 0 ? n : 1;
}

int bench_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof v[0], cmp_double);
    double rank = p / 100 * (double)n;
    size_t k = (size_t)rank;
    if ((double)k < rank)
        k++; /* nearest rank: ceil(p / 100 * n), at least 1 */
    return v[k ? k - 1 : 0];
}

struct attempt {
    double figure, score;
};

static int by_score(const void *a, const void *b)
{
    double x = ((const struct attempt *)a)->score, y = ((const struct attempt *)b)->score;
    return x > y ? -1 : x < y;
}

double bench_settle(bench_rep_fn run, void *ctx, int max_attempts, int *clean)
{
    struct attempt all[BENCH_MAX_ATTEMPTS];
    double good[BENCH_REPS];
    int n = 0, ngood = 0;
    if (max_attempts > BENCH_MAX_ATTEMPTS)
        max_attempts = BENCH_MAX_ATTEMPTS;
    if (max_attempts < BENCH_REPS)
        max_attempts = BENCH_REPS;
    while (n < max_attempts && ngood < BENCH_REPS) {
        double score = 1;
        double v = run(ctx, &score);
        all[n++] = (struct attempt){v, score};
        if (score >= BENCH_CLEAN)
            good[ngood++] = v;
    }
    if (clean)
        *clean = ngood;
    if (ngood < BENCH_REPS) { /* the BENCH_REPS least disturbed */
        qsort(all, (size_t)n, sizeof all[0], by_score);
        for (int i = 0; i < BENCH_REPS; i++)
            good[i] = all[i].figure;
    }
    return bench_median(good, BENCH_REPS);
}

/* ------------------------------------------------------------ thread pool */

struct pool {
    int threads;
    int cpus[BENCH_MAX_THREADS];
    bench_setup_fn setup;
    bench_loop_fn loop;
    bench_teardown_fn teardown;
    void *arg;
    pthread_barrier_t go, done;
    /* Written by the main thread between barriers: a run makes `ops`
     * operations on each thread, or, when `window_ns` > 0, runs chunks of
     * `chunk` operations until thread 0 has run window_ns and raises stop. */
    uint64_t ops, chunk;
    double window_ns;
    _Atomic int stop;
    int quit;
    double start[BENCH_MAX_THREADS], end[BENCH_MAX_THREADS];
    uint64_t done_ops[BENCH_MAX_THREADS];
    int switched[BENCH_MAX_THREADS];
};

struct worker {
    struct pool *pool;
    int index;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct pool *pool = w->pool;
    int i = w->index;
    if (bench_pin(pool->cpus[i]) < 0)
        fprintf(stderr, "bench: cannot pin thread %d to CPU %d\n", i, pool->cpus[i]);
    void *state = pool->setup ? pool->setup(pool->arg, i) : pool->arg;
    pthread_barrier_wait(&pool->go); /* set up */
    for (;;) {
        pthread_barrier_wait(&pool->go);
        if (pool->quit)
            break;
        long sw = nivcsw();
        double t0 = bench_now_ns();
        uint64_t n = 0;
        if (pool->window_ns <= 0) {
            pool->loop(state, pool->ops);
            n = pool->ops;
        } else {
            do {
                pool->loop(state, pool->chunk);
                n += pool->chunk;
                if (i == 0 && bench_now_ns() - t0 >= pool->window_ns)
                    atomic_store_explicit(&pool->stop, 1, memory_order_relaxed);
            } while (!atomic_load_explicit(&pool->stop, memory_order_relaxed));
        }
        pool->end[i] = bench_now_ns();
        pool->start[i] = t0;
        pool->done_ops[i] = n;
        pool->switched[i] = nivcsw() != sw;
        pthread_barrier_wait(&pool->done);
    }
    if (pool->teardown)
        pool->teardown(state);
    return NULL;
}

/* One run on every thread: the slowest thread's ns per operation.  Its
 * score is the share of the slowest thread's time that all threads ran
 * together (a thread woken late by a busy scheduler runs alone, without
 * contention), halved when a thread was switched out involuntarily. */
static double pool_run(struct pool *pool, double *score)
{
    atomic_store(&pool->stop, 0);
    pthread_barrier_wait(&pool->go);
    pthread_barrier_wait(&pool->done);
    double worst = 0, longest = 0, first_end = pool->end[0], last_start = pool->start[0];
    int switched = 0;
    for (int t = 0; t < pool->threads; t++) {
        double wall = pool->end[t] - pool->start[t];
        double per_op = wall / (double)(pool->done_ops[t] ? pool->done_ops[t] : 1);
        worst = per_op > worst ? per_op : worst;
        longest = wall > longest ? wall : longest;
        switched |= pool->switched[t];
        first_end = pool->end[t] < first_end ? pool->end[t] : first_end;
        last_start = pool->start[t] > last_start ? pool->start[t] : last_start;
    }
    double together = longest > 0 ? (first_end - last_start) / longest : 1;
    if (score)
        *score = (switched ? 0.5 : 1) * (together < 0 ? 0 : together > 1 ? 1 : together);
    return worst;
}

static double pool_rep(void *ctx, double *score)
{
    return pool_run(ctx, score);
}

double bench_threads(int threads, bench_setup_fn setup, bench_loop_fn loop, bench_teardown_fn teardown, void *arg,
                     int *clean)
{
    static struct pool pool;
    struct worker workers[BENCH_MAX_THREADS];
    pthread_t th[BENCH_MAX_THREADS];
    int ncpu = bench_cpus(pool.cpus, BENCH_MAX_THREADS);
    if (threads < 1 || threads > ncpu) {
        fprintf(stderr, "bench: %d threads asked for, %d CPUs available\n", threads, ncpu);
        exit(1);
    }
    pool.threads = threads;
    pool.setup = setup;
    pool.loop = loop;
    pool.teardown = teardown;
    pool.arg = arg;
    pool.quit = 0;
    pool.window_ns = 0;
    pthread_barrier_init(&pool.go, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&pool.done, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        workers[t] = (struct worker){&pool, t};
        if (pthread_create(&th[t], NULL, worker_main, &workers[t]) != 0) {
            fprintf(stderr, "bench: pthread_create failed\n");
            exit(1);
        }
    }
    pthread_barrier_wait(&pool.go); /* every thread is pinned and set up */

    /* Calibrate (and warm up) with fixed counts until a run lasts 1 ms;
     * then runs last BENCH_TARGET_MS, in chunks of about 20 us. */
    pool.ops = 256;
    double per_op = pool_run(&pool, NULL);
    while (per_op * (double)pool.ops < 1e6 && pool.ops < (UINT64_C(1) << 40)) {
        pool.ops *= 4;
        per_op = pool_run(&pool, NULL);
    }
    double chunk = 20e3 / per_op;
    pool.chunk = chunk < 1 ? 1 : (uint64_t)chunk;
    pool.window_ns = BENCH_TARGET_MS * 1e6;
    pool_run(&pool, NULL); /* one full-size warm-up run */
    double result = bench_settle(pool_rep, &pool, BENCH_MAX_ATTEMPTS, clean);

    pool.quit = 1;
    pthread_barrier_wait(&pool.go);
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&pool.go);
    pthread_barrier_destroy(&pool.done);
    return result;
}

/* -------------------------------------------------------------- baselines */

struct line {
    _Alignas(64) _Atomic uint64_t word;
    char pad[64 - sizeof(uint64_t)];
};

static struct line shared_line;

static void *private_setup(void *arg, int thread)
{
    (void)arg;
    (void)thread;
    struct line *l = aligned_alloc(64, sizeof *l);
    atomic_init(&l->word, 0);
    return l;
}

static void atomic_loop(void *state, uint64_t ops)
{
    struct line *l = state;
    for (uint64_t i = 0; i < ops; i++)
        atomic_fetch_add_explicit(&l->word, 1, memory_order_relaxed);
}

double bench_private_atomic(int threads, int *clean)
{
    return bench_threads(threads, private_setup, atomic_loop, free, NULL, clean);
}

double bench_shared_atomic(int threads, int *clean)
{
    return bench_threads(threads, NULL, atomic_loop, NULL, &shared_line, clean);
}

/* ---------------------------------------------------------------- output */

void bench_emit(const char *name, int threads, int processes, const char *unit, double value, double baseline,
                const char *baseline_case, const char *extra)
{
    printf("{\"case\": \"%s\", \"threads\": %d, \"processes\": %d, \"%s\": %.3f, \"baseline\": %.3f, "
           "\"baseline_case\": \"%s\", \"ratio\": %.3f%s%s}\n",
           name, threads, processes, unit, value, baseline, baseline_case, baseline > 0 ? value / baseline : 0.0,
           extra ? ", " : "", extra ? extra : "");
    fflush(stdout);
}

void bench_report_json(const struct bench_result *r, void *ctx)
{
    (void)ctx;
    char extra[512];
    snprintf(extra, sizeof extra, "\"clean_reps\": %d, \"baseline_clean_reps\": %d%s%s", r->clean_reps,
             r->baseline_clean_reps, r->extra ? ", " : "", r->extra ? r->extra : "");
    bench_emit(r->name, r->threads, r->processes, r->unit, r->value, r->baseline, r->baseline_case, extra);
}
