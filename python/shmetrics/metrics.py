# SPDX-License-Identifier: MIT
"""Counter, Gauge, Histogram, Summary, Info and Enum: prometheus_client's
constructors and helpers over the C metric objects of _shmetrics.

The classes only build names and specs and register the metric; labels(),
inc(), dec(), set(), set_to_current_time(), observe(), info() and state()
are C methods of the bases, and labels() returns children of the same
class, so an update never runs Python code of this module.
"""

from . import _shmetrics
from .context_managers import ExceptionCounter, InprogressTracker, Timer
from .registry import Metric, default_registry

__all__ = ["Counter", "Enum", "Gauge", "Histogram", "Info", "Summary"]

INF = float("inf")


def _full_name(metric_type, name, namespace, subsystem, unit):
    """namespace_subsystem_name, as prometheus_client builds it: a counter
    loses a trailing _total (its samples get it back), and a unit that the
    name does not already end with is appended.  The C library applies the
    same rule to the name and unit it is given (shmetrics_full_name), and
    stores the unit."""
    full = "_".join(part for part in (namespace, subsystem) if part)
    full = f"{full}_{name}" if full else name
    if metric_type == "counter" and full.endswith("_total"):
        full = full[: -len("_total")]
    if unit and not full.endswith("_" + unit):
        full = f"{full}_{unit}"
    return full


class _MetricWrapper:
    """What the four classes share.  Children made by labels() are
    instances of the same class but are not passed through __init__: their
    Python attributes are looked up on their metric."""

    _type = ""

    def _setup(self, name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues, **spec):
        if _labelvalues is not None:
            raise ValueError("_labelvalues is internal to prometheus_client: use labels() for a child")
        if not isinstance(name, str):
            raise TypeError(f"the metric name must be a str, not {type(name).__name__}")
        self._documentation = documentation
        self._unit = unit
        full = _full_name(self._type, name, namespace, subsystem, unit)
        if registry is None:
            registry = default_registry()
        self._register(registry, full, documentation, tuple(labelnames), unit=unit or None, **spec)

    def __getattr__(self, attr):
        parent = self._parent
        if parent is None or attr.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        return getattr(parent, attr)

    def _raise_if_not_observable(self):
        if not self._observable:
            raise ValueError(f"{self._type} metric is missing label values")

    def describe(self):
        """The family without samples, as prometheus_client's describe()."""
        return [Metric(self._name, self._documentation, self._type, self._unit)]

    def collect(self):
        """This metric's family, read from the arena (every process's samples)."""
        return [m for m in self._registry.collect() if m.name == self._name]

    def __str__(self):
        return f"{self._type}:{self._name}"

    def __repr__(self):
        cls = type(self)
        return f"{cls.__module__}.{cls.__name__}({self._name})"


class Counter(_MetricWrapper, _shmetrics.CounterBase):
    """A counter: Counter(name, documentation, labelnames=(), namespace='',
    subsystem='', unit='', registry=None).  A name ending in _total is
    stored without it and exposed with it.  inc(amount=1) adds a
    non-negative amount; get() reads the series' total."""

    _type = "counter"

    def __init__(
        self,
        name,
        documentation,
        labelnames=(),
        namespace="",
        subsystem="",
        unit="",
        registry=None,
        _labelvalues=None,
    ):
        self._setup(name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues)

    def sampled(self, rate):
        """A sampled counter over this series, for paths too hot even for
        inc(): each thread counts its calls to the returned Sampler's inc()
        and adds N = round(1 / rate) to the series on every N-th.  A
        thread's pending calls (fewer than N) are added when it calls
        shmetrics.flush_sampled(), when it exits, when the registry closes,
        and when the process exits normally; a process killed by a signal
        or ended by os._exit loses them.  ValueError for a rate outside
        (0, 1] or a labelled metric without labels()."""
        return _shmetrics.Sampler(self, rate)

    def count_exceptions(self, exception=Exception):
        """Count exceptions of the given type(s) raised out of a block or a
        function (context manager and decorator)."""
        self._raise_if_not_observable()
        return ExceptionCounter(self, exception)


class Gauge(_MetricWrapper, _shmetrics.GaugeBase):
    """A gauge: Gauge(name, documentation, labelnames=(), namespace='',
    subsystem='', unit='', registry=None, multiprocess_mode='all').

    Each process writes its own value; multiprocess_mode says how they
    merge when read, with prometheus_client's names: 'all' (one sample per
    process, labelled pid), 'sum', 'min', 'max', 'mostrecent', and the
    'live' variants that count only processes still running."""

    _type = "gauge"
    _MULTIPROC_MODES = frozenset(_shmetrics.MODES)

    def __init__(
        self,
        name,
        documentation,
        labelnames=(),
        namespace="",
        subsystem="",
        unit="",
        registry=None,
        _labelvalues=None,
        multiprocess_mode="all",
    ):
        if multiprocess_mode not in self._MULTIPROC_MODES:
            raise ValueError(f"Invalid multiprocess mode: {multiprocess_mode}")
        self._multiprocess_mode = multiprocess_mode
        self._setup(
            name,
            documentation,
            labelnames,
            namespace,
            subsystem,
            unit,
            registry,
            _labelvalues,
            mode=_shmetrics.MODES[multiprocess_mode],
        )

    def track_inprogress(self):
        """inc() on entering a block or function, dec() on leaving it."""
        self._raise_if_not_observable()
        return InprogressTracker(self)

    def time(self):
        """Set the gauge to the seconds a block or function took."""
        return Timer(self, "set")

    def set_function(self, f):
        """The gauge's value is f(), called in this process: at each read
        here and by the publisher thread for other processes' collectors
        (shmetrics.callbacks)."""
        from . import callbacks

        callbacks.set_function(self, f)


