#!/usr/bin/env bash
# Run the benchmark against a private MariaDB; prints Markdown for
# docs/performance.md.   bench/run.sh [LATENESS-SECONDS [pipeline|failover|throughput [curve]]]
# (curve: CURVE on every endpoint, keys made for the run)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
dir="$root/build/bench-mariadb"
dsn=$(scripts/mariadb-private.sh start "$dir")
trap 'scripts/mariadb-private.sh stop "$dir"' EXIT
build/bin/norc_bench "$dsn" "$root/build/bin" --lateness-seconds "${1:-60}" ${2:+--only "$2"} \
    ${3:+--curve true}
