# SPDX-License-Identifier: MIT
"""The collector over HTTP, from the outside: routes, methods, formats,
negotiation, gzip, bad requests, the collector's own metrics, 100
concurrent scrapers for 10 s while workers write, a scrape of 100,000
series written by 16 processes, and a clean stop on SIGTERM and SIGINT.

Run by Debian's python3; needs SHMETRICS_CLI and SHMETRICS_FEED (the
shmetrics binary and tests/feed) in the environment.
"""
import gzip
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from serve_proc import Server
from tap import check, summary
import pbdecode

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-server-test-%d" % os.getpid()
IDLE_TIMEOUT = 10  # seconds: the collector closes keep-alive connections idle this long




def cli(*args):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=60)


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(fams, family, name, labels):
    for s in fams[family].samples:
        if s.name == name and s.labels == labels:
            return s.value
    return None


def test_routes_and_formats():
    for args in (["inc", "--help", "Requests.", "req_total", "code=200", "3"],
                 ["set", "--help", "Queue.", "--mode", "sum", "queue", "7"],
                 ["observe", "--help", "Latency.", "--buckets", "0.1,1", "lat_seconds", "0.5"],
                 ["observe", "--help", "TTFT.", "--summary", "--quantiles", "0.5", "ttft_seconds", "0.25"]):
        r = cli(args[0], "--arena", ARENA, *args[1:])
        check(r.returncode == 0, "fill: %s" % " ".join(args), r.stderr)
    srv = Server(ARENA)
    try:
        st, h, body = srv.get("/metrics")
        text = body.decode()
        check(st == 200, "GET /metrics: 200")
        check(h.get("content-type") == "text/plain; version=0.0.4; charset=utf-8", "text content type",
              h.get("content-type"))
        fams = families(text)
        check(sample(fams, "req", "req_total", {"code": "200"}) == 3.0, "counter value through the parser")
        check(sample(fams, "queue", "queue", {}) == 7.0, "gauge value")
        check(sample(fams, "lat_seconds", "lat_seconds_bucket", {"le": "1.0"}) == 1.0, "histogram bucket")
        check(sample(fams, "ttft_seconds", "ttft_seconds", {"quantile": "0.5"}) == 0.251953125, "summary quantile")
        check(sample(fams, "shmetrics_arena_families", "shmetrics_arena_families", {}) == 4.0, "self: families")
        check(sample(fams, "shmetrics_arena_series", "shmetrics_arena_series", {}) == 4.0, "self: series")
        check([sample(fams, "shmetrics_arena_processes", "shmetrics_arena_processes", {"state": s})
               for s in ("attached", "dead", "exited")] == [0.0, 0.0, 0.0],
              "self: no process holds a slot (the set gave its back at exit)")
        cap = sample(fams, "shmetrics_arena_bytes_capacity", "shmetrics_arena_bytes_capacity", {})
        used = sample(fams, "shmetrics_arena_bytes_used", "shmetrics_arena_bytes_used", {})
        check(cap == os.path.getsize(ARENA) and 0 < used < cap, "self: bytes used %s of capacity %s" % (used, cap))
        check(sample(fams, "shmetrics_arena_registrations_refused", "shmetrics_arena_registrations_refused_total",
                     {}) == 0.0, "self: nothing refused")
        check(sample(fams, "shmetrics_collector_scrapes", "shmetrics_collector_scrapes_total", {}) == 1.0,
              "self: first scrape")
        check("shmetrics_collector_last_scrape_duration_seconds" in fams, "self: scrape duration")
        p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        check(p.returncode == 0, "promtool accepts the body", p.stdout + p.stderr)

        prom_accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                       "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        st, h, body = srv.get("/metrics", {"Accept": prom_accept})
        check(h.get("content-type") == "application/openmetrics-text; version=1.0.0; charset=utf-8",
              "Prometheus' Accept gets OpenMetrics", h.get("content-type"))
        text = body.decode()
        check(text.endswith("# EOF\n"), "OpenMetrics ends with # EOF")
        om = {f.name: f for f in om_families(text)}
        check(any(s.name == "req_total" and s.value == 3.0 for s in om["req"].samples), "OpenMetrics parses")
        st, h, body = srv.get("/metrics", {"Accept": "text/plain;q=0.9, application/openmetrics-text;q=0.5"})
        check(h.get("content-type", "").startswith("text/plain"), "text preferred by q")
        st, h, body = srv.get("/metrics", {"Accept": "application/json"})
        check(h.get("content-type", "").startswith("text/plain"), "unknown Accept falls back to text")

        st, h, body = srv.get("/metrics?format=json")
        check(st == 200 and h.get("content-type") == "application/json", "?format=json")
        doc = json.loads(body)
        names = [f["name"] for f in doc]
        check(names[:4] == ["req", "queue", "lat_seconds", "ttft_seconds"], "JSON families in order", names)
        st, h, body = srv.get("/metrics?format=openmetrics")
        check(st == 200 and body.endswith(b"# EOF\n"), "?format=openmetrics")
        st, h, body = srv.get("/metrics?format=xml")
        check(st == 400 and b"unknown format 'xml'" in body, "?format=xml: 400 naming it", body)

        st, h, body = srv.get("/metrics", {"Accept-Encoding": "gzip"})
        check(h.get("content-encoding") == "gzip", "gzip when allowed")
        check(b"req_total{code=\"200\"} 3" in gzip.decompress(body), "gzip body decodes")
        st, h, body = srv.get("/metrics", {"Accept-Encoding": "gzip;q=0, identity"})
        check("content-encoding" not in h, "no gzip at q=0")
        st, h, body = srv.get("/metrics", method="HEAD")
        check(st == 200 and body == b"" and int(h.get("content-length", "0")) > 0, "HEAD: headers, no body")
        st, h, body = srv.get("/healthz")
        check(st == 200 and body == b"ok\n", "/healthz")
        st, h, body = srv.get("/nope")
        check(st == 404, "unknown path: 404")
        for m in ("POST", "PUT", "DELETE"):
            st, h, body = srv.get("/metrics", method=m)
            check(st == 405 and h.get("allow") == "GET, HEAD", "%s: 405 with Allow" % m)

        # Expect: 100-continue: a refused request is answered at once, with
        # no interim 100 inviting a body; a GET gets its 100 and its 200.
        out = srv.raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 405") and b" 100 " not in out, "POST with Expect: 405, no 100", out[:40])
        out = srv.raw(b"PUT /elsewhere HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 404") and b" 100 " not in out, "unknown path with Expect: 404, no 100",
              out[:40])
        out = srv.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                      b"Connection: close\r\n\r\nhello")
        check(out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n") and out.endswith(b"\r\n\r\nok\n"),
              "GET with Expect and a body: 100, then 200 (the body dropped)", out[:60])
        out = srv.raw(b"GET /metrics\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 400"), "request line without a version: 400", out[:40])
        out = srv.raw(b"GET /metrics HTTP/1.1\r\nBad Header Line\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 400"), "malformed header line: 400", out[:40])
        # A line that is not HTTP at all: libmicrohttpd closes the connection.
        out = srv.raw(b"GARBAGE\r\n\r\n")
        check(out == b"" or out.startswith(b"HTTP/1.1 400"), "not HTTP at all: closed", out[:40])
        out = srv.raw(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        check(out.startswith(b"HTTP/1.1 431") or out == b"", "oversized headers: 431", out[:40])
        out = srv.raw(b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n")
        check(out[:12] in (b"HTTP/1.1 505", b"HTTP/1.1 400"), "unknown HTTP version: 4xx/505", out[:40])
        out = srv.raw(b"\x00\x01\x02\xff" * 1000)
        check(out == b"" or out.startswith(b"HTTP/1.1 400"), "binary junk: 400 or closed", out[:40])
        st, h, body = srv.get("/healthz")
        check(st == 200, "still serving after the bad requests")
    finally:
        rc, err = srv.stop(signal.SIGTERM)
    check(rc == 0 and "stopped by SIGTERM" in err, "SIGTERM: exit 0", err)
    srv = Server(ARENA)
    rc, err = srv.stop(signal.SIGINT)
    check(rc == 0 and "stopped by SIGINT" in err, "SIGINT: exit 0", err)


PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
PB = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
# Accept headers and the format each must get.
NEGOTIATION = [
    # Prometheus 2.42 with --enable-feature=native-histograms (its scrape
    # manager's header, as sent).
    (PB + ",application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,"
     "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", PROTOBUF),
    # Protobuf preferred by q-values rather than by order.
    (PB + ";q=0.7,application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;"
     "q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.1", PROTOBUF),
    ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", PROTOBUF),
    ('application/vnd.google.protobuf;proto="io.prometheus.client.MetricFamily";encoding="delimited"', PROTOBUF),
    ("Application/Vnd.Google.Protobuf;Proto=io.prometheus.client.MetricFamily;ENCODING=delimited", PROTOBUF),
    ("text/plain;q=0.2," + PB + ";q=0.3", PROTOBUF),
    # The format's text encodings are not served: no binary for them.
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", TEXT),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=compact-text", TEXT),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text,"
     "application/openmetrics-text;q=0.5", OPENMETRICS),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily", TEXT),
    ("application/vnd.google.protobuf;encoding=delimited", TEXT),
    ("application/vnd.google.protobuf;proto=io.prometheus.client.Metric;encoding=delimited", TEXT),
    ("application/vnd.google.protobuf", TEXT),
    # Preferences: a higher q elsewhere, a tie, q=0, wildcards.
    (PB + ";q=0.4,application/openmetrics-text;version=1.0.0;q=0.5", OPENMETRICS),
    (PB + ",text/plain", TEXT),
    (PB + ";q=0.5,*/*;q=0.5", TEXT),
    (PB + ";q=0", TEXT),
    (PB + ";q=0,application/openmetrics-text", OPENMETRICS),
    ("*/*", TEXT),
    ("application/*", OPENMETRICS),
]


