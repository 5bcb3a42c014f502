# SPDX-License-Identifier: MIT
"""End to end with native histograms: 4 worker processes (tests/feed.c,
mode native: two of them through a stripe set) observe known values into
one native histogram at schema 3; `shmetrics serve` exposes it, and a real
Prometheus (Debian's 2.42) started with --enable-feature=native-histograms
scrapes it in the protobuf format.

Checked: histogram_count and histogram_sum exact through the query API,
histogram_quantile(0.5) within the schema's relative error (a bucket's
width, 2^(1/8) - 1) of the true median, the family stored as one native
series (no _bucket, _sum or _count series); and the protobuf body, decoded
here (tests/pbdecode.py), carries the exact schema, zero bucket, spans and
deltas, compared with buckets computed here in integers.  And a native
histogram's exemplar (`shmetrics observe --native --exemplar`) reaches
Prometheus' exemplar storage (--enable-feature=exemplar-storage): 2.42
reads it from the +Inf bucket the protobuf body carries for it.

Everything started here is bounded in time and stopped by PID.  Needs
SHMETRICS_CLI and SHMETRICS_FEED in the environment; run by Debian's python3.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from prom_server import Prometheus, finish, scrape_config
from push_common import stop_proc
from tap import check, failed, summary
import pbdecode

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-e2e-native-%d" % os.getpid()
PROCS, COUNT, SCHEMA = 4, 5000, 3


def key(k):
    """The schema-3 bucket of k/1024: the least i with (k/1024)^8 <= 2^i,
    in integers."""
    return (k ** 8 - 1).bit_length() - 80


def expected():
    """(count, sum, zero count, {bucket: count}, median) of what the
    workers observe."""
    buckets = {}
    for k in range(1, 1001):
        buckets[key(k)] = buckets.get(key(k), 0) + PROCS * COUNT // 1000
    values = sorted([0.0] * PROCS + [k / 1024 for k in range(1, 1001) for _ in range(PROCS * COUNT // 1000)])
    count = PROCS * (COUNT + 1)
    return count, sum(values), PROCS, buckets, values[count // 2 - 1]


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-e2e-native-")
    serve = prom = None
    try:
        subprocess.run([FEED, ARENA, str(PROCS), "native", str(SCHEMA), str(COUNT)], check=True, timeout=120)
        start = time.time()
        for v, tid in ((0.7, "native-ex-1"), (300.0, "native-ex-2")):
            subprocess.run([CLI, "observe", "--arena", ARENA, "--native", "--exemplar", "trace_id=" + tid,
                            "native_ex_seconds", repr(v)], check=True, timeout=30)
        serve = subprocess.Popen([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", serve.stdout.readline())
        check(m is not None, "collector listens")
        port = int(m.group(1))
        count, total, zeros, buckets, median = expected()

        # The body, decoded here.
        body = subprocess.run([CLI, "dump", "--arena", ARENA, "--format", "protobuf"], capture_output=True,
                              timeout=60).stdout
        fam = [f for f in pbdecode.families(body) if f["name"] == "feed_native_seconds"]
        check(len(fam) == 1 and fam[0]["type"] == "histogram", "one histogram family")
        h = fam[0]["metric"][0]["histogram"]
        check(h.get("sample_count") == count and h.get("sample_sum") == total,
              "count %d and sum %r in the body" % (count, total), (h.get("sample_count"), h.get("sample_sum")))
        check("bucket" not in h, "no classic bucket: native only")
        check(h.get("zero_count") == zeros and h.get("zero_threshold") == 2.0 ** -128,
              "zero bucket: %d, threshold 2^-128" % zeros, (h.get("zero_count"), h.get("zero_threshold")))
        nb = pbdecode.native_buckets(h)
        check(nb is not None and nb[0] == SCHEMA and nb[1] == buckets and nb[2] == {},
              "schema 3, the %d positive buckets exactly, no negative one" % len(buckets),
              nb and sorted(set(nb[1].items()) ^ set(buckets.items()))[:5])
        spans = h.get("positive_span", [])
        check(spans and spans[0].get("offset") == min(buckets) and
              sum(s.get("length", 0) for s in spans) == len(h.get("positive_delta", [])),
              "spans start at bucket %d and hold one delta per bucket" % min(buckets), spans[:3])

        # What Prometheus stored.
        prom = Prometheus(tmp, scrape_config("shmetrics", "127.0.0.1:%d" % port),
                          "--enable-feature=native-histograms,exemplar-storage")
        got = prom.wait(lambda: prom.scalar("histogram_count(feed_native_seconds)"))
        check(got == float(count), "histogram_count = %d" % count, got)
        s = prom.scalar("histogram_sum(feed_native_seconds)")
        check(s == total, "histogram_sum = %r, exact" % total, s)
        q = prom.scalar("histogram_quantile(0.5, feed_native_seconds)")
        err = 2 ** (1 / 8) - 1
        check(q is not None and abs(q - median) <= err * median,
              "histogram_quantile(0.5) = %r, within %.1f%% of the median %r" % (q, 100 * err, median))
        names = sorted(r["metric"]["__name__"] for r in prom.query('{__name__=~"feed_native.*"}'))
        check(names == ["feed_native_seconds"], "stored as one native series", names)

        # The last exemplar of the native histogram (one slot: native-only).
        def exemplars():
            return [(e["labels"], float(e["value"]))
                    for d in prom.query_exemplars("native_ex_seconds", start - 60, time.time() + 60)
                    for e in d["exemplars"]]
        got = prom.wait(lambda: exemplars() or None, 30)
        check(got == [({"trace_id": "native-ex-2"}, 300.0)], "query_exemplars: the native histogram's last exemplar",
              got)
    finally:
        stop_proc(serve)
        finish(prom, ARENA, tmp, failed())
    return summary()


if __name__ == "__main__":
    sys.exit(main())
