#!/usr/bin/env bash
# Install, with apt-get, the Debian packages Norc needs that are not installed
# yet. Safe to run again: it installs only what is missing.
#
#   scripts/install-deps.sh          everything to build, test and run here
#   scripts/install-deps.sh build    what an image's build stage needs
#   scripts/install-deps.sh runtime  what an image's runtime stage needs
#   scripts/install-deps.sh list GROUP...  print the packages of those groups
set -euo pipefail

BUILD=(build-essential cmake pkg-config libzmq3-dev libczmq-dev libmsgpack-dev libmariadb-dev
       libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libsodium-dev)
RUNTIME=(libzmq5 libczmq4 libmsgpackc2 libmariadb3 libcurl4 libjansson4 libmicrohttpd12 libsodium23 tzdata ca-certificates)
TEST=(python3 python3-pip python3-selenium chromium chromium-driver libcriterion-dev mariadb-server mariadb-client clang libclang-rt-14-dev curl prometheus)

if [ "${1:-}" = list ]; then
    shift
    for g in "$@"; do
        case $g in build) echo "${BUILD[*]}" ;; runtime) echo "${RUNTIME[*]}" ;; test) echo "${TEST[*]}" ;; esac
    done | tr '\n' ' '
    echo
    exit 0
fi

case "${1:-all}" in
    build) PACKAGES=("${BUILD[@]}") ;;
    runtime) PACKAGES=("${RUNTIME[@]}") ;;
    all) PACKAGES=("${BUILD[@]}" "${RUNTIME[@]}" "${TEST[@]}") ;;
    *) echo "usage: install-deps.sh [all|build|runtime]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Packages with a daemon (prometheus: the tests use its promtool and run
# their own server) are installed without starting it
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ "${1:-all}" != "all" ]; then
    $SUDO rm -rf /var/lib/apt/lists/*
fi
