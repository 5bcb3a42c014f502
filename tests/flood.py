# SPDX-License-Identifier: MIT
"""The collector under connection floods, from the outside: scrapes are
answered (p99 of 20 under 100 ms) while 10,000 connections from 127.0.0.1
hold partial requests open, while 10,000 come from 40 addresses, and while
100 clients reconnect in a loop; the collector's memory stays bounded;
the request timeout closes a client that trickles its request in; the
options' errors.

Run by Debian's python3 (as root or not); needs SHMETRICS_CLI.  The flood
runs in a child process (this script with --flood), so the scrapes timed
here never wait for the flooder's interpreter.
"""
import errno
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import time

PARTIAL = b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux 4.2


# ------------------------------------------------------------ the flooder

def flood(port, n, sources, mode, seconds):
    """Hold `n` connections with partial requests (mode hold: reopen those
    the server closes), or keep `n` clients connecting, sending a partial
    request and closing (mode reconnect).  Prints 'ready OPEN' once `n`
    connections were opened (OPEN of them still are), then 'done OPENED
    CLOSED_BY_SERVER' when stopped (SIGTERM) or out of time."""
    ep = select.epoll()
    socks = {}
    opened = [0]
    closed_by_server = 0

    def open_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if mode == "reconnect":  # close with a reset: no TIME_WAIT pile-up
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        try:
            src = sources[opened[0] % len(sources)]
            if src != "127.0.0.1":
                # The port is chosen at connect, for the whole 4-tuple: a
                # bind to port 0 would search the ephemeral range for a
                # port no socket holds, slower and slower as they fill.
                s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((src, 0))
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError as e:  # out of ports or descriptors: try again later
            s.close()
            return e.errno
        opened[0] += 1
        socks[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLOUT)
        return 0

    def forget(fd):
        ep.unregister(fd)
        socks.pop(fd).close()

    end = time.monotonic() + seconds
    announced = False
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while time.monotonic() < end and not stop:
        while len(socks) < n:
            if open_one():
                break
            if len(socks) % 256 == 0:
                break  # let the events of those opened so far through
        if not announced and opened[0] >= n:
            print("ready %d" % len(socks), flush=True)
            announced = True
        for fd, ev in ep.poll(0.05):
            s = socks.get(fd)
            if s is None:
                continue
            if ev & (select.EPOLLERR | select.EPOLLHUP | select.EPOLLIN):
                closed_by_server += 1
                forget(fd)
            elif ev & select.EPOLLOUT:
                try:
                    s.send(PARTIAL)
                except OSError:
                    closed_by_server += 1
                    forget(fd)
                    continue
                if mode == "reconnect":
                    forget(fd)
                else:
                    ep.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
    if not announced:
        print("ready %d" % len(socks), flush=True)
    print("done %d %d" % (opened[0], closed_by_server), flush=True)


if len(sys.argv) > 1 and sys.argv[1] == "--flood":
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    flood(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(","), sys.argv[5], float(sys.argv[6]))
    sys.exit(0)

# ------------------------------------------------------------- the test

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_proc import Server  # noqa: E402
from tap import check, cli_docs, summary  # noqa: E402

CLI = os.environ["SHMETRICS_CLI"]
ARENA = "/dev/shm/shmetrics-flood-test-%d" % os.getpid()
FLOOD = 10000
# A sanitizer's quarantine holds freed memory on purpose, and its checks
# make every call several times slower: memory and scrape times are then
# reported, not judged (every scrape must still be answered, exactly).
SANITIZED = os.environ.get("SHMETRICS_SANITIZE", "none") not in ("", "none")


def check_memory(cond, what):
    if SANITIZED:
        print("# %s: not judged under %s" % (what, os.environ["SHMETRICS_SANITIZE"]))
    else:
        check(cond, what)


check_time = check_memory


def cli(*args, **kw):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=60, **kw)


