# SPDX-License-Identifier: MIT
"""bench/report.py - the suite's results (build/bench.jsonl) as the Markdown
tables of docs/benchmarks.md: hot path by thread count, scrapes, memory,
and the targets (checked as bench/run.py checks them).

usage: report.py [RESULTS]   (default: $BENCH_OUT, else build/bench.jsonl
                              of the source tree)
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import check_targets  # noqa: E402


class Results:
    def __init__(self, records):
        self.records = records

    def find(self, case, **match):
        return [r for r in self.records
                if r["case"] == case and all(r.get(k) == v for k, v in match.items())]


def hot_table(recs):
    hot = [r for r in recs if "ns_per_op" in r]
    threads = sorted({r["threads"] for r in hot if not r["case"].startswith("prometheus_client")})
    procs = sorted({r["processes"] for r in hot if r["case"].startswith("prometheus_client")})
    cols = max(len(threads), len(procs))
    head = " | ".join("%d | ×" % (i + 1) for i in range(cols))
    lines = ["| case | " + head + " |", "|---|" + "---:|---:|" * cols]
    order = []
    for r in hot:
        if r["case"] not in order:
            order.append(r["case"])
    for case in order:
        python = case.startswith("prometheus_client")
        cells = []
        for n in range(1, cols + 1):
            # A baseline measured several times: its last figure.
            rs = [r for r in hot if r["case"] == case and (r["processes"] if python else r["threads"]) == n]
            cells.append("%s | %s" % (fmt_ns(rs[-1]["ns_per_op"]), "%.2f" % rs[-1]["ratio"]) if rs else " | ")
        lines.append("| `%s` | %s |" % (case, " | ".join(cells)))
    return "\n".join(lines)


def fmt_ns(ns):
    return "%.2f" % ns if ns < 100 else "%.0f" % ns


def scrape_table(recs):
    lines = ["| case | processes | series | samples | ms per scrape | µs per series | baseline (ms) | ratio |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        if "ms" in r and "us_per_series" in r:
            lines.append("| `%s` | %d | %d | %s | %.3f | %.3f | %.3f `%s` | %.2f |" % (
                r["case"], r["processes"], r["series"], r.get("samples", ""), r["ms"], r["us_per_series"],
                r["baseline"], r["baseline_case"], r["ratio"]))
    return "\n".join(lines)


def manycore_table(recs):
    lines = ["| case | CPUs | series | ms per scrape | × 2-CPU arena | collector max RSS (MB) | arena bytes per series"
             " | stripe sets |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in recs:
        if "collector_max_rss_mb" in r:
            lines.append("| `%s` | %d | %d | %.1f | %.2f | %.1f | %.0f | %d |" % (
                r["case"], r["cpus"], r["series"], r["ms"], r["ratio"], r["collector_max_rss_mb"],
                r["arena_bytes_per_series"], r["stripe_sets"]))
    return "\n".join(lines)


def memory_table(recs):
    lines = ["| case | shards | arena bytes per series | resident bytes per series | × counter |",
             "|---|---:|---:|---:|---:|"]
    for r in recs:
        if "bytes_per_series" in r:
            lines.append("| `%s` | %d | %.0f | %.0f | %.2f |" % (r["case"], r["shards"], r["bytes_per_series"],
                                                               r["resident_bytes_per_series"], r["ratio"]))
    return "\n".join(lines)


def targets_table(recs):
    lines = ["| target | figure | |", "|---|---|---|"]
    for what, fig, met in check_targets(Results(recs)):
        lines.append("| %s | %s | %s |" % (what, fig, "met" if met else "**missed**"))
    return "\n".join(lines)


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else (os.environ.get("BENCH_OUT") or
                                                   os.path.join(top, "build", "bench.jsonl"))
    with open(path) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    print("### Hot path\n")
    print("ns per call and × its baseline, by number of threads (of processes, one thread each, for")
    print("prometheus_client).\n")
    print(hot_table(recs))
    print("\n### Scrapes\n")
    print(scrape_table(recs))
    print("\n### Many cores\n")
    print(manycore_table(recs))
    print("\n### Memory\n")
    print(memory_table(recs))
    print("\n### Targets\n")
    print(targets_table(recs))


if __name__ == "__main__":
    main()
