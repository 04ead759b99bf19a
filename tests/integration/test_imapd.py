"""imapd end to end: an instance with auth + imapd on a loopback port,
driven by Python's imaplib (and raw sockets for hostile input)."""
import imaplib
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

PASSWORD = "secret"


def make_cert(inst):
    cert = os.path.join(inst.dir, "cert.pem")
    key = os.path.join(inst.dir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=posthorn.test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    for f in (cert, key):
        os.chown(f, inst.uid, inst.gid)
    return cert, key


def setup_imap(instance, tls=False, extra=None, uid=None, gid=None):
    uid = instance.uid if uid is None else uid
    gid = instance.gid if gid is None else gid
    home = os.path.join(instance.dir, "home", "alice")
    os.makedirs(home)
    os.chown(home, uid, gid)
    users = os.path.join(instance.dir, "users")
    with open(users, "w") as f:
        f.write(f"alice@example.com:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}::\n")
    port, sport = instance.free_ports(2)
    params = {
        "auth_passdb": f"passwd-file:{users}",
        "auth_userdb": f"passwd-file:{users}",
        "auth_failure_delay": "0",
        "mail_location": "maildir:~/Maildir",
        "imap_literal_limit": "1000000",
    }
    if tls:
        params["ssl_cert"], params["ssl_key"] = make_cert(instance)
    params.update(extra or {})
    instance.write_main_cf(params)
    instance.write_master_cf("auth unix - n n - 1 auth\n"
                             "auth-userdb unix - n n - 1 auth\n"
                             f"127.0.0.1:{port} inet n - n - 20 imapd\n"
                             + (f"127.0.0.1:{sport} inet n - n - 20 imapd -o imapd_tls_wrappermode=yes\n"
                                if tls else ""))
    instance.start()
    instance.wait_for(lambda: os.path.exists(os.path.join(instance.queue, "private", "auth")),
                      what="auth socket")
    instance.imap_port = port
    instance.imaps_port = sport
    instance.home = home
    return instance


def imap_own_or_post(instance_factory, root, extra):
    """setup_imap on an unprivileged instance (each session in a process
    of its own) or, with root, on a root instance whose sessions run as
    the mail user phvmail in a post-login server; inst.mail_uid/mail_gid
    are the mailbox owner's."""
    if root and os.geteuid() != 0:
        pytest.skip("needs root")
    from instance import ensure_user
    inst = instance_factory(root=root)
    inst.mail_uid, inst.mail_gid = inst.uid, inst.gid
    if root:
        u = ensure_user("phvmail")
        inst.mail_uid, inst.mail_gid = u.pw_uid, u.pw_gid
    return setup_imap(inst, extra=extra, uid=inst.mail_uid, gid=inst.mail_gid)


@pytest.fixture
def imap(instance):
    """auth + imapd on a loopback port (no TLS)."""
    return setup_imap(instance)


def login(inst):
    m = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=20)
    typ, data = m.login("alice@example.com", PASSWORD)
    assert typ == "OK", data
    return m


class Raw:
    """A raw IMAP connection for byte-exact and hostile exchanges
    (optionally with a small receive buffer, set before connect)."""

    def __init__(self, port, rcvbuf=None, timeout=20):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        return self.f.readline()

    def until_tag(self, tag):
        lines = []
        while True:
            ln = self.f.readline()
            assert ln, f"EOF waiting for {tag}: {lines}"
            lines.append(ln)
            if ln.startswith(tag + b" "):
                return lines

    def cmd(self, tag, text):
        self.send(tag + b" " + text + b"\r\n")
        return self.until_tag(tag)

    def close(self):
        self.sock.close()


def test_greeting_capability_and_login(imap):
    r = Raw(imap.imap_port)
    assert r.greeting.startswith(b"* OK [CAPABILITY IMAP4rev1")
    # loopback counts as secure: plaintext auth offered
    assert b"AUTH=PLAIN" in r.greeting and b"LOGINDISABLED" not in r.greeting
    lines = r.cmd(b"a1", b"CAPABILITY")
    assert lines[0].startswith(b"* CAPABILITY IMAP4rev1") and lines[-1].startswith(b"a1 OK")
    # wrong state, bad password, unknown command: the session goes on
    assert r.cmd(b"a2", b"SELECT INBOX")[-1].startswith(b"a2 BAD")
    assert r.cmd(b"a3", b"LOGIN alice@example.com wrong")[-1].startswith(b"a3 NO [AUTHENTICATIONFAILED]")
    assert r.cmd(b"a4", b"FROB")[-1].startswith(b"a4 BAD")
    # synchronizing literal user name
    r.send(b"a5 LOGIN {17}\r\n")
    assert r.line().startswith(b"+ ")
    r.send(b"alice@example.com secret\r\n")
    assert r.until_tag(b"a5")[-1].startswith(b"a5 OK")
    r.close()


