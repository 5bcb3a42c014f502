# SPDX-License-Identifier: MIT
"""The metric classes side by side with prometheus_client: the behaviours
client_python's tests/test_core.py describes for Counter, Gauge, Summary,
Histogram, Info, Enum and their children, run with the same calls on
Debian's python3-prometheus-client (single-process mode, a private
CollectorRegistry) and on shmetrics, comparing the samples of each
metric's collect() and the exceptions raised.  Behaviours of releases
newer than Debian's (Counter.reset, remove_by_labels, the mostrecent
modes, Timer.duration) are tested on shmetrics alone, with the values
client_python's tests expect."""

import math
import time

import prometheus_client
import pytest

import shmetrics

MODULES = ("prometheus_client", "shmetrics")


def make(which, registry):
    """(module, registry) for one side: prometheus_client with a fresh
    CollectorRegistry, or shmetrics with the test's arena."""
    if which == "prometheus_client":
        return prometheus_client, prometheus_client.CollectorRegistry()
    return shmetrics, registry


def plain(metric):
    """A metric's samples without _created, as sorted (name, labels, value)."""
    out = []
    for fam in metric.collect():
        for s in fam.samples:
            if not s.name.endswith("_created"):
                out.append((s.name, tuple(sorted(s.labels.items())), float(s.value)))
    return sorted(out)


def created(metric):
    """The (name, labels) of a metric's _created samples, and their values."""
    keys, values = [], []
    for fam in metric.collect():
        for s in fam.samples:
            if s.name.endswith("_created"):
                keys.append((s.name, tuple(sorted(s.labels.items()))))
                values.append(s.value)
    return sorted(keys), values


def side_by_side(registry, build):
    """Run build(module, registry) on both libraries; the two results."""
    return [build(*make(which, registry)) for which in MODULES]


def raises_alike(registry, call, exc=ValueError):
    """call(module, registry) raises `exc` in both libraries; the messages."""
    messages = []
    for which in MODULES:
        mod, reg = make(which, registry)
        with pytest.raises(exc) as e:
            call(mod, reg)
        messages.append(str(e.value))
    return messages


# ---------------------------------------------------------------- Counter


def test_counter_increment_and_created(registry):
    def build(mod, reg):
        c = mod.Counter("c_total", "help", registry=reg)
        c.inc()
        c.inc(7)
        return c

    ours_theirs = side_by_side(registry, build)
    assert plain(ours_theirs[0]) == plain(ours_theirs[1]) == [("c_total", (), 8.0)]
    theirs, ours = (created(m) for m in ours_theirs)
    assert theirs[0] == ours[0] == [("c_created", ())]
    assert 0 < ours[1][0] <= time.time()


def test_counter_negative_increment_raises(registry):
    raises_alike(registry, lambda mod, reg: mod.Counter("c", "help", registry=reg).inc(-1))
    c = shmetrics.Counter("c", "help", registry=registry)
    with pytest.raises(ValueError):
        c.inc(-1)
    assert c.get() == 0.0


def test_counter_repr_and_str(registry):
    for which in MODULES:
        mod, reg = make(which, registry)
        c = mod.Counter("c_total", "help", registry=reg)
        assert repr(c) == f"{mod.__name__}.metrics.Counter(c)"
        assert str(c) == "counter:c"


def test_counter_clear_without_labels_is_noop(registry):
    # client_python's test_clear_without_labels_is_noop (Debian's 0.16 raises AttributeError there).
    c = shmetrics.Counter("c", "help", registry=registry)
    c.inc(3)
    c.clear()
    assert plain(c) == [("c_total", (), 3.0)]


