#!/usr/bin/env python3
"""`dunwell run` (plan + render + outbox) against a Python + Jinja2 baseline.

Usage: bench/render.py [--customers 100000] [--runs 3] [--baseline-runs 1] [--memory-at 1000000]

Generates the export once (bench/out/ar-N, reused), runs `dunwell run` on the sample
campaign several times, then bench/baseline/jinja_render.py (Jinja2 + the standard
library's `email`, one process, as such scripts are written) on the same export, and
prints messages per second for both, their ratio, and dunwell's peak memory. With
--memory-at it also runs dunwell once on a bigger export, to show that memory follows
the input, not the number of messages rendered.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The release binary where cargo puts it: CARGO_TARGET_DIR if set, else target/.
EXE = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "dunwell")
ENV = dict(os.environ, DUNWELL_LINK_SECRET=os.environ.get("DUNWELL_LINK_SECRET", "bench secret, long enough to sign: 0123456789"))


def export(n):
    data = os.path.join(ROOT, "bench", "out", f"ar-{n}")
    if not os.path.exists(os.path.join(data, "events.csv")):
        subprocess.run([EXE, "gen", "--customers", str(n), "--seed", "1", "--out", data], check=True)
    return data


def timed(cmd):
    """Wall time and peak RSS (KiB) of one child process."""
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(cmd[0], cmd, ENV)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        sys.exit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def dunwell_run(data, out, threads=None):
    # E-mail and SMS: what the Jinja2 baseline renders (letters have bench/letters.py).
    cmd = [EXE, "run", os.path.join(ROOT, "samples", "campaign.yaml"), "--data", data, "--out", out,
           "--channel", "email", "--channel", "sms"]
    if threads:
        cmd += ["--threads", str(threads)]
    wall, rss, cpu = timed(cmd)
    messages = json.load(open(os.path.join(out, "summary.json")))["messages"]
    return wall, rss, cpu, messages


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline-runs", type=int, default=1)
    ap.add_argument("--memory-at", type=int)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    try:
        import jinja2  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "jinja2"], check=True)
    data = export(args.customers)
    out = os.path.join(ROOT, "bench", "out", "run")

    rows = []
    for i in range(args.runs):
        wall, rss, cpu, n = dunwell_run(data, out)
        rows.append((wall, rss, cpu, n))
        print(f"dunwell run {i + 1}: {n:,} messages in {wall:.2f} s = {n / wall:,.0f}/s; "
              f"CPU {cpu / n * 1e6:.0f} µs/message; peak {rss / 1024:,.0f} MiB")
    med = statistics.median(r[0] for r in rows)
    n = rows[0][3]
    ours = n / med

    base = []
    script = os.path.join(ROOT, "bench", "baseline", "jinja_render.py")
    for i in range(args.baseline_runs):
        t = time.perf_counter()
        r = subprocess.run([sys.executable, script, data, os.path.join(ROOT, "bench", "out", "baseline")],
                           env=ENV, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        bn = json.loads(r.stdout)["messages"]
        base.append(bn / wall)
        print(f"python+jinja2 run {i + 1}: {bn:,} messages in {wall:.2f} s = {bn / wall:,.0f}/s")
    theirs = statistics.median(base)
    print(f"\nmedian: dunwell {ours:,.0f} messages/s (2 threads: {os.cpu_count()} cores), "
          f"python+jinja2 {theirs:,.0f} messages/s: {ours / theirs:.1f}x; "
          f"dunwell peak memory {max(r[1] for r in rows) / 1024:,.0f} MiB at {args.customers:,} customers")

    if args.memory_at:
        big = export(args.memory_at)
        wall, rss, cpu, bn = dunwell_run(big, os.path.join(ROOT, "bench", "out", "run-big"))
        small_rss = max(r[1] for r in rows)
        print(f"at {args.memory_at:,} customers: {bn:,} messages in {wall:.2f} s = {bn / wall:,.0f}/s; "
              f"peak {rss / 1024:,.0f} MiB ({rss / small_rss:.1f}x the memory for {args.memory_at / args.customers:.0f}x the customers)")


if __name__ == "__main__":
    main()
