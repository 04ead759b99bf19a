"""The LMTP server (smtpd invoked as lmtpd, RFC 2033) in whole instances.

Protocol tests run an unprivileged instance: lmtpd on a free 127.0.0.1
port, qmgr and virtual delivery into Maildirs under the instance
directory (virtual_mailbox_domains vdomain.test), driven by smtplib.LMTP
and raw sockets (exact bytes, one reply per accepted recipient counted).
The delivery tests use the root instance of test_e2e_mail (real users,
aliases, virtual mailboxes) with lmtpd added to its master.cf; the relay
tests put a front end in front of lmtpd: a second Posthorn instance
(transport_maps -> lmtp:inet:127.0.0.1:PORT) and Debian's real Postfix.
"""
import glob
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

from test_smtpd import Raw

IS_ROOT = os.geteuid() == 0


def token():
    return "tok-" + uuid.uuid4().hex


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


class Mbox:
    """An unprivileged instance: lmtpd + qmgr + virtual delivery."""

    def __init__(self, inst, lmtpd_opts="", virtual=True, **params):
        self.i = inst
        self.port = inst.free_port()
        self.base = os.path.join(inst.dir, "vmail")
        os.mkdir(self.base)
        os.chown(self.base, inst.uid, inst.gid)
        vmap = os.path.join(inst.dir, "vmailbox")
        with open(vmap, "w") as f:
            f.write("ann@vdomain.test vdomain.test/ann/\n"
                    "ben@vdomain.test vdomain.test/ben/\n")
        conf = {
            "myhostname": "mbox.test",
            "mydestination": "mbox.test",
            "alias_maps": "",
            "local_recipient_maps": "",
            "mynetworks": "127.0.0.0/8",
            "virtual_mailbox_domains": "vdomain.test",
            "virtual_mailbox_maps": "texthash:" + vmap,
            "virtual_mailbox_base": self.base,
            "virtual_uid_maps": f"static:{inst.uid}",
            "virtual_gid_maps": f"static:{inst.gid}",
            "virtual_minimum_uid": "0",
            "virtual_alias_maps": "inline:{ info@vdomain.test=ann@vdomain.test }",
            "smtpd_error_sleep_time": "0",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
        }
        conf.update(params)
        inst.write_main_cf(conf)
        self.lmtpd_opts = lmtpd_opts
        self.write_master(virtual)

    def write_master(self, virtual=True):
        self.i.write_master_cf(f"127.0.0.1:{self.port} inet n - n - - lmtpd{self.lmtpd_opts}\n"
                               f"lmtpd unix - - n - - lmtpd{self.lmtpd_opts}\n"
                               "anvil unix - - n - 1 anvil\n"
                               "qmgr unix n - n 300 1 qmgr\n"
                               + ("virtual unix - n n - - local\n" if virtual else ""))

    def start(self):
        self.i.start()
        self.i.wait_for(lambda: os.path.exists(os.path.join(self.i.queue, "public", "qmgr")),
                        what="public/qmgr")

    def raw(self):
        r = Raw(self.port)
        assert r.reply().startswith("220 ")
        return r

    def maildir(self, user):
        return sorted(glob.glob(os.path.join(self.base, "vdomain.test", user, "new", "*")))

    def wait_mail(self, user, tok, n=1, timeout=30):
        def got():
            files = [f for f in self.maildir(user) if tok in read(f)]
            return files if len(files) >= n else None
        return self.i.wait_for(got, timeout=timeout, what=f"{tok} in {user}'s Maildir")


@pytest.fixture
def mbox(instance_factory):
    def make(**kw):
        return Mbox(instance_factory(), **kw)
    return make


def lhlo(r):
    rep = r.cmd("LHLO client.test")
    assert rep.startswith("250-mbox.test"), rep
    return rep


def per_rcpt(r, addrs, code="250", dsn="2.1.5"):
    """Exactly one end-of-data reply per accepted recipient, in order;
    returns the queue IDs."""
    ids = []
    for a in addrs:
        line = r.line()
        m = re.match(rf"{code} {re.escape(dsn)} <{re.escape(a)}> (.*)$", line)
        assert m, (a, line)
        q = re.search(r"queued as (\S+)", m.group(1))
        ids.append(q.group(1) if q else None)
    return ids