def scrape(port, timeout=5.0):
    """One scrape on a new connection: (seconds, status, body); a failure
    costs the whole timeout."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    out = b""
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    finally:
        s.close()
    dt = time.monotonic() - t0
    m = re.match(rb"HTTP/1\.1 (\d+)", out)
    return (dt, int(m.group(1)), out) if m else (max(dt, timeout), 0, out)


def value(body, name):
    m = re.search(rb"^" + re.escape(name.encode()) + rb" (\S+)$", body, re.M)
    return float(m.group(1)) if m else None


def measured(srv, what):
    """20 scrapes, one after another; checks each and their p99."""
    times, bad = [], []
    last = b""
    for _ in range(20):
        dt, st, body = scrape(srv.port)
        times.append(dt)
        if st != 200 or value(body, 'flood_requests_total{code="200"}') != 7.0:
            bad.append((st, body[:80]))
        else:
            last = body
        time.sleep(0.05)
    times.sort()
    p50, p99 = times[9] * 1000, times[19] * 1000  # nearest rank: p99 of 20 is the slowest
    print("# %s: scrapes p50 %.1f ms, p99 %.1f ms; collector RSS %d KiB (peak %d KiB), %d descriptors"
          % (what, p50, p99, srv.status("VmRSS"), srv.status("VmHWM"), srv.fds()))
    check(not bad, "%s: 20 scrapes answered 200 with the exact value" % what, bad[:2])
    check_time(p99 < 100, "%s: p99 of 20 scrapes under 100 ms (%.1f ms)" % (what, p99))
    return last


def start_flood(port, n, sources, mode, seconds):
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--flood", str(port), str(n), ",".join(sources),
                          mode, str(seconds)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    return p, int(line.split()[1]) if line.startswith("ready") else 0


def end_flood(p):
    p.send_signal(signal.SIGTERM)
    try:
        out = p.communicate(timeout=10)[0]
    except subprocess.TimeoutExpired:
        p.kill()
        out = p.communicate()[0]
    return out


def wait_open(srv, n, seconds=30):
    """Wait until the collector reports at least n open connections."""
    end = time.monotonic() + seconds
    seen = None
    while time.monotonic() < end:
        dt, st, body = scrape(srv.port)
        seen = value(body, "shmetrics_collector_connections")
        if seen is not None and seen >= n:
            break
        time.sleep(0.2)
    return seen


def flood_phase(srv, what, n, sources, mode):
    """Scrapes measured while a flood runs; the flooder's counts, the last
    scrape's body and the collector's peak memory."""
    fl, _ = start_flood(srv.port, n, sources, mode, 120)
    time.sleep(1)
    body = measured(srv, what)
    peak = srv.status("VmHWM")
    out = end_flood(fl)
    m = re.search(r"done (\d+) (\d+)", out)
    opened, closed = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    print("# %s: the flooder opened %d connections, of which the collector closed %d" % (what, opened, closed))
    return body, peak, opened


def test_floods():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, FLOOD + 4096) if hard != resource.RLIM_INFINITY else FLOOD + 4096
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    flood_n = min(FLOOD, soft - 256)
    print("# open-file limit: soft %d, hard %d; the floods open %d connections%s"
          % (soft, hard, flood_n, "" if flood_n == FLOOD else " (the machine allows no more)"))

    # The defaults: 1,024 connections, 256 from one address.
    srv = Server(ARENA)
    try:
        base_rss = srv.status("VmRSS")
        body = measured(srv, "quiet")
        check(value(body, "shmetrics_collector_connections_max") == 1024.0, "self: the default limit is 1024",
              value(body, "shmetrics_collector_connections_max"))

        # Partial requests from 127.0.0.1, reopened as the collector closes
        # them: the address limit (256) closes the oldest waiting ones.
        what = "%d partial requests from 127.0.0.1" % flood_n
        body, peak, opened = flood_phase(srv, what, flood_n, ["127.0.0.1"], "hold")
        check(opened >= flood_n, "%s: the flooder opened them all (%d)" % (what, opened))
        closed = value(body, 'shmetrics_collector_connections_closed_total{reason="address_limit"}')
        check(closed is not None and closed >= flood_n - 256 - 20,
              "self: the address limit closed the flood's oldest connections (%s)" % closed)
        check(value(body, 'shmetrics_collector_connections_closed_total{reason="connection_limit"}') == 0.0,
              "self: one address never reached the server's limit")
        check(value(body, "shmetrics_collector_resident_memory_bytes") > 0, "self: resident memory reported")
        check_memory(peak - base_rss < 32 * 1024, "memory bounded: peak %d KiB over a start of %d KiB" % (peak, base_rss))

        # From 40 addresses, 250 each: under the address limit, so the
        # server's limit (1,024) closes the oldest waiting ones.
        what = "%d partial requests from 40 addresses" % flood_n
        body, peak, opened = flood_phase(srv, what, flood_n, ["127.0.0.%d" % i for i in range(2, 42)], "hold")
        closed = value(body, 'shmetrics_collector_connections_closed_total{reason="connection_limit"}')
        check(closed is not None and closed >= flood_n - 1024 - 100,
              "self: the connection limit closed the oldest connections (%s)" % closed)
        check_memory(peak - base_rss < 32 * 1024, "memory bounded: peak %d KiB over a start of %d KiB" % (peak, base_rss))

        # 100 clients connecting, sending half a request, closing, again.
        what = "100 clients reconnecting in a loop"
        body, peak, opened = flood_phase(srv, what, 100, ["127.0.0.1"], "reconnect")
        check(opened > 1000, "%s: they connected %d times" % (what, opened))
        time.sleep(0.5)
        dt, st, body = scrape(srv.port)
        check(st == 200 and value(body, "shmetrics_collector_connections") == 1.0,
              "after the floods only the scrape's connection is open (%s)"
              % value(body, "shmetrics_collector_connections"))
    finally:
        _, err = srv.stop()
    lines = [ln for ln in err.splitlines() if not ln.startswith("shmetrics serve: stopped by")]
    check(len(lines) <= 2 * 11, "the log is not flooded (%d lines)" % len(lines), lines[:3])

    # Limits raised above the flood: all of it is held open, and scrapes
    # are still answered (one epoll loop a thread watches them all).
    limit = flood_n + 2000
    srv = Server(ARENA, "--max-connections", str(limit), "--max-connections-per-address", str(limit))
    try:
        base_rss = srv.status("VmRSS")
        fl, _ = start_flood(srv.port, flood_n, ["127.0.0.1"], "hold", 120)
        seen = wait_open(srv, flood_n)
        check(seen is not None and seen >= flood_n, "limits raised: the collector holds %s connections" % seen)
        what = "%d partial requests held open" % flood_n
        body = measured(srv, what)
        peak = srv.status("VmHWM")
        end_flood(fl)
        per = (peak - base_rss) / max(flood_n, 1)
        print("# %s: %.1f KiB of collector memory per connection" % (what, per))
        check_memory(per < 20, "memory bounded: %.1f KiB per held connection (16 KiB of request memory at most)" % per)
    finally:
        srv.stop()


def test_request_timeout():
    srv = Server(ARENA, "--request-timeout", "1s")
    try:
        # A request trickled in a byte at a time is closed at the timeout,
        # although bytes keep arriving.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        t0 = time.monotonic()
        closed_at = None
        for byte in PARTIAL * 10:
            try:
                s.send(bytes([byte]))
                r, _, _ = select.select([s], [], [], 0.1)
                if r and s.recv(100) == b"":
                    closed_at = time.monotonic() - t0
                    break
            except OSError:
                closed_at = time.monotonic() - t0
                break
        s.close()
        check(closed_at is not None and 0.9 <= closed_at < 5,
              "a request trickled in is closed at the 1 s timeout (%s s)" % closed_at)
        # A keep-alive connection: the timeout restarts after each response.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        got = []
        for _ in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = s.recv(1000)
            got.append(data.startswith(b"HTTP/1.1 200") and data.endswith(b"ok\n"))
            time.sleep(0.6)
        s.close()
        check(got == [True] * 3, "keep-alive: three requests 0.6 s apart on one connection", got)
        dt, st, body = scrape(srv.port)
        check(value(body, 'shmetrics_collector_connections_closed_total{reason="request_timeout"}') == 1.0,
              "self: one connection closed for the request timeout",
              value(body, 'shmetrics_collector_connections_closed_total{reason="request_timeout"}'))
    finally:
        srv.stop()


def test_options():
    for args, code, msg in (
            (["--max-connections", "8"], 2, "--max-connections takes a whole number from 16 to 1000000, not '8'"),
            (["--max-connections", "many"], 2, "--max-connections takes a whole number from 16 to 1000000, not 'many'"),
            (["--max-connections-per-address", "0"], 2,
             "--max-connections-per-address takes a whole number from 1 to 1000000, not '0'"),
            (["--request-timeout", "2h"], 2, "--request-timeout takes a duration from 1ms to 1h (10s, 500ms), not '2h'"),
            (["--request-timeout", "soon"], 2,
             "--request-timeout takes a duration from 1ms to 1h (10s, 500ms), not 'soon'"),
            (["--max-connections", "100", "--max-connections-per-address", "101"], 1,
             "max_connections_per_address 101 is more than max_connections 100")):
        r = cli("serve", "--arena", ARENA, "--listen", "127.0.0.1:0", *args)
        check(r.returncode == code and msg in r.stderr, "serve %s: exit %d naming it" % (" ".join(args), code),
              (r.returncode, r.stderr))

    r = cli("serve", "--help")
    check(r.returncode == 0 and all(o in r.stdout for o in ("--max-connections N", "--max-connections-per-address N",
                                                            "--request-timeout DURATION")),
          "serve --help documents the limits")
    check(r.stdout in cli_docs(), "docs/cli.md has serve --help as it is")

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    r = subprocess.run([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0", "--max-connections", "4096"],
                       capture_output=True, text=True, timeout=30, preexec_fn=low_limit)
    check(r.returncode == 1 and "max_connections 4096 needs" in r.stderr and "the limit is 512 (hard limit 512)"
          in r.stderr, "an explicit limit the open-file limit cannot hold: exit 1 naming both", r.stderr)
    def tiny_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))

    r = subprocess.run([CLI, "serve", "--arena", ARENA, "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=30, preexec_fn=tiny_limit)
    check(r.returncode == 1 and "the open-file limit 300 leaves room for 0 connections, fewer than 16" in r.stderr,
          "an open-file limit too low for 16 connections: exit 1 naming it", r.stderr)
    # The default limit is lowered to fit, and said in the metrics.
    srv = Server(ARENA, preexec=low_limit)
    try:
        dt, st, body = scrape(srv.port)
        mx = value(body, "shmetrics_collector_connections_max")
        check(st == 200 and mx is not None and 16 <= mx < 512, "with 512 open files the default limit is %s" % mx)
    finally:
        srv.stop()


def main():
    r = cli("inc", "--arena", ARENA, "--help", "Requests.", "flood_requests_total", "code=200", "7")
    if r.returncode:
        print("not ok - cannot fill the arena: %s" % r.stderr)
        return 1
    try:
        test_options()
        test_request_timeout()
        test_floods()
    finally:
        try:
            os.unlink(ARENA)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
    return summary()


if __name__ == "__main__":
    sys.exit(main())
