# SPDX-License-Identifier: MIT
"""End to end: worker processes write an arena, `shmetrics serve` exposes
it, a real Prometheus server (Debian's package) scrapes it every second on
127.0.0.1, and its HTTP query API must return what the workers wrote.

Everything started here is bounded in time and stopped by PID.  Needs
SHMETRICS_CLI and SHMETRICS_FEED in the environment; run by Debian's python3.
"""
import os
import re
import subprocess
import sys
import tempfile

from prom_server import Prometheus, finish, scrape_config
from push_common import stop_proc
from tap import check, failed, summary

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-e2e-%d" % os.getpid()


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-e2e-")
    serve = prom = None
    try:
        # 4 worker processes, 10 series each, then exit: the values are exact.
        subprocess.run([FEED, ARENA, "4", "10"], check=True, timeout=60)
        subprocess.run([FEED, ARENA, "3", "utf8"], check=True, timeout=60)
        serve = subprocess.Popen([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", serve.stdout.readline())
        check(m is not None, "collector listens")
        target = "127.0.0.1:%s" % m.group(1)
        prom = Prometheus(tmp, scrape_config("shmetrics", target))
        prom.wait(lambda: prom.scalar('up{job="shmetrics"}') == 1 and
                  prom.scalar("sum(feed_series_total)") is not None)
        up = prom.scalar('up{job="shmetrics"}')
        check(up == 1, "Prometheus scrapes the collector: up == 1", up)
        check(prom.scalar('feed_series_total{proc="0",idx="9"}') == 10.0, "one counter series")
        check(prom.scalar("sum(feed_series_total)") == 4 * 55.0, "sum over 40 counter series = 220")
        check(prom.scalar("count(feed_series_total)") == 40.0, "40 counter series")
        check(prom.scalar("feed_busy") == 4.0, "gauge, mode sum over 4 processes")
        # UTF-8 names (feed.utf8.requests, http.method): Prometheus 2.42 asks
        # for no escaping scheme, so it gets them with underscores.
        check(prom.scalar('sum(feed_utf8_requests_total{http_method="GET"})') == 6.0 and
              prom.scalar("feed_utf8_latency_count") == 3.0 and prom.scalar("feed_utf8_latency_sum") == 4.5,
              "UTF-8 names scraped with underscores, the values exact")
        check(prom.scalar("feed_latency_seconds_count") == 4.0, "histogram count")
        check(prom.scalar("feed_latency_seconds_sum") == 1.0, "histogram sum")
        # 4 observations of 0.25, all in (0.1, 0.25]: Prometheus interpolates
        # the median to 0.1 + 0.15 * 2/4.
        q = prom.scalar("histogram_quantile(0.5, feed_latency_seconds_bucket)")
        check(q is not None and abs(q - 0.175) < 1e-9, "histogram_quantile(0.5) = 0.175", q)
        q = prom.scalar('feed_ttft_seconds{quantile="0.99"}')
        check(q == 0.50390625, "summary quantile: the sketch's 0.5", q)
        check(prom.scalar("feed_ttft_seconds_count") == 4.0, "summary count")
        check(prom.scalar("sum(shmetrics_arena_processes)") == 0.0,
              "collector's own metrics: the 4 workers gave their slots back")
    finally:
        stop_proc(serve)
        finish(prom, ARENA, tmp, failed())
    return summary()


if __name__ == "__main__":
    sys.exit(main())
