# SPDX-License-Identifier: MIT
"""Native histograms through the push backends, from the outside.

The arena: 4 worker processes (tests/feed.c, mode native) observe known
values into the native-only histogram feed_native_seconds at schema 3;
`shmetrics observe` adds both_seconds (classic bounds 0.25 and 1, and
native buckets) and wide_seconds (native only, schema 8, 1e-30 and 1e300:
more than 4096 buckets apart).

Remote-write: a real Prometheus (Debian's 2.42) started with
--web.enable-remote-write-receiver --enable-feature=native-histograms
takes the push; through its query API histogram_count and histogram_sum
equal what was observed exactly, histogram_quantile(0.5) is within the
schema's relative error of the true median, every native bucket it stored
has the count computed here in integers, a native-only histogram is one
series (no _bucket, _sum or _count), and both_seconds keeps its classic
series as well.  A Prometheus without the feature refuses the request: the
push fails with its reason.

OTLP: a receiver in this process captures the requests; the OpenTelemetry
project's own decoder (tests/otlp_decode.js, npm) reads them, protobuf and
JSON.  Each native series is an ExponentialHistogram point with the exact
scale, zero count, offsets and bucket counts derived here from the
Prometheus indices (OTLP's index is Prometheus' minus one; a wider
histogram at a lower scale, buckets merged as ceil(k / 2^d)), cumulative,
with the start time of the classic histogram points.

Everything started here is bounded in time and stopped by PID.
"""
import math
import os
import subprocess
import sys
import tempfile

from prom_server import Prometheus
from prometheus_native import COUNT, PROCS, SCHEMA, expected
from push_common import Checks, cli, dump_json, free_port, npm_modules, remove_files, wait_for
from push_otlp import Receiver, decode

FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-push-native-%d" % os.getpid()
T = Checks()
BOTH = [0.1, 0.5, 0.5, 2.0, -3.0, 0.0]
WIDE = [1e-30, 1e300]
MAX_BUCKETS = 4096  # per sign in one OTLP point (SMX_OTLP_MAX_BUCKETS)


def fill():
    subprocess.run([FEED, ARENA, str(PROCS), "native", str(SCHEMA), str(COUNT)], check=True, timeout=120)
    for v in BOTH:
        r = cli("observe", "--arena", ARENA, "--help", "Both.", "--native", "--buckets", "0.25,1", "both_seconds",
                repr(v))
        assert r.returncode == 0, r.stderr
    for v in WIDE:
        r = cli("observe", "--arena", ARENA, "--help", "Wide.", "--native", "--schema", "8", "wide_seconds", repr(v))
        assert r.returncode == 0, r.stderr


def natives():
    """{family: native part of its one series} as `shmetrics dump` shows
    it: positive and negative as [[Prometheus index, count], ...]."""
    out = {}
    for fam in dump_json(ARENA):
        for s in fam["samples"]:
            if "native" in s:
                out[fam["name"]] = s["native"]
    return out


