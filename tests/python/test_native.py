# SPDX-License-Identifier: MIT
"""Native histograms from Python: Histogram(native=True | 'both'), merged
across processes, exposed with their buckets in JSON (and protobuf, read
by tests/prometheus_native.py), and the errors of bad arguments."""

import json
import math
import multiprocessing

import pytest

import shmetrics
from conftest import run_processes


def native_of(registry, name):
    for f in json.loads(registry.expose("json")):
        if f["name"] == name:
            for s in f["samples"]:
                if "native" in s:
                    return s["native"]
    return None


def key(v, schema):
    """The bucket a positive value falls in at `schema`: ceil(log2(v) * 2^schema)."""
    return math.ceil(math.log2(v) * 2 ** schema)


def observe_in_child(path, values):
    reg = shmetrics.Registry(path, create=False)
    h = shmetrics.Histogram("work_seconds", "Work.", native=True, registry=reg)
    for v in values:
        h.observe(v)


def test_native_buckets_merged_across_processes(registry, arena_path):
    h = shmetrics.Histogram("work_seconds", "Work.", native=True, registry=registry)
    values = [0.001, 0.01, 0.1, 0.5, 1.0, 3.0, 10.0]
    ctx = multiprocessing.get_context("fork")
    run_processes([ctx.Process(target=observe_in_child, args=(arena_path, values)) for _ in range(4)])
    h.observe(0.0)  # the zero bucket
    n = native_of(registry, "work_seconds")
    assert n["schema"] == 3 and n["count"] == 4 * len(values) + 1 and n["zero_count"] == 1
    assert n["sum"] == pytest.approx(4 * sum(values))
    # JSON lists [bucket index, count] of each populated bucket: every
    # observation in the bucket ceil(log2(v) * 8), 4 each.
    assert dict(n["positive"]) == {key(v, 3): 4 for v in values}
    assert n["negative"] == []
    text = registry.expose("prometheus").decode()
    assert 'work_seconds_count 29\n' in text and 'work_seconds_bucket{le="+Inf"} 29\n' in text


def test_both_keeps_classic_buckets_too(registry):
    h = shmetrics.Histogram("both_seconds", "Both.", buckets=(0.1, 1.0), native="both", registry=registry)
    h.observe(0.5)
    text = registry.expose("prometheus").decode()
    assert 'both_seconds_bucket{le="0.1"} 0\n' in text and 'both_seconds_bucket{le="1.0"} 1\n' in text
    n = native_of(registry, "both_seconds")
    assert n["count"] == 1 and dict(n["positive"]) == {key(0.5, 3): 1}


def test_schema_and_limits(registry):
    h = shmetrics.Histogram("coarse_seconds", "C.", native=True, native_schema=0, native_max_buckets=2,
                            registry=registry)
    for v in (1.5, 3, 6, 12):  # 4 buckets at schema 0: reduced until 2 fit
        h.observe(v)
    n = native_of(registry, "coarse_seconds")
    assert n["count"] == 4 and len(n["positive"]) <= 2 and n["schema"] < 0


def test_bad_arguments(registry):
    with pytest.raises(ValueError) as e:
        shmetrics.Histogram("bad1_seconds", "B.", native="yes", registry=registry)
    assert str(e.value) == "native must be False, True or 'both', not 'yes'"
    with pytest.raises(ValueError) as e:
        shmetrics.Histogram("bad2_seconds", "B.", buckets=(1, 2), native=True, registry=registry)
    assert str(e.value) == "buckets are classic buckets: a native histogram with them is native='both'"
    with pytest.raises(ValueError) as e:
        shmetrics.Histogram("bad3_seconds", "B.", native=True, native_schema=9, registry=registry)
    assert "schema" in str(e.value) and "9" in str(e.value)
    with pytest.raises(ValueError) as e:
        shmetrics.Histogram("bad4_seconds", "B.", native=True, native_zero_threshold=-1, registry=registry)
    assert "zero threshold" in str(e.value) or "zero_threshold" in str(e.value)
    shmetrics.Histogram("same_seconds", "S.", native=True, registry=registry)
    with pytest.raises(ValueError) as e:
        shmetrics.Histogram("same_seconds", "S.", native=True, native_schema=2, registry=registry)
    assert "already registered" in str(e.value)
