#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/fsfaults.sh - owns the filesystem faults, from the outside: a full
# filesystem at creation and after it, permission denied, an arena on a
# read-only filesystem, and a file truncated before and after a collector
# attached.  Each must give a clear error (exit status, message, code) and
# never a crash of the collector.
#
#   SHMETRICS_CLI=path/to/shmetrics sh tests/fsfaults.sh
#
# Runs as root: it mounts small tmpfs filesystems under a temporary
# directory (unmounted on exit) and runs some commands as `nobody`.  Where
# mounting or changing user is not permitted, it says so and uses a
# fallback (RLIMIT_FSIZE for a full filesystem) or skips those checks.
# The collector it starts listens on 127.0.0.1 and is stopped by its PID.
# The last line is "N passed, M failed".

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
CLI=${SHMETRICS_CLI:-$root/build/src/cli/shmetrics}
unset SHMETRICS_ARENA

tmp=$(mktemp -d) || exit 1
chmod 755 "$tmp"
mounts=""
serve_pid=""
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null
    for m in $mounts; do
        umount "$m" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

. "$here/tap.sh"

skip() {
    echo "# skipped: $1"
}

# expect_fail DESC WORDS...: the last run exited 1 and its stderr holds
# every one of WORDS.
expect_fail() {
    desc=$1
    shift
    st=0
    [ "$RC" -eq 1 ] || st=1
    for w in "$@"; do
        case "$ERR" in *"$w"*) ;; *) st=1 ;; esac
    done
    check "$desc" $st "exit $RC, stderr: $ERR"
}

mount_tmpfs() { # mount_tmpfs DIR SIZE
    mkdir -p "$1"
    if mount -t tmpfs -o "size=$2,mode=755" tmpfs "$1" 2>/dev/null; then
        mounts="$1 $mounts"
        return 0
    fi
    return 1
}

as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

http() { # http PORT PATH: prints the status, then the body
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("GET", sys.argv[2])
r = c.getresponse()
print(r.status)
print(r.read().decode("utf-8", "replace"))
EOF
}

small="--families 4 --series 8 --processes 2 --shards 4 --cells 512"

# ------------------------------------------------------- a full filesystem

