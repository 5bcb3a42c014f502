# SPDX-License-Identifier: MIT
"""The C library's extras from Python: the cardinality limit of a metric
(max_series, its default, the overflow series and the warning), the
rate-limited gauge (min_interval_seconds), and the pusher
(shmetrics.Pusher, shmetrics.push) sending to a StatsD socket and an HTTP
server this test starts on 127.0.0.1."""

import http.server
import json
import math
import socket
import threading
import warnings

import pytest

import shmetrics

from conftest import run_python, samples


def fold_warnings(record):
    return [w for w in record if issubclass(w.category, RuntimeWarning) and "max_series" in str(w.message)]


# --------------------------------------------------------------- max_series


def test_the_default_limit_and_the_2001st_label_set(registry):
    assert shmetrics.MAX_SERIES_DEFAULT == 2000
    c = shmetrics.Counter("req", "h", ["id"], registry=registry)
    assert c._max_series == 2000 and c.labels("0")._max_series == 2000
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for i in range(2000):
            c.labels(str(i)).inc()
        assert fold_warnings(record) == []
        c.labels("2000").inc(5)
        c.labels("2001").inc(2)
        c.labels("2000").inc()  # the same child: no second warning
    found = fold_warnings(record)
    assert len(found) == 1
    assert str(found[0].message) == (
        'counter:req reached its max_series (2000 label sets): further label sets are counted together in one '
        'series labelled otel_metric_overflow="true" (folds counted in '
        'shmetrics_cardinality_overflow_total{metric="req"}); raise the limit with max_series=')
    got = samples(registry, "req_total")
    assert len(got) == 2001
    assert got[frozenset({("otel_metric_overflow", "true")})] == 8.0
    assert samples(registry, "shmetrics_cardinality_overflow_total") == {frozenset({("metric", "req")}): 2.0}


def test_a_limit_per_metric_and_no_limit(registry):
    small = shmetrics.Histogram("lat", "h", ["route"], registry=registry, buckets=[1], max_series=2)
    free = shmetrics.Counter("free", "h", ["k"], registry=registry, max_series=None)
    assert small._max_series == 2 and free._max_series is None
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        for r in ("a", "b", "c", "d"):
            small.labels(r).observe(0.5)
        for k in range(2100):
            free.labels(str(k)).inc()
    assert [str(w.message).split(" reached")[0] for w in fold_warnings(record)] == ["histogram:lat"]
    assert samples(registry, "lat_count") == {
        frozenset({("route", "a")}): 1.0,
        frozenset({("route", "b")}): 1.0,
        frozenset({("otel_metric_overflow", "true")}): 2.0,
    }
    assert len(samples(registry, "free_total")) == 2100


def test_the_warning_when_another_process_filled_the_metric(registry, arena_path):
    c = shmetrics.Counter("jobs", "h", ["id"], registry=registry, max_series=3)
    c.labels("mine").inc()
    out = run_python(
        "import shmetrics, warnings\n"
        "warnings.simplefilter('ignore')\n"
        f"r = shmetrics.Registry({arena_path!r})\n"
        "c = shmetrics.Counter('jobs', 'h', ['id'], registry=r, max_series=3)\n"
        "for i in range(5): c.labels(str(i)).inc()\n")
    assert out.returncode == 0, out.stderr
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        c.labels("x").inc()
    assert len(fold_warnings(record)) == 1
    assert samples(registry, "jobs_total")[frozenset({("otel_metric_overflow", "true")})] == 4.0


def test_a_warning_turned_into_an_error(registry):
    c = shmetrics.Counter("w", "h", ["id"], registry=registry, max_series=1)
    c.labels("a")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(RuntimeWarning, match="reached its max_series"):
            c.labels("b")
    c.labels("b").inc()  # the child was made; the warning is given once
    assert samples(registry, "w_total")[frozenset({("otel_metric_overflow", "true")})] == 1.0


def test_max_series_errors(registry):
    for bad in (0, -1, 2**32 - 1, 2**40):
        with pytest.raises(ValueError, match=f"max_series {bad} is not from 1 to 4294967294"):
            shmetrics.Counter("c", "h", ["a"], registry=registry, max_series=bad)
    for bad in ("3", 2.0, True):
        with pytest.raises(TypeError, match="max_series must be an int or None"):
            shmetrics.Gauge("g", "h", ["a"], registry=registry, max_series=bad)
    shmetrics.Counter("same", "h", ["a"], registry=registry, max_series=10)
    with pytest.raises(ValueError, match="already registered with at most 10 label sets"):
        shmetrics.Counter("same", "h", ["a"], registry=registry, max_series=11)
    assert shmetrics.Counter("same", "h", ["a"], registry=registry, max_series=10)._max_series == 10


