# SPDX-License-Identifier: MIT
"""`shmetrics bench` from the outside: the hot-path cases as a table and
as JSON lines in the format of make bench (every case, every member, the
ratio its figures give), the scrape of an existing arena (exact series,
samples and bytes, the arena file unchanged), its arena removed when
stopped, and every argument it refuses with its message.  No timing is
asserted.  Failures: no room for the cases' arena (a read-only /dev/shm, as root),
that arena not removable, the scraped arena truncated.  Run by Debian's
python3 with SHMETRICS_CLI and SHMETRICS_FEED set."""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from tap import check, cli_docs, summary

CLI = os.environ["SHMETRICS_CLI"]
FEED = os.environ["SHMETRICS_FEED"]
ARENA = "/dev/shm/shmetrics-bench-cli-test-%d" % os.getpid()
NCPU = min(len(os.sched_getaffinity(0)), 64)

HOT = ["baseline_private_atomic", "baseline_shared_atomic"] + \
    [c + s for c in ("counter_add", "counter_inc_integer", "counter_inc_fraction", "counter_inc_exemplar",
                     "sampler_inc", "gauge_set", "gauge_inc", "histogram_observe", "native_observe",
                     "native_observe_schema8", "summary_observe") for s in ("_one_series", "_per_thread")] + \
    ["labels_lookup_inc"]


def run(*args, timeout=300):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=timeout)


def usage_error(args, msg):
    r = run("bench", *args)
    check(r.returncode == 2 and r.stderr.startswith("shmetrics bench: " + msg + "\n") and
          "usage: shmetrics bench" in r.stderr, "refused: bench %s" % " ".join(args), r.stderr)


def refusals():
    cpus = "(the CPUs this process may run on)"
    usage_error(["--threads", "0"], "--threads takes a whole number from 1 to %d %s, not '0'" % (NCPU, cpus))
    usage_error(["--threads", "two"], "--threads takes a whole number from 1 to %d %s, not 'two'" % (NCPU, cpus))
    usage_error(["--threads", str(NCPU + 1)],
                "--threads takes a whole number from 1 to %d %s, not '%d'" % (NCPU, cpus, NCPU + 1))
    usage_error(["--threads", "-1"], "--threads takes a whole number from 1 to %d %s, not '-1'" % (NCPU, cpus))
    usage_error(["--threads"], "--threads needs a value")
    usage_error(["--scrape", "--arena", ARENA, "--threads", "1"],
                "--threads is for the hot-path cases: a scrape runs on one thread")
    usage_error(["--arena", ARENA], "--arena is for --scrape: the hot-path cases run on an arena of their own")
    usage_error(["--scrapes", "5"], "--scrapes is for --scrape")
    usage_error(["--scrape", "--arena", ARENA, "--scrapes", "0"], "--scrapes takes a whole number from 1 to 100000, not '0'")
    usage_error(["--scrape", "--arena", ARENA, "--scrapes", "100001"],
                "--scrapes takes a whole number from 1 to 100000, not '100001'")
    usage_error(["--fast"], "unknown option --fast")
    usage_error(["now"], "unexpected argument now")
    env = dict(os.environ)
    env.pop("SHMETRICS_ARENA", None)
    r = subprocess.run([CLI, "bench", "--scrape"], capture_output=True, text=True, env=env, timeout=10)
    check(r.returncode == 2 and r.stderr.startswith(
        "shmetrics bench: --scrape needs an arena: give --arena PATH or set SHMETRICS_ARENA\n"),
        "refused: --scrape without an arena", r.stderr)
    missing = ARENA + "-missing"
    d, b = run("dump", "--arena", missing), run("bench", "--scrape", "--arena", missing)
    check(b.returncode == d.returncode == 1 and b.stderr == d.stderr and "no arena at" in b.stderr,
          "--scrape of a missing arena: dump's message and status", b.stderr)
    damaged = ARENA + "-damaged"
    with open(damaged, "wb") as f:
        f.write(b"\0" * 65536)
    d, b = run("dump", "--arena", damaged), run("bench", "--scrape", "--arena", damaged)
    os.unlink(damaged)
    check(b.returncode == d.returncode == 1 and b.stderr == d.stderr and b.stderr.startswith("shmetrics: opening"),
          "--scrape of a damaged arena: dump's message and status", b.stderr)
    r = run("bench", "--help")
    check(r.returncode == 0 and r.stdout.startswith("usage: shmetrics bench [--threads N] [--json]\n"), "--help")


