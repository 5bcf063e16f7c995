#!/usr/bin/env bash
# Install what is missing, build, and run Norc on this machine: a private
# MariaDB (under build/run/), the status-aggregator, the log-archiver, a
# scheduler and one executor on DemoQueue with 5 slots. Registers the
# original's demo (DemoTask: echo 'Demo successful!', every 5 s for 5
# repetitions) if it is not there, and follows the event stream.
# Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

run="$root/build/run"
mkdir -p "$run/logs" "$run/spool"
dsn=$(scripts/mariadb-private.sh start "$run/mariadb")
pids=()
cleanup () {
    trap - EXIT INT TERM
    echo
    echo "== stopping Norc"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    scripts/mariadb-private.sh stop "$run/mariadb"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export NORC_DB_URL="${dsn}norc"
export NORC_LOG_DIR="$run/logs" NORC_SPOOL_DIR="$run/spool"
for key in AGGREGATOR_EVENTS AGGREGATOR_API AGGREGATOR_STREAM SCHEDULER_DISPATCH ARCHIVER_LOGS ARCHIVER_FETCH; do
    name=$(echo "$key" | tr 'A-Z_' 'a-z-')
    export "NORC_$key=ipc://$run/$name.ipc"
done
bin="$root/build/bin"
ctl="$bin/norcctl"

echo "== MariaDB at $NORC_DB_URL (private, under $run)"
"$ctl" db migrate
"$bin/norc-aggregator" >>"$run/aggregator.log" 2>&1 & pids+=($!)
"$bin/norc-archiver" >>"$run/archiver.log" 2>&1 & pids+=($!)
"$bin/norc-scheduler" >>"$run/scheduler.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do "$ctl" queue list --api-timeout_ms 200 >/dev/null 2>&1 && break; sleep 0.1; done

"$ctl" queue list --json | grep -q '"DemoQueue"' || "$ctl" queue add DemoQueue
"$ctl" task show DemoTask >/dev/null 2>&1 || "$ctl" task add DemoTask --command "echo 'Demo successful!'"
"$bin/norc-executor" DemoQueue -c 5 >>"$run/executor.log" 2>&1 & pids+=($!)
if ! "$ctl" schedule list --all --json | grep -q '"task": "DemoTask"'; then
    "$ctl" schedule add DemoTask --queue DemoQueue --period 5 --reps 5
fi
cat <<EOT

Norc is running (service output in $run/*.log). In another terminal:
    export $(env | grep '^NORC_' | tr '\n' ' ')
    $ctl status
    $ctl logs 1
Following the event stream; Ctrl-C stops everything.

EOT
"$ctl" events &
pids+=($!)
wait "${pids[-1]}"
