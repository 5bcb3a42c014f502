# SPDX-License-Identifier: MIT
"""Exemplars from Python: Counter.inc(exemplar=) and
Histogram.observe(exemplar=) store them through the library, the
OpenMetrics exposition shows the same exemplars as prometheus_client's
own registry after the same calls, and a refused exemplar raises
prometheus_client's exception with its message before anything is
counted."""

import time

import pytest

import prometheus_client
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

import shmetrics
from conftest import new_arena_path

BUCKETS = [0.1, 0.5, 1, float("inf")]


def calls(mod, registry):
    c = mod.Counter("jobs", "Jobs.", ["queue"], registry=registry)
    h = mod.Histogram("lat_seconds", "Latency.", registry=registry, buckets=BUCKETS)
    c.labels("a").inc(exemplar={"trace_id": "t1"})
    c.labels("a").inc(2, exemplar={"trace_id": "t2", "span_id": "s2"})  # the last one wins
    c.labels("b").inc(0.25, exemplar={"trace_id": "\u00e9t\u00e9"})
    c.labels("b").inc(3)  # no exemplar: b keeps its exemplar
    c.labels("c").inc(exemplar={})  # an empty dict is no exemplar
    h.observe(0.0625, exemplar={"trace_id": "h1"})  # sums exact in binary
    h.observe(0.078125, exemplar={"trace_id": "h2"})
    h.observe(0.25)
    h.observe(amount=0.75, exemplar={"trace_id": "h3"})
    h.observe(5, exemplar=None)
    h.observe(7, {"trace_id": "h4"})  # by position


def exemplars(body):
    """{(sample name, labels): (exemplar labels, exemplar value, value)}."""
    out = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            if s.name.endswith("_created"):
                continue
            ex = (s.exemplar.labels, s.exemplar.value) if s.exemplar else None
            out[(s.name, tuple(sorted(s.labels.items())))] = (ex, s.value)
    return out


def test_openmetrics_exemplars_match_prometheus_client(registry):
    calls(shmetrics, registry)
    pc = prometheus_client.CollectorRegistry()
    calls(prometheus_client, pc)
    ours = exemplars(registry.expose("openmetrics").decode())
    theirs = exemplars(om_generate_latest(pc).decode())
    assert ours == theirs
    assert ours[("jobs_total", (("queue", "a"),))] == (({"trace_id": "t2", "span_id": "s2"}, 2.0), 3.0)
    assert ours[("jobs_total", (("queue", "b"),))] == (({"trace_id": "\u00e9t\u00e9"}, 0.25), 3.25)
    assert ours[("jobs_total", (("queue", "c"),))] == (None, 1.0)
    assert ours[("lat_seconds_bucket", (("le", "0.1"),))] == (({"trace_id": "h2"}, 0.078125), 2.0)
    assert ours[("lat_seconds_bucket", (("le", "0.5"),))] == (None, 3.0)
    assert ours[("lat_seconds_bucket", (("le", "1.0"),))] == (({"trace_id": "h3"}, 0.75), 4.0)
    assert ours[("lat_seconds_bucket", (("le", "+Inf"),))] == (({"trace_id": "h4"}, 7.0), 6.0)
    assert ours[("lat_seconds_sum", ())] == (None, 13.140625)


def test_exemplar_timestamps_are_now(registry):
    c = shmetrics.Counter("c", "C.", registry=registry)
    before = time.time()
    c.inc(exemplar={"trace_id": "x"})
    after = time.time()
    (fam,) = [f for f in text_string_to_metric_families(registry.expose("openmetrics").decode()) if f.name == "c"]
    t = fam.samples[0].exemplar.timestamp
    ts = t.sec + t.nsec / 1e9
    assert before - 0.01 <= ts <= after + 0.01


def test_whole_amounts_stay_exact_with_an_exemplar(registry):
    c = shmetrics.Counter("big", "B.", registry=registry)
    c.inc(2**53 + 1, exemplar={"t": "1"})
    c.inc(True, exemplar={"t": "2"})
    assert registry.get_sample_value("big_total") == float(2**53 + 2)
    c.inc(2**63 + 3, exemplar={"t": "3"})  # above a long long: still the integer add
    assert c.get() == float(2**53 + 2 + 2**63 + 3)


