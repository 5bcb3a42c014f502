# SPDX-License-Identifier: MIT
"""prometheus_client.registry on shmetrics."""

from ..collectors import REGISTRY, CollectorRegistry, DuplicateTimeseries, RestrictedRegistry


class Collector:
    """The shape a custom collector has: collect() yields Metric objects;
    describe() (optional) yields them without samples."""

    def collect(self):
        raise NotImplementedError

    def describe(self):
        return []


__all__ = ["Collector", "CollectorRegistry", "DuplicateTimeseries", "REGISTRY", "RestrictedRegistry"]
