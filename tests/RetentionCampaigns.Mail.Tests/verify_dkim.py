"""Verifies DKIM signatures with dkimpy, an independent implementation, against a given DNS TXT record.

Usage: verify_dkim.py <message.eml> <selector._domainkey.domain> <TXT record>. Exits 0 when every signature verifies.
"""
import sys

import dkim

path, name, record = sys.argv[1], sys.argv[2], sys.argv[3]


def dns(query, timeout=5):
    wanted = query.decode() if isinstance(query, bytes) else query
    return record.encode() if wanted.rstrip(".") == name else None


with open(path, "rb") as f:
    message = f.read()
ok = dkim.verify(message, dnsfunc=dns)
print("pass" if ok else "fail")
sys.exit(0 if ok else 1)