def test_remote_write(tmp):
    prom = Prometheus(os.path.join(tmp, "prom"), "global:\n  scrape_interval: 15s\n",
                      "--web.enable-remote-write-receiver", "--enable-feature=native-histograms")
    try:
        T.check(prom.wait(prom.ready, 60, 0.25), "Prometheus 2.42 with native histograms is ready")
        r = cli("push", "--arena", ARENA, "--backend", "remote-write", "--target", "http://127.0.0.1:%d" % prom.port,
                "--once", "--label", "job=native")
        T.check(r.returncode == 0, "push --once: exit 0", r.stderr)
        count, total, zeros, buckets, median = expected()
        got = wait_for(lambda: prom.scalar('histogram_count(feed_native_seconds{job="native"})'), 30, 0.25)
        T.check(got == float(count), "histogram_count = %d" % count, got)
        s = prom.scalar("histogram_sum(feed_native_seconds)")
        T.check(s == total, "histogram_sum = %r, exact" % total, s)
        q = prom.scalar("histogram_quantile(0.5, feed_native_seconds)")
        err = 2 ** (1 / 2 ** SCHEMA) - 1
        T.check(q is not None and abs(q - median) <= err * median,
                "histogram_quantile(0.5) = %r, within %.1f%% of the median %r" % (q, 100 * err, median))
        # Each stored bucket [rule, lower, upper, count]: its index from the
        # upper bound 2^(k/8); the zero bucket's bounds are +-2^-128.
        h = prom.query("feed_native_seconds")[0]["histogram"][1]
        stored, zero = {}, None
        for _, lo, hi, c in h["buckets"]:
            if float(lo) == -2.0 ** -128 and float(hi) == 2.0 ** -128:
                zero = int(c)
            else:
                stored[round(math.log2(float(hi)) * 2 ** SCHEMA)] = int(c)
        T.check(stored == buckets and zero == zeros,
                "the %d stored buckets and the zero bucket (%d) equal the observations" % (len(buckets), zeros),
                sorted(set(stored.items()) ^ set(buckets.items()))[:5])
        names = sorted(x["metric"]["__name__"] for x in prom.query('{__name__=~"feed_native.*"}'))
        T.check(names == ["feed_native_seconds"], "native only: one series, no _bucket, _sum or _count", names)

        T.check(prom.scalar("histogram_count(both_seconds)") == float(len(BOTH)) and
                prom.scalar("histogram_sum(both_seconds)") == sum(BOTH),
                "both_seconds: native count %d and sum %r" % (len(BOTH), sum(BOTH)))
        classic = {x["metric"]["le"]: float(x["value"][1]) for x in prom.query("both_seconds_bucket")}
        T.check(classic == {"0.25": 3.0, "1.0": 5.0, "+Inf": 6.0}, "both_seconds: its classic buckets too", classic)
        T.check(prom.scalar("both_seconds_count") == 6.0 and prom.scalar("both_seconds_sum") == sum(BOTH),
                "both_seconds: _count and _sum too")
        T.check(prom.scalar("histogram_count(wide_seconds)") == 2.0 and
                prom.scalar("histogram_sum(wide_seconds)") == sum(WIDE), "wide_seconds: count 2, sum 1e300")
    finally:
        if T.failed:
            sys.stdout.write(prom.tail())
        prom.stop()


def test_remote_write_refused(tmp):
    """A Prometheus without native histograms refuses the whole request:
    the push fails and says why."""
    prom = Prometheus(os.path.join(tmp, "prom-classic"), "global:\n  scrape_interval: 15s\n",
                      "--web.enable-remote-write-receiver")
    try:
        T.check(prom.wait(prom.ready, 60, 0.25), "Prometheus without native histograms is ready")
        r = cli("push", "--arena", ARENA, "--backend", "remote-write", "--target", "http://127.0.0.1:%d" % prom.port,
                "--once")
        T.check(r.returncode == 1 and "HTTP 500" in r.stderr and "native histograms are disabled" in r.stderr,
                "refused: exit 1, HTTP 500 and Prometheus' reason", r.stderr)
    finally:
        if T.failed:
            sys.stdout.write(prom.tail())
        prom.stop()


def ceil_shift(k, d):
    """ceil(k / 2^d): Prometheus' index d schemas lower."""
    return -((-k) >> d)


def otlp_side(pairs, d):
    """(offset, counts) of one sign in OTLP at d schemas below the
    series': the dense run from the lowest merged index, one below."""
    if not pairs:
        return None
    merged = {}
    for k, c in pairs:
        merged[ceil_shift(k, d)] = merged.get(ceil_shift(k, d), 0) + c
    lo, hi = min(merged), max(merged)
    return lo - 1, [merged.get(k, 0) for k in range(lo, hi + 1)]


def want_point(nat):
    """The ExponentialHistogram point docs/push-otlp.md gives a native
    series: the schema, lowered while a sign spans more than 4096."""
    d = 0
    while any(s and len(s[1]) > MAX_BUCKETS for s in (otlp_side(nat["positive"], d), otlp_side(nat["negative"], d))):
        d += 1
    return {"scale": nat["schema"] - d, "zero_count": nat["zero_count"], "count": nat["count"], "sum": nat["sum"],
            "positive": otlp_side(nat["positive"], d), "negative": otlp_side(nat["negative"], d)}


def got_point(dp):
    def side(b):
        return (b.get("offset", 0), [int(c) for c in b.get("bucketCounts", [])]) if b else None
    return {"scale": dp.get("scale", 0), "zero_count": int(dp.get("zeroCount", 0)), "count": int(dp["count"]),
            "sum": dp["sum"], "positive": side(dp.get("positive")), "negative": side(dp.get("negative"))}


