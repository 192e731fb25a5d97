#!/usr/bin/env python3
"""SEARCH/SORT/THREAD/FETCH timings on a large generated mailbox (issue: message parsing).

Fills a throw-away tern (fsync on) with N generated messages via MULTIAPPEND (100 per command), then
times header searches (answered from the stored parse results), body searches (which decode the text
parts of every message), SORT, THREAD and FETCH of stored structures.
Usage: TERN_BIN=build/tern bench/search_scan.py [N]   (default 100000)
"""
import os, sys, time, sqlite3, random
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import TernServer  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
random.seed(1)
words = "alpha beta gamma delta needle report meeting invoice lunch project update status".split()
def msg(i):
    subj = "Subject %d %s" % (i, random.choice(words))
    body = ("Line %d of the body with some words %s.\r\n" % (i, " ".join(random.choice(words) for _ in range(8)))) * 40
    if i % 3 == 0:
        body = "=C3=A9t=C3=A9 quoted printable text number %d =\r\ncontinued\r\n" % i + body
    h = ("From: User%d <user%d@example.test>\r\nTo: bob@example.test\r\nSubject: %s\r\n"
         "Date: Mon, %02d Jan 2024 10:%02d:00 +0000\r\nMessage-ID: <m%d@x>\r\n%s"
         "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
         % (i % 97, i % 97, subj, 1 + i % 28, i % 60, i, ("References: <m%d@x>\r\n" % (i - 1)) if i % 5 else ""))
    return (h + body).encode()

s = TernServer(log_level="info")
s.start()
try:
    r = s.raw_login()
    r.sock.settimeout(300)  # body scans of 100k messages take seconds
    r.ok("CREATE Big")
    t = time.time()
    batch = 100
    for start in range(0, N, batch):
        tag = r.next_tag()
        parts = [tag.encode() + b" APPEND Big"]
        data = b""
        for i in range(start, start + batch):
            m = msg(i)
            data += b" {%d+}\r\n" % len(m) + m
        r.send(parts[0] + data + b"\r\n")
        tagged, _ = r.read_until_tagged(tag)
        assert b" OK" in tagged, tagged
    print("append %d msgs: %.2fs" % (N, time.time() - t))
    r.ok("SELECT Big")
    def timed(cmd):
        t = time.time()
        tagged, un = r.ok(cmd)
        dt = time.time() - t
        print("%-55s %.3fs  (%d bytes)" % (cmd[:55], dt, sum(len(u) for u in un)))
    timed("UID SEARCH SUBJECT needle")
    timed("UID SEARCH SUBJECT needle")
    timed("UID SEARCH FROM user5")
    timed("UID SEARCH HEADER Message-ID m77@")
    timed("UID SEARCH BODY continued")
    timed("UID SEARCH TEXT needle")
    timed("UID SORT (SUBJECT) UTF-8 ALL")
    timed("UID SORT (REVERSE DATE FROM) UTF-8 ALL")
    timed("UID THREAD REFERENCES UTF-8 ALL")
    timed("UID THREAD ORDEREDSUBJECT UTF-8 ALL")
    timed("UID FETCH 1:* (ENVELOPE)")
    timed("UID FETCH 1:* (BODYSTRUCTURE)")
    timed("UID FETCH 1:* (PREVIEW)")
    r.close()
    s.stop()
    db = sqlite3.connect(os.path.join(s.data_dir, "tern.db"))
    print("structures stored:", db.execute("select count(*), sum(length(structure)) from blob_structure").fetchone())
    db.execute("DELETE FROM blob_structure"); db.commit(); db.close()
    s.start()
    r = s.raw_login()
    r.sock.settimeout(300)  # body scans of 100k messages take seconds
    r.ok("SELECT Big")
    print("after dropping all structures (old store):")
    timed("UID SEARCH SUBJECT needle")
    timed("UID SEARCH SUBJECT needle")
    db = sqlite3.connect(os.path.join(s.data_dir, "tern.db"))
    print("structures stored again:", db.execute("select count(*) from blob_structure").fetchone())
finally:
    s.cleanup()
