# SPDX-License-Identifier: MIT
"""What the push tests share, and the Prometheus end-to-end test with them:
TAP-style checks, the npm packages that scripts/install-deps.sh installed
(tests/npm/node_modules, from tests/npm/package-lock.json), free ports on
127.0.0.1, the shmetrics command started in the background and
stopped by PID, and bounded waits.

Run by Debian's python3.  Needs SHMETRICS_CLI (the shmetrics binary) in
the environment; SHMETRICS_NPM_DIR (tests/npm/node_modules by default) is
where the npm packages are.  The tests fetch nothing: without the packages
they fail and say which command installs them.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

CLI = os.environ["SHMETRICS_CLI"]
HERE = os.path.dirname(os.path.abspath(__file__))
NPM_DIR = os.environ.get("SHMETRICS_NPM_DIR") or os.path.join(HERE, "npm", "node_modules")
NPM_INSTALL = "sh scripts/install-deps.sh (or: npm ci --prefix tests/npm)"


from tap import Checks  # noqa: F401 (the push tests take it from here)


def npm_modules(pkg, version):
    """The node_modules directory holding `pkg` at `version`, as installed
    by scripts/install-deps.sh; exits with status 1 (a failure: CI must run
    these tests) and the command that installs it when it is not there."""
    try:
        with open(os.path.join(NPM_DIR, pkg, "package.json")) as f:
            found = json.load(f).get("version")
    except (OSError, ValueError):
        found = None
    if found != version:
        print("not ok - npm package %s@%s is %s in %s: install it from the source root with: %s"
              % (pkg, version, "at version %s" % found if found else "missing", NPM_DIR, NPM_INSTALL), flush=True)
        sys.exit(1)
    return NPM_DIR


def remove_files(tmp, *arenas):
    """The end of a push test: its arenas and its temporary directory
    removed (what is already gone is fine)."""
    for path in arenas:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    shutil.rmtree(tmp, ignore_errors=True)


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
