# SPDX-License-Identifier: MIT
"""`shmetrics demo` from the outside: it serves vLLM's metrics from worker
processes, prints one line a second, stops on --duration and on SIGINT, and
removes its arena.  Run by Debian's python3 with SHMETRICS_CLI set."""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from tap import check, summary

CLI = os.environ["SHMETRICS_CLI"]
ARENA = "/dev/shm/shmetrics-demo-test-%d" % os.getpid()

TTFT = ["0.001", "0.005", "0.01", "0.02", "0.04", "0.06", "0.08", "0.1", "0.25", "0.5", "0.75", "1.0", "2.5",
        "5.0", "7.5", "10.0", "20.0", "40.0", "80.0", "160.0", "640.0", "2560.0", "+Inf"]
LATENCY = ["0.3", "0.5", "0.8", "1.0", "1.5", "2.0", "2.5", "5.0", "10.0", "15.0", "20.0", "30.0", "40.0",
           "50.0", "60.0", "120.0", "240.0", "480.0", "960.0", "1920.0", "7680.0", "+Inf"]
TOKENS = ["1.0", "2.0", "5.0", "10.0", "20.0", "50.0", "100.0", "200.0", "500.0", "1000.0", "2000.0", "5000.0",
          "+Inf"]




def les(fams, name):
    return [s.labels["le"] for s in fams[name].samples
            if s.name == name + "_bucket" and s.labels.get("engine") == "0"]


def run_with_duration():
    p = subprocess.Popen([CLI, "demo", "--workers", "2", "--duration", "4", "--listen", "127.0.0.1:0",
                          "--arena", ARENA], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    port = None
    for _ in range(10):
        line = p.stdout.readline()
        m = re.search(r"curl http://127\.0\.0\.1:(\d+)/metrics", line)
        if m:
            port = int(m.group(1))
            break
    check(port is not None, "the demo prints the URL to scrape")
    time.sleep(2.5)
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5).read().decode()
    fams = {f.name: f for f in text_string_to_metric_families(body)}
    for name, typ in (("vllm:num_requests_running", "gauge"), ("vllm:kv_cache_usage_perc", "gauge"),
                      ("vllm:prompt_tokens", "counter"), ("vllm:generation_tokens", "counter"),
                      ("vllm:request_success", "counter"), ("vllm:time_to_first_token_seconds", "histogram"),
                      ("vllm:inter_token_latency_seconds", "histogram"),
                      ("vllm:e2e_request_latency_seconds", "histogram"),
                      ("vllm:request_prompt_tokens", "histogram"), ("vllm:iteration_tokens_total", "histogram")):
        check(name in fams and fams[name].type == typ, "served: %s is a %s" % (name, typ))
    check(les(fams, "vllm:time_to_first_token_seconds") == TTFT, "vLLM's 22 TTFT buckets")
    check(les(fams, "vllm:e2e_request_latency_seconds") == LATENCY, "vLLM's 21 request latency buckets")
    check(les(fams, "vllm:request_prompt_tokens") == TOKENS, "1-2-5 token buckets up to 8192")
    labels = {tuple(sorted(s.labels)) for s in fams["vllm:request_success"].samples}
    check(labels == {("engine", "finished_reason", "model_name")}, "request_success labels", labels)
    reasons = {s.labels["finished_reason"] for s in fams["vllm:request_success"].samples}
    check(reasons == {"stop", "length", "abort", "error"}, "finished reasons, each created at start-up", reasons)
    engines = {s.labels["engine"] for s in fams["vllm:prompt_tokens"].samples}
    check(engines == {"0", "1"}, "one engine label per worker process", engines)
    tokens = sum(s.value for s in fams["vllm:generation_tokens"].samples)
    check(tokens > 0, "the workers generate tokens (%d so far)" % tokens)
    out, err = p.communicate(timeout=30)
    lines = [l for l in out.splitlines() if l.startswith("[")]
    pattern = re.compile(r"^\[ +\d+s\] +\d+\.\d req/s   TTFT p50 +(\d+\.\d{3}|nan) s  p99 +(\d+\.\d{3}|nan) s"
                         r"   running +\d+  waiting +\d+   series \d+$")
    check(len(lines) == 4, "one line a second for 4 s", out)
    check(all(pattern.match(l) for l in lines), "the lines have the documented shape", lines)
    check(p.returncode == 0, "--duration: exit 0", err)
    check("stopped; %s removed." % ARENA in out and not os.path.exists(ARENA), "the arena is removed")


def run_until_sigint():
    p = subprocess.Popen([CLI, "demo", "--workers", "1", "--listen", "127.0.0.1:0", "--arena", ARENA],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    check(os.path.exists(ARENA), "running: the arena exists")
    p.send_signal(signal.SIGINT)
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    check(p.returncode == 0 and not os.path.exists(ARENA), "Ctrl-C: exit 0, arena removed", err)
    r = subprocess.run([CLI, "demo", "--workers", "0"], capture_output=True, text=True)
    check(r.returncode == 2 and "--workers takes a whole number from 1 to 64" in r.stderr, "--workers 0: exit 2")
    subprocess.run([CLI, "create", "--arena", ARENA], check=True, capture_output=True)
    r = subprocess.run([CLI, "demo", "--arena", ARENA, "--duration", "1"], capture_output=True, text=True)
    check(r.returncode == 1 and "already exists" in r.stderr, "an existing arena is not taken over", r.stderr)
    os.unlink(ARENA)


def main():
    try:
        run_with_duration()
        run_until_sigint()
    finally:
        if os.path.exists(ARENA):
            os.unlink(ARENA)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
