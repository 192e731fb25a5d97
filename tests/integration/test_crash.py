# Crash consistency: IMAP clients APPEND, STORE and EXPUNGE and an SMTP client delivers, concurrently,
# while tern is killed with SIGKILL at random moments, over and over. After each kill `tern check` must
# pass on the stopped store (counters, UIDs, HIGHESTMODSEQ, blobs), and after each restart every
# acknowledged APPEND and every message that got SMTP's 250 is there exactly once (unless its own
# client tried to expunge it), UIDs and UIDVALIDITY never change or go back, and STATUS equals a recount.
# Bounded: KILLS kill cycles (about a minute), TIME_LIMIT at most; every client socket has a timeout.
import imaplib
import os
import random
import re
import smtplib
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import ALICE, BOB, SOCKET_TIMEOUT, ServerTestCase, make_message

MAILBOXES = ["INBOX", "Crashbox"]
WORKERS = 4
KILLS = 22
TIME_LIMIT = 150.0  # hard bound on the whole test (about 1-3 s per kill cycle)
SEED = int(os.environ.get("TERN_CRASH_SEED", "20261126"))

APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
MESSAGE_ID = re.compile(rb"Message-ID:\s*<([^>]+)>", re.IGNORECASE)
UID_ITEM = re.compile(rb"UID (\d+)")


class State:
    """What the clients were told, shared by the worker threads (under `lock`)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempted = {}       # msgid -> mailbox, for every APPEND sent
        self.acked = {}           # msgid -> (mailbox, uid) from the tagged OK [APPENDUID]
        self.smtp_acked = set()   # msgids that got the final 250 over SMTP (delivered to INBOX)
        self.expunge_tried = set()  # msgids whose client sent STORE \Deleted / UID EXPUNGE for them
        self.uidvalidity = {}     # mailbox -> UIDVALIDITY seen in APPENDUID / STATUS
        self.counter = 0

    def next_id(self, worker):
        with self.lock:
            self.counter += 1
            return "crash-%s-%d@example.test" % (worker, self.counter)


def worker(server, wid, state, stop, rng):
    """Runs random operations until the server dies or `stop` is set; any error ends the worker."""
    try:
        c = server.login()
    except Exception:
        return
    selected = None
    try:
        while not stop.is_set():
            op = rng.random()
            if op < 0.6:
                mailbox = rng.choice(MAILBOXES)
                msgid = state.next_id(wid)
                with state.lock:
                    state.attempted[msgid] = mailbox
                typ, data = c.append(mailbox, None, None, make_message("crash %d" % wid, msgid=msgid))
                if typ != "OK":
                    continue
                m = APPENDUID.search(data[0] or b"")
                if not m:
                    raise AssertionError("APPEND OK without APPENDUID: %r" % data)
                with state.lock:
                    state.acked[msgid] = (mailbox, int(m.group(2)))
                    state.uidvalidity.setdefault(mailbox, int(m.group(1)))
                continue
            with state.lock:
                mine = [(mid, uid) for mid, (mb, uid) in state.acked.items()
                        if mb == (selected or MAILBOXES[0]) and mid.startswith("crash-%d-" % wid)
                        and mid not in state.expunge_tried]
            if selected is None or rng.random() < 0.2:
                selected = rng.choice(MAILBOXES)
                if c.select(selected)[0] != "OK":
                    raise AssertionError("SELECT failed")
                continue
            if not mine:
                continue
            picked = rng.sample(mine, min(len(mine), rng.randint(1, 3)))
            uids = ",".join(str(uid) for _, uid in picked)
            if op < 0.85:
                flag = rng.choice(["\\Seen", "\\Flagged", "\\Answered"])
                c.uid("STORE", uids, rng.choice(["+FLAGS", "-FLAGS"]), "(%s)" % flag)
            else:
                with state.lock:
                    state.expunge_tried.update(mid for mid, _ in picked)
                c.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)")
                c.uid("EXPUNGE", uids)
    except Exception:
        pass  # the server was killed under us (or the socket timed out): the cycle ends
    finally:
        try:
            c.shutdown()
        except Exception:
            pass


def smtp_worker(server, state, stop):
    """Delivers to the test user's INBOX over port 25 until the server dies or `stop` is set."""
    try:
        c = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=SOCKET_TIMEOUT)
        c.ehlo("crash.test")
        while not stop.is_set():
            msgid = state.next_id("smtp")
            with state.lock:
                state.attempted[msgid] = "INBOX"
            c.sendmail("sender@remote.test", [ALICE], make_message("crash smtp", msgid=msgid))
            with state.lock:
                state.smtp_acked.add(msgid)
    except Exception:
        pass  # killed under us: a message without its 250 may or may not be there, never twice