def nothing_more(r, wait=0.5):
    """No reply beyond the expected ones."""
    r.sock.settimeout(wait)
    try:
        extra = r.buf or r.sock.recv(100)
    except socket.timeout:
        extra = b""
    r.sock.settimeout(15)
    assert extra == b"", extra


# --------------------------------------------------------------------------
# Protocol


def test_smtplib_lmtp_lhlo_and_unknown_recipient(mbox):
    m = mbox()
    m.start()
    tok = token()
    c = smtplib.LMTP("127.0.0.1", m.port, timeout=15)
    code, _ = c.ehlo("client.test")                 # smtplib.LMTP sends LHLO
    assert code == 250 and c.does_esmtp
    for kw in ("pipelining", "8bitmime", "enhancedstatuscodes", "chunking", "size", "dsn"):
        assert c.has_extn(kw), (kw, c.esmtp_features)
    assert not c.has_extn("starttls") and not c.has_extn("auth")
    refused = c.sendmail("sender@example.org", ["ann@vdomain.test", "nobody@vdomain.test"],
                         f"Subject: smtplib {tok}\r\n\r\nbody {tok}\r\n")
    code, text = refused["nobody@vdomain.test"]
    assert code == 550 and text.startswith(b"5.1.1 <nobody@vdomain.test>"), refused
    assert list(refused) == ["nobody@vdomain.test"]
    c.quit()
    f = m.wait_mail("ann", tok)[0]
    text = read(f)
    assert re.search(r"Received: from client\.test \(localhost \[127\.0\.0\.1\]\)\n"
                     r"\tby mbox\.test \(\w+\) with LMTP id \w+", text), text
    log = m.i.log()
    assert re.search(r"posthorn/lmtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]", log), log
    m.i.wait_log(r"posthorn/lmtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] "
                 r"lhlo=1 mail=1 rcpt=1/2 data=1 quit=1 commands=5/6")


def test_raw_per_recipient_replies_and_delivery(mbox):
    m = mbox()
    m.start()
    tok = token()
    with m.raw() as r:
        lhlo(r)
        assert r.cmd("MAIL FROM:<sender@example.org>").startswith("250 2.1.0")
        assert r.cmd("RCPT TO:<ann@vdomain.test>").startswith("250 2.1.5")
        assert r.cmd("RCPT TO:<info@vdomain.test>").startswith("250 2.1.5")   # virtual alias
        assert r.cmd("RCPT TO:<zed@vdomain.test>").startswith("550 5.1.1 <zed@vdomain.test>")
        assert r.cmd("RCPT TO:<ben@vdomain.test>").startswith("250 2.1.5")
        assert r.cmd("DATA").startswith("354 ")
        r.send(f"Subject: raw {tok}\r\n\r\nbody {tok}\r\n.\r\n")
        ids = per_rcpt(r, ["ann@vdomain.test", "info@vdomain.test", "ben@vdomain.test"])
        assert len(set(ids)) == 1 and ids[0]                # one queue file
        nothing_more(r)
        assert r.cmd("QUIT").startswith("221 ")
    # ann is both a recipient and the alias target: one copy (one queue file)
    m.wait_mail("ann", tok)
    m.wait_mail("ben", tok)
    m.i.wait_log(rf"{ids[0]}: removed", timeout=20)
    time.sleep(0.5)
    assert len([f for f in m.maildir("ann") if tok in read(f)]) == 1


def test_ehlo_helo_refused_and_lhlo_required(mbox):
    m = mbox()
    m.start()
    with m.raw() as r:
        assert r.cmd("MAIL FROM:<a@example.org>") == "503 5.5.1 Error: send LHLO first"
        assert r.cmd("EHLO client.test").startswith("500 5.5.1 ")
        assert r.cmd("HELO client.test").startswith("500 5.5.1 ")
        assert r.cmd("LHLO").startswith("501 5.5.4 Syntax: LHLO")
        rep = lhlo(r)
        assert "250-PIPELINING" in rep and "250 CHUNKING" in rep
        assert r.cmd("EHLO client.test").startswith("500 5.5.1 ")
        assert r.cmd("HELP").startswith("214 2.0.0 Commands: LHLO ")
        assert r.cmd("QUIT").startswith("221 ")
    m.i.wait_log(r"posthorn/lmtpd\[\d+\]: disconnect from .* helo=0/1 ehlo=0/2 lhlo=1/2 "
                 r"mail=0/1 help=1 quit=1 commands=3/8")


