"""Parses .eml files with Python's email package under the strict policy and prints what a reader sees, as JSON.

Used by the tests as an independent MIME reader: any defect the strict policy finds raises, and the test fails.
"""
import json
import sys
from email import policy
from email.parser import BytesParser


def describe(path):
    with open(path, "rb") as f:
        message = BytesParser(policy=policy.strict).parse(f)
    if message.defects:
        raise ValueError(f"{path}: {message.defects}")
    result = {
        "file": path,
        "subject": str(message["subject"]),
        "from": [[a.display_name, a.addr_spec] for a in message["from"].addresses],
        "to": [[a.display_name, a.addr_spec] for a in message["to"].addresses],
        "messageId": str(message["message-id"]),
        "date": str(message["date"]),
        "listUnsubscribe": str(message["list-unsubscribe"]) if message["list-unsubscribe"] else None,
        "listUnsubscribePost": str(message["list-unsubscribe-post"]) if message["list-unsubscribe-post"] else None,
        "headers": {k: str(v) for k, v in message.items()},
        "contentType": message.get_content_type(),
        "parts": {},
        "maxLine": max(len(line) for line in open(path, "rb").read().split(b"\r\n")),
        "bareLineFeeds": open(path, "rb").read().replace(b"\r\n", b"").count(b"\n"),
    }
    for part in message.walk():
        if part.is_multipart():
            continue
        if part.defects:
            raise ValueError(f"{path}: {part.defects}")
        result["parts"][part.get_content_type()] = {
            "content": part.get_content(),
            "encoding": part["content-transfer-encoding"],
            "charset": part.get_content_charset(),
        }
    return result


print(json.dumps([describe(p) for p in sys.argv[1:]], ensure_ascii=False))
