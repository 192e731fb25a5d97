# Several sessions on one mailbox (RFC 9051 7.4-7.5: EXISTS, FETCH FLAGS and EXPUNGE reach the other
# sessions at NOOP and during IDLE, with correct message numbers; no EXPUNGE during FETCH/STORE/SEARCH),
# and durability: a restart keeps UIDVALIDITY, UIDs and flags; kill -9 loses no acknowledged APPEND.
import re
import socket
import threading
import time
import unittest

from harness import (ALICE, PASSWORDS, ServerTestCase, fetches, make_message, quote, response_code)


def exists_of(untagged):
    return [int(u.split()[1]) for u in untagged if re.match(rb"\* \d+ EXISTS$", u)]


def expunges_of(untagged):
    return [int(u.split()[1]) for u in untagged if re.match(rb"\* \d+ EXPUNGE$", u)]


def flags(items):
    return {bytes(f).lower() for f in items["FLAGS"]} - {b"\\recent"}


class TwoSessionTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.box = self.unique("Sync")
        self.a = self.raw_login()
        self.b = self.raw_login()
        self.a.ok("CREATE " + quote(self.box))
        self.uids = []
        for i in range(3):
            tagged = self.b.append(self.box, make_message("sync%d" % i))
            self.uids.append(int(response_code(tagged).split()[2]))
        _, untagged = self.a.ok("SELECT " + quote(self.box))
        self.assertIn(3, exists_of(untagged))
        self.b.ok("SELECT " + quote(self.box))

    def uid_list(self, client):
        _, untagged = client.ok("UID SEARCH ALL")
        line = [u for u in untagged if u.startswith(b"* SEARCH")][0]
        return [int(x) for x in line.split()[2:]]

    def test_append_in_one_session_is_exists_in_the_other(self):
        self.b.append(self.box, make_message("new"))
        _, untagged = self.a.ok("NOOP")
        self.assertEqual(exists_of(untagged), [4], untagged)
        _, untagged = self.a.ok("FETCH 4 (UID)")
        (msn, items), = fetches(untagged)
        self.assertGreater(int(items["UID"]), self.uids[-1])
        # The appending session itself learns of it too (it has the mailbox selected).
        _, untagged = self.b.ok("NOOP")
        self.assertIn(4, exists_of(untagged) or [4])

    def test_store_in_one_session_is_fetch_in_the_other(self):
        self.b.ok("STORE 2 +FLAGS.SILENT (\\Flagged kw-sync)")
        _, untagged = self.a.ok("NOOP")
        got = {msn: flags(items) for msn, items in fetches(untagged)}
        self.assertEqual(got, {2: {b"\\flagged", b"kw-sync"}}, untagged)
        self.b.ok("STORE 2 -FLAGS.SILENT (\\Flagged)")
        _, untagged = self.a.ok("NOOP")
        got = {msn: flags(items) for msn, items in fetches(untagged)}
        self.assertEqual(got, {2: {b"kw-sync"}}, untagged)
        _, untagged = self.a.ok("NOOP")
        self.assertEqual(fetches(untagged), [])  # reported once

    def test_expunge_in_one_session_is_expunge_in_the_other(self):
        self.b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        _, untagged = self.b.ok("EXPUNGE")
        self.assertEqual(expunges_of(untagged), [2])
        _, untagged = self.a.ok("NOOP")
        self.assertEqual(expunges_of(untagged), [2], untagged)
        self.assertEqual(self.uid_list(self.a), [self.uids[0], self.uids[2]])
        _, untagged = self.a.ok("FETCH 2 (UID)")
        (msn, items), = fetches(untagged)
        self.assertEqual(int(items["UID"]), self.uids[2])

    def test_two_expunges_get_consistent_numbers(self):
        self.b.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        self.b.ok("EXPUNGE")
        _, untagged = self.a.ok("NOOP")
        # Each EXPUNGE renumbers the rest (RFC 9051 7.5.1): messages 1 and 3 of 3 are "3, 1" or "1, 2".
        self.assertIn(expunges_of(untagged), ([3, 1], [1, 2]), untagged)
        self.assertEqual(self.uid_list(self.a), [self.uids[1]])

    def test_no_expunge_during_fetch_store_search(self):
        self.b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.b.ok("EXPUNGE")
        for cmd in ("FETCH 1:3 (FLAGS)", "STORE 3 +FLAGS (\\Seen)", "SEARCH ALL"):
            _, untagged = self.a.ok(cmd)
            self.assertEqual(expunges_of(untagged), [], "EXPUNGE sent during %s: %r" % (cmd, untagged))
        _, untagged = self.a.ok("NOOP")
        self.assertEqual(expunges_of(untagged), [1], untagged)

    def test_append_and_expunge_together(self):
        self.b.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.b.ok("EXPUNGE")
        self.b.append(self.box, make_message("after-expunge"))
        _, untagged = self.a.ok("NOOP")
        self.assertEqual(expunges_of(untagged), [1], untagged)
        # After the EXPUNGE the mailbox holds 2 old + 1 new message.
        self.assertEqual(exists_of(untagged)[-1:], [3], untagged)
        uids = self.uid_list(self.a)
        self.assertEqual(uids[:2], self.uids[1:])
        self.assertEqual(len(uids), 3)

    def test_idle_gets_exists_flags_and_expunge(self):
        self.a.send("i1 IDLE\r\n")
        cont = self.a.read_response()
        self.assertTrue(cont.startswith(b"+"), cont)
        t0 = time.monotonic()
        self.b.append(self.box, make_message("during-idle"))
        self.a.settimeout(2.0)
        try:
            got = self.a.read_response()
            for _ in range(5):  # "* 1 RECENT" may come first
                if got.endswith(b"EXISTS"):
                    break
                got = self.a.read_response()
        except socket.timeout:
            self.fail("no EXISTS within 2 s during IDLE")
        self.assertEqual(got, b"* 4 EXISTS")
        self.assertLess(time.monotonic() - t0, 2.5)
        self.b.ok("STORE 1 +FLAGS.SILENT (\\Answered)")
        try:
            got = self.a.read_response()
            while re.match(rb"\* \d+ RECENT$", got):  # rev1 may follow EXISTS with RECENT
                got = self.a.read_response()
        except socket.timeout:
            self.fail("no FETCH FLAGS within 2 s during IDLE")
        self.assertRegex(got, rb"^\* \d+ FETCH ", got)
        (msn, items), = fetches([got])
        self.assertEqual((msn, flags(items)), (1, {b"\\answered"}))
        self.b.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        self.b.ok("EXPUNGE")
        try:
            got = self.a.read_response()
            for _ in range(5):  # the \Deleted flag change may be reported before the EXPUNGE
                if not re.match(rb"\* (\d+ RECENT|2 FETCH .*)$", got):
                    break
                got = self.a.read_response()
        except socket.timeout:
            self.fail("no EXPUNGE within 2 s during IDLE")
        self.assertEqual(got, b"* 2 EXPUNGE")
        self.a.settimeout(10.0)
        self.a.send("DONE\r\n")
        tagged, untagged = self.a.read_until_tagged("i1")
        self.assertRegex(tagged, rb"^i1 OK", tagged)
        self.assertEqual(self.uid_list(self.a)[:2], [self.uids[0], self.uids[2]])

    def test_idle_done_case_insensitive_and_bad_continuation(self):
        self.a.send("i1 IDLE\r\n")
        self.assertTrue(self.a.read_response().startswith(b"+"))
        self.a.send("done\r\n")
        tagged, _ = self.a.read_until_tagged("i1")
        self.assertRegex(tagged, rb"^i1 OK", tagged)
        self.a.send("i2 IDLE\r\n")
        self.assertTrue(self.a.read_response().startswith(b"+"))
        self.a.send("NOOP\r\n")  # anything but DONE ends IDLE with BAD (RFC 2177)
        tagged, _ = self.a.read_until_tagged("i2")
        self.assertRegex(tagged, rb"^i2 BAD", tagged)
        self.a.ok("NOOP")


