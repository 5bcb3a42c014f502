#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs the Debian packages shmetrics needs to build, test, demo and
# benchmark (g++, prometheus-cpp-dev, gnuplot-nox and its
# fonts are for make bench only), then the npm packages of the push tests
# (tests/npm: the StatsD daemon and the OpenTelemetry decoder, pinned with
# their integrity hashes in tests/npm/package-lock.json) into
# tests/npm/node_modules, so that the tests themselves fetch nothing.
# Idempotent: it asks dpkg first and only calls apt-get for what is missing,
# and runs npm ci only when node_modules does not match the lock file.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# npm ci writes node_modules/.package-lock.json; a copy of the lock file
# beside it says which lock file it was installed from.
npm_deps() {
    npm_dir="$ROOT/tests/npm"
    stamp="$npm_dir/node_modules/.installed-from-lock.json"
    if [ -f "$stamp" ] && cmp -s "$stamp" "$npm_dir/package-lock.json"; then
        echo "install-deps: the push tests' npm packages are present (tests/npm/node_modules)"
        return 0
    fi
    echo "install-deps: npm ci --prefix tests/npm"
    npm ci --prefix "$npm_dir" --no-audit --no-fund --loglevel=error
    cp "$npm_dir/package-lock.json" "$stamp"
}

# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes) build
# the fuzz targets (make fuzz, and the smoke run of make test); util-linux
# (setpriv, mount) serves the filesystem-fault and many-core tests;
# clang-format and git serve the style check (scripts/style.sh).
# libyaml-dev, libgnutls28-dev and libcrypt-dev build the collector's web
# configuration (TLS, basic auth); openssl makes the certificates of its
# test (tests/tls_test.py).  groff-base and man-db render the manual pages
# in their test (tests/man_test.py); systemd's systemd-analyze checks the
# collector's unit (tests/systemd_test.py).  python3-mesonpy, python3-venv
# and python3-pip build and install the wheel (pip install
# --no-build-isolation ., tests/pip_test.sh).  libncurses-dev draws shmetrics
# top; tmux runs its full-screen view in tests/top_test.py.
# prometheus-pushgateway receives the pushes of the prometheus_client
# module's push_to_gateway in its test; python3-asgiref is what
# prometheus_client's own tests/test_asgi.py drives make_asgi_app with.
PKGS="meson ninja-build pkg-config gcc libc6-dev
liburcu-dev libcriterion-dev libmicrohttpd-dev
libyaml-dev libgnutls28-dev libcrypt-dev openssl
prometheus python3 python3-dev python3-pytest python3-prometheus-client zlib1g-dev
libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler libsnappy-dev
g++ prometheus-cpp-dev gnuplot-nox fonts-dejavu-core
clang libclang-rt-14-dev util-linux clang-format git
groff-base man-db systemd python3-mesonpy python3-venv python3-pip
libncurses-dev tmux prometheus-pushgateway python3-asgiref"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

# The push tests' StatsD daemon and OpenTelemetry decoder come from npm
# (npm_deps below); Debian's nodejs and npm unless npm is there.
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
    echo "install-deps: all build and test packages are present"
    npm_deps
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi

echo "install-deps: installing with apt-get:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
npm_deps
