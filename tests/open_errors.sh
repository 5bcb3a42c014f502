#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/open_errors.sh - owns the table of arena open failures: for each
# situation an arena path can be in (missing, a symbolic link, a directory,
# a FIFO, another user's file, a file others may write to, permission
# denied, bad magic, another layout version, other capacities, a truncated
# file, a full filesystem), the exact exit status and message of the
# shmetrics command, and the code and message shmetrics_open returns
# (tests/open_probe.c).  Also the way out: the opt-in of a writer to a
# foreign arena (--allow-foreign-arena, SHMETRICS_ALLOW_FOREIGN_ARENA=1),
# and the collector, which reads what the file's mode lets it read.
#
#   SHMETRICS_CLI=path/to/shmetrics SHMETRICS_OPEN_PROBE=path/to/open_probe sh tests/open_errors.sh
#
# Runs as root: arenas of another user are made as `nobody` (setpriv), a
# full filesystem is a small tmpfs mounted under a temporary directory
# (unmounted on exit).  Where that is not permitted it says so and skips
# those rows.  The last line is "N passed, M failed".

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
CLI=${SHMETRICS_CLI:-$root/build/src/cli/shmetrics}
PROBE=${SHMETRICS_OPEN_PROBE:-$root/build/tests/open_probe}
unset SHMETRICS_ARENA SHMETRICS_ALLOW_FOREIGN_ARENA
# Dumps compared below leave out the creation times of series, which differ
# from run to run (tests/cli.sh checks them).
export PROMETHEUS_DISABLE_CREATED_SERIES=true

tmp=$(mktemp -d) || exit 1
chmod 755 "$tmp"
# A directory every user may create files in, as /dev/shm.
S=$tmp/shm
mkdir "$S" && chmod 1777 "$S"
mounts=""
cleanup() {
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

as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

mount_tmpfs() { # mount_tmpfs DIR SIZE
    mkdir -p "$1"
    if mount -t tmpfs -o "size=$2,mode=755" tmpfs "$1" 2>/dev/null; then
        mounts="$1 $mounts"
        return 0
    fi
    return 1
}

# row DESC EXIT STDERR CMD...: the command exits EXIT and its stderr is
# exactly STDERR.
row() {
    desc=$1 want_rc=$2 want_err=$3
    shift 3
    run "$@"
    if [ "$RC" = "$want_rc" ] && [ "$ERR" = "$want_err" ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $want_rc, stderr: $want_err" "exit $RC, stderr: $ERR"
    fi
}

# row_like DESC EXIT PATTERN CMD...: the same, stderr matching a shell
# pattern (for a message with sizes that depend on the machine).
row_like() {
    desc=$1 want_rc=$2 want_err=$3
    shift 3
    run "$@"
    # shellcheck disable=SC2254
    case "$RC:$ERR" in
    "$want_rc":$want_err) ok "$desc" ;;
    *) not_ok "$desc" "exit $want_rc, stderr like: $want_err" "exit $RC, stderr: $ERR" ;;
    esac
}

# api DESC WANT PROBE-ARGS...: shmetrics_open prints WANT ("0", or
# "-ECODE message") through the probe.
api() {
    desc=$1 want=$2
    shift 2
    got=$("$PROBE" "$@" 2>&1)
    if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc" "$want" "$got"; fi
}

# api_as_nobody: the same, run as nobody.
api_as_nobody() {
    desc=$1 want=$2
    shift 2
    got=$(as_nobody "$PROBE" "$@" 2>&1)
    if [ "$got" = "$want" ]; then ok "$desc"; else not_ok "$desc" "$want" "$got"; fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "$2" "$3"; fi
}

# user_of FILE: "uid N (name)" as the messages name a file's owner.
user_of() {
    stat -c 'uid %u (%U)' "$1"
}

