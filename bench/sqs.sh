#!/usr/bin/env bash
# A queue across sites through SQS (moto's server, PyPI moto[server]) beside
# a db queue, and with --kill the bridges and the remote executor killed -9
# while ticks come due: prints Markdown for docs/performance.md.
#   bench/sqs.sh [TICKS [RATE [IDLE-SECONDS]]] [--disconnected] [--kill]
set -euo pipefail
. "$(dirname "$0")/prepare.sh" bench-sqs-mariadb
trap 'scripts/mariadb-private.sh stop "$bench_db"; rm -rf "$bench_db"' EXIT
flags=()
args=()
for a in "$@"; do
    case "$a" in --kill|--disconnected) flags+=("$a") ;; *) args+=("$a") ;; esac
done
build/bin/norc_bench_sqs "$dsn" "$root/build/bin" --ticks "${args[0]:-2000}" --rate "${args[1]:-20}" \
    --idle "${args[2]:-60}" ${flags[@]+"${flags[@]}"}
