#!/usr/bin/env bash
# The promises under fire, for as long as you like (not part of the test
# command): a private MariaDB, the aggregator, the archiver, two schedulers
# and three executors, twenty schedules firing every second (each task
# appends its instance id to a file), while one process at a time is
# killed with SIGKILL (and started again) or frozen with SIGSTOP (and
# woken), MariaDB included. Then everything is stopped cleanly and the
# record is checked:
#
#   - no instance ran twice (each id at most once in the file)
#   - every instance is final
#   - no tick lost: per schedule, its instances and its recorded skipped
#     or missed ticks cover every second from the first tick to the last
#   - every instance that ran to an end has a complete log
#   - every ERROR says why
#
#   scripts/chaos.sh [MINUTES]       (default 5; builds first when needed)
#
# Exit 0 when every check holds. The run stays in build/chaos/ to read.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
minutes=${1:-5}
[ -x build/bin/norc-scheduler ] || { cmake -S . -B build >/dev/null && cmake --build build -j 2 >/dev/null; } || exit 1
bin=$root/build/bin
dir=$root/build/chaos
scripts/mariadb-private.sh stop "$dir/mariadb" >/dev/null 2>&1
rm -rf "$dir"
mkdir -p "$dir/logs" "$dir/spool"
chmod 700 "$dir"                # its ipc endpoints: this user only
dsn=$(scripts/mariadb-private.sh start "$dir/mariadb") || exit 1
export NORC_DB_URL="${dsn}norc" NORC_LOG_DIR=$dir/logs NORC_SPOOL_DIR=$dir/spool
export NORC_AGGREGATOR_EVENTS=ipc://$dir/events.ipc NORC_AGGREGATOR_API=ipc://$dir/api.ipc
export NORC_AGGREGATOR_STREAM=ipc://$dir/stream.ipc NORC_ARCHIVER_LOGS=ipc://$dir/logs.ipc
export NORC_ARCHIVER_FETCH=ipc://$dir/fetch.ipc
export NORC_HEARTBEAT_PERIOD_MS=500 NORC_HEARTBEAT_FAILURE_MS=3000 NORC_SCHEDULER_LEASE_MS=4000
export NORC_EXECUTOR_DRAIN_MS=3000 NORC_LOG_LEVEL=info
dispatch="ipc://$dir/dispatch-a.ipc,ipc://$dir/dispatch-b.ipc"
ctl () { "$bin/norcctl" "$@"; }
sql () { mariadb --no-defaults -uroot --socket="$dir/mariadb/mysqld.sock" -N -B norc -e "$1"; }

declare -A cmd pid
cmd[aggregator]="$bin/norc-aggregator"
cmd[archiver]="$bin/norc-archiver"
cmd[scheduler-a]="$bin/norc-scheduler --scheduler.dispatch ipc://$dir/dispatch-a.ipc"
cmd[scheduler-b]="$bin/norc-scheduler --scheduler.dispatch ipc://$dir/dispatch-b.ipc"
for e in 1 2 3; do cmd[executor-$e]="$bin/norc-executor Q -c 4 --scheduler.dispatch $dispatch"; done
start () { setsid ${cmd[$1]} >>"$dir/$1.log" 2>&1 < /dev/null & pid[$1]=$!; }
stop_all () {
    for p in executor-1 executor-2 executor-3 scheduler-a scheduler-b archiver aggregator; do
        kill -TERM "${pid[$p]}" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "${pid[$p]}" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "${pid[$p]}" 2>/dev/null
    done
}
trap 'stop_all; scripts/mariadb-private.sh stop "$dir/mariadb" >/dev/null 2>&1' EXIT

ctl db migrate >/dev/null || exit 1
for p in aggregator archiver scheduler-a scheduler-b executor-1 executor-2 executor-3; do start "$p"; done
for _ in $(seq 1 100); do ctl queue list >/dev/null 2>&1 && break; sleep 0.1; done
ctl queue add Q >/dev/null
ctl task add T --command "echo \$NORC_INSTANCE_ID >> $dir/ran.txt; sleep 0.\$((RANDOM % 5))" >/dev/null
for s in $(seq 1 20); do ctl schedule add T --queue Q --period 1 >/dev/null; done
echo "chaos: ${minutes} min of SIGKILL and SIGSTOP over ${!cmd[*]} and MariaDB"