# ------------------------------------------------------- rate-limited gauges


def test_rate_limited_gauge(registry):
    g = shmetrics.Gauge("temp", "h", ["room"], registry=registry, multiprocess_mode="max",
                        min_interval_seconds=3600)
    child = g.labels("a")
    child.set(20)
    child.set(25)  # inside the interval: dropped
    child.set(30)
    assert child.get() == 20.0
    assert samples(registry, "temp") == {frozenset({("room", "a")}): 20.0}
    assert samples(registry, "shmetrics_gauge_sets_dropped_total") == {frozenset({("metric", "temp")}): 2.0}
    plain = shmetrics.Gauge("plain", "h", registry=registry, multiprocess_mode="max")
    plain.set(1)
    plain.set(2)
    assert plain.get() == 2.0


def test_rate_limited_gauge_errors(registry):
    for bad in (-1, math.nan, math.inf):
        with pytest.raises(ValueError):
            shmetrics.Gauge("g", "h", registry=registry, min_interval_seconds=bad)
    with pytest.raises(TypeError):
        shmetrics.Gauge("g", "h", registry=registry, min_interval_seconds="1")
    with pytest.raises(TypeError, match="min_interval_seconds"):
        shmetrics.Counter("c", "h", registry=registry, min_interval_seconds=1)
    shmetrics.Gauge("g2", "h", registry=registry, min_interval_seconds=1)
    with pytest.raises(ValueError):
        shmetrics.Gauge("g2", "h", registry=registry, min_interval_seconds=2)


# ------------------------------------------------------------------- push


@pytest.fixture
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(10)
    yield s
    s.close()


def datagram_lines(sock):
    return sorted(sock.recv(65536).decode().splitlines())


def test_push_once_to_statsd(registry, udp):
    c = shmetrics.Counter("reqs", "h", ["code"], registry=registry)
    c.labels("200").inc(7)
    shmetrics.Gauge("temp", "h", registry=registry, multiprocess_mode="max").set(21.5)
    target = "127.0.0.1:%d" % udp.getsockname()[1]
    shmetrics.push("statsd", target, registry=registry, self_metrics=False, process_metrics=False)
    assert datagram_lines(udp) == ["reqs_total.200:7|c", "temp:21.5|g"]
    shmetrics.push("statsd", target, registry=registry, self_metrics=False, process_metrics=False, tags=True,
                   prefix="app")
    assert datagram_lines(udp) == ["app.reqs_total:7|c|#code:200", "app.temp:21.5|g"]


def test_pusher_with_its_thread_and_by_hand(registry, udp):
    c = shmetrics.Counter("n", "h", registry=registry)
    c.inc(3)
    target = "127.0.0.1:%d" % udp.getsockname()[1]
    with shmetrics.Pusher("statsd", target, registry=registry, interval=3600, self_metrics=False,
                          process_metrics=False, final=False) as p:
        assert (p.backend, p.target, p.running, p.threaded) == ("statsd", target, True, True)
        assert datagram_lines(udp) == ["n_total:3|c"]  # the thread pushes at once
        c.inc(2)
        p.push()  # counters as deltas since the last push that got through
        assert datagram_lines(udp) == ["n_total:2|c"]
        st = p.stats()
        assert (st["attempts"], st["failures"], st["samples"], st["consecutive_failures"]) == (2, 0, 2, 0)
        assert st["bytes"] == len("n_total:3|c") + len("n_total:2|c")
        assert st["last_success"] > 0 and st["last_duration"] >= 0
        with pytest.raises(ValueError, match="in use"):
            registry.close()
    assert not p.running
    assert repr(p) == f"<shmetrics.Pusher statsd '{target}' stopped>"
    for call in (p.push, p.stats):
        with pytest.raises(ValueError, match="the pusher is stopped"):
            call()
    p.stop()  # again: nothing


def test_null_backend_and_the_default_registry(arena_path):
    out = run_python(
        "import shmetrics\n"
        "shmetrics.Counter('c', 'h').inc()\n"
        "shmetrics.push('null')\n"
        "p = shmetrics.Pusher('null', thread=False)\n"
        "p.push(); p.push()\n"
        "print(p.stats()['attempts'], p.stats()['samples'], p.target)\n"
        "p.stop()\n",
        env={"SHMETRICS_ARENA": arena_path})
    assert out.returncode == 0, out.stderr
    assert out.stdout == "2 0 None\n"


class _Capture(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_capture():
    _Capture.requests = []
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Capture)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv, _Capture.requests
    srv.shutdown()
    srv.server_close()
    t.join(10)


