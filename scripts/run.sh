#!/usr/bin/env bash
# Install what is missing, build, and run Norc on this machine: a private
# MariaDB (under build/run/), the status-aggregator, the log-archiver, a
# scheduler, one executor on DemoQueue with 5 slots, and norc-web (the page
# and the HTTP API on 127.0.0.1:8080; its login printed at the end). Registers the
# original's demo (DemoTask: echo 'Demo successful!', every 5 s for 5
# repetitions) if it is not there, and follows the event stream, with each
# demo run's output. Ctrl-C stops everything, in order: the executor
# (it drains), the scheduler, the archiver, the aggregator, MariaDB.
#
#   NORC_RUN_DIR        the private MariaDB, sockets and logs (default build/run)
#   NORC_BIN_DIR        the programs (default build/bin)
#   NORC_RUN_NO_BUILD=1 install and build nothing (the programs are there)
#   NORC_DEMO_PERIOD, NORC_DEMO_REPS   the demo schedule (default 5 s, 5 times)
#   NORC_SECURITY_CURVE=true   CURVE on every endpoint, with keys made under
#                       NORC_RUN_DIR/keys at the first start (docs/security.md)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step () { printf '\n[%s/5] %s\n' "$1" "$2"; }

if [ -z "${NORC_RUN_NO_BUILD:-}" ]; then
    step 1 "dependencies: Debian packages, installed with apt-get when missing"
    scripts/install-deps.sh
    echo "    all there"
    step 2 "build: cmake into build/ (the first build takes a minute or two)"
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    # Progress on one line, the errors in full if it fails
    if ! cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >build/build.log 2>&1 \
            < /dev/null; then
        grep -E 'error|Error' build/build.log | head -40
        exit 1
    fi &
    build_pid=$!
    while kill -0 "$build_pid" 2>/dev/null; do
        pct=$(grep -oE '^\[ *[0-9]+%\]' build/build.log 2>/dev/null | tail -1 | tr -dc '0-9')
        printf '\r    %s%% built' "${pct:-0}"
        sleep 0.5
    done
    wait "$build_pid"
    printf '\r    100%% built\n'
fi

run=${NORC_RUN_DIR:-$root/build/run}
bin=${NORC_BIN_DIR:-$root/build/bin}
ctl="$bin/norcctl"
mkdir -p "$run/logs" "$run/spool"
chmod 700 "$run"                # its ipc endpoints: this user only
step 3 "database: a private MariaDB under $run/mariadb (its first start creates it)"
dsn=$(scripts/mariadb-private.sh start "$run/mariadb")
echo "    $dsn (the same port on every start while it is free)"

