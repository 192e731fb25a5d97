"""Prints the MIME structure Python's email package sees, for the C++ cross-check test.

For each message file given: one line per part in depth-first order, "<content-type> <payload>",
where payload is "-" for containers (multipart and message/*) and the hex of the
transfer-decoded body otherwise; then a line "END".
"""
import sys
from email import message_from_bytes
from email.policy import default

for path in sys.argv[1:]:
    with open(path, "rb") as f:
        msg = message_from_bytes(f.read(), policy=default)
    for part in msg.walk():
        if part.is_multipart():
            payload = "-"
        else:
            data = part.get_payload(decode=True)
            payload = (data or b"").hex()
        print(part.get_content_type(), payload)
    print("END")