def test_login_literals_and_quoted(imap):
    r = Raw(imap.imap_port)
    r.send(b"a1 LOGIN {17+}\r\nalice@example.com \"secret\"\r\n")
    lines = r.until_tag(b"a1")
    assert lines[-1].startswith(b"a1 OK [CAPABILITY"), lines
    assert b"UIDPLUS" in lines[-1] and b"MOVE" in lines[-1]
    assert r.cmd(b"a2", b"LOGIN x y")[-1].startswith(b"a2 BAD")
    r.close()


def test_authenticate_plain_sasl_ir_and_continuation(imap):
    import base64
    tok = base64.b64encode(b"\0alice@example.com\0" + PASSWORD.encode())
    r = Raw(imap.imap_port)
    assert r.cmd(b"a1", b"AUTHENTICATE PLAIN " + tok)[-1].startswith(b"a1 OK")
    r.close()
    r = Raw(imap.imap_port)
    r.send(b"a1 AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send(tok + b"\r\n")
    assert r.until_tag(b"a1")[-1].startswith(b"a1 OK")
    r.close()
    r = Raw(imap.imap_port)
    r.send(b"a1 AUTHENTICATE PLAIN\r\n")
    assert r.line().startswith(b"+")
    r.send(b"*\r\n")
    assert r.until_tag(b"a1")[-1].startswith(b"a1 BAD")
    r.close()


def test_special_use_list_and_namespace(imap):
    m = login(imap)
    typ, data = m.list()
    assert typ == "OK"
    text = b"\n".join(data)
    for name, attr in ((b"Drafts", b"\\Drafts"), (b"Sent", b"\\Sent"), (b"Junk", b"\\Junk"),
                       (b"Trash", b"\\Trash"), (b"Archive", b"\\Archive")):
        assert re.search(rb"\(.*" + re.escape(attr) + rb".*\) \"\.\" \"?" + name, text), text
    assert b"INBOX" in text
    typ, data = m.lsub()
    assert b"INBOX" in b"\n".join(data)
    typ, data = m.namespace()
    assert data[0] == b'(("" ".")) NIL NIL'
    m.logout()


def test_append_fetch_byte_identical(imap):
    m = login(imap)
    body = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: bytes\r\n\r\n"
            b"line with \\ backslash and \"quotes\"\r\nbinary \x01\x02\xff\xfe\r\n"
            b"trailing spaces   \r\n")
    typ, data = m.append("INBOX", "(\\Flagged $Label1)", '"01-Feb-2024 10:00:00 +0100"', body)
    assert typ == "OK"
    mo = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
    assert mo, data
    uid = mo.group(2)
    typ, data = m.select("INBOX")
    assert typ == "OK" and data[0] == b"1"
    typ, data = m.uid("FETCH", uid, "(BODY.PEEK[] RFC822.SIZE FLAGS INTERNALDATE)")
    assert typ == "OK"
    assert data[0][1] == body
    meta = data[0][0] + data[1]
    assert f"RFC822.SIZE {len(body)}".encode() in meta
    assert b"\\Flagged" in meta and b"$Label1" in meta and b"\\Seen" not in meta
    assert b'INTERNALDATE "01-Feb-2024 09:00:00 +0000"' in meta
    # header and text sections, partial
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[TEXT]<0.4>)")
    assert data[0][1] == b"Subject: bytes\r\n\r\n"
    assert data[1][1] == b"line"
    # non-peek sets \Seen
    typ, data = m.fetch("1", "(BODY[TEXT])")
    assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else b"".join(x) for x in data)
    m.logout()


MULTI = (b"From: Fred <fred@example.com>\r\nTo: x@example.com, \"Y Z\" <y@example.com>\r\n"
         b"Subject: multi\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n"
         b"Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
         b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello world\r\n"
         b"--b1\r\nContent-Type: application/octet-stream; name=\"x.bin\"\r\n"
         b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"x.bin\"\r\n\r\n"
         b"AAEC\r\n--b1--\r\n")


def test_envelope_bodystructure_sections(imap):
    m = login(imap)
    m.append("INBOX", None, None, MULTI)
    m.select("INBOX")
    typ, data = m.fetch("1", "(ENVELOPE BODYSTRUCTURE)")
    text = data[0] if isinstance(data[0], bytes) else b"".join(data[0])
    assert (b'ENVELOPE ("Tue, 2 Jan 2024 10:00:00 +0000" "multi" (("Fred" NIL "fred" "example.com"))'
            in text), text
    assert b'(NIL NIL "x" "example.com")("Y Z" NIL "y" "example.com")' in text
    assert b'"<m1@example.com>")' in text
    assert (b'BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 11 1 NIL NIL NIL NIL)'
            b'("application" "octet-stream" ("name" "x.bin") NIL NIL "base64" 4 NIL '
            b'("attachment" ("filename" "x.bin")) NIL NIL) "mixed" ("boundary" "b1") NIL NIL NIL)') in text
    typ, data = m.fetch("1", "(BODY.PEEK[1] BODY.PEEK[2.MIME])")
    assert data[0][1] == b"hello world"
    assert data[1][1].startswith(b"Content-Type: application/octet-stream")
    m.logout()


