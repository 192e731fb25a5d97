#!/usr/bin/env python3
# Soak run (`make soak`): a real `tern serve` under mixed IMAP and SMTP load for SOAK_SECONDS (default
# 600), sampling its RSS and descriptors every SOAK_SAMPLE seconds (default 10). Passes when, after a
# warm-up, memory stays flat, sockets return to the baseline once clients leave, the log has no error
# or sanitizer line, the clients saw no failure, and every message SMTP accepted is in the mailbox.
# Loopback only; every wait is bounded. Prints a table of samples and the figures.
#
#   TERN_BIN=build/tern SOAK_SECONDS=120 python3 tests/integration/soak.py
import os
import random
import re
import smtplib
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ALICE, BOB, PASSWORDS, TernServer, client_tls_context, quote  # noqa: E402

MB = 1024 * 1024
DURATION = float(os.environ.get("SOAK_SECONDS", "600"))
SAMPLE = float(os.environ.get("SOAK_SAMPLE", "10"))
# Memory and descriptors are judged after the warm-up: the first minute (a fifth of short runs) fills
# caches, opens the blocking threads' database handles and grows the allocator's arenas once.
WARMUP = min(60.0, DURATION / 5)
# RSS may grow after warm-up by at most this much. Tern's steady state is ~20-40 MB; what a soak must
# catch is a leak per operation (tens of thousands of operations here: even 1 KB each is tens of MB)
# while tolerating allocator noise (a few arenas' free lists, SQLite page caches of 2 MB per handle).
MAX_GROWTH = int(os.environ.get("SOAK_MAX_GROWTH_MB", "30")) * MB
CLIENT_TIMEOUT = 30.0
IMAP_WORKERS = 4
SMTP_WORKERS = 2
IDLE_WORKERS = 2
MAX_BOX = 120  # messages per worker mailbox before it expunges half


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def descriptors(pid):
    total = sockets = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        total += 1
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                sockets += 1
        except OSError:
            pass
    return total, sockets


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = {}
        self.errors = []
        self.accepted = set()  # Message-IDs SMTP accepted for bob

    def op(self, name, n=1):
        with self.lock:
            self.ops[name] = self.ops.get(name, 0) + n

    def error(self, where, exc):
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append("%s: %s" % (where, "".join(traceback.format_exception_only(type(exc), exc)).strip()))
            else:
                self.errors.append("...")

    def total(self):
        with self.lock:
            return sum(self.ops.values())


def message(subject, msgid, sender="soak@remote.test", to=BOB, size=0):
    body = "".join("line %d of the soak message body, some text to search for\r\n" % i for i in range(3 + size))
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n%s"
            % (sender, to, subject, msgid, body)).encode()


def check(typ, data, what):
    if typ != "OK":
        raise RuntimeError("%s -> %s %r" % (what, typ, data))
    return data


