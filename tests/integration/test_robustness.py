# Hostile and broken input: malformed commands get BAD and the session goes on; too many of them, an
# over-long line, too many connections per IP and a silent pre-auth client end with BYE; oversized
# literals are refused with [TOOBIG] without losing sync; a bounded, seeded fuzz never kills the server.
# The server's threads run under SCHED_BATCH unless configured to keep the policy they started with.
import os
import random
import re
import socket
import time
import unittest

from harness import ALICE, BOB, PASSWORDS, ServerTestCase, make_message, quote


def is_bad(response, tag):
    return response.startswith((tag + " BAD").encode()) or response.startswith(b"* BAD")


class MalformedCommandTest(ServerTestCase):
    # Each case on a fresh connection: (line, needs login, acceptable statuses for the tag).
    CASES = [
        (b"a1 FETCH", True, ("BAD",)),
        (b"a1 FETCH 1:* (FLAGS", True, ("BAD",)),
        (b"a1 FETCH 1:* (BODY[HEADER.FIELDS (Subject)", True, ("BAD",)),
        (b"a1 FETCH 1:x FLAGS", True, ("BAD",)),
        (b"a1 SELECT", True, ("BAD",)),
        (b"a1 STORE 1 +FLAGS", True, ("BAD",)),
        (b"a1 STORE 1 +FROBS (\\Seen)", True, ("BAD",)),
        (b"a1 UID FROB 1", True, ("BAD",)),
        (b"a1 SEARCH OR SEEN", True, ("BAD",)),
        (b"a1 SEARCH (SEEN", True, ("BAD",)),
        (b"a1 NOOP extra arguments", True, ("BAD",)),
        (b'a1 CREATE "unterminated', True, ("BAD",)),
        (b'a1 LIST ""', True, ("BAD",)),
        (b"a1 XYZZY", True, ("BAD",)),
        (b"a1 XYZZY", False, ("BAD",)),
        (b"a1 LOGIN", False, ("BAD",)),
        (b"a1 LOGIN onlyuser", False, ("BAD",)),
        (b"a1 NOOP\x00", True, ("BAD",)),
        (b"a1 SELECT Inb\xffox", True, ("BAD", "NO")),
        (b'a1 SELECT "IN\\BOX"', True, ("BAD", "NO")),  # only \\ and \" may be quoted
        (b"a1 APPEND INBOX {-5}", True, ("BAD",)),
        (b"a1 APPEND INBOX {99999999999999999999999}", True, ("BAD", "NO")),
        (b"a1 FETCH 4294967296 FLAGS", True, ("BAD",)),
        (b"a1 FETCH 1 BODY[99999999999999999999]", True, ("BAD",)),
        (b"a1 ENABLE", True, ("BAD",)),
        (b"a1 LOGIN a b", True, ("BAD", "NO")),  # already authenticated
        (b"a1 SELECT INBOX", False, ("BAD", "NO")),  # needs authentication
        (b"a1 FETCH 1 FLAGS", False, ("BAD", "NO")),
        (b"a1 FETCH 1 FLAGS", True, ("BAD", "NO")),  # needs a selected mailbox
        (b"a1 CLOSE", True, ("BAD", "NO")),
    ]
    UNTAGGED_CASES = [b"", b" ", b"*", b"+ NOOP", b"* NOOP", b"a{1} NOOP", b"a(b NOOP", b'"a" NOOP', b"a%b NOOP"]

    def connect(self, login):
        r = self.raw_login(BOB) if login else self.raw()
        if not login:
            r.read_greeting()
        return r

    def test_malformed_commands_get_bad_and_session_continues(self):
        for line, login, statuses in self.CASES:
            with self.subTest(line=line, login=login):
                r = self.connect(login)
                r.send(line + b"\r\n")
                r.send(b"z1 NOOP\r\n")
                tagged, untagged = r.read_until_tagged("z1")
                responses = untagged
                a1 = [u for u in responses if u.startswith(b"a1 ")]
                self.assertEqual(len(a1), 1, responses)
                self.assertIn(r.status_of(a1[0]), statuses, a1[0])
                self.assertRegex(tagged, rb"^z1 OK", "session did not continue after %r: %r" % (line, tagged))
                r.close()

    def test_lines_without_valid_tag_get_untagged_bad(self):
        r = self.connect(True)
        for line in self.UNTAGGED_CASES:
            with self.subTest(line=line):
                r.send(line + b"\r\n")
                tagged, untagged = r.command("NOOP")
                self.assertRegex(tagged, rb"^t\d+ OK")
                self.assertTrue(any(u.startswith(b"* BAD") or re.match(rb"^\S+ BAD", u) for u in untagged),
                                "no BAD for %r: %r" % (line, untagged))
                if len(untagged) >= 1 and b"BYE" in b"".join(untagged):
                    break

    def test_lowercase_commands_are_fine(self):
        r = self.connect(False)
        r.ok("login %s %s" % (quote(BOB), quote(PASSWORDS[BOB])))
        r.ok("select inbox")
        r.ok("uid fetch 1:* (flags)")
        r.ok("noop")