def test_smtpd_does_not_speak_lhlo(instance_factory):
    inst = instance_factory(main_cf={"smtpd_error_sleep_time": "0"})
    port = inst.free_port()
    inst.write_master_cf(f"127.0.0.1:{port} inet n - n - - smtpd\nanvil unix - - n - 1 anvil\n")
    inst.start()
    r = Raw(port)
    assert r.reply().startswith("220 ")
    assert r.cmd("LHLO client.test") == "502 5.5.2 Error: command not recognized"
    assert r.cmd("EHLO client.test").startswith("250-")
    r.close()


def test_pipelined_batch(mbox):
    m = mbox()
    m.start()
    tok = token()
    with m.raw() as r:
        lhlo(r)
        r.send("MAIL FROM:<s@example.org>\r\nRCPT TO:<ann@vdomain.test>\r\n"
               "RCPT TO:<nope@vdomain.test>\r\nRCPT TO:<ben@vdomain.test>\r\nDATA\r\n")
        assert r.line().startswith("250 2.1.0")
        assert r.line().startswith("250 2.1.5")
        assert r.line().startswith("550 5.1.1 <nope@vdomain.test>")
        assert r.line().startswith("250 2.1.5")
        assert r.line().startswith("354 ")
        r.send(f"Subject: pipe {tok}\r\n\r\n{tok}\r\n.\r\n"
               "MAIL FROM:<s@example.org>\r\nRCPT TO:<ben@vdomain.test>\r\nDATA\r\n")
        per_rcpt(r, ["ann@vdomain.test", "ben@vdomain.test"])
        assert r.line().startswith("250 2.1.0")
        assert r.line().startswith("250 2.1.5")
        assert r.line().startswith("354 ")
        r.send(f"Subject: second {tok}\r\n\r\n{tok}\r\n.\r\nQUIT\r\n")
        per_rcpt(r, ["ben@vdomain.test"])
        assert r.line().startswith("221 ")
    m.wait_mail("ann", tok)
    m.wait_mail("ben", tok, n=2)


def test_bdat_last_per_recipient(mbox):
    m = mbox()
    m.start()
    tok = token()
    first = f"Subject: bdat {tok}\r\n\r\n".encode()
    second = f"chunked {tok}\x00nul\r\n".encode()
    with m.raw() as r:
        lhlo(r)
        r.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<ann@vdomain.test>\r\n"
               b"RCPT TO:<ben@vdomain.test>\r\n"
               + b"BDAT %d\r\n" % len(first) + first
               + b"BDAT %d LAST\r\n" % len(second) + second)
        assert r.line().startswith("250 2.1.0")
        assert r.line().startswith("250 2.1.5")
        assert r.line().startswith("250 2.1.5")
        assert r.line() == f"250 2.0.0 Ok: {len(first)} bytes"
        ids = per_rcpt(r, ["ann@vdomain.test", "ben@vdomain.test"])
        assert ids[0] == ids[1]
        nothing_more(r)
        # BDAT LAST alone, one recipient
        body = f"Subject: one {tok}\r\n\r\nx\r\n".encode()
        r.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<ben@vdomain.test>\r\n"
               + b"BDAT %d LAST\r\n" % len(body) + body)
        assert r.line().startswith("250 2.1.0")
        assert r.line().startswith("250 2.1.5")
        per_rcpt(r, ["ben@vdomain.test"])
        nothing_more(r)
    m.wait_mail("ann", tok)
    m.wait_mail("ben", tok, n=2)


def test_size_limit_per_recipient_data_and_bdat(mbox):
    m = mbox(lmtpd_opts=" -o message_size_limit=2000")
    m.start()
    big = ("x" * 70 + "\r\n") * 60
    with m.raw() as r:
        rep = lhlo(r)
        assert "250-SIZE 2000" in rep
        for a in ("MAIL FROM:<s@example.org>", "RCPT TO:<ann@vdomain.test>",
                  "RCPT TO:<ben@vdomain.test>"):
            assert r.cmd(a).startswith("250")
        assert r.cmd("DATA").startswith("354")
        r.send("Subject: big\r\n\r\n" + big + ".\r\n")
        per_rcpt(r, ["ann@vdomain.test", "ben@vdomain.test"], code="552", dsn="5.3.4")
        nothing_more(r)
        # BDAT: an oversized chunk before LAST is refused alone; LAST then
        # answers per recipient
        for a in ("MAIL FROM:<s@example.org>", "RCPT TO:<ann@vdomain.test>",
                  "RCPT TO:<ben@vdomain.test>"):
            assert r.cmd(a).startswith("250")
        chunk = big.encode()
        r.send(b"BDAT %d\r\n" % len(chunk) + chunk + b"BDAT 3 LAST\r\nend")
        assert r.line().startswith("552 5.3.4")
        per_rcpt(r, ["ann@vdomain.test", "ben@vdomain.test"], code="552", dsn="5.3.4")
        nothing_more(r)
        assert r.cmd("NOOP").startswith("250")
    left = [f for _, _, fs in os.walk(os.path.join(m.i.queue, "incoming")) for f in fs]
    assert left == []


