#!/usr/bin/python3
"""Norc beside Celery, from one sitting of bench/run.sh: reads OUT-DIR/norc.json
and OUT-DIR/celery.json (and their samples), prints a Markdown table of
figures and ratios, writes them all to OUT-DIR/results.json, and draws with
matplotlib (Debian's python3-matplotlib):

  OUT-DIR/lateness-cdf.png     lateness distributions (Norc nominal -> the
                               child's start; Celery publish -> about to spawn)
  OUT-DIR/throughput.png       instances a second against the spawn limits
  OUT-DIR/norc-vs-celery.png   throughput and p99 latency side by side

  report.py OUT-DIR
"""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def samples(path):
    try:
        with open(path) as f:
            return sorted(float(x) for x in f if x.strip())
    except FileNotFoundError:
        return []


def pct(values, p):
    return values[int(p * (len(values) - 1))] if values else None


def beat(starts):
    """An every-second run's starts, the same for Norc and Celery: how far
    each interval is from 1 s (ms, sorted), and how far the last start slid
    from the first's grid over the run (ms)."""
    starts = sorted(starts)
    jitter = sorted(abs(b - a - 1) * 1000 for a, b in zip(starts, starts[1:]))
    drift = (starts[-1] - starts[0] - (len(starts) - 1)) * 1000 if len(starts) > 1 else None
    return jitter, drift


