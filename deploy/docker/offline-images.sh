#!/usr/bin/env bash
# Every image the compose stack needs, made on this machine, for a machine
# that cannot pull from a registry; then the stack is pointed at them.
#
#   deploy/docker/offline-images.sh          (as root: debootstrap)
#
# 1. debian:bookworm-slim (a debootstrap of Debian 12 from the package
#    sources this machine's apt uses) and norc-test/mariadb:10.11 (MariaDB
#    on that base, with the official image's variables and health check):
#    deploy/docker/make-test-images.sh
# 2. norc:latest, Norc's image, built from this tree on that base
# 3. .env (made from .env.example when missing) gets
#    NORC_MARIADB_IMAGE=norc-test/mariadb:10.11
# After it, `docker compose up -d` (or `docker-compose up -d`) needs no
# registry. Each step is skipped when its image is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
mariadb=norc-test/mariadb:10.11
if docker compose version >/dev/null 2>&1; then compose="docker compose"
elif command -v docker-compose >/dev/null; then compose=docker-compose
else echo "offline-images: neither docker compose nor docker-compose is installed" >&2; exit 1; fi

echo "[1/3] base and MariaDB images (debootstrap: a few minutes the first time)"
"$here/make-test-images.sh"
echo "[2/3] Norc's image"
if ! docker image inspect "${NORC_IMAGE:-norc:latest}" >/dev/null 2>&1; then
    $compose build aggregator
fi
echo "[3/3] .env: NORC_MARIADB_IMAGE=$mariadb"
[ -f .env ] || cp .env.example .env
if grep -q '^#\?NORC_MARIADB_IMAGE=' .env; then
    sed -i "s|^#\\?NORC_MARIADB_IMAGE=.*|NORC_MARIADB_IMAGE=$mariadb|" .env
else
    echo "NORC_MARIADB_IMAGE=$mariadb" >>.env
fi
echo "done: $compose up -d --scale executor=3"
