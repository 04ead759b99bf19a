"""imapd post-login servers (imapd/imapd_post.c): a root instance hands
every confirmed login to the server of the user's uid/gid, one process
serving up to imapd_client_limit sessions. Driven by real clients
(imaplib, raw sockets) against root instances with two mail uids:
phvmail (alice, bob) and phvmail2 (carol)."""
import glob
import imaplib
import os
import re
import signal
import socket
import time

import pytest

from instance import ensure_user
import test_imapd
from test_imapd import PASSWORD, proc_uid

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="root instances need root")


# -- setup ------------------------------------------------------------------

def setup_post(inst, users, extra=None):
    """auth + anvil + imapd (root, unpriv column "n") on a loopback port.
    users: {local part: pwd entry}; each gets its own home under the
    instance directory, owned by its uid/gid."""
    lines = []
    inst.homes = {}
    for name, pw in users.items():
        home = os.path.join(inst.dir, "home", name)
        os.makedirs(home)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        inst.homes[name] = home
        lines.append(f"{name}@example.com:{{PLAIN}}{PASSWORD}:{pw.pw_uid}:{pw.pw_gid}::{home}::\n")
    path = os.path.join(inst.dir, "users")
    with open(path, "w") as f:
        f.writelines(lines)
    port = inst.free_port()
    params = {
        "auth_passdb": f"passwd-file:{path}",
        "auth_userdb": f"passwd-file:{path}",
        "auth_failure_delay": "0",
        "mail_location": "maildir:~/Maildir",
        "imap_literal_limit": "2000000",
    }
    params.update(extra or {})
    inst.write_main_cf(params)
    inst.write_master_cf("auth unix - n n - 1 auth\n"
                         "auth-userdb unix - n n - 1 auth\n"
                         "anvil unix - n n - 1 anvil\n"
                         f"127.0.0.1:{port} inet n - n - 20 imapd\n")
    inst.start()
    for sock in ("auth", "anvil"):
        inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", sock)),
                      what=f"{sock} socket")
    inst.imap_port = port
    return inst


@pytest.fixture
def vmail():
    return ensure_user("phvmail")


@pytest.fixture
def vmail2():
    return ensure_user("phvmail2")


@pytest.fixture
def post(instance_factory, vmail):
    """alice and bob, both uid/gid phvmail, default imapd_client_limit."""
    return setup_post(instance_factory(root=True), {"alice": vmail, "bob": vmail})


def login(inst, user="alice"):
    m = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=10)
    typ, data = m.login(f"{user}@example.com", PASSWORD)
    assert typ == "OK", data
    return m


class Raw(test_imapd.Raw):
    """test_imapd's raw connection, which must greet, and LOGIN."""

    def __init__(self, port, rcvbuf=None, timeout=10):
        super().__init__(port, rcvbuf=rcvbuf, timeout=timeout)
        assert self.greeting.startswith(b"* OK"), self.greeting

    def login(self, user="alice"):
        lines = self.cmd(b"l", f"LOGIN {user}@example.com {PASSWORD}".encode())
        assert lines[-1].startswith(b"l OK"), lines
        return lines

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# -- processes and sockets -------------------------------------------------------

