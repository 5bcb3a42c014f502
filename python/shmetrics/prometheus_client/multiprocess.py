# SPDX-License-Identifier: MIT
"""prometheus_client.multiprocess on shmetrics: the arena is the shared
state (shmetrics.collectors)."""

from ..collectors import MultiProcessCollector, mark_process_dead

__all__ = ["MultiProcessCollector", "mark_process_dead"]
