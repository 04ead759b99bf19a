#!/usr/bin/python3
"""imap_bench - Posthorn imapd against Debian's Dovecot on identical Maildirs.

usage: bench/imap_bench.py [--sizes 10000,100000] [--idle 1000] [--workdir DIR]

For each size N it writes one Maildir of N messages (plain files in new/,
as a delivery agent leaves them; sizes 0.6-12 KiB, every 100th subject
holds the word "needle") and copies it for each server, so both start
cold: no index, no cache, all mail in new/. The page cache is not
dropped (both copies were just written; the comparison is fair, the
figures are "cold index", not "cold disk").

Both servers run privately as root, as installed, with the sessions as
one mail user (phbench), on loopback ports: a Posthorn root instance
(tests/integration/instance.py: auth + imapd with its pre-login processes
and post-login servers, passwd-file users, mail_location =
maildir:~/Maildir) and
`dovecot -c CONFIG` with its own base_dir, passwd-file passdb/userdb and
the same mail_location. The client is build/bench/imap_load (C), so the
client is never the bottleneck. Per size and server:
  cold   LOGIN + SELECT on the fresh copy (first open: index built)
  warm   LOGIN + SELECT again, 3 s later (new connections; median of 3)
  then in one session: FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE) three
  times (the first ones may fill caches, the last uses them), FETCH 1:* BODY.PEEK[] (all bodies),
  SEARCH SUBJECT needle twice.
Then with the smallest size: --idle connections LOGIN, SELECT INBOX, IDLE
at once, and the summed RSS and PSS (/proc/PID/smaps_rollup) of every
imapd process of the instance (Posthorn: master's pre-login parents and
the post-login servers, which are not master's children) and every imap +
imap-login process (Dovecot).
Prints a table with both figures and the ratio Posthorn/Dovecot (< 1:
Posthorn is faster or smaller). Sanity: both servers must return the same
number of FETCH responses and the same total body bytes, or it exits 1.
Needs root (to run dovecot and the instance user); everything is removed
at the end unless --keep.
"""
import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from instance import BUILD, Instance, ensure_user, free_port  # noqa: E402

LOAD = os.path.join(BUILD, "bench", "imap_load")
PASS = "secret"
FETCH_META = "FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE)"
FETCH_BODY = "FETCH 1:* BODY.PEEK[]"
SEARCH = "SEARCH SUBJECT needle"
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima "
         "mike november oscar papa quebec romeo sierra tango uniform victor").split()


def make_maildir(path, n):
    """n plain messages in path/new (deterministic content)."""
    rnd = random.Random(n)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(path, sub))
    new = os.path.join(path, "new")
    base = 1700000000
    for i in range(n):
        subj = f"message {i} " + " ".join(rnd.choice(WORDS) for _ in range(4))
        if i % 100 == 7:
            subj += " needle"
        lines = [f"Return-Path: <sender{i % 50}@example.org>",
                 f"Message-ID: <{i}.{n}@bench.example>",
                 f"Date: Mon, 1 Jan 2024 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} +0000",
                 f'From: "Sender {i % 50}" <sender{i % 50}@example.org>',
                 "To: alice@example.com",
                 f"Cc: list{i % 7}@example.net",
                 f"Subject: {subj}",
                 "MIME-Version: 1.0",
                 "Content-Type: text/plain; charset=us-ascii",
                 ""]
        body_lines = rnd.randint(8, 160)
        for _ in range(body_lines):
            lines.append(" ".join(rnd.choice(WORDS) for _ in range(10)))
        data = ("\n".join(lines) + "\n").encode()
        with open(os.path.join(new, f"{base + i}.M{i}P1.bench"), "wb") as f:
            f.write(data)


def copy_maildir(src, home, uid, gid):
    os.makedirs(home)
    dst = os.path.join(home, "Maildir")
    shutil.copytree(src, dst)
    for dirpath, dirs, files in os.walk(home):
        os.chown(dirpath, uid, gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), uid, gid)


