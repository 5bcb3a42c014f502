# SPDX-License-Identifier: MIT
"""A real Prometheus server (Debian's package) for the end-to-end tests:
started on 127.0.0.1 on a free port with the configuration a test gives,
its log kept in its directory, its query API read, and stopped by PID.

Run by Debian's python3, from tests that have SHMETRICS_CLI in the
environment (push_common needs it).
"""
import json
import os
import shutil
import sys
import subprocess
import time
import urllib.parse
import urllib.request

from push_common import free_port, stop_proc

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


class Prometheus:
    def __init__(self, workdir, config, *flags, port=None):
        """Write `config` (the text of prometheus.yml) into `workdir` and
        start Prometheus there with `flags` added to its command line."""
        os.makedirs(workdir, exist_ok=True)
        self.port = port or free_port()
        cfg = os.path.join(workdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write(config)
        self.logpath = os.path.join(workdir, "prometheus.log")
        with open(self.logpath, "w") as log:
            self.proc = subprocess.Popen([PROMETHEUS, "--config.file=" + cfg,
                                          "--storage.tsdb.path=" + os.path.join(workdir, "data"),
                                          "--web.listen-address=127.0.0.1:%d" % self.port] + list(flags),
                                         stdout=log, stderr=subprocess.STDOUT)

    def ready(self):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        """The data of a call to the HTTP API (/api/v1/PATH); OSError while
        Prometheus is not up, RuntimeError when it refuses the call."""
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path, urllib.parse.urlencode(params))
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
        if doc.get("status") != "success":
            raise RuntimeError(doc)
        return doc["data"]

    def query(self, expr):
        """The result list of an instant query."""
        return self.api("query", query=expr)["result"]

    def query_exemplars(self, expr, start, end):
        """The exemplars stored for `expr` between two times (seconds):
        a list of {seriesLabels, exemplars}."""
        return self.api("query_exemplars", query=expr, start="%.3f" % start, end="%.3f" % end)

    def scalar(self, expr):
        """The value of a query that returns exactly one sample, else (or
        while Prometheus is not up) None."""
        try:
            res = self.query(expr)
        except OSError:
            return None
        return float(res[0]["value"][1]) if len(res) == 1 else None

    def wait(self, cond, seconds=60, step=0.5):
        """Call cond() until it is true or `seconds` pass; its last value."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                got = cond()
            except OSError:
                got = None
            if got or time.monotonic() >= deadline:
                return got
            time.sleep(step)

    def stop(self):
        stop_proc(self.proc)

    def tail(self, lines=20):
        """The end of its log, as TAP comment lines."""
        try:
            with open(self.logpath) as f:
                return "".join("# " + line for line in f.readlines()[-lines:])
        except OSError:
            return ""


def scrape_config(job, target, extra=""):
    """prometheus.yml scraping `target` every second as `job`; `extra` is
    more of the job's keys, indented as the job's."""
    return ("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
            "  - job_name: %s\n%s    static_configs:\n      - targets: ['%s']\n" % (job, extra, target))


def finish(prom, arena, tmp, show_log):
    """The end of an end-to-end test: Prometheus' log tail when a check
    failed (show_log), Prometheus stopped, the arena and the temporary
    directory removed."""
    if prom:
        if show_log:
            sys.stdout.write(prom.tail())
        prom.stop()
    try:
        os.unlink(arena)
    except FileNotFoundError:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
