#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/formats.py - the exposition formats of `shmetrics dump`, read
back by independent parsers.

    SHMETRICS_CLI=path/to/shmetrics /usr/bin/python3 tests/formats.py

Builds an arena with the shmetrics command (counters, gauges in each merge
mode, histograms and summaries, awkward label values and help texts, NaN
and infinities), then parses `dump --format prometheus` with
prometheus_client's 0.0.4 parser, `dump --format openmetrics` with its
OpenMetrics parser and `dump --format json` with json.loads, and compares
every family (name, type, help) and every sample (name, labels, value) with
what the commands wrote; `dump --format protobuf`, read by tests/pbdecode.py,
must give Prometheus the same series.  Only the standard library and
prometheus_client.

Each check prints "ok N - ..." or "not ok N - ..."; the last line is
"N passed, M failed", and the exit status is 1 if anything failed (77, a
skip, if prometheus_client is missing).  The arena lives under /dev/shm and
is removed at the end.
"""

import json
import math
import os
import subprocess
import sys
import time
import uuid

import pbdecode

try:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
    from prometheus_client.parser import text_string_to_metric_families as parse_prometheus
    from prometheus_client.utils import floatToGoString
except ImportError as e:  # pragma: no cover
    print(f"# SKIP prometheus_client is not importable: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("SHMETRICS_CLI") or os.path.join(os.path.dirname(HERE), "build", "src", "cli", "shmetrics")

NAN = float("nan")
INF = float("inf")

# ------------------------------------------------------------------ checks

counts = {"passed": 0, "failed": 0}


def check(desc, cond, detail=None):
    n = counts["passed"] + counts["failed"] + 1
    if cond:
        counts["passed"] += 1
        print(f"ok {n} - {desc}")
    else:
        counts["failed"] += 1
        print(f"not ok {n} - {desc}")
        for line in str(detail or "").splitlines():
            print(f"#   {line}")
    return cond


def same_value(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return not (isinstance(b, float) and math.isnan(b)) and a == b


def same_samples(got, want):
    """Lists of (name, labels, value), in order, values compared exactly."""
    return len(got) == len(want) and all(
        g[0] == w[0] and g[1] == w[1] and same_value(g[2], w[2]) for g, w in zip(got, want))


def show(samples):
    return "\n".join(f"  {n} {l!r} {v!r}" for n, l, v in samples)


class Created:
    """The value of a name_created sample: a creation time, which equals
    any time within the run (set by main before the first command and
    after the last)."""

    start = end = None

    def __eq__(self, other):
        return isinstance(other, float) and self.start <= other <= self.end

    def __repr__(self):
        return f"<a time within [{self.start}, {self.end}]>"


CREATED = Created()


# --------------------------------------------------------------- the arena

def run(*args):
    """Run the command; (exit status, stdout, stderr, pid)."""
    p = subprocess.Popen([CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=60)
    return p.returncode, out.decode("utf-8"), err.decode("utf-8"), p.pid


def sketch(v):
    """The value a summary reports for an observation v: for v > 0 with
    binary exponent e (2^e <= v < 2^(e+1)) and top 6 mantissa bits s,
    2^e * (1 + (s + 0.5) / 64); 0 for 0, and -sketch(-v) for v < 0."""
    if v == 0:
        return 0.0
    m, e = math.frexp(abs(v))  # abs(v) = m * 2^e, 0.5 <= m < 1
    s = int((2 * m - 1) * 64)
    r = math.ldexp(1 + (s + 0.5) / 64, e - 1)
    return -r if v < 0 else r


def quantiles(qs, values):
    """Nearest rank over the sketch: the ceil(q*n)-th smallest (at least
    the first) of the values that are not NaN; NaN when there are none."""
    ranked = sorted(v for v in values if not math.isnan(v))
    out = []
    for q in qs:
        if not ranked:
            out.append(NAN)
            continue
        r = min(max(math.ceil(q * len(ranked)), 1), len(ranked))
        out.append(sketch(ranked[r - 1]))
    return out


def exact_sum(values):
    """A sum as the library keeps it: whole numbers in an integer, the rest
    in a double.  The non-integer values of a series below are dyadic or at
    most two, so the order the shards add up in does not matter."""
    whole = sum(int(v) for v in values if math.isfinite(v) and v == int(v))
    frac = 0.0
    for v in values:
        if not (math.isfinite(v) and v == int(v)):
            frac += v
    return float(whole) + frac


class Model:
    """What the commands wrote, family by family, in registration order."""

    def __init__(self, arena):
        self.arena = arena
        self.families = {}  # name -> dict(type, help, series: {labels tuple: state})
        self.failures = []

    def family(self, name, typ, help_text, **extra):
        return self.families.setdefault(name, dict(type=typ, help=help_text, series={}, **extra))

    def cmd(self, want_rc, *args):
        rc, out, err, pid = run(*args)
        if rc != want_rc:
            self.failures.append(f"{args!r}: exit {rc}, wanted {want_rc}: {err.strip()}")
        return pid

    def inc(self, name, help_text, labels, amount=None):
        f = self.family(name[:-6] if name.endswith("_total") else name, "counter", help_text)
        args = ["inc", "--arena", self.arena, "--help-text", help_text, name]
        args += [f"{k}={v}" for k, v in labels]
        if amount is not None:
            args.append(repr(amount))
        self.cmd(0, *args)
        f["series"].setdefault(tuple(labels), []).append(1.0 if amount is None else float(amount))

    def set(self, name, help_text, mode, labels, value):
        f = self.family(name, "gauge", help_text, mode=mode)
        args = ["set", "--arena", self.arena, "--help-text", help_text, "--mode", mode, name]
        args += [f"{k}={v}" for k, v in labels] + [value]
        pid = self.cmd(0, *args)
        f["series"].setdefault(tuple(labels), []).append((pid, float(value)))

    def observe(self, name, help_text, labels, value, buckets=None, qs=None, max_age=None):
        typ = "summary" if qs is not None else "histogram"
        f = self.family(name, typ, help_text, buckets=buckets, qs=qs)
        args = ["observe", "--arena", self.arena, "--help-text", help_text]
        if typ == "summary":
            args += ["--summary", "--quantiles", ",".join(repr(q) for q in qs)]
            if max_age is not None:
                args += ["--max-age", str(max_age)]
        else:
            args += ["--buckets", ",".join(repr(b) for b in buckets)]
        args += [name] + [f"{k}={v}" for k, v in labels] + [value]
        self.cmd(0, *args)
        f["series"].setdefault(tuple(labels), []).append(float(value))

    def register_only(self, verb, name, help_text, *opts, **extra):
        """A family without a series: the label value is too long, so the
        command registers the family and then fails on the series."""
        typ = {"set": "gauge", "observe": "histogram"}[verb]
        self.family(name, typ, help_text, **extra)
        self.cmd(1, verb, "--arena", self.arena, "--help-text", help_text, *opts, name, "key=" + "x" * 2049, "1")

    def expected(self, fmt, created=True):
        """[(family name, type, help, [(sample name, labels, value)])] as
        `fmt` shows them: everything, or for openmetrics without the values
        the format forbids (see src/expose/expose_openmetrics.c); in
        openmetrics with the creation time of each counter, histogram and
        summary series after its samples (prometheus text 0.0.4 has none,
        as client_golang's)."""
        om = fmt == "openmetrics"
        dated = created and om
        out = []
        for name, f in self.families.items():
            samples = []
            created_samples = []
            for key, writes in f["series"].items():
                labels = dict(key)
                if dated and f["type"] != "gauge":
                    created_samples.append((name + "_created", labels, CREATED))
                if f["type"] == "counter":
                    samples.append((name + "_total", labels, exact_sum(writes)))
                elif f["type"] == "gauge":
                    vals = [v for _, v in writes]
                    if f["mode"] == "all":
                        for pid, v in writes:
                            samples.append((name, dict(labels, pid=str(pid)), v))
                    else:
                        merged = {"sum": sum(vals), "min": min(vals), "max": max(vals), "mostrecent": vals[-1]}
                        samples.append((name, labels, merged[f["mode"]]))
                elif f["type"] == "histogram":
                    bounds = list(f["buckets"]) + [INF]
                    for b in bounds:
                        n = sum(1 for v in writes if v <= b or (b == INF and math.isnan(v)))
                        samples.append((name + "_bucket", dict(labels, le=floatToGoString(b)), n))
                    total = exact_sum(writes)
                    if not om or (f["buckets"][0] >= 0 and total >= 0):
                        samples.append((name + "_sum", labels, total))
                        samples.append((name + "_count", labels, len(writes)))
                else:
                    # A window that has emptied reports NaN for every quantile.
                    qv = [NAN] * len(f["qs"]) if f.get("stale") else quantiles(f["qs"], writes)
                    for q, v in zip(f["qs"], qv):
                        if not om or not v < 0:
                            samples.append((name, dict(labels, quantile=floatToGoString(q)), v))
                    total = exact_sum(writes)
                    if not om or total >= 0:
                        samples.append((name + "_sum", labels, total))
                    samples.append((name + "_count", labels, len(writes)))
                if created_samples:
                    samples.append(created_samples.pop())
            out.append((name, f["type"], f["help"], samples))
        return out


def build(m):
    # Counters: a colon in the name, _total given and dropped, label values
    # with quotes, backslashes, newlines and UTF-8, fractional amounts.
    tokens = "vllm:prompt_tokens_total"
    tokens_help = 'Prompt tokens "processed" in C:\\models\\ ÷ per request\nsecond line ✓'
    m.inc(tokens, tokens_help, [("model", 'llama "3"'), ("path", "/v1/{id}")], 5)
    m.inc(tokens, tokens_help, [("model", 'llama "3"'), ("path", "/v1/{id}")], 7)
    m.inc(tokens, tokens_help, [("model", "C:\\weights\\"), ("path", "a,b=c")], 0.5)
    m.inc(tokens, tokens_help, [("model", "C:\\weights\\"), ("path", "a,b=c")], 0.25)
    m.inc(tokens, tokens_help, [("model", "line1\nline2"), ("path", "")])
    m.inc(tokens, tokens_help, [("model", "tab\there\x1f"), ("path", "x} # {y=\"z\"")], 2)
    m.inc(tokens, tokens_help, [("model", "naïve ☃ 日本語"), ("path", "\\n is not a newline")], 1000000)
    m.inc("jobs_done", "Jobs done.", [])
    m.inc("jobs_done", "Jobs done.", [])
    m.inc("jobs_done", "Jobs done.", [], 40)
    m.inc("bytes_sent_total", "Bytes sent.", [("peer", "10.0.0.1:443")], 12345678901)
    m.inc("bytes_sent_total", "Bytes sent.", [("peer", "10.0.0.1:443")], 1.5)

    # Gauges in every mode, each command a process of its own.
    m.set("temperature_celsius", 'Room temperature, "°C".', "mostrecent", [("room", 'kitchen "main"')], "21.5")
    m.set("temperature_celsius", 'Room temperature, "°C".', "mostrecent", [("room", 'kitchen "main"')], "-3.25")
    m.set("temperature_celsius", 'Room temperature, "°C".', "mostrecent", [("room", "Küche\\Süd")], "19")
    m.set("queue_depth", "Items queued.", "sum", [], "3")
    m.set("queue_depth", "Items queued.", "sum", [], "4.5")
    m.set("min_latency_seconds", "Lowest latency.", "min", [], "0.5")
    m.set("min_latency_seconds", "Lowest latency.", "min", [], "0.125")
    m.set("min_latency_seconds", "Lowest latency.", "min", [], "2")
    m.set("max_latency_seconds", "Highest latency.", "max", [], "0.5")
    m.set("max_latency_seconds", "Highest latency.", "max", [], "8")
    m.set("max_latency_seconds", "Highest latency.", "max", [], "2")
    m.set("worker_load", "Load of each worker.", "all", [("pool", "α")], "0.25")
    m.set("worker_load", "Load of each worker.", "all", [("pool", "α")], "0.75")
    m.set("ratio", "Ratios, some not finite.", "mostrecent", [("kind", "nan")], "NaN")
    m.set("ratio", "Ratios, some not finite.", "mostrecent", [("kind", "pinf")], "+Inf")
    m.set("ratio", "Ratios, some not finite.", "mostrecent", [("kind", "ninf")], "-Inf")
    m.set("ratio", "Ratios, some not finite.", "mostrecent", [("kind", "tiny")], "1e-300")
    m.set("ratio", "Ratios, some not finite.", "mostrecent", [("kind", "huge")], "1.5e+300")
    m.register_only("set", "unwritten_gauge", "Registered, never written.", "--mode", "all")

    # Histograms: custom buckets (le spelled as prometheus_client does),
    # negative bounds, a negative sum, NaN and +Inf observations.
    rb = [0.001, 0.25, 1, 2.5, 1000000]
    for v in ["0.001", "0.25", "3", "2000000", "1"]:
        m.observe("request_seconds", "Request latency.\\n is literal", [("method", "GET"), ("path", '/a"b')], v, buckets=rb)
    for v in ["0.125", "1"]:
        m.observe("request_seconds", "Request latency.\\n is literal", [("method", "POST"), ("path", "/ü\\x")], v, buckets=rb)
    for v in ["-5", "0.5", "20", "-0.5", "-10"]:
        m.observe("temperature_delta", "Change in temperature.", [], v, buckets=[-10, -1, 0, 1, 10])
    for v in ["-2", "0.5"]:
        m.observe("offset_seconds", "Clock offset.", [], v, buckets=[0, 1])
    for v in ["NaN", "1"]:
        m.observe("weird_seconds", "With a NaN.", [], v, buckets=[1])
    for v in ["+Inf", "1"]:
        m.observe("unbounded_seconds", "With an infinity.", [], v, buckets=[1])
    m.register_only("observe", "empty_seconds", "Registered, never observed.", "--buckets", "1,2", buckets=[1, 2])

    # Summaries: sketch midpoints at nearest rank, negative quantiles and
    # sums, NaN, a window that has emptied.
    for v in ["0.375", "100", "0.75", "3", "0.375"]:
        m.observe("rpc_seconds", "RPC latency.", [("service", 'auth "x"')], v, qs=[0.5, 0.99])
    for v in ["0.2", "0.4"]:
        m.observe("rpc_seconds", "RPC latency.", [("service", "billing\\")], v, qs=[0.5, 0.99])
    for v in ["0.2", "1", "2", "5", "-2", "0", "7", "10", "12", "1000"]:
        m.observe("job_seconds", "Job duration.", [], v, qs=[0.5, 0.9, 0.95, 0.99])
    for v in ["-2", "-1", "4"]:
        m.observe("skew_delta", "Skew.", [], v, qs=[0, 0.5, 1])
    for v in ["-3", "1"]:
        m.observe("drift_seconds", "Drift.", [], v, qs=[0.5])
    for v in ["NaN", "1"]:
        m.observe("nan_seconds", "With a NaN.", [], v, qs=[0.5])
    m.observe("stale_seconds", "An emptied window.", [], "0.5", qs=[0.5, 0.9], max_age=0.05)
    m.families["stale_seconds"]["stale"] = True


# ------------------------------------------------------------------ checks

def prometheus_view(text):
    fams = []
    for f in parse_prometheus(text):
        fams.append((f.name, f.type, f.documentation, [(s.name, s.labels, s.value) for s in f.samples]))
    return fams


def openmetrics_view(text):
    fams = []
    for f in parse_openmetrics(text):
        fams.append((f.name, f.type, f.documentation, [(s.name, s.labels, s.value) for s in f.samples]))
    return fams


def json_view(text):
    def reject(token):
        raise ValueError(f"bare {token} is not JSON")

    doc = json.loads(text, parse_constant=reject)
    fams = []
    strings = {"NaN": NAN, "+Inf": INF, "-Inf": -INF}
    for f in doc:
        samples = []
        for s in f["samples"]:
            v = s["value"]
            samples.append((s["name"], s["labels"], strings[v] if isinstance(v, str) else v))
        fams.append((f["name"], f["type"], f["help"], samples))
    return doc, fams


def compare(fmt, got, want):
    check(f"{fmt}: families in registration order",
          [g[0] for g in got] == [w[0] for w in want],
          f"got  {[g[0] for g in got]}\nwant {[w[0] for w in want]}")
    got_by_name = {g[0]: g for g in got}
    for name, typ, help_text, samples in want:
        g = got_by_name.get(name)
        if not check(f"{fmt}: {name} is there", g is not None):
            continue
        check(f"{fmt}: {name} is a {typ}", g[1] == typ, f"got {g[1]}")
        check(f"{fmt}: {name} help text", g[2] == help_text, f"got  {g[2]!r}\nwant {help_text!r}")
        check(f"{fmt}: {name}: {len(samples)} samples, exact names, labels and values",
              same_samples(g[3], samples), f"got\n{show(g[3])}\nwant\n{show(samples)}")


def main():
    arena = f"/dev/shm/shmetrics-formats-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        m = Model(arena)
        CREATED.start = time.time()
        build(m)
        CREATED.end = time.time()
        check("setup: every command exits as expected", not m.failures, "\n".join(m.failures))
        time.sleep(0.2)  # stale_seconds' 50 ms window empties

        texts = {}
        for fmt in ["prometheus", "openmetrics", "json"]:
            rc, out, err, _ = run("dump", "--arena", arena, "--format", fmt)
            check(f"{fmt}: dump exits 0, nothing on stderr", rc == 0 and err == "", f"exit {rc}: {err}")
            texts[fmt] = out
        rc, out, err, _ = run("dump", "--arena", arena)
        check("dump without --format is prometheus", rc == 0 and out == texts["prometheus"])

        # Prometheus text 0.0.4.
        try:
            got = prometheus_view(texts["prometheus"])
            check("prometheus: parsed by prometheus_client.parser", True)
            compare("prometheus", got, m.expected("prometheus"))
        except Exception as e:
            check("prometheus: parsed by prometheus_client.parser", False, f"{e!r}\n{texts['prometheus']}")

        # OpenMetrics 1.0.0.
        om = texts["openmetrics"]
        check("openmetrics: ends with exactly one '# EOF' line", om.endswith("\n# EOF\n") and om.count("# EOF") == 1,
              om[-200:])
        check("openmetrics: '# EOF' is the last line", om.splitlines()[-1:] == ["# EOF"])
        check("openmetrics: a counter's TYPE and HELP name it without _total",
              "# TYPE vllm:prompt_tokens counter\n# HELP vllm:prompt_tokens " in om
              and "# TYPE jobs_done counter\n" in om)
        check("openmetrics: HELP escapes quote, backslash and newline",
              '# HELP vllm:prompt_tokens Prompt tokens \\"processed\\" in C:\\\\models\\\\ ÷ per request\\nsecond line ✓\n'
              in om)
        check("openmetrics: a family without samples keeps its TYPE and HELP",
              "# TYPE unwritten_gauge gauge\n# HELP unwritten_gauge Registered, never written.\n# TYPE " in om
              and "# TYPE empty_seconds histogram\n# HELP empty_seconds Registered, never observed.\n# TYPE " in om)
        try:
            got = openmetrics_view(om)
            check("openmetrics: parsed by prometheus_client.openmetrics.parser", True)
            compare("openmetrics", got, m.expected("openmetrics"))
        except Exception as e:
            check("openmetrics: parsed by prometheus_client.openmetrics.parser", False, f"{e!r}\n{om}")

        # JSON.
        js = texts["json"]
        check("json: ends with a newline", js.endswith("\n"))
        check("json: control characters as \\u00XX, UTF-8 passed through",
              '"model":"line1\\u000aline2"' in js and '"model":"tab\\u0009here\\u001f"' in js
              and '"model":"naïve ☃ 日本語"' in js)
        try:
            doc, got = json_view(js)
            check("json: parsed by json.loads, no bare NaN or Infinity", isinstance(doc, list))
            compare("json", got, m.expected("json"))
            check("json: a sample's labels keep their order, the added one last",
                  [list(s["labels"]) for f in doc if f["name"] == "request_seconds" for s in f["samples"]][:2]
                  == [["method", "path", "le"]] * 2)
        except Exception as e:
            check("json: parsed by json.loads, no bare NaN or Infinity", False, f"{e!r}\n{js}")

        # Prometheus' protobuf format, read by tests/pbdecode.py: the series
        # Prometheus derives from it are the text format's.
        p = subprocess.run([CLI, "dump", "--arena", arena, "--format", "protobuf"], capture_output=True, timeout=60)
        check("protobuf: dump exits 0, nothing on stderr", p.returncode == 0 and p.stderr == b"",
              f"exit {p.returncode}: {p.stderr!r}")
        try:
            fams = pbdecode.families(p.stdout)
            want = [w for w in m.expected("prometheus", created=False) if w[3]]
            check("protobuf: a message per family with samples, in order, a counter named like its samples",
                  [f["name"] for f in fams] == [w[0] + ("_total" if w[1] == "counter" else "") for w in want],
                  f"got  {[f['name'] for f in fams]}")
            check("protobuf: types, and help texts as written (no escapes)",
                  [(f["type"], f["help"]) for f in fams] == [(w[1], w[2]) for w in want])
            got = pbdecode.series(fams)
            text = {(n, tuple(sorted(l.items()))): v for w in want for n, l, v in w[3]}
            check(f"protobuf: the text format's {len(text)} series, names, labels and exact values (NaN, infinities)",
                  got.keys() == text.keys() and all(same_value(got[k], text[k]) for k in text),
                  "\n".join(f"  {k!r}: {got.get(k)!r} != {text.get(k)!r}" for k in sorted(set(got) | set(text))
                            if k not in got or k not in text or not same_value(got[k], text[k])))
        except Exception as e:
            check("protobuf: decoded by tests/pbdecode.py", False, f"{e!r}")

        # Usage.
        rc, out, err, _ = run("dump", "--arena", arena, "--format", "bogus")
        check("--format bogus: exit 2, nothing on stdout", rc == 2 and out == "", f"exit {rc}")
        check("--format bogus: the error names the four formats",
              err.splitlines()[:1] == ["shmetrics dump: unknown format 'bogus' (prometheus, openmetrics, json, protobuf)"],
              err)
        rc, out, err, _ = run("dump", "--help")
        check("dump --help: mentions --format", rc == 0 and "--format" in out)
    finally:
        if os.path.exists(arena):
            os.unlink(arena)
    check("the arena is removed", not os.path.exists(arena))

    print(f"{counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
