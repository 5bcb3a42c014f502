# SPDX-License-Identifier: MIT
"""The Python API from the outside: constructors and names as
prometheus_client builds them, labels by position and by name, every
update method, time(), count_exceptions(), track_inprogress(), remove and
clear, collect() and the exposition read back by prometheus_client's
parsers, the default registry, and the HTTP server."""

import asyncio
import json
import math
import os
import time
import urllib.request

import pytest

import shmetrics
from conftest import run_python, samples

prom_parser = pytest.importorskip("prometheus_client.parser")
om_parser = pytest.importorskip("prometheus_client.openmetrics.parser")


def value(reg, name, **labels):
    return reg.get_sample_value(name, labels)


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    "cls, kwargs, name, exposed",
    [
        (shmetrics.Counter, {}, "requests_total", "requests_total"),
        (shmetrics.Counter, {}, "requests", "requests_total"),
        (shmetrics.Counter, {"namespace": "app", "subsystem": "http"}, "requests_total", "app_http_requests_total"),
        (shmetrics.Counter, {"unit": "bytes"}, "sent", "sent_bytes_total"),
        (shmetrics.Counter, {"unit": "bytes"}, "sent_total", "sent_bytes_total"),
        (shmetrics.Counter, {"unit": "bytes"}, "sent_bytes_total", "sent_bytes_total"),
        (shmetrics.Gauge, {"unit": "seconds"}, "uptime", "uptime_seconds"),
        (shmetrics.Gauge, {"unit": "seconds"}, "uptime_seconds", "uptime_seconds"),
        (shmetrics.Gauge, {"namespace": "vllm"}, "x", "vllm_x"),
        (shmetrics.Gauge, {}, "vllm:num_requests_running", "vllm:num_requests_running"),
        (shmetrics.Histogram, {"subsystem": "db", "unit": "seconds"}, "query", "db_query_seconds_count"),
    ],
)
def test_names_as_prometheus_client_builds_them(registry, cls, kwargs, name, exposed):
    kw = dict(kwargs)
    if cls is shmetrics.Gauge:
        kw["multiprocess_mode"] = "sum"
    m = cls(name, "Help.", registry=registry, **kw)
    if cls is shmetrics.Histogram:
        m.observe(1)
    else:
        m.inc()
    assert value(registry, exposed) == 1
    assert f"\n{exposed} 1" in "\n" + shmetrics.generate_latest(registry).decode()


def test_prometheus_client_agrees_on_full_names():
    metrics = pytest.importorskip("prometheus_client.metrics")
    from shmetrics.metrics import _full_name

    for args in [
        ("counter", "a_total", "", "", ""),
        ("counter", "a", "ns", "sub", "bytes"),
        ("counter", "a_total", "ns", "", "bytes"),
        ("gauge", "a_bytes", "", "s", "bytes"),
        ("histogram", "lat", "ns", "", "seconds"),
        ("summary", "x_total", "", "", ""),
    ]:
        assert _full_name(*args) == metrics._build_full_name(*args)


def test_same_spec_gives_the_same_metric(registry):
    a = shmetrics.Counter("jobs_total", "Jobs.", ["queue"], registry=registry)
    b = shmetrics.Counter("jobs", "Other help is ignored.", ["queue"], registry=registry)
    a.labels("q").inc(2)
    b.labels("q").inc(3)
    assert value(registry, "jobs_total", queue="q") == 5
    assert registry.collect()[0].documentation == "Jobs."


def test_str_repr_and_attributes(registry):
    c = shmetrics.Counter("hits_total", "Hits.", ["path"], registry=registry)
    assert str(c) == "counter:hits"
    assert repr(c) == "shmetrics.metrics.Counter(hits)"
    child = c.labels("/")
    assert isinstance(child, shmetrics.Counter)
    assert child._labelnames == ("path",)
    assert child._labelvalues == ("/",)
    assert child._parent is c and c._parent is None
    assert child._documentation == "Hits."
    assert c._registry is registry
    assert c.describe()[0].name == "hits" and c.describe()[0].samples == []


# ----------------------------------------------------------------- labels


