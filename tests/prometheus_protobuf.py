# SPDX-License-Identifier: MIT
"""End to end in the protobuf format: a real Prometheus (Debian's package)
started with --enable-feature=native-histograms, which makes it ask for
the protobuf exposition first, scrapes `shmetrics serve` every second on
127.0.0.1 through a recording proxy of this script's.  The proxy shows what
each scrape asked for and got (Accept, Content-Type, Content-Encoding, the
body); the query API must return what the workers wrote, and the very
series, name for name and label for label, that a text scrape shows.

Checked: counters, a gauge merged over 4 processes, a mode-all gauge with
its pid label, classic histogram buckets (histogram_quantile, and the le
labels of unusual bounds spelled as in the text format), summary
quantiles; scrape_samples_scraped equal to the text format's sample count;
every scrape answered in protobuf (gzipped), its body decoded here
independently (tests/pbdecode.py); and a request with the Accept header
Prometheus sent, made straight to the collector, gets the protobuf
content type.

Everything started here is bounded in time and stopped by PID.  Needs
SHMETRICS_CLI and SHMETRICS_FEED in the environment; run by Debian's python3.
"""
import gzip
import http.client
import http.server
import os
import re
import subprocess
import sys
import tempfile
import threading

from prometheus_client.parser import text_string_to_metric_families
from prom_server import Prometheus, finish, scrape_config
from push_common import stop_proc
from tap import check, failed, summary
import pbdecode

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-e2e-pb-%d" % os.getpid()
PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


