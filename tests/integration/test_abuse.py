# Abuse resistance: slow and silent clients, connection floods from one IP, command and output floods,
# IDLE storms, oversized and pre-auth literals, deep nesting, header bombs, 10,000-part MIME messages,
# SMTP floods and stalls, and the authentication throttle and its timing. Each test checks that (1) the
# abuser is cut off or bounded with a clear protocol answer, (2) a normal client, logged in meanwhile,
# still gets prompt answers, and (3) the server's resident memory stays within a stated bound.
# Everything is bounded in time (each test well under 20 s) and talks to loopback only.
import os
import re
import selectors
import smtplib
import socket
import statistics
import threading
import time
import unittest

from harness import (ALICE, BOB, DOMAIN, PASSWORDS, SOCKET_TIMEOUT, RawClient, ServerTestCase, TernServer,
                     make_message, quote)

# How long a normal client may wait for an answer while the server is being abused. Generous: the
# test machine has two shared cores; a wait this long means the server stopped serving others.
PROMPT = 5.0
MB = 1024 * 1024
# Under AddressSanitizer (make test-sanitize) freed memory sits in ASan's quarantine and every
# allocation has shadow memory, so RSS says nothing about what the server keeps: the memory bounds
# are checked by the normal build's run, the behaviour (cut off, answered, refused) by both.
SANITIZED = "ASAN_OPTIONS" in os.environ


# --- process figures -----------------------------------------------------------------------------
def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for %d" % pid)


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def socket_count(pid):
    """Open sockets: what connections cost. (Total descriptors also grow, once, as blocking-pool threads
    open their own database handles on first use; that is bounded by the pool size, not a leak.)"""
    return fd_kinds(pid).get("socket:", 0)


