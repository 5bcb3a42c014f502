#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/layers.sh - owns the check of the layering (docs/design.md,
# "Layers"): each directory includes only from those below it.
#
#   base/                 base/, include/
#   shm/                  shm/, base/, include/
#   src/write/            src/write/, shm/, base/, include/
#   src/read/             src/read/, src/write/, shm/, base/, include/
#   src/expose/           src/expose/, base/, include/ (encoders see snapshots only)
#   src/push/             src/push/, src/read/, base/, include/, and generated headers
#   src/serve/            src/serve/, src/read/, base/, include/
#   src/bench/            src/bench/, include/ (the measuring code of make bench)
#   src/cli/              src/cli/, src/bench/ and include/ (the public API)
#   python/ext/           itself and include/
#   examples/             include/
#
# Every #include of those directories' .c and .h files is resolved as the
# compiler would (the including file's directory, the source root, include/);
# one that lands in a directory its layer may not include, or that cannot be
# found (outside src/), is printed as FILE:LINE: and the reason, and the exit
# status is 1.  With no offence the last line is "layers: N includes checked"
# and the status 0.
#
#   sh tests/layers.sh [SOURCE_ROOT]

set -u

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2

# The layer of a path relative to the root: its directory (cli is src/cli/,
# pyext python/ext/).
layer_of() {
    case $1 in
    include/*) echo include ;;
    base/*) echo base ;;
    shm/*) echo shm ;;
    src/cli/*) echo cli ;;
    src/write/*) echo write ;;
    src/read/*) echo read ;;
    src/expose/*) echo expose ;;
    src/push/*) echo push ;;
    src/serve/*) echo serve ;;
    src/bench/*) echo bench ;;
    src/*) echo src ;;
    python/ext/*) echo pyext ;;
    examples/*) echo examples ;;
    *) echo other ;;
    esac
}

allowed() { # layer-of-includer layer-of-included
    case "$1:$2" in
    *:include | base:base | shm:shm | shm:base | cli:cli | pyext:pyext) return 0 ;;
    bench:bench | cli:bench) return 0 ;;
    write:write | write:shm | write:base) return 0 ;;
    read:read | read:write | read:shm | read:base) return 0 ;;
    expose:expose | expose:base) return 0 ;;
    push:push | push:read | push:base) return 0 ;;
    serve:serve | serve:read | serve:base) return 0 ;;
    src:src | src:shm | src:base) return 0 ;;
    *) return 1 ;;
    esac
}

# Drop ./ and dir/../ from a relative path.
normalize() {
    echo "$1" | awk -F/ '{
        n = 0
        for (i = 1; i <= NF; i++) {
            if ($i == "." || $i == "") continue
            if ($i == ".." && n > 0 && part[n] != "..") { n--; continue }
            part[++n] = $i
        }
        s = part[1]
        for (i = 2; i <= n; i++) s = s "/" part[i]
        print s
    }'
}

bad=0
checked=0
files=$(ls base/*.[ch] shm/*.[ch] src/*.[ch] src/*/*.[ch] python/ext/*.[ch] examples/*.[ch] 2>/dev/null)
tab=$(printf '\t')
for f in $files; do
    me=$(layer_of "$f")
    dir=$(dirname "$f")
    # "LINE:KIND NAME" for each #include, KIND " (quoted) or < (angle).
    incs=$(grep -n "^[ $tab]*#[ $tab]*include[ $tab]*[\"<]" "$f" |
        sed -e "s/^\([0-9]*\):[ $tab]*#[ $tab]*include[ $tab]*\([\"<]\)\([^\">]*\).*/\1:\2 \3/")
    [ -n "$incs" ] || continue
    while IFS= read -r inc; do
        line=${inc%%:*}
        rest=${inc#*:}
        kind=${rest%% *}
        name=${rest#* }
        checked=$((checked + 1))
        found=""
        if [ "$kind" = '"' ] && [ -f "$dir/$name" ]; then
            found=$(normalize "$dir/$name")
        elif [ -f "$name" ] && [ "${name#/}" = "$name" ]; then
            found=$(normalize "$name")
        elif [ -f "include/$name" ]; then
            found=$(normalize "include/$name")
        fi
        if [ -z "$found" ]; then
            # A system header (<...>), or one generated into the build
            # directory (src/push/ only: the protobuf messages).
            if [ "$kind" = '"' ] && [ "$me" != push ] && [ "$me" != src ]; then
                echo "$f:$line: #include \"$name\": not found under $dir/, the source root or include/"
                bad=$((bad + 1))
            fi
            continue
        fi
        them=$(layer_of "$found")
        if ! allowed "$me" "$them"; then
            if [ "$kind" = '"' ]; then shown="\"$name\""; else shown="<$name>"; fi
            echo "$f:$line: #include $shown: $found is in the layer $them, which the layer $me may not include"
            bad=$((bad + 1))
        fi
    done <<EOF
$incs
EOF
done

if [ "$bad" -gt 0 ]; then
    echo "layers: $bad include(s) reach a layer above or beside their own"
    exit 1
fi
echo "layers: $checked includes checked"
