# SPDX-License-Identifier: MIT
"""time(), count_exceptions() and track_inprogress() as decorators keep the
decorated function's signature, as prometheus_client's do (its decorator
module compiles a wrapper with the function's parameter list): the same
inspect.signature and inspect.getfullargspec, functools.wraps' attributes,
and a call with wrong arguments that fails before the metric is touched.
Plain, async and generator functions, methods, lambdas and builtins."""

import asyncio
import functools
import inspect

import prometheus_client
import pytest

import shmetrics


def decorators(mod, reg):
    """Each decorator of a library, with a way to read what it recorded."""
    h = mod.Histogram("h_seconds", "h", registry=reg)
    s = mod.Summary("s_seconds", "s", registry=reg, **({"quantiles": ()} if mod is shmetrics else {}))
    g = mod.Gauge("g_seconds", "g", registry=reg, multiprocess_mode="livesum")
    c = mod.Counter("errors", "c", registry=reg)
    ip = mod.Gauge("inprogress", "i", registry=reg, multiprocess_mode="livesum")

    def value(metric, name):
        for fam in metric.collect():
            for smp in fam.samples:
                if smp.name == name:
                    return smp.value
        raise AssertionError(name)

    return {
        "histogram.time": (h.time(), lambda: value(h, "h_seconds_count")),
        "summary.time": (s.time(), lambda: value(s, "s_seconds_count")),
        "gauge.time": (g.time(), lambda: value(g, "g_seconds")),
        "count_exceptions": (c.count_exceptions(), lambda: value(c, "errors_total")),
        "track_inprogress": (ip.track_inprogress(), lambda: value(ip, "inprogress")),
    }


def sample(a: int, b: "str" = "x", /, c=3, *args, d: float, e=5, **kw) -> tuple:
    """A function with every kind of parameter."""
    return (a, b, c, args, d, e, kw)


sample.custom = "kept"


def test_signature_and_wraps_attributes_are_kept(registry):
    for name, (deco, _) in decorators(shmetrics, registry).items():
        w = deco(sample)
        assert inspect.signature(w) == inspect.signature(sample), name
        assert inspect.signature(w, follow_wrapped=False) == inspect.signature(sample), name
        assert inspect.getfullargspec(w) == inspect.getfullargspec(sample), name
        assert (w.__name__, w.__qualname__, w.__doc__, w.__module__) == (
            "sample", "sample", sample.__doc__, __name__), name
        assert w.__wrapped__ is sample and w.custom == "kept", name
        assert w.__defaults__ == sample.__defaults__ and w.__kwdefaults__ == sample.__kwdefaults__, name
        assert w(1, d=2.0) == (1, "x", 3, (), 2.0, 5, {}), name
        assert w(1, "y", 4, 5, 6, d=0, e=1, z=2) == (1, "y", 4, (5, 6), 0, 1, {"z": 2}), name


def test_same_argspec_as_prometheus_client(registry):
    def f(r, s=1, *args, t, u=2, **kw):
        return r

    ours = decorators(shmetrics, registry)
    theirs = decorators(prometheus_client, prometheus_client.CollectorRegistry())
    for name in ours:
        assert inspect.getfullargspec(ours[name][0](f)) == inspect.getfullargspec(theirs[name][0](f)), name
        assert inspect.signature(ours[name][0](f)) == inspect.signature(theirs[name][0](f)), name


def test_a_bad_call_fails_before_the_metric_is_touched(registry):
    def f(a, *, b):
        raise ValueError("never reached")

    results = []
    for mod, reg in ((prometheus_client, prometheus_client.CollectorRegistry()), (shmetrics, registry)):
        got = {}
        for name, (deco, read) in decorators(mod, reg).items():
            w = deco(f)
            for bad in ((), (1, 2), (1,)):
                with pytest.raises(TypeError):
                    w(*bad)
            got[name] = read()
        results.append(got)
    assert results[0] == results[1]
    assert results[1]["count_exceptions"] == 0 and results[1]["histogram.time"] == 0


