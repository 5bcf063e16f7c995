#!/usr/bin/env bash
# One scheduler and many schedules (daily, spread over the day, written
# straight into the record before it starts): how long until all are
# claimed and armed, its RSS, what holding them costs the record each
# second, and the lateness of ticks due meanwhile. Prints Markdown for
# docs/performance.md.
#   bench/schedules.sh [SCHEDULES...]      (default: 10 100000 1000000)
set -euo pipefail
. "$(dirname "$0")/prepare.sh" bench-schedules-mariadb
trap 'scripts/mariadb-private.sh stop "$bench_db"; rm -rf "$bench_db"' EXIT
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(10 100000 1000000)
for n in "${counts[@]}"; do
    build/bin/norc_bench_schedules "$dsn" "$root/build/bin" --schedules "$n" | { [ "$n" = "${counts[0]}" ] && cat || tail -n 1; }
done
