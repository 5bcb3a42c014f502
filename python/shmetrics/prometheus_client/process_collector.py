# SPDX-License-Identifier: MIT
"""prometheus_client.process_collector on shmetrics."""

from ..process_collectors import ProcessCollector
from . import PROCESS_COLLECTOR

__all__ = ["PROCESS_COLLECTOR", "ProcessCollector"]
