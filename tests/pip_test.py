# SPDX-License-Identifier: MIT
"""pip install . from a copy of the source (never the build directories of
make test): Debian's /usr/bin/python3 makes a fresh venv
(--system-site-packages, for Debian's python3-mesonpy), and its pip builds
the wheel with meson-python (--no-build-isolation, --no-index: nothing is
fetched) and installs it.  Then, from a directory outside the source, with
no PYTHONPATH: the package and its extension are the venv's, the extension
needs no libshmetrics (the library is linked in) and every library it needs
is found; 4 processes (spawn) add 25,000 each to one counter through the
installed package and the counter reads exactly 100,000, through the
package and through `python3 -m shmetrics dump` and `shmetrics-py dump`.

Needs SHMETRICS_SOURCE_ROOT.  Bounded: the build may take minutes (it
builds the library), each step has its timeout.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from tap import Checks

SRC = os.environ["SHMETRICS_SOURCE_ROOT"]
T = Checks()
ARENA = "/dev/shm/shmetrics-pip-%d" % os.getpid()

WORKERS = r"""
import multiprocessing as mp
import sys

import shmetrics

ARENA = sys.argv[1]


def work(n):
    reg = shmetrics.Registry(ARENA)
    c = shmetrics.Counter("pip_test_total", "Added by the installed package.", ["who"], registry=reg)
    child = c.labels("workers")
    for _ in range(n):
        child.inc()


if __name__ == "__main__":
    print("module", shmetrics.__file__)
    print("extension", shmetrics._shmetrics.__file__)
    procs = [mp.get_context("spawn").Process(target=work, args=(25000,)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
    print("exits", ",".join(str(p.exitcode) for p in procs))
    reg = shmetrics.Registry(ARENA, readonly=True)
    for m in reg.collect():
        for s in m.samples:
            if s.name == "pip_test_total":
                print("value", s.value)
"""


def run(cmd, timeout, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def ignore(d, names):
    return [n for n in names if n in (".git", "node_modules", "__pycache__") or n.startswith("build")
            or n.startswith(".mesonpy")]


def main():
    tmp = tempfile.mkdtemp(prefix="shmetrics-pip-")
    try:
        src = os.path.join(tmp, "src")
        shutil.copytree(SRC, src, ignore=ignore, symlinks=True)
        venv = os.path.join(tmp, "venv")
        r = run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv], 120)
        T.check(r.returncode == 0, "a fresh venv of /usr/bin/python3", r.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "SHMETRICS_"))}
        env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
        r = run([os.path.join(venv, "bin", "pip"), "install", "--no-build-isolation", "--no-index", "--no-deps",
                 src], 1200, env=env, cwd=tmp)
        T.check(r.returncode == 0 and "Successfully installed shmetrics" in r.stdout,
                "pip install --no-build-isolation . builds and installs the wheel",
                (r.stdout + r.stderr)[-3000:])
        if r.returncode != 0:
            return T.summary()
        shutil.rmtree(src)  # nothing of the source tree is needed from here on
        py = os.path.join(venv, "bin", "python")
        script = os.path.join(tmp, "workers.py")
        with open(script, "w") as f:
            f.write(WORKERS)
        r = run([py, script, ARENA], 300, env=env, cwd=tmp)
        out = dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)
        T.check(r.returncode == 0, "the installed package runs", r.stderr[-2000:])
        T.check(out.get("module", "").startswith(venv + "/"), "shmetrics is imported from the venv", out.get("module"))
        ext = out.get("extension", "")
        T.check(ext.startswith(venv + "/"), "its extension too", ext)
        T.check(out.get("exits") == "0,0,0,0", "4 worker processes exited 0", out.get("exits"))
        T.check(out.get("value") == "100000.0", "they added 100,000 exactly", out.get("value"))
        if ext:
            r = run(["ldd", ext], 60)
            T.check(r.returncode == 0 and "not found" not in r.stdout and "libshmetrics" not in r.stdout,
                    "the extension needs no libshmetrics and finds every library", r.stdout)
        for cmd in ([py, "-m", "shmetrics"], [os.path.join(venv, "bin", "shmetrics-py")]):
            r = run(cmd + ["dump", "--arena", ARENA], 60, env=env, cwd=tmp)
            T.check(r.returncode == 0 and 'pip_test_total{who="workers"} 100000' in r.stdout,
                    "%s dump reads it" % os.path.basename(cmd[-1] if len(cmd) == 1 else "python -m shmetrics"),
                    r.stdout[-500:] + r.stderr[-500:])
        r = run([os.path.join(venv, "bin", "shmetrics-py"), "--version"], 60, env=env, cwd=tmp)
        T.check(r.returncode == 0 and r.stdout.startswith("shmetrics 0."), "shmetrics-py --version: the package's",
                r.stdout + r.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            os.unlink(ARENA)
        except FileNotFoundError:
            pass
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
