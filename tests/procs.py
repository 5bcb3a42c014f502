# SPDX-License-Identifier: MIT
"""The workers' process metrics from the outside: four workers (tests/hold)
attached to an arena, each having burned 200 ms of CPU, opened 7 more
descriptors, set its open-file limit to 1000 + P and started 2 threads;
`shmetrics serve` scraped.  One sample of each process_* family per
worker, labelled with its pid, equal to what /proc says (computed here as
prometheus_client computes it); a worker killed with SIGKILL loses its
samples, and so does one left a zombie; --no-process-metrics removes
them; a collector running as nobody serves what it may read; promtool and
the OpenMetrics parser accept the bodies; `shmetrics push` sends them too,
and leaves them out with --no-process-metrics or --no-self-metrics.

Run by Debian's python3; needs SHMETRICS_CLI and SHMETRICS_HOLD (the
shmetrics binary and tests/hold) in the environment.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from serve_proc import Server
from tap import check, cli_docs, summary

CLI = os.environ["SHMETRICS_CLI"]
HOLD = os.environ["SHMETRICS_HOLD"]
ARENA = "/dev/shm/shmetrics-procs-test-%d" % os.getpid()
WORKERS, CPU_MS, FDS = 4, 200, 7
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGESIZE")
FAMILIES = ("process_cpu_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes",
            "process_start_time_seconds", "process_open_fds", "process_max_fds", "process_threads")


def boot_time():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise RuntimeError("no btime in /proc/stat")


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name, as
    prometheus_client splits them: [0] is field 3 (the state)."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        return f.read().split(b")")[-1].split()


def expected(pid):
    """What prometheus_client's process collector would say of pid."""
    parts = proc_stat(pid)
    with open("/proc/%d/limits" % pid) as f:
        max_fds = [float(l.split()[3]) for l in f if l.startswith("Max open files")][0]
    return {
        "process_virtual_memory_bytes": float(parts[20]),
        "process_resident_memory_bytes": float(parts[21]) * PAGE,
        "process_start_time_seconds": float(parts[19]) / TICKS + boot_time(),
        "process_cpu_seconds": (int(parts[11]) + int(parts[12])) / TICKS,
        "process_open_fds": float(len(os.listdir("/proc/%d/fd" % pid))),
        "process_max_fds": max_fds,
        "process_threads": float(parts[17]),
    }


def by_pid(text):
    """{family: {pid: value}} of the process_* families of a body."""
    out = {}
    for fam in text_string_to_metric_families(text):
        if fam.name in FAMILIES:
            out[fam.name] = {int(s.labels["pid"]): s.value for s in fam.samples}
            check(all(set(s.labels) == {"pid"} for s in fam.samples), "%s: the pid label alone" % fam.name)
    return out


def value(text, line_start):
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return None


def promtool(text, what):
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(p.returncode == 0, "promtool accepts %s" % what, p.stdout + p.stderr)


