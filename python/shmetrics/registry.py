# SPDX-License-Identifier: MIT
"""Registries (arenas), the default registry, and reading metrics back.

A Registry is this process's handle on one shmetrics arena, a file under
/dev/shm shared by every process that opens it.  collect() returns Metric
objects shaped like prometheus_client's (name, documentation, type, unit,
samples of Sample(name, labels, value, timestamp, exemplar)).
"""

import threading

from . import _shmetrics
from . import callbacks as _callbacks  # set_function values, refreshed before a read
from .metrics_core import Metric
from .samples import Exemplar, Sample, sample_value

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metric",
    "Registry",
    "Sample",
    "default_registry",
    "generate_latest",
    "start_http_server",
]

CONTENT_TYPE_LATEST = _shmetrics.content_type("prometheus")


class Registry(_shmetrics.Arena):
    """Registry(path, create=None, readonly=False, exclusive=False, *, families=0,
    series=0, processes=0, shards=0, cells=0, mode=0, gauges=0, allow_foreign=False)

    Open the arena at `path`, creating it if it is missing (create=None
    creates unless readonly=True); a name without '/' lives under /dev/shm.
    A read-only registry is a collector's: it reads, it cannot register.  Capacities of 0 take the library's defaults when
    creating and accept any existing arena when attaching.  Errors are
    OSError subclasses carrying the errno (FileNotFoundError,
    FileExistsError, PermissionError, ...) or ValueError for bad options.

    A writer (readonly=False) refuses, with PermissionError (errno EPERM), an
    arena file that another user owns or that its group or every user may
    write to, and with OSError ELOOP a symbolic link at `path`: another
    user could have made it to read or alter this process's metrics.
    allow_foreign=True, or SHMETRICS_ALLOW_FOREIGN_ARENA=1 in the
    environment, accepts such a file (not a link); so does a `mode` whose
    group/other write bits cover the file's, for a file of this user's own.
    """

    def collect(self, at_ns=None, created=False):
        """Every metric family of the arena, merged over processes and CPUs,
        as a list of Metric objects in registration order.  This process's
        Gauge.set_function callbacks run first (their values are fresh).
        created=True adds prometheus_client's name_created sample (the
        series' creation time, seconds since the epoch) after each series
        of a counter, histogram or summary."""
        _callbacks.refresh()
        out = []
        for name, help_text, typ, mode, samples, unit in self._collect(at_ns, full=True):
            m = Metric(name, help_text, typ, unit, multiprocess_mode=mode)
            if created and typ in ("counter", "histogram", "summary"):
                m.samples = _with_created(name, samples)
            else:
                m.samples = [_sample(*s) for s in samples]
            out.append(m)
        return out

    def get_sample_value(self, name, labels=None):
        """The value of one sample (e.g. 'requests_total' with its labels),
        or None when there is no such sample; as prometheus_client's."""
        return sample_value(self.collect(), name, labels)

    def __reduce__(self):
        # Pickled (e.g. as an argument of a spawned process): the other
        # process opens the same arena by path.
        return _reopen, (self.path, self.readonly, self.is_default, self.allow_foreign)

    def __enter__(self):
        return self

    def __exit__(self, typ, value, traceback):
        if not self.is_default:
            self.close()
        return False

    def __repr__(self):
        state = "closed" if self.closed else "open"
        return f"<shmetrics.Registry {self.path!r} {state}>"


def _sample(name, labels, value, created=0, ex=None):
    """A Sample from the extension's full tuple, with its exemplar."""
    return Sample(name, labels, value, None, Exemplar(*ex) if ex is not None else None)


def _with_created(family, samples):
    """Samples grouped by series (labels but le and quantile), in
    prometheus_client's order, each series followed by its family_created
    sample when it has a creation time."""
    series = {}
    for name, labels, value, created, ex in samples:
        key = tuple((k, v) for k, v in labels.items() if k not in ("le", "quantile"))
        group = series.get(key)
        if group is None:
            group = series[key] = [created, []]
        group[1].append(_sample(name, labels, value, created, ex))
    out = []
    last = {family + "_count": 1, family + "_sum": 2}  # prometheus_client's order: ..., _count, _sum
    for key, (created, group) in series.items():
        out.extend(sorted(group, key=lambda s: last.get(s.name, 0)))
        if created:
            out.append(Sample(family + "_created", dict(key), created))
    return out


_default = None
_default_lock = threading.Lock()


def _reopen(path, readonly, is_default, allow_foreign=False):
    if is_default:
        return default_registry()
    return Registry(path, readonly=readonly, allow_foreign=allow_foreign)


def default_registry():
    """The process's default registry: the arena named by SHMETRICS_ARENA
    (created if missing), attached on first use.  OSError when the variable
    is unset or the arena cannot be opened; set SHMETRICS_ARENA before the
    first metric is made."""
    global _default
    reg = _default
    if reg is None:
        with _default_lock:
            if _default is None:
                _default = _shmetrics.default_arena(Registry)
            reg = _default
    return reg


def generate_latest(registry=None):
    """The Prometheus text exposition (0.0.4) of a registry, bytes, encoded
    by the C library."""
    reg = registry if registry is not None else default_registry()
    if isinstance(reg, Registry):
        _callbacks.refresh()
        return reg.expose("prometheus")
    # A CollectorRegistry (custom collectors): prometheus_client's encoder.
    from .exposition import generate_latest as encode

    return encode(reg)


def start_http_server(port, addr="0.0.0.0", registry=None, threads=0, web_config_file=None, max_connections=0,
                      max_connections_per_address=0, request_timeout=0):
    """Serve a registry over HTTP from C threads (GET /metrics, /healthz),
    as prometheus_client's start_http_server; returns the running Server
    (.port, .scheme, .stop()).  Port 0 picks a free port.

    web_config_file: a web configuration file in the format of Prometheus'
    exporters (tls_server_config, basic_auth_users, http_server_config),
    read at start: https, client certificates and basic auth on every
    path.  A bad file raises ValueError naming its line.

    max_connections, max_connections_per_address, request_timeout
    (seconds): the defences against connection floods (docs/collector.md);
    0 means the default (1024, 256, 10 s)."""
    reg = registry if registry is not None else default_registry()
    host = f"[{addr}]" if ":" in addr else addr
    return reg.serve(f"{host}:{int(port)}", threads, web_config_file, max_connections, max_connections_per_address,
                     request_timeout)