def test_not_observable_metrics_raise(registry):
    calls = [
        lambda mod, reg: mod.Counter("c", "help", ["l"], registry=reg).inc(),
        lambda mod, reg: mod.Counter("c", "help", ["l"], registry=reg).count_exceptions(),
        lambda mod, reg: mod.Gauge("g", "help", ["l"], registry=reg).inc(),
        lambda mod, reg: mod.Gauge("g", "help", ["l"], registry=reg).dec(),
        lambda mod, reg: mod.Gauge("g", "help", ["l"], registry=reg).set(1),
        lambda mod, reg: mod.Gauge("g", "help", ["l"], registry=reg).track_inprogress(),
        lambda mod, reg: mod.Summary("s", "help", ["l"], registry=reg).observe(1),
        lambda mod, reg: mod.Histogram("h", "help", ["l"], registry=reg).observe(1),
        lambda mod, reg: mod.Enum("e", "help", ["l"], states=["a"], registry=reg).state("a"),
    ]
    for call in calls:
        theirs, ours = raises_alike(registry, call)
        assert theirs == ours and theirs.endswith("metric is missing label values")


def test_counter_reset(registry):
    # prometheus_client 0.17+: reset() sets the value to 0 and the creation time to now.
    c = shmetrics.Counter("c", "help", ["l"], registry=registry)
    child = c.labels("a")
    child.inc(5)
    before = created(c)[1][0]
    child.reset()
    assert plain(c) == [("c_total", (("l", "a"),), 0.0)]
    assert created(c)[1][0] >= before
    child.inc(2)  # the same child object keeps counting
    assert plain(c) == [("c_total", (("l", "a"),), 2.0)]
    u = shmetrics.Counter("u", "help", registry=registry)
    u.inc(4)
    u.reset()
    u.inc()
    assert u.get() == 1.0
    with pytest.raises(ValueError, match="missing label values"):
        c.reset()


def test_counter_exemplars(registry):
    def build(mod, reg):
        c = mod.Counter("c", "help", registry=reg)
        c.inc(2, exemplar={"trace_id": "abc"})
        return c

    theirs, ours = side_by_side(registry, build)
    t = theirs.collect()[0].samples[0].exemplar
    o = ours.collect()[0].samples[0].exemplar
    assert (t.labels, t.value) == (o.labels, o.value) == ({"trace_id": "abc"}, 2)
    assert isinstance(o, shmetrics.Exemplar) and 0 < o.timestamp <= time.time() + 1


def test_exemplar_invalid_label_names_and_length(registry):
    too_long = {"a": "x" * 64, "b": "y" * 63}  # 129 characters in all
    for bad in ({":o)": "smile"}, {"1": "number"}, {"__r": "x"}, too_long):
        raises_alike(registry, lambda mod, reg, bad=bad: mod.Counter("c", "h", registry=reg).inc(exemplar=bad))
        raises_alike(registry, lambda mod, reg, bad=bad: mod.Histogram("h", "h", registry=reg).observe(1, bad))
    exactly = {"a": "x" * 64, "b": "y" * 62}  # 128: accepted by both
    for which in MODULES:
        mod, reg = make(which, registry)
        c = mod.Counter("e", "h", registry=reg)
        c.inc(exemplar=exactly)
        assert c.collect()[0].samples[0].exemplar.labels == exactly


def test_exemplar_unicode_characters_are_counted_as_characters(registry):
    # Characters, not bytes: 60 + 4 + 64 = 128 characters are within the limit.
    ex = {"a" * 60: "あ" * 4, "b": "x" * 63}
    for which in MODULES:
        mod, reg = make(which, registry)
        mod.Counter("c", "h", registry=reg).inc(exemplar=ex)


def test_exemplars_in_the_openmetrics_exposition(registry):
    # What prometheus_client's OpenMetrics exposition shows, shmetrics' shows.
    from prometheus_client.openmetrics.exposition import generate_latest as om_latest
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

    texts = []
    for which in MODULES:
        mod, reg = make(which, registry)
        mod.Counter("req", "h", registry=reg).inc(3, exemplar={"trace_id": "t1"})
        mod.Histogram("lat", "h", registry=reg, buckets=[1, 2]).observe(1.5, {"trace_id": "t2"})
        texts.append(om_latest(reg) if which == "prometheus_client" else reg.expose("openmetrics"))
    found = []
    for text in texts:
        ex = {}
        for fam in om_parse(text.decode()):
            for s in fam.samples:
                if s.exemplar:
                    ex[(s.name, tuple(sorted(s.labels.items())))] = (s.exemplar.labels, s.exemplar.value)
        found.append(ex)
    assert found[0] == found[1] == {
        ("req_total", ()): ({"trace_id": "t1"}, 3.0),
        ("lat_bucket", (("le", "2.0"),)): ({"trace_id": "t2"}, 1.5),
    }


