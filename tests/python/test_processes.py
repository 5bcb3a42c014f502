# SPDX-License-Identifier: MIT
"""Many processes, one arena: exact counts from 4 Python processes (forked
and spawned by multiprocessing), gauge modes merged across processes
alive and gone, and Python workers next to C workers (the feed program and
the shmetrics command) updating the same series to an exact sum."""

import multiprocessing
import os
import subprocess
import time

import pytest

import shmetrics
from conftest import run_processes, samples

PROCS = 4
INCS = 100_000
LABELLED = 20_000


def make_metrics(reg):
    return (
        shmetrics.Counter("py_requests_total", "Requests.", registry=reg),
        shmetrics.Counter("py_labelled_total", "Labelled.", ["worker", "kind"], registry=reg),
        shmetrics.Histogram("py_latency_seconds", "Latency.", registry=reg, buckets=[1, 2, 5]),
        shmetrics.Summary("py_size_bytes", "Size.", registry=reg, quantiles=[0.5]),
    )


def exercise(metrics, index):
    requests, labelled, latency, size = metrics
    for _ in range(INCS):
        requests.inc()
    for n in range(LABELLED):
        labelled.labels(str(index), "even" if n % 2 == 0 else "odd").inc()
        labelled.labels(worker="all", kind="shared").inc(2)
    for n in range(1, 1001):
        latency.observe(n % 7)  # whole numbers: exact sums
        size.observe(n)


def forked_worker(reg, index):
    exercise(make_metrics(reg), index)


def spawned_worker(path, index):
    with shmetrics.Registry(path) as reg:
        exercise(make_metrics(reg), index)


def pickled_registry_worker(reg, index):
    assert isinstance(reg, shmetrics.Registry) and not reg.closed
    exercise(make_metrics(reg), index)


def check_totals(reg):
    assert reg.get_sample_value("py_requests_total") == PROCS * INCS
    for i in range(PROCS):
        for kind in ("even", "odd"):
            assert reg.get_sample_value("py_labelled_total", {"worker": str(i), "kind": kind}) == LABELLED / 2
    assert reg.get_sample_value("py_labelled_total", {"worker": "all", "kind": "shared"}) == PROCS * LABELLED * 2
    per_proc = {k: sum(1 for n in range(1, 1001) if n % 7 == k) for k in range(7)}
    le1 = per_proc[0] + per_proc[1]
    le2 = le1 + per_proc[2]
    le5 = le2 + per_proc[3] + per_proc[4] + per_proc[5]
    assert samples(reg, "py_latency_seconds_bucket") == {
        frozenset({("le", "1.0")}): PROCS * le1,
        frozenset({("le", "2.0")}): PROCS * le2,
        frozenset({("le", "5.0")}): PROCS * le5,
        frozenset({("le", "+Inf")}): PROCS * 1000,
    }
    assert reg.get_sample_value("py_latency_seconds_sum") == PROCS * sum(n % 7 for n in range(1, 1001))
    assert reg.get_sample_value("py_size_bytes_count") == PROCS * 1000
    assert reg.get_sample_value("py_size_bytes_sum") == PROCS * 500500
    assert reg.get_sample_value("py_size_bytes", {"quantile": "0.5"}) == pytest.approx(500, rel=0.01)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver", "spawn-pickled"])
def test_four_processes_count_exactly(registry, method):
    ctx = multiprocessing.get_context(method.split("-")[0])
    if method == "fork":
        make_metrics(registry)  # inherited by the children, as a pre-forking server does
        procs = [ctx.Process(target=forked_worker, args=(registry, i)) for i in range(PROCS)]
    elif method == "spawn-pickled":  # the registry is pickled: the child opens it by path
        procs = [ctx.Process(target=pickled_registry_worker, args=(registry, i)) for i in range(PROCS)]
    else:
        procs = [ctx.Process(target=spawned_worker, args=(registry.path, i)) for i in range(PROCS)]
    run_processes(procs)
    check_totals(registry)


# ----------------------------------------------------------------- gauges

MODES = ("all", "liveall", "sum", "livesum", "min", "livemin", "max", "livemax", "mostrecent", "livemostrecent")


def gauge_worker(path, index, ready, release):
    with shmetrics.Registry(path) as reg:
        for mode in MODES:
            shmetrics.Gauge(f"g_{mode}", "G.", ["k"], registry=reg, multiprocess_mode=mode).labels("x").set(index)
        ready.release()
        release.acquire()
    # the with block detached cleanly (an "exited" process)


def gauge_values(reg, mode):
    return samples(reg, f"g_{mode}")