def check_otlp(req, what):
    metrics = req["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
    kinds = {}
    for m in metrics:
        kinds.setdefault(m["name"], []).extend(k for k in ("histogram", "exponentialHistogram") if k in m)
    T.check(kinds.get("feed_native_seconds") == ["exponentialHistogram"] and
            kinds.get("wide_seconds") == ["exponentialHistogram"],
            "%s: a native-only histogram is one ExponentialHistogram" % what, kinds)
    T.check(kinds.get("both_seconds") == ["histogram", "exponentialHistogram"],
            "%s: both_seconds is a Histogram and an ExponentialHistogram of that name" % what, kinds)
    classic = [m["histogram"] for m in metrics if "histogram" in m and m["name"] == "both_seconds"][0]
    cdp = classic["dataPoints"][0]
    T.check([int(c) for c in cdp["bucketCounts"]] == [3, 2, 1] and cdp["explicitBounds"] == [0.25, 1],
            "%s: both_seconds' classic buckets 3, 2, 1" % what, cdp)
    nat = natives()
    count, total, zeros, buckets, _ = expected()
    k0 = min(buckets)
    feed_want = {"scale": SCHEMA, "zero_count": zeros, "count": count, "sum": total,
                 "positive": (k0 - 1, [buckets.get(k, 0) for k in range(k0, max(buckets) + 1)]), "negative": None}
    T.check(want_point(nat["feed_native_seconds"]) == feed_want,
            "the rule of docs/push-otlp.md gives, from the dump, what the workers observed")
    for m in metrics:
        if "exponentialHistogram" not in m:
            continue
        e = m["exponentialHistogram"]
        dps = e["dataPoints"]
        T.check(e.get("aggregationTemporality") == 2 and len(dps) == 1, "%s: %s cumulative, one point" %
                (what, m["name"]))
        dp = dps[0]
        want = want_point(nat[m["name"]])
        T.check(got_point(dp) == want, "%s: %s scale %d, zero count, offsets and bucket counts exact" %
                (what, m["name"], want["scale"]), (got_point(dp), want))
        T.check(dp.get("zeroThreshold") == 2.0 ** -128, "%s: %s zero threshold 2^-128" % (what, m["name"]))
        T.check(dp["startTimeUnixNano"] == cdp["startTimeUnixNano"] and dp["timeUnixNano"] == cdp["timeUnixNano"],
                "%s: %s start and time as the classic histogram's" % (what, m["name"]))
    wide = [m for m in metrics if m["name"] == "wide_seconds"][0]["exponentialHistogram"]["dataPoints"][0]
    T.check(wide.get("scale") == 1 and len(wide["positive"]["bucketCounts"]) <= MAX_BUCKETS,
            "%s: wide_seconds (schema 8) sent at scale 1 in %d buckets" %
            (what, len(wide["positive"]["bucketCounts"])))


def test_otlp(root, tmp):
    rx = Receiver()
    try:
        for enc in ("protobuf", "json"):
            n = len(rx.requests)
            r = cli("push", "--arena", ARENA, "--backend", "otlp", "--otlp-encoding", enc, "--target",
                    "http://127.0.0.1:%d" % rx.port, "--once", "--no-self-metrics")
            T.check(r.returncode == 0 and len(rx.requests) == n + 1, "otlp %s: one request" % enc, r.stderr)
            d = decode(root, enc, rx.requests[-1][2], tmp)
            T.check(d.get("ok") and d.get("roundtrip", True), "otlp %s: the OpenTelemetry decoder takes it%s" %
                    (enc, " whole (round trip)" if enc == "json" else ""), d.get("error"))
            if d.get("ok"):
                check_otlp(d["request"], "otlp " + enc)
    finally:
        rx.stop()


def main():
    root = os.path.join(npm_modules("@opentelemetry/otlp-transformer", "0.52.1"),
                        "@opentelemetry/otlp-transformer/build/src/generated/root.js")
    tmp = tempfile.mkdtemp(prefix="shmetrics-push-native-")
    try:
        fill()
        test_remote_write(tmp)
        test_remote_write_refused(tmp)
        test_otlp(root, tmp)
    finally:
        remove_files(tmp, ARENA)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
