# SPDX-License-Identifier: MIT
"""Every error of the Python API: the exception type prometheus_client (or
Python's own I/O) would raise, carrying the library's message, and values
left unchanged by refused updates."""

import errno
import grp
import os
import pwd
import subprocess
import sys

import pytest

import shmetrics
from conftest import new_arena_path, run_python

# ---------------------------------------------------------- names, specs


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda r: shmetrics.Counter("1bad", "x", registry=r), 'invalid metric name "1bad"'),
        (lambda r: shmetrics.Gauge("bad-name", "x", registry=r), 'invalid metric name "bad-name"'),
        (lambda r: shmetrics.Histogram("", "x", registry=r), "metric name is empty"),
        (lambda r: shmetrics.Counter("ok", "x", ["1a"], registry=r), 'invalid label name "1a"'),
        (lambda r: shmetrics.Counter("ok", "x", ["__a"], registry=r), 'label name "__a" for ok is reserved'),
        (lambda r: shmetrics.Counter("ok", "x", ["a", "a"], registry=r), 'label name "a" appears twice'),
        (lambda r: shmetrics.Counter("ok", "x", [f"l{i}" for i in range(17)], registry=r), "more than 16"),
        (lambda r: shmetrics.Histogram("h", "x", ["le"], registry=r), '"le" is reserved for a histogram'),
        (lambda r: shmetrics.Summary("s", "x", ["quantile"], registry=r), '"quantile" is reserved for a summary'),
        (lambda r: shmetrics.Gauge("g", "x", ["pid"], registry=r), '"pid" is reserved for a gauge in mode all'),
        (lambda r: shmetrics.Gauge("g", "x", registry=r, multiprocess_mode="avg"), "Invalid multiprocess mode: avg"),
        (lambda r: shmetrics.Histogram("h", "x", registry=r, buckets=[2, 1]), "strictly increasing"),
        (lambda r: shmetrics.Histogram("h", "x", registry=r, buckets=[1, 1]), "strictly increasing"),
        (lambda r: shmetrics.Histogram("h", "x", registry=r, buckets=[]), "empty bucket list"),
        (lambda r: shmetrics.Histogram("h", "x", registry=r, buckets=[float("nan")]), "must be finite"),
        (lambda r: shmetrics.Histogram("h", "x", registry=r, buckets=["a"]), "could not convert"),
        (lambda r: shmetrics.Summary("s", "x", registry=r, quantiles=[1.5]), "not within [0, 1]"),
        (lambda r: shmetrics.Summary("s", "x", registry=r, quantiles=[0.9, 0.5]), "strictly increasing"),
        (lambda r: shmetrics.Summary("s", "x", registry=r, age_buckets=99), "more than 16"),
        (lambda r: shmetrics.Counter("x", "d\0oc", registry=r), "NUL character"),
        (lambda r: shmetrics.Counter("x", "doc", registry=r, _labelvalues=("a",)), "use labels()"),
    ],
)
def test_bad_specs_are_value_errors(registry, make, message):
    with pytest.raises(ValueError) as e:
        make(registry)
    assert message in str(e.value)


def test_type_errors(registry):
    with pytest.raises(TypeError):
        shmetrics.Counter(5, "doc", registry=registry)
    with pytest.raises(TypeError):
        shmetrics.Counter("x", "doc", [1], registry=registry)
    with pytest.raises(TypeError):
        shmetrics.Registry(registry.path, bogus=1)
    with pytest.raises(TypeError):
        shmetrics.Counter("x", "doc", registry="not a registry")


