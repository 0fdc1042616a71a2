"""A real SMTP server for the end-to-end tests, on aiosmtpd (pinned in scripts/test).

Listens on 127.0.0.1 on a port of its own, prints "listening on PORT" once ready, and writes each
message it accepts, parsed with Python's own email package, as one JSON file in OUT_DIR:
{"envelope_from", "envelope_to", "from", "to", "subject", "content_type", "text", "html", "tls"}.

Options:
  --starttls CERT KEY   offer STARTTLS with this certificate and refuse mail before it
  --fail-first N        answer the first N messages with a temporary failure (451)
"""

import asyncio
import email
import email.policy
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out_dir, fail_first):
        self.out_dir = out_dir
        self.fail_first = fail_first
        self.received = 0

    async def handle_DATA(self, server, session, envelope):
        if self.fail_first > 0:
            self.fail_first -= 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "envelope_from": envelope.mail_from,
            "envelope_to": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "content_type": message.get_content_type(),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
            "tls": session.ssl is not None,
        }
        self.received += 1
        name = os.path.join(self.out_dir, "%06d.json" % self.received)
        with open(name + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(name + ".tmp", name)
        return "250 OK"


async def main():
    args = sys.argv[1:]
    out_dir = args.pop(0)
    tls_context, fail_first = None, 0
    while args:
        flag = args.pop(0)
        if flag == "--starttls":
            cert, key = args.pop(0), args.pop(0)
            tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_context.load_cert_chain(cert, key)
        elif flag == "--fail-first":
            fail_first = int(args.pop(0))
        else:
            raise SystemExit("unknown option " + flag)
    sink = Sink(out_dir, fail_first)

    def factory():
        return SMTP(sink, hostname="mail.test", tls_context=tls_context, require_starttls=tls_context is not None)

    server = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print("listening on %d" % port, flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