small="--families 4 --series 8 --processes 2 --shards 4 --cells 512"
me="uid $(id -u) ($(id -un))"
hint="to write to it anyway, opt in with the open flag SHMETRICS_OPEN_ALLOW_FOREIGN (shmetrics --allow-foreign-arena, Python allow_foreign=True) or the environment variable SHMETRICS_ALLOW_FOREIGN_ARENA=1"
open_fail="shmetrics: opening the arena:"

# -------------------------------------------------------------- missing

P=$S/missing
row "missing, dump: exit 1, no arena" 1 "$open_fail no arena at $P (No such file or directory)" \
    "$CLI" dump --arena "$P"
row "missing, reset (writes, never creates): exit 1, no arena" 1 \
    "$open_fail no arena at $P (No such file or directory)" "$CLI" reset --arena "$P"
api "missing, read-only: -ENOENT" "-ENOENT no arena at $P" "$P" ro
api "missing, read-write without create: -ENOENT" "-ENOENT no arena at $P" "$P" rw

# ------------------------------------------------------- symbolic links

P=$S/target
"$CLI" create --arena "$P" $small >/dev/null
"$CLI" inc --arena "$P" x_total 3
L=$S/link
ln -s "$P" "$L"
link_msg="$L is a symbolic link: a writer does not follow one at the arena's path (in a directory others may write to, such as /dev/shm, a link can point a writer at another file); give the path of the arena file itself"
row "symbolic link, inc: exit 1, the link named" 1 "$open_fail $link_msg (Too many levels of symbolic links)" \
    "$CLI" inc --arena "$L" x_total
row "symbolic link, inc --allow-foreign-arena: still refused" 1 \
    "$open_fail $link_msg (Too many levels of symbolic links)" "$CLI" inc --allow-foreign-arena --arena "$L" x_total
row "symbolic link, set: exit 1" 1 "$open_fail $link_msg (Too many levels of symbolic links)" \
    "$CLI" set --arena "$L" g 1
row "symbolic link, observe: exit 1" 1 "$open_fail $link_msg (Too many levels of symbolic links)" \
    "$CLI" observe --arena "$L" h 1
row "symbolic link, reset: exit 1" 1 "$open_fail $link_msg (Too many levels of symbolic links)" \
    "$CLI" reset --arena "$L"
row "symbolic link, dump: a collector follows it (exit 0)" 0 "" "$CLI" dump --arena "$L"
check_eq "symbolic link, dump: the target's metrics" "# HELP x_total 
# TYPE x_total counter
x_total 3" "$OUT"
api "symbolic link, read-write: -ELOOP" "-ELOOP $link_msg" "$L" create
api "symbolic link, read-write with the flag: -ELOOP" "-ELOOP $link_msg" "$L" create foreign
api "symbolic link, read-only: opens" "0" "$L" ro

D=$S/dangling
ln -s "$S/nowhere" "$D"
dangling_msg="$D is a symbolic link: a writer does not follow one at the arena's path (in a directory others may write to, such as /dev/shm, a link can point a writer at another file); give the path of the arena file itself"
row "dangling symbolic link, inc: exit 1, the link named" 1 \
    "$open_fail $dangling_msg (Too many levels of symbolic links)" "$CLI" inc --arena "$D" x_total
check_eq "dangling symbolic link, inc: its target was not created" "absent" \
    "$([ -e "$S/nowhere" ] && echo present || echo absent)"
row "dangling symbolic link, dump: exit 1, named" 1 \
    "$open_fail no arena at $D: it is a symbolic link to a file that does not exist (No such file or directory)" \
    "$CLI" dump --arena "$D"
api "dangling symbolic link, read-only: -ENOENT" \
    "-ENOENT no arena at $D: it is a symbolic link to a file that does not exist" "$D" ro

row "symbolic link to an arena, create: exit 0, a warning that writers do not follow it" 0 \
    "shmetrics: warning: $L is a symbolic link: writers do not follow one (give them the path of the file itself)" \
    "$CLI" create --arena "$L"

