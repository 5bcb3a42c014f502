# SPDX-License-Identifier: MIT
"""vLLM's metrics from Python.

First the ready-made set: shmetrics.sets.register_vllm wraps the C
library's shmetrics_vllm_register, so a Python engine and a C engine
register the very same families (the C feed program checks it by
registering the set on top of Python's, and the other way round) and
their updates add up exactly.  Then vLLM's own metric declarations, made
with the ordinary classes as a vLLM process would after changing its
import: colons in names, a model_name label, gauges merged across the
engine's processes, token counters and latency histograms with vLLM's
bucket bounds, updated by 4 processes to exact totals."""

import multiprocessing
import subprocess

import pytest

import shmetrics
from conftest import run_processes
from shmetrics.sets import MetricSet, register_inference, register_vllm

parser = pytest.importorskip("prometheus_client.parser")

LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
                   480.0, 960.0, 1920.0, 7680.0]
TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
MODEL = "facebook/opt-125m"


def vllm_metrics(reg):
    labels = ["model_name"]
    return {
        "running": shmetrics.Gauge("vllm:num_requests_running", "Number of requests running.", labels,
                                   registry=reg, multiprocess_mode="livesum"),
        "waiting": shmetrics.Gauge("vllm:num_requests_waiting", "Number of requests waiting.", labels,
                                   registry=reg, multiprocess_mode="livesum"),
        "cache": shmetrics.Gauge("vllm:gpu_cache_usage_perc", "KV-cache usage, 1 means 100 percent.", labels,
                                 registry=reg, multiprocess_mode="livemostrecent"),
        "prompt": shmetrics.Counter("vllm:prompt_tokens_total", "Prefill tokens processed.", labels, registry=reg),
        "generation": shmetrics.Counter("vllm:generation_tokens_total", "Generation tokens processed.", labels,
                                        registry=reg),
        "success": shmetrics.Counter("vllm:request_success_total", "Requests finished.",
                                     labels + ["finished_reason"], registry=reg),
        "ttft": shmetrics.Histogram("vllm:time_to_first_token_seconds", "Time to first token.", labels,
                                    registry=reg, buckets=TTFT_BUCKETS),
        "e2e": shmetrics.Histogram("vllm:e2e_request_latency_seconds", "End-to-end request latency.", labels,
                                   registry=reg, buckets=LATENCY_BUCKETS),
    }


def engine(path, index):
    with shmetrics.Registry(path) as reg:
        m = vllm_metrics(reg)
        running = m["running"].labels(MODEL)
        for req in range(500):
            with m["running"].labels(model_name=MODEL).track_inprogress():
                m["prompt"].labels(MODEL).inc(100)
                m["generation"].labels(MODEL).inc(20)
                m["ttft"].labels(MODEL).observe(0.05)
                m["e2e"].labels(MODEL).observe(1.25)
            m["success"].labels(MODEL, "stop" if req % 5 else "length").inc()
        running.set(0)
        m["waiting"].labels(MODEL).set(index)
        m["cache"].labels(MODEL).set(0.5)


def test_vllm_style_metrics_from_four_processes(registry):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=engine, args=(registry.path, i)) for i in range(4)]
    run_processes(procs)
    m = vllm_metrics(registry)
    m["running"].labels(MODEL).set(3)  # this (live) process
    model = {"model_name": MODEL}
    get = registry.get_sample_value
    assert get("vllm:prompt_tokens_total", model) == 4 * 500 * 100
    assert get("vllm:generation_tokens_total", model) == 4 * 500 * 20
    assert get("vllm:request_success_total", dict(model, finished_reason="stop")) == 4 * 400
    assert get("vllm:request_success_total", dict(model, finished_reason="length")) == 4 * 100
    assert get("vllm:time_to_first_token_seconds_count", model) == 2000
    assert get("vllm:time_to_first_token_seconds_bucket", dict(model, le="0.04")) == 0
    assert get("vllm:time_to_first_token_seconds_bucket", dict(model, le="0.06")) == 2000
    assert get("vllm:e2e_request_latency_seconds_sum", model) == 2000 * 1.25
    assert get("vllm:e2e_request_latency_seconds_bucket", dict(model, le="1.5")) == 2000
    assert get("vllm:num_requests_running", model) == 3  # the engines are gone: live modes drop them
    text = shmetrics.generate_latest(registry).decode()
    names = {f.name for f in parser.text_string_to_metric_families(text)}
    assert {"vllm:num_requests_running", "vllm:prompt_tokens", "vllm:time_to_first_token_seconds"} <= names


