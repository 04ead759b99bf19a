#!/usr/bin/python3
"""pop3_bench - RETR throughput of our pop3d beside Debian's dovecot-pop3d,
on the same Maildir, with the same client.

Usage: bench/pop3_bench.py [-n MESSAGES] [-s SIZE] [-r ROUNDS]
   (run by hand as root after `make`; not part of tests/run)

Builds one Maildir with N messages of about SIZE bytes (default 10,000 x
4 KiB), starts a Posthorn instance (auth + pop3d on loopback, as the
integration tests do) and, when /usr/lib/dovecot/pop3 exists, a private
Dovecot (its own base_dir and config in the temp directory, a passwd-file
user whose mail_location is the same Maildir). The client logs in and
pipelines RETR 1..N in batches of 100, counting the bytes and the
"\\r\\n.\\r\\n" terminators (dot-stuffing makes that sequence unique to the
ends of replies), and checks every message arrived. Each server gets a
warm-up session first (index creation, page cache), then ROUNDS timed
sessions; the best is reported, with the ratio ours/dovecot.
"""
import argparse
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from instance import Instance, free_port  # noqa: E402

USER = "bench@example.com"
PASSWORD = "benchpw"


def make_maildir(path, n, size, uid, gid):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    body_line = b"The quick brown fox jumps over the lazy dog. 0123456789\n"
    for i in range(n):
        head = (b"From: sender%d@example.org\nTo: bench@example.com\nSubject: message %d\n"
                b"Message-ID: <%d.bench@example.org>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\n"
                % (i, i, i))
        body = body_line * max(1, (size - len(head)) // len(body_line))
        name = os.path.join(path, "new", f"1700000000.M{i}P1.bench")
        with open(name, "wb") as f:
            f.write(head + body)
    for dirpath, dirs, files in os.walk(path):
        os.chown(dirpath, uid, gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), uid, gid)


def session(port, n, batch=100):
    """Log in, RETR 1..n pipelined; returns (seconds, bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")
    assert f.readline().startswith(b"+OK")
    s.sendall(f"USER {USER}\r\nPASS {PASSWORD}\r\n".encode())
    assert f.readline().startswith(b"+OK")
    line = f.readline()
    assert line.startswith(b"+OK"), line
    t0 = time.monotonic()
    total = 0
    done = 0
    tail = b""
    for start in range(1, n + 1, batch):
        end = min(n, start + batch - 1)
        s.sendall(b"".join(b"RETR %d\r\n" % i for i in range(start, end + 1)))
        want = end - start + 1
        got = 0
        while got < want:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("connection closed")
            total += len(chunk)
            buf = tail + chunk
            got += buf.count(b"\r\n.\r\n") - tail.count(b"\r\n.\r\n")
            tail = buf[-4:]
        done += got
    elapsed = time.monotonic() - t0
    s.sendall(b"QUIT\r\n")
    assert f.readline().startswith(b"+OK")
    s.close()
    assert done == n, (done, n)
    return elapsed, total


def start_dovecot(tmp, maildir, uid, gid):
    port = free_port()
    base = os.path.join(tmp, "dovecot-run")
    os.makedirs(base)
    users = os.path.join(tmp, "dovecot-users")
    with open(users, "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{os.path.dirname(maildir)}::\n")
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {base}
protocols = pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
log_path = {tmp}/dovecot.log
mail_location = maildir:{maildir}
first_valid_uid = 1
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
}}
""")
    subprocess.run(["dovecot", "-c", conf], check=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return port, conf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("-s", type=int, default=4096)
    ap.add_argument("-r", type=int, default=3)
    a = ap.parse_args()

    inst = Instance()
    tmp = inst.dir
    home = os.path.join(tmp, "home")
    maildir = os.path.join(home, "Maildir")
    os.makedirs(home)
    os.chown(home, inst.uid, inst.gid)
    print(f"building {a.n} messages of ~{a.s} bytes in {maildir} ...", flush=True)
    make_maildir(maildir, a.n, a.s, inst.uid, inst.gid)
    users = os.path.join(tmp, "users")
    with open(users, "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}:{inst.uid}:{inst.gid}::{home}::\n")
    port = free_port()
    inst.write_main_cf({"auth_passdb": f"passwd-file:{users}",
                        "auth_userdb": f"passwd-file:{users}",
                        "mail_location": "maildir:~/Maildir", "ssl": "no"})
    inst.write_master_cf("auth unix - n n - 1 auth\nauth-userdb unix - n n - 1 auth\n"
                         f"127.0.0.1:{port} inet n - n - 4 pop3d\n")
    results = {}
    dconf = None
    try:
        inst.start()
        inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "auth")))
        session(port, a.n)                       # warm-up: index build
        best = min(session(port, a.n) for _ in range(a.r))
        results["posthorn pop3d"] = best
        if os.path.exists("/usr/lib/dovecot/pop3") and shutil.which("dovecot") and os.geteuid() == 0:
            dport, dconf = start_dovecot(tmp, maildir, inst.uid, inst.gid)
            session(dport, a.n)                  # warm-up: dovecot-uidlist + index
            best = min(session(dport, a.n) for _ in range(a.r))
            results["dovecot-pop3d"] = best
        else:
            print("dovecot-pop3d not installed (apt-get install dovecot-pop3d) or not root: "
                  "Posthorn only")
    finally:
        if dconf:
            subprocess.run(["doveadm", "-c", dconf, "stop"], capture_output=True)
        inst.teardown()
    for name, (secs, nbytes) in results.items():
        print(f"{name:16s} {a.n} RETR in {secs:6.3f} s: {a.n / secs:9.0f} msg/s "
              f"{nbytes / secs / 1e6:7.1f} MB/s")
    if len(results) == 2:
        ours = results["posthorn pop3d"][0]
        theirs = results["dovecot-pop3d"][0]
        print(f"ratio (dovecot time / posthorn time): {theirs / ours:.2f}x")


if __name__ == "__main__":
    main()
