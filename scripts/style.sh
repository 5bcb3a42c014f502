#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/style.sh - checks the house style of the tree: every C, header,
# Python, shell, Meson, proto and JavaScript file of the project starts with
# its SPDX line (after a shebang line; scripts/spdx-add.sh inserts missing
# ones), and every C file is as .clang-format formats it.  Each check is a
# TAP line; each offending file is listed under its check as "#   FILE".
# The last line is "N passed, M failed"; the exit status is 0 only if
# nothing failed.
#
#   sh scripts/style.sh            (CLANG_FORMAT=clang-format-14 to choose one)
#
# .clang-format is written for clang-format 14; other versions format some
# constructs differently.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
. "$root/scripts/sources.sh"
. "$root/tests/tap.sh"
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}

files=$(project_files)
nfiles=$(printf '%s\n' "$files" | grep -c .)

# SPDX lines.
bad=""
nbad=0
for f in $files; do
    want=$(spdx_line "$f")
    have=$(sed -n "$(spdx_lineno "$f")p" "$f")
    if [ "$have" != "$want" ]; then
        bad="$bad$f: line $(spdx_lineno "$f") is not \"$want\"
"
        nbad=$((nbad + 1))
    fi
done
check "SPDX line in each of $nfiles files ($nbad without)" "$nbad" "${bad%?}"

# clang-format.
cfiles=$(printf '%s\n' "$files" | grep '\.[ch]$')
ncfiles=$(printf '%s\n' "$cfiles" | grep -c .)
if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
    check "clang-format on $ncfiles C files" 1 "no $CLANG_FORMAT (Debian: apt-get install clang-format-14)"
else
    bad=""
    nbad=0
    for f in $cfiles; do
        if ! "$CLANG_FORMAT" --dry-run --Werror --style=file "$f" >/dev/null 2>&1; then
            bad="$bad$f: differs from .clang-format ($CLANG_FORMAT --dry-run $f shows where)
"
            nbad=$((nbad + 1))
        fi
    done
    check "clang-format on each of $ncfiles C files ($nbad differ)" "$nbad" "${bad%?}"
fi

tap_summary