def arena_series(s):
    """The series of the arena's families (the collector's own change from
    one scrape to the next)."""
    return {k: v for k, v in s.items() if not k[0].startswith("shmetrics_")}


def test_protobuf():
    srv = Server(ARENA)
    try:
        for accept, want in NEGOTIATION:
            st, h, body = srv.get("/metrics", {"Accept": accept})
            check(st == 200 and h.get("content-type") == want, "Accept %s: %s" % (accept, want.split(";")[0]),
                  h.get("content-type"))
        st, h, text = srv.get("/metrics")
        text_s = pbdecode.text_series(text_string_to_metric_families(text.decode()))
        st, h, body = srv.get("/metrics?format=protobuf", {"Accept": "text/plain"})
        check(st == 200 and h.get("content-type") == PROTOBUF, "?format=protobuf wins over Accept",
              h.get("content-type"))
        fams = pbdecode.families(body)
        names = [f["name"] for f in fams]
        check(names[:4] == ["req_total", "queue", "lat_seconds", "ttft_seconds"],
              "protobuf families in order, the counter named like its samples", names)
        check("shmetrics_collector_scrapes_total" in names and "shmetrics_arena_processes" in names,
              "the collector's own families follow", names[4:])
        check([f["type"] for f in fams[:4]] == ["counter", "gauge", "histogram", "summary"], "protobuf types")
        pb_s = pbdecode.series(fams)
        check(arena_series(pb_s) == arena_series(text_s) and len(arena_series(pb_s)) == 10,
              "protobuf and text give the same 10 series, names, labels and values",
              sorted(set(arena_series(pb_s).items()) ^ set(arena_series(text_s).items())))
        check(set(pb_s) == set(text_s), "the collector's own series too, by name and labels",
              sorted(set(pb_s) ^ set(text_s)))
        st, h, zbody = srv.get("/metrics", {"Accept": PB, "Accept-Encoding": "gzip"})
        check(h.get("content-type") == PROTOBUF and h.get("content-encoding") == "gzip", "protobuf, gzipped",
              str(h))
        zs = pbdecode.series(pbdecode.families(gzip.decompress(zbody)))
        check(arena_series(zs) == arena_series(text_s), "the gzipped protobuf body decodes to the same series")
        st, h, hbody = srv.get("/metrics", {"Accept": PB}, method="HEAD")
        check(st == 200 and hbody == b"" and h.get("content-type") == PROTOBUF and
              int(h.get("content-length", "0")) > 0, "HEAD with protobuf: its headers, no body")
    finally:
        srv.stop()


