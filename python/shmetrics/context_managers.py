# SPDX-License-Identifier: MIT
"""The helpers behind time(), count_exceptions() and track_inprogress().

Each works as a context manager and as a decorator (of plain and async
functions), as prometheus_client's do.
"""

import functools
import inspect
import itertools
import time

__all__ = ["Timer", "ExceptionCounter", "InprogressTracker"]


def _parameter_list(sig):
    """The parameters of a signature as source text, names only
    ("a, b, /, c, *args, d, **kw"), and the call that passes them on
    ("a, b, c, *args, d=d, **kw")."""
    params, call = [], []
    kinds = inspect.Parameter
    slash = star = False
    for p in sig.parameters.values():
        if p.kind is not kinds.POSITIONAL_ONLY and not slash and any(
            q.kind is kinds.POSITIONAL_ONLY for q in sig.parameters.values()
        ):
            params.append("/")
            slash = True
        if p.kind is kinds.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        if p.kind is kinds.VAR_POSITIONAL:
            params.append("*" + p.name)
            call.append("*" + p.name)
            star = True
        elif p.kind is kinds.VAR_KEYWORD:
            params.append("**" + p.name)
            call.append("**" + p.name)
        elif p.kind is kinds.KEYWORD_ONLY:
            params.append(p.name)
            call.append(f"{p.name}={p.name}")
        else:
            params.append(p.name)
            call.append(p.name)
    if not slash and any(p.kind is kinds.POSITIONAL_ONLY for p in sig.parameters.values()):
        params.append("/")
    return ", ".join(params), ", ".join(call)


def _decorate(manager_factory, func):
    """Wrap func so that each call runs inside a fresh manager, keeping
    func's exact signature: the wrapper is compiled with func's own
    parameter list (defaults, keyword-only defaults and annotations
    copied), so that inspect.signature and inspect.getfullargspec give
    func's, and a call with wrong arguments fails with func's TypeError
    before the manager is entered; functools.wraps' attributes
    (__wrapped__, __name__, __qualname__, __doc__, __module__, __dict__)
    are set too.  An async function gets an async wrapper that times (or
    counts) the whole await; a generator function's wrapper covers the
    making of the generator, as prometheus_client's does."""
    try:
        sig = inspect.signature(func, follow_wrapped=False)
    except (TypeError, ValueError):
        sig = None
    names = set(sig.parameters) if sig is not None else set()
    # Names of the generated module that no parameter may shadow.
    for n in itertools.count():
        run, target = f"_shm_run{n}_", f"_shm_func{n}_"
        if run not in names and target not in names:
            break
    is_async = inspect.iscoroutinefunction(func)
    if is_async:

        async def runner(f, *args, **kwargs):
            with manager_factory():
                return await f(*args, **kwargs)

    else:

        def runner(f, *args, **kwargs):
            with manager_factory():
                return f(*args, **kwargs)

    if sig is None or not getattr(func, "__code__", None):
        # Not a Python function (a builtin, a callable object): *args.
        @functools.wraps(func)
        def plain(*args, **kwargs):
            return runner(func, *args, **kwargs)

        return plain
    params, call = _parameter_list(sig)
    name = func.__name__ if func.__name__.isidentifier() else "wrapper"
    head = "async def" if is_async else "def"
    body = f"await {run}({target}, {call})" if is_async else f"{run}({target}, {call})"
    source = f"{head} {name}({params}):\n    return {body}\n"
    scope = {run: runner, target: func}
    exec(compile(source, f"<shmetrics decorator of {func.__qualname__}>", "exec"), scope)  # noqa: S102
    wrapper = scope[name]
    wrapper.__defaults__ = func.__defaults__
    wrapper.__kwdefaults__ = func.__kwdefaults__
    functools.update_wrapper(wrapper, func)
    return wrapper


class Timer:
    """Measures the seconds a block or a call takes and hands them to the
    metric's callback: observe for histograms and summaries, set for gauges."""

    def __init__(self, metric, callback_name):
        self._metric = metric
        self._callback_name = callback_name
        self._start = None
        self.duration = None  # seconds, once the block ended (prometheus_client's Timer.duration)

    def _new_timer(self):
        return self.__class__(self._metric, self._callback_name)

    def labels(self, *args, **kwargs):
        """Time into the child of these label values (for a labelled metric)."""
        self._metric = self._metric.labels(*args, **kwargs)
        return self

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, typ, value, traceback):
        # perf_counter is monotonic, but stay safe against a clock that is not.
        self.duration = max(time.perf_counter() - self._start, 0.0)
        getattr(self._metric, self._callback_name)(self.duration)
        return False

    def __call__(self, func):
        # A new timer per call: decorated functions may run concurrently.
        return _decorate(self._new_timer, func)


class ExceptionCounter:
    """Adds 1 to a counter when the block or call raises `exception` (a type
    or a tuple of types); the exception goes on."""

    def __init__(self, counter, exception):
        self._counter = counter
        self._exception = exception

    def __enter__(self):
        return self

    def __exit__(self, typ, value, traceback):
        if value is not None and isinstance(value, self._exception):
            self._counter.inc()
        return False

    def __call__(self, func):
        return _decorate(lambda: self, func)


class InprogressTracker:
    """Adds 1 to a gauge on entry and subtracts it on exit."""

    def __init__(self, gauge):
        self._gauge = gauge

    def __enter__(self):
        self._gauge.inc()
        return self

    def __exit__(self, typ, value, traceback):
        self._gauge.dec()
        return False

    def __call__(self, func):
        return _decorate(lambda: self, func)