def test_conflicting_registrations_are_value_errors(registry):
    shmetrics.Counter("c", "x", ["a"], registry=registry)
    shmetrics.Gauge("g", "x", registry=registry)
    shmetrics.Histogram("h", "x", registry=registry, buckets=[1, 2])
    shmetrics.Summary("s", "x", registry=registry)
    cases = [
        (lambda: shmetrics.Gauge("c", "x", ["a"], registry=registry), "already registered as a counter, not a gauge"),
        (lambda: shmetrics.Counter("c", "x", ["b"], registry=registry), "label names (a), not (b)"),
        (lambda: shmetrics.Gauge("c_total", "x", registry=registry), "clashes with counter c"),
        (lambda: shmetrics.Gauge("g", "x", registry=registry, multiprocess_mode="sum"), "mode all, not sum"),
        (lambda: shmetrics.Histogram("h", "x", registry=registry, buckets=[1, 3]), "other buckets"),
        (lambda: shmetrics.Summary("s", "x", registry=registry, quantiles=[0.5]), "other quantiles"),
        (lambda: shmetrics.Summary("s", "x", registry=registry, max_age_seconds=30), "max age 60 s"),
        (lambda: shmetrics.Counter("h_bucket", "x", registry=registry), "h_bucket"),
    ]
    for make, message in cases:
        with pytest.raises(ValueError) as e:
            make()
        assert message in str(e.value)


# ------------------------------------------------------------------ labels


def test_label_mistakes_as_prometheus_client_reports_them(registry):
    c = shmetrics.Counter("c", "x", ["a", "b"], registry=registry)
    plain = shmetrics.Counter("p", "x", registry=registry)
    cases = [
        (c.inc, (), {}, ValueError, "counter metric is missing label values"),
        (c.labels, (), {}, ValueError, "c has 2 label names, 0 values given"),
        (c.labels, ("1",), {}, ValueError, "c has 2 label names, 1 values given"),
        (c.labels, tuple("abcdefghijklmnopqrst"), {}, ValueError, "c has 2 label names, 20 values given"),
        (c.labels, (), {"a": "1"}, ValueError, "Incorrect label names: c has (a, b), not (a)"),
        (c.labels, (), {"a": "1", "c": "2"}, ValueError, "Incorrect label names"),
        (c.labels, ("1",), {"b": "2"}, ValueError, "Can't pass both *args and **kwargs"),
        (c.labels("1", "2").labels, ("x", "y"), {}, ValueError, "already has labels set ({'a': '1', 'b': '2'})"),
        (c.labels, ("x\0y", "z"), {}, ValueError, "label value 1 of c contains a NUL character"),
        (c.labels, ("z", "x" * 2049), {}, ValueError, "label value 2 of c is longer than 2048 bytes"),
        (c.labels, ("\udcff", "z"), {}, UnicodeEncodeError, "surrogates not allowed"),
        (plain.labels, ("x",), {}, ValueError, "p has no label names"),
        (plain.remove, ("x",), {}, ValueError, "p has no label names"),
        (c.remove, ("1",), {}, ValueError, "c has 2 label names, 1 values given"),
        (c.remove, ("never", "seen"), {}, KeyError, "c has no such label set"),
        (c.labels("1", "2").remove, ("1", "2"), {}, ValueError, "remove() is a method of the metric itself"),
        (c.labels("1", "2").clear, (), {}, ValueError, "clear() is a method of the metric itself"),
        (c.count_exceptions, (), {}, ValueError, "counter metric is missing label values"),
        (shmetrics.Gauge("g", "x", ["a"], registry=registry).track_inprogress, (), {}, ValueError, "missing label"),
        (shmetrics.Gauge("g2", "x", ["a"], registry=registry).set, (1,), {}, ValueError, "missing label"),
        (shmetrics.Histogram("h", "x", ["a"], registry=registry).observe, (1,), {}, ValueError, "missing label"),
        (shmetrics.Summary("s", "x", ["a"], registry=registry).observe, (1,), {}, ValueError, "missing label"),
    ]
    for func, args, kwargs, exc, message in cases:
        with pytest.raises(exc) as e:
            func(*args, **kwargs)
        assert message in str(e.value), (func, args, kwargs)


def test_label_values_with_remove_convert_like_labels(registry):
    c = shmetrics.Counter("c", "x", ["n"], registry=registry)
    c.labels(5).inc()
    c.remove(5)
    with pytest.raises(KeyError):
        c.remove("5")