# ------------------------------------------------------------------ Gauge


def test_gauge_methods(registry):
    def build(mod, reg):
        g = mod.Gauge("g", "help", registry=reg, multiprocess_mode="livesum")
        g.inc()
        g.inc(2)
        g.dec()
        return g

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours) == [("g", (), 2.0)]
    ours.set(9)
    assert plain(ours) == [("g", (), 9.0)]
    before = time.time()
    ours.set_to_current_time()
    assert before <= ours.get() <= time.time()


def test_gauge_modes(registry):
    for mode in ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent",
                 "livemostrecent"):
        g = shmetrics.Gauge(f"g_{mode}", "help", registry=registry, multiprocess_mode=mode)
        assert g._multiprocess_mode == mode
    for which in MODULES:
        mod, reg = make(which, registry)
        with pytest.raises(ValueError, match="Invalid multiprocess mode: nonsense"):
            mod.Gauge("g_bad", "help", registry=reg, multiprocess_mode="nonsense")


def test_mostrecent_gauges_are_only_set(registry):
    # prometheus_client 0.17+: inc() and dec() of a mostrecent gauge raise RuntimeError.
    for mode in ("mostrecent", "livemostrecent"):
        g = shmetrics.Gauge(f"g_{mode}", "help", ["l"], registry=registry, multiprocess_mode=mode)
        child = g.labels("a")
        child.set(4)
        for method in (child.inc, child.dec, g.inc):
            with pytest.raises(RuntimeError, match="must not be used with the mostrecent mode"):
                method()
        with pytest.raises(RuntimeError):
            with child.track_inprogress():
                pass
        assert child.get() == 4.0
    # So are the mostrecent gauges of the ready-made sets.
    from shmetrics.sets import register_vllm

    waiting = register_vllm(registry=registry).num_requests_waiting.labels("m", "0")
    waiting.set(3)
    with pytest.raises(RuntimeError, match="inc must not be used with the mostrecent mode"):
        waiting.inc()


def test_gauge_track_inprogress_and_time(registry):
    for which in MODULES:
        mod, reg = make(which, registry)
        g = mod.Gauge("g", "help", registry=reg, multiprocess_mode="livesum")
        with g.track_inprogress():
            assert plain(g) == [("g", (), 1.0)]
        assert plain(g) == [("g", (), 0.0)]

        @g.track_inprogress()
        def f():
            assert plain(g) == [("g", (), 1.0)]

        f()
        assert plain(g) == [("g", (), 0.0)]
        with g.time():
            pass
        assert plain(g)[0][2] >= 0


# -------------------------------------------------------- Summary, Histogram


def test_summary(registry):
    def build(mod, reg):
        extra = {"quantiles": ()} if mod is shmetrics else {}
        s = mod.Summary("s", "help", ["l"], registry=reg, **extra)
        s.labels("a").observe(10)
        s.labels("a").observe(2.5)
        return s

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours) == [("s_count", (("l", "a"),), 2.0), ("s_sum", (("l", "a"),), 12.5)]
    assert created(theirs)[0] == created(ours)[0] == [("s_created", (("l", "a"),))]


def test_histogram(registry):
    def build(mod, reg):
        h = mod.Histogram("h", "help", registry=reg)
        for v in (2, 2.5, 4.5, float("inf")):
            h.observe(v)
        return h

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours)
    assert ("h_bucket", (("le", "2.5"),), 2.0) in plain(ours)
    assert ("h_count", (), 4.0) in plain(ours)
    assert created(theirs)[0] == created(ours)[0] == [("h_created", ())]


def test_histogram_buckets(registry):
    def build(mod, reg):
        h = mod.Histogram("h", "help", registry=reg, buckets=[0, 1, 2])
        h.observe(1)
        return h

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours)
    assert ours._upper_bounds == theirs._upper_bounds == [0.0, 1.0, 2.0, math.inf]
    for buckets in ([], [float("inf")], [3, 1]):
        raises_alike(registry, lambda mod, reg, b=buckets: mod.Histogram("hb", "help", registry=reg, buckets=b))


