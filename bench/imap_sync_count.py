#!/usr/bin/python3
"""imap_sync_count - fsync-family system calls and time of one imapd
session on a fresh folder (Posthorn only).

usage: bench/imap_sync_count.py [--size 10000] [--workdir DIR]

Writes an N message Maildir (bench/imap_bench.py's generator), starts a
private instance (auth + imapd), does one LOGIN + SELECT (the index is
built), then attaches `strace -f -c -e trace=fdatasync,fsync,msync` to
the master and every imapd process and runs, in one new session:
SELECT INBOX, FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE) twice,
SEARCH SUBJECT needle twice. Prints each step's time and strace's table
(the first FETCH fills the index cache: that is where syncs used to
happen, about one per message). Needs root; the data is removed.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imap_bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--workdir", default="/tmp")
    args = ap.parse_args()
    if os.geteuid() != 0 or not shutil.which("strace"):
        sys.exit("imap_sync_count: needs root and strace")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = args.size
    work = tempfile.mkdtemp(prefix="imapsync-", dir=args.workdir)
    os.chmod(work, 0o755)
    srv = None
    try:
        imap_bench.make_maildir(os.path.join(work, "src", "Maildir"), n)
        user = "u@example.com"
        srv = imap_bench.Posthorn([(user, os.path.join(work, "u"))], 20)
        imap_bench.copy_maildir(os.path.join(work, "src", "Maildir"), os.path.join(work, "u"),
                                srv.inst.uid, srv.inst.gid)
        imap_bench.session(srv.port, user, ["SELECT INBOX"])
        time.sleep(1)
        pids = imap_bench.tree_pids(srv.root_pid())
        out = os.path.join(work, "strace.out")
        cmd = ["strace", "-f", "-c", "-o", out, "-e", "trace=fdatasync,fsync,msync"]
        for p in pids:
            cmd += ["-p", str(p)]
        st = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        time.sleep(1)
        steps = imap_bench.session(srv.port, user, ["SELECT INBOX", imap_bench.FETCH_META,
                                                    imap_bench.FETCH_META, imap_bench.SEARCH,
                                                    imap_bench.SEARCH])
        time.sleep(0.5)
        st.terminate()
        st.wait()
        print(f"N={n}")
        for step, secs, nbytes, untagged, _lit in steps:
            print(f"  {step:<45} {secs:8.3f} s  {untagged:6d} untagged  {nbytes:9d} bytes")
        with open(out) as f:
            print(f.read())
    finally:
        if srv:
            srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
