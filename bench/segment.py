#!/usr/bin/env python3
"""Load + validate + features + segment a generated export, end to end.

Usage: bench/segment.py [--customers 1000000] [--runs 3] [--threads N]

Generates the export once (bench/out/ar-N, reused), runs `dunwell segment` several
times and prints the median wall time, customers per second and peak memory (the
largest resident set of any run, from the kernel's accounting of child processes).
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "dunwell")
    data = os.path.join(ROOT, "bench", "out", f"ar-{args.customers}")
    if not os.path.exists(os.path.join(data, "events.csv")):
        subprocess.run([exe, "gen", "--customers", str(args.customers), "--seed", "1", "--out", data], check=True)
    sizes = {f: os.path.getsize(os.path.join(data, f)) for f in sorted(os.listdir(data)) if f.endswith(".csv")}
    rows = {f: sum(1 for _ in open(os.path.join(data, f), "rb")) - 1 for f in sizes}
    print(f"export: {args.customers:,} customers, " + ", ".join(f"{rows[f]:,} {f[:-4]}" for f in sizes if f != "customers.csv")
          + f"; {sum(sizes.values()) / 1e6:,.0f} MB")

    campaign = os.path.join(ROOT, "samples", "campaign.yaml")
    out = os.path.join(ROOT, "bench", "out", "segment")
    cmd = [exe, "segment", campaign, "--data", data, "--out", out]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    times = []
    for i in range(args.runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - t)
        if r.returncode not in (0, 3):
            sys.exit(f"dunwell failed ({r.returncode}):\n{r.stderr}")
        print(f"run {i + 1}: {times[-1]:.2f} s  ({r.stderr.strip().splitlines()[0]})")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    med = statistics.median(times)
    print(f"median {med:.2f} s over {args.runs} runs: {args.customers / med:,.0f} customers/s; "
          f"peak memory {peak_kb / 1024:,.0f} MiB; {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
