# `tern queue` against a running server: mail submitted to a remote domain sits in the outbound queue
# (the harness starts tern with [queue] enabled = false, and the domain is under .invalid, so nothing
# can leave this machine); list/show/hold/release/retry/delete act on it through the same data
# directory the server is using (SQLite WAL).
import email.utils
import re
import smtplib
import subprocess
import unittest

from harness import ALICE, PASSWORDS, SOCKET_TIMEOUT, ServerTestCase, client_tls_context

REMOTE = ["carol@nowhere.invalid", "dave@nowhere.invalid"]


def message(subject, to):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@example.test>\r\n\r\nHello.\r\n"
            % (ALICE, ", ".join(to), subject, email.utils.formatdate(), subject.replace(" ", "."))).encode()


class QueueCliTest(ServerTestCase):
    def submit(self, subject, recipients=REMOTE):
        with smtplib.SMTP(self.server.host, self.server.submission_port, timeout=SOCKET_TIMEOUT) as c:
            c.starttls(context=client_tls_context())
            c.login(ALICE, PASSWORDS[ALICE])
            refused = c.sendmail(ALICE, recipients, message(subject, recipients),
                                 rcpt_options=["NOTIFY=FAILURE,DELAY"])
        self.assertEqual(refused, {})

    def queue(self, *args, expect=0):
        r = subprocess.run([self.server.bin, "queue", *args, "--config", self.server.config], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, expect, "tern queue %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r.stdout, r.stderr

    def ids(self):
        """Queue ids listed by `tern queue list`, in order."""
        out, _ = self.queue("list")
        return [int(m.group(1)) for m in re.finditer(r"^(\d+) ", out, re.M)]

    def row(self, qid):
        out, _ = self.queue("list")
        for line in out.splitlines():
            if line.startswith("%d " % qid):
                return line
        self.fail("queue id %d not listed:\n%s" % (qid, out))

    def test_list_show_hold_release_retry_delete(self):
        before = set(self.ids())
        self.submit("queue cli one")
        after = self.ids()
        new = [i for i in after if i not in before]
        self.assertEqual(len(new), 1, after)
        qid = new[0]

        line = self.row(qid)
        self.assertIn(ALICE, line)
        fields = line.split()
        self.assertEqual(fields[4], "2", line)  # recipients
        self.assertIn(fields[6], ("queued", "leased"), line)
        out, _ = self.queue("list")
        self.assertRegex(out, r"(?m)^-- \d+ messages?, \d+ recipients? \(\d+ held, \d+ being delivered\)")

        out, _ = self.queue("show", str(qid))
        self.assertIn("Queue ID:    %d" % qid, out)
        self.assertIn("Sender:      " + ALICE, out)
        for rcpt in REMOTE:
            self.assertIn(rcpt, out)
        self.assertEqual(out.count("NOTIFY:        FAILURE,DELAY"), 2, out)
        self.assertEqual(out.count("held:          no"), 2, out)

        out, _ = self.queue("hold", str(qid))
        self.assertEqual(out.strip(), "2 recipients held (queue id %d)" % qid)
        self.assertEqual(self.row(qid).split()[6], "held")
        out, _ = self.queue("show", str(qid))
        self.assertEqual(out.count("held:          yes"), 2, out)
        self.assertIn("next attempt:  when released", out)
        # Holding twice changes nothing; retry leaves held rows alone.
        out, _ = self.queue("hold", str(qid))
        self.assertEqual(out.strip(), "0 recipients held (queue id %d)" % qid)
        out, _ = self.queue("retry", str(qid))
        self.assertEqual(out.strip(), "0 recipients due now (queue id %d)" % qid)

        out, _ = self.queue("release", str(qid))
        self.assertEqual(out.strip(), "2 recipients released (queue id %d)" % qid)
        self.assertIn(self.row(qid).split()[6], ("queued", "leased"))
        out, _ = self.queue("retry", str(qid))
        self.assertEqual(out.strip(), "2 recipients due now (queue id %d)" % qid)
        out, _ = self.queue("retry", "--all")
        self.assertRegex(out.strip(), r"^\d+ recipients? due now$")

        out, _ = self.queue("delete", str(qid))
        self.assertEqual(out.strip(), "2 recipients deleted (queue id %d)" % qid)
        self.assertNotIn(qid, self.ids())
        _, err = self.queue("show", str(qid), expect=1)
        self.assertIn("no queued message %d" % qid, err)
        # The server is unaffected and still takes mail.
        self.assertTrue(self.server.alive())
        self.submit("queue cli after delete", recipients=[REMOTE[0]])

    def test_unknown_and_invalid_ids(self):
        _, err = self.queue("show", "999999", expect=1)
        self.assertIn("no queued message 999999", err)
        for verb in ("hold", "release", "retry", "delete"):
            _, err = self.queue(verb, "999999", expect=1)
            self.assertIn("no queued message 999999", err)
        _, err = self.queue("show", "abc", expect=2)
        self.assertIn("invalid queue id", err)
        self.queue("retry", expect=2)
        self.queue("retry", "1", "--all", expect=2)

    def test_empty_queue_and_totals(self):
        for qid in self.ids():
            self.queue("delete", str(qid))
        out, _ = self.queue("list")
        self.assertEqual(out.strip(), "queue is empty")
        self.submit("queue cli totals a")
        self.submit("queue cli totals b", recipients=[REMOTE[0]])
        out, _ = self.queue("list")
        self.assertIn("-- 2 messages, 3 recipients (0 held, ", out)


if __name__ == "__main__":
    unittest.main()
