"""pop3d's login split, on a root instance: the process that speaks the
pre-login protocol runs as login_user, the one that serves the logged-in
session as the mail user's uid/gid from the userdb (a system user, or a
virtual uid/gid no account has), never as root or mail_owner; for STLS on
the plain port and for implicit TLS (pop3s). Identities are read from
/proc/PID/status (every one of real/effective/saved/fs ids)."""
import os
import pwd
import socket
import ssl
import time

import pytest

from instance import ensure_user

PASSWORD = "secret"
USER = "alice@example.com"
VIRTUAL_ID = 5123          # a uid/gid with no passwd entry: a virtual user

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def ids(pid):
    """(uids, gids) of a process: four values each, or None when gone."""
    u = g = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("Uid:"):
                    u = tuple(int(x) for x in ln.split()[1:5])
                elif ln.startswith("Gid:"):
                    g = tuple(int(x) for x in ln.split()[1:5])
    except OSError:
        return None
    return u, g


def children_of(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(p))
    return out


def make_cert(directory):
    import subprocess
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def start_pop3(inst, uid, gid):
    home = os.path.join(inst.dir, "home", "alice")
    os.makedirs(home)
    users = os.path.join(inst.dir, "users")
    with open(users, "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n")
    cert, key = make_cert(inst.dir)
    port, sport = inst.free_ports(2)
    inst.write_main_cf({
        "auth_passdb": f"passwd-file:{users}",
        "auth_userdb": f"passwd-file:{users}",
        "auth_failure_delay": "0",
        "mail_location": "maildir:~/Maildir",
        "ssl_cert": cert,
        "ssl_key": key,
    })
    inst.write_master_cf("auth unix - n n - 1 auth\n"
                         "auth-userdb unix - n n - 1 auth\n"
                         f"127.0.0.1:{port} inet n - n - 10 pop3d\n"
                         f"127.0.0.1:{sport} inet n - n - 10 pop3d"
                         " -o pop3d_tls_wrappermode=yes\n")
    inst.start()
    inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "auth")),
                  what="auth socket")
    maildir = os.path.join(home, "Maildir")
    for d in (home, maildir) + tuple(os.path.join(maildir, s) for s in ("cur", "new", "tmp")):
        os.makedirs(d, exist_ok=True)
        os.chown(d, uid, gid)
    inst.pop_port, inst.pops_port, inst.maildir = port, sport, maildir
    return inst


