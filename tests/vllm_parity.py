# SPDX-License-Identifier: MIT
"""vLLM parity from the outside: `shmetrics demo` (3 engines) writes an
arena, `shmetrics serve` exposes it, a real Prometheus (Debian's package)
scrapes it every second on 127.0.0.1, and the PromQL of vLLM's own Grafana
dashboards must return data: every expression below is copied from the
dashboard and panel named beside it (vLLM repository,
examples/observability/), with the Grafana variables set to match-all
($model_name, $job, $instance, $engine: =~".*") and $__rate_interval 1m.
Then the series vLLM creates at start-up, exactly: one per engine and
label value, at 0 where nothing was counted.

Everything started here is bounded in time and stopped by PID.  Needs
SHMETRICS_CLI; run by Debian's python3.
"""
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

MAIN = "prometheus_grafana/grafana.json"
STATUS = "dashboards/grafana/vllm_service_status.json"
SPEC = "dashboards/grafana/vllm_speculative_decoding.json"
KV = "dashboards/grafana/vllm_kv_cache.json"
SEL = 'job=~\\"$job\\", model_name=~\\"$model_name\\", instance=~\\"$instance\\"'
SEL_E = SEL + ', engine=~\\"$engine\\"'

# (dashboard, panel, expression as the dashboard's JSON writes it)
QUERIES = [
    (MAIN, "E2E Request Latency", 'histogram_quantile(0.99, sum by(le) (rate(vllm:e2e_request_latency_seconds_bucket{model_name=\\"$model_name\\"}[$__rate_interval])))'),
    (MAIN, "E2E Request Latency", 'rate(vllm:e2e_request_latency_seconds_sum{model_name=\\"$model_name\\"}[$__rate_interval])\\n/\\nrate(vllm:e2e_request_latency_seconds_count{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Token Throughput", 'rate(vllm:prompt_tokens_total{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Token Throughput", 'rate(vllm:generation_tokens_total{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Inter Token Latency", 'histogram_quantile(0.99, sum by(le) (rate(vllm:inter_token_latency_seconds_bucket{model_name=\\"$model_name\\"}[$__rate_interval])))'),
    (MAIN, "Inter Token Latency", 'rate(vllm:inter_token_latency_seconds_sum{model_name=\\"$model_name\\"}[$__rate_interval])\\n/\\nrate(vllm:inter_token_latency_seconds_count{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Scheduler State", 'vllm:num_requests_running{model_name=\\"$model_name\\"}'),
    (MAIN, "Scheduler State", 'vllm:num_requests_waiting{model_name=\\"$model_name\\"}'),
    (MAIN, "Time To First Token Latency", 'histogram_quantile(0.5, sum by(le) (rate(vllm:time_to_first_token_seconds_bucket{model_name=\\"$model_name\\"}[$__rate_interval])))'),
    (MAIN, "Time To First Token Latency", 'rate(vllm:time_to_first_token_seconds_sum{model_name=\\"$model_name\\"}[$__rate_interval])\\n/\\nrate(vllm:time_to_first_token_seconds_count{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Cache Utilization", 'vllm:kv_cache_usage_perc{model_name=\\"$model_name\\"}'),
    (MAIN, "Request Prompt Length", 'sum by(le) (increase(vllm:request_prompt_tokens_bucket{model_name=\\"$model_name\\"}[$__rate_interval]))'),
    (MAIN, "Request Generation Length", 'sum by(le) (increase(vllm:request_generation_tokens_bucket{model_name=\\"$model_name\\"}[$__rate_interval]))'),
    (MAIN, "Finish Reason", 'sum by(finished_reason) (increase(vllm:request_success_total{model_name=\\"$model_name\\"}[$__rate_interval]))'),
    (MAIN, "Queue Time", 'rate(vllm:request_queue_time_seconds_sum{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Requests Prefill and Decode Time", 'rate(vllm:request_prefill_time_seconds_sum{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Requests Prefill and Decode Time", 'rate(vllm:request_decode_time_seconds_sum{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (MAIN, "Max Generation Token in Sequence Group", 'rate(vllm:request_max_num_generation_tokens_sum{model_name=\\"$model_name\\"}[$__rate_interval])'),
    (STATUS, "Status", '(2 - (max(vllm:engine_sleep_state{' + SEL + ', sleep_state=\\"awake\\"}) == bool 0)) or vector(0)'),
    (STATUS, "Response time", '(histogram_quantile(0.5, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{' + SEL + '}[5m])))) and on () count(vllm:num_requests_running{' + SEL + '})'),
    (STATUS, "Output speed", '(sum(rate(vllm:generation_tokens_total{' + SEL + '}[5m])) / (sum(avg_over_time(vllm:num_requests_running{' + SEL + '}[5m])) > 0)) and on () count(vllm:num_requests_running{' + SEL + '})'),
    (STATUS, "Success rate", '(1 - (sum(rate(vllm:request_success_total{' + SEL + ', finished_reason=\\"error\\"}[5m])) / (sum(rate(vllm:request_success_total{' + SEL + '}[5m])) > 0))) and on () count(vllm:num_requests_running{' + SEL + '})'),
    (STATUS, "Requests / min", '(60 * sum(rate(vllm:request_success_total{' + SEL + '}[5m]))) and on () count(vllm:num_requests_running{' + SEL + '})'),
    (SPEC, "Draft acceptance rate", 'sum(rate(vllm:spec_decode_num_accepted_tokens_total{' + SEL_E + '}[$__rate_interval])) / (sum(rate(vllm:spec_decode_num_draft_tokens_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (SPEC, "Acceptance length", '1 + sum(rate(vllm:spec_decode_num_accepted_tokens_total{' + SEL_E + '}[$__rate_interval])) / (sum(rate(vllm:spec_decode_num_drafts_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (SPEC, "Accepted tokens / s", 'sum(rate(vllm:spec_decode_num_accepted_tokens_total{' + SEL_E + '}[$__rate_interval]))'),
    (SPEC, "Draft tokens / s", 'sum(rate(vllm:spec_decode_num_draft_tokens_total{' + SEL_E + '}[$__rate_interval]))'),
    (SPEC, "Drafts / s", 'sum(rate(vllm:spec_decode_num_drafts_total{' + SEL_E + '}[$__rate_interval]))'),
    (SPEC, "Output from drafts", 'sum(rate(vllm:spec_decode_num_accepted_tokens_total{' + SEL_E + '}[$__rate_interval])) / (sum(rate(vllm:generation_tokens_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (SPEC, "Mean acceptance length", '1 + sum by (model_name) (rate(vllm:spec_decode_num_accepted_tokens_total{' + SEL_E + '}[$__rate_interval])) / (sum by (model_name) (rate(vllm:spec_decode_num_drafts_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (SPEC, "Acceptance rate by draft position", 'sum by (position) (rate(vllm:spec_decode_num_accepted_tokens_per_pos_total{' + SEL_E + '}[$__rate_interval])) / on () group_left () (sum(rate(vllm:spec_decode_num_drafts_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (KV, "Max KV cache usage", 'max(vllm:kv_cache_usage_perc{' + SEL_E + '})'),
    (KV, "Mean KV cache usage", 'avg(vllm:kv_cache_usage_perc{' + SEL_E + '})'),
    (KV, "Prefix cache hit rate", 'sum(rate(vllm:prefix_cache_hits_total{' + SEL_E + '}[$__rate_interval])) / (sum(rate(vllm:prefix_cache_queries_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (KV, "Cached prompt tokens", 'sum(rate(vllm:prompt_tokens_cached_total{' + SEL_E + '}[$__rate_interval])) / (sum(rate(vllm:prompt_tokens_total{' + SEL_E + '}[$__rate_interval])) > 0)'),
    (KV, "Preemptions / s", 'sum(rate(vllm:num_preemptions_total{' + SEL_E + '}[$__rate_interval]))'),
    (KV, "Waiting for capacity", 'sum(vllm:num_requests_waiting_by_reason{' + SEL_E + ', reason=\\"capacity\\"})'),
    (KV, "KV cache usage by engine", 'max by (instance, engine) (vllm:kv_cache_usage_perc{' + SEL_E + '})'),
    (KV, "Scheduler queue", 'sum(vllm:num_requests_running{' + SEL_E + '})'),
    (KV, "Scheduler queue", 'sum(vllm:num_requests_waiting_by_reason{' + SEL_E + ', reason=\\"deferred\\"})'),
]


def promql(dashboard_expr):
    """The expression Grafana sends with every variable set to All: the JSON
    string's escapes undone, =/=~ "$var" matching anything, the rate
    interval 1m."""
    expr = dashboard_expr.replace('\\"', '"').replace("\\n", "\n")
    expr = re.sub(r'=~?"\$\w+"', '=~".*"', expr)
    return expr.replace("$__rate_interval", "1m")


def start_demo():
    demo = subprocess.Popen([CLI, "demo", "--workers", str(ENGINES), "--duration", "75", "--listen", "127.0.0.1:0",
                             "--arena", ARENA], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(10):
        if "curl http://127.0.0.1:" in demo.stdout.readline():
            return demo
    return demo


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
        prom = Prometheus(tmp, scrape_config("vllm", "127.0.0.1:%s" % m.group(1)))
        check(prom.wait(lambda: prom.scalar('up{job="vllm"}') == 1) is True, "Prometheus scrapes the collector")
        # Enough scrapes for 1m rates to see the engines' traffic.
        time.sleep(25)
        for dashboard, panel, expr in QUERIES:
            q = promql(expr)
            try:
                result = prom.query(q)
            except (OSError, RuntimeError) as e:
                result = "error %s" % e
            check(isinstance(result, list) and len(result) > 0, "%s, %s: %s" % (dashboard, panel, q), result)
        check(prom.scalar(promql(QUERIES[18][2])) == 2.0, "service status: the model is Online (2)")
        check(prom.scalar('count(vllm:spec_decode_num_accepted_tokens_per_pos{position=~"0|1|2"})') is None,
              "per-position counters are exposed with _total, as vLLM's")

        # The series vLLM creates at start-up, per engine and label value.
        exact = [
            ("count(vllm:request_success_total)", 4.0 * ENGINES),
            ('count(vllm:request_success_total{finished_reason=~"stop|length|abort|error"})', 4.0 * ENGINES),
            ("count(vllm:num_preemptions_total)", 1.0 * ENGINES),
            ("count(vllm:spec_decode_num_accepted_tokens_per_pos_total)", 3.0 * ENGINES),
            ("count(vllm:num_requests_waiting_by_reason)", 2.0 * ENGINES),
            ("count(vllm:prompt_tokens_by_source_total)", 3.0 * ENGINES),
            ("count(vllm:prompt_tokens_cached_by_source_total)", 5.0 * ENGINES),
            ("count(vllm:kv_offload_total_bytes_total)", 2.0 * ENGINES),
            ("count(vllm:engine_sleep_state)", 3.0 * ENGINES),
            ("count(vllm:cache_config_info == 1)", 1.0 * ENGINES),
            # Counted by no part of the simulation: there, at 0.
            ('sum(vllm:prompt_tokens_cached_by_source_total{source="disk"})', 0.0),
            ('sum(vllm:prompt_tokens_cached_by_source_total{source="external_unspecified"})', 0.0),
            ("sum(vllm:nixl_num_kv_expired_reqs_total)", 0.0),
            ("sum(vllm:nixl_num_failed_notifications_total)", 0.0),
            ('sum(vllm:engine_sleep_state{sleep_state="discard_all"})', 0.0),
            ('count(vllm:nixl_num_kv_expired_reqs_total == 0)', 1.0 * ENGINES),
        ]
        for expr, want in exact:
            got = prom.scalar(expr)
            check(got == want, "start-up series: %s == %g" % (expr, want), got)
        info = prom.query('vllm:cache_config_info{engine="0"}')
        check(len(info) == 1 and info[0]["metric"].get("block_size") == "16" and info[0]["value"][1] == "1",
              "vllm:cache_config_info: a gauge at 1 carrying the configuration as labels", info)
        # The API server in front of the engines, and the processes' metrics.
        got = prom.scalar('sum(http_requests_total{handler="/v1/completions",method="POST",status="2xx"}) > 0')
        check(got is not None, "the API server's http_requests_total", got)
        got = prom.scalar('count(http_request_duration_seconds_bucket{handler="/v1/completions",le="+Inf"})')
        check(got == 1.0, "the API server's http_request_duration_seconds", got)
        got = prom.scalar("count(process_start_time_seconds)")
        check(got is not None and got >= ENGINES + 1, "process_* of the engines and the API server", got)
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
