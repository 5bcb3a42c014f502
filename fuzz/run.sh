#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/run.sh - runs every libFuzzer target for a bounded time on its seed
# corpus and reports what each did.  Used by `make fuzz` (60 s each by
# default) and by the smoke run of `make test` (a few seconds each).
#
#   run.sh [--seconds N] [--keep DIR] [--only TARGET] BUILD_DIR CORPUS_ROOT
#
# TARGET is arena, spec, http or negotiate (fuzz_ before it is accepted);
# another name is an error (exit 2).
#
# --seconds defaults to $FUZZ_SECONDS, else 60.
# BUILD_DIR holds the fuzz_* executables; CORPUS_ROOT/<target>/ the seeds,
# which are only read.  New inputs go to DIR/<target>/ with --keep (kept
# between runs), else to a temporary directory removed at the end.  Crash
# inputs are written to BUILD_DIR/fuzz-artifacts/.  Each fuzzer is stopped
# by its own PID if it outlives its time by a minute; what it leaves in
# /dev/shm under its PID is removed.  The last line is "N passed, M failed".
set -u

seconds="${FUZZ_SECONDS:-60}"
keep=""
only=""
while [ $# -gt 2 ]; do
    case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ $# -ne 2 ]; then
    echo "usage: run.sh [--seconds N] [--keep DIR] [--only TARGET] BUILD_DIR CORPUS_ROOT" >&2
    exit 2
fi
build="$1"
seeds="$2"
here="$(cd "$(dirname "$0")" && pwd)"
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

only="${only#fuzz_}"
case "$only" in
"" | arena | spec | http | negotiate) ;;
*)
    echo "run.sh: --only $only: no such target (arena, spec, http, negotiate)" >&2
    exit 2
    ;;
esac

passed=0
failed=0
for target in arena spec http negotiate; do
    if [ -n "$only" ] && [ "$only" != "$target" ]; then
        continue
    fi
    exe="$build/fuzz_$target"
    if [ ! -x "$exe" ]; then
        echo "fuzz_$target: not built in $build"
        failed=$((failed + 1))
        continue
    fi
    if [ -n "$keep" ]; then
        out="$keep/$target"
    else
        out="$tmp/$target"
    fi
    mkdir -p "$out"
    extra=""
    case "$target" in
    http) extra="-max_len=20000 -dict=$here/http.dict" ;;
    negotiate) extra="-max_len=512 -dict=$here/http.dict" ;;
    spec) extra="-max_len=8192" ;;
    esac
    log="$tmp/$target.log"
    nseeds=$(find "$seeds/$target" -type f | wc -l)
    # shellcheck disable=SC2086
    "$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$target-" $extra "$out" "$seeds/$target" >"$log" 2>&1 &
    pid=$!
    # The fuzzer stops itself after $seconds; past another minute it is
    # stuck, and stopped by its PID.
    waited=0
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$waited" -ge $((seconds + 60)) ]; then
            kill -9 "$pid" 2>/dev/null
        fi
        sleep 1
        waited=$((waited + 1))
    done
    wait "$pid"
    rc=$?
    rm -f /dev/shm/shmetrics-fuzz-*-"$pid"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    new=$(sed -n 's/^stat::new_units_added: *//p' "$log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "fuzz_$target: ok, ${seconds} s, ${execs:-?} runs (${rate:-?}/s), $nseeds seeds + ${new:-?} new inputs," \
            "${cov:-cov: ?} edges, peak RSS ${rss:-?} MB"
    else
        failed=$((failed + 1))
        echo "fuzz_$target: FAILED (exit $rc); the end of its log:"
        tail -60 "$log"
        echo "crash inputs, if any: $(ls "$artifacts"/"$target"-* 2>/dev/null | tr '\n' ' ')"
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