# ------------------------------------------------------- the ready-made set

TOKENS_1000 = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
VLLM_GAUGES = ["num_requests_running", "num_requests_waiting", "kv_cache_usage_perc"]
VLLM_COUNTERS = ["prompt_tokens", "generation_tokens", "num_preemptions", "prefix_cache_queries", "prefix_cache_hits",
                 "spec_decode_num_drafts", "spec_decode_num_draft_tokens", "spec_decode_num_accepted_tokens",
                 "request_success"]
VLLM_HISTOGRAMS = ["time_to_first_token_seconds", "inter_token_latency_seconds", "time_per_output_token_seconds",
                   "e2e_request_latency_seconds", "request_queue_time_seconds", "request_inference_time_seconds",
                   "request_prefill_time_seconds", "request_decode_time_seconds", "request_prompt_tokens",
                   "request_generation_tokens", "request_params_max_tokens", "request_max_num_generation_tokens",
                   "request_params_n", "iteration_tokens_total"]
# The core families vLLM added after 0.10, in registration order.
VLLM_NEW_CORE = ["num_requests_waiting_by_reason", "external_prefix_cache_queries", "external_prefix_cache_hits",
                 "prompt_tokens_by_source", "prompt_tokens_cached", "prompt_tokens_cached_by_source",
                 "request_time_per_output_token_seconds", "request_prefill_kv_computed_tokens"]


def bounds(registry, family, labels):
    """The finite le bounds of a histogram series, in exposition order."""
    text = registry.expose("prometheus").decode()
    out = []
    for f in parser.text_string_to_metric_families(text):
        if f.name == family:
            for s in f.samples:
                if s.name.endswith("_bucket") and all(s.labels.get(k) == v for k, v in labels.items()):
                    if s.labels["le"] != "+Inf":
                        out.append(float(s.labels["le"]))
    return out


def test_register_vllm_gives_every_family_of_the_c_set(registry):
    v = register_vllm(registry, max_model_len=1000)
    assert isinstance(v, MetricSet)
    assert len(v) == 34
    assert v.fields == tuple(VLLM_GAUGES + VLLM_COUNTERS[:-1] + ["request_success"] + VLLM_HISTOGRAMS
                             + VLLM_NEW_CORE)
    for f in VLLM_GAUGES:
        assert isinstance(getattr(v, f), shmetrics.Gauge)
    for f in VLLM_COUNTERS:
        assert isinstance(getattr(v, f), shmetrics.Counter)
    for f in VLLM_HISTOGRAMS:
        assert isinstance(getattr(v, f), shmetrics.Histogram)
    assert list(v) == [getattr(v, f) for f in v.fields]
    assert v.prompt_tokens._name == "vllm:prompt_tokens"
    assert v.prompt_tokens._labelnames == ("model_name", "engine")
    assert v.request_success._labelnames == ("model_name", "engine", "finished_reason")
    assert v.prompt_tokens.describe()[0].documentation == "Number of prefill tokens processed."
    # The attributes the constructors set, from what the library registered.
    assert v.num_requests_waiting._multiprocess_mode == "mostrecent"
    assert v.request_prompt_tokens._upper_bounds == TOKENS_1000 + [float("inf")]
    assert v.request_params_n._upper_bounds == [1, 2, 5, 10, 20, float("inf")]
    assert v.time_to_first_token_seconds._upper_bounds[:2] == [0.001, 0.005]
    families = registry.collect()
    assert [m.name for m in families] == ["vllm:" + f for f in v.fields]
    assert {m.type for m in families[:3]} == {"gauge"}
    assert {m.multiprocess_mode for m in families[:3]} == {"mostrecent"}
    # Every histogram has its series once a label set is used; bounds as vLLM's.
    for h in v.fields[12:26]:
        getattr(v, h).labels("m", "0")
    one = {"model_name": "m", "engine": "0"}
    ttft = bounds(registry, "vllm:time_to_first_token_seconds", one)
    assert (len(ttft), ttft[0], ttft[-1]) == (22, 0.001, 2560.0)
    assert bounds(registry, "vllm:request_prompt_tokens", one) == TOKENS_1000
    assert bounds(registry, "vllm:request_params_max_tokens", one) == TOKENS_1000
    assert bounds(registry, "vllm:request_params_n", one) == [1, 2, 5, 10, 20]
    assert bounds(registry, "vllm:iteration_tokens_total", one)[-1] == 16384
    # The same call again gives the same families, by name and by series.
    again = register_vllm(registry, max_model_len=1000)
    again.prompt_tokens.labels(model_name="m", engine="0").inc(2)
    v.prompt_tokens.labels("m", "0").inc(3)
    assert registry.get_sample_value("vllm:prompt_tokens_total", one) == 5


