# SPDX-License-Identifier: MIT
"""Sampled counters from Python (Counter.sampled): exact totals however
the interpreter ends - the end of the script, sys.exit, an uncaught
exception, close() of the registry, the default registry - with the
main thread, a joined thread and a daemon thread still blocked at exit
counting; os._exit loses exactly what was pending; bad input."""

import textwrap

import pytest

import shmetrics
from conftest import run_python

# Each child: the main thread counts 15 calls at rate 0.1 on one series;
# a joined thread counts 1,234 at 0.1 on another; a daemon thread counts
# 1,234 at 0.01 on a third, then blocks until the interpreter exits.
CHILD = textwrap.dedent("""
    import os, sys, threading
    import shmetrics
    reg = {registry}
    c = shmetrics.Counter("sampled_calls_total", "Calls.", ["who"], registry=reg)
    main = c.labels("main").sampled(0.1)
    for _ in range(15):
        main.inc()

    def joined():
        s = c.labels("joined").sampled(0.1)
        for _ in range(1234):
            s.inc()

    t = threading.Thread(target=joined)
    t.start()
    t.join()
    counted = threading.Event()

    def blocked():
        s = c.labels("blocked").sampled(0.01)
        for _ in range(1234):
            s.inc()
        counted.set()
        threading.Event().wait()

    threading.Thread(target=blocked, daemon=True).start()
    counted.wait()
    {ending}
""")


def totals(path):
    with shmetrics.Registry(path, create=False, readonly=True) as r:
        return [r.get_sample_value("sampled_calls_total", {"who": w}) for w in ("main", "joined", "blocked")]


@pytest.mark.parametrize("ending,code", [
    ("pass", 0),
    ("sys.exit(3)", 3),
    ("raise RuntimeError('uncaught')", 1),
    ("reg.close(); os._exit(0)", 0),
    ("del main; import gc; gc.collect()", 0),
])
def test_exact_at_exit(arena_path, ending, code):
    r = run_python(CHILD.format(registry="shmetrics.Registry(%r)" % arena_path, ending=ending))
    assert r.returncode == code, r.stderr
    assert totals(arena_path) == [15.0, 1234.0, 1234.0]


def test_exact_at_exit_on_the_default_registry(arena_path):
    r = run_python(CHILD.format(registry="shmetrics.REGISTRY", ending="pass"), env={"SHMETRICS_ARENA": arena_path})
    assert r.returncode == 0, r.stderr
    assert totals(arena_path) == [15.0, 1234.0, 1234.0]


def test_os_exit_loses_exactly_what_was_pending(arena_path):
    r = run_python(CHILD.format(registry="shmetrics.Registry(%r)" % arena_path, ending="os._exit(0)"))
    assert r.returncode == 0, r.stderr
    # main: 10 of 15 were added (5 pending); joined: its exit added them
    # all; blocked: 1,200 of 1,234 at rate 0.01.
    assert totals(arena_path) == [10.0, 1234.0, 1200.0]


def test_flush_and_close(registry):
    c = shmetrics.Counter("flushed_total", "Flushed.", registry=registry)
    s = c.sampled(0.25)
    assert s.rate == 0.25 and s.counter is c
    for _ in range(7):
        s.inc()
    assert c.get() == 4.0
    shmetrics.flush_sampled()
    assert c.get() == 7.0
    s.inc()
    registry.close()
    with pytest.raises(ValueError):
        s.inc()


def test_bad_input(registry):
    c = shmetrics.Counter("bad_sampled_total", "Bad.", ["a"], registry=registry)
    with pytest.raises(ValueError) as e:
        c.sampled(0.1)
    assert str(e.value) == "counter metric is missing label values"
    for rate in (0, 1.5, -1, float("nan")):
        with pytest.raises(ValueError) as e:
            c.labels("x").sampled(rate)
        assert "sampling rate" in str(e.value) and "outside (0, 1]" in str(e.value)
    g = shmetrics.Gauge("not_a_counter", "G.", registry=registry)
    with pytest.raises(TypeError) as e:
        shmetrics.Sampler(g, 0.5)
    assert str(e.value).startswith("a sampler counts on a Counter, not on ")
