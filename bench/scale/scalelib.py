# Shared helpers of the scale benchmarks: a tern server in a temp dir (tests/integration/harness.py),
# /proc memory sampling, and a minimal streaming IMAP client. Loopback only; every wait is bounded.
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402


def proc_status(pid):
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                out[k] = int(v.split()[0])
    return out


class RssSampler:
    """Samples a process's VmRSS every `interval` seconds in a thread; peak is the highest sample."""

    def __init__(self, pid, interval=0.005):
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, proc_status(self.pid)["VmRSS"])
            except (OSError, KeyError):
                return
            time.sleep(self.interval)

    def __enter__(self):
        self.peak = proc_status(self.pid)["VmRSS"]
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(5)


class Imap:
    """Plain IMAP over TCP; commands return (tagged line, bytes of untagged data, untagged line count)."""

    def __init__(self, host, port, timeout=120.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.pos = 0  # lines are cut from buf by offset: slicing per line would copy the buffer each time
        self.n = 0
        self.readline()  # greeting

    def readline(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf = self.buf[self.pos:] + chunk
            self.pos = 0

    def command(self, text, keep=False):
        self.n += 1
        tag = b"s%d" % self.n
        self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
        nbytes = nlines = 0
        kept = []
        while True:
            line = self.readline()
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError("%s: %r" % (text, line))
                return line, nbytes, nlines, kept
            nbytes += len(line) + 2
            nlines += 1
            if keep:
                kept.append(line)

    def close(self):
        try:
            self.command("LOGOUT")
        except (OSError, RuntimeError, ConnectionError):
            pass
        self.sock.close()


def build_gen_tool(build_dir):
    """Compiles bench/scale/gen_mailbox.cpp against the store libraries of a tern build dir."""
    out = os.path.join(build_dir, "bench-scale", "gen_mailbox")
    src = os.path.join(ROOT, "bench", "scale", "gen_mailbox.cpp")
    libs = [os.path.join(build_dir, p) for p in ("src/store/sqlite/libtern_store_sqlite.a", "src/store/libtern_store.a",
                                                 "src/mime/libtern_mime.a", "src/util/libtern_util.a")]
    if os.path.exists(out) and all(os.path.getmtime(out) > os.path.getmtime(p) for p in libs + [src]):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run(["g++", "-std=c++20", "-O2", "-I", os.path.join(ROOT, "src"), src, *libs, "-lsqlite3", "-lssl",
                    "-lcrypto", "-pthread", "-o", out], check=True)
    return out


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
