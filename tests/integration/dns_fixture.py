# A real DNS server for integration tests: unbound (/usr/sbin/unbound) on 127.0.0.1:<free port>,
# serving a fixed list of records from local-data under a static root zone, so names not listed are
# NXDOMAIN and nothing is ever asked of the internet. Stdlib only; every wait is bounded.
#
#     from dns_fixture import TestDnsServer as D
#     with D([D.mx("example.net", 10, "mx1.example.net"), D.a("mx1.example.net", "127.0.0.2")]) as dns:
#         config = f'[dns]\nresolvers = ["{dns.address}"]\n'   # "127.0.0.1@PORT"
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

UNBOUND = "/usr/sbin/unbound"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def _fqdn(name):
    return name if name.endswith(".") else name + "."


def _free_port(ipv6):
    """A port free for UDP and TCP on 127.0.0.1 (and ::1), since unbound binds both; from the same
    machine-wide reservation as the tern servers' ports, so no other test process picks it."""
    from harness import _reserve, free_port_range
    low, high = free_port_range()
    rng = random.Random(os.getpid() ^ time.monotonic_ns())

    def pick(taken):
        for _ in range(500):
            port = rng.randint(low, high)
            if port not in taken and _port_free(port, ipv6):
                return port
        raise RuntimeError("no free loopback port for the DNS server")

    return _reserve(pick)


def _port_free(port, ipv6):
    targets = [(socket.AF_INET, "127.0.0.1")] + ([(socket.AF_INET6, "::1")] if ipv6 else [])
    for family, host in targets:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(family, kind) as s:
                try:
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
                except OSError:
                    return False
    return True


def _dns_query(host, port, name=".", qtype=6, timeout=0.2):
    """One hand-built UDP query (default: SOA of the root); returns the raw reply or None."""
    qid = random.randrange(1, 65536)
    labels = [l for l in name.strip(".").split(".") if l]
    qname = b"".join(bytes([len(l)]) + l.encode("ascii") for l in labels) + b"\0"
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(packet, (host, port))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                reply = s.recv(4096)
                if len(reply) >= 12 and struct.unpack(">H", reply[:2])[0] == qid:
                    return reply
        except OSError:  # timeout, or connection refused while unbound is still starting
            return None
    return None


