"""A vLLM-style metric set from Python.

The C library registers vLLM's own set (shmetrics_vllm_register in
include/shmetrics/sets.h); the Python package has no wrapper for it yet.
This test defines metrics named and shaped like vLLM's serving metrics
with the ordinary classes, as a vLLM process would after changing its
import: colons in names, a model_name label, gauges merged across the
engine's processes, token counters and latency
histograms with vLLM's bucket bounds.  It checks that 4 worker processes
update them to exact totals and that the exposition parses."""

import multiprocessing

import pytest

import shmetrics

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
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
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
