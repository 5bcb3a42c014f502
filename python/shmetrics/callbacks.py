# SPDX-License-Identifier: MIT
"""Values computed by callbacks, in the process that made them:
Gauge.set_function and the custom collectors registered in a
CollectorRegistry (shmetrics.collectors).

A collector that reads the arena from another process (`shmetrics serve`)
cannot call a Python function of this one, so a daemon thread of this
process, the publisher, calls them every PERIOD seconds and writes what
they return into the arena: a set_function gauge is set() to f(); a custom
collector's families become arena metrics of the same name (see
publish()).  A read in this process (generate_latest, collect) calls them
first, so it always sees fresh values.  The publisher starts with the
first callback on a shared arena, and a forked child has none: callbacks
run in the process that registered them.  SHMETRICS_PUBLISH_INTERVAL
(seconds, default 1) sets the period.
"""

import math
import os
import threading
import time

__all__ = ["PERIOD", "publish", "publisher_stats", "refresh", "set_function", "unpublish"]


def _period():
    raw = os.environ.get("SHMETRICS_PUBLISH_INTERVAL", "1")
    try:
        p = float(raw)
    except ValueError:
        p = math.nan
    if not (0.01 <= p <= 3600):
        raise ValueError(f"SHMETRICS_PUBLISH_INTERVAL={raw!r}: a number of seconds from 0.01 to 3600 is needed")
    return p


PERIOD = _period()

_lock = threading.Lock()
_functions = {}  # id(gauge) -> (gauge, f)
_collectors = {}  # id(collector) -> [arena, collector, {family name: state}]
_thread = None
_stats = {"cycles": 0, "last_seconds": 0.0, "errors": 0, "last_error": None}


def _after_fork_in_child():
    global _lock, _thread
    _lock = threading.Lock()
    _functions.clear()
    _collectors.clear()
    _thread = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _shared(arena):
    return not getattr(arena, "_private", False)


def _ensure_thread():
    global _thread
    with _lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="shmetrics-publisher", daemon=True)
            _thread.start()


def set_function(gauge, f):
    """Gauge.set_function(f): the gauge's value is f(), called when this
    process reads the arena and every PERIOD seconds by the publisher (so
    other processes' collectors see it).  The value f() returns first is
    set now; TypeError for an f that is not callable."""
    gauge._raise_if_not_observable()
    if not callable(f):
        raise TypeError(f"set_function needs a callable, not {type(f).__name__}")
    gauge.set(f())
    with _lock:
        _functions[id(gauge)] = (gauge, f)
    if _shared(gauge._registry):
        _ensure_thread()


def refresh():
    """Set every set_function gauge of this process to its function's value
    (a function's exception goes to the caller)."""
    if not _functions:
        return
    for gauge, f in _live_functions():
        gauge.set(f())


def _live_functions():
    """The set_function pairs whose registry is still open (the others are
    dropped)."""
    with _lock:
        for key, (gauge, _) in list(_functions.items()):
            if gauge._registry.closed:
                del _functions[key]
        return list(_functions.values())


def publish(arena, collector):
    """Publish a custom collector's families into `arena` every PERIOD
    seconds, until unpublish(collector)."""
    if not _shared(arena):
        return
    with _lock:
        _collectors.setdefault(id(collector), [arena, collector, {}])
    _ensure_thread()


def unpublish(collector):
    """Stop publishing a collector; the labelled series it published leave
    the arena (an unlabelled one stays: an arena keeps a metric's one
    series)."""
    with _lock:
        entry = _collectors.pop(id(collector), None)
    if entry is not None and not entry[0].closed:
        for m, _ in entry[2].values():
            if m._labelnames:
                m.clear()


def publisher_stats():
    """The publisher's counts: cycles run, the seconds the last one took,
    errors (callbacks that raised, families that could not be written) and
    the last error's message."""
    return dict(_stats)


def _error(e):
    _stats["errors"] += 1
    _stats["last_error"] = f"{type(e).__name__}: {e}"