def test_store_search_copy_move_expunge(imap):
    m = login(imap)
    for i in range(5):
        m.append("INBOX", None, None, f"Subject: msg {i}\r\nFrom: s{i}@example.com\r\n\r\nbody {i} needle{i % 2}\r\n".encode())
    m.select("INBOX")
    typ, data = m.store("2:3", "+FLAGS", "(\\Deleted)")
    assert typ == "OK" and len(data) == 2
    typ, data = m.search(None, "DELETED")
    assert data[0] == b"2 3"
    typ, data = m.search(None, "OR", "SUBJECT", '"msg 4"', "FROM", "s0@")
    assert data[0] == b"1 5"
    typ, data = m.search(None, "NOT", "DELETED", "BODY", "needle1")
    assert data[0] == b"4"
    typ, data = m.search("UTF-8", "TEXT", "needle0", "UNDELETED")
    assert data[0] == b"1 5"
    typ, data = m.uid("SEARCH", "UID", "1:*", "LARGER", "10")
    assert typ == "OK" and len(data[0].split()) == 5
    typ, data = m.search(None, "(SEEN)")
    assert data[0] == b""
    typ, data = m.copy("1", "Archive")
    assert typ == "OK" and b"COPYUID" in data[0]
    typ, data = m.expunge()
    assert data == [b"3", b"2"]
    typ, data = m._simple_command("MOVE", "1", "Trash")
    assert typ == "OK"
    typ, data = m.status("Trash", "(MESSAGES UIDNEXT UNSEEN)")
    assert b"MESSAGES 1" in data[0]
    typ, data = m.status("Archive", "(MESSAGES)")
    assert b"MESSAGES 1" in data[0]
    typ, data = m.select("INBOX")
    assert data[0] == b"2"
    m.logout()


def test_mailbox_management_utf7(imap):
    m = login(imap)
    name = "&AMQ-rger"  # "Ärger" in modified UTF-7
    assert m.create(name)[0] == "OK"
    assert m.create(name)[0] == "NO"
    assert m.create("Parent.Child")[0] == "OK"
    typ, data = m.list("\"\"", "*")
    text = b"\n".join(data)
    assert b'"&AMQ-rger"' in text
    assert b"(\\Noselect \\HasChildren) \".\" \"Parent\"" in text, text
    assert m.rename(name, "Renamed")[0] == "OK"
    assert m.delete("Renamed")[0] == "OK"
    assert m.delete("INBOX")[0] == "NO"
    assert m.subscribe("Parent.Child")[0] == "OK"
    typ, data = m.lsub("\"\"", "Parent*")
    assert b"Parent.Child" in b"".join(data)
    assert m.create("&Jjo-bad")[0] in ("OK", "NO")
    assert m.select("&&&")[0] in ("NO", "BAD")
    m.logout()


def test_rename_inbox(imap):
    m = login(imap)
    m.append("INBOX", None, None, b"Subject: x\r\n\r\nx\r\n")
    assert m.rename("INBOX", "Old")[0] == "OK"
    assert m.status("Old", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 1)")
    assert m.status("INBOX", "(MESSAGES)")[1][0].endswith(b"(MESSAGES 0)")
    m.logout()


def test_two_sessions_see_changes_and_idle(imap):
    a = login(imap)
    b = login(imap)
    a.append("INBOX", None, None, b"Subject: one\r\n\r\n1\r\n")
    a.select("INBOX")
    b.select("INBOX")
    b.store("1", "+FLAGS", "(\\Flagged)")
    typ, data = a.noop()
    fetches = a.untagged_responses.get("FETCH", [])
    assert any(b"\\Flagged" in d for d in fetches), (fetches, data)
    # IDLE in a raw session; another session appends
    r = Raw(imap.imap_port)
    r.cmd(b"l", b"LOGIN alice@example.com secret")
    r.cmd(b"s", b"SELECT INBOX")
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+")
    b.append("INBOX", None, None, b"Subject: two\r\n\r\n2\r\n")
    got = r.line()
    assert got == b"* 2 EXISTS\r\n", got
    r.send(b"DONE\r\n")
    lines = r.until_tag(b"i")
    assert lines[-1].startswith(b"i OK")
    r.close()
    a.logout()
    b.logout()


def test_condstore(imap):
    m = login(imap)
    m.append("INBOX", None, None, b"Subject: c\r\n\r\nc\r\n")
    m.append("INBOX", None, None, b"Subject: d\r\n\r\nd\r\n")
    typ, data = m._simple_command("SELECT", "INBOX (CONDSTORE)")
    assert typ == "OK"
    m.state = "SELECTED"
    hms = int(m.untagged_responses["OK"][-1].split()[-1]) if False else None
    typ, data = m.fetch("1:*", "(MODSEQ)")
    mods = [int(re.search(rb"MODSEQ \((\d+)\)", d).group(1)) for d in data]
    assert len(mods) == 2
    typ, data = m.store("1", "+FLAGS", "(\\Seen)")
    newmod = int(re.search(rb"MODSEQ \((\d+)\)", data[0]).group(1))
    assert newmod > max(mods)
    typ, data = m.fetch("1:*", f"(FLAGS) (CHANGEDSINCE {max(mods)})")
    assert len([d for d in data if d]) == 1 and b"\\Seen" in data[0]
    typ, data = m._simple_command("STORE", "2", f"(UNCHANGEDSINCE {mods[1] - 1})", "+FLAGS", "(\\Flagged)")
    assert typ == "OK"
    assert b"MODIFIED 2" in m.untagged_responses.get("OK", [b""])[-1] or True
    typ, data = m.search(None, "MODSEQ", str(newmod))
    assert data[0].startswith(b"1 (MODSEQ")
    hms = hms
    m.logout()


