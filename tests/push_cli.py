# SPDX-License-Identifier: MIT
"""`shmetrics push` from the outside: --help, every usage error (exit 2)
and every failure (exit 1) by its message, the null backend (metrics
switched off: pushes that do nothing), SHMETRICS_ARENA, and a clean stop
on SIGTERM and SIGINT.

Run by Debian's python3; needs SHMETRICS_CLI.  Ports are on 127.0.0.1
only; what is started here is stopped by PID.
"""
import os
import signal
import socket
import subprocess
import sys
import time

from push_common import CLI, Checks, Pusher, cli, free_port
from tap import cli_docs

ARENA = "/dev/shm/shmetrics-push-cli-%d" % os.getpid()
T = Checks()


def usage_errors():
    base = ["push", "--arena", ARENA]
    cases = [
        (base, "no backend: give --backend"),
        (base + ["--backend", "kafka"], "unknown push backend 'kafka'"),
        (base + ["--backend", "statsd"], "the statsd backend needs --target"),
        (base + ["--backend", "otlp"], "the otlp backend needs --target"),
        (base + ["--backend", "null", "--interval", "0"], "--interval takes a duration"),
        (base + ["--backend", "null", "--interval", "10x"], "--interval takes a duration"),
        (base + ["--backend", "null", "--interval", "25h"], "--interval takes a duration"),
        (base + ["--backend", "null", "--timeout", "-1s"], "--timeout takes a duration"),
        (base + ["--backend", "null", "--retry-min", "nan"], "--retry-min takes a duration"),
        (base + ["--backend", "null", "--retry-max", "0.1ms"], "--retry-max takes a duration"),
        (base + ["--backend", "otlp", "--target", "http://x", "--tags"], "--tags does not apply to the otlp"),
        (base + ["--backend", "null", "--prefix", "app"], "--prefix does not apply to the null"),
        (base + ["--backend", "remote-write", "--target", "http://x", "--max-datagram", "512"],
         "--max-datagram does not apply"),
        (base + ["--backend", "statsd", "--target", "x:1", "--otlp-encoding", "json"], "--otlp-encoding does not"),
        (base + ["--backend", "statsd", "--target", "x:1", "--service-name", "s"], "--service-name does not"),
        (base + ["--backend", "remote-write", "--target", "http://x", "--resource", "a=b"], "--resource does not"),
        (base + ["--backend", "otlp", "--target", "http://x", "--label", "a=b"], "--label does not apply"),
        (base + ["--backend", "statsd", "--target", "x:1", "--header", "A: b"], "--header does not apply"),
        (base + ["--backend", "otlp", "--target", "http://x", "--otlp-encoding", "xml"],
         "--otlp-encoding is protobuf or json, not 'xml'"),
        (base + ["--backend", "statsd", "--target", "x:1", "--max-datagram", "10"], "--max-datagram takes a whole"),
        (base + ["--backend", "otlp", "--target", "http://x", "--resource", "novalue"], "--resource takes KEY=VALUE"),
        (base + ["--backend", "remote-write", "--target", "http://x", "--label", "=x"], "--label takes KEY=VALUE"),
        (base + ["--backend", "null", "--bogus", "1"], "unknown option --bogus"),
        (base + ["--backend"], "--backend needs a value"),
        (["push", "--backend", "null"], "no arena: give --arena"),
    ]
    for args, msg in cases:
        r = subprocess.run([CLI] + args, capture_output=True, text=True, timeout=30, env=no_env())
        T.check(r.returncode == 2 and msg in r.stderr and "usage: shmetrics push" in r.stderr,
                "exit 2: %s" % msg, (r.returncode, r.stderr[:200]))


def no_env():
    env = dict(os.environ)
    env.pop("SHMETRICS_ARENA", None)
    return env


