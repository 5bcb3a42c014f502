#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/python_calls.py - nanoseconds per Python call of shmetrics next to
prometheus_client in multiprocess mode (PROMETHEUS_MULTIPROC_DIR in a
temporary directory), measured in the same run on the same machine.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_calls.py [--quick]

Prints one JSON object per case and implementation, as the other programs
of bench/ do:
    {"case": ..., "impl": "shmetrics" | "prometheus_client_multiprocess",
     "threads": 1, "processes": 1, "ns_per_op": X, "baseline": B, "calls": N}
and, per case, {"case": ..., "impl": "ratio", "prometheus_client_over_shmetrics": R}.
ns_per_op is the median of REPS timed runs of `calls` calls after a
calibration run, loop overhead included; the runs of the two libraries
alternate, so that other load on the machine weighs on both alike; "baseline" is the cost of the same loop around an
empty statement (case "baseline_empty_loop").  The arena lives under
/dev/shm and is removed at the end, as is the temporary directory.
"""

import json
import os
import shutil
import sys
import tempfile
import timeit
import uuid

REPS = 5
TARGET_SECONDS = 0.2  # per timed run

_multiproc_dir = tempfile.mkdtemp(prefix="shmetrics-bench-prom-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _multiproc_dir  # read when prometheus_client is imported

import prometheus_client  # noqa: E402  (the variable above must be set first)

import shmetrics  # noqa: E402

LABEL_SETS = [(m, str(c)) for m in ("GET", "POST", "PUT", "DELETE") for c in range(250)]  # 1,000 sets


def build(mod, registry_kw, prefix):
    """The same metrics in either library."""
    return {
        "counter": mod.Counter(f"{prefix}_requests_total", "Requests.", **registry_kw),
        "labelled": mod.Counter(f"{prefix}_labelled_total", "Labelled.", ["method", "code"], **registry_kw),
        "histogram": mod.Histogram(f"{prefix}_latency_seconds", "Latency.", **registry_kw),
        "gauge": mod.Gauge(f"{prefix}_inflight", "In flight.", multiprocess_mode="livesum", **registry_kw),
        "summary": mod.Summary(f"{prefix}_size_bytes", "Size.", **registry_kw),
    }


CASES = [
    ("baseline_empty_loop", "pass"),
    ("counter_inc", "m['counter'].inc()"),
    ("counter_inc_child", "child.inc()"),
    ("labels_inc_one_set", "m['labelled'].labels('GET', '200').inc()"),
    ("labels_kwargs_inc_one_set", "m['labelled'].labels(method='GET', code='200').inc()"),
    ("labels_inc_1000_sets", "m['labelled'].labels(*next(sets)).inc()"),
    ("histogram_observe", "m['histogram'].observe(0.3)"),
    ("gauge_set", "m['gauge'].set(3.0)"),
    ("gauge_inc", "m['gauge'].inc()"),
    ("summary_observe", "m['summary'].observe(512)"),
]


def cycle(items):
    while True:
        yield from items


def calibrate(timer):
    """The number of calls that takes about TARGET_SECONDS."""
    calls = 1000
    while True:
        elapsed = timer.timeit(calls)
        if elapsed >= TARGET_SECONDS / 4 or calls >= 50_000_000:
            break
        calls *= 4
    return max(1000, int(calls * TARGET_SECONDS / max(elapsed, 1e-9)))


def measure(stmt, namespaces):
    """ns per call of `stmt` in each namespace: the timed runs of the
    implementations alternate, so that a change of load on the machine
    weighs on both alike; the median run of each is kept."""
    timers = {impl: timeit.Timer(stmt, globals=ns) for impl, ns in namespaces.items()}
    calls = {impl: calibrate(t) for impl, t in timers.items()}
    runs = {impl: [] for impl in timers}
    for _ in range(REPS):
        for impl, t in timers.items():
            runs[impl].append(t.timeit(calls[impl]) / calls[impl] * 1e9)
    return {impl: (sorted(r)[REPS // 2], calls[impl]) for impl, r in runs.items()}


def main():
    quick = "--quick" in sys.argv[1:]
    if quick:
        global REPS, TARGET_SECONDS
        REPS, TARGET_SECONDS = 3, 0.02
    arena = f"/dev/shm/shmetrics-bench-py-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    reg = shmetrics.Registry(arena)
    try:
        impls = {
            "shmetrics": build(shmetrics, {"registry": reg}, "shm"),
            "prometheus_client_multiprocess": build(
                prometheus_client, {"registry": prometheus_client.CollectorRegistry()}, "prom"
            ),
        }
        results = {}
        for case, stmt in CASES:
            namespaces = {
                impl: {"m": m, "child": m["labelled"].labels("GET", "200"), "sets": cycle(LABEL_SETS)}
                for impl, m in impls.items()
            }
            for impl, got in measure(stmt, namespaces).items():
                results[case, impl] = got
        for case, _ in CASES:
            for impl in impls:
                ns_op, calls = results[case, impl]
                print(json.dumps({
                    "case": case, "impl": impl, "threads": 1, "processes": 1,
                    "ns_per_op": round(ns_op, 2),
                    "baseline": round(results["baseline_empty_loop", impl][0], 2),
                    "calls": calls,
                }), flush=True)
            if case != "baseline_empty_loop":
                ratio = results[case, "prometheus_client_multiprocess"][0] / results[case, "shmetrics"][0]
                print(json.dumps({"case": case, "impl": "ratio", "prometheus_client_over_shmetrics": round(ratio, 1)}),
                      flush=True)
    finally:
        reg.close(unlink=True)
        shutil.rmtree(_multiproc_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
