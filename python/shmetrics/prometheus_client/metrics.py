# SPDX-License-Identifier: MIT
"""prometheus_client.metrics: shmetrics' metric classes with
prometheus_client's registry argument.  registry=REGISTRY (the default)
or a CollectorRegistry registers the metric there (a name it already
holds raises "Duplicated timeseries in CollectorRegistry"); None
registers it nowhere.  The value lives in that registry's arena either
way.  Only __init__ is Python: labels() and the hot methods are the C
methods of shmetrics' classes, so no frame is added to an update."""

import inspect
import os

from .. import disable_created_metrics, enable_created_metrics  # noqa: F401  (prometheus_client.metrics has them)
from .. import metrics as _base
from ..collectors import REGISTRY, CollectorRegistry, shared_mode
from ..registry import Registry
from .. import escaping as _escaping

__all__ = ["Counter", "Enum", "Gauge", "Histogram", "Info", "MetricWrapperBase", "Summary"]

MetricWrapperBase = _base._MetricWrapper


def _get_use_created():
    """Whether _created samples are exposed: PROMETHEUS_DISABLE_CREATED_SERIES
    unset or false.  The expositions read the variable themselves, each
    time; _use_created is kept for programs that set it, as
    prometheus_client's tests do."""
    return os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")


_use_created = _get_use_created()
_REGISTRY_POS = 6  # name, documentation, labelnames, namespace, subsystem, unit, registry


def _arena_of(registry):
    if registry is None:
        return REGISTRY._get_arena()
    if isinstance(registry, Registry):
        return registry
    if isinstance(registry, CollectorRegistry):
        return registry._get_arena()
    return REGISTRY._get_arena()  # another object with register(): the values live in REGISTRY's arena


_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
             "summary": ("_sum", "_count", "_created"), "info": ("_info",)}


# prometheus_client's switch, read when a metric is made: UTF-8 names
# unless legacy validation is on.
_UTF8_NAMES = property(lambda self: not _escaping.legacy_validation())


def _compat(base, members=None, **defaults):
    sig = inspect.signature(base.__init__)

    def __init__(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        if a["name"] == "":  # before a namespace makes it look like a name
            raise ValueError("Metric name should not be empty")
        registry = a["registry"] if "registry" in kwargs or len(args) > _REGISTRY_POS else REGISTRY
        a["registry"] = _arena_of(registry)
        for k, v in defaults.items():
            if k not in kwargs:
                a[k] = v
        register = registry is not None and not isinstance(registry, Registry)
        if register and isinstance(registry, CollectorRegistry):
            # prometheus_client's duplicate check comes before anything is made.
            full = _base._full_name(base._type, a["name"], a["namespace"], a["subsystem"], a["unit"])
            registry._check_free([full] + [full + x for x in _SUFFIXES.get(base._type, ())])
        mode = a.get("multiprocess_mode")
        if mode in ("all", "liveall") and not shared_mode():
            # One process: no pid label, as prometheus_client outside
            # multiprocess mode; the one process's value is the sum (a mode
            # that inc() and dec() may use, unlike mostrecent).
            a["multiprocess_mode"] = "sum" if mode == "all" else "livesum"
        base.__init__(*bound.args, **bound.kwargs)
        if mode is not None:
            self._multiprocess_mode = mode
        if register:
            registry.register(self)

    params = [p.replace(default=REGISTRY) if p.name == "registry" else p for p in sig.parameters.values()]
    __init__.__signature__ = sig.replace(parameters=params)
    __init__.__doc__ = base.__init__.__doc__
    def __repr__(self):
        # prometheus_client's repr names its own module: programs and tests compare it.
        return f"prometheus_client.metrics.{base.__name__}({self._name})"

    cls = type(base.__name__, (base,), {"__init__": __init__, "__repr__": __repr__, "__doc__": base.__doc__,
                                        "__module__": __name__, "_utf8_names": _UTF8_NAMES, **(members or {})})
    return cls


def _histogram_view(self, m):
    """prometheus_client's histogram: one whose lowest bucket bound is
    negative has no _sum (the sum is no counter then, as OpenMetrics says);
    the arena keeps it, and shmetrics' own Histogram shows it."""
    if self._upper_bounds[0] < 0:
        m.samples = [s for s in m.samples if s.name != m.name + "_sum"]
    return m


Counter = _compat(_base.Counter)
Gauge = _compat(_base.Gauge)
Histogram = _compat(_base.Histogram, members={"_view": _histogram_view})
# prometheus_client's summaries report _count and _sum only.
Summary = _compat(_base.Summary, quantiles=())
Info = _compat(_base.Info)
Enum = _compat(_base.Enum)