def ppid_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid):
    """pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def procs_of_uid(inst, uid):
    return sorted(p for p in inst.processes() if proc_uid(p) == uid)


def tcp_entry(server_port, client_port):
    """(inode, tx_queue) of the server side of a loopback TCP connection."""
    for path in ("/proc/net/tcp",):
        with open(path) as f:
            next(f)
            for ln in f:
                w = ln.split()
                lport = int(w[1].split(":")[1], 16)
                rport = int(w[2].split(":")[1], 16)
                if lport == server_port and rport == client_port:
                    return int(w[9]), int(w[4].split(":")[0], 16)
    return None, None


def socket_holders(inst, inode):
    want = f"socket:[{inode}]"
    out = set()
    for pid in inst.processes():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == want:
                    out.add(pid)
            except OSError:
                pass
    return out


def server_of(inst, sock):
    """The one instance process that holds the server side of the client's
    connection (once the root and pre-login processes let go of it)."""
    cport = sock.getsockname()[1]

    def one():
        inode, _tx = tcp_entry(inst.imap_port, cport)
        if inode is None:
            return None
        h = socket_holders(inst, inode)
        return next(iter(h)) if len(h) == 1 else None
    return inst.wait_for(one, timeout=5, what=f"the process serving client port {cport}")


def tx_queue(inst, sock):
    return tcp_entry(inst.imap_port, sock.getsockname()[1])[1]


def post_name(inst, uid, gid):
    """The abstract socket name of uid/gid's server, as imapd_post_addr()."""
    h = 1469598103934665603
    for b in inst.params["queue_directory"].encode():
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"posthorn/imap-post/{h:016x}/{uid}.{gid}"


def abstract_names():
    """Abstract unix socket names (without the '@') in /proc/net/unix."""
    out = []
    with open("/proc/net/unix") as f:
        next(f)
        for ln in f:
            w = ln.split()
            if len(w) >= 8 and w[7].startswith("@"):
                out.append(w[7][1:])
    return out