def test_errors():
    r = cli("serve", "--arena", ARENA + "-missing", "--listen", "127.0.0.1:0")
    check(r.returncode == 1 and "no arena at" in r.stderr, "serve a missing arena: exit 1", r.stderr)
    r = cli("serve", "--arena", ARENA, "--listen", "nonsense")
    check(r.returncode == 1 and "is not HOST:PORT" in r.stderr, "bad --listen: exit 1", r.stderr)
    r = cli("serve", "--arena", ARENA, "--listen", "10.1.2:80")
    check(r.returncode == 1 and "not an IPv4 address" in r.stderr, "bad host: exit 1", r.stderr)
    r = cli("serve", "--arena", ARENA, "--threads", "0")
    check(r.returncode == 2, "--threads 0: exit 2")
    srv = Server(ARENA)
    r = cli("serve", "--arena", ARENA, "--listen", "127.0.0.1:%d" % srv.port)
    check(r.returncode == 1 and "cannot listen on" in r.stderr, "port in use: exit 1", r.stderr)
    srv.stop()


def test_reattach():
    """The arena is unlinked and re-created while the collector runs."""
    arena = ARENA + "-regen"
    cli("inc", "--arena", arena, "--help", "Gen.", "gen_total", "5")
    srv = Server(arena)
    try:
        st, h, body = srv.get("/metrics")
        check(b"\ngen_total 5\n" in body, "before: the first arena's value")
        r = cli("reset", "--arena", arena, "--unlink")
        check(r.returncode == 0, "the arena is removed", r.stderr)
        st, h, body = srv.get("/metrics")
        check(st == 200 and b"\ngen_total 0\n" in body, "unlinked, not re-created: the old mapping is served")
        cli("inc", "--arena", arena, "--help", "Gen.", "gen_total", "7")
        st, h, body = srv.get("/metrics")
        check(b"\ngen_total 7\n" in body, "re-created: the next scrape reads the new arena")
        check(b"\nshmetrics_collector_reattached_total 1\n" in body, "the re-attach is counted")
    finally:
        srv.stop()
        try:
            os.unlink(arena)
        except FileNotFoundError:
            pass