# ------------------------------------------------------------------ values


def test_refused_values_leave_the_value_unchanged(registry):
    c = shmetrics.Counter("c", "x", registry=registry)
    g = shmetrics.Gauge("g", "x", registry=registry, multiprocess_mode="sum")
    c.inc(2)
    g.set(5)
    cases = [
        (c.inc, (-1,), ValueError, "counter increment: -1 is negative; the value is unchanged"),
        (c.inc, (-0.5,), ValueError, "is negative"),
        (c.inc, (-(2**70),), ValueError, "is negative"),
        (c.inc, (float("nan"),), ValueError, "is not a number"),
        (c.inc, (float("inf"),), ValueError, "is infinite"),
        (c.inc, ("abc",), ValueError, "could not convert string to float"),
        (c.inc, (None,), TypeError, "float() argument"),
        (g.inc, (float("nan"),), ValueError, "gauge change: nan is not a number"),
        (g.dec, (float("-inf"),), ValueError, "gauge change: inf is infinite"),
        (g.set, ("x",), ValueError, "could not convert"),
        (g.set, (), TypeError, "missing required argument 'value'"),
    ]
    for func, args, exc, message in cases:
        with pytest.raises(exc) as e:
            func(*args)
        assert message in str(e.value)
    assert c.get() == 2 and g.get() == 5


def test_argument_errors_of_the_hot_methods(registry):
    c = shmetrics.Counter("c", "x", registry=registry)
    h = shmetrics.Histogram("h", "x", registry=registry)
    s = shmetrics.Summary("s", "x", registry=registry)
    g = shmetrics.Gauge("g", "x", registry=registry)
    with pytest.raises(TypeError, match="at most 2 arguments"):
        c.inc(1, None, 3)
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        c.inc(foo=1)
    with pytest.raises(TypeError, match="multiple values for argument 'amount'"):
        c.inc(1, amount=2)
    with pytest.raises(TypeError, match="missing required argument 'amount'"):
        h.observe()
    with pytest.raises(TypeError, match="unexpected keyword argument 'exemplar'"):
        s.observe(1, exemplar={})
    with pytest.raises(TypeError, match="at most 1 argument"):
        g.inc(1, 2)


# ------------------------------------------------------------------ arenas


def test_arena_errors_are_os_errors_with_errno(registry, arena_path):
    missing = new_arena_path("missing")
    with pytest.raises(FileNotFoundError) as e:
        shmetrics.Registry(missing, create=False)
    assert e.value.errno == errno.ENOENT and f"no arena at {missing}" in str(e.value)
    with pytest.raises(FileExistsError) as e:
        shmetrics.Registry(arena_path, exclusive=True)
    assert e.value.errno == errno.EEXIST and "already exists" in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        shmetrics.Registry("/dev/shm/no-such-dir-shmetrics/x")
    assert "cannot create an arena" in str(e.value)

    junk = new_arena_path("junk")
    with open(junk, "w") as f:
        f.write("hello" * 1000)
    try:
        with pytest.raises(OSError) as e:
            shmetrics.Registry(junk)
        assert e.value.errno == errno.EBADMSG and "not a shmetrics arena" in str(e.value)
        os.truncate(arena_path, 4096)
        with pytest.raises(OSError) as e:
            shmetrics.Registry(arena_path)
        assert e.value.errno == errno.EBADMSG and "truncated arena" in str(e.value)
    finally:
        os.unlink(junk)


def test_option_errors_are_value_errors(registry):
    path = registry.path
    for kwargs, message in [
        ({"families": 9}, "capacity mismatch: the arena has families=256, 9 was asked for"),
        ({"shards": 3}, "capacity mismatch"),
        ({"series": 2**33}, "whole numbers from 0 to 2**32-1"),
        ({"processes": -1}, "whole numbers from 0 to 2**32-1"),
        ({"cells": -1}, "from 0 to 2**64-1"),
        ({"mode": 0o10000}, "is not a permission mode"),
        ({"readonly": True, "create": True}, "a read-only open cannot create an arena"),
    ]:
        with pytest.raises(ValueError) as e:
            shmetrics.Registry(path, **kwargs)
        assert message in str(e.value), kwargs


