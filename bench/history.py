#!/usr/bin/env python3
"""Recording into the history store: `dunwell history import` of a big outbox.

Usage: bench/history.py [--customers 1000000] [--runs 3]

Renders the e-mails and SMS of a generated export once (the sample campaign), then
imports that outbox --runs times, each into a fresh SQLite store, and prints rows per
second (messages, the claims they share with their invoices, segmentation rows) and the
store's size per contact (message). The median of the runs is what to quote.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sqlite3

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import EXE, ROOT, export, timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    data = export(args.customers)
    out = os.path.join(ROOT, "bench", "out", f"history-outbox-{args.customers}")
    if not os.path.exists(os.path.join(out, "complete.json")):
        shutil.rmtree(out, ignore_errors=True)
        wall, _, _ = timed([EXE, "run", os.path.join(ROOT, "samples", "campaign.yaml"), "--data", data,
                            "--out", out, "--channel", "email", "--channel", "sms"])
        print(f"outbox rendered in {wall:.1f} s")
    store = os.path.join(ROOT, "bench", "out", "history.sqlite")
    results = []
    for k in range(args.runs):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(store + suffix):
                os.remove(store + suffix)
        wall, rss, cpu = timed([EXE, "history", "import", out, "--history", store])
        c = sqlite3.connect(store)
        n = {t: c.execute(f"select count(*) from {t}").fetchone()[0]
             for t in ("messages", "claims", "claim_invoices", "segments")}
        c.execute("pragma wal_checkpoint(truncate)")
        c.close()
        rows = sum(n.values())
        size = os.path.getsize(store)
        results.append((wall, rows / wall, n["messages"] / wall, size / n["messages"], rss, cpu))
        print(f"run {k + 1}: {wall:.2f} s, {rows:,} rows ({n['messages']:,} contacts, "
              f"{n['claims']:,} claims of {n['claim_invoices']:,} invoices, {n['segments']:,} segment rows): "
              f"{rows / wall:,.0f} rows/s, {n['messages'] / wall:,.0f} contacts/s; "
              f"store {size / 2**20:.0f} MiB = {size / n['messages']:.0f} B per contact; "
              f"peak {rss / 1024:.0f} MiB, CPU {cpu:.1f} s")
    med = lambda i: statistics.median(r[i] for r in results)  # noqa: E731
    print(f"median of {len(results)}: {med(0):.2f} s, {med(1):,.0f} rows/s, "
          f"{med(2):,.0f} contacts/s, {med(3):.0f} B per contact")


if __name__ == "__main__":
    main()
