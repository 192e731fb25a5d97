# Test harness for Tern's integration tests: starts a real `tern serve` on free loopback ports in a
# temp dir, with two accounts, and offers imaplib and raw-socket clients. Every socket operation and
# every wait is bounded; the server's stderr goes to a log file that is printed when a test fails.
import imaplib
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

DOMAIN = "example.test"
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
PASSWORDS = {ALICE: "alice-Secret-1", BOB: "bob-Secret-2"}
SOCKET_TIMEOUT = 10.0
DEFAULT_MAILBOXES = ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"]
SPECIAL_USE = {"Drafts": "\\Drafts", "Sent": "\\Sent", "Trash": "\\Trash", "Junk": "\\Junk", "Archive": "\\Archive"}


def tern_bin():
    path = os.environ.get("TERN_BIN")
    if not path:
        for candidate in ("/work/build-it/src/app/tern",):
            if os.path.exists(candidate):
                path = candidate
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("TERN_BIN is not set to the tern binary")
    return path


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
            return low, high
    except (OSError, ValueError):
        return 32768, 60999


_REGISTRY = os.path.join(tempfile.gettempdir(), "tern-test-ports")


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _reserve(pick):
    """Runs pick(taken) under a lock on a registry shared by every test process on the machine and
    records the port it returns for this process. A bind probe alone is not enough: between the
    probe and the server's bind (after account set-up, seconds under ASan) another test process
    probing the same port finds it free too. Entries of processes that have exited are dropped."""
    import fcntl
    fd = os.open(_REGISTRY, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "r+") as f:
            entries = []
            for line in f.read().split("\n"):
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                    port, pid = int(parts[0]), int(parts[1])
                    if pid == os.getpid() or _pid_alive(pid):
                        entries.append((port, pid))
            port = pick({p for p, _ in entries})
            entries.append((port, os.getpid()))
            f.seek(0)
            f.truncate()
            f.write("".join("%d %d\n" % e for e in entries))
            f.flush()
        return port
    finally:
        os.close(fd)  # releases the lock


def free_port_range():
    low, high = _ephemeral_range()
    return (20000, low - 1) if low > 21000 else (high + 1, 65535)


def free_port():
    """A free loopback port outside the kernel's ephemeral range (a port the kernel may hand to some
    client socket could be taken by the time a server binds it, or again when a killed server
    restarts on it), reserved for this process against every other test process."""
    candidates = free_port_range()
    rng = random.Random(os.getpid() ^ time.monotonic_ns())

    def pick(taken):
        for _ in range(2000):
            port = rng.randint(*candidates)
            if port in taken:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
        raise RuntimeError("no free loopback port in %d-%d" % candidates)

    return _reserve(pick)


def client_tls_context():
    # The server's certificate is self-signed and generated on first start: do not verify it.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def toml_list(items):
    return "[" + ", ".join('"%s"' % i for i in items) + "]"


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"%s"' % str(v).replace("\\", "\\\\").replace('"', '\\"')