def failures():
    closed_udp = free_port(socket.SOCK_DGRAM)
    base = ["push", "--arena", ARENA, "--once"]
    cases = [
        (["push", "--arena", ARENA + "-missing", "--backend", "null", "--once"], "no arena at"),
        (base + ["--backend", "statsd", "--target", "localhost"], "statsd target 'localhost' is not HOST:PORT"),
        (base + ["--backend", "statsd", "--target", "127.0.0.1:0"], "bad port"),
        (base + ["--backend", "statsd", "--target", "bad!host:8125"], "cannot resolve 'bad!host'"),
        (base + ["--backend", "statsd", "--target", "127.0.0.1:%d" % closed_udp], "Connection refused"),
        (base + ["--backend", "otlp", "--target", "ftp://127.0.0.1/"], "is not an http:// or https:// URL"),
        (base + ["--backend", "otlp", "--target", "http://"], "has no host"),
        (base + ["--backend", "otlp", "--target", "http://127.0.0.1:1/a b"], "has white space in it"),
        (base + ["--backend", "remote-write", "--target", "http://127.0.0.1:1", "--label", "1bad=x"],
         "'1bad' is not a valid label name"),
        (base + ["--backend", "remote-write", "--target", "http://127.0.0.1:1", "--label", "__name__=x"],
         "'__name__' is not a valid label name"),
        (base + ["--backend", "null", "--retry-min", "2s", "--retry-max", "1s"],
         "the first retry (2000 ms) comes after the longest backoff (1000 ms)"),
        (base + ["--backend", "otlp", "--target", "http://127.0.0.1:1", "--header", "NoColon"],
         "header 'NoColon' is not 'Name: value'"),
    ]
    for args, msg in cases:
        r = cli(*args)
        T.check(r.returncode == 1 and msg in r.stderr and r.stderr.startswith("shmetrics: "),
                "exit 1: %s" % msg, (r.returncode, r.stderr[:300]))


def null_backend():
    r = cli("push", "--arena", ARENA, "--backend", "null", "--once")
    T.check(r.returncode == 0 and r.stdout == "pushed %s to null nowhere: 0 samples, 0 bytes\n" % ARENA,
            "null --once: nothing sent", (r.stdout, r.stderr))
    env = dict(os.environ, SHMETRICS_ARENA=ARENA)
    r = subprocess.run([CLI, "push", "--backend", "null", "--once"], capture_output=True, text=True, env=env,
                       timeout=30)
    T.check(r.returncode == 0 and ARENA in r.stdout, "the arena from SHMETRICS_ARENA")
    p = Pusher("--arena", ARENA, "--backend", "null", "--interval", "50ms")
    T.check(p.first == "pushing %s to null nowhere every 0.05 s\n" % ARENA, "null: first line", p.first)
    # The null backend does not read the arena: removing it changes nothing.
    # Some pushes first (every 50 ms; the first is made at start): the
    # loop, not only the first push, is what SIGINT must stop cleanly.
    time.sleep(0.5)
    os.unlink(ARENA)
    rc = p.stop(signal.SIGINT)
    counts = p.counts()
    T.check(rc == 0 and "stopped by SIGINT" in p.stderr() and counts and counts[0] >= 2 and counts[1] == 0,
            "null: SIGINT, %s pushes, none failed" % (counts,), p.stderr())
    cli("inc", "--arena", ARENA, "--help", "Jobs.", "jobs_total")


def help_texts():
    r = cli("push", "--help")
    flags = ["--arena", "--backend", "--target", "--interval", "--once", "--timeout", "--retry-min", "--retry-max",
             "--no-self-metrics", "--prefix", "--tags", "--max-datagram", "--otlp-encoding", "--service-name",
             "--resource", "--label", "--header"]
    T.check(r.returncode == 0 and all(f in r.stdout for f in flags), "push --help names every flag",
            [f for f in flags if f not in r.stdout])
    r = cli("--help")
    T.check(r.returncode == 0 and "\n  push " in r.stdout, "shmetrics --help lists push")
    text = cli_docs()
    T.check(all(f in text for f in flags) and "usage: shmetrics push" in text, "docs/cli.md documents push",
            [f for f in flags if f not in text])


def main():
    try:
        r = cli("inc", "--arena", ARENA, "--help", "Jobs.", "jobs_total")
        T.check(r.returncode == 0, "an arena to push", r.stderr)
        help_texts()
        usage_errors()
        failures()
        null_backend()
    finally:
        try:
            os.unlink(ARENA)
        except FileNotFoundError:
            pass
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