if mount_tmpfs "$tmp/full" 1m; then
    run "$CLI" create --arena "$tmp/full/big"
    expect_fail "create on a full filesystem: exit 1, ENOSPC named" \
        "the filesystem holding $tmp/full/big is full" "a new arena's tables needs" "No space left on device"
    check "create on a full filesystem leaves no file behind" "$(ls -A "$tmp/full" | wc -l)"
    run "$CLI" inc --arena "$tmp/full/big" x_total
    expect_fail "a worker creating its arena on a full filesystem: exit 1, ENOSPC named" \
        "is full" "No space left on device"

    # Room for a small arena, then the filesystem fills up.  Every page a
    # writer may touch was allocated before it got the cell, and a reader
    # reads only allocated pages: nothing faults, nothing is lost.
    run "$CLI" create --arena "$tmp/full/a" $small
    check "a small arena fits" "$RC" "$ERR"
    run "$CLI" inc --arena "$tmp/full/a" x_total 3
    blocks=$(stat -c %b "$tmp/full/a")
    dd if=/dev/zero of="$tmp/full/fill" bs=4k 2>/dev/null
    run "$CLI" dump --arena "$tmp/full/a"
    check "dump on a full filesystem reads the arena: exit 0, x_total 3" \
        "$([ "$RC" -eq 0 ] && [ "$OUT" != "${OUT#*x_total 3}" ]; echo $?)" "exit $RC: $ERR"
    check "dump on a full filesystem allocated nothing (st_blocks $blocks)" \
        "$([ "$blocks" = "$(stat -c %b "$tmp/full/a")" ]; echo $?)" "now $(stat -c %b "$tmp/full/a")"
    run "$CLI" inc --arena "$tmp/full/a" x_total 1
    check "a counter whose cells exist still counts on a full filesystem" "$RC" "$ERR"
    run "$CLI" set --arena "$tmp/full/a" g 5
    expect_fail "a gauge needing a new page on a full filesystem: exit 1 (no SIGBUS), the filesystem named" \
        "the filesystem holding $tmp/full/a is full" "No space left on device"
    run "$CLI" stat --arena "$tmp/full/a"
    check "stat counts the refusal" "$([ "$OUT" != "${OUT#*by a full filesystem}" ] && \
        printf '%s\n' "$OUT" | grep -q '^refused .*([1-9][0-9]* by a full filesystem)'; echo $?)" "$OUT"
    rm -f "$tmp/full/fill"
    run "$CLI" dump --arena "$tmp/full/a"
    check "dump once there is room again: nothing was lost (x_total 4)" \
        "$([ "$RC" -eq 0 ] && [ "$OUT" != "${OUT#*x_total 4}" ]; echo $?)" "exit $RC: $ERR"
else
    skip "mounting a tmpfs is not permitted here: a full filesystem is simulated with RLIMIT_FSIZE"
    run sh -c 'trap "" XFSZ; ulimit -f 64; exec "$0" create --arena "$1"' "$CLI" "$tmp/fsize"
    expect_fail "create beyond RLIMIT_FSIZE: exit 1, the size named" "cannot size a new arena" "File too large"
fi

# ------------------------------------------------------ permission denied

if as_nobody true 2>/dev/null; then
    mkdir -p "$tmp/locked"
    chmod 755 "$tmp/locked"
    run as_nobody "$CLI" create --arena "$tmp/locked/a"
    expect_fail "create in a directory nobody may not write: exit 1, EACCES named" \
        "cannot create an arena in $tmp/locked" "Permission denied"
    run as_nobody "$CLI" inc --arena "$tmp/locked/a" x_total
    expect_fail "a worker creating its arena there: exit 1, EACCES named" "Permission denied"

    run "$CLI" create --arena "$tmp/locked/private" $small
    check "an arena is 0600 unless a mode is given" "$([ "$(stat -c %a "$tmp/locked/private")" = 600 ]; echo $?)"
    run as_nobody "$CLI" dump --arena "$tmp/locked/private"
    expect_fail "another user's 0600 arena, read: exit 1, permission denied" \
        "permission denied opening $tmp/locked/private" "Permission denied"
    run as_nobody "$CLI" inc --arena "$tmp/locked/private" x_total
    expect_fail "another user's 0600 arena, written: exit 1, permission denied" \
        "permission denied opening $tmp/locked/private"

    run "$CLI" create --arena "$tmp/locked/shared" $small --file-mode 0644
    "$CLI" inc --arena "$tmp/locked/shared" x_total 2 >/dev/null
    run as_nobody "$CLI" dump --arena "$tmp/locked/shared"
    check "an arena created with --file-mode 0644 can be read by others" \
        "$([ "$RC" -eq 0 ] && [ "$OUT" != "${OUT#*x_total 2}" ]; echo $?)" "exit $RC: $ERR"
    run as_nobody "$CLI" inc --arena "$tmp/locked/shared" x_total
    expect_fail "but not written" "permission denied opening $tmp/locked/shared"
else
    skip "cannot run commands as nobody (not root, or no setpriv): permission checks skipped"
fi

# -------------------------------------------------- a read-only filesystem

if mount_tmpfs "$tmp/ro" 4m; then
    "$CLI" create --arena "$tmp/ro/a" $small >/dev/null
    "$CLI" inc --arena "$tmp/ro/a" x_total 5 >/dev/null
    mount -o remount,ro "$tmp/ro"
    run "$CLI" inc --arena "$tmp/ro/a" x_total
    expect_fail "a worker on a read-only filesystem: exit 1, EROFS named" \
        "cannot open $tmp/ro/a for writing" "read-only filesystem" "Read-only file system"
    run "$CLI" create --arena "$tmp/ro/new"
    expect_fail "create on a read-only filesystem: exit 1, EROFS named" \
        "cannot create an arena in $tmp/ro" "Read-only file system"
    run "$CLI" dump --arena "$tmp/ro/a"
    check "a collector reads an arena on a read-only filesystem" \
        "$([ "$RC" -eq 0 ] && [ "$OUT" != "${OUT#*x_total 5}" ]; echo $?)" "exit $RC: $ERR"
else
    skip "mounting a tmpfs is not permitted here: read-only filesystem checks skipped"
fi

# ------------------------------------------------- not a file to open at all

mkdir -p "$tmp/dir.arena"
run "$CLI" inc --arena "$tmp/dir.arena" x_total
expect_fail "a directory where the arena should be, opened to write: exit 1, EISDIR named" \
    "$tmp/dir.arena is a directory, not an arena file (Is a directory)"
run "$CLI" dump --arena "$tmp/dir.arena"
expect_fail "the same, opened to read: exit 1, EISDIR named" \
    "$tmp/dir.arena is a directory, not an arena file (Is a directory)"

# ------------------------------------------------------- a truncated file

a=/dev/shm/shmetrics-fsfaults-$$
rm -f "$a"
"$CLI" create --arena "$a" $small >/dev/null
"$CLI" inc --arena "$a" x_total 7 >/dev/null
size=$(stat -c %s "$a")
cp "$a" "$tmp/saved"
truncate -s 4096 "$a"
run "$CLI" dump --arena "$a"
expect_fail "dump of a truncated arena: exit 1, both sizes named" \
    "truncated arena: the file has 4096 bytes, its header says $size" "Bad message"
cp "$tmp/saved" "$a"

"$CLI" serve --arena "$a" --listen 127.0.0.1:0 >"$tmp/serve.out" 2>"$tmp/serve.err" &
serve_pid=$!
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^serving http:\/\/127\.0\.0\.1:\([0-9]*\)\/metrics.*/\1/p' "$tmp/serve.out")
    [ -n "$port" ] && break
    sleep 0.1
done
check "serve starts" "$([ -n "$port" ]; echo $?)" "$(cat "$tmp/serve.err")"
if [ -n "$port" ]; then
    got=$(http "$port" /metrics)
    check "serve answers 200 before the truncation" "$([ "${got%%
*}" = 200 ]; echo $?)" "$got"
    truncate -s 8192 "$a"
    for i in 1 2; do
        got=$(http "$port" /metrics)
        st=0
        [ "${got%%
*}" = 500 ] || st=1
        case "$got" in *"the arena file was truncated under the reader (8192 bytes left of $size)"*) ;; *) st=1 ;; esac
        check "scrape $i after the file was truncated under serve: 500 naming the truncation" $st "$got"
    done
    got=$(http "$port" /healthz)
    check "serve still answers /healthz" "$([ "${got%%
*}" = 200 ]; echo $?)" "$got"
    check "serve is still running" "$(kill -0 "$serve_pid" 2>/dev/null; echo $?)"
    cp "$tmp/saved" "$a"
    got=$(http "$port" /metrics)
    check "the file restored, serve reads it again" \
        "$([ "${got%%
*}" = 200 ] && [ "$got" != "${got#*x_total 7}" ]; echo $?)" "$got"
    kill -TERM "$serve_pid"
    wait "$serve_pid"
    check "serve stops cleanly on SIGTERM" "$?"
    serve_pid=""
fi
rm -f "$a"

tap_summary