def fd_kinds(pid):
    """Open descriptors by kind (socket, anon_inode:[eventfd], a file path...) for failure messages."""
    kinds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        target = re.sub(r"\[\d+\]$", "", target)
        kinds[target] = kinds.get(target, 0) + 1
    return kinds


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --- clients -------------------------------------------------------------------------------------
class SourceClient(RawClient):
    """A RawClient whose socket is bound to a chosen loopback source address (127.0.0.0/8)."""

    def __init__(self, port, source="127.0.0.1", timeout=SOCKET_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
        self.sock.settimeout(timeout)
        self.buf = b""
        self._tag = 0
        self.transcript = []


class Prober:
    """A normal client (its own source address) that keeps doing NOOP / UID FETCH round trips in a
    thread while a test abuses the server, and samples the server's RSS. Records the slowest answer."""

    def __init__(self, server, source="127.0.0.2", user=BOB, interval=0.05):
        self.server = server
        self.pid = server.proc.pid
        self.client = SourceClient(server.imap_port, source)
        self.client.read_greeting()
        self.client.ok("LOGIN %s %s" % (quote(user), quote(PASSWORDS[user])))
        self.client.ok("SELECT INBOX")
        self.interval = interval
        self.latencies = []
        self.errors = []
        self.rss_peak = rss_bytes(self.pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        cmds = ["NOOP", "UID FETCH 1:* (FLAGS)", "STATUS Drafts (MESSAGES)"]
        i = 0
        while not self._stop.is_set() and len(self.latencies) < 100000:
            t0 = time.monotonic()
            try:
                self.client.settimeout(PROMPT * 3)
                self.client.ok(cmds[i % len(cmds)])
            except Exception as e:  # noqa: BLE001 - any failure is reported by check()
                self.errors.append(repr(e))
                return
            self.latencies.append(time.monotonic() - t0)
            i += 1
            try:
                self.rss_peak = max(self.rss_peak, rss_bytes(self.pid))
            except OSError:
                pass
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(PROMPT * 4)
        self.client.close()

    def check(self, test, min_probes=1):
        test.assertFalse(self._thread.is_alive(), "prober still blocked in a round trip")
        test.assertEqual(self.errors, [], "the normal client failed while the server was abused")
        test.assertGreaterEqual(len(self.latencies), min_probes, "too few round trips completed")
        worst = max(self.latencies)
        test.assertLess(worst, PROMPT, "a normal client waited %.2f s for an answer" % worst)
        return worst


class RssWatch:
    """Samples the server's RSS in a thread (every 50 ms) to catch a peak between two probes."""

    def __init__(self, pid):
        self.pid = pid
        self.start = rss_bytes(pid)
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except OSError:
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)

    @property
    def growth(self):
        return self.peak - self.start


def report(name, **figures):
    """One line of figures per test on stderr (collected for the reliability report)."""
    parts = []
    for k, v in figures.items():
        parts.append("%s=%s" % (k, ("%.3f" % v) if isinstance(v, float) else v))
    print("\n[abuse] %s: %s" % (name, " ".join(parts)), flush=True)


def send_in_thread(sock, data, chunk=64 * 1024):
    """Sends `data` from a thread (the server may stop reading: that is the point); returns the
    thread and a dict with the number of bytes sent so far."""
    state = {"sent": 0, "error": None}

    def run():
        try:
            for i in range(0, len(data), chunk):
                sock.sendall(data[i:i + chunk])
                state["sent"] = i + len(data[i:i + chunk])
        except OSError as e:
            state["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, state


def read_until_tag_fast(sock, final_tag, timeout):
    """Reads raw responses until the line starting with `final_tag` + " "; returns (all bytes, lines
    seen). For floods: no per-line buffer copying."""
    deadline = time.monotonic() + timeout
    chunks = []
    tail = b""
    lines = 0
    marker = b"\r\n" + final_tag
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        chunks.append(data)
        lines += data.count(b"\n")
        window = tail + data
        i = window.find(marker)
        if i >= 0 and window.find(b"\r\n", i + 2) >= 0:
            return b"".join(chunks), lines
        tail = window[-(len(marker) + 200):]
    raise AssertionError("no %r within %.0f s (%d lines read)" % (final_tag, timeout, lines))


class AbuseServerTestCase(ServerTestCase):
    """A server whose [auth] section can be extended, trusting all of 127.0.0.0/8 for plaintext login
    so that clients bound to other loopback addresses (other "IPs") can log in."""

    def assertMemoryLess(self, used, bound, msg=None):
        if not SANITIZED:
            self.assertLess(used, bound, msg)

    auth_options = {}
    server_options = {}

    @classmethod
    def setUpClass(cls):
        opts = dict(cls.server_options)
        opts.setdefault("trusted_networks", ["127.0.0.0/8", "::1/128"])
        opts.setdefault("log_level", "info")
        cls.server = TernServer(**opts)
        try:
            if cls.auth_options:
                with open(cls.server.config) as f:
                    text = f.read()
                extra = "".join("%s = %d\n" % kv for kv in cls.auth_options.items())
                with open(cls.server.config, "w") as f:
                    f.write(text.replace("[auth]\n", "[auth]\n" + extra, 1))
            cls.server.start()
        except Exception:
            cls.server.cleanup()
            raise

    @property
    def pid(self):
        return self.server.proc.pid

    def src(self, source, port=None):
        return self.track(SourceClient(port or self.server.imap_port, source))

    def assertClosedWithout(self, client, forbidden=b"* OK", timeout=PROMPT):
        """The server refused: it closed the connection (with or without BYE) and never greeted."""
        try:
            data, closed = client.read_until_closed(timeout)
        except OSError:
            data, closed = b"", True
        self.assertTrue(closed, "connection still open: %r" % data[:200])
        self.assertFalse(data.startswith(forbidden), data[:200])
        return data

    def assertNoErrorsInLog(self):
        text = self.server.log_text(100000)
        bad = [l for l in text.splitlines() if re.search(r"\b(ERROR|error\]|FATAL|AddressSanitizer|runtime error)", l)]
        self.assertEqual(bad, [], "error lines in the server log")


# =================================================================================================
class SlowAndSilentClientTest(AbuseServerTestCase):
    """Pre-auth clients must not hold a connection slot longer than preauth_timeout, however they
    dribble their bytes; and pre-auth input is bounded far below the post-login literal limit."""

    PREAUTH = 3
    PER_IP = 12
    server_options = {"limits": {"preauth_timeout": PREAUTH, "max_connections_per_ip": PER_IP}}

    def test_byte_per_second_preauth_client_cut_at_timeout(self):
        # A client that sends one byte a second never lets a per-read timeout expire: only a deadline
        # counted from the connect can bound it.
        with Prober(self.server) as prober:
            r = self.src("127.0.0.1")
            r.read_greeting()
            t0 = time.monotonic()
            payload = b"a1 LOGIN alice@example.test xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            received, closed = b"", False
            for i in range(len(payload)):
                try:
                    r.send(payload[i:i + 1])
                except OSError:
                    closed = True
                    break
                data, closed = r.read_until_closed(1.0)
                received += data
                if closed or time.monotonic() - t0 > self.PREAUTH + 6:
                    break
            elapsed = time.monotonic() - t0
        prober.check(self)
        report("slow-preauth", bytes_sent=i + 1, cut_after_s=elapsed)
        self.assertTrue(closed, "a 1 byte/s client was still connected after %.1f s (preauth_timeout %d s)"
                        % (elapsed, self.PREAUTH))
        self.assertIn(b"* BYE", received)
        self.assertGreater(elapsed, self.PREAUTH - 1)
        self.assertLess(elapsed, self.PREAUTH + 3)

    def test_silent_connections_count_against_per_ip_limit_and_time_out(self):
        pid = self.pid
        socks_before = socket_count(pid)
        with Prober(self.server) as prober:  # from 127.0.0.2: another IP
            silent = []
            deadline = time.monotonic() + PROMPT
            while len(silent) < self.PER_IP and time.monotonic() < deadline:
                c = self.src("127.0.0.1")
                c.settimeout(PROMPT)
                try:
                    g = c.read_response()
                except (OSError, EOFError):
                    g = b""
                if g.startswith(b"* OK"):
                    silent.append(c)
                else:  # a slot still held by an earlier test's connection: wait for it to go
                    c.close()
                    time.sleep(0.2)
            self.assertEqual(len(silent), self.PER_IP)
            t_full = time.monotonic()
            extra = self.src("127.0.0.1")
            data = self.assertClosedWithout(extra)
            self.assertTrue(data == b"" or data.startswith(b"* BYE"), data)
            # Another IP still gets in while this one is at its limit.
            other = self.src("127.0.0.3")
            other.read_greeting()
            other.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
            other.close()
            # The silent ones are closed by the pre-auth timeout (with BYE), freeing their slots.
            for c in silent:
                data, closed = c.read_until_closed(max(0.1, t_full + self.PREAUTH + 3 - time.monotonic()))
                self.assertTrue(closed, "a silent connection outlived preauth_timeout")
                self.assertIn(b"* BYE", data)
            freed_after = time.monotonic() - t_full
        prober.check(self)
        again = self.src("127.0.0.1")
        self.assertTrue(again.read_greeting().startswith(b"* OK"))
        again.close()
        self.assertTrue(wait_for(lambda: socket_count(pid) <= socks_before + 1, PROMPT),
                        "sockets not released: %d before, %d now" % (socks_before, socket_count(pid)))
        report("silent-connections", held=self.PER_IP, closed_within_s=freed_after, socks_before=socks_before,
               socks_after=socket_count(pid))

    def test_preauth_literal_is_small(self):
        # Before login only LOGIN/ID arguments can arrive as literals: a client without credentials
        # must not be invited to send megabytes (max_literal_size applies after login).
        r = self.src("127.0.0.1")
        r.read_greeting()
        r.send(b"a1 LOGIN {10000000}\r\n")
        resp = r.read_response()
        self.assertFalse(resp.startswith(b"+"), "server invited a 10 MB literal before login")
        self.assertRegex(resp, rb"^(a1 (NO|BAD) \[TOOBIG\]|\* BYE)", resp)

    def test_preauth_literal_plus_not_buffered(self):
        # Ten unauthenticated connections each push a 6 MB LITERAL+: the server may discard or hang
        # up, but must not hold 60 MB for clients that have not logged in.
        size = 6 * MB
        conns = []
        with Prober(self.server) as prober, RssWatch(self.pid) as rss:
            for i in range(10):
                c = self.src("127.0.0.4")
                c.read_greeting()
                conns.append(c)
            senders = []
            for c in conns:
                senders.append(send_in_thread(c.sock, b"a1 LOGIN {%d+}\r\n" % size + b"x" * size + b" y\r\n"))
            for t, _ in senders:
                t.join(PROMPT * 2)
            answers = [c.read_until_closed(2.0) for c in conns]
        prober.check(self)
        report("preauth-literal-plus", conns=len(conns), mb_each=6, rss_growth_mb=rss.growth / MB)
        for data, closed in answers:
            self.assertRegex(data, rb"(a1 (NO|BAD) \[TOOBIG\]|\* BYE)", data[:200])
        # 10 x 6 MB would be 60 MB; a bounded server needs a few MB at most (socket buffers, code).
        self.assertMemoryLess(rss.growth, 16 * MB)


# =================================================================================================
class ConnectionFloodTest(AbuseServerTestCase):
    PER_IP = 50
    FLOOD = 2000
    server_options = {"limits": {"max_connections_per_ip": PER_IP, "max_connections": 5000}}

    def test_thousands_of_connections_from_one_ip(self):
        pid = self.pid
        socks_before = socket_count(pid)
        greeted, refused, pending = [], 0, []
        sel = selectors.DefaultSelector()
        self.raw_login(ALICE).close()  # Argon2 (19 MiB while it runs) before measuring, not during
        with Prober(self.server) as prober, RssWatch(pid) as rss:
            t0 = time.monotonic()
            for i in range(self.FLOOD):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(PROMPT)
                try:
                    s.bind(("127.0.0.1", 0))
                    s.connect(("127.0.0.1", self.server.imap_port))
                except OSError:  # backlog full: refused is fine too
                    s.close()
                    refused += 1
                    continue
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ, [b""])
                pending.append(s)
            connect_time = time.monotonic() - t0
            # Another IP gets in while the flood is on.
            other = SourceClient(self.server.imap_port, "127.0.0.3")
            t1 = time.monotonic()
            other.read_greeting()
            other.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
            other.ok("SELECT INBOX")
            other_login = time.monotonic() - t1
            other.close()
            # Every connection is either greeted (the first PER_IP) or refused: BYE and/or closed.
            open_count = len(pending)
            deadline = time.monotonic() + 20
            while open_count and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    s, buf = key.fileobj, key.data
                    try:
                        chunk = s.recv(4096)
                    except (ConnectionResetError, BlockingIOError, OSError) as e:
                        if isinstance(e, BlockingIOError):
                            continue
                        chunk = b""
                    if chunk:
                        buf[0] += chunk
                        if buf[0].startswith(b"* OK") and b"\r\n" in buf[0]:
                            greeted.append(s)
                            sel.unregister(s)
                            open_count -= 1
                        continue
                    self.assertFalse(buf[0].startswith(b"* OK"), buf[0][:100])
                    self.assertTrue(buf[0] == b"" or buf[0].startswith(b"* BYE"), buf[0][:100])
                    refused += 1
                    sel.unregister(s)
                    s.close()
                    open_count -= 1
            settle_time = time.monotonic() - t0
            rss_flood = rss.peak
            socks_flood = socket_count(pid)
        prober.check(self)
        self.assertEqual(open_count, 0, "%d connections neither greeted nor refused in time" % open_count)
        # The harness's start-up probes may still hold a slot or two for a moment.
        self.assertLessEqual(len(greeted), self.PER_IP)
        self.assertGreaterEqual(len(greeted), self.PER_IP - 5)
        self.assertEqual(len(greeted) + refused, self.FLOOD)
        self.assertLess(other_login, PROMPT)
        # The greeted ones work; once they are gone the IP may connect again and the fds come back.
        s = greeted[0]
        s.setblocking(True)
        s.sendall(b"n1 NOOP\r\n")
        s.settimeout(PROMPT)
        self.assertIn(b"n1 OK", s.recv(4096))
        for s in greeted:
            s.close()
        sel.close()
        self.assertTrue(wait_for(lambda: socket_count(pid) <= socks_before + 2, PROMPT),
                        "sockets: %d before, %d after: %r" % (socks_before, socket_count(pid), fd_kinds(pid)))
        again = self.src("127.0.0.1")
        self.assertTrue(again.read_greeting().startswith(b"* OK"))
        report("connection-flood", flood=self.FLOOD, greeted=len(greeted), refused=refused,
               connect_s=connect_time, settle_s=settle_time, other_ip_login_s=other_login,
               rss_start_mb=rss.start / MB, rss_peak_mb=rss_flood / MB, socks_before=socks_before,
               socks_peak=socks_flood, socks_after=socket_count(pid))
        # 50 sessions and the short-lived rejections: a session costs tens of KB; 20 MB is ample.
        self.assertMemoryLess(rss.growth, 20 * MB)


# =================================================================================================
class FloodTest(AbuseServerTestCase):
    server_options = {"limits": {"max_literal_size": 1 * MB, "max_message_size": 1 * MB,
                                 "max_bad_commands": 100, "max_connections_per_ip": 100}}

    def test_hundred_thousand_pipelined_noops(self):
        n = 100000
        r = self.src("127.0.0.1")
        r.read_greeting()
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
        r.ok("SELECT INBOX")
        data = b"".join(b"n%d NOOP\r\n" % i for i in range(1, n + 1))
        with Prober(self.server) as prober, RssWatch(self.pid) as rss:
            t0 = time.monotonic()
            sender, state = send_in_thread(r.sock, data)
            # Read nothing for 2 s: a server that reads ahead and queues answers would grow here.
            time.sleep(2.0)
            sent_while_stalled = state["sent"]
            stalled_growth = rss.growth
            out, lines = read_until_tag_fast(r.sock, b"n%d" % n, 60)
            elapsed = time.monotonic() - t0
            sender.join(PROMPT)
        prober.check(self)
        oks = len(re.findall(rb"(?m)^n\d+ OK", out))
        report("noop-flood", commands=n, seconds=elapsed, per_s=n / elapsed, sent_while_stalled=sent_while_stalled,
               rss_growth_stalled_mb=stalled_growth / MB, rss_growth_mb=rss.growth / MB)
        self.assertEqual(oks, n)
        self.assertIsNone(state["error"])
        # Input (1.3 MB) and answers (~2 MB) together fit in a few MB even if all were buffered; the
        # bound asserts nothing per command is retained.
        self.assertMemoryLess(rss.growth, 8 * MB)

    def test_client_that_never_reads_its_output(self):
        # 400 pipelined FETCHes of a 256 KB message: 100 MB of answers the client never reads. The
        # server must stop reading that client (TCP back-pressure), not queue the output.
        r = self.src("127.0.0.1")
        r.read_greeting()
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
        box = self.unique("big")
        r.ok("CREATE %s" % box)
        r.append(box, make_message("big", body=("B" * 1000 + "\r\n") * 256))
        r.ok("SELECT %s" % box)
        data = b"".join(b"f%d FETCH 1 BODY.PEEK[]\r\n" % i for i in range(400))
        with Prober(self.server) as prober, RssWatch(self.pid) as rss:
            sender, state = send_in_thread(r.sock, data, chunk=1024)
            time.sleep(3.0)
            sent = state["sent"]
        prober.check(self)
        r.close()
        report("non-reader", answers_mb=400 * 0.25, request_bytes_taken=sent, rss_growth_mb=rss.growth / MB)
        # Two 256 KB answers in flight plus socket buffers: far below the 100 MB requested.
        self.assertMemoryLess(rss.growth, 16 * MB)

    NESTING = [
        ("SEARCH " + "(" * 3000 + "ALL" + ")" * 3000, ("BAD",)),
        ("SEARCH " + "NOT " * 3000 + "ALL", ("BAD",)),
        ("SEARCH " + "OR ALL " * 3000 + "ALL", ("BAD",)),
        ("UID SEARCH " + "(OR " * 2000 + "ALL ALL" + ")" * 2000, ("BAD",)),
        ("FETCH 1 " + "(" * 3000 + "FLAGS" + ")" * 3000, ("BAD",)),
        ("FETCH 1 (BODY.PEEK[HEADER.FIELDS " + "(" * 3000 + "Subject" + ")" * 3000 + "])", ("BAD",)),
        ("STORE 1 +FLAGS " + "(" * 3000 + "\\Seen" + ")" * 3000, ("BAD",)),
        ("LIST \"\" " + "(" * 3000 + "%" + ")" * 3000, ("BAD",)),
        ("STATUS INBOX " + "(" * 3000 + "MESSAGES" + ")" * 3000, ("BAD",)),
    ]

    def test_deep_nesting_is_bad_not_a_crash(self):
        r = self.src("127.0.0.1")
        r.read_greeting()
        r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
        r.ok("SELECT INBOX")
        r.append("INBOX", make_message("nest"))
        r.ok("NOOP")
        with Prober(self.server) as prober:
            for line, statuses in self.NESTING:
                with self.subTest(line=line[:40]):
                    t0 = time.monotonic()
                    tagged, _ = r.command(line)
                    self.assertIn(r.status_of(tagged), statuses, tagged)
                    self.assertLess(time.monotonic() - t0, PROMPT)
            r.ok("NOOP")
        prober.check(self)
        self.assertTrue(self.server.alive())

    def test_huge_literals_refused_before_reading(self):
        with Prober(self.server) as prober, RssWatch(self.pid) as rss:
            r = self.src("127.0.0.1")
            r.read_greeting()
            r.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
            # Synchronizing: refused at once, no continuation, session in sync.
            for n in (1 << 40, 2 * MB, (1 << 63) - 1):
                with self.subTest(n=n):
                    r.send(b"a1 APPEND INBOX {%d}\r\n" % n)
                    resp = r.read_response()
                    self.assertRegex(resp, rb"^a1 (NO|BAD) \[TOOBIG\]", resp)
                    r.ok("NOOP")
            # LITERAL+ far over the limit: the server cannot skip a terabyte, so it hangs up, and
            # does so without reading the 8 MB that follow into memory.
            r.send(b"a2 APPEND INBOX {%d+}\r\n" % (1 << 40))
            sender, _ = send_in_thread(r.sock, b"z" * (8 * MB))
            data, closed = r.read_until_closed(PROMPT)
            self.assertTrue(closed)
            self.assertRegex(data, rb"(\* BYE|a2 (NO|BAD) \[TOOBIG\])", data[:200])
            sender.join(PROMPT)
            # Many literals each within the limit, together over the command limit (literal limit plus
            # four lines): refused, not accumulated.
            r2 = self.src("127.0.0.1")
            r2.read_greeting()
            r2.ok("LOGIN %s %s" % (quote(ALICE), quote(PASSWORDS[ALICE])))
            r2.ok("SELECT INBOX")
            part = b"q" * (900 * 1024)
            cmd = b"s1 SEARCH" + b"".join(b" TEXT {%d+}\r\n" % len(part) + part for _ in range(6)) + b"\r\n"
            sender, _ = send_in_thread(r2.sock, cmd)
            data, closed = r2.read_until_closed(PROMPT)
            sender.join(PROMPT)
            self.assertRegex(data, rb"(\* BYE|s1 (NO|BAD) \[TOOBIG\])", data[:200])
        prober.check(self)
        report("huge-literals", rss_growth_mb=rss.growth / MB)
        # At most one command's worth (1 MB literal limit + lines) per connection, twice.
        self.assertMemoryLess(rss.growth, 12 * MB)
        _, untagged = self.raw_login().ok("STATUS INBOX (MESSAGES)")


# =================================================================================================
class IdleStormTest(AbuseServerTestCase):
    SESSIONS = 500
    server_options = {"limits": {"max_connections_per_ip": 600, "max_connections": 1000}}

    def test_idle_storm_all_notified_and_done_works(self):
        pid = self.pid
        socks_before = socket_count(pid)
        rss_before = rss_bytes(pid)
        idlers = []
        t0 = time.monotonic()
        for i in range(self.SESSIONS):
            user = ALICE if i % 2 == 0 else BOB
            c = self.src("127.0.0.1")
            c.read_greeting()
            # Pipelined: LOGIN, SELECT and IDLE in one write.
            c.send("l LOGIN %s %s\r\ns SELECT INBOX\r\ni IDLE\r\n" % (quote(user), quote(PASSWORDS[user])))
            for _ in range(50):
                line = c.read_response()
                if line.startswith(b"+"):
                    break
                self.assertFalse(re.match(rb"^[ls] (NO|BAD)", line), line)
            else:
                self.fail("no IDLE continuation")
            idlers.append((user, c))
        setup_time = time.monotonic() - t0
        rss_idle = rss_bytes(pid)
        socks_idle = socket_count(pid)
        with Prober(self.server, source="127.0.0.2") as prober, RssWatch(pid) as rss:
            # One new message for each account, delivered over SMTP.
            t1 = time.monotonic()
            with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=SOCKET_TIMEOUT) as s:
                for user in (ALICE, BOB):
                    s.sendmail("storm@remote.test", [user], make_message("storm"))
            # Every IDLE session is told, promptly.
            sel = selectors.DefaultSelector()
            for user, c in idlers:
                c.sock.setblocking(False)
                sel.register(c.sock, selectors.EVENT_READ, [c, b""])
            waiting = len(idlers)
            notified_by = []
            deadline = time.monotonic() + 20
            while waiting and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    c, acc = key.data
                    try:
                        chunk = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    self.assertTrue(chunk, "an IDLE session was closed")
                    key.data[1] += chunk
                    if re.search(rb"\* \d+ EXISTS\r\n", key.data[1]):
                        sel.unregister(key.fileobj)
                        notified_by.append(time.monotonic() - t1)
                        waiting -= 1
            sel.close()
            self.assertEqual(waiting, 0, "%d IDLE sessions got no EXISTS" % waiting)
            # DONE ends every IDLE with a tagged OK.
            for user, c in idlers:
                c.sock.setblocking(True)
                c.settimeout(PROMPT)
                c.buf = b""
                c.send(b"DONE\r\n")
            t2 = time.monotonic()
            for user, c in idlers:
                tagged, _ = c.read_until_tagged("i")
                self.assertRegex(tagged, rb"^i OK", tagged)
            done_time = time.monotonic() - t2
        prober.check(self)
        for user, c in idlers:
            c.send(b"o LOGOUT\r\n")
            c.close()
        self.assertTrue(wait_for(lambda: socket_count(pid) <= socks_before + 2, 10),
                        "sockets: %d before, %d after" % (socks_before, socket_count(pid)))
        per_session = (rss_idle - rss_before) / self.SESSIONS
        report("idle-storm", sessions=self.SESSIONS, setup_s=setup_time, notify_max_s=max(notified_by),
               notify_median_s=statistics.median(notified_by), done_s=done_time,
               rss_before_mb=rss_before / MB, rss_idle_mb=rss_idle / MB, rss_peak_mb=rss.peak / MB,
               kb_per_idle_session=per_session / 1024, socks_idle=socks_idle, socks_after=socket_count(pid))
        self.assertLess(max(notified_by), 10.0)
        # An idle session holds a coroutine frame, a 16 KB read buffer and its view: 200 KB is a
        # generous ceiling that still catches a per-session copy of the mailbox or a leak per wake.
        self.assertMemoryLess(per_session, 200 * 1024)
        self.assertMemoryLess(rss.peak - rss_before, 200 * 1024 * self.SESSIONS)


