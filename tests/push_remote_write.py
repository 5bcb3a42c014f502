# SPDX-License-Identifier: MIT
"""shmetrics push --backend remote-write against a real Prometheus (Debian's
package) started with --web.enable-remote-write-receiver on 127.0.0.1, and
read back through its HTTP query API: every sample of the arena, the
extra labels, PromQL over the pushed histogram; then a Prometheus that is
down when the pusher starts (nothing lost once it is up), and a path that
Prometheus answers with 404.

Everything started here is bounded in time and stopped by PID.
"""
import os
import subprocess
import sys
import tempfile

from prom_server import Prometheus
from push_common import Checks, Pusher, cli, dump_json, free_port, remove_files, wait_for

FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-push-rw-%d" % os.getpid()
T = Checks()


def underscores(name, metric):
    """A name as remote-write 1.0 carries it: each character outside the
    legacy set as '_' (the feed's UTF-8 names, spec.utf8_names)."""
    def legal(i, ch):
        return ch.isascii() and (ch.isalpha() or ch == "_" or (i > 0 and ch.isdigit()) or (metric and ch == ":"))
    return "".join(ch if legal(i, ch) else "_" for i, ch in enumerate(name))


def start_prometheus(tmp, port):
    """Prometheus as a remote-write receiver on `port`; .up says whether
    it became ready within 60 s."""
    prom = Prometheus(os.path.join(tmp, "prom-%d" % port), "global:\n  scrape_interval: 15s\n",
                      "--web.enable-remote-write-receiver", port=port)
    prom.up = prom.wait(prom.ready, 60, 0.25)
    return prom


def test_exact(tmp):
    prom = start_prometheus(tmp, free_port())
    T.check(prom.up, "Prometheus is ready")
    target = "http://127.0.0.1:%d" % prom.port
    try:
        r = cli("push", "--arena", ARENA, "--backend", "remote-write", "--target", target, "--once",
                "--label", "job=shmetrics", "--label", "instance=box1")
        T.check(r.returncode == 0 and "pushed %s to remote-write" % ARENA in r.stdout, "--once: exit 0", r.stderr)
        got = wait_for(lambda: prom.query('{job="shmetrics"}'), 30, 0.25)
        series, extra_ok = {}, True
        for s in got:
            m = dict(s["metric"])
            name = m.pop("__name__")
            extra_ok &= m.pop("job", None) == "shmetrics" and m.pop("instance", None) == "box1"
            series[(name, tuple(sorted(m.items())))] = float(s["value"][1])
        T.check(got and extra_ok, "--label job=shmetrics --label instance=box1 on every series")
        want, bad = {}, []
        for fam in dump_json(ARENA):
            if fam["name"].startswith("shmetrics_"):
                continue
            for s in fam["samples"]:
                want[(underscores(s["name"], True),
                      tuple(sorted((underscores(k, False), v) for k, v in s["labels"].items())))] = float(s["value"])
        for k, v in want.items():
            g = series.get(k)
            if g is None or not (g == v or (g != g and v != v)):
                bad.append((k, g, v))
        T.check(not bad and len(want) > 60, "every one of %d samples reads back exactly" % len(want), bad[:3])
        T.check(prom.scalar('feed_series_total{proc="0",idx="9"}') == 10.0, "one counter series")
        T.check(prom.scalar("sum(feed_series_total)") == 220.0, "sum over 40 series = 220")
        T.check(prom.scalar("feed_busy") == 4.0, "gauge merged over 4 processes")
        T.check(prom.scalar('sum(feed_utf8_requests_total{http_method="GET"})') == 6.0 and
                prom.scalar('feed_utf8_latency_bucket{le="1.0"}') == 1.0 and prom.scalar("feed_utf8_latency_count") == 3.0,
                "UTF-8 names (feed.utf8.requests, http.method) sent with underscores, the values exact")
        T.check(prom.query('{__name__=~".*[.].*"}') == [], "no name with a dot reached Prometheus")
        q = prom.scalar("histogram_quantile(0.5, feed_latency_seconds_bucket)")
        T.check(q is not None and abs(q - 0.175) < 1e-9, "histogram_quantile(0.5) over pushed buckets = 0.175", q)
        T.check(prom.scalar('feed_ttft_seconds{quantile="0.99"}') == 0.50390625, "summary quantile")
        T.check(prom.scalar('shmetrics_push_attempts_total{backend="remote-write"}') == 1.0,
                "self metric shmetrics_push_attempts_total")
        r = cli("push", "--arena", ARENA, "--backend", "remote-write", "--target", target + "/api/v1/nope",
                "--once")
        T.check(r.returncode == 1 and "HTTP 404" in r.stderr and "/api/v1/nope" in r.stderr,
                "a wrong path: exit 1 naming the status and URL", r.stderr)
    finally:
        if T.failed:
            sys.stdout.write(prom.tail())
        prom.stop()


def test_down_then_up(tmp):
    arena = ARENA + "-down"
    cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total", "5")
    port = free_port()
    p = Pusher("--arena", arena, "--backend", "remote-write", "--target", "http://127.0.0.1:%d" % port,
               "--interval", "300ms", "--retry-min", "100ms", "--retry-max", "300ms", "--label", "job=down")
    prom = None
    try:
        T.check(wait_for(lambda: p.stderr().count("push failed") >= 2, 20), "Prometheus down: failures logged",
                p.stderr()[-300:])
        T.check("Couldn't connect" in p.stderr(), "the log names the error", p.stderr()[-300:])
        for _ in range(6):
            cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total")
        prom = start_prometheus(tmp, port)
        T.check(prom.up, "Prometheus comes up on that port")
        T.check(wait_for(lambda: "get through again" in p.stderr(), 30), "recovery logged", p.stderr()[-300:])
        cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total", "4")
        rc = p.stop()
        pushes, failed = p.counts() or (0, 0)
        T.check(rc == 0 and failed >= 2, "%d of %d pushes failed" % (failed, pushes))
        v = wait_for(lambda: prom.scalar('jobs_total{job="down"}') == 15.0, 30, 0.25)
        T.check(v, "5 before, 6 while down, 4 after: 15", prom.scalar('jobs_total{job="down"}'))
        f = prom.scalar('shmetrics_push_failures_total{job="down"}')
        T.check(f == failed, "self metric: failures = %d" % failed, f)
    finally:
        p.stop()
        if prom:
            if T.failed:
                sys.stdout.write(prom.tail())
            prom.stop()
        os.unlink(arena)


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-rw-")
    try:
        subprocess.run([FEED, ARENA, "4", "10"], check=True, timeout=60)
        subprocess.run([FEED, ARENA, "3", "utf8"], check=True, timeout=60)
        cli("set", "--arena", ARENA, "--help", "Temp.", "temperature", "room=a", "-2.5")
        cli("inc", "--arena", ARENA, "--help", "Work.", "work_seconds_total", "0.75")
        test_exact(tmp)
        test_down_then_up(tmp)
    finally:
        remove_files(tmp, ARENA)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
