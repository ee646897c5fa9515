#!/bin/sh
# Builds libpvio_dmadev.so into $1 (the bundle's linux-x86-64/ resource folder) with gcc and
# pkg-config libdpdk. Without them it says so and builds nothing: the dmadev engine is then refused at
# run time with the same explanation.
out="$1"
src="$(dirname "$0")/pvio_dmadev.c"
missing=""
command -v gcc >/dev/null 2>&1 || missing="gcc"
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
if [ -z "$missing" ] && ! pkg-config --exists libdpdk; then
    missing="DPDK's headers (pkg-config libdpdk: install dpdk-dev)"
fi
if [ -n "$missing" ]; then
    echo "[dma-dmadev] WARNING: NOT building the dmadev shim: missing $missing."
    echo "[dma-dmadev] WARNING: the bundle is built without libpvio_dmadev.so; engine=dmadev will be refused."
    exit 0
fi
mkdir -p "$out" || exit 1
set -x
# dmadev is still an experimental API in DPDK 22.11
exec gcc -O2 -g -Wall -Werror -DALLOW_EXPERIMENTAL_API -fPIC -shared -o "$out/libpvio_dmadev.so" "$src" \
    $(pkg-config --cflags libdpdk) $(pkg-config --libs libdpdk)
