# Postfix's smtp-source (a real, independent SMTP client) against tern's port 25: 20 parallel
# sessions, pipelining, 4 KiB messages; every message it was told 250 for must be in the INBOX.
import shutil
import subprocess
import unittest

from harness import ALICE, ServerTestCase

SESSIONS = 20
MESSAGES = 200


class SmtpSourceTest(ServerTestCase):
    server_options = {"log_level": "info"}

    def test_parallel_pipelined_delivery_all_arrive(self):
        tool = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
        r = subprocess.run([tool, "-c", "-s", str(SESSIONS), "-m", str(MESSAGES), "-l", "4096",
                            "-f", "sender@remote.example", "-t", ALICE, "-S", "smtp-source load",
                            "127.0.0.1:%d" % self.server.smtp_port],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        imap = self.login(ALICE)
        typ, data = imap.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertEqual(int(data[0]), MESSAGES)
        typ, data = imap.uid("SEARCH", None, "SUBJECT", "smtp-source")
        self.assertEqual(len(data[0].split()), MESSAGES)
        # Each message was stored once and carries our trace headers.
        typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (RECEIVED RETURN-PATH)])")
        header = data[0][1]
        self.assertIn(b"Return-Path: <sender@remote.example>", header)
        self.assertIn(b"Received: from ", header)


if __name__ == "__main__":
    unittest.main()
