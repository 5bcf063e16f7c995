#!/usr/bin/env python3
"""Read Norc's public event stream from any host: one JSON object per line.

Each event is published as two ZeroMQ frames: the topic (for prefix
filtering, e.g. "instance.", "executor.", "schedule.", "tick.") and a
msgpack map with string keys (see docs/protocol.md, message EVENT).

    pip install pyzmq msgpack
    python3 norc_events.py [--endpoint tcp://127.0.0.1:7603] [--filter instance.] [-n COUNT] [--timeout S]
"""
import argparse
import json
import sys

import msgpack
import zmq


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:7603", help="the status-aggregator's stream")
    parser.add_argument("--filter", default="", help="topic prefix, e.g. instance.ended")
    parser.add_argument("-n", "--count", type=int, default=0, help="stop after COUNT events (0: never)")
    parser.add_argument("--timeout", type=float, default=0, help="fail when no event comes for S seconds")
    args = parser.parse_args()

    sub = zmq.Context.instance().socket(zmq.SUB)
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
