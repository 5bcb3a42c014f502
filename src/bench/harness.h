/* SPDX-License-Identifier: MIT */
/*
 * src/bench/harness.h - the measuring harness shared by the benchmark
 * programs of make bench (bench/, C and C++) and by the shmetrics bench
 * command: pinned worker threads, calibrated repetitions, medians, the
 * private-line atomic baseline, and the JSON lines every program prints.
 *
 * A hot-path case is a set-up function, called once in each worker thread
 * after it is pinned, and a loop function that performs `ops` operations.
 * bench_threads() runs the loop on `threads` threads at once (each pinned to
 * a distinct CPU): first with fixed counts, to calibrate and warm up, then
 * in repetitions of BENCH_TARGET_MS during which every thread makes as many
 * calls as it can (so that all threads run side by side for the whole
 * repetition, even when one of them is favoured by the cache line they
 * share).  A repetition's figure is the slowest thread's ns per call.
 *
 * The machine is shared, so every repetition is scored: the share of the
 * repetition during which all threads ran together (a thread woken late by
 * a busy scheduler runs alone, without contention), halved when a thread
 * was switched out involuntarily (getrusage's ru_nivcsw; waiting for a lock
 * is voluntary and does not count).  A repetition scoring BENCH_CLEAN or
 * more is clean; others
 * are repeated, up to BENCH_MAX_ATTEMPTS in all.  The result is the median
 * of BENCH_REPS clean repetitions or, when there are fewer, of the
 * BENCH_REPS best scored.  *clean, when not NULL, gets the number of clean
 * repetitions used.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_REPS 5
#define BENCH_MAX_ATTEMPTS 40
#define BENCH_TARGET_MS 3.0
#define BENCH_CLEAN 0.95
#define BENCH_MAX_THREADS 64

/* Called in each worker thread, pinned, before any timing: returns the
 * thread's state (may allocate; freed by the case's own code if needed). */
typedef void *(*bench_setup_fn)(void *arg, int thread);
/* Performs `ops` operations. */
typedef void (*bench_loop_fn)(void *state, uint64_t ops);
/* Called in each worker thread after the last repetition. */
typedef void (*bench_teardown_fn)(void *state);

/* CLOCK_MONOTONIC in ns. */
double bench_now_ns(void);
/* The calling thread's CPU time (user + system) in ns: what a
 * single-threaded measurement costs, without the time the machine gave
 * to other processes. */
double bench_thread_cpu_ns(void);
/* The CPUs this process may run on (sched_getaffinity), in order; returns
 * how many (at most `cap`). */
int bench_cpus(int *out, int cap);
/* Pin the calling thread to one CPU; 0 or -1. */
int bench_pin(int cpu);
/* The median of n values (sorts them). */
double bench_median(double *v, size_t n);
/* One repetition: returns its figure and sets *score (0 to 1: how little
 * the machine disturbed it, as above). */
typedef double (*bench_rep_fn)(void *ctx, double *score);
/* Repeat `run` as described above (at most max_attempts times). */
double bench_settle(bench_rep_fn run, void *ctx, int max_attempts, int *clean);

/* Median ns per operation of `loop` on `threads` pinned threads. */
double bench_threads(int threads, bench_setup_fn setup, bench_loop_fn loop, bench_teardown_fn teardown, void *arg,
                     int *clean);

/* The physical limit: a relaxed atomic fetch-add on a cache line private to
 * each thread, and on one line shared by all threads. */
double bench_private_atomic(int threads, int *clean);
double bench_shared_atomic(int threads, int *clean);

/* The p-th percentile (0 to 100, nearest rank) of n values (sorts them). */
double bench_percentile(double *v, size_t n, double p);

/* Print one result line and flush it:
 *   {"case": ..., "threads": T, "processes": P, "<unit>": V,
 *    "baseline": B, "baseline_case": ..., "ratio": V/B<, extra>}
 * `unit` is "ns_per_op", "ms" or "bytes_per_series"; `extra` is NULL or
 * more members ("series": 1000, ...) without the leading comma. */
void bench_emit(const char *name, int threads, int processes, const char *unit, double value, double baseline,
                const char *baseline_case, const char *extra);

/* One result, as bench_emit prints it, for programs that print it another
 * way too (a table). */
struct bench_result {
    const char *name;
    int threads, processes;
    const char *unit;
    double value, baseline;
    const char *baseline_case;
    int clean_reps, baseline_clean_reps;
    const char *extra; /* further members after the clean_reps ones, or NULL */
};
/* Where a suite sends each result. */
typedef void (*bench_report_fn)(const struct bench_result *r, void *ctx);
/* A bench_report_fn: bench_emit's line, with "clean_reps" and
 * "baseline_clean_reps" first among the extra members. */
void bench_report_json(const struct bench_result *r, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* BENCH_HARNESS_H */