class RestartTest(ServerTestCase):
    def test_restart_keeps_uidvalidity_uids_flags(self):
        box = "Persist"
        c = self.server.login()
        self.assertOk(c.create(box))
        uids = []
        for i, fl in enumerate(["(\\Seen)", "(\\Flagged kw1)", None]):
            typ, data = c.append(box, fl, None, make_message("persist%d" % i))
            self.assertEqual(typ, "OK", data)
            uids.append(int(response_code(data[-1]).split()[2]))
        c.select(box)
        c.store("3", "+FLAGS", "(\\Deleted)")
        c.expunge()
        c.logout()

        def snapshot():
            r = self.server.raw_login()
            try:
                _, untagged = r.ok("SELECT " + box)
                joined = b"\n".join(untagged)
                validity = int(re.search(rb"UIDVALIDITY (\d+)", joined).group(1))
                uidnext = int(re.search(rb"UIDNEXT (\d+)", joined).group(1))
                _, untagged = r.ok("FETCH 1:* (UID FLAGS)")
                msgs = {int(items["UID"]): flags(items) for _, items in fetches(untagged)}
                _, untagged = r.ok('LIST "" "*"')
                return validity, uidnext, msgs, len(untagged)
            finally:
                r.close()

        before = snapshot()
        self.assertEqual(before[2], {uids[0]: {b"\\seen"}, uids[1]: {b"\\flagged", b"kw1"}})
        self.server.restart()
        after = snapshot()
        self.assertEqual(before, after)
        # UIDs keep growing after a restart: an expunged UID is never reused (RFC 9051 2.3.1.1).
        c = self.server.login()
        typ, data = c.append(box, None, None, make_message("after-restart"))
        self.assertGreater(int(response_code(data[-1]).split()[2]), uids[2])
        c.logout()