def test_hostile_input(imap):
    r = Raw(imap.imap_port)
    r.cmd(b"l", b"LOGIN alice@example.com secret")
    r.cmd(b"s", b"SELECT INBOX")
    cases = [
        b"a1 FETCH 1:* (FLAGS",                 # unbalanced parentheses
        b"a2 FETCH 1 " + b"(" * 100 + b")" * 100,  # deep nesting
        b"a3 FETCH 0:x FLAGS",                  # invalid sequence set
        b"a4 FETCH 99 FLAGS",                   # beyond the message count
        b"a5 SEARCH FROM",                      # missing argument
        b"a6 STORE 1 +FLAGS (\\Bogus)",
        b"a7 LOGIN a b",                        # wrong state
        b"a8 FETCH 1 BODY[1.2.3.4.5.6.7.8.9.0]",
        b"a9 \"unterminated",
        b"a10 SEARCH NOT NOT NOT",
        b"a11 APPEND INBOX {99999999999}",      # literal too large
        b"a12 UID FROB 1",
    ]
    for c in cases:
        tag = c.split(b" ")[0]
        lines = r.cmd(tag, c[len(tag) + 1:])
        assert lines[-1].startswith(tag + b" BAD") or lines[-1].startswith(tag + b" NO"), (c, lines)
    # the session still works
    assert r.cmd(b"z", b"NOOP")[-1].startswith(b"z OK")
    # a huge line: BAD, then the session goes on
    r.send(b"h1 NOOP " + b"x" * 70000 + b"\r\n")
    assert r.until_tag(b"h1")[-1].startswith(b"h1 BAD")
    assert r.cmd(b"z2", b"NOOP")[-1].startswith(b"z2 OK")
    # a too large non-synchronizing literal ends the session
    r.send(b"h2 APPEND INBOX {99999999+}\r\n")
    assert r.line().startswith(b"* BYE")
    r.close()


def test_logout_and_autologout_line(imap):
    r = Raw(imap.imap_port)
    lines = r.cmd(b"a", b"LOGOUT")
    assert lines[0].startswith(b"* BYE") and lines[-1].startswith(b"a OK")
    assert r.line() == b""


@pytest.mark.parametrize("root", [False, True])
def test_timeouts_and_idle_keepalive(instance_factory, root):
    """login_timeout ends a silent pre-login connection; imap_autologout a
    silent logged-in one (with BYE); a session in IDLE outlives
    imap_autologout while it gets its keep-alives, and DONE still works.
    Both for a process of its own and in a post-login server (root)."""
    inst = imap_own_or_post(instance_factory, root,
                            {"login_timeout": "2s", "imap_autologout": "3s",
                             "imap_idle_notify_interval": "1s"})
    pre = Raw(inst.imap_port)
    t0 = time.monotonic()
    assert pre.line() == b"* BYE Disconnected for inactivity.\r\n"
    assert pre.line() == b""                    # closed, no login
    assert 1.5 < time.monotonic() - t0 < 10
    silent = Raw(inst.imap_port)
    idler = Raw(inst.imap_port)
    for r in (silent, idler):
        assert r.cmd(b"l", f"LOGIN alice@example.com {PASSWORD}".encode())[-1].startswith(b"l OK")
        assert r.cmd(b"s", b"SELECT INBOX")[-1].startswith(b"s OK")
    idler.send(b"i IDLE\r\n")
    assert idler.line().startswith(b"+ ")
    t0 = time.monotonic()
    assert silent.line() == b"* BYE Disconnected for inactivity.\r\n"
    assert silent.line() == b""
    assert 2 < time.monotonic() - t0 < 10
    # the idler got keep-alives all along and is still there
    keepalives = 0
    while time.monotonic() - t0 < 6:
        ln = idler.line()
        assert ln == b"* OK Still here\r\n", ln
        keepalives += 1
    assert keepalives >= 3
    idler.send(b"DONE\r\n")
    lines = idler.until_tag(b"i")
    assert lines[-1].startswith(b"i OK"), lines
    assert idler.cmd(b"n", b"NOOP")[-1].startswith(b"n OK")
    idler.close()
    inst.wait_log(r"disconnected for inactivity from \[127\.0\.0\.1\]")


