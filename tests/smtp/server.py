#!/usr/bin/env python3
"""A real SMTP server for the send tests (aiosmtpd), in its own process.

Usage: server.py RECEIVED.jsonl [--port-file F] [--transient-every N] [--drop-every N]
                 [--reject ADDRESS] [--delay-ms D] [--keep-raw]
                 [--tls-cert PEM --tls-key PEM] [--auth USER:PASSWORD]

Every accepted message is appended to RECEIVED.jsonl as {"message_id", "rcpt", "from",
"bytes", "t"} (+ "raw", base64, with --keep-raw). Faults, decided per
Message-ID and attempt so that a retry can succeed:
  --transient-every N  the first attempt of every N-th message gets 451 at DATA end
                       (before anything is queued)
  --drop-every N       the first RCPT for every N-th recipient gets 421 and the
                       connection is closed
  --reject ADDRESS     RCPT TO that address gets 550
The port is written to --port-file once the server listens.
"""
import argparse
import asyncio
import base64
import json
import os
import sys
import time
import zlib

from aiosmtpd.controller import Controller


def pick(key, every):
    return every and zlib.crc32(key.encode()) % every == 0


class Handler:
    def __init__(self, args):
        self.args = args
        self.out = open(args.received, "a", buffering=1)
        self.seen_rcpt = {}
        self.seen_data = {}

    async def handle_MAIL(self, server, session, envelope, address, options):
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.args.reject and address.lower() == self.args.reject.lower():
            return "550 5.1.1 <%s>: Recipient address rejected: no such user" % address
        n = self.seen_rcpt.get(address, 0)
        self.seen_rcpt[address] = n + 1
        if n == 0 and pick("drop:" + address, self.args.drop_every):
            server.transport.close()
            return "421 4.4.2 closing connection"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        mid = ""
        for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                mid = line.split(b":", 1)[1].strip().decode()
        n = self.seen_data.get(mid, 0)
        self.seen_data[mid] = n + 1
        if n == 0 and pick("451:" + mid, self.args.transient_every):
            return "451 4.3.0 Temporary failure, try again later"
        if self.args.delay_ms:
            await asyncio.sleep(self.args.delay_ms / 1000)
        rec = {"message_id": mid, "rcpt": envelope.rcpt_tos, "from": envelope.mail_from, "bytes": len(raw),
               "t": time.time()}
        if self.args.keep_raw:
            rec["raw"] = base64.b64encode(raw).decode()
        self.out.write(json.dumps(rec) + "\n")
        return "250 2.0.0 Ok: queued as Q%08x" % (zlib.crc32(mid.encode()) ^ n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("received")
    ap.add_argument("--port-file")
    ap.add_argument("--transient-every", type=int, default=0)
    ap.add_argument("--drop-every", type=int, default=0)
    ap.add_argument("--reject")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--keep-raw", action="store_true")
    ap.add_argument("--tls-cert", help="PEM certificate (and --tls-key): STARTTLS required")
    ap.add_argument("--tls-key")
    ap.add_argument("--auth", help="USER:PASSWORD required (over TLS)")
    args = ap.parse_args()
    handler = Handler(args)

    import socket
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    kwargs = {}
    if args.tls_cert:
        import ssl
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if args.auth:
        from aiosmtpd.smtp import AuthResult
        want_user, want_pass = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == want_user and auth_data.password.decode() == want_pass
            return AuthResult(success=ok, handled=False)
        kwargs.update(authenticator=authenticator, auth_required=True)
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False,
                            enable_SMTPUTF8=True, data_size_limit=0, **kwargs)
    controller.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
