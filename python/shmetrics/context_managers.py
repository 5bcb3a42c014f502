# SPDX-License-Identifier: MIT
"""The helpers behind time(), count_exceptions() and track_inprogress().

Each works as a context manager and as a decorator (of plain and async
functions), as prometheus_client's do.
"""

import functools
import inspect
import time

__all__ = ["Timer", "ExceptionCounter", "InprogressTracker"]


def _decorate(manager_factory, func):
    """Wrap func so that each call runs inside a fresh manager."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args, **kwargs):
            with manager_factory():
                return await func(*args, **kwargs)

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with manager_factory():
            return func(*args, **kwargs)

    return wrapper


class Timer:
    """Measures the seconds a block or a call takes and hands them to the
    metric's callback: observe for histograms and summaries, set for gauges."""

    def __init__(self, metric, callback_name):
        self._metric = metric
        self._callback_name = callback_name
        self._start = None

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
        elapsed = max(time.perf_counter() - self._start, 0.0)
        getattr(self._metric, self._callback_name)(elapsed)
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
