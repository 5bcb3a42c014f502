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

__all__ = ["VLLM_FEATURES", "MetricSet", "register_inference", "register_vllm", "vllm_cache_config_info"]

_CLASSES = (Counter, Gauge, Histogram, Summary)
_MODE_NAMES = {value: name for name, value in _shmetrics.MODES.items()}

# The vLLM set's feature groups, as the C library's SHMETRICS_VLLM_* bits
# (include/shmetrics/sets.h): "as_vllm" is what a plain vLLM engine exposes.
VLLM_FEATURES = {"spec_decode": 0x01, "kv_offload": 0x02, "kv_connector": 0x04, "lora": 0x08,
                 "multimodal": 0x10, "sleep": 0x20, "simple_kv_offload": 0x40, "kv_cache_metrics": 0x80,
                 "mfu": 0x100}
_FEATURE_SETS = {"all": tuple(VLLM_FEATURES), "as_vllm": ("multimodal", "sleep")}


def _feature_mask(features):
    if isinstance(features, str):
        features = (features,)
    mask = 0
    try:
        names = list(features)
    except TypeError:
        raise TypeError("features must be a sequence of feature group names, not %s"
                        % type(features).__name__) from None
    for name in names:
        for one in _FEATURE_SETS.get(name, (name,)) if isinstance(name, str) else (name,):
            if one not in VLLM_FEATURES:
                raise ValueError("unknown vLLM feature group %r (the groups: %s, or all, as_vllm)"
                                 % (one, ", ".join(VLLM_FEATURES)))
            mask |= VLLM_FEATURES[one]
    return mask


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


def register_vllm(registry=None, max_model_len=8192, buckets_override=None, features=(),
                  num_speculative_tokens=0, engines=()):
    """Register (or find, in any process) vLLM's metrics: the V1 engine's
    families under vLLM's names (vllm:...), every one labelled
    (model_name, engine) and some by one more label; gauges in mode
    mostrecent; token histograms bucketed 1, 2, 5, 10, ... up to
    max_model_len.  buckets_override maps a histogram's full name to its
    bucket bounds, as vLLM's --custom-histogram-buckets.  features names
    the feature groups to add (VLLM_FEATURES, or "all", or "as_vllm": the
    multimodal cache and sleep-state families vLLM registers on every
    engine); their families are attributes too, the others are absent.
    engines is a sequence of (model_name, engine) pairs whose series are
    created at 0 as vLLM's logger creates them when an engine starts
    (num_speculative_tokens draft positions with "spec_decode").  Errors:
    ValueError for a bad max_model_len, an unknown feature group, an
    override naming no histogram of the set, bad bounds, or a family
    already registered otherwise (nothing is registered for the first
    three); TypeError for arguments of the wrong type."""
    reg = registry if registry is not None else default_registry()
    mask = _feature_mask(features)
    if isinstance(num_speculative_tokens, bool) or not isinstance(num_speculative_tokens, int) \
            or not 0 <= num_speculative_tokens <= 64:
        raise ValueError("num_speculative_tokens must be a whole number from 0 to 64")
    return MetricSet(reg._register_vllm(_CLASSES, max_model_len, buckets_override, mask, num_speculative_tokens,
                                        engines if engines else None))


def vllm_cache_config_info(config, engine, registry=None):
    """Expose vllm:cache_config_info as vLLM does: a gauge at 1 whose labels
    are the cache configuration's pairs (str to str, at most 15) and
    engine.  ValueError for a bad label name or a family registered with
    other label names; TypeError for a config that is not a mapping of
    str."""
    reg = registry if registry is not None else default_registry()
    reg._vllm_cache_config_info(config, engine)


def register_inference(namespace="", registry=None):
    """Register (or find) the native inference set under namespace_
    (engine_requests_running, engine_requests{model_name,status},
    cache_usage_ratio, gpu_memory_used_bytes{device}, spec_decode_drafts,
    ...; see docs/python.md).  ValueError for a namespace that is not a
    metric-name prefix."""
    reg = registry if registry is not None else default_registry()
    return MetricSet(reg._register_inference(_CLASSES, namespace or None))
