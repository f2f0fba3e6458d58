#!/usr/bin/env python3
"""An SMS gateway for the send tests: a real HTTP server in its own process.

Usage: gateway.py RECEIVED.jsonl --port-file F [--fail-every N] [--reject NUMBER]
                  [--504-after-sending-every N] [--dedupe] [--redirect CODE] [--endless-body]

Every accepted POST is appended to RECEIVED.jsonl as {"path", "type", "auth", "key",
"body"} (JSON bodies parsed, form bodies as a dict; key = the Idempotency-Key header).
Faults per recipient so a retry succeeds: the first attempt for every N-th number gets
503 without sending (--fail-every), or is SENT and then answered 504 as a proxy that
timed out would (--504-after-sending-every); NUMBER always gets 400. With --dedupe the
gateway honours Idempotency-Key: a key it has seen is answered 201 again, not resent.
--redirect CODE answers every POST with that 3xx and a Location on this gateway, sending
nothing (a GET to it is recorded as {"get": path}); --endless-body answers 200 with a
body that never ends.
"""
import argparse
import json
import os
import socket
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ap = argparse.ArgumentParser()
ap.add_argument("received")
ap.add_argument("--port-file", required=True)
ap.add_argument("--fail-every", type=int, default=0)
ap.add_argument("--reject")
ap.add_argument("--504-after-sending-every", dest="late_504", type=int, default=0)
ap.add_argument("--dedupe", action="store_true")
ap.add_argument("--redirect", type=int, default=0)
ap.add_argument("--endless-body", action="store_true")
args = ap.parse_args()
keys = {}
out = open(args.received, "a", buffering=1)
seen = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        out.write(json.dumps({"get": self.path}) + "\n")
        self.reply(200, {"sid": "GET"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if args.redirect:
            self.send_response(args.redirect)
            self.send_header("Location", "/landing")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if args.endless_body:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while True:
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            body = json.loads(raw)
            to = body.get("to") or body.get("msisdn")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            to = body.get("To")
        if args.reject and to == args.reject:
            return self.reply(400, {"error": "invalid number"})
        key = self.headers.get("Idempotency-Key")
        if args.dedupe and key in keys:
            return self.reply(201, keys[key])
        n = seen.get(to, 0)
        seen[to] = n + 1
        if n == 0 and args.fail_every and zlib.crc32(to.encode()) % args.fail_every == 0:
            return self.reply(503, {"error": "busy, try later"})
        out.write(json.dumps({"path": self.path, "type": ctype, "auth": self.headers.get("Authorization"),
                              "key": key, "body": body}) + "\n")
        answer = {"sid": "SM%08x" % zlib.crc32(raw)}
        if key:
            keys[key] = answer
        if n == 0 and args.late_504 and zlib.crc32(to.encode()) % args.late_504 == 0:
            return self.reply(504, {"error": "upstream timed out"})
        self.reply(201, answer)


probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(port))
os.replace(args.port_file + ".tmp", args.port_file)
server.serve_forever()
