# SPDX-License-Identifier: MIT
"""shmetrics.prometheus_client side by side with Debian's prometheus_client:
the registry and exposition behaviour prometheus_client's tests
(tests/test_core.py, registry parts, and tests/test_exposition.py)
describe, each test body run against both modules (single-process mode:
neither SHMETRICS_ARENA nor PROMETHEUS_MULTIPROC_DIR is set)."""

import asyncio
import gzip
import importlib
import os
import re
import urllib.request

import pytest

real = pytest.importorskip("prometheus_client")
import shmetrics  # noqa: E402
import shmetrics.prometheus_client as ours  # noqa: E402
from shmetrics.prometheus_client import core as ours_core  # noqa: E402
from shmetrics.prometheus_client import multiprocess as ours_mp  # noqa: E402
from shmetrics.prometheus_client.openmetrics import exposition as ours_om  # noqa: E402
import prometheus_client.core as real_core  # noqa: E402
from prometheus_client.openmetrics import exposition as real_om  # noqa: E402

BOTH = [pytest.param((real, real_core, real_om), id="prometheus_client"),
        pytest.param((ours, ours_core, ours_om), id="shmetrics")]


@pytest.fixture(autouse=True)
def single_process(monkeypatch):
    monkeypatch.delenv("SHMETRICS_ARENA", raising=False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


class Custom:
    def __init__(self, core, value=3.0):
        self.core = core
        self.value = value

    def collect(self):
        c = self.core.CounterMetricFamily("jobs_total", "Jobs done.", labels=["queue"])
        c.add_metric(["a"], self.value)
        yield c
        yield self.core.GaugeMetricFamily("temperature", "Degrees.", value=21.5)


@pytest.mark.parametrize("mod", BOTH)
def test_registry_register_duplicates_and_unregister(mod):
    pc, core, _ = mod
    reg = pc.CollectorRegistry()
    c = pc.Counter("requests_total", "Requests.", ["method"], registry=reg)
    c.labels("GET").inc(2)
    assert reg.get_sample_value("requests_total", {"method": "GET"}) == 2
    with pytest.raises(ValueError, match="Duplicated timeseries in CollectorRegistry"):
        pc.Counter("requests_total", "Again.", ["method"], registry=reg)
    with pytest.raises(ValueError, match="Duplicated timeseries in CollectorRegistry"):
        pc.Gauge("requests_created", "Clash with a counter's _created.", registry=reg)
    assert c in reg._collector_to_names
    assert reg._names_to_collectors["requests_total"] is c
    reg.unregister(c)
    assert reg.get_sample_value("requests_total", {"method": "GET"}) is None
    assert c not in reg._collector_to_names
    pc.Counter("requests_total", "Requests.", ["method"], registry=reg)  # the name is free again
    with pytest.raises(KeyError):
        reg.unregister(Custom(core))


@pytest.mark.parametrize("mod", BOTH)
def test_custom_collectors_and_auto_describe(mod):
    pc, core, _ = mod
    reg = pc.CollectorRegistry()
    reg.register(Custom(core))
    reg.register(Custom(core))  # no describe(), no auto_describe: no names, no clash
    auto = pc.CollectorRegistry(auto_describe=True)
    auto.register(Custom(core))
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        auto.register(Custom(core))
    assert auto.get_sample_value("jobs_total", {"queue": "a"}) == 3
    assert auto.get_sample_value("temperature") == 21.5
    text = pc.generate_latest(auto).decode()
    assert text == ('# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total{queue="a"} 3.0\n'
                    '# HELP temperature Degrees.\n# TYPE temperature gauge\ntemperature 21.5\n')


@pytest.mark.parametrize("mod", BOTH)
def test_families_expose_as_prometheus_client(mod):
    pc, core, om = mod
    reg = pc.CollectorRegistry()

    class All:
        def collect(self):
            yield core.CounterMetricFamily("c_total", "A counter.", value=1, created=123.5)
            yield core.SummaryMetricFamily("s", "A summary.", count_value=2, sum_value=3.5)
            yield core.HistogramMetricFamily("h", "A histogram.", buckets=[("1.0", 1), ("+Inf", 2)], sum_value=4)
            yield core.GaugeHistogramMetricFamily("gh", "A gauge histogram.", buckets=[("+Inf", 5)], gsum_value=7)
            yield core.InfoMetricFamily("i", "An info.", value={"version": "1.2"})
            yield core.StateSetMetricFamily("st", "A stateset.", value={"on": True, "off": False})
            yield core.UnknownMetricFamily("u", "Unknown\nwith \\ newline.", value=1e20)
            g = core.GaugeMetricFamily("g", "Labels.", labels=["a"])
            g.add_metric(['q"\\\n'], float("inf"))
            g.add_metric(["x"], float("-inf"))
            yield g

    reg.register(All())
    assert pc.generate_latest(reg) == real.generate_latest(reg)
    assert om.generate_latest(reg) == real_om.generate_latest(reg)
    assert b"c_created 123.5" in pc.generate_latest(reg)
    assert b'g{a="q\\"\\\\\\n"} +Inf' in pc.generate_latest(reg)
    with pytest.raises(ValueError, match="Can only specify at most one of value and labels"):
        core.GaugeMetricFamily("g", "x", value=1, labels=["a"])
    with pytest.raises(ValueError, match="count_value and sum_value must be provided together"):
        core.SummaryMetricFamily("s", "x", count_value=1)
    with pytest.raises(ValueError, match="Invalid metric type: nope"):
        core.Metric("m", "x", "nope")
    if pc is real:  # Debian's release has the legacy rules only
        with pytest.raises(ValueError, match="Invalid metric name: 1m"):
            core.Metric("1m", "x", "gauge")
        return
    # The current release: UTF-8 names unless legacy validation is on.
    from shmetrics.prometheus_client import validation
    assert core.Metric("1m", "x", "gauge").name == "1m"
    with pytest.raises(ValueError, match="Invalid metric name: "):
        core.Metric("", "x", "gauge")
    validation.enable_legacy_validation()
    try:
        with pytest.raises(ValueError, match="Invalid metric name: 1m"):
            core.Metric("1m", "x", "gauge")
    finally:
        validation.disable_legacy_validation()


@pytest.mark.parametrize("mod", BOTH)
def test_metrics_expose_as_prometheus_client(mod):
    pc, core, om = mod
    reg = pc.CollectorRegistry()
    c = pc.Counter("hits", "Hits.", ["path"], registry=reg)
    c.labels("/a").inc(3)
    g = pc.Gauge("temp", "Temp.", registry=reg)
    g.set(2.5)
    h = pc.Histogram("lat", "Latency.", buckets=[0.1, 1], registry=reg)
    h.observe(0.5)
    s = pc.Summary("size", "Size.", registry=reg)
    s.observe(7)
    i = pc.Info("build", "Build.", registry=reg)
    i.info({"version": "2"})
    e = pc.Enum("state", "State.", states=["a", "b"], registry=reg)
    e.state("b")
    fams = [f for f in reg.collect()]
    got = {(s.name, tuple(sorted(s.labels.items())), s.value) for f in fams for s in f.samples
           if not s.name.endswith("_created")}
    assert got == {("hits_total", (("path", "/a"),), 3.0), ("temp", (), 2.5), ("lat_bucket", (("le", "0.1"),), 0),
                   ("lat_bucket", (("le", "1.0"),), 1), ("lat_bucket", (("le", "+Inf"),), 1), ("lat_count", (), 1),
                   ("lat_sum", (), 0.5), ("size_count", (), 1), ("size_sum", (), 7), ("build_info", (("version", "2"),), 1),
                   ("state", (("state", "a"),), 0), ("state", (("state", "b"),), 1)}
    assert [(f.name, f.type) for f in fams] == [("hits", "counter"), ("temp", "gauge"), ("lat", "histogram"),
                                                ("size", "summary"), ("build", "info"), ("state", "stateset")]


@pytest.mark.parametrize("mod", BOTH)
def test_restricted_registry_and_target_info(mod):
    pc, core, _ = mod
    reg = pc.CollectorRegistry(target_info={"service": "x"})
    assert reg.get_target_info() == {"service": "x"}
    reg.register(Custom(core))
    h = pc.Histogram("lat", "Latency.", buckets=[1], registry=reg)
    h.observe(2)
    r = reg.restricted_registry(["lat_count", "target_info"])
    got = [(m.name, [(s.name, s.value) for s in m.samples]) for m in r.collect()]
    assert got == [("target", [("target_info", 1)]), ("lat", [("lat_count", 1)])]
    clash = pc.CollectorRegistry(auto_describe=True)
    clash.register(type("T", (), {"collect": lambda self: [core.InfoMetricFamily("target", "t", value={})]})())
    with pytest.raises(ValueError, match="already contains a target_info metric"):
        clash.set_target_info({"a": "b"})
    reg.set_target_info(None)
    assert reg.get_sample_value("target_info", {"service": "x"}) is None


@pytest.mark.parametrize("mod", BOTH)
def test_choose_encoder_wsgi_asgi_name_filter_gzip(mod):
    pc, core, om = mod
    enc = importlib.import_module(pc.__name__ + ".exposition")
    assert enc.choose_encoder(None)[1] == "text/plain; version=0.0.4; charset=utf-8"
    encoder = enc.choose_encoder("application/openmetrics-text; version=1.0.0")[0]
    assert getattr(encoder, "func", encoder) is om.generate_latest  # recent releases bind the escaping scheme
    reg = pc.CollectorRegistry()
    pc.Gauge("a", "A.", registry=reg).set(1)
    pc.Gauge("b", "B.", registry=reg).set(2)
    app = pc.make_wsgi_app(reg)
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"QUERY_STRING": "name[]=b", "PATH_INFO": "/metrics", "HTTP_ACCEPT_ENCODING": "gzip"},
                        start_response))
    assert seen["status"] == "200 OK" and seen["headers"]["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == b"# HELP b B.\n# TYPE b gauge\nb 2.0\n"
    if hasattr(pc, "make_asgi_app"):
        asgi = pc.make_asgi_app(reg, disable_compression=True)
        sent = []

        async def receive():
            return {"type": "http.request"}

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "query_string": b"name[]=a", "headers": [(b"accept-encoding", b"gzip")]}
        asyncio.run(asgi(scope, receive, send))
        assert sent[0]["status"] == 200
        if pc is ours:  # prometheus_client 0.16's ASGI app ignores name[] (it parses bytes)
            assert sent[1]["body"] == b"# HELP a A.\n# TYPE a gauge\na 1.0\n"


