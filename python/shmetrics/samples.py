# SPDX-License-Identifier: MIT
"""Samples as prometheus_client shapes them: Sample, Exemplar and the
nanosecond Timestamp (prometheus_client.samples)."""

from typing import Dict, NamedTuple, Optional, Sequence, Union

__all__ = ["BucketSpan", "Exemplar", "NativeHistogram", "Sample", "Timestamp"]


class Timestamp:
    """A time with nanosecond resolution: Timestamp(sec, nsec), nsec in
    [0, 1e9).  float() gives seconds; str() gives 'sec.nnnnnnnnn'."""

    def __init__(self, sec, nsec):
        if nsec < 0 or nsec >= 1e9:
            raise ValueError(f"Invalid value for nanoseconds in Timestamp: {nsec}")
        self.sec = int(sec)
        self.nsec = int(-nsec if sec < 0 else nsec)

    def __str__(self):
        return f"{self.sec}.{self.nsec:09d}"

    def __repr__(self):
        return f"Timestamp({self.sec}, {self.nsec})"

    def __float__(self):
        return self.sec + self.nsec / 1e9

    def _key(self):
        return (self.sec, self.nsec)

    def __eq__(self, other):
        return type(self) is type(other) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __gt__(self, other):
        return self._key() > other._key()

    def __lt__(self, other):
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())


class Exemplar(NamedTuple):
    """An exemplar: its labels, value and optional time."""

    labels: Dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None


class BucketSpan(NamedTuple):
    """A run of native histogram buckets: `offset` buckets after the
    previous run, `length` buckets long."""

    offset: int
    length: int


class NativeHistogram(NamedTuple):
    """A native histogram's value, as prometheus_client's (a custom
    collector may give one; the exposition formats of this module write
    the classic samples only, as prometheus_client's text formats)."""

    count_value: float
    sum_value: float
    schema: int
    zero_threshold: float
    zero_count: float
    pos_spans: Optional[Sequence[BucketSpan]] = None
    neg_spans: Optional[Sequence[BucketSpan]] = None
    pos_deltas: Optional[Sequence[int]] = None
    neg_deltas: Optional[Sequence[int]] = None
    nh_exemplars: Optional[Sequence[Exemplar]] = None


class Sample(NamedTuple):
    """One sample of a family."""

    name: str
    labels: Dict[str, str]
    value: float
    timestamp: Optional[Union[float, Timestamp]] = None
    exemplar: Optional[Exemplar] = None
    native_histogram: Optional[NativeHistogram] = None


def sample_value(metrics, name, labels=None):
    """The value of the sample `name` with exactly `labels` (None: none)
    among `metrics` (Metric objects), or None: get_sample_value of both
    registries."""
    labels = labels or {}
    for metric in metrics:
        for s in metric.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return None