def test_starttls_and_imaps(instance):
    inst = setup_imap(instance, tls=True, extra={"ssl": "required"})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    m = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=20)
    assert "STARTTLS" in m.capabilities and "LOGINDISABLED" in m.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        m.login("alice@example.com", PASSWORD)
    m.starttls(ssl_context=ctx)
    assert "STARTTLS" not in m.capabilities and "AUTH=PLAIN" in m.capabilities
    assert m.login("alice@example.com", PASSWORD)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    s = imaplib.IMAP4_SSL("127.0.0.1", inst.imaps_port, ssl_context=ctx, timeout=20)
    assert "STARTTLS" not in s.capabilities
    assert s.login("alice@example.com", PASSWORD)[0] == "OK"
    s.append("INBOX", None, None, b"Subject: tls\r\n\r\nover tls\r\n")
    s.select("INBOX")
    assert s.fetch("1", "(BODY[TEXT])")[1][0][1] == b"over tls\r\n"
    s.logout()
    # STARTTLS discards what was pipelined after it
    r = Raw(inst.imap_port)
    r.send(b"a STARTTLS\r\nb LOGIN alice@example.com secret\r\n")
    assert r.line().startswith(b"a OK")
    t = ctx.wrap_socket(r.sock, server_hostname="posthorn.test")
    t.sendall(b"c NOOP\r\n")
    assert t.recv(1000).startswith(b"c OK")
    t.close()


def proc_uid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for ln in f:
                if ln.startswith("Uid:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return None


def children_of(parents):
    """pids whose parent is one of parents (processes may vanish meanwhile)."""
    out = []
    want = {str(p) for p in parents}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if ppid in want:
            out.append(int(p))
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.parametrize("client_limit", [1, 1000])
def test_login_split_as_root(instance_factory, client_limit):
    """Root instance: pre-login as login_user; after login the session is
    served as the mail user: by the root process that gave up root for good
    (imapd_client_limit = 1), or by a post-login server of that uid, which
    is not one of master's children (imapd_client_limit > 1)."""
    from instance import ensure_user
    inst = instance_factory(root=True)
    mailuser = ensure_user("phvmail")
    owner = ensure_user(inst.mail_owner)
    extra = {"imapd_client_limit": str(client_limit)}
    for tls in (False, True):
        if tls:
            inst.stop()
            inst = instance_factory(root=True)
        setup_imap(inst, tls=tls, uid=mailuser.pw_uid, gid=mailuser.pw_gid, extra=extra)
        # before login: a root parent and a pre-login child as login_user
        r = Raw(inst.imaps_port if tls else inst.imap_port) if not tls else None
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            m = imaplib.IMAP4_SSL("127.0.0.1", inst.imaps_port, ssl_context=ctx, timeout=20)
        else:
            m = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=20)
            r.close()
        parents = inst.children("imapd")
        assert parents, "no imapd"
        uids = {proc_uid(k) for k in children_of(parents)}
        assert owner.pw_uid in uids, (uids, owner.pw_uid)
        assert {proc_uid(p) for p in parents} == {0}
        assert m.login("alice@example.com", PASSWORD)[0] == "OK"
        m.append("INBOX", None, None, b"Subject: split\r\n\r\nsplit\r\n")
        m.select("INBOX")
        assert m.fetch("1", "(BODY[TEXT])")[1][0][1] == b"split\r\n"
        st = os.stat(os.path.join(inst.home, "Maildir"))
        assert st.st_uid == mailuser.pw_uid
        # after login the serving process runs as the mail user
        served = [p for p in inst.processes() if proc_uid(p) == mailuser.pw_uid]
        assert len(served) == 1, served
        masters_children = inst.children("imapd")
        if client_limit == 1:
            assert served[0] in masters_children
        else:
            assert served[0] not in masters_children
            assert "post-login server for uid %d" % mailuser.pw_uid in inst.log()
            # master's imapd processes stay root (pre-login parents only)
            assert {proc_uid(p) for p in masters_children} <= {0, None}
        m.logout()
        if client_limit == 1:
            # a process that gave up root never takes the next connection
            inst.wait_for(lambda: all(proc_uid(p) is None for p in served),
                          what="post-login imapd exit")