executors=() others=() printer=""
s_stop () {
    # TERM, then wait for each to end: what it reports on the way out is
    # recorded while the aggregator still runs
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "$@"; do
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
cleanup () {
    trap - EXIT INT TERM
    set +e
    echo
    echo "== stopping Norc: executor (draining), norc-web, scheduler, archiver, aggregator, MariaDB"
    if [ -n "$printer" ]; then kill -TERM "$printer" 2>/dev/null; fi
    s_stop "${executors[@]}"
    # others: aggregator, archiver, scheduler; stopped in the reverse order
    for ((i = ${#others[@]} - 1; i >= 0; i--)); do s_stop "${others[$i]}"; done
    scripts/mariadb-private.sh stop "$run/mariadb"
    rm -f "$run/pids"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export NORC_DB_URL="${dsn}norc"
export NORC_LOG_DIR="$run/logs" NORC_SPOOL_DIR="$run/spool"
for key in AGGREGATOR_EVENTS AGGREGATOR_API AGGREGATOR_STREAM SCHEDULER_DISPATCH ARCHIVER_LOGS ARCHIVER_FETCH; do
    name=$(echo "$key" | tr 'A-Z_' 'a-z-')
    export "NORC_$key=ipc://$run/$name.ipc"
done

# CURVE (NORC_SECURITY_CURVE=true): a key pair for each service and an
# admin's for norcctl, made at the first start under $run/keys; the
# aggregator and the scheduler add them to the registry of principals
if [ "${NORC_SECURITY_CURVE:-false}" = true ]; then
    export NORC_SECURITY_KEYS_DIR="$run/keys"
    for name in aggregator archiver scheduler executor web norcctl; do
        role=""
        [ "$name" = norcctl ] && role="--role admin"
        [ "$name" = web ] && role="--role web"
        [ -e "$run/keys/$name.key_secret" ] \
            || "$ctl" --security.curve false keys gen "$name" --dir "$run/keys" $role >/dev/null
    done
    echo "    CURVE on: key pairs in $run/keys (norcctl's is an admin's; docs/security.md)"
fi

step 4 "services: status-aggregator, log-archiver, scheduler, executor on DemoQueue, norc-web (logs: $run/*.log)"
"$ctl" db migrate | sed 's/^/    /'
# Each service runs in a session of its own: Ctrl-C reaches this script
# alone, which stops them in order
s_start () {
    local log=$1; shift
    setsid "$@" >>"$run/$log.log" 2>&1 < /dev/null &
    echo $! >>"$run/pids"
}
s_start aggregator "$bin/norc-aggregator"; others+=($!)
s_start archiver "$bin/norc-archiver"; others+=($!)
s_start scheduler "$bin/norc-scheduler"; others+=($!)
for _ in $(seq 1 100); do "$ctl" queue list --api-timeout_ms 200 >/dev/null 2>&1 && break; sleep 0.1; done
echo "    aggregator, archiver and scheduler answer"
"$ctl" queue list --json | grep -q '"DemoQueue"' || "$ctl" queue add DemoQueue | sed 's/^/    /'
"$ctl" task show DemoTask >/dev/null 2>&1 \
    || "$ctl" task add DemoTask --command "echo 'Demo successful!'" | sed 's/^/    /'
s_start executor "$bin/norc-executor" DemoQueue -c 5; executors+=($!)
echo "    executor on DemoQueue with 5 slots"
# The page (norc-web), and its login: a local user admin whose password is
# made at the first start, kept in $run/web-password (this user's only)
export NORC_WEB_LISTEN=${NORC_WEB_LISTEN:-127.0.0.1:8080}
s_start web "$bin/norc-web"; others+=($!)
password_file="$run/web-password"
if [ ! -s "$password_file" ]; then
    (umask 077; head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 >"$password_file")
fi
"$ctl" user list --json | grep -q '"name": "admin"' \
    || "$ctl" user add admin --role admin <"$password_file" | sed 's/^/    /'
echo "    the page: http://$NORC_WEB_LISTEN/"

step 5 "demo: the event stream, and each demo run's output"
# The stream first, so that every demo run is on screen; each DemoTask run
# that ends has its output printed under it
s_show_output () {
    while IFS= read -r line; do
        echo "$line"
        case $line in
        *'"topic": "instance.ended"'*'"task": "DemoTask"'*)
            id=$(echo "$line" | sed -n 's/.*"instance_id": \([0-9]*\).*/\1/p')
            [ -n "$id" ] && timeout 10 "$ctl" logs -f "$id" 2>/dev/null | sed 's/^/    | /'
            ;;
        esac
    done
}
"$ctl" events > >(s_show_output) &
printer=$!
sleep 0.5
if ! "$ctl" schedule list --all --json | grep -q '"task": "DemoTask"'; then
    "$ctl" schedule add DemoTask --queue DemoQueue --period "${NORC_DEMO_PERIOD:-5}" \
        --reps "${NORC_DEMO_REPS:-5}" | sed 's/^/    /'
else
    echo "    the demo schedule is there from an earlier start (norcctl schedule list --all)"
fi
exports="PATH=$(printf '%q' "$bin"):\$PATH"
for v in $(env | grep '^NORC_' | cut -d= -f1 | grep -v -E '^NORC_(RUN|DEMO|BIN)_' | sort); do
    exports+=" $v=$(printf '%q' "${!v}")"
done
cat <<EOT

Norc is running. The page: http://$NORC_WEB_LISTEN/  (log in as admin,
password $(cat "$password_file"), kept in $password_file)
In another terminal:
    export $exports
    norcctl status
    norcctl logs 1
    norcctl help
Following the event stream; Ctrl-C stops everything.

EOT
wait "$printer"
