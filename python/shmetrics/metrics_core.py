# SPDX-License-Identifier: MIT
"""Metric families as prometheus_client builds them (its metrics_core):
Metric, what registries' collect() returns and custom collectors yield,
and the family classes custom collectors fill (CounterMetricFamily,
GaugeMetricFamily, ...), with prometheus_client's constructors, add_metric
signatures and errors."""

import re

from . import escaping
from .samples import Sample

__all__ = [
    "CounterMetricFamily",
    "GaugeHistogramMetricFamily",
    "GaugeMetricFamily",
    "HistogramMetricFamily",
    "InfoMetricFamily",
    "Metric",
    "StateSetMetricFamily",
    "SummaryMetricFamily",
    "UnknownMetricFamily",
    "UntypedMetricFamily",
]

METRIC_TYPES = ("counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset")
METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
METRIC_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_METRIC_LABEL_NAME_RE = re.compile(r"^__.*$")


class Metric:
    """One metric family and its samples: Metric(name, documentation, typ,
    unit='').  A unit the name does not end with is appended; 'untyped' is
    'unknown'.  ValueError for a bad name or type.  Families read from an
    arena also carry multiprocess_mode (a gauge's mode, else None)."""

    def __init__(self, name, documentation, typ, unit="", multiprocess_mode=None):
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        if not name or (escaping.legacy_validation() and not METRIC_NAME_RE.match(name)):
            raise ValueError("Invalid metric name: " + name)
        if typ == "untyped":
            typ = "unknown"
        if typ not in METRIC_TYPES:
            raise ValueError("Invalid metric type: " + typ)
        self.name = name
        self.documentation = documentation
        self.unit = unit
        self.type = typ
        self.multiprocess_mode = multiprocess_mode
        self.samples = []

    def add_sample(self, name, labels, value, timestamp=None, exemplar=None, native_histogram=None):
        self.samples.append(Sample(name, labels, value, timestamp, exemplar, native_histogram))

    def as_dict(self):
        """The family as plain data (for JSON, logs, tests)."""
        return {
            "name": self.name,
            "documentation": self.documentation,
            "type": self.type,
            "unit": self.unit,
            "multiprocess_mode": self.multiprocess_mode,
            "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in self.samples],
        }

    def __eq__(self, other):
        return (
            isinstance(other, Metric)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    def __repr__(self):
        return f"Metric({self.name!r}, {self.documentation!r}, {self.type!r}, {self.unit!r}, samples={self.samples!r})"

    def _restricted_metric(self, names):
        """A copy holding only the samples named in `names`, or None."""
        samples = [s for s in self.samples if s.name in names]
        if not samples:
            return None
        m = Metric(self.name, self.documentation, self.type, self.unit, self.multiprocess_mode)
        m.samples = samples
        return m


class _Family(Metric):
    """What the custom-collector families share: value= and labels= are
    exclusive; labels= names the label values add_metric() takes."""

    def _init_labels(self, labels, value):
        if labels is not None and value is not None:
            raise ValueError("Can only specify at most one of value and labels.")
        self._labelnames = tuple(labels or ())

    def _labels(self, values, *extra):
        return dict(list(zip(self._labelnames, values)) + list(extra))


class UnknownMetricFamily(_Family):
    """UnknownMetricFamily(name, documentation, value=None, labels=None, unit='')."""

    def __init__(self, name, documentation, value=None, labels=None, unit=""):
        Metric.__init__(self, name, documentation, "unknown", unit)
        self._init_labels(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels, value, timestamp=None):
        self.samples.append(Sample(self.name, self._labels(labels), value, timestamp))


UntypedMetricFamily = UnknownMetricFamily


class CounterMetricFamily(_Family):
    """CounterMetricFamily(name, documentation, value=None, labels=None,
    created=None, unit='', exemplar=None): named without _total, its
    samples with it."""

    def __init__(self, name, documentation, value=None, labels=None, created=None, unit="", exemplar=None):
        if name.endswith("_total"):
            name = name[: -len("_total")]
        Metric.__init__(self, name, documentation, "counter", unit)
        self._init_labels(labels, value)
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(self, labels, value, created=None, timestamp=None, exemplar=None):
        lv = self._labels(labels)
        self.samples.append(Sample(self.name + "_total", lv, value, timestamp, exemplar))
        if created is not None:
            self.samples.append(Sample(self.name + "_created", dict(lv), created, timestamp))


class GaugeMetricFamily(_Family):
    """GaugeMetricFamily(name, documentation, value=None, labels=None, unit='')."""

    def __init__(self, name, documentation, value=None, labels=None, unit=""):
        Metric.__init__(self, name, documentation, "gauge", unit)
        self._init_labels(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels, value, timestamp=None):
        self.samples.append(Sample(self.name, self._labels(labels), value, timestamp))


class SummaryMetricFamily(_Family):
    """SummaryMetricFamily(name, documentation, count_value=None,
    sum_value=None, labels=None, unit='')."""

    def __init__(self, name, documentation, count_value=None, sum_value=None, labels=None, unit=""):
        Metric.__init__(self, name, documentation, "summary", unit)
        if (sum_value is None) != (count_value is None):
            raise ValueError("count_value and sum_value must be provided together.")
        self._init_labels(labels, count_value)
        if count_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(self, labels, count_value, sum_value, timestamp=None):
        self.samples.append(Sample(self.name + "_count", self._labels(labels), count_value, timestamp))
        self.samples.append(Sample(self.name + "_sum", self._labels(labels), sum_value, timestamp))


class HistogramMetricFamily(_Family):
    """HistogramMetricFamily(name, documentation, buckets=None,
    sum_value=None, labels=None, unit=''); buckets are (le, cumulative
    count[, exemplar]) with +Inf last."""

    def __init__(self, name, documentation, buckets=None, sum_value=None, labels=None, unit=""):
        Metric.__init__(self, name, documentation, "histogram", unit)
        if sum_value is not None and buckets is None:
            raise ValueError("sum value cannot be provided without buckets.")
        self._init_labels(labels, buckets)
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(self, labels, buckets, sum_value, timestamp=None):
        for b in buckets:
            exemplar = b[2] if len(b) == 3 else None
            self.samples.append(Sample(self.name + "_bucket", self._labels(labels, ("le", b[0])), b[1], timestamp,
                                       exemplar))
        # _count and _sum only when no bucket is negative (as prometheus_client);
        # no bucket at all (+Inf is required) is an error: buckets[0] raises.
        if float(buckets[0][0]) >= 0 and sum_value is not None:
            self.samples.append(Sample(self.name + "_count", self._labels(labels), buckets[-1][1], timestamp))
            self.samples.append(Sample(self.name + "_sum", self._labels(labels), sum_value, timestamp))


class GaugeHistogramMetricFamily(_Family):
    """GaugeHistogramMetricFamily(name, documentation, buckets=None,
    gsum_value=None, labels=None, unit='')."""

    def __init__(self, name, documentation, buckets=None, gsum_value=None, labels=None, unit=""):
        Metric.__init__(self, name, documentation, "gaugehistogram", unit)
        self._init_labels(labels, buckets)
        if buckets is not None:
            self.add_metric([], buckets, gsum_value)

    def add_metric(self, labels, buckets, gsum_value, timestamp=None):
        for le, value in buckets:
            self.samples.append(Sample(self.name + "_bucket", self._labels(labels, ("le", le)), value, timestamp))
        self.samples.append(Sample(self.name + "_gcount", self._labels(labels), buckets[-1][1], timestamp))
        self.samples.append(Sample(self.name + "_gsum", self._labels(labels), gsum_value, timestamp))


class InfoMetricFamily(_Family):
    """InfoMetricFamily(name, documentation, value=None, labels=None):
    value is a dict of label pairs; the sample is name_info."""

    def __init__(self, name, documentation, value=None, labels=None):
        Metric.__init__(self, name, documentation, "info")
        self._init_labels(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels, value, timestamp=None):
        self.samples.append(Sample(self.name + "_info", dict(self._labels(labels), **value), 1, timestamp))


class StateSetMetricFamily(_Family):
    """StateSetMetricFamily(name, documentation, value=None, labels=None):
    value maps state names to booleans; one sample per state, sorted."""

    def __init__(self, name, documentation, value=None, labels=None):
        Metric.__init__(self, name, documentation, "stateset")
        self._init_labels(labels, value)
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels, value, timestamp=None):
        for state, enabled in sorted(value.items()):
            self.samples.append(Sample(self.name, self._labels(labels, (self.name, state)), 1 if enabled else 0,
                                       timestamp))
