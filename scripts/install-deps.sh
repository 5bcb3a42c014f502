#!/bin/sh
# Installs the Debian packages shmetrics needs to build, test and demo.
# Idempotent: it asks dpkg first and only calls apt-get for what is missing.
set -eu

# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes) build
# the fuzz targets (make fuzz, and the smoke run of make test); util-linux
# (setpriv, mount) serves the filesystem-fault tests.
PKGS="meson ninja-build pkg-config gcc libc6-dev
liburcu-dev libcriterion-dev libmicrohttpd-dev
prometheus python3 python3-prometheus-client zlib1g-dev
clang libclang-rt-14-dev util-linux"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all build and test packages are present"
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