def test_no_relay_even_for_mynetworks(mbox):
    """permit_mynetworks (loopback is in mynetworks here) does not make the
    LMTP server a relay: only local and virtual domains."""
    m = mbox()
    m.start()
    with m.raw() as r:
        lhlo(r)
        assert r.cmd("MAIL FROM:<s@example.org>").startswith("250")
        assert r.cmd("RCPT TO:<x@elsewhere.example>") == \
            "554 5.7.1 <x@elsewhere.example>: Relay access denied"
        assert r.cmd("RCPT TO:<someone@mbox.test>").startswith("250 2.1.5")   # mydestination
        assert r.cmd("RCPT TO:<user%elsewhere.example@mbox.test>").startswith("554 5.7.1")
        assert r.cmd("RSET").startswith("250")


def test_hostile_input(mbox):
    m = mbox()
    m.start()
    with m.raw() as r:
        lhlo(r)
        assert r.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
        assert r.cmd("MAIL FROM:<s@example.org>").startswith("250")
        assert r.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
        assert r.cmd("X" * 5000) == "500 5.5.2 Error: line too long"
        assert r.cmd("RCPT TO:<ann@vdomain.test>\x00junk") == "500 5.5.2 Error: bad syntax"
        assert r.cmd("\x00\x01\x02") == "500 5.5.2 Error: bad syntax"
        assert r.cmd("RCPT TO:<ann@vdomain.test") .startswith("501 ")
        assert r.cmd("RCPT TO:<" + "a" * 2000 + "@vdomain.test>").startswith(("501", "550", "500"))
        assert r.cmd("NOOP") == "250 2.0.0 Ok"
        assert r.cmd("RSET") == "250 2.0.0 Ok"
    # BDAT with a bad size ends the session; no crash
    with m.raw() as r:
        lhlo(r)
        assert r.cmd("BDAT -5 LAST").startswith("501 5.5.4")
        assert r.closed()
    # a client that vanishes mid-DATA: no queue file left, lmtpd logs it
    with m.raw() as r:
        lhlo(r)
        for a in ("MAIL FROM:<s@example.org>", "RCPT TO:<ann@vdomain.test>", "DATA"):
            assert r.cmd(a)[0] in "23"
        r.send("Subject: cut\r\n\r\npartial")
    m.i.wait_log(r"posthorn/lmtpd\[\d+\]: lost connection after DATA \(\d+ bytes\) from")
    m.i.wait_for(lambda: not [f for _, _, fs in os.walk(os.path.join(m.i.queue, "incoming"))
                              for f in fs], what="incoming empty")


# --------------------------------------------------------------------------
# Durability


def test_kill_9_after_replies_mail_still_delivered(mbox):
    """The 250s promise a durable queue file: SIGKILL the lmtpd that sent
    them (and master, qmgr with it), with no delivery agent yet; after a
    restart with one the mail arrives, once per recipient."""
    m = mbox(virtual=False)
    m.start()
    tok = token()
    r = m.raw()
    lhlo(r)
    r.send(f"MAIL FROM:<s@example.org>\r\nRCPT TO:<ann@vdomain.test>\r\n"
           f"RCPT TO:<ben@vdomain.test>\r\nDATA\r\n")
    for _ in range(3):
        assert r.line().startswith("250")
    assert r.line().startswith("354")
    r.send(f"Subject: durable {tok}\r\n\r\n{tok}\r\n.\r\n")
    ids = per_rcpt(r, ["ann@vdomain.test", "ben@vdomain.test"])
    pids = m.i.children("lmtpd")
    assert pids, "no lmtpd process"
    for pid in pids + [m.i.master_pid()] + m.i.processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except (OSError, TypeError):
            pass
    r.close()
    m.i.wait_for(lambda: not m.i.processes(), what="instance gone")
    assert not m.maildir("ann")
    pidfile = os.path.join(m.i.queue, "pid", "master.pid")
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    m.write_master(virtual=True)
    m.start()
    m.wait_mail("ann", tok)
    m.wait_mail("ben", tok)
    m.i.wait_log(rf"{ids[0]}: removed", timeout=30)
    assert len([f for f in m.maildir("ann") if tok in read(f)]) == 1


