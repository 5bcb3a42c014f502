# SPDX-License-Identifier: MIT
"""bench/peer_python.py - the prometheus_client peer: what a Python server
in multiprocess mode (PROMETHEUS_MULTIPROC_DIR, one mmap'd file per
process) pays for an update and for a scrape.  Run by bench/run.py with
Debian's python3 and python3-prometheus-client.

Hot path (processes 1 .. N, each pinned to a distinct CPU, one thread
each): Counter.inc(), labels(...).inc() over 1,000 label sets of 2 labels
(all created beforehand), Histogram.observe() with vLLM's 21 latency
buckets.  A figure is the slowest process's ns per call, median of 5
repetitions after calibration and a warm-up (a repetition during which a
process was switched out, or the processes did not run side by side, is
repeated, as src/bench/harness.h describes; up to 30 runs).  Python cannot run the
atomic baseline itself: the baseline is the private-line atomic add that
bench/hotpath measured in the same suite run for the same number of
threads (--baselines).

Collector: 16 writer processes each update every one of N series (labels
handler and code, as bench/collector.c), then MultiProcessCollector +
generate_latest (text 0.0.4) is timed in CPU time of the scraping thread,
as bench/collector.c times shmetrics, median of 5 after a warm-up
(scrapes that spent less than 95% of their time on the CPU are repeated
while the case has run less than 15 s).  The
baseline is shmetrics' scrape of the same workload measured by
bench/collector in the same suite run (--scrapes), so the ratio is how many
times slower prometheus_client is.

Prints one JSON object per case, as the C programs do.
"""
import argparse
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

# prometheus_client picks its multiprocess value class at import time.
ROOT = tempfile.mkdtemp(prefix="shmetrics-bench-prom-", dir="/dev/shm")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = ROOT

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

LATENCY = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0,
           30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
REPS = 5
CLEAN = 0.95
MAX_ATTEMPTS = 30
SCRAPE_BUDGET_S = 15.0
TARGET_S = 0.02
LABEL_SETS = 1000


def settle(run, max_attempts, budget_s=None):
    """bench_settle of src/bench/harness.c: run() returns (figure, score)."""
    started = time.monotonic()
    every, clean = [], []
    while len(every) < max_attempts and len(clean) < REPS:
        if budget_s is not None and len(every) >= REPS and time.monotonic() - started > budget_s:
            break
        figure, score = run()
        every.append((score, figure))
        if score >= CLEAN:
            clean.append(figure)
    if len(clean) == REPS:
        return statistics.median(clean), len(clean)
    best = sorted(every, key=lambda a: -a[0])[:REPS]
    return statistics.median(f for _, f in best), len(clean)


def emit(case, threads, processes, unit, value, baseline, baseline_case, **extra):
    rec = {"case": case, "threads": threads, "processes": processes, unit: round(value, 3),
           "baseline": round(baseline, 3), "baseline_case": baseline_case,
           "ratio": round(value / baseline, 3) if baseline > 0 else 0.0}
    rec.update(extra)
    print(json.dumps(rec), flush=True)


# ------------------------------------------------------------------ hot path

def make_loop(case):
    """The timed loop of a case: loop(ops) makes `ops` calls."""
    if case == "counter_inc":
        c = Counter("bench_requests", "h", registry=None)

        def loop(ops):
            for _ in range(ops):
                c.inc()
    elif case == "labels_inc":
        c = Counter("bench_labelled", "h", ["method", "path"], registry=None)
        vals = ["v%d" % i for i in range(LABEL_SETS)]
        for v in vals:
            c.labels("GET", v)

        def loop(ops):
            k = 0
            for _ in range(ops):
                c.labels("GET", vals[k]).inc()
                k += 1
                if k == LABEL_SETS:
                    k = 0
    else:
        h = Histogram("bench_latency_seconds", "h", buckets=LATENCY, registry=None)
        obs = [0.1 * (i * 37 % 200) for i in range(64)]  # as in hotpath.c

        def loop(ops):
            for i in range(ops):
                h.observe(obs[i & 63])
    return loop


def hot_worker(case, cpu, barrier, ops_box, conn):
    os.sched_setaffinity(0, {cpu})
    loop = make_loop(case)
    while True:
        barrier.wait()
        ops = ops_box.value
        if ops == 0:
            break
        sw = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
        t0 = time.monotonic_ns()
        loop(ops)
        t1 = time.monotonic_ns()
        conn.send((t0, t1, resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw != sw))
        barrier.wait()
    conn.close()


