#!/usr/bin/env python3
"""What twelve cycles of history cost a run: `dunwell run` over a generated export with
and without a history store that holds twelve weekly runs of that export's contacts.

Usage: bench/cycles.py [--customers 1000000] [--cycles 12] [--runs 3]

The store is built from one real run: its outbox is imported (`dunwell history import`),
then SQLite copies that run's rows eleven times, a week apart and delivered, as if the
campaign had run every week for a quarter. Then the same campaign date is run --runs
times with the store and --runs times without it (e-mail + SMS without attached letters,
all cores), alternating,
and the medians compared. The issue's goal: with history ≤ 1.25× without.
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import EXE, ROOT, export, timed  # noqa: E402

AS_OF = "2026-11-20"


def campaign(path, store):
    """The sample campaign, its paths absolute, with or without the store."""
    text = open(os.path.join(ROOT, "samples", "campaign.yaml")).read()
    text = text.replace("data/", os.path.join(ROOT, "samples", "data") + "/")
    text = text.replace("../segments", os.path.join(ROOT, "segments"))
    text = text.replace("../templates", os.path.join(ROOT, "templates"))
    # E-mail + SMS without letters attached: the work bench/render.py measures (a
    # letter per e-mail would make this a letter benchmark).
    text = text.replace("attach_letter: true", "attach_letter: false")
    if store:
        text += f"\nhistory: {store}\n"
    with open(path, "w") as f:
        f.write(text)
    return path


def build_store(store, outbox, cycles):
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(store + suffix):
            os.remove(store + suffix)
    subprocess.run([EXE, "history", "import", outbox, "--history", store], check=True,
                   stdout=subprocess.DEVNULL)
    c = sqlite3.connect(store)
    (run, outbox_sha) = c.execute("select run, outbox from runs").fetchone()
    c.execute("update messages set state = 'delivered', state_at = ?", (f"{AS_OF}T00:00:00Z",))
    for k in range(1, cycles):
        days = -7 * k
        new = run + k
        c.execute("insert into runs select ?, ? || ?, campaign, shard, date(as_of, ? || ' days'), "
                  "messages, source, recorded_at from runs where run = ?",
                  (new, outbox_sha[:60], f"{k:04d}", days, run))
        c.execute("insert into claims select ?, customer, stage, template, currency, amount, "
                  "date(substr(scheduled_at, 1, 10), ? || ' days') || substr(scheduled_at, 11) "
                  "from claims where run = ?", (new, days, run))
        c.execute("insert into claim_invoices select ?, customer, invoice, open_amount "
                  "from claim_invoices where run = ?", (new, run))
        c.execute("insert into messages select ?, customer, channel, state, "
                  "date(substr(state_at, 1, 10), ? || ' days') || substr(state_at, 11), message_id, link "
                  "from messages where run = ?", (new, days, run))
        c.execute("insert into segments select ?, customer, cluster, rule from segments where run = ?",
                  (new, run))
        c.commit()
    n = {t: c.execute(f"select count(*) from {t}").fetchone()[0]
         for t in ("runs", "messages", "claims", "claim_invoices", "segments")}
    c.execute("pragma wal_checkpoint(truncate)")
    c.close()
    size = os.path.getsize(store)
    print(f"store: {n['runs']} runs, {n['messages']:,} contacts, {n['claims']:,} claims of "
          f"{n['claim_invoices']:,} invoices, {n['segments']:,} segment rows; "
          f"{size / 2**20:.0f} MiB = {size / n['messages']:.0f} B per contact")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--cycles", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    data = export(args.customers)
    work = os.path.join(ROOT, "bench", "out", f"cycles-{args.customers}")
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "history.sqlite")
    plain = campaign(os.path.join(work, "plain.yaml"), None)
    with_history = campaign(os.path.join(work, "with-history.yaml"), store)
    first = os.path.join(work, "first")
    shutil.rmtree(first, ignore_errors=True)
    cmd = ["run", "--data", data, "--as-of", AS_OF, "--channel", "email", "--channel", "sms"]
    wall, _, _ = timed([EXE, cmd[0], plain, "--out", first] + cmd[1:])
    print(f"first outbox in {wall:.1f} s")
    build_store(store, first, args.cycles)
    results = {"without": [], "with": []}
    for k in range(args.runs):
        for name, path in (("without", plain), ("with", with_history)):
            out = os.path.join(work, f"out-{name}")
            shutil.rmtree(out, ignore_errors=True)
            wall, rss, cpu = timed([EXE, cmd[0], path, "--out", out] + cmd[1:])
            results[name].append((wall, rss, cpu))
            print(f"run {k + 1} {name} history: {wall:.1f} s, peak {rss / 1024:.0f} MiB, CPU {cpu:.1f} s")
    med = {n: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
           for n, v in results.items()}
    print(f"median of {args.runs}: without {med['without'][0]:.1f} s ({med['without'][1] / 1024:.0f} MiB), "
          f"with {args.cycles} cycles of history {med['with'][0]:.1f} s ({med['with'][1] / 1024:.0f} MiB): "
          f"{med['with'][0] / med['without'][0]:.2f}×")


if __name__ == "__main__":
    main()