class CrashConsistencyTest(ServerTestCase):
    server_options = {"log_level": "info"}

    def tern_check(self):
        r = subprocess.run([self.server.bin, "check", "--config", self.server.config], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(r.returncode, 0, "tern check failed:\n%s%s" % (r.stdout, r.stderr))
        return r.stdout

    def verify(self, state, last_uidnext):
        """Checks the restarted server against what the clients were told."""
        c = self.login()
        found = {}  # msgid -> [(mailbox, uid)]
        for mb in MAILBOXES:
            typ, data = c.status(mb, "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
            self.assertEqual(typ, "OK")
            st = dict(re.findall(rb"(MESSAGES|UNSEEN|UIDNEXT|UIDVALIDITY) (\d+)", data[0]))
            uidnext, uidvalidity = int(st[b"UIDNEXT"]), int(st[b"UIDVALIDITY"])
            with state.lock:
                expected_validity = state.uidvalidity.setdefault(mb, uidvalidity)
            self.assertEqual(uidvalidity, expected_validity, "UIDVALIDITY of %s changed" % mb)
            self.assertGreaterEqual(uidnext, last_uidnext.get(mb, 1), "UIDNEXT of %s went back" % mb)
            last_uidnext[mb] = uidnext

            self.assertEqual(c.select(mb, readonly=True)[0], "OK")
            typ, data = c.uid("SEARCH", "ALL")
            all_uids = [int(u) for u in data[0].split()]
            self.assertEqual(len(all_uids), int(st[b"MESSAGES"]), "STATUS MESSAGES of %s" % mb)
            typ, data = c.uid("SEARCH", "UNSEEN")
            self.assertEqual(len(data[0].split()), int(st[b"UNSEEN"]), "STATUS UNSEEN of %s" % mb)
            if all_uids:
                self.assertLess(max(all_uids), uidnext, "a UID of %s is not below UIDNEXT" % mb)
                typ, data = c.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                self.assertEqual(typ, "OK")
                for item in data:
                    if not isinstance(item, tuple):
                        continue
                    uid, mid = UID_ITEM.search(item[0]), MESSAGE_ID.search(item[1])
                    self.assertTrue(uid and mid, "unexpected FETCH response %r" % (item,))
                    found.setdefault(mid.group(1).decode(), []).append((mb, int(uid.group(1))))

        with state.lock:
            attempted = dict(state.attempted)
            acked = dict(state.acked)
            smtp_acked = set(state.smtp_acked)
            tried = set(state.expunge_tried)
        for mid, places in found.items():
            self.assertIn(mid, attempted, "a message nobody appended: %s" % mid)
            self.assertEqual(len(places), 1, "message %s is there %d times: %s" % (mid, len(places), places))
            self.assertEqual(places[0][0], attempted[mid], "message %s in the wrong mailbox" % mid)
            if mid in acked:  # UIDs never change: the one APPENDUID reported
                self.assertEqual(places[0], acked[mid], "message %s changed its UID" % mid)
        for mid in acked:
            if mid not in tried:
                self.assertIn(mid, found, "acknowledged APPEND of %s was lost" % mid)
        for mid in smtp_acked:
            self.assertIn(mid, found, "message %s got 250 over SMTP and was lost" % mid)
        c.logout()
        return len(found)

    def test_check_reports_and_repairs(self):
        c = self.login(BOB)  # not alice: the kill test accounts for every message of hers
        self.assertEqual(c.append("INBOX", None, None, make_message("check me"))[0], "OK")
        c.logout()
        self.server.stop()
        try:
            db = sqlite3.connect(os.path.join(self.server.data_dir, "tern.db"))
            db.execute("UPDATE mailboxes SET messages = messages + 5, uidnext = 1 WHERE name = 'INBOX' AND "
                       "account_id = (SELECT id FROM accounts WHERE address = ?)", (BOB,))
            db.commit()
            db.close()
            check = [self.server.bin, "check", "--config", self.server.config]
            r = subprocess.run(check, capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("STATUS counters", r.stdout)
            self.assertIn('%s "INBOX"): UIDNEXT 1 is not above' % BOB, r.stdout)
            r = subprocess.run(check + ["--repair"], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("2 repaired", r.stdout)
            self.tern_check()
        finally:
            self.server.start()

    def test_kill9_under_load(self):
        rng = random.Random(SEED)
        c = self.login()
        self.assertEqual(c.create("Crashbox")[0], "OK")
        c.logout()
        state = State()
        last_uidnext = {}
        kills = 0
        started = time.monotonic()
        present = 0
        while kills < KILLS:
            self.assertLess(time.monotonic() - started, TIME_LIMIT, "kill cycles took too long")
            stop = threading.Event()
            threads = [threading.Thread(target=worker, args=(self.server, w, state, stop, random.Random(rng.random())),
                                        daemon=True) for w in range(WORKERS)]
            threads.append(threading.Thread(target=smtp_worker, args=(self.server, state, stop), daemon=True))
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.2, 1.2))
            self.server.kill9()
            kills += 1
            stop.set()
            for t in threads:
                t.join(timeout=15)
                self.assertFalse(t.is_alive(), "a client did not notice the kill")
            self.tern_check()  # the stopped store, exactly as the kill left it
            self.server.start()
            present = self.verify(state, last_uidnext)
        with state.lock:
            acked = len(state.acked)
            smtp_acked = len(state.smtp_acked)
            tried = len(state.expunge_tried)
        summary = "%d kills, %d APPENDs and %d SMTP deliveries acknowledged, %d expunges tried, %d messages present" % (
            kills, acked, smtp_acked, tried, present)
        print(summary)
        self.assertGreater(acked, kills, "too little load to mean anything: " + summary)
        self.assertGreater(smtp_acked, kills, "too little SMTP load to mean anything: " + summary)
        self.server.stop()
        out = self.tern_check()
        self.assertIn(" 0 problems", out)
        self.server.start()


if __name__ == "__main__":
    unittest.main()