def test_read_only_registry(registry):
    c = shmetrics.Counter("c", "x", ["a"], registry=registry)
    c.labels("1").inc()
    with shmetrics.Registry(registry.path, readonly=True) as ro:
        assert ro.readonly
        assert ro.get_sample_value("c_total", {"a": "1"}) == 1
        for make in (lambda: shmetrics.Counter("zz", "x", registry=ro), lambda: shmetrics.Counter("c", "x", ["a"], registry=ro), ro.reset):
            with pytest.raises(OSError) as e:
                make()
            assert e.value.errno == errno.EROFS and "read-only" in str(e.value)


def test_a_full_arena(arena_path):
    with shmetrics.Registry(arena_path, families=4, series=4) as reg:
        c = shmetrics.Counter("c", "x", ["a"], registry=reg)
        for i in range(4):
            c.labels(str(i)).inc()
        with pytest.raises(OSError) as e:
            c.labels("one too many")
        assert e.value.errno == errno.ENOSPC and "arena full: all 4 series records are in use" in str(e.value)
        with pytest.raises(OSError) as e:
            for i in range(4):
                shmetrics.Counter(f"f{i}", "x", ["a"], registry=reg)
        assert e.value.errno == errno.ENOSPC and "family records" in str(e.value)
        c.labels("0").inc()  # what is registered keeps working
        assert reg.get_sample_value("c_total", {"a": "0"}) == 2
    os.unlink(arena_path)


def test_permission_denied(arena_path):
    shmetrics.Registry(arena_path).close()
    os.chmod(arena_path, 0o600)
    code = f"""
import os, errno, shmetrics
os.setgid(65534); os.setuid(65534)
try:
    shmetrics.Registry({arena_path!r})
except PermissionError as e:
    print("EACCES" if e.errno == errno.EACCES else e.errno, e)
"""
    if os.getuid() != 0:
        os.chmod(arena_path, 0)
        code = code.replace("os.setgid(65534); os.setuid(65534)", "")
    r = run_python(code)
    if "ModuleNotFoundError" in r.stderr or "PermissionError: [Errno 13] Permission denied: '/" in r.stderr:
        pytest.skip("the unprivileged user cannot read the build tree")
    assert r.stdout.startswith("EACCES"), r.stdout + r.stderr


FOREIGN_HINT = (
    "to write to it anyway, opt in with the open flag SHMETRICS_OPEN_ALLOW_FOREIGN (shmetrics "
    "--allow-foreign-arena, Python allow_foreign=True) or the environment variable "
    "SHMETRICS_ALLOW_FOREIGN_ARENA=1"
)


def test_foreign_arena_refused_unless_opted_in(arena_path, monkeypatch):
    monkeypatch.delenv("SHMETRICS_ALLOW_FOREIGN_ARENA", raising=False)
    shmetrics.Registry(arena_path).close()
    os.chmod(arena_path, 0o666)
    me = f"uid {os.geteuid()} ({pwd.getpwuid(os.geteuid()).pw_name})"
    refusal = (
        f"refusing to write to {arena_path}: its mode 0666 lets every user write to it (it belongs to "
        f"this user, {me}), so any user could alter its metrics; {FOREIGN_HINT}"
    )
    try:
        with pytest.raises(PermissionError) as e:
            shmetrics.Registry(arena_path)
        assert e.value.errno == errno.EPERM and e.value.strerror == refusal
        with pytest.raises(PermissionError) as e:
            shmetrics.Registry(arena_path, allow_foreign=False)
        assert e.value.errno == errno.EPERM and e.value.strerror == refusal
        # A collector reads it.
        with shmetrics.Registry(arena_path, readonly=True) as ro:
            assert ro.collect() == [] and not ro.allow_foreign
        # The keyword opts in, and a pickled registry keeps it.
        with shmetrics.Registry(arena_path, allow_foreign=True) as reg:
            assert reg.allow_foreign
            shmetrics.Counter("c", "x", registry=reg).inc()
            fn, args = reg.__reduce__()
            again = fn(*args)
            assert again.allow_foreign and again.get_sample_value("c_total") == 1
            again.close()
        # So does the environment variable, set to exactly 1.
        monkeypatch.setenv("SHMETRICS_ALLOW_FOREIGN_ARENA", "1")
        with shmetrics.Registry(arena_path) as reg:
            shmetrics.Counter("c", "x", registry=reg).inc()
            assert reg.get_sample_value("c_total") == 2
        monkeypatch.setenv("SHMETRICS_ALLOW_FOREIGN_ARENA", "yes")
        with pytest.raises(PermissionError) as e:
            shmetrics.Registry(arena_path)
        assert e.value.errno == errno.EPERM and e.value.strerror == refusal
    finally:
        os.unlink(arena_path)


