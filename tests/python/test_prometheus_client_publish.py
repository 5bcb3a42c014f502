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
