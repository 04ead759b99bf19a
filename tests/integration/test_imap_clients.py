"""IMAP with the rest of the suite and with more real clients.

- IDLE sees mail delivered through SMTP: swaks -> smtpd -> queue -> qmgr ->
  local -> the user's Maildir, while the user's IMAP session (served by a
  post-login server of a root instance) is in IDLE: "* 1 EXISTS" arrives
  without the client asking, and the message fetched is the one sent.
- fetchmail (Debian's) over IMAP: with "keep" it fetches every message
  once and marks them \\Seen (a second run finds nothing new); with "no
  keep" it fetches and deletes (EXPUNGE) them on the server.
"""
import mailbox
import os
import shutil
import time
import uuid

import pytest

from fetchmail import run_fetchmail
from test_e2e_mail import MASTER_CF, Mail, Users
from test_imapd import PASSWORD, Raw, login, setup_imap

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def mail_imap(instance_factory):
    """A root instance for the inbound path (test_e2e_mail's Mail) plus the
    auth service and imapd; alice (a real system user) has a password in
    a passwd-file and her mail in ~/Maildir."""
    if not IS_ROOT:
        pytest.skip("creates system users, root instance")
    inst = instance_factory(root=True)
    users = Users(inst)
    passwd = os.path.join(inst.dir, "imap-users")
    m = Mail(inst, users, auth_passdb=f"passwd-file:{passwd}",
             auth_userdb=f"passwd-file:{passwd}", auth_failure_delay="0",
             mail_location="maildir:~/Maildir")
    a = m.alice
    with open(passwd, "w") as f:
        f.write(f"{a.pw_name}:{{PLAIN}}{PASSWORD}:{a.pw_uid}:{a.pw_gid}::{a.pw_dir}::\n")
    m.imap_port = inst.free_port()
    inst.write_master_cf(MASTER_CF.format(port=m.port)
                         + "auth unix - n n - 1 auth\n"
                         + "auth-userdb unix - n n - 1 auth\n"
                         + f"127.0.0.1:{m.imap_port} inet n - n - 20 imapd\n")
    m.start()
    inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "auth")),
                  what="auth socket")
    yield m
    users.cleanup()


def test_idle_sees_smtp_delivery(mail_imap):
    m = mail_imap
    user = m.alice.pw_name
    r = Raw(m.imap_port)
    assert r.cmd(b"l", f"LOGIN {user} {PASSWORD}".encode())[-1].startswith(b"l OK")
    lines = r.cmd(b"s", b"SELECT INBOX")
    assert b"* 0 EXISTS\r\n" in lines, lines
    r.send(b"i IDLE\r\n")
    assert r.line().startswith(b"+ ")
    tok = "idle-" + uuid.uuid4().hex
    p = m.swaks(f"{user}@posthorn.test",
                data=f"From: sender@example.org\nTo: {user}\nSubject: {tok}\n\nbody {tok}\n")
    assert p.returncode == 0, p.stdout + p.stderr
    t0 = time.monotonic()
    ln = r.line()
    while ln.startswith(b"* OK") or ln.startswith(b"* 1 RECENT"):
        ln = r.line()
    assert ln == b"* 1 EXISTS\r\n", ln
    assert time.monotonic() - t0 < 25
    r.send(b"DONE\r\n")
    assert r.until_tag(b"i")[-1].startswith(b"i OK")
    got = b"".join(r.cmd(b"f", b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])"))
    assert f"Subject: {tok}".encode() in got and f"body {tok}".encode() in got, got
    r.cmd(b"o", b"LOGOUT")
    # the session was served as alice, by a process that is not master's
    m.i.wait_log(r"post-login server for uid %d " % m.alice.pw_uid)


def fetchmail(port, tmp_path, keep, mbox):
    """Debian's fetchmail over IMAP into an mbox."""
    return run_fetchmail(tmp_path, mbox, port, "imap", "alice@example.com", PASSWORD,
                         "keep" if keep else "no keep")


@pytest.mark.skipif(shutil.which("fetchmail") is None, reason="fetchmail not installed (tools/deps test)")
def test_fetchmail_over_imap(instance, tmp_path):
    inst = setup_imap(instance)
    c = login(inst)
    for i in range(3):
        c.append("INBOX", None, None, f"Subject: fm {i}\r\n\r\nbody {i}\r\n".encode())
    c.logout()
    mbox = tmp_path / "mbox"
    p = fetchmail(inst.imap_port, tmp_path, True, mbox)
    assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(msg["Subject"] for msg in mailbox.mbox(str(mbox))) == ["fm 0", "fm 1", "fm 2"]
    # keep: still on the server, now \Seen; a second run has nothing new
    c = login(inst)
    c.select("INBOX")
    assert c.search(None, "UNSEEN")[1] == [b""]
    assert c.search(None, "SEEN")[1] == [b"1 2 3"]
    c.append("INBOX", None, None, b"Subject: fm 3\r\n\r\nbody 3\r\n")
    c.logout()
    p = fetchmail(inst.imap_port, tmp_path, True, mbox)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(mailbox.mbox(str(mbox))) == 4          # only the new one
    p = fetchmail(inst.imap_port, tmp_path, True, mbox)
    assert p.returncode == 1, p.stdout + p.stderr     # 1: no mail
    # no keep: fetch all unseen, then delete them on the server
    c = login(inst)
    c.select("INBOX")
    c.store("1:*", "-FLAGS", "(\\Seen)")
    c.logout()
    p = fetchmail(inst.imap_port, tmp_path, False, mbox)
    assert p.returncode == 0, p.stdout + p.stderr
    assert len(mailbox.mbox(str(mbox))) == 8
    c = login(inst)
    typ, data = c.select("INBOX")
    assert data == [b"0"], data
    c.logout()