class TernServer:
    """One tern server process with its own data dir, ports, config and accounts."""

    def __init__(self, limits=None, trusted_networks=None, imaps=True, log_level="debug", host="127.0.0.1",
                 sections=None, domain=DOMAIN, accounts=None):
        """sections: extra config, {"queue": {"enabled": True}, ...}; values are TOML-formatted by type.
        Outbound delivery is off unless a test turns it on: tests never send mail to the internet."""
        self.bin = tern_bin()
        self.host = host
        self.sections = {"queue": {"enabled": False}}
        for name, values in (sections or {}).items():
            self.sections.setdefault(name, {}).update(values)
        self.dir = tempfile.mkdtemp(prefix="tern-it-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "tern.toml")
        self.log_path = os.path.join(self.dir, "server.log")
        self.imap_port = free_port()
        self.imaps_port = free_port() if imaps else None
        # SMTP services: inbound MX (25), submission (587, STARTTLS), submissions (465, TLS), LMTP.
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.submissions_port = free_port()
        self.lmtp_port = free_port()
        self.limits = dict(limits or {})
        self.trusted_networks = ["127.0.0.0/8", "::1/128"] if trusted_networks is None else trusted_networks
        self.log_level = log_level
        self.proc = None
        self._log = None
        self._write_config()
        self.domain = domain
        self.accounts = dict(PASSWORDS if accounts is None else accounts)
        self.cli("domain", "add", domain)
        for user, password in self.accounts.items():
            self.cli("user", "add", user, "--password-stdin", stdin=password + "\n")

    # --- configuration and admin CLI -----------------------------------------------------------
    def _write_config(self):
        lines = [
            "[server]",
            'hostname = "localhost"',
            'data_dir = "%s"' % self.data_dir,
            'log_level = "%s"' % self.log_level,
            "workers = 2",
        ]
        lines += ["%s = %s" % (k, toml_value(v)) for k, v in self.sections.get("server", {}).items()]
        lines += [
            "",
            "[listen]",
            "imap = %s" % toml_list(["%s:%d" % (self.host, self.imap_port)]),
        ]
        if self.imaps_port:
            lines.append("imaps = %s" % toml_list(["%s:%d" % (self.host, self.imaps_port)]))
        lines += [
            "smtp = %s" % toml_list(["%s:%d" % (self.host, self.smtp_port)]),
            "submission = %s" % toml_list(["%s:%d" % (self.host, self.submission_port)]),
            "submissions = %s" % toml_list(["%s:%d" % (self.host, self.submissions_port)]),
            "lmtp = %s" % toml_list(["%s:%d" % (self.host, self.lmtp_port)]),
        ]
        lines += ["", "[auth]", "trusted_networks = %s" % toml_list(self.trusted_networks)]
        if self.limits:
            lines += ["", "[limits]"] + ["%s = %d" % (k, v) for k, v in self.limits.items()]
        for name, values in self.sections.items():
            if name == "server":
                continue  # merged into [server] above
            lines += ["", "[%s]" % name]
            for k, v in values.items():
                lines.append("%s = %s" % (k, toml_value(v)))
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def cli(self, *args, stdin=None):
        r = subprocess.run([self.bin, *args, "--config", self.config], input=stdin, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("tern %s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r.stdout

    @property
    def cert_path(self):
        return os.path.join(self.data_dir, "tls", "cert.pem")

    # --- process control -------------------------------------------------------------------------
    def start(self, timeout=15.0):
        if self._log:
            self._log.close()
        self._log = open(self.log_path, "ab")
        self._log.write(b"==== tern serve starting ====\n")
        self._log.flush()
        self.proc = subprocess.Popen([self.bin, "serve", "--config", self.config], stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + timeout
        ports = [self.imap_port] + ([self.imaps_port] if self.imaps_port else [])
        ports += [self.smtp_port, self.submission_port, self.submissions_port, self.lmtp_port]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("tern serve exited with %s during start-up:\n%s" % (self.proc.returncode, self.log_text()))
            if all(self._accepts(p) for p in ports):
                return
            time.sleep(0.05)
        raise RuntimeError("tern serve did not accept connections within %.0f s:\n%s" % (timeout, self.log_text()))

    def _accepts(self, port):
        try:
            with socket.create_connection((self.host, port), timeout=1.0):
                return True
        except OSError:
            return False

    def _wait_exit(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout=10.0):
        """SIGTERM, wait (bounded), then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            if not self._wait_exit(timeout):
                self.proc.kill()
                self._wait_exit(5.0)
            rc = self.proc.returncode
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.kill()
            self._wait_exit(5.0)
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def restart(self):
        self.stop()
        self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self, tail=200):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-tail:])

    # --- clients ---------------------------------------------------------------------------------
    def imap(self):
        return imaplib.IMAP4(self.host, self.imap_port, timeout=SOCKET_TIMEOUT)

    def imap_starttls(self):
        c = self.imap()
        c.starttls(ssl_context=client_tls_context())
        return c

    def imaps(self):
        return imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=client_tls_context(), timeout=SOCKET_TIMEOUT)

    def login(self, user=ALICE, kind="plain"):
        c = {"plain": self.imap, "starttls": self.imap_starttls, "imaps": self.imaps}[kind]()
        c.login(user, self.accounts[user])
        return c

    def raw(self, tls=False):
        port = self.imaps_port if tls else self.imap_port
        return RawClient(self.host, port, tls=tls)

    def raw_login(self, user=ALICE):
        r = self.raw()
        r.read_greeting()
        r.ok("LOGIN %s %s" % (quote(user), quote(self.accounts[user])))
        return r


def quote(s):
    """An IMAP quoted string (for ASCII/UTF-8 text without CR/LF)."""
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class ProtocolError(AssertionError):
    pass


class RawClient:
    """A byte-exact IMAP client: send bytes, read lines and whole responses (with literals)."""

    def __init__(self, host, port, tls=False, timeout=SOCKET_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        if tls:
            self.sock = client_tls_context().wrap_socket(self.sock)
        self.buf = b""
        self._tag = 0
        self.transcript = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.transcript.append(b"C: " + data[:300])
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server; buffered: %r" % self.buf[:300])
        self.buf += chunk

    def read_line(self):
        """One line without its CRLF."""
        for _ in range(100000):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                self.transcript.append(b"S: " + line[:300])
                return line
            if len(self.buf) > 16 * 1024 * 1024:
                raise ProtocolError("line too long from server")
            self._fill()
        raise ProtocolError("read_line: loop bound")

    def read_exact(self, n):
        for _ in range(100000):
            if len(self.buf) >= n:
                data, self.buf = self.buf[:n], self.buf[n:]
                return data
            self._fill()
        raise ProtocolError("read_exact: loop bound")

    def read_response(self):
        """One complete response as wire bytes (literals included, without the final CRLF)."""
        out = b""
        for _ in range(10000):
            line = self.read_line()
            out += line
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if not m:
                return out
            out += b"\r\n" + self.read_exact(int(m.group(1)))
        raise ProtocolError("read_response: loop bound")

    def next_tag(self):
        self._tag += 1
        return "t%d" % self._tag

    def read_greeting(self):
        g = self.read_response()
        if not g.startswith(b"* OK") and not g.startswith(b"* PREAUTH"):
            raise ProtocolError("bad greeting %r" % g)
        return g

    def read_until_tagged(self, tag):
        """Responses until the tagged one: (tagged line, [untagged/continuation responses])."""
        if isinstance(tag, str):
            tag = tag.encode()
        untagged = []
        for _ in range(100000):
            r = self.read_response()
            if r.startswith(tag + b" "):
                return r, untagged
            untagged.append(r)
        raise ProtocolError("read_until_tagged: loop bound")

    def command(self, cmd, tag=None):
        """Sends `tag cmd CRLF`; returns (tagged response bytes, [untagged responses])."""
        tag = tag or self.next_tag()
        if isinstance(cmd, str):
            cmd = cmd.encode("utf-8")
        self.send(tag.encode() + b" " + cmd + b"\r\n")
        return self.read_until_tagged(tag)

    def status_of(self, tagged):
        parts = tagged.split(b" ", 2)
        return parts[1].decode() if len(parts) > 1 else ""

    def ok(self, cmd):
        tagged, untagged = self.command(cmd)
        if self.status_of(tagged) != "OK":
            raise ProtocolError("%s -> %r (untagged %r)" % (cmd if isinstance(cmd, str) else cmd[:200], tagged, untagged[:5]))
        return tagged, untagged

    def append(self, mailbox, message, flags=None, date=None):
        """APPEND with a synchronizing literal; returns the tagged response."""
        tag = self.next_tag()
        args = quote(mailbox)
        if flags is not None:
            args += " (" + " ".join(flags) + ")"
        if date is not None:
            args += ' "' + date + '"'
        self.send(("%s APPEND %s {%d}\r\n" % (tag, args, len(message))).encode("utf-8"))
        cont = self.read_response()
        if not cont.startswith(b"+"):
            raise ProtocolError("APPEND: expected continuation, got %r" % cont)
        self.send(message + b"\r\n")
        tagged, _ = self.read_until_tagged(tag)
        if self.status_of(tagged) != "OK":
            raise ProtocolError("APPEND -> %r" % tagged)
        return tagged

    def read_until_closed(self, timeout=5.0):
        """Everything the server sends until it closes the connection (bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        data = self.buf
        self.buf = b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, ssl.SSLError, OSError):
                return data, True
            if not chunk:
                return data, True
            data += chunk
        return data, False

    def starttls(self):
        if self.buf:
            raise ProtocolError("plaintext bytes buffered before TLS handshake: %r" % self.buf)
        self.sock = client_tls_context().wrap_socket(self.sock)


# --- response parsing ----------------------------------------------------------------------------
class Atom(bytes):
    """An unquoted atom (distinct from a quoted string or literal in parsed output)."""


def parse_response(data):
    """Parses one response (bytes, literals inline) into a list of tokens: Atom, bytes (string or
    literal), None (NIL) and nested lists. Section specs like BODY[HEADER.FIELDS (A B)]<0> stay one atom."""
    pos = 0
    n = len(data)

    def parse_list(pos, closing):
        items = []
        while pos < n:
            c = data[pos:pos + 1]
            if c == b" ":
                pos += 1
            elif closing and c == closing:
                return items, pos + 1
            elif c == b"(":
                sub, pos = parse_list(pos + 1, b")")
                items.append(sub)
            elif c == b'"':
                pos += 1
                s = b""
                while data[pos:pos + 1] != b'"':
                    if pos >= n:
                        raise ProtocolError("unterminated quoted string in %r" % data[:200])
                    if data[pos:pos + 1] == b"\\":
                        pos += 1
                    s += data[pos:pos + 1]
                    pos += 1
                items.append(s)
                pos += 1
            elif c == b"{":
                m = re.compile(rb"\{(\d+)\+?\}\r\n").match(data, pos)
                if not m:
                    raise ProtocolError("bad literal at %d in %r" % (pos, data[:200]))
                size = int(m.group(1))
                items.append(bytes(data[m.end():m.end() + size]))
                pos = m.end() + size
            else:
                start = pos
                depth = 0
                while pos < n:
                    ch = data[pos:pos + 1]
                    if ch == b"[":
                        depth += 1
                    elif ch == b"]":
                        depth -= 1
                    elif depth == 0 and ch in (b" ", b")", b"("):
                        break
                    pos += 1
                tok = data[start:pos]
                items.append(None if tok.upper() == b"NIL" else Atom(tok))
        if closing:
            raise ProtocolError("unterminated list in %r" % data[:200])
        return items, pos

    items, _ = parse_list(0, None)
    return items


def fetch_items(response):
    """For `* n FETCH (...)`: (n, {ITEM-NAME-UPPERCASE: value})."""
    toks = parse_response(response)
    if len(toks) < 4 or toks[0] != b"*" or toks[2].upper() != b"FETCH":
        raise ProtocolError("not a FETCH response: %r" % response[:200])
    lst = toks[3]
    d = {}
    for i in range(0, len(lst) - 1, 2):
        d[bytes(lst[i]).upper().decode()] = lst[i + 1]
    return int(toks[1]), d


def fetches(untagged):
    """All FETCH responses among untagged responses: list of (msn, items)."""
    return [fetch_items(r) for r in untagged if re.match(rb"\* \d+ FETCH ", r)]


def parse_seq_set(text):
    """A sequence set without '*' ("1:3,7") as a set of ints."""
    if isinstance(text, bytes):
        text = text.decode()
    out = set()
    if not text:
        return out
    for part in text.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.update(range(min(a, b), max(a, b) + 1))
        else:
            out.add(int(part))
    return out


def response_code(line):
    """The [CODE args] of a status response, or None."""
    m = re.search(rb"\[([^\]]*)\]", line)
    return m.group(1).decode("utf-8", "replace") if m else None


def make_message(subject="Hello", body="Hello world.\r\n", extra_headers=(), msgid=None):
    headers = [
        "From: Alice <alice@example.test>",
        "To: Bob <bob@example.test>",
        "Subject: " + subject,
        "Date: Wed, 17 Jul 1996 02:23:25 -0700",
        "Message-ID: <%s>" % (msgid or "%s.%d@example.test" % (re.sub(r"\W", "", subject), time.monotonic_ns())),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ] + list(extra_headers)
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8")


# --- test base class -----------------------------------------------------------------------------
class ServerTestCase(unittest.TestCase):
    """Starts one server for the class (override server_options); prints its log when a test fails."""

    server_options = {}
    server = None

    @classmethod
    def setUpClass(cls):
        cls.server = TernServer(**cls.server_options)
        try:
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.cleanup()

    def run(self, result=None):
        before = (len(result.failures), len(result.errors)) if result is not None else None
        out = super().run(result)
        if result is not None and (len(result.failures), len(result.errors)) != before and self.server:
            sys.stderr.write("\n---- tern log (tail) for %s ----\n%s\n---- end of log ----\n"
                             % (self.id(), self.server.log_text(60)))
        return out

    def setUp(self):
        self._clients = []
        proc = self.server.proc if self.server else None
        if proc is not None and proc.poll() is not None:
            # It died at the end of an earlier test (after that test's own check): restart, and say so.
            sys.stderr.write("\n!!!! tern serve had died (exit status %s) before %s; restarting it\n"
                             % (proc.returncode, self.id()))
            self.server.proc = None
            self.server.start()

    def tearDown(self):
        for c in self._clients:
            try:
                if isinstance(c, RawClient):
                    c.close()
                else:
                    c.shutdown()
            except Exception:
                pass
        # A server that died during the test is a failure of that test; start it again (same data)
        # so that the rest of the class still runs.
        proc = self.server.proc if self.server else None
        if proc is not None and proc.poll() is not None:
            rc = proc.returncode
            log = self.server.log_text(40)
            self.server.proc = None
            self.server.start()
            self.fail("tern serve died during the test (exit status %s%s); log tail:\n%s"
                      % (rc, ", signal %d" % -rc if rc < 0 else "", log))

    def track(self, client):
        self._clients.append(client)
        return client

    def login(self, user=ALICE, kind="plain"):
        return self.track(self.server.login(user, kind))

    def raw(self, tls=False):
        return self.track(self.server.raw(tls))

    def raw_login(self, user=ALICE):
        return self.track(self.server.raw_login(user))

    def unique(self, prefix="box"):
        return "%s%d" % (prefix, time.monotonic_ns() % 10**12)

    def assertOk(self, result, msg=None):
        typ, data = result
        self.assertEqual(typ, "OK", msg or repr(data))
        return data

    def assertStatus(self, tagged, status):
        self.assertRegex(tagged, rb"^\S+ " + status.encode() + rb"\b", tagged)
