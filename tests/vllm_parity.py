# SPDX-License-Identifier: MIT
"""vLLM parity from the outside: `shmetrics demo` (3 engines and the API
server in front of them) writes an arena, `shmetrics serve` exposes it, a
real Prometheus (Debian's package) scrapes it every second on 127.0.0.1,
and every PromQL expression of vLLM's own Grafana dashboards must return
data, with no PromQL error.

The expressions are in vllm_dashboards.jsonl beside this file, one JSON
object a line: the dashboard (a path under examples/observability/ of the
vLLM repository), the panel's title (a templating variable's query is
"variable NAME"), and the expression exactly as the dashboard's JSON
writes it.  Every panel target of the eight dashboards is there, with the
rows' nested panels and the PromQL variables' queries (DASHBOARDS names the
version read).  Grafana's variables are set as a user opening the
dashboard with its defaults gets them:
  - the query variables that select series ($job, $model_name, $instance,
    $engine, $Deployment_id) to All: a matcher `=~"$var"` or `="$var"`
    becomes `=~".*"` (grafana.json's single-value $model_name included);
  - the custom variables to their current value: $ttft_slo "1.0",
    $tpot_slo "0.1" (bucket bounds of the two histograms);
  - $__rate_interval, $__interval and $__range to 1m;
  - label_values(SELECTOR, LABEL) is what Grafana asks Prometheus for:
    /api/v1/label/LABEL/values?match[]=SELECTOR, whose values are checked
    exactly.
Then the series vLLM creates at start-up, exactly: one per engine and
label value, at 0 where nothing was counted; and the API server's.

Everything started here is bounded in time and stopped by PID.  Needs
SHMETRICS_CLI; run by Debian's python3.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

from prom_server import Prometheus, finish, scrape_config
from push_common import stop_proc
from tap import check, failed, summary

CLI = os.environ["SHMETRICS_CLI"]
ARENA = "/dev/shm/shmetrics-vllm-parity-%d" % os.getpid()
ENGINES = 3
MODEL = "demo-llama-3-8b"
HERE = os.path.dirname(os.path.abspath(__file__))
# Scraping before the queries: every 1m window then holds a minute of
# traffic, and the odd engine has slept twice (16 and 36 s after it
# started), which the sleep-mode operation tables need: the one over the
# selected range asks for an increase of the count inside the window.
SCRAPE_SECONDS = 45

# The dashboards the expressions come from (vLLM repository, the commit
# each was read at).  Later versions of the overview, instances, KV cache
# and speculative decoding dashboards (commit b29712c) add each target's
# datasource and retitle some panels, with the same expressions but for
# the instances dashboard's sleep and weight update table: its three
# targets count over the selected range (increase, rate) instead of
# since the process started (last_over_time).  Both tables are here.
DASHBOARDS = {
    "prometheus_grafana/grafana.json": "4b5c627c23e6690b8987100d1cbf78e34ac14bf9",
    "dashboards/grafana/vllm_overview.json": "0b9faa4138937a56ee61d7e2acb55b06fa12b44c",
    "dashboards/grafana/vllm_instances.json": "0b9faa4138937a56ee61d7e2acb55b06fa12b44c",
    "dashboards/grafana/vllm_kv_cache.json": "5836216b154fcb32685152b85bd8d7e1e8c91c04",
    "dashboards/grafana/vllm_service_status.json": "712d75470b4134496be4a3f8a226450fb3ce81db",
    "dashboards/grafana/vllm_speculative_decoding.json": "8aed4e52b9351d034c652dec96bd94cf8d441711",
    "dashboards/grafana/performance_statistics.json": "5961e8d3bb355a0c2c90b94e537f919349238b46",
    "dashboards/grafana/query_statistics.json": "030ea52effcb05071543c8c42b8f0145e94cee43",
}
ALL_VARIABLES = ("job", "model_name", "instance", "engine", "Deployment_id")
CUSTOM_VARIABLES = {"ttft_slo": "1.0", "tpot_slo": "0.1"}
STATUS = ('(2 - (max(vllm:engine_sleep_state{job=~"$job", model_name=~"$model_name", instance=~"$instance", '
          'sleep_state="awake"}) == bool 0)) or vector(0)')


def load_queries():
    with open(os.path.join(HERE, "vllm_dashboards.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def promql(expr):
    """The expression Grafana sends with the dashboard's defaults."""
    expr = re.sub(r'=~?"\$(%s)"' % "|".join(ALL_VARIABLES), '=~".*"', expr)
    for name, value in CUSTOM_VARIABLES.items():
        expr = expr.replace("$" + name, value)
    for interval in ("$__rate_interval", "$__interval", "$__range"):
        expr = expr.replace(interval, "1m")
    return expr