def test_push_otlp_json_and_remote_write_headers(registry, http_capture):
    srv, requests = http_capture
    shmetrics.Counter("orders", "Orders.", registry=registry).inc(4)
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    shmetrics.push("otlp", url, registry=registry, otlp_json=True, resource={"service.name": "shop"},
                   headers={"X-Token": "t1"}, self_metrics=False, process_metrics=False)
    path, headers, body = requests[-1]
    assert path == "/v1/metrics" and headers["X-Token"] == "t1"
    doc = json.loads(body)
    rm = doc["resourceMetrics"][0]
    assert {"key": "service.name", "value": {"stringValue": "shop"}} in rm["resource"]["attributes"]
    metrics = {m["name"]: m for sm in rm["scopeMetrics"] for m in sm["metrics"]}
    points = metrics["orders"]["sum"]["dataPoints"]
    assert [p.get("asDouble", p.get("asInt")) for p in points] in ([4.0], ["4"], [4])
    shmetrics.push("remote-write", url, registry=registry, headers=["X-Scope-OrgID: team"], labels={"job": "shop"},
                   self_metrics=False, process_metrics=False)
    path, headers, body = requests[-1]
    assert path == "/api/v1/write" and headers["X-Scope-OrgID"] == "team"
    assert headers["Content-Encoding"] == "snappy" and headers["Content-Type"] == "application/x-protobuf"
    assert len(body) > 0


def test_push_errors(registry):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    cases = [
        (dict(backend="nope"), ValueError, "unknown push backend 'nope'"),
        (dict(backend="statsd", target="bad"), ValueError, "statsd target 'bad' is not HOST:PORT"),
        (dict(backend="otlp", target="ftp://x"), ValueError, ""),
        (dict(backend="statsd", target="127.0.0.1:1", interval=-1), ValueError, "interval -1 is not a duration"),
        (dict(backend="statsd", target="127.0.0.1:1", timeout=math.nan), ValueError, "timeout nan"),
        (dict(backend="statsd", target="127.0.0.1:1", retry_min=0.0001), ValueError, "retry_min"),
        (dict(backend="otlp", target="http://127.0.0.1:1", resource=["a"]), TypeError, "resource must be a dict"),
        (dict(backend="otlp", target="http://127.0.0.1:1", headers="X: y"), TypeError, "not a str"),
        (dict(backend="otlp", target="http://127.0.0.1:1", labels={"a": 1}), TypeError, "must be a str"),
        (dict(backend="statsd", target="127.0.0.1:1", nope=1), TypeError, "nope"),
    ]
    for kwargs, exc, words in cases:
        for make in (lambda **k: shmetrics.Pusher(registry=registry, thread=False, **k),
                     lambda **k: shmetrics.push(registry=registry, **k)):
            with pytest.raises(exc) as e:
                make(**kwargs)
            assert words in str(e.value), (kwargs, str(e.value))
    with pytest.raises(ConnectionRefusedError):
        shmetrics.push("otlp", f"http://127.0.0.1:{port}", registry=registry, timeout=5)
    # A name that does not resolve (.invalid never does, RFC 2606).
    with pytest.raises(FileNotFoundError, match="cannot resolve 'nonexistent.invalid'"):
        shmetrics.Pusher("statsd", "nonexistent.invalid:8125", registry=registry, thread=False)
    p = shmetrics.Pusher("otlp", f"http://127.0.0.1:{port}", registry=registry, thread=False, final=False)
    with pytest.raises(ConnectionRefusedError):
        p.push()
    assert (p.stats()["failures"], p.stats()["consecutive_failures"]) == (1, 1)
    p.stop()
    registry.close()
    with pytest.raises(ValueError, match="the registry is closed"):
        shmetrics.push("null", registry=registry)


def test_stop_while_another_thread_pushes(registry):
    # stop() while push() runs in another thread: the pusher is freed when that push returns.
    arrived, release = threading.Event(), threading.Event()

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            arrived.set()
            release.wait(30)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Slow)
    st = threading.Thread(target=srv.serve_forever, daemon=True)
    st.start()
    try:
        shmetrics.Counter("c", "h", registry=registry).inc()
        p = shmetrics.Pusher("otlp", "http://127.0.0.1:%d" % srv.server_address[1], registry=registry,
                             thread=False, final=False, timeout=60)
        outcome = []
        t = threading.Thread(target=lambda: outcome.append(p.push()))
        t.start()
        assert arrived.wait(30)
        p.stop()
        assert not p.running
        with pytest.raises(ValueError, match="the pusher is stopped"):
            p.push()
        with pytest.raises(ValueError, match="in use"):
            registry.close()  # the push in flight still holds the arena
        release.set()
        t.join(30)
        assert outcome == [None]
        registry.close()
    finally:
        release.set()
        srv.shutdown()
        srv.server_close()
        st.join(10)
