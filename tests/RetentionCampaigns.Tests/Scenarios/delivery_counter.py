"""An SMTP server for the scenario tests, on Debian's python3-aiosmtpd, that counts deliveries.

For every message it accepts it appends the value of the X-RC-Delivery header (run-customer) as one line to
--log, flushed at once, before answering 250, so the log is what the server took responsibility for. Faults on
request: --fail-every N answers 451 to every Nth message; --drop-after-every N records every Nth message and then
drops the connection instead of answering (the client cannot know it arrived); --drop-mail-every N drops the
connection at every Nth MAIL FROM (before any data); --reject-rcpt TEXT answers 550 5.1.1 (no such user) to
recipients whose address contains TEXT. Prints READY when it listens.
"""
import argparse
import threading
import time

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--fail-every", type=int, default=0)
parser.add_argument("--drop-after-every", type=int, default=0)
parser.add_argument("--drop-mail-every", type=int, default=0)
parser.add_argument("--reject-rcpt", default="")
args = parser.parse_args()

lock = threading.Lock()
counters = {"data": 0, "mail": 0}
log = open(args.log, "a", buffering=1)


def delivery_id(content):
    head = content.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"x-rc-delivery:"):
            return line.split(b":", 1)[1].strip().decode()
    return "none"


class Counter:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with lock:
            counters["mail"] += 1
            n = counters["mail"]
        if args.drop_mail_every and n % args.drop_mail_every == 0:
            server.transport.close()
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if args.reject_rcpt and args.reject_rcpt in address:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with lock:
            counters["data"] += 1
            n = counters["data"]
        if args.fail_every and n % args.fail_every == 0:
            return "451 4.3.0 Temporary failure, try again later"
        with lock:
            log.write(delivery_id(envelope.original_content or envelope.content) + "\n")
            log.flush()
        if args.drop_after_every and n % args.drop_after_every == 0:
            server.transport.abort()
            return "250 2.0.0 never seen"
        return "250 2.0.0 Ok: counted"


controller = Controller(Counter(), hostname="127.0.0.1", port=args.port, decode_data=False, enable_SMTPUTF8=True,
                        data_size_limit=10 * 1024 * 1024)
controller.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
