# SPDX-License-Identifier: MIT
# tests/tap.sh - the TAP lines of the shell tests, sourced by them: numbered
# "ok N - ..." / "not ok N - ..." lines with what was expected, a helper
# that runs a command and keeps its output, and the closing
# "N passed, M failed" line.  The sourcing script sets tmp (a directory of
# its own) before calling run.

n=0
passed=0
failed=0

ok() { # ok DESC
    n=$((n + 1))
    passed=$((passed + 1))
    echo "ok $n - $1"
}

not_ok() { # not_ok DESC EXPECTED ACTUAL
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    printf '%s\n' "$2" | sed 's/^/#   expected: /'
    printf '%s\n' "$3" | sed 's/^/#   actual:   /'
}

check() { # check DESC STATUS [DETAIL]: ok when STATUS is 0
    if [ "$2" -eq 0 ]; then
        ok "$1"
    else
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $1"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
    fi
}

# Run a command; keep its stdout, stderr (trailing newlines stripped) and
# exit status in OUT, ERR and RC, and its exact stdout in $tmp/out.
run() {
    "$@" >"$tmp/out" 2>"$tmp/err"
    RC=$?
    OUT=$(cat "$tmp/out")
    ERR=$(cat "$tmp/err")
}

# The last line, and the script's status: 0 only if nothing failed.
tap_summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