@pytest.mark.parametrize("mod", BOTH)
def test_http_server_and_textfile(mod, tmp_path):
    pc, core, _ = mod
    reg = pc.CollectorRegistry()
    pc.Counter("served", "Served.", registry=reg).inc(4)
    server = pc.start_http_server(0, addr="127.0.0.1", registry=reg)
    if server is None:  # prometheus_client 0.16 returns nothing: check write_to_textfile only
        pass
    else:
        httpd, _ = server
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{httpd.server_port}/metrics", timeout=10) as r:
                assert b"served_total 4.0" in r.read()
        finally:
            httpd.shutdown()
    path = tmp_path / "out.prom"
    pc.write_to_textfile(str(path), reg)
    assert "served_total 4.0" in path.read_text()
    assert os.listdir(tmp_path) == ["out.prom"]
    with pytest.raises(FileNotFoundError):
        pc.write_to_textfile(str(tmp_path / "no" / "out.prom"), reg)


def test_multiprocess_collector_needs_a_place(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR is not set or not a directory"):
        ours_mp.MultiProcessCollector(ours.CollectorRegistry())
    with pytest.raises(ValueError, match="is not set or not a directory"):
        ours_mp.MultiProcessCollector(ours.CollectorRegistry(), path=str(tmp_path / "missing"))
    with pytest.raises(TypeError, match="pid must be an int, not str"):
        ours_mp.mark_process_dead("12")
    # An empty directory: no arena yet, no families.
    reg = ours.CollectorRegistry()
    ours_mp.MultiProcessCollector(reg, path=str(tmp_path))
    assert list(reg.collect()) == []


def test_metric_classes_add_no_python_frame():
    # The hot methods are the C methods of shmetrics' classes.
    import shmetrics

    assert ours.Counter.inc is shmetrics.Counter.inc
    assert ours.Histogram.observe is shmetrics.Histogram.observe
    assert ours.Gauge.set is shmetrics.Gauge.set
    assert type(ours.Counter.inc).__name__ == "method_descriptor"


def masked(text):
    """The exposition with the values of _created samples (times) masked,
    and two-digit exponents without the leading zero prometheus_client
    0.16 gives them (e+012: fixed in its later releases, which
    shmetrics follows)."""
    text = re.sub(r"e\+0(\d\d)\b", r"e+\1", text.decode())
    return "\n".join(line.rsplit(" ", 1)[0] + " T" if "_created" in line and not line.startswith("#") else line
                      for line in text.split("\n"))


def fill(pc):
    reg = pc.CollectorRegistry()
    c = pc.Counter("hits", "Hits\nof \\ paths.", ["path"], registry=reg)
    c.labels('/a"b').inc(3)
    c.labels("/c").inc(0.5)
    pc.Counter("bytes", "Bytes.", unit="bytes", namespace="app", registry=reg).inc(2**40)
    pc.Gauge("temp", "Temp.", ["room"], registry=reg).labels("x").set(-1.25e-7)
    pc.Gauge("big", "Big.", registry=reg).set(123456789.0)
    h = pc.Histogram("lat_seconds", "Latency.", ["m"], buckets=[0.1, 1, 10], registry=reg)
    h.labels("GET").observe(0.5)
    h.labels("GET").observe(20)
    pc.Summary("size", "Size.", registry=reg).observe(7)
    pc.Info("build", "Build.", ["env"], registry=reg).labels("prod").info({"version": "2", "commit": "abc"})
    pc.Enum("state", "State.", states=["a", "b"], registry=reg).state("b")
    return reg


def test_metrics_give_prometheus_client_s_exposition_byte_for_byte():
    ours_text = ours.generate_latest(fill(ours))
    real_text = real.generate_latest(fill(real))
    assert masked(ours_text) == masked(real_text)
    assert b"hits_created{path=\"/c\"} " in ours_text
    assert masked(ours_om.generate_latest(fill(ours))) == masked(real_om.generate_latest(fill(real)))


def test_created_samples_follow_prometheus_disable_created_series(monkeypatch):
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "True")
    text = ours.generate_latest(fill(ours))
    assert b"_created" not in text and b"hits_total{path=\"/c\"} 0.5" in text