def start_workers():
    hold = subprocess.Popen([HOLD, ARENA, str(WORKERS), str(CPU_MS), str(FDS)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    workers = {}
    for _ in range(WORKERS):
        pid, cpu, max_fds = hold.stdout.readline().split()
        workers[int(pid)] = (float(cpu), float(max_fds))
    return hold, workers


def wait_gone(pid, zombie_ok=False):
    for _ in range(1000):
        try:
            state = proc_stat(pid)[0]
        except (FileNotFoundError, ProcessLookupError):
            # The open can succeed and the read fail with ESRCH when the
            # process is reaped between the two.
            return True
        if zombie_ok and state == b"Z":
            return True
        time.sleep(0.01)
    return False


def test_scrape(hold, workers):
    srv = Server(ARENA)
    try:
        st, _, body = srv.get("/metrics")
        text = body.decode()
        check(st == 200, "GET /metrics: 200")
        got = by_pid(text)
        check(sorted(got) == sorted(FAMILIES), "the seven process_* families", sorted(got))
        for fam in FAMILIES:
            check(sorted(got.get(fam, {})) == sorted(workers), "%s: one sample per worker, by pid" % fam,
                  (sorted(got.get(fam, {})), sorted(workers)))
        check("# TYPE process_cpu_seconds_total counter" in text and "# TYPE process_open_fds gauge" in text,
              "types: the CPU a counter, the rest gauges")
        check(value(text, "hold_counted_total") == float(WORKERS // 2) and text.count("\nhold_up{") == (WORKERS + 1) // 2,
              "half the workers wrote only a counter, and are listed all the same")
        for pid, (cpu, max_fds) in sorted(workers.items()):
            want = expected(pid)
            have = {fam: got.get(fam, {}).get(pid) for fam in FAMILIES}
            check(CPU_MS / 1000 <= have["process_cpu_seconds"] <= cpu + 0.01,
                  "pid %d: CPU %s s, at least the %d ms burned, at most the %.3f s it measured" %
                  (pid, have["process_cpu_seconds"], CPU_MS, cpu))
            check(have["process_cpu_seconds"] == want["process_cpu_seconds"], "pid %d: CPU as /proc says" % pid,
                  (have["process_cpu_seconds"], want["process_cpu_seconds"]))
            check(have["process_open_fds"] == want["process_open_fds"] and have["process_open_fds"] >= FDS + 3,
                  "pid %d: %s open descriptors, the %d opened among them, as /proc/%d/fd lists them" %
                  (pid, have["process_open_fds"], FDS, pid), (have["process_open_fds"], want["process_open_fds"]))
            check(have["process_max_fds"] == max_fds == want["process_max_fds"],
                  "pid %d: max fds %s, the soft limit it set" % (pid, have["process_max_fds"]))
            check(have["process_start_time_seconds"] == want["process_start_time_seconds"],
                  "pid %d: start time %r = btime + starttime / CLK_TCK" % (pid, have["process_start_time_seconds"]),
                  want["process_start_time_seconds"])
            for fam in ("process_resident_memory_bytes", "process_virtual_memory_bytes"):
                check(have[fam] == want[fam], "pid %d: %s %s as /proc/%d/stat says" % (pid, fam, have[fam], pid),
                      want[fam])
            check(have["process_threads"] == 3.0, "pid %d: 3 threads" % pid, have["process_threads"])
        for f in ("stat", "limits", "fd"):
            check(value(text, 'shmetrics_collector_process_files_unreadable{file="%s"}' % f) == 0.0,
                  "nothing unreadable: %s" % f)
        promtool(text, "the body with the process metrics")
        st, _, body = srv.get("/metrics?format=openmetrics")
        om = {f.name: f for f in om_families(body.decode())}
        check(len(om["process_cpu_seconds"].samples) == WORKERS and om["process_cpu_seconds"].type == "counter",
              "OpenMetrics: the CPU counter, one sample per worker")

        # A worker killed and reaped: its samples go.
        pids = sorted(workers)
        os.kill(pids[0], signal.SIGKILL)
        check(wait_gone(pids[0]), "the killed worker is reaped")
        _, _, body = srv.get("/metrics")
        text = body.decode()
        got = by_pid(text)
        check(all(sorted(got.get(fam, {})) == pids[1:] for fam in FAMILIES),
              "SIGKILL: the killed worker's samples are gone, the others' stay",
              {fam: sorted(got.get(fam, {})) for fam in FAMILIES})
        check(value(text, 'shmetrics_arena_processes{state="dead"}') == 1.0, "its slot is counted dead")

        # A worker left a zombie (its parent stopped, so not reaped): no
        # samples either, though /proc still has it.
        os.kill(hold.pid, signal.SIGSTOP)
        try:
            # kill() returns before the parent stops: wait until it has,
            # or it may still reap the worker killed next.
            for _ in range(1000):
                if proc_stat(hold.pid)[0] == b"T":
                    break
                time.sleep(0.01)
            os.kill(pids[1], signal.SIGKILL)
            check(wait_gone(pids[1], zombie_ok=True) and os.path.exists("/proc/%d" % pids[1]),
                  "the second killed worker is a zombie")
            _, _, body = srv.get("/metrics")
            got = by_pid(body.decode())
            check(all(sorted(got.get(fam, {})) == pids[2:] for fam in FAMILIES),
                  "a zombie's samples are gone too", {fam: sorted(got.get(fam, {})) for fam in FAMILIES})
        finally:
            os.kill(hold.pid, signal.SIGCONT)
    finally:
        rc, err = srv.stop()
        check(rc == 0, "serve stops cleanly", err)


def test_switched_off(workers):
    srv = Server(ARENA, "--no-process-metrics")
    try:
        st, _, body = srv.get("/metrics")
        text = body.decode()
        check(st == 200 and not re.search(r"^(# \w+ )?process_", text, re.M), "--no-process-metrics: no process_*")
        check("shmetrics_collector_process_files_unreadable" not in text, "--no-process-metrics: nor their count")
        check("hold_up{" in text and "shmetrics_collector_scrapes_total" in text, "the rest is there")
        promtool(text, "the body without them")
    finally:
        srv.stop()


def test_other_user(workers):
    """As nobody, the collector may not ask the kernel for the workers'
    limits (prlimit) nor, before Linux 6.2, list their fd directories: it
    reads the limits file instead, and leaves out (and counts) what it
    cannot read, without failing the scrape."""
    if os.getuid() != 0:
        check(True, "# SKIP the collector as another user: not root")
        return
    os.chmod(ARENA, 0o644)

    def nobody():
        os.setgid(65534)
        os.setuid(65534)

    try:
        srv = Server(ARENA, preexec=nobody)
    except RuntimeError as e:
        check(False, "serve runs as nobody", e)
        return
    try:
        st, _, body = srv.get("/metrics")
        text = body.decode()
        check(st == 200, "as nobody: GET /metrics: 200")
        got = by_pid(text)
        live = sorted(workers)
        for fam in FAMILIES:
            if fam != "process_open_fds":
                check(sorted(got.get(fam, {})) == live, "as nobody: %s of each worker" % fam)
        check(all(got["process_max_fds"][pid] == workers[pid][1] for pid in live),
              "as nobody: max fds from the limits file", got["process_max_fds"])
        unread_fd = value(text, 'shmetrics_collector_process_files_unreadable{file="fd"}')
        fds = got.get("process_open_fds", {})
        check((sorted(fds) == live and unread_fd == 0.0) or (not fds and unread_fd == len(live)),
              "as nobody: open fds read for all (Linux 6.2 on), or left out and counted for all", (fds, unread_fd))
        check(value(text, 'shmetrics_collector_process_files_unreadable{file="limits"}') == 0.0,
              "as nobody: no limits file unreadable")
        promtool(text, "the body served as nobody")
    finally:
        rc, err = srv.stop()
        check(rc == 0, "serve as nobody stops cleanly", err)


def push_once(*extra):
    """`shmetrics push --once` to a StatsD socket of this process: the lines."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.5)
    r = subprocess.run([CLI, "push", "--arena", ARENA, "--backend", "statsd", "--target",
                        "127.0.0.1:%d" % s.getsockname()[1], "--once", "--tags"] + list(extra),
                       capture_output=True, text=True, timeout=60)
    lines = []
    try:
        while True:
            lines += s.recv(65536).decode().split("\n")
    except socket.timeout:
        pass
    s.close()
    return r, lines


def test_push(workers):
    r, lines = push_once()
    check(r.returncode == 0, "push --once: exit 0", r.stderr)
    threads = sorted(l for l in lines if l.startswith("process_threads:"))
    want = sorted("process_threads:3|g|#pid:%d" % pid for pid in workers)
    check(threads == want, "push: process_threads of each worker, tagged with its pid", (threads, want))
    check(any(l.startswith("shmetrics_collector_process_files_unreadable:0|g|#file:fd") for l in lines),
          "push: the count of unreadable files, without a backend tag")
    r, lines = push_once("--no-process-metrics")
    check(r.returncode == 0 and any(l.startswith("shmetrics_push_attempts") for l in lines) and
          not any(l.startswith(("process_", "shmetrics_collector_process")) for l in lines),
          "push --no-process-metrics: none, the pusher's own still there", lines[:5])
    r, lines = push_once("--no-self-metrics")
    check(r.returncode == 0 and any(l.startswith("hold_up") for l in lines) and
          not any(l.startswith(("process_", "shmetrics_")) for l in lines),
          "push --no-self-metrics: the arena's alone", lines[:5])


def main():
    hold = None
    try:
        r = subprocess.run([CLI, "serve", "--help"], capture_output=True, text=True)
        check("--no-process-metrics" in r.stdout and r.stdout in cli_docs(), "docs/cli.md has serve --help as it is")
        hold, workers = start_workers()
        check(len(workers) == WORKERS, "%d workers attached" % WORKERS)
        test_switched_off(workers)
        test_other_user(workers)
        test_push(workers)
        test_scrape(hold, workers)
    finally:
        if hold:
            os.killpg(hold.pid, signal.SIGKILL)
            hold.wait()
        try:
            os.unlink(ARENA)
        except FileNotFoundError:
            pass
    return summary()


if __name__ == "__main__":
    sys.exit(main())