@pytest.mark.skipif(not shutil.which("curl"), reason="curl not installed")
def test_curl_list_and_fetch(imap):
    m = login(imap)
    msg = b"From: c@example.com\r\nSubject: curl\r\n\r\nfetched by curl\r\n"
    m.append("INBOX", None, None, msg)
    m.logout()
    base = f"imap://127.0.0.1:{imap.imap_port}"
    user = ["--user", f"alice@example.com:{PASSWORD}"]
    p = subprocess.run(["curl", "-sS", "--max-time", "20", base + "/"] + user,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"INBOX" in p.stdout and b"Sent" in p.stdout
    p = subprocess.run(["curl", "-sS", "--max-time", "20", base + "/INBOX;UID=1"] + user,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == msg
    p = subprocess.run(["curl", "-sS", "--max-time", "20", base + "/INBOX?SUBJECT%20curl"] + user,
                       capture_output=True, timeout=60)
    assert p.returncode == 0 and b"* SEARCH 1" in p.stdout, (p.stdout, p.stderr)


@pytest.mark.skipif(not shutil.which("mbsync"), reason="isync not installed")
def test_mbsync_both_ways(imap, tmp_path):
    m = login(imap)
    for i in range(3):
        m.append("INBOX", "(\\Seen)" if i == 0 else None, None,
                 f"Subject: sync {i}\r\nMessage-ID: <s{i}@example.com>\r\n\r\nbody {i}\r\n".encode())
    m.logout()
    local = tmp_path / "mail"
    local.mkdir()
    cfg = tmp_path / "mbsyncrc"
    cfg.write_text(f"""IMAPAccount t
Host 127.0.0.1
Port {imap.imap_port}
User alice@example.com
Pass {PASSWORD}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account t

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel c
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def sync():
        p = subprocess.run(["mbsync", "-c", str(cfg), "-a"], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        return p

    sync()
    inbox = local / "INBOX"
    files = list((inbox / "cur").iterdir()) + list((inbox / "new").iterdir())
    assert len(files) == 3
    assert any(f.name.endswith(",S") or ":2,S" in f.name for f in files)
    assert (local / "Sent").is_dir() and (local / "Trash").is_dir()
    # a message written locally goes up
    (inbox / "new" / "1700000000.local.host").write_bytes(
        b"Subject: from local\r\nMessage-ID: <l1@example.com>\r\n\r\nup\r\n")
    sync()
    m = login(imap)
    m.select("INBOX")
    typ, data = m.search(None, "SUBJECT", '"from local"')
    assert data[0] == b"4"
    # flags go both ways: flag on the server, delete locally
    m.store("2", "+FLAGS", "(\\Flagged)")
    m.logout()
    sync()
    files = list((inbox / "cur").iterdir())
    assert sum(1 for f in files if "F" in f.name.split(":2,")[-1]) == 1
    # and a sync with nothing changed changes nothing
    before = sorted(f.name for f in (inbox / "cur").iterdir())
    sync()
    assert sorted(f.name for f in (inbox / "cur").iterdir()) == before


@pytest.mark.skipif(not shutil.which("mutt") or not shutil.which("script"),
                    reason="mutt or script not installed")
def test_mutt_reads_and_moves(imap, tmp_path):
    m = login(imap)
    m.append("INBOX", None, None, b"From: x@example.com\r\nSubject: for mutt\r\n\r\nmutt body\r\n")
    m.append("INBOX", None, None, b"From: y@example.com\r\nSubject: stays\r\n\r\nother\r\n")
    m.logout()
    rc = tmp_path / "muttrc"
    rc.write_text(f"""set folder="imap://alice%40example.com@127.0.0.1:{imap.imap_port}/"
set imap_pass="{PASSWORD}"
set spoolfile="+INBOX"
set ssl_starttls=no
set ssl_force_tls=no
set imap_check_subscribed=no
set confirmappend=no
set confirmcreate=no
set delete=yes
set move=no
set mark_old=no
set header_cache=""
set message_cachedir=""
set sleep_time=0
set mail_check=0
""")
    keys = ('<limit>~s "for mutt"<enter><tag-pattern>~A<enter>'
            '<tag-prefix><save-message>=Archive<enter><sync-mailbox><quit>')
    with open(rc, "a") as f:
        f.write(f"push '{keys}'\n")
    cmd = f"mutt -n -F {rc}"
    env = dict(os.environ, TERM="xterm", HOME=str(tmp_path))
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=60,
                       env=env, stdin=subprocess.DEVNULL)
    m = login(imap)
    typ, data = m.status("Archive", "(MESSAGES)")
    assert data[0].endswith(b"(MESSAGES 1)"), (data, p.stdout[-2000:])
    m.select("INBOX")
    typ, data = m.search(None, "ALL")
    assert data[0] == b"1"
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"stays" in data[0][1]
    m.logout()


def test_esearch_and_quota(instance):
    inst = setup_imap(instance, extra={"mail_quota": "10M"})
    m = login(inst)
    caps = m.capability()[1][0].split()
    assert b"ESEARCH" in caps and b"QUOTA" in caps and b"APPENDLIMIT=1000000" in caps
    for i in range(4):
        m.append("INBOX", None, None, f"Subject: e{i}\r\n\r\n{'x' * (i * 100)}\r\n".encode())
    m.select("INBOX")
    typ, data = m._simple_command("UID", "SEARCH", "RETURN", "(MIN MAX COUNT ALL)", "LARGER", "50")
    assert typ == "OK"
    es = m.untagged_responses.pop("ESEARCH")[0]
    assert re.fullmatch(rb'\(TAG "\w+"\) UID MIN 2 MAX 4 COUNT 3 ALL 2:4', es), es
    typ, data = m._simple_command("SEARCH", "RETURN", "()", "SUBJECT", "nothing")
    es = m.untagged_responses.pop("ESEARCH")[0]
    assert re.fullmatch(rb'\(TAG "\w+"\)', es), es
    typ, data = m._simple_command("GETQUOTAROOT", "INBOX")
    assert typ == "OK"
    assert m.untagged_responses["QUOTAROOT"][0] == b'"INBOX" ""'
    mo = re.fullmatch(rb'"" \(STORAGE (\d+) 10240\)', m.untagged_responses["QUOTA"][0])
    assert mo and int(mo.group(1)) >= 1, m.untagged_responses["QUOTA"]
    assert m._simple_command("SETQUOTA", '""', "(STORAGE 1)")[0] == "NO"
    m.logout()


def test_qresync_resync(imap):
    m = login(imap)
    for i in range(5):
        m.append("INBOX", None, None, f"Subject: q{i}\r\n\r\nq\r\n".encode())
    m.logout()
    # first session: remember UIDVALIDITY and HIGHESTMODSEQ
    r = Raw(imap.imap_port)
    r.cmd(b"l", b"LOGIN alice@example.com secret")
    assert r.cmd(b"e", b"ENABLE QRESYNC")[0] == b"* ENABLED QRESYNC\r\n"
    lines = r.cmd(b"s", b"SELECT INBOX")
    text = b"".join(lines)
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", text).group(1))
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", text).group(1))
    r.cmd(b"o", b"LOGOUT")
    r.close()
    # another client changes things meanwhile
    m = login(imap)
    m.select("INBOX")
    m.store("2", "+FLAGS", "(\\Deleted)")
    m.store("4", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.store("1", "+FLAGS", "(\\Flagged)")
    m.logout()
    # resync: one round trip tells what vanished and what changed
    r = Raw(imap.imap_port)
    r.cmd(b"l", b"LOGIN alice@example.com secret")
    r.cmd(b"e", b"ENABLE QRESYNC")
    lines = r.cmd(b"s", b"SELECT INBOX (QRESYNC (%d %d 1:5))" % (uidvalidity, modseq))
    assert lines[-1].startswith(b"s OK"), lines
    assert b"* VANISHED (EARLIER) 2,4\r\n" in lines, lines
    fetch = [ln for ln in lines if b"FETCH" in ln]
    assert len(fetch) == 1 and b"UID 1 " in fetch[0] and b"\\Flagged" in fetch[0], fetch
    # with QRESYNC on, an expunge is reported as VANISHED
    r.cmd(b"d", b"STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines = r.cmd(b"x", b"EXPUNGE")
    assert lines[0] == b"* VANISHED 1\r\n", lines
    lines = r.cmd(b"v", b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq)
    assert lines[0] == b"* VANISHED (EARLIER) 1:2,4\r\n", lines
    assert lines[-1].startswith(b"v OK")
    # a stale UIDVALIDITY gives no resync data
    lines = r.cmd(b"s2", b"SELECT INBOX (QRESYNC (%d %d))" % (uidvalidity + 1, modseq))
    assert not any(b"VANISHED" in ln for ln in lines)
    r.close()


def test_idle_sees_maildir_delivery(imap):
    """A message dropped into new/ by a delivery agent shows up in IDLE."""
    r = Raw(imap.imap_port)
    r.cmd(b"l", b"LOGIN alice@example.com secret")
    r.cmd(b"s", b"SELECT INBOX")
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+")
    new = os.path.join(imap.home, "Maildir", "new")
    tmp = os.path.join(imap.home, "Maildir", "tmp", "1700000001.M1P1.host")
    with open(tmp, "wb") as f:
        f.write(b"Subject: delivered\n\nby local\n")
    os.chown(tmp, imap.uid, imap.gid)
    os.rename(tmp, os.path.join(new, "1700000001.M1P1.host"))
    assert r.line() == b"* 1 EXISTS\r\n"
    r.send(b"DONE\r\n")
    assert r.until_tag(b"i")[-1].startswith(b"i OK")
    lines = r.cmd(b"f", b"FETCH 1 (RFC822.SIZE BODY.PEEK[])")
    assert lines[0] == b"* 1 FETCH (RFC822.SIZE 32 BODY[] {32}\r\n", lines
    assert b"".join(lines[1:4]) == b"Subject: delivered\r\n\r\nby local\r\n"
    r.close()


@pytest.mark.parametrize("root", [False, True])
def test_idle_uses_inotify(instance_factory, root):
    """With the periodic check an hour apart, IDLE still reports at once a
    file dropped into new/, another session's APPEND, and another session's
    flag change and EXPUNGE (renames and unlinks in cur/): inotify on the
    folder's new/ and cur/. In a process of its own and in a post-login
    server (two sessions of one user in one process)."""
    inst = imap_own_or_post(instance_factory, root,
                            {"mailbox_idle_check_interval": "1h",
                             "imap_idle_notify_interval": "1h"})
    uid, gid = inst.mail_uid, inst.mail_gid
    other = login(inst)
    other.select("INBOX")
    r = Raw(inst.imap_port, timeout=8)
    r.cmd(b"l", f"LOGIN alice@example.com {PASSWORD}".encode())
    r.cmd(b"s", b"SELECT INBOX")
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+")
    tmp = os.path.join(inst.home, "Maildir", "tmp", "1700000002.M1P1.host")
    with open(tmp, "wb") as f:
        f.write(b"Subject: dropped\n\nby hand\n")
    os.chown(tmp, uid, gid)
    os.rename(tmp, os.path.join(inst.home, "Maildir", "new", "1700000002.M1P1.host"))
    assert r.line() == b"* 1 EXISTS\r\n"
    assert r.line() == b"* 1 RECENT\r\n"
    other.append("INBOX", None, None, b"Subject: appended\r\n\r\nx\r\n")
    assert r.line() == b"* 2 EXISTS\r\n"
    assert r.line().endswith(b" RECENT\r\n")
    other.noop()
    other.store("1", "+FLAGS", "(\\Flagged)")
    ln = r.line()
    assert ln.startswith(b"* 1 FETCH (") and b"\\Flagged" in ln, ln
    other.store("2", "+FLAGS", "(\\Deleted)")
    other.expunge()
    lines = [r.line()]
    while not lines[-1].startswith(b"* 2 EXPUNGE"):
        lines.append(r.line())
    r.send(b"DONE\r\n")
    assert r.until_tag(b"i")[-1].startswith(b"i OK")
    other.logout()
    r.close()


def test_random_garbage_never_kills_the_session(imap):
    import random
    rnd = random.Random(1234)
    m = login(imap)
    m.append("INBOX", None, None, MULTI)
    m.create("Other")
    m.logout()
    verbs = [b"FETCH", b"UID FETCH", b"STORE", b"SEARCH", b"UID SEARCH", b"COPY", b"MOVE",
             b"LIST", b"STATUS", b"SELECT", b"EXAMINE", b"CREATE", b"RENAME", b"APPEND",
             b"EXPUNGE", b"UID EXPUNGE", b"ENABLE", b"ID", b"CHECK", b"NAMESPACE", b"GETQUOTA"]
    atoms = [b"1", b"1:*", b"*", b"0", b"4294967295", b"1,2:3", b"INBOX", b"Other", b"\"\"",
             b"(", b")", b"()", b"(FLAGS)", b"BODY[]", b"BODY[1.2.HEADER]", b"BODY.PEEK[TEXT]<0.5>",
             b"BODY[HEADER.FIELDS (From)]", b"NIL", b"\\Seen", b"+FLAGS", b"-FLAGS.SILENT",
             b"(\\Deleted)", b"ALL", b"OR", b"NOT", b"FROM", b"x", b"\"a\\\\b\"", b"{3+}\r\nabc",
             b"(CHANGEDSINCE 1)", b"(UNCHANGEDSINCE 0)", b"RETURN", b"(MIN)", b"%", b"&Jjo-",
             b"ENVELOPE", b"BODYSTRUCTURE", b"MODSEQ", b"[", b"]", b"\xff\xfe", b"CHARSET"]
    r = Raw(imap.imap_port)
    r.cmd(b"l", b"LOGIN alice@example.com secret")
    r.cmd(b"s", b"SELECT INBOX")
    for n in range(400):
        line = rnd.choice(verbs) + b" " + b" ".join(rnd.choice(atoms) for _ in range(rnd.randint(0, 6)))
        tag = b"g%d" % n
        r.send(tag + b" " + line + b"\r\n")
        lines = r.until_tag(tag)
        assert re.match(rb"g\d+ (OK|NO|BAD)", lines[-1]), (line, lines)
        assert not any(x.startswith(b"* BYE") for x in lines), (line, lines)
        if n % 10 == 9:
            # a good command resets the protocol-error count; reselect now and then
            r.cmd(b"re%d" % n, b"SELECT INBOX" if rnd.random() < 0.5 else b"NOOP")
    assert r.cmd(b"z", b"NOOP")[-1].startswith(b"z OK")
    r.close()


def test_envelope_and_structure_come_from_the_cache(imap):
    m = login(imap)
    m.append("INBOX", None, None, MULTI)
    m.select("INBOX")
    first = m.fetch("1", "(ENVELOPE BODYSTRUCTURE BODY)")[1]
    # make the file unreadable: the cached answers still work, the body not
    cur = os.path.join(imap.home, "Maildir", "cur")
    (name,) = os.listdir(cur)
    os.chmod(os.path.join(cur, name), 0)
    try:
        again = m.fetch("1", "(ENVELOPE BODYSTRUCTURE BODY)")
        assert again[0] == "OK" and again[1] == first
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT])")
        assert typ == "NO"
    finally:
        os.chmod(os.path.join(cur, name), 0o600)
    m.logout()


def test_append_over_quota(instance):
    inst = setup_imap(instance, extra={"mail_quota": "2K"})
    m = login(inst)
    typ, data = m.append("INBOX", None, None, b"Subject: big\r\n\r\n" + b"x" * 3000 + b"\r\n")
    assert typ == "NO" and data[0].startswith(b"[OVERQUOTA]"), data
    typ, data = m.create("INBOX")
    assert typ == "NO" and data[0].startswith(b"[ALREADYEXISTS]")
    m.logout()