def test_reserved_label_names(registry):
    raises_alike(registry, lambda mod, reg: mod.Histogram("h", "help", registry=reg, labelnames=["le"]))
    raises_alike(registry, lambda mod, reg: mod.Summary("s", "help", registry=reg, labelnames=["quantile"]))
    raises_alike(registry, lambda mod, reg: mod.Counter("c", "help", registry=reg, labelnames=["__reserved"]))
    raises_alike(registry, lambda mod, reg: mod.Counter("c", "help", registry=reg, labelnames=["^"]))
    raises_alike(registry, lambda mod, reg: mod.Counter("c", "help", registry=reg, labelnames=["a:b"]))


def test_invalid_names(registry):
    raises_alike(registry, lambda mod, reg: mod.Counter("", "help", registry=reg))
    raises_alike(registry, lambda mod, reg: mod.Counter("^", "help", registry=reg))
    raises_alike(registry, lambda mod, reg: mod.Counter("", "help", namespace="&", registry=reg))
    raises_alike(registry, lambda mod, reg: mod.Counter("", "help", subsystem="(", registry=reg))


def test_names_and_units(registry):
    for which in MODULES:
        mod, reg = make(which, registry)
        assert mod.Counter("c_total", "h", namespace="a", subsystem="b", registry=reg)._name == "a_b_c"
        assert mod.Gauge("g", "h", unit="seconds", registry=reg)._name == "g_seconds"
        assert mod.Gauge("g2_seconds", "h", unit="seconds", registry=reg)._name == "g2_seconds"
        assert mod.Counter("c2_total", "h", unit="bytes", registry=reg)._name == "c2_bytes"
    raises_alike(registry, lambda mod, reg: mod.Info("foo", "help", unit="x", registry=reg))
    raises_alike(registry, lambda mod, reg: mod.Enum("foo", "help", unit="x", states=["a"], registry=reg))


# ------------------------------------------------------------- Info, Enum


def test_info(registry):
    def build(mod, reg):
        i = mod.Info("i", "help", ["l"], registry=reg)
        i.labels("a").info({"version": "1.2.3", "host": "h"})
        return i

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours) == [("i_info", (("host", "h"), ("l", "a"), ("version", "1.2.3")), 1.0)]
    raises_alike(registry, lambda mod, reg: mod.Info("i", "help", ["l"], registry=reg).labels("a").info({"l": ""}))
    # A None value: ValueError, as in prometheus_client 0.17+ (Debian's 0.16 takes it); another
    # value that is not a str: TypeError.
    with pytest.raises(ValueError, match="Label value cannot be None"):
        shmetrics.Info("i2", "h", ["il"], registry=registry).labels("a").info({"v": None})
    with pytest.raises(TypeError, match="an info value must be a str, not int"):
        shmetrics.Info("i3", "h", registry=registry).info({"v": 1})


def test_enum(registry):
    def build(mod, reg):
        e = mod.Enum("e", "help", states=["a", "b", "c"], registry=reg)
        e.state("b")
        return e

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours) == [("e", (("e", "a"),), 0.0), ("e", (("e", "b"),), 1.0),
                                            ("e", (("e", "c"),), 0.0)]
    raises_alike(registry, lambda mod, reg: mod.Enum("e2", "h", states=["a"], registry=reg).state("d"))
    raises_alike(registry, lambda mod, reg: mod.Enum("e3", "h", registry=reg))
    raises_alike(registry, lambda mod, reg: mod.Enum("e4", "h", ["e4"], states=["a"], registry=reg))

    def labelled(mod, reg):
        e = mod.Enum("el", "help", ["l"], states=["a", "b"], registry=reg)
        e.labels("x")
        return e

    theirs, ours = side_by_side(registry, labelled)
    assert plain(theirs) == plain(ours) == [("el", (("el", "a"), ("l", "x")), 1.0), ("el", (("el", "b"), ("l", "x")), 0.0)]


