# SPDX-License-Identifier: MIT
"""prometheus_client's registry model over arenas: CollectorRegistry (the
collectors a process exposes: its metrics, custom collectors, a target
info), REGISTRY, restricted registries, MultiProcessCollector and
mark_process_dead.

Where the values live.  A metric always lives in an arena.  In shared
mode (SHMETRICS_ARENA or PROMETHEUS_MULTIPROC_DIR set, as under
`python3 -m shmetrics.run`) every metric, whatever registry it is
registered in, lives in the default arena, as prometheus_client's
multiprocess mode keeps every value in PROMETHEUS_MULTIPROC_DIR; with
PROMETHEUS_MULTIPROC_DIR alone, the default arena is the file
shmetrics.arena in that directory (SHMETRICS_ARENA is set to it, so child
processes find it).  Otherwise (single-process mode) REGISTRY and each
CollectorRegistry keep their metrics in a private arena of their own, an
unlinked file only this process (and its forked children) maps, as
prometheus_client's registries are separate.

A CollectorRegistry reads its metrics' families from the arena (every
process's values, merged) and calls its other collectors; in shared mode
those are also published into the arena by shmetrics.callbacks, so that
`shmetrics serve` sees them.
"""

import os
import threading
import uuid

from . import callbacks
from .metrics_core import Metric
from .registry import Registry, default_registry
from .samples import sample_value

__all__ = [
    "CollectorRegistry",
    "DuplicateTimeseries",
    "MultiProcessCollector",
    "REGISTRY",
    "RestrictedRegistry",
    "default_arena",
    "mark_process_dead",
    "shared_mode",
]

ARENA_FILE = "shmetrics.arena"

_TYPE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}


