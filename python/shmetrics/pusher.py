# SPDX-License-Identifier: MIT
"""Pushing an arena to StatsD, OpenTelemetry (OTLP/HTTP), Prometheus
remote-write or nowhere (null), as `shmetrics push` does, from a Python
process: the C library's pusher (docs/push.md), whose thread, sockets and
HTTP client run without the GIL.

    import shmetrics
    with shmetrics.Pusher("otlp", "http://127.0.0.1:4318", interval=10,
                          resource={"service.name": "checkout"}):
        serve_forever()
    shmetrics.push("statsd", "127.0.0.1:8125")        # once, now
"""

from . import _shmetrics
from .registry import default_registry

__all__ = ["Pusher", "push"]


class Pusher(_shmetrics.Pusher):
    """Pusher(backend, target=None, registry=None, *, interval=10, timeout=5,
    retry_min=1, retry_max=60, prefix=None, max_datagram=0, tags=False,
    otlp_json=False, resource=None, labels=None, headers=None,
    self_metrics=True, process_metrics=True, final=True, thread=True)

    A pusher of the registry's arena (the default registry when None) to
    `backend` ('statsd', 'otlp', 'remote-write' or 'null') at `target`
    ('HOST:PORT' for statsd, an http:// or https:// URL for otlp and
    remote-write, nothing for null).  With thread=True (the default) the
    library's thread pushes at once and then every `interval` seconds,
    retrying a failed push after retry_min seconds, doubling up to
    retry_max; with thread=False it pushes only when push() is called.
    stop() (or the end of a `with` block) stops it, with final=True after
    one last push.  The registry stays open while the pusher lives
    (close() raises ValueError meanwhile).

    The options are those of shmetrics_push_options_t, durations in
    seconds (0: the library's default): prefix and max_datagram (statsd),
    tags (statsd: labels as DogStatsD tags), otlp_json (otlp: JSON instead
    of protobuf), resource (otlp: a dict of resource attributes),
    labels (remote-write: a dict of labels added to every series),
    headers (otlp, remote-write: a dict or 'Name: value' strings),
    self_metrics (send the pusher's own shmetrics_push_* metrics),
    process_metrics (send the workers' process_* metrics).

    Methods: push() pushes now in this thread (OSError with the errno when
    it fails: ConnectionRefusedError, TimeoutError, OSError(EPROTO) for an
    HTTP error status...), stats() returns the counts (attempts,
    failures, samples, bytes, reattached, consecutive_failures,
    last_success, last_duration), stop().  Attributes: backend, target,
    running, threaded.  Errors at creation: ValueError for a bad backend,
    target or option (the message names it), FileNotFoundError (ENOENT)
    for a host name that does not resolve, TypeError for options of the
    wrong type."""

    def __new__(cls, backend, target=None, registry=None, **options):
        reg = registry if registry is not None else default_registry()
        return super().__new__(cls, reg, backend, target, **options)

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<shmetrics.Pusher {self.backend} {self.target!r} {state}>"


def push(backend, target=None, registry=None, **options):
    """Push the registry's arena (the default registry when None) once,
    now, in this thread, with a pusher of its own (shmetrics_push): the
    options of Pusher (but thread and final, which mean nothing here).
    StatsD counters are sent whole, as deltas since zero.  Raises what
    Pusher() and Pusher.push() raise."""
    reg = registry if registry is not None else default_registry()
    options.pop("thread", None)
    options.pop("final", None)
    _shmetrics.push(reg, backend, target, **options)