def test_labels_by_position_and_by_name(registry):
    c = shmetrics.Counter("req_total", "Requests.", ["method", "code"], registry=registry)
    c.labels("GET", "200").inc()
    c.labels(method="GET", code="200").inc()
    c.labels(code="200", method="GET").inc()
    c.labels("GET", 200).inc()  # values go through str(), as in prometheus_client
    assert value(registry, "req_total", method="GET", code="200") == 4
    assert c.labels("GET", "200") is c.labels(code=200, method="GET")
    assert c.labels("GET", "200") is not c.labels("GET", "500")


def test_label_values_are_any_utf8(registry):
    g = shmetrics.Gauge("g", "G.", ["v"], registry=registry, multiprocess_mode="max")
    weird = ['quote"', "back\\slash", "new\nline", "é∑😀", "", " "]
    for i, w in enumerate(weird):
        g.labels(w).set(i)
    for i, w in enumerate(weird):
        assert value(registry, "g", v=w) == i
    parsed = {
        s.labels["v"]: s.value
        for f in prom_parser.text_string_to_metric_families(shmetrics.generate_latest(registry).decode())
        for s in f.samples
    }
    assert parsed == {w: float(i) for i, w in enumerate(weird)}


def test_timer_labels(registry):
    h = shmetrics.Histogram("t_seconds", "T.", ["op"], registry=registry)
    with h.time().labels("read"):
        pass
    assert value(registry, "t_seconds_count", op="read") == 1


# ---------------------------------------------------------------- counters


def test_counter_inc(registry):
    c = shmetrics.Counter("c_total", "C.", registry=registry)
    c.inc()
    c.inc(2)
    c.inc(0.25)
    c.inc(amount=3)
    c.inc(1, exemplar={"trace_id": "abc"})
    c.inc(0)
    c.inc(True)
    assert c.get() == 8.25
    assert value(registry, "c_total") == 8.25


def test_counter_large_whole_numbers_stay_exact(registry):
    c = shmetrics.Counter("big_total", "Big.", registry=registry)
    c.inc(2**53)
    c.inc(1)
    c.inc(2**63 + 5)
    expect = 2**53 + 1 + 2**63 + 5
    assert c.get() == float(expect)
    text = shmetrics.generate_latest(registry).decode()
    assert "big_total " in text


def test_count_exceptions(registry):
    c = shmetrics.Counter("errors_total", "Errors.", registry=registry)
    with pytest.raises(KeyError):
        with c.count_exceptions():
            raise KeyError("x")
    with c.count_exceptions(ValueError):
        pass
    with pytest.raises(TypeError):
        with c.count_exceptions(ValueError):
            raise TypeError("not counted")

    @c.count_exceptions((ZeroDivisionError, OverflowError))
    def divide(a, b):
        """Divides."""
        return a / b

    assert divide(4, 2) == 2
    with pytest.raises(ZeroDivisionError):
        divide(1, 0)
    assert divide.__name__ == "divide" and divide.__doc__ == "Divides."
    assert c.get() == 2


# ------------------------------------------------------------------ gauges


def test_gauge_methods(registry):
    g = shmetrics.Gauge("g", "G.", registry=registry, multiprocess_mode="livesum")
    g.set(10)
    g.inc()
    g.inc(2.5)
    g.dec()
    g.dec(amount=0.5)
    assert g.get() == 12.0
    g.set("7.5")  # float() of anything, as prometheus_client's set
    assert value(registry, "g") == 7.5
    g.set(float("nan"))
    assert math.isnan(value(registry, "g"))
    before = time.time()
    g.set_to_current_time()
    assert before - 1 <= g.get() <= time.time() + 1


def test_gauge_all_mode_labels_samples_with_pid(registry):
    g = shmetrics.Gauge("workers", "W.", ["pool"], registry=registry)
    g.labels("a").set(3)
    assert samples(registry, "workers") == {frozenset({("pool", "a"), ("pid", str(os.getpid()))}): 3.0}
    assert registry.collect()[0].multiprocess_mode == "all"