def label_values(prom, expr):
    """label_values(SELECTOR, LABEL) or label_values(LABEL) as Grafana asks
    for it; None for any other expression."""
    m = re.match(r"label_values\((?:(.+?), *)?(\w+)\)$", expr)
    if not m:
        return None
    args = {"match[]": m.group(1)} if m.group(1) else {}
    return m.group(2), prom.api("label/%s/values" % m.group(2), **args)


def start_demo():
    demo = subprocess.Popen([CLI, "demo", "--workers", str(ENGINES), "--duration", "150", "--listen", "127.0.0.1:0",
                             "--arena", ARENA], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(10):
        if "curl http://127.0.0.1:" in demo.stdout.readline():
            return demo
    return demo


def check_dashboards(prom, target):
    queries = load_queries()
    check(sorted({q["dashboard"] for q in queries}) == sorted(DASHBOARDS), "the eight dashboards' expressions",
          sorted({q["dashboard"] for q in queries}))
    want_values = {"job": ["vllm"], "model_name": [MODEL], "instance": [target],
                   "engine": [str(e) for e in range(ENGINES)]}
    for q in queries:
        where = "%s, %s: %s" % (q["dashboard"], q["panel"], q["expr"])
        expr = promql(q["expr"])
        try:
            values = label_values(prom, expr)
            result = values[1] if values else prom.query(expr)
        except (OSError, RuntimeError) as e:
            check(False, where, "error %s" % e)
            continue
        if values:
            check(result == want_values[values[0]], where, result)
        else:
            check(isinstance(result, list) and len(result) > 0, where, result)


def check_startup(prom):
    """The series vLLM creates at start-up, per engine and label value."""
    exact = [
        ("count(vllm:request_success_total)", 4.0 * ENGINES),
        ('count(vllm:request_success_total{finished_reason=~"stop|length|abort|error"})', 4.0 * ENGINES),
        ("count(vllm:num_preemptions_total)", 1.0 * ENGINES),
        ("count(vllm:spec_decode_num_accepted_tokens_per_pos_total)", 3.0 * ENGINES),
        ("count(vllm:num_requests_waiting_by_reason)", 2.0 * ENGINES),
        ("count(vllm:prompt_tokens_by_source_total)", 3.0 * ENGINES),
        ("count(vllm:prompt_tokens_cached_by_source_total)", 5.0 * ENGINES),
        ('count(vllm:kv_offload_total_bytes_total{transfer_type=~"CPU_to_GPU|GPU_to_CPU"})', 2.0 * ENGINES),
        ('count(vllm:num_requests_kv_fetch_by_stage{stage=~"waiting_to_start|in_progress|completed_waiting"})',
         3.0 * ENGINES),
        ("count(vllm:engine_sleep_state)", 3.0 * ENGINES),
        ("count(vllm:cache_config_info == 1)", 1.0 * ENGINES),
        ('count(vllm:simple_kv_offload_info{backend="cpu", capacity_blocks="2048"} == 1)', 1.0 * ENGINES),
        ("count(vllm:estimated_flops_per_gpu_total > 0)", 1.0 * ENGINES),
        # Counted by no part of the simulation: there, at 0.
        ('sum(vllm:prompt_tokens_cached_by_source_total{source="disk"})', 0.0),
        ('sum(vllm:prompt_tokens_cached_by_source_total{source="external_unspecified"})', 0.0),
        ("sum(vllm:nixl_num_kv_expired_reqs_total)", 0.0),
        ("sum(vllm:nixl_num_failed_notifications_total)", 0.0),
        ('sum(vllm:engine_sleep_state{sleep_state="discard_all"})', 0.0),
        ('sum(vllm:num_requests_kv_fetch_by_stage{stage="completed_waiting"})', 0.0),
        ("count(vllm:nixl_num_kv_expired_reqs_total == 0)", 1.0 * ENGINES),
        # The API server's sleep-mode gauges, one per operation.
        ('count(vllm:sleep_mode_operations_in_flight{operation=~"sleep|release_kv_cache_memory|wake"} == 0)', 3.0),
    ]
    for expr, want in exact:
        got = prom.scalar(expr)
        check(got == want, "start-up series: %s == %g" % (expr, want), got)
    info = prom.query('vllm:cache_config_info{engine="0"}')
    check(len(info) == 1 and info[0]["metric"].get("block_size") == "16" and info[0]["value"][1] == "1",
          "vllm:cache_config_info: a gauge at 1 carrying the configuration as labels", info)
    check(prom.scalar(promql(STATUS)) == 2.0, "service status: the model is Online (2)")
    check(prom.scalar('count(vllm:spec_decode_num_accepted_tokens_per_pos{position=~"0|1|2"})') is None,
          "per-position counters are exposed with _total, as vLLM's")
    # The API server in front of the engines, and the processes' metrics.
    got = prom.scalar('sum(http_requests_total{handler="/v1/completions",method="POST",status="2xx"}) > 0')
    check(got is not None, "the API server's http_requests_total", got)
    got = prom.scalar('count(http_request_duration_seconds_bucket{handler="/v1/completions",le="+Inf"})')
    check(got == 1.0, "the API server's http_request_duration_seconds", got)
    for family in ("http_request_size_bytes", "http_response_size_bytes"):
        got = prom.scalar('sum(%s_sum{handler="/v1/completions"}) / sum(%s_count{handler="/v1/completions"})'
                          % (family, family))
        check(got is not None and got > 120, "the API server's %s: a mean body size" % family, got)
    got = prom.query('http_request_size_bytes{quantile!=""} or http_response_size_bytes{quantile!=""}')
    check(got == [], "the size summaries have no quantiles, as the instrumentator's", got)
    got = prom.query('http_requests_total{handler=~"/health|/metrics"}')
    check(got == [], "vLLM's server leaves its probes out of the HTTP metrics", got)
    got = prom.scalar('sum(http_requests_total{handler="/sleep",method="POST",status="2xx"})')
    check(got is not None and got >= 1, "the sleep the API server dispatched: a POST /sleep", got)
    got = prom.scalar('sum(vllm:sleep_mode_operation_duration_seconds_count{operation="sleep"})')
    check(got is not None and got >= 1, "the sleep the API server dispatched: its duration", got)
    got = prom.scalar("count(process_start_time_seconds)")
    check(got is not None and got >= ENGINES + 1, "process_* of the engines and the API server", got)


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-vllm-")
    demo = serve = prom = None
    try:
        demo = start_demo()
        check(os.path.exists(ARENA), "the demo created its arena")
        serve = subprocess.Popen([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", serve.stdout.readline())
        check(m is not None, "the collector listens")
        target = "127.0.0.1:%s" % m.group(1)
        prom = Prometheus(tmp, scrape_config("vllm", target))
        check(prom.wait(lambda: prom.scalar('up{job="vllm"}') == 1) is True, "Prometheus scrapes the collector")
        time.sleep(SCRAPE_SECONDS)
        check_dashboards(prom, target)
        check_startup(prom)
    finally:
        out = err = ""
        if demo:
            stop_proc(demo)
            out, err = demo.communicate()
        stop_proc(serve)
        check(demo is not None and demo.returncode == 0 and "shmetrics demo: exact:" in out,
              "the demo stops on SIGTERM with its exactness check passed", out[-600:] + err[-600:])
        finish(prom, ARENA, tmp, failed())
    return summary()


if __name__ == "__main__":
    sys.exit(main())
