#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/cli.sh - tests the shmetrics command from the outside, the way a
# user runs it: arguments in, exact stdout, stderr and exit status out.
#
#   SHMETRICS_CLI=path/to/shmetrics sh tests/cli.sh
#
# Without SHMETRICS_CLI it uses build/src/cli/shmetrics under the repository
# root.  Every arena it makes is under /dev/shm, named after this run's pid,
# and removed on exit.  Each check prints "ok N - ..." or "not ok N - ...";
# the last line is "N passed, M failed" and the exit status is 0 only if
# nothing failed.

set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
CLI=${SHMETRICS_CLI:-$root/build/src/cli/shmetrics}

# The arena is always given explicitly below; one from the caller's
# environment must not leak into the checks.
unset SHMETRICS_ARENA
# OpenMetrics dumps leave out the creation times of series (they differ
# from run to run), but in the checks of them ("created", below), which
# unset this.
export PROMETHEUS_DISABLE_CREATED_SERIES=true

prefix=shmetrics-cli-test-$$
base=/dev/shm/$prefix
tmp=$(mktemp -d) || exit 1
nl='
'

cleanup() {
    rm -f "$base"-*
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ helpers

. "$here/tap.sh"

cli() {
    run "$CLI" "$@"
}

# cli_env ARENA ARGS...: run the command with SHMETRICS_ARENA=ARENA
cli_env() {
    arena=$1
    shift
    run env SHMETRICS_ARENA="$arena" "$CLI" "$@"
}

# Lines FROM..TO (or just FROM) of the last run's stdout
lines() {
    sed -n "$1,${2:-$1}p" "$tmp/out"
}

# Like cli, and PID gets the process id the command ran as.
cli_pid() {
    run sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/pid" "$CLI" "$@"
    PID=$(cat "$tmp/pid")
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "$2" "$3"; fi
}

# check_rc DESC EXPECTED: the exit status of the last run
check_rc() {
    if [ "$RC" = "$2" ]; then ok "$1"; else not_ok "$1" "exit status $2" "exit status $RC; stderr: $ERR"; fi
}

# check_contains DESC NEEDLE HAYSTACK
check_contains() {
    case $3 in
    *"$2"*) ok "$1" ;;
    *) not_ok "$1" "text containing: $2" "$3" ;;
    esac
}

# check_out DESC: the exact stdout of the last run equals stdin, byte for byte
check_out() {
    cat >"$tmp/want"
    if cmp -s "$tmp/want" "$tmp/out"; then ok "$1"; else not_ok "$1" "$(cat "$tmp/want")" "$OUT"; fi
}

# check_true DESC COMMAND...: the command succeeds
check_true() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc" "true: $*" "false"; fi
}

# check_usage_error DESC NEEDLE: exit 2, nothing on stdout, NEEDLE on stderr
check_usage_error() {
    check_rc "$1: exit 2" 2
    check_eq "$1: nothing on stdout" "" "$OUT"
    check_contains "$1: says why" "$2" "$ERR"
}

# check_failure DESC NEEDLE: exit 1, nothing on stdout, NEEDLE on stderr
check_failure() {
    check_rc "$1: exit 1" 1
    check_eq "$1: nothing on stdout" "" "$OUT"
    check_contains "$1: says why" "$2" "$ERR"
}

# Does TEXT match the basic regular expression RE (anchored at the start)?
matches() {
    expr "x$1" : "x$2" >/dev/null
}

# Is the UTC time T (2024-01-02T03:04:05Z) within [FROM, TO]?  ISO 8601 in
# UTC sorts as text.
time_between() {
    expr "x$1" \>= "x$2" >/dev/null && expr "x$1" \<= "x$3" >/dev/null
}

utc_now() {
    date -u +%Y-%m-%dT%H:%M:%SZ
}

if [ ! -x "$CLI" ]; then
    not_ok "the shmetrics command is at $CLI" "an executable file" "none"
    echo "0 passed, 1 failed"
    exit 1
fi

# -------------------------------------------------------------- top level

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -n 1)

cli --version
check_rc "--version: exit 0" 0
check_eq "--version: prints the version" "shmetrics $version" "$OUT"

cli --help
check_rc "--help: exit 0" 0
check_eq "--help: usage on stdout" "usage: shmetrics VERB [OPTIONS] ..." "$(lines 1)"
check_eq "--help: lists the thirteen verbs" "  create   create an arena with given capacities
  inc      add to a counter series (registering the counter on first use)
  set      set a gauge series (registering the gauge on first use)
  observe  record one observation in a histogram or summary series
  info     set the value set of an info metric (registering it on first use)
  dump     print every metric (Prometheus text, OpenMetrics, JSON or protobuf)
  stat     print an arena's capacities, usage and processes
  serve    serve the arena over HTTP for Prometheus to scrape
  push     push the arena to StatsD, OpenTelemetry (OTLP) or remote-write
  reset    set every value of an arena to zero, or remove the arena
  demo     run simulated inference workers and a collector (vLLM metrics)
  top      a live view of an arena: values, rates, percentiles
  bench    measure the hot path, or the cost of scraping an arena, on this machine" "$(grep '^  [a-z]' "$tmp/out")"
check_contains "--help: names the exit statuses" "Exit status: 0 success, 1 failure, 2 wrong usage." "$OUT"
check_eq "--help: nothing on stderr" "" "$ERR"
help_text=$OUT

cli help
check_rc "help: exit 0" 0
check_eq "help: same text as --help" "$help_text" "$OUT"

cli
check_rc "no verb: exit 2" 2
check_eq "no verb: nothing on stdout" "" "$OUT"
check_eq "no verb: usage on stderr" "usage: shmetrics VERB [OPTIONS] ..." "$(sed -n 1p "$tmp/err")"

cli frobnicate
check_rc "unknown verb: exit 2" 2
check_eq "unknown verb: nothing on stdout" "" "$OUT"
check_eq "unknown verb: named on stderr" "shmetrics: unknown verb 'frobnicate'" "$(sed -n 1p "$tmp/err")"

for verb in create inc set observe dump stat serve push reset demo; do
    cli "$verb" --arena "$base-help" --help
    check_rc "$verb --help: exit 0" 0
    check_eq "$verb --help: usage on stdout" "usage: shmetrics $verb " "$(lines 1 | cut -c 1-$((18 + ${#verb})))"
    check_eq "$verb --help: nothing on stderr" "" "$ERR"
    check_true "$verb --help: no arena made" test ! -e "$base-help"
done

cli inc -h
check_rc "inc -h: exit 0" 0
check_eq "inc -h: usage on stdout" "usage: shmetrics inc [--arena PATH] [--allow-foreign-arena] [--help TEXT] [--unit UNIT]
                     [--exemplar LABEL=VALUE,...] NAME [LABEL=VALUE ...] [AMOUNT]" \
    "$(lines 1 2)"

# ------------------------------------------------------------------ create

A=$base-create
cli create --arena "$A" --families 8 --series 32 --processes 4 --shards 2
check_rc "create: exit 0" 0
size=$(stat -c %s "$A" 2>/dev/null)
check_eq "create: reports the capacities and size" \
    "created $A: families=8 series=32 processes=4 shards=2 bytes=$size" "$(printf '%s\n' "$OUT" | sed -n 1p)"
check_eq "create: says what the arena costs at most, and now" \
    "memory: at most 32.3 MiB (the file's size), $(($(stat -c %b "$A") * 512 / 1024)).0 KiB allocated now" \
    "$(printf '%s\n' "$OUT" | sed -n '2,$p')"
check_eq "create: nothing on stderr" "" "$ERR"
check_eq "create: file mode 0600 by default" 600 "$(stat -c %a "$A")"

cli create --arena "$A" --families 8 --series 32 --processes 4 --shards 2
check_rc "create again, same capacities: exit 0" 0
check_eq "create again, same capacities: left alone" \
    "exists $A: families=8 series=32 processes=4 shards=2 (left alone)" "$OUT"

cli create --arena "$A"
check_rc "create again, no capacities: exit 0" 0
check_eq "create again, no capacities: left alone" \
    "exists $A: families=8 series=32 processes=4 shards=2 (left alone)" "$OUT"

cli create --arena "$A" --families 16
check_failure "create again, other --families" "capacity mismatch"
check_eq "create again, other --families: arena untouched" "$size" "$(stat -c %s "$A")"

cli create --arena "$A" --shards 4
check_failure "create again, other --shards" "capacity mismatch"

cli create --arena "$A" --gauges 2000
check_failure "create again, other --gauges" "capacity mismatch: the arena has gauges=1024, 2048 was asked for"

A=$base-mode
cli create --arena "$A" --file-mode 0640 --families 4 --series 8 --processes 2 --shards 1
check_rc "create --file-mode 0640: exit 0" 0
check_eq "create --file-mode 0640: file mode" 640 "$(stat -c %a "$A")"
rm -f "$A"
(umask 077 && "$CLI" create --arena "$A" --file-mode 0644 >/dev/null 2>&1)
check_eq "create --file-mode 0644 under umask 077: file mode" 644 "$(stat -c %a "$A" 2>/dev/null)"

cpus=$(getconf _NPROCESSORS_CONF)
shards=1
while [ "$shards" -lt "$cpus" ]; do shards=$((shards * 2)); done
cli create --arena "$prefix-defaults"
check_rc "create with a bare name: exit 0" 0
size=$(stat -c %s "$base-defaults" 2>/dev/null)
check_eq "create with a bare name: lives under /dev/shm, default capacities" \
    "created $base-defaults: families=1024 series=16384 processes=256 shards=$shards bytes=$size" \
    "$(printf '%s\n' "$OUT" | sed -n 1p)"
check_eq "create with default capacities: at most 50.6 MiB, whatever the CPU count" 53047296 "$size"
check_true "create with default capacities: the cost line" matches "$(printf '%s\n' "$OUT" | sed -n 2p)" \
    "memory: at most 50.6 MiB (the file's size), [0-9.]* MiB allocated now\$"
rm -f "$base-defaults"

A=$base-bad
cli create --arena "$A" --shards 3
check_failure "create --shards 3" "power of two"
check_true "create --shards 3: no arena left behind" test ! -e "$A"