@pytest.mark.parametrize(
    "exemplar, exc, message",
    [
        ({"trace-id": "a"}, ValueError, "Invalid label metric name: trace-id"),
        ({"1a": "a"}, ValueError, "Invalid label metric name: 1a"),
        ({"": "a"}, ValueError, "Invalid label metric name: "),
        ({"__a": "a"}, ValueError, "Reserved label metric name: __a"),
        ({"a": "x" * 128}, ValueError, "Exemplar labels have 129 UTF-8 characters, exceeding the limit of 128"),
        ({"ab": "\u00e9" * 64, "c": "d" * 63}, ValueError,
         "Exemplar labels have 130 UTF-8 characters, exceeding the limit of 128"),
        ({"a": "x\0y"}, ValueError, "an exemplar label value contains a NUL character"),
        ({"a": 1}, TypeError, "exemplar label names and values must be str, not int"),
        ({1: "a"}, TypeError, "exemplar label names and values must be str, not int"),
        ([("a", "b")], TypeError, "exemplar must be a dict of str to str, not list"),
    ],
)
def test_refused_exemplars_count_nothing(registry, exemplar, exc, message):
    c = shmetrics.Counter("c", "C.", registry=registry)
    h = shmetrics.Histogram("h", "H.", registry=registry, buckets=BUCKETS)
    for call in (lambda: c.inc(exemplar=exemplar), lambda: c.inc(2, exemplar=exemplar),
                 lambda: c.inc(0.5, exemplar=exemplar), lambda: h.observe(0.2, exemplar=exemplar)):
        with pytest.raises(exc) as e:
            call()
        assert str(e.value) == message
    assert c.get() == 0
    assert registry.get_sample_value("h_count") == 0
    assert registry.get_sample_value("h_sum") == 0
    assert " # {" not in registry.expose("openmetrics").decode()


def test_exemplar_of_exactly_128_characters_is_kept(registry):
    c = shmetrics.Counter("c", "C.", registry=registry)
    c.inc(exemplar={"a": "\u00e9" * 127})
    (fam,) = [f for f in text_string_to_metric_families(registry.expose("openmetrics").decode()) if f.name == "c"]
    assert fam.samples[0].exemplar.labels == {"a": "\u00e9" * 127}


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c, h: c.inc(-1, exemplar={"a": "b"}), "counter increment: -1 is negative; the value is unchanged"),
        (lambda c, h: c.inc(float("inf"), exemplar={"a": "b"}),
         "counter increment: inf is infinite; the value is unchanged"),
        (lambda c, h: h.observe(float("nan"), exemplar={"a": "b"}),
         "histogram observation with an exemplar: nan is not a number; nothing is observed"),
        (lambda c, h: h.observe(float("inf"), exemplar={"a": "b"}),
         "histogram observation with an exemplar: inf is infinite; nothing is observed"),
    ],
)
def test_refused_amounts_with_an_exemplar(registry, call, message):
    c = shmetrics.Counter("c", "C.", registry=registry)
    h = shmetrics.Histogram("h", "H.", registry=registry, buckets=BUCKETS)
    with pytest.raises(ValueError) as e:
        call(c, h)
    assert str(e.value) == message
    assert c.get() == 0
    assert registry.get_sample_value("h_count") == 0


def test_full_pool_counts_but_raises_enospc():
    path = new_arena_path("exfull")
    reg = shmetrics.Registry(path, cells=512)
    try:
        h = shmetrics.Histogram("h", "H.", registry=reg)
        with pytest.raises(OSError) as e:
            h.observe(0.2, exemplar={"trace_id": "x"})
        assert e.value.errno == 28
        assert e.value.strerror == ("h: exemplar: arena full: the cell pool (4096 bytes) has no room for 8704 more "
                                    "for an exemplar block (create the arena with more --cells)")
        assert reg.get_sample_value("h_sum") == 0.2  # counted all the same
    finally:
        reg.close(unlink=True)


def test_summaries_take_no_exemplar(registry):
    s = shmetrics.Summary("s", "S.", registry=registry)
    with pytest.raises(TypeError) as e:
        s.observe(1, exemplar={"a": "b"})
    assert str(e.value) == "observe() got an unexpected keyword argument 'exemplar'"
