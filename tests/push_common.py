# SPDX-License-Identifier: MIT
"""What the push tests share, and the Prometheus end-to-end test with them:
TAP-style checks, npm packages installed into the build directory, free
ports on 127.0.0.1, the shmetrics command started in the background and
stopped by PID, and bounded waits.

Run by Debian's python3.  Needs SHMETRICS_CLI (the shmetrics binary) and
SHMETRICS_NPM_DIR (a directory under the build directory) in the
environment.
"""
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

CLI = os.environ["SHMETRICS_CLI"]
NPM_DIR = os.environ.get("SHMETRICS_NPM_DIR", "")
HERE = os.path.dirname(os.path.abspath(__file__))


from tap import Checks  # noqa: F401 (the push tests take it from here)


def npm_install(name, spec):
    """Install `spec` (package@version) into NPM_DIR/name once; returns the
    node_modules directory.  Concurrent callers wait on a lock file."""
    if not NPM_DIR:
        raise RuntimeError("SHMETRICS_NPM_DIR is not set")
    pkg, version = spec.rsplit("@", 1)
    where = os.path.join(NPM_DIR, name)
    os.makedirs(where, exist_ok=True)
    modules = os.path.join(where, "node_modules")
    with open(os.path.join(where, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(os.path.join(modules, pkg, "package.json")) as f:
                if json.load(f).get("version") == version:
                    return modules
        except (OSError, ValueError):
            pass
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", where, spec],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("npm install %s failed: %s" % (spec, r.stderr[-2000:]))
    return modules


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(*args, timeout=60):
    return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=timeout)


def wait_for(pred, seconds, step=0.1):
    """Poll pred() until it is true or `seconds` pass; returns its last value."""
    deadline = time.monotonic() + seconds
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


class Pusher:
    """`shmetrics push` in the background; stderr collected by a thread."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([CLI, "push"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.first = self.proc.stdout.readline()
        self.err = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stderr:
            self.err.append(line)

    def stderr(self):
        return "".join(self.err)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.t.join(timeout=5)
        return rc

    def counts(self):
        """(pushes, failed) from the line printed at stop."""
        m = re.search(r"after (\d+) pushes, (\d+) failed", self.stderr())
        return (int(m.group(1)), int(m.group(2))) if m else None


def stop_proc(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def dump_json(arena):
    r = cli("dump", "--arena", arena, "--format", "json")
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return json.loads(r.stdout)
