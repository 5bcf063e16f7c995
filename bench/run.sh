#!/usr/bin/env bash
# Run the benchmark against a private MariaDB; prints Markdown for
# docs/performance.md.   bench/run.sh [LATENESS-SECONDS [pipeline|failover|throughput [curve]]]
# (curve: CURVE on every endpoint, keys made for the run)
set -euo pipefail
. "$(dirname "$0")/prepare.sh" bench-mariadb
build/bin/norc_bench "$dsn" "$root/build/bin" --lateness-seconds "${1:-60}" ${2:+--only "$2"} \
    ${3:+--curve true}
