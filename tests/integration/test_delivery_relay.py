# Outbound delivery, continued (loopback only, DNS from an unbound test zone): Postfix as the receiving
# MTA (handing mail on to a tern over LMTP), a smarthost with AUTH over TLS, DKIM signatures checked by
# an independent verifier (Debian's python3-dkim), and kill -9 in the middle of a delivery run (every
# message arrives; a rare duplicate is allowed, a loss is not).
import os
import re
import subprocess
import tempfile
import time
import unittest

from dns_fixture import TestDnsServer
from harness import ALICE, TernServer
from postfix_fixture import TestPostfix
from test_delivery import CAROL, RECEIVER, REMOTE_ACCOUNTS, find, parse, submit

POSTFIX = "127.0.0.5"
ERIN = "erin@example.org"
ERIN_PASSWORD = "erin-Secret-6"

VERIFY_SCRIPT = r'''
import sys, dkim
txt = open(sys.argv[1], "rb").read()
def dnsfunc(name, timeout=5):
    return txt
ok = dkim.verify(open(sys.argv[2], "rb").read(), dnsfunc=dnsfunc)
print("signature ok" if ok else "signature invalid")
sys.exit(0 if ok else 1)
'''


def dkim_record(cli_output):
    """The TXT record text from `tern dkim generate`'s output (the quoted strings, joined)."""
    record = "".join(re.findall(r'"([^"]*)"', cli_output))
    assert record.startswith("v=DKIM1"), cli_output
    return record


class RelayAndSigningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = TestDnsServer
        cls.dns = TestDnsServer([d.a("smarthost.test", RECEIVER), d.mx("example.net", 10, "mx.example.net"),
                                 d.a("mx.example.net", RECEIVER), d.mx("example.org", 10, "mx.example.org"),
                                 d.a("mx.example.org", POSTFIX)])
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        # The provider: holds carol's mailbox and alice's provider account the smarthost login uses.
        cls.receiver = TernServer(host=RECEIVER, domain="example.net", accounts={CAROL: REMOTE_ACCOUNTS[CAROL]})
        cls.addClassCleanup(cls.receiver.cleanup)
        cls.receiver.cli("domain", "add", "example.test")
        cls.receiver.cli("user", "add", ALICE, "--password-stdin", stdin=REMOTE_ACCOUNTS[ALICE] + "\n")
        cls.receiver.cli("domain", "add", "example.org")
        cls.receiver.cli("user", "add", ERIN, "--password-stdin", stdin=ERIN_PASSWORD + "\n")
        cls.receiver.accounts[ERIN] = ERIN_PASSWORD
        cls.receiver.start()

    def sender(self, **sections):
        all_sections = {"queue": {"enabled": True, "smtp_port": self.receiver.smtp_port, "retry_schedule": [1],
                                  "connect_timeout": 5},
                        "dns": {"resolvers": [self.dns.address], "timeout": 5}}
        all_sections.update(sections)
        s = TernServer(sections=all_sections)
        self.addCleanup(s.cleanup)
        return s

    def test_postfix_as_the_receiving_mta(self):
        postfix = TestPostfix(POSTFIX, self.receiver.smtp_port, "example.org", RECEIVER, self.receiver.lmtp_port)
        self.addCleanup(postfix.stop)
        postfix.start()
        s = self.sender()
        s.start()
        sent = submit(s, [ERIN], "through postfix", body="Line one.\r\n.leading dot\r\n")
        got = find(self.receiver, ERIN, '(SUBJECT "through postfix")')
        self.assertEqual(len(got), 1, s.log_text(40) + "\n" + postfix.log_text())
        # Postfix's trace header, and the body intact (dot-stuffing undone on the way).
        self.assertIn(b"by postfix.test (Postfix)", got[0])
        self.assertTrue(got[0].endswith(sent.split(b"\r\n\r\n", 1)[1]))
        self.assertIn("status=sent", s.log_text(400))

    def test_smarthost_with_auth_over_tls(self):
        s = self.sender(relay={"host": "smarthost.test", "port": self.receiver.submission_port,
                               "username": ALICE, "password": REMOTE_ACCOUNTS[ALICE], "tls": "required"})
        s.start()
        submit(s, [CAROL], "via smarthost")
        got = find(self.receiver, CAROL, '(SUBJECT "via smarthost")')
        self.assertEqual(len(got), 1, s.log_text(40))
        # The provider's trace header shows an authenticated, encrypted submission (RFC 3848 ESMTPSA).
        self.assertRegex(got[0].decode(errors="replace"), r"with ESMTPSA")
        self.assertIn("relay=smarthost.test", s.log_text(400))

    def test_smarthost_refusing_the_login_keeps_mail_queued(self):
        s = self.sender(relay={"host": "smarthost.test", "port": self.receiver.submission_port,
                               "username": ALICE, "password": "wrong-password", "tls": "required"})
        s.start()
        submit(s, [CAROL], "bad relay password")
        deadline = time.monotonic() + 20
        while "smarthost.test failed" not in s.log_text(400) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertIn("smarthost.test failed", s.log_text(400))
        # An operator mistake must not bounce mail: it stays queued for a retry.
        self.assertEqual(find(s, ALICE, '(SUBJECT "Undelivered")', timeout=0), [])
        listing = s.cli("queue", "list")
        ids = re.findall(r"(?m)^\s*(\d+)", listing)
        self.assertEqual(len(ids), 1, listing)
        # The recorded reason names the smarthost's refusal (535 from its AUTH).
        self.assertIn("535", s.cli("queue", "show", ids[0]))

    def test_outgoing_mail_is_dkim_signed(self):
        s = self.sender()
        out = s.cli("dkim", "generate", "example.test", "--algorithm", "rsa")
        record = dkim_record(out)
        s.start()
        submit(s, [CAROL], "signed mail", body="Signed body.\r\nWith two lines.  \r\n")
        got = find(self.receiver, CAROL, '(SUBJECT "signed mail")')
        self.assertEqual(len(got), 1, s.log_text(40))
        self.assertIn(b"DKIM-Signature:", got[0])
        self.assertIn(b"d=example.test", got[0])
        with tempfile.TemporaryDirectory() as tmp:
            paths = {n: os.path.join(tmp, n) for n in ("verify.py", "txt", "msg")}
            with open(paths["verify.py"], "w") as f:
                f.write(VERIFY_SCRIPT)
            with open(paths["txt"], "w") as f:
                f.write(record)
            # The receiver added its own Received header on top, which DKIM allows.
            with open(paths["msg"], "wb") as f:
                f.write(got[0])
            r = subprocess.run(["/usr/bin/python3", paths["verify.py"], paths["txt"], paths["msg"]],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # The verifier can fail: a changed body breaks the signature.
            with open(paths["msg"], "wb") as f:
                f.write(got[0].replace(b"Signed body.", b"Forged body."))
            r = subprocess.run(["/usr/bin/python3", paths["verify.py"], paths["txt"], paths["msg"]],
                               capture_output=True, text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_kill9_during_delivery_loses_nothing(self):
        s = self.sender(queue={"enabled": True, "smtp_port": self.receiver.smtp_port, "retry_schedule": [1],
                               "connect_timeout": 5, "max_deliveries_per_domain": 2})
        s.start()
        subjects = ["crash batch %d" % i for i in range(30)]
        for i, subject in enumerate(subjects):
            submit(s, [CAROL], subject)
            if i == 20:
                s.kill9()  # deliveries of the first messages are running now
                s.start()
        s.kill9()
        s.start()
        deadline = time.monotonic() + 60
        missing = subjects
        while missing and time.monotonic() < deadline:
            got = find(self.receiver, CAROL, '(SUBJECT "crash batch")', timeout=0)
            seen = {str(parse(m)["Subject"]) for m in got}
            missing = [x for x in subjects if x not in seen]
            time.sleep(0.5)
        self.assertEqual(missing, [], s.log_text(80))


if __name__ == "__main__":
    unittest.main()
