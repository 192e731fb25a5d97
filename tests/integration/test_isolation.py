# Isolation: one account can never see, change or learn of another's mailboxes or messages; mailbox
# names never become file paths; data files are 0600 (directories 0700) and, when started as root with
# [server] user, the running server is that user and owns the data.
import os
import pwd
import stat
import unittest

from harness import ALICE, BOB, ServerTestCase, TernServer, make_message


class AccountIsolationTest(ServerTestCase):
    def test_other_accounts_mailboxes_are_invisible(self):
        a = self.login(ALICE)
        self.assertEqual(a.create("Secret/Plans")[0], "OK")
        self.assertEqual(a.append("Secret/Plans", None, None, make_message("alice only", msgid="secret@a"))[0], "OK")
        a.logout()

        b = self.login(BOB)
        typ, data = b.list('""', "*")
        names = b"\n".join(d for d in data if d)
        self.assertNotIn(b"Secret", names)
        for cmd in (lambda: b.select("Secret/Plans"), lambda: b.status("Secret/Plans", "(MESSAGES)"),
                    lambda: b.delete("Secret/Plans"), lambda: b.rename("Secret/Plans", "Mine")):
            typ, data = cmd()
            self.assertEqual(typ, "NO", data)
        # A message cannot be copied into someone else's mailbox: the name is Bob's own, and absent.
        self.assertEqual(b.append("INBOX", None, None, make_message("bob's", msgid="bob@b"))[0], "OK")
        b.select("INBOX")
        typ, data = b.copy("1", "Secret/Plans")
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0] or b"")
        # Searching Bob's INBOX never finds Alice's message.
        typ, data = b.search(None, 'HEADER Message-ID "secret@a"')
        self.assertEqual(data[0], b"")
        # Creating the same name makes Bob's own, empty mailbox.
        self.assertEqual(b.create("Secret/Plans")[0], "OK")
        typ, data = b.status("Secret/Plans", "(MESSAGES)")
        self.assertIn(b"MESSAGES 0", data[0])
        b.logout()

        a = self.login(ALICE)
        typ, data = a.status("Secret/Plans", "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])
        a.logout()

    def test_mailbox_names_never_become_paths(self):
        c = self.login(ALICE)
        hostile = ["../../../../tmp/tern-escape", "/etc/tern-escape", "..", "a/../../b", "~root/x", "C:\\x"]
        for name in hostile:
            typ, _ = c.create('"%s"' % name.replace("\\", "\\\\"))
            if typ == "OK":
                c.append('"%s"' % name.replace("\\", "\\\\"), None, None, make_message("escape"))
        c.logout()
        self.assertFalse(os.path.exists("/tmp/tern-escape"))
        self.assertFalse(os.path.exists("/etc/tern-escape"))
        for root, dirs, files in os.walk(self.server.dir):
            for n in dirs + files:
                self.assertNotIn("escape", n, os.path.join(root, n))
                self.assertNotIn("tern-escape", root)

    def test_data_files_are_private(self):
        c = self.login(ALICE)
        c.append("INBOX", None, None, make_message("mode check"))
        c.logout()
        checked = 0
        for root, dirs, files in os.walk(self.server.data_dir):
            for d in dirs:
                mode = stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode)
                self.assertEqual(mode & 0o077, 0, "%s is mode %o" % (os.path.join(root, d), mode))
            for f in files:
                mode = stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode)
                self.assertEqual(mode & 0o077, 0, "%s is mode %o" % (os.path.join(root, f), mode))
                checked += 1
        self.assertGreater(checked, 3)


@unittest.skipUnless(os.geteuid() == 0, "dropping privileges needs root")
class PrivilegeDropTest(unittest.TestCase):
    def test_server_runs_as_the_configured_user(self):
        user = "nobody"
        server = TernServer(sections={"server": {"user": user}})
        self.addCleanup(server.cleanup)
        # The temp dir's parents must let the service user reach its data directory.
        os.chmod(server.dir, 0o755)
        server.start()
        c = server.login(ALICE)  # served only once listeners run, which is after the drop
        self.assertEqual(c.append("INBOX", None, None, make_message("as nobody"))[0], "OK")
        c.logout()
        with open("/proc/%d/status" % server.proc.pid) as f:
            uids = [l for l in f if l.startswith("Uid:")][0].split()[1:]
        expected = pwd.getpwnam(user).pw_uid
        self.assertEqual([int(u) for u in uids], [expected] * 4)
        for root, dirs, files in os.walk(server.data_dir):
            for n in dirs + files:
                self.assertEqual(os.stat(os.path.join(root, n)).st_uid, expected, os.path.join(root, n))


if __name__ == "__main__":
    unittest.main()
