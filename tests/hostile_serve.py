# SPDX-License-Identifier: MIT
"""tests/hostile_serve.py - owns the hostile writer against `shmetrics serve`:
for each region of an arena, tests/scribble overwrites it with random bytes
for a second while HTTP scrapes run back to back.

Every scrape must come back within SCRAPE_TIMEOUT with 200 and a body that
prometheus_client's text parser (or json.loads) reads; the collector's own
shmetrics_arena_damaged_records counts the defect the scribbler leaves, and
the collector logs the change; at the end the collector is still running
and stops cleanly on SIGTERM.  127.0.0.1 only; every process started is
stopped by its PID.

Needs SHMETRICS_CLI and SHMETRICS_SCRIBBLE; run by Debian's python3.
"""
import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families
from tap import check, summary

CLI = os.environ["SHMETRICS_CLI"]
SCRIBBLE = os.environ["SHMETRICS_SCRIBBLE"]
ARENA = "/dev/shm/shmetrics-hostile-serve-%d" % os.getpid()
SCRAPE_TIMEOUT = 60
# (region, family or None, does the scribbler leave a defect to count?)
REGIONS = [
    ("families", None, True),
    ("series", None, True),
    ("heap", None, True),
    ("procs", None, True),
    ("heap", "c_latency", True),
    ("cells", None, False),
    ("header-words", None, False),
    ("all", None, False),
]




def cli(*args):
    r = subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("shmetrics %s: %s" % (" ".join(args), r.stderr))


def populate():
    if os.path.exists(ARENA):
        os.unlink(ARENA)
    cli("create", "--arena", ARENA, "--families", "16", "--series", "64", "--processes", "4", "--shards", "2",
        "--cells", "65536")
    cli("inc", "--arena", ARENA, "--help", "A.", "a_requests_total", "method=GET", "5")
    cli("inc", "--arena", ARENA, "--help", "A.", "a_requests_total", "method=POST", "7")
    cli("set", "--arena", ARENA, "--help", "B.", "--mode", "sum", "b_depth", "3.5")
    cli("observe", "--arena", ARENA, "--help", "C.", "--buckets", "0.1,1,10", "c_latency", "route=/x", "0.5")
    cli("observe", "--arena", ARENA, "--summary", "--help", "D.", "d_tokens", "12")
    cli("set", "--arena", ARENA, "--help", "F.", "--mode", "all", "f_workers", "1")


def scrape(port, path, compressed=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=SCRAPE_TIMEOUT)
    c.request("GET", path, headers={"Accept-Encoding": "gzip"} if compressed else {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def damaged(text):
    m = re.search(r"^shmetrics_arena_damaged_records (\S+)$", text, re.M)
    return float(m.group(1)) if m else -1


def run_region(region, family, defect, seed):
    populate()
    # The collector's log goes to a file: a pipe read only at the end would
    # fill up and block its writes.
    log = open(ARENA + ".log", "w+")
    serve = subprocess.Popen([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0", "--threads", "2"],
                             stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = serve.stdout.readline()
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics from ", line)
        if not m:
            check(False, "serve starts", open(ARENA + ".log").read())
            return
        port = int(m.group(1))
        args = [SCRIBBLE, ARENA, region, "1", str(seed)] + ([family] if family else [])
        scribbler = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        statuses, unparsed, most, n = {}, 0, 0, 0
        paths = ["/metrics", "/metrics?format=openmetrics", "/metrics?format=json"]
        while True:
            done = scribbler.poll() is not None
            path = paths[n % 3]
            try:
                status, body = scrape(port, path, compressed=n % 2 == 1)
                if n % 2 == 1 and status == 200:
                    body = gzip.decompress(body)
            except Exception as e:  # a timeout or a dropped connection
                status, body = repr(e), b""
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200 and path.endswith("json"):
                try:
                    json.loads(body)
                except Exception:
                    unparsed += 1
            if status == 200 and path == "/metrics":
                text = body.decode("utf-8")
                try:
                    list(text_string_to_metric_families(text))
                except Exception:
                    unparsed += 1
                most = max(most, damaged(text))
            n += 1
            if done:
                break
        scribbler.communicate(timeout=30)
        what = "%s%s" % (region, " of " + family if family else "")
        check(list(statuses) == [200], "%s: %d scrapes while scribbling, every one 200" % (what, n), statuses)
        check(unparsed == 0, "%s: every text and JSON body parses" % what, "%d did not" % unparsed)
        status, body = scrape(port, "/metrics")
        last = damaged(body.decode("utf-8")) if status == 200 else -1
        if defect:
            check(last > 0, "%s: the defect left is counted in shmetrics_arena_damaged_records" % what, last)
        check(serve.poll() is None, "%s: serve still runs (damaged records: up to %d)" % (what, max(most, last)))
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=30)
        err = open(ARENA + ".log").read()
        check(serve.returncode == 0, "%s: serve stops cleanly on SIGTERM" % what, err[-400:])
        if defect:
            check("damaged records skipped in this scrape" in err, "%s: serve logged the damage" % what, err[-400:])
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        log.close()
        for f in (ARENA, ARENA + ".log"):
            if os.path.exists(f):
                os.unlink(f)


def main():
    for i, (region, family, defect) in enumerate(REGIONS):
        run_region(region, family, defect, os.getpid() + i)
    sys.exit(summary())


main()
