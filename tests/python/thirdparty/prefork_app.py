# SPDX-License-Identifier: MIT
# A pre-fork program written against prometheus_client's multiprocess
# documentation, as a third party writes it: it knows nothing of shmetrics
# and is never edited for it.  Run with PROMETHEUS_MULTIPROC_DIR set (a
# fresh directory):
#
#     prefork_app.py OUTPUT [LIVE_MODE STATIC_MODE]
#
# 4 worker processes handle requests; the parent collects every process's
# metrics through a CollectorRegistry and MultiProcessCollector, marks each
# worker dead once it has exited, and writes the exposition to OUTPUT.  It
# prints "worker INDEX PID" for each worker and "parent PID".
import multiprocessing
import os
import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

LIVE_MODE = sys.argv[2] if len(sys.argv) > 2 else "livemostrecent"
STATIC_MODE = sys.argv[3] if len(sys.argv) > 3 else "mostrecent"

REQUESTS = Counter("app_requests_total", "Requests handled.", ["worker", "method"])
ERRORS = Counter("app_errors", "Requests that failed.", ["code"])
LATENCY = Histogram("app_request_latency_seconds", "Request latency.", ["method"],
                    buckets=[0.01, 0.05, 0.1, 0.5, 1.0])
IN_FLIGHT = Gauge("app_in_flight", "Requests in flight.", ["worker"], multiprocess_mode=LIVE_MODE)
CONFIG = Gauge("app_config_workers", "Configured workers.", ["pool"], multiprocess_mode=STATIC_MODE)
QUEUE = Gauge("app_queue_length", "Queued requests.", ["pool"], multiprocess_mode="sum")
ALIVE = Gauge("app_alive", "1 while the process runs.", ["role"], multiprocess_mode="liveall")


def worker(index):
    ALIVE.labels("worker").set(1)
    CONFIG.labels("main").set(4)
    QUEUE.labels("main").inc(index + 1)
    IN_FLIGHT.labels(str(index)).set(index)
    for req in range(100 * (index + 1)):
        method = "GET" if req % 3 else "POST"
        REQUESTS.labels(worker=str(index), method=method).inc()
        LATENCY.labels(method).observe(0.003 * (req % 200))
        if req % 50 == 0:
            ERRORS.labels("500").inc()


def main():
    out = sys.argv[1]
    ALIVE.labels("parent").set(1)
    IN_FLIGHT.labels("parent").set(0)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=worker, args=(i,)) for i in range(4)]
    for p in procs:
        p.start()
    for i, p in enumerate(procs):
        p.join()
        print(f"worker {i} {p.pid}", flush=True)
        multiprocess.mark_process_dead(p.pid)
    print(f"parent {os.getpid()}", flush=True)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    with open(out, "wb") as f:
        f.write(generate_latest(registry))


if __name__ == "__main__":
    main()
