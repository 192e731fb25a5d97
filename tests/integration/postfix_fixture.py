# A throw-away Postfix for tests: its own config_directory, queue and data directories in a temp dir,
# smtpd on one loopback address and port, mail for one domain handed on over LMTP (to a tern). The
# system's Postfix service is never touched. Needs root (Postfix's master) and the postfix package.
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class TestPostfix:
    def __init__(self, host, port, domain, lmtp_host, lmtp_port):
        self.host, self.port, self.domain = host, port, domain
        self.lmtp = "%s:%d" % (lmtp_host, lmtp_port)
        self.dir = None

    def start(self, timeout=20.0):
        if not shutil.which("postfix") and not os.path.exists("/usr/sbin/postfix"):
            raise unittest.SkipTest("postfix is not installed")
        if os.geteuid() != 0:
            raise unittest.SkipTest("a private Postfix instance needs root")
        self.dir = tempfile.mkdtemp(prefix="tern-postfix-")
        os.chmod(self.dir, 0o755)
        conf, queue, data = (os.path.join(self.dir, n) for n in ("conf", "queue", "data"))
        for d in (conf, queue, data):
            os.makedirs(d)
        shutil.chown(data, "postfix")
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write("\n".join([
                "compatibility_level = 3.6",
                "queue_directory = " + queue,
                "data_directory = " + data,
                "mail_owner = postfix",
                "setgid_group = postdrop",
                "myhostname = postfix.test",
                "mydestination =",
                # 127.0.0.x is local to Linux but not an interface address; master.cf binds it.
                "inet_interfaces = 127.0.0.1",
                "inet_protocols = ipv4",
                "mynetworks = 127.0.0.0/8",
                "alias_maps =",
                "alias_database =",
                "local_recipient_maps =",
                "relay_domains =",
                "virtual_mailbox_domains = " + self.domain,
                "virtual_transport = lmtp:inet:" + self.lmtp,
                "smtpd_reject_unlisted_recipient = no",
                "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
                "maillog_file = " + os.path.join(self.dir, "maillog"),
                "maillog_file_prefixes = " + self.dir,
                "biff = no",
                "",
            ]))
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen="%s:%d" % (self.host, self.port)))
        r = subprocess.run(["postfix", "-c", conf, "start"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("postfix did not start: %s%s" % (r.stdout, r.stderr))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((self.host, self.port), timeout=1.0):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postfix did not listen:\n" + self.log_text())

    def stop(self):
        if not self.dir:
            return
        subprocess.run(["postfix", "-c", os.path.join(self.dir, "conf"), "stop"], capture_output=True, timeout=60)
        pid_file = os.path.join(self.dir, "queue", "pid", "master.pid")
        deadline = time.monotonic() + 10
        while os.path.exists(pid_file) and time.monotonic() < deadline:
            try:
                with open(pid_file) as f:
                    pid = int(f.read().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                break
            time.sleep(0.1)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()[-5000:]
        except (OSError, TypeError):
            return "(no log)"
