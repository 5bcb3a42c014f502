# SPDX-License-Identifier: MIT
"""python3 -m shmetrics (also the shmetrics-py command of the wheel): the
installed package's version and the exposition of an arena, read-only.

    python3 -m shmetrics --version
    python3 -m shmetrics dump --arena myapp [--format prometheus|openmetrics|json]
"""
import argparse
import importlib.metadata
import os
import sys

from . import Registry


def version():
    try:
        return importlib.metadata.version("shmetrics")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m shmetrics",
                                 description="shmetrics for Python: the package's version, or an arena's metrics "
                                 "(read-only).  The shmetrics command does the rest.")
    ap.add_argument("--version", action="version", version="shmetrics " + version())
    sub = ap.add_subparsers(dest="verb")
    d = sub.add_parser("dump", help="print every metric of an arena")
    d.add_argument("--arena", default=os.environ.get("SHMETRICS_ARENA"),
                   help="the arena (default: $SHMETRICS_ARENA); a name without '/' lives in /dev/shm")
    d.add_argument("--format", default="prometheus", choices=["prometheus", "openmetrics", "json"])
    args = ap.parse_args(argv)
    if args.verb != "dump":
        ap.print_help()
        return 2
    if not args.arena:
        ap.error("no arena: --arena PATH or SHMETRICS_ARENA")
    try:
        reg = Registry(args.arena, readonly=True)
    except OSError as e:
        print("python3 -m shmetrics: %s" % e, file=sys.stderr)
        return 1
    sys.stdout.buffer.write(reg.expose(args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
