"""A recording SMTP server for the tests, on Debian's python3-aiosmtpd.

Every accepted message is written to DIR as N.eml (the message bytes as received, after dot-unstuffing) and
N.json (the envelope). Options turn on STARTTLS (with a certificate and key), AUTH (user:password, only over
TLS) and SMTPUTF8. Prints READY when it listens.
"""
import argparse
import json
import os
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--auth")
parser.add_argument("--implicit-tls", action="store_true")
args = parser.parse_args()
os.makedirs(args.dir, exist_ok=True)
counter = {"n": 0}
lock = threading.Lock()


class Recorder:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            counter["n"] += 1
            n = counter["n"]
        base = os.path.join(args.dir, str(n))
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json", "w") as f:
            json.dump({"mailFrom": envelope.mail_from, "rcptTos": envelope.rcpt_tos,
                       "mailOptions": envelope.mail_options,
                       "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                       "authenticated": bool(getattr(session, "authenticated", False))}, f)
        os.replace(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: recorded"


def authenticator(server, session, envelope, mechanism, auth_data):
    user, password = args.auth.split(":", 1)
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


kwargs = {"enable_SMTPUTF8": True, "decode_data": False}
controller_kwargs = {}
if args.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    if args.implicit_tls:
        controller_kwargs["ssl_context"] = context
    else:
        kwargs.update(tls_context=context, require_starttls=True)
if args.auth:
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)

controller = Controller(Recorder(), hostname="127.0.0.1", port=args.port, data_size_limit=10 * 1024 * 1024,
                        **kwargs, **controller_kwargs)
controller.start()
print("READY", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
