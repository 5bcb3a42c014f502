# SPDX-License-Identifier: MIT
"""prometheus_client.platform_collector on shmetrics."""

from ..process_collectors import PlatformCollector
from . import PLATFORM_COLLECTOR

__all__ = ["PLATFORM_COLLECTOR", "PlatformCollector"]
