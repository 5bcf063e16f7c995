#!/usr/bin/python3
"""Celery 5 with a Redis broker, measured on the work norc_bench gives Norc
(bench/run.sh runs both in one sitting and prints their ratios).

  celery_peer.py OUT-DIR [--count N] [--concurrency C] [--rate R]
                 [--seconds S] [--beat-seconds B]

Starts its own redis-server (loopback, a free port, a directory under
OUT-DIR, no persistence) and Celery worker (prefork, C processes) and beat,
each stopped by PID; measures

  burst         N tasks that run /bin/true, then N that run /bin/sh -c true
                (subprocess, as a Celery user runs a command), published as
                fast as one client can; tasks/s from the first publish to the
                last task's end;
  steady        R tasks a second for S seconds, each stamped when published:
                publish -> the worker about to spawn the child;
  beat          celery beat running a task every second for B seconds: when
                each run started;

and writes OUT-DIR/celery.json and the latencies, one per line (ms), to
OUT-DIR/celery-steady-RATE.txt, and the beat's starts (Unix seconds) to
OUT-DIR/celery-beat-starts.txt. Celery keeps no
record of a run: nothing here is durable, unlike what Norc is measured on.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

APP = r'''
import os, subprocess, time
import redis
from celery import Celery
from datetime import timedelta

url = os.environ["PEER_BROKER"]
app = Celery("peer", broker=url)
app.conf.task_ignore_result = True
app.conf.worker_hijack_root_logger = False
app.conf.beat_schedule = {"tick": {"task": "peer.tick", "schedule": timedelta(seconds=1)}}
_r = None

def r():
    global _r
    if _r is None:
        _r = redis.Redis.from_url(url)
    return _r

@app.task(name="peer.run")
def run(argv, sent=None):
    if sent is not None:
        r().rpush("steady", time.time() - sent)
    subprocess.run(argv, check=False)
    r().incr("done")
    r().set("last", time.time())

@app.task(name="peer.tick")
def tick():
    r().rpush("beat", time.time())
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def percentile(values, p):
    if not values:
        return -1
    values = sorted(values)
    return values[int(p * (len(values) - 1))]


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rate", default="100", help="tasks a second, or several: 100,800")
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--beat-seconds", type=int, default=30)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "celery")
    os.makedirs(work, exist_ok=True)
    with open(os.path.join(work, "peer.py"), "w") as f:
        f.write(APP)
    port = free_port()
    url = "redis://127.0.0.1:%d/0" % port
    env = dict(os.environ, PEER_BROKER=url, PYTHONPATH=work)
    procs = []

    def start(argv, name):
        log = open(os.path.join(work, name + ".log"), "w")
        p = subprocess.Popen(argv, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(p)
        return p

    def stop(p):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    try:
        start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", work, "--save", "",
               "--appendonly", "no"], "redis")
        import redis
        r = redis.Redis(port=port)
        if not wait_for(lambda: _ping(r), 10):
            sys.exit("celery_peer: redis-server did not start")
        sys.path.insert(0, work)
        os.environ["PEER_BROKER"] = url
        import peer
        worker = start([sys.executable, "-m", "celery", "-A", "peer", "worker", "--pool", "prefork",
                        "--concurrency", str(a.concurrency), "--loglevel", "WARNING", "--without-gossip",
                        "--without-mingle", "--without-heartbeat"], "worker")
        if not wait_for(lambda: _workers_up(peer.app), 60):
            sys.exit("celery_peer: the worker did not start")
        result = {"concurrency": a.concurrency, "celery": _version()}

        # Bursts: one client publishes as fast as it can
        for name, argv in (("true", ["/bin/true"]), ("sh", ["/bin/sh", "-c", "true"])):
            r.set("done", 0)
            start_t = time.time()
            for _ in range(a.count):
                peer.run.apply_async((argv,))
            published = time.time()
            wait_for(lambda: int(r.get("done") or 0) >= a.count, 300)
            last = float(r.get("last") or time.time())
            result["burst_%s_per_s" % name] = a.count / (last - start_t)
            result["burst_%s_publish_per_s" % name] = a.count / (published - start_t)

        # Steady rates: publish -> about to spawn
        for rate in [int(x) for x in a.rate.split(",")]:
            r.delete("steady")
            r.set("done", 0)
            total = rate * a.seconds
            t0 = time.time()
            for i in range(total):
                due = t0 + i / rate
                now = time.time()
                if due > now:
                    time.sleep(due - now)
                peer.run.apply_async((["/bin/true"],), {"sent": time.time()})
            sent_for = time.time() - t0
            wait_for(lambda: int(r.get("done") or 0) >= total, 300)
            steady = [float(x) * 1000 for x in r.lrange("steady", 0, -1)]
            key = "steady_%d_" % rate
            result.update({key + "count": len(steady), key + "p50_ms": percentile(steady, 0.5),
                           key + "p99_ms": percentile(steady, 0.99), key + "max_ms": percentile(steady, 1.0),
                           key + "offered_per_s": total / sent_for})
            with open(os.path.join(a.out, "celery-steady-%d.txt" % rate), "w") as f:
                f.write("".join("%.3f\n" % v for v in steady))

        # Beat: a task every second
        r.delete("beat")
        beat = start([sys.executable, "-m", "celery", "-A", "peer", "beat", "--loglevel", "WARNING",
                      "--schedule", os.path.join(work, "beat-schedule"), "--max-interval", "1"], "beat")
        time.sleep(a.beat_seconds + 3)
        stop(beat)
        # When each run started (bench/report.py reads the intervals)
        starts = [float(x) for x in r.lrange("beat", 0, -1)]
        result["beat_count"] = len(starts)
        with open(os.path.join(a.out, "celery-beat-starts.txt"), "w") as f:
            f.write("".join("%.6f\n" % v for v in starts))
        stop(worker)
        with open(os.path.join(a.out, "celery.json"), "w") as f:
            json.dump(result, f, indent=1)
        print(json.dumps(result))
    finally:
        for p in reversed(procs):
            stop(p)


def _ping(r):
    try:
        return r.ping()
    except Exception:
        return False


def _workers_up(app):
    try:
        return bool(app.control.ping(timeout=0.5))
    except Exception:
        return False


def _version():
    import celery
    return celery.__version__


if __name__ == "__main__":
    main()
