#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/make-seeds.sh - writes the seed corpus under tests/fuzz-corpus/:
# small real arenas made by the shmetrics command, metric specs, HTTP
# requests and negotiation headers.  The seeds are committed; run this
# again only to change them:
#
#   fuzz/make-seeds.sh build/src/cli/shmetrics
#
# Arena seeds are the file with its trailing zero bytes cut off (fuzz_arena
# extends an input to the size its header claims), and with header bytes
# 160..167 (reserved, unread by the library) set to the CLOCK_MONOTONIC
# time of their making, which fuzz_arena collects at: summary windows
# still hold what was observed.
set -eu

cli="$1"
root="$(cd "$(dirname "$0")/.." && pwd)/tests/fuzz-corpus"
mkdir -p "$root/arena" "$root/spec" "$root/http" "$root/negotiate"
a="/dev/shm/shmetrics-seed-$$"
trap 'rm -f "$a"' EXIT

# Cut trailing zeros and stamp the collection time into reserved bytes.
keep_arena() {
    /usr/bin/python3 - "$a" "$root/arena/$1" <<'EOF'
import struct, sys, time
data = bytearray(open(sys.argv[1], "rb").read())
data[160:168] = struct.pack("<Q", time.monotonic_ns())
end = len(data)
while end > 0 and data[end - 1] == 0:
    end -= 1
open(sys.argv[2], "wb").write(bytes(data[:end]))
EOF
    rm -f "$a"
}

small="--families 8 --series 32 --processes 4 --shards 1 --gauges 64"

# Counters, gauges in several modes, a histogram, labels with escapes.
"$cli" create --arena "$a" $small --cells 1024 >/dev/null
"$cli" inc --arena "$a" --help "Requests served." http_requests_total method=GET code=200 5 >/dev/null
"$cli" inc --arena "$a" --help "Requests served." http_requests_total method=POST code=500 0.25 >/dev/null
"$cli" set --arena "$a" --help "Queue depth." --mode all queue_depth queue=a 3 >/dev/null
"$cli" set --arena "$a" --help "Temperature." --mode max temp_celsius -2.5 >/dev/null
"$cli" set --arena "$a" --help "Last seen." last_seen_seconds 1700000000 >/dev/null
"$cli" observe --arena "$a" --help "Latency." --buckets 0.1,0.5,1,5 latency_seconds route=/x 0.3 >/dev/null
"$cli" inc --arena "$a" --help 'Line one
line two \ "quoted"' esc_total 'path=C:\dir "q"' 1 >/dev/null
"$cli" inc --arena "$a" --help "Unicode." unicode_total 'name=naïve ☃ 𝄞' 2 >/dev/null
keep_arena mixed

# A summary (five age buckets need room: 4099 cells each, plus three).
"$cli" create --arena "$a" $small --cells 21504 >/dev/null
"$cli" observe --arena "$a" --summary --help "Tokens." --quantiles 0.5,0.9,0.99 tokens model=m 12 >/dev/null
"$cli" observe --arena "$a" --summary --help "Tokens." --quantiles 0.5,0.9,0.99 tokens model=m 700 >/dev/null
"$cli" observe --arena "$a" --summary --help "Tokens." --quantiles 0.5,0.9,0.99 tokens model=m -3 >/dev/null
keep_arena summary

# Empty, and the smallest arena there is.
"$cli" create --arena "$a" $small --cells 512 >/dev/null
keep_arena empty
"$cli" create --arena "$a" --families 1 --series 1 --processes 1 --shards 1 --cells 512 >/dev/null
"$cli" inc --arena "$a" x_total 1 >/dev/null
keep_arena tiny

# Two shards and more processes.
"$cli" create --arena "$a" --families 4 --series 8 --processes 8 --shards 2 --cells 512 --gauges 64 >/dev/null
"$cli" inc --arena "$a" jobs_total queue=nightly 3 >/dev/null
"$cli" set --arena "$a" --mode sum workers 2 >/dev/null
"$cli" set --arena "$a" --mode sum workers 5 >/dev/null
keep_arena shards

