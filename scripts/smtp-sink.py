#!/usr/bin/env python3
"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, every message kept in a folder.

Usage: smtp-sink.py --dir DIR [--port PORT]

Listens on 127.0.0.1:PORT (0, the default, picks a free port), prints "PORT <n>" on stdout once it
accepts connections, and writes each message it receives as DIR/<n>.eml (the bytes as received)
and DIR/<n>.json (envelope, headers and the decoded text and HTML parts, parsed by Python's own
MIME parser so that the tests do not have to undo quoted-printable or base64). Both appear
atomically: a reader never sees half a file. Exits when its standard input closes, so a test that
dies does not leave it behind.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import sys
import threading

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def _write(self, name, data):
        tmp = os.path.join(self.folder, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.folder, name))

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for content_type in ("plain", "html"):
            part = message.get_body(preferencelist=(content_type,))
            if part is not None and part.get_content_type() == "text/" + content_type:
                parts[content_type] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "text": parts.get("plain"),
            "html": parts.get("html"),
        }
        stem = "%06d" % self.count
        self._write(stem + ".eml", raw)
        self._write(stem + ".json", json.dumps(record).encode())
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    loop = asyncio.get_running_loop()
    sink = Sink(args.dir)
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="smtp-sink.test"), host="127.0.0.1", port=args.port
    )
    port = server.sockets[0].getsockname()[1]
    print("PORT %d" % port, flush=True)

    stdin_closed = asyncio.Event()

    def wait_for_eof():
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stdin_closed.set)

    threading.Thread(target=wait_for_eof, daemon=True).start()
    await stdin_closed.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