class BadCommandLimitTest(ServerTestCase):
    LIMIT = 3
    server_options = {"limits": {"max_bad_commands": LIMIT}}

    def run_bad_commands(self, login):
        r = self.raw_login() if login else self.raw()
        if not login:
            r.read_greeting()
        bads = 0
        for i in range(self.LIMIT + 3):
            try:
                r.send(b"b%d XYZZY\r\n" % i)
                resp = r.read_response()
            except (EOFError, ConnectionError):
                break
            if resp.startswith(b"* BYE"):
                data, closed = r.read_until_closed(5.0)
                self.assertTrue(closed, "no close after BYE")
                return bads, True
            self.assertRegex(resp, rb"^b%d BAD" % i)
            bads += 1
            r.settimeout(0.3)  # a BYE may follow the BAD of the last tolerated command
            try:
                resp = r.read_response()
                self.assertTrue(resp.startswith(b"* BYE"), resp)
                data, closed = r.read_until_closed(5.0)
                self.assertTrue(closed, "no close after BYE")
                return bads, True
            except socket.timeout:
                pass
            finally:
                r.settimeout(10.0)
        return bads, False

    def test_too_many_bad_commands_bye(self):
        for login in (False, True):
            with self.subTest(login=login):
                bads, bye = self.run_bad_commands(login)
                self.assertTrue(bye, "no BYE after %d bad commands" % bads)
                # BYE comes with the LIMIT-th or the (LIMIT+1)-th bad command, not later.
                self.assertIn(bads, (self.LIMIT, self.LIMIT + 1), bads)

    def test_good_commands_in_between_do_not_help_forever(self):
        r = self.raw_login()
        r.ok("NOOP")
        tagged, _ = r.command("XYZZY")
        self.assertRegex(tagged, rb"BAD")
        r.ok("NOOP")  # a BAD or two does not end the session


class LineAndLiteralLimitTest(ServerTestCase):
    server_options = {"limits": {"max_line_length": 1000, "max_literal_size": 10000, "max_message_size": 10000}}

    def test_line_too_long_bye_and_close(self):
        r = self.raw_login()
        r.send(b"a1 NOOP " + b"x" * 3000 + b"\r\n")
        data, closed = r.read_until_closed(5.0)
        self.assertIn(b"* BYE", data)
        self.assertTrue(closed, "connection left open after an over-long line")
        self.assertNotIn(b"a1 OK", data)

    def test_endless_line_without_crlf_bye_and_close(self):
        r = self.raw()
        r.read_greeting()
        try:
            for _ in range(20):  # far beyond the limit, in pieces, never a CRLF
                r.send(b"y" * 500)
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = r.read_until_closed(5.0)
        self.assertIn(b"* BYE", data)
        self.assertTrue(closed)

    def test_long_line_within_limit_ok(self):
        r = self.raw_login()
        # A SEARCH line of ~900 bytes is fine.
        r.ok("SELECT INBOX")
        line = "UID SEARCH " + " ".join(["ALL"] * 220)
        self.assertGreater(len(line), 800)
        r.ok(line)

    def test_synchronizing_literal_too_big(self):
        r = self.raw_login()
        r.send(b"a1 APPEND INBOX {20000}\r\n")
        resp = r.read_response()
        self.assertRegex(resp, rb"^a1 NO \[TOOBIG\]", "expected a tagged NO [TOOBIG] instead of a continuation: %r" % resp)
        r.ok("NOOP")
        _, untagged = r.ok("STATUS INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 0", untagged[0])

    def test_literal_plus_too_big_keeps_sync(self):
        r = self.raw_login()
        payload = b"Subject: x\r\n\r\n" + b"A" * 20000
        r.send(b"a1 APPEND INBOX {%d+}\r\n" % len(payload) + payload + b"\r\nb1 NOOP\r\n")
        tagged, untagged = r.read_until_tagged("a1")
        self.assertRegex(tagged, rb"^a1 (NO|BAD) \[TOOBIG\]", tagged)
        tagged, untagged = r.read_until_tagged("b1")
        self.assertRegex(tagged, rb"^b1 OK", tagged)
        self.assertFalse([u for u in untagged if u.startswith(b"AAAA") or u.startswith(b"* BAD")], untagged[:3])
        r.ok("NOOP")
        _, untagged = r.ok("STATUS INBOX (MESSAGES)")
        self.assertIn(b"MESSAGES 0", untagged[0])

    def test_literal_within_limit_ok(self):
        r = self.raw_login(BOB)
        tagged = r.append("INBOX", make_message("small", body="B" * 5000 + "\r\n"))
        self.assertRegex(tagged, rb"OK")

    def test_preauth_literal_too_big(self):
        r = self.raw()
        r.read_greeting()
        r.send(b"a1 LOGIN {20000}\r\n")
        resp = r.read_response()
        self.assertFalse(resp.startswith(b"+"), "server invited a 20000-byte literal before login")
        self.assertRegex(resp, rb"^(a1 (NO|BAD)|\* BYE)", resp)