# Info, enum (stateset) and units: layout 4's strings and creation times.
"$cli" create --arena "$a" $small --cells 512 >/dev/null
"$cli" set --arena "$a" --enum starting,running,stopped --help "Task state." state running >/dev/null
"$cli" info --arena "$a" --help "Build info." build version=1.2.3 host=a >/dev/null
"$cli" info --arena "$a" build version=2.0 >/dev/null
"$cli" inc --arena "$a" --unit bytes --help "Sent." sent_total 5 >/dev/null
"$cli" observe --arena "$a" --unit seconds --buckets 0.1,1 lat 0.3 >/dev/null
keep_arena types

# Native histograms (layout 5): a native-only one with a zero, a negative
# value and an infinity (a spill slot), and one of both kinds.
"$cli" create --arena "$a" $small --cells 8192 >/dev/null
"$cli" observe --arena "$a" --native --schema 0 --help "Native." nat 3 >/dev/null
"$cli" observe --arena "$a" --native --schema 0 nat -0.5 >/dev/null
"$cli" observe --arena "$a" --native --schema 0 nat 0 >/dev/null
"$cli" observe --arena "$a" --native --schema 0 nat +Inf >/dev/null
"$cli" observe --arena "$a" --native --schema 2 --max-buckets 4 --buckets 1,10 both 7 >/dev/null
keep_arena native

# Exemplars (blocks in the pool: a counter's, a classic and a native
# histogram's buckets) and a native dense range with spill slots in use.
"$cli" create --arena "$a" $small --cells 8192 >/dev/null
"$cli" inc --arena "$a" --exemplar trace_id=4bf92f3577b34da6a3ce929d0e0e4736 --help "Jobs." ex_jobs_total 2 >/dev/null
"$cli" observe --arena "$a" --buckets 0.1,1 --exemplar 'trace_id=abc,span=☃' ex_lat 0.5 >/dev/null
"$cli" observe --arena "$a" --native --schema 1 --range -1,1 --exemplar trace_id=n1 ex_nat 0.75 >/dev/null
"$cli" observe --arena "$a" --native --schema 1 --range -1,1 --exemplar trace_id=n2 ex_nat 300 >/dev/null
"$cli" observe --arena "$a" --native --schema 1 --range -1,1 ex_nat -0.001 >/dev/null
keep_arena exemplars

# Worker mode (header byte 168, bit 0: fuzz_arena then writes too) on
# three of the arenas above.
for s in empty mixed summary types exemplars; do
    /usr/bin/python3 - "$root/arena/$s" "$root/arena/$s-then-write" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
data += bytes(max(0, 169 - len(data)))
data[168] |= 1
open(sys.argv[2], "wb").write(bytes(data))
EOF
done

# Family records patched the way fuzzing once found crashes (the header's
# off_families at byte 96; a family record is 128 bytes: name_off at 16,
# name_len at 20, max_series at 84).
patch_families() { # patch_families NAME STATEMENTS (f(i): the offset of record i)
    /usr/bin/python3 - "$a" "$2" <<'EOF'
import struct, sys
path, code = sys.argv[1], sys.argv[2]
data = bytearray(open(path, "rb").read())
base = struct.unpack_from("<Q", data, 96)[0]
def f(i):
    return base + 128 * i
def get(off):
    return struct.unpack_from("<I", data, off)[0]
def put(off, v):
    struct.pack_into("<I", data, off, v)
exec(code)
open(path, "wb").write(bytes(data))
EOF
    keep_arena "$1"
}
# Two families of one name: the second record names the first's string.
"$cli" create --arena "$a" $small --cells 512 >/dev/null
"$cli" inc --arena "$a" x_total 1 >/dev/null
"$cli" set --arena "$a" y 2 >/dev/null
patch_families dup-family-names 'put(f(1) + 16, get(f(0) + 16)); put(f(1) + 20, get(f(0) + 20))'
# A worker (byte 168) whose label set overflows fz_c_total, and whose count
# of that overflows shmetrics_cardinality_overflow too: both records say
# one label set at most, and each has one.
"$cli" create --arena "$a" $small --cells 512 >/dev/null
"$cli" inc --arena "$a" fz_c_total k=x 1 >/dev/null
"$cli" inc --arena "$a" shmetrics_cardinality_overflow_total metric=other 1 >/dev/null
patch_families self-count-recursion 'put(f(0) + 84, 1); put(f(1) + 84, 1); data[168] |= 1'