@pytest.mark.parametrize("mode", sorted(shmetrics._shmetrics.MODES))
def test_every_mode_by_its_prometheus_client_name(registry, mode):
    g = shmetrics.Gauge("m", "M.", registry=registry, multiprocess_mode=mode)
    g.set(4)
    (fam,) = registry.collect()
    assert fam.multiprocess_mode == mode
    (s,) = fam.samples
    assert s.value == 4
    assert ("pid" in s.labels) == (mode in ("all", "liveall"))


def test_track_inprogress_and_time(registry):
    g = shmetrics.Gauge("busy", "B.", registry=registry, multiprocess_mode="sum")
    with g.track_inprogress():
        assert g.get() == 1

        @g.track_inprogress()
        def inner():
            return g.get()

        assert inner() == 2
    assert g.get() == 0
    d = shmetrics.Gauge("last_seconds", "L.", registry=registry, multiprocess_mode="max")
    with d.time():
        time.sleep(0.01)
    assert 0.009 <= d.get() < 5


def test_set_function_sets_the_gauge_at_each_read(registry):
    g = shmetrics.Gauge("f", "F.", registry=registry, multiprocess_mode="sum")
    box = [1.5]
    g.set_function(lambda: box[0])
    assert registry.get_sample_value("f") == 1.5
    box[0] = 4
    assert registry.get_sample_value("f") == 4
    assert b"\nf 4\n" in shmetrics.generate_latest(registry)  # the C encoder writes 4
    with pytest.raises(TypeError, match="set_function needs a callable, not int"):
        g.set_function(3)
    labelled = shmetrics.Gauge("fl", "F.", ["a"], registry=registry)
    with pytest.raises(ValueError, match="gauge metric is missing label values"):
        labelled.set_function(lambda: 1)


# ------------------------------------------------- histograms, summaries


def test_histogram_observe_and_buckets(registry):
    h = shmetrics.Histogram("lat_seconds", "L.", registry=registry, buckets=[0.1, "0.5", 1, float("inf")])
    for v in (0.05, 0.1, 0.3, 0.7, 2, 100):
        h.observe(v)
    h.observe(amount=0.2, exemplar={"trace_id": "t"})
    assert h._upper_bounds == [0.1, 0.5, 1.0, float("inf")]
    assert samples(registry, "lat_seconds_bucket") == {
        frozenset({("le", "0.1")}): 2,
        frozenset({("le", "0.5")}): 4,
        frozenset({("le", "1.0")}): 5,
        frozenset({("le", "+Inf")}): 7,
    }
    assert value(registry, "lat_seconds_count") == 7
    assert value(registry, "lat_seconds_sum") == pytest.approx(103.35)


def test_histogram_default_buckets_and_time(registry):
    h = shmetrics.Histogram("d_seconds", "D.", registry=registry)
    assert h.DEFAULT_BUCKETS[-1] == float("inf") and len(h.DEFAULT_BUCKETS) == 15

    @h.time()
    def work():
        return 42

    assert work() == 42
    with h.time():
        pass
    assert value(registry, "d_seconds_count") == 2
    assert value(registry, "d_seconds_bucket", le="0.005") == 2


def test_async_functions_are_timed(registry):
    h = shmetrics.Histogram("a_seconds", "A.", registry=registry)

    @h.time()
    async def work():
        await asyncio.sleep(0.01)
        return 1

    assert asyncio.run(work()) == 1
    assert value(registry, "a_seconds_count") == 1
    assert value(registry, "a_seconds_sum") >= 0.009


def test_summary(registry):
    s = shmetrics.Summary("ttft_seconds", "T.", ["model"], registry=registry)
    child = s.labels("m")
    for i in range(1, 101):
        child.observe(i)
    assert value(registry, "ttft_seconds_count", model="m") == 100
    assert value(registry, "ttft_seconds_sum", model="m") == 5050
    assert value(registry, "ttft_seconds", model="m", quantile="0.5") == pytest.approx(50, rel=0.01)
    assert value(registry, "ttft_seconds", model="m", quantile="0.99") == pytest.approx(99, rel=0.01)
    with child.time():
        pass
    assert value(registry, "ttft_seconds_count", model="m") == 101