# --------------------------------------------------------------------------
# Real users, aliases and virtual mailboxes (root instance of test_e2e_mail)


@pytest.mark.skipif(not IS_ROOT, reason="creates system users, root instance")
def test_mailbox_alias_and_virtual_recipients_root(instance_factory):
    from test_e2e_mail import Mail, Users, MASTER_CF
    inst = instance_factory(root=True)
    users = Users(inst)
    try:
        mail = Mail(inst, users)
        lport = inst.free_port()
        inst.write_master_cf(MASTER_CF.format(port=mail.port)
                             + f"127.0.0.1:{lport} inet n - n - - lmtpd\n")
        mail.start()
        tok = token()
        bob = f"{mail.bob.pw_name}@posthorn.test"
        r = Raw(lport)
        assert r.reply().startswith("220 ")
        assert r.cmd("LHLO front.test").startswith("250-posthorn.test")
        assert r.cmd("MAIL FROM:<s@example.org>").startswith("250")
        assert r.cmd(f"RCPT TO:<{bob}>").startswith("250 2.1.5")                # mailbox
        assert r.cmd("RCPT TO:<postmaster@posthorn.test>").startswith("250 2.1.5")  # alias
        assert r.cmd("RCPT TO:<carol@vdomain.test>").startswith("250 2.1.5")    # virtual
        assert r.cmd("RCPT TO:<nosuchuser-x@posthorn.test>").startswith("550 5.1.1")
        assert r.cmd("DATA").startswith("354")
        r.send(f"Subject: lmtp {tok}\r\n\r\nbody {tok}\r\n.\r\n")
        per_rcpt(r, [bob, "postmaster@posthorn.test", "carol@vdomain.test"])
        assert r.cmd("QUIT").startswith("221")
        r.close()
        for pattern in (os.path.join(mail.bob.pw_dir, "Maildir", "new", "*"),
                        os.path.join(mail.alice.pw_dir, "Maildir", "new", "*"),
                        os.path.join(mail.vbase, "vdomain.test", "carol", "new", "*")):
            files = mail.wait_files(pattern)
            assert any(tok in read(f) for f in files), pattern
        assert "X-Original-To: postmaster@posthorn.test\n" in read(
            mail.maildir(mail.alice)[0])
    finally:
        users.cleanup()


# --------------------------------------------------------------------------
# Front ends


def test_posthorn_front_end_into_lmtpd(mbox, instance_factory):
    m = mbox()
    m.start()
    front = instance_factory(main_cf={
        "myhostname": "front.test",
        "mydestination": "front.test",
        "mynetworks": "127.0.0.0/8",
        "alias_maps": "",
        "local_recipient_maps": "",
        "transport_maps": f"inline:{{ vdomain.test=lmtp:inet:127.0.0.1:{m.port} }}",
        "relay_domains": "vdomain.test",
        "smtpd_error_sleep_time": "0",
        "minimal_backoff_time": "1s",
        "queue_run_delay": "1s",
    })
    fport = front.free_port()
    front.write_master_cf(f"127.0.0.1:{fport} inet n - n - - smtpd\n"
                          "anvil unix - - n - 1 anvil\n"
                          "qmgr unix n - n 300 1 qmgr\n"
                          "lmtp unix - - n - - smtp\n")
    front.start()
    tok = token()
    with smtplib.SMTP("127.0.0.1", fport, timeout=15) as c:
        c.sendmail("sender@front.test", ["ann@vdomain.test", "ben@vdomain.test"],
                   f"Subject: via front {tok}\r\n\r\nrelayed {tok}\r\n")
    text = read(m.wait_mail("ann", tok)[0])
    m.wait_mail("ben", tok)
    assert re.search(r"by mbox\.test \(\w+\) with LMTP id", text), text
    line = front.wait_log(r"to=<ann@vdomain\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:"
                          rf"{m.port}, .*status=sent \((.*)\)", timeout=30)
    assert re.search(r"250 2\.1\.5 <ann@vdomain\.test> Ok: queued as \w+", line.group(1)), \
        line.group(0)
    front.wait_log(r"to=<ben@vdomain\.test>, .*status=sent")

    # the same through the mailbox host's unix socket private/lmtpd
    sock = os.path.join(m.i.queue, "private", "lmtpd")
    assert os.path.exists(sock)
    front.write_main_cf({"transport_maps": f"inline:{{ vdomain.test=lmtp:unix:{sock} }}"})
    front.reload()
    tok2 = token()
    with smtplib.SMTP("127.0.0.1", fport, timeout=15) as c:
        c.sendmail("sender@front.test", ["ben@vdomain.test"],
                   f"Subject: via socket {tok2}\r\n\r\n{tok2}\r\n")
    m.wait_mail("ben", tok2)
    line = front.wait_log(r"to=<ben@vdomain\.test>, relay=\S*private/lmtpd\S*, .*status=sent "
                          r"\(250 2\.1\.5 <ben@vdomain\.test> Ok: queued as \w+\)", timeout=30)


