# SPDX-License-Identifier: MIT
"""Counter, Gauge, Histogram, Summary, Info and Enum: prometheus_client's
constructors and helpers over the C metric objects of _shmetrics.

The classes only build names and specs and register the metric; labels(),
inc(), dec(), set(), set_to_current_time(), observe(), info(), state() and
Counter.reset() are C methods of the bases, and labels() returns children
of the same class, so an update never runs Python code of this module.
describe(), collect() and remove_by_labels() read the arena.
"""

import os
from typing import Dict, NamedTuple, Optional

from . import _shmetrics
from .context_managers import ExceptionCounter, InprogressTracker, Timer
from .registry import Metric, Sample, default_registry
from .samples import Exemplar

__all__ = ["Counter", "Enum", "Exemplar", "Gauge", "Histogram", "Info", "MAX_SERIES_DEFAULT", "Summary"]

INF = float("inf")

# The label sets a metric keeps before further ones fold into its overflow
# series (the C library's SHMETRICS_MAX_SERIES_DEFAULT, as OpenTelemetry's SDK).
MAX_SERIES_DEFAULT = _shmetrics.MAX_SERIES_DEFAULT
_MAX_SERIES_UNLIMITED = _shmetrics.MAX_SERIES_UNLIMITED


def _max_series_spec(max_series):
    """max_series as the C spec takes it: a whole number of label sets from
    1 to 4294967294, or None for no limit."""
    if max_series is None:
        return _MAX_SERIES_UNLIMITED
    if isinstance(max_series, bool) or not isinstance(max_series, int):
        raise TypeError(f"max_series must be an int or None, not {type(max_series).__name__}")
    if not 1 <= max_series < _MAX_SERIES_UNLIMITED:
        raise ValueError(f"max_series {max_series} is not from 1 to {_MAX_SERIES_UNLIMITED - 1} (None: no limit)")
    return max_series


def _created_disabled():
    return os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() in ("true", "1", "t")


def _series_key(labels):
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ("le", "quantile")))


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
    # UTF-8 metric, label and exemplar label names (Prometheus 3's rules):
    # prometheus_client's classes take them unless legacy validation is on
    # (prometheus_client.validation); shmetrics' own keep the legacy rules.
    _utf8_names = False

    def _setup(self, name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues,
               max_series=MAX_SERIES_DEFAULT, **spec):
        if _labelvalues is not None:
            raise ValueError("_labelvalues is internal to prometheus_client: use labels() for a child")
        if not isinstance(name, str):
            raise TypeError(f"the metric name must be a str, not {type(name).__name__}")
        self._documentation = documentation
        self._unit = unit
        # prometheus_client's attributes, which programs read to make copies of a metric.
        self._original_name = name
        self._namespace = namespace
        self._subsystem = subsystem
        self._kwargs = {}
        full = _full_name(self._type, name, namespace, subsystem, unit)
        if registry is None:
            registry = default_registry()
        spec["max_series"] = _max_series_spec(max_series)
        if self._utf8_names:
            spec["utf8_names"] = True
        self._register(registry, full, documentation, tuple(labelnames), unit=unit or None, **spec)

    def __getattr__(self, attr):
        parent = self._parent
        if parent is None or attr.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")
        return getattr(parent, attr)

    def _is_observable(self):
        """True for a metric without label names and for a child, as in
        prometheus_client."""
        return self._observable

    def _is_parent(self):
        """True for a metric with label names (not a child)."""
        return bool(self._labelnames) and not self._labelvalues

    def _raise_if_not_observable(self):
        if not self._observable:
            raise ValueError(f"{self._type} metric is missing label values")

    def _view(self, m):
        """The family `m` read from the arena as this class shows it (the
        prometheus_client classes may leave samples out)."""
        return m

    def describe(self):
        """The family without samples, as prometheus_client's describe()."""
        return [Metric(self._name, self._documentation, self._type, self._unit)]

    def collect(self):
        """This metric's family read from the arena (every process's
        samples), as prometheus_client's collect(): a list of one Metric
        whose samples carry their exemplars, each series followed by its
        name_created sample (counters, histograms, summaries; left out
        under PROMETHEUS_DISABLE_CREATED_SERIES)."""
        name = self._name
        for fname, help_text, typ, mode, samples, unit in self._registry._collect(full=True):
            if fname != name:
                continue
            m = Metric(fname, help_text, typ, unit, multiprocess_mode=mode)
            with_created = not _created_disabled()
            out = []
            for i, (sname, labels, value, created, ex) in enumerate(samples):
                exemplar = Exemplar(*ex) if ex is not None else None
                out.append(Sample(sname, labels, value, None, exemplar))
                if with_created and created and (
                    i + 1 == len(samples) or _series_key(samples[i + 1][1]) != _series_key(labels)
                ):
                    out.append(Sample(f"{name}_created", dict(_series_key(labels)), created, None, None))
            m.samples = out
            return [self._view(m)]
        return [Metric(name, self._documentation, self._type, self._unit)]

    def remove_by_labels(self, labels):
        """Remove every label set (of any process) whose values match
        `labels`, a dict of some of the label names to values (converted
        with str()); an empty dict removes nothing.  As prometheus_client:
        ValueError for a metric without label names or a name that is not
        one of them, TypeError for labels that are not a dict."""
        if self._parent is not None:
            raise ValueError(f"{self} is a child: remove_by_labels() is a method of the metric itself")
        if not self._labelnames:
            raise ValueError(f"No label names were set when constructing {self}")
        if not isinstance(labels, dict):
            raise TypeError("labels must be a dict of {label_name: label_value}")
        if not labels:
            return
        invalid = [k for k in labels if k not in self._labelnames]
        if invalid:
            raise ValueError(f"Unknown label names: {invalid}; expected {self._labelnames}")
        want = {k: str(v) for k, v in labels.items()}
        names = self._labelnames
        found = set()
        for fname, _h, _t, _m, samples, _u in self._registry._collect():
            if fname != self._name:
                continue
            for _s, sample_labels, _v in samples:
                if all(sample_labels.get(k) == v for k, v in want.items()) and all(n in sample_labels for n in names):
                    found.add(tuple(sample_labels[n] for n in names))
        for values in sorted(found):
            try:
                self.remove(*values)
            except KeyError:  # another process removed it meanwhile
                pass

    def __str__(self):
        return f"{self._type}:{self._name}"

    def __repr__(self):
        cls = type(self)
        return f"{cls.__module__}.{cls.__name__}({self._name})"