def test_calls_are_recorded(registry):
    for name, (deco, read) in decorators(shmetrics, registry).items():
        seen = []

        @deco
        def work(x):
            seen.append(read() if name == "track_inprogress" else None)
            if x == "raise":
                raise KeyError(x)
            return x * 2

        assert work(21) == 42
        with pytest.raises(KeyError):
            work("raise")
        if name == "count_exceptions":
            assert read() == 1
        elif name == "track_inprogress":
            assert seen == [1.0, 1.0] and read() == 0
        elif name != "gauge.time":
            assert read() == 2


def test_async_functions_keep_their_signature_and_are_awaited(registry):
    async def fetch(url: str, *, retries: int = 3) -> str:
        """Fetch."""
        await asyncio.sleep(0)
        if url == "bad":
            raise ConnectionError(url)
        return url * retries

    for name, (deco, read) in decorators(shmetrics, registry).items():
        w = deco(fetch)
        assert inspect.iscoroutinefunction(w), name
        assert inspect.signature(w) == inspect.signature(fetch), name
        assert inspect.getfullargspec(w) == inspect.getfullargspec(fetch), name
        assert (w.__name__, w.__doc__, w.__wrapped__) == ("fetch", "Fetch.", fetch)
        assert asyncio.run(w("a", retries=2)) == "aa"
        with pytest.raises(ConnectionError):
            asyncio.run(w("bad"))
        with pytest.raises(TypeError):
            w()  # before any coroutine is made
    ours = decorators(shmetrics, registry)
    # The whole await is inside: the in-progress gauge is 1 while the coroutine is suspended,
    # and an exception raised after an await is counted.
    ip_deco, ip_read = ours["track_inprogress"]
    inside = []

    @ip_deco
    async def suspended():
        await asyncio.sleep(0)
        inside.append(ip_read())

    asyncio.run(suspended())
    assert inside == [1.0] and ip_read() == 0
    assert ours["count_exceptions"][1]() == 1


def test_generator_functions_as_prometheus_client(registry):
    def gen(n):
        yield from range(n)

    counts = []
    for mod, reg in ((prometheus_client, prometheus_client.CollectorRegistry()), (shmetrics, registry)):
        deco, read = decorators(mod, reg)["histogram.time"]
        w = deco(gen)
        assert inspect.signature(w) == inspect.signature(gen)
        assert list(w(3)) == [0, 1, 2]
        counts.append(read())
    # The making of the generator is timed, once per call, in both.
    assert counts == [1.0, 1.0]


def test_methods_lambdas_builtins_and_odd_parameter_names(registry):
    deco, read = decorators(shmetrics, registry)["histogram.time"]

    class Service:
        @deco
        def handle(self, request, *, verbose=False):
            return (request, verbose)

    svc = Service()
    assert svc.handle("r", verbose=True) == ("r", True)
    assert inspect.signature(svc.handle) == inspect.signature(functools.partial(Service.handle.__wrapped__, svc))
    lam = deco(lambda x, y=1: x + y)
    assert lam.__name__ == "<lambda>" and lam(1) == 2
    assert str(inspect.signature(lam)) == "(x, y=1)"
    wrapped_len = deco(len)
    assert wrapped_len([1, 2]) == 2 and wrapped_len.__wrapped__ is len

    def clash(_shm_run0_, _shm_func0_, f=None):
        return (_shm_run0_, _shm_func0_, f)

    w = deco(clash)
    assert w(1, 2, f=3) == (1, 2, 3)
    assert inspect.getfullargspec(w) == inspect.getfullargspec(clash)
    assert read() == 4


def test_timer_labels_in_a_decorator(registry):
    h = shmetrics.Histogram("lat", "h", ["route"], registry=registry)

    def handler(x):
        return x

    w = h.time().labels("/a")(handler)
    assert w(5) == 5 and inspect.signature(w) == inspect.signature(handler)
    assert registry.get_sample_value("lat_count", {"route": "/a"}) == 1
