# SPDX-License-Identifier: MIT
"""shmetrics push --backend otlp, decoded with the OpenTelemetry project's
own code: the generated protobufjs root of the npm package
@opentelemetry/otlp-transformer 0.52.1 (in tests/npm/node_modules, from
scripts/install-deps.sh) decodes the protobuf requests and checks the JSON ones
(fromObject, verify, and a round trip that proves no key was dropped).

A small HTTP receiver on 127.0.0.1 (this process) captures each request;
tests/otlp_decode.js turns it into JSON; every data point must equal what
`shmetrics dump --format json` shows of the arena.  Then: resource
attributes and headers from the flags, a receiver that fails (503) and
recovers without losing anything, and the errors of a closed port, a
timeout and a rejection (400).

Everything started here is bounded in time and stopped by PID.
"""
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from push_common import HERE, Checks, Pusher, cli, dump_json, free_port, npm_modules, remove_files, wait_for

FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-push-otlp-%d" % os.getpid()
T = Checks()
DEFAULT_BOUNDS = [.005, .01, .025, .05, .075, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10]


class Receiver:
    """Captures POSTs; answers `fail` requests with `status`, then 200."""

    def __init__(self):
        self.requests = []
        self.fail = 0
        self.status = 503
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if outer.fail > 0:
                    outer.fail -= 1
                    msg = b"busy\n" if outer.status == 503 else b"bad data\n"
                    self.send_response(outer.status)
                else:
                    msg = b""
                    self.send_response(200)
                self.send_header("Content-Length", str(len(msg)))
                self.end_headers()
                self.wfile.write(msg)

            def log_message(self, *args):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def decode(root, enc, body, tmp):
    path = os.path.join(tmp, "request.bin")
    with open(path, "wb") as f:
        f.write(body)
    r = subprocess.run(["node", os.path.join(HERE, "otlp_decode.js"), root, enc, path], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        return {"ok": False, "error": r.stderr}
    return json.loads(r.stdout)


def attrs(kvs):
    return {kv["key"]: kv["value"].get("stringValue") for kv in kvs or []}


def num(v):
    """A number from JSON: "NaN", "+Inf", "Infinity" and the like are strings."""
    return float(v) if isinstance(v, str) else v


def expected(arena):
    """The OTLP view of the arena by docs/push-otlp.md: metric name ->
    (kind, {attributes as a sorted tuple: point})."""
    out = {}
    for fam in dump_json(arena):
        kind = {"counter": "sum", "gauge": "gauge", "histogram": "histogram", "summary": "summary"}[fam["type"]]
        points = {}
        for s in fam["samples"]:
            labels = dict(s["labels"])
            extra = labels.pop("le", None) if kind == "histogram" else labels.pop("quantile", None) \
                if kind == "summary" else None
            key = tuple(sorted(labels.items()))
            pt = points.setdefault(key, {"buckets": [], "quantiles": []})
            v = num(s["value"])
            if kind in ("sum", "gauge"):
                pt["value"] = v
            elif s["name"].endswith("_bucket"):
                pt["buckets"].append((num(extra), v))
            elif s["name"].endswith("_sum"):
                pt["sum"] = v
            elif s["name"].endswith("_count"):
                pt["count"] = int(v)
            else:
                pt["quantiles"].append((float(extra), v))
        out[fam["name"]] = (kind, points)
    return out


def same(a, b):
    return a == b or (a != a and b != b)


def check_against_arena(req, arena, what):
    want = expected(arena)
    rm = req["resourceMetrics"]
    metrics = {m["name"]: m for m in rm[0]["scopeMetrics"][0]["metrics"]}
    bad = []
    for name, (kind, points) in want.items():
        if name.startswith("shmetrics_"):
            continue
        m = metrics.get(name)
        if not m or kind not in m:
            bad.append((name, "missing or not a " + kind))
            continue
        data = m[kind]
        if kind == "sum" and not (data.get("isMonotonic") is True and data.get("aggregationTemporality") == 2):
            bad.append((name, "not a monotonic cumulative Sum"))
        if kind == "histogram" and data.get("aggregationTemporality") != 2:
            bad.append((name, "not cumulative"))
        got = {tuple(sorted(attrs(dp.get("attributes")).items())): dp for dp in data["dataPoints"]}
        if set(got) != set(points):
            bad.append((name, "attributes", sorted(got), sorted(points)))
            continue
        for key, pt in points.items():
            dp = got[key]
            if not (int(dp["startTimeUnixNano"]) <= int(dp["timeUnixNano"])):
                bad.append((name, key, "start after time"))
            if kind in ("sum", "gauge") and not same(num(dp.get("asDouble")), pt["value"]):
                bad.append((name, key, dp.get("asDouble"), pt["value"]))
            if kind in ("histogram", "summary") and (int(dp["count"]) != pt["count"] or
                                                     not same(num(dp["sum"]), pt["sum"])):
                bad.append((name, key, "count/sum", dp["count"], dp["sum"], pt))
            if kind == "histogram":
                bounds = [b for b, _ in pt["buckets"] if b != float("inf")]
                cum, per = 0, []
                for _, c in pt["buckets"]:
                    per.append(int(c - cum))
                    cum = c
                if [float(b) for b in dp.get("explicitBounds", [])] != bounds or \
                        [int(c) for c in dp.get("bucketCounts", [])] != per:
                    bad.append((name, key, "buckets", dp.get("explicitBounds"), dp.get("bucketCounts"), bounds, per))
            if kind == "summary":
                qs = [(float(q["quantile"]), num(q["value"])) for q in dp.get("quantileValues", [])]
                if len(qs) != len(pt["quantiles"]) or not all(
                        a[0] == b[0] and same(a[1], b[1]) for a, b in zip(qs, pt["quantiles"])):
                    bad.append((name, key, "quantiles", qs, pt["quantiles"]))
    T.check(not bad, "%s: every data point equals the arena" % what, bad[:3])
    return metrics


def test_encodings(root, tmp):
    rcv = Receiver()
    try:
        for enc in ("protobuf", "json"):
            r = cli("push", "--arena", ARENA, "--backend", "otlp", "--target", "http://127.0.0.1:%d" % rcv.port,
                    "--once", "--otlp-encoding", enc, "--service-name", "checkout",
                    "--resource", "deployment.environment=test", "--resource", "host.name=box1",
                    "--header", "Authorization: Bearer s3cret")
            T.check(r.returncode == 0 and "pushed %s to otlp" % ARENA in r.stdout, "%s: --once exit 0" % enc,
                    r.stderr)
            path, headers, body = rcv.requests[-1]
            T.check(path == "/v1/metrics", "%s: default path /v1/metrics" % enc, path)
            ctype = "application/x-protobuf" if enc == "protobuf" else "application/json"
            T.check(headers.get("content-type") == ctype, "%s: Content-Type %s" % (enc, ctype), headers)
            T.check(headers.get("authorization") == "Bearer s3cret", "%s: --header sent" % enc)
            T.check(headers.get("user-agent", "").startswith("shmetrics/"), "%s: User-Agent" % enc)
            doc = decode(root, enc, body, tmp)
            T.check(doc.get("ok"), "%s: the OpenTelemetry root decodes and verifies the request" % enc, doc)
            if not doc.get("ok"):
                continue
            if enc == "json":
                T.check(doc.get("roundtrip") is True, "json: fromObject/toObject gives back exactly what was sent")
            req = doc["request"]
            T.check(len(req["resourceMetrics"]) == 1, "%s: one resource" % enc)
            res = attrs(req["resourceMetrics"][0]["resource"]["attributes"])
            T.check(res == {"service.name": "checkout", "deployment.environment": "test", "host.name": "box1"},
                    "%s: resource attributes from the flags" % enc, res)
            scope = req["resourceMetrics"][0]["scopeMetrics"][0]["scope"]
            T.check(scope.get("name") == "shmetrics", "%s: scope shmetrics" % enc, scope)
            metrics = check_against_arena(req, ARENA, enc)
            fs = metrics.get("feed_series", {}).get("sum", {}).get("dataPoints", [])
            T.check(len(fs) == 40 and all(float(dp["asDouble"]) == int(attrs(dp["attributes"])["idx"]) + 1
                                          for dp in fs), "%s: 40 counter points, idx + 1 each" % enc)
            h = metrics.get("feed_latency_seconds", {}).get("histogram", {}).get("dataPoints", [{}])[0]
            T.check([float(b) for b in h.get("explicitBounds", [])] == DEFAULT_BOUNDS and
                    [int(c) for c in h.get("bucketCounts", [])] == [0] * 6 + [4] + [0] * 8 and
                    int(h.get("count", 0)) == 4 and float(h.get("sum", 0)) == 1.0,
                    "%s: histogram: 4 in (0.1, 0.25], count 4, sum 1" % enc, h)
            s = metrics.get("feed_ttft_seconds", {}).get("summary", {}).get("dataPoints", [{}])[0]
            T.check([(q["quantile"], q["value"]) for q in s.get("quantileValues", [])] ==
                    [(0.5, 0.50390625), (0.9, 0.50390625), (0.95, 0.50390625), (0.99, 0.50390625)],
                    "%s: summary quantiles" % enc, s)
            g = metrics.get("feed_busy", {}).get("gauge", {}).get("dataPoints", [{}])[0]
            T.check(g.get("asDouble") == 4, "%s: gauge" % enc, g)
            u = metrics.get("feed.utf8.requests", {}).get("sum", {}).get("dataPoints", [])
            T.check(sorted((attrs(dp["attributes"]).get("http.method"), float(dp["asDouble"])) for dp in u) ==
                    [("GET", 1.0), ("GET", 2.0), ("GET", 3.0)], "%s: UTF-8 names as they are" % enc, u)
            a = metrics.get("shmetrics_push_attempts", {}).get("sum", {}).get("dataPoints", [{}])[0]
            T.check(attrs(a.get("attributes")) == {"backend": "otlp"} and a.get("asDouble") == 1,
                    "%s: self metric shmetrics_push_attempts" % enc, a)
        r = cli("push", "--arena", ARENA, "--backend", "otlp", "--target",
                "http://127.0.0.1:%d/otlp/v1/metrics" % rcv.port, "--once", "--no-self-metrics")
        T.check(r.returncode == 0 and rcv.requests[-1][0] == "/otlp/v1/metrics", "a target's own path is kept")
        doc = decode(root, "protobuf", rcv.requests[-1][2], tmp)
        names = [m["name"] for m in doc["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]]
        res = attrs(doc["request"]["resourceMetrics"][0]["resource"]["attributes"])
        T.check(not any(n.startswith("shmetrics_") for n in names), "--no-self-metrics", names)
        T.check(res == {"service.name": "shmetrics"}, "service.name defaults to shmetrics", res)
    finally:
        rcv.stop()


def test_retry(root, tmp):
    arena = ARENA + "-retry"
    cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total", "5")
    rcv = Receiver()
    rcv.fail = 3
    try:
        p = Pusher("--arena", arena, "--backend", "otlp", "--target", "http://127.0.0.1:%d" % rcv.port,
                   "--interval", "200ms", "--retry-min", "50ms", "--retry-max", "100ms")
        for _ in range(4):
            cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total")
        T.check(wait_for(lambda: "get through again" in p.stderr(), 20), "503 three times, then recovered",
                p.stderr()[-500:])
        T.check("HTTP 503: busy" in p.stderr(), "the log names the status and the answer", p.stderr()[-300:])
        cli("inc", "--arena", arena, "--help", "Jobs.", "jobs_total", "2")
        rc = p.stop()
        pushes, failed = p.counts() or (0, 0)
        T.check(rc == 0 and failed == 3, "3 of %d pushes failed" % pushes, p.stderr()[-300:])
        doc = decode(root, "protobuf", rcv.requests[-1][2], tmp)
        metrics = {m["name"]: m for m in doc["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]}
        v = metrics["jobs"]["sum"]["dataPoints"][0]["asDouble"]
        T.check(v == 11, "the last request carries everything: 5 + 4 + 2 = 11", v)
        f = metrics["shmetrics_push_failures"]["sum"]["dataPoints"][0]["asDouble"]
        T.check(f == 3, "self metric shmetrics_push_failures = 3", f)
    finally:
        rcv.stop()
        os.unlink(arena)


def test_errors():
    rcv = Receiver()
    rcv.fail, rcv.status = 1, 400
    r = cli("push", "--arena", ARENA, "--backend", "otlp", "--target", "http://127.0.0.1:%d" % rcv.port, "--once")
    T.check(r.returncode == 1 and "HTTP 400: bad data" in r.stderr, "rejected (400): exit 1 naming it", r.stderr)
    rcv.stop()
    port = free_port()
    r = cli("push", "--arena", ARENA, "--backend", "otlp", "--target", "http://127.0.0.1:%d" % port, "--once")
    T.check(r.returncode == 1 and "POST http://127.0.0.1:%d/v1/metrics" % port in r.stderr and
            "Couldn't connect" in r.stderr, "nothing listening: exit 1 naming the URL", r.stderr)
    # A peer that accepts and never answers: the request's time limit ends it.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    r = cli("push", "--arena", ARENA, "--backend", "otlp", "--target", "http://127.0.0.1:%d" % s.getsockname()[1],
            "--once", "--timeout", "300ms")
    s.close()
    T.check(r.returncode == 1 and "Timeout was reached" in r.stderr and "Connection timed out" in r.stderr,
            "no answer: exit 1 after --timeout", r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-otlp-")
    try:
        modules = npm_modules("@opentelemetry/otlp-transformer", "0.52.1")
        root = os.path.join(modules, "@opentelemetry", "otlp-transformer", "build", "src", "generated", "root.js")
        T.check(os.path.exists(root), "@opentelemetry/otlp-transformer 0.52.1 is in tests/npm/node_modules")
        subprocess.run([FEED, ARENA, "4", "10"], check=True, timeout=60)
        subprocess.run([FEED, ARENA, "3", "utf8"], check=True, timeout=60)
        cli("set", "--arena", ARENA, "--help", "Temp.", "--mode", "all", "temperature", "room=a", "-2.5")
        cli("observe", "--arena", ARENA, "--help", "Size.", "--buckets", "1,10", "size_bytes", "kind=x", "3")
        cli("observe", "--arena", ARENA, "--help", "Empty.", "--summary", "idle_seconds", "1")
        test_encodings(root, tmp)
        test_retry(root, tmp)
        test_errors()
    finally:
        remove_files(tmp, ARENA, ARENA + "-retry")
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
