#!/usr/bin/env bash
# Install what is missing, build, and run Norc locally against a private
# MariaDB that this script starts (under build/run/). Ctrl-C stops it all.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

rundir="$root/build/run"
mkdir -p "$rundir"
dsn=$(scripts/mariadb-private.sh start "$rundir/mariadb")
cleanup () { scripts/mariadb-private.sh stop "$rundir/mariadb"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
export NORC_DB_URL="${dsn}norc"
norcctl="$root/build/bin/norcctl"

echo "== MariaDB at $NORC_DB_URL (private, under $rundir)"
"$norcctl" db migrate
echo "== the demo schedule's next fire times (every 5 s as cron: */5 * * * * *)"
"$norcctl" cron next '*/5 * * * * *' -n 5
echo "== and a cron in New York across the spring-forward gap"
"$norcctl" cron next '30 2 * * *' --tz America/New_York --from 2026-03-07T12:00:00-05:00 -n 3
echo
echo "Norc's database is up; press Ctrl-C to stop."
while true; do sleep 3600; done