def session(port, user, cmds):
    """Run imap_load session; {step: (seconds, bytes, untagged, literal)}."""
    p = subprocess.run([LOAD, "-u", user, "-w", PASS, "127.0.0.1", str(port), "session"]
                       + cmds, capture_output=True, text=True, timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(f"imap_load failed: {p.stderr}")
    out = []
    for line in p.stdout.splitlines():
        step, secs, nbytes, untagged, lit = line.split("\t")
        out.append((step, float(secs), int(nbytes), int(untagged), int(lit)))
    return out


def tree_pids(root_pid):
    """pids of root_pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def memory(pids, exes):
    """(processes, RSS KiB, PSS KiB) summed over pids whose exe is in exes."""
    n = rss = pss = 0
    for pid in pids:
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
            if exe not in exes:
                continue
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    w = line.split()
                    if w[0] == "Rss:":
                        rss += int(w[1])
                    elif w[0] == "Pss:":
                        pss += int(w[1])
            n += 1
        except OSError:
            continue
    return n, rss, pss


def idle_memory(port, user, n, pids, exes):
    """n connections in IDLE; (setup seconds, processes, RSS, PSS)."""
    p = subprocess.Popen([LOAD, "-u", user, "-w", PASS, "127.0.0.1", str(port), "idle", str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"idle: {line}")
        time.sleep(2)
        procs, rss, pss = memory(pids(), exes)
        p.stdin.write("\n")
        p.stdin.flush()
        done = p.stdout.readline().split()
        if p.wait(timeout=600) != 0 or done != ["done", str(n)]:
            raise RuntimeError(f"idle teardown: {done}")
        return float(line[2]), procs, rss, pss
    finally:
        if p.poll() is None:
            p.kill()


# -- the servers -------------------------------------------------------------
class Posthorn:
    name = "posthorn"

    def __init__(self, users, maxproc):
        # as installed: master runs as root, imapd splits into pre-login
        # (login_user) and post-login servers running as the mail uid
        self.inst = Instance(root=True)
        mailuser = ensure_user("phbench")
        self.uid, self.gid = mailuser.pw_uid, mailuser.pw_gid
        path = os.path.join(self.inst.dir, "users")
        with open(path, "w") as f:
            for user, home in users:
                f.write(f"{user}:{{PLAIN}}{PASS}:{self.uid}:{self.gid}::{home}::\n")
        self.port = free_port()
        self.inst.write_main_cf({"auth_passdb": f"passwd-file:{path}",
                                 "auth_userdb": f"passwd-file:{path}",
                                 "auth_failure_delay": "0",
                                 "mail_location": "maildir:~/Maildir",
                                 "mail_max_userip_connections": str(2 * maxproc),
                                 "default_process_limit": str(maxproc)})
        self.inst.write_master_cf("auth unix - n n - 1 auth\n"
                                  "auth-userdb unix - n n - 1 auth\n"
                                  f"127.0.0.1:{self.port} inet n - n - {maxproc} imapd\n")
        self.inst.start()
        self.inst.wait_for(lambda: os.path.exists(os.path.join(self.inst.queue, "private", "auth")),
                           what="auth socket")
        self.exes = {os.path.realpath(os.path.join(BUILD, "libexec", "imapd"))}

    def pids(self):
        # post-login servers are not master's children: every process of
        # the instance counts
        return self.inst.processes()

    def stop(self):
        self.inst.teardown()


class Dovecot:
    name = "dovecot"

    def __init__(self, d, users, uid, gid, maxproc):
        self.d = d
        os.makedirs(os.path.join(d, "state"))
        path = os.path.join(d, "users")
        with open(path, "w") as f:
            for user, home in users:
                f.write(f"{user}:{{PLAIN}}{PASS}:{uid}:{gid}::{home}::\n")
        self.port = free_port()
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:~/Maildir
default_process_limit = {maxproc}
default_client_limit = {4 * maxproc}
passdb {{
  driver = passwd-file
  args = {path}
}}
userdb {{
  driver = passwd-file
  args = {path}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  client_limit = {4 * maxproc}
}}
protocol imap {{
  mail_max_userip_connections = {2 * maxproc}
}}
""")
        subprocess.run(["dovecot", "-c", self.conf], check=True, timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(d, "run", "master.pid")) as f:
                    self.pid = int(f.read())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        else:
            raise RuntimeError("dovecot did not start")
        time.sleep(0.5)
        self.exes = {"/usr/lib/dovecot/imap", "/usr/lib/dovecot/imap-login"}

    def pids(self):
        return tree_pids(self.pid)

    def stop(self):
        subprocess.run(["dovecot", "-c", self.conf, "stop"], capture_output=True, timeout=60)


# -- the run -------------------------------------------------------------------
def measure(server, user, n):
    """The timed workload for one server and one folder; {label: value}."""
    r = {}
    def login_select():
        steps = {x[0]: x for x in session(server.port, user, ["SELECT INBOX"])}
        return steps["login"][1] + steps["SELECT INBOX"][1]

    r["LOGIN+SELECT cold (s)"] = login_select()
    # Maildir programs (Dovecot) re-read a directory whose mtime is within
    # the last second or two: let the clock pass that before "warm"
    time.sleep(3)
    r["LOGIN+SELECT warm (s)"] = sorted(login_select() for _ in range(3))[1]
    s = session(server.port, user, ["SELECT INBOX", FETCH_META, FETCH_META, FETCH_META, FETCH_BODY,
                                    SEARCH, SEARCH])
    meta = [x for x in s if x[0] == FETCH_META]
    search = [x for x in s if x[0] == SEARCH]
    body = [x for x in s if x[0] == FETCH_BODY][0]
    r["FETCH 1:* meta, 1st (s)"] = meta[0][1]
    r["FETCH 1:* meta, 2nd (s)"] = meta[1][1]
    r["FETCH 1:* meta, 3rd (s)"] = meta[2][1]
    r["FETCH 1:* BODY.PEEK[] (s)"] = body[1]
    r["SEARCH SUBJECT, 1st (s)"] = search[0][1]
    r["SEARCH SUBJECT, 2nd (s)"] = search[1][1]
    r["_fetch_responses"] = meta[0][3]
    r["_body_bytes"] = body[4]
    r["_search_bytes"] = search[0][2]
    if meta[0][3] < n:
        raise RuntimeError(f"{server.name}: FETCH gave {meta[0][3]} responses for {n} messages")
    return r