def fmt(v, unit=""):
    if v is None:
        return "—"
    return ("%.0f" % v if abs(v) >= 100 else "%.1f" % v if abs(v) >= 1 else "%.2f" % v) + unit


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def main():
    out = sys.argv[1]
    n = load(os.path.join(out, "norc.json"))
    c = load(os.path.join(out, "celery.json"))
    quarter = int(n.get("lateness_quarter_rate") or 0)
    rows = []   # (workload, norc, celery, norc/celery, note)

    def row(name, nv, cv, unit, higher_better=True, note=""):
        r = ratio(nv, cv) if higher_better else ratio(cv, nv)
        rows.append((name, fmt(nv, unit), fmt(cv, unit), fmt(r) + ("" if higher_better else " (Celery/Norc)")
                     if r is not None else "—", note))
        return r

    spawn = n.get("spawn_direct_per_s")
    spawn_sh = n.get("spawn_sh_per_s")
    row("burst of `/bin/true`, instances/s (-c 8)", n.get("throughput_1x8_per_s"), c.get("burst_true_per_s"), "")
    row("burst of `/bin/sh -c true`, instances/s (-c 8)", n.get("throughput_sh_1x8_per_s"), c.get("burst_sh_per_s"),
        "")
    row("`/bin/true` as a share of the direct spawn limit", ratio(n.get("throughput_1x8_per_s"), spawn),
        ratio(c.get("burst_true_per_s"), spawn), "")
    row("`sh -c true` as a share of its spawn limit", ratio(n.get("throughput_sh_1x8_per_s"), spawn_sh),
        ratio(c.get("burst_sh_per_s"), spawn_sh), "")
    nq = samples(os.path.join(out, "norc-quarter.txt"))
    cq = samples(os.path.join(out, "celery-steady-%d.txt" % quarter))
    row("latency at %d/s (a quarter of the spawn limit), p50" % quarter, pct(nq, .5), pct(cq, .5), " ms", False)
    row("latency at %d/s, p99" % quarter, pct(nq, .99), pct(cq, .99), " ms", False,
        "Norc: nominal → child started; Celery: published → about to spawn")
    nb, ndrift = beat(samples(os.path.join(out, "norc-beat-starts.txt")))
    cb, cdrift = beat(samples(os.path.join(out, "celery-beat-starts.txt")))
    row("every second (scheduler / celery beat): an interval's distance from 1 s, p50", pct(nb, .5), pct(cb, .5),
        " ms", False)
    row("every second: an interval's distance from 1 s, max", pct(nb, 1), pct(cb, 1), " ms", False)
    row("every second: how far the last start slid from the first's grid", ndrift, cdrift, " ms", False,
        "over %d runs; Norc's lateness from its nominal times: p50 %s, p99 %s"
        % (len(nb) + 1, fmt(n.get("lateness_beat_p50_ms"), " ms"), fmt(n.get("lateness_beat_p99_ms"), " ms")))
    print("## Norc beside Celery %s + Redis (same machine, same sitting; -c 8 / prefork 8)\n"
          % c.get("celery", "?"))
    print("| workload | Norc | Celery | Norc/Celery | |\n|---|---|---|---|---|")
    for r in rows:
        print("| %s |" % " | ".join(r))
    print("\nNorc records every run durably in MariaDB; Celery records nothing.\n")
    results = {"norc": n, "celery": c,
               "norc_over_celery": {"burst_true": ratio(n.get("throughput_1x8_per_s"), c.get("burst_true_per_s")),
                                    "burst_sh": ratio(n.get("throughput_sh_1x8_per_s"), c.get("burst_sh_per_s")),
                                    "p99_latency_celery_over_norc": ratio(pct(cq, .99), pct(nq, .99))}}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plots: python3-matplotlib is not installed)")
        return
    # Lateness CDFs
    fig, ax = plt.subplots(figsize=(7, 4.5))
    curves = [("Norc, half the spawn limit", samples(os.path.join(out, "norc-half.txt"))),
              ("Norc, a quarter", nq), ("Celery, a quarter (%d/s)" % quarter, cq)]
    for name in sorted(os.listdir(out)):
        if name.startswith("celery-steady-") and name != "celery-steady-%d.txt" % quarter:
            curves.append(("Celery, %s/s" % name[len("celery-steady-"):-4], samples(os.path.join(out, name))))
    for label, v in curves:
        if v:
            ax.plot(v, [(i + 1) / len(v) for i in range(len(v))], label=label)
    ax.set_xscale("log")
    ax.set_xlabel("latency, ms (log)")
    ax.set_ylabel("share of instances")
    ax.set_title("Lateness: Norc nominal → child; Celery publish → spawn")
    ax.grid(True, which="both", alpha=.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "lateness-cdf.png"), dpi=110)
    # Throughput against the spawn limits
    fig, ax = plt.subplots(figsize=(8, 4.5))
    bars = [("spawn limit\n/bin/true", spawn), ("Norc 1×8", n.get("throughput_1x8_per_s")),
            ("Norc 2×8", n.get("throughput_2x8_per_s")), ("Celery 8", c.get("burst_true_per_s")),
            ("spawn limit\nsh -c true", spawn_sh), ("Norc sh 1×8", n.get("throughput_sh_1x8_per_s")),
            ("Celery sh 8", c.get("burst_sh_per_s"))]
    bars = [(k, v) for k, v in bars if v]
    colors = ["#999999" if "limit" in k else "#2a7ab0" if "Norc" in k else "#c0504d" for k, _ in bars]
    ax.bar([k for k, _ in bars], [v for _, v in bars], color=colors)
    for i, (k, v) in enumerate(bars):
        ax.text(i, v, "%.0f" % v, ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("instances / s")
    ax.set_title("Throughput against this machine's spawn limits")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "throughput.png"), dpi=110)
    # Side by side
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
    names = ["/bin/true", "sh -c true"]
    nv = [n.get("throughput_1x8_per_s") or 0, n.get("throughput_sh_1x8_per_s") or 0]
    cv = [c.get("burst_true_per_s") or 0, c.get("burst_sh_per_s") or 0]
    x = range(len(names))
    a1.bar([i - .2 for i in x], nv, .4, label="Norc", color="#2a7ab0")
    a1.bar([i + .2 for i in x], cv, .4, label="Celery", color="#c0504d")
    a1.set_xticks(list(x), names)
    a1.set_ylabel("instances / s")
    a1.set_title("Burst throughput (-c 8)")
    a1.legend()
    a2.bar(["p50", "p99"], [pct(nq, .5) or 0, pct(nq, .99) or 0], -.4, align="edge", label="Norc", color="#2a7ab0")
    a2.bar(["p50", "p99"], [pct(cq, .5) or 0, pct(cq, .99) or 0], .4, align="edge", label="Celery",
           color="#c0504d")
    a2.set_ylabel("ms")
    a2.set_title("Latency at %d/s" % quarter)
    a2.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "norc-vs-celery.png"), dpi=110)
    print("Plots: %s/lateness-cdf.png, throughput.png, norc-vs-celery.png" % out)


if __name__ == "__main__":
    main()