# --- workers -------------------------------------------------------------------------------------
def imap_worker(server, stats, stop, idx):
    """Alice's client: APPEND, SELECT, FETCH, STORE, SEARCH, COPY, EXPUNGE in its own mailbox."""
    rnd = random.Random(idx)
    box = "soak%d" % idx
    archive = "soak%d-archive" % idx
    n = 0
    while not stop.is_set():
        try:
            c = server.imap()
            c.sock.settimeout(CLIENT_TIMEOUT)
            check(*c.login(ALICE, PASSWORDS[ALICE]), "LOGIN")
            stats.op("imap_login")
            for name in (box, archive):
                c.create(name)  # NO [ALREADYEXISTS] after the first time
            count = int(check(*c.select(box), "SELECT")[0])
            for _ in range(rnd.randrange(20, 60)):
                if stop.is_set():
                    break
                r = rnd.random()
                if r < 0.25 or count == 0:
                    n += 1
                    check(*c.append(box, "(\\Draft)", None, message("imap %d-%d" % (idx, n), "imap-%d-%d@soak" % (idx, n),
                                                                      size=rnd.randrange(0, 200))), "APPEND")
                    count += 1
                    stats.op("imap_append")
                elif r < 0.45:
                    i = rnd.randrange(1, count + 1)
                    check(*c.fetch(str(i), "(FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[])"), "FETCH one")
                    stats.op("imap_fetch")
                elif r < 0.55:
                    check(*c.fetch("1:*", "(UID FLAGS RFC822.SIZE)"), "FETCH all")
                    stats.op("imap_fetch")
                elif r < 0.70:
                    i = rnd.randrange(1, count + 1)
                    flag = rnd.choice(["\\Seen", "\\Flagged", "$Label%d" % rnd.randrange(5)])
                    check(*c.store(str(i), rnd.choice(["+FLAGS", "-FLAGS"]), "(%s)" % flag), "STORE")
                    stats.op("imap_store")
                elif r < 0.80:
                    check(*c.search(None, rnd.choice(["UNSEEN", "FLAGGED", 'SUBJECT "imap"', 'BODY "search"'])), "SEARCH")
                    stats.op("imap_search")
                elif r < 0.85:
                    i = rnd.randrange(1, count + 1)
                    check(*c.copy(str(i), archive), "COPY")
                    stats.op("imap_copy")
                elif r < 0.92:
                    i = rnd.randrange(1, count + 1)
                    check(*c.store(str(i), "+FLAGS.SILENT", "(\\Deleted)"), "STORE deleted")
                    check(*c.expunge(), "EXPUNGE")
                    count -= 1
                    stats.op("imap_expunge")
                else:
                    check(*c.noop(), "NOOP")
                    stats.op("imap_noop")
                if count > MAX_BOX:
                    check(*c.store("1:%d" % (count // 2), "+FLAGS.SILENT", "(\\Deleted)"), "STORE prune")
                    check(*c.expunge(), "EXPUNGE prune")
                    count -= count // 2
                    stats.op("imap_expunge")
                if rnd.random() < 0.2:  # only this worker changes its mailbox: the count must agree
                    selected = int(check(*c.select(box), "SELECT")[0])
                    if selected != count:
                        raise RuntimeError("%s has %d messages, expected %d" % (box, selected, count))
                stop.wait(rnd.uniform(0.005, 0.05))
            # The archive only fills through COPY: keep it bounded too.
            arch = int(check(*c.select(archive), "SELECT archive")[0])
            if arch > MAX_BOX:
                check(*c.store("1:%d" % (arch - MAX_BOX // 2), "+FLAGS.SILENT", "(\\Deleted)"), "STORE archive")
                check(*c.expunge(), "EXPUNGE archive")
            c.logout()
            stats.op("imap_logout")
        except Exception as e:  # noqa: BLE001 - every failure is a soak failure, reported at the end
            if not stop.is_set():
                stats.error("imap%d" % idx, e)
                stop.wait(1.0)


def bob_reader(server, stats, stop):
    """Bob's client on the INBOX that SMTP fills: FETCH and STORE only (never expunges)."""
    rnd = random.Random(99)
    while not stop.is_set():
        try:
            c = server.imap()
            c.sock.settimeout(CLIENT_TIMEOUT)
            check(*c.login(BOB, PASSWORDS[BOB]), "LOGIN bob")
            for _ in range(rnd.randrange(10, 40)):
                if stop.is_set():
                    break
                count = int(check(*c.select("INBOX"), "SELECT bob")[0])
                if count:
                    i = rnd.randrange(1, count + 1)
                    check(*c.fetch(str(i), "(FLAGS ENVELOPE BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.100>)"), "FETCH bob")
                    check(*c.store(str(i), "+FLAGS", "(\\Seen)"), "STORE bob")
                    stats.op("imap_fetch")
                    stats.op("imap_store")
                check(*c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT)"), "STATUS")
                stats.op("imap_status")
                stop.wait(rnd.uniform(0.02, 0.1))
            c.logout()
        except Exception as e:  # noqa: BLE001
            if not stop.is_set():
                stats.error("bob-reader", e)
                stop.wait(1.0)


def idle_worker(server, stats, stop, idx):
    """IDLE on bob's INBOX in windows of a few seconds; counts the EXISTS it is told about."""
    while not stop.is_set():
        try:
            r = server.raw()
            r.settimeout(CLIENT_TIMEOUT)
            r.read_greeting()
            r.ok("LOGIN %s %s" % (quote(BOB), quote(PASSWORDS[BOB])))
            r.ok("SELECT INBOX")
            for _ in range(5):
                if stop.is_set():
                    break
                tag = r.next_tag()
                r.send("%s IDLE\r\n" % tag)
                for _ in range(10000):  # untagged updates may come before the continuation
                    line = r.read_response()
                    if line.startswith(b"+"):
                        break
                    if not line.startswith(b"* "):
                        raise RuntimeError("no IDLE continuation: %r" % line[:100])
                    if line.endswith(b" EXISTS"):
                        stats.op("idle_exists")
                stats.op("imap_idle")
                deadline = time.monotonic() + random.uniform(2, 6)
                while time.monotonic() < deadline and not stop.is_set():
                    r.settimeout(0.5)
                    try:
                        line = r.read_response()
                    except OSError:
                        continue
                    if line.endswith(b" EXISTS"):
                        stats.op("idle_exists")
                r.settimeout(CLIENT_TIMEOUT)
                r.send(b"DONE\r\n")
                tagged, _ = r.read_until_tagged(tag)
                if not tagged.startswith(tag.encode() + b" OK"):
                    raise RuntimeError("IDLE ended with %r" % tagged)
            r.command("LOGOUT")
            r.close()
        except Exception as e:  # noqa: BLE001
            if not stop.is_set():
                stats.error("idle%d" % idx, e)
                stop.wait(1.0)


def smtp_worker(server, stats, stop, idx, submission=False):
    """Inbound mail to bob over port 25, or alice's submission (STARTTLS + AUTH) to bob."""
    rnd = random.Random(1000 + idx)
    n = 0
    while not stop.is_set():
        try:
            if submission:
                s = smtplib.SMTP("127.0.0.1", server.submission_port, timeout=CLIENT_TIMEOUT)
                s.starttls(context=client_tls_context())
                s.login(ALICE, PASSWORDS[ALICE])
                sender = ALICE
            else:
                s = smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=CLIENT_TIMEOUT)
                sender = "sender%d@remote.test" % idx
            try:
                for _ in range(rnd.randrange(1, 6)):
                    if stop.is_set():
                        break
                    n += 1
                    msgid = "smtp-%d-%d-%s@soak" % (idx, n, "sub" if submission else "mx")
                    refused = s.sendmail(sender, [BOB], message("smtp %d-%d" % (idx, n), msgid, sender=sender,
                                                               size=rnd.randrange(0, 300)))
                    if refused:
                        raise RuntimeError("refused %r" % refused)
                    with stats.lock:
                        stats.accepted.add(msgid)
                    stats.op("smtp_submission" if submission else "smtp_inbound")
                    stop.wait(rnd.uniform(0.2, 1.0))  # ~1.5 messages/s per sender: bob's INBOX grows slowly
                s.quit()
            finally:
                s.close()
        except Exception as e:  # noqa: BLE001
            if not stop.is_set():
                stats.error("smtp%d" % idx, e)
                stop.wait(1.0)


# --- the run -------------------------------------------------------------------------------------
def bob_message_ids(server):
    c = server.imap()
    c.sock.settimeout(120)
    try:
        c.login(BOB, PASSWORDS[BOB])
        count = int(check(*c.select("INBOX", readonly=True), "SELECT")[0])
        ids = []
        if count:
            typ, data = c.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for item in data:
                if isinstance(item, tuple):
                    m = re.search(rb"<([^>]+)>", item[1])
                    if m:
                        ids.append(m.group(1).decode())
        c.logout()
        return count, ids
    finally:
        try:
            c.shutdown()
        except Exception:  # noqa: BLE001
            pass


def log_problems(server):
    text = server.log_text(10 ** 7)
    lines = text.splitlines()
    bad = [l for l in lines if re.match(r"^error ", l) or re.search(
        r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|terminate called|Segmentation", l)]
    warns = [l for l in lines if l.startswith("warn ") and "running as root" not in l]
    return len(lines), bad, warns


def main():
    server = TernServer(log_level="info", limits={"max_connections_per_ip": 200})
    stats = Stats()
    stop = threading.Event()
    samples = []
    try:
        server.start()
        pid = server.proc.pid
        time.sleep(0.5)
        base_total, base_sockets = descriptors(pid)
        base_rss = int(proc_status(pid)["VmRSS"].split()[0]) * 1024
        print("soak: %.0f s (warm-up %.0f s, sample every %.0f s), pid %d, log %s"
              % (DURATION, WARMUP, SAMPLE, pid, server.log_path), flush=True)

        threads = [threading.Thread(target=imap_worker, args=(server, stats, stop, i), daemon=True)
                   for i in range(IMAP_WORKERS)]
        threads += [threading.Thread(target=idle_worker, args=(server, stats, stop, i), daemon=True)
                    for i in range(IDLE_WORKERS)]
        threads += [threading.Thread(target=smtp_worker, args=(server, stats, stop, i), daemon=True)
                    for i in range(SMTP_WORKERS)]
        threads.append(threading.Thread(target=smtp_worker, args=(server, stats, stop, 99, True), daemon=True))
        threads.append(threading.Thread(target=bob_reader, args=(server, stats, stop), daemon=True))
        t0 = time.monotonic()
        for t in threads:
            t.start()

        print("%8s %9s %6s %8s %8s %10s" % ("t(s)", "RSS(MB)", "fds", "sockets", "threads", "ops"), flush=True)
        next_sample = t0
        while True:
            now = time.monotonic()
            if now >= next_sample:
                st = proc_status(pid)
                total, socks = descriptors(pid)
                s = {"t": now - t0, "rss": int(st["VmRSS"].split()[0]) * 1024, "fds": total, "sockets": socks,
                     "threads": int(st["Threads"]), "ops": stats.total()}
                samples.append(s)
                print("%8.0f %9.1f %6d %8d %8d %10d" % (s["t"], s["rss"] / MB, total, socks, s["threads"], s["ops"]),
                      flush=True)
                next_sample += SAMPLE
            if now - t0 >= DURATION or not server.alive():
                break
            time.sleep(min(1.0, max(0.05, next_sample - time.monotonic())))
        elapsed = time.monotonic() - t0
        stop.set()
        for t in threads:
            t.join(CLIENT_TIMEOUT + 10)
        stuck = [t.name for t in threads if t.is_alive()]
        alive = server.alive()

        # Once every client has gone, the sockets must be back to the listeners alone.
        deadline = time.monotonic() + 15
        while alive and time.monotonic() < deadline and descriptors(pid)[1] > base_sockets:
            time.sleep(0.2)
        end_total, end_sockets = descriptors(pid) if alive else (-1, -1)
        end_rss = int(proc_status(pid)["VmRSS"].split()[0]) * 1024 if alive else -1
        count, ids = bob_message_ids(server) if alive else (0, [])
        rc = server.stop(timeout=20)
        log_lines, bad_log, warns = log_problems(server)
    finally:
        stop.set()
        server.stop()

    # --- figures -------------------------------------------------------------------------------
    post = [s for s in samples if s["t"] >= WARMUP] or samples[-1:]
    warm = post[0]
    peak_rss = max(s["rss"] for s in samples)
    post_peak = max(s["rss"] for s in post)
    growth = post_peak - warm["rss"]
    slope = 0.0
    if len(post) >= 3:
        xs = [s["t"] for s in post]
        ys = [s["rss"] / MB for s in post]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60 if den else 0.0
    ops_total = stats.total()
    missing = sorted(stats.accepted - set(ids))
    duplicates = len(ids) - len(set(ids))

    print("\n==== soak figures ====")
    print("duration              %.0f s (warm-up %.0f s), %d samples" % (elapsed, WARMUP, len(samples)))
    print("RSS start/warm/peak/end   %.1f / %.1f / %.1f / %.1f MB" % (base_rss / MB, warm["rss"] / MB, peak_rss / MB,
                                                                    end_rss / MB))
    print("RSS growth after warm-up  %.1f MB (limit %.0f MB), trend %+.2f MB/min" % (growth / MB, MAX_GROWTH / MB, slope))
    print("fds start/peak/end        %d / %d / %d" % (base_total, max(s["fds"] for s in samples), end_total))
    print("sockets start/peak/end    %d / %d / %d" % (base_sockets, max(s["sockets"] for s in samples), end_sockets))
    print("threads                   %d" % max(s["threads"] for s in samples))
    print("operations                %d (%.1f/s)" % (ops_total, ops_total / max(elapsed, 1)))
    for k in sorted(stats.ops):
        print("  %-22s %d" % (k, stats.ops[k]))
    print("SMTP accepted for bob     %d; in bob's INBOX %d (missing %d, duplicates %d)"
          % (len(stats.accepted), count, len(missing), duplicates))
    print("log                       %d lines, %d error/sanitizer, %d warn" % (log_lines, len(bad_log), len(warns)))
    print("server exit status        %s" % rc)

    failures = []
    if not alive:
        failures.append("the server died during the soak")
    if stuck:
        failures.append("client threads stuck: %s" % stuck)
    if stats.errors:
        failures.append("%d client errors, first: %s" % (len(stats.errors), stats.errors[:5]))
    if growth > MAX_GROWTH:
        failures.append("RSS grew %.1f MB after warm-up (limit %.0f MB)" % (growth / MB, MAX_GROWTH / MB))
    if end_sockets != base_sockets:
        failures.append("sockets not back to baseline: %d at start, %d at end" % (base_sockets, end_sockets))
    if bad_log:
        failures.append("error lines in the log: %s" % bad_log[:5])
    if missing:
        failures.append("%d accepted messages missing from bob's INBOX: %s" % (len(missing), missing[:5]))
    if duplicates:
        failures.append("%d duplicate messages in bob's INBOX" % duplicates)
    if rc != 0:
        failures.append("server exit status %s after SIGTERM" % rc)
    if ops_total < DURATION:  # far below what even a loaded machine does: the load did not run
        failures.append("only %d operations in %.0f s" % (ops_total, elapsed))
    if warns:
        print("warnings (first 5):\n  " + "\n  ".join(warns[:5]))
    if failures:
        print("\nSOAK FAILED:\n  " + "\n  ".join(failures))
        print("server log kept in %s" % server.log_path)
        return 1
    server.cleanup()
    print("\nSOAK PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