# A loop of links in a directory of the path: not the arena's own link.
ln -s "$S/loop-b" "$S/loop-a"
ln -s "$S/loop-a" "$S/loop-b"
P=$S/loop-a/arena
row "a loop of links above the arena, inc: exit 1, the system's reason" 1 \
    "$open_fail cannot open $P to write: Too many levels of symbolic links (Too many levels of symbolic links)" \
    "$CLI" inc --arena "$P" x_total
api "a loop of links above the arena, read-only: -ELOOP" \
    "-ELOOP cannot open $P to read: Too many levels of symbolic links" "$P" ro

# A name longer than a directory entry may be.
long=$(printf '%0300d' 0)
P=$S/$long
row "a file name over 255 bytes, inc: exit 1, named" 1 \
    "$open_fail cannot open $P to write: File name too long (File name too long)" "$CLI" inc --arena "$P" x_total
api "a file name over 255 bytes, read-only: -ENAMETOOLONG" \
    "-ENAMETOOLONG cannot open $P to read: File name too long" "$P" ro

# ------------------------------------------------- not a file at all

P=$S/dir
mkdir "$P"
row "directory, inc: exit 1, EISDIR" 1 "$open_fail $P is a directory, not an arena file (Is a directory)" \
    "$CLI" inc --arena "$P" x_total
row "directory, dump: exit 1, EISDIR" 1 "$open_fail $P is a directory, not an arena file (Is a directory)" \
    "$CLI" dump --arena "$P"
api "directory, read-write: -EISDIR" "-EISDIR $P is a directory, not an arena file" "$P" create
api "directory, read-only: -EISDIR" "-EISDIR $P is a directory, not an arena file" "$P" ro

P=$S/fifo
mkfifo "$P"
row "FIFO, dump: exit 1 at once (the open does not block)" 1 \
    "$open_fail $P is a FIFO, not an arena file (Bad message)" timeout 20 "$CLI" dump --arena "$P"
row "FIFO, inc: exit 1" 1 "$open_fail $P is a FIFO, not an arena file (Bad message)" \
    timeout 20 "$CLI" inc --arena "$P" x_total
api "FIFO, read-only: -EBADMSG" "-EBADMSG $P is a FIFO, not an arena file" "$P" ro

# ------------------------------------------ not an arena, or a damaged one

P=$S/junk
head -c 8192 /dev/zero | tr '\0' x >"$P"
row "bad magic, dump: exit 1" 1 "$open_fail $P is not a shmetrics arena (bad magic) (Bad message)" \
    "$CLI" dump --arena "$P"
row "bad magic, inc: exit 1 (the file is left alone)" 1 \
    "$open_fail $P is not a shmetrics arena (bad magic) (Bad message)" "$CLI" inc --arena "$P" x_total
api "bad magic: -EBADMSG" "-EBADMSG $P is not a shmetrics arena (bad magic)" "$P" create

good=$S/good
"$CLI" create --arena "$good" $small >/dev/null
size=$(stat -c %s "$good")

P=$S/v2
cp "$good" "$P"
printf '\002\000\000\000' | dd of="$P" bs=1 seek=8 conv=notrunc 2>/dev/null
v2="arena layout version 2 was made by an older shmetrics; this library reads version 5: remove the file (rm, or the older release's shmetrics reset --unlink) and create the arena again"
row "layout version 2, dump: exit 1, what to do" 1 "$open_fail $v2 (Protocol error)" "$CLI" dump --arena "$P"
row "layout version 2, inc: exit 1" 1 "$open_fail $v2 (Protocol error)" "$CLI" inc --arena "$P" x_total
api "layout version 2: -EPROTO" "-EPROTO $v2" "$P" ro