@pytest.mark.parametrize("mod", BOTH)
def test_timestamps_and_exemplars_expose_as_prometheus_client(mod):
    pc, core, om = mod
    samples = importlib.import_module(pc.__name__ + ".samples")
    reg = pc.CollectorRegistry()

    class Timed:
        def collect(self):
            g = core.GaugeMetricFamily("g", "G.", labels=["a"])
            g.add_metric(["x"], 1, timestamp=123.456)
            g.add_metric(["y"], 2, timestamp=samples.Timestamp(123, 456000000))
            yield g
            h = core.HistogramMetricFamily("h", "H.", labels=["a"])
            h.add_metric(["x"], [("1.0", 1, samples.Exemplar({"trace_id": "abc"}, 0.5, 123.0)), ("+Inf", 2)], 3)
            yield h
            c = core.CounterMetricFamily("c", "C.", labels=["a"], unit="bytes")
            c.add_metric(["x"], 5, created=100.0)
            yield c

    reg.register(Timed())
    assert pc.generate_latest(reg) == real.generate_latest(reg)
    assert om.generate_latest(reg) == real_om.generate_latest(reg)
    assert b'h_bucket{a="x",le="1.0"} 1.0 # {trace_id="abc"} 0.5 123.0\n' in om.generate_latest(reg)

    class Wrong:
        def collect(self):
            g = core.Metric("w", "W.", "gauge")
            g.add_sample("w", {}, 1, exemplar=samples.Exemplar({}, 1))
            yield g

    bad = pc.CollectorRegistry()
    bad.register(Wrong())
    with pytest.raises(ValueError, match="Metric w has exemplars, but is not a histogram bucket or counter"):
        om.generate_latest(bad)


