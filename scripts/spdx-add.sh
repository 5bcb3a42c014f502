#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/spdx-add.sh - inserts the SPDX line into every file of the project
# that lacks it (the files and lines scripts/style.sh checks): as the first
# line, or the second after a shebang line, so that the file's first comment
# follows right after it.  A misspelt SPDX line in that place is replaced.
# Running it again changes nothing.  Prints each file it changed and, last,
# how many.
#
#   sh scripts/spdx-add.sh

set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. "$root/scripts/sources.sh"

changed=0
for f in $(project_files); do
    want=$(spdx_line "$f")
    at=$(spdx_lineno "$f")
    have=$(sed -n "${at}p" "$f")
    [ "$have" = "$want" ] && continue
    tmp=$(mktemp)
    awk -v at="$at" -v want="$want" -v replace="$(case $have in *SPDX-License-Identifier*) echo 1 ;; *) echo 0 ;; esac)" '
        NR == at { print want; if (replace) next }
        { print }
        END { if (NR < at) print want }
    ' "$f" >"$tmp"
    # Written in place, so that the file keeps its mode.
    cat "$tmp" >"$f"
    rm -f "$tmp"
    echo "$f"
    changed=$((changed + 1))
done
echo "$changed files changed"