def shared_mode():
    """True when metrics go to the shared default arena (SHMETRICS_ARENA
    or PROMETHEUS_MULTIPROC_DIR is set)."""
    return bool(os.environ.get("SHMETRICS_ARENA") or os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _multiproc_arena_path(directory):
    if not os.path.isdir(directory):
        raise ValueError(f"env PROMETHEUS_MULTIPROC_DIR is not set or not a directory: {directory!r}")
    return os.path.join(directory, ARENA_FILE)


def default_arena():
    """The shared default arena: SHMETRICS_ARENA, else shmetrics.arena in
    PROMETHEUS_MULTIPROC_DIR (SHMETRICS_ARENA is then set to it, for this
    process's children)."""
    if not os.environ.get("SHMETRICS_ARENA") and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["SHMETRICS_ARENA"] = _multiproc_arena_path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    return default_registry()


def _private_arena():
    path = f"/dev/shm/shmetrics-private-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    reg = Registry(path, exclusive=True, families=1024, series=4096, processes=64, gauges=1024)
    os.unlink(path)  # mapped by this process (and forked children) only
    reg._private = True
    return reg


def _is_arena_metric(collector):
    from .metrics import _MetricWrapper

    return isinstance(collector, _MetricWrapper)


class DuplicateTimeseries(ValueError):
    """A name registered twice in one CollectorRegistry (a ValueError, as
    prometheus_client's), with the names in question."""

    def __init__(self, duplicates):
        self.duplicates = duplicates
        super().__init__(f"Duplicated timeseries in CollectorRegistry: {duplicates}")


class CollectorRegistry:
    """CollectorRegistry(auto_describe=False, target_info=None): the
    collectors one process exposes, as prometheus_client's.

    register(collector) takes an object with collect() (and describe(), or
    auto_describe=True to call collect() instead) and raises ValueError
    "Duplicated timeseries in CollectorRegistry: {...}" when a name it
    produces is taken.  collect() yields the target info, then each
    collector's families in registration order."""

    def __init__(self, auto_describe=False, target_info=None, support_collectors_without_names=False):
        self._collector_to_names = {}
        self._names_to_collectors = {}
        self._auto_describe = auto_describe
        # With support_collectors_without_names, a collector that names
        # nothing (no describe(), or an empty one) is read by restricted
        # registries too, whose names it may yield.
        self._support_collectors_without_names = support_collectors_without_names
        self._collectors_without_names = []
        self._lock = threading.Lock()
        self._target_info = {}
        self._arena = None
        self.set_target_info(target_info)

    def _get_arena(self):
        """The arena this registry's metrics live in (opened on first use)."""
        if self._arena is None:
            with self._lock:
                if self._arena is None:
                    self._arena = default_arena() if shared_mode() else _private_arena()
        return self._arena

    def register(self, collector):
        """Add a collector; its names must be free in this registry."""
        with self._lock:
            names = self._get_names(collector)
            duplicates = set(self._names_to_collectors).intersection(names)
            if duplicates:
                raise DuplicateTimeseries(duplicates)
            for name in names:
                self._names_to_collectors[name] = collector
            self._collector_to_names[collector] = names
            if self._support_collectors_without_names and not names:
                self._collectors_without_names.append(collector)
        local = getattr(collector, "_shmetrics_local", False)  # the process_* and python_* collectors
        if not local and not _is_arena_metric(collector) and not isinstance(collector, MultiProcessCollector) \
                and shared_mode():
            callbacks.publish(self._get_arena(), collector)

    def _check_free(self, names):
        with self._lock:
            duplicates = set(self._names_to_collectors).intersection(names)
        if duplicates:
            raise DuplicateTimeseries(duplicates)

    def unregister(self, collector):
        """Remove a collector (KeyError if it is not registered).  A metric's
        values stay in the arena."""
        with self._lock:
            for name in self._collector_to_names[collector]:
                del self._names_to_collectors[name]
            del self._collector_to_names[collector]
            if collector in self._collectors_without_names:
                self._collectors_without_names.remove(collector)
        callbacks.unpublish(collector)

    def _get_names(self, collector):
        desc = getattr(collector, "describe", None)
        if not desc and self._auto_describe:
            desc = collector.collect
        if not desc:
            return []
        result = []
        for metric in desc():
            result.append(metric.name)
            result.extend(metric.name + s for s in _TYPE_SUFFIXES.get(metric.type, ()))
        return result

    def collect(self):
        """Yield every family: the target info, then each collector's, in
        registration order.  Metrics are read from the arena in one
        snapshot per arena (every process's values)."""
        with self._lock:
            collectors = list(self._collector_to_names)
            ti = self._target_info_metric() if self._target_info else None
        if ti:
            yield ti
        yield from _collect(collectors, self)

    def restricted_registry(self, names):
        """An object whose collect() yields only the samples named in `names`."""
        return RestrictedRegistry(names, self)

    def set_target_info(self, labels):
        with self._lock:
            if labels:
                if not self._target_info and "target_info" in self._names_to_collectors:
                    raise ValueError("CollectorRegistry already contains a target_info metric")
                self._names_to_collectors["target_info"] = None
            elif self._target_info:
                self._names_to_collectors.pop("target_info", None)
            self._target_info = labels

    def get_target_info(self):
        with self._lock:
            return self._target_info

    def _target_info_metric(self):
        m = Metric("target", "Target metadata", "info")
        m.add_sample("target_info", self._target_info, 1)
        return m

    def get_sample_value(self, name, labels=None):
        """The value of one sample, or None (meant for tests)."""
        return sample_value(self.collect(), name, labels)


def _created_wanted():
    return os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "").lower() not in ("true", "1", "t")