def run_as(pw, fn):
    """Run fn() in a forked child as pw's uid/gid; True when it returned
    a true value."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            code = 0 if fn() else 3
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def msg(subject, body=b"body\r\n"):
    return f"From: t@example.com\r\nSubject: {subject}\r\n\r\n".encode() + body


def fetch_body(m, n):
    typ, data = m.fetch(str(n), "(BODY.PEEK[])")
    assert typ == "OK", data
    return data[0][1]


# -- tests --------------------------------------------------------------------

def test_one_server_per_uid_and_mailboxes_apart(instance_factory, vmail, vmail2):
    inst = setup_post(instance_factory(root=True),
                      {"alice": vmail, "bob": vmail, "carol": vmail2})
    a, b, c = login(inst, "alice"), login(inst, "bob"), login(inst, "carol")
    servers1 = procs_of_uid(inst, vmail.pw_uid)
    servers2 = procs_of_uid(inst, vmail2.pw_uid)
    assert len(servers1) == 1, servers1
    assert len(servers2) == 1, servers2
    assert servers1 != servers2
    # alice and bob are served by that one process, carol by the other
    assert server_of(inst, a.sock) == server_of(inst, b.sock) == servers1[0]
    assert server_of(inst, c.sock) == servers2[0]
    # not master's children, nor any instance process's
    everyone = set(inst.processes())
    for p in servers1 + servers2:
        assert p not in inst.children()
        assert ppid_of(p) not in everyone, (p, ppid_of(p))
    log = inst.log()
    assert f"post-login server for uid {vmail.pw_uid} gid {vmail.pw_gid}: started" in log
    assert f"post-login server for uid {vmail2.pw_uid} gid {vmail2.pw_gid}: started" in log
    # each user sees only their own mailbox
    assert a.append("INBOX", None, None, msg("for alice"))[0] == "OK"
    assert c.append("INBOX", None, None, msg("for carol 1"))[0] == "OK"
    assert c.append("INBOX", None, None, msg("for carol 2"))[0] == "OK"
    assert a.select("INBOX") == ("OK", [b"1"])
    assert b.select("INBOX") == ("OK", [b"0"])
    assert c.select("INBOX") == ("OK", [b"2"])
    assert b"for alice" in fetch_body(a, 1)
    assert b.search(None, "ALL")[1] == [b""]
    assert len(os.listdir(os.path.join(inst.homes["alice"], "Maildir", "new"))) + \
        len(os.listdir(os.path.join(inst.homes["alice"], "Maildir", "cur"))) == 1
    bob_new = os.path.join(inst.homes["bob"], "Maildir", "new")
    assert not os.path.isdir(bob_new) or not os.listdir(bob_new)
    st = os.stat(os.path.join(inst.homes["carol"], "Maildir"))
    assert (st.st_uid, st.st_gid) == (vmail2.pw_uid, vmail2.pw_gid)
    for m in (a, b, c):
        assert m.logout()[0] == "BYE"


def test_client_limit_starts_another_server(instance_factory, vmail):
    inst = setup_post(instance_factory(root=True), {"alice": vmail, "bob": vmail},
                      extra={"imapd_client_limit": "2"})
    mark = inst.mark()
    s1, s2 = login(inst, "alice"), login(inst, "bob")
    assert len(procs_of_uid(inst, vmail.pw_uid)) == 1
    inst.wait_log(r"post-login server: not listening any more: imapd_client_limit reached",
                  since=mark)
    s3 = login(inst, "alice")
    servers = procs_of_uid(inst, vmail.pw_uid)
    assert len(servers) == 2, servers
    first = server_of(inst, s1.sock)
    assert server_of(inst, s2.sock) == first
    assert server_of(inst, s3.sock) != first and server_of(inst, s3.sock) in servers
    assert not set(servers) & set(inst.children())
    # all three sessions work
    for i, m in enumerate((s1, s2, s3)):
        assert m.append("INBOX", None, None, msg(f"limit {i}"))[0] == "OK"
    assert s1.select("INBOX") == ("OK", [b"2"])   # alice: s1 and s3
    assert s2.select("INBOX") == ("OK", [b"1"])
    assert s3.select("INBOX") == ("OK", [b"2"])
    assert b"limit 1" in fetch_body(s2, 1)
    assert b"limit 0" in fetch_body(s3, 1) and b"limit 2" in fetch_body(s3, 2)
    assert b"limit 2" in fetch_body(s1, 2)
    for m in (s1, s2, s3):
        m.logout()
    # the full server exits once its sessions are gone
    inst.wait_for(lambda: not alive(first), timeout=5, what="full server exit")


def test_idle_and_flags_between_sessions(post, vmail):
    inst = post
    a = login(inst)
    r = Raw(inst.imap_port)
    r.login()
    assert server_of(inst, a.sock) == server_of(inst, r.sock)
    assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+ "), "no IDLE continuation"
    # an APPEND from the other session
    t0 = time.monotonic()
    assert a.append("INBOX", None, None, msg("idle 1"))[0] == "OK"
    assert r.line() == b"* 1 EXISTS\r\n"
    assert time.monotonic() - t0 < 5
    # a delivery written by hand into Maildir/new as the mail user
    new = os.path.join(inst.homes["alice"], "Maildir", "new")
    tmp = os.path.join(inst.homes["alice"], "Maildir", "tmp")
    name = f"{int(time.time())}.M1P{os.getpid()}.posthorn"

    def deliver():
        fd = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, msg("by hand"))
        os.close(fd)
        os.rename(os.path.join(tmp, name), os.path.join(new, name))
        return True
    assert run_as(vmail, deliver)
    # (the idling session may be moving it on to cur/ meanwhile)
    for _ in range(100):
        placed = glob.glob(os.path.join(new, name)) + glob.glob(
            os.path.join(os.path.dirname(new), "cur", name + "*"))
        try:
            owner = os.stat(placed[0]).st_uid if placed else None
        except FileNotFoundError:
            continue
        if owner is not None:
            break
    assert owner == vmail.pw_uid, placed
    lines = []
    while True:
        ln = r.line()
        assert ln, lines
        lines.append(ln)
        if ln == b"* 2 EXISTS\r\n":
            break
        assert not ln.startswith(b"* ") or b"RECENT" in ln or b"OK" in ln, lines
    r.send(b"DONE\r\n")
    assert r.until_tag(b"i")[-1].startswith(b"i OK")
    # the other session sees the new message too
    assert a.select("INBOX") == ("OK", [b"2"])
    assert b"by hand" in fetch_body(a, 2)
    # a flag change by one is reported to the other on NOOP
    assert a.store("1", "+FLAGS", "(\\Flagged)")[0] == "OK"
    lines = r.cmd(b"n", b"NOOP")
    assert lines[-1].startswith(b"n OK")
    assert any(re.match(rb"\* 1 FETCH \(.*FLAGS \([^)]*\\Flagged", ln) for ln in lines), lines
    r.send(b"o LOGOUT\r\n")
    assert r.until_tag(b"o")[-1].startswith(b"o OK")
    r.close()
    a.logout()


def test_slow_reader_does_not_stall_others(post):
    inst = post
    a = login(inst)
    msgs = []
    for i in range(20):
        chunk = (f"line {i:02d} ".encode() + b"x" * 500 + b"\r\n") * 1024   # ~514 KiB
        msgs.append(msg(f"big {i}", chunk))
        assert a.append("INBOX", None, None, msgs[-1])[0] == "OK"
    a.logout()
    slow = Raw(inst.imap_port, rcvbuf=4096, timeout=30)
    slow.login()
    assert b"* 20 EXISTS\r\n" in slow.cmd(b"s", b"SELECT INBOX")
    slow.send(b"f FETCH 1:* BODY.PEEK[]\r\n")
    pid = server_of(inst, slow.sock)
    # the server has output for the slow client it cannot get rid of
    inst.wait_for(lambda: tx_queue(inst, slow.sock) > 0, timeout=5, what="stuck output")
    time.sleep(0.5)
    # another session in the same process meanwhile
    b = Raw(inst.imap_port, timeout=10)
    t0 = time.monotonic()
    b.login("bob")
    assert server_of(inst, b.sock) == pid
    steps = []
    for tag, text in ((b"s", b"SELECT INBOX"),
                      (b"a", b"APPEND INBOX {24+}\r\nSubject: bob\r\n\r\nhello\r\n"),
                      (b"n", b"NOOP"), (b"f", b"FETCH 1 BODY.PEEK[]")):
        t = time.monotonic()
        lines = b.cmd(tag, text)
        steps.append(time.monotonic() - t)
        assert lines[-1].startswith(tag + b" OK"), lines
        if tag == b"f":
            assert lines[0] == b"* 1 FETCH (BODY[] {24}\r\n"
            assert lines[1] == b"Subject: bob\r\n" and lines[3] == b"hello\r\n"
    assert max(steps) < 5, steps
    assert time.monotonic() - t0 < 10
    # ... while the first client is still stuck
    assert tx_queue(inst, slow.sock) > 0
    assert b.cmd(b"o", b"LOGOUT")[-1].startswith(b"o OK")
    b.close()
    # now the slow client reads it all
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    got = []
    while True:
        ln = slow.line()
        assert ln, f"EOF after {len(got)} messages"
        if ln.startswith(b"f "):
            assert ln.startswith(b"f OK"), ln
            break
        mo = re.match(rb"\* (\d+) FETCH \(BODY\[\] \{(\d+)\}\r\n$", ln)
        assert mo, ln
        n, size = int(mo.group(1)), int(mo.group(2))
        data = slow.f.read(size)
        assert len(data) == size
        got.append((n, data))
        assert slow.line() == b")\r\n"
    assert [n for n, _ in got] == list(range(1, 21))
    assert sum(len(d) for _, d in got) == sum(len(m) for m in msgs)
    assert all(d == m for (_, d), m in zip(got, msgs))
    assert slow.cmd(b"o", b"LOGOUT")[-1].startswith(b"o OK")
    slow.close()


def test_kill_9_of_server(post, vmail):
    inst = post
    a = login(inst)
    for i in range(3):
        assert a.append("INBOX", None, None, msg(f"keep {i}"))[0] == "OK"
    a.select("INBOX")
    old = server_of(inst, a.sock)
    assert proc_uid(old) == vmail.pw_uid
    os.kill(old, signal.SIGKILL)
    inst.wait_for(lambda: not alive(old), timeout=5, what="server death")
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        a.noop()
    # a new login works right away, with a new server
    t0 = time.monotonic()
    b = login(inst)
    assert time.monotonic() - t0 < 5
    new = server_of(inst, b.sock)
    assert new != old and proc_uid(new) == vmail.pw_uid
    assert b.select("INBOX") == ("OK", [b"3"])
    for i in range(3):
        assert f"keep {i}".encode() in fetch_body(b, i + 1)
    b.logout()


def test_reload_keeps_sessions_new_server_for_new_logins(post, vmail):
    inst = post
    a = login(inst)
    assert a.append("INBOX", None, None, msg("before reload"))[0] == "OK"
    a.select("INBOX")
    old = server_of(inst, a.sock)
    mark = inst.mark()
    inst.reload()
    inst.wait_log(r"post-login server: not listening any more: master reloaded or stopped",
                  since=mark)
    # the open session goes on (also once the old root imapd processes have
    # gone: the server checks for master once a second)
    time.sleep(1.5)
    assert alive(old)
    assert a.noop()[0] == "OK"
    assert b"before reload" in fetch_body(a, 1)
    # a new login gets a new server
    b = login(inst, "bob")
    new = server_of(inst, b.sock)
    assert new != old and proc_uid(new) == vmail.pw_uid
    assert alive(old)
    assert b.select("INBOX") == ("OK", [b"0"])
    assert a.append("INBOX", None, None, msg("after reload"))[0] == "OK"
    assert b"after reload" in fetch_body(a, 2)
    # the old server ends with its last session; the new one stays
    a.logout()
    inst.wait_for(lambda: not alive(old), timeout=5, what="old server exit")
    assert alive(new)
    assert b.noop()[0] == "OK"
    b.logout()


def test_stop_ends_sessions(post):
    inst = post
    r = Raw(inst.imap_port)
    r.login()
    assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    pid = server_of(inst, r.sock)
    assert proc_uid(pid) != 0
    t0 = time.monotonic()
    inst.stop()
    inst.wait_for(lambda: not inst.processes(), timeout=5, what="all processes gone")
    assert not alive(pid)
    rest = b""
    r.sock.settimeout(5)
    while True:
        d = r.sock.recv(4096)
        if not d:
            break
        rest += d
    assert time.monotonic() - t0 < 6
    assert b"* BYE Server shutting down.\r\n" in rest, rest
    r.close()


def test_userip_limit_counts_post_sessions(instance_factory, vmail):
    inst = setup_post(instance_factory(root=True), {"alice": vmail, "bob": vmail},
                      extra={"mail_max_userip_connections": "2"})
    mark = inst.mark()
    a1, a2 = login(inst), login(inst)
    assert server_of(inst, a1.sock) == server_of(inst, a2.sock)

    def third():
        c = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=10)
        try:
            return c, c.login("alice@example.com", PASSWORD)
        except imaplib.IMAP4.error as e:
            c.shutdown()
            return None, e
    c, err = third()
    assert c is None, "third session of alice from 127.0.0.1 accepted"
    assert ("[UNAVAILABLE] Maximum number of connections from user+IP exceeded "
            "(mail_max_userip_connections=2)") in str(err)
    inst.wait_log(r"alice@example.com: login refused: Maximum number of connections "
                  r"from user\+IP exceeded", since=mark)
    # the refused login did not take a slot, and bob is counted apart
    b = login(inst, "bob")
    # a session that logs out frees its slot
    a1.logout()
    deadline = time.monotonic() + 3
    while True:
        c, err = third()
        if c is not None:
            break
        assert time.monotonic() < deadline, f"slot never released: {err}"
        time.sleep(0.1)
    assert c.select("INBOX")[0] == "OK"
    # ... and the limit is still 2
    d, err = third()
    assert d is None and "mail_max_userip_connections=2" in str(err)
    for m in (a2, b, c):
        assert m.logout()[0] == "BYE"


def test_hand_over_only_from_root(post, vmail, vmail2):
    inst = post
    a = login(inst)
    pid = server_of(inst, a.sock)
    name = post_name(inst, vmail.pw_uid, vmail.pw_gid)
    assert name in abstract_names(), (name, [n for n in abstract_names() if "imap-post" in n])
    mark = inst.mark()

    def intrude():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect("\0" + name)
        fd = os.open("/dev/null", os.O_RDONLY)
        line = (f"IMAP1\tx\talice@example.com\tPLAIN\t0\t1\t127.0.0.1\t127.0.0.1\t"
                f"{inst.homes['alice']}\tmaildir:~/Maildir\t0\n").encode()
        try:
            socket.send_fds(s, [line], [fd])   # a well-formed hand-over
        except OSError:
            pass
        try:
            reply = s.recv(100)
        except OSError:
            reply = b""
        return reply == b""          # closed without an answer
    for who in (vmail2, vmail):
        assert run_as(who, intrude)
        inst.wait_log(rf"post-login server: refusing a hand-over from uid {who.pw_uid} "
                      r"\(not root\)", since=mark)
    assert "bad hand-over" not in inst.log()[mark:]
    # the server goes on serving its session and takes new ones
    assert alive(pid)
    assert a.append("INBOX", None, None, msg("after intruder"))[0] == "OK"
    b = login(inst, "bob")
    assert server_of(inst, b.sock) == pid
    assert a.select("INBOX") == ("OK", [b"1"])
    a.logout()
    b.logout()


def test_squatter_gets_nothing(instance_factory, vmail, vmail2):
    inst = setup_post(instance_factory(root=True), {"alice": vmail})
    name = post_name(inst, vmail.pw_uid, vmail.pw_gid)
    ready_r, ready_w = os.pipe()
    res_r, res_w = os.pipe()
    stop_r, stop_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(ready_r)
            os.close(res_r)
            os.close(stop_w)
            os.setgroups([])
            os.setgid(vmail2.pw_gid)
            os.setuid(vmail2.pw_uid)
            ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            ls.bind("\0" + name)
            ls.listen(16)
            os.write(ready_w, b"R")
            conns = nbytes = nfds = 0
            ls.settimeout(0.1)
            while True:
                try:
                    s, _ = ls.accept()
                except socket.timeout:
                    s = None
                if s is not None:
                    conns += 1
                    s.settimeout(2)
                    try:
                        while True:
                            data, anc, _fl, _a = s.recvmsg(65536, socket.CMSG_SPACE(64))
                            nfds += sum(len(d) // 4 for lvl, typ, d in anc
                                        if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS)
                            if not data:
                                break
                            nbytes += len(data)
                    except OSError:
                        pass
                    s.close()
                import select
                if select.select([stop_r], [], [], 0)[0]:
                    break
            os.write(res_w, f"{conns} {nbytes} {nfds}".encode())
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(ready_w)
    os.close(res_w)
    os.close(stop_r)
    try:
        assert os.read(ready_r, 1) == b"R", "squatter did not start"
        assert name in abstract_names()
        mark = inst.mark()
        a = login(inst)
        assert a.append("INBOX", None, None, msg("not for the squatter"))[0] == "OK"
        assert a.select("INBOX") == ("OK", [b"1"])
        assert b"not for the squatter" in fetch_body(a, 1)
        inst.wait_log(rf"post-login server name for uid {vmail.pw_uid} is held by pid {pid} "
                      rf"uid {vmail2.pw_uid} gid {vmail2.pw_gid}: not used", since=mark)
        # served the old way: a child of master that became alice's uid
        served = server_of(inst, a.sock)
        assert proc_uid(served) == vmail.pw_uid
        assert served in inst.children("imapd")
        assert "post-login server for uid" not in inst.log()
        a.logout()
        inst.wait_for(lambda: not alive(served), timeout=5, what="fallback process exit")
    finally:
        try:
            os.write(stop_w, b"S")
        except OSError:
            pass
        res = os.read(res_r, 100).decode()
        os.waitpid(pid, 0)
        for fd in (ready_r, res_r, stop_w):
            os.close(fd)
    assert res, "squatter failed"
    conns, nbytes, nfds = map(int, res.split())
    assert (nbytes, nfds) == (0, 0), res
