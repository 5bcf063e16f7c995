#!/bin/sh
# The official image's health check, for the options Norc's compose file
# uses: --connect (the server answers over TCP) and --innodb_initialized.
set -eu
if [ -n "${MARIADB_ROOT_PASSWORD_FILE:-}" ]; then
    MARIADB_ROOT_PASSWORD=$(head -n 1 "$MARIADB_ROOT_PASSWORD_FILE")
fi
q="SELECT 1"
for arg in "$@"; do
    case $arg in
        --innodb_initialized) q="SELECT 1 FROM information_schema.ENGINES WHERE engine = 'InnoDB' AND support IN ('YES', 'DEFAULT')" ;;
    esac
done
out=$(mariadb -uroot -p"${MARIADB_ROOT_PASSWORD:-root}" -h127.0.0.1 -N -e "$q" 2>/dev/null) || exit 1
[ "$out" = 1 ]