def hot_json():
    r = run("bench", "--threads", "1", "--json")
    check(r.returncode == 0 and r.stderr == "", "bench --threads 1 --json runs", r.stderr)
    try:
        lines = [json.loads(l) for l in r.stdout.splitlines()]
    except ValueError as e:
        check(False, "every line is a JSON object", str(e))
        return
    check([l["case"] for l in lines] == HOT, "the hot-path cases of make bench, in its order",
          [l["case"] for l in lines])
    keys = ["case", "threads", "processes", "ns_per_op", "baseline", "baseline_case", "ratio", "clean_reps",
            "baseline_clean_reps"]
    check(all(list(l) == keys for l in lines), "make bench's members, in its order", [list(l) for l in lines][:1])
    check(all(l["threads"] == 1 and l["processes"] == 1 and l["baseline_case"] == "baseline_private_atomic"
              for l in lines), "one thread, one process, the private-atomic baseline")
    # The three figures are printed with 3 decimals: the ratio of the
    # printed ones is within their rounding of the printed ratio.
    def ratio_ok(l):
        r = l["ns_per_op"] / l["baseline"]
        return abs(l["ratio"] - r) <= r * (0.0005 / l["ns_per_op"] + 0.0005 / l["baseline"]) + 0.0005 + 1e-9
    check(all(l["ns_per_op"] > 0 and l["baseline"] > 0 and ratio_ok(l)
              and 0 <= l["clean_reps"] <= 5 and 0 <= l["baseline_clean_reps"] <= 5 for l in lines),
          "positive figures, their ratio, clean repetitions out of 5")


def hot_table():
    r = run("bench", "--threads", "1")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and lines[0].startswith("shmetrics hot path on 1 of %d CPUs" % len(
        os.sched_getaffinity(0))), "the table's title", r.stdout[:200])
    head = next((i for i, l in enumerate(lines) if l.startswith("CASE ")), None)
    check(head is not None and lines[head].split() == ["CASE", "THREADS", "NS/CALL", "BASELINE", "RATIO", "CLEAN"],
          "the table's columns")
    rows = [l.split() for l in lines[head + 1:]] if head is not None else []
    check([w[0] for w in rows] == HOT and all(
        len(w) == 6 and w[1] == "1" and re.fullmatch(r"\d+\.\d\d", w[2]) and re.fullmatch(r"\d+\.\d\d", w[3]) and
        re.fullmatch(r"\d+\.\d\d", w[4]) and re.fullmatch(r"[0-5]/5", w[5]) for w in rows),
        "a row per case: threads, ns per call, baseline, ratio, clean", rows[:2])