def test_summary_options(registry):
    s = shmetrics.Summary("plain", "P.", registry=registry, quantiles=(), max_age_seconds=10, age_buckets=2)
    s.observe(3)
    assert {x.name for x in registry.collect()[0].samples} == {"plain_sum", "plain_count"}
    q = shmetrics.Summary("q", "Q.", registry=registry, quantiles=[0.25, 0.75])
    q.observe(1)
    assert samples(registry, "q").keys() == {frozenset({("quantile", "0.25")}), frozenset({("quantile", "0.75")})}


# -------------------------------------------------------- remove, clear


def test_remove_and_clear(registry):
    c = shmetrics.Counter("r_total", "R.", ["k"], registry=registry)
    a = c.labels("a")
    a.inc(5)
    c.labels("b").inc(1)
    c.remove("a")
    assert samples(registry, "r_total") == {frozenset({("k", "b")}): 1}
    again = c.labels("a")  # back at 0, as a new child in prometheus_client
    assert value(registry, "r_total", k="a") == 0
    again.inc()
    assert value(registry, "r_total", k="a") == 1
    c.clear()
    assert samples(registry, "r_total") == {}
    c.labels("b").inc(2)
    assert samples(registry, "r_total") == {frozenset({("k", "b")}): 2}


def test_clear_keeps_a_metric_without_labels(registry):
    c = shmetrics.Counter("n_total", "N.", registry=registry)
    c.inc(3)
    c.clear()
    assert value(registry, "n_total") == 3


# ---------------------------------------------------- reading it back


def test_collect_shapes(registry):
    c = shmetrics.Counter("c_total", "C.", ["a"], registry=registry)
    c.labels("x").inc()
    shmetrics.Histogram("h", "H.", registry=registry, buckets=[1]).observe(0.5)
    fams = registry.collect()
    assert [(f.name, f.type) for f in fams] == [("c", "counter"), ("h", "histogram")]
    assert fams[0].samples == [shmetrics.Sample("c_total", {"a": "x"}, 1.0)]
    assert fams[0].samples[0].timestamp is None and fams[0].samples[0].exemplar is None
    assert [s.name for s in fams[1].samples] == ["h_bucket", "h_bucket", "h_sum", "h_count"]
    d = fams[0].as_dict()
    assert json.loads(json.dumps(d))["samples"] == [{"name": "c_total", "labels": {"a": "x"}, "value": 1.0}]
    # A metric's collect() is prometheus_client's: each series followed by its _created sample.
    own = c.collect()[0]
    assert (own.name, own.type, own.samples[0]) == (fams[0].name, fams[0].type, fams[0].samples[0])
    assert [(s.name, s.labels) for s in own.samples[1:]] == [("c_created", {"a": "x"})]


