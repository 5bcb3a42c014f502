/*
 * bench/harness.c - the measuring harness shared by the benchmark programs:
 * pinned worker threads driven by barriers, calibration, medians, the
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

long bench_nivcsw(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

double bench_settle(bench_rep_fn run, void *ctx, int max_attempts, int *clean)
{
    double all[BENCH_MAX_ATTEMPTS], good[BENCH_REPS];
    int n = 0, ngood = 0;
    if (max_attempts > BENCH_MAX_ATTEMPTS)
        max_attempts = BENCH_MAX_ATTEMPTS;
    if (max_attempts < BENCH_REPS)
        max_attempts = BENCH_REPS;
    while (n < max_attempts && ngood < BENCH_REPS) {
        int disturbed = 0;
        double v = run(ctx, &disturbed);
        all[n++] = v;
        if (!disturbed)
            good[ngood++] = v;
    }
    if (clean)
        *clean = ngood;
    if (ngood == BENCH_REPS)
        return bench_median(good, BENCH_REPS);
    qsort(all, (size_t)n, sizeof all[0], cmp_double); /* the lowest BENCH_REPS */
    return bench_median(all, BENCH_REPS);
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
    uint64_t ops; /* written by the main thread between barriers */
    int quit;
    double start[BENCH_MAX_THREADS], end[BENCH_MAX_THREADS];
    int disturbed[BENCH_MAX_THREADS];
};

struct worker {
    struct pool *pool;
    int index;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct pool *pool = w->pool;
    if (bench_pin(pool->cpus[w->index]) < 0)
        fprintf(stderr, "bench: cannot pin thread %d to CPU %d\n", w->index, pool->cpus[w->index]);
    void *state = pool->setup ? pool->setup(pool->arg, w->index) : pool->arg;
    pthread_barrier_wait(&pool->go); /* set up */
    for (;;) {
        pthread_barrier_wait(&pool->go);
        if (pool->quit)
            break;
        long sw = bench_nivcsw();
        pool->start[w->index] = bench_now_ns();
        pool->loop(state, pool->ops);
        pool->end[w->index] = bench_now_ns();
        pool->disturbed[w->index] = bench_nivcsw() != sw;
        pthread_barrier_wait(&pool->done);
    }
    if (pool->teardown)
        pool->teardown(state);
    return NULL;
}

/* One run of `ops` operations on every thread: the slowest thread's ns.
 * Disturbed when a thread was switched out, or when the threads did not
 * run together for 90% of the slowest one's time (a thread that the
 * scheduler woke late would otherwise run alone, without contention). */
static double pool_run(struct pool *pool, uint64_t ops, int *disturbed)
{
    pool->ops = ops;
    pthread_barrier_wait(&pool->go);
    pthread_barrier_wait(&pool->done);
    double worst = 0, first_end = pool->end[0], last_start = pool->start[0];
    for (int t = 0; t < pool->threads; t++) {
        double ns = pool->end[t] - pool->start[t];
        worst = ns > worst ? ns : worst;
        first_end = pool->end[t] < first_end ? pool->end[t] : first_end;
        last_start = pool->start[t] > last_start ? pool->start[t] : last_start;
        if (disturbed && pool->disturbed[t])
            *disturbed = 1;
    }
    if (disturbed && first_end - last_start < 0.9 * worst)
        *disturbed = 1;
    return worst;
}

/* A repetition for bench_settle: ns per operation. */
static double pool_rep(void *ctx, int *disturbed)
{
    struct pool *pool = ctx;
    return pool_run(pool, pool->ops, disturbed) / (double)pool->ops;
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

    /* Calibrate (and warm up): grow until a run lasts 2 ms, then scale. */
    uint64_t ops = 256;
    double ns = pool_run(&pool, ops, NULL);
    while (ns < 1e6 && ops < (UINT64_C(1) << 40)) {
        ops *= 4;
        ns = pool_run(&pool, ops, NULL);
    }
    double per_op = ns / (double)ops;
    double want = BENCH_TARGET_MS * 1e6 / per_op;
    ops = want < 1 ? 1 : (uint64_t)want;
    pool_run(&pool, ops, NULL); /* one full-size warm-up run */
    pool.ops = ops;
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
           name, threads, processes, unit, value, baseline, baseline_case,
           baseline > 0 ? value / baseline : 0.0, extra ? ", " : "", extra ? extra : "");
    fflush(stdout);
}
