# SPDX-License-Identifier: MIT
"""prometheus_client.core on shmetrics: metrics, families, registry."""

from ..collectors import REGISTRY, CollectorRegistry
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
from ..samples import Exemplar, Sample, Timestamp
from .metrics import Counter, Enum, Gauge, Histogram, Info, Summary

__all__ = [
    "CollectorRegistry", "Counter", "CounterMetricFamily", "Enum", "Exemplar", "Gauge", "GaugeHistogramMetricFamily",
    "GaugeMetricFamily", "Histogram", "HistogramMetricFamily", "Info", "InfoMetricFamily", "Metric", "REGISTRY",
    "Sample", "StateSetMetricFamily", "Summary", "SummaryMetricFamily", "Timestamp", "UnknownMetricFamily",
    "UntypedMetricFamily",
]
