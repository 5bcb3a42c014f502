# SPDX-License-Identifier: MIT
"""End to end with exemplars: 4 workers (concurrent `shmetrics inc` and
`shmetrics observe` processes with --exemplar trace_id=...) write known
trace ids into a counter (a series per worker) and a histogram (buckets
0.1 and 1, a series per worker) while a real Prometheus (Debian's 2.42)
started with --enable-feature=exemplar-storage scrapes OpenMetrics from
`shmetrics serve` every second.

Checked through /api/v1/query_exemplars: for every counter series and
every histogram bucket, the last exemplar Prometheus stored is the last
one written (its trace id and value); every exemplar it returns is one
that was written, with the value written with it; and the OpenMetrics
body shows the same last exemplars.

Everything started here is bounded in time and stopped by PID, on
127.0.0.1.  Needs SHMETRICS_CLI in the environment; run by Debian's
python3.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time

from prom_server import Prometheus, finish, scrape_config
from serve_proc import Server
from tap import check, failed, summary

CLI = os.environ["SHMETRICS_CLI"]
ARENA = "/dev/shm/shmetrics-e2e-exemplars-%d" % os.getpid()
WORKERS, ROUNDS = 4, 12
VALUES = [0.05, 0.5, 5.0]  # one per bucket: le 0.1, le 1.0, +Inf
LE = {0.05: "0.1", 0.5: "1.0", 5.0: "+Inf"}


def worker(w, errors):
    """Round j: add j + 1 to the counter with trace id c-W-J, observe
    VALUES[j % 3] with trace id h-W-J."""
    for j in range(ROUNDS):
        for args in (["inc", "--exemplar", "trace_id=c-%d-%d" % (w, j), "ex_requests_total", "worker=w%d" % w,
                      str(j + 1)],
                     ["observe", "--buckets", "0.1,1", "--exemplar", "trace_id=h-%d-%d" % (w, j), "ex_latency_seconds",
                      "worker=w%d" % w, repr(VALUES[j % 3])]):
            r = subprocess.run([CLI, args[0], "--arena", ARENA] + args[1:], capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                errors.append((args, r.returncode, r.stderr))
        time.sleep(0.1)  # spread over a few scrapes


def written():
    """{(metric, worker, le or None): (trace id, value)} of every exemplar
    written, and the last one per series and bucket."""
    every, last = {}, {}
    for w in range(WORKERS):
        for j in range(ROUNDS):
            c = ("ex_requests_total", "w%d" % w, None)
            every["c-%d-%d" % (w, j)] = (c, float(j + 1))
            last[c] = ("c-%d-%d" % (w, j), float(j + 1))
            v = VALUES[j % 3]
            h = ("ex_latency_seconds_bucket", "w%d" % w, LE[v])
            every["h-%d-%d" % (w, j)] = (h, v)
            last[h] = ("h-%d-%d" % (w, j), v)
    return every, last


def stored(prom, start, end):
    """[(series key, trace id, value, timestamp)] of every exemplar
    Prometheus returns for the two metrics."""
    out = []
    for metric in ("ex_requests_total", "ex_latency_seconds_bucket"):
        for series in prom.query_exemplars(metric, start, end):
            sl = series["seriesLabels"]
            key = (sl.get("__name__"), sl.get("worker"), sl.get("le"))
            for e in series["exemplars"]:
                out.append((key, e["labels"].get("trace_id"), float(e["value"]), float(e["timestamp"])))
    return out


def last_stored(items):
    last = {}
    for key, tid, value, ts in sorted(items, key=lambda x: x[3]):
        last[key] = (tid, value)
    return last


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-e2e-exemplars-")
    serve = prom = None
    try:
        r = subprocess.run([CLI, "create", "--arena", ARENA], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "arena created", r.stderr)
        serve = Server(ARENA)
        prom = Prometheus(tmp, scrape_config("shmetrics", "127.0.0.1:%d" % serve.port),
                          "--enable-feature=exemplar-storage")
        check(prom.wait(prom.ready, 60), "Prometheus ready")
        start = time.time() - 5

        errors = []
        threads = [threading.Thread(target=worker, args=(w, errors)) for w in range(WORKERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check(not errors and not any(t.is_alive() for t in threads),
              "%d workers wrote %d exemplars each" % (WORKERS, 2 * ROUNDS), errors[:3])

        every, last = written()
        status, headers, body = serve.get("/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"})
        text = body.decode()
        check(status == 200 and headers.get("content-type", "").startswith("application/openmetrics-text"),
              "serve gives OpenMetrics", (status, headers.get("content-type")))
        # Each worker writes its own series, one process after the other: no
        # slot was ever busy, none was left busy.
        for name in ("shmetrics_arena_exemplars_dropped_total", "shmetrics_arena_exemplar_slots_taken_over_total"):
            check(name + " 0" in text.splitlines(), "serve: %s 0" % name,
                  [x for x in text.splitlines() if x.startswith(name)])
        r = subprocess.run([CLI, "stat", "--arena", ARENA], capture_output=True, text=True, timeout=30)
        check("exemplars  0 dropped (slot busy), 0 slots taken over from dead writers" in r.stdout.splitlines(),
              "stat: no exemplar dropped or taken over", r.stdout)
        for (metric, w, le), (tid, value) in sorted(last.items(), key=str):
            labels = 'worker="%s"' % w + (',le="%s"' % le if le else "")
            want = '%s{%s} ' % (metric, labels)
            line = [x for x in text.splitlines() if x.startswith(want)]
            ok = len(line) == 1 and (' # {trace_id="%s"} %s ' % (tid, ("%g" % value))) in line[0]
            check(ok, "body: %s{%s} has exemplar %s %g" % (metric, labels, tid, value), line)

        # Scrapes every second: wait until Prometheus has every last one.
        got = prom.wait(lambda: last_stored(stored(prom, start, time.time() + 60)) == last or None, 60)
        items = stored(prom, start, time.time() + 60)
        lst = last_stored(items)
        check(got is True, "query_exemplars: the last exemplar of each of the %d series and buckets" % len(last),
              sorted(set(lst.items()) ^ set(last.items()), key=str)[:5])
        for key, (tid, value) in sorted(last.items(), key=str):
            check(lst.get(key) == (tid, value), "query_exemplars %s{worker=%s%s}: %s, value %g" % (
                key[0], key[1], ",le=" + key[2] if key[2] else "", tid, value), lst.get(key))
        bad = [(k, tid, v) for k, tid, v, _ in items if every.get(tid) != (k, v)]
        check(items and not bad, "every one of the %d exemplars returned was written, with its value" % len(items),
              bad[:5])
        now = time.time()
        check(all(start <= ts <= now for _, _, _, ts in items), "their times are those of the writes")
    finally:
        if serve:
            serve.stop()
        finish(prom, ARENA, tmp, failed())
    return summary()


if __name__ == "__main__":
    sys.exit(main())