def test_group_writable_arena_and_the_mode_that_accepts_it(arena_path, monkeypatch):
    monkeypatch.delenv("SHMETRICS_ALLOW_FOREIGN_ARENA", raising=False)
    # The creator made it 0660: it is not refused its own arena.
    creator = shmetrics.Registry(arena_path, mode=0o660)
    assert os.stat(arena_path).st_mode & 0o777 == 0o660
    try:
        # A writer that would create it 0660 attaches; one that would not
        # is refused, naming the group.
        shmetrics.Registry(arena_path, mode=0o660).close()
        st = os.stat(arena_path)
        me = f"uid {os.geteuid()} ({pwd.getpwuid(os.geteuid()).pw_name})"
        group = f"gid {st.st_gid} ({grp.getgrgid(st.st_gid).gr_name})"
        for kwargs in ({}, {"mode": 0o640}):
            with pytest.raises(PermissionError) as e:
                shmetrics.Registry(arena_path, **kwargs)
            assert e.value.errno == errno.EPERM
            assert e.value.strerror == (
                f"refusing to write to {arena_path}: its mode 0660 lets its group, {group}, write to it (it "
                f"belongs to this user, {me}), so the group's users could alter its metrics; {FOREIGN_HINT}"
            ), kwargs
    finally:
        creator.close(unlink=True)


def test_symlink_refused_for_a_writer(arena_path, tmp_path):
    shmetrics.Registry(arena_path).close()
    link = str(tmp_path / "link")
    os.symlink(arena_path, link)
    try:
        for kwargs in ({}, {"allow_foreign": True}):
            with pytest.raises(OSError) as e:
                shmetrics.Registry(link, **kwargs)
            assert e.value.errno == errno.ELOOP
            assert e.value.strerror == (
                f"{link} is a symbolic link: a writer does not follow one at the arena's path (in a directory "
                "others may write to, such as /dev/shm, a link can point a writer at another file); give the "
                "path of the arena file itself"
            )
        with shmetrics.Registry(link, readonly=True) as ro:
            assert ro.collect() == []
    finally:
        os.unlink(arena_path)


def test_default_registry_refuses_a_foreign_arena(arena_path):
    shmetrics.Registry(arena_path).close()
    os.chmod(arena_path, 0o666)
    code = """
import errno, shmetrics
try:
    shmetrics.default_registry()
    print("opened")
except PermissionError as e:
    print(e.errno == errno.EPERM, e.strerror.split(":")[0] + ":" + e.strerror.split(":")[1])
"""
    try:
        r = run_python(code, env={"SHMETRICS_ARENA": arena_path, "SHMETRICS_ALLOW_FOREIGN_ARENA": ""})
        assert r.stdout == f"True default registry: refusing to write to {arena_path}\n", r.stdout + r.stderr
        r = run_python(code, env={"SHMETRICS_ARENA": arena_path, "SHMETRICS_ALLOW_FOREIGN_ARENA": "1"})
        assert r.stdout == "opened\n", r.stdout + r.stderr
    finally:
        os.unlink(arena_path)


