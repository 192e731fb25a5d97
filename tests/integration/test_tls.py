# TLS as clients use it: implicit TLS (IMAPS), STARTTLS (RFC 9051 6.2.1), LOGINDISABLED when plaintext
# login is not allowed (no trusted networks), and plaintext pipelined behind STARTTLS being thrown away
# (the STARTTLS command-injection attack, CVE-2011-0411 style).
import imaplib
import socket
import ssl
import unittest

from harness import ALICE, BOB, PASSWORDS, ServerTestCase, client_tls_context, quote, response_code


def caps_of(raw):
    _, untagged = raw.ok("CAPABILITY")
    line = [u for u in untagged if u.startswith(b"* CAPABILITY ")][0]
    return set(line.decode().split()[2:])


class TrustedLoopbackTlsTest(ServerTestCase):
    def test_imaps_login(self):
        c = self.login(kind="imaps")
        self.assertIsInstance(c.sock, ssl.SSLSocket)
        self.assertOk(c.select("INBOX"))
        typ, data = c.capability()
        self.assertEqual(typ, "OK")

    def test_imaps_has_no_starttls(self):
        r = self.raw(tls=True)
        r.read_greeting()
        caps = caps_of(r)
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)
        tagged, _ = r.command("STARTTLS")
        self.assertIn(r.status_of(tagged), ("BAD", "NO"), tagged)
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))

    def test_starttls_then_login(self):
        c = self.track(self.server.imap())
        self.assertIn("STARTTLS", c.capabilities)
        typ, data = c.starttls(ssl_context=client_tls_context())
        self.assertEqual(typ, "OK", data)
        self.assertNotIn("STARTTLS", c.capabilities)  # imaplib asked CAPABILITY again after the handshake
        typ, data = c.login(BOB, PASSWORDS[BOB])
        self.assertEqual(typ, "OK", data)
        self.assertOk(c.select("INBOX"))

    def test_starttls_after_login_refused(self):
        r = self.raw_login()
        tagged, _ = r.command("STARTTLS")
        self.assertIn(r.status_of(tagged), ("BAD", "NO"), tagged)
        r.ok("NOOP")

    def test_plaintext_pipelined_after_starttls_is_discarded(self):
        r = self.raw()
        r.read_greeting()
        r.send(b"a STARTTLS\r\nb NOOP\r\n")  # one write: "b" arrives before the handshake
        tagged, untagged = r.read_until_tagged("a")
        self.assertRegex(tagged, rb"^a OK", tagged)
        self.assertFalse(untagged, untagged)
        r.starttls()  # fails if the server sent anything in plaintext after "a OK"
        r.settimeout(1.0)
        try:
            early = r.sock.recv(4096)
        except socket.timeout:
            early = b""
        self.assertEqual(early, b"", "server answered the injected plaintext command: %r" % early)
        r.settimeout(10.0)
        tagged, untagged = r.command("NOOP", tag="c")
        self.assertRegex(tagged, rb"^c OK", tagged)
        self.assertFalse([u for u in untagged if u.startswith(b"b ")], untagged)
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
        r.ok("SELECT INBOX")

    def test_starttls_with_bad_handshake_closes(self):
        r = self.raw()
        r.read_greeting()
        r.ok("STARTTLS")
        r.send(b"this is not a TLS ClientHello\r\n")
        data, closed = r.read_until_closed(timeout=5.0)
        self.assertTrue(closed, "server kept a connection with a failed handshake open")
        self.assertNotIn(b"OK", data)
        c = self.login()  # the server is fine
        self.assertOk(c.noop())


class NoTrustedNetworksTest(ServerTestCase):
    server_options = {"trusted_networks": []}

    def test_logindisabled_before_starttls(self):
        r = self.raw()
        g = r.read_greeting()
        greeting_caps = set((response_code(g) or "").split()[1:])
        for caps in (greeting_caps, caps_of(r)):
            self.assertIn("LOGINDISABLED", caps)
            self.assertIn("STARTTLS", caps)
            self.assertNotIn("AUTH=PLAIN", caps)  # RFC 9051 6.2.3: no plaintext mechanisms advertised
        tagged, _ = r.command("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
        self.assertEqual(r.status_of(tagged), "NO", tagged)
        tagged, _ = r.command("AUTHENTICATE PLAIN")
        self.assertIn(r.status_of(tagged), ("NO", "BAD"), tagged)
        tagged, _ = r.command("SELECT INBOX")
        self.assertIn(r.status_of(tagged), ("NO", "BAD"), tagged)

    def test_imaplib_login_refused_then_starttls_works(self):
        c = self.track(self.server.imap())
        self.assertIn("LOGINDISABLED", c.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            c.login(ALICE, PASSWORDS[ALICE])
        typ, _ = c.starttls(ssl_context=client_tls_context())
        self.assertEqual(typ, "OK")
        self.assertNotIn("LOGINDISABLED", c.capabilities)
        self.assertIn("AUTH=PLAIN", c.capabilities)
        typ, data = c.login(ALICE, PASSWORDS[ALICE])
        self.assertEqual(typ, "OK", data)
        self.assertOk(c.select("INBOX"))

    def test_raw_starttls_then_login(self):
        r = self.raw()
        r.read_greeting()
        r.ok("STARTTLS")
        r.starttls()
        caps = caps_of(r)
        self.assertNotIn("LOGINDISABLED", caps)
        self.assertNotIn("STARTTLS", caps)
        r.ok("LOGIN %s %s" % (quote(BOB), quote(PASSWORDS[BOB])))

    def test_imaps_login(self):
        c = self.login(BOB, kind="imaps")
        self.assertOk(c.select("INBOX"))


if __name__ == "__main__":
    unittest.main()
