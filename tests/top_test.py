# SPDX-License-Identifier: MIT
"""`shmetrics top` from the outside.  Batch snapshots are asserted exactly;
a missing or damaged arena gives dump's messages; bad options are refused
with their message.  The full-screen view runs in tmux against a worker
that writes at known rates (tests/pace): the rates shown are within 20 %
of them, a filter typed after / keeps the matching rows only, s changes
the sort, and q, SIGINT, SIGTERM and the arena's removal each end it with
the terminal given back (the alternate screen left, stty settings as
before).  --collector shows a running collector's figures, or names why
there are none.  Run by Debian's python3 with SHMETRICS_CLI and SHMETRICS_PACE
set."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from serve_proc import Server
from tap import check, cli_docs, summary

CLI = os.environ["SHMETRICS_CLI"]
PACE = os.environ["SHMETRICS_PACE"]
TMP = tempfile.mkdtemp(prefix="shmetrics-top-test-")
ARENA = "/dev/shm/shmetrics-top-test-%d" % os.getpid()
SOCK = "shmetrics-top-test-%d" % os.getpid()


def run(*args, timeout=30):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=timeout)


def memory_of(arena):
    """The memory figures `shmetrics stat` prints, as top's header prints them."""
    m = re.search(r"^memory\s+(.*) allocated, at most (.*)$", run("stat", "--arena", arena).stdout, re.M)
    return m.group(1), m.group(2)


def static_arena():
    """An arena no process writes: every rate is 0."""
    for a in (["inc", "req_total", "route=/a", "5"], ["inc", "req_total", "route=/b", "2"],
              ["set", "--mode", "sum", "inflight", "7"],
              ["observe", "--buckets", "0.1,0.5,1", "lat_seconds", "0.3"],
              ["observe", "--buckets", "0.1,0.5,1", "lat_seconds", "0.05"],
              ["observe", "--buckets", "0.1,0.5,1", "lat_seconds", "0.07"],
              ["observe", "--summary", "--quantiles", "0.5,0.9", "q_seconds", "2"],
              ["observe", "--summary", "--quantiles", "0.5,0.9", "q_seconds", "4"],
              ["observe", "--native", "n_seconds", "0.5"]):
        r = run(a[0], "--arena", ARENA, *a[1:])
        assert r.returncode == 0, r.stderr
    # The summary's quantiles as dump gives them, printed as top prints them.
    dump = run("dump", "--arena", ARENA).stdout
    q = dict(re.findall(r'^q_seconds\{quantile="([\d.]+)"\} (\S+)$', dump, re.M))
    ROWS["q"] = ("q_seconds", "summary", "2", "0.00", "q0.5=%.4g q0.9=%.4g" % (float(q["0.5"]), float(q["0.9"])))


def snapshot(rows, shown, total, sort, flt):
    used, most = memory_of(ARENA)
    head = ["shmetrics top at TIME: %d of %d rows, rates over INTERVAL s" % (shown, total),
            "arena %s: families 5/1024, series 6/16384, memory %s of %s" % (ARENA, used, most),
            "processes 0 attached, 0 dead, 0 exited; 0 damaged records; sort %s, filter %s" % (sort, flt), ""]
    w = max([4] + [len(r[0]) for r in rows])
    lines = [("%-*s %-9s %14s %12s %s" % (w, "NAME", "TYPE", "VALUE", "RATE/s", "DETAIL")).rstrip()]
    for name, typ, value, rate, detail in rows:
        lines.append(("%-*s %-9s %14s %12s %s" % (w, name, typ, value, rate, detail)).rstrip())
    return "\n".join(head + lines) + "\n\n"


def normalise(out):
    out = re.sub(r"at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ:", "at TIME:", out)
    return re.sub(r"rates over \d+\.\d{3} s", "rates over INTERVAL s", out)


