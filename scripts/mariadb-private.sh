#!/usr/bin/env bash
# A private MariaDB server for tests and the local launcher: its own datadir,
# socket and loopback port under DIR. It never reads /etc/mysql and never
# touches any other server on the machine.
#
#   mariadb-private.sh start DIR    prints the DSN (mysql://root@127.0.0.1:PORT/)
#   mariadb-private.sh stop DIR
#   mariadb-private.sh crash-restart DIR   kill -9 the server, start it again on the same port
#   mariadb-private.sh dsn DIR
# NORC_MARIADB_BUFFER_POOL sets InnoDB's buffer pool (128M unless told; the
# benchmark of lists at scale gives it 2G, as a server holding ten million
# instances would have).
set -euo pipefail
cmd=${1:?usage: mariadb-private.sh start|stop|crash-restart|dsn DIR}
dir=$(mkdir -p "${2:?DIR}" && cd "$2" && pwd)
data=$dir/data
sock=$dir/mysqld.sock
pidf=$dir/mysqld.pid

# Running: not gone and not a zombie (a caller that is a child subreaper,
# as a test is, inherits the server and reaps it only when it exits)
s_running () { kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
s_alive () { [ -f "$pidf" ] && s_running "$(cat "$pidf")"; }

case $cmd in
start)
    if s_alive; then cat "$dir/dsn"; exit 0; fi
    # Its own temporary directory: two servers made at once (tests run two
    # at a time) must not share /tmp's temporary tables
    mkdir -p "$dir/tmp"
    export TMPDIR="$dir/tmp"
    if [ ! -d "$data/mysql" ]; then
        rm -rf "$data"
        mariadb-install-db --no-defaults --datadir="$data" --user="$(id -un)" --tmpdir="$dir/tmp" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
    fi
    # The port of the last start when it is still free, so a DSN printed
    # before (an export line) stays valid across restarts; else a free one
    # (as the server binds: SO_REUSEADDR, so the last run's TIME_WAIT does not count)
    s_free () {
        python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",int(sys.argv[1])))' "$1" 2>/dev/null
    }
    port=${NORC_MARIADB_PORT:-}
    if [ -z "$port" ] && [ -f "$dir/port" ] && s_free "$(cat "$dir/port")"; then
        port=$(cat "$dir/port")
    fi
    port=${port:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    echo "$port" >"$dir/port"
    mariadbd --no-defaults --datadir="$data" --tmpdir="$dir/tmp" --socket="$sock" --pid-file="$pidf" \
        --port="$port" --bind-address=127.0.0.1 --user="$(id -un)" \
        --skip-name-resolve --innodb-buffer-pool-size="${NORC_MARIADB_BUFFER_POOL:-128M}" \
        --innodb-flush-log-at-trx-commit=1 --max-connections=500 \
        --log-error="$dir/error.log" >/dev/null 2>&1 &
    for _ in $(seq 1 300); do
        if mariadb --no-defaults -uroot --socket="$sock" -e 'SELECT 1' >/dev/null 2>&1; then
            echo "mysql://root@127.0.0.1:$port/" >"$dir/dsn"
            cat "$dir/dsn"
            exit 0
        fi
        sleep 0.1
    done
    echo "mariadb-private: server did not start; see $dir/error.log" >&2
    tail -20 "$dir/error.log" >&2 || true
    exit 1
    ;;
stop)
    if s_alive; then
        pid=$(cat "$pidf")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do s_running "$pid" || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/dsn"
    ;;
crash-restart)
    # What a crash looks like to clients: connections drop, nothing is flushed
    port=$(sed -E 's|.*:([0-9]+)/$|\1|' "$dir/dsn")
    if s_alive; then
        pid=$(cat "$pidf")
        kill -9 "$pid"
        for _ in $(seq 1 300); do s_running "$pid" || break; sleep 0.1; done
    fi
    sleep "${NORC_MARIADB_DOWN_S:-0}"
    NORC_MARIADB_PORT=$port exec "$0" start "$dir"
    ;;
dsn)
    cat "$dir/dsn"
    ;;
*)
    echo "usage: mariadb-private.sh start|stop|crash-restart|dsn DIR" >&2; exit 2 ;;
esac
