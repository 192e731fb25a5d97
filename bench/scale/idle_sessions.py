#!/usr/bin/env python3
# Scale benchmark: N concurrent IMAP IDLE sessions over implicit TLS (default 10,000) on one mailbox.
# Reports the server's RSS growth per session (/proc/PID/status) and the time from an APPEND (on
# another connection) until every session has seen "* n EXISTS". One python process drives all the
# sessions with non-blocking sockets and a selector; source addresses rotate over 127.0.0.2-... so
# ephemeral ports never run out. Loopback only; every phase is bounded in time.
# Usage: TERN_BIN=/work/build-scale/tern bench/scale/idle_sessions.py [--sessions N]
import argparse
import json
import os
import resource
import selectors
import shutil
import socket
import ssl
import time

import scalelib
from scalelib import harness

# Per-session states of the set-up conversation.
CONNECT, HANDSHAKE, GREETING, LOGIN, SELECT, IDLE_WAIT, IDLING, GOT_EXISTS = range(8)


class Conn:
    __slots__ = ("sock", "tls", "state", "buf", "out", "events")

    def __init__(self, sock, tls):
        self.sock, self.tls, self.state, self.buf, self.out, self.events = sock, tls, CONNECT, b"", b"", 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--parallel", type=int, default=256, help="sessions being set up at once")
    ap.add_argument("--build-dir", default="/work/build-scale")
    ap.add_argument("--setup-timeout", type=float, default=600)
    ap.add_argument("--deliveries", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("TERN_BIN", os.path.join(args.build_dir, "tern"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 2 * args.sessions + 1000))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the server inherits it too

    n = args.sessions
    srv = harness.TernServer(log_level="warn", limits={"max_connections": n + 100, "max_connections_per_ip": n + 100})
    result = {"sessions": n}
    sel = selectors.DefaultSelector()
    conns = []
    try:
        srv.start(timeout=60)
        pid = srv.proc.pid
        user, password = harness.ALICE, harness.PASSWORDS[harness.ALICE]
        ctx = harness.client_tls_context()
        login = ('a LOGIN "%s" "%s"\r\n' % (user, password)).encode()

        # Warm-up: one full session first, so one-time allocations (auth cache, SQLite readers, TLS
        # context) are not charged to the sessions.
        warm = ctx.wrap_socket(socket.create_connection((srv.host, srv.imaps_port), timeout=30))
        warm.recv(4096)
        for cmd in (login, b"b SELECT INBOX\r\n"):
            warm.sendall(cmd)
            data = b"\r\n"
            tag = b"\r\n" + cmd[:2]
            while tag not in data or not data.endswith(b"\r\n"):
                data += warm.recv(65536)
        warm.close()
        time.sleep(0.5)
        rss_before = scalelib.proc_status(pid)["VmRSS"]

        next_ip = [0]

        def open_conn():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind(("127.0.0.%d" % (2 + next_ip[0] % 50), 0))
            next_ip[0] += 1
            try:
                s.connect((srv.host, srv.imaps_port))
            except BlockingIOError:
                pass
            c = Conn(s, None)
            sel.register(s, selectors.EVENT_WRITE, c)
            conns.append(c)

        def want(c, ev):
            if ev != c.events:
                sel.modify(c.sock, ev, c)
                c.events = ev

        def send(c, data):
            c.out += data
            flush(c)

        def flush(c):
            try:
                while c.out:
                    k = c.tls.send(c.out)
                    c.out = c.out[k:]
                want(c, selectors.EVENT_READ)
            except ssl.SSLWantWriteError:
                want(c, selectors.EVENT_WRITE)
            except ssl.SSLWantReadError:
                want(c, selectors.EVENT_READ)

        def lines(c):
            try:
                while True:
                    chunk = c.tls.recv(65536)
                    if not chunk:
                        raise ConnectionError("server closed session in state %d" % c.state)
                    c.buf += chunk
                    if not c.tls.pending():
                        break
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            while b"\r\n" in c.buf:
                line, c.buf = c.buf.split(b"\r\n", 1)
                yield line

        ready = [0]
        pending = 0

        def step(c, mask):
            nonlocal pending
            if c.state == CONNECT:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise ConnectionError("connect: %s" % os.strerror(err))
                c.tls = ctx.wrap_socket(c.sock, do_handshake_on_connect=False)
                c.state = HANDSHAKE
            if c.state == HANDSHAKE:
                try:
                    c.tls.do_handshake()
                except ssl.SSLWantReadError:
                    want(c, selectors.EVENT_READ)
                    return
                except ssl.SSLWantWriteError:
                    want(c, selectors.EVENT_WRITE)
                    return
                c.state = GREETING
                want(c, selectors.EVENT_READ)
                return
            if c.out:
                flush(c)
                if c.out:
                    return
            for line in lines(c):
                if c.state == GREETING and line.startswith(b"* OK"):
                    c.state = LOGIN
                    send(c, login)
                elif c.state == LOGIN and line.startswith(b"a "):
                    if not line.startswith(b"a OK"):
                        raise RuntimeError("LOGIN: %r" % line)
                    c.state = SELECT
                    send(c, b"b SELECT INBOX\r\n")
                elif c.state == SELECT and line.startswith(b"b "):
                    if not line.startswith(b"b OK"):
                        raise RuntimeError("SELECT: %r" % line)
                    c.state = IDLE_WAIT
                    send(c, b"c IDLE\r\n")
                elif c.state == IDLE_WAIT and line.startswith(b"+"):
                    c.state = IDLING
                    ready[0] += 1
                    pending -= 1
                elif c.state == IDLING and line.endswith(b" EXISTS"):
                    c.state = GOT_EXISTS
                    ready[0] += 1

        t0 = time.monotonic()
        opened = 0
        while ready[0] < n:
            if time.monotonic() - t0 > args.setup_timeout:
                raise RuntimeError("only %d of %d sessions idling after %.0f s" % (ready[0], n, args.setup_timeout))
            while opened < n and pending < args.parallel:
                open_conn()
                opened += 1
                pending += 1
            for key, mask in sel.select(timeout=1.0):
                step(key.data, mask)
        result["setup_s"] = round(time.monotonic() - t0, 1)
        time.sleep(2.0)  # let the server settle (freed handshake buffers, pending tickets)
        rss_after = scalelib.proc_status(pid)["VmRSS"]
        result.update(rss_before_kib=rss_before, rss_after_kib=rss_after,
                      bytes_per_session=round((rss_after - rss_before) * 1024 / n))

        # Deliveries: APPEND on a separate plain connection; time until every session saw EXISTS.
        appender = scalelib.Imap(srv.host, srv.imap_port)
        appender.command('LOGIN "%s" "%s"' % (user, password))
        latencies = []
        for d in range(args.deliveries):
            for c in conns:
                c.state = IDLING
            ready[0] = 0
            msg = "From: a@example.test\r\nSubject: fan-out %d\r\n\r\nhello\r\n" % d
            t = time.monotonic()
            appender.sock.sendall(b"x%d APPEND INBOX {%d+}\r\n%s\r\n" % (d, len(msg), msg.encode()))
            while ready[0] < n:
                if time.monotonic() - t > 60:
                    raise RuntimeError("only %d of %d sessions saw the new message within 60 s" % (ready[0], n))
                for key, mask in sel.select(timeout=1.0):
                    step(key.data, mask)
            latencies.append(round(time.monotonic() - t, 3))
            while not appender.readline().startswith(b"x%d " % d):
                pass
            time.sleep(1.0)
        result["fanout_s"] = latencies
        result["rss_end_kib"] = scalelib.proc_status(pid)["VmRSS"]
        appender.close()
    finally:
        for c in conns:
            try:
                c.sock.close()
            except OSError:
                pass
        srv.stop(timeout=30)
        shutil.rmtree(srv.dir, ignore_errors=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