# =================================================================================================
def header_bomb(lines=100000):
    head = "".join("X-Bomb-%d: value %d\r\n" % (i, i) for i in range(lines))
    return ("From: bomb@remote.test\r\nTo: alice@example.test\r\nSubject: header bomb\r\n"
            "Message-ID: <bomb@remote.test>\r\n" + head + "\r\nbody\r\n").encode()


def long_header_line(size=10 * MB):
    return (b"From: bomb@remote.test\r\nTo: alice@example.test\r\nSubject: long line\r\n"
            b"X-Long: " + b"a" * size + b"\r\n\r\nbody\r\n")


def many_parts(n=10000, needle_first=True):
    parts = []
    for i in range(n):
        text = "part %d%s" % (i, " firstneedle" if (i == 0 and needle_first) else "")
        parts.append("--b\r\nContent-Type: text/plain\r\n\r\n%s\r\n" % text)
    return ("From: parts@remote.test\r\nTo: alice@example.test\r\nSubject: many parts\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + "".join(parts) + "--b--\r\n").encode()


def deep_multipart(depth=1000):
    head = "From: deep@remote.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    body = ""
    for i in range(depth):
        body += "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    body += "Content-Type: text/plain\r\n\r\ninnermost\r\n"
    for i in reversed(range(depth)):
        body += "--b%d--\r\n" % i
    return (head + body).encode()


class MessageBombTest(AbuseServerTestCase):
    server_options = {"limits": {"max_literal_size": 32 * MB, "max_message_size": 32 * MB}}

    @classmethod
    def setUpClass(cls):
        # glibc raises its mmap threshold to the largest block freed so far (here the ~13 MB part
        # vector of a 10,000-part parse), after which each blocking thread's arena keeps that much
        # free memory resident: 16 threads x 20 MB of RSS that no one uses. A fixed threshold (what
        # `tern serve` should set with mallopt, see the reliability report) makes RSS show live
        # memory, which is what these bounds are about.
        old = os.environ.get("GLIBC_TUNABLES")
        os.environ["GLIBC_TUNABLES"] = "glibc.malloc.mmap_threshold=1048576"
        try:
            super().setUpClass()
        finally:
            if old is None:
                del os.environ["GLIBC_TUNABLES"]
            else:
                os.environ["GLIBC_TUNABLES"] = old

    def append_and_probe(self, msg, name, fetches):
        """APPENDs msg to a fresh mailbox; it is stored or refused with a response code. If stored,
        each FETCH/SEARCH answers within PROMPT. Returns (stored, timings)."""
        box = self.unique(name)
        timings = {}
        with Prober(self.server) as prober, RssWatch(self.pid) as rss:
            r = self.raw_login()
            r.ok("CREATE %s" % box)
            tag = r.next_tag()
            t0 = time.monotonic()
            r.send(("%s APPEND %s {%d}\r\n" % (tag, box, len(msg))).encode())
            cont = r.read_response()
            stored = False
            if cont.startswith(b"+"):
                r.send(msg + b"\r\n")
                tagged, _ = r.read_until_tagged(tag)
            else:
                tagged = cont
            timings["append"] = time.monotonic() - t0
            status = r.status_of(tagged)
            self.assertIn(status, ("OK", "NO"), tagged)
            if status == "NO":
                self.assertIsNotNone(re.search(rb"\[[A-Z]+", tagged), "NO without a response code: %r" % tagged)
            else:
                stored = True
                r.ok("SELECT %s" % box)
                for label, cmd in fetches:
                    t0 = time.monotonic()
                    tagged, untagged = r.command(cmd)
                    timings[label] = time.monotonic() - t0
                    self.assertRegex(tagged, rb"^t\d+ OK", "%s -> %r" % (cmd, tagged))
                    timings[label + "_bytes"] = sum(len(u) for u in untagged)
                    self.assertLess(timings[label], PROMPT, "%s took %.2f s" % (cmd, timings[label]))
            r.close()
        prober.check(self)
        report(name, size_mb=len(msg) / MB, stored=stored, rss_growth_mb=rss.growth / MB,
               **{k: v for k, v in timings.items()})
        # The message itself may be held a few times (literal, blob write, parse): bounded by a small
        # multiple of its size plus 32 MB of allocator slack, never proportional to parts x headers.
        self.assertMemoryLess(rss.growth, 4 * len(msg) + 32 * MB)
        return stored, timings

    COMMON = [("envelope", "FETCH 1 (ENVELOPE)"), ("bodystructure", "FETCH 1 (BODYSTRUCTURE)"),
              ("header_fields", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])"),
              ("search_header", "SEARCH HEADER X-Bomb-99999 \"value\""), ("search_subject", "SEARCH SUBJECT bomb")]

    def test_header_bomb_100k_lines_append(self):
        stored, t = self.append_and_probe(header_bomb(), "header-bomb-100k", self.COMMON)
        self.assertTrue(stored, "a 3 MB message with 100k header lines should be storable")

    def test_header_bomb_10mb_line_append(self):
        self.append_and_probe(long_header_line(), "header-bomb-10mb-line", self.COMMON)

    def test_ten_thousand_mime_parts(self):
        stored, t = self.append_and_probe(many_parts(), "mime-10k-parts", [
            ("bodystructure", "FETCH 1 (BODYSTRUCTURE)"), ("envelope", "FETCH 1 (ENVELOPE)"),
            ("part_9999", "FETCH 1 (BODY.PEEK[9999])"), ("search_body", "SEARCH BODY firstneedle"),
            ("search_body_miss", "SEARCH BODY nothere"), ("search_text", "SEARCH TEXT \"part 9998\"")])
        self.assertTrue(stored)

    def test_deeply_nested_multipart(self):
        stored, t = self.append_and_probe(deep_multipart(), "mime-depth-1000", [
            ("bodystructure", "FETCH 1 (BODYSTRUCTURE)"), ("search_body", "SEARCH BODY innermost")])
        self.assertTrue(stored)

    def smtp_bomb(self, msg, name):
        with Prober(self.server) as prober, RssWatch(self.pid) as rss:
            t0 = time.monotonic()
            with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=30) as s:
                s.ehlo("bomber.test")
                s.mail("bomb@remote.test")
                code, _ = s.rcpt(ALICE)
                self.assertEqual(code, 250)
                code, text = s.data(msg)
            elapsed = time.monotonic() - t0
        prober.check(self)
        report(name, size_mb=len(msg) / MB, code=code, seconds=elapsed, rss_growth_mb=rss.growth / MB)
        if code != 250:
            self.assertRegex(text, rb"^[45]\.\d+\.\d+ ", text)
            self.assertIn(code // 100, (4, 5))
        self.assertMemoryLess(rss.growth, 4 * len(msg) + 32 * MB)
        return code

    def test_header_bomb_over_smtp(self):
        code = self.smtp_bomb(header_bomb(), "smtp-header-bomb-100k")
        if code == 250:
            c = self.raw_login()
            _, untagged = c.ok("SELECT INBOX")
            t0 = time.monotonic()
            tagged, untagged = c.ok("FETCH * (ENVELOPE)")
            self.assertLess(time.monotonic() - t0, PROMPT)
            self.assertIn(b"header bomb", b"".join(untagged))

    def test_long_header_line_over_smtp(self):
        self.smtp_bomb(long_header_line(), "smtp-header-bomb-10mb-line")


# =================================================================================================
class SmtpAbuseTest(AbuseServerTestCase):
    TIMEOUT = 2
    MAX_RCPT = 100
    MAX_ERRORS = 10
    server_options = {"limits": {"smtp_command_timeout": TIMEOUT, "smtp_max_recipients": MAX_RCPT,
                                 "smtp_max_errors": MAX_ERRORS}}

    def smtp_raw(self, source="127.0.0.1"):
        s = socket.create_connection(("127.0.0.1", self.server.smtp_port), timeout=PROMPT,
                                     source_address=(source, 0))
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        return s, f

    def legit_send(self, subject):
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.server.smtp_port, timeout=PROMPT, source_address=("127.0.0.2", 0)) as s:
            self.assertEqual(s.sendmail("legit@remote.test", [BOB], make_message(subject)), {})
        return time.monotonic() - t0

    def test_client_stalling_between_commands_gets_421(self):
        s, f = self.smtp_raw()
        s.sendall(b"EHLO stall.test\r\n")
        for _ in range(50):
            line = f.readline()
            if line[3:4] == b" ":
                break
        t0 = time.monotonic()
        legit = self.legit_send("while stalled")
        s.settimeout(self.TIMEOUT + 5)
        line = f.readline()
        elapsed = time.monotonic() - t0
        report("smtp-stall", cut_after_s=elapsed, legit_send_s=legit)
        self.assertRegex(line, rb"^421 4\.4\.2 ", line)
        self.assertEqual(f.read(), b"")  # then closed
        self.assertLess(elapsed, self.TIMEOUT + 3)
        self.assertLess(legit, PROMPT)

    def test_client_dripping_a_byte_per_second(self):
        # A command line sent a byte a second: each read is within the command timeout, so only a
        # deadline for the whole line bounds it. The line may take at most the command timeout (RFC
        # 5321 4.5.3.2 sets timeouts per command, not per byte).
        s, f = self.smtp_raw()
        s.settimeout(1.0)
        payload = b"EHLO drip.example.test.with.a.long.name.so.it.takes.a.while"
        t0 = time.monotonic()
        got = b""
        for i in range(len(payload)):
            try:
                s.sendall(payload[i:i + 1])
                chunk = s.recv(4096)
                got += chunk
                if not chunk or b"421" in got:
                    break
            except socket.timeout:
                pass
            except OSError:
                break
            if time.monotonic() - t0 > self.TIMEOUT + 4:
                break
        elapsed = time.monotonic() - t0
        report("smtp-drip", bytes_sent=i + 1, elapsed_s=elapsed, answer=got[:40])
        self.assertIn(b"421 4.4.2", got, "a 1 byte/s SMTP client was not cut off after %.1f s" % elapsed)
        self.assertLess(elapsed, self.TIMEOUT + 3)

    def test_rcpt_flood_beyond_limit(self):
        n = 10000
        s, f = self.smtp_raw()
        with RssWatch(self.pid) as rss:
            cmds = b"EHLO flood.test\r\nMAIL FROM:<flood@remote.test>\r\n" + b"".join(
                b"RCPT TO:<bob+%d@example.test>\r\n" % i for i in range(n))
            sender, _ = send_in_thread(s, cmds)
            t0 = time.monotonic()
            legit = self.legit_send("during rcpt flood")
            s.settimeout(PROMPT * 2)
            codes = []
            for _ in range(n + 100):
                line = f.readline()
                if not line:
                    break
                if line[3:4] == b"-":
                    continue
                codes.append(line[:9])
                if line.startswith(b"421"):
                    self.assertEqual(f.read(), b"")
                    break
            elapsed = time.monotonic() - t0
            sender.join(PROMPT)
        report("smtp-rcpt-flood", rcpts=n, accepted=codes.count(b"250 2.1.5"), replies=len(codes),
               seconds=elapsed, legit_send_s=legit, rss_growth_mb=rss.growth / MB)
        rcpt_codes = codes[2:]
        self.assertEqual(sum(1 for c in rcpt_codes if c.startswith(b"250")), self.MAX_RCPT)
        over = [c for c in rcpt_codes if not c.startswith(b"250")]
        self.assertTrue(over, "no refusal beyond the recipient limit")
        self.assertEqual(over[0], b"452 4.5.3")
        for c in over:
            self.assertIn(c, (b"452 4.5.3", b"421 4.7.0"))
        self.assertLess(legit, PROMPT)
        self.assertMemoryLess(rss.growth, 8 * MB)

    def test_endless_command_line(self):
        s, f = self.smtp_raw()
        with RssWatch(self.pid) as rss:
            sender, state = send_in_thread(s, b"HELO " + b"h" * (10 * MB) + b"\r\nNOOP\r\n")
            s.settimeout(PROMPT * 2)
            line = f.readline()
            legit = self.legit_send("during long line")
            sender.join(PROMPT * 2)
        report("smtp-long-line", mb=10, answer=line[:40], rss_growth_mb=rss.growth / MB, legit_send_s=legit)
        self.assertRegex(line, rb"^500 5\.5\.2 ", line)
        self.assertMemoryLess(rss.growth, 8 * MB)
        self.assertLess(legit, PROMPT)

    def test_error_flood_ends_with_421(self):
        s, f = self.smtp_raw()
        sender, _ = send_in_thread(s, b"".join(b"XYZZY %d\r\n" % i for i in range(100000)))
        s.settimeout(PROMPT)
        codes = []
        for _ in range(self.MAX_ERRORS + 5):
            line = f.readline()
            if not line:
                break
            codes.append(line[:9])
        self.assertEqual(codes[:self.MAX_ERRORS], [b"500 5.5.2"] * self.MAX_ERRORS, codes)
        self.assertEqual(codes[self.MAX_ERRORS:], [b"421 4.7.0"], codes)
        sender.join(PROMPT)
        self.assertLess(self.legit_send("after error flood"), PROMPT)


