#!/usr/bin/env bash
# Make, on a machine that cannot pull images, the images the compose test
# needs, from the Debian package sources this machine's apt already uses:
#
#   debian:bookworm-slim      a bookworm base made with debootstrap and
#                             imported, tagged with the official name so the
#                             Dockerfile's FROM resolves locally. It already
#                             carries the packages Norc's image stages
#                             install, so no image build needs the network.
#   norc-test/mariadb:10.11   a MariaDB server on that base, with the official
#                             image's environment variables and healthcheck.sh
#
# Each is made only when missing. Run as root (debootstrap).
#   deploy/docker/make-test-images.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${1:-$root/build/docker}
base=debian:bookworm-slim
mariadb=norc-test/mariadb:10.11

if ! docker image inspect "$base" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    # The mirror this machine's apt uses
    mirror=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
             | grep -v security | head -1 | sed -E 's/^URIs: *//; s/^deb +(\[[^]]*\] +)?//; s/ .*//' || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    packages=$("$root/scripts/install-deps.sh" list build runtime | xargs | tr ' ' ',')
    rootfs=$work/rootfs
    rm -rf "$rootfs"
    mkdir -p "$work"
    echo "make-test-images: debootstrap bookworm from $mirror (a few minutes)"
    debootstrap --variant=minbase --include="$packages,mariadb-server,mariadb-client" \
        bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    # The same package sources as this machine, as the official image has
    cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
    if [ -s /etc/apt/sources.list ]; then cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"; fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
    rm -rf "$rootfs"
    echo "make-test-images: $base imported"
fi

if ! docker image inspect "$mariadb" >/dev/null 2>&1; then
    mkdir -p "$work"
    docker build -t "$mariadb" "$here/mariadb-test" >"$work/mariadb-build.log" 2>&1 \
        || { tail -20 "$work/mariadb-build.log" >&2; exit 1; }
    echo "make-test-images: $mariadb built"
fi
