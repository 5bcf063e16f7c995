#!/usr/bin/env bash
# Install, with apt-get, every Debian package Norc needs to build, test and run
# that is not installed yet. Safe to run again: it installs only what is missing.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config python3
    libzmq3-dev libczmq-dev libmsgpack-dev libmariadb-dev
    libcurl4-openssl-dev libcriterion-dev
    mariadb-server mariadb-client tzdata
    clang libclang-rt-14-dev
)

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
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
