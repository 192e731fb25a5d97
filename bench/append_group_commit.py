#!/usr/bin/env python3
"""Group-commit figure: durable APPENDs per second with 1 client vs N concurrent clients.

Starts a throw-away tern (fsync on, as always) on loopback via the integration harness, then runs a
bounded number of APPENDs, first from one client and then from N clients at once, and prints both
rates and their ratio. With one fsync per commit and concurrent writers sharing a commit, the ratio
grows with N on a disk where fsync dominates. Usage: bench/append_group_commit.py [N] [PER_CLIENT]
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import ALICE, PASSWORDS, TernServer  # noqa: E402

MESSAGE = (b"From: a@example.test\r\nTo: alice@example.test\r\nSubject: bench\r\n\r\n" + b"x" * 4000 + b"\r\n")


def run_clients(server, clients, per_client):
    def worker(i):
        imap = server.imap()
        imap.login(ALICE, PASSWORDS[ALICE])
        for n in range(per_client):
            msg = MESSAGE.replace(b"bench", b"bench %d-%d" % (i, n))
            typ, _ = imap.append("INBOX", None, None, msg)
            assert typ == "OK"
        imap.logout()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return clients * per_client / (time.monotonic() - start)


def main():
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    per_client = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    server = TernServer(log_level="info")
    server.start()
    try:
        single = run_clients(server, 1, per_client * 2)
        many = run_clients(server, clients, per_client)
    finally:
        server.stop()
    print(f"append, 1 client:   {single:8.1f} msg/s")
    print(f"append, {clients} clients: {many:8.1f} msg/s")
    print(f"ratio {clients} clients / 1 client: {many / single:.2f}")


if __name__ == "__main__":
    main()
