# SPDX-License-Identifier: MIT
"""`shmetrics serve` for the HTTP tests: started on a free port of
127.0.0.1, its port line read, requests made to it, its memory read from
/proc, and stopped by PID.

Run by Debian's python3; needs SHMETRICS_CLI in the environment.
"""
import http.client
import os
import re
import signal
import socket
import subprocess

CLI = os.environ["SHMETRICS_CLI"]


class Server:
    def __init__(self, arena, *extra, preexec=None):
        self.proc = subprocess.Popen([CLI, "serve", "--arena", arena, "--listen", "127.0.0.1:0"] + list(extra),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec)
        line = self.proc.stdout.readline()
        m = re.match(r"serving (https?)://127\.0\.0\.1:(\d+)/metrics from ", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("serve printed %r, stderr %r" % (line, self.proc.stderr.read()))
        self.scheme, self.port = m.group(1), int(m.group(2))

    def get(self, path, headers=None, method="GET"):
        """(status, lower-cased headers, body) of one request on a new
        connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body

    def raw(self, data):
        """Send `data` on a new connection; all that comes back until the
        server closes it (or 15 s pass)."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        s.close()
        return out

    def status(self, field):
        """A field of /proc/PID/status in kB (VmRSS, VmHWM), -1 if absent."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return -1

    def rss_kb(self):
        return self.status("VmRSS")

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def stop(self, sig=signal.SIGTERM):
        """Signal it and wait (10 s, then SIGKILL): (exit code or None,
        what it wrote on stderr)."""
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        return rc, self.proc.stderr.read()