def scrape():
    for a in (["inc", "s_total", "k=a", "3"], ["inc", "s_total", "k=b"], ["set", "g", "2"],
              ["observe", "--buckets", "1,2", "h_seconds", "1.5"]):
        run(a[0], "--arena", ARENA, *a[1:])
    with open(ARENA, "rb") as f:
        before = hashlib.sha256(f.read()).hexdigest()
    dump = run("dump", "--arena", ARENA).stdout
    samples = len([l for l in dump.splitlines() if l and not l.startswith("#")])
    r = run("bench", "--scrape", "--arena", ARENA, "--scrapes", "7", "--json")
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    check(r.returncode == 0 and list(j) == ["case", "threads", "processes", "ms", "baseline", "baseline_case",
                                            "ratio", "series", "samples", "us_per_series", "bytes", "collect_ms",
                                            "p99_ms", "wall_ms", "scrapes"], "--scrape --json: its members",
          r.stdout + r.stderr)
    check(j.get("case") == "scrape_arena" and j.get("threads") == 1 and j.get("processes") == 0 and
          j.get("baseline_case") == "baseline_snprintf_text" and j.get("scrapes") == 7,
          "--scrape --json: case, one thread, no process attached, 7 scrapes")
    check(j.get("series") == 4 and j.get("samples") == samples and j.get("bytes") == len(dump.encode()),
          "--scrape --json: the series, samples and bytes dump gives", (j, samples, len(dump)))
    check(j.get("ms", 0) > 0 and j.get("p99_ms", 0) >= j.get("ms", 1) and j.get("collect_ms", 1e9) <= j.get("ms"),
          "--scrape --json: median <= p99, the merge part of it")
    r = run("bench", "--scrape", "--arena", ARENA, "--scrapes", "3")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and [l.split()[0] for l in lines] == ["arena", "content", "scrapes", "median", "p99",
                                                                  "wall", "baseline"] and
          lines[1] == "content   4 series, %d samples, %d bytes of Prometheus text; 0 processes attached" % (
              samples, len(dump.encode())), "--scrape: the table", r.stdout)
    with open(ARENA, "rb") as f:
        check(hashlib.sha256(f.read()).hexdigest() == before, "--scrape leaves the arena file as it was")


def failures():
    """What fails once the arguments are right: status 1 and the reason."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        # /dev/shm read-only, in a mount namespace of the test's own.
        r = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o ro tmpfs /dev/shm && exec %s bench "
                            "--threads 1" % CLI], capture_output=True, text=True, timeout=60)
        check(r.returncode == 1 and r.stderr.startswith("shmetrics: creating the benchmark's arena: ") and
              "Read-only file system" in r.stderr, "no room for the cases' arena: status 1, the reason", r.stderr)
    else:
        print("# skipped: a read-only /dev/shm needs root and unshare")
    # The cases' arena replaced by a directory: it cannot be removed.
    p = subprocess.Popen([CLI, "bench", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = "/dev/shm/shmetrics-bench-%d" % p.pid
    p.stdout.readline()
    os.unlink(path)
    os.mkdir(path)
    err = p.communicate(timeout=120)[1]
    os.rmdir(path)
    check(p.returncode == 1 and err == "shmetrics: removing the benchmark's arena: cannot unlink %s: Is a directory "
          "(Is a directory)\n" % path, "the cases' arena not removable: status 1, the reason", err)
    # The scraped arena cut short under the scrapes.
    cut = ARENA + "-cut"
    subprocess.run([FEED, cut, "1", "2000"], capture_output=True, timeout=60, check=True)
    p = subprocess.Popen([CLI, "bench", "--scrape", "--arena", cut, "--scrapes", "100000"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    os.truncate(cut, 4096)
    out, err = p.communicate(timeout=120)
    os.unlink(cut)
    check(p.returncode == 1 and out == "" and err.startswith("shmetrics: reading the arena: ") and
          "truncated" in err, "--scrape: the arena truncated under it: status 1, the reason", err)


def stopped():
    p = subprocess.Popen([CLI, "bench", "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    path = "/dev/shm/shmetrics-bench-%d" % p.pid
    p.stdout.readline()
    existed = os.path.exists(path)
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=30)
    check(existed and p.returncode == -signal.SIGINT and not os.path.exists(path),
          "SIGINT: the cases' arena is removed, the status says the signal", (existed, p.returncode))


def documented():
    r = run("bench", "--help")
    check(r.returncode == 0 and r.stdout.startswith("usage: shmetrics bench") and r.stdout in cli_docs(),
          "docs/cli.md has bench --help as it is")


try:
    documented()
    refusals()
    scrape()
    hot_json()
    hot_table()
    stopped()
    failures()
finally:
    if os.path.exists(ARENA):
        os.unlink(ARENA)
sys.exit(summary())