P=$S/v3
cp "$good" "$P"
printf '\003\000\000\000' | dd of="$P" bs=1 seek=8 conv=notrunc 2>/dev/null
v3="arena layout version 3 was made by an older shmetrics; this library reads version 5: remove the file (rm, or the older release's shmetrics reset --unlink) and create the arena again"
row "layout version 3, dump: exit 1, what to do" 1 "$open_fail $v3 (Protocol error)" "$CLI" dump --arena "$P"
row "layout version 3, inc: exit 1" 1 "$open_fail $v3 (Protocol error)" "$CLI" inc --arena "$P" x_total
api "layout version 3: -EPROTO" "-EPROTO $v3" "$P" ro
api "layout version 3, create: -EPROTO (the file is left alone)" "-EPROTO $v3" "$P" create

P=$S/v4
cp "$good" "$P"
printf '\004\000\000\000' | dd of="$P" bs=1 seek=8 conv=notrunc 2>/dev/null
v4="arena layout version 4 was made by an older shmetrics; this library reads version 5: remove the file (rm, or the older release's shmetrics reset --unlink) and create the arena again"
row "layout version 4, dump: exit 1, what to do" 1 "$open_fail $v4 (Protocol error)" "$CLI" dump --arena "$P"
row "layout version 4, inc: exit 1" 1 "$open_fail $v4 (Protocol error)" "$CLI" inc --arena "$P" x_total
api "layout version 4: -EPROTO" "-EPROTO $v4" "$P" ro
api "layout version 4, create: -EPROTO (the file is left alone)" "-EPROTO $v4" "$P" create

P=$S/v6
cp "$good" "$P"
printf '\006\000\000\000' | dd of="$P" bs=1 seek=8 conv=notrunc 2>/dev/null
v6="arena layout version 6 was made by a newer shmetrics; this library reads version 5"
row "layout version 6, dump: exit 1" 1 "$open_fail $v6 (Protocol error)" "$CLI" dump --arena "$P"
api "layout version 6: -EPROTO" "-EPROTO $v6" "$P" create

mismatch="capacity mismatch: the arena has families=4, 8 was asked for"
row "other capacities, create: exit 1, both named" 1 \
    "shmetrics: an arena exists but does not match: $mismatch (Invalid argument)" \
    "$CLI" create --arena "$good" --families 8
api "other capacities, read-only: -EINVAL" "-EINVAL $mismatch" "$good" ro families=8
api "other capacities, read-write: -EINVAL" "-EINVAL $mismatch" "$good" create families=8

P=$S/truncated
cp "$good" "$P"
truncate -s 4096 "$P"
row "truncated, dump: exit 1, both sizes" 1 \
    "$open_fail truncated arena: the file has 4096 bytes, its header says $size (Bad message)" \
    "$CLI" dump --arena "$P"
api "truncated: -EBADMSG" "-EBADMSG truncated arena: the file has 4096 bytes, its header says $size" "$P" create
P=$S/short
printf 'SHMETRIC' >"$P"
row "shorter than a header, dump: exit 1" 1 \
    "$open_fail truncated arena: the file has 8 bytes, less than a header (Bad message)" "$CLI" dump --arena "$P"
api "shorter than a header: -EBADMSG" "-EBADMSG truncated arena: the file has 8 bytes, less than a header" "$P" ro

# ------------------------------------ an own arena others may write to

P=$S/own666
"$CLI" create --arena "$P" $small >/dev/null
chmod 0666 "$P"
world="refusing to write to $P: its mode 0666 lets every user write to it (it belongs to this user, $me), so any user could alter its metrics; $hint"
row "own arena, mode 0666, inc: exit 1, EPERM" 1 "$open_fail $world (Operation not permitted)" \
    "$CLI" inc --arena "$P" x_total
row "own arena, mode 0666, set: exit 1" 1 "$open_fail $world (Operation not permitted)" "$CLI" set --arena "$P" g 1
row "own arena, mode 0666, observe: exit 1" 1 "$open_fail $world (Operation not permitted)" \
    "$CLI" observe --arena "$P" h 1
row "own arena, mode 0666, reset: exit 1" 1 "$open_fail $world (Operation not permitted)" \
    "$CLI" reset --arena "$P"
