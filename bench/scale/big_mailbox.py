#!/usr/bin/env python3
# Scale benchmark: one mailbox of N messages (default 1,000,000), generated through the store's own
# append path (gen_mailbox.cpp), then SELECT latency (client side, median of several runs) and
# `FETCH 1:* (UID FLAGS)` time with the server's RSS before, at peak and after (/proc/PID/status).
# Usage: TERN_BIN=/work/build-scale/tern bench/scale/big_mailbox.py [--count N] [--runs R]
import argparse
import json
import os
import shutil
import subprocess
import time

import scalelib
from scalelib import harness


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--build-dir", default="/work/build-scale")
    ap.add_argument("--data", help="reuse (or create and keep) a generated server directory here")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait after start before the first SELECT (0: right away, the index "
                         "cache warm-up may still be running)")
    args = ap.parse_args()
    os.environ.setdefault("TERN_BIN", os.path.join(args.build_dir, "tern"))

    srv = harness.TernServer(log_level="warn")
    if args.data and os.path.exists(os.path.join(args.data, "tern.db")):
        shutil.rmtree(srv.data_dir)
        shutil.copytree(args.data, srv.data_dir)
        print("reusing %s" % args.data)
    else:
        gen = scalelib.build_gen_tool(args.build_dir)
        t0 = time.monotonic()
        subprocess.run([gen, srv.data_dir, harness.ALICE, "INBOX", str(args.count)], check=True)
        print("generated %d messages in %.1f s" % (args.count, time.monotonic() - t0))
        if args.data:
            shutil.copytree(srv.data_dir, args.data)
    result = {"count": args.count}
    try:
        srv.start(timeout=60)
        pid = srv.proc.pid
        time.sleep(args.settle)
        result["settle_s"] = args.settle
        result["rss_idle_kib"] = scalelib.proc_status(pid)["VmRSS"]
        c = scalelib.Imap(srv.host, srv.imap_port)
        c.command('LOGIN "%s" "%s"' % (harness.ALICE, harness.PASSWORDS[harness.ALICE]))
        times = []
        for i in range(args.runs):
            t = time.monotonic()
            _, _, _, lines = c.command("SELECT INBOX", keep=True)
            times.append((time.monotonic() - t) * 1000)
            if i == 0:
                exists = [l for l in lines if l.endswith(b" EXISTS")]
                print("SELECT: %s" % exists[0].decode())
        result["select_ms_first"] = round(times[0], 1)
        result["select_ms_median"] = round(scalelib.median(times), 1)
        result["select_ms_all"] = [round(x, 1) for x in times]
        # A second session selecting the same mailbox (shared state, if any, is warm).
        c2 = scalelib.Imap(srv.host, srv.imap_port)
        c2.command('LOGIN "%s" "%s"' % (harness.ALICE, harness.PASSWORDS[harness.ALICE]))
        t = time.monotonic()
        c2.command("EXAMINE INBOX")
        result["examine_ms_second_session"] = round((time.monotonic() - t) * 1000, 1)
        result["rss_after_select_kib"] = scalelib.proc_status(pid)["VmRSS"]
        before = scalelib.proc_status(pid)["VmRSS"]
        with scalelib.RssSampler(pid) as s:
            t = time.monotonic()
            _, nbytes, nlines, _ = c.command("FETCH 1:* (UID FLAGS)")
            result["fetch_s"] = round(time.monotonic() - t, 2)
        after = scalelib.proc_status(pid)["VmRSS"]
        result.update(fetch_lines=nlines, fetch_bytes=nbytes, rss_before_fetch_kib=before, rss_peak_fetch_kib=s.peak,
                      rss_after_fetch_kib=after, rss_growth_fetch_mib=round((s.peak - before) / 1024, 1),
                      vmhwm_kib=scalelib.proc_status(pid)["VmHWM"])
        c2.close()
        c.close()
    finally:
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
