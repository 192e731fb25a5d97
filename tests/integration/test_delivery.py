# Outbound delivery end to end, on loopback only: a real DNS server (unbound, dns_fixture.py) serves
# a test zone whose MX hosts are loopback addresses (127.0.0.2 answers nothing, 127.0.0.3 is a second
# tern, 127.0.0.4 is Postfix's smtp-sink); the sending tern's [queue] smtp_port points at the
# receivers' shared port. Mail is submitted with smtplib and read back over IMAP on the receiver;
# reports (DSNs) are read back from the sender's INBOX.
import email
import email.policy
import os
import shutil
import smtplib
import subprocess
import tempfile
import time
import unittest

from dns_fixture import TestDnsServer
from harness import ALICE, PASSWORDS, SOCKET_TIMEOUT, TernServer, client_tls_context

DEAD = "127.0.0.2"
RECEIVER = "127.0.0.3"
SINK = "127.0.0.4"
CAROL = "carol@example.net"
DAVE = "dave@nomx.test"
REMOTE_ACCOUNTS = {CAROL: "carol-Secret-3", DAVE: "dave-Secret-4", ALICE: "alice-at-provider-5"}
WAIT = 30.0


def records():
    d = TestDnsServer
    return [
        # MX preference: the preferred host is dead, the second one answers.
        d.mx("example.net", 10, "mx1.example.net"), d.mx("example.net", 20, "mx2.example.net"),
        d.a("mx1.example.net", DEAD), d.a("mx2.example.net", RECEIVER),
        # No MX: the domain's own address (RFC 5321 5.1).
        d.a("nomx.test", RECEIVER),
        # RFC 7505 null MX.
        d.null_mx("nullmx.test"),
        # Only a dead host.
        d.mx("dead.test", 10, "mx.dead.test"), d.a("mx.dead.test", DEAD),
        # smtp-sink, first refusing then accepting.
        d.mx("flaky.test", 10, "mx.flaky.test"), d.a("mx.flaky.test", SINK),
        # The relay host by name.
        d.a("smarthost.test", RECEIVER),
    ]


def message(subject, to, sender=ALICE, body="Hello from the outbound queue.\r\n"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@example.test>\r\n\r\n%s"
            % (sender, to, subject, email.utils.formatdate(), subject.replace(" ", "."), body)).encode()


def submit(server, recipients, subject, user=ALICE, **kw):
    data = message(subject, ", ".join(recipients), sender=user, **kw)
    with smtplib.SMTP(server.host, server.submission_port, timeout=SOCKET_TIMEOUT) as c:
        c.starttls(context=client_tls_context())
        c.login(user, server.accounts[user])
        refused = c.sendmail(user, recipients, data)
    assert not refused, refused
    return data


def find(server, user, criteria, timeout=WAIT, count=1):
    """Polls the user's INBOX until `count` messages match the IMAP SEARCH criteria; their bytes."""
    deadline = time.monotonic() + timeout
    while True:
        c = server.login(user)
        try:
            c.select("INBOX")
            typ, data = c.search(None, criteria)
            nums = data[0].split()
            if len(nums) >= count or time.monotonic() > deadline:
                out = []
                for n in nums:
                    typ, msg = c.fetch(n, "(BODY.PEEK[])")
                    out.append(msg[0][1])
                return out
        finally:
            c.logout()
        time.sleep(0.3)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def delivery_status(report):
    """The per-recipient fields of a multipart/report's delivery-status part, as one dict."""
    msg = parse(report)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    status = parts[1]
    assert status.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
    fields = {}
    for block in status.get_payload():
        for k, v in block.items():
            fields[k.lower()] = str(v)
    return msg, fields


class OutboundDeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = TestDnsServer(records())
        cls.dns.start()
        cls.addClassCleanup(cls.dns.stop)
        # The receiving MTA: a second tern for example.net and nomx.test (and the provider account
        # the smarthost test logs in as).
        cls.receiver = TernServer(host=RECEIVER, domain="example.net", accounts={CAROL: REMOTE_ACCOUNTS[CAROL]})
        cls.addClassCleanup(cls.receiver.cleanup)
        cls.receiver.cli("domain", "add", "nomx.test")
        cls.receiver.cli("user", "add", DAVE, "--password-stdin", stdin=REMOTE_ACCOUNTS[DAVE] + "\n")
        cls.receiver.accounts[DAVE] = REMOTE_ACCOUNTS[DAVE]
        cls.receiver.start()
        cls.port = cls.receiver.smtp_port
        cls.sender = cls.make_sender()
        cls.addClassCleanup(cls.sender.cleanup)
        cls.sender.start()

    @classmethod
    def make_sender(cls, queue=None, **sections):
        q = {"enabled": True, "smtp_port": cls.port, "retry_schedule": [1], "connect_timeout": 5}
        q.update(queue or {})
        all_sections = {"queue": q, "dns": {"resolvers": [cls.dns.address], "timeout": 5}}
        all_sections.update(sections)
        return TernServer(sections=all_sections)

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            print("\n--- sender log ---\n" + self.sender.log_text(80))
            print("\n--- receiver log ---\n" + self.receiver.log_text(40))

    def queue_ids(self, server):
        out = server.cli("queue", "list")
        return [line.split()[0] for line in out.splitlines() if line[:1].isdigit()]

    def wait_queue_empty(self, server, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.queue_ids(server):
                return
            time.sleep(0.3)
        self.fail("queue not empty:\n" + server.cli("queue", "list"))

    # --- routing ---------------------------------------------------------------------------------
    def test_mx_preference_falls_back_to_the_next_host(self):
        sent = submit(self.sender, [CAROL], "mx fallback")
        got = find(self.receiver, CAROL, '(SUBJECT "mx fallback")')
        self.assertEqual(len(got), 1)
        # The body arrived byte for byte after the receiver's trace header.
        self.assertTrue(got[0].endswith(sent.split(b"\r\n\r\n", 1)[1]))
        self.assertIn(b"Received: from", got[0])
        log = self.sender.log_text(400)
        self.assertIn("mx1.example.net", log)  # tried first (preference 10) and failed
        self.wait_queue_empty(self.sender)

    def test_domain_without_mx_uses_its_address(self):
        submit(self.sender, [DAVE], "implicit mx")
        self.assertEqual(len(find(self.receiver, DAVE, '(SUBJECT "implicit mx")')), 1)

    def test_one_connection_carries_several_recipients(self):
        submit(self.sender, [CAROL, DAVE], "two domains")
        self.assertEqual(len(find(self.receiver, CAROL, '(SUBJECT "two domains")')), 1)
        self.assertEqual(len(find(self.receiver, DAVE, '(SUBJECT "two domains")')), 1)

    # --- failures and reports --------------------------------------------------------------------
    def test_permanent_refusal_returns_a_report_at_once(self):
        submit(self.sender, ["nobody@example.net"], "to nobody")
        reports = find(self.sender, ALICE, '(SUBJECT "Undelivered" BODY "nobody@example.net")')
        self.assertEqual(len(reports), 1)
        msg, fields = delivery_status(reports[0])
        self.assertEqual(fields["action"], "failed")
        self.assertTrue(fields["status"].startswith("5.1.1"), fields)
        self.assertIn("nobody@example.net", fields["final-recipient"])
        self.assertIn("550", fields["diagnostic-code"])
        self.assertIn("MAILER-DAEMON", str(msg["From"]))
        self.assertEqual(str(msg["Auto-Submitted"]), "auto-replied")
        # The report carries the original's header section (RET=HDRS is the default).
        self.assertIn(b"Subject: to nobody", reports[0])
        self.wait_queue_empty(self.sender)

    def test_null_mx_fails_at_once(self):
        submit(self.sender, ["someone@nullmx.test"], "null mx")
        reports = find(self.sender, ALICE, '(SUBJECT "Undelivered" BODY "someone@nullmx.test")')
        self.assertEqual(len(reports), 1)
        _, fields = delivery_status(reports[0])
        self.assertTrue(fields["status"].startswith("5.1.10"), fields)

    def test_unknown_domain_fails(self):
        submit(self.sender, ["someone@nxdomain.test"], "no such domain")
        reports = find(self.sender, ALICE, '(SUBJECT "Undelivered" BODY "someone@nxdomain.test")')
        self.assertEqual(len(reports), 1)
        _, fields = delivery_status(reports[0])
        self.assertTrue(fields["status"].startswith("5.1.2"), fields)

    def test_dead_host_is_retried_then_reported_delayed_then_failed(self):
        sender = self.make_sender(queue={"delay_warning": 2, "max_lifetime": 8})
        self.addCleanup(sender.cleanup)
        sender.start()
        submit(sender, ["someone@dead.test"], "dead host")
        delayed = find(sender, ALICE, '(SUBJECT "Delayed" BODY "someone@dead.test")')
        self.assertEqual(len(delayed), 1, sender.log_text(60))
        _, fields = delivery_status(delayed[0])
        self.assertEqual(fields["action"], "delayed")
        self.assertTrue(fields["status"].startswith("4."), fields)
        self.assertIn("will-retry-until", fields)
        failed = find(sender, ALICE, '(SUBJECT "Undelivered" BODY "someone@dead.test")')
        self.assertEqual(len(failed), 1, sender.log_text(60))
        _, fields = delivery_status(failed[0])
        self.assertEqual(fields["action"], "failed")
        self.assertTrue(fields["status"].startswith("4.4.7"), fields)
        # Several attempts were made before giving up, and exactly one delay notice was sent.
        self.assertGreaterEqual(sender.log_text(2000).count("someone@dead.test> relay=") +
                                sender.log_text(2000).count("mx.dead.test failed"), 2)
        self.assertEqual(len(find(sender, ALICE, '(SUBJECT "Delayed")', timeout=0)), 1)
        self.wait_queue_empty(sender)

    def test_no_report_for_notify_never(self):
        with smtplib.SMTP(self.sender.host, self.sender.submission_port, timeout=SOCKET_TIMEOUT) as c:
            c.starttls(context=client_tls_context())
            c.login(ALICE, PASSWORDS[ALICE])
            c.ehlo()
            c.sendmail(ALICE, ["never@example.net"], message("notify never", "never@example.net"),
                       rcpt_options=["NOTIFY=NEVER"])
        self.wait_queue_empty(self.sender)
        self.assertEqual(find(self.sender, ALICE, '(BODY "never@example.net")', timeout=0), [])

    # --- a foreign receiver: Postfix's smtp-sink, refusing (4xx) first -------------------------------
    def test_temporary_failure_is_retried_until_accepted(self):
        sink_bin = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        if not os.path.exists(sink_bin):
            self.skipTest("smtp-sink (postfix) not installed")
        dump = tempfile.mkdtemp(prefix="tern-sink-")
        self.addCleanup(shutil.rmtree, dump, True)
        os.chmod(dump, 0o777)
        # smtp-sink refuses to run as root: it switches to an unprivileged user.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        # -r rcpt: every RCPT gets a 4xx; -d: each accepted transaction is saved to a file.
        refusing = subprocess.Popen([sink_bin, *user, "-r", "rcpt", "%s:%d" % (SINK, self.port), "10"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            submit(self.sender, ["someone@flaky.test"], "flaky receiver")
            deadline = time.monotonic() + WAIT
            while "someone@flaky.test> relay=" not in self.sender.log_text(2000) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.assertIn("status=deferred", self.sender.log_text(2000))
        finally:
            refusing.terminate()
            refusing.wait(5)
        accepting = subprocess.Popen([sink_bin, *user, "-d", os.path.join(dump, "%M"), "%s:%d" % (SINK, self.port), "10"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (accepting.terminate(), accepting.wait(5)))
        deadline = time.monotonic() + WAIT
        saved = b""
        while time.monotonic() < deadline:
            for root, _, files in os.walk(dump):
                for f in files:
                    with open(os.path.join(root, f), "rb") as fh:
                        saved += fh.read()
            if b"flaky receiver" in saved:
                break
            time.sleep(0.3)
        self.assertIn(b"Subject: flaky receiver", saved)
        self.wait_queue_empty(self.sender)


if __name__ == "__main__":
    unittest.main()