row "own arena, mode 0666, SHMETRICS_ALLOW_FOREIGN_ARENA=yes: no opt-in (only 1 is)" 1 \
    "$open_fail $world (Operation not permitted)" env SHMETRICS_ALLOW_FOREIGN_ARENA=yes "$CLI" inc --arena "$P" x_total
row "own arena, mode 0666, dump: a collector reads it" 0 "" "$CLI" dump --arena "$P"
check_eq "own arena, mode 0666: nothing was written by the refused writers" "" "$OUT"
row "own arena, mode 0666, inc --allow-foreign-arena: exit 0" 0 "" \
    "$CLI" inc --allow-foreign-arena --arena "$P" x_total
row "own arena, mode 0666, SHMETRICS_ALLOW_FOREIGN_ARENA=1 inc: exit 0" 0 "" \
    env SHMETRICS_ALLOW_FOREIGN_ARENA=1 "$CLI" inc --arena "$P" x_total
row "own arena, mode 0666, reset --allow-foreign-arena: exit 0" 0 "" \
    "$CLI" reset --allow-foreign-arena --arena "$P"
api "own arena, mode 0666, read-write: -EPERM" "-EPERM $world" "$P" rw
api "own arena, mode 0666, with the flag: opens" "0" "$P" rw foreign
api "own arena, mode 0666, read-only: opens" "0" "$P" ro
api "own arena, mode 0666, a file_mode of 0666: opens" "0" "$P" rw file_mode=0666

P=$S/own660
"$CLI" create --arena "$P" $small --file-mode 0660 >/dev/null
check_eq "create --file-mode 0660: the creator made it (mode 660)" 660 "$(stat -c %a "$P")"
group="refusing to write to $P: its mode 0660 lets its group, $(stat -c 'gid %g (%G)' "$P"), write to it (it belongs to this user, $me), so the group's users could alter its metrics; $hint"
row "own arena, mode 0660, inc: exit 1, the group named" 1 "$open_fail $group (Operation not permitted)" \
    "$CLI" inc --arena "$P" x_total
row "own arena, mode 0660, create again: exit 0, a warning that writers refuse it" 0 \
    "shmetrics: warning: $P (uid $(id -u), mode 0660): users other than its owner may write to it; writers refuse it unless they opt in (--allow-foreign-arena, SHMETRICS_ALLOW_FOREIGN_ARENA=1)" \
    "$CLI" create --arena "$P" $small
row "own arena, mode 0660, inc --allow-foreign-arena: exit 0" 0 "" \
    "$CLI" inc --allow-foreign-arena --arena "$P" x_total
api "own arena, mode 0660, read-write: -EPERM" "-EPERM $group" "$P" rw
api "own arena, mode 0660, a file_mode of 0660 accepts it" "0" "$P" create file_mode=0660
api "own arena, mode 0660, a file_mode of 0640 does not" "-EPERM $group" "$P" create file_mode=0640

run "$CLI" dump --arena "$P" --allow-foreign-arena
check_eq "a reader's verb has no --allow-foreign-arena: exit 2, usage" \
    "2 shmetrics dump: --allow-foreign-arena needs a value, or is unknown" "$RC $(printf '%s\n' "$ERR" | head -1)"

# --------------------------------------------- another user's arena

