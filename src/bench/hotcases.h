/* SPDX-License-Identifier: MIT */
/*
 * src/bench/hotcases.h - the hot-path cases of the benchmarks, shared by
 * make bench (bench/hotpath.c) and shmetrics bench: nanoseconds per call
 * of shmetrics' hot path through a resolved handle, each case next to the
 * private-line atomic baseline measured right before it (harness.h).
 *
 * Cases, at every thread count from 1 to `maxthreads`, each thread pinned
 * to a distinct CPU: the two atomic baselines; counter add and inc (whole
 * and fractional amounts, and with an exemplar), a sampled counter's inc
 * at rate 0.01, gauge set and inc, histogram observe (vLLM's 21 latency
 * buckets), native histogram observe (schemas 3 and 8), summary observe,
 * each with all threads on one series (_one_series) and with a series
 * per thread (_per_thread); label look-up + add (2 labels, 1,000 label
 * sets, all cached).  With BENCH_HOT_SIM, simulated hosts too: counter
 * add, histogram observe and summary observe on one series by threads
 * that write as if they ran on 2, 64, 256 or 1,024 CPUs.
 */
#ifndef BENCH_HOTCASES_H
#define BENCH_HOTCASES_H

#include "harness.h"
#include "shmetrics.h"

#define BENCH_HOT_SIM 0x1u /* also the simulated hosts */

/* Create the cases' arena at `path` (which must not exist; the caller
 * removes it with shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK)) with
 * stripes for up to 1,024 CPUs, and register the cases' metrics.  0, or
 * a negative errno code with shmetrics_errmsg() naming the problem. */
int bench_hot_open(const char *path, shmetrics_registry_t **reg);

/* Run every case at 1 .. maxthreads threads (at most the CPUs this
 * process may use: bench_cpus) on an arena from bench_hot_open, giving
 * each result to `report` as it comes. */
void bench_hot_suite(int maxthreads, unsigned flags, bench_report_fn report, void *ctx);

#endif