def test_the_c_library_registers_the_same_set_on_python_s_and_the_other_way(registry, arena_path, feed):
    register_vllm(registry, max_model_len=1000)
    done = subprocess.run([feed, registry.path, "1", "vllm", "0", "1000"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    other = shmetrics.Registry(arena_path + "-c")
    try:
        done = subprocess.run([feed, other.path, "1", "vllm", "0", "1000"], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        register_vllm(other, max_model_len=1000)
        with pytest.raises(ValueError, match="vllm:request_prompt_tokens is already registered with 10 other buckets \\(first 1, last 1000\\)"):
            register_vllm(other, max_model_len=2000)
    finally:
        other.close(unlink=True)


def vllm_engine(path, requests):
    with shmetrics.Registry(path) as reg:
        v = register_vllm(reg, max_model_len=1000)
        prompt = v.prompt_tokens.labels("m", "0")
        ok = v.request_success.labels(model_name="m", engine="0", finished_reason="stop")
        ttft = v.time_to_first_token_seconds.labels("m", "0")
        for _ in range(requests):
            prompt.inc(100)
            v.generation_tokens.labels("m", "0").inc(20)
            ok.inc()
            ttft.observe(0.05)
            v.request_prompt_tokens.labels("m", "0").observe(100)
        v.num_requests_running.labels("m", "0").set(7)


def test_python_and_c_engines_update_the_vllm_set_exactly(registry, feed):
    requests = 20000
    c_engines = subprocess.Popen([feed, registry.path, "2", "vllm", str(requests), "1000"], stderr=subprocess.PIPE,
                                 text=True)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=vllm_engine, args=(registry.path, requests)) for _ in range(4)]
    run_processes(procs)
    assert c_engines.wait(120) == 0, c_engines.stderr.read()
    n = 6 * requests
    one = {"model_name": "m", "engine": "0"}
    get = registry.get_sample_value
    assert get("vllm:prompt_tokens_total", one) == n * 100
    assert get("vllm:generation_tokens_total", one) == n * 20
    assert get("vllm:request_success_total", dict(one, finished_reason="stop")) == n
    assert get("vllm:time_to_first_token_seconds_count", one) == n
    assert get("vllm:time_to_first_token_seconds_bucket", dict(one, le="0.04")) == 0
    assert get("vllm:time_to_first_token_seconds_bucket", dict(one, le="0.06")) == n
    assert get("vllm:request_prompt_tokens_bucket", dict(one, le="50.0")) == 0
    assert get("vllm:request_prompt_tokens_bucket", dict(one, le="100.0")) == n
    assert get("vllm:request_prompt_tokens_sum", one) == n * 100
    assert get("vllm:num_requests_running", one) == 7


def test_vllm_set_errors_name_the_problem(registry):
    for bad in (0, -1, 2**64, 1.5, "8192", True):
        with pytest.raises(ValueError, match="max_model_len must be a whole number from 1 to 2\\*\\*64-1"):
            register_vllm(registry, max_model_len=bad)
    with pytest.raises(ValueError, match="bucket override for vllm:ttft: no histogram of that name in the vLLM set"):
        register_vllm(registry, buckets_override={"vllm:ttft": [0.1, 1]})
    with pytest.raises(ValueError, match="bucket override for vllm:prompt_tokens: no histogram of that name"):
        register_vllm(registry, buckets_override={"vllm:prompt_tokens": [0.1, 1]})
    with pytest.raises(ValueError, match=r"vllm:request_params_n: bucket bounds must be strictly increasing \(1 after 2\)"):
        register_vllm(registry, buckets_override={"vllm:request_params_n": [2, 1]})
    with pytest.raises(ValueError, match="histogram vllm:request_params_n has an empty bucket list"):
        register_vllm(registry, buckets_override={"vllm:request_params_n": []})
    with pytest.raises(TypeError, match="buckets_override must be a mapping of family names to bucket lists"):
        register_vllm(registry, buckets_override=[("vllm:request_params_n", [1])])
    with pytest.raises(TypeError, match="a buckets_override key must be a str, not int"):
        register_vllm(registry, buckets_override={1: [1]})
    with pytest.raises(ValueError, match="a buckets_override key contains a NUL character"):
        register_vllm(registry, buckets_override={"vllm:request_params_n\0": [1]})
    with pytest.raises(TypeError, match="a buckets_override value must be a sequence of numbers"):
        register_vllm(registry, buckets_override={"vllm:request_params_n": 5})
    with pytest.raises(TypeError, match="classes must be a tuple"):
        registry._register_vllm([shmetrics.Counter], 8192)
    with pytest.raises(TypeError, match="classes\\[1\\] must be a subclass of shmetrics._shmetrics.GaugeBase"):
        registry._register_vllm((shmetrics.Counter, shmetrics.Counter, shmetrics.Histogram, shmetrics.Summary), 8192)
    assert registry.collect() == [], "a refused set registers nothing"
    # A family of the set registered otherwise first: the set is refused.
    shmetrics.Gauge("vllm:prompt_tokens", "Not vLLM's.", registry=registry)
    with pytest.raises(ValueError, match="vllm:prompt_tokens is already registered as a gauge"):
        register_vllm(registry)


def test_vllm_set_overrides_and_a_closed_registry(registry, arena_path):
    v = register_vllm(registry, buckets_override={"vllm:time_to_first_token_seconds": [0.1, 1, 10, float("inf")]})
    v.time_to_first_token_seconds.labels("m", "0").observe(0.5)
    assert v.time_to_first_token_seconds._upper_bounds == [0.1, 1, 10, float("inf")]
    assert bounds(registry, "vllm:time_to_first_token_seconds", {"model_name": "m"}) == [0.1, 1, 10]
    assert registry.get_sample_value("vllm:time_to_first_token_seconds_bucket",
                                     {"model_name": "m", "engine": "0", "le": "1.0"}) == 1
    other = shmetrics.Registry(arena_path + "-closed")
    other.close(unlink=True)
    with pytest.raises(ValueError, match="the registry is closed"):
        register_vllm(other)
    with pytest.raises(ValueError, match="the registry is closed"):
        register_inference("llm", other)


def test_register_inference_names_and_errors(registry):
    x = register_inference("llm", registry)
    assert len(x) == 16
    assert x.engine_requests._name == "llm_engine_requests"
    assert x.engine_requests._labelnames == ("model_name", "status")
    assert x.gpu_memory_used_bytes._labelnames == ("device",)
    assert x.engine_requests_running._multiprocess_mode == "livesum"
    assert x.cache_usage_ratio._multiprocess_mode == "mostrecent"
    assert len(x.engine_e2e_latency_seconds._upper_bounds) == 22
    x.engine_requests.labels(model_name="m", status="ok").inc(3)
    register_inference("llm", registry).engine_requests.labels("m", "ok").inc()
    x.gpu_memory_used_bytes.labels("0").set(2**30)
    assert registry.get_sample_value("llm_engine_requests_total", {"model_name": "m", "status": "ok"}) == 4
    assert registry.get_sample_value("llm_gpu_memory_used_bytes", {"device": "0"}) == 2**30
    assert register_inference(registry=registry).engine_prompt_tokens._name == "engine_prompt_tokens"
    with pytest.raises(ValueError, match='invalid metric name "9x_engine_requests_running"'):
        register_inference("9x", registry)
    with pytest.raises(TypeError, match="the namespace must be a str, not int"):
        register_inference(7, registry)


# ----------------------------------------------- feature groups, start-up series

def test_feature_groups_and_the_series_an_engine_starts_with(registry):
    v = register_vllm(registry, max_model_len=1000, features=["all"], num_speculative_tokens=2,
                      engines=[("m", "0"), ("m", "1")])
    assert len(v) == 76
    assert v.spec_decode_num_accepted_tokens_per_pos._labelnames == ("model_name", "engine", "position")
    assert v.kv_offload_size._upper_bounds[-2] == 200e6
    assert v.lora_requests_info._multiprocess_mode == "sum"
    assert v.lora_requests_info._labelnames == ("max_lora", "waiting_lora_adapters", "running_lora_adapters")
    assert v.engine_sleep_state._labelnames == ("model_name", "engine", "sleep_state")
    get = registry.get_sample_value
    for engine in ("0", "1"):
        one = {"model_name": "m", "engine": engine}
        for reason in ("stop", "length", "abort", "error"):
            assert get("vllm:request_success_total", dict(one, finished_reason=reason)) == 0
        assert get("vllm:num_preemptions_total", one) == 0
        assert get("vllm:request_max_num_generation_tokens_count", one) == 0
        assert get("vllm:spec_decode_num_drafts_total", one) == 0
        assert get("vllm:spec_decode_num_accepted_tokens_per_pos_total", dict(one, position="1")) == 0
        assert get("vllm:spec_decode_num_accepted_tokens_per_pos_total", dict(one, position="2")) is None
        assert get("vllm:engine_sleep_state", dict(one, sleep_state="awake")) == 1
        assert get("vllm:engine_sleep_state", dict(one, sleep_state="weights_offloaded")) == 0
        assert get("vllm:num_requests_waiting_by_reason", dict(one, reason="capacity")) == 0
        assert get("vllm:prompt_tokens_by_source_total", dict(one, source="local_cache_hit")) == 0
        assert get("vllm:prompt_tokens_cached_by_source_total", dict(one, source="disk")) == 0
        assert get("vllm:kv_offload_total_bytes_total", dict(one, transfer_type="GPU_to_CPU")) == 0
        assert get("vllm:nixl_num_failed_transfers_total", one) == 0
        assert get("vllm:mm_cache_queries_total", one) == 0
        assert get("vllm:num_requests_kv_fetch_by_stage", dict(one, stage="in_progress")) == 0
        assert get("vllm:estimated_flops_per_gpu_total", one) == 0
        assert get("vllm:kv_block_lifetime_seconds_count", one) == 0
        # The offloading connectors' current families: when first written.
        assert get("vllm:kv_offload_load_bytes_total", one) is None
        assert get("vllm:simple_kv_offload_used_blocks", one) is None
    # The same families from a plain call (the core), and the updates add up.
    core = register_vllm(registry, max_model_len=1000)
    assert not hasattr(core, "engine_sleep_state")
    core.request_success.labels("m", "0", "error").inc()
    assert get("vllm:request_success_total", {"model_name": "m", "engine": "0", "finished_reason": "error"}) == 1
    as_vllm = register_vllm(registry, max_model_len=1000, features="as_vllm")
    assert hasattr(as_vllm, "mm_cache_hits") and not hasattr(as_vllm, "nixl_xfer_time_seconds")


def test_cache_config_info_is_vllm_s_gauge_at_one(registry):
    from shmetrics.sets import vllm_cache_config_info
    vllm_cache_config_info({"block_size": "16", "cache_dtype": "auto"}, "0", registry=registry)
    text = registry.expose("prometheus").decode()
    assert ('# TYPE vllm:cache_config_info gauge\n'
            'vllm:cache_config_info{block_size="16",cache_dtype="auto",engine="0"} 1\n') in text
    with pytest.raises(ValueError, match="vllm:cache_config_info is already registered"):
        vllm_cache_config_info({"block_size": "16"}, "0", registry=registry)
    with pytest.raises(TypeError, match="config must be a mapping of label names to str values"):
        vllm_cache_config_info([("block_size", "16")], "0", registry=registry)
    with pytest.raises(TypeError, match="a config value must be a str, not int"):
        vllm_cache_config_info({"block_size": 16}, "0", registry=registry)
    with pytest.raises(ValueError, match="16 configuration labels, at most 15"):
        vllm_cache_config_info({"k%d" % i: "v" for i in range(16)}, "0", registry=registry)


def test_feature_group_errors(registry):
    with pytest.raises(ValueError, match="unknown vLLM feature group 'lasers'"):
        register_vllm(registry, features=["spec_decode", "lasers"])
    with pytest.raises(TypeError, match="features must be a sequence of feature group names, not int"):
        register_vllm(registry, features=3)
    for bad in (-1, 65, 1.5, True):
        with pytest.raises(ValueError, match="num_speculative_tokens must be a whole number from 0 to 64"):
            register_vllm(registry, num_speculative_tokens=bad)
    with pytest.raises(ValueError, match="bucket override for vllm:kv_offload_size: its feature group"):
        register_vllm(registry, buckets_override={"vllm:kv_offload_size": [1, 2]})
    assert registry.collect() == [], "a refused set registers nothing"
    with pytest.raises(TypeError, match="engines must be a sequence of \\(model_name, engine\\) pairs"):
        register_vllm(registry, engines=["m"])
    with pytest.raises(TypeError, match="an engine's engine label must be a str, not int"):
        register_vllm(registry, engines=[("m", 0)])
