#!/usr/bin/env python3
"""`dunwell send` throughput: ~10,000 e-mails to a real SMTP server on loopback.

Usage: bench/send.py [--customers 12000] [--runs 3] [--concurrency 16]

Renders the e-mails of a generated export once, starts tests/smtp/server.py (aiosmtpd,
one Python process), then sends the outbox --runs times from a fresh journal and prints
messages per second and dunwell's CPU time per message (user + system). The server is
single-threaded Python: at these rates it, not dunwell, is usually the limit; the CPU
per message says how much dunwell itself spends.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import EXE, ROOT, ENV, export, timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=12_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "aiosmtpd"], check=True)
    data = export(args.customers)
    out = os.path.join(ROOT, "bench", "out", "send")
    # An outbox that was sent from is never rendered again (docs/send.md): a new one.
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([EXE, "run", os.path.join(ROOT, "samples", "campaign.yaml"), "--data", data,
                    "--out", out, "--channel", "email"], env=ENV, check=True, capture_output=True)
    received = os.path.join(ROOT, "bench", "out", "send-received.jsonl")
    port_file = received + ".port"
    for f in (received, port_file):
        if os.path.exists(f):
            os.remove(f)
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "smtp", "server.py"), received,
                               "--port-file", port_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(port_file):
            time.sleep(0.05)
        env = dict(ENV, DUNWELL_SMTP_URL=f"smtp://127.0.0.1:{open(port_file).read().strip()}")
        rates, cpus = [], []
        for i in range(args.runs):
            # A fresh journal each run, on purpose: the record that sending began goes
            # with it, or send would rightly refuse the outbox.
            for f in ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "sending.json"):
                if os.path.exists(os.path.join(out, f)):
                    os.remove(os.path.join(out, f))
            t = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.execve(EXE, [EXE, "send", out, "--now", "2026-12-01T00:00:00Z",
                                "--concurrency", str(args.concurrency)], env)
            _, status, usage = os.wait4(pid, 0)
            wall = time.perf_counter() - t
            states = json.load(open(os.path.join(out, "summary.json")))["delivery"]["states"]
            n = states.get("delivered", 0)
            rates.append(n / wall)
            cpus.append((usage.ru_utime + usage.ru_stime) / n * 1e6)
            print(f"send run {i + 1}: {n:,} e-mails in {wall:.2f} s = {n / wall:,.0f}/s; "
                  f"dunwell CPU {cpus[-1]:.0f} µs/message")
        print(f"\nmedian: {statistics.median(rates):,.0f} messages/s, {statistics.median(cpus):.0f} µs CPU/message "
              f"({args.concurrency} connections, aiosmtpd on loopback)")
    finally:
        server.kill()


if __name__ == "__main__":
    main()
