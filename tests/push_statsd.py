# SPDX-License-Identifier: MIT
"""shmetrics push --backend statsd against the real StatsD daemon (npm
package statsd 0.9.0, in tests/npm/node_modules from
scripts/install-deps.sh), on 127.0.0.1.

A test backend (tests/statsd_capture.js) records every flush of the
daemon.  Worker processes write an arena; `shmetrics push` sends it every
200 ms while more updates arrive; after SIGTERM (one last push) the sum of
every counter the daemon flushed, and the last value of every gauge, must
equal what the arena holds, key by key, computed here from the documented
mapping and `shmetrics dump --format json`.  Then: the daemon down when the
pusher starts (failures logged and counted, nothing lost once it is up),
DogStatsD tags with a prefix, and no bad lines seen by the daemon.

Everything started here is bounded in time and stopped by PID.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from push_common import (HERE, Checks, Pusher, cli, dump_json, free_port, npm_modules, remove_files, stop_proc,
                         wait_for)

FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-push-statsd-%d" % os.getpid()
T = Checks()


class Statsd:
    def __init__(self, modules, tmp, port):
        self.port = port
        self.capture = os.path.join(tmp, "flush-%d.jsonl" % port)
        conf = os.path.join(tmp, "statsd-%d.js" % port)
        with open(conf, "w") as f:
            f.write("{ port: %d, address: '127.0.0.1', mgmt_address: '127.0.0.1', mgmt_port: %d,\n"
                    "  flushInterval: 200, backends: [%s], captureFile: %s }\n"
                    % (port, free_port(), json.dumps(os.path.join(HERE, "statsd_capture.js")),
                       json.dumps(self.capture)))
        self.log = open(os.path.join(tmp, "statsd-%d.log" % port), "w")
        self.proc = subprocess.Popen(["node", os.path.join(modules, "statsd", "stats.js"), conf],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)
        self.up = wait_for(lambda: os.path.exists(self.capture) and os.path.getsize(self.capture) > 0, 30)

    def flushes(self):
        try:
            with open(self.capture) as f:
                return [json.loads(l) for l in f if l.strip()]
        except OSError:
            return []

    def totals(self):
        """Counters summed over every flush; gauges as last flushed."""
        counters, gauges = {}, {}
        for fl in self.flushes():
            for k, v in fl["counters"].items():
                counters[k] = counters.get(k, 0) + v
            gauges.update(fl["gauges"])
        return counters, gauges

    def stop(self):
        stop_proc(self.proc)
        self.log.close()


def clean(s, keep_dot=False):
    out = []
    for c in s:
        if c == "+":
            continue
        ok = c.isascii() and (c.isalnum() or c in "_-" or (keep_dot and c == "."))
        out.append(c if ok else "_")
    return "".join(out)


def expected(arena, prefix="", tags=False):
    """The StatsD view of the arena, by the mapping of docs/push-statsd.md,
    keyed as the daemon keys it (tags become ;name=value)."""
    counters, gauges = {}, {}
    for fam in dump_json(arena):
        if fam["name"].startswith("shmetrics_"):
            continue
        for s in fam["samples"]:
            v = s["value"]
            if isinstance(v, str):
                continue  # NaN and infinities are not sent
            key = (prefix + "." if prefix else "") + clean(s["name"])
            if tags:
                key += "".join(";%s=%s" % (clean(k), clean(val, True)) for k, val in s["labels"].items())
            else:
                key += "".join("." + (clean(val) or "_") for val in s["labels"].values())
            gauge = fam["type"] == "gauge" or (fam["type"] == "summary" and s["name"] == fam["name"])
            (gauges if gauge else counters)[key] = v
    return counters, gauges


def same(a, b):
    return a == b or (isinstance(a, float) or isinstance(b, float)) and abs(a - b) <= 1e-9 * max(1, abs(b))


def compare(what, got, want):
    """Every wanted key with its value; returns the keys that differ."""
    bad = [(k, got.get(k), v) for k, v in want.items() if k not in got or not same(got[k], v)]
    T.check(not bad, "%s: %d keys equal what the arena holds" % (what, len(want)), bad[:5])


def test_exact(modules, tmp):
    port = free_port(socket.SOCK_DGRAM)
    d = Statsd(modules, tmp, port)
    T.check(d.up, "the StatsD daemon runs and flushes to the test backend")
    subprocess.run([FEED, ARENA, "4", "10"], check=True, timeout=60)
    p = Pusher("--arena", ARENA, "--backend", "statsd", "--target", "127.0.0.1:%d" % port, "--interval", "200ms")
    T.check(p.first.startswith("pushing %s to statsd 127.0.0.1:%d every 0.2 s" % (ARENA, port)),
            "push prints what it does", p.first)
    # More updates while it pushes: whole and fractional amounts, a
    # negative gauge, observations.
    for i in range(12):
        cli("inc", "--arena", ARENA, "--help", "Jobs.", "jobs_total", "queue=a b", "1")
        cli("inc", "--arena", ARENA, "--help", "Work.", "work_seconds_total", "0.25")
        if i % 4 == 0:
            cli("set", "--arena", ARENA, "--help", "Temp.", "temperature", "room=1", str(-3 - i))
            cli("observe", "--arena", ARENA, "--help", "Size.", "--buckets", "1,10", "size_bytes", str(i))
        time.sleep(0.05)
    rc = p.stop()
    pushes, failed = p.counts() or (0, -1)
    T.check(rc == 0 and pushes >= 2 and failed == 0, "SIGTERM: exit 0, %d pushes, none failed" % pushes,
            p.stderr())
    want_c, want_g = expected(ARENA)

    def settled():
        # The arena's keys may be settled before the last push's packet is
        # flushed (nothing changed since the push before it): wait for the
        # pusher's own count of that last push too.
        c, g = d.totals()
        return all(k in c and same(c[k], v) for k, v in want_c.items()) and \
            all(k in g and same(g[k], v) for k, v in want_g.items()) and \
            c.get("shmetrics_push_attempts_total.statsd") == pushes

    wait_for(settled, 20)
    got_c, got_g = d.totals()
    compare("counters (sum over the daemon's flushes)", got_c, want_c)
    compare("gauges (last flushed)", got_g, want_g)
    # The same by hand, from what the workers were told to write.
    T.check(all(got_c.get("feed_series_total.%d.%d" % (p_, i)) == i + 1 for p_ in range(4) for i in range(10)),
            "40 feed counters: idx + 1 each")
    T.check(got_c.get("jobs_total.a_b") == 12, "12 increments from 12 processes", got_c.get("jobs_total.a_b"))
    T.check(got_c.get("work_seconds_total") == 3.0, "fractions: 12 x 0.25", got_c.get("work_seconds_total"))
    T.check(got_g.get("feed_busy") == 4, "gauge merged over 4 processes")
    T.check(got_g.get("temperature.1") == -11, "negative gauge arrives as -11 (0 then -11)", got_g.get("temperature.1"))
    T.check(got_c.get("feed_latency_seconds_count") == 4 and got_c.get("feed_latency_seconds_sum") == 1.0,
            "histogram count and sum as counters")
    T.check(got_c.get("feed_latency_seconds_bucket.0_25") == 4 and got_c.get("feed_latency_seconds_bucket.0_1") == 0
            and got_c.get("feed_latency_seconds_bucket.Inf") == 4, "histogram buckets as counters")
    T.check(got_c.get("size_bytes_bucket.1_0") == 1 and got_c.get("size_bytes_bucket.10_0") == 3,
            "observations made while pushing")
    T.check(got_g.get("feed_ttft_seconds.0_5") == 0.50390625 and got_c.get("feed_ttft_seconds_count") == 4,
            "summary: quantile as gauge, count as counter")
    T.check(got_c.get("feed_loop_total") == 0, "a counter never incremented is sent once, as 0")
    T.check(got_c.get("statsd.bad_lines_seen", 0) == 0, "the daemon saw no bad line")
    T.check(got_c.get("shmetrics_push_attempts_total.statsd") == pushes,
            "self metric: attempts flushed = pushes made", (got_c.get("shmetrics_push_attempts_total.statsd"), pushes))
    d.stop()


def test_down_then_up(modules, tmp):
    """The daemon is not there when the pusher starts; updates go on; then
    it comes up on that port.  Nothing written meanwhile is lost."""
    arena = ARENA + "-down"
    port = free_port(socket.SOCK_DGRAM)
    cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total", "5")
    p = Pusher("--arena", arena, "--backend", "statsd", "--target", "127.0.0.1:%d" % port, "--interval", "200ms",
               "--retry-min", "50ms", "--retry-max", "200ms")
    logged = wait_for(lambda: p.stderr().count("push failed") >= 3, 20)
    T.check(logged, "target down: failures logged", p.stderr()[-400:])
    T.check("Connection refused" in p.stderr() and "next try in" in p.stderr(),
            "the log names the error and the next try", p.stderr()[-300:])
    for _ in range(7):
        cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total")
    d = Statsd(modules, tmp, port)
    T.check(d.up, "the daemon comes up on that port")
    recovered = wait_for(lambda: "get through again" in p.stderr(), 20)
    T.check(recovered, "recovery logged", p.stderr()[-300:])
    cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total", "3")
    rc = p.stop()
    pushes, failed = p.counts() or (0, 0)
    T.check(rc == 0 and failed >= 3, "%d of %d pushes failed" % (failed, pushes))
    wait_for(lambda: d.totals()[0].get("jobs_total") == 15, 20)
    got_c, _ = d.totals()
    T.check(got_c.get("jobs_total") == 15, "5 before, 7 while down, 3 after: 15 flushed", got_c.get("jobs_total"))
    T.check(got_c.get("shmetrics_push_failures_total.statsd") == failed,
            "self metric: failures flushed = failures counted", (got_c.get("shmetrics_push_failures_total.statsd"),
                                                                 failed))
    d.stop()
    os.unlink(arena)


def test_tags(modules, tmp):
    port = free_port(socket.SOCK_DGRAM)
    d = Statsd(modules, tmp, port)
    r = cli("push", "--arena", ARENA, "--backend", "statsd", "--target", "127.0.0.1:%d" % port, "--tags",
            "--prefix", "app", "--once", "--no-self-metrics")
    T.check(r.returncode == 0 and r.stdout.startswith("pushed %s to statsd" % ARENA), "--once --tags: exit 0",
            r.stderr)
    want_c, want_g = expected(ARENA, prefix="app", tags=True)
    wait_for(lambda: all(k in d.totals()[0] for k in want_c), 20)
    got_c, got_g = d.totals()
    compare("tagged counters", got_c, want_c)
    compare("tagged gauges", got_g, want_g)
    T.check(got_c.get("app.feed_series_total;proc=3;idx=9") == 10, "DogStatsD tags reach the daemon as tags")
    T.check(got_c.get("app.feed_latency_seconds_bucket;le=0.25") == 4, "le as a tag keeps its dot")
    T.check(not any(k.startswith("app.shmetrics_push") for k in got_c), "--no-self-metrics leaves them out")
    d.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-statsd-")
    try:
        modules = npm_modules("statsd", "0.9.0")
        T.check(os.path.exists(os.path.join(modules, "statsd", "stats.js")), "statsd 0.9.0 is in tests/npm/node_modules")
        test_exact(modules, tmp)
        test_down_then_up(modules, tmp)
        test_tags(modules, tmp)
    finally:
        if T.failed:
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    with open(os.path.join(tmp, name)) as f:
                        sys.stdout.write("".join("# " + l for l in f.readlines()[-10:]))
        remove_files(tmp, ARENA, ARENA + "-down")
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
