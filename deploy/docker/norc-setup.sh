#!/bin/sh
# The compose stack's one-shot set-up, run once the status-aggregator
# answers: the queues executors serve (NORC_QUEUES, space-separated; and
# NORC_SQS_QUEUES, NAME=URL, those carried by SQS: deploy/two-sites.yml),
# when NORC_DEMO=1 the demo task and its schedule, and the page's first
# user (admin). Safe to run again.
set -eu
for _ in $(seq 1 120); do
    norcctl queue list >/dev/null 2>&1 && break
    sleep 1
done
for q in ${NORC_QUEUES:-DemoQueue}; do
    norcctl queue list --json | grep -q "\"$q\"" || norcctl queue add "$q"
done
# Queues carried by SQS (NORC_SQS_QUEUES: NAME=URL, space-separated)
for q in ${NORC_SQS_QUEUES:-}; do
    name=${q%%=*} url=${q#*=}
    norcctl queue list --json | grep -q "\"$name\"" || norcctl queue add "$name" --kind sqs --url "$url"
done
if [ "${NORC_DEMO:-0}" = 1 ]; then
    queue=${NORC_DEMO_QUEUE:-DemoQueue}
    norcctl task show DemoTask >/dev/null 2>&1 \
        || norcctl task add DemoTask --command "${NORC_DEMO_COMMAND:-echo 'Demo successful!'}"
    if ! norcctl schedule list --all --json | grep -q '"task": "DemoTask"'; then
        norcctl schedule add DemoTask --queue "$queue" --period "${NORC_DEMO_PERIOD:-5}" \
            --reps "${NORC_DEMO_REPS:-0}"
    fi
fi
# The page's first login: user admin, with the password the keys service made
password=/var/lib/norc/keys/web_password
if [ -s "$password" ] && ! norcctl user list --json | grep -q '"name": "admin"'; then
    norcctl user add admin --role admin <"$password"
fi
echo "norc-setup: done"