class Kill9Test(ServerTestCase):
    def test_acknowledged_appends_survive_kill9(self):
        acknowledged = []  # (seq, uid) of APPENDs that got a tagged OK
        stop = threading.Event()
        errors = []

        def appender():
            try:
                c = self.server.login()
                for seq in range(2000):
                    if stop.is_set():
                        break
                    msg = make_message("k%d" % seq, extra_headers=["X-Seq: %d" % seq])
                    typ, data = c.append("INBOX", "(\\Flagged)" if seq % 2 else None, None, msg)
                    if typ != "OK":
                        errors.append(data)
                        break
                    acknowledged.append((seq, int(response_code(data[-1]).split()[2])))
            except Exception as e:  # the server was killed under us: expected
                errors.append(repr(e))

        t = threading.Thread(target=appender, daemon=True)
        t.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 25 and time.monotonic() < deadline and t.is_alive():
            time.sleep(0.02)
        self.assertGreaterEqual(len(acknowledged), 25, errors)
        self.server.kill9()
        stop.set()
        t.join(10)
        self.assertFalse(t.is_alive())
        done = list(acknowledged)
        self.server.start()
        r = self.raw_login()
        r.ok("SELECT INBOX")
        _, untagged = r.ok("FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (X-Seq)])")
        present = {}
        for _, items in fetches(untagged):
            m = re.search(rb"X-Seq: (\d+)", items["BODY[HEADER.FIELDS (X-SEQ)]"])
            present[int(m.group(1))] = (int(items["UID"]), flags(items))
        for seq, uid in done:
            self.assertIn(seq, present, "acknowledged APPEND #%d lost after kill -9" % seq)
            self.assertEqual(present[seq][0], uid)
            self.assertEqual(present[seq][1], {b"\\flagged"} if seq % 2 else set())
        # The store is usable after recovery: new UIDs are above every UID seen before.
        tagged = r.append("INBOX", make_message("after-kill"))
        self.assertGreater(int(response_code(tagged).split()[2]), max(u for u, _ in present.values()))


if __name__ == "__main__":
    unittest.main()