class Proxy:
    """Forwards every GET to the collector, as it came, and keeps what went
    through: (Accept, Accept-Encoding, status, Content-Type,
    Content-Encoding, body)."""

    def __init__(self, target_port):
        self.seen = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                fwd = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "accept-encoding")}
                st, h, body = get(target_port, self.path, fwd)
                proxy.seen.append((self.headers.get("Accept"), self.headers.get("Accept-Encoding"), st,
                                   h.get("content-type"), h.get("content-encoding"), body))
                self.send_response(st)
                for k in ("content-type", "content-encoding"):
                    if k in h:
                        self.send_header(k, h[k])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def strip_target(metric):
    """A query result's labels, less those the scrape added."""
    return tuple(sorted((k, v) for k, v in metric.items() if k not in ("job", "instance")))


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-e2e-pb-")
    serve = prom = proxy = None
    try:
        # 4 worker processes, 10 series each, then exit: the values are exact.
        subprocess.run([FEED, ARENA, "4", "10"], check=True, timeout=60)
        for args in (["set", "--help", "Workers.", "--mode", "all", "e2e_workers", "3"],
                     ["observe", "--help", "Odd bounds.", "--buckets", "2.5e-05,0.5,1,1e6", "e2e_odd_seconds",
                      "0.75"],
                     ["observe", "--buckets", "2.5e-05,0.5,1,1e6", "e2e_odd_seconds", "2e6"]):
            r = subprocess.run([CLI, args[0], "--arena", ARENA] + args[1:], capture_output=True, text=True,
                               timeout=60)
            check(r.returncode == 0, "fill: %s" % " ".join(args), r.stderr)
        serve = subprocess.Popen([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", serve.stdout.readline())
        check(m is not None, "collector listens")
        sport = int(m.group(1))
        proxy = Proxy(sport)
        prom = Prometheus(tmp, scrape_config("shmetrics", "127.0.0.1:%d" % proxy.port),
                          "--enable-feature=native-histograms")
        prom.wait(lambda: prom.scalar('up{job="shmetrics"}') == 1 and
                  prom.scalar("sum(feed_series_total)") is not None and
                  prom.scalar("count(e2e_odd_seconds_bucket)") == 5 and len(proxy.seen) >= 3)
        up = prom.scalar('up{job="shmetrics"}')
        check(up == 1, "Prometheus scrapes the collector: up == 1", up)

        # What the scrapes asked for and got.
        seen = list(proxy.seen)
        check(len(seen) >= 3, "scrapes went through the proxy (%d)" % len(seen))
        accept = seen[0][0] if seen else ""
        print("# Prometheus sent Accept: %s" % accept)
        check(all(s[0] == accept for s in seen) and accept.startswith(
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"),
            "Prometheus asks for protobuf first", accept)
        check(all(s[2] == 200 and s[3] == PROTOBUF for s in seen), "every scrape is answered in protobuf",
              set((s[2], s[3]) for s in seen))
        check(all(s[4] == "gzip" for s in seen) and "gzip" in (seen[0][1] or ""), "gzipped, as Prometheus allows",
              set((s[1], s[4]) for s in seen))
        st, h, body = get(sport, "/metrics", {"Accept": accept})
        check(st == 200 and h.get("content-type") == PROTOBUF,
              "Prometheus' exact Accept, sent straight to the collector, gets protobuf", h.get("content-type"))
        st, h, text = get(sport, "/metrics")
        check(h.get("content-type", "").startswith("text/plain"), "no Accept: text")
        text_fams = list(text_string_to_metric_families(text.decode()))
        text_s = pbdecode.text_series(text_fams)
        last = seen[-1][5]
        pb_s = pbdecode.series(pbdecode.families(gzip.decompress(last) if seen[-1][4] == "gzip" else last))
        arena = lambda s: {k: v for k, v in s.items() if not k[0].startswith("shmetrics_")}
        check(arena(pb_s) == arena(text_s) and len(arena(pb_s)) == 40 + 1 + 1 + 17 + 6 + 1 + 7,
              "the body Prometheus got decodes (here) to the text format's %d arena series" % len(arena(text_s)),
              sorted(set(arena(pb_s).items()) ^ set(arena(text_s).items()))[:10])

        # What Prometheus stored.
        check(prom.scalar('scrape_samples_scraped{job="shmetrics"}') == float(len(text_s)),
              "scrape_samples_scraped = the text format's %d samples" % len(text_s))
        check(prom.scalar('feed_series_total{proc="0",idx="9"}') == 10.0, "one counter series")
        check(prom.scalar("sum(feed_series_total)") == 4 * 55.0, "sum over 40 counter series = 220")
        check(prom.scalar("count(feed_series_total)") == 40.0, "40 counter series")
        check(prom.scalar("feed_busy") == 4.0, "gauge, mode sum over 4 processes")
        res = prom.query("e2e_workers")
        want = [(k, v) for k, v in text_s.items() if k[0] == "e2e_workers"]
        check(len(res) == 1 and len(want) == 1 and strip_target(res[0]["metric"]) ==
              (("__name__", "e2e_workers"),) + want[0][0][1] and float(res[0]["value"][1]) == 3.0,
              "mode-all gauge: one series with its pid label, 3", (res, want))
        check(prom.scalar("feed_latency_seconds_count") == 4.0, "histogram count")
        check(prom.scalar("feed_latency_seconds_sum") == 1.0, "histogram sum")
        q = prom.scalar("histogram_quantile(0.5, feed_latency_seconds_bucket)")
        check(q is not None and abs(q - 0.175) < 1e-9, "histogram_quantile(0.5) = 0.175", q)
        check(prom.scalar('feed_latency_seconds_bucket{le="+Inf"}') == 4.0,
              "the +Inf bucket, left out of the message, added back from the count")
        res = prom.query("e2e_odd_seconds_bucket")
        les = sorted((r["metric"].get("le"), float(r["value"][1])) for r in res)
        check(les == [("+Inf", 2.0), ("0.5", 0.0), ("1.0", 1.0), ("1e+06", 1.0), ("2.5e-05", 0.0)],
              "le labels as the text format spells them: 2.5e-05, 0.5, 1.0, 1e+06, +Inf", les)
        q = prom.scalar('feed_ttft_seconds{quantile="0.99"}')
        check(q == 0.50390625, "summary quantile: the sketch's 0.5", q)
        check(prom.scalar("feed_ttft_seconds_count") == 4.0, "summary count")
        check(prom.scalar("feed_ttft_seconds_sum") == 2.0, "summary sum")

        # Every arena series, as Prometheus stored it, against the text scrape.
        res = prom.query('{__name__=~"feed_.+|e2e_.+",job="shmetrics"}')
        stored = {}
        for r in res:
            lab = dict(strip_target(r["metric"]))
            name = lab.pop("__name__")
            stored[(name, tuple(sorted(lab.items())))] = float(r["value"][1])
        check(stored == arena(text_s), "Prometheus stored exactly the text format's %d arena series" % len(stored),
              sorted(set(stored.items()) ^ set(arena(text_s).items()))[:10])
        check([prom.scalar('shmetrics_arena_processes{state="%s"}' % s) for s in ("attached", "dead", "exited")]
              == [0.0, 0.0, 1.0], "collector's own metrics: the workers gave their slots back, but for the one "
              "kept for its mode-all gauge")
    finally:
        if proxy:
            proxy.stop()
        stop_proc(serve)
        finish(prom, ARENA, tmp, failed())
    return summary()


if __name__ == "__main__":
    sys.exit(main())