def test_gauge_modes_across_processes(registry):
    ctx = multiprocessing.get_context("fork")
    gauges = {
        mode: shmetrics.Gauge(f"g_{mode}", "G.", ["k"], registry=registry, multiprocess_mode=mode) for mode in MODES
    }
    for g in gauges.values():
        g.labels("x").set(100)
    ready, release = ctx.Semaphore(0), ctx.Semaphore(0)
    procs = [ctx.Process(target=gauge_worker, args=(registry.path, i + 1, ready, release)) for i in range(PROCS)]
    for p in procs:  # one after the other: the last write is the last process's
        p.start()
        assert ready.acquire(timeout=60)
    x = frozenset({("k", "x")})
    alive = {
        "sum": 110,
        "livesum": 110,
        "min": 1,
        "livemin": 1,
        "max": 100,
        "livemax": 100,
        "mostrecent": PROCS,
        "livemostrecent": PROCS,
    }
    for mode, want in alive.items():
        assert gauge_values(registry, mode) == {x: want}, mode
    pids = [str(os.getpid())] + [str(p.pid) for p in procs]
    for mode in ("all", "liveall"):
        got = gauge_values(registry, mode)
        assert got == {frozenset({("k", "x"), ("pid", pid)}): v for pid, v in zip(pids, [100, 1, 2, 3, 4])}, mode

    for _ in procs:
        release.release()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    # Gone: the merged modes keep the last values, the live ones drop them.
    gone = {"sum": 110, "min": 1, "max": 100, "mostrecent": PROCS, "livesum": 100, "livemin": 100, "livemax": 100,
            "livemostrecent": 100}
    for mode, want in gone.items():
        assert gauge_values(registry, mode) == {x: want}, mode
    assert gauge_values(registry, "liveall") == {frozenset({("k", "x"), ("pid", str(os.getpid()))}): 100}
    assert len(gauge_values(registry, "all")) == PROCS + 1


def test_a_forked_child_writes_its_own_gauge_cell(registry):
    g = shmetrics.Gauge("own", "O.", registry=registry, multiprocess_mode="sum")
    g.set(5)
    pid = os.fork()
    if pid == 0:
        try:
            g.set(7)
            code = 0 if g.get() == 7 else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert g.get() == 5
    assert registry.get_sample_value("own") == 12


# --------------------------------------------------- Python next to C


def python_looper(path, seconds, counts):
    with shmetrics.Registry(path) as reg:
        loop = shmetrics.Counter("feed_loop_total", "Loops of the feed.", registry=reg)
        mixed = shmetrics.Counter("mixed_total", "Python and the shmetrics command.", ["who"], registry=reg)
        child = mixed.labels("both")
        n = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for _ in range(1000):
                loop.inc()
                child.inc(2)
            n += 1000
    counts.put(n)


def test_python_and_c_workers_sum_exactly(registry, feed, cli):
    ctx = multiprocessing.get_context("fork")
    counts = ctx.Queue()
    seconds = 1.5
    c_fleet = subprocess.Popen([feed, registry.path, "2", "0", str(seconds)], stdout=subprocess.PIPE, text=True)
    pys = [ctx.Process(target=python_looper, args=(registry.path, seconds, counts)) for _ in range(PROCS)]
    for p in pys:
        p.start()
    cli_runs = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or cli_runs < 20:
        r = subprocess.run([cli, "inc", "--arena", registry.path, "mixed_total", "who=both", "3"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        cli_runs += 1
    out, _ = c_fleet.communicate(timeout=120)
    assert c_fleet.returncode == 0
    c_loops = sum(int(line) for line in out.split())
    py_loops = [counts.get(timeout=120) for _ in pys]
    for p in pys:
        p.join(60)
        assert p.exitcode == 0
    assert c_loops > 0 and all(n > 0 for n in py_loops)
    assert registry.get_sample_value("feed_loop_total") == c_loops + sum(py_loops)
    assert registry.get_sample_value("mixed_total", {"who": "both"}) == 2 * sum(py_loops) + 3 * cli_runs


def test_c_reads_what_python_wrote_and_back(registry, cli):
    c = shmetrics.Counter("jobs_total", "Jobs run.", ["queue"], registry=registry)
    c.labels("nightly").inc(41)
    r = subprocess.run([cli, "inc", "--arena", registry.path, "jobs_total", "queue=nightly"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert c.labels("nightly").get() == 42
    dump = subprocess.run([cli, "dump", "--arena", registry.path], capture_output=True, text=True, timeout=60)
    assert 'jobs_total{queue="nightly"} 42' in dump.stdout.splitlines()
    r = subprocess.run([cli, "observe", "--arena", registry.path, "--buckets", "1,2", "wait_seconds", "1.5"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    h = shmetrics.Histogram("wait_seconds", "W.", registry=registry, buckets=[1, 2])
    h.observe(0.5)
    assert registry.get_sample_value("wait_seconds_count") == 2
    assert registry.get_sample_value("wait_seconds_bucket", {"le": "1.0"}) == 1
