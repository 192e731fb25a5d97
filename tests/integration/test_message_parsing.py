# Message parsing as a client sees it: ENVELOPE/BODYSTRUCTURE (RFC 9051 7.5.2), section fetches at
# any depth, BINARY (RFC 3516), PREVIEW (RFC 8970), content SEARCH on decoded text, SORT and THREAD
# (RFC 5256). Expected values are written from the RFCs and the test messages below, not copied
# from server output.
import base64
import imaplib
import re
import unittest

from harness import ServerTestCase, fetches, parse_response, quote, response_code

DATA = bytes(range(1, 48)) + b"\xff\xfe\x80binary"  # no NUL, so it arrives as a plain literal
P1 = b"Hello caf=C3=A9 world, this is soft=\r\nwrapped needle-qp text."
P1_DECODED = "Hello café world, this is softwrapped needle-qp text.".encode("utf-8")
P2_HEADER = (b'Content-Type: application/octet-stream; name="data.bin"\r\n'
             b'Content-Disposition: attachment; filename="data.bin"\r\n'
             b"Content-Transfer-Encoding: base64\r\n\r\n")
P2 = base64.b64encode(DATA)
INNER_HEADER = (b"From: Carol <carol@example.test>\r\n"
                b"To: Dave <dave@example.test>\r\n"
                b"Subject: Inner part\r\n"
                b"Date: Thu, 18 Jul 1996 10:00:00 +0000\r\n"
                b"Message-ID: <inner@example.test>\r\n"
                b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
INNER_BODY = b"Inner body line.\r\nSecond line."
INNER = INNER_HEADER + INNER_BODY
OUTER_HEADER = (b"From: Alice <alice@example.test>\r\n"
                b"To: Bob <bob@example.test>\r\n"
                b"Subject: =?UTF-8?Q?Caf=C3=A9_report?=\r\n"
                b"Date: Wed, 17 Jul 1996 02:23:25 -0700\r\n"
                b"Message-ID: <multi1@example.test>\r\n"
                b"MIME-Version: 1.0\r\n"
                b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n')
MULTI = (OUTER_HEADER + b"This is a preamble.\r\n"
         b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
         + P1 + b"\r\n--XX\r\n" + P2_HEADER + P2 + b"\r\n--XX\r\nContent-Type: message/rfc822\r\n\r\n"
         + INNER + b"\r\n--XX--\r\n")


def lines(b):
    return b.count(b"\n") + (0 if b.endswith(b"\n") else 1)


def norm(x):
    """Token tree with strings lowercased (type/subtype/encoding names are case-insensitive)."""
    if isinstance(x, list):
        return [norm(i) for i in x]
    if isinstance(x, bytes):
        return bytes(x).lower()
    return x


def addr(name, mbox, host):
    return [[name, None, mbox, host]]


INNER_ENVELOPE = [b"Thu, 18 Jul 1996 10:00:00 +0000", b"Inner part", addr(b"Carol", b"carol", b"example.test"),
                  addr(b"Carol", b"carol", b"example.test"), addr(b"Carol", b"carol", b"example.test"),
                  addr(b"Dave", b"dave", b"example.test"), None, None, None, b"<inner@example.test>"]
OUTER_ENVELOPE = [b"Wed, 17 Jul 1996 02:23:25 -0700", b"=?UTF-8?Q?Caf=C3=A9_report?=",
                  addr(b"Alice", b"alice", b"example.test"), addr(b"Alice", b"alice", b"example.test"),
                  addr(b"Alice", b"alice", b"example.test"), addr(b"Bob", b"bob", b"example.test"),
                  None, None, None, b"<multi1@example.test>"]


def bodystructure(ext):
    e = (lambda *xs: list(xs)) if ext else (lambda *xs: [])
    p1 = [b"TEXT", b"PLAIN", [b"CHARSET", b"utf-8"], None, None, b"QUOTED-PRINTABLE", str(len(P1)).encode(),
          str(lines(P1)).encode()] + e(None, None, None, None)
    p2 = [b"APPLICATION", b"OCTET-STREAM", [b"NAME", b"data.bin"], None, None, b"BASE64",
          str(len(P2)).encode()] + e(None, [b"ATTACHMENT", [b"FILENAME", b"data.bin"]], None, None)
    inner = [b"TEXT", b"PLAIN", [b"CHARSET", b"us-ascii"], None, None, b"7BIT", str(len(INNER_BODY)).encode(),
             str(lines(INNER_BODY)).encode()] + e(None, None, None, None)
    p3 = [b"MESSAGE", b"RFC822", None, None, None, b"7BIT", str(len(INNER)).encode(), INNER_ENVELOPE, inner,
          str(lines(INNER)).encode()] + e(None, None, None, None)
    return [p1, p2, p3, b"MIXED"] + e([b"BOUNDARY", b"XX"], None, None, None)


def atoms_to_bytes(x):
    if isinstance(x, list):
        return [atoms_to_bytes(i) for i in x]
    return bytes(x) if isinstance(x, bytes) else x


class MessageParsingTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.box = self.unique("Parse")
        c = self.login()
        self.assertOk(c.create(quote(self.box)))
        self.c = c

    def append(self, msg, date=None):
        typ, data = self.c.append(quote(self.box), None, date, msg)
        self.assertEqual(typ, "OK", data)
        return int(response_code(data[-1]).split()[2])

    def session(self):
        r = self.raw_login()
        r.ok("SELECT " + quote(self.box))
        return r

    def fetch1(self, r, uid, items):
        _, untagged = r.ok("UID FETCH %d (%s)" % (uid, items))
        f = fetches(untagged)
        self.assertEqual(len(f), 1, untagged)
        return f[0][1]

    def test_capabilities(self):
        _, untagged = self.raw_login().ok("CAPABILITY")
        caps = set(untagged[0].split()[2:])
        for c in [b"BINARY", b"PREVIEW", b"SORT", b"SORT=DISPLAY", b"ESORT", b"THREAD=ORDEREDSUBJECT",
                  b"THREAD=REFERENCES"]:
            self.assertIn(c, caps)

    def test_envelope_and_bodystructure(self):
        uid = self.append(MULTI)
        r = self.session()
        items = self.fetch1(r, uid, "ENVELOPE BODYSTRUCTURE BODY")
        self.assertEqual(atoms_to_bytes(items["ENVELOPE"]), OUTER_ENVELOPE)
        self.assertEqual(norm(atoms_to_bytes(items["BODYSTRUCTURE"])), norm(bodystructure(True)))
        self.assertEqual(norm(atoms_to_bytes(items["BODY"])), norm(bodystructure(False)))

    def test_sections_byte_exact(self):
        uid = self.append(MULTI)
        r = self.session()
        items = self.fetch1(r, uid, "BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[3.1] BODY.PEEK[3.HEADER] "
                                    "BODY.PEEK[3.TEXT] BODY.PEEK[3] BODY.PEEK[1]<6.4> "
                                    "BODY.PEEK[3.HEADER.FIELDS (Subject)] BODY.PEEK[TEXT] BODY.PEEK[9]")
        self.assertEqual(items["BODY[1]"], P1)
        self.assertEqual(items["BODY[2.MIME]"], P2_HEADER)
        self.assertEqual(items["BODY[3.1]"], INNER_BODY)
        self.assertEqual(items["BODY[3.HEADER]"], INNER_HEADER)
        self.assertEqual(items["BODY[3.TEXT]"], INNER_BODY)
        self.assertEqual(items["BODY[3]"], INNER)
        self.assertEqual(items["BODY[1]<6>"], P1[6:10])
        self.assertEqual(items["BODY[3.HEADER.FIELDS (SUBJECT)]"], b"Subject: Inner part\r\n\r\n")
        self.assertEqual(items["BODY[TEXT]"], MULTI[len(OUTER_HEADER):])
        self.assertIsNone(items["BODY[9]"])
        # PEEK left \Seen alone; a plain BODY[] sets it.
        items = self.fetch1(r, uid, "FLAGS")
        self.assertNotIn(b"\\Seen", [bytes(f) for f in items["FLAGS"]])

    def test_binary(self):
        uid = self.append(MULTI)
        r = self.session()
        items = self.fetch1(r, uid, "BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[2]<2.3>")
        self.assertEqual(items["BINARY[2]"], DATA)
        self.assertEqual(int(items["BINARY.SIZE[2]"]), len(DATA))
        self.assertEqual(items["BINARY[1]"], P1_DECODED)
        self.assertEqual(int(items["BINARY.SIZE[1]"]), len(P1_DECODED))
        self.assertEqual(items["BINARY[2]<2>"], DATA[2:5])
        # Decoded bytes with a NUL come as a literal8 (~{n}).
        nul = (b"Subject: nul\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"a\x00b") + b"\r\n")
        uid2 = self.append(nul)
        r.ok("NOOP")
        _, untagged = r.ok("UID FETCH %d (BINARY.PEEK[1])" % uid2)
        self.assertIn(b"BINARY[1] ~{3}\r\na\x00b", untagged[0])
        # An unknown transfer encoding cannot be decoded: NO [UNKNOWN-CTE].
        odd = (b"Subject: odd\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
               b"Content-Transfer-Encoding: x-rot13\r\n\r\nuryyb\r\n")
        uid3 = self.append(odd)
        r.ok("NOOP")
        tagged, _ = r.command("UID FETCH %d (BINARY[1])" % uid3)
        self.assertEqual(r.status_of(tagged), "NO")
        self.assertIn(b"[UNKNOWN-CTE]", tagged)

    def test_preview(self):
        uid = self.append(MULTI)
        r = self.session()
        items = self.fetch1(r, uid, "PREVIEW")
        self.assertEqual(items["PREVIEW"], P1_DECODED)
        long_body = ("word  \r\n\t" * 100).encode()
        uid2 = self.append(b"Subject: long\r\n\r\n" + long_body)
        r.ok("NOOP")
        items = self.fetch1(r, uid2, "PREVIEW")
        self.assertEqual(items["PREVIEW"], b" ".join([b"word"] * 40))  # 40*4 + 39 = 199 chars; next word cut at 200
        self.assertLessEqual(len(items["PREVIEW"].decode()), 200)

    def test_search_decoded(self):
        multi = self.append(MULTI)
        plain = self.append(b"From: Bob <bob@example.test>\r\nSubject: plain one\r\n"
                            b"Date: Thu, 18 Jul 1996 10:00:00 +0000\r\n\r\nnothing here\r\n")
        r = self.session()

        def search(criteria):
            tagged, untagged = r.command(b"UID SEARCH " + criteria)
            self.assertEqual(r.status_of(tagged), "OK", tagged)
            line = [u for u in untagged if u.startswith(b"* SEARCH")][0]
            return {int(x) for x in line.split()[2:]}

        cafe = "CAFÉ".encode("utf-8")
        self.assertEqual(search(b"CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len(cafe), cafe)), {multi})
        self.assertEqual(search(b"SUBJECT report"), {multi})
        self.assertEqual(search(b"BODY softwrapped"), {multi})       # QP soft line break joined
        self.assertEqual(search(b"CHARSET UTF-8 BODY {5+}\r\n" + "café".encode()), {multi})
        self.assertEqual(search(b"BODY inner"), {multi})             # the encapsulated message's text
        self.assertEqual(search(b"TEXT PLAIN"), {plain})
        self.assertEqual(search(b"FROM carol"), set())               # only the top-level From
        self.assertEqual(search(b"FROM bob"), {plain})
        self.assertEqual(search(b"TO bob"), {multi})
        self.assertEqual(search(b"HEADER Message-ID multi1"), {multi})
        self.assertEqual(search(b"SENTON 17-Jul-1996"), {multi})    # in the sender's zone
        self.assertEqual(search(b"SENTSINCE 18-Jul-1996"), {plain})
        self.assertEqual(search(b"SENTBEFORE 18-Jul-1996"), {multi})
        self.assertEqual(search(b"OR BCC x HEADER X-None \"\""), set())
        tagged, _ = r.command("UID SEARCH CHARSET KOI8-R SUBJECT x")
        self.assertEqual(r.status_of(tagged), "NO")
        self.assertIn(b"[BADCHARSET", tagged)

    def msg(self, subject, date, frm, msgid, refs=None, size_pad=0):
        h = ["From: %s" % frm, "To: Zed <zed@example.test>", "Subject: " + subject, "Date: " + date,
             "Message-ID: <%s>" % msgid]
        if refs:
            h.append("References: " + " ".join("<%s>" % x for x in refs))
        return ("\r\n".join(h) + "\r\n\r\nbody" + "x" * size_pad + "\r\n").encode()

    def test_sort(self):
        a = self.append(self.msg("Re: beta", "Mon, 01 Jan 2024 10:00:00 +0000", "Carl <carl@c.test>", "s1", size_pad=30))
        b = self.append(self.msg("alpha", "Mon, 01 Jan 2024 09:00:00 +0000", "Anna <zz@a.test>", "s2", size_pad=10))
        c = self.append(self.msg("Gamma", "Sun, 31 Dec 2023 23:00:00 -0500", "Bert <bert@b.test>", "s3", size_pad=20))
        r = self.session()

        def sort(criteria):
            _, untagged = r.ok("UID SORT (%s) UTF-8 ALL" % criteria)
            line = [u for u in untagged if u.startswith(b"* SORT")][0]
            return [int(x) for x in line.split()[2:]]

        self.assertEqual(sort("SUBJECT"), [b, a, c])          # base subjects alpha, beta, gamma
        self.assertEqual(sort("REVERSE SUBJECT"), [c, a, b])
        self.assertEqual(sort("DATE"), [c, b, a])             # c is 2024-01-01 04:00Z, the earliest
        self.assertEqual(sort("REVERSE DATE"), [a, b, c])
        self.assertEqual(sort("REVERSE SIZE SUBJECT"), [a, c, b])
        self.assertEqual(sort("FROM"), [c, a, b])             # bert, carl, zz (addr-mailbox)
        self.assertEqual(sort("DISPLAYFROM"), [b, c, a])      # Anna, Bert, Carl
        self.assertEqual(sort("SIZE"), [b, c, a])
        self.assertEqual(sort("ARRIVAL"), [a, b, c])
        tagged, untagged = r.ok("UID SORT RETURN (MIN COUNT) (SUBJECT) UTF-8 ALL")
        es = [u for u in untagged if u.startswith(b"* ESEARCH")][0]
        self.assertIn(b"UID MIN %d COUNT 3" % b, es)

    def test_thread(self):
        root = self.append(self.msg("topic", "Mon, 01 Jan 2024 10:00:00 +0000", "a@x.test", "t1"))
        other = self.append(self.msg("unrelated", "Mon, 01 Jan 2024 11:00:00 +0000", "b@x.test", "t9"))
        reply = self.append(self.msg("Re: topic", "Mon, 01 Jan 2024 12:00:00 +0000", "b@x.test", "t2", ["t1"]))
        reply2 = self.append(self.msg("Re: topic", "Mon, 01 Jan 2024 13:00:00 +0000", "a@x.test", "t3", ["t1", "t2"]))
        side = self.append(self.msg("Re: topic", "Mon, 01 Jan 2024 14:00:00 +0000", "c@x.test", "t4", ["t1"]))
        r = self.session()
        _, untagged = r.ok("UID THREAD REFERENCES UTF-8 ALL")
        line = [u for u in untagged if u.startswith(b"* THREAD")][0]
        # RFC 5256: t1 has children t2 (which has t3) and t4; t9 is alone.
        self.assertEqual(line.decode(), "* THREAD (%d (%d %d)(%d))(%d)" % (root, reply, reply2, side, other))
        _, untagged = r.ok("UID THREAD ORDEREDSUBJECT UTF-8 ALL")
        line = [u for u in untagged if u.startswith(b"* THREAD")][0]
        self.assertEqual(line.decode(), "* THREAD (%d (%d)(%d)(%d))(%d)" % (root, reply, reply2, side, other))


if __name__ == "__main__":
    unittest.main()