if [ "$(id -u)" = 0 ] && as_nobody true 2>/dev/null; then
    nobody="uid $(id -u nobody) (nobody)"
    for mode in 0644 0666 0600; do
        P=$S/nobody-$mode
        as_nobody "$CLI" create --arena "$P" $small --file-mode $mode >/dev/null
        as_nobody "$CLI" inc --allow-foreign-arena --arena "$P" nobodys_total 2
        check_eq "nobody's arena, mode $mode: made by nobody" "$nobody $mode" "$(user_of "$P") 0$(stat -c %a "$P")"
        foreign="refusing to write to $P: it belongs to $nobody, not to this user ($me), mode $mode; another user may have made it to read or alter this process's metrics; $hint"
        row "nobody's arena, mode $mode, inc as root: exit 1, EPERM, owner and mode named" 1 \
            "$open_fail $foreign (Operation not permitted)" "$CLI" inc --arena "$P" root_total
        row "nobody's arena, mode $mode, set as root: exit 1" 1 "$open_fail $foreign (Operation not permitted)" \
            "$CLI" set --arena "$P" g 1
        row "nobody's arena, mode $mode, observe as root: exit 1" 1 \
            "$open_fail $foreign (Operation not permitted)" "$CLI" observe --arena "$P" h 1
        row "nobody's arena, mode $mode, reset as root: exit 1" 1 "$open_fail $foreign (Operation not permitted)" \
            "$CLI" reset --arena "$P"
        row "nobody's arena, mode $mode, dump as root: exit 0" 0 "" "$CLI" dump --arena "$P"
        check_eq "nobody's arena, mode $mode: the refused writers wrote nothing" "# HELP nobodys_total 
# TYPE nobodys_total counter
nobodys_total 2" "$OUT"
        api "nobody's arena, mode $mode, read-write as root: -EPERM" "-EPERM $foreign" "$P" create
        api "nobody's arena, mode $mode, a file_mode of 0666 does not cover another owner" "-EPERM $foreign" \
            "$P" create file_mode=0666
        api "nobody's arena, mode $mode, read-only as root: opens" "0" "$P" ro
        api "nobody's arena, mode $mode, with the flag: opens" "0" "$P" rw foreign
        row "nobody's arena, mode $mode, inc --allow-foreign-arena as root: exit 0" 0 "" \
            "$CLI" inc --allow-foreign-arena --arena "$P" root_total
        row "nobody's arena, mode $mode, SHMETRICS_ALLOW_FOREIGN_ARENA=1 set as root: exit 0" 0 "" \
            env SHMETRICS_ALLOW_FOREIGN_ARENA=1 "$CLI" set --arena "$P" g 5
        run "$CLI" dump --arena "$P"
        case "$OUT" in
        *"root_total 1"*"g 5"*) ok "nobody's arena, mode $mode: the opted-in writes are there" ;;
        *) not_ok "nobody's arena, mode $mode: the opted-in writes are there" "root_total 1 ... g 5" "$OUT" ;;
        esac
    done

    # A worker's arena made first by another user, under the default mode.
    P=$S/precreated
    as_nobody "$CLI" inc --arena "$P" x_total
    foreign="refusing to write to $P: it belongs to $nobody, not to this user ($me), mode 0600; another user may have made it to read or alter this process's metrics; $hint"
    row "an arena nobody made first by writing to it, inc as root: exit 1" 1 \
        "$open_fail $foreign (Operation not permitted)" "$CLI" inc --arena "$P" x_total
    row "the same, create as root: exit 0, a warning that writers refuse it" 0 \
        "shmetrics: warning: $P (uid $(id -u nobody), mode 0600): it belongs to another user; writers refuse it unless they opt in (--allow-foreign-arena, SHMETRICS_ALLOW_FOREIGN_ARENA=1)" \
        "$CLI" create --arena "$P"

    # The reverse: nobody and root's arenas.
    P=$S/root600
    "$CLI" create --arena "$P" $small >/dev/null
    row "root's 0600 arena, inc as nobody: exit 1, permission denied, owner and mode named" 1 \
        "$open_fail permission denied opening $P to write: it belongs to uid 0 (root) and has mode 0600 (Permission denied)" \
        as_nobody "$CLI" inc --arena "$P" x_total
    row "root's 0600 arena, inc --allow-foreign-arena as nobody: still permission denied" 1 \
        "$open_fail permission denied opening $P to write: it belongs to uid 0 (root) and has mode 0600 (Permission denied)" \
        as_nobody "$CLI" inc --allow-foreign-arena --arena "$P" x_total
    row "root's 0600 arena, dump as nobody: exit 1, permission denied" 1 \
        "$open_fail permission denied opening $P to read: it belongs to uid 0 (root) and has mode 0600 (Permission denied)" \
        as_nobody "$CLI" dump --arena "$P"
    api_as_nobody "root's 0600 arena, read-write as nobody: -EACCES" \
        "-EACCES permission denied opening $P to write: it belongs to uid 0 (root) and has mode 0600" "$P" create
    api_as_nobody "root's 0600 arena, read-only as nobody: -EACCES" \
        "-EACCES permission denied opening $P to read: it belongs to uid 0 (root) and has mode 0600" "$P" ro

    P=$S/root666
    "$CLI" create --arena "$P" $small --file-mode 0666 >/dev/null
    foreign="refusing to write to $P: it belongs to uid 0 (root), not to this user ($nobody), mode 0666; another user may have made it to read or alter this process's metrics; $hint"
    row "root's 0666 arena, inc as nobody: exit 1, EPERM (the mode would let it)" 1 \
        "$open_fail $foreign (Operation not permitted)" as_nobody "$CLI" inc --arena "$P" x_total
    api_as_nobody "root's 0666 arena, read-write as nobody: -EPERM" "-EPERM $foreign" "$P" rw
    row "root's 0666 arena, inc --allow-foreign-arena as nobody: exit 0" 0 "" \
        as_nobody "$CLI" inc --allow-foreign-arena --arena "$P" x_total

    # A directory on the path that the user nobody cannot search.
    mkdir "$tmp/closed"
    chmod 700 "$tmp/closed"
    "$CLI" create --arena "$tmp/closed/a" $small >/dev/null
    row "an arena in a directory the user nobody cannot search, dump as nobody: exit 1" 1 \
        "$open_fail permission denied opening $tmp/closed/a to read (a directory on its path may not be searched) (Permission denied)" \
        as_nobody "$CLI" dump --arena "$tmp/closed/a"
    api_as_nobody "the same, read-write: -EACCES" \
        "-EACCES permission denied opening $tmp/closed/a to write (a directory on its path may not be searched)" \
        "$tmp/closed/a" create

    # Creation refused by the directory's permissions.
    mkdir "$tmp/locked"
    chmod 755 "$tmp/locked"
    row "create in a directory nobody may not write to: exit 1, EACCES" 1 \
        "shmetrics: creating the arena: cannot create an arena in $tmp/locked: Permission denied (Permission denied)" \
        as_nobody "$CLI" create --arena "$tmp/locked/a"
    api_as_nobody "the same, shmetrics_open: -EACCES" \
        "-EACCES cannot create an arena in $tmp/locked: Permission denied" "$tmp/locked/a" create
