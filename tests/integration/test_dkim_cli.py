# `tern dkim generate` / `tern dkim show` through the real binary: the key file (mode 0600 under
# <data_dir>/dkim, 0700), the zone-file record on stdout, refusal to overwrite without --force.
import os
import re
import stat
import subprocess
import unittest

from harness import TernServer


def txt_strings(line):
    """The quoted character strings of a `NAME. IN TXT ( "..." "..." )` line, joined."""
    return "".join(re.findall(r'"([^"]*)"', line))


class DkimCliTest(unittest.TestCase):
    def setUp(self):
        self.server = TernServer()
        self.addCleanup(self.server.cleanup)

    def run_cli(self, *args):
        return subprocess.run([self.server.bin, *args, "--config", self.server.config], capture_output=True,
                              text=True, timeout=60)

    def test_generate_and_show(self):
        out = self.server.cli("dkim", "generate", "example.test", "--algorithm", "ed25519")
        comment, record = out.splitlines()
        key = os.path.join(self.server.data_dir, "dkim", "example.test.tern.pem")
        self.assertIn(key, comment)
        self.assertTrue(comment.startswith(";"))  # a zone-file comment: stdout stays pasteable
        self.assertRegex(record, r'^tern\._domainkey\.example\.test\. IN TXT \( "v=DKIM1; k=ed25519; " '
                                 r'"p=[A-Za-z0-9+/]{43}=" \)$')
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(key)).st_mode), 0o700)
        with open(key) as f:
            self.assertTrue(f.read().startswith("-----BEGIN PRIVATE KEY-----\n"))
        self.assertEqual(self.server.cli("dkim", "show", "example.test").splitlines(), [record])

        # A second generate refuses and leaves the key alone; --force replaces it.
        r = self.run_cli("dkim", "generate", "example.test")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--force", r.stderr)
        self.assertEqual(self.server.cli("dkim", "show", "example.test").splitlines(), [record])
        out = self.server.cli("dkim", "generate", "example.test", "--force")
        new_record = out.splitlines()[1]
        self.assertTrue(txt_strings(new_record).startswith("v=DKIM1; k=rsa; p=MII"))
        self.assertNotEqual(new_record, record)

    def test_rsa_record_strings_fit_dns(self):
        out = self.server.cli("dkim", "generate", "example.test", "--selector", "s2024")
        record = out.splitlines()[1]
        strings = re.findall(r'"([^"]*)"', record)
        self.assertTrue(record.startswith("s2024._domainkey.example.test. IN TXT ("))
        self.assertGreaterEqual(len(strings), 2)
        self.assertTrue(all(len(s) <= 255 for s in strings))

    def test_usage_errors(self):
        self.assertEqual(self.run_cli("dkim", "generate", "example.test", "--algorithm", "dsa").returncode, 2)
        self.assertEqual(self.run_cli("dkim", "generate", "bad domain").returncode, 2)
        r = self.run_cli("dkim", "show", "nokey.example")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
