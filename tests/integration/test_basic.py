# Core IMAP behaviour as a client sees it (RFC 9051 / RFC 3501 and the extensions Tern announces):
# greeting, LOGIN/AUTHENTICATE (PLAIN, SCRAM-SHA-256), mailboxes, APPEND/FETCH, STORE, SEARCH,
# COPY/MOVE/EXPUNGE, EXAMINE, mailbox-name encodings, NAMESPACE, ID. One server for the whole file.
import base64
import datetime
import hashlib
import hmac
import imaplib
import os
import re
import unittest

from harness import (ALICE, BOB, DEFAULT_MAILBOXES, PASSWORDS, SPECIAL_USE, ServerTestCase, fetch_items, fetches,
                     make_message, parse_response, parse_seq_set, quote, response_code)


def list_entries(untagged):
    """`* LIST (attrs) delim name` responses as {name(bytes): (set of attrs lowercased, delim)}."""
    out = {}
    for r in untagged:
        if r.startswith(b"* LIST ") or r.startswith(b"* LSUB "):
            toks = parse_response(r)
            attrs = {bytes(a).lower() for a in toks[2]}
            out[bytes(toks[4])] = (attrs, toks[3])
    return out


def flag_set(items):
    """The FLAGS of a FETCH response, lowercased, without \\Recent (a rev1 session may see it)."""
    return {bytes(f).lower() for f in items["FLAGS"]} - {b"\\recent"}


def internaldate_to_dt(text):
    if isinstance(text, bytes):
        text = text.decode()
    return datetime.datetime.strptime(text.strip(), "%d-%b-%Y %H:%M:%S %z")


class ScramSha256:
    """A minimal RFC 5802 / RFC 7677 SCRAM-SHA-256 client (no channel binding), for imaplib.authenticate."""

    def __init__(self, user, password):
        self.user = user
        self.password = password.encode()
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.step = 0
        self.server_signature = None
        self.verified = False

    def __call__(self, challenge):
        self.step += 1
        if self.step == 1:
            self.client_first_bare = "n=%s,r=%s" % (self.user.replace("=", "=3D").replace(",", "=2C"), self.nonce)
            return ("n,," + self.client_first_bare).encode()
        if self.step == 2:
            server_first = challenge.decode()
            attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
            if not attrs["r"].startswith(self.nonce) or len(attrs["r"]) <= len(self.nonce):
                raise AssertionError("server nonce does not extend the client nonce: %r" % server_first)
            salt = base64.b64decode(attrs["s"])
            iterations = int(attrs["i"])
            salted = hashlib.pbkdf2_hmac("sha256", self.password, salt, iterations)
            client_key = hmac.digest(salted, b"Client Key", "sha256")
            stored_key = hashlib.sha256(client_key).digest()
            without_proof = "c=biws,r=" + attrs["r"]
            auth_message = ",".join([self.client_first_bare, server_first, without_proof]).encode()
            client_signature = hmac.digest(stored_key, auth_message, "sha256")
            proof = bytes(a ^ b for a, b in zip(client_key, client_signature))
            server_key = hmac.digest(salted, b"Server Key", "sha256")
            self.server_signature = hmac.digest(server_key, auth_message, "sha256")
            return (without_proof + ",p=" + base64.b64encode(proof).decode()).encode()
        if self.step == 3:
            # server-final-message "v=..." arrives as a continuation; the client answers with an empty line.
            text = challenge.decode()
            if text.startswith("e="):
                return b""  # a server-error; the tagged NO follows
            if not text.startswith("v="):
                raise AssertionError("unexpected server-final-message %r" % text)
            self.verified = hmac.compare_digest(base64.b64decode(text[2:]), self.server_signature)
            return b""
        return None  # abort


