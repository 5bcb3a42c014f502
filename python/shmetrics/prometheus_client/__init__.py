# SPDX-License-Identifier: MIT
"""prometheus_client's module surface on shmetrics.

`import shmetrics.prometheus_client as prometheus_client`, or, unmodified,
`import prometheus_client` under `python3 -m shmetrics.run PROGRAM` (or
with the shim directory of shmetrics.activate on PYTHONPATH): the names of
prometheus_client and its submodules (registry, exposition, multiprocess,
metrics, metrics_core, samples, core, openmetrics.exposition), with the
values in a shmetrics arena.  The metric classes are shmetrics' own (C hot
methods) with prometheus_client's registry= default: REGISTRY.  See
docs/python.md, "The prometheus_client module".
"""

from ..collectors import REGISTRY, CollectorRegistry
from ..exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    MetricsHandler,
    choose_encoder,
    delete_from_gateway,
    generate_latest,
    instance_ip_grouping_key,
    make_asgi_app,
    make_wsgi_app,
    push_to_gateway,
    pushadd_to_gateway,
    start_http_server,
    start_wsgi_server,
    write_to_textfile,
)
from ..metrics_core import Metric
from ..process_collectors import GCCollector, PlatformCollector, ProcessCollector
from . import metrics as _metrics
from .metrics import Counter, Enum, Gauge, Histogram, Info, Summary

PROCESS_COLLECTOR = ProcessCollector(registry=REGISTRY)
PLATFORM_COLLECTOR = PlatformCollector(registry=REGISTRY)
GC_COLLECTOR = GCCollector(registry=REGISTRY)

disable_created_metrics = _metrics.disable_created_metrics
enable_created_metrics = _metrics.enable_created_metrics

__all__ = [
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "CollectorRegistry",
    "Counter",
    "Enum",
    "GC_COLLECTOR",
    "GCCollector",
    "Gauge",
    "Histogram",
    "Info",
    "Metric",
    "MetricsHandler",
    "PLATFORM_COLLECTOR",
    "PROCESS_COLLECTOR",
    "PlatformCollector",
    "ProcessCollector",
    "REGISTRY",
    "Summary",
    "choose_encoder",
    "delete_from_gateway",
    "disable_created_metrics",
    "enable_created_metrics",
    "generate_latest",
    "instance_ip_grouping_key",
    "make_asgi_app",
    "make_wsgi_app",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
]

# The submodules are attributes after `import prometheus_client`, as there.
from . import exposition, gc_collector, metrics, metrics_core, platform_collector, process_collector, registry  # noqa: E402,F401,I100
