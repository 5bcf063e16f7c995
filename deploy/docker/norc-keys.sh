#!/bin/sh
# The compose stack's keys (CURVE, docs/security.md), made once at the
# first `up` into three volumes, never replaced:
#   /var/lib/norc/keys           the servers': aggregator, scheduler and
#                                archiver pairs, and the public keys of the
#                                executors' pair and of the first admin (the
#                                servers add them to the registry of
#                                principals at their first start)
#   /var/lib/norc/keys-executor  the executors' pair and the servers' public keys
#   /var/lib/norc/keys-admin     the first admin's pair and the servers' public
#                                keys: what norcctl needs, inside the stack
#                                (setup) or on a host (norc-keys export)
#   /var/lib/norc/keys-web       norc-web's pair (role web) and the servers'
#                                public keys
#                                The admin's volume also holds web_password:
#                                the page's first login (user admin)
#   /var/lib/norc/keys-bridge    with NORC_KEYS_SITES (deploy/two-sites.yml):
#                                home's bridge of disconnected sites, its pair
#                                (role bridge), the servers' public keys and
#                                each site's bridge's public key
#   /var/lib/norc/keys-SITE      each site's bridge's pair and home's public key
#   /var/lib/norc/db-secret      the database's passwords: db_password (the
#                                norc user's, for the services that keep the
#                                record) and db_root_password (MariaDB's own)
# No key or password is committed anywhere, and none has a default.
#
#   norc-keys init      make what is missing
#   norc-keys export    the admin's keys as a tar stream on stdout:
#       docker compose run --rm -T keys norc-keys export \
#           | tar -x --no-same-owner -C ~/.config/norc/keys
set -eu
servers=/var/lib/norc/keys
executor=/var/lib/norc/keys-executor
admin=/var/lib/norc/keys-admin
web=/var/lib/norc/keys-web
secret=/var/lib/norc/db-secret
umask 077

gen () {    # gen DIR NAME [ROLES]
    [ -e "$1/$2.key_secret" ] && return 0
    if [ -n "${3:-}" ]; then
        norcctl keys gen "$2" --dir "$1" --role "$3" >/dev/null
    else
        norcctl keys gen "$2" --dir "$1" >/dev/null
    fi
    echo "norc-keys: made $2 in $1"
}
share () {  # share FROM NAME TO...: a public key, copied
    from=$1 name=$2; shift 2
    for to in "$@"; do
        [ -e "$to/$name.key" ] || { cp "$from/$name.key" "$to/$name.key"; chmod 644 "$to/$name.key"; }
    done
}

case "${1:-init}" in
init)
    for name in aggregator scheduler archiver; do
        gen "$servers" "$name"
        share "$servers" "$name" "$executor" "$admin"
    done
    gen "$executor" executor
    share "$executor" executor "$servers"
    gen "$admin" admin admin
    share "$admin" admin "$servers"
    gen "$web" web web
    share "$web" web "$servers"
    share "$servers" aggregator "$web"
    share "$servers" archiver "$web"
    # Home's bridge of disconnected sites and each site's bridge: a pair
    # each, and the other's public key (they seal what they send)
    bridge=/var/lib/norc/keys-bridge
    for site in ${NORC_KEYS_SITES:-}; do
        gen "$bridge" bridge-home bridge
        share "$bridge" bridge-home "$servers"
        for name in aggregator scheduler archiver; do
            share "$servers" "$name" "$bridge"
        done
        gen "/var/lib/norc/keys-$site" "bridge-$site"
        share "/var/lib/norc/keys-$site" "bridge-$site" "$bridge"
        share "$bridge" bridge-home "/var/lib/norc/keys-$site"
        chown -R norc:norc "$bridge" "/var/lib/norc/keys-$site"
    done
    # The page's first login: user admin (added by the setup service)
    if [ ! -e "$admin/web_password" ]; then
        head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20 >"$admin/web_password"
        echo "norc-keys: made the page's first password (user admin)"
    fi
    # The database's passwords: 32 random letters and digits each
    for name in db_password db_root_password; do
        if [ ! -e "$secret/$name" ]; then
            head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$secret/$name.new"
            mv "$secret/$name.new" "$secret/$name"
            echo "norc-keys: made the database password $name"
        fi
    done
    # The norc user's is read by the services that run as norc; MariaDB's
    # own only by root (its entrypoint). Root has no FOWNER here: it takes
    # each file (CHOWN) before it sets its mode
    chown root:root "$secret" "$secret/db_password" "$secret/db_root_password"
    chmod 755 "$secret"
    chmod 400 "$secret/db_password" "$secret/db_root_password"
    chown norc:norc "$secret/db_password"
    # The executor runs as root (to run its tasks as norc-task) without
    # DAC_OVERRIDE: its keys are root's; the others are the norc user's
    # (the directories are 0700 in the image, and so are the volumes)
    chown -R root:root "$executor"
    chown -R norc:norc "$servers" "$admin" "$web"
    echo "norc-keys: ready (the admin's key: docker compose run --rm -T keys norc-keys export" \
         "| tar -x --no-same-owner -C DIR)"
    ;;
export)
    tar -C "$admin" -cf - .
    ;;
*)
    echo "usage: norc-keys init|export" >&2
    exit 2
    ;;
esac