class ConnectionLimitTest(ServerTestCase):
    LIMIT = 3
    server_options = {"limits": {"max_connections_per_ip": LIMIT}}

    def test_connections_over_limit_get_bye(self):
        held = []
        deadline = time.monotonic() + 5
        while len(held) < self.LIMIT and time.monotonic() < deadline:
            r = self.raw()
            if r.read_response().startswith(b"* OK"):
                held.append(r)
            else:  # the harness's start-up probes may not be counted out yet
                r.close()
                time.sleep(0.1)
        self.assertEqual(len(held), self.LIMIT)
        extra = self.raw()
        data, closed = extra.read_until_closed(5.0)
        self.assertTrue(data.startswith(b"* BYE"), data)
        self.assertTrue(closed)
        # The held ones still work, and once one is gone a new connection is accepted.
        held[0].ok("NOOP")
        held[0].close()
        deadline = time.monotonic() + 5
        while True:
            r = self.raw()
            line = r.read_response()
            if line.startswith(b"* OK") or time.monotonic() > deadline:
                break
            r.close()
            time.sleep(0.1)
        self.assertTrue(line.startswith(b"* OK"), line)
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))


class PreAuthTimeoutTest(ServerTestCase):
    server_options = {"limits": {"preauth_timeout": 2}}

    def test_silent_client_gets_bye(self):
        r = self.raw()
        r.read_greeting()
        t0 = time.monotonic()
        data, closed = r.read_until_closed(8.0)
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "pre-auth connection still open after 8 s")
        self.assertIn(b"* BYE", data)
        self.assertGreater(elapsed, 1.0)

    def test_logged_in_client_is_not_cut_at_preauth_timeout(self):
        r = self.raw_login()
        time.sleep(3)
        r.ok("NOOP")


