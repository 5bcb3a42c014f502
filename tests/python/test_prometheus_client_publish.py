# SPDX-License-Identifier: MIT
"""Custom collectors and Gauge.set_function in a multi-process program:
they run in the process that registered them; the publisher thread
writes their values into the arena, where another process (here the
test, reading the arena like `shmetrics serve`) finds them."""

import os
import sys

from conftest import run_python

PROGRAM = r'''
import os, sys, time
import shmetrics.prometheus_client as pc
from shmetrics import callbacks
from shmetrics.prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

calls = {"n": 0}
def depth():
    calls["n"] += 1
    return 40 + 2

class Jobs:
    def collect(self):
        c = CounterMetricFamily("jobs", "Jobs done.", labels=["queue"])
        c.add_metric(["a"], 7)
        yield c
        yield GaugeMetricFamily("temperature_celsius", "Degrees.", value=21.5, unit="celsius")
        yield InfoMetricFamily("worker", "Worker info.", value={"role": "batch"})

g = pc.Gauge("queue_depth", "Queue depth.", multiprocess_mode="livemostrecent")
g.set_function(depth)
pc.REGISTRY.register(Jobs())
callbacks.publish_now()
callbacks.publish_now()  # a counter's second cycle adds nothing: its value did not change
stats = callbacks.publisher_stats()
assert stats["errors"] == 0, stats
print(stats["cycles"], stats["last_seconds"] < 1.0, flush=True)
sys.stdin.readline()  # alive until the reader has looked
'''


def test_collectors_and_set_function_reach_another_process(arena_path):
    import subprocess

    import shmetrics

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
               SHMETRICS_ARENA=arena_path, SHMETRICS_PUBLISH_INTERVAL="3600")
    p = subprocess.Popen([sys.executable, "-c", PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        assert line.split() == ["2", "True"], p.stderr.read() if not line else line
        reg = shmetrics.Registry(arena_path, readonly=True)
        get = reg.get_sample_value
        assert get("queue_depth") == 42
        assert get("jobs_total", {"queue": "a"}) == 7
        assert get("temperature_celsius") == 21.5
        assert get("worker_info", {"role": "batch"}) == 1
        reg.close()
    finally:
        p.stdin.close()
        assert p.wait(60) == 0, p.stderr.read()


def test_bad_publish_interval_is_refused(arena_path):
    done = run_python("import shmetrics", env={"SHMETRICS_PUBLISH_INTERVAL": "soon"})
    assert done.returncode == 1
    assert "SHMETRICS_PUBLISH_INTERVAL='soon': a number of seconds from 0.01 to 3600 is needed" in done.stderr


THREADED = r'''
import sys, time
import shmetrics.prometheus_client as pc
from shmetrics import callbacks
from shmetrics.prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily

class Broken:
    def collect(self):
        raise RuntimeError("sensor offline")

class Load:
    def __init__(self):
        self.n = 0
    def collect(self):
        self.n += 1
        g = GaugeMetricFamily("load", "Load.", labels=["cpu"])
        g.add_metric(["0"], 0.75)
        yield g
        yield SummaryMetricFamily("rpc_seconds", "RPC time.", count_value=4, sum_value=2.5)

load = Load()
pc.CollectorRegistry().register(Broken())  # REGISTRY would call it at once (auto_describe)
pc.REGISTRY.register(load)
print("ready", flush=True)
cmd = sys.stdin.readline().strip()
assert cmd == "unregister", cmd
pc.REGISTRY.unregister(load)
s = callbacks.publisher_stats()
print(s["errors"] > 0, s["last_error"], load.n > 0, flush=True)
sys.stdin.readline()
'''


def test_the_publisher_thread_publishes_and_unregister_withdraws(arena_path):
    import subprocess
    import time

    import shmetrics

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)),
               SHMETRICS_ARENA=arena_path, SHMETRICS_PUBLISH_INTERVAL="0.05")
    p = subprocess.Popen([sys.executable, "-c", THREADED], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        reg = shmetrics.Registry(arena_path, readonly=True)
        deadline = time.monotonic() + 60  # a bound, not a timing: the thread publishes every 0.05 s
        while reg.get_sample_value("rpc_seconds_sum") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reg.get_sample_value("load", {"cpu": "0"}) == 0.75
        assert reg.get_sample_value("rpc_seconds_count") == 4
        assert reg.get_sample_value("rpc_seconds_sum") == 2.5
        # REGISTRY's process and platform collectors stay local: the collector reports process_* itself.
        names = {m.name for m in reg.collect()}
        assert names == {"load", "rpc_seconds_count", "rpc_seconds_sum"}, names
        p.stdin.write("unregister\n")
        p.stdin.flush()
        assert p.stdout.readline().split() == ["True", "RuntimeError:", "sensor", "offline", "True"]
        assert reg.get_sample_value("load", {"cpu": "0"}) is None  # a labelled series leaves
        reg.close()
    finally:
        p.stdin.close()
        assert p.wait(60) == 0, p.stderr.read()


APP_ENDPOINT = r'''
import multiprocessing, os, sys, urllib.request
import prometheus_client
from prometheus_client import REGISTRY, Counter, Gauge, make_asgi_app, start_http_server

# What vLLM does before making its metrics again: drop its own collectors.
old = Counter("vllm:old_total", "Old.")
for collector in list(REGISTRY._collector_to_names):
    if hasattr(collector, "_name") and "vllm" in collector._name:
        REGISTRY.unregister(collector)
TOKENS = Counter("vllm:prompt_tokens_total", "Prompt tokens.", ["model_name"])
RUNNING = Gauge("vllm:num_requests_running", "Running.", ["model_name"], multiprocess_mode="livesum")

def engine(i):
    TOKENS.labels("m").inc(100 * (i + 1))

if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    ps = [ctx.Process(target=engine, args=(i,)) for i in range(3)]
    [p.start() for p in ps]
    [p.join() for p in ps]
    RUNNING.labels("m").set(2)
    server, thread = start_http_server(0, addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics?name[]=vllm:prompt_tokens_total") as r:
        sys.stdout.write(r.read().decode())
    server.shutdown()
    assert callable(make_asgi_app())
'''


def test_the_program_s_own_endpoint_serves_every_process(tmp_path):
    import subprocess

    prog = tmp_path / "endpoint.py"
    prog.write_text(APP_ENDPOINT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
    env.pop("SHMETRICS_ARENA", None)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "shmetrics.run", str(prog)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    # name[] keeps the samples of that name only (not _created), as prometheus_client.
    assert lines == ['vllm:prompt_tokens_total{model_name="m"} 600.0']
