#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""man/help2man.py - writes the manual pages shmetrics(1) and
shmetrics-VERB(1) from the --help text of the built shmetrics command, so
that the pages and --help cannot say different things.

    python3 man/help2man.py SHMETRICS OUTDIR VERB...

The VERBs are the ones meson.build names the pages after; they must be the
verbs `shmetrics --help` lists, in its order, or nothing is written and the
exit status is 1 (a verb added to the command without a page fails the
build).  The help text is turned into roff thus: the "usage:" paragraph is
the SYNOPSIS; other unindented lines are running text, a blank line starts
a paragraph; a line indented by two spaces starts a tagged entry (its tag
is the text up to the column where the deeper indented lines that follow
start, or else up to the first run of two spaces; its body the rest and
those lines).  Hyphenation is off, so an option is
never broken across lines, and every '-' is a minus sign (\\-) that can be
copied from the page.
"""
import os
import re
import subprocess
import sys


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit("help2man: %s exited %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def esc(text):
    """roff-escaped running text: backslashes, minus signs, and a leading
    period or quote that roff would take as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def indent(line):
    return len(line) - len(line.lstrip(" "))


def verbs_of(main_help):
    """[(verb, summary)] from the "verbs:" block of `shmetrics --help`."""
    verbs, inside = [], False
    for line in main_help.splitlines():
        if line == "verbs:":
            inside = True
        elif inside and line.startswith("  "):
            m = re.match(r"  (\S+)\s+(.*)", line)
            verbs.append((m.group(1), m.group(2)))
        elif inside:
            break
    return verbs


def body(lines, see_also_verbs=None):
    """roff for the help text after its usage paragraph."""
    out, entry = [], None
    for i, line in enumerate(lines):
        if not line.strip():
            entry = None
            out.append(".PP")
        elif indent(line) == 2:
            # The body starts where the next line's text does when it is
            # deeper (a tag may fill its column up to one space), else
            # after the first run of two spaces.
            col = indent(lines[i + 1]) if i + 1 < len(lines) else 0
            if col > 2 and len(line) > col and line[col - 1] == " " and line[col] != " ":
                tag, text = line[2:col].strip(), line[col:]
            else:
                m = re.match(r"  (\S.*?)(?:\s{2,}(\S.*))?$", line)
                tag, text = m.group(1), m.group(2)
            out.append(".TP")
            verb = tag if see_also_verbs and tag in see_also_verbs else None
            out.append(".BR shmetrics\\-%s (1)" % esc(verb) if verb else ".B " + esc(tag))
            entry = [esc(text)] if text else []
            out.append(entry)
        elif indent(line) > 2 and entry is not None:
            entry.append(esc(line.strip()))
        elif indent(line) > 2:
            out += [".RS", ".nf", esc(line.strip()), ".fi", ".RE"]
        else:
            entry = None
            if out and out[-1] != ".PP" and isinstance(out[-1], list):
                out.append(".PP")
            out.append(esc(line))
    flat = []
    for item in out:
        if isinstance(item, list):
            flat += item
        else:
            flat.append(item)
    # No empty paragraphs: collapse runs and drop leading/trailing ones.
    text = []
    for item in flat:
        if item == ".PP" and (not text or text[-1] in (".PP", ".TP")):
            continue
        text.append(item)
    while text and text[-1] == ".PP":
        text.pop()
    return text


def split_usage(help_text):
    """(usage lines without "usage: ", the rest)."""
    lines = help_text.rstrip("\n").splitlines()
    if not lines or not lines[0].startswith("usage: "):
        sys.exit("help2man: the help text does not start with 'usage: '")
    end = lines.index("") if "" in lines else len(lines)
    usage = [lines[0][len("usage: "):]] + [l.strip() for l in lines[1:end]]
    return usage, lines[end + 1:]


def page(title, name_line, version, help_text, see_also, verbs=None):
    usage, rest = split_usage(help_text)
    out = ['.\\" SPDX-License-Identifier: MIT',
           '.\\" Written by man/help2man.py from "%s --help"; edit the help text, not this page.'
           % title.lower().replace("-", " ", 1),
           '.TH %s 1 "" "shmetrics %s" "shmetrics manual"' % (esc(title), esc(version)),
           ".nh", ".ad l",
           ".SH NAME", name_line,
           ".SH SYNOPSIS", ".nf"]
    out += [esc(l) for l in usage]
    out += [".fi", ".SH DESCRIPTION"] + body(rest, verbs)
    out += [".SH SEE ALSO", ",\n".join(".BR %s (1)" % esc(s) for s in see_also)]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: help2man.py SHMETRICS OUTDIR VERB...")
    exe, outdir, want = sys.argv[1], sys.argv[2], sys.argv[3:]
    version = run([exe, "--version"]).split()[-1]
    main_help = run([exe, "--help"])
    verbs = verbs_of(main_help)
    have = [v for v, _ in verbs]
    if have != want:
        sys.exit("help2man: 'shmetrics --help' lists the verbs %s, the build makes pages for %s: "
                 "name every verb in src/cli/meson.build (man_verbs)" % (" ".join(have), " ".join(want)))
    pages = {"shmetrics.1": page("SHMETRICS", "shmetrics \\- lock\\-free shared\\-memory metrics engine",
                                 version, main_help, ["shmetrics-" + v for v in have], set(have))}
    for verb, summary in verbs:
        pages["shmetrics-%s.1" % verb] = page("SHMETRICS-" + verb.upper(), "shmetrics\\-%s \\- %s"
                                              % (esc(verb), esc(summary)), version,
                                              run([exe, verb, "--help"]), ["shmetrics"])
    for name, text in pages.items():
        tmp = os.path.join(outdir, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(outdir, name))


if __name__ == "__main__":
    main()