def hot_case(case, cpus):
    """Median over REPS of the slowest process's ns per call."""
    n = len(cpus)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(n + 1)
    ops_box = ctx.Value("q", 0, lock=False)
    pipes = [ctx.Pipe(duplex=False) for _ in cpus]
    procs = [ctx.Process(target=hot_worker, args=(case, cpu, barrier, ops_box, w))
             for cpu, (_, w) in zip(cpus, pipes)]
    for p in procs:
        p.start()

    def run(ops):
        ops_box.value = ops
        barrier.wait()
        got = [r.recv() for r, _ in pipes]
        barrier.wait()
        worst = max(t1 - t0 for t0, t1, _ in got)
        # Scored as src/bench/harness.h says: on the CPU, and side by side.
        together = (min(t1 for _, t1, _ in got) - max(t0 for t0, _, _ in got)) / worst
        switched = any(s for _, _, s in got)
        return worst, (0.5 if switched else 1.0) * min(1.0, max(0.0, together))

    ops = 1000
    ns, _ = run(ops)
    while ns < 10e6:
        ops *= 4
        ns, _ = run(ops)
    ops = max(1, int(ops * TARGET_S * 1e9 / ns))
    run(ops)  # warm-up at full size

    def rep():
        ns, score = run(ops)
        return ns / ops, score
    result = settle(rep, MAX_ATTEMPTS)
    ops_box.value = 0
    barrier.wait()
    for p in procs:
        p.join()
    return result


# ----------------------------------------------------------------- collector

def scrape_writer(path, kind, n):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    if kind == "counter_series":
        c = Counter("bench_requests", "Requests served.", ["handler", "code"], registry=None)
        for i in range(n):
            c.labels("/api/v1/resource/%d" % i, "200").inc(i + 1)
    else:
        h = Histogram("bench_request_seconds", "Request latency.", ["handler", "code"], buckets=LATENCY,
                      registry=None)
        for i in range(n):
            h.labels("/api/v1/resource/%d" % i, "200").observe(0.1 * (i % 200) + 0.05)


def scrape_case(kind, n, processes, scrapes):
    path = tempfile.mkdtemp(prefix="scrape-", dir=ROOT)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=scrape_writer, args=(path, kind, n)) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit("peer_python: a writer failed")
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    text = generate_latest(registry)  # warm-up

    def rep():
        c0, t0 = time.thread_time_ns(), time.monotonic_ns()
        generate_latest(registry)
        cpu = time.thread_time_ns() - c0
        return cpu / 1e6, cpu / max(1, time.monotonic_ns() - t0)
    ms, clean = settle(rep, 15, SCRAPE_BUDGET_S)
    shutil.rmtree(path)
    name = "scrape_%s_%d" % (kind, n)
    base = scrapes.get("%s/%d" % (name, processes), 0.0)
    emit("prometheus_client_" + name, 1, processes, "ms", ms, base, name,
         series=n, us_per_series=round(ms * 1e3 / n, 3), bytes=len(text), clean_reps=clean)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baselines", default="{}", help='{"THREADS": private atomic ns, ...}')
    ap.add_argument("--scrapes", default="{}", help='{"CASE/PROCESSES": shmetrics ms, ...}')
    ap.add_argument("--max-procs", type=int, default=0)
    ap.add_argument("--skip-hot", action="store_true")
    ap.add_argument("--skip-scrape", action="store_true")
    args = ap.parse_args()
    baselines = {int(k): v for k, v in json.loads(args.baselines).items()}
    scrapes = json.loads(args.scrapes)
    cpus = sorted(os.sched_getaffinity(0))
    if args.max_procs > 0:
        cpus = cpus[:args.max_procs]
    try:
        if not args.skip_hot:
            for n in range(1, len(cpus) + 1):
                for case in ("counter_inc", "labels_inc", "histogram_observe"):
                    ns, clean = hot_case(case, cpus[:n])
                    emit("prometheus_client_" + case, 1, n, "ns_per_op", ns, baselines.get(n, 0.0),
                         "baseline_private_atomic", clean_reps=clean)
        if not args.skip_scrape:
            for kind, n in (("counter_series", 1000), ("counter_series", 10000), ("counter_series", 100000),
                            ("histogram_series", 1000)):
                scrape_case(kind, n, 16, scrapes)
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)


if __name__ == "__main__":
    main()