class Counter(_MetricWrapper, _shmetrics.CounterBase):
    """A counter: Counter(name, documentation, labelnames=(), namespace='',
    subsystem='', unit='', registry=None, *, max_series=2000).  A name
    ending in _total is stored without it and exposed with it.
    inc(amount=1, exemplar=None) adds a non-negative amount; get() reads
    the series' total; reset() sets it to 0 (for every process).

    max_series (every class has it): the label sets the metric keeps;
    further ones fold into one series labelled otel_metric_overflow="true",
    and labels() warns (RuntimeWarning) the first time it sees that
    happen.  None: no limit."""

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
        *,
        max_series=MAX_SERIES_DEFAULT,
    ):
        self._setup(name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues,
                    max_series=max_series)

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
    'live' variants that count only processes still running.  A
    mostrecent gauge is only set: inc() and dec() raise RuntimeError, as
    in prometheus_client.

    min_interval_seconds (keyword): a rate-limited gauge; in each process
    a series takes at most one set() per interval, the others are dropped
    and counted in shmetrics_gauge_sets_dropped_total{metric=NAME}.  0: no
    limit."""

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
        *,
        min_interval_seconds=0,
        max_series=MAX_SERIES_DEFAULT,
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
            max_series=max_series,
            mode=_shmetrics.MODES[multiprocess_mode],
            min_interval_seconds=min_interval_seconds,
        )
        self._kwargs["multiprocess_mode"] = multiprocess_mode

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
        max_series=MAX_SERIES_DEFAULT,
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
        self._setup(name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues,
                    max_series=max_series, **spec)
        self._kwargs["buckets"] = buckets

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
        max_series=MAX_SERIES_DEFAULT,
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
            max_series=max_series,
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
        *,
        max_series=MAX_SERIES_DEFAULT,
    ):
        self._setup(name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues,
                    max_series=max_series)


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
        *,
        max_series=MAX_SERIES_DEFAULT,
    ):
        if name in labelnames:
            raise ValueError(f"Overlapping labels for Enum metric: {name}")
        if not states:
            raise ValueError(f"No states provided for Enum metric: {name}")
        self._states = list(states)
        self._setup(
            name, documentation, labelnames, namespace, subsystem, unit, registry, _labelvalues,
            max_series=max_series, states=self._states
        )
        self._kwargs["states"] = self._states
