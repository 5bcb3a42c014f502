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

import os

from . import _shmetrics, sets
from .context_managers import ExceptionCounter, InprogressTracker, Timer
from .metrics import Counter, Enum, Gauge, Histogram, Info, Summary
from .metrics import MAX_SERIES_DEFAULT, Exemplar
from .pusher import Pusher, push
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


def disable_created_metrics():
    """Leave the creation times of series (name_created) out of every
    exposition this process makes, as prometheus_client's function of that
    name does: it sets PROMETHEUS_DISABLE_CREATED_SERIES, which the C
    library reads at each exposition (and `shmetrics serve` at start of
    each scrape, in its own process)."""
    os.environ["PROMETHEUS_DISABLE_CREATED_SERIES"] = "True"


def enable_created_metrics():
    """Show the creation times again (unsets PROMETHEUS_DISABLE_CREATED_SERIES)."""
    os.environ.pop("PROMETHEUS_DISABLE_CREATED_SERIES", None)
Sampler = _shmetrics.Sampler
flush_sampled = _shmetrics.flush_sampled

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Counter",
    "Enum",
    "ExceptionCounter",
    "Exemplar",
    "Gauge",
    "Histogram",
    "Info",
    "InprogressTracker",
    "MAX_SERIES_DEFAULT",
    "Metric",
    "Pusher",
    "Registry",
    "Sample",
    "Sampler",
    "Summary",
    "Timer",
    "default_registry",
    "disable_created_metrics",
    "enable_created_metrics",
    "flush_sampled",
    "generate_latest",
    "push",
    "start_http_server",
]


def __getattr__(name):
    # REGISTRY attaches to SHMETRICS_ARENA when first used, not at import.
    if name == "REGISTRY":
        return default_registry()
    raise AttributeError(f"module 'shmetrics' has no attribute {name!r}")