def test_failed_init_does_not_pollute_the_registry(registry):
    with pytest.raises(ValueError):
        shmetrics.Enum("e", "h", ["e"], states=["a"], registry=registry)
    with pytest.raises(ValueError):
        shmetrics.Enum("e", "h", registry=registry)
    shmetrics.Enum("e", "h", states=["a"], registry=registry).state("a")  # the name is free


# ------------------------------------------------------------ labels, children


def test_children_remove_and_clear(registry):
    def build(mod, reg):
        c = mod.Counter("c", "help", ["l"], registry=reg)
        c.labels("x").inc()
        c.labels("y").inc(2)
        c.labels(l="z").inc(3)
        c.remove("y")
        return c

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours) == [("c_total", (("l", "x"),), 1.0), ("c_total", (("l", "z"),), 3.0)]
    for m in (theirs, ours):
        m.clear()
    assert plain(theirs) == plain(ours) == []


def test_label_count_and_kwargs_errors(registry):
    def two(mod, reg):
        return mod.Counter("two", "h", ["a", "b"], registry=reg)

    cases = [
        lambda m: m.labels(),
        lambda m: m.labels("x"),
        lambda m: m.labels("x", "y", "z"),
        lambda m: m.labels(a="x"),
        lambda m: m.labels(a="x", b="y", c="z"),
        lambda m: m.labels(b="y", c="z"),
        lambda m: m.labels({"a": "x"}, b="y"),
        lambda m: m.remove(),
        lambda m: m.remove("x", "y", "z"),
        lambda m: m.labels("x", "y").labels("p", "q"),
    ]
    for case in cases:
        theirs, ours = raises_alike(registry, lambda mod, reg, case=case: case(two(mod, reg)))
        for words in ("Incorrect label count", "Incorrect label names", "Can't pass both", "already has labels set"):
            if theirs.startswith(words):
                assert ours.startswith(words), (theirs, ours)
    theirs, ours = raises_alike(registry, lambda mod, reg: mod.Counter("nl", "h", registry=reg).labels("x"))
    assert theirs == "No label names were set when constructing counter:nl" and ours.startswith(theirs)


def test_labels_coerced_to_str_and_the_same_child(registry):
    for which in MODULES:
        mod, reg = make(which, registry)
        c = mod.Counter("c", "help", ["l"], registry=reg)
        assert c.labels(1) is c.labels("1") is c.labels(l=1)
        c.labels(None).inc()
        assert plain(c) == [("c_total", (("l", "1"),), 0.0), ("c_total", (("l", "None"),), 1.0)]


def test_a_label_value_whose_str_raises(registry):
    class Bad:
        def __str__(self):
            raise TypeError("no str")

    raises_alike(registry, lambda mod, reg: mod.Counter("c", "h", ["l"], registry=reg).labels(Bad()), TypeError)
    raises_alike(registry, lambda mod, reg: mod.Counter("c", "h", ["l"], registry=reg).labels(l=Bad()), TypeError)


def test_empty_labels_list(registry):
    def build(mod, reg):
        h = mod.Histogram("h", "help", [], registry=reg)
        h.observe(1)
        return h

    theirs, ours = side_by_side(registry, build)
    assert plain(theirs) == plain(ours)


def test_remove_by_labels(registry):
    # prometheus_client 0.23+: remove every series whose labels match part of a label set.
    c = shmetrics.Counter("c", "help", ["method", "code"], registry=registry)
    for m, code in (("GET", "200"), ("GET", "500"), ("POST", "200")):
        c.labels(m, code).inc()
    c.remove_by_labels({"method": "GET"})
    assert plain(c) == [("c_total", (("code", "200"), ("method", "POST")), 1.0)]
    c.remove_by_labels({})  # nothing
    c.remove_by_labels({"code": 200})  # values through str()
    assert plain(c) == []
    with pytest.raises(ValueError, match=r"Unknown label names: \['nope'\]"):
        c.remove_by_labels({"nope": "x"})
    with pytest.raises(TypeError, match="labels must be a dict"):
        c.remove_by_labels([("method", "GET")])
    with pytest.raises(ValueError, match="No label names were set when constructing counter:u"):
        shmetrics.Counter("u", "h", registry=registry).remove_by_labels({"a": "b"})
    with pytest.raises(ValueError, match="is a child"):
        c.labels("GET", "1").remove_by_labels({"method": "GET"})


