# SPDX-License-Identifier: MIT
"""The drop-in: an unmodified prometheus_client program
(thirdparty/prefork_app.py, written against prometheus_client's
multiprocess documentation, never edited) run once under Debian's real
prometheus_client (PROMETHEUS_MULTIPROC_DIR set) and once under
`python3 -m shmetrics.run`: the expositions, parsed by prometheus_client's
own parser, are equal family by family (name, type, help, label sets,
values).

Debian's prometheus_client (0.16) predates the modes mostrecent and
livemostrecent, so its run uses max and livemax for them: in this program
every writer of a mostrecent series writes the same value and each
livemostrecent series has one writer, where those modes give the same
samples.  shmetrics runs the program with both pairs."""

import os
import subprocess
import sys

import pytest

parser = pytest.importorskip("prometheus_client.parser")

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "thirdparty", "prefork_app.py")


def run_app(tmp_path, tag, shmetrics_run, modes):
    d = tmp_path / tag
    d.mkdir()
    out = tmp_path / f"{tag}.txt"
    env = dict(os.environ)
    env.pop("SHMETRICS_ARENA", None)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(d)
    if shmetrics_run:
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        cmd = [sys.executable, "-m", "shmetrics.run", APP, str(out)] + modes
    else:
        env.pop("PYTHONPATH", None)  # Debian's prometheus_client, nothing of shmetrics
        cmd = [sys.executable, APP, str(out)] + modes
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    roles = {}
    for line in done.stdout.splitlines():
        words = line.split()
        roles[words[-1]] = " ".join(words[:-1])
    assert len(roles) == 5, done.stdout
    return out.read_text(), roles


def families(text, roles):
    """{name: (type, help, {(sample name, labels): value})}, pid labels
    replaced by the process's role."""
    out = {}
    for f in parser.text_string_to_metric_families(text):
        samples = {}
        for s in f.samples:
            labels = dict(s.labels)
            if "pid" in labels:
                labels["pid"] = roles[labels["pid"]]
            key = (s.name, frozenset(labels.items()))
            assert key not in samples, f"sample {key} twice"
            samples[key] = s.value
        out[f.name] = (f.type, f.documentation, samples)
    return out


def assert_same(ours, theirs):
    assert set(ours) == set(theirs)
    for name in theirs:
        t_type, t_help, t_samples = theirs[name]
        o_type, o_help, o_samples = ours[name]
        assert (o_type, o_help) == (t_type, t_help), name
        assert set(o_samples) == set(t_samples), name
        for key, value in t_samples.items():
            if key[0].endswith("_sum"):  # a float sum: the order of additions differs
                assert o_samples[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert o_samples[key] == value, key


@pytest.mark.parametrize("modes", [["livemostrecent", "mostrecent"], ["livemax", "max"]])
def test_unmodified_program_gives_prometheus_client_s_samples(tmp_path, modes):
    real_text, real_roles = run_app(tmp_path, "real", False, ["livemax", "max"])
    ours_text, our_roles = run_app(tmp_path, "ours", True, modes)
    theirs = families(real_text, real_roles)
    ours = families(ours_text, our_roles)
    assert_same(ours, theirs)
    # The values themselves, so that equal-but-wrong cannot pass.
    get = {k: v for _, _, s in ours.values() for k, v in s.items()}
    assert get[("app_requests_total", frozenset({"worker": "3", "method": "GET"}.items()))] == 266
    assert get[("app_errors_total", frozenset({"code": "500"}.items()))] == 20
    assert get[("app_request_latency_seconds_count", frozenset({"method": "GET"}.items()))] == 665
    assert get[("app_config_workers", frozenset({"pool": "main"}.items()))] == 4
    assert get[("app_queue_length", frozenset({"pool": "main"}.items()))] == 10
    # Live modes: the workers are gone, the parent stays.
    assert ours["app_in_flight"][2] == {("app_in_flight", frozenset({"worker": "parent"}.items())): 0}
    assert ours["app_alive"][2] == {("app_alive", frozenset({"role": "parent", "pid": "parent"}.items())): 1}
    # The arena lives in PROMETHEUS_MULTIPROC_DIR; Debian's run wrote its own files there.
    assert os.listdir(tmp_path / "ours") == ["shmetrics.arena"]
    assert "shmetrics.arena" not in os.listdir(tmp_path / "real")


def test_the_arena_is_served_by_the_collector_too(tmp_path, cli):
    ours_text, roles = run_app(tmp_path, "ours", True, ["livemostrecent", "mostrecent"])
    done = subprocess.run([cli, "dump", "--arena", str(tmp_path / "ours" / "shmetrics.arena")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'app_requests_total{worker="3",method="GET"} 266' in done.stdout


def test_shmetrics_run_errors(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
    env.pop("SHMETRICS_ARENA", None)
    for args, msg in ((["nope.py"], "nope.py: no such file"), ([], "no program to run"),
                      (["-m"], "-m needs a module name"), (["--arena"], "--arena needs a value")):
        done = subprocess.run([sys.executable, "-m", "shmetrics.run"] + args, capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 2 and msg in done.stderr, (args, done.stderr)
    done = subprocess.run([sys.executable, "-m", "shmetrics.run", APP, "x"], capture_output=True, text=True,
                          env=dict(env, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "missing")), timeout=60)
    assert done.returncode == 2 and "is not a directory" in done.stderr


SPAWNED = r'''
import multiprocessing, os, sys
import prometheus_client
import prometheus_client.multiprocess
from prometheus_client import Counter

C = Counter("spawned_total", "Counted by spawned children.")

def child():
    import prometheus_client.multiprocess as mp
    assert prometheus_client.__name__ == "shmetrics.prometheus_client", prometheus_client.__name__
    assert mp.MultiProcessCollector.__module__ == "shmetrics.collectors"
    C.inc(5)

if __name__ == "__main__":
    ctx = multiprocessing.get_context("spawn")
    ps = [ctx.Process(target=child) for _ in range(2)]
    [p.start() for p in ps]
    [p.join() for p in ps]
    assert all(p.exitcode == 0 for p in ps)
    reg = prometheus_client.CollectorRegistry()
    prometheus_client.multiprocess.MultiProcessCollector(reg)
    print(reg.get_sample_value("spawned_total"), os.environ["SHMETRICS_ARENA"])
'''


def test_spawned_children_get_the_module_and_the_arena(tmp_path):
    prog = tmp_path / "spawned.py"
    prog.write_text(SPAWNED)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
    env.pop("SHMETRICS_ARENA", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    arena = f"/dev/shm/shmetrics-spawn-{os.getpid()}"
    try:
        done = subprocess.run([sys.executable, "-m", "shmetrics.run", "--arena", arena, str(prog)],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["10.0", arena]
    finally:
        if os.path.exists(arena):
            os.unlink(arena)
