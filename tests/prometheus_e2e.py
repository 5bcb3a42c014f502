# SPDX-License-Identifier: MIT
"""End to end: worker processes write an arena, `shmetrics serve` exposes
it, a real Prometheus server (Debian's package) scrapes it every second on
127.0.0.1, and its HTTP query API must return what the workers wrote.

Everything started here is bounded in time and stopped by PID.  Needs
SHMETRICS_CLI and SHMETRICS_FEED in the environment; run by Debian's python3.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from push_common import free_port, stop_proc
from tap import check, failed, summary

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
ARENA = "/dev/shm/shmetrics-e2e-%d" % os.getpid()




def query(port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (port, urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.load(r)
    if doc.get("status") != "success":
        raise RuntimeError(doc)
    return doc["data"]["result"]


def scalar(port, expr):
    res = query(port, expr)
    return float(res[0]["value"][1]) if len(res) == 1 else None


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-e2e-")
    serve = prom = None
    try:
        # 4 worker processes, 10 series each, then exit: the values are exact.
        subprocess.run([FEED, ARENA, "4", "10"], check=True, timeout=60)
        serve = subprocess.Popen([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", serve.stdout.readline())
        check(m is not None, "collector listens")
        target = "127.0.0.1:%s" % m.group(1)
        pport = free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: shmetrics\n    static_configs:\n"
                    "      - targets: ['%s']\n" % target)
        with open(os.path.join(tmp, "prometheus.log"), "w") as log:
            prom = subprocess.Popen([PROMETHEUS, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                                     "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                                     "--web.listen-address=127.0.0.1:%d" % pport],
                                    stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        up = None
        while time.monotonic() < deadline:
            try:
                up = scalar(pport, 'up{job="shmetrics"}')
                if up == 1 and scalar(pport, "sum(feed_series_total)") is not None:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        check(up == 1, "Prometheus scrapes the collector: up == 1", up)
        check(scalar(pport, 'feed_series_total{proc="0",idx="9"}') == 10.0, "one counter series")
        check(scalar(pport, "sum(feed_series_total)") == 4 * 55.0, "sum over 40 counter series = 220")
        check(scalar(pport, "count(feed_series_total)") == 40.0, "40 counter series")
        check(scalar(pport, "feed_busy") == 4.0, "gauge, mode sum over 4 processes")
        check(scalar(pport, "feed_latency_seconds_count") == 4.0, "histogram count")
        check(scalar(pport, "feed_latency_seconds_sum") == 1.0, "histogram sum")
        # 4 observations of 0.25, all in (0.1, 0.25]: Prometheus interpolates
        # the median to 0.1 + 0.15 * 2/4.
        q = scalar(pport, "histogram_quantile(0.5, feed_latency_seconds_bucket)")
        check(q is not None and abs(q - 0.175) < 1e-9, "histogram_quantile(0.5) = 0.175", q)
        q = scalar(pport, 'feed_ttft_seconds{quantile="0.99"}')
        check(q == 0.50390625, "summary quantile: the sketch's 0.5", q)
        check(scalar(pport, "feed_ttft_seconds_count") == 4.0, "summary count")
        check(scalar(pport, "sum(shmetrics_arena_processes)") == 0.0,
              "collector's own metrics: the 4 workers gave their slots back")
    finally:
        stop_proc(prom)
        stop_proc(serve)
        try:
            os.unlink(ARENA)
        except FileNotFoundError:
            pass
        if failed():
            try:
                with open(os.path.join(tmp, "prometheus.log")) as f:
                    sys.stdout.write("".join("# " + l for l in f.readlines()[-20:]))
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