for bad in "--series 0" "--series abc" "--families -5" "--processes 65537" "--shards 8192" \
    "--families 16777217" "--series 1.5" "--series ''"; do
    eval "set -- $bad"
    cli create --arena "$A" "$@"
    check_usage_error "create $bad" "$1 takes a whole number from 1 to"
    check_true "create $bad: no arena made" test ! -e "$A"
done

cli create --arena "$A" --file-mode 999
check_usage_error "create --file-mode 999" "--file-mode takes an octal permission mode, not '999'"
cli create --arena "$A" --frobnicate 1
check_usage_error "create --frobnicate 1" "unknown option --frobnicate"
cli create --arena "$A" --families
check_usage_error "create --families without a value" "--families needs a value"
cli create --arena "$A" extra
check_usage_error "create with a stray argument" "unexpected argument extra"
check_true "create usage errors: no arena made" test ! -e "$A"

# ------------------------------------------------------------------ inc

A=$base-inc
cli inc --arena "$A" --help "Requests served." http_requests_total method=GET code=200
check_rc "inc: first use creates the arena and registers: exit 0" 0
check_eq "inc: nothing on stdout" "" "$OUT"
check_eq "inc: nothing on stderr" "" "$ERR"
check_eq "inc: the arena file exists" 600 "$(stat -c %a "$A" 2>/dev/null)"

cli inc --arena "$A" http_requests_total method=GET code=200 5
check_rc "inc by 5: exit 0" 0
cli inc --arena "$A" --help "Another text." http_requests_total method=GET code=200 2.5
check_rc "inc by 2.5: exit 0" 0
cli inc --arena "$A" http_requests_total method=POST code=500 0
check_rc "inc by 0: exit 0" 0
cli inc --arena "$A" --help-text "Bytes received." bytes_total 16000000
check_rc "inc --help-text, by 16000000: exit 0" 0
cli inc --arena "$A" --help "Prompt tokens." vllm:prompt_tokens_total model=llama 1200
check_rc "inc with a colon in the name: exit 0" 0
cli inc --arena "$A" plain
check_rc "inc a counter without _total and without help: exit 0" 0
cli inc --arena "$A" plain 0.25
cli inc --arena "$A" plain 1e3

for amount in -1 -0.5 nan NaN inf -inf +Inf 1e400 abc 5x ""; do
    cli inc --arena "$A" http_requests_total method=GET code=200 "$amount"
    check_usage_error "inc by '$amount'" "the amount must be a finite number >= 0, not '$amount'"
done

cli inc --arena "$A" http_requests_total code=200 method=GET
check_failure "inc with the label names in another order" \
    "http_requests is already registered with label names (method,code), not (code,method)"
cli inc --arena "$A" http_requests_total method=GET
check_failure "inc with fewer label names" "already registered with label names (method,code), not (method)"

cli set --arena "$A" --help "A gauge." temperature 20
check_rc "set a gauge in the counter arena: exit 0" 0
cli inc --arena "$A" temperature
check_failure "inc on a gauge" "temperature is already registered as a gauge"

cli inc --arena "$A" 9lives
check_failure "inc with an invalid metric name" "invalid metric name \"9lives\""
cli inc --arena "$A" "bad-name"
check_failure "inc with a dash in the name" "invalid metric name \"bad-name\""
cli inc --arena "$A" ""
check_failure "inc with an empty name" "metric name is empty"
cli inc --arena "$A" reserved_total __secret=1
check_failure "inc with a label name starting with __" "label name \"__secret\""
cli inc --arena "$A" dashed_total a-b=1
check_failure "inc with an invalid label name" "invalid label name \"a-b\""
cli inc --arena "$A" twice_total a=1 a=2
check_failure "inc with a repeated label name" "label name \"a\" appears twice"

cli inc --arena "$A" --mode sum http_requests_total
check_usage_error "inc --mode" "--mode is for gauges"
cli inc --arena "$A" http_requests_total 1 method=GET
check_usage_error "inc with a label after the amount" "label method=GET after the value 1"
cli inc --arena "$A" plain 1 2
check_usage_error "inc with two amounts" "unexpected argument 2"
cli inc --arena "$A"
check_usage_error "inc without a name" "no metric NAME given"
cli inc --arena "$A" plain --bogus
check_usage_error "inc with an unknown option" "unknown option --bogus"
cli inc plain --arena
check_usage_error "inc --arena without a value" "--arena needs a value"

# A metric without help text gets "# HELP NAME " with one trailing space, as
# prometheus_client writes it; $sp keeps that space visible below.
sp=' '
cli dump --arena "$A"
check_rc "inc: dump exit 0" 0
check_out "inc: dump shows exact sums, _total names, first help kept, refused updates absent" <<EOF
# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{method="GET",code="200"} 8.5
http_requests_total{method="POST",code="500"} 0
# HELP bytes_total Bytes received.
# TYPE bytes_total counter
bytes_total 16000000
# HELP vllm:prompt_tokens_total Prompt tokens.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{model="llama"} 1200
# HELP plain_total$sp
# TYPE plain_total counter
plain_total 1001.25
# HELP temperature A gauge.
# TYPE temperature gauge
temperature 20
EOF

# The protobuf format: binary, to a file or a pipe; refused on a terminal
# (script(1) gives the command one).
cli dump --arena "$A" --format protobuf
check_rc "inc: dump --format protobuf exit 0" 0
check_true "inc: dump --format protobuf writes the messages" test "$(wc -c <"$tmp/out")" -gt 100
check_eq "inc: dump --format protobuf: each family once, the counters named like their samples" "1 1 1 1 1" \
    "$(for n in http_requests_total bytes_total vllm:prompt_tokens_total plain_total temperature; do
        grep -a -c "$n" "$tmp/out"
    done | tr '\n' ' ' | sed 's/ $//')"
run script -qec "$CLI dump --arena $A --format protobuf" /dev/null
check_rc "dump --format protobuf on a terminal: exit 2" 2
check_contains "dump --format protobuf on a terminal: says why" \
    "the protobuf format is binary: not written to a terminal" "$OUT"
cli dump --arena "$A" --format xml
check_usage_error "dump --format xml" "unknown format 'xml' (prometheus, openmetrics, json, protobuf)"

cli stat --arena "$A"
check_eq "inc: counters take no process slot; the set's is given back at exit" "processes  0 / 256 (0 attached, 0 dead, 0 exited)" \
    "$(grep '^processes' "$tmp/out")"
check_eq "inc: refused registrations add no family" "families   5 / 1024" "$(grep '^families' "$tmp/out")"

# ------------------------------------------------------------------ set

A=$base-set
cli create --arena "$A" --families 16 --series 32 --processes 32 --shards 1
cli set --arena "$A" temp
check_usage_error "set without a value" "no VALUE given"
cli set --arena "$A" temp abc
check_usage_error "set to abc" "the value must be a number, not 'abc'"
cli set --arena "$A" --mode newest temp 1
check_usage_error "set --mode newest" "unknown mode 'newest' (all, sum, min, max, mostrecent, or live before any)"
cli set --arena "$A" temp 1 --mode
check_usage_error "set --mode without a value" "--mode needs a value"
cli set --arena "$A" temp 1 2
check_usage_error "set with two values" "unexpected argument 2"
cli set --arena "$A"
check_usage_error "set without a name" "no metric NAME given"

cli set --arena "$A" --help "Room temperature." temp room=kitchen 3
check_rc "set: exit 0" 0
check_eq "set: nothing on stdout" "" "$OUT"
check_eq "set: nothing on stderr" "" "$ERR"
cli set --arena "$A" temp room=kitchen 4
cli set --arena "$A" temp room=hall -2.5

cli set --arena "$A" --mode sum temp room=kitchen 5
check_failure "set with another mode than the first use" \
    "temp is already registered with mode mostrecent, not sum"

cli_pid set --arena "$A" --help "Queue depth." --mode all depth queue=high 7
pid1=$PID
check_rc "set --mode all: exit 0" 0
cli_pid set --arena "$A" --mode all depth queue=high 9
pid2=$PID
cli set --arena "$A" --mode all depth pid=1 1
check_failure "set --mode all with a pid label" "label name \"pid\" is reserved"

cli set --arena "$A" --help "In flight." --mode sum inflight 1.25
cli set --arena "$A" --mode sum inflight 2
cli set --arena "$A" --help "Peak." --mode max peak 21.5
cli set --arena "$A" --mode max peak 19
cli set --arena "$A" --help "Low." --mode min low 5
cli set --arena "$A" --mode min low -3
cli set --arena "$A" --help "Not measured." ratio NaN
check_rc "set to NaN: exit 0" 0
cli set --arena "$A" --help "Up." up +Inf
cli set --arena "$A" --help "Down." down -inf
cli set --arena "$A" --help "Big." big 1e21
cli set --arena "$A" --help "Small." small 0.1

cli dump --arena "$A"
check_rc "set: dump exit 0" 0
check_out "set: dump merges each mode" <<EOF
# HELP temp Room temperature.
# TYPE temp gauge
temp{room="kitchen"} 4
temp{room="hall"} -2.5
# HELP depth Queue depth.
# TYPE depth gauge
depth{queue="high",pid="$pid1"} 7
depth{queue="high",pid="$pid2"} 9
# HELP inflight In flight.
# TYPE inflight gauge
inflight 3.25
# HELP peak Peak.
# TYPE peak gauge
peak 21.5
# HELP low Low.
# TYPE low gauge
low -3
# HELP ratio Not measured.
# TYPE ratio gauge
ratio NaN
# HELP up Up.
# TYPE up gauge
up +Inf
# HELP down Down.
# TYPE down gauge
down -Inf
# HELP big Big.
# TYPE big gauge
big 1e+21
# HELP small Small.
# TYPE small gauge
small 0.1
EOF

# ------------------------------------------------------------------ observe

cli observe --help
check_rc "observe --help: exit 0" 0
check_eq "observe --help: the histogram form" \
    "usage: shmetrics observe [--arena PATH] [--allow-foreign-arena] [--help TEXT]
                         [--unit UNIT] [--buckets B1,B2,...] [--exemplar LABEL=VALUE,...]
                         NAME [LABEL=VALUE ...] VALUE" \
    "$(lines 1 3)"
check_eq "observe --help: the native form" \
    "       shmetrics observe [--arena PATH] [--allow-foreign-arena] [--help TEXT]
                         [--unit UNIT] --native [--schema S] [--zero-threshold Z]
                         [--max-buckets N] [--range LO,HI] [--buckets B1,B2,...]
                         [--exemplar LABEL=VALUE,...]
                         NAME [LABEL=VALUE ...] VALUE" "$(lines 4 8)"