def test_load():
    """100 concurrent scrapers for 10 s while 2 worker processes write."""
    arena = ARENA + "-load"
    subprocess.run([FEED, arena, "2", "500"], check=True, timeout=60)
    srv = Server(arena)
    feed = subprocess.Popen([FEED, arena, "2", "10", "12"], stdout=subprocess.PIPE, text=True)
    stop_at = time.monotonic() + 10
    counts, errors, latencies, idle_closed = [0] * 100, [], [], [0]
    lock = threading.Lock()
    rss = {}

    def scraper(i):
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        last = time.monotonic()  # the end of this connection's last exchange
        n = 0
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            try:
                conn.request("GET", "/metrics")
                r = conn.getresponse()
                body = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # The collector closes a keep-alive connection idle for its
                # documented 10 s (a client thread starved that long on a
                # loaded machine); a client then retries on a new one, as
                # Prometheus does.  A close sooner than that is an error.
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
                if t0 - last < IDLE_TIMEOUT:
                    with lock:
                        errors.append(repr(e))
                else:
                    with lock:
                        idle_closed[0] += 1
                last = time.monotonic()
                continue
            except Exception as e:  # noqa: BLE001 - every other failure is counted
                with lock:
                    errors.append(repr(e))
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
                last = time.monotonic()
                continue
            last = time.monotonic()
            dt = time.monotonic() - t0
            ok = (r.status == 200 and int(r.getheader("Content-Length")) == len(body)
                  and body.endswith(b"\n") and b'shmetrics_arena_processes{state="exited"}' in body)
            if ok and n % 20 == 0:
                try:
                    fams = families(body.decode())
                    ok = len([s for s in fams["feed_series"].samples]) >= 1000
                except Exception as e:  # noqa: BLE001
                    ok = False
                    with lock:
                        errors.append(repr(e))
            with lock:
                latencies.append(dt)
                if not ok:
                    errors.append("bad response %d %d bytes" % (r.status, len(body)))
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=scraper, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    time.sleep(2)
    rss["start"] = srv.rss_kb()
    for t in threads:
        t.join()
    rss["end"] = srv.rss_kb()
    loops = sum(int(x) for x in feed.communicate(timeout=30)[0].split())
    srv.stop()
    total = sum(counts)
    latencies.sort()
    p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0
    print("# load: %d scrapes in 10 s by 100 clients (%.0f/s), p50 %.1f ms, p99 %.1f ms, errors %d, "
          "connections closed after %d s idle %d; collector RSS %d KiB after 2 s, %d KiB at the end; "
          "writers made %d loops meanwhile"
          % (total, total / 10, p50, p99, len(errors), IDLE_TIMEOUT, idle_closed[0], rss["start"], rss["end"],
             loops))
    check(not errors, "100 scrapers x 10 s: no error", errors[:3])
    check(min(counts) > 0, "every scraper got responses")
    if os.environ.get("SHMETRICS_SANITIZE", "none") in ("", "none"):
        check(rss["end"] - rss["start"] < 8192, "collector memory flat (+%d KiB)" % (rss["end"] - rss["start"]))
    else:  # a sanitizer's quarantine holds freed memory on purpose
        print("# collector memory not judged: %s keeps freed memory in quarantine" % os.environ["SHMETRICS_SANITIZE"])
    check(loops > 0, "the writers wrote during the load")
    os.unlink(arena)


