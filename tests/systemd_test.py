# SPDX-License-Identifier: MIT
"""The collector's unit, shmetrics-serve@.service (systemd/), as meson
wrote it: `systemd-analyze verify` accepts the template and an instance of
it without a word on stderr (its ExecStart pointed at the built command, its
Documentation= found among the built manual pages); the sandbox the
documents promise is in it; `systemd-analyze security --offline` rates it
below 5 ("OK").  Then, as root, what docs/collector.md says the service
needs to read an arena: a user of its own whose supplementary group owns an
arena of mode 0640 reads it (`shmetrics dump`), the same user without that
group is refused.

Needs SHMETRICS_CLI, SHMETRICS_UNIT (the configured unit) and
SHMETRICS_MAN_DIR.  systemd-analyze comes with Debian's systemd; it works
on unit files without a running systemd.  Without it the test says so and
exits 77 (skipped).
"""
import os
import shutil
import subprocess
import sys
import tempfile

from tap import Checks

CLI = os.environ["SHMETRICS_CLI"]
UNIT = os.environ["SHMETRICS_UNIT"]
MAN_DIR = os.environ["SHMETRICS_MAN_DIR"]
T = Checks()
WANT = ["DynamicUser=yes", "SupplementaryGroups=shmetrics", "ProtectSystem=strict", "ProtectHome=yes",
        "PrivateTmp=yes", "NoNewPrivileges=yes", "ReadOnlyPaths=/dev/shm",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "LimitNOFILE=8192", "Restart=on-failure",
        "EnvironmentFile=-/etc/default/shmetrics-serve-%i"]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


def verify(tmp, text):
    man = os.path.join(tmp, "man", "man1")
    os.makedirs(man)
    for f in os.listdir(MAN_DIR):
        if f.endswith(".1"):
            shutil.copy(os.path.join(MAN_DIR, f), man)
    env = dict(os.environ, MANPATH=os.path.join(tmp, "man"), SYSTEMD_LOG_LEVEL="notice")
    for name in ("shmetrics-serve@.service", "shmetrics-serve@myapp.service"):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        r = run(["systemd-analyze", "verify", path], env=env, cwd=tmp)
        T.check(r.returncode == 0 and r.stderr.strip() == "", "systemd-analyze verify %s: no error, no warning" % name,
                r.stderr.strip())
    r = run(["systemd-analyze", "security", "--offline=yes", os.path.join(tmp, "shmetrics-serve@myapp.service")],
            env=env, cwd=tmp)
    level = [l for l in r.stdout.splitlines() if "Overall exposure level" in l]
    try:
        score = float(level[0].split(":")[1].split()[0])
    except (IndexError, ValueError):
        score = None
    T.check(score is not None and score < 5.0, "systemd-analyze security rates it below 5", level or r.stderr[-500:])


def group_read(tmp):
    """A 0640 arena of group G: read with G as a supplementary group only."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("# not root or no setpriv: the group read is not tried")
        return
    arena = "/dev/shm/shmetrics-unit-%d" % os.getpid()
    gid, uid = 64123, 64124
    try:
        r = run([CLI, "create", "--arena", arena, "--file-mode", "0640"])
        T.check(r.returncode == 0, "create --file-mode 0640", r.stderr)
        run([CLI, "inc", "--arena", arena, "unit_test_total"])
        os.chown(arena, 0, gid)
        base = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid]
        r = run(base + ["--groups=%d" % gid, CLI, "dump", "--arena", arena])
        T.check(r.returncode == 0 and "unit_test_total 1" in r.stdout,
                "a user whose supplementary group owns the 0640 arena reads it", r.stderr)
        r = run(base + ["--clear-groups", CLI, "dump", "--arena", arena])
        T.check(r.returncode == 1 and "ermission denied" in r.stderr, "without that group it is refused", r.stderr)
    finally:
        try:
            os.unlink(arena)
        except FileNotFoundError:
            pass


def main():
    if not shutil.which("systemd-analyze"):
        print("SKIP systemd: no systemd-analyze (Debian: apt-get install systemd)")
        return 77
    with open(UNIT) as f:
        text = f.read()
    missing = [w for w in WANT if ("\n" + w + "\n") not in text]
    T.check(not missing, "the unit has its sandbox, limits and environment file", "missing: %s" % missing)
    exec_line = [l for l in text.splitlines() if l.startswith("ExecStart=")]
    T.check(len(exec_line) == 1 and " serve --arena /dev/shm/%i --listen ${SHMETRICS_LISTEN} " in exec_line[0],
            "ExecStart serves /dev/shm/%i on $SHMETRICS_LISTEN", exec_line)
    installed = exec_line[0].split("=", 1)[1].split()[0] if exec_line else ""
    tmp = tempfile.mkdtemp(prefix="shmetrics-unit-")
    try:
        verify(tmp, text.replace("ExecStart=" + installed, "ExecStart=" + os.path.abspath(CLI)))
        group_read(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
