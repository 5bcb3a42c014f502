# SPDX-License-Identifier: MIT
"""The manual pages written at build time from --help (man/help2man.py,
src/cli/meson.build): shmetrics(1) and one shmetrics-VERB(1) for each verb
that `shmetrics --help` lists exist in the build directory; groff renders
each without a warning (-ww) and so does man -l; the rendered page holds
the verb's summary and every option its --help names; the main page names
every verb's page.

Needs SHMETRICS_CLI (the shmetrics binary) and SHMETRICS_MAN_DIR (where the
build wrote the pages); groff comes from Debian's groff-base, man from
man-db.
"""
import os
import re
import subprocess
import sys

from tap import Checks

CLI = os.environ["SHMETRICS_CLI"]
MAN_DIR = os.environ["SHMETRICS_MAN_DIR"]
T = Checks()
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9.-]*[a-z0-9]")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)


def render(page):
    """(groff's warnings, man -l's text and warnings) for one page."""
    g = run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
    env = dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8")
    env.pop("MAN_KEEP_FORMATTING", None)
    m = run(["man", "--warnings", "-E", "UTF-8", "-l", page], env=env)
    return g, m


def verbs():
    text = run([CLI, "--help"]).stdout
    block = text.split("\nverbs:\n", 1)[1].split("\n\n", 1)[0]
    return [re.match(r"  (\S+)\s+(.*)", l).groups() for l in block.splitlines()]


def check_page(name, help_text, summary, names=()):
    page = os.path.join(MAN_DIR, name)
    if not os.path.exists(page):
        T.check(False, "%s exists" % name, "(not in %s)" % MAN_DIR)
        return
    g, m = render(page)
    T.check(g.returncode == 0 and g.stderr == "", "%s: groff -man -ww renders it without a warning" % name,
            g.stderr.strip())
    T.check(m.returncode == 0 and m.stderr == "" and "SYNOPSIS" in m.stdout,
            "%s: man -l renders it without a warning" % name, m.stderr.strip())
    flat = " ".join(m.stdout.split())
    T.check(" ".join(summary.split()) in flat, "%s: NAME says %r" % (name, summary))
    missing = sorted(o for o in set(OPTION.findall(help_text)) if o not in flat)
    T.check(not missing, "%s: every option of --help (%d)" % (name, len(set(OPTION.findall(help_text)))),
            "missing: " + " ".join(missing))
    missing = [n for n in names if n not in flat]
    T.check(not missing, "%s: names the %d verb pages" % (name, len(names)), "missing: " + " ".join(missing))


def main():
    vs = verbs()
    T.check(len(vs) >= 11, "shmetrics --help lists the verbs (%d)" % len(vs))
    check_page("shmetrics.1", run([CLI, "--help"]).stdout, "lock-free shared-memory metrics engine",
               ["shmetrics-%s(1)" % v for v, _ in vs])
    for verb, summary in vs:
        check_page("shmetrics-%s.1" % verb, run([CLI, verb, "--help"]).stdout, summary)
    pages = sorted(f for f in os.listdir(MAN_DIR) if f.endswith(".1"))
    want = sorted(["shmetrics.1"] + ["shmetrics-%s.1" % v for v, _ in vs])
    T.check(pages == want, "no other page in the build directory", " ".join(pages))
    return T.summary()


if __name__ == "__main__":
    sys.exit(main())
