#!/usr/bin/env bash
# Run the benchmark against a private MariaDB, then Celery with a Redis
# broker on the same work in the same sitting; prints Markdown for
# docs/performance.md and writes the figures (norc.json, celery.json,
# results.json), their samples and PNG plots to OUT (build/bench-results,
# or NORC_BENCH_OUT).
#   bench/run.sh [LATENESS-SECONDS [pipeline|failover|throughput|lateness|memory [curve]]]
# (one part alone: no Celery; curve: CURVE on every endpoint, keys made for the run)
set -euo pipefail
. "$(dirname "$0")/prepare.sh" bench-mariadb
out=${NORC_BENCH_OUT:-$root/build/bench-results}
rm -rf "$out" && mkdir -p "$out"
build/bin/norc_bench "$dsn" "$root/build/bin" --lateness-seconds "${1:-60}" ${2:+--only "$2"} \
    ${3:+--curve true} --out "$out"
[ -z "${2:-}" ] || exit 0
# The peer: Debian's Celery, Redis and matplotlib (the system Python's)
need=()
for p in python3-celery python3-redis redis-server python3-matplotlib; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
[ ${#need[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
read -r count quarter < <(/usr/bin/python3 -c '
import json, sys
n = json.load(open(sys.argv[1]))
print(int(n["throughput_count"]), int(n["lateness_quarter_rate"]))' "$out/norc.json")
/usr/bin/python3 bench/celery_peer.py "$out" --count "$count" --concurrency 8 --rate "100,$quarter" \
    --seconds "$(( ${1:-60} / 2 ))" --beat-seconds 30 >/dev/null
/usr/bin/python3 bench/report.py "$out"