POSTFIX_MASTER_CF = """{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


@pytest.mark.skipif(not IS_ROOT, reason="runs a Postfix instance (needs root)")
def test_real_postfix_front_end_into_lmtpd(mbox):
    if not shutil.which("postfix") or not os.path.exists("/usr/lib/postfix/sbin/lmtp"):
        pytest.skip("Debian's postfix is not installed (tools/deps test_pkgs has it)")
    m = mbox()
    m.start()
    d = tempfile.mkdtemp(prefix="ph-pf-", dir="/tmp")
    os.chmod(d, 0o755)
    os.mkdir(os.path.join(d, "queue"), 0o755)     # postfix start makes the rest
    pport = m.i.free_port()
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
maillog_file = {d}/maillog
maillog_file_prefixes = /tmp
myhostname = pf.test
mydomain = pf.test
myorigin = pf.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = vdomain.test
transport_maps = inline:{{ vdomain.test=lmtp:inet:127.0.0.1:{m.port} }}
alias_maps =
alias_database =
local_recipient_maps =
smtputf8_enable = no
biff = no
lmtp_host_lookup = native
smtpd_client_connection_count_limit = 0
""")
    with open(os.path.join(d, "master.cf"), "w") as f:
        f.write(POSTFIX_MASTER_CF.format(port=f"127.0.0.1:{pport}"))
    env = dict(os.environ)
    env.pop("MAIL_CONFIG", None)
    p = subprocess.run(["postfix", "-c", d, "start"], capture_output=True, text=True,
                       timeout=60, env=env)
    try:
        assert p.returncode == 0, p.stdout + p.stderr
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", pport), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        tok = token()
        with smtplib.SMTP("127.0.0.1", pport, timeout=15) as c:
            c.sendmail("sender@pf.test", ["ann@vdomain.test", "ben@vdomain.test"],
                       f"Subject: from postfix {tok}\r\n\r\nvia postfix {tok}\r\n")
        text = read(m.wait_mail("ann", tok, timeout=60)[0])
        m.wait_mail("ben", tok, timeout=30)
        assert "with LMTP id" in text and "by pf.test (Postfix)" in text, text
        log = os.path.join(d, "maillog")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pflog = read(log) if os.path.exists(log) else ""
            if pflog.count("status=sent") >= 2:
                break
            time.sleep(0.2)
        assert re.search(r"postfix/lmtp\[\d+\]: \w+: to=<ann@vdomain\.test>, relay=127\.0\.0\.1"
                         rf"\[127\.0\.0\.1\]:{m.port}, .*status=sent \(250 2\.1\.5 "
                         r"<ann@vdomain\.test> Ok: queued as \w+\)", pflog), pflog
        m.i.wait_log(r"posthorn/lmtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]")
    finally:
        subprocess.run(["postfix", "-c", d, "stop"], capture_output=True, timeout=60, env=env)
        subprocess.run(["postfix", "-c", d, "abort"], capture_output=True, timeout=30, env=env)
        shutil.rmtree(d, ignore_errors=True)
