# SPDX-License-Identifier: MIT
"""shmetrics for Python: prometheus_client's metric classes over a
lock-free shared-memory arena.

    from shmetrics import Counter
    requests = Counter("http_requests_total", "Requests served.", ["method", "code"])
    requests.labels("GET", "200").inc()

Metrics made without registry= live in the default registry, the arena
named by the environment variable SHMETRICS_ARENA; every process that
opens the same arena (Python or C) updates the same series, and a
collector (`shmetrics serve`, generate_latest(), start_http_server())
reads them all.  shmetrics.sets has vLLM's metrics ready-made.  See
docs/python.md.
"""

from . import _shmetrics, sets
from .context_managers import ExceptionCounter, InprogressTracker, Timer
from .metrics import Counter, Gauge, Histogram, Summary
from .registry import (
    CONTENT_TYPE_LATEST,
    Metric,
    Registry,
    Sample,
    default_registry,
    generate_latest,
    start_http_server,
)

__version__ = _shmetrics.VERSION
Sampler = _shmetrics.Sampler
flush_sampled = _shmetrics.flush_sampled

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Counter",
    "ExceptionCounter",
    "Gauge",
    "Histogram",
    "InprogressTracker",
    "Metric",
    "Registry",
    "Sample",
    "Sampler",
    "Summary",
    "Timer",
    "default_registry",
    "flush_sampled",
    "generate_latest",
    "start_http_server",
]


def __getattr__(name):
    # REGISTRY attaches to SHMETRICS_ARENA when first used, not at import.
    if name == "REGISTRY":
        return default_registry()
    raise AttributeError(f"module 'shmetrics' has no attribute {name!r}")