class TestDnsServer:
    """unbound serving `records` (unbound local-data strings: "name. TTL IN TYPE rdata").

    zones: extra local-zone lines as (name, type) pairs, e.g. ("refused.test.", "always_refuse")
    to make every query below that name fail with REFUSED (a resolver reports it as a temporary
    failure). ipv6=True also listens on [::1]:port.

    Records may change between runs: stop(), assign .records, start() — the port stays the same, so
    a running tern keeps its [dns] resolvers setting. The record builders use TTL 0 by default so
    that tern's resolver cache never hides a change; negative answers carry SOA minimum 0 as well.
    """

    __test__ = False  # not a test case, despite the name

    def __init__(self, records=(), zones=(), ipv6=False):
        self.records = list(records)
        self.zones = list(zones)
        self.ipv6 = ipv6
        self._port = None
        self._dir = None
        self._proc = None
        self._last_log = ""

    # Record builders -------------------------------------------------------------------------
    @staticmethod
    def mx(domain, pref, host, ttl=0):
        return f"{_fqdn(domain)} {ttl} IN MX {int(pref)} {_fqdn(host)}"

    @staticmethod
    def null_mx(domain, ttl=0):
        """RFC 7505: the domain accepts no mail."""
        return f"{_fqdn(domain)} {ttl} IN MX 0 ."

    @staticmethod
    def a(name, ip, ttl=0):
        return f"{_fqdn(name)} {ttl} IN A {ip}"

    @staticmethod
    def aaaa(name, ip, ttl=0):
        return f"{_fqdn(name)} {ttl} IN AAAA {ip}"

    @staticmethod
    def cname(name, target, ttl=0):
        return f"{_fqdn(name)} {ttl} IN CNAME {_fqdn(target)}"

    @staticmethod
    def txt(name, text, ttl=0):
        """A TXT record; long text (DKIM keys) is split into 255-byte strings."""
        if '"' in text or "'" in text or "\\" in text or "\n" in text:
            raise ValueError("TXT text must not contain quotes, backslashes or newlines")
        chunks = [text[i:i + 255] for i in range(0, len(text), 255)] or [""]
        return f"{_fqdn(name)} {ttl} IN TXT " + " ".join(f'"{c}"' for c in chunks)

    # Properties --------------------------------------------------------------------------------
    @property
    def port(self):
        return self._port

    @property
    def address(self):
        """The server as tern's [dns] resolvers takes it: "127.0.0.1@PORT"."""
        return f"127.0.0.1@{self._port}"

    @property
    def address6(self):
        return f"::1@{self._port}" if self.ipv6 else None

    @property
    def running(self):
        return self._proc is not None and self._proc.poll() is None

    # Lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout=START_TIMEOUT):
        if self.running:
            raise RuntimeError("the DNS server is already running")
        if not os.access(UNBOUND, os.X_OK):
            raise unittest.SkipTest(f"{UNBOUND} is not installed")
        keep_port = self._port is not None
        attempts = 1 if keep_port else 3  # a fresh port may be taken before unbound binds it
        error = ""
        for _ in range(attempts):
            if not keep_port:
                self._port = _free_port(self.ipv6)
            self._dir = tempfile.mkdtemp(prefix="tern-dns-")
            self._write_config()
            out = open(os.path.join(self._dir, "unbound.out"), "wb")
            try:
                self._proc = subprocess.Popen(
                    [UNBOUND, "-d", "-c", os.path.join(self._dir, "unbound.conf")],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self._dir)
            finally:
                out.close()
            if self._wait_ready(timeout):
                return self
            error = self._read_log()
            self.stop()
        raise RuntimeError(f"unbound did not start on port {self._port}:\n{error}")

    def stop(self):
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=STOP_TIMEOUT)
            self._proc = None
        if self._dir is not None:
            self._last_log = self._read_log()
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def restart(self, records=None):
        """Stops, optionally replaces the records, and starts again on the same port."""
        self.stop()
        if records is not None:
            self.records = list(records)
        return self.start()

    def log_text(self):
        """unbound's log (one line per query, with log-queries) of the current or last run."""
        return self._read_log() if self._dir is not None else self._last_log

    def query(self, name, qtype=1, timeout=1.0):
        """A raw UDP query to the server (for debugging tests); the reply bytes or None."""
        return _dns_query("127.0.0.1", self._port, name, qtype, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # Internals ---------------------------------------------------------------------------------
    def _write_config(self):
        d = self._dir
        lines = [
            "server:",
            "  verbosity: 1",
            "  log-queries: yes",
            f"  interface: 127.0.0.1@{self._port}",
            f"  port: {self._port}",
            "  do-ip4: yes",
            f"  do-ip6: {'yes' if self.ipv6 else 'no'}",
            "  do-udp: yes",
            "  do-tcp: yes",
            "  do-daemonize: no",
            '  username: ""',  # no privilege drop when started as root
            '  chroot: ""',
            f'  directory: "{d}"',
            f'  pidfile: "{d}/unbound.pid"',
            "  use-syslog: no",
            f'  logfile: "{d}/unbound.log"',
            "  access-control: 127.0.0.0/8 allow",
            "  access-control: ::1 allow",
            "  do-not-query-localhost: no",
            '  module-config: "iterator"',  # no DNSSEC validator, so no trust anchor is needed
            "  num-threads: 1",
            "  outgoing-range: 32",
            "  so-reuseport: no",
            "  msg-cache-size: 1m",
            "  rrset-cache-size: 1m",
            # Every name is answered from the local data below; unknown names are NXDOMAIN.
            '  local-zone: "." static',
            '  local-data: ". 0 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 0"',
        ]
        if self.ipv6:
            lines.insert(4, f"  interface: ::1@{self._port}")
        for name, kind in self.zones:
            lines.append(f'  local-zone: "{_fqdn(name)}" {kind}')
        for record in self.records:
            if "\n" in record or ("'" in record and '"' in record):
                raise ValueError(f"unusable record: {record!r}")
            # TXT data carries double quotes, so such records are wrapped in single quotes.
            lines.append(f"  local-data: '{record}'" if '"' in record else f'  local-data: "{record}"')
        lines += ["remote-control:", "  control-enable: no", ""]
        with open(os.path.join(self._dir, "unbound.conf"), "w") as f:
            f.write("\n".join(lines))

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if _dns_query("127.0.0.1", self._port) is not None:
                return True
            time.sleep(0.05)
        return False

    def _read_log(self):
        text = ""
        for name in ("unbound.out", "unbound.log"):
            try:
                with open(os.path.join(self._dir, name), errors="replace") as f:
                    text += f.read()
            except (OSError, TypeError):
                pass
        return text