def test_100k_series():
    arena = ARENA + "-100k"
    r = cli("create", "--arena", arena, "--series", "110000", "--processes", "64")
    check(r.returncode == 0, "create a 110,000-series arena", r.stderr)
    t0 = time.monotonic()
    subprocess.run([FEED, arena, "16", "6250"], check=True, timeout=300)
    t1 = time.monotonic()
    srv = Server(arena)
    t2 = time.monotonic()
    st, h, body = srv.get("/metrics")
    t3 = time.monotonic()
    srv.stop()
    lines = [l for l in body.split(b"\n") if l.startswith(b"feed_series_total{")]
    check(st == 200 and len(lines) == 100000, "100,000 series in one scrape", len(lines))
    want = b'feed_series_total{proc="15",idx="6249"} 6250'
    check(want in body, "the last series has its value")
    print("# 16 processes wrote 100,000 series in %.2f s; one scrape of them over HTTP took %.1f ms (%d bytes)"
          % (t1 - t0, (t3 - t2) * 1000, len(body)))
    os.unlink(arena)


def main():
    try:
        test_routes_and_formats()
        test_protobuf()
        test_errors()
        test_reattach()
        test_load()
        test_100k_series()
    finally:
        for suffix in ("", "-load", "-100k"):
            try:
                os.unlink(ARENA + suffix)
            except FileNotFoundError:
                pass
    return summary()


if __name__ == "__main__":
    sys.exit(main())