def _collect(collectors, registry):
    """The families of `collectors`: arena metrics from one snapshot of
    each arena (with their _created samples, as prometheus_client's metric
    objects have, unless PROMETHEUS_DISABLE_CREATED_SERIES is true), the
    MultiProcessCollector's without them (as prometheus_client's
    multiprocess mode), the others by calling collect()."""
    snapshots = {}

    def families(arena, created=False):
        got = snapshots.get((id(arena), created))
        if got is None:
            got = snapshots[(id(arena), created)] = {m.name: m for m in arena.collect(created=created)}
        return got

    claimed = set(registry._names_to_collectors) if registry is not None else set()
    created = _created_wanted()
    for collector in collectors:
        if _is_arena_metric(collector):
            m = families(collector._registry, created).get(collector._name)
            if m is not None:
                yield collector._view(m)
        elif isinstance(collector, MultiProcessCollector):
            for m in collector._families(families):
                if m.name not in claimed:
                    yield m
        else:
            yield from collector.collect()


class RestrictedRegistry:
    """What restricted_registry(names) returns: collect() yields the
    families of the registry cut to the samples named in `names` (the
    target info as 'target_info')."""

    def __init__(self, names, registry):
        self._name_set = set(names)
        self._registry = registry

    def collect(self):
        reg = self._registry
        names = set(self._name_set)
        with reg._lock:
            if "target_info" in names and reg._target_info:
                ti = reg._target_info_metric()
            else:
                ti = None
            wanted = []
            for collector, cnames in reg._collector_to_names.items():
                # The MultiProcessCollector (no names) is read too, cut to the
                # names, and so are collectors without names where the
                # registry was made to support them.
                if isinstance(collector, MultiProcessCollector) or names.intersection(cnames) or \
                        collector in reg._collectors_without_names:
                    wanted.append(collector)
        if ti:
            yield ti
        for metric in _collect(wanted, reg):
            m = metric._restricted_metric(self._name_set)
            if m:
                yield m


class MultiProcessCollector:
    """MultiProcessCollector(registry, path=None): every family of the
    shared arena, every process's values merged, registered in `registry`
    (None: not registered).  path: PROMETHEUS_MULTIPROC_DIR's default; a
    directory means the arena shmetrics.arena in it, a file an arena; no
    path and neither PROMETHEUS_MULTIPROC_DIR nor SHMETRICS_ARENA set is a
    ValueError, as in prometheus_client.  Families that another collector
    of the same registry produces are left to that collector."""

    def __init__(self, registry, path=None):
        if path is None:
            path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if path is None and not os.environ.get("SHMETRICS_ARENA"):
            raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory "
                             "(nor SHMETRICS_ARENA: shmetrics reads the arena it names)")
        if path is not None:
            path = _multiproc_arena_path(path) if not os.path.isfile(path) else path
        self._path = path
        self._arena = None
        if registry is not None:
            registry.register(self)

    def _open(self):
        if self._arena is None:
            env = os.environ.get("SHMETRICS_ARENA")
            if self._path is None or (env and os.path.realpath(env) == os.path.realpath(self._path)):
                self._arena = default_arena()
            elif os.path.exists(self._path):
                self._arena = Registry(self._path, readonly=True)
        return self._arena

    def _families(self, families):
        arena = self._open()
        return list(families(arena).values()) if arena is not None else []

    def collect(self):
        arena = self._open()
        return arena.collect() if arena is not None else []


def mark_process_dead(pid, path=None):
    """prometheus_client's mark_process_dead(pid, path=None).  In an arena a
    process's gauge values carry its pid and start time, and the live modes
    (liveall, livesum, livemin, livemax, livemostrecent) leave out a
    process that is gone (the next writer to attach reclaims its slot), so
    there is nothing to remove: this only checks its arguments (TypeError
    for a pid that is not an int; ValueError for a path that is not a
    directory)."""
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise TypeError(f"pid must be an int, not {type(pid).__name__}")
    if path is None:
        path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path is not None and not os.path.isdir(path) and not os.path.isfile(path):
        raise ValueError(f"env PROMETHEUS_MULTIPROC_DIR is not set or not a directory: {path!r}")


REGISTRY = CollectorRegistry(auto_describe=True)
REGISTRY._is_default = True
