# SPDX-License-Identifier: MIT
"""python3 -m shmetrics.run [--arena ARENA] PROGRAM [ARGS...]
python3 -m shmetrics.run [--arena ARENA] -m MODULE [ARGS...]
python3 -m shmetrics.run --shim-dir

Run an unmodified prometheus_client program on shmetrics: its `import
prometheus_client` (and those of every child process: fork, spawn, exec
of python3) gives shmetrics.prometheus_client, and its metrics live in
one arena that `shmetrics serve --arena ARENA` reads.  The arena is
SHMETRICS_ARENA if set, else --arena, else shmetrics.arena in
PROMETHEUS_MULTIPROC_DIR if that is set, else /dev/shm/prometheus-client-PID
(PID of this command); SHMETRICS_ARENA is set to it for the program and
its children.  --shim-dir prints the directory to put first on PYTHONPATH
for the same effect without this command.
"""

import os
import runpy
import sys

from . import activate

USAGE = __doc__.split("\n\n")[0]


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    arena = None
    if argv[:1] == ["--shim-dir"]:
        print(activate.SHIM_DIR)
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__.strip())
        return 0
    if argv[:1] == ["--arena"]:
        if len(argv) < 2:
            print("python3 -m shmetrics.run: --arena needs a value\n" + USAGE, file=sys.stderr)
            return 2
        arena, argv = argv[1], argv[2:]
    module = None
    if argv[:1] == ["-m"]:
        if len(argv) < 2:
            print("python3 -m shmetrics.run: -m needs a module name\n" + USAGE, file=sys.stderr)
            return 2
        module, argv = argv[1], argv[2:]
    elif not argv:
        print("python3 -m shmetrics.run: no program to run\n" + USAGE, file=sys.stderr)
        return 2
    if not os.environ.get("SHMETRICS_ARENA"):
        multiproc = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if arena is None and multiproc:
            if not os.path.isdir(multiproc):
                print(f"python3 -m shmetrics.run: PROMETHEUS_MULTIPROC_DIR={multiproc!r} is not a directory",
                      file=sys.stderr)
                return 2
            arena = os.path.join(multiproc, "shmetrics.arena")
        os.environ["SHMETRICS_ARENA"] = arena or f"/dev/shm/prometheus-client-{os.getpid()}"
    activate.child_environment(os.environ)
    activate.install()
    # multiprocessing's spawn gives its children this sys.path: the shim first.
    sys.path.insert(0, activate.SHIM_DIR)
    if module is not None:
        sys.argv = [module] + argv
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    program = argv[0]
    if not os.path.exists(program):
        print(f"python3 -m shmetrics.run: {program}: no such file", file=sys.stderr)
        return 2
    sys.argv = argv
    sys.path[1] = os.path.dirname(os.path.abspath(program))
    runpy.run_path(program, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
