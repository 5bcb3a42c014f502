# SPDX-License-Identifier: MIT
"""Info, Enum, units and _created against prometheus_client: the same
metrics made in a prometheus_client registry and in a shmetrics arena give
the same families and samples when their text and OpenMetrics bodies are
read back by prometheus_client's parsers (creation times compared for
presence and plausibility), promtool accepts the text, the errors are
prometheus_client's, and across processes the most recent info() or
state() wins."""

import math
import os
import shutil
import subprocess
import time

import pytest

import shmetrics

from conftest import run_python

prometheus_client = pytest.importorskip("prometheus_client")
om_parser = pytest.importorskip("prometheus_client.openmetrics.parser")
om_exposition = pytest.importorskip("prometheus_client.openmetrics.exposition")
text_parser = pytest.importorskip("prometheus_client.parser")


@pytest.fixture(autouse=True)
def created_shown(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_DISABLE_CREATED_SERIES", raising=False)


def build(mod, registry):
    """The same metrics, through prometheus_client (mod=prometheus_client)
    or shmetrics (mod=shmetrics)."""
    extra = {} if mod is prometheus_client else {"quantiles": ()}
    i = mod.Info("build", "Build info.", registry=registry)
    i.info({"version": "1.2.3", "commit": "abc"})
    j = mod.Info("job", "Job info.", ["env"], registry=registry)
    j.labels("prod").info({"owner": "me"})
    j.labels("dev").info({"owner": "you"})
    j.labels("dev").info({"owner": "them", "team": "x"})  # replaces
    e = mod.Enum("state", "Task state.", states=["starting", "running", "stopped"], registry=registry)
    e.state("running")
    p = mod.Enum("phase", "Phase.", ["task"], states=["a", "b"], registry=registry)
    p.labels("t1").state("b")
    p.labels("t2")
    c = mod.Counter("sent_total", "Bytes sent.", ["peer"], unit="bytes", registry=registry)
    c.labels("a").inc(3)
    c.labels("b").inc(0.5)
    h = mod.Histogram("lat", "Latency.", unit="seconds", buckets=[0.1, 1], registry=registry)
    h.observe(0.05)
    h.observe(2)
    s = mod.Summary("ttft_seconds", "Time to first token.", unit="seconds", registry=registry, **extra)
    s.observe(0.25)


def families(families_iter):
    """{name: (type, help, unit, sorted samples)}, the value of each
    _created sample replaced by the string "created" once checked to be a
    time of this test run."""
    out = {}
    for f in families_iter:
        samples = []
        for s in f.samples:
            v = s.value
            if s.name.endswith("_created"):
                assert START - 1 <= v <= time.time() + 1, f"{s.name} {v} is not a time of this run"
                v = "created"
            samples.append((s.name, tuple(sorted(s.labels.items())), v))
        out[f.name] = (f.type, f.documentation, f.unit, sorted(samples, key=repr))
    return out


START = time.time()


@pytest.fixture
def both(registry):
    global START
    START = time.time()
    ref = prometheus_client.CollectorRegistry()
    build(prometheus_client, ref)
    build(shmetrics, registry)
    return ref, registry


def test_text_parses_as_prometheus_client_s(both):
    ref, reg = both
    want = families(text_parser.text_string_to_metric_families(prometheus_client.generate_latest(ref).decode()))
    got = families(text_parser.text_string_to_metric_families(reg.expose("prometheus").decode()))
    # The one difference, on purpose: prometheus_client (in one process)
    # adds a gauge family name_created after each counter, histogram and
    # summary in 0.0.4; shmetrics does not, as client_golang and
    # prometheus_client's multiprocess mode do not (it would double the
    # series Prometheus stores).  OpenMetrics carries them (below).
    created = {n for n in want if n.endswith("_created")}
    assert created == {"sent_bytes_created", "lat_seconds_created", "ttft_seconds_created"}
    assert got == {n: f for n, f in want.items() if n not in created}
    # The families the comparison covered: info as gauges named _info.
    assert want["build_info"][0] == "gauge" and want["state"][0] == "gauge"


def test_openmetrics_parses_as_prometheus_client_s(both):
    ref, reg = both
    want = families(om_parser.text_string_to_metric_families(om_exposition.generate_latest(ref).decode()))
    body = reg.expose("openmetrics").decode()
    got = families(om_parser.text_string_to_metric_families(body))
    assert got == want
    assert want["build"][0] == "info" and want["state"][0] == "stateset"
    assert want["sent_bytes"][2] == "bytes" and want["lat_seconds"][2] == "seconds"
    assert "# TYPE sent_bytes counter\n# UNIT sent_bytes bytes\n" in body
    assert ('job_info{env="dev",owner="them",team="x"} 1\n' in body
            and 'job_info{env="dev",owner="you"}' not in body), "the last info() replaced the first"


def test_promtool_accepts_the_text(both):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is not installed")
    _, reg = both
    p = subprocess.run([promtool, "check", "metrics"], input=reg.expose("prometheus"), capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()


def test_disable_created_metrics(both):
    ref, reg = both
    shmetrics.disable_created_metrics()
    try:
        for fmt in ("prometheus", "openmetrics"):
            assert b"_created" not in reg.expose(fmt)
    finally:
        shmetrics.enable_created_metrics()
    assert b"sent_bytes_created{" in reg.expose("openmetrics")


def test_units_stored_and_named_as_prometheus_client_names_them(registry):
    c = shmetrics.Counter("requests_total", "R.", unit="bytes", registry=registry)
    g = shmetrics.Gauge("latency_seconds", "L.", unit="seconds", registry=registry, multiprocess_mode="max")
    assert c._name == prometheus_client.Counter("requests_total", "R.", unit="bytes", registry=None)._name
    assert (c._name, g._name) == ("requests_bytes", "latency_seconds")
    units = {m.name: m.unit for m in registry.collect()}
    assert units == {"requests_bytes": "bytes", "latency_seconds": "seconds"}


def test_errors_are_prometheus_client_s(registry):
    with pytest.raises(ValueError, match="No states provided for Enum metric: state"):
        shmetrics.Enum("state", "S.", registry=registry)
    with pytest.raises(ValueError, match="Overlapping labels for Enum metric: state"):
        shmetrics.Enum("state", "S.", ["state"], states=["a"], registry=registry)
    with pytest.raises(ValueError, match="an enum metric cannot have a unit"):
        shmetrics.Enum("state", "S.", unit="seconds", states=["a"], registry=registry)
    with pytest.raises(ValueError, match="an info metric cannot have a unit"):
        shmetrics.Info("build", "B.", unit="bytes", registry=registry)
    e = shmetrics.Enum("state", "S.", states=["a", "b"], registry=registry)
    with pytest.raises(ValueError) as err:
        e.state("c")
    assert str(err.value) == "enum state has no state 'c' (its states: a, b); the state is unchanged"
    i = shmetrics.Info("job", "J.", ["env"], registry=registry)
    i.labels("prod").info({"owner": "me"})
    with pytest.raises(ValueError) as err:
        i.labels("prod").info({"env": "x"})
    assert str(err.value) == 'info job: overlapping labels: "env" is a label name of the metric'
    with pytest.raises(TypeError):
        i.labels("prod").info([("owner", "x")])
    with pytest.raises(ValueError, match="missing label values"):
        i.info({"owner": "x"})
    assert registry.get_sample_value("job_info", {"env": "prod", "owner": "me"}) == 1.0, "nothing changed"
    assert registry.get_sample_value("state", {"state": "a"}) == 1.0, "a new enum is in its first state"


SET_IN_CHILD = """
import shmetrics, sys
r = shmetrics.Registry(sys.argv[1] if len(sys.argv) > 1 else {path!r})
e = shmetrics.Enum("state", "S.", states=["a", "b", "c"], registry=r)
i = shmetrics.Info("build", "B.", registry=r)
{action}
r.close()
"""


def test_the_most_recent_state_and_info_win_across_processes(registry, arena_path):
    e = shmetrics.Enum("state", "S.", states=["a", "b", "c"], registry=registry)
    i = shmetrics.Info("build", "B.", registry=registry)

    def child(action):
        p = run_python(SET_IN_CHILD.format(path=arena_path, action=action))
        assert p.returncode == 0, p.stderr

    child("e.state('b'); i.info({'version': '1'})")
    assert registry.get_sample_value("state", {"state": "b"}) == 1.0
    assert registry.get_sample_value("build_info", {"version": "1"}) == 1.0
    child("pass")  # a process that only registers changes nothing
    assert registry.get_sample_value("state", {"state": "b"}) == 1.0
    e.state("c")
    i.info({"version": "2"})
    assert registry.get_sample_value("state", {"state": "c"}) == 1.0
    assert registry.get_sample_value("state", {"state": "b"}) == 0.0
    assert registry.get_sample_value("build_info", {"version": "2"}) == 1.0
    assert registry.get_sample_value("build_info", {"version": "1"}) is None
    child("e.state('a'); i.info({'version': '1'})")
    assert registry.get_sample_value("state", {"state": "a"}) == 1.0
    assert registry.get_sample_value("build_info", {"version": "1"}) == 1.0, "an older value set, set again, wins"
    assert registry.get_sample_value("build_info", {"version": "2"}) is None



def test_created_and_exemplar_times_are_time_time_s(monkeypatch):
    """A program's test that replaces time.time fixes the _created samples
    and the exemplars' times, as it does with prometheus_client: the
    OpenMetrics bodies are then the same, byte for byte."""
    from shmetrics import prometheus_client as compat
    from shmetrics.prometheus_client.openmetrics import exposition as compat_om

    monkeypatch.setattr(time, "time", lambda: 123.456)

    def make(mod, reg):
        c = mod.Counter("cc", "A counter", ["a"], registry=reg)
        c.labels("x").inc(2, exemplar={"trace_id": "abc"})
        h = mod.Histogram("hh", "A histogram", buckets=[1, 2], registry=reg)
        h.observe(1.5, exemplar={"trace_id": "def"})
        return c

    ref, reg = prometheus_client.CollectorRegistry(), compat.CollectorRegistry()
    theirs, ours = make(prometheus_client, ref), make(compat, reg)
    want = om_exposition.generate_latest(ref).decode()
    assert 'cc_created{a="x"} 123.456\n' in want and '# {trace_id="abc"} 2.0 123.456\n' in want, want
    assert compat_om.generate_latest(reg).decode() == want

    # A new label set, and a reset (Debian's prometheus_client has no
    # Counter.reset): the time of the call.
    monkeypatch.setattr(time, "time", lambda: 1700000000.25)
    for c in (theirs, ours):
        c.labels("y").inc()
    want = om_exposition.generate_latest(ref).decode()
    assert 'cc_created{a="y"} 1.70000000025e+09\n' in want, want
    assert compat_om.generate_latest(reg).decode() == want
    monkeypatch.setattr(time, "time", lambda: 1700000001.5)
    ours.labels("x").reset()
    assert 'cc_created{a="x"} 1.7000000015e+09\n' in compat_om.generate_latest(reg).decode()

    # A time.time that fails or gives no time: the library's own clock.
    def broken():
        raise RuntimeError("no clock")

    for n, clock in enumerate((broken, lambda: float("nan"), lambda: "soon", lambda: -5.0)):
        monkeypatch.setattr(time, "time", clock)
        before = time.clock_gettime(time.CLOCK_REALTIME)
        ours.labels("z%d" % n).inc()
        after = time.clock_gettime(time.CLOCK_REALTIME)
        created = [s.value for m in ours.collect() for s in m.samples
                   if s.name == "cc_created" and s.labels["a"] == "z%d" % n]
        assert len(created) == 1 and before - 0.001 <= created[0] <= after + 0.001, (n, created, before, after)
