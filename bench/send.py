#!/usr/bin/env python3
"""`dunwell send` throughput: e-mails to a real SMTP server on loopback.

Usage: bench/send.py [--customers 12000 [120000 ...]] [--sms] [--runs 3] [--concurrency 16]
                     [--server smtp-sink|aiosmtpd] [--render] [--exe OLDER_BUILD]

For each size, renders the e-mails (with --sms, the SMS too) of a generated export once
(bench/out/send-N-CHANNELS, reused while it is complete: --render makes it again), starts
the server, then sends the outbox --runs times from a fresh journal and prints messages
per second and dunwell's CPU time per message (user + system of the send process), and
the medians.

The server is Postfix's smtp-sink (C, one process; `apt-get install postfix`) unless
--server aiosmtpd: that one is single-threaded Python, and at these rates it, not
dunwell, is the limit. With --sms no SMS gateway is configured: the SMS stay pending,
as they would on a send that only has its relay — the outbox holds rows the send
cannot send, and the rate should not care.
"""
import argparse
import json
import os
import pwd
import shutil
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from render import EXE, ROOT, ENV, export  # noqa: E402

SMTP_SINK = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if os.path.exists("/usr/sbin/smtp-sink") else None)
SEND_EXE = EXE
JOURNAL_FILES = ("journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm", "sending.json", "sending.mark")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind):
    """The server process and its SMTP URL."""
    if kind == "smtp-sink":
        port = free_port()
        cmd = [SMTP_SINK]
        if os.geteuid() == 0:
            # smtp-sink will not keep running as root.
            cmd += ["-u", "nobody" if _user_exists("nobody") else pwd.getpwuid(65534).pw_name]
        proc = subprocess.Popen(cmd + [f"127.0.0.1:{port}", "1000"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    sys.exit(f"smtp-sink did not start on port {port}")
                time.sleep(0.05)
        return proc, f"smtp://127.0.0.1:{port}"
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "aiosmtpd"], check=True)
    received = os.path.join(ROOT, "bench", "out", "send-received.jsonl")
    port_file = received + ".port"
    for f in (received, port_file):
        if os.path.exists(f):
            os.remove(f)
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "smtp", "server.py"), received,
                             "--port-file", port_file], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(port_file) or not open(port_file).read().strip():
        time.sleep(0.05)
    return proc, f"smtp://127.0.0.1:{open(port_file).read().strip()}"


def _user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def outbox(customers, sms, render):
    """A complete outbox of the export's e-mails (and SMS), rendered once per size."""
    out = os.path.join(ROOT, "bench", "out", f"send-{customers}-{'email+sms' if sms else 'email'}")
    if render or not os.path.exists(os.path.join(out, "complete.json")):
        data = export(customers)
        shutil.rmtree(out, ignore_errors=True)
        channels = ["--channel", "email"] + (["--channel", "sms"] if sms else [])
        t = time.perf_counter()
        subprocess.run([EXE, "run", os.path.join(ROOT, "samples", "campaign.yaml"), "--data", data,
                        "--out", out] + channels, env=ENV, check=True, capture_output=True)
        print(f"rendered {out} in {time.perf_counter() - t:.1f} s")
    counts = {"email": 0, "sms": 0}
    with open(os.path.join(out, "manifest.jsonl")) as f:
        for line in f:
            ch = json.loads(line).get("channel")
            if ch in counts:
                counts[ch] += 1
    return out, counts


def send_once(out, env, concurrency):
    # A fresh journal each run, on purpose: the record that sending began goes with it,
    # or send would rightly refuse the outbox.
    for f in JOURNAL_FILES:
        if os.path.exists(os.path.join(out, f)):
            os.remove(os.path.join(out, f))
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(SEND_EXE, [SEND_EXE, "send", out, "--now", "2026-12-01T00:00:00Z",
                        "--concurrency", str(concurrency)], env)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"dunwell send {out} failed (exit {code})")
    states = json.load(open(os.path.join(out, "summary.json")))["delivery"]["states"]
    return states.get("delivered", 0), wall, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, nargs="+", default=[12_000])
    ap.add_argument("--sms", action="store_true", help="render the SMS too (sent to no gateway: they stay pending)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--server", choices=["smtp-sink", "aiosmtpd"], default="smtp-sink")
    ap.add_argument("--render", action="store_true", help="render the outboxes again")
    ap.add_argument("--exe", help="send with this dunwell binary (e.g. an older build), not the release build")
    args = ap.parse_args()
    if args.server == "smtp-sink" and not SMTP_SINK:
        sys.exit("smtp-sink not found: it comes with Postfix (`apt-get install postfix`); "
                 "or run with --server aiosmtpd (much slower than dunwell: it measures the server)")
    if args.exe:
        global SEND_EXE
        SEND_EXE = os.path.abspath(args.exe)
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)

    results = []
    for customers in args.customers:
        out, counts = outbox(customers, args.sms, args.render)
        server, url = start_server(args.server)
        try:
            env = dict(ENV, DUNWELL_SMTP_URL=url)
            env.pop("DUNWELL_SMS_URL", None)
            rates, cpus = [], []
            for i in range(args.runs):
                n, wall, cpu = send_once(out, env, args.concurrency)
                if n != counts["email"]:
                    print(f"  warning: {n:,} of {counts['email']:,} e-mails delivered")
                rates.append(n / wall)
                cpus.append(cpu / n * 1e6)
                print(f"  run {i + 1}: {n:,} e-mails in {wall:.2f} s = {n / wall:,.0f}/s; "
                      f"dunwell CPU {cpus[-1]:.1f} µs/message")
        finally:
            server.kill()
            server.wait()
        rate, cpu = statistics.median(rates), statistics.median(cpus)
        held = f"{counts['email']:,} e-mails" + (f" + {counts['sms']:,} SMS" if args.sms else "")
        results.append((customers, held, rate, cpu))
        print(f"{customers:,} customers ({held}): median {rate:,.0f} messages/s, {cpu:.1f} µs CPU/message")

    print(f"\n{args.concurrency} connections to {args.server} on loopback, medians of {args.runs} runs")
    print("| customers | outbox | e-mails/s | µs CPU/e-mail |")
    print("|---:|---|---:|---:|")
    for customers, held, rate, cpu in results:
        print(f"| {customers:,} | {held} | {rate:,.0f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