# =================================================================================================
class AuthTimingTest(AbuseServerTestCase):
    """Unknown user and wrong password must look the same in answer and in time. The throttle's delay
    is the same for both on a first failure, so each attempt comes from a fresh source address and
    each wrong password is followed by a good login that clears the account's count: every measured
    attempt is a first failure (250 ms delay plus one Argon2 run)."""

    ROUNDS = 16

    def attempt(self, source, user, password):
        c = SourceClient(self.server.imap_port, source)
        try:
            c.read_greeting()
            t0 = time.monotonic()
            c.send(("a1 LOGIN %s %s\r\n" % (quote(user), quote(password))).encode())
            line = c.read_line()
            return time.monotonic() - t0, line
        finally:
            c.close()

    def test_unknown_user_and_wrong_password_indistinguishable(self):
        wrong, unknown, answers = [], [], set()
        for i in range(self.ROUNDS):
            base = "127.0.%d." % (10 + i)
            order = [("w", ALICE, "wrong-%d" % i), ("u", "nobody%d@%s" % (i, DOMAIN), "wrong-%d" % i)]
            if i % 2:
                order.reverse()
            for j, (kind, user, pw) in enumerate(order):
                dt, line = self.attempt(base + str(j + 1), user, pw)
                (wrong if kind == "w" else unknown).append(dt)
                answers.add(line)
            # Clears alice's per-account count (a cached success: no Argon2 run).
            t, line = self.attempt(base + "9", ALICE, PASSWORDS[ALICE])
            self.assertRegex(line, rb"^a1 OK", line)
        mw, mu = statistics.median(wrong), statistics.median(unknown)
        report("auth-timing", rounds=self.ROUNDS, median_wrong_s=mw, median_unknown_s=mu, ratio=mw / mu,
               stdev_wrong_s=statistics.pstdev(wrong), stdev_unknown_s=statistics.pstdev(unknown))
        self.assertEqual(len(answers), 1, "different answers: %r" % answers)
        self.assertRegex(answers.pop(), rb"^a1 NO \[AUTHENTICATIONFAILED\] ")
        self.assertTrue(0.7 < mw / mu < 1.4, "median wrong password %.3f s vs unknown user %.3f s" % (mw, mu))

    def test_password_spray_from_many_ips(self):
        # Twelve clients spray wrong passwords from ever new addresses (no per-IP or per-account limit
        # is reached): every attempt costs an Argon2 run (19 MiB, tens of ms). Others must still be
        # served, and the Argon2 memory must be given back afterwards.
        pid = self.pid
        rss_before = rss_bytes(pid)
        counts = [0] * 12
        errors = []
        stop = threading.Event()

        def spray(t):
            k = 0
            while not stop.is_set() and k < 200:
                k += 1
                try:
                    dt, line = self.attempt("127.%d.%d.%d" % (70 + t, k // 250, k % 250 + 1),
                                            "spray%d-%d@%s" % (t, k, DOMAIN), "guess")
                    if not line.startswith(b"a1 NO [AUTHENTICATIONFAILED]"):
                        errors.append(line)
                    counts[t] += 1
                except OSError as e:
                    errors.append(repr(e))

        with Prober(self.server) as prober, RssWatch(pid) as rss:
            threads = [threading.Thread(target=spray, args=(t,), daemon=True) for t in range(12)]
            for t in threads:
                t.start()
            time.sleep(4)
            stop.set()
            for t in threads:
                t.join(PROMPT * 3)
        prober.check(self, min_probes=3)
        time.sleep(0.5)
        rss_after = rss_bytes(pid)
        report("password-spray", attempts=sum(counts), probe_max_s=max(prober.latencies),
               probe_median_s=statistics.median(prober.latencies), rss_before_mb=rss_before / MB,
               rss_peak_mb=rss.peak / MB, rss_after_mb=rss_after / MB)
        self.assertEqual(errors, [])
        self.assertGreater(sum(counts), 16)
        # Argon2 runs at most one per core at a time (19 MiB each) while the spray lasts, and none of
        # that memory is kept afterwards.
        running = min(12, max(2, os.cpu_count() or 2))
        self.assertMemoryLess(rss.peak - rss_before, running * 20 * MB + 24 * MB)
        self.assertMemoryLess(rss_after - rss_before, 12 * MB)


class AuthThrottleTest(AbuseServerTestCase):
    auth_options = {"max_failures_per_ip": 3, "max_failures_per_account": 3}

    def try_login(self, source, user, password, tag="a1"):
        c = SourceClient(self.server.imap_port, source, timeout=20)
        try:
            c.read_greeting()
            t0 = time.monotonic()
            tagged, _ = c.command("LOGIN %s %s" % (quote(user), quote(password)), tag=tag)
            return time.monotonic() - t0, tagged
        finally:
            c.close()

    def smtp_auth(self, source, user, password):
        from harness import client_tls_context
        with smtplib.SMTP("127.0.0.1", self.server.submission_port, timeout=20, source_address=(source, 0)) as s:
            s.starttls(context=client_tls_context())
            s.ehlo()
            s.user, s.password = user, password
            try:  # one AUTH PLAIN (smtplib's login() would try every mechanism in turn)
                s.auth("PLAIN", s.auth_plain)
                return 235, b""
            except smtplib.SMTPAuthenticationError as e:
                return e.smtp_code, e.smtp_error

    def test_per_ip_and_per_account_throttle(self):
        ip = "127.0.50.1"
        times, answers = [], []

        def per_ip():  # three failures (different accounts) from one IP, with growing delays
            for i in range(3):
                dt, tagged = self.try_login(ip, "nobody%d@%s" % (i, DOMAIN), "x")
                answers.append(tagged)
                times.append(dt)

        def per_account():  # three failures for bob, one from each of three IPs (below the IP limit)
            for i in range(3):
                answers.append(self.try_login("127.0.51.%d" % (i + 1), BOB, "wrong")[1])

        threads = [threading.Thread(target=f, daemon=True) for f in (per_ip, per_account)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(answers), 6)
        for tagged in answers:
            self.assertRegex(tagged, rb"^a1 NO \[AUTHENTICATIONFAILED\]")
        # The refusals are answered after the longest delay: ask them all at once.
        checks = {
            "ip_right_password": lambda: self.try_login(ip, ALICE, PASSWORDS[ALICE]),
            "ip_unknown_user": lambda: self.try_login(ip, "nobody-else@" + DOMAIN, "x"),
            "account_fresh_ip": lambda: self.try_login("127.0.51.100", BOB, PASSWORDS[BOB]),
            "account_smtp": lambda: self.smtp_auth("127.0.51.101", BOB, PASSWORDS[BOB]),
            "other_ip": lambda: self.try_login("127.0.50.2", ALICE, PASSWORDS[ALICE]),
            "other_account": lambda: self.try_login("127.0.51.102", ALICE, PASSWORDS[ALICE]),
        }
        results = {}
        threads = [threading.Thread(target=lambda k=k, f=f: results.__setitem__(k, f()), daemon=True)
                   for k, f in checks.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        report("auth-throttle", delays_s=",".join("%.2f" % t for t in times),
               refusal_s="%.2f" % results["ip_right_password"][0])
        # 250 ms, 500 ms, 1 s (base 250 ms, doubling): each clearly longer than the one before.
        self.assertGreater(times[0], 0.2)
        self.assertGreater(times[1], times[0] + 0.15)
        self.assertGreater(times[2], times[1] + 0.3)
        # The IP is refused even with the right password, with a temporary-failure code, and the same
        # answer for an unknown user; the account is refused from a fresh IP, over SMTP too.
        self.assertRegex(results["ip_right_password"][1], rb"^a1 NO \[UNAVAILABLE\]")
        self.assertEqual(results["ip_right_password"][1], results["ip_unknown_user"][1])
        self.assertRegex(results["account_fresh_ip"][1], rb"^a1 NO \[UNAVAILABLE\]")
        code, text = results["account_smtp"]
        self.assertEqual(code, 454, text)
        self.assertTrue(text.startswith(b"4.7.0"), text)
        # Neither limit spills over to another IP or another account.
        self.assertRegex(results["other_ip"][1], rb"^a1 OK")
        self.assertRegex(results["other_account"][1], rb"^a1 OK")
        self.assertLess(results["other_ip"][0], PROMPT)


if __name__ == "__main__":
    unittest.main()
