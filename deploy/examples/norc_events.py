#!/usr/bin/env python3
"""Read Norc's public event stream from any host: one JSON object per line.

Each event is published as two ZeroMQ frames: the topic (for prefix
filtering, e.g. "instance.", "executor.", "schedule.", "tick.") and a
msgpack map with string keys (see docs/protocol.md, message EVENT).

With CURVE on (the compose stack's default), --keys-dir names a directory
with this client's key pair (--key NAME: NAME.key_secret, as norcctl keys
gen makes it) and the aggregator's public key (aggregator.key); the key
must be an admitted principal with a role (viewer or more).

    pip install pyzmq msgpack
    python3 norc_events.py [--endpoint tcp://127.0.0.1:7603] [--filter instance.] [-n COUNT] [--timeout S]
                           [--keys-dir DIR --key NAME]
"""
import argparse
import json
import sys

import msgpack
import zmq
import zmq.auth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:7603", help="the status-aggregator's stream")
    parser.add_argument("--filter", default="", help="topic prefix, e.g. instance.ended")
    parser.add_argument("-n", "--count", type=int, default=0, help="stop after COUNT events (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="fail when no event comes for S seconds")
    parser.add_argument("--keys-dir", help="CURVE: where this client's pair and aggregator.key are")
    parser.add_argument("--key", default="norcctl", help="CURVE: this client's pair (default norcctl)")
    args = parser.parse_args()

    sub = zmq.Context.instance().socket(zmq.SUB)
    if args.keys_dir:
        public, secret = zmq.auth.load_certificate(f"{args.keys_dir}/{args.key}.key_secret")
        server, _ = zmq.auth.load_certificate(f"{args.keys_dir}/aggregator.key")
        sub.curve_publickey, sub.curve_secretkey, sub.curve_serverkey = public, secret, server
    sub.connect(args.endpoint)
    sub.setsockopt_string(zmq.SUBSCRIBE, args.filter)
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    seen = 0
    while args.count == 0 or seen < args.count:
        if not poller.poll(args.timeout * 1000 if args.timeout else None):
            print(f"no event within {args.timeout} s", file=sys.stderr)
            return 1
        topic, body = sub.recv_multipart()
        event = msgpack.unpackb(body, raw=False)
        event["topic"] = topic.decode()
        print(json.dumps(event, sort_keys=True), flush=True)
        seen += 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