# Specs: control bytes, namespace, subsystem, name, help, label names
# (\001-separated), label value sets (\002 between sets), buckets,
# quantiles, max age, min interval; fields NUL-separated.
spec() {
    name="$1"
    shift
    printf "$@" >"$root/spec/$name"
}
spec counter '\000\000\000\000\000\000app\000\000requests_total\000Requests served.\000method\001code\000GET\001200\002POST\001500\000\000\000\000'
spec gauge_all '\001\000\000\000\000\000\000\000queue_depth\000Depth\nof the queue.\000queue\000a\002b\000\000\000\000'
spec gauge_modes '\001\004\000\000\020\000ns\000sub\000temp\000h\000zone\000north\002south\000\000\000\000\0000.1'
spec histogram '\002\000\000\000\000\000\000\000latency_seconds\000Latency.\000route\000/x\002/y\0000.005 0.01 0.1 1 10 +Inf\000\000\000'
spec histogram_default '\002\000\000\000\002\000\000\000size_bytes\000\000\000\002\000\000\000\000'
spec summary '\003\000\005\000\000\000\000\000tokens\000Tokens.\000model\000m\0020.5 0.9\0000.5 0.9 0.99\00060\000'
spec summary_window '\003\000\002\000\004\000\000\000ttft\000\000\000\002\000\000\000\0000.002\000'
spec bad_names '\000\000\000\000\000\0009ns\000sub-x\000na me\000\377\376\000__x\001le\001a\001a\000v\000\000\000\000'
spec overflow '\000\000\000\002\020\000\000\000limited_total\000\000k\000a\002b\002c\002d\000\000\000\000'
spec unicode '\000\000\000\000\000\000\000\000unicode_total\000h\303\251lp \342\230\203\000name\000na\303\257ve \360\235\204\236\002\355\240\200\000\000\000\000'

# HTTP requests, raw.
req() {
    name="$1"
    shift
    printf "$@" >"$root/http/$name"
}
req get 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
req openmetrics 'GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n\r\n'
req gzip 'GET /metrics?format=json HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate;q=0\r\n\r\n'
req head 'HEAD /healthz HTTP/1.0\r\n\r\n'
req post 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
req chunked 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
req expect_post 'POST / HTTP/1.1\r\nExpect: 100-continue\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
req expect_get 'GET /healthz HTTP/1.1\r\nExpect: 100-continue\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
# Found by fuzz_http: a 100 Continue was sent before a 405.
req expect_misspelt_te 'POST / HTTP/1.1\r\nExpect: 100-continue\r\nHost: x\r\nTransfer-En/GET \001"ecoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
req bad_format 'GET /metrics?format=xml HTTP/1.1\r\nHost: x\r\n\r\n'
req pipelined 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics?format=openmetrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
req bad_version 'GET /metrics HTTP/9.9\r\n\r\n'
req no_version 'GET /metrics\r\n\r\n'
req garbage '\026\003\001\002\000\001\000\001\374\003\003'

# Negotiation: control byte, ?format=, Accept, Accept-Encoding.
neg() {
    name="$1"
    shift
    printf "$@" >"$root/negotiate/$name"
}
neg prometheus_accept '\001\000\000application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\000gzip'
neg format_json '\000json\000text/plain\000identity'
neg prometheus_protobuf '\001\000\000application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\000gzip'
neg protobuf_text '\001\000\000application/vnd.google.protobuf; proto="io.prometheus.client.MetricFamily"; encoding=text;q=0.9\000'
neg wildcards '\001\000*/*;q=0.2, application/*;q=0.3,text/*\000*;q=0.5, gzip;q=0'
neg none '\007'
neg odd_q '\001\000application/openmetrics-text; q=nan , text/plain ;q=1e400\000GZIP ; q = 0.001'