class GreetingAndAuthTest(ServerTestCase):
    def test_greeting_has_capability(self):
        r = self.raw()
        g = r.read_greeting()
        self.assertTrue(g.startswith(b"* OK [CAPABILITY "), g)
        caps = response_code(g).split()[1:]
        self.assertIn("IMAP4rev1", caps)
        self.assertIn("AUTH=PLAIN", caps)
        self.assertNotIn("LOGINDISABLED", caps)  # loopback is a trusted network by default

    def test_capability_command(self):
        r = self.raw()
        r.read_greeting()
        tagged, untagged = r.ok("CAPABILITY")
        self.assertEqual(len([u for u in untagged if u.startswith(b"* CAPABILITY ")]), 1, untagged)
        self.assertIn(b" IMAP4rev1", untagged[0])

    def test_login_ok(self):
        c = self.login()
        self.assertEqual(c.state, "AUTH")
        self.assertOk(c.noop())
        c.logout()

    def test_login_failures_look_alike(self):
        r = self.raw()
        r.read_greeting()
        bad_pw, _ = r.command("LOGIN %s %s" % (quote(ALICE), quote("wrong-password")))
        unknown, _ = r.command("LOGIN %s %s" % (quote("nobody@example.test"), quote("wrong-password")))
        for t in (bad_pw, unknown):
            self.assertRegex(t, rb"^t\d+ NO \[AUTHENTICATIONFAILED\]", t)
        # The same text for both, so that a client cannot learn which accounts exist.
        strip = lambda t: t.split(b" ", 1)[1]
        self.assertEqual(strip(bad_pw), strip(unknown))
        # Still not authenticated, and a correct login now works.
        tagged, _ = r.command("SELECT INBOX")
        self.assertIn(r.status_of(tagged), ("BAD", "NO"))
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))

    def test_imaplib_login_failure_raises(self):
        c = self.track(self.server.imap())
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.login(BOB, "not-bobs-password")
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))

    def test_authenticate_plain(self):
        c = self.track(self.server.imap())
        typ, data = c.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (BOB, PASSWORDS[BOB])).encode())
        self.assertEqual(typ, "OK", data)
        self.assertEqual(c.state, "AUTH")
        self.assertOk(c.select("INBOX"))

    def test_authenticate_plain_wrong_password(self):
        c = self.track(self.server.imap())
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (BOB, "bad")).encode())
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))

    def test_authenticate_plain_sasl_ir_raw(self):
        r = self.raw()
        r.read_greeting()
        ir = base64.b64encode(("\0%s\0%s" % (ALICE, PASSWORDS[ALICE])).encode()).decode()
        r.ok("AUTHENTICATE PLAIN " + ir)
        r.ok("SELECT INBOX")

    def test_authenticate_cancel(self):
        r = self.raw()
        r.read_greeting()
        r.send("a1 AUTHENTICATE PLAIN\r\n")
        cont = r.read_response()
        self.assertTrue(cont.startswith(b"+"), cont)
        r.send("*\r\n")
        tagged, _ = r.read_until_tagged("a1")
        self.assertRegex(tagged, rb"^a1 BAD", tagged)  # RFC 9051 6.2.2: cancelled exchange -> BAD
        r.ok("NOOP")

    def test_authenticate_scram_sha256(self):
        c = self.track(self.server.imap())
        scram = ScramSha256(ALICE, PASSWORDS[ALICE])
        typ, data = c.authenticate("SCRAM-SHA-256", scram)
        self.assertEqual(typ, "OK", data)
        self.assertTrue(scram.verified, "server signature (v=) missing or wrong")
        self.assertOk(c.select("INBOX"))

    def test_authenticate_scram_sha256_wrong_password(self):
        c = self.track(self.server.imap())
        scram = ScramSha256(ALICE, "not-the-password")
        with self.assertRaises(imaplib.IMAP4.error) as cm:
            c.authenticate("SCRAM-SHA-256", scram)
        self.assertIn("AUTHENTICATIONFAILED", str(cm.exception))
        self.assertFalse(scram.verified)

    def test_authenticate_unknown_mechanism(self):
        r = self.raw()
        r.read_greeting()
        tagged, _ = r.command("AUTHENTICATE X-NO-SUCH-MECH")
        self.assertIn(r.status_of(tagged), ("NO", "BAD"))
        r.ok("NOOP")