def test_describe_and_collect_shapes(registry):
    theirs, ours = side_by_side(registry, lambda mod, reg: mod.Histogram("h", "help", ["l"], unit="seconds",
                                                                          registry=reg))
    for fam_t, fam_o in zip(theirs.describe(), ours.describe()):
        assert (fam_t.name, fam_t.documentation, fam_t.type, fam_t.unit, fam_t.samples) == (
            fam_o.name, fam_o.documentation, fam_o.type, fam_o.unit, fam_o.samples)
    assert [(f.name, f.type, f.samples) for f in theirs.collect()] == [(f.name, f.type, f.samples)
                                                                        for f in ours.collect()]


def test_disable_created_in_collect(registry, monkeypatch):
    c = shmetrics.Counter("c", "help", registry=registry)
    c.inc()
    assert created(c)[0] == [("c_created", ())]
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "True")
    assert created(c)[0] == []
    assert plain(c) == [("c_total", (), 1.0)]


def test_timer_duration(registry):
    # prometheus_client 0.23+: the Timer keeps the seconds it measured.
    s = shmetrics.Summary("s", "h", registry=registry, quantiles=())
    with s.time() as t:
        assert t.duration is None
    assert t.duration >= 0
    assert [x.value for x in s.collect()[0].samples if x.name == "s_sum"] == [t.duration]


def test_attributes_programs_read(registry):
    # The attributes prometheus_client's metrics have and programs read (vLLM copies metrics
    # from _original_name, _kwargs and the like).
    for which in MODULES:
        mod, reg = make(which, registry)
        h = mod.Histogram("lat", "Latency.", ["route"], namespace="app", unit="seconds", buckets=[1, 2],
                          registry=reg)
        child = h.labels("/a")
        assert (h._name, h._unit) == ("app_lat_seconds", "seconds")
        if mod is shmetrics:  # prometheus_client 0.17+ (not Debian's 0.16)
            assert (h._original_name, h._namespace, h._subsystem) == ("lat", "app", "")
        assert (h._labelnames, h._labelvalues, child._labelvalues) == (("route",), (), ("/a",))
        assert h._kwargs == {"buckets": [1, 2]} and h._documentation == "Latency." and h._type == "histogram"
        assert (bool(h._is_parent()), bool(h._is_observable()), bool(child._is_observable())) == (True, False, True)
        assert child._upper_bounds == [1.0, 2.0, math.inf]
        g = mod.Gauge("g", "h", registry=reg, multiprocess_mode="max")
        assert g._kwargs == {"multiprocess_mode": "max"} and g._is_observable() and not g._is_parent()
        e = mod.Enum("st", "h", states=["a", "b"], registry=reg)
        assert e._kwargs == {"states": ["a", "b"]}


def test_reset_of_a_closed_registry(arena_path):
    reg = shmetrics.Registry(arena_path)
    c = shmetrics.Counter("c", "h", registry=reg)
    reg.close(unlink=True)
    with pytest.raises(ValueError, match="the registry is closed"):
        c.reset()


def test_hot_methods_stay_the_extension_s(registry):
    # No Python frame on a hot call: the update methods, labels() and reset() are C methods of the
    # extension's base types, not overridden by the Python classes.
    import types

    hot = {
        shmetrics.Counter: ("inc", "labels", "reset", "get"),
        shmetrics.Gauge: ("inc", "dec", "set", "set_to_current_time", "labels"),
        shmetrics.Histogram: ("observe", "labels"),
        shmetrics.Summary: ("observe", "labels"),
        shmetrics.Info: ("info", "labels"),
        shmetrics.Enum: ("state", "labels"),
    }
    for cls, names in hot.items():
        for n in names:
            assert isinstance(getattr(cls, n), types.MethodDescriptorType), (cls, n)
    child = shmetrics.Counter("c", "h", ["l"], registry=registry).labels("a")
    assert isinstance(child.inc, types.BuiltinMethodType)