def publish_now():
    """One publisher cycle, in the calling thread."""
    start = time.perf_counter()
    functions = _live_functions()
    with _lock:
        collectors = [list(c) for c in _collectors.values() if not c[0].closed]
    for gauge, f in functions:
        try:
            gauge.set(f())
        except Exception as e:  # the callback's own failure: counted, the others go on
            _error(e)
    for arena, collector, state in collectors:
        try:
            families = list(collector.collect())
        except Exception as e:
            _error(e)
            continue
        for fam in families:
            try:
                _write_family(arena, fam, state)
            except Exception as e:
                _error(e)
    _stats["cycles"] += 1
    _stats["last_seconds"] = time.perf_counter() - start


def _run():
    while True:
        time.sleep(PERIOD)
        publish_now()


# ------------------------------------------------------ families into the arena

_SUFFIX = {"counter": "_total", "gauge": "", "unknown": "", "info": "_info", "stateset": ""}


def _metric_for(arena, fam, labelnames, state, extra=None):
    """The arena metric a family is written to, made once per family and
    kept in `state` (a refused registration raises each cycle)."""
    from .metrics import Counter, Enum, Gauge, Info

    key = (fam.name, fam.type, labelnames, extra)
    got = state.get(key)
    if got is not None:
        return got
    if fam.type == "counter":
        m = Counter(fam.name, fam.documentation, labelnames, unit=fam.unit, registry=arena)
    elif fam.type == "info":
        m = Info(fam.name, fam.documentation, labelnames, registry=arena)
    elif fam.type == "stateset":
        m = Enum(fam.name, fam.documentation, labelnames, registry=arena, states=list(extra))
    else:
        m = Gauge(fam.name, fam.documentation, labelnames, unit=fam.unit, registry=arena,
                  multiprocess_mode="livemostrecent")
    got = state[key] = (m, {})
    return got


def _child(m, labelnames, labels):
    return m.labels(*[labels[n] for n in labelnames]) if labelnames else m


def _write_family(arena, fam, state):
    """Counters: the increase since the last cycle is added (a value lower
    than the last one is a restart: it is added whole).  Gauges and unknown:
    a livemostrecent gauge set to the value.  Info: info(); stateset: the
    state whose value is 1.  Histograms, summaries and gauge histograms:
    each sample as a livemostrecent gauge named as the sample."""
    typ = fam.type
    if typ in ("counter", "gauge", "unknown"):
        suffix = _SUFFIX[typ]
        samples = [s for s in fam.samples if s.name == fam.name + suffix]
        if not samples:
            return
        labelnames = tuple(samples[0].labels)
        m, last = _metric_for(arena, fam, labelnames, state)
        for s in samples:
            if tuple(s.labels) != labelnames:
                raise ValueError(f"{fam.name}: samples with label names {tuple(s.labels)} and {labelnames}")
            child = _child(m, labelnames, s.labels)
            if typ == "counter":
                key = tuple(s.labels.values())
                before = last.get(key, 0.0)
                value = float(s.value)
                delta = value - before if value >= before else value
                if delta > 0:
                    child.inc(delta)
                last[key] = value
            else:
                child.set(float(s.value))
    elif typ == "info":
        names = tuple(getattr(fam, "_labelnames", ()))
        m, _ = _metric_for(arena, fam, names, state)
        for s in fam.samples:
            _child(m, names, s.labels).info({k: v for k, v in s.labels.items() if k not in names})
    elif typ == "stateset":
        if not fam.samples:
            return
        states = tuple(sorted({s.labels[fam.name] for s in fam.samples}))
        names = tuple(k for k in fam.samples[0].labels if k != fam.name)
        m, _ = _metric_for(arena, fam, names, state, states)
        for s in fam.samples:
            if s.value:
                _child(m, names, s.labels).state(s.labels[fam.name])
    else:
        by_name = {}
        for s in fam.samples:
            by_name.setdefault(s.name, []).append(s)
        from .metrics_core import Metric

        for name, samples in by_name.items():
            part = Metric(name, fam.documentation, "gauge")
            part.samples = samples
            _write_family(arena, part, state)
