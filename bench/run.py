# SPDX-License-Identifier: MIT
"""bench/run.py - the benchmark suite's driver (make bench): runs the
benchmark programs one after another, prints a table as results arrive,
writes every result as one JSON object per line, and checks the targets of
docs/benchmarks.md.

usage: run.py --out FILE --hotpath EXE --collector EXE --memory EXE
              --manycore EXE --procs EXE --peer-python SCRIPT [--peer-cpp EXE]
              [--formats EXE]
The environment variable BENCH_OUT, when set, overrides --out.

Programs, in order (each prints JSON lines, see src/bench/harness.h):
  hotpath      shmetrics' hot path and the atomic baselines
  peer_cpp     prometheus-cpp, the same cases (when it was built)
  peer_python  prometheus_client in multiprocess mode, hot path; it gets
               hotpath's private-line baselines, as Python cannot measure
               an atomic add itself
  collector    shmetrics scrapes
  peer_python  prometheus_client scrapes; it gets the collector's figures
               for the same workloads as baselines
  memory       arena bytes per series
  manycore     scrapes, collector RSS and arena bytes on simulated hosts of
               2 to 1,024 CPUs
  procs        scrapes with and without the workers' process metrics, for
               16, 64 and 256 attached worker processes
  formats      1,000 histogram series in text, OpenMetrics and protobuf, and
               as native histograms in protobuf (when given)
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

UNITS = (("ns_per_op", "ns/op"), ("ms", "ms"), ("bytes_per_series", "B/series"))


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%d CPUs (%s), Linux %s, Python %s" % (len(os.sched_getaffinity(0)), model, platform.release(),
                                                   platform.python_version())


def figure(rec):
    for key, unit in UNITS:
        if key in rec:
            return rec[key], unit
    return float("nan"), "?"


def row(rec):
    value, unit = figure(rec)
    extra = ""
    if "us_per_series" in rec:
        extra = "%.3f us/series" % rec["us_per_series"]
    if "resident_bytes_per_series" in rec:
        extra = "%.0f B/series resident" % rec["resident_bytes_per_series"]
    if "added_us_per_process" in rec:
        extra = "+%.3f ms, %.1f us/process" % (rec["added_ms"], rec["added_us_per_process"])
    if "collector_max_rss_mb" in rec:
        extra = "rss %.1f MB, arena %.0f B/series, %d stripe sets" % (
            rec["collector_max_rss_mb"], rec["arena_bytes_per_series"], rec["stripe_sets"])
    return "%-46s %3d %4d %12.3f %-8s %10.3f %8.2f  %s" % (rec["case"], rec["threads"], rec["processes"], value,
                                                             unit, rec["baseline"], rec["ratio"], extra)


class Suite:
    def __init__(self, out):
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        self.out = open(out, "w")
        self.records = []

    def run(self, argv):
        shown = [os.path.basename(a) for a in argv if not a.startswith("{")]
        print("# %s" % " ".join(shown[1:] if shown[0].startswith("python") else shown), flush=True)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            line = line.strip()
            if not line.startswith("{"):
                continue
            rec = json.loads(line)
            self.records.append(rec)
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()
            print(row(rec), flush=True)
        if proc.wait() != 0:
            sys.exit("bench: %s failed with status %d" % (argv[0], proc.returncode))

    def find(self, case, **match):
        return [r for r in self.records
                if r["case"] == case and all(r.get(k) == v for k, v in match.items())]


def check_targets(suite):
    """(target, figure, met) for every target of docs/benchmarks.md."""
    out = []

    # Counters: <= 1.5x with one thread, <= 1.2x with two threads on one
    # series (the many-core work's target), on real and simulated CPUs.
    for r in suite.find("counter_inc_integer_one_series"):
        if r["threads"] <= 2:
            limit = 1.5 if r["threads"] == 1 else 1.2
            out.append(("counter inc (integer), one series, %d thread(s): <= %gx private atomic" % (r["threads"], limit),
                        "%.2f ns = %.2fx" % (r["ns_per_op"], r["ratio"]), r["ratio"] <= limit))
    for r in suite.records:
        if r["case"].startswith(("counter_add_one_series_sim", "histogram_observe_one_series_sim",
                                 "summary_observe_one_series_sim")):
            limit = (1.5 if r["threads"] == 1 else 1.2) if r["case"].startswith("counter") else \
                4 if r["case"].startswith("histogram") else 10
            out.append(("%s, %d thread(s): <= %gx private atomic" % (r["case"], r["threads"], limit),
                        "%.2f ns = %.2fx" % (r["ns_per_op"], r["ratio"]), r["ratio"] <= limit))
    for case, what in (("gauge_set_per_thread", "gauge set"), ("gauge_inc_per_thread", "gauge inc")):
        one = {r["threads"]: r["ns_per_op"] for r in suite.find(case)}
        for threads in sorted(one):
            if threads > 1 and 1 in one:
                ratio = one[threads] / one[1]
                out.append(("%s, a series per thread, %d threads: <= 1.2x one thread" % (what, threads),
                            "%.2f ns vs %.2f ns = %.2fx" % (one[threads], one[1], ratio), ratio <= 1.2))
    for r in suite.records:
        if r["case"].startswith("scrape_from_2_cpus_"):
            out.append(("%s: <= 1.2x the 2-CPU arena, < 100 ms" % r["case"], "%.1f ms = %.2fx" % (r["ms"], r["ratio"]),
                        r["ratio"] <= 1.2 and r["ms"] < 100))
        if r["case"].startswith("scrape_from_"):
            out.append(("%s: collector max RSS <= 64 MB" % r["case"], "%.1f MB" % r["collector_max_rss_mb"],
                        r["collector_max_rss_mb"] <= 64))
    for case, limit, what in (("histogram_observe_one_series", 4, "histogram observe"),
                              ("histogram_observe_per_thread", 4, "histogram observe"),
                              ("summary_observe_one_series", 10, "summary observe"),
                              ("summary_observe_per_thread", 10, "summary observe")):
        for r in suite.find(case):
            shape = "one series" if case.endswith("one_series") else "series per thread"
            out.append(("%s, %s, %d thread(s): <= %dx private atomic" % (what, shape, r["threads"], limit),
                        "%.2f ns = %.2fx" % (r["ns_per_op"], r["ratio"]), r["ratio"] <= limit))
    for r in suite.find("labels_lookup_inc"):
        out.append(("label look-up + inc, %d thread(s): <= 10x private atomic" % r["threads"],
                    "%.2f ns = %.2fx" % (r["ns_per_op"], r["ratio"]), r["ratio"] <= 10))
    for r in suite.records:
        if r["case"].startswith("scrape_counter_series_"):
            out.append(("scrape, %d counter series, %d processes: <= 0.5 us/series" % (r["series"], r["processes"]),
                        "%.3f us/series" % r["us_per_series"], r["us_per_series"] <= 0.5))
    for r in suite.find("scrape_counter_series_100000"):
        out.append(("scrape, 100,000 series, %d processes: < 100 ms" % r["processes"], "%.1f ms" % r["ms"],
                    r["ms"] < 100))
    # Native histograms and exemplars: observe <= 4x, an increment carrying
    # an exemplar <= 15x, 1,000 native series in protobuf no slower to
    # scrape than the same series' classic buckets in text.
    for case, limit, what in (("native_observe_one_series", 4, "native histogram observe, one series"),
                              ("native_observe_per_thread", 4, "native histogram observe, series per thread"),
                              ("counter_inc_exemplar_one_series", 15, "counter inc with an exemplar, one series"),
                              ("counter_inc_exemplar_per_thread", 15,
                               "counter inc with an exemplar, series per thread")):
        for r in suite.find(case):
            out.append(("%s, %d thread(s): <= %dx private atomic" % (what, r["threads"], limit),
                        "%.2f ns = %.2fx" % (r["ns_per_op"], r["ratio"]), r["ratio"] <= limit))
    for r in suite.find("format_protobuf_native"):
        out.append(("scrape, %d native histogram series in protobuf: <= their classic text" % r["series"],
                    "%.1f ms vs %.1f ms = %.2fx" % (r["ms"], r["baseline"], r["ratio"]), r["ratio"] <= 1))
    for r in suite.find("prometheus_client_scrape_histogram_series_1000", processes=16):
        out.append(("scrape, 16 x 1,000 histogram series: >= 50x faster than prometheus_client",
                    "%.1f ms vs %.1f ms = %.0fx" % (r["baseline"], r["ms"], r["ratio"]), r["ratio"] >= 50))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--hotpath", required=True)
    ap.add_argument("--collector", required=True)
    ap.add_argument("--memory", required=True)
    ap.add_argument("--manycore", required=True)
    ap.add_argument("--procs", required=True)
    ap.add_argument("--peer-python", required=True)
    ap.add_argument("--peer-cpp")
    ap.add_argument("--formats")
    args = ap.parse_args()
    out = os.environ.get("BENCH_OUT") or args.out
    started = time.monotonic()
    print("machine: %s" % machine(), flush=True)
    print("%-46s %3s %4s %12s %-8s %10s %8s" % ("case", "thr", "proc", "figure", "unit", "baseline", "ratio"))
    suite = Suite(out)

    suite.run([args.hotpath])
    if args.peer_cpp:
        suite.run([args.peer_cpp])
    else:
        print("# peer_cpp was not built (meson setup -Dbench_peers=enabled)")
    # The last private-line baseline hotpath measured for each thread count.
    baselines = {}
    for r in suite.records:
        if r["case"] == "baseline_private_atomic":
            baselines[str(r["threads"])] = r["ns_per_op"]
    suite.run([sys.executable, args.peer_python, "--skip-scrape", "--baselines", json.dumps(baselines)])

    suite.run([args.collector])
    scrapes = {"%s/%d" % (r["case"], r["processes"]): r["ms"] for r in suite.records
               if r["case"].startswith("scrape_")}
    suite.run([sys.executable, args.peer_python, "--skip-hot", "--scrapes", json.dumps(scrapes)])

    suite.run([args.memory])
    suite.run([args.manycore])
    suite.run([args.procs])
    if args.formats:
        suite.run([args.formats])

    print()
    print("targets:")
    missed = 0
    for what, fig, met in check_targets(suite):
        missed += not met
        print("  %-6s %-78s %s" % ("met" if met else "MISSED", what, fig))
    print()
    print("%d results in %s, %d target(s) missed, %.0f s" % (len(suite.records), out, missed,
                                                             time.monotonic() - started))


if __name__ == "__main__":
    main()
