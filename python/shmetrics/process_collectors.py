# SPDX-License-Identifier: MIT
"""prometheus_client's default collectors of its REGISTRY, for this
process only: process_* (from /proc/self), python_info and python_gc_*.
They are never published into the arena: `shmetrics serve` reports the
process_* families of every worker itself."""

import gc
import os
import platform
import resource

from .metrics_core import CounterMetricFamily, GaugeMetricFamily

__all__ = ["GCCollector", "PlatformCollector", "ProcessCollector"]


class ProcessCollector:
    """process_cpu_seconds_total, process_virtual_memory_bytes,
    process_resident_memory_bytes, process_start_time_seconds,
    process_open_fds, process_max_fds of this process (Linux /proc)."""

    _shmetrics_local = True

    def __init__(self, namespace="", pid=lambda: "self", proc="/proc", registry=None):
        self._prefix = namespace + "_process_" if namespace else "process_"
        self._pid = pid
        self._proc = proc
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._pagesize = resource.getpagesize()
        if registry is not None:
            registry.register(self)

    def _boot_time(self):
        with open(os.path.join(self._proc, "stat"), "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
        return 0.0

    def collect(self):
        pid = os.path.join(self._proc, str(self._pid()))
        try:
            with open(os.path.join(pid, "stat"), "rb") as f:
                parts = f.read().split(b")")[-1].split()
        except OSError:
            return []
        p = self._prefix
        out = [
            GaugeMetricFamily(p + "virtual_memory_bytes", "Virtual memory size in bytes.", value=float(parts[20])),
            GaugeMetricFamily(p + "resident_memory_bytes", "Resident memory size in bytes.",
                              value=float(parts[21]) * self._pagesize),
            GaugeMetricFamily(p + "start_time_seconds", "Start time of the process since unix epoch in seconds.",
                              value=float(parts[19]) / self._ticks + self._boot_time()),
            CounterMetricFamily(p + "cpu_seconds", "Total user and system CPU time spent in seconds.",
                                value=(float(parts[11]) + float(parts[12])) / self._ticks),
        ]
        try:
            out.append(GaugeMetricFamily(p + "open_fds", "Number of open file descriptors.",
                                         value=len(os.listdir(os.path.join(pid, "fd")))))
            with open(os.path.join(pid, "limits"), "rb") as f:
                for line in f:
                    if line.startswith(b"Max open files"):
                        out.append(GaugeMetricFamily(p + "max_fds", "Maximum number of open file descriptors.",
                                                     value=float(line.split()[3])))
        except OSError:
            pass
        return out


class PlatformCollector:
    """python_info{implementation, major, minor, patchlevel, version} 1
    (a gauge family named python_info, as prometheus_client's)."""

    _shmetrics_local = True

    def __init__(self, registry=None, platform=platform):
        from .metrics_core import Metric

        self._metric = Metric("python_info", "Python platform information", "gauge")  # as prometheus_client
        major, minor, patch = platform.python_version_tuple()
        self._metric.add_sample("python_info", {
            "implementation": platform.python_implementation(), "major": major, "minor": minor,
            "patchlevel": patch, "version": platform.python_version()}, 1)
        if registry is not None:
            registry.register(self)

    def collect(self):
        return [self._metric]


class GCCollector:
    """python_gc_objects_collected, python_gc_objects_uncollectable and
    python_gc_collections, by generation."""

    _shmetrics_local = True

    def __init__(self, registry=None):
        if registry is not None:
            registry.register(self)

    def collect(self):
        collected = CounterMetricFamily("python_gc_objects_collected", "Objects collected during gc",
                                        labels=["generation"])
        uncollectable = CounterMetricFamily("python_gc_objects_uncollectable", "Uncollectable objects found during GC",
                                            labels=["generation"])
        collections = CounterMetricFamily("python_gc_collections",
                                          "Number of times this generation was collected", labels=["generation"])
        for gen, stat in enumerate(gc.get_stats()):
            collected.add_metric([str(gen)], value=stat["collected"])
            uncollectable.add_metric([str(gen)], value=stat["uncollectable"])
            collections.add_metric([str(gen)], value=stat["collections"])
        return [collected, uncollectable, collections]
