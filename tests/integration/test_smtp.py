# SMTP with real clients (python smtplib, swaks): inbound delivery to accounts, aliases, catch-all and
# subaddresses, read back over IMAP byte for byte; authenticated submission over STARTTLS and implicit
# TLS to local and remote (queued) recipients; refusals (unknown user, relay tricks, AUTH before TLS,
# unowned sender, oversize, too many recipients); STARTTLS and DATA smuggling attacks; LMTP.
import base64
import email.utils
import hashlib
import hmac
import os
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import time
import unittest

from harness import ALICE, BOB, DOMAIN, PASSWORDS, SOCKET_TIMEOUT, ServerTestCase, TernServer, client_tls_context

CATCHALL_DOMAIN = "catchall.test"
ALIAS = "sales@" + DOMAIN
MAX_SIZE = 200000
MAX_RCPT = 3


def message(subject, sender=ALICE, to=BOB, body="Hello.\r\n"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@test>\r\n\r\n%s"
            % (sender, to, subject, email.utils.formatdate(), subject.replace(" ", "."), body)).encode()


class RawSmtp:
    """A line-level SMTP client for what smtplib will not send (pipelining attacks, bare LF)."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """(code, [lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            line = self._line()
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def starttls(self):
        self.sock = client_tls_context().wrap_socket(self.sock)
        self.buf = b""


class SmtpTest(ServerTestCase):
    server_options = {"limits": {"max_message_size": MAX_SIZE, "smtp_max_recipients": MAX_RCPT}}

    @classmethod
    def setUpClass(cls):
        cls.server = TernServer(**cls.server_options)
        try:
            cls.server.cli("domain", "add", CATCHALL_DOMAIN)
            cls.server.cli("alias", "add", ALIAS, BOB)
            cls.server.cli("alias", "add", "@" + CATCHALL_DOMAIN, BOB)
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    # --- helpers ---------------------------------------------------------------------------------
    def smtp(self):
        c = smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=SOCKET_TIMEOUT)
        self.addCleanup(c.close)
        return c

    def submission(self, implicit=False):
        if implicit:
            c = smtplib.SMTP_SSL("127.0.0.1", self.server.submissions_port, timeout=SOCKET_TIMEOUT,
                                 context=client_tls_context())
        else:
            c = smtplib.SMTP("127.0.0.1", self.server.submission_port, timeout=SOCKET_TIMEOUT)
            c.starttls(context=client_tls_context())
        self.addCleanup(c.close)
        c.login(ALICE, PASSWORDS[ALICE])
        return c

    def raw(self, port=None, tls=False):
        r = RawSmtp(port or self.server.smtp_port, tls=tls)
        self.addCleanup(r.close)
        code, _ = r.reply()
        self.assertEqual(code, 220)
        return r

    def inbox(self, user):
        """All INBOX messages of user, oldest first, as raw bytes."""
        c = self.server.imap()
        try:
            c.login(user, PASSWORDS[user])
            typ, data = c.select("INBOX", readonly=True)
            self.assertEqual(typ, "OK")
            n = int(data[0])
            out = []
            if n:
                typ, data = c.fetch("1:%d" % n, "(BODY.PEEK[])")
                self.assertEqual(typ, "OK")
                out = [item[1] for item in data if isinstance(item, tuple)]
            c.logout()
            return out
        finally:
            try:
                c.shutdown()
            except Exception:
                pass

    def assertDelivered(self, user, original, before):
        msgs = self.inbox(user)
        self.assertEqual(len(msgs), before + 1, "expected exactly one new message for %s" % user)
        stored = msgs[-1]
        self.assertTrue(stored.endswith(original), "stored message differs below the added headers")
        added = stored[: len(stored) - len(original)]
        self.assertTrue(added.startswith(b"Return-Path: <"), added)
        self.assertIn(b"\r\nReceived: from ", added)
        self.assertTrue(added.endswith(b"\r\n"))
        return added

    def queued(self):
        db = sqlite3.connect(os.path.join(self.server.data_dir, "tern.db"), timeout=10)
        try:
            return db.execute("SELECT m.sender, r.recipient, r.notify, r.orcpt, m.ret, m.envid, r.attempts "
                              "FROM outbound_recipients r JOIN outbound_messages m ON m.id = r.message_id "
                              "ORDER BY r.id").fetchall()
        finally:
            db.close()

    # --- inbound ---------------------------------------------------------------------------------
    def test_inbound_to_account_alias_catchall_subaddress(self):
        for rcpt in (BOB, ALIAS, "anything@" + CATCHALL_DOMAIN, "bob+news@" + DOMAIN, "BOB@EXAMPLE.TEST"):
            with self.subTest(rcpt=rcpt):
                before = len(self.inbox(BOB))
                original = message("inbound to " + rcpt, sender="someone@remote.test", to=rcpt)
                c = self.smtp()
                refused = c.sendmail("someone@remote.test", [rcpt], original)
                self.assertEqual(refused, {})
                added = self.assertDelivered(BOB, original, before)
                self.assertIn(b"Return-Path: <someone@remote.test>", added)
                self.assertIn(b"with ESMTP id", added)

    def test_selected_inbox_sees_exists(self):
        imap = self.server.imap()
        self.addCleanup(imap.shutdown)
        imap.login(BOB, PASSWORDS[BOB])
        typ, data = imap.select("INBOX")
        n = int(data[0])
        self.assertEqual(self.smtp().sendmail("someone@remote.test", [BOB], message("exists")), {})
        deadline = time.monotonic() + 5
        seen = None
        while time.monotonic() < deadline:
            imap.noop()
            typ, data = imap.response("EXISTS")
            if data and data[-1] is not None and int(data[-1]) > n:
                seen = int(data[-1])
                break
            time.sleep(0.05)
        self.assertEqual(seen, n + 1)

    def test_unknown_user_refused_at_rcpt(self):
        c = self.smtp()
        c.ehlo("client.test")
        c.mail("someone@remote.test")
        code, text = c.rcpt("nobody@" + DOMAIN)
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.1.1"), text)

    def test_relay_tricks_refused(self):
        tricks = [
            "<victim@remote.test>",
            "<victim%remote.test@example.test>",
            "<remote.test!victim@example.test>",
            '<"victim@remote.test"@example.test>',
            "<@example.test:victim@remote.test>",
            "<@example.test,@other.test:victim@remote.test>",
            "<victim@[192.0.2.1]>",
            "<victim%remote.test@[127.0.0.1]>",
        ]
        before = len(self.queued())
        r = self.raw()
        self.assertEqual(r.cmd("EHLO client.test")[0], 250)
        for t in tricks:
            with self.subTest(path=t):
                self.assertEqual(r.cmd("MAIL FROM:<someone@remote.test>")[0], 250)
                code, lines = r.cmd("RCPT TO:" + t)
                self.assertGreaterEqual(code, 500, "%s was accepted: %s" % (t, lines))
                self.assertRegex(lines[0], r"^5\.\d\.\d+ ")
                self.assertEqual(r.cmd("RSET")[0], 250)
        self.assertEqual(len(self.queued()), before)

    def test_vrfy_never_confirms(self):
        r = self.raw()
        r.cmd("EHLO client.test")
        self.assertEqual(r.cmd("VRFY " + BOB), r.cmd("VRFY nobody@" + DOMAIN))
        self.assertEqual(r.cmd("VRFY " + BOB)[0], 252)

    def test_every_reply_has_enhanced_code(self):
        r = self.raw()
        for cmd in ("EHLO client.test", "NOOP", "HELP", "MAIL FROM:<a@remote.test>", "RCPT TO:<bob@example.test>",
                    "RSET", "FOO", "MAIL FROM:<bad", "DATA"):
            code, lines = r.cmd(cmd)
            if cmd.startswith("EHLO"):
                self.assertIn("ENHANCEDSTATUSCODES", lines)
                self.assertIn("PIPELINING", lines)
                self.assertIn("STARTTLS", lines)
                self.assertNotIn("AUTH PLAIN LOGIN SCRAM-SHA-256", lines)
                continue
            self.assertRegex(lines[0], r"^%d\.\d{1,3}\.\d{1,3}( |$)" % (code // 100), cmd)

    def test_oversize(self):
        c = self.smtp()
        c.ehlo("client.test")
        code, text = c.mail("someone@remote.test", ["SIZE=%d" % (MAX_SIZE * 10)])
        self.assertEqual(code, 552)
        self.assertTrue(text.startswith(b"5.3.4"))
        c.rset()
        before = len(self.inbox(BOB))
        big = message("too big", body="x" * 998 + "\r\n") * 1 + (("y" * 998 + "\r\n") * (MAX_SIZE // 900)).encode()
        # Without SIZE= (smtplib would announce it): the limit is enforced while DATA streams in.
        self.assertEqual(c.mail("someone@remote.test")[0], 250)
        self.assertEqual(c.rcpt(BOB)[0], 250)
        code, text = c.data(big)
        self.assertEqual(code, 552)
        self.assertTrue(text.startswith(b"5.3.4"), text)
        self.assertEqual(len(self.inbox(BOB)), before)
        # The session is still usable afterwards.
        self.assertEqual(c.sendmail("someone@remote.test", [BOB], message("after big")), {})

    def test_too_many_recipients(self):
        c = self.smtp()
        c.ehlo("client.test")
        c.mail("someone@remote.test")
        for _ in range(MAX_RCPT):
            self.assertEqual(c.rcpt(BOB)[0], 250)
        code, text = c.rcpt(BOB)
        self.assertEqual(code, 452)
        self.assertTrue(text.startswith(b"4.5.3"), text)

    def test_bdat_chunking(self):
        before = len(self.inbox(BOB))
        original = message("bdat chunks", sender="someone@remote.test")
        a, b = original[:20], original[20:]
        r = self.raw()
        r.cmd("EHLO client.test")
        # Pipelined: MAIL, RCPT and both chunks in one write.
        r.send(b"MAIL FROM:<someone@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
               + b"BDAT %d\r\n" % len(a) + a + b"BDAT %d LAST\r\n" % len(b) + b)
        codes = [r.reply()[0] for _ in range(4)]
        self.assertEqual(codes, [250, 250, 250, 250])
        self.assertDelivered(BOB, original, before)

    # --- smuggling and STARTTLS injection -------------------------------------------------------
    def test_bare_lf_and_cr_never_end_data(self):
        for end in (b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"):
            with self.subTest(end=end):
                before = len(self.inbox(BOB))
                smuggled = (b"Subject: outer\r\n\r\nouter body" + end +
                            b"MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                            b"Subject: smuggled\r\n\r\nsmuggled\r\n")
                r = self.raw()
                r.cmd("EHLO client.test")
                r.cmd("MAIL FROM:<someone@remote.test>")
                r.cmd("RCPT TO:<bob@example.test>")
                self.assertEqual(r.cmd("DATA")[0], 354)
                r.send(smuggled + b".\r\n")
                code, _ = r.reply()
                self.assertEqual(code, 250)
                self.assertEqual(r.cmd("QUIT")[0], 221)
                msgs = self.inbox(BOB)
                self.assertEqual(len(msgs), before + 1, "a second message was smuggled in")
                self.assertIn(b"smuggled", msgs[-1])
                self.assertIn(b"Subject: outer", msgs[-1])

    def test_bare_lf_in_command_refused(self):
        r = self.raw()
        r.send(b"EHLO client.test\nMAIL FROM:<a@remote.test>\r\n")
        code, lines = r.reply()
        self.assertEqual(code, 500)
        self.assertTrue(lines[0].startswith("5.5.2"))
        # The bytes after the bare LF were discarded with the line: a MAIL now is the first.
        self.assertEqual(r.cmd("NOOP")[0], 250)

    def test_pipelined_plaintext_after_starttls_is_discarded(self):
        for port in (self.server.smtp_port, self.server.submission_port):
            with self.subTest(port=port):
                r = self.raw(port)
                r.cmd("EHLO client.test")
                r.send(b"STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\n")
                code, _ = r.reply()
                self.assertEqual(code, 220)
                r.starttls()
                code, lines = r.cmd("EHLO client.test")
                self.assertEqual(code, 250)
                self.assertNotIn("STARTTLS", lines)
                if port == self.server.submission_port:
                    plain = base64.b64encode(("\0%s\0%s" % (ALICE, PASSWORDS[ALICE])).encode()).decode()
                    self.assertEqual(r.cmd("AUTH PLAIN " + plain)[0], 235)
                # Had the injected MAIL survived, this RCPT would be accepted.
                code, lines = r.cmd("RCPT TO:<bob@example.test>")
                self.assertEqual(code, 503, lines)

    # --- submission --------------------------------------------------------------------------------
    def check_submission(self, implicit):
        before_bob = len(self.inbox(BOB))
        before_q = len(self.queued())
        remote = "friend@remote.test"
        original = message("submission implicit=%s" % implicit, sender=ALICE, to=BOB)
        c = self.submission(implicit)
        c.ehlo("client.test")
        code, _ = c.mail(ALICE, ["RET=HDRS", "ENVID=env+2Bid"])
        self.assertEqual(code, 250)
        self.assertEqual(c.rcpt(BOB)[0], 250)
        self.assertEqual(c.rcpt(remote, ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;friend@remote.test"])[0], 250)
        code, text = c.data(original)
        self.assertEqual(code, 250, text)
        added = self.assertDelivered(BOB, original, before_bob)
        self.assertIn(b"with ESMTPSA id", added)
        self.assertIn(b"(authenticated as alice@example.test)", added)
        self.assertRegex(added, rb"\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)")
        q = self.queued()
        self.assertEqual(len(q), before_q + 1)
        self.assertEqual(q[-1], (ALICE, remote, "SUCCESS,FAILURE", "rfc822;friend@remote.test", "HDRS", "env+id", 0))

    def test_submission_starttls(self):
        self.check_submission(False)

    def test_submission_implicit_tls(self):
        self.check_submission(True)

    def test_submission_scram(self):
        # RFC 5802 / 7677 client, written out here: smtplib and swaks have no SCRAM.
        r = self.raw(self.server.submissions_port, tls=True)
        code, lines = r.cmd("EHLO client.test")
        self.assertIn("AUTH PLAIN LOGIN SCRAM-SHA-256", lines)
        cnonce = base64.b64encode(os.urandom(18)).decode()
        bare = "n=%s,r=%s" % (ALICE, cnonce)
        code, lines = r.cmd("AUTH SCRAM-SHA-256 " + base64.b64encode(("n,," + bare).encode()).decode())
        self.assertEqual(code, 334)
        server_first = base64.b64decode(lines[0]).decode()
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        self.assertTrue(attrs["r"].startswith(cnonce))
        salted = hashlib.pbkdf2_hmac("sha256", PASSWORDS[ALICE].encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([bare, server_first, without_proof]).encode()
        signature = hmac.new(stored_key, auth_message, "sha256").digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        final = without_proof + ",p=" + base64.b64encode(proof).decode()
        code, lines = r.cmd(base64.b64encode(final.encode()).decode())
        self.assertEqual(code, 334)
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        expected = "v=" + base64.b64encode(hmac.new(server_key, auth_message, "sha256").digest()).decode()
        self.assertEqual(base64.b64decode(lines[0]).decode(), expected)
        code, lines = r.cmd("")
        self.assertEqual(code, 235)
        self.assertTrue(lines[0].startswith("2.7.0"))
        self.assertEqual(r.cmd("MAIL FROM:<%s>" % ALICE)[0], 250)

    def test_submission_auth_login(self):
        c = smtplib.SMTP_SSL("127.0.0.1", self.server.submissions_port, timeout=SOCKET_TIMEOUT,
                             context=client_tls_context())
        self.addCleanup(c.close)
        c.ehlo()
        c.user, c.password = ALICE, PASSWORDS[ALICE]
        code, _ = c.auth("LOGIN", c.auth_login, initial_response_ok=False)
        self.assertEqual(code, 235)

    def test_auth_before_tls_refused(self):
        r = self.raw(self.server.submission_port)
        code, lines = r.cmd("EHLO client.test")
        self.assertFalse(any(l.startswith("AUTH") for l in lines), lines)
        code, lines = r.cmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABhbGljZS1TZWNyZXQtMQ==")
        self.assertEqual(code, 538)
        self.assertTrue(lines[0].startswith("5.7.11"))
        code, lines = r.cmd("MAIL FROM:<alice@example.test>")
        self.assertEqual(code, 530)
        self.assertTrue(lines[0].startswith("5.7.0"))

    def test_submission_requires_auth_and_port25_has_no_auth(self):
        c = smtplib.SMTP("127.0.0.1", self.server.submission_port, timeout=SOCKET_TIMEOUT)
        self.addCleanup(c.close)
        c.starttls(context=client_tls_context())
        c.ehlo("client.test")
        code, text = c.mail(ALICE)
        self.assertEqual(code, 530)
        r = self.raw(self.server.smtp_port)
        r.cmd("EHLO client.test")
        self.assertEqual(r.cmd("AUTH PLAIN")[0], 502)

    def test_wrong_password(self):
        c = smtplib.SMTP_SSL("127.0.0.1", self.server.submissions_port, timeout=SOCKET_TIMEOUT,
                             context=client_tls_context())
        self.addCleanup(c.close)
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            c.login(BOB, "wrong")
        self.assertEqual(cm.exception.smtp_code, 535)

    def test_sender_not_owned(self):
        c = self.submission()
        c.ehlo("client.test")
        for sender in (BOB, "someone@remote.test", ""):
            code, text = c.mail(sender)
            self.assertEqual(code, 553, sender)
            self.assertTrue(text.startswith(b"5.7.1"), text)
        # Own subaddress is fine; a From header of someone else is refused at the end of data.
        self.assertEqual(c.mail("alice+lists@" + DOMAIN)[0], 250)
        self.assertEqual(c.rcpt(BOB)[0], 250)
        before = len(self.inbox(BOB))
        code, text = c.data(message("forged", sender=BOB))
        self.assertEqual(code, 550)
        self.assertTrue(text.startswith(b"5.7.1"), text)
        self.assertEqual(len(self.inbox(BOB)), before)

    def test_submission_relay_needs_auth_on_port25(self):
        c = self.smtp()
        c.ehlo("client.test")
        c.mail(ALICE)
        code, text = c.rcpt("friend@remote.test")
        self.assertEqual(code, 554)
        self.assertTrue(text.startswith(b"5.7.1"))

    # --- swaks -------------------------------------------------------------------------------------
    def test_swaks(self):
        before = len(self.inbox(BOB))
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.server.smtp_port), "--to", BOB,
                            "--from", "someone@remote.test", "--helo", "client.test", "--pipeline",
                            "--header", "Subject: swaks inbound"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(self.server.submission_port), "--tls",
                            "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORDS[ALICE],
                            "--to", BOB, "--from", ALICE, "--header", "From: " + ALICE,
                            "--header", "Subject: swaks submission"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        msgs = self.inbox(BOB)
        self.assertEqual(len(msgs), before + 2)
        self.assertIn(b"Subject: swaks inbound", msgs[-2])
        self.assertIn(b"Subject: swaks submission", msgs[-1])

    # --- LMTP --------------------------------------------------------------------------------------
    def test_lmtp_per_recipient_replies(self):
        before_a, before_b = len(self.inbox(ALICE)), len(self.inbox(BOB))
        original = message("lmtp", sender="someone@remote.test")
        r = self.raw(self.server.lmtp_port)
        self.assertEqual(r.cmd("EHLO client.test")[0], 500)  # LMTP speaks LHLO only
        self.assertEqual(r.cmd("LHLO client.test")[0], 250)
        self.assertEqual(r.cmd("MAIL FROM:<someone@remote.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<bob@example.test>")[0], 250)
        self.assertEqual(r.cmd("RCPT TO:<nobody@example.test>")[0], 550)
        self.assertEqual(r.cmd("RCPT TO:<friend@remote.test>")[0], 554)
        self.assertEqual(r.cmd("RCPT TO:<alice@example.test>")[0], 250)
        self.assertEqual(r.cmd("DATA")[0], 354)
        r.send(original + b".\r\n")
        first, second = r.reply(), r.reply()
        self.assertEqual(first[0], 250)
        self.assertIn("bob@example.test", first[1][0])
        self.assertEqual(second[0], 250)
        self.assertIn("alice@example.test", second[1][0])
        added = self.assertDelivered(BOB, original, before_b)
        self.assertIn(b"with LMTP id", added)
        self.assertDelivered(ALICE, original, before_a)

    def test_smtplib_lmtp(self):
        c = smtplib.LMTP("127.0.0.1", self.server.lmtp_port, timeout=SOCKET_TIMEOUT)
        self.addCleanup(c.close)
        refused = c.sendmail("someone@remote.test", [BOB], message("smtplib lmtp"))
        self.assertEqual(refused, {})


class SmtpErrorLimitTest(ServerTestCase):
    server_options = {"limits": {"smtp_max_errors": 3, "smtp_max_messages_per_connection": 2}}

    def test_messages_per_connection(self):
        c = smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=SOCKET_TIMEOUT)
        self.addCleanup(c.close)
        for i in range(2):
            self.assertEqual(c.sendmail("someone@remote.test", [BOB], message("m%d" % i)), {})
        code, text = c.mail("someone@remote.test")
        self.assertEqual(code, 421)
        self.assertTrue(text.startswith(b"4.7.0"), text)

    def test_too_many_errors_closes_with_421(self):
        r = RawSmtp(self.server.smtp_port)
        self.addCleanup(r.close)
        r.reply()
        self.assertEqual(r.cmd("FOO")[0], 500)
        self.assertEqual(r.cmd("BAR")[0], 500)
        self.assertEqual(r.cmd("BAZ")[0], 500)
        code, lines = r.reply()
        self.assertEqual(code, 421)
        self.assertTrue(lines[0].startswith("4.7.0"))


if __name__ == "__main__":
    unittest.main()