check_eq "observe --help: the summary form" \
    "       shmetrics observe [--arena PATH] [--allow-foreign-arena] [--help TEXT]
                         [--unit UNIT] --summary [--quantiles Q1,Q2,...]
                         [--max-age SECONDS] NAME [LABEL=VALUE ...] VALUE" "$(lines 9 11)"
check_contains "observe --help: names the default buckets" \
    "(default .005,.01,.025,.05,.075,.1,.25,.5,.75,${nl}1,2.5,5,7.5,10; +Inf is always added)" "$OUT"
check_contains "observe --help: names the default quantiles and window" \
    "(default 0.5,0.9,0.95,0.99) over a sliding window of${nl}--max-age seconds (default 60)" "$OUT"
cli observe -h
check_rc "observe -h: exit 0" 0
check_eq "observe -h: usage on stdout" "usage: shmetrics observe " "$(lines 1 | cut -c 1-25)"
cli observe --arena "$base-help" --summary --help
check_rc "observe --summary --help: exit 0" 0
check_true "observe --summary --help: no arena made" test ! -e "$base-help"

# A histogram with the default buckets.  Observations on a bound count in
# that bound's bucket (le means <=); below the first bound, in the first.
A=$base-observe
cli observe --arena "$A" --help "Request latency." request_duration_seconds method=GET path=/api 0.03
check_rc "observe: first use creates the arena and registers a histogram: exit 0" 0
check_eq "observe: nothing on stdout" "" "$OUT"
check_eq "observe: nothing on stderr" "" "$ERR"
check_eq "observe: the arena file exists" 600 "$(stat -c %a "$A" 2>/dev/null)"
cli observe --arena "$A" request_duration_seconds method=GET path=/api 7
check_rc "observe 7: exit 0" 0
cli observe --arena "$A" --help "Another text." request_duration_seconds method=GET path=/api 100
check_rc "observe 100 above every bound: exit 0" 0
cli observe --arena "$A" request_duration_seconds method=GET path=/api -1
check_rc "observe a negative value: exit 0" 0
cli observe --arena "$A" request_duration_seconds method=GET path=/api 0.005
check_rc "observe 0.005, on the first bound: exit 0" 0
cli observe --arena "$A" request_duration_seconds method=POST path=/api 10
check_rc "observe 10, on the last bound, in another series: exit 0" 0

for value in abc 5x "" 1e400; do
    cli observe --arena "$A" request_duration_seconds method=GET path=/api "$value"
    check_usage_error "observe '$value'" "the value must be a number, not '$value'"
done
cli observe --arena "$A" request_duration_seconds method=GET path=/api
check_usage_error "observe without a value" "no VALUE given"
cli observe --arena "$A" request_duration_seconds method=GET path=/api 1 2
check_usage_error "observe with two values" "unexpected argument 2"
cli observe --arena "$A" request_duration_seconds 1 method=GET
check_usage_error "observe with a label after the value" "label method=GET after the value 1"
cli observe --arena "$A"
check_usage_error "observe without a name" "no metric NAME given"
cli observe --arena "$A" --bogus request_duration_seconds 1
check_usage_error "observe with an unknown option" "unknown option --bogus"
cli observe --arena "$A" --mode sum request_duration_seconds method=GET path=/api 1
check_usage_error "observe --mode" "--mode is for gauges (shmetrics set)"
cli observe --arena "$A" --summary --mode max request_duration_seconds method=GET path=/api 1
check_usage_error "observe --summary --mode" "--mode is for gauges (shmetrics set)"
for opt in --buckets --quantiles --max-age; do
    cli observe --arena "$A" request_duration_seconds 1 "$opt"
    check_usage_error "observe $opt without a value" "$opt needs a value"
done
for opt in --schema --zero-threshold --max-buckets; do
    cli observe --arena "$A" "$opt" 1 lat 1
    check_usage_error "observe $opt without --native" "$opt needs --native"
done
cli observe --arena "$A" --native --summary lat 1
check_usage_error "observe --native --summary" "--native is for histograms, not with --summary"
cli inc --arena "$A" --native x_total
check_usage_error "inc --native" "--native is for histograms (shmetrics observe)"
for bad in 9 -5 1.5 x; do
    cli observe --arena "$A" --native --schema "$bad" lat 1
    check_usage_error "observe --schema $bad" "--schema takes a whole number from -4 to 8, not '$bad'"
done
cli observe --arena "$A" --native --zero-threshold -1 lat 1
check_usage_error "observe --zero-threshold -1" "--zero-threshold takes a finite number >= 0, not '-1'"
cli observe --arena "$A" --native --max-buckets 1.5 lat 1
check_usage_error "observe --max-buckets 1.5" "--max-buckets takes a whole number >= 0, not '1.5'"
N=$base-native
cli observe --arena "$N" --native --schema 0 lat 3
check_rc "observe --native: exit 0" 0
cli observe --arena "$N" --native --schema 0 lat -0.5
check_rc "observe --native, a negative value: exit 0" 0
cli observe --arena "$N" --native --schema 1 lat 1
check_failure "observe --native with another schema" "lat is already registered with native schema 0, not 1"
cli observe --arena "$N" lat 1
check_failure "observe without --native" "lat is already registered as a native histogram, not a classic one"
cli dump --arena "$N" --format json
check_out "observe --native: 3 in bucket 2, -0.5 in negative bucket -1 (JSON)" <<'EOF'
[
{"name":"lat","type":"histogram","help":"","samples":[{"name":"lat_bucket","labels":{"le":"+Inf"},"value":2},{"name":"lat_sum","labels":{},"value":2.5},{"name":"lat_count","labels":{},"value":2,"native":{"schema":0,"zero_threshold":2.938735877055719e-39,"zero_count":0,"count":2,"sum":2.5,"nan_count":0,"unplaced":0,"positive":[[2,1]],"negative":[[-1,1]]}}]}
]
EOF
cli observe request_duration_seconds 1
check_usage_error "observe with neither --arena nor SHMETRICS_ARENA" \
    "no arena: give --arena PATH or set SHMETRICS_ARENA"

cli observe --arena "$A" request_duration_seconds method=GET 1
check_failure "observe with fewer label names" \
    "request_duration_seconds is already registered with label names (method,path), not (method)"
cli observe --arena "$A" latency le=0.5 1
check_failure "observe with a label named le" "label name \"le\" is reserved for a histogram"
cli observe --arena "$A" --summary latency quantile=0.5 1
check_failure "observe --summary with a label named quantile" "label name \"quantile\" is reserved for a summary"