class FuzzTest(ServerTestCase):
    server_options = {"limits": {"max_line_length": 4096, "max_literal_size": 100000, "max_bad_commands": 50}}
    SEED = 20240601
    COMMANDS = ["CAPABILITY", "NOOP", "LOGIN", "AUTHENTICATE", "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME",
                "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "STATUS", "APPEND", "CHECK", "CLOSE", "UNSELECT",
                "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY", "MOVE", "UID", "ENABLE", "ID", "NAMESPACE",
                "IDLE", "STARTTLS", "XYZZY", "LOGOUT"]
    TOKENS = ["INBOX", "\"\"", "\"*\"", "%", "*", "1", "1:*", "*:1", "0", "4294967295", "4294967296", "$", "(", ")",
              "()", "(FLAGS)", "(\\Seen)", "\\Deleted", "+FLAGS", "-FLAGS.SILENT", "FLAGS", "BODY[]", "BODY.PEEK[",
              "BODY[HEADER.FIELDS (Subject)]", "BODY[1.2.3.MIME]<0.5>", "BODY[]<4294967295.1>", "RFC822", "ENVELOPE",
              "BODYSTRUCTURE", "{0}", "{3+}", "{5}", "{999999999}", "{1+}", "~{2+}", "NIL", "\"a\\\"b\"",
              "\"\\\"", "RETURN", "(MIN MAX COUNT ALL)", "OR", "NOT", "SINCE", "1-Jan-2020", "32-Foo-99999",
              "UTF8=ACCEPT", "IMAP4rev2", "&Jjo-", "&", "&-", "\xc3\xa9", "\xff\xfe", "[", "]", "<", ">",
              "CHARSET", "UTF-8", "X" * 300, "(SUBSCRIBED)", "RETURN (CHILDREN STATUS (MESSAGES))", "DONE", "="]

    def random_line(self, rnd):
        kind = rnd.random()
        if kind < 0.3:  # raw random bytes
            return bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 200))).replace(b"\r\n", b"")
        tag = rnd.choice(["a", "A1", "*", "+", "", "t" * 50, "x.y"])
        cmd = rnd.choice(self.COMMANDS)
        if cmd == "UID":
            cmd += " " + rnd.choice(["FETCH", "STORE", "SEARCH", "COPY", "MOVE", "EXPUNGE", "XYZ"])
        toks = [rnd.choice(self.TOKENS) for _ in range(rnd.randrange(0, 8))]
        line = " ".join([tag, cmd] + toks).encode("latin-1")
        if rnd.random() < 0.2:  # flip some bytes
            b = bytearray(line)
            for _ in range(rnd.randrange(1, 4)):
                if b:
                    b[rnd.randrange(len(b))] = rnd.randrange(256)
            line = bytes(b).replace(b"\r\n", b"")
        return line

    def test_seeded_garbage_never_kills_the_server(self):
        rnd = random.Random(self.SEED)
        sent = 0
        connections = 0
        r = None
        while sent < 200 and connections < 60:
            if r is None:
                connections += 1
                r = self.raw()
                r.settimeout(2.0)
                try:
                    r.read_greeting()
                    if rnd.random() < 0.7:
                        r.send(b"L LOGIN %s %s\r\n" % (BOB.encode(), PASSWORDS[BOB].encode()))
                        if rnd.random() < 0.5:
                            r.send(b"S SELECT INBOX\r\n")
                except (OSError, EOFError, AssertionError):
                    r.close()
                    r = None
                    continue
            line = self.random_line(rnd)
            sent += 1
            try:
                r.send(line + b"\r\n")
                if rnd.random() < 0.1:  # sometimes feed literal bytes the server might be waiting for
                    r.send(b"x" * rnd.randrange(0, 10) + b"\r\n")
                data, closed = r.read_until_closed(0.05)
            except (OSError, EOFError):
                closed = True
            if closed or rnd.random() < 0.05:
                r.close()
                r = None
            self.assertTrue(self.server.alive(), "server died after fuzz line %d: %r" % (sent, line))
        if r:
            r.close()
        self.assertGreaterEqual(sent, 200)
        self.assertTrue(self.server.alive())
        c = self.server.login(ALICE)
        self.assertOk(c.select("INBOX"))
        self.assertOk(c.noop())
        c.logout()


if __name__ == "__main__":
    unittest.main()


def thread_policies(proc):
    """The scheduling policy of every thread of a process, by thread name."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % proc.pid):
        try:
            with open("/proc/%d/task/%s/comm" % (proc.pid, tid)) as f:
                name = f.read().strip()
            policy = os.sched_getscheduler(int(tid))
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended meanwhile
        out.setdefault(name, set()).add(policy)
    return out


class SchedulingPolicyTest(ServerTestCase):
    """By default every thread runs under SCHED_BATCH (config [server] scheduling, docs/PERFORMANCE.md)."""

    def test_every_thread_runs_under_sched_batch(self):
        self.raw_login().ok("NOOP")  # the server works under it
        policies = thread_policies(self.server.proc)
        for name in ("tern-worker-0", "tern-worker-1", "tern-writer"):
            self.assertIn(name, policies)
        for name, seen in policies.items():
            self.assertEqual(seen, {os.SCHED_BATCH}, name)


class InheritedSchedulingPolicyTest(ServerTestCase):
    server_options = {"sections": {"server": {"scheduling": "inherit"}}}

    def test_inherit_leaves_the_policy_alone(self):
        self.raw_login().ok("NOOP")
        policies = thread_policies(self.server.proc)
        self.assertIn("tern-writer", policies)
        for name, seen in policies.items():
            self.assertEqual(seen, {os.sched_getscheduler(0)}, name)