else
    skip "not root, or no setpriv: the rows of another user's arena are skipped"
fi

# ----------------------------------------------- a full filesystem

if mount_tmpfs "$tmp/full" 1m; then
    P=$tmp/full/big
    row_like "full filesystem at creation, create: exit 1, ENOSPC and the sizes" 1 \
        "shmetrics: creating the arena: the filesystem holding $P is full: a new arena's tables needs [1-9]* bytes, [0-9]* are free (No space left on device)" \
        "$CLI" create --arena "$P"
    row_like "full filesystem at creation, inc (creates): exit 1" 1 \
        "$open_fail the filesystem holding $P is full: a new arena's tables needs [1-9]* bytes, [0-9]* are free (No space left on device)" \
        "$CLI" inc --arena "$P" x_total
    got=$("$PROBE" "$P" create)
    case "$got" in
    "-ENOSPC the filesystem holding $P is full: a new arena's tables needs "[1-9]*" bytes, "[0-9]*" are free")
        ok "full filesystem at creation: -ENOSPC" ;;
    *) not_ok "full filesystem at creation: -ENOSPC" "-ENOSPC the filesystem holding $P is full: ..." "$got" ;;
    esac
    check_eq "full filesystem at creation: no file left behind" "" "$(ls -A "$tmp/full")"
else
    skip "mounting a tmpfs is not permitted here: the full filesystem rows are skipped"
fi

tap_summary