def test_exposition_matches_what_prometheus_client_parses(registry):
    c = shmetrics.Counter("c_total", "Counter help.", ["m"], registry=registry)
    c.labels("GET").inc(3)
    g = shmetrics.Gauge("g", "Gauge help.", registry=registry, multiprocess_mode="max")
    g.set(-2.5)
    h = shmetrics.Histogram("h_seconds", "Hist help.", registry=registry, buckets=[0.5, 1])
    h.observe(0.7)
    s = shmetrics.Summary("s", "Summary help.", registry=registry, quantiles=[0.5])
    s.observe(2)
    ours = registry.collect()
    text = shmetrics.generate_latest(registry).decode()
    # The text's name_created gauge families aside (tests/python/test_types.py).
    theirs = [f for f in prom_parser.text_string_to_metric_families(text) if not f.name.endswith("_created")]
    assert [(f.name, f.type, f.documentation) for f in theirs] == [
        (f.name, f.type, f.documentation) for f in ours
    ]
    for a, b in zip(ours, theirs):
        assert [(x.name, x.labels) for x in a.samples] == [(x.name, x.labels) for x in b.samples]
        for x, y in zip(a.samples, b.samples):
            assert x.value == pytest.approx(y.value)
    om = list(om_parser.text_string_to_metric_families(registry.expose("openmetrics").decode()))
    assert [f.name for f in om] == ["c", "g", "h_seconds", "s"]
    js = json.loads(registry.expose("json"))
    assert js
    # The protobuf format: the first MetricFamily's length (one byte), then
    # its name (field 1), the counter's named like its samples.
    pb = registry.expose("protobuf")
    assert pb[1:3] == b"\x0a\x07" and pb[3:10] == b"c_total" and pb[0] < 0x80
    assert shmetrics._shmetrics.content_type("protobuf") == (
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited")
    assert shmetrics.CONTENT_TYPE_LATEST == "text/plain; version=0.0.4; charset=utf-8"


def test_default_registry_from_the_environment(arena_path):
    code = f"""
import os, shmetrics
assert os.environ["SHMETRICS_ARENA"] == {arena_path!r}
c = shmetrics.Counter("porting_total", "Only the import changed.", ["k"])
c.labels("v").inc(7)
assert shmetrics.REGISTRY is shmetrics.default_registry()
assert shmetrics.REGISTRY.is_default and shmetrics.REGISTRY.path == {arena_path!r}
print(shmetrics.generate_latest().decode())
"""
    r = run_python(code, env={"SHMETRICS_ARENA": arena_path})
    assert r.returncode == 0, r.stderr
    assert 'porting_total{k="v"} 7' in r.stdout
    with shmetrics.Registry(arena_path, create=False, readonly=True) as reader:
        assert value(reader, "porting_total", k="v") == 7


def test_registry_as_context_manager_and_info(arena_path):
    with shmetrics.Registry(arena_path, families=16, series=32, processes=8) as reg:
        info = reg.info()
        assert info["families_cap"] == 16 and info["series_cap"] == 32 and info["processes_cap"] == 8
        assert os.path.samefile(info["path"], arena_path)
        g = shmetrics.Gauge("g", "G.", registry=reg)
        g.set(1)
        assert os.getpid() in [p["pid"] for p in reg.processes() if p["alive"]]
        reg.reset()
        assert g.get() == 0
        assert reg.replaced() is False
        assert not reg.closed and "open" in repr(reg)
    assert reg.closed
    with pytest.raises(ValueError, match="closed"):
        g.set(2)
    os.unlink(arena_path)


def test_pool_gauges_and_cost_in_info(arena_path):
    with shmetrics.Registry(arena_path, families=16, series=32, processes=8, gauges=16, cells=4096,
                            shards=64) as reg:
        before = reg.info()
        # Gauge lines come a page (64) at a time.
        assert (before["gauges_cap"], before["cells_cap"], before["shards"]) == (64, 4096, 64)
        assert before["cells_used"] == 0 and before["gauges_used"] == 0
        assert 0 < before["allocated_bytes"] <= before["file_bytes"]
        c = shmetrics.Counter("c", "C.", registry=reg)
        c.inc()
        g = shmetrics.Gauge("g", "G.", registry=reg)
        g.set(1)
        after = reg.info()
        # A counter series is one line of the pool; a gauge one line per process.
        assert after["cells_used"] == 8 and after["gauges_used"] == 1
        assert after["allocated_bytes"] > before["allocated_bytes"]
        assert (after["striped"], after["stripes_refused"], after["fs_refused"]) == (0, 0, 0)
    with pytest.raises(ValueError, match=r"capacity mismatch: the arena has gauges=64, 128 was asked for \(a page"):
        shmetrics.Registry(arena_path, gauges=100)
    os.unlink(arena_path)


def test_a_pathlike_and_a_bare_name(arena_path):
    import pathlib

    with shmetrics.Registry(pathlib.Path(arena_path)) as reg:
        assert reg.path == arena_path  # os.fspath of what was given
    name = os.path.basename(arena_path)
    with shmetrics.Registry(name, create=False) as reg:  # a bare name is under /dev/shm
        assert reg.info()["path"] == arena_path
    os.unlink(arena_path)


def test_http_server(registry):
    c = shmetrics.Counter("served_total", "Served.", registry=registry)
    c.inc(4)
    with shmetrics.start_http_server(0, addr="127.0.0.1", registry=registry, threads=1) as srv:
        assert srv.port > 0 and srv.running
        with pytest.raises(ValueError, match="in use"):
            registry.close()
        body = urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/metrics", timeout=10).read().decode()
        assert "served_total 4" in body
        health = urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/healthz", timeout=10).read()
        assert health.strip() == b"ok"
    assert not srv.running
    srv.stop()  # again: nothing to do