end=$(( $(date +%s) + minutes * 60 ))
kills=0 freezes=0 dbkills=0
names=("${!cmd[@]}" mariadb)
while [ "$(date +%s)" -lt "$end" ]; do
    sleep $(( 3 + RANDOM % 5 ))
    victim=${names[$((RANDOM % ${#names[@]}))]}
    if [ "$victim" = mariadb ]; then
        NORC_MARIADB_DOWN_S=$((1 + RANDOM % 3)) scripts/mariadb-private.sh crash-restart "$dir/mariadb" >/dev/null
        dbkills=$((dbkills + 1)); echo "  $(date +%T) mariadb killed and restarted"
    elif [ $((RANDOM % 2)) -eq 0 ]; then
        kill -KILL "${pid[$victim]}" 2>/dev/null; sleep $((1 + RANDOM % 3)); start "$victim"
        kills=$((kills + 1)); echo "  $(date +%T) $victim killed and restarted"
    else
        s=$((1 + RANDOM % 8))
        kill -STOP "${pid[$victim]}" 2>/dev/null; sleep "$s"; kill -CONT "${pid[$victim]}" 2>/dev/null
        freezes=$((freezes + 1)); echo "  $(date +%T) $victim frozen for ${s}s"
    fi
done

echo "chaos: done ($kills kills, $freezes freezes, $dbkills MariaDB crashes); settling"
for s in $(seq 1 20); do ctl schedule pause "$s" >/dev/null 2>&1; done
for _ in $(seq 1 120); do
    [ "$(sql 'SELECT COUNT(*) FROM instances WHERE status < 7')" = 0 ] && break; sleep 1
done
sleep 3
stop_all
failed=0
check () {      # name, value, wanted
    if [ "$2" = "$3" ]; then echo "  ok    $1: $2"; else echo "  FAIL  $1: $2 (want $3)"; failed=1; fi
}
total=$(sql 'SELECT COUNT(*) FROM instances')
echo "chaos: $total instances, $(sort -u "$dir/ran.txt" | wc -l) runs"
check "instances run twice" "$(sort "$dir/ran.txt" | uniq -d | wc -l)" 0
check "instances not final" "$(sql 'SELECT COUNT(*) FROM instances WHERE status < 7')" 0
check "tick keys with two instances" "$(sql 'SELECT COUNT(*) FROM (SELECT 1 FROM instances WHERE schedule_id IS NOT NULL GROUP BY schedule_id, nominal, attempt HAVING COUNT(*) > 1) d')" 0
check "ticks lost" "$(sql 'SELECT COALESCE(SUM(gap), 0) FROM (SELECT s.id, TIMESTAMPDIFF(SECOND, MIN(t.a), MAX(t.b)) + 1 - SUM(t.n) AS gap FROM schedules s JOIN (SELECT schedule_id, nominal AS a, nominal AS b, 1 AS n FROM instances WHERE attempt = 1 AND schedule_id IS NOT NULL UNION ALL SELECT schedule_id, nominal, last_nominal, tick_count FROM ticks) t ON t.schedule_id = s.id GROUP BY s.id) g')" 0
check "ERRORs without a reason" "$(sql 'SELECT COUNT(*) FROM instances WHERE status = 14 AND (reason IS NULL OR reason = "")')" 0
incomplete=0
for id in $(sql 'SELECT id FROM instances WHERE status IN (7, 13) LIMIT 2000'); do
    f=$dir/logs/instances/$((id / 1000))/$id
    grep -q 'Task ended with status' "$f" 2>/dev/null || incomplete=$((incomplete + 1))
done
check "logs incomplete (of the first 2000 that ran to an end)" "$incomplete" 0
errors=$(sql 'SELECT COUNT(*) FROM instances WHERE status = 14')
echo "chaos: $errors instances ERROR (executor lost, with the reason recorded)"
exit $failed
