# SPDX-License-Identifier: MIT
"""bench/plot.py - the plots of docs/benchmarks.md, drawn by gnuplot from the
suite's results (build/bench.jsonl).

usage: plot.py [--docs DIR] [RESULTS]
RESULTS defaults to $BENCH_OUT, else build/bench.jsonl of the source tree;
DIR to the source tree's docs/.

Writes DIR/bench-hotpath.png (ns per call against threads: shmetrics,
the atomic baselines and prometheus-cpp; all threads on one series, and a
series per thread) and DIR/bench-scrape.png (ms per scrape against
series: shmetrics and prometheus_client's MultiProcessCollector, 16 writer
processes).
"""
import argparse
import json
import os
import subprocess
import tempfile

ONE = [  # (case, title, line style)
    ("baseline_private_atomic", "atomic add, private line (baseline)", "lt 1 lc rgb '#000000' dt 2"),
    ("baseline_shared_atomic", "atomic add, one shared line", "lt 1 lc rgb '#777777' dt 2"),
    ("counter_inc_integer_one_series", "shmetrics counter inc", "lt 1 lc rgb '#1f77b4'"),
    ("counter_inc_fraction_one_series", "shmetrics counter inc (0.5)", "lt 1 lc rgb '#aec7e8'"),
    ("gauge_inc_one_series", "shmetrics gauge inc", "lt 1 lc rgb '#9467bd'"),
    ("histogram_observe_one_series", "shmetrics histogram observe", "lt 1 lc rgb '#2ca02c'"),
    ("summary_observe_one_series", "shmetrics summary observe", "lt 1 lc rgb '#17becf'"),
    ("labels_lookup_inc", "shmetrics labels + inc", "lt 1 lc rgb '#bcbd22'"),
    ("promcpp_counter_increment_one_series", "prometheus-cpp Counter", "lt 1 lc rgb '#d62728' dt 4"),
    ("promcpp_histogram_observe_one_series", "prometheus-cpp Histogram", "lt 1 lc rgb '#ff7f0e' dt 4"),
    ("promcpp_summary_observe_one_series", "prometheus-cpp Summary", "lt 1 lc rgb '#8c564b' dt 4"),
    ("promcpp_family_add_increment", "prometheus-cpp Family Add+Inc", "lt 1 lc rgb '#e377c2' dt 4"),
]
PER_THREAD = [(c.replace("_one_series", "_per_thread"), t, s) for c, t, s in ONE if c.endswith("_one_series")]
SCRAPE = [
    ("scrape_counter_series", "shmetrics, counters", "lt 1 lc rgb '#1f77b4'"),
    ("scrape_histogram_series", "shmetrics, histograms (21 buckets)", "lt 1 lc rgb '#2ca02c'"),
    ("prometheus_client_scrape_counter_series", "prometheus\\_client, counters", "lt 1 lc rgb '#d62728' dt 4"),
    ("prometheus_client_scrape_histogram_series", "prometheus\\_client, histograms (21 buckets)",
     "lt 1 lc rgb '#ff7f0e' dt 4"),
]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def write_series(tmp, name, points):
    path = os.path.join(tmp, name + ".dat")
    with open(path, "w") as f:
        for x, y in sorted(points):
            f.write("%g %g\n" % (x, y))
    return path


def hot_plots(recs, tmp, cases):
    plots = []
    for case, title, style in cases:
        # The last figure of each thread count (baselines appear more than once).
        pts = {r["threads"]: r["ns_per_op"] for r in recs if r["case"] == case}
        if pts:
            path = write_series(tmp, case, pts.items())
            plots.append("'%s' using 1:2 with linespoints %s pt 7 lw 2 title '%s'" % (path, style, title))
    return ", \\\n  ".join(plots)


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", default=os.path.join(top, "docs"))
    ap.add_argument("results", nargs="?",
                    default=os.environ.get("BENCH_OUT") or os.path.join(top, "build", "bench.jsonl"))
    args = ap.parse_args()
    outdir = args.docs
    recs = load(args.results)
    tmp = tempfile.mkdtemp(prefix="shmetrics-plot-")
    threads = sorted({r["threads"] for r in recs if r.get("ns_per_op") is not None and r["case"] in dict(
        (c, 1) for c, _, _ in ONE)}) or [1]
    scrape_plots = []
    for prefix, title, style in SCRAPE:
        pts = [(r["series"], r["ms"]) for r in recs
               if r["case"].startswith(prefix + "_") and r["processes"] == 16 and
               r["case"][len(prefix) + 1:].isdigit()]
        if pts:
            path = write_series(tmp, prefix, pts)
            scrape_plots.append("'%s' using 1:2 with linespoints %s pt 7 lw 2 title '%s'" % (path, style, title))

    hot_png = os.path.join(outdir, "bench-hotpath.png")
    scrape_png = os.path.join(outdir, "bench-scrape.png")
    script = """
set terminal pngcairo size 1200,1000 font 'DejaVu Sans,10'
set output '%(hot_png)s'
set multiplot layout 2,1 title 'Hot path: ns per call against pinned threads (log scale; lower is better)'
set logscale y
set grid ytics mytics xtics
set xlabel 'threads'
set ylabel 'ns per call'
set xtics 1
set xrange [%(xmin)g:%(xmax)g]
set key outside right top font ',9' width 2
set title 'all threads on one series'
plot %(one)s
set title 'a series per thread'
plot %(per)s
unset multiplot

reset
set terminal pngcairo size 900,620 font 'DejaVu Sans,10'
set output '%(scrape_png)s'
set title 'Scrape (merge + Prometheus text), 16 writer processes (log-log; lower is better)'
set logscale xy
set grid xtics ytics mytics
set xrange [700:140000]
set xtics ('1k' 1000, '10k' 10000, '100k' 100000)
set xlabel 'series'
set ylabel 'ms per scrape'
set key inside top left box opaque
plot %(scrape)s
""" % {"hot_png": hot_png, "scrape_png": scrape_png, "xmin": min(threads) - 0.2, "xmax": max(threads) + 0.2,
       "one": hot_plots(recs, tmp, ONE), "per": hot_plots(recs, tmp, ONE[:2] + PER_THREAD),
       "scrape": ", \\\n  ".join(scrape_plots)}
    gp = os.path.join(tmp, "plots.gp")
    with open(gp, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", gp], check=True)
    for name in os.listdir(tmp):
        os.unlink(os.path.join(tmp, name))
    os.rmdir(tmp)
    print("wrote %s and %s" % (hot_png, scrape_png))


if __name__ == "__main__":
    main()
