# SPDX-License-Identifier: MIT
"""Ready-made metric sets: vLLM's Prometheus metrics and the inference set.

The families are the C library's (shmetrics_vllm_register and
shmetrics_inference_register): names, types, label names, gauge modes and
buckets are defined once, in C, so a Python worker and a C worker that
register a set get the same families and their updates add up.

    from shmetrics.sets import register_vllm
    vllm = register_vllm(max_model_len=4096)
    vllm.prompt_tokens.labels(model_name="m", engine="0").inc(128)
    vllm.time_to_first_token_seconds.labels("m", "0").observe(0.042)

Each family is an attribute of the returned MetricSet, named as the
member of the C struct (prompt_tokens for vllm:prompt_tokens), and an
ordinary Counter, Gauge or Histogram of this package.
"""

from . import _shmetrics
from .metrics import INF, Counter, Gauge, Histogram, Summary
from .registry import default_registry

__all__ = ["MetricSet", "register_inference", "register_vllm"]

_CLASSES = (Counter, Gauge, Histogram, Summary)
_MODE_NAMES = {value: name for name, value in _shmetrics.MODES.items()}


class MetricSet:
    """The families of one set, as attributes in registration order;
    iterating gives the metrics, len() their number, fields their
    attribute names."""

    def __init__(self, members):
        fields = []
        for field, metric, documentation, extra in members:
            # The attributes the constructors set, from what the C library
            # registered: a gauge's mode, a histogram's bounds.
            metric._documentation = documentation
            metric._unit = ""
            if isinstance(metric, Gauge):
                metric._multiprocess_mode = _MODE_NAMES[extra]
            elif isinstance(metric, Histogram):
                metric._upper_bounds = list(extra) + [INF]
            setattr(self, field, metric)
            fields.append(field)
        self.fields = tuple(fields)

    def __iter__(self):
        return (getattr(self, f) for f in self.fields)

    def __len__(self):
        return len(self.fields)

    def __repr__(self):
        return f"<shmetrics.sets.MetricSet of {len(self)} families>"


def register_vllm(registry=None, max_model_len=8192, buckets_override=None):
    """Register (or find, in any process) vLLM's metrics: the V1 engine's
    families under vLLM's names (vllm:...), every one labelled
    (model_name, engine), request_success also finished_reason; gauges
    in mode mostrecent; token histograms bucketed 1, 2, 5, 10, ... up to
    max_model_len.  buckets_override maps a histogram's full name to its
    bucket bounds, as vLLM's --custom-histogram-buckets.  Errors:
    ValueError for a bad max_model_len, an override naming no histogram
    of the set, bad bounds, or a family already registered otherwise
    (nothing is registered for the first two); TypeError for arguments of
    the wrong type."""
    reg = registry if registry is not None else default_registry()
    return MetricSet(reg._register_vllm(_CLASSES, max_model_len, buckets_override))


def register_inference(namespace="", registry=None):
    """Register (or find) the native inference set under namespace_
    (engine_requests_running, engine_requests{model_name,status},
    cache_usage_ratio, gpu_memory_used_bytes{device}, spec_decode_drafts,
    ...; see docs/python.md).  ValueError for a namespace that is not a
    metric-name prefix."""
    reg = registry if registry is not None else default_registry()
    return MetricSet(reg._register_inference(_CLASSES, namespace or None))