def deliver(inst, uid, gid, body):
    name = f"{time.time():.6f}.split.test"
    tmp = os.path.join(inst.maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(body)
    os.chown(tmp, uid, gid)
    os.rename(tmp, os.path.join(inst.maildir, "new", name))


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Conn:
    """A POP3 line reader over a plain or TLS socket."""

    def __init__(self, sock):
        self.sock = sock
        self.f = sock.makefile("rb")

    def cmd(self, text):
        self.sock.sendall(text + b"\r\n")
        return self.f.readline()

    def multi(self):
        lines = []
        while (ln := self.f.readline()) != b".\r\n":
            assert ln, lines
            lines.append(ln)
        return lines

    def tls(self):
        self.sock = tls_ctx().wrap_socket(self.sock, server_hostname="localhost")
        self.f = self.sock.makefile("rb")


def connect(inst, implicit_tls):
    if implicit_tls:
        s = tls_ctx().wrap_socket(socket.create_connection(("127.0.0.1", inst.pops_port),
                                                           timeout=20),
                                  server_hostname="localhost")
        c = Conn(s)
    else:
        c = Conn(socket.create_connection(("127.0.0.1", inst.pop_port), timeout=20))
    assert c.f.readline().startswith(b"+OK")
    return c


def prelogin_parent(inst, login_uid):
    """The root pop3d whose child (the pre-login process) runs as login_user."""
    for p in inst.children("pop3d"):
        for k in children_of(p):
            got = ids(k)
            if got and got[0] == (login_uid,) * 4:
                return p, k
    return None, None


@pytest.mark.parametrize("virtual", [False, True], ids=["system-user", "virtual-uid"])
@pytest.mark.parametrize("implicit_tls", [False, True], ids=["stls", "pop3s"])
def test_pop3_login_split_identities(instance_factory, virtual, implicit_tls):
    inst = instance_factory(root=True)
    if virtual:
        uid = gid = VIRTUAL_ID
        with pytest.raises(KeyError):
            pwd.getpwuid(VIRTUAL_ID)
    else:
        pw = ensure_user("phvmail")
        uid, gid = pw.pw_uid, pw.pw_gid
    owner = pwd.getpwnam(inst.mail_owner)   # login_user defaults to $mail_owner
    assert owner.pw_uid not in (0, uid)
    start_pop3(inst, uid, gid)
    deliver(inst, uid, gid, b"Subject: one\n\nfirst\n")
    deliver(inst, uid, gid, b"Subject: two\n\nsecond\n")

    for round_ in range(2):     # the post-login process never serves a second client
        c = connect(inst, implicit_tls)
        if not implicit_tls:
            assert c.cmd(b"STLS").startswith(b"+OK")
            c.tls()
        # pre-login: a root parent; the protocol is spoken by its child as login_user
        inst.wait_for(lambda: prelogin_parent(inst, owner.pw_uid)[0] is not None,
                      what="pre-login child as login_user")
        parent, child = prelogin_parent(inst, owner.pw_uid)
        assert ids(parent) == ((0,) * 4, (0,) * 4)
        assert ids(child)[1] == (owner.pw_gid,) * 4
        assert c.cmd(b"CAPA").startswith(b"+OK")
        caps = c.multi()
        assert b"USER\r\n" in caps and b"STLS\r\n" not in caps
        assert not any(x.startswith(b"APOP") for x in caps)
        assert c.cmd(b"USER " + USER.encode()).startswith(b"+OK")
        assert c.cmd(b"PASS " + PASSWORD.encode()).startswith(b"+OK Logged in")
        # post-login: the same parent now is the mail user, for good
        assert ids(parent) == ((uid,) * 4, (gid,) * 4)
        # TLS: the pre-login child stays as the proxy, still login_user
        assert ids(child) == ((owner.pw_uid,) * 4, (owner.pw_gid,) * 4)
        assert c.cmd(b"STAT").startswith(b"+OK %d " % (2 - round_))
        assert c.cmd(b"RETR 1").startswith(b"+OK")
        body = b"".join(c.multi())
        assert body == (b"Subject: one\r\n\r\nfirst\r\n" if round_ == 0
                        else b"Subject: two\r\n\r\nsecond\r\n")
        assert c.cmd(b"DELE 1").startswith(b"+OK")
        assert c.cmd(b"QUIT").startswith(b"+OK")
        # the files pop3d created belong to the user, not root
        lock = os.path.join(inst.maildir, "posthorn-pop3.lock")
        assert os.stat(lock).st_uid == uid
        assert not [f for f in os.listdir(os.path.join(inst.maildir, "cur"))
                    if os.stat(os.path.join(inst.maildir, "cur", f)).st_uid != uid]
        inst.wait_for(lambda: ids(parent) is None, what="post-login process exit")
        c.sock.close()
    inst.wait_log(r"Login: user=<alice@example.com>, method=USER, rip=127\.0\.0\.1, "
                  r"lip=127\.0\.0\.1, TLS")
    assert len(os.listdir(os.path.join(inst.maildir, "cur"))) == 0


def test_pop3_split_refuses_uid_0_and_pipelined_login(instance_factory):
    inst = instance_factory(root=True)
    pw = ensure_user("phvmail")
    start_pop3(inst, pw.pw_uid, pw.pw_gid)
    deliver(inst, pw.pw_uid, pw.pw_gid, b"Subject: p\n\npipelined\n")
    # USER, PASS and two commands in one write: the bytes after PASS reach
    # the post-login process
    c = connect(inst, False)
    c.sock.sendall(b"USER " + USER.encode() + b"\r\nPASS " + PASSWORD.encode()
                   + b"\r\nSTAT\r\nQUIT\r\n")
    assert c.f.readline().startswith(b"+OK")
    assert c.f.readline().startswith(b"+OK Logged in")
    assert c.f.readline().startswith(b"+OK 1 ")
    assert c.f.readline().startswith(b"+OK")
    c.sock.close()
    # a userdb entry with uid 0 is never served
    inst.stop()
    inst = instance_factory(root=True)
    start_pop3(inst, 0, 0)
    c = connect(inst, False)
    assert c.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    assert c.cmd(b"PASS " + PASSWORD.encode()).startswith(b"-ERR [SYS/TEMP]")
    assert c.f.readline() == b""
    inst.wait_log(r"login refused: userdb gives no uid/gid, or uid/gid 0")
