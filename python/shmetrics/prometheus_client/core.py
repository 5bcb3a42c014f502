# SPDX-License-Identifier: MIT
"""prometheus_client.core on shmetrics: metrics, families, registry."""

from ..collectors import REGISTRY, CollectorRegistry, DuplicateTimeseries
from ..metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
    UntypedMetricFamily,
)
from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from .metrics import Counter, Enum, Gauge, Histogram, Info, Summary

__all__ = [
    "BucketSpan", "CollectorRegistry", "Counter", "DuplicateTimeseries", "NativeHistogram", "CounterMetricFamily", "Enum", "Exemplar", "Gauge", "GaugeHistogramMetricFamily",
    "GaugeMetricFamily", "Histogram", "HistogramMetricFamily", "Info", "InfoMetricFamily", "Metric", "REGISTRY",
    "Sample", "StateSetMetricFamily", "Summary", "SummaryMetricFamily", "Timestamp", "UnknownMetricFamily",
    "UntypedMetricFamily",
]
