#!/bin/sh
# Initialise the data directory on first start (as the official image does
# from the same variables), then run the server.
set -eu
data=/var/lib/mysql
# VAR_FILE names a file whose first line is VAR (as the official image)
for var in MARIADB_ROOT_PASSWORD MARIADB_PASSWORD; do
    eval "file=\${${var}_FILE:-}"
    if [ -n "$file" ]; then
        export "$var=$(head -n 1 "$file")"
        unset "${var}_FILE"
    fi
done
if [ ! -d "$data/mysql" ]; then
    chown -R mysql:mysql "$data"
    mariadb-install-db --user=mysql --datadir="$data" --auth-root-authentication-method=normal \
        --skip-test-db >/dev/null
    mariadbd --user=mysql --datadir="$data" --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    i=0
    until mariadb -uroot --socket=/run/mysqld/init.sock -e 'SELECT 1' >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -lt 300 ] || { echo "init: server did not start" >&2; exit 1; }
        sleep 0.1
    done
    mariadb -uroot --socket=/run/mysqld/init.sock <<SQL
CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE:-norc}\`;
CREATE USER IF NOT EXISTS '${MARIADB_USER:-norc}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD:-norc}';
GRANT ALL ON \`${MARIADB_DATABASE:-norc}\`.* TO '${MARIADB_USER:-norc}'@'%';
ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD:-root}';
FLUSH PRIVILEGES;
SQL
    kill "$pid"
    wait "$pid" || true
fi
if [ "$1" = mariadbd ]; then
    shift
    exec mariadbd --user=mysql --datadir="$data" --bind-address=0.0.0.0 --port=3306 "$@"
fi
exec "$@"
