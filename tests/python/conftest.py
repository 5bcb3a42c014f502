# SPDX-License-Identifier: MIT
"""Fixtures of the Python binding's suite: a fresh arena per test under
/dev/shm (removed afterwards), the shmetrics command and the feed worker
(both C programs) from the environment meson test sets, and a way to run
a Python snippet in a new interpreter (for the process-wide default
registry)."""

import os
import subprocess
import sys
import uuid

import pytest

import shmetrics

HERE = os.path.dirname(os.path.abspath(__file__))


def new_arena_path(tag="py"):
    return f"/dev/shm/shmetrics-{tag}-{os.getpid()}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def arena_path():
    path = new_arena_path()
    yield path
    for p in (path, path + ".txt"):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


@pytest.fixture
def registry(arena_path):
    reg = shmetrics.Registry(arena_path, families=256, series=4096, processes=64)
    yield reg
    if not reg.closed:
        reg.close(unlink=True)


@pytest.fixture
def cli():
    path = os.environ.get("SHMETRICS_CLI")
    if not path:
        pytest.skip("SHMETRICS_CLI is not set (run through meson test)")
    return path


@pytest.fixture
def feed():
    path = os.environ.get("SHMETRICS_FEED")
    if not path:
        pytest.skip("SHMETRICS_FEED is not set (run through meson test)")
    return path


def run_python(code, env=None, timeout=60):
    """Run `code` in a new interpreter (the one running the tests) with the
    package importable; returns the CompletedProcess."""
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    e.pop("SHMETRICS_ARENA", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=timeout)


def run_processes(procs, timeout=120):
    """Start multiprocessing Process objects, wait for each, and assert
    each exited 0."""
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
        assert p.exitcode == 0, f"{p.name} exited {p.exitcode}"


def samples(registry, name):
    """{frozenset(labels.items()): value} of every sample called `name`."""
    out = {}
    for m in registry.collect():
        for s in m.samples:
            if s.name == name:
                out[frozenset(s.labels.items())] = s.value
    return out