ROWS = {
    "inflight": ("inflight", "gauge", "7", "-", "mode sum"),
    "lat": ("lat_seconds", "histogram", "3", "0.00", "p50 0.075 p99 0.488"),
    "a": ('req_total{route="/a"}', "counter", "5", "0.00", ""),
    "b": ('req_total{route="/b"}', "counter", "2", "0.00", ""),
    # A native-only histogram has no classic buckets to estimate from.
    "n": ("n_seconds", "histogram", "1", "0.00", ""),
}


def batch_tests():
    static_arena()
    r = run("top", "--arena", ARENA, "--once", "--interval", "50ms")
    # Every rate is 0, so the rate sort falls back to the name; a gauge has
    # no rate and comes last.
    want = snapshot([ROWS[k] for k in ("lat", "n", "q", "a", "b", "inflight")], 6, 6, "rate", "(none)")
    check(r.returncode == 0 and normalise(r.stdout) == want, "--once: one exact snapshot", repr(r.stdout) + r.stderr)
    check(r.stderr == "", "--once: nothing on stderr", r.stderr)
    r = run("top", "--arena", ARENA, "--batch", "--count", "2", "--interval", "50ms", "--sort", "value")
    want = snapshot([ROWS[k] for k in ("inflight", "a", "lat", "q", "b", "n")], 6, 6, "value", "(none)")
    check(r.returncode == 0 and normalise(r.stdout) == want * 2, "--batch --count 2 --sort value: two snapshots",
          repr(r.stdout))
    r = run("top", "--arena", ARENA, "-1", "--interval", "50ms", "--sort", "name", "--filter", 'route="/(a|b)"')
    want = snapshot([ROWS["a"], ROWS["b"]], 2, 6, "name", 'route="/(a|b)"')
    check(r.returncode == 0 and normalise(r.stdout) == want, "--filter keeps the matching rows", repr(r.stdout))
    os.environ["SHMETRICS_ARENA"] = ARENA
    r = run("top", "--once", "--interval", "50ms", "--filter", "^inflight$")
    del os.environ["SHMETRICS_ARENA"]
    want = snapshot([ROWS["inflight"]], 1, 6, "rate", "^inflight$")
    check(r.returncode == 0 and normalise(r.stdout) == want, "the arena from SHMETRICS_ARENA", repr(r.stdout))

    # Label values escaped as the text format escapes them: dump's name.
    odd = ARENA + "-odd"
    run("inc", "--arena", odd, "odd_total", 'path=a"b\\c\nd')
    r = run("top", "--arena", odd, "--once", "--interval", "20ms")
    line = run("dump", "--arena", odd).stdout.splitlines()[-1]
    os.unlink(odd)
    check(line == 'odd_total{path="a\\"b\\\\c\\nd"} 1' and
          r.stdout.splitlines()[-2] == line.rsplit(" ", 1)[0] + " counter                1         0.00",
          "label values escaped as dump escapes them", r.stdout)
    # Control characters (a terminal's escape sequence) shown, not sent.
    run("inc", "--arena", odd, "odd_total", "path=\x1b[31mred\x07")
    r = run("top", "--arena", odd, "--once", "--interval", "20ms")
    os.unlink(odd)
    check("\x1b" not in r.stdout and "\x07" not in r.stdout and
          r.stdout.splitlines()[-2].startswith('odd_total{path="\\x1b[31mred\\x07"} counter '),
          "control characters shown as \\xHH", repr(r.stdout))

    # A writer at known rates: batch rates within 20 %.
    p = subprocess.Popen([PACE, ARENA, "3"], stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    r = run("top", "--arena", ARENA, "--once", "--interval", "1s", "--filter", "^pace_requests")
    p.wait(timeout=10)
    rates = dict(re.findall(r'^(pace_requests_total\{route="/[ab]"\})\s+counter\s+\d+\s+([\d.]+)', r.stdout, re.M))
    ok = len(rates) == 2 and abs(float(rates['pace_requests_total{route="/a"}']) - 200) <= 40 and \
        abs(float(rates['pace_requests_total{route="/b"}']) - 50) <= 10
    check(ok, "batch: rates within 20 % of the writer's 200/s and 50/s", r.stdout)


def error_tests():
    missing = "/dev/shm/shmetrics-top-test-missing-%d" % os.getpid()
    d, t = run("dump", "--arena", missing), run("top", "--once", "--arena", missing)
    check(t.returncode == d.returncode == 1 and t.stderr == d.stderr and "no arena at" in t.stderr,
          "a missing arena: dump's message and status", t.stderr)
    damaged = os.path.join(TMP, "damaged")
    with open(damaged, "wb") as f:
        f.write(b"not an arena" * 1000)
    d, t = run("dump", "--arena", damaged), run("top", "--once", "--arena", damaged)
    check(t.returncode == d.returncode == 1 and t.stderr == d.stderr and t.stderr.startswith("shmetrics: opening"),
          "a damaged arena: dump's message and status", t.stderr)
    for args, msg in (
            (["--interval", "5ms"], "--interval takes a duration from 10ms to 1h (2s, 500ms), not '5ms'"),
            (["--interval", "soon"], "--interval takes a duration from 10ms to 1h (2s, 500ms), not 'soon'"),
            (["--sort", "size"], "--sort takes rate, value or name, not 'size'"),
            (["--count", "0"], "--count takes a whole number from 1 to 1000000000, not '0'"),
            (["--once", "--count", "2"], "--once and --count: give one of them (--once is --count 1)"),
            (["--filter", "(a"], "the filter '(a' is not a regular expression: "),
            (["--filter", "a" * 256], "the filter is longer than 255 bytes"),
            (["--frobnicate"], "unknown option --frobnicate"),
            (["extra"], "unexpected argument extra"),
            (["--sort"], "--sort needs a value"),
            (["--collector", "nohost"], "--collector takes HOST:PORT (127.0.0.1:9400), not 'nohost'"),
            (["--collector", "127.0.0.1:70000"], "--collector takes HOST:PORT (127.0.0.1:9400), not '127.0.0.1:70000'"),
            (["--collector", "http://127.0.0.1:9400"],
             "--collector takes HOST:PORT (127.0.0.1:9400), not 'http://127.0.0.1:9400'")):
        r = run("top", "--arena", ARENA, *args)
        check(r.returncode == 2 and r.stderr.startswith("shmetrics top: " + msg) and "usage: shmetrics top" in r.stderr,
              "refused: top %s" % " ".join(args), r.stderr)
    env = dict(os.environ)
    env.pop("SHMETRICS_ARENA", None)
    r = subprocess.run([CLI, "top", "--once"], capture_output=True, text=True, env=env, timeout=10)
    check(r.returncode == 2 and r.stderr.startswith("shmetrics top: no arena: give --arena PATH or set SHMETRICS_ARENA"),
          "refused: no arena", r.stderr)
    # The arena removed under a batch run: status 1 and the reason.
    gone = "/dev/shm/shmetrics-top-test-gone-%d" % os.getpid()
    run("inc", "--arena", gone, "x_total")
    p = subprocess.Popen([CLI, "top", "--batch", "--interval", "100ms", "--arena", gone], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    os.unlink(gone)
    try:
        err = p.communicate(timeout=10)[1]
    except subprocess.TimeoutExpired:
        p.kill()
        err = p.communicate()[1]
    check(p.returncode == 1 and err == "shmetrics top: the arena %s was removed (No such file or directory)\n" % gone,
          "batch: the arena removed ends it, with status 1", err)
    # Replaced by another file (renamed over it: never missing), then cut
    # short under a batch run: status 1 and the reason.
    for what, act, msg in (
            ("replaced", lambda path: (run("inc", "--arena", path + ".new", "y_total"), os.rename(path + ".new", path)),
             "the arena %s was replaced by another file\n"),
            ("truncated", lambda path: os.truncate(path, 4096), "reading the arena: ")):
        run("inc", "--arena", gone, "x_total")
        p = subprocess.Popen([CLI, "top", "--batch", "--interval", "100ms", "--arena", gone],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        act(gone)
        try:
            err = p.communicate(timeout=10)[1]
        except subprocess.TimeoutExpired:
            p.kill()
            err = p.communicate()[1]
        os.unlink(gone)
        check(p.returncode == 1 and err.startswith("shmetrics top: " + (msg % gone if "%s" in msg else msg)),
              "batch: the arena %s ends it, with status 1 and the reason" % what, err)
    # A terminal on standard output (script(1) gives one): what the
    # full-screen view refuses.
    for cmd, msg, status in (
            ("%s top --arena %s < /dev/null", "shmetrics top: the full-screen view needs a terminal on standard input "
             "(or --batch)", 2),
            ("%s top --arena %s --count 2", "shmetrics top: --count is for --batch: the full-screen view runs until q",
             2),
            ("TERM=nosuchterm %s top --arena %s", "shmetrics top: the terminal (TERM=nosuchterm) cannot be driven; "
             "--batch prints text", 1)):
        r = subprocess.run(["script", "-qec", cmd % (CLI, ARENA), "/dev/null"], capture_output=True, text=True,
                           timeout=20)
        check(r.returncode == status and r.stdout.replace("\r\n", "\n").startswith(msg + "\n"),
              "on a terminal: %s" % msg, r.stdout)
    # SIGTERM ends a batch run with status 0.
    p = subprocess.Popen([CLI, "top", "--batch", "--interval", "100ms", "--arena", ARENA], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    seen = 0
    while seen < 2:  # two snapshots printed: it runs until stopped
        line = p.stdout.readline()
        if not line:
            break
        seen += line.startswith("shmetrics top at ")
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    check(seen == 2 and p.returncode == 0 and err == "", "batch: SIGTERM ends it", (seen, p.returncode, err))


def collector_tests():
    """--collector: the figures of a running collector, or why there are none."""
    srv = Server(ARENA)
    try:
        r = run("top", "--arena", ARENA, "--once", "--interval", "50ms", "--collector", "127.0.0.1:%d" % srv.port)
        line = r.stdout.splitlines()[3] if r.stdout.count("\n") > 3 else ""
        # top's two reads are the collector's first two scrapes.
        check(re.fullmatch(r"collector 127\.0\.0\.1:%d: 2 scrapes served, the last took \d+\.\d ms; "
                           r"\d+\.\d MiB resident; connections open \d+" % srv.port, line) is not None,
              "--collector: the collector's figures under the arena's", r.stdout)
    finally:
        srv.stop()
    r = run("top", "--arena", ARENA, "--once", "--interval", "50ms", "--collector", "127.0.0.1:1")
    check(r.returncode == 0 and r.stdout.splitlines()[3] == "collector 127.0.0.1:1: unreachable (Couldn't connect to "
          "server)", "--collector: one that does not answer is named, the view goes on", r.stdout)
    www = os.path.join(TMP, "www")
    os.mkdir(www)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    web = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", www,
                            str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        r = run("top", "--arena", ARENA, "--once", "--interval", "50ms", "--collector", "127.0.0.1:%d" % port)
        check(r.stdout.splitlines()[3] == "collector 127.0.0.1:%d: /metrics answered HTTP 404" % port,
              "--collector: an HTTP error is named", r.stdout)
        with open(os.path.join(www, "metrics"), "w") as f:
            f.write("up 1\n")
        r = run("top", "--arena", ARENA, "--once", "--interval", "50ms", "--collector", "127.0.0.1:%d" % port)
        check(r.stdout.splitlines()[3] == "collector 127.0.0.1:%d: its /metrics has no "
              "shmetrics_collector_scrapes_total" % port, "--collector: a server that is no collector is named",
              r.stdout)
    finally:
        web.terminate()
        web.wait(timeout=10)


# ----------------------------------------------------------------- tmux


def tmux(*args):
    return subprocess.run(["tmux", "-L", SOCK, "-f", "/dev/null"] + list(args), capture_output=True, text=True,
                          timeout=10)


def pane():
    return tmux("capture-pane", "-p", "-t", "top").stdout


def alternate_on():
    return tmux("display-message", "-p", "-t", "top", "#{alternate_on}").stdout.strip()


def wait_for(pred, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        text = pane()
        if pred(text):
            return text
        time.sleep(0.2)
    return pane()


def start(name, arena, interval="1s"):
    """Top in a fresh tmux session; the shell around it records top's pid,
    its exit status and stty settings before and after."""
    d = os.path.join(TMP, name)
    os.mkdir(d)
    script = os.path.join(d, "run.sh")
    with open(script, "w") as f:
        # The shell around top runs on after a ^C (a trap), as a login
        # shell would; top itself gets SIGINT's default action at exec.
        f.write("trap true INT\nstty -g > %s/before\n" % d +
                "sh -c 'echo $$ > %s/pid; exec %s top --arena %s --interval %s'\n" % (d, CLI, arena, interval) +
                "echo $? > %s/rc\nstty -g > %s/after\nsleep 600\n" % (d, d))
    tmux("kill-server")
    for _ in range(50):  # the server killed may still be going away
        r = tmux("new-session", "-d", "-s", "top", "-x", "180", "-y", "40", "sh " + script)
        if r.returncode == 0:
            break
        time.sleep(0.2)
    assert r.returncode == 0, r.stderr
    return d


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def ended(d, name, status):
    end = time.monotonic() + 10
    # The file exists as soon as the shell opens it, before stty wrote.
    while not read(os.path.join(d, "after")) and time.monotonic() < end:
        time.sleep(0.1)
    rc = read(os.path.join(d, "rc"))
    check(rc == str(status), "%s: top exits with status %d" % (name, status), rc)
    before, after = read(os.path.join(d, "before")), read(os.path.join(d, "after"))
    check(before == after is not None, "%s: the terminal settings are restored" % name, (before, after))
    check(alternate_on() == "0", "%s: the alternate screen is left" % name)


def rows_of(text):
    """The rows under the column names: (name, type, value, rate)."""
    lines = text.splitlines()
    try:
        i = next(k for k, l in enumerate(lines) if l.startswith("NAME "))
    except StopIteration:
        return []
    out = []
    for l in lines[i + 1:]:
        f = l.split()
        if len(f) >= 4:
            out.append((f[0], f[1], float(f[2]), float("nan") if f[3] == "-" else float(f[3])))
    return out


def live_tests():
    live = ARENA + "-live"
    p = subprocess.Popen([PACE, live, "60"], stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    d = start("keys", live)
    check(wait_for(lambda t: "pace_requests_total" in t) and alternate_on() == "1",
          "the view is up, on the alternate screen")
    text = wait_for(lambda t: all(r[3] == r[3] for r in rows_of(t) if r[0].startswith("pace_")) and
                    len([r for r in rows_of(t) if r[0].startswith("pace_")]) == 4, 10)
    time.sleep(2.2)  # two more refreshes at full rate
    rows = {r[0]: r for r in rows_of(pane())}
    for name, rate in (('pace_requests_total{route="/a"}', 200), ('pace_requests_total{route="/b"}', 50),
                       ("pace_errors_total", 10), ("pace_latency_seconds", 40)):
        got = rows.get(name, (0, 0, 0, float("nan")))[3]
        check(abs(got - rate) <= 0.2 * rate, "live: %s at %d/s shows %s" % (name, rate, got), pane())
    check(rows.get("pace_inflight", ("", "", 0))[2] == 3, "live: the gauge's value")
    check(re.search(r"pace_latency_seconds\s+histogram\s+\d+\s+[\d.]+\s+p50 0\.15 p99 0\.199", pane()) is not None,
          "live: p50 and p99 of the histogram from its buckets", pane())
    ordered = [r[3] for r in rows_of(pane())]
    rated = [x for x in ordered if x == x]
    check(len(rated) == 4 and ordered[:4] == sorted(rated, reverse=True) and ordered[4] != ordered[4],
          "live: sorted by rate, largest first, the gauge (no rate) last", ordered)

    tmux("send-keys", "-t", "top", "/")
    tmux("send-keys", "-t", "top", "-l", 'route="/a"')
    tmux("send-keys", "-t", "top", "Enter")
    text = wait_for(lambda t: 'filter route="/a"' in t)
    names = [r[0] for r in rows_of(text)]
    check(names == ['pace_requests_total{route="/a"}'], "live: the filter keeps the matching row only", text)

    tmux("send-keys", "-t", "top", "/")
    tmux("send-keys", "-t", "top", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace",
         "BSpace", "BSpace")
    tmux("send-keys", "-t", "top", "-l", "^pace_")
    tmux("send-keys", "-t", "top", "Enter")
    tmux("send-keys", "-t", "top", "s")
    text = wait_for(lambda t: "sort value, filter ^pace_" in t)
    values = [r[2] for r in rows_of(text)]
    check(len(values) == 5 and values == sorted(values, reverse=True), "live: s sorts by value", text)
    tmux("send-keys", "-t", "top", "s")
    text = wait_for(lambda t: "sort name, filter ^pace_" in t)
    names = [r[0] for r in rows_of(text)]
    check(len(names) == 5 and names == sorted(names), "live: s again sorts by name", text)
    tmux("send-keys", "-t", "top", "/")
    tmux("send-keys", "-t", "top", "-l", "(")
    tmux("send-keys", "-t", "top", "Enter")
    text = wait_for(lambda t: "is not a regular expression" in t)
    check("the filter '^pace_(' is not a regular expression" in text and len(rows_of(text)) == 5,
          "live: a bad filter is named, the old one stays", text)
    tmux("send-keys", "-t", "top", "q")
    ended(d, "q", 0)

    d = start("sigint", live)
    wait_for(lambda t: "pace_requests_total" in t)
    tmux("send-keys", "-t", "top", "C-c")
    ended(d, "SIGINT", 0)

    d = start("sigterm", live)
    wait_for(lambda t: "pace_requests_total" in t)
    os.kill(int(read(os.path.join(d, "pid"))), signal.SIGTERM)
    ended(d, "SIGTERM", 0)
    p.terminate()
    p.wait(timeout=10)

    gone = "/dev/shm/shmetrics-top-test-live-gone-%d" % os.getpid()
    run("inc", "--arena", gone, "x_total")
    d = start("removed", gone, "200ms")
    wait_for(lambda t: "x_total" in t)
    os.unlink(gone)
    ended(d, "arena removed", 1)
    check("shmetrics top: the arena %s was removed" % gone in pane(), "arena removed: the reason is printed", pane())


def documented():
    r = run("top", "--help")
    check(r.returncode == 0 and r.stdout.startswith("usage: shmetrics top") and r.stdout in cli_docs(),
          "docs/cli.md has top --help as it is")


try:
    documented()
    batch_tests()
    error_tests()
    collector_tests()
    if shutil.which("tmux"):
        live_tests()
    else:
        check(False, "tmux is installed (scripts/install-deps.sh)")
finally:
    tmux("kill-server")
    for path in (ARENA, ARENA + "-live"):
        if os.path.exists(path):
            os.unlink(path)
    shutil.rmtree(TMP, ignore_errors=True)
sys.exit(summary())