def test_closed_registry(arena_path):
    reg = shmetrics.Registry(arena_path)
    c = shmetrics.Counter("c", "x", ["a"], registry=reg)
    child = c.labels("1")
    reg.close()
    reg.close()  # again: nothing to do
    for call in (child.inc, lambda: c.labels("1"), lambda: c.remove("1"), c.clear, reg.collect, reg.info,
                 reg.expose, reg.reset, lambda: reg.serve("127.0.0.1:0"),
                 lambda: shmetrics.Counter("d", "x", registry=reg)):
        with pytest.raises(ValueError, match="the registry is closed"):
            call()
    os.unlink(arena_path)


def test_format_and_listen_errors(registry):
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        registry.expose("xml")
    with pytest.raises(ValueError, match="listen address 'nonsense' is not HOST:PORT"):
        registry.serve("nonsense")
    with pytest.raises(ValueError, match="unknown format"):
        shmetrics._shmetrics.content_type("xml")


def test_default_registry_errors():
    code = """
import errno, shmetrics
for get in (shmetrics.default_registry, lambda: shmetrics.REGISTRY, lambda: shmetrics.Counter("c", "x")):
    try:
        get()
    except FileNotFoundError as e:
        print(e.errno == errno.ENOENT, e)
try:
    shmetrics.no_such_name
except AttributeError as e:
    print(e)
"""
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["True [Errno 2] default registry: SHMETRICS_ARENA is not set"] * 3
    assert "no attribute 'no_such_name'" in lines[3]
    bad = run_python(
        "import shmetrics\ntry:\n    shmetrics.default_registry()\nexcept OSError as e:\n    print(e.errno, e)",
        env={"SHMETRICS_ARENA": "/dev/shm/no-such-dir-shmetrics/arena"},
    )
    assert bad.stdout.startswith("2 [Errno 2] default registry: cannot create an arena"), bad.stdout + bad.stderr


def test_the_default_registry_cannot_be_closed(arena_path):
    r = run_python(
        "import shmetrics\nreg = shmetrics.default_registry()\ntry:\n    reg.close()\nexcept ValueError as e:\n"
        "    print(e)\nwith reg:\n    pass\nprint(reg.closed)",
        env={"SHMETRICS_ARENA": arena_path},
    )
    assert r.stdout.splitlines() == ["the default registry stays open for the life of the process", "False"], r.stderr


def test_extension_types_refuse_misuse():
    base = shmetrics._shmetrics.CounterBase()
    with pytest.raises(ValueError, match="not registered"):
        base.inc()
    with pytest.raises(ValueError, match="not registered"):
        base.labels("x")
    with pytest.raises(TypeError, match="subclass of Arena"):
        shmetrics._shmetrics.default_arena(int)


def test_a_label_value_whose_str_closes_the_registry(arena_path):
    reg = shmetrics.Registry(arena_path)
    c = shmetrics.Counter("c", "x", ["a"], registry=reg)

    class Closer:
        def __str__(self):
            reg.close()
            return "v"

    with pytest.raises(ValueError, match="the registry is closed"):
        c.labels(Closer())
    reg2 = shmetrics.Registry(arena_path)
    c2 = shmetrics.Counter("c", "x", ["a"], registry=reg2)

    class Closer2:
        def __str__(self):
            reg2.close()
            return "v"

    with pytest.raises(ValueError, match="the registry is closed"):
        c2.remove(Closer2())
    os.unlink(arena_path)


def test_garbage_collected_metrics_and_registries(arena_path):
    import gc

    for round_ in range(20):
        reg = shmetrics.Registry(arena_path)
        c = shmetrics.Counter("c", "x", ["a"], registry=reg)
        kids = [c.labels(str(i)) for i in range(50)]
        kids[0].cycle = kids  # a cycle through a child's __dict__
        c.cycle = c
        del reg, c, kids
        gc.collect()
    with shmetrics.Registry(arena_path) as reg:
        assert reg.get_sample_value("c_total", {"a": "0"}) == 0
    os.unlink(arena_path)