# -1 and 0.005 land in le="0.005", 0.03 in le="0.05", 7 in le="7.5", 100
# only in +Inf.  The sum keeps whole numbers exact: 7 + 100 - 1 + 0.035.
cli dump --arena "$A"
check_rc "observe: dump exit 0" 0
check_out "observe: dump shows the histogram, cumulative, with le spelled as prometheus_client does" <<'EOF'
# HELP request_duration_seconds Request latency.
# TYPE request_duration_seconds histogram
request_duration_seconds_bucket{method="GET",path="/api",le="0.005"} 2
request_duration_seconds_bucket{method="GET",path="/api",le="0.01"} 2
request_duration_seconds_bucket{method="GET",path="/api",le="0.025"} 2
request_duration_seconds_bucket{method="GET",path="/api",le="0.05"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="0.075"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="0.1"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="0.25"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="0.5"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="0.75"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="1.0"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="2.5"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="5.0"} 3
request_duration_seconds_bucket{method="GET",path="/api",le="7.5"} 4
request_duration_seconds_bucket{method="GET",path="/api",le="10.0"} 4
request_duration_seconds_bucket{method="GET",path="/api",le="+Inf"} 5
request_duration_seconds_sum{method="GET",path="/api"} 106.035
request_duration_seconds_count{method="GET",path="/api"} 5
request_duration_seconds_bucket{method="POST",path="/api",le="0.005"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.01"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.025"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.05"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.075"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.1"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.25"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.5"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="0.75"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="1.0"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="2.5"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="5.0"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="7.5"} 0
request_duration_seconds_bucket{method="POST",path="/api",le="10.0"} 1
request_duration_seconds_bucket{method="POST",path="/api",le="+Inf"} 1
request_duration_seconds_sum{method="POST",path="/api"} 10
request_duration_seconds_count{method="POST",path="/api"} 1
EOF

cli stat --arena "$A"
check_eq "observe: histograms take no process slot" "processes  0 / 256 (0 attached, 0 dead, 0 exited)" \
    "$(grep '^processes' "$tmp/out")"
check_eq "observe: refused registrations add no family" "families   1 / 1024" "$(grep '^families' "$tmp/out")"

# ---------------------------------------------------------------- buckets

A=$base-buckets
cli observe --arena "$A" --help "Job sizes." --buckets 1,2,5 job_size 1.5
check_rc "observe --buckets 1,2,5: exit 0" 0
cli observe --arena "$A" --buckets 1,2,5,+Inf job_size 3
check_rc "observe --buckets 1,2,5,+Inf: the same histogram, exit 0" 0
cli observe --arena "$A" --buckets 1,2,5,inf job_size 1
check_rc "observe --buckets 1,2,5,inf: the same histogram, exit 0" 0
cli observe --arena "$A" --buckets 1,2 job_size 1
check_failure "observe with other --buckets than the first use" \
    "job_size is already registered with 3 other buckets (first 1, last 5)"
cli observe --arena "$A" job_size 1
check_failure "observe without --buckets into a histogram with its own" \
    "job_size is already registered with 3 other buckets (first 1, last 5)"

cli observe --arena "$A" --help "Default buckets, spelled out." default_spelled 0.2
cli observe --arena "$A" --buckets .005,.01,.025,.05,.075,.1,.25,.5,.75,1,2.5,5,7.5,10 default_spelled 0.3
check_rc "observe with the default buckets spelled out: the same histogram, exit 0" 0

# le labels as prometheus_client spells them: repr() of the float, with an
# exponent from 1e+06 on (and Python's e+010 for ten digits).
cli observe --arena "$A" --help "Wide." --buckets 1e-05,0.0001,0.5,123456,1000000,1.5e6,1e10,1e16 wide_bytes 2e6
check_rc "observe --buckets with wide bounds: exit 0" 0
cli observe --arena "$A" --help "Signed." --buckets -5,-0.5,0,0.25 signed_delta -1
check_rc "observe --buckets with negative bounds: exit 0" 0

for bad in 2,1 1,1 5,5,6; do
    cli observe --arena "$A" --buckets "$bad" unsorted 1
    check_failure "observe --buckets $bad" "bucket bounds must be strictly increasing"
done
cli observe --arena "$A" --buckets 2,1 unsorted 1
check_eq "observe --buckets 2,1: names the pair" \
    "shmetrics: registering the histogram: histogram unsorted: bucket bounds must be strictly increasing (1 after 2) (Invalid argument)" \
    "$ERR"
cli observe --arena "$A" --buckets nan unsorted 1
check_failure "observe --buckets nan" "bucket bound 1 is nan; bounds must be finite"
cli observe --arena "$A" --buckets 1,inf,2 unsorted 1
check_failure "observe --buckets 1,inf,2" "bucket bound 2 is inf; bounds must be finite"
cli observe --arena "$A" --buckets -inf,1 unsorted 1
check_failure "observe --buckets -inf,1" "bucket bound 1 is -inf; bounds must be finite"
cli observe --arena "$A" --buckets +Inf unsorted 1
check_failure "observe --buckets +Inf" "histogram unsorted has an empty bucket list"

for bad in "" 1,,2 1,x ,1 1, "1;2" 0x; do
    cli observe --arena "$A" --buckets "$bad" unsorted 1
    check_usage_error "observe --buckets '$bad'" "--buckets takes numbers separated by commas"
done
cli observe --arena "$A" --buckets 1,x unsorted 1
check_contains "observe --buckets 1,x: names the item" "'x' is not one" "$ERR"
cli dump --arena "$A"
check_rc "buckets: dump exit 0" 0
check_out "buckets: dump shows each list, trailing +Inf dropped, refused ones absent" <<EOF
# HELP job_size Job sizes.
# TYPE job_size histogram
job_size_bucket{le="1.0"} 1
job_size_bucket{le="2.0"} 2
job_size_bucket{le="5.0"} 3
job_size_bucket{le="+Inf"} 3
job_size_sum 5.5
job_size_count 3
# HELP default_spelled Default buckets, spelled out.
# TYPE default_spelled histogram
default_spelled_bucket{le="0.005"} 0
default_spelled_bucket{le="0.01"} 0
default_spelled_bucket{le="0.025"} 0
default_spelled_bucket{le="0.05"} 0
default_spelled_bucket{le="0.075"} 0
default_spelled_bucket{le="0.1"} 0
default_spelled_bucket{le="0.25"} 1
default_spelled_bucket{le="0.5"} 2
default_spelled_bucket{le="0.75"} 2
default_spelled_bucket{le="1.0"} 2
default_spelled_bucket{le="2.5"} 2
default_spelled_bucket{le="5.0"} 2
default_spelled_bucket{le="7.5"} 2
default_spelled_bucket{le="10.0"} 2
default_spelled_bucket{le="+Inf"} 2
default_spelled_sum 0.5
default_spelled_count 2
# HELP wide_bytes Wide.
# TYPE wide_bytes histogram
wide_bytes_bucket{le="1e-05"} 0
wide_bytes_bucket{le="0.0001"} 0
wide_bytes_bucket{le="0.5"} 0
wide_bytes_bucket{le="123456.0"} 0
wide_bytes_bucket{le="1e+06"} 0
wide_bytes_bucket{le="1.5e+06"} 0
wide_bytes_bucket{le="1e+010"} 1
wide_bytes_bucket{le="1e+16"} 1
wide_bytes_bucket{le="+Inf"} 1
wide_bytes_sum 2000000
wide_bytes_count 1
# HELP signed_delta Signed.
# TYPE signed_delta histogram
signed_delta_bucket{le="-5.0"} 0
signed_delta_bucket{le="-0.5"} 1
signed_delta_bucket{le="0.0"} 1
signed_delta_bucket{le="0.25"} 1
signed_delta_bucket{le="+Inf"} 1
signed_delta_sum -1
signed_delta_count 1
EOF

A=$base-many
cli observe --arena "$A" --buckets "$(seq -s , 1 512)" many 1
check_rc "observe with 512 bucket bounds: exit 0" 0
cli observe --arena "$A" --buckets "$(seq -s , 1 513)" too_many 1
check_usage_error "observe with 513 bucket bounds: names the limit" "512"
cli observe --arena "$A" --buckets 1,2.000000000000000000000000000000000000000000000000000000000000000000001,3 \
    long_digits 1.5
check_rc "observe --buckets with a bound written in 71 characters: exit 0" 0
cli dump --arena "$A"
check_eq "observe with 512 bucket bounds: 512 buckets and +Inf" 513 "$(grep -c '^many_bucket' "$tmp/out")"
check_eq "observe with 513 bucket bounds: not registered" "" "$(grep '^too_many' "$tmp/out")"
check_eq "observe --buckets with a bound written in 71 characters: the bound is 2" \
    'long_digits_bucket{le="1.0"} 0
long_digits_bucket{le="2.0"} 1
long_digits_bucket{le="3.0"} 1
long_digits_bucket{le="+Inf"} 1' "$(grep '^long_digits_bucket' "$tmp/out")"

# NaN counts in +Inf only and makes the sum NaN; -Inf counts in the first
# bucket; +Inf in +Inf only; +Inf and -Inf together make the sum NaN.
A=$base-nonfinite
for value in 0.5 NaN -Inf; do
    cli observe --arena "$A" --help "Edge cases." --buckets 1,2,5 edge_seconds case=nan "$value"
    check_rc "observe $value into the series with a NaN: exit 0" 0
done
for value in 3 +Inf; do cli observe --arena "$A" --buckets 1,2,5 edge_seconds case=inf "$value"; done
for value in -inf 1; do cli observe --arena "$A" --buckets 1,2,5 edge_seconds case=neginf "$value"; done
for value in inf -inf; do cli observe --arena "$A" --buckets 1,2,5 edge_seconds case=both "$value"; done
check_rc "observe -inf after inf: exit 0" 0
cli dump --arena "$A"
check_rc "non-finite observations: dump exit 0" 0
check_out "non-finite observations: buckets, _sum and _count" <<'EOF'
# HELP edge_seconds Edge cases.
# TYPE edge_seconds histogram
edge_seconds_bucket{case="nan",le="1.0"} 2
edge_seconds_bucket{case="nan",le="2.0"} 2
edge_seconds_bucket{case="nan",le="5.0"} 2
edge_seconds_bucket{case="nan",le="+Inf"} 3
edge_seconds_sum{case="nan"} NaN
edge_seconds_count{case="nan"} 3
edge_seconds_bucket{case="inf",le="1.0"} 0
edge_seconds_bucket{case="inf",le="2.0"} 0
edge_seconds_bucket{case="inf",le="5.0"} 1
edge_seconds_bucket{case="inf",le="+Inf"} 2
edge_seconds_sum{case="inf"} +Inf
edge_seconds_count{case="inf"} 2
edge_seconds_bucket{case="neginf",le="1.0"} 2
edge_seconds_bucket{case="neginf",le="2.0"} 2
edge_seconds_bucket{case="neginf",le="5.0"} 2
edge_seconds_bucket{case="neginf",le="+Inf"} 2
edge_seconds_sum{case="neginf"} -Inf
edge_seconds_count{case="neginf"} 2
edge_seconds_bucket{case="both",le="1.0"} 1
edge_seconds_bucket{case="both",le="2.0"} 1
edge_seconds_bucket{case="both",le="5.0"} 1
edge_seconds_bucket{case="both",le="+Inf"} 2
edge_seconds_sum{case="both"} NaN
edge_seconds_count{case="both"} 2
EOF

# ---------------------------------------------------------------- summaries

# Quantiles are nearest-rank (the ceil(q*n)-th smallest observation) over a
# log-linear sketch that reports bucket midpoints: v with 2^e <= v < 2^(e+1)
# and top six mantissa bits s is reported as 2^e * (1 + (s + 0.5) / 64),
# within 0.78% of v; 0 is reported as 0, -v as minus v's midpoint.
#   0.2 -> 0.2001953125  0.375 -> 0.376953125  0.4 -> 0.400390625
#   0.75 -> 0.75390625   1 -> 1.0078125  2 -> 2.015625  12 -> 12.0625
#   100 -> 100.5         1000 -> 1004
# The window is 60 s by default; every observation below is seconds old
# when dumped.  The non-integer observations of a series are dyadic, or at
# most two, so that _sum does not depend on the order the shards add up in.
A=$base-summary
for value in 0.375 100 0.75 3 0.375; do
    cli observe --arena "$A" --help "RPC latency." --summary --quantiles 0.5,0.99 rpc_seconds service=auth "$value"
    check_rc "observe --summary --quantiles 0.5,0.99 $value: exit 0" 0
done
check_eq "observe --summary: nothing on stdout or stderr" "" "$OUT$ERR"
cli observe --arena "$A" --summary --quantiles 0.5,0.99 rpc_seconds service=billing 0.4
cli observe --arena "$A" --summary --quantiles 0.5,0.99 --max-age 60 rpc_seconds service=billing 0.2
check_rc "observe --summary with --max-age 60, the default, spelled out: exit 0" 0

cli observe --arena "$A" --summary --quantiles 0.5,0.9 rpc_seconds service=auth 1
check_failure "observe --summary with other --quantiles" "rpc_seconds is already registered with 2 other quantiles"
cli observe --arena "$A" --summary rpc_seconds service=auth 1
check_failure "observe --summary without --quantiles into one with its own" \
    "rpc_seconds is already registered with 2 other quantiles"
cli observe --arena "$A" --summary --quantiles 0.5,0.99 --max-age 30 rpc_seconds service=auth 1
check_failure "observe --summary with another --max-age" \
    "rpc_seconds is already registered with max age 60 s in 5 age buckets"
cli observe --arena "$A" --quantiles 0.5,0.99 rpc_seconds service=auth 1
check_usage_error "observe --quantiles without --summary" "--quantiles needs --summary"
cli observe --arena "$A" rpc_seconds service=auth 1
check_failure "observe without --summary into a summary" "rpc_seconds is already registered as a summary, not a histogram"

# Sorted: -2 0 0.2 1 2 5 7 10 12 1000; ranks 5, 9, 10 and 10.
for value in 0.2 1 2 5 -2 0 7 10 12; do
    cli observe --arena "$A" --help "Job duration." --summary job_seconds "$value"
done
check_rc "observe --summary without --quantiles: exit 0" 0
cli observe --arena "$A" --summary --quantiles 0.5,0.9,0.95,0.99 --max-age 60 job_seconds 1000
check_rc "observe --summary with the default quantiles and max age spelled out: the same summary, exit 0" 0
cli observe --arena "$A" --summary --quantiles 0.5,0.9,0.95,0.99 --max-age 600 job_seconds 1
check_failure "observe --summary --max-age 600 into a default one" \
    "job_seconds is already registered with max age 60 s in 5 age buckets"

cli observe --arena "$A" --help "Ends." --summary --quantiles 0,1 ends_delta -2
cli observe --arena "$A" --summary --quantiles 0,1 ends_delta 0
check_rc "observe --summary --quantiles 0,1: exit 0" 0

# NaN counts in _count and makes _sum NaN, but takes no rank.
for value in NaN 1 nan; do
    cli observe --arena "$A" --help "With NaN." --summary --quantiles 0.5 nan_seconds "$value"
done
check_rc "observe --summary NaN: exit 0" 0

cli dump --arena "$A"
check_rc "summaries: dump exit 0" 0
check_out "summaries: dump shows sketch midpoints, exact _sum and _count" <<'EOF'
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{service="auth",quantile="0.5"} 0.75390625
rpc_seconds{service="auth",quantile="0.99"} 100.5
rpc_seconds_sum{service="auth"} 104.5
rpc_seconds_count{service="auth"} 5
rpc_seconds{service="billing",quantile="0.5"} 0.2001953125
rpc_seconds{service="billing",quantile="0.99"} 0.400390625
rpc_seconds_sum{service="billing"} 0.6000000000000001
rpc_seconds_count{service="billing"} 2
# HELP job_seconds Job duration.
# TYPE job_seconds summary
job_seconds{quantile="0.5"} 2.015625
job_seconds{quantile="0.9"} 12.0625
job_seconds{quantile="0.95"} 1004
job_seconds{quantile="0.99"} 1004
job_seconds_sum 1035.2
job_seconds_count 10
# HELP ends_delta Ends.
# TYPE ends_delta summary
ends_delta{quantile="0.0"} -2.015625
ends_delta{quantile="1.0"} 0
ends_delta_sum -2
ends_delta_count 2
# HELP nan_seconds With NaN.
# TYPE nan_seconds summary
nan_seconds{quantile="0.5"} 1.0078125
nan_seconds_sum NaN
nan_seconds_count 3
EOF

cli stat --arena "$A"
check_eq "summaries: no process slot taken" "processes  0 / 256 (0 attached, 0 dead, 0 exited)" \
    "$(grep '^processes' "$tmp/out")"

# A window of 1 s: two seconds later the quantiles are NaN, while _sum and
# _count are all-time.
cli observe --arena "$A" --help "Short window." --summary --quantiles 0.5 --max-age 1 short_seconds 1.5
check_rc "observe --summary --max-age 1: exit 0" 0
cli observe --arena "$A" --summary --quantiles 0.5 --max-age 1 short_seconds 2.5
sleep 2
cli dump --arena "$A"
check_eq "summary window of 1 s, 2 s later: the quantiles are NaN, _sum and _count stay" \
    "short_seconds{quantile=\"0.5\"} NaN
short_seconds_sum 4
short_seconds_count 2" "$(grep '^short_seconds' "$tmp/out")"

for bad in 1.5 -0.1 nan 2,0.5; do
    cli observe --arena "$A" --summary --quantiles "$bad" bad_quantiles 1
    check_failure "observe --summary --quantiles $bad" "is not within [0, 1]"
done
cli observe --arena "$A" --summary --quantiles 1.5 bad_quantiles 1
check_contains "observe --summary --quantiles 1.5: names it" "summary bad_quantiles: quantile 1.5 is not within [0, 1]" "$ERR"
cli observe --arena "$A" --summary --quantiles 0.9,0.5 bad_quantiles 1
check_failure "observe --summary --quantiles 0.9,0.5" "quantiles must be strictly increasing (0.5 after 0.9)"
cli observe --arena "$A" --summary --quantiles 0.5,0.5 bad_quantiles 1
check_failure "observe --summary --quantiles 0.5,0.5" "quantiles must be strictly increasing (0.5 after 0.5)"
for bad in "" 0.5,,0.9 0.5,x 0.5,; do
    cli observe --arena "$A" --summary --quantiles "$bad" bad_quantiles 1
    check_usage_error "observe --summary --quantiles '$bad'" "--quantiles takes numbers separated by commas"
done
cli observe --arena "$A" --summary --quantiles "$(seq -s , 0.01 0.01 0.16)" sixteen 1
check_rc "observe --summary with 16 quantiles: exit 0" 0
cli observe --arena "$A" --summary --quantiles "$(seq -s , 0.01 0.01 0.17)" seventeen 1
check_usage_error "observe --summary with 17 quantiles" "16"

for bad in 0 -1 abc "" nan; do
    cli observe --arena "$A" --summary --max-age "$bad" bad_age 1
    check_usage_error "observe --summary --max-age '$bad'" "--max-age takes a number of seconds > 0, not '$bad'"
done
cli observe --arena "$A" --summary --max-age 1e9 bad_age 1
check_failure "observe --summary --max-age 1e9" "max age 1e+09 s must be between 1 ms per age bucket and 7 days"
cli observe --arena "$A" --max-age 5 bad_age 1
check_usage_error "observe --max-age without --summary" "--max-age needs --summary"
cli observe --arena "$A" --summary --buckets 1,2 bad_age 1
check_usage_error "observe --buckets with --summary" "--buckets is for histograms, not with --summary"
cli dump --arena "$A"
check_eq "summaries: refused ones absent" "" "$(grep -e '^bad_' -e '^seventeen' "$tmp/out")"

# ------------------------------------------------- types and other verbs

A=$base-types
cli inc --arena "$A" --help "Events." events_total
cli set --arena "$A" --help "Temperature." temperature 20
cli observe --arena "$A" --help "A histogram." histo 1
cli observe --arena "$A" --help "A summary." --summary summ 1
cli observe --arena "$A" events 1
check_failure "observe into a counter" "events is already registered as a counter, not a histogram"
cli observe --arena "$A" --summary events 1
check_failure "observe --summary into a counter" "events is already registered as a counter, not a summary"
cli observe --arena "$A" temperature 1
check_failure "observe into a gauge" "temperature is already registered as a gauge, not a histogram"
cli observe --arena "$A" --summary temperature 1
check_failure "observe --summary into a gauge" "temperature is already registered as a gauge, not a summary"
cli observe --arena "$A" --summary histo 1
check_failure "observe --summary into a histogram" "histo is already registered as a histogram, not a summary"
cli inc --arena "$A" histo
check_failure "inc on a histogram" "histo is already registered as a histogram, not a counter"
cli set --arena "$A" summ 1
check_failure "set on a summary" "summ is already registered as a summary, not a gauge"

for opt in "--buckets 1,2" --summary "--quantiles 0.5" "--max-age 5"; do
    for verb in inc set; do
        eval "set -- $opt"
        cli "$verb" --arena "$A" "$@" other 1
        check_usage_error "$verb $opt" "$1 is for histograms and summaries (shmetrics observe)"
    done
done

# Every family's samples keep their own names: prometheus_client refuses a
# histogram jobs_total beside the counter jobs_total, and a gauge
# histo_count beside the histogram histo.
cli inc --arena "$A" --help "Jobs." jobs_total
cli observe --arena "$A" --help "Jobs again." jobs_total 1
check_failure "observe jobs_total beside the counter jobs_total" "jobs_total"
cli set --arena "$A" --help "Clashes." histo_count 1
check_failure "set histo_count beside the histogram histo" "histo_count"
if command -v promtool >/dev/null 2>&1; then
    run sh -c '"$0" dump --arena "$1" | promtool check metrics' "$CLI" "$A"
    check_rc "types: dump | promtool check metrics: exit 0" 0
else
    ok "types: dump | promtool check metrics # SKIP promtool not installed"
fi

A=$base-obsfull
cli create --arena "$A" --families 4 --series 1 --processes 1 --shards 1
cli observe --arena "$A" --summary one 1
check_rc "observe --summary into the one series record: exit 0" 0
cli observe --arena "$A" two 1
check_failure "observe with every series record taken" "arena full: all 1 series records are in use"

# ------------------------------------------------- a realistic arena

A=$base-obsreal
cli_env "$A" create --families 32 --series 128 --processes 16 --shards 2
cli_env "$A" inc --help "HTTP requests served." http_requests_total method=GET code=200 3
cli_env "$A" inc http_requests_total method=POST code=500
cli_env "$A" set --help "Requests in flight." --mode sum http_requests_in_flight 4
cli_env "$A" set --help "Jobs queued per worker." --mode all worker_queue_depth queue=high 7
cli_env "$A" observe --help "HTTP request latency." http_request_duration_seconds method=GET 0.042
check_rc "observe with SHMETRICS_ARENA: exit 0" 0
cli_env "$A" observe http_request_duration_seconds method=GET 0.31
cli_env "$A" observe http_request_duration_seconds method=POST 1.7
cli_env "$A" observe --help "Response sizes." --buckets 100,1000,10000,100000,1e6 \
    http_response_size_bytes handler=/api 5120
cli_env "$A" observe --buckets 100,1000,10000,100000,1e6 http_response_size_bytes handler=/api 2e6
cli_env "$A" observe --help "Queue wait, NaN when unknown." --buckets 0.1,1,10 queue_wait_seconds NaN
cli_env "$A" observe --help "Database query time." --summary db_query_duration_seconds table=users 0.012
cli_env "$A" observe --summary db_query_duration_seconds table=users 0.25
cli_env "$A" observe --help "Batch sizes." --summary --quantiles 0.5,0.9,0.99 --max-age 600 batch_size_items 32
cli_env "$A" observe --help "Replication lag, NaN before the first sync." --summary --quantiles 0.5 \
    replication_lag_seconds NaN
check_rc "a realistic arena with histograms and summaries: the last update exits 0" 0
cli_env "$A" dump
check_eq "a realistic arena with histograms and summaries: nine families" 9 "$(grep -c '^# TYPE' "$tmp/out")"
if command -v promtool >/dev/null 2>&1; then
    run sh -c '"$0" dump --arena "$1" | promtool check metrics' "$CLI" "$A"
    check_rc "dump with histograms and summaries | promtool check metrics: exit 0" 0
    check_eq "promtool check metrics on histograms and summaries: no complaints" "" "$OUT$ERR"
else
    ok "dump with histograms and summaries | promtool check metrics # SKIP promtool not installed"
fi

# ------------------------------------------------------------------ dump

A=$base-empty
cli create --arena "$A" --families 4 --series 8 --processes 2 --shards 1
cli dump --arena "$A"
check_rc "dump of an empty arena: exit 0" 0
check_eq "dump of an empty arena: no output" 0 "$(wc -c <"$tmp/out")"
check_eq "dump of an empty arena: nothing on stderr" "" "$ERR"

A=$base-escape
cli inc --arena "$A" --help "Path \\ with \"quotes\"${nl}and a second line." escapes_total \
    path='C:\dir\' quote='say "hi"' text="one${nl}two" plain=abc 2
check_rc "inc with characters to escape: exit 0" 0
cli set --arena "$A" --help "Unicode: °C, ünïcödé." unicode label="ü ° €" 1
cli dump --arena "$A"
check_rc "dump with escapes: exit 0" 0
check_out "dump escapes backslash, quote and newline in label values, backslash and newline in help" <<'EOF'
# HELP escapes_total Path \\ with "quotes"\nand a second line.
# TYPE escapes_total counter
escapes_total{path="C:\\dir\\",quote="say \"hi\"",text="one\ntwo",plain="abc"} 2
# HELP unicode Unicode: °C, ünïcödé.
# TYPE unicode gauge
unicode{label="ü ° €"} 1
EOF
if command -v promtool >/dev/null 2>&1; then
    run sh -c '"$0" dump --arena "$1" | promtool check metrics' "$CLI" "$A"
    check_rc "dump with escapes | promtool check metrics: exit 0" 0
else
    ok "dump with escapes | promtool check metrics # SKIP promtool not installed"
fi

A=$base-missing
cli dump --arena "$A"
check_failure "dump of a missing arena" "no arena at $A"
check_true "dump of a missing arena: does not create it" test ! -e "$A"
cli dump --arena "$prefix-missing"
check_failure "dump of a missing arena by bare name" "no arena at $A"

A=$base-text
printf 'this is a text file, not a metrics arena\n' >"$A"
cli dump --arena "$A"
check_failure "dump of a short text file" "not a shmetrics arena"

A=$base-zeros
dd if=/dev/zero of="$A" bs=4096 count=4 2>/dev/null
cli dump --arena "$A"
check_failure "dump of a file of zeros" "not a shmetrics arena"
cli stat --arena "$A"
check_failure "stat of a file of zeros" "not a shmetrics arena"
cli inc --arena "$A" counter_total
check_failure "inc into a file of zeros" "not a shmetrics arena"
cli create --arena "$A"
check_failure "create over a file of zeros" "not a shmetrics arena"
check_eq "create over a file of zeros: file untouched" 16384 "$(stat -c %s "$A")"

cli dump --arena "$base-set" extra
check_usage_error "dump with a stray argument" "unexpected argument extra"
cli dump --arena "$base-set" --families 3
check_usage_error "dump --families" "unknown option --families"

A=$base-real
cli_env "$A" create --families 32 --series 128 --processes 16 --shards 2
cli_env "$A" inc --help "HTTP requests served." http_requests_total method=GET code=200 3
cli_env "$A" inc http_requests_total method=POST code=500
cli_env "$A" inc http_requests_total method=GET code=404 2
cli_env "$A" inc --help "Bytes received in request bodies." http_request_size_bytes_total 1536.5
cli_env "$A" inc --help "Errors by kind." errors_total kind='disk "full"'
cli_env "$A" set --help "Requests in flight." --mode sum http_requests_in_flight 4
cli_env "$A" set --help "Jobs queued per worker." --mode all worker_queue_depth queue=high 7
cli_env "$A" set --mode all worker_queue_depth queue=high 3
cli_env "$A" set --mode all worker_queue_depth queue=low 0
cli_env "$A" set --help "Unix time of the last deploy." last_deploy_timestamp_seconds 1700000000
cli_env "$A" set --help "Room temperature." --mode max room_temperature_celsius room='lab\1' 21.5
cli_env "$A" set --help "Cache hit ratio, NaN before the first lookup." cache_hit_ratio NaN
check_rc "a realistic arena: the last update exits 0" 0
if command -v promtool >/dev/null 2>&1; then
    run sh -c '"$0" dump --arena "$1" | promtool check metrics' "$CLI" "$A"
    check_rc "dump of a realistic arena | promtool check metrics: exit 0" 0
    check_eq "promtool check metrics: no complaints" "" "$OUT$ERR"
else
    ok "dump of a realistic arena | promtool check metrics # SKIP promtool not installed"
fi

if [ -w /dev/full ]; then
    run sh -c '"$0" dump --arena "$1" >/dev/full' "$CLI" "$A"
    check_rc "dump to a full device: exit 1" 1
    check_contains "dump to a full device: says why" "No space left on device" "$ERR"
fi

# ------------------------------------------------------------------ stat

A=$base-stat
t0=$(utc_now)
cli_pid create --arena "$A" --families 8 --series 32 --processes 4 --shards 2
creator=$PID
size=$(stat -c %s "$A")
cli stat --arena "$A"
t1=$(utc_now)
check_rc "stat of a new arena: exit 0" 0
check_eq "stat of a new arena: nothing on stderr" "" "$ERR"
check_eq "stat of a new arena: arena" "arena      $A" "$(lines 1)"
check_eq "stat of a new arena: bytes" "bytes      $size" "$(lines 2)"
check_true "stat of a new arena: generation is 16 hex digits" matches "$(lines 3)" 'generation [0-9a-f]\{16\}$'
check_true "stat of a new arena: created line" matches "$(lines 4)" \
    'created    [0-9-]*T[0-9:]*Z by pid [0-9]*$'
check_eq "stat of a new arena: created by the creating process" "$creator" "$(lines 4 | sed 's/.* by pid //')"
created_at=$(lines 4 | sed 's/^created *\([^ ]*\) .*/\1/')
check_true "stat of a new arena: creation time $created_at within $t0 .. $t1" time_between "$created_at" "$t0" "$t1"
check_eq "stat of a new arena: usage lines" "families   0 / 8
series     0 / 32
processes  0 / 4 (0 attached, 0 dead, 0 exited)
shards     2 (stripes a series may gain)" "$(lines 5 8)"
check_eq "stat of a new arena: pool, gauges, stripes" "cells      0 / 4194304 words in the pool
gauges     0 / 1024 (a line per process each)
striped    0 stripe sets (0 refused)" "$(lines 10 12)"
check_true "stat of a new arena: memory now and at most" matches "$(lines 13)" \
    'memory     [0-9.]* KiB allocated, at most 32.3 MiB$'
check_eq "stat of a new arena: no refusals, nothing abandoned, unplaced, dropped or reclaimed, no process table" \
    "refused    0 (0 by a full filesystem)
abandoned  0
unplaced   0 native histogram observations (outside every bucket)
exemplars  0 dropped (slot busy), 0 slots taken over from dead writers
reclaimed  0" "$(lines 14 '$')"

t0=$(utc_now)
cli_pid set --arena "$A" --help "Load." load 0.5
p1=$PID
cli set --arena "$A" load host=b 1.5
check_failure "set with other labels than the first use" "load is already registered with label names (), not (host)"
cli_pid set --arena "$A" --mode all --help "Busy." busy 1
p2=$PID
cli inc --arena "$A" --help "Jobs." jobs_total kind=a 3
cli inc --arena "$A" jobs_total kind=b
t1=$(utc_now)
cli stat --arena "$A"
check_rc "stat after updates: exit 0" 0
check_eq "stat after updates: usage lines" "families   3 / 8
series     4 / 32
processes  1 / 4 (0 attached, 0 dead, 1 exited)
shards     2 (stripes a series may gain)" "$(lines 5 8)"
check_eq "stat after updates: a block of 8 cells for each counter series, a line for each gauge" \
    "cells      16 / 4194304 words in the pool
gauges     2 / 1024 (a line per process each)
striped    0 stripe sets (0 refused)" "$(lines 10 12)"
check_eq "stat after updates: refused, abandoned, and the slots of the mostrecent set and of the two incs reclaimed at their exit" \
    "refused    0 (0 by a full filesystem)
abandoned  0
unplaced   0 native histogram observations (outside every bucket)
exemplars  0 dropped (slot busy), 0 slots taken over from dead writers
reclaimed  3" "$(lines 14 18)"
check_eq "stat after updates: blank line, then the process table header" "
  SLOT        PID STATE     ATTACHED" "$(lines 19 20)"
check_eq "stat after updates: one row (the mode-all set keeps its slot), nothing after" 21 "$(($(wc -l <"$tmp/out")))"
slot=0
for pid in "$p2"; do
    row=$(lines $((21 + slot)))
    want=$(printf '%6u %10u %-9s ' "$slot" "$pid" exited)
    check_eq "stat after updates: slot $slot is pid $pid, exited" "$want" "$(printf '%s\n' "$row" | cut -c 1-28)"
    attached=$(printf '%s\n' "$row" | cut -c 29-)
    check_true "stat after updates: slot $slot attached at $attached within $t0 .. $t1" \
        time_between "$attached" "$t0" "$t1"
    slot=$((slot + 1))
done

# A native histogram's dense range (--range): one CPU, so one stripe and its
# 8 spill slots; 16 bucket indexes outside (2^-2, 2^3] at schema 0 (0.0001
# below it, 100..8e6 above, 500 sharing 300's bucket): 8 spill, 8 unplaced.
A=$base-range
for v in 100 0.0001 200 300 500 1000 3000 5000 9000 20000 40000 80000 160000 1e6 2e6 4e6 8e6; do
    run taskset -c 0 "$CLI" observe --arena "$A" --native --schema 0 --range -2,3 lat "$v"
    check_rc "observe $v pinned to CPU 0: exit 0" 0
done
cli stat --arena "$A"
check_eq "stat: native observations no bucket took" \
    "unplaced   8 native histogram observations (outside every bucket)" "$(grep '^unplaced' "$tmp/out")"
cli dump --arena "$A" --format json
check_true "dump: the native buckets, 8 spilled, 8 unplaced" grep -qF \
    '"count":17,"sum":15319100.0001,"nan_count":0,"unplaced":8,"positive":[[-13,1],[7,1],[8,1],[9,2],[10,1],[12,1],[13,1],[14,1]]' \
    "$tmp/out"
cli observe --arena "$A" --native --schema 0 --range 3,2 lat2 1
check_failure "--range out of order" \
    "shmetrics: registering the histogram: histogram lat2: the native exponents 3..2 must be increasing and within -1075..1024 (Invalid argument)"
cli observe --arena "$A" --native --range 3 lat3 1
check_usage_error "--range without HI" "--range takes two whole numbers LO,HI (exponents of 2), not '3'"
cli observe --arena "$A" --native --range 1,x lat3 1
check_usage_error "--range with HI not a number" "--range takes two whole numbers LO,HI (exponents of 2), not '1,x'"
cli observe --arena "$A" --range 1,3 lat4 1
check_usage_error "--range without --native" "--range needs --native"
cli inc --arena "$A" --range 1,3 c 1
check_usage_error "--range on a counter" "--range is for histograms (shmetrics observe)"
rm -f "$A"

A=$base-full
cli create --arena "$A" --families 4 --series 8 --processes 1 --shards 1
cli set --arena "$A" --mode all g 1
cli_pid set --arena "$A" --mode all g 2
check_rc "a second set on a one-slot arena takes the exited slot back: exit 0" 0
cli dump --arena "$A"
check_eq "the exited process's mode-all sample gave way to the new one" "g{pid=\"$PID\"} 2" \
    "$(grep '^g{' "$tmp/out")"
cli stat --arena "$A"
check_eq "stat of a one-slot arena: nothing refused" "refused    0 (0 by a full filesystem)" \
    "$(grep '^refused' "$tmp/out")"
check_eq "stat of a one-slot arena: one slot reclaimed" "reclaimed  1" "$(grep '^reclaimed' "$tmp/out")"

cli stat --arena "$base-missing"
check_failure "stat of a missing arena" "no arena at $base-missing"
cli serve --arena "$base-missing" --listen 127.0.0.1:0
check_failure "serve of a missing arena" "shmetrics: opening the arena: no arena at $base-missing"
cli push --arena "$base-missing" --backend null --once
check_failure "push of a missing arena" "shmetrics: opening the arena: no arena at $base-missing"
cli stat --arena "$base-stat" extra
check_usage_error "stat with a stray argument" "unexpected argument extra"
cli stat --arena "$base-stat" --series 3
check_usage_error "stat --series" "unknown option --series"

if [ -w /dev/full ]; then
    run sh -c '"$0" stat --arena "$1" >/dev/full' "$CLI" "$base-stat"
    check_rc "stat to a full device: exit 1" 1
fi

# ------------------------------------------------------------------ reset

A=$base-reset
cli inc --arena "$A" --help "Jobs." jobs_total 3
cli observe --arena "$A" --help "Lat." --buckets 1 lat 0.5
cli set --arena "$A" --help "Level." --mode sum level 4
cli reset --arena "$A"
check_rc "reset: exit 0" 0
check_eq "reset: says so" "reset $A" "$OUT"
cli dump --arena "$A"
check_out "reset: every value is 0, the metrics stay" <<'EOF'
# HELP jobs_total Jobs.
# TYPE jobs_total counter
jobs_total 0
# HELP lat Lat.
# TYPE lat histogram
lat_bucket{le="1.0"} 0
lat_bucket{le="+Inf"} 0
lat_sum 0
lat_count 0
# HELP level Level.
# TYPE level gauge
level 0
EOF
cli inc --arena "$A" jobs_total 2
cli dump --arena "$A"
check_eq "reset: counting starts again" "jobs_total 2" "$(grep '^jobs_total ' "$tmp/out")"
cli reset --arena "$A" --unlink
check_eq "reset --unlink: says so" "reset and removed $A" "$OUT"
check_true "reset --unlink: the file is gone" test ! -e "$A"
cli reset --arena "$A"
check_failure "reset of a missing arena" "no arena at $A"
cli reset --arena "$A" --bogus 1
check_usage_error "reset --bogus" "unknown option --bogus"

# ------------------------------------------------------------ live modes

A=$base-live
for mode in livesum liveall livemin livemax livemostrecent; do
    cli set --arena "$A" --help "Live." --mode "$mode" "g_$mode" 3
    check_rc "set --mode $mode: exit 0" 0
done
cli dump --arena "$A"
check_eq "live modes: the setting processes exited, so no sample" "" "$(grep '^g_' "$tmp/out")"
cli set --arena "$A" --mode sum g_livesum 1
check_failure "a live mode is a mode of its own" "g_livesum is already registered with mode livesum, not sum"

# ------------------------------------------------------ SHMETRICS_ARENA

cli_env "$prefix-env" create --families 4 --series 8 --processes 2 --shards 1
check_rc "SHMETRICS_ARENA bare name: create exit 0" 0
check_eq "SHMETRICS_ARENA bare name: created under /dev/shm" "created $base-env: families=4 series=8 processes=2 shards=1 bytes=$(stat -c %s "$base-env" 2>/dev/null)" "$(printf '%s\n' "$OUT" | sed -n 1p)"
cli_env "$prefix-env" inc --help "From the environment." env_total 2
check_rc "SHMETRICS_ARENA: inc exit 0" 0
cli_env "$prefix-env" set --help "Also." env_gauge 7
check_rc "SHMETRICS_ARENA: set exit 0" 0
cli_env "$prefix-env" dump
check_rc "SHMETRICS_ARENA: dump exit 0" 0
check_out "SHMETRICS_ARENA: dump reads the same arena" <<'EOF'
# HELP env_total From the environment.
# TYPE env_total counter
env_total 2
# HELP env_gauge Also.
# TYPE env_gauge gauge
env_gauge 7
EOF
cli_env "$prefix-env" stat
check_eq "SHMETRICS_ARENA: stat names the arena" "arena      $base-env" "$(lines 1)"

cli_env "$prefix-env" dump --arena "$base-empty"
check_rc "--arena wins over SHMETRICS_ARENA: exit 0" 0
check_eq "--arena wins over SHMETRICS_ARENA: the empty arena is dumped" "" "$OUT"

for args in "create" "inc c_total" "set g 1" "dump" "stat"; do
    eval "set -- $args"
    cli "$@"
    check_usage_error "$1 with neither --arena nor SHMETRICS_ARENA" \
        "no arena: give --arena PATH or set SHMETRICS_ARENA"
    check_eq "$1 with neither --arena nor SHMETRICS_ARENA: nothing on stdout" "" "$OUT"
    cli_env "" "$@"
    check_usage_error "$1 with an empty SHMETRICS_ARENA" "SHMETRICS_ARENA"
done

# ------------------------------------------------- enums, info, units, created

A=$base-newtypes
cli set --arena "$A" --enum starting,running,stopped --help "Task state." state running
check_rc "set --enum: exit 0" 0
check_eq "set --enum: nothing on stdout or stderr" "" "$OUT$ERR"
cli set --arena "$A" --enum starting,running,stopped state paused
check_rc "set --enum, a state not in the list: exit 1" 1
check_eq "set --enum, a state not in the list: says which and what the states are" \
    "shmetrics: setting the state: enum state has no state 'paused' (its states: starting, running, stopped); the state is unchanged (Invalid argument)" "$ERR"
cli set --arena "$A" --enum starting,running state stopped
check_rc "set --enum, other states than the first use: exit 1" 1
check_eq "set --enum, other states than the first use: says so" \
    "shmetrics: registering the enum: state is already registered with 3 other states (first \"starting\") (File exists)" "$ERR"
cli set --arena "$A" --enum a,b --mode sum s a
check_usage_error "set --enum --mode" "--mode is for gauges, not with --enum"
cli set --arena "$A" --enum a,b s
check_usage_error "set --enum without STATE" "no STATE given"
cli inc --arena "$A" --enum a,b s
check_usage_error "inc --enum" "--enum is for shmetrics set"
cli info --arena "$A" --help "Build info." build version=1.2.3 host=a
check_rc "info: exit 0" 0
cli info --arena "$A" build version=2.0
check_rc "info, a new value set: exit 0" 0
cli info --arena "$A" --help "Per job." --label job=a jobinfo job=x
check_rc "info, a key that is one of its label names: exit 1" 1
check_eq "info, a key that is one of its label names: says so" \
    "shmetrics: setting the info: info jobinfo: overlapping labels: \"job\" is a label name of the metric (Invalid argument)" "$ERR"
cli info --arena "$A" --label job=a jobinfo owner=me
check_rc "info --label: exit 0" 0
cli info --arena "$A" build 1.2.3
check_usage_error "info, a value without a key" "unexpected argument 1.2.3"
cli info --arena "$A" --unit bytes build
check_usage_error "info --unit" "--unit is not for info metrics"
cli inc --arena "$A" --help "Bytes." --unit bytes sent_total 5
check_rc "inc --unit: exit 0" 0
cli observe --arena "$A" --help "Latency." --unit seconds --buckets 1 lat 0.5
check_rc "observe --unit: exit 0" 0
cli inc --arena "$A" --unit "by tes" x_total
check_rc "inc --unit, a bad unit: exit 1" 1
check_eq "inc --unit, a bad unit: says why" \
    "shmetrics: registering the counter: invalid unit \"by tes\" for x: it must be 1 to 64 bytes of [a-zA-Z0-9_:] (Invalid argument)" "$ERR"
cli dump --arena "$A" --format openmetrics
check_rc "types: dump --format openmetrics: exit 0" 0
check_out "types: stateset, info, UNIT lines (no creation times: the variable is set)" <<'EOF'
# TYPE state stateset
# HELP state Task state.
state{state="starting"} 0
state{state="running"} 1
state{state="stopped"} 0
# TYPE build info
# HELP build Build info.
build_info{version="2.0"} 1
# TYPE jobinfo info
# HELP jobinfo Per job.
jobinfo_info{job="a",owner="me"} 1
# TYPE sent_bytes counter
# UNIT sent_bytes bytes
# HELP sent_bytes Bytes.
sent_bytes_total 5
# TYPE lat_seconds histogram
# UNIT lat_seconds seconds
# HELP lat_seconds Latency.
lat_seconds_bucket{le="1.0"} 1
lat_seconds_bucket{le="+Inf"} 1
lat_seconds_sum 0.5
lat_seconds_count 1
# EOF
EOF
cli dump --arena "$A"
check_out "types: the 0.0.4 text types info and stateset as gauges" <<'EOF'
# HELP state Task state.
# TYPE state gauge
state{state="starting"} 0
state{state="running"} 1
state{state="stopped"} 0
# HELP build_info Build info.
# TYPE build_info gauge
build_info{version="2.0"} 1
# HELP jobinfo_info Per job.
# TYPE jobinfo_info gauge
jobinfo_info{job="a",owner="me"} 1
# HELP sent_bytes_total Bytes.
# TYPE sent_bytes_total counter
sent_bytes_total 5
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{le="1.0"} 1
lat_seconds_bucket{le="+Inf"} 1
lat_seconds_sum 0.5
lat_seconds_count 1
EOF

# Creation times: shown unless switched off, and moved by a reset.
before=$(date +%s)
run env -u PROMETHEUS_DISABLE_CREATED_SERIES "$CLI" dump --arena "$A" --format openmetrics
created=$(printf '%s\n' "$OUT" | sed -n 's/^sent_bytes_created \(.*\)$/\1/p')
check_eq "created: the counter's sample follows its _total" "sent_bytes_total 5
sent_bytes_created $created" "$(printf '%s\n' "$OUT" | grep '^sent_bytes_')"
check_true "created: a time of this run" awk -v c="$created" -v b="$before" 'BEGIN { exit !(c > b - 120 && c < b + 5) }'
check_eq "created: the histogram's after its _count" "lat_seconds_count 1
lat_seconds_created" "$(printf '%s\n' "$OUT" | grep '^lat_seconds_c' | sed 's/_created .*/_created/')"
check_eq "created: none for gauges, enums and info" "" "$(printf '%s\n' "$OUT" | grep -e '^state_created' -e '^build_created')"
run env -u PROMETHEUS_DISABLE_CREATED_SERIES "$CLI" dump --arena "$A" --format openmetrics --no-created
check_eq "created: dump --no-created leaves them out" "" "$(printf '%s\n' "$OUT" | grep _created)"
run env -u PROMETHEUS_DISABLE_CREATED_SERIES "$CLI" dump --arena "$A"
check_eq "created: the 0.0.4 text has none (as client_golang; a gauge family each would double the series)" "" \
    "$(printf '%s\n' "$OUT" | grep _created)"
sleep 1
cli reset --arena "$A"
check_rc "created: reset: exit 0" 0
run env -u PROMETHEUS_DISABLE_CREATED_SERIES "$CLI" dump --arena "$A" --format openmetrics
after=$(printf '%s\n' "$OUT" | sed -n 's/^sent_bytes_created \(.*\)$/\1/p')
check_true "created: a reset moves it" awk -v a="$after" -v c="$created" 'BEGIN { exit !(a > c + 0.5) }'
check_eq "created: after a reset the enum is in its first state, the info shows its value set" 'state{state="starting"} 1
build_info{version="2.0"} 1' "$(printf '%s\n' "$OUT" | grep -e '^state{state="starting"}' -e '^build_info')"

# ---------------------------------------------------------------- exemplars

E=$base-exemplars
before=$(date +%s)
cli inc --arena "$E" --exemplar trace_id=abc,span_id=s1 jobs_total queue=a 2
check_rc "exemplar: inc --exemplar: exit 0" 0
cli inc --arena "$E" --exemplar trace_id=t2 jobs_total queue=a
check_rc "exemplar: inc --exemplar without an amount: exit 0" 0
cli inc --arena "$E" jobs_total queue=a 5
cli inc --arena "$E" --exemplar 'trace_id=été' jobs_total queue=b 0.25
cli inc --arena "$E" --exemplar empty= jobs_total queue=c
cli observe --arena "$E" --buckets 0.1,1 --exemplar trace_id=h1 lat_seconds 0.05
check_rc "exemplar: observe --exemplar: exit 0" 0
cli observe --arena "$E" --buckets 0.1,1 --exemplar trace_id=h2 lat_seconds 0.5
cli observe --arena "$E" --buckets 0.1,1 --exemplar trace_id=h3 lat_seconds 0.75
cli observe --arena "$E" --buckets 0.1,1 --exemplar trace_id=h4 lat_seconds 7
cli observe --arena "$E" --buckets 0.1,1 lat_seconds 8
cli observe --arena "$E" --native --exemplar trace_id=n1 native_seconds 3
check_rc "exemplar: observe --native --exemplar: exit 0" 0
cli dump --arena "$E" --format openmetrics
check_rc "exemplar: dump: exit 0" 0
check_eq "exemplar: the last one per series and bucket, with its value (times aside)" \
    'jobs_total{queue="a"} 8 # {trace_id="t2"} 1
jobs_total{queue="b"} 0.25 # {trace_id="été"} 0.25
jobs_total{queue="c"} 1 # {empty=""} 1
lat_seconds_bucket{le="0.1"} 1 # {trace_id="h1"} 0.05
lat_seconds_bucket{le="1.0"} 3 # {trace_id="h3"} 0.75
lat_seconds_bucket{le="+Inf"} 5 # {trace_id="h4"} 7
native_seconds_bucket{le="+Inf"} 1 # {trace_id="n1"} 3' \
    "$(printf '%s\n' "$OUT" | grep ' # {' | sed 's/ [0-9.]*$//')"
ts=$(printf '%s\n' "$OUT" | sed -n 's/^jobs_total{queue="a"} 8 # {trace_id="t2"} 1 \([0-9.]*\)$/\1/p')
check_true "exemplar: its time is now" awk -v t="$ts" -v b="$before" 'BEGIN { exit !(t > b - 1 && t < b + 120) }'
cli dump --arena "$E"
check_eq "exemplar: not in the 0.0.4 text" "" "$(printf '%s\n' "$OUT" | grep ' # ')"

for bad in trace_id "trace_id=a,b" "" "a=1,"; do
    cli inc --arena "$E" --exemplar "$bad" jobs_total queue=a
    pair=${bad##*,}
    check_usage_error "exemplar: inc --exemplar '$bad'" \
        "shmetrics inc: --exemplar takes LABEL=VALUE pairs separated by commas: '$pair' is not one"
done
cli observe --arena "$E" --buckets 0.1,1 --exemplar nopair lat_seconds 1
check_usage_error "exemplar: observe --exemplar nopair" \
    "shmetrics observe: --exemplar takes LABEL=VALUE pairs separated by commas: 'nopair' is not one"
cli inc --arena "$E" --exemplar "$(printf 'a=,%.0s' $(seq 129) | sed 's/,$//')" jobs_total queue=a
check_usage_error "exemplar: 129 pairs" "shmetrics inc: --exemplar: more than 128 pairs"
cli inc --arena "$E" jobs_total queue=a --exemplar
check_usage_error "exemplar: --exemplar without its value" "shmetrics inc: --exemplar needs a value"
cli set --arena "$E" --exemplar t=1 temp 1
check_usage_error "exemplar: set --exemplar" \
    "shmetrics set: --exemplar is for counters and histograms (shmetrics inc, shmetrics observe)"
cli info --arena "$E" --exemplar t=1 build version=1
check_usage_error "exemplar: info --exemplar" \
    "shmetrics info: --exemplar is for counters and histograms (shmetrics inc, shmetrics observe)"
cli observe --arena "$E" --summary --exemplar t=1 rpc_seconds 1
check_usage_error "exemplar: observe --summary --exemplar" \
    "shmetrics observe: --exemplar is for histograms, not with --summary"

long=$(printf 'x%.0s' $(seq 128))
cli inc --arena "$E" --exemplar "a=$long" jobs_total queue=a
check_failure "exemplar: 129 characters" "shmetrics: incrementing with an exemplar: exemplar labels have 129 UTF-8 characters, exceeding the limit of 128 (Invalid argument)"
cli inc --arena "$E" --exemplar trace-id=1 jobs_total queue=a
check_failure "exemplar: a bad label name" "shmetrics: incrementing with an exemplar: exemplar label name \"trace-id\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*) (Invalid argument)"
cli inc --arena "$E" --exemplar a=1,a=2 jobs_total queue=a
check_failure "exemplar: a label twice" "shmetrics: incrementing with an exemplar: exemplar label a is given twice (Invalid argument)"
cli inc --arena "$E" --exemplar "a=$(printf 'x\377')" jobs_total queue=a
check_failure "exemplar: a value not UTF-8" "shmetrics: incrementing with an exemplar: exemplar label a: the value is not UTF-8 (Invalid argument)"
for v in nan inf -inf; do
    cli observe --arena "$E" --buckets 0.1,1 --exemplar t=1 lat_seconds "$v"
    check_failure "exemplar: observe $v" "shmetrics: observing with an exemplar: histogram observation with an exemplar: $v is "
done
cli observe --arena "$E" --buckets 0.1,1 --exemplar "a=$long" lat_seconds 0.5
check_failure "exemplar: observe, 129 characters" "shmetrics: observing with an exemplar: exemplar labels have 129 UTF-8 characters, exceeding the limit of 128 (Invalid argument)"
cli dump --arena "$E" --format openmetrics
check_eq "exemplar: refused ones count nothing" 'jobs_total{queue="a"} 8 # {trace_id="t2"} 1
lat_seconds_count 5' "$(printf '%s\n' "$OUT" | grep -e '^jobs_total{queue="a"}' -e '^lat_seconds_count' | sed '/ # {/s/ [0-9.]*$//')"

F=$base-exemplar-full
cli create --arena "$F" --cells 512
cli observe --arena "$F" --exemplar trace_id=x h 0.2
check_failure "exemplar: no room for the block" "shmetrics: observing with an exemplar: h: exemplar: arena full: the cell pool (4096 bytes) has no room for 8704 more for an exemplar block (create the arena with more --cells) (No space left on device)"
cli dump --arena "$F"
check_eq "exemplar: no room, counted all the same" "h_sum 0.2" "$(printf '%s\n' "$OUT" | grep '^h_sum')"

# ------------------------------------------------------------------ summary

tap_summary
