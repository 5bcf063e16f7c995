#!/usr/bin/env bash
# The API at scale against a private MariaDB: prints Markdown for
# docs/performance.md.   bench/lists.sh [SCHEDULES [INSTANCES [ROUNDS]]]
# (1,000,000 schedules and 10,000,000 instances by default: about 2 GB of
# database under build/, a 2 GiB buffer pool, and some minutes to write them)
set -euo pipefail
NORC_MARIADB_BUFFER_POOL=2G . "$(dirname "$0")/prepare.sh" bench-lists-mariadb
trap 'scripts/mariadb-private.sh stop "$bench_db"; rm -rf "$bench_db"' EXIT
build/bin/norc_bench_lists "$dsn" "$root/build/bin" --schedules "${1:-1000000}" --instances "${2:-10000000}" \
    --rounds "${3:-20}"
