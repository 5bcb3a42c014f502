# SPDX-License-Identifier: MIT
"""prometheus_client.gc_collector on shmetrics."""

from ..process_collectors import GCCollector
from . import GC_COLLECTOR

__all__ = ["GC_COLLECTOR", "GCCollector"]
