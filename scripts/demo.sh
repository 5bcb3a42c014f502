#!/bin/sh
# The end-to-end example behind `make demo`: four worker processes update one
# arena at the same time, then the collector side reads it.
set -eu
BUILD=${1:-build}
ARENA=/dev/shm/shmetrics-demo-$$
CLI=$BUILD/src/cli/shmetrics
trap 'rm -f "$ARENA"' EXIT INT TERM

echo "== 4 worker processes x 250000 simulated requests into $ARENA"
"$BUILD/examples/workers" "$ARENA" 4 250000
echo
echo "== shmetrics dump --arena $ARENA   (what Prometheus would scrape)"
"$CLI" dump --arena "$ARENA"
echo
echo "== shmetrics stat --arena $ARENA"
"$CLI" stat --arena "$ARENA"
echo
echo "demo_requests_total sums to 4 x 250000 = 1000000 across the ok and error series."