def fmt(v):
    if isinstance(v, float):
        return f"{v:.3f}" if v < 100 else f"{v:.0f}"
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000", help="comma-separated folder sizes")
    ap.add_argument("--idle", type=int, default=1000, help="idle connections (0: skip)")
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if os.geteuid() != 0 or not shutil.which("dovecot") or not os.path.exists(
            "/usr/lib/dovecot/imap"):
        sys.exit("imap_bench: needs root and dovecot-imapd")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    maxproc = max(args.idle + 100, 200)
    work = tempfile.mkdtemp(prefix="imapbench-", dir=args.workdir)
    os.chmod(work, 0o755)
    servers = []
    try:
        t0 = time.monotonic()
        for n in sizes:
            make_maildir(os.path.join(work, f"src{n}", "Maildir"), n)
        print(f"# built {'+'.join(map(str, sizes))} message Maildirs in "
              f"{time.monotonic() - t0:.1f} s under {work}", flush=True)
        ph = Posthorn([(f"u{n}@example.com", os.path.join(work, "ph", f"u{n}")) for n in sizes],
                      maxproc)
        servers.append(ph)
        uid, gid = ph.uid, ph.gid
        dcdir = os.path.join(work, "dovecot")
        os.makedirs(dcdir)
        dc = Dovecot(dcdir, [(f"u{n}@example.com", os.path.join(work, "dc", f"u{n}"))
                             for n in sizes], uid, gid, maxproc)
        servers.append(dc)
        rows = []
        for n in sizes:
            src = os.path.join(work, f"src{n}", "Maildir")
            res = {}
            for srv, tag in ((ph, "ph"), (dc, "dc")):
                copy_maildir(src, os.path.join(work, tag, f"u{n}"), uid, gid)
                res[srv.name] = measure(srv, f"u{n}@example.com", n)
                print(f"# {srv.name} N={n}: done", flush=True)
            a, b = res["posthorn"], res["dovecot"]
            if a["_fetch_responses"] != b["_fetch_responses"] or a["_body_bytes"] != b["_body_bytes"]:
                raise RuntimeError(f"N={n}: servers disagree: posthorn {a['_fetch_responses']} "
                                   f"responses/{a['_body_bytes']} body bytes, dovecot "
                                   f"{b['_fetch_responses']}/{b['_body_bytes']}")
            for k in a:
                if not k.startswith("_"):
                    rows.append((f"N={n} {k}", a[k], b[k]))
            rows.append((f"N={n} body bytes (both)", a["_body_bytes"], b["_body_bytes"]))
        if args.idle:
            n = sizes[0]
            for srv in (ph, dc):
                res = idle_memory(srv.port, f"u{n}@example.com", args.idle, srv.pids,
                                  srv.exes)
                srv.idle = res
                print(f"# {srv.name} idle x{args.idle}: done", flush=True)
            (ta, pa, ra, qa), (tb, pb, rb, qb) = ph.idle, dc.idle
            lbl = f"{args.idle} IDLE on N={n}"
            rows.append((f"{lbl}: setup (s)", ta, tb))
            rows.append((f"{lbl}: processes", pa, pb))
            rows.append((f"{lbl}: RSS sum (MiB)", ra / 1024, rb / 1024))
            rows.append((f"{lbl}: PSS sum (MiB)", qa / 1024, qb / 1024))
            rows.append((f"{lbl}: PSS per conn (KiB)", qa / args.idle, qb / args.idle))
        width = max(len(r[0]) for r in rows)
        print()
        print(f"{'measure':<{width}}  {'posthorn':>10}  {'dovecot':>10}  {'ph/dc':>7}")
        for label, a, b in rows:
            ratio = f"{a / b:.2f}" if b else "n/a"
            print(f"{label:<{width}}  {fmt(a):>10}  {fmt(b):>10}  {ratio:>7}")
        print("\n(ph/dc < 1: Posthorn faster or smaller. Memory: Posthorn = all imapd "
              "processes; Dovecot = all imap + imap-login processes.)")
        return 0
    finally:
        for srv in reversed(servers):
            srv.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
