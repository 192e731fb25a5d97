# Real third-party clients against tern: curl's IMAP support (LIST, SEARCH, FETCH by UID, APPEND via
# upload, SASL PLAIN/LOGIN, IMAPS, STARTTLS) and isync's mbsync two-way sync with a local Maildir
# (new mail both ways, flag changes, expunges), over plaintext from loopback and over IMAPS.
import os
import re
import shutil
import subprocess
import unittest

from harness import ALICE, BOB, PASSWORDS, ServerTestCase, fetches, make_message, quote, response_code

CURL = shutil.which("curl")
MBSYNC = shutil.which("mbsync")


@unittest.skipUnless(CURL, "curl is not installed")
class CurlTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.server.login(ALICE)
        cls.messages = [make_message("curl%d" % i, body="Body of message %d.\r\n" % i) for i in range(3)]
        cls.uids = []
        for m in cls.messages:
            typ, data = c.append("INBOX", None, None, m)
            cls.uids.append(int(response_code(data[-1]).split()[2]))
        c.logout()

    def curl(self, url, *extra, user=ALICE, ok=True):
        cmd = [CURL, "-s", "-S", "--max-time", "20", "--url", url, "-u", "%s:%s" % (user, PASSWORDS[user]), *extra]
        r = subprocess.run(cmd, capture_output=True, timeout=30)
        if ok:
            self.assertEqual(r.returncode, 0, "curl %s failed: %r" % (" ".join(extra), r.stderr))
        return r

    def base(self, scheme="imap"):
        port = self.server.imaps_port if scheme == "imaps" else self.server.imap_port
        return "%s://127.0.0.1:%d" % (scheme, port)

    def test_list_mailboxes(self):
        out = self.curl(self.base() + "/").stdout
        names = re.findall(rb'^\* LIST \([^)]*\) "[^"]*" "?([^"\r\n]+)"?\r?$', out, re.M)
        self.assertTrue({b"INBOX", b"Drafts", b"Sent", b"Trash", b"Junk", b"Archive"} <= set(names), out)

    def test_search_lists_messages(self):
        out = self.curl(self.base() + "/INBOX?ALL").stdout
        m = re.search(rb"^\* SEARCH((?: \d+)*)\r?$", out, re.M)
        self.assertTrue(m, out)
        self.assertEqual(len(m.group(1).split()), len(self.messages))

    def test_fetch_by_uid(self):
        for uid, msg in zip(self.uids, self.messages):
            out = self.curl(self.base() + "/INBOX/;UID=%d" % uid).stdout
            self.assertEqual(out, msg)

    def test_fetch_by_uid_with_auth_login(self):
        out = self.curl(self.base() + "/INBOX/;UID=%d" % self.uids[1], "--login-options", "AUTH=LOGIN").stdout
        self.assertEqual(out, self.messages[1])

    def test_fetch_section(self):
        out = self.curl(self.base() + "/INBOX/;UID=%d/;SECTION=HEADER.FIELDS%%20(SUBJECT)" % self.uids[2]).stdout
        self.assertEqual(out.strip(), b"Subject: curl2")

    def test_imaps(self):
        out = self.curl(self.base("imaps") + "/INBOX/;UID=%d" % self.uids[0], "-k").stdout
        self.assertEqual(out, self.messages[0])

    def test_starttls_required(self):
        out = self.curl(self.base() + "/INBOX/;UID=%d" % self.uids[2], "--ssl-reqd", "-k").stdout
        self.assertEqual(out, self.messages[2])

    def test_wrong_password_fails(self):
        r = subprocess.run([CURL, "-s", "--max-time", "20", "--url", self.base() + "/INBOX/;UID=1",
                            "-u", ALICE + ":wrong"], capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 67, r)  # CURLE_LOGIN_DENIED

    def test_upload_appends(self):
        path = os.path.join(self.server.dir, "upload.eml")
        msg = make_message("curl-upload", body="Uploaded with curl.\r\n")
        with open(path, "wb") as f:
            f.write(msg)
        box = self.unique("Upload")
        c = self.login(BOB)
        self.assertOk(c.create(box))
        self.curl(self.base() + "/" + box, "-T", path, user=BOB)
        c.select(box)
        typ, data = c.fetch("1:*", "(BODY.PEEK[])")
        self.assertEqual(typ, "OK")
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        self.assertEqual(bodies, [msg])


