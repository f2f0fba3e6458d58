#!/usr/bin/env python3
"""An SMTP server that stops answering at one step: for the send fault tests.

Usage: silent.py RECEIVED.jsonl --port-file F --silent-at STEP [--flood]

STEP is one of greeting, ehlo, starttls, auth, mail, rcpt, data, content, quit. At that
step the server reads what the client sends and never answers (the connection stays
open), as a hung relay does. Every other step is answered as a plain SMTP server would;
EHLO advertises STARTTLS and AUTH PLAIN LOGIN (it never actually starts TLS: the fault
tests go silent at STARTTLS or use plain connections). Messages whose content was
answered with 250 are appended to RECEIVED.jsonl as {"message_id"}; with
`--silent-at content` the server also records what it took before going silent, as a
relay that queued a message and then hung would. With --flood the server, at STEP,
instead sends one endless reply line (a broken relay filling the client's memory).
"""
import argparse
import asyncio
import json
import os
import socket

ap = argparse.ArgumentParser()
ap.add_argument("received")
ap.add_argument("--port-file", required=True)
ap.add_argument("--silent-at", required=True,
                choices=["greeting", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "content", "quit"])
ap.add_argument("--flood", action="store_true")
args = ap.parse_args()
out = open(args.received, "a", buffering=1)
connections = 0


def message_id(data):
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    return ""


async def hang(reader, writer=None):
    # Read and discard whatever comes, never answer; end when the client closes.
    if args.flood and writer is not None:
        writer.write(b"250-")
        chunk = b"x" * 65536
        try:
            while True:
                writer.write(chunk)
                await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            return
    while await reader.read(65536):
        pass


async def session(reader, writer):
    global connections
    connections += 1
    silent = args.silent_at

    def say(line):
        writer.write(line.encode() + b"\r\n")

    try:
        if silent == "greeting":
            if args.flood:
                writer.write(b"220-")
            return await hang(reader, writer)
        say("220 silent.test ESMTP")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                if silent == "ehlo":
                    return await hang(reader, writer)
                say("250-silent.test")
                say("250-8BITMIME")
                say("250-STARTTLS")
                say("250 AUTH PLAIN LOGIN")
            elif verb == "STARTTLS":
                if silent == "starttls":
                    return await hang(reader)
                say("454 TLS not available")
            elif verb == "AUTH":
                if silent == "auth":
                    return await hang(reader)
                say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                if silent == "mail":
                    return await hang(reader)
                say("250 OK")
            elif verb == "RCPT":
                if silent == "rcpt":
                    return await hang(reader)
                say("250 OK")
            elif verb == "DATA":
                if silent == "data":
                    return await hang(reader)
                say("354 End data with <CR><LF>.<CR><LF>")
                await writer.drain()
                data = b""
                while True:
                    chunk = await reader.readline()
                    if not chunk:
                        return
                    if chunk == b".\r\n":
                        break
                    data += chunk
                # The message was taken (queued) either way; only the answer differs.
                out.write(json.dumps({"message_id": message_id(data)}) + "\n")
                if silent == "content":
                    return await hang(reader)
                say("250 2.0.0 Ok: queued")
            elif verb == "RSET" or verb == "NOOP":
                say("250 OK")
            elif verb == "QUIT":
                if silent == "quit":
                    return await hang(reader)
                say("221 Bye")
                await writer.drain()
                return
            else:
                say("502 5.5.2 Error: command not recognized")
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = await asyncio.start_server(session, "127.0.0.1", port)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.replace(args.port_file + ".tmp", args.port_file)
    async with server:
        await server.serve_forever()


asyncio.run(main())
