/* SPDX-License-Identifier: MIT */
/*
 * bench/hotpath.c - nanoseconds per hot-path call of shmetrics through a
 * resolved handle, next to the physical limit measured in the same run: a
 * relaxed atomic fetch-add on a cache line private to each thread (the
 * baseline of every ratio, measured right before each case) and on one line
 * shared by all threads.
 *
 * usage: hotpath [MAXTHREADS]
 *
 * Cases, for 1, 2 ... MAXTHREADS threads (default: every CPU this process
 * may use), each thread pinned to a distinct CPU: counter add and inc
 * (whole and fractional amounts), gauge set and inc, histogram observe
 * (vLLM's 21 latency buckets), native histogram observe (schemas 3 and 8,
 * the same inputs), summary observe, each with all threads on one
 * series and with a series per thread; a sampled counter's inc at rate
 * 0.01 (a sampler per thread, on one series or a series each); label
 * look-up + add (2 labels, 1,000 label sets, all cached).  Prints one JSON
 * object per case and thread count (see harness.h).
 *
 * Simulated hosts: counter add, histogram observe and summary observe on
 * one series by threads that write as if they ran on 2, 64, 256 or 1,024
 * CPUs (shmetrics_cpu_simulate, SHMETRICS_CPU_HOOK), each moving to another
 * random CPU every 4,096 calls, never to one another thread is on (as a
 * scheduler never runs two threads on one CPU at once); a fresh series for each CPU count, so its
 * stripes grow from none during the case.  Uses the public API only.
 *
 * The cases themselves are src/bench/hotcases.c, which shmetrics bench runs
 * too; this program runs them all, the simulated hosts included.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hotcases.h"

int main(int argc, char **argv)
{
    int cpus[BENCH_MAX_THREADS];
    int ncpu = bench_cpus(cpus, BENCH_MAX_THREADS);
    int maxthreads = argc > 1 ? atoi(argv[1]) : ncpu;
    if (maxthreads < 1 || maxthreads > ncpu)
        maxthreads = ncpu;

    char path[128];
    snprintf(path, sizeof path, "/dev/shm/shmetrics-bench-hot-%d", (int)getpid());
    shmetrics_registry_t *reg;
    if (bench_hot_open(path, &reg) < 0) {
        fprintf(stderr, "hotpath: open: %s\n", shmetrics_errmsg());
        return 1;
    }
    bench_hot_suite(maxthreads, BENCH_HOT_SIM, bench_report_json, NULL);
    shmetrics_shutdown(reg, SHMETRICS_SHUTDOWN_UNLINK);
    return 0;
}