MBSYNCRC = """\
IMAPAccount plain
Host 127.0.0.1
Port {imap_port}
User {user}
Pass {password}
SSLType None
AuthMechs LOGIN
Timeout 20

IMAPStore plain-remote
Account plain

MaildirStore plain-local
Path {dir}/plain/
Inbox {dir}/plain-inbox
SubFolders Verbatim

Channel plain
Far :plain-remote:
Near :plain-local:
Patterns *
Create Both
Expunge Both
SyncState *

IMAPAccount secure
Host 127.0.0.1
Port {imaps_port}
User {user2}
Pass {password2}
SSLType IMAPS
CertificateFile {cert}
SystemCertificates no
Timeout 20

IMAPStore secure-remote
Account secure

MaildirStore secure-local
Path {dir}/secure/
Inbox {dir}/secure-inbox
SubFolders Verbatim

Channel secure
Far :secure-remote:
Near :secure-local:
Patterns *
Create Both
Expunge Both
SyncState *
"""


def maildir_files(path):
    """{file name: bytes} of the messages in a Maildir folder (cur and new)."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    out[os.path.join(sub, name)] = f.read()
    return out


def subject_of(data):
    m = re.search(rb"^Subject: (.*?)\r?$", data, re.M)
    return m.group(1).decode() if m else None


def maildir_flags(name):
    return set(name.split(":2,", 1)[1]) if ":2," in name else set()


@unittest.skipUnless(MBSYNC, "mbsync (isync) is not installed")
class MbsyncTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.mdir = os.path.join(self.server.dir, "maildir")
        for d in ("plain", "secure"):
            os.makedirs(os.path.join(self.mdir, d), exist_ok=True)
        self.rc = os.path.join(self.server.dir, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write(MBSYNCRC.format(imap_port=self.server.imap_port, imaps_port=self.server.imaps_port,
                                    user=BOB, password=PASSWORDS[BOB], user2=ALICE, password2=PASSWORDS[ALICE],
                                    dir=self.mdir, cert=self.server.cert_path))
        os.chmod(self.rc, 0o600)

    def mbsync(self, channel):
        r = subprocess.run([MBSYNC, "-c", self.rc, channel], capture_output=True, timeout=60,
                           env=dict(os.environ, HOME=self.server.dir))
        self.assertEqual(r.returncode, 0, "mbsync %s failed:\nstdout: %s\nstderr: %s"
                         % (channel, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")))
        return r

    def server_messages(self, user, box):
        """{subject: set of flags} of the messages in a server mailbox."""
        r = self.track(self.server.raw_login(user))
        _, untagged = r.ok("EXAMINE " + quote(box))
        if b"* 0 EXISTS" in untagged:
            return {}
        _, untagged = r.ok("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
        out = {}
        for _, items in fetches(untagged):
            subject = subject_of(items["BODY[HEADER.FIELDS (SUBJECT)]"])
            out[subject] = {bytes(f).decode().lower() for f in items["FLAGS"]} - {"\\recent"}
        return out

    def test_two_way_sync_plain(self):
        c = self.login(BOB)
        m_seen = make_message("mb-seen", body="first\r\n")
        m_plain = make_message("mb-plain", body="second\r\n")
        m_proj = make_message("mb-project", body="third\r\n")
        self.assertOk(c.append("INBOX", "(\\Seen)", None, m_seen))
        self.assertOk(c.append("INBOX", None, None, m_plain))
        self.assertOk(c.create("Projects"))
        self.assertOk(c.append("Projects", "(\\Flagged)", None, m_proj))

        # 1. Server to local.
        self.mbsync("plain")
        inbox = maildir_files(os.path.join(self.mdir, "plain-inbox"))
        by_subject = {subject_of(v): (k, v) for k, v in inbox.items()}
        self.assertEqual(set(by_subject), {"mb-seen", "mb-plain"}, inbox.keys())
        # mbsync stores LF line endings locally and may add its X-TUID header; otherwise the same bytes.
        local = re.sub(rb"(?m)^X-TUID: .*\n", b"", by_subject["mb-seen"][1].replace(b"\r\n", b"\n"))
        self.assertEqual(local, m_seen.replace(b"\r\n", b"\n"))
        self.assertEqual(maildir_flags(by_subject["mb-seen"][0]), {"S"})
        self.assertEqual(maildir_flags(by_subject["mb-plain"][0]), set())
        proj = maildir_files(os.path.join(self.mdir, "plain", "Projects"))
        self.assertEqual([subject_of(v) for v in proj.values()], ["mb-project"])
        self.assertEqual(maildir_flags(list(proj)[0]), {"F"})
        for special in ("Drafts", "Sent", "Trash", "Junk", "Archive"):
            self.assertTrue(os.path.isdir(os.path.join(self.mdir, "plain", special)), special)

        # 2. Local to server: a new message and a flag change.
        new_local = make_message("mb-local", body="written locally\r\n").replace(b"\r\n", b"\n")
        with open(os.path.join(self.mdir, "plain-inbox", "new", "1700000000.local1.host"), "wb") as f:
            f.write(new_local)
        old_name = by_subject["mb-plain"][0]
        base = old_name.split(":2,")[0]
        os.rename(os.path.join(self.mdir, "plain-inbox", old_name),
                  os.path.join(self.mdir, "plain-inbox", "cur", os.path.basename(base) + ":2,FR"))
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.mdir, "plain", "LocalFolder", d))
        with open(os.path.join(self.mdir, "plain", "LocalFolder", "new", "1700000001.local2.host"), "wb") as f:
            f.write(make_message("mb-localfolder").replace(b"\r\n", b"\n"))
        self.mbsync("plain")
        msgs = self.server_messages(BOB, "INBOX")
        self.assertEqual(set(msgs), {"mb-seen", "mb-plain", "mb-local"}, msgs)
        self.assertEqual(msgs["mb-plain"], {"\\flagged", "\\answered"})
        self.assertEqual(msgs["mb-seen"], {"\\seen"})
        self.assertEqual(set(self.server_messages(BOB, "LocalFolder")), {"mb-localfolder"})
        c.select("INBOX")
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        bodies = [d[1] for d in data if isinstance(d, tuple)]
        uploaded = [b for b in bodies if subject_of(b) == "mb-local"]
        self.assertEqual(len(uploaded), 1)
        self.assertIn(b"written locally", uploaded[0])

        # 3. Delete on the server; the next sync removes the local copy.
        c.select("INBOX")
        typ, data = c.search(None, "SEEN")
        self.assertEqual(len(data[0].split()), 1, data)
        c.store(data[0].decode(), "+FLAGS", "(\\Deleted)")
        c.expunge()
        self.mbsync("plain")
        inbox = maildir_files(os.path.join(self.mdir, "plain-inbox"))
        self.assertEqual({subject_of(v) for v in inbox.values()}, {"mb-plain", "mb-local"})

        # 4. Delete locally; Expunge Both removes it on the server too.
        for name, data in inbox.items():
            if subject_of(data) == "mb-local":
                os.rename(os.path.join(self.mdir, "plain-inbox", name),
                          os.path.join(self.mdir, "plain-inbox", "cur", os.path.basename(name).split(":2,")[0] + ":2,T"))
        self.mbsync("plain")
        self.assertEqual(set(self.server_messages(BOB, "INBOX")), {"mb-plain"})

        # 5. A sync with nothing to do changes nothing.
        self.mbsync("plain")
        self.assertEqual(set(self.server_messages(BOB, "INBOX")), {"mb-plain"})

    def test_sync_over_imaps(self):
        c = self.login(ALICE)
        self.assertOk(c.append("INBOX", "(\\Flagged)", None, make_message("mb-secure")))
        self.mbsync("secure")
        inbox = maildir_files(os.path.join(self.mdir, "secure-inbox"))
        self.assertEqual([subject_of(v) for v in inbox.values()], ["mb-secure"])
        name = list(inbox)[0]
        os.rename(os.path.join(self.mdir, "secure-inbox", name),
                  os.path.join(self.mdir, "secure-inbox", "cur", os.path.basename(name).split(":2,")[0] + ":2,FS"))
        self.mbsync("secure")
        self.assertEqual(self.server_messages(ALICE, "INBOX"), {"mb-secure": {"\\flagged", "\\seen"}})


if __name__ == "__main__":
    unittest.main()
