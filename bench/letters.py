#!/usr/bin/env python3
"""Letters per second and bytes per letter: `dunwell run` against ReportLab.

Usage: bench/letters.py [--customers 10000] [--runs 3] [--baseline-letters 1000]

Generates the export once (bench/out/ar-N), runs `dunwell run bench/letters.yaml` (the
sample campaign with a letter for every planned customer) several times, then
bench/baseline/reportlab_letters.py (ReportLab platypus, one process) on the same export
for --baseline-letters letters, and prints letters per second for both, their ratio,
and bytes per letter (all, and the Japanese and Chinese ones alone). print.pdf is
written by dunwell on top of the single letters and is not counted as letters.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import EXE, ROOT, ENV, export, timed  # noqa: E402


def letter_sizes(out):
    sizes = {}
    with open(os.path.join(out, "manifest.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            if m["channel"] == "letter":
                sizes.setdefault(m["locale"].split("-")[0], []).append(m["length"])
    return sizes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline-letters", type=int, default=1000)
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    try:
        import reportlab  # noqa: F401
        import fontTools  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "reportlab", "fonttools"], check=True)
    data = export(args.customers)
    out = os.path.join(ROOT, "bench", "out", "letters")
    campaign = os.path.join(ROOT, "bench", "letters.yaml")

    rates = []
    for i in range(args.runs):
        wall, rss, cpu = timed([EXE, "run", campaign, "--data", data, "--out", out, "--channel", "letter"])
        sizes = letter_sizes(out)
        n = sum(len(v) for v in sizes.values())
        rates.append(n / wall)
        print(f"dunwell run {i + 1}: {n:,} letters in {wall:.2f} s = {n / wall:,.0f}/s; "
              f"CPU {cpu / n * 1e3:.2f} ms/letter; peak {rss / 1024:,.0f} MiB")
    all_sizes = [s for v in sizes.values() for s in v]
    cjk = [s for k in ("ja", "zh") for s in sizes.get(k, [])]
    print(f"dunwell bytes/letter: mean {statistics.mean(all_sizes) / 1024:.1f} KiB, "
          f"max {max(all_sizes) / 1024:.1f} KiB; Japanese+Chinese mean {statistics.mean(cjk) / 1024:.1f} KiB, "
          f"max {max(cjk) / 1024:.1f} KiB; print.pdf {os.path.getsize(os.path.join(out, 'letters', 'print.pdf')) / 2**20:.1f} MiB")

    base_out = os.path.join(ROOT, "bench", "out", "letters-reportlab")
    script = os.path.join(ROOT, "bench", "baseline", "reportlab_letters.py")
    # Once untimed: converts the CJK font to TrueType (cached) and warms the disk.
    subprocess.run([sys.executable, script, data, base_out, "--limit", "5"], check=True, capture_output=True)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, script, data, base_out, "--limit", str(args.baseline_letters)],
                       check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    res = json.loads(r.stdout)
    theirs = res["letters"] / wall
    print(f"reportlab: {res['letters']:,} letters in {wall:.2f} s = {theirs:,.1f}/s; "
          f"{res['bytes'] / res['letters'] / 1024:.1f} KiB/letter")
    ours = statistics.median(rates)
    print(f"\nmedian: dunwell {ours:,.0f} letters/s ({os.cpu_count()} cores), reportlab {theirs:,.1f} letters/s "
          f"(one process): {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