class Histogram(_MetricWrapper, _shmetrics.HistogramBase):
    """A histogram: Histogram(name, documentation, labelnames=(),
    namespace='', subsystem='', unit='', registry=None,
    buckets=DEFAULT_BUCKETS, *, native=False, native_schema=3,
    native_zero_threshold=0, native_max_buckets=0).  Bounds are finite and
    strictly increasing; a trailing +Inf is accepted (+Inf is always
    there).

    native=True keeps Prometheus' native (sparse exponential) buckets
    instead of the classic ones, native="both" keeps both in one series
    (as client_golang allows): buckets at native_schema (-4..8; 3 is
    client_golang's bucket factor 1.1), a zero bucket up to
    native_zero_threshold (0: 2^-128), at most native_max_buckets
    populated buckets when read (0: 160; the resolution is halved to fit),
    merged across processes.  Prometheus reads them through the protobuf
    format (--enable-feature=native-histograms); the text formats show the
    classic buckets, or only _count and _sum."""

    _type = "histogram"
    DEFAULT_BUCKETS = tuple(_shmetrics.DEFAULT_BUCKETS) + (INF,)

    def __init__(
        self,
        name,
        documentation,
        labelnames=(),
        namespace="",
        subsystem="",
        unit="",
        registry=None,
        _labelvalues=None,
        buckets=DEFAULT_BUCKETS,
        *,
        native=False,
        native_schema=3,
        native_zero_threshold=0,
        native_max_buckets=0,
    ):
        kinds = {False: 0, True: 1, "both": 2}
        if not isinstance(native, (bool, str)) or native not in kinds:
            raise ValueError(f"native must be False, True or 'both', not {native!r}")
        bounds = [float(b) for b in buckets]
        self._upper_bounds = bounds if bounds and bounds[-1] == INF else bounds + [INF]
        spec = {"buckets": bounds}
        if native:
            if native is True:
                if buckets is not Histogram.DEFAULT_BUCKETS:
                    raise ValueError("buckets are classic buckets: a native histogram with them is native='both'")
                spec = {}
                self._upper_bounds = [INF]
            spec.update(native=kinds[native], native_schema=native_schema,
                        native_zero_threshold=float(native_zero_threshold), native_max_buckets=native_max_buckets)
        self._setup(name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues, **spec)

    def time(self):
        """Observe the seconds a block or function took."""
        return Timer(self, "observe")


class Summary(_MetricWrapper, _shmetrics.SummaryBase):
    """A summary: Summary(name, documentation, labelnames=(), namespace='',
    subsystem='', unit='', registry=None, *, quantiles=None,
    max_age_seconds=None, age_buckets=None).

    Besides prometheus_client's _count and _sum, shmetrics reports
    quantiles over a sliding window, merged across processes: by default
    0.5, 0.9, 0.95 and 0.99 over the last 60 s in 5 age buckets;
    quantiles=() reports none."""

    _type = "summary"

    def __init__(
        self,
        name,
        documentation,
        labelnames=(),
        namespace="",
        subsystem="",
        unit="",
        registry=None,
        _labelvalues=None,
        *,
        quantiles=None,
        max_age_seconds=None,
        age_buckets=None,
    ):
        self._setup(
            name,
            documentation,
            labelnames,
            namespace,
            subsystem,
            unit,
            registry,
            _labelvalues,
            quantiles=None if quantiles is None else [float(q) for q in quantiles],
            max_age_seconds=float(max_age_seconds or 0),
            age_buckets=int(age_buckets or 0),
        )

    def time(self):
        """Observe the seconds a block or function took."""
        return Timer(self, "observe")


class Info(_MetricWrapper, _shmetrics.InfoBase):
    """An info metric: Info(name, documentation, labelnames=(), namespace='',
    subsystem='', unit='', registry=None), exposed as name_info{labels,
    key="value", ...} 1.  info(dict) replaces the value set of the series;
    across processes the set made last wins.  A key that is one of the
    label names is a ValueError, as in prometheus_client; so is a unit."""

    _type = "info"

    def __init__(
        self,
        name,
        documentation,
        labelnames=(),
        namespace="",
        subsystem="",
        unit="",
        registry=None,
        _labelvalues=None,
    ):
        self._setup(name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues)


class Enum(_MetricWrapper, _shmetrics.EnumBase):
    """An enum (OpenMetrics stateset): Enum(name, documentation,
    labelnames=(), namespace='', subsystem='', unit='', registry=None,
    states=None).  Exposed as one sample per state, name{name="state"}, 1
    for the current state and 0 for the others; state(name) sets it, and
    across processes the state set last wins.  A series starts in the
    first state.  ValueError for no states, a label named as the metric, a
    unit, or a state that is not one of them."""

    _type = "stateset"

    def __init__(
        self,
        name,
        documentation,
        labelnames=(),
        namespace="",
        subsystem="",
        unit="",
        registry=None,
        _labelvalues=None,
        states=None,
    ):
        if name in labelnames:
            raise ValueError(f"Overlapping labels for Enum metric: {name}")
        if not states:
            raise ValueError(f"No states provided for Enum metric: {name}")
        self._states = list(states)
        self._setup(
            name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues, states=self._states
        )