class MailboxTest(ServerTestCase):
    def delimiter(self, r):
        _, untagged = r.ok('LIST "" ""')
        toks = parse_response(untagged[0])
        return toks[3].decode()

    def test_default_mailboxes_with_special_use(self):
        r = self.raw_login(BOB)
        _, untagged = r.ok('LIST "" "*"')
        entries = list_entries(untagged)
        for name in DEFAULT_MAILBOXES:
            self.assertIn(name.encode(), entries, untagged)
        for name, attr in SPECIAL_USE.items():
            self.assertIn(attr.lower().encode(), entries[name.encode()][0], entries[name.encode()])
        self.assertFalse({b"\\drafts", b"\\sent", b"\\trash", b"\\junk", b"\\archive"} & entries[b"INBOX"][0])

    def test_default_mailboxes_subscribed(self):
        r = self.raw_login(BOB)
        _, untagged = r.ok('LSUB "" "*"')
        subscribed = set(list_entries(untagged))
        self.assertTrue({m.encode() for m in DEFAULT_MAILBOXES} <= subscribed, untagged)

    def test_list_special_use_selection(self):
        r = self.raw_login(BOB)
        _, untagged = r.ok('LIST (SPECIAL-USE) "" "*"')
        names = set(list_entries(untagged))
        self.assertEqual(names, {m.encode() for m in SPECIAL_USE}, untagged)

    def test_create_rename_delete(self):
        r = self.raw_login()
        d = self.delimiter(r)
        top = self.unique("Proj")
        r.ok("CREATE " + quote(top))
        r.ok("CREATE " + quote(top + d + "A"))
        r.ok("CREATE " + quote(top + d + "A" + d + "B"))
        tagged, _ = r.command("CREATE " + quote(top))
        self.assertRegex(tagged, rb" NO ", tagged)  # already exists (RFC 9051 6.3.4)
        # RENAME moves the children along (RFC 9051 6.3.6).
        new = self.unique("Work")
        r.ok("RENAME %s %s" % (quote(top), quote(new)))
        _, untagged = r.ok('LIST "" "*"')
        names = set(list_entries(untagged))
        self.assertTrue({n.encode() for n in (new, new + d + "A", new + d + "A" + d + "B")} <= names, names)
        self.assertFalse([n for n in names if n.startswith(top.encode())], names)
        self.assertIn(b"\\haschildren", list_entries(untagged)[new.encode()][0])
        # DELETE of a leaf works; the renamed mailbox is selectable.
        r.ok("DELETE " + quote(new + d + "A" + d + "B"))
        _, untagged = r.ok('LIST "" ' + quote(new + "*"))
        self.assertEqual(set(list_entries(untagged)), {new.encode(), (new + d + "A").encode()})
        r.ok("SELECT " + quote(new + d + "A"))
        r.ok("UNSELECT")
        tagged, _ = r.command("DELETE " + quote(self.unique("NoSuchBox")))
        self.assertRegex(tagged, rb" NO ", tagged)
        tagged, _ = r.command("DELETE INBOX")
        self.assertRegex(tagged, rb" NO ", tagged)

    def test_rename_inbox_moves_messages(self):
        # RFC 9051 6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX empty.
        c = self.login(BOB)
        msg = make_message("inbox-rename")
        self.assertOk(c.append("INBOX", None, None, msg))
        dest = self.unique("OldInbox")
        self.assertOk(c.rename("INBOX", dest))
        typ, data = c.status(dest, "(MESSAGES)")
        self.assertEqual(typ, "OK", data)
        self.assertRegex(data[0], rb"MESSAGES [1-9]")
        typ, data = c.status("INBOX", "(MESSAGES)")
        self.assertRegex(data[0], rb"MESSAGES 0\)")

    def test_subscribe_lsub_list_subscribed(self):
        r = self.raw_login()
        a, b = self.unique("SubA"), self.unique("SubB")
        r.ok("CREATE " + quote(a))
        r.ok("CREATE " + quote(b))
        r.ok("SUBSCRIBE " + quote(a))
        _, untagged = r.ok('LSUB "" "Sub*"')
        self.assertIn(a.encode(), list_entries(untagged))
        self.assertNotIn(b.encode(), list_entries(untagged))
        _, untagged = r.ok('LIST (SUBSCRIBED) "" "*"')
        entries = list_entries(untagged)
        self.assertIn(a.encode(), entries)
        self.assertIn(b"\\subscribed", entries[a.encode()][0])
        self.assertNotIn(b.encode(), entries)
        self.assertIn(b"INBOX", entries)
        _, untagged = r.ok('LIST "" "*" RETURN (SUBSCRIBED)')
        entries = list_entries(untagged)
        self.assertIn(b"\\subscribed", entries[a.encode()][0])
        self.assertNotIn(b"\\subscribed", entries[b.encode()][0])
        r.ok("UNSUBSCRIBE " + quote(a))
        _, untagged = r.ok('LSUB "" "*"')
        self.assertNotIn(a.encode(), list_entries(untagged))

    def test_list_patterns(self):
        r = self.raw_login()
        d = self.delimiter(r)
        top = self.unique("Pat")
        for n in (top, top + d + "x", top + d + "x" + d + "y"):
            r.ok("CREATE " + quote(n))
        _, untagged = r.ok('LIST "" ' + quote(top + d + "%"))
        self.assertEqual(set(list_entries(untagged)), {(top + d + "x").encode()})
        _, untagged = r.ok('LIST "" ' + quote(top + "*"))
        self.assertEqual(len(list_entries(untagged)), 3)
        _, untagged = r.ok('LIST "" "inbox"')  # INBOX is case-insensitive
        self.assertEqual(set(list_entries(untagged)), {b"INBOX"})

    def test_status(self):
        c = self.login()
        box = self.unique("Stat")
        self.assertOk(c.create(box))
        m1, m2 = make_message("s1"), make_message("s2", body="x" * 100 + "\r\n")
        self.assertOk(c.append(box, "(\\Seen)", None, m1))
        self.assertOk(c.append(box, "(\\Deleted)", None, m2))
        typ, data = c.status(box, "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)")
        self.assertEqual(typ, "OK", data)
        toks = parse_response(b"* STATUS " + data[0])
        self.assertEqual(bytes(toks[2]).decode(), box)
        items = dict(zip([bytes(x).upper() for x in toks[3][0::2]], [int(x) for x in toks[3][1::2]]))
        self.assertEqual(items[b"MESSAGES"], 2)
        self.assertEqual(items[b"UNSEEN"], 1)
        self.assertEqual(items[b"DELETED"], 1)
        self.assertEqual(items[b"SIZE"], len(m1) + len(m2))
        self.assertGreaterEqual(items[b"UIDNEXT"], 3)
        self.assertGreater(items[b"UIDVALIDITY"], 0)
        self.assertIn(b"RECENT", items)
        typ, data = c.status(self.unique("Missing"), "(MESSAGES)")
        self.assertEqual(typ, "NO", data)

    def test_namespace(self):
        r = self.raw_login()
        d = self.delimiter(r)
        _, untagged = r.ok("NAMESPACE")
        ns = [u for u in untagged if u.startswith(b"* NAMESPACE ")]
        self.assertEqual(len(ns), 1, untagged)
        toks = parse_response(ns[0])
        personal = toks[2]
        self.assertIsInstance(personal, list)
        self.assertEqual(personal[0][1].decode(), d)

    def test_id(self):
        r = self.raw_login()
        _, untagged = r.ok('ID ("name" "tern-integration-test" "version" "1")')
        ids = [u for u in untagged if u.startswith(b"* ID ")]
        self.assertEqual(len(ids), 1, untagged)
        toks = parse_response(ids[0])
        self.assertTrue(toks[2] is None or isinstance(toks[2], list), ids[0])
        r2 = self.raw()
        r2.read_greeting()
        r2.ok("ID NIL")  # also allowed before login

    def test_non_ascii_names_modified_utf7_and_utf8(self):
        rev1 = self.raw_login()
        tag = self.unique("")
        name_utf8 = "Entwürfe-" + tag
        name_mutf7 = "Entw&APw-rfe-" + tag
        jp_utf8 = "日本語-" + tag
        jp_mutf7 = "&ZeVnLIqe-" + "-" + tag
        amp_utf8 = "Tom & Jerry " + tag
        amp_mutf7 = "Tom &- Jerry " + tag
        rev1.ok("CREATE " + quote(name_mutf7))
        rev1.ok("CREATE " + quote(amp_mutf7))
        # A rev1 client sees modified UTF-7 (RFC 3501 5.1.3).
        _, untagged = rev1.ok('LIST "" "*"')
        names = set(list_entries(untagged))
        self.assertIn(name_mutf7.encode(), names)
        self.assertIn(amp_mutf7.encode(), names)
        # A client that enabled UTF8=ACCEPT sees and sends UTF-8 (RFC 6855).
        utf8 = self.raw_login()
        _, untagged = utf8.ok("ENABLE UTF8=ACCEPT")
        self.assertTrue(any(u.startswith(b"* ENABLED") and b"UTF8=ACCEPT" in u.upper() for u in untagged), untagged)
        _, untagged = utf8.ok('LIST "" "*"')
        names = set(list_entries(untagged))
        self.assertIn(name_utf8.encode(), names)
        self.assertIn(amp_utf8.encode(), names)
        self.assertNotIn(name_mutf7.encode(), names)
        utf8.ok("CREATE " + quote(jp_utf8))
        utf8.ok("SELECT " + quote(name_utf8))
        _, untagged = rev1.ok('LIST "" "*"')
        self.assertIn(jp_mutf7.encode(), set(list_entries(untagged)))
        rev1.ok("SELECT " + quote(jp_mutf7))
        _, untagged = rev1.ok("STATUS %s (MESSAGES)" % quote(name_mutf7))
        self.assertIn(name_mutf7.encode(), untagged[0])
        # Invalid modified UTF-7 in a name a rev1 client sends is refused, not stored garbled.
        tagged, _ = rev1.command('CREATE "bad&Jjo"')
        self.assertIn(rev1.status_of(tagged), ("NO", "BAD"))


class MessageTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.box = self.unique("Msg")
        c = self.login()
        self.assertOk(c.create(self.box))
        self.c = c

    def select(self, c=None, box=None):
        c = c or self.c
        typ, data = c.select(quote(box or self.box))
        self.assertEqual(typ, "OK", data)
        return int(data[0])

    def append(self, msg, flags=None, date=None, c=None, box=None):
        c = c or self.c
        typ, data = c.append(quote(box or self.box), flags, date, msg)
        self.assertEqual(typ, "OK", data)
        code = response_code(data[-1])
        self.assertTrue(code and code.upper().startswith("APPENDUID "), data)
        _, uidvalidity, uid = code.split()
        return int(uidvalidity), int(uid)

    def test_append_fetch_byte_exact(self):
        body = "Line one.\r\nLine two, a bit longer than the first.\r\n\r\n-- \r\nAlice\r\n"
        msg = make_message("Fetch me", body=body, extra_headers=["X-Extra: folded\r\n value"])
        header, text = msg.split(b"\r\n\r\n", 1)
        header += b"\r\n\r\n"
        date = "17-Jul-1996 02:44:25 -0700"
        _, uid = self.append(msg, "(\\Flagged $Forwarded)", '"%s"' % date)
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        _, untagged = r.ok("UID FETCH %d (FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER.FIELDS (Subject)] "
                           "BODY.PEEK[]<0.10>)" % uid)
        (msn, items), = fetches(untagged)
        self.assertEqual(msn, 1)
        self.assertEqual(int(items["UID"]), uid)
        self.assertEqual(flag_set(items), {b"\\flagged", b"$forwarded"})
        self.assertEqual(internaldate_to_dt(items["INTERNALDATE"]), internaldate_to_dt(date))
        self.assertEqual(int(items["RFC822.SIZE"]), len(msg))
        self.assertEqual(items["BODY[]"], msg)
        self.assertEqual(items["BODY[HEADER.FIELDS (SUBJECT)]"], b"Subject: Fetch me\r\n\r\n")
        self.assertEqual(items["BODY[]<0>"], msg[:10])
        # BODY[HEADER] and BODY[TEXT] without PEEK set \Seen, reported in the same FETCH response.
        _, untagged = r.ok("UID FETCH %d (BODY[HEADER] BODY[TEXT])" % uid)
        (msn, items), = fetches(untagged)
        self.assertEqual(items["BODY[HEADER]"], header)
        self.assertEqual(items["BODY[TEXT]"], text)
        self.assertIn(b"\\seen", {bytes(f).lower() for f in items.get("FLAGS", [])}, items)
        # imaplib sees the same bytes.
        self.select()
        typ, data = self.c.uid("FETCH", str(uid), "(BODY.PEEK[])")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(data[0][1], msg)

    def test_fetch_partial_and_macros(self):
        msg = make_message("Partial", body="0123456789" * 20 + "\r\n")
        self.append(msg)
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        _, untagged = r.ok("FETCH 1 (BODY.PEEK[]<5.20> BODY.PEEK[TEXT]<190.1000> BODY.PEEK[]<100000.5>)")
        (_, items), = fetches(untagged)
        body = msg.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(items["BODY[]<5>"], msg[5:25])
        self.assertEqual(items["BODY[TEXT]<190>"], body[190:])
        self.assertEqual(items["BODY[]<100000>"], b"")
        _, untagged = r.ok("FETCH 1 FAST")
        (_, items), = fetches(untagged)
        self.assertEqual(set(items), {"FLAGS", "INTERNALDATE", "RFC822.SIZE"})
        _, untagged = r.ok("FETCH 1 (RFC822.HEADER)")
        (_, items), = fetches(untagged)
        self.assertEqual(items["RFC822.HEADER"], msg.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")

    def test_store_flags_and_keywords(self):
        for i in range(3):
            self.append(make_message("store%d" % i))
        r = self.raw_login()
        _, untagged = r.ok("SELECT " + quote(self.box))
        permanent = [u for u in untagged if b"PERMANENTFLAGS" in u]
        self.assertTrue(permanent and b"\\*" in permanent[0], untagged)

        _, untagged = r.ok("STORE 1:2 +FLAGS (\\Flagged custom1)")
        got = {msn: flag_set(items) for msn, items in fetches(untagged)}
        self.assertEqual(got, {1: {b"\\flagged", b"custom1"}, 2: {b"\\flagged", b"custom1"}})
        _, untagged = r.ok("STORE 2 -FLAGS (\\Flagged)")
        got = {msn: flag_set(items) for msn, items in fetches(untagged)}
        self.assertEqual(got, {2: {b"custom1"}})
        _, untagged = r.ok("STORE 3 FLAGS.SILENT (\\Answered $Label1)")
        self.assertEqual(fetches(untagged), [])  # .SILENT: no FETCH for this session's own change
        _, untagged = r.ok("UID STORE 1:* +FLAGS.SILENT (\\Seen)")
        self.assertEqual(fetches(untagged), [])
        _, untagged = r.ok("FETCH 1:3 (FLAGS)")
        got = {msn: flag_set(items) for msn, items in fetches(untagged)}
        self.assertEqual(got, {1: {b"\\flagged", b"custom1", b"\\seen"}, 2: {b"custom1", b"\\seen"},
                               3: {b"\\answered", b"$label1", b"\\seen"}})
        # UID STORE answers with the UID in each FETCH (RFC 9051 6.4.9).
        _, untagged = r.ok("UID STORE 1:* -FLAGS (\\Seen)")
        for _, items in fetches(untagged):
            self.assertIn("UID", items)
        # An unknown system flag is refused (RFC 9051 2.3.2 defines the system flags).
        tagged, _ = r.command("STORE 1 +FLAGS (\\NoSuchSystemFlag)")
        self.assertIn(r.status_of(tagged), ("BAD", "NO"))
        r.ok("NOOP")

    def test_uid_search(self):
        uids = {}
        specs = [
            ("a", "(\\Seen)", "01-Feb-2020 10:00:00 +0000", 10),
            ("b", "(\\Flagged)", "05-Mar-2021 10:00:00 +0000", 2000),
            ("c", "(\\Seen \\Flagged)", "10-Apr-2022 10:00:00 +0000", 500),
            ("d", "(kw1)", "15-May-2023 10:00:00 +0000", 5000),
            ("e", "()", "20-Jun-2024 10:00:00 +0000", 50),
        ]
        sizes = {}
        for name, flags, date, n in specs:
            msg = make_message("search-" + name, body="z" * n + "\r\n")
            sizes[name] = len(msg)
            uids[name] = self.append(msg, flags, '"%s"' % date)[1]
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))

        def search(criteria):
            _, untagged = r.ok("UID SEARCH " + criteria)
            lines = [u for u in untagged if u.startswith(b"* SEARCH")]
            self.assertEqual(len(lines), 1, untagged)
            found = {int(x) for x in lines[0].split()[2:]}
            return {k for k, v in uids.items() if v in found}

        self.assertEqual(search("ALL"), set("abcde"))
        self.assertEqual(search("SEEN"), {"a", "c"})
        self.assertEqual(search("UNSEEN"), {"b", "d", "e"})
        self.assertEqual(search("FLAGGED"), {"b", "c"})
        self.assertEqual(search("SEEN FLAGGED"), {"c"})
        self.assertEqual(search("KEYWORD kw1"), {"d"})
        self.assertEqual(search("UNKEYWORD kw1"), set("abce"))
        self.assertEqual(search("NOT SEEN"), {"b", "d", "e"})
        self.assertEqual(search("OR SEEN KEYWORD kw1"), {"a", "c", "d"})
        self.assertEqual(search("LARGER %d" % sizes["c"]), {"b", "d"})
        self.assertEqual(search("SMALLER %d" % sizes["c"]), {"a", "e"})
        self.assertEqual(search("BEFORE 10-Apr-2022"), {"a", "b"})
        self.assertEqual(search("ON 10-Apr-2022"), {"c"})
        self.assertEqual(search("SINCE 10-Apr-2022"), {"c", "d", "e"})
        self.assertEqual(search("SINCE 01-Jan-2021 BEFORE 01-Jan-2023"), {"b", "c"})
        self.assertEqual(search("UID %d:%d" % (uids["b"], uids["d"])), {"b", "c", "d"})
        self.assertEqual(search("UID %d,%d" % (uids["a"], uids["e"])), {"a", "e"})
        self.assertEqual(search("UID %d:*" % uids["d"]), {"d", "e"})
        self.assertEqual(search("NOT UID %d:*" % uids["b"]), {"a"})
        self.assertEqual(search("OR (FLAGGED SEEN) LARGER 4000"), {"c", "d"})
        self.assertEqual(search("2:3"), {"b", "c"})  # a bare sequence set is message numbers
        self.assertEqual(search("DELETED"), set())
        tagged, _ = r.command("UID SEARCH NOSUCHKEY")
        self.assertEqual(r.status_of(tagged), "BAD")
        r.ok("NOOP")

    def test_search_by_header_and_text(self):
        uids = {n: self.append(make_message("hdr-" + n, body="needle-%s in the body\r\n" % n))[1] for n in "abc"}
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))

        def search(criteria):
            _, untagged = r.ok("UID SEARCH " + criteria)
            found = {int(x) for x in [u for u in untagged if u.startswith(b"* SEARCH")][0].split()[2:]}
            return {k for k, v in uids.items() if v in found}

        self.assertEqual(search("HEADER Subject hdr-c"), {"c"})
        self.assertEqual(search("SUBJECT HDR-B"), {"b"})  # case-insensitive substring (RFC 9051 6.4.4)
        self.assertEqual(search("FROM alice@example.test"), set("abc"))
        self.assertEqual(search("BODY needle-a"), {"a"})
        self.assertEqual(search("TEXT needle-c"), {"c"})
        self.assertEqual(search("NOT BODY needle-a"), {"b", "c"})

    def test_search_return_esearch(self):
        uids = [self.append(make_message("es%d" % i), "(\\Seen)" if i % 2 else None)[1] for i in range(5)]
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        tagged, untagged = r.ok("SEARCH RETURN (MIN MAX COUNT ALL) ALL")
        tag = tagged.split()[0]
        es = [u for u in untagged if u.startswith(b"* ESEARCH")]
        self.assertEqual(len(es), 1, untagged)
        self.assertFalse([u for u in untagged if u.startswith(b"* SEARCH")], untagged)
        toks = parse_response(es[0])
        self.assertEqual(toks[2], [b"TAG", tag], es[0])
        rest = toks[3:]
        d = {bytes(rest[i]).upper(): rest[i + 1] for i in range(0, len(rest) - 1, 2)}
        self.assertEqual(int(d[b"MIN"]), 1)
        self.assertEqual(int(d[b"MAX"]), 5)
        self.assertEqual(int(d[b"COUNT"]), 5)
        self.assertEqual(parse_seq_set(d[b"ALL"]), {1, 2, 3, 4, 5})
        tagged, untagged = r.ok("UID SEARCH RETURN (COUNT ALL) SEEN")
        es = [u for u in untagged if u.startswith(b"* ESEARCH")]
        toks = parse_response(es[0])
        self.assertEqual(bytes(toks[3]).upper(), b"UID", es[0])
        rest = toks[4:]
        d = {bytes(rest[i]).upper(): rest[i + 1] for i in range(0, len(rest) - 1, 2)}
        self.assertEqual(int(d[b"COUNT"]), 2)
        self.assertEqual(parse_seq_set(d[b"ALL"]), {uids[1], uids[3]})
        # No match: ALL/MIN/MAX are omitted, COUNT is 0 (RFC 4731 3.1).
        _, untagged = r.ok("SEARCH RETURN (MIN COUNT) DELETED")
        es = [u for u in untagged if u.startswith(b"* ESEARCH")][0]
        self.assertNotIn(b"MIN", es)
        self.assertRegex(es, rb"COUNT 0")

    def test_copy_move_expunge(self):
        uids = [self.append(make_message("cm%d" % i))[1] for i in range(4)]
        dest = self.unique("Dest")
        self.assertOk(self.c.create(dest))
        r = self.raw_login()
        _, untagged = r.ok("SELECT " + quote(dest))
        dest_validity = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(untagged)).group(1))
        r.ok("SELECT " + quote(self.box))
        tagged, _ = r.ok("UID COPY %d,%d %s" % (uids[0], uids[1], quote(dest)))
        code = response_code(tagged)
        self.assertTrue(code and code.startswith("COPYUID "), tagged)
        _, validity, src, dst = code.split()
        self.assertEqual(int(validity), dest_validity)
        self.assertEqual(parse_seq_set(src), {uids[0], uids[1]})
        self.assertEqual(len(parse_seq_set(dst)), 2)
        # MOVE: COPYUID in an untagged OK, then EXPUNGE for the moved message (RFC 6851).
        tagged, untagged = r.ok("UID MOVE %d %s" % (uids[2], quote(dest)))
        self.assertTrue(any(response_code(u) and response_code(u).startswith("COPYUID ") for u in untagged)
                        or (response_code(tagged) or "").startswith("COPYUID "), (tagged, untagged))
        self.assertIn(b"* 3 EXPUNGE", untagged)
        _, untagged = r.ok("STATUS %s (MESSAGES)" % quote(dest))
        self.assertIn(b"MESSAGES 3", untagged[0])
        # EXPUNGE reports decreasing-safe sequence numbers: deleting messages 1 and 3 of 3 gives
        # "* 3 EXPUNGE" then "* 1 EXPUNGE", or "* 1 EXPUNGE" then "* 2 EXPUNGE".
        r.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        _, untagged = r.ok("EXPUNGE")
        exp = [int(u.split()[1]) for u in untagged if u.endswith(b" EXPUNGE")]
        self.assertIn(exp, ([3, 1], [1, 2]), untagged)
        _, untagged = r.ok("UID SEARCH ALL")
        self.assertEqual(untagged[-1].split()[2:], [str(uids[1]).encode()])
        tagged, _ = r.command("COPY 1 " + quote(self.unique("Missing")))
        self.assertRegex(tagged, rb" NO \[TRYCREATE\]", tagged)

    def test_uid_expunge_only_given_uids(self):
        uids = [self.append(make_message("ue%d" % i), "(\\Deleted)")[1] for i in range(3)]
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        _, untagged = r.ok("UID EXPUNGE %d" % uids[1])
        self.assertEqual([u for u in untagged if u.endswith(b"EXPUNGE")], [b"* 2 EXPUNGE"])
        _, untagged = r.ok("UID SEARCH ALL")
        self.assertEqual({int(x) for x in untagged[-1].split()[2:]}, {uids[0], uids[2]})

    def test_close_expunges_unselect_does_not(self):
        self.append(make_message("cl1"), "(\\Deleted)")
        self.append(make_message("cl2"))
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        _, untagged = r.ok("UNSELECT")
        self.assertFalse([u for u in untagged if u.endswith(b"EXPUNGE")])
        _, untagged = r.ok("STATUS %s (MESSAGES)" % quote(self.box))
        self.assertIn(b"MESSAGES 2", untagged[0])
        r.ok("SELECT " + quote(self.box))
        _, untagged = r.ok("CLOSE")
        self.assertFalse([u for u in untagged if u.endswith(b"EXPUNGE")], untagged)  # CLOSE is silent
        _, untagged = r.ok("STATUS %s (MESSAGES)" % quote(self.box))
        self.assertIn(b"MESSAGES 1", untagged[0])
        tagged, _ = r.command("FETCH 1 FLAGS")  # no longer selected
        self.assertIn(r.status_of(tagged), ("BAD", "NO"))

    def test_examine_is_read_only(self):
        self.append(make_message("ro"))
        r = self.raw_login()
        tagged, _ = r.ok("EXAMINE " + quote(self.box))
        self.assertIn(b"[READ-ONLY]", tagged)
        tagged, _ = r.command("STORE 1 +FLAGS (\\Flagged)")
        self.assertEqual(r.status_of(tagged), "NO", tagged)
        tagged, _ = r.command("EXPUNGE")
        self.assertEqual(r.status_of(tagged), "NO", tagged)
        _, untagged = r.ok("FETCH 1 (BODY[TEXT])")  # no implicit \Seen in a read-only mailbox
        (_, items), = fetches(untagged)
        self.assertNotIn(b"\\seen", {bytes(f).lower() for f in items.get("FLAGS", [])})
        tagged, _ = r.ok("SELECT " + quote(self.box))
        self.assertIn(b"[READ-WRITE]", tagged)
        _, untagged = r.ok("FETCH 1 (FLAGS)")
        (_, items), = fetches(untagged)
        self.assertNotIn(b"\\seen", {bytes(f).lower() for f in items["FLAGS"]})

    def test_select_responses(self):
        for i in range(2):
            self.append(make_message("sel%d" % i), "(\\Seen)" if i == 0 else None)
        r = self.raw_login()
        tagged, untagged = r.ok("SELECT " + quote(self.box))
        joined = b"\n".join(untagged)
        self.assertIn(b"* 2 EXISTS", untagged)
        self.assertRegex(joined, rb"\* FLAGS \(")
        self.assertRegex(joined, rb"\* OK \[UIDVALIDITY \d+\]")
        self.assertRegex(joined, rb"\* OK \[UIDNEXT \d+\]")
        self.assertRegex(joined, rb"\* OK \[PERMANENTFLAGS \(")
        tagged, _ = r.command("SELECT " + quote(self.unique("Missing")))
        self.assertEqual(r.status_of(tagged), "NO")
        tagged, _ = r.command("FETCH 1 FLAGS")  # a failed SELECT leaves no mailbox selected
        self.assertIn(r.status_of(tagged), ("BAD", "NO"))

    def test_append_errors(self):
        r = self.raw_login()
        tag = r.next_tag()
        msg = make_message("nowhere")
        r.send("%s APPEND %s {%d}\r\n" % (tag, quote(self.unique("Missing")), len(msg)))
        first = r.read_response()
        if first.startswith(b"+"):
            r.send(msg + b"\r\n")
            first, _ = r.read_until_tagged(tag)
        self.assertRegex(first, rb"NO \[TRYCREATE\]", first)
        tag = r.next_tag()
        r.send('%s APPEND %s (\\Seen) "31-Foo-2020 99:00:00 +0000" {3}\r\n' % (tag, quote(self.box)))
        first = r.read_response()
        if first.startswith(b"+"):  # the server may read the literal before it rejects the command
            r.send("abc\r\n")
            first, _ = r.read_until_tagged(tag)
        self.assertEqual(r.status_of(first), "BAD", first)
        r.ok("NOOP")

    def test_append_literal_plus(self):
        msg = make_message("literal-plus")
        r = self.raw_login()
        tag = r.next_tag()
        r.send(("%s APPEND %s {%d+}\r\n" % (tag, quote(self.box), len(msg))).encode() + msg + b"\r\n")
        tagged, _ = r.read_until_tagged(tag)
        self.assertRegex(tagged, rb"OK \[APPENDUID \d+ \d+\]", tagged)
        _, untagged = r.ok("STATUS %s (MESSAGES)" % quote(self.box))
        self.assertIn(b"MESSAGES 1", untagged[0])

    def test_unsupported_or_invalid_fetch_items(self):
        self.append(make_message("env"))
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        tagged, untagged = r.command("FETCH 1 (ENVELOPE)")
        status = r.status_of(tagged)
        self.assertIn(status, ("OK", "BAD"), tagged)
        if status == "OK":
            (_, items), = fetches(untagged)
            env = items["ENVELOPE"]
            self.assertEqual(len(env), 10, env)
            self.assertEqual(env[0], b"Wed, 17 Jul 1996 02:23:25 -0700")
            self.assertEqual(env[1], b"env")
        tagged, _ = r.command("FETCH 1 (NOSUCHITEM)")
        self.assertEqual(r.status_of(tagged), "BAD", tagged)
        tagged, _ = r.command("FETCH 1 (BODY[HEADER.FIELDS])")
        self.assertEqual(r.status_of(tagged), "BAD", tagged)
        tagged, _ = r.command("FETCH 0 FLAGS")
        self.assertEqual(r.status_of(tagged), "BAD", tagged)
        _, untagged = r.ok("FETCH 1 (FLAGS)")
        self.assertEqual(len(fetches(untagged)), 1)


if __name__ == "__main__":
    unittest.main()
