"""pop3d end to end: an instance with auth + pop3d (plain on one port, pop3s
with pop3d_tls_wrappermode on another), driven by Python's poplib, raw
sockets for hostile input, openssl s_client -starttls pop3, and Debian's
fetchmail. Messages are dropped into the user's Maildir/new as any MDA
would; expected bytes, UIDs and flags are read back from the files (the
",U=" UID in names, posthorn-uidvalidity, ":2,S" flags), not from pop3d."""
import base64
import mailbox
import os
import poplib
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from fetchmail import run_fetchmail

PASSWORD = "secret"
USER = "alice@example.com"


def make_cert(directory, uid, gid):
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    for p in (cert, key):
        os.chown(p, uid, gid)
    os.chmod(key, 0o600)
    return cert, key


def setup_pop3(inst, extra=None):
    home = os.path.join(inst.dir, "home", "alice")
    os.makedirs(home)
    os.chown(os.path.dirname(home), inst.uid, inst.gid)
    os.chown(home, inst.uid, inst.gid)
    users = os.path.join(inst.dir, "users")
    with open(users, "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASSWORD}:{inst.uid}:{inst.gid}::{home}::\n")
    cert, key = make_cert(inst.dir, inst.uid, inst.gid)
    port, sport, iport = inst.free_ports(3)
    params = {
        "auth_passdb": f"passwd-file:{users}",
        "auth_userdb": f"passwd-file:{users}",
        "auth_failure_delay": "0",
        "mail_location": "maildir:~/Maildir",
        "ssl_cert": cert,
        "ssl_key": key,
        "login_timeout": "5s",
    }
    params.update(extra or {})
    inst.write_main_cf(params)
    master = ("auth unix - n n - 1 auth\n"
              "auth-userdb unix - n n - 1 auth\n"
              f"127.0.0.1:{port} inet n - n - 10 pop3d\n"
              f"127.0.0.1:{sport} inet n - n - 10 pop3d -o pop3d_tls_wrappermode=yes\n")
    if os.path.exists(inst.daemon("imapd")):
        master += f"127.0.0.1:{iport} inet n - n - 10 imapd\n"
    inst.write_master_cf(master)
    inst.start()
    inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "auth")),
                  what="auth socket")
    inst.pop_port, inst.pops_port, inst.imap_port = port, sport, iport
    inst.home = home
    inst.maildir = os.path.join(home, "Maildir")
    for d in ("", "cur", "new", "tmp"):
        p = os.path.join(inst.maildir, d)
        os.makedirs(p, exist_ok=True)
        os.chown(p, inst.uid, inst.gid)
    return inst


@pytest.fixture
def pop(instance):
    return setup_pop3(instance)


_seq = [0]