def test_timestamp_orders_and_converts():
    ts = importlib.import_module("shmetrics.prometheus_client.samples").Timestamp
    assert str(ts(1, 5)) == "1.000000005" and float(ts(2, 500000000)) == 2.5
    assert ts(1, 2) < ts(1, 3) < ts(2, 0) and ts(1, 2) == ts(1, 2) and ts(1, 2) != ts(1, 3)
    with pytest.raises(ValueError, match="Invalid value for nanoseconds in Timestamp: 1000000000"):
        ts(1, 10**9)


def test_http_server_gzip_name_filter_and_handler(tmp_path):
    import http.server
    import threading

    reg = ours.CollectorRegistry()
    ours.Gauge("a", "A.", registry=reg).set(1)
    ours.Gauge("b", "B.", registry=reg).set(2)
    httpd, thread = ours.start_wsgi_server(0, addr="127.0.0.1", registry=reg)
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{httpd.server_port}/metrics?name[]=a",
                                     headers={"Accept-Encoding": "gzip",
                                              "Accept": "application/openmetrics-text; version=1.0.0"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.headers["Content-Encoding"] == "gzip"
            assert r.headers["Content-Type"] == ("application/openmetrics-text; version=1.0.0; charset=utf-8; "
                                                 "escaping=underscores")
            assert gzip.decompress(r.read()) == b"# HELP a A.\n# TYPE a gauge\na 1.0\n# EOF\n"
    finally:
        httpd.shutdown()
    server = http.server.HTTPServer(("127.0.0.1", 0), ours.MetricsHandler.factory(reg))
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/?name[]=b", timeout=10) as r:
            assert r.read() == b"# HELP b B.\n# TYPE b gauge\nb 2.0\n"
    finally:
        server.shutdown()


def test_write_to_textfile_leaves_nothing_on_an_error(tmp_path):
    class Failing:
        def collect(self):
            raise RuntimeError("no data")

    reg = ours.CollectorRegistry()
    reg.register(Failing())
    with pytest.raises(RuntimeError, match="no data"):
        ours.write_to_textfile(str(tmp_path / "out.prom"), reg)
    assert os.listdir(tmp_path) == []


def test_default_collectors_have_prometheus_client_s_families():
    def names(c):
        return sorted(m.name for m in c.collect())

    assert names(ours.PROCESS_COLLECTOR) == names(real.PROCESS_COLLECTOR)
    assert names(ours.PLATFORM_COLLECTOR) == names(real.PLATFORM_COLLECTOR)
    assert names(ours.GC_COLLECTOR) == names(real.GC_COLLECTOR)
    assert ours.PROCESS_COLLECTOR in ours.REGISTRY._collector_to_names
    # Debian's 0.16 has no Sample.native_histogram (the sixth field since 0.22).
    assert [tuple(s)[:5] for s in ours.PLATFORM_COLLECTOR.collect()[0].samples] == \
        [tuple(s)[:5] for s in real.PLATFORM_COLLECTOR.collect()[0].samples]


@pytest.mark.parametrize("mod", BOTH)
def test_restricted_registry_calls_only_the_collectors_named(mod):
    pc, core, _ = mod
    reg = pc.CollectorRegistry()
    calls = []

    class Named:
        def __init__(self, name):
            self.name = name

        def describe(self):
            return [core.GaugeMetricFamily(self.name, "D.")]

        def collect(self):
            calls.append(self.name)
            return [core.GaugeMetricFamily(self.name, "D.", value=1)]

    class Nameless:
        def collect(self):
            calls.append("nameless")
            return [core.GaugeMetricFamily("nameless", "N.", value=1)]

    reg.register(Named("wanted"))
    reg.register(Named("other"))
    reg.register(Nameless())
    r = reg.restricted_registry(["wanted"])
    reg.register(Named("late"))  # a collector registered after the restriction is seen
    assert [m.name for m in r.collect()] == ["wanted"]
    assert calls == ["wanted"]
    assert [m.name for m in reg.restricted_registry(["late"]).collect()] == ["late"]


def test_restricted_registry_reads_the_multiprocess_collector(tmp_path):
    import shmetrics

    arena = str(tmp_path / "arena")  # an arena file given as path: read-only, not the default registry

    with shmetrics.Registry(arena) as writer:
        shmetrics.Gauge("mp_a", "A.", registry=writer, multiprocess_mode="max").set(3)
        shmetrics.Gauge("mp_b", "B.", registry=writer, multiprocess_mode="max").set(4)
        reg = ours.CollectorRegistry()
        ours_mp.MultiProcessCollector(reg, path=arena)
        r = reg.restricted_registry(["mp_b"])
        assert [(s.name, s.value) for m in r.collect() for s in m.samples] == [("mp_b", 4)]


def test_metric_exemplars_expose_as_prometheus_client():
    """Exemplars given to inc() and observe() come out of the OpenMetrics
    exposition as prometheus_client writes them (times masked: each
    library stamps its own)."""
    def exemplars(pc):
        reg = pc.CollectorRegistry()
        pc.Counter("ex", "E.", registry=reg).inc(2, exemplar={"trace_id": "abc"})
        h = pc.Histogram("lat", "L.", buckets=[1, 5], registry=reg)
        h.observe(0.5, exemplar={"trace_id": "x1"})
        h.observe(3, exemplar={"trace_id": "x2", "span": "\u00e9"})
        return reg

    def stamps_masked(text):
        return "\n".join(line.rsplit(" ", 1)[0] + " T" if " # {" in line else line
                         for line in masked(text).split("\n"))

    ours_text = ours_om.generate_latest(exemplars(ours))
    real_text = real_om.generate_latest(exemplars(real))
    assert stamps_masked(ours_text) == stamps_masked(real_text)
    assert 'ex_total 2.0 # {trace_id="abc"} 2.0 ' in ours_text.decode()
    assert 'lat_bucket{le="5.0"} 2.0 # {span="\u00e9",trace_id="x2"} 3.0 ' in ours_text.decode()


def test_current_release_names():
    """What prometheus_client's current release adds, and its own tests
    import: DuplicateTimeseries, the validation switch, getargspec,
    _get_use_created, collectors without names, the repr."""
    from shmetrics.prometheus_client import decorator, metrics, validation
    from shmetrics.prometheus_client.core import DuplicateTimeseries, BucketSpan, NativeHistogram, Sample

    reg = ours.CollectorRegistry()
    ours.Counter("c", "C.", registry=reg)
    with pytest.raises(DuplicateTimeseries) as e:
        ours.Gauge("c_total", "G.", registry=reg)
    assert isinstance(e.value, ValueError) and e.value.duplicates == {"c_total"}
    assert repr(ours.Gauge("g", "G.", registry=reg)) == "prometheus_client.metrics.Gauge(g)"

    def f(a, b=2, *rest, **kw):
        return a

    assert tuple(decorator.getargspec(f)) == (["a", "b"], "rest", "kw", (2,))
    assert validation.get_legacy_validation() is False
    validation.enable_legacy_validation()
    assert validation.get_legacy_validation() is True
    validation.disable_legacy_validation()
    validation._validate_metric_name("a.b")  # UTF-8 names, legacy validation off
    validation._validate_labelname("ü.b")
    with pytest.raises(ValueError, match="Reserved label metric name: __x"):
        validation._validate_labelname("__x")
    validation.enable_legacy_validation()
    try:
        with pytest.raises(ValueError, match="invalid metric name a.b"):
            validation._validate_metric_name("a.b")
        with pytest.raises(ValueError, match="Invalid label metric name: ü.b"):
            validation._validate_labelname("ü.b")
    finally:
        validation.disable_legacy_validation()
    assert metrics._get_use_created() is True
    assert Sample("x", {}, 1).native_histogram is None
    assert NativeHistogram(3, 1.5, 0, 0.0, 0, [BucketSpan(0, 1)]).pos_spans == [BucketSpan(0, 1)]

    # A collector that names nothing is read by a restricted registry only
    # where the registry was made to support it.
    class Nameless:
        calls = 0

        def describe(self):
            return []

        def collect(self):
            Nameless.calls += 1
            g = ours_core.GaugeMetricFamily("n", "N.", value=4)
            return [g]

    for support, want in ((False, []), (True, [("n", 4.0)])):
        r = ours.CollectorRegistry(support_collectors_without_names=support)
        r.register(Nameless())
        got = [(s.name, s.value) for m in r.restricted_registry(["n"]).collect() for s in m.samples]
        assert got == want


def test_single_process_gauge_counts_up_and_down():
    """Outside multiprocess mode a gauge of mode all has no pid label and
    inc() and dec() work, as in prometheus_client."""
    reg = ours.CollectorRegistry()
    g = ours.Gauge("g", "G.", registry=reg)
    g.inc(5)
    g.dec(2)
    assert reg.get_sample_value("g") == 3.0
    assert g._multiprocess_mode == "all"


@pytest.mark.parametrize("mod", BOTH)
def test_negative_bucket_histogram_has_no_sum(mod, registry):
    """prometheus_client leaves a histogram's _sum out when a bucket bound
    is negative (the sum is no counter then); so does its module on
    shmetrics, while shmetrics' own Histogram keeps it."""
    pc, core, om = mod
    reg = pc.CollectorRegistry()
    h = pc.Histogram("hh", "H.", buckets=[-1, 0, 1], registry=reg)
    h.observe(-0.5)
    names = [s.name for m in reg.collect() for s in m.samples if not s.name.endswith("_created")]
    assert names == ["hh_bucket"] * 4 + ["hh_count"]
    assert b"hh_sum" not in pc.generate_latest(reg) and b"hh_sum" not in om.generate_latest(reg)
    assert reg.get_sample_value("hh_count") == 1.0
    own = shmetrics.Histogram("own", "H.", buckets=[-1, 0, 1], registry=registry)
    own.observe(-0.5)
    assert [s.value for m in own.collect() for s in m.samples if s.name == "own_sum"] == [-0.5]