def deliver(inst, body_bytes):
    """Drop one message (LF line ends, as Maildir stores them) into new/."""
    _seq[0] += 1
    name = f"{int(time.time())}.M{_seq[0]}P{os.getpid()}.test"
    tmp = os.path.join(inst.maildir, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(body_bytes)
    os.chown(tmp, inst.uid, inst.gid)
    os.rename(tmp, os.path.join(inst.maildir, "new", name))
    return name


def message(i, extra=b""):
    return (b"From: bob@example.org\nTo: alice@example.com\nSubject: test %d\n"
            b"Message-ID: <m%d@example.org>\n\nline one of %d\n.leading dot\n..two dots\n"
            % (i, i, i)) + extra + b"last line\n"


def crlf(b):
    return b.replace(b"\n", b"\r\n")


def login(inst):
    p = poplib.POP3("127.0.0.1", inst.pop_port, timeout=20)
    p.user(USER)
    p.pass_(PASSWORD)
    return p


def cur_files(inst):
    return sorted(os.listdir(os.path.join(inst.maildir, "cur")))


def uid_of(name):
    return int(re.search(r",U=(\d+)", name).group(1))


def uidvalidity(inst):
    with open(os.path.join(inst.maildir, "posthorn-uidvalidity")) as f:
        return int(f.read().split()[0])


class Raw:
    """A raw POP3 connection for byte-exact and hostile exchanges."""

    def __init__(self, port, source=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20,
                                             source_address=(source, 0) if source else None)
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        return self.f.readline()

    def cmd(self, text):
        self.send(text + b"\r\n")
        return self.line()

    def multi(self):
        lines = []
        while True:
            ln = self.f.readline()
            assert ln, f"EOF in multi-line reply: {lines}"
            if ln == b".\r\n":
                return lines
            lines.append(ln)

    def close(self):
        self.sock.close()


def test_every_command_with_poplib(pop):
    bodies = [message(1), message(2, (b"x" * 1000 + b"\n") * 5), message(3, b"\n\nno final newline")]
    bodies[2] = bodies[2].rstrip(b"\n")
    for b in bodies:
        deliver(pop, b)
    p = poplib.POP3("127.0.0.1", pop.pop_port, timeout=20)
    assert p.getwelcome().startswith(b"+OK")
    caps = p.capa()
    for c in ("TOP", "UIDL", "USER", "SASL", "STLS", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"):
        assert c in caps, caps
    assert caps["SASL"] == ["PLAIN", "LOGIN"]
    assert "EXPIRE" not in caps and "LOGIN-DELAY" not in caps
    assert p.user(USER).startswith(b"+OK")
    assert p.pass_(PASSWORD).startswith(b"+OK")
    sizes = [len(crlf(b)) + (0 if b.endswith(b"\n") else 0) for b in bodies]
    assert p.stat() == (3, sum(sizes))
    resp, lst, _ = p.list()
    assert [tuple(map(int, x.split())) for x in lst] == [(1, sizes[0]), (2, sizes[1]), (3, sizes[2])]
    assert p.list(2) == b"+OK 2 %d" % sizes[1]
    # UIDL = %08x uid %08x uidvalidity, UIDs from the file names
    files = cur_files(pop)
    uids = sorted(uid_of(n) for n in files)
    uv = uidvalidity(pop)
    resp, ul, _ = p.uidl()
    assert ul == [b"%d %08x%08x" % (i + 1, u, uv) for i, u in enumerate(uids)]
    assert p.uidl(3) == b"+OK 3 %08x%08x" % (uids[2], uv)
    # RETR: byte-identical after poplib's dot-unstuffing, CRLF line ends
    for i, b in enumerate(bodies):
        resp, lines, octets = p.retr(i + 1)
        assert resp.startswith(b"+OK")
        assert b"\r\n".join(lines) + b"\r\n" == crlf(b) + (b"" if b.endswith(b"\n") else b"\r\n")
    # TOP: header, empty line, n body lines
    resp, lines, _ = p.top(1, 2)
    head, _, body = message(1).partition(b"\n\n")
    assert lines == head.split(b"\n") + [b""] + body.split(b"\n")[:2]
    resp, lines, _ = p.top(1, 0)
    assert lines == head.split(b"\n") + [b""]
    # DELE / RSET / NOOP
    assert p.dele(1).startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.retr(1)
    with pytest.raises(poplib.error_proto):
        p.dele(1)
    assert p.stat() == (2, sizes[1] + sizes[2])
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 3
    assert p.noop().startswith(b"+OK")
    with pytest.raises(poplib.error_proto):
        p.retr(4)
    with pytest.raises(poplib.error_proto):
        p.retr(0)
    assert p.dele(2).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    # UPDATE expunged message 2, the others got \Seen from RETR
    left = cur_files(pop)
    assert len(left) == 2 and all(n.endswith(",S") or ":2,S" in n for n in left), left
    assert uids[1] not in [uid_of(n) for n in left]
    # UIDLs are stable in the next session
    p = login(pop)
    assert p.uidl()[1] == [b"1 %08x%08x" % (uids[0], uv), b"2 %08x%08x" % (uids[2], uv)]
    p.quit()
    pop.wait_log(r"pop3d\[\d+\]: Disconnected: Logged out: user=<alice@example.com>")


def test_deletions_commit_only_at_quit(pop):
    for i in range(3):
        deliver(pop, message(i))
    p = login(pop)
    assert p.stat()[0] == 3
    p.dele(1)
    p.dele(2)
    p.sock.shutdown(socket.SHUT_RDWR)   # connection lost: no UPDATE state
    p.sock.close()
    time.sleep(0.3)
    p = login(pop)
    assert p.stat()[0] == 3
    p.dele(3)
    p.quit()
    assert len(cur_files(pop)) == 2


def test_second_session_in_use(pop):
    deliver(pop, message(1))
    p = login(pop)
    r = Raw(pop.pop_port)
    assert r.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    reply = r.cmd(b"PASS " + PASSWORD.encode())
    assert reply.startswith(b"-ERR [IN-USE]"), reply
    # still in AUTHORIZATION: QUIT works, the first session is unaffected
    assert r.cmd(b"STAT").startswith(b"-ERR")
    assert r.cmd(b"QUIT").startswith(b"+OK")
    r.close()
    assert p.stat()[0] == 1
    p.quit()
    # lock released at the end of the session
    p = login(pop)
    p.quit()


def test_auth_sasl(pop):
    tok = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
    r = Raw(pop.pop_port)
    assert r.cmd(b"AUTH PLAIN " + tok).startswith(b"+OK")
    assert r.cmd(b"STAT").startswith(b"+OK 0 0")
    assert r.cmd(b"QUIT").startswith(b"+OK")
    r.close()
    # continuation, LOGIN
    r = Raw(pop.pop_port)
    assert r.cmd(b"AUTH LOGIN").startswith(b"+ ")
    assert r.cmd(base64.b64encode(USER.encode())).startswith(b"+ ")
    assert r.cmd(base64.b64encode(PASSWORD.encode())).startswith(b"+OK")
    r.close()
    time.sleep(0.2)
    # cancel, bad base64, wrong password, bare AUTH listing, unknown mech
    r = Raw(pop.pop_port)
    assert r.cmd(b"AUTH PLAIN").startswith(b"+ ")
    assert r.cmd(b"*").startswith(b"-ERR")
    assert r.cmd(b"AUTH PLAIN !!!notbase64").startswith(b"-ERR")
    bad = base64.b64encode(b"\0" + USER.encode() + b"\0wrong")
    assert r.cmd(b"AUTH PLAIN " + bad).startswith(b"-ERR [AUTH]")
    assert r.cmd(b"AUTH") == b"+OK\r\n"
    assert r.multi() == [b"PLAIN\r\n", b"LOGIN\r\n"]
    assert r.cmd(b"AUTH CRAM-MD5").startswith(b"-ERR")
    assert r.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    assert r.cmd(b"PASS wrong2").startswith(b"-ERR [AUTH]")
    # the third failure ends the session
    assert r.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    assert r.cmd(b"PASS wrong3").startswith(b"-ERR [AUTH]")
    assert r.line() == b"-ERR Too many authentication failures.\r\n"
    assert r.line() == b""
    r.close()
    pop.wait_log(r"authentication failed: user=<alice@example.com>")


def test_wrong_password_and_state_errors(pop):
    r = Raw(pop.pop_port)
    assert r.cmd(b"PASS x").startswith(b"-ERR")          # no USER yet
    assert r.cmd(b"STAT").startswith(b"-ERR")
    assert r.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    assert r.cmd(b"PASS nope").startswith(b"-ERR [AUTH]")
    assert r.cmd(b"APOP " + USER.encode() + b" " + b"0" * 32).startswith(b"-ERR")
    assert r.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    # password with spaces is passed whole (and is wrong here)
    assert r.cmd(b"PASS secret with spaces").startswith(b"-ERR [AUTH]")
    r.close()


def test_plaintext_refused_before_tls_then_stls(pop):
    # client address 127.0.0.2 != our 127.0.0.1: not secured (Dovecot's rule)
    r = Raw(pop.pop_port, source="127.0.0.2")
    assert r.cmd(b"CAPA").startswith(b"+OK")
    caps = r.multi()
    assert b"STLS\r\n" in caps and b"USER\r\n" not in caps
    assert not any(c.startswith(b"SASL") for c in caps)
    assert r.cmd(b"USER " + USER.encode()).startswith(b"-ERR [AUTH] Plaintext authentication disallowed")
    tok = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
    assert r.cmd(b"AUTH PLAIN " + tok).startswith(b"-ERR [AUTH]")
    # STLS; a command pipelined before the handshake is discarded
    r.send(b"STLS\r\nNOOP\r\n")
    assert r.line().startswith(b"+OK")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(r.sock, server_hostname="localhost")
    f = s.makefile("rb")
    s.sendall(b"CAPA\r\n")
    assert f.readline().startswith(b"+OK")
    caps = []
    while (ln := f.readline()) != b".\r\n":
        caps.append(ln)
    assert b"USER\r\n" in caps and b"STLS\r\n" not in caps
    s.sendall(b"USER " + USER.encode() + b"\r\nPASS " + PASSWORD.encode() + b"\r\n")
    assert f.readline().startswith(b"+OK")
    assert f.readline().startswith(b"+OK Logged in")
    s.sendall(b"STLS\r\n")
    assert f.readline().startswith(b"-ERR")
    s.close()
    pop.wait_log(r"Login: user=<alice@example.com>, method=USER, rip=127.0.0.2, lip=127.0.0.1, TLS")


def test_stls_with_poplib_and_pop3s(pop):
    deliver(pop, message(7))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    p = poplib.POP3("127.0.0.1", pop.pop_port, timeout=20)
    p.stls(context=ctx)
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.stat()[0] == 1
    p.quit()
    p = poplib.POP3_SSL("127.0.0.1", pop.pops_port, timeout=20, context=ctx)
    assert p.getwelcome().startswith(b"+OK")
    assert "STLS" not in p.capa()
    p.user(USER)
    p.pass_(PASSWORD)
    resp, lines, _ = p.retr(1)
    assert b"\r\n".join(lines) + b"\r\n" == crlf(message(7))
    p.quit()


def test_openssl_s_client_starttls(pop):
    deliver(pop, message(3))
    script = (f"USER {USER}\r\nPASS {PASSWORD}\r\nSTAT\r\nQUIT\r\n").encode()
    proc = subprocess.Popen(["openssl", "s_client", "-starttls", "pop3", "-quiet",
                             "-connect", f"127.0.0.1:{pop.pop_port}"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # s_client sends its own STLS; give the handshake time before input
    time.sleep(1.0)
    out, err = proc.communicate(script, timeout=30)
    text = out.decode(errors="replace")
    assert "+OK Logged in." in text, (text, err)
    assert re.search(r"\+OK 1 \d+", text), text
    pop.wait_log(r"Login: user=<alice@example.com>, method=USER, .*, TLS")


def test_hostile_input(pop):
    r = Raw(pop.pop_port)
    assert r.cmd(b"X" * 10000).startswith(b"-ERR")
    assert r.cmd(b"NOOP\0junk").startswith(b"-ERR")
    assert r.cmd(b"").startswith(b"-ERR")
    assert r.cmd(b"\xff\xfe").startswith(b"-ERR")
    assert r.cmd(b"CAPA extra").startswith(b"-ERR")
    assert r.cmd(b"USER a b c d e f").startswith(b"-ERR")
    assert r.cmd(b"USER " + USER.encode()).startswith(b"+OK")
    assert r.cmd(b"PASS " + PASSWORD.encode()).startswith(b"+OK")
    for bad in (b"RETR", b"RETR -1", b"RETR 99999999999999", b"RETR 1x", b"TOP 1", b"TOP 1 -2",
                b"LIST 0", b"DELE", b"UIDL a", b"STAT 1", b"USER x"):
        assert r.cmd(bad).startswith(b"-ERR"), bad
    # 20 errors in a row end the session
    for _ in range(30):
        r.send(b"BOGUS\r\n")
    lines = []
    while (ln := r.line()):
        lines.append(ln)
    assert lines[-1] == b"-ERR Too many invalid commands.\r\n"
    assert len(lines) < 30
    r.close()
    # pre-login timeout (login_timeout = 5s)
    r = Raw(pop.pop_port)
    r.sock.settimeout(15)
    t0 = time.monotonic()
    assert r.line().startswith(b"-ERR Disconnected for inactivity")
    assert time.monotonic() - t0 < 12
    r.close()
    # the daemon survived all of it
    login(pop).quit()


def test_pipelining(pop):
    for i in range(3):
        deliver(pop, message(i))
    r = Raw(pop.pop_port)
    r.send(b"USER " + USER.encode() + b"\r\nPASS " + PASSWORD.encode() +
           b"\r\nSTAT\r\nRETR 1\r\nDELE 2\r\nLIST\r\nQUIT\r\n")
    assert r.line().startswith(b"+OK")
    assert r.line().startswith(b"+OK Logged in")
    assert r.line().startswith(b"+OK 3 ")
    assert r.line().startswith(b"+OK")
    body = r.multi()
    assert b"".join(body) == crlf(message(0)).replace(b"\r\n.", b"\r\n..")
    assert r.line().startswith(b"+OK Marked")
    assert r.line().startswith(b"+OK 2 messages")
    assert len(r.multi()) == 2
    assert r.line().startswith(b"+OK Logging out")
    r.close()


def test_dot_stuffing_on_the_wire(pop):
    deliver(pop, b"Subject: dots\n\n.\n..\n.x\nend\n")
    r = Raw(pop.pop_port)
    r.cmd(b"USER " + USER.encode())
    r.cmd(b"PASS " + PASSWORD.encode())
    assert r.cmd(b"RETR 1").startswith(b"+OK")
    assert r.multi() == [b"Subject: dots\r\n", b"\r\n", b"..\r\n", b"...\r\n", b"..x\r\n", b"end\r\n"]
    r.cmd(b"QUIT")
    r.close()


@pytest.mark.parametrize("flag_updates", [True, False])
def test_seen_flag_and_no_flag_updates(instance, flag_updates):
    inst = setup_pop3(instance, None if flag_updates else {"pop3_no_flag_updates": "yes"})
    deliver(inst, message(1))
    deliver(inst, message(2))
    p = login(inst)
    p.retr(1)
    p.top(2, 1)
    p.quit()
    files = cur_files(inst)
    seen = [n for n in files if re.search(r":2,[A-Za-z]*S", n)]
    assert len(seen) == (1 if flag_updates else 0), files


def test_pop3_deleted_flag_hides_instead_of_expunging(instance):
    inst = setup_pop3(instance, {"pop3_deleted_flag": "$$POP3Deleted"})
    deliver(inst, message(1))
    deliver(inst, message(2))
    p = login(inst)
    p.dele(1)
    p.quit()
    assert len(cur_files(inst)) == 2          # still on disk for IMAP
    with open(os.path.join(inst.maildir, "posthorn-keywords")) as f:
        assert "$POP3Deleted" in f.read()
    p = login(inst)
    assert p.stat()[0] == 1
    resp, lines, _ = p.retr(1)
    assert b"Subject: test 2" in lines
    p.quit()


def test_capa_expire_login_delay(instance):
    inst = setup_pop3(instance, {"pop3_expire": "30d", "pop3_login_delay": "300s"})
    p = poplib.POP3("127.0.0.1", inst.pop_port, timeout=20)
    caps = p.capa()
    assert caps["EXPIRE"] == ["30"] and caps["LOGIN-DELAY"] == ["300"]
    p.quit()


def test_bad_uidl_format_refused(instance):
    inst = setup_pop3(instance, {"pop3_uidl_format": "%m"})
    mark = inst.mark()
    try:
        socket.create_connection(("127.0.0.1", inst.pop_port), timeout=5).recv(100)
    except OSError:
        pass
    inst.wait_log(r"pop3d\[\d+\]: fatal: pop3_uidl_format: unsupported variable", since=mark)


def fetchmail(inst, tmp_path, keep, mbox):
    return run_fetchmail(tmp_path, mbox, inst.pop_port, "pop3 uidl", USER, PASSWORD,
                         "keep" if keep else "no keep fetchall",
                         idfile=tmp_path / "fetchids")


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail not installed (tools/deps test)")
def test_fetchmail_keep_then_fetch_all(pop, tmp_path):
    for i in range(3):
        deliver(pop, message(i))
    mbox = tmp_path / "mbox"
    p = fetchmail(pop, tmp_path, True, mbox)
    assert p.returncode == 0, p.stdout + p.stderr
    got = [m for m in mailbox.mbox(str(mbox))]
    assert sorted(m["Subject"] for m in got) == ["test 0", "test 1", "test 2"]
    assert len(cur_files(pop)) == 3            # keep: left on the server
    # nothing new: fetchmail's UIDL list says all seen (exit 1 = no mail)
    p = fetchmail(pop, tmp_path, True, mbox)
    assert p.returncode == 1, p.stdout + p.stderr
    assert len(mailbox.mbox(str(mbox))) == 3
    deliver(pop, message(9))
    p = fetchmail(pop, tmp_path, True, mbox)
    assert p.returncode == 0, p.stdout + p.stderr
    assert [m["Subject"] for m in mailbox.mbox(str(mbox))][-1] == "test 9"
    assert len(mailbox.mbox(str(mbox))) == 4
    # without keep: everything downloaded and deleted from the server
    mbox2 = tmp_path / "mbox2"
    p = fetchmail(pop, tmp_path, False, mbox2)
    assert p.returncode == 0, p.stdout + p.stderr
    msgs = list(mailbox.mbox(str(mbox2)))
    assert len(msgs) == 4
    body = [m for m in msgs if m["Subject"] == "test 1"][0].get_payload()
    assert body == "line one of 1\n.leading dot\n..two dots\nlast line\n"
    assert cur_files(pop) == [] and os.listdir(os.path.join(pop.maildir, "new")) == []


def test_imap_and_pop3_on_the_same_mailbox(pop):
    import imaplib
    if not os.path.exists(pop.daemon("imapd")):
        pytest.skip("imapd not built in this tree")
    for i in range(3):
        deliver(pop, message(i))
    p = login(pop)
    m = imaplib.IMAP4("127.0.0.1", pop.imap_port, timeout=20)
    m.login(USER, PASSWORD)
    typ, data = m.select("INBOX")
    assert data == [b"3"]
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = [int(x) for x in data[0].split()]
    typ, data = m.status("INBOX", "(UIDVALIDITY)")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
    assert p.uidl()[1] == [b"%d %08x%08x" % (i + 1, u, uv) for i, u in enumerate(uids)]
    # IMAP expunges message 2 while POP3 holds the maildrop
    m.uid("STORE", str(uids[1]), "+FLAGS", r"(\Deleted)")
    m.expunge()
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    p.dele(1)
    p.quit()
    m.noop()
    typ, data = m.uid("SEARCH", None, "ALL")
    assert [int(x) for x in data[0].split()] == [uids[2]]
    m.logout()
