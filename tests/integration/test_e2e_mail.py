"""Receive and deliver, end to end: swaks -> smtpd -> queue -> qmgr -> local.

A root instance (master as root, smtpd/qmgr/pickup as mail_owner, local as
root switching to each recipient) with the shipped inbound services:
smtp (on a free loopback port), qmgr, pickup, local, virtual, anvil. The
tests create real system users (homes inside the instance directory), an
aliases file built with newaliases (alias_database), virtual_alias_maps
and virtual_mailbox_maps, and check what lands in the Maildirs and mboxes
(headers included) and the Postfix-shape log lines of every step.

mynetworks is set to a documentation address (192.0.2.1/32), so loopback
clients are NOT trusted: they may send to our domains but not relay.
"""
import email
import email.policy
import glob
import os
import pwd
import re
import subprocess
import time
import uuid

import pytest

IS_ROOT = os.geteuid() == 0
pytestmark = pytest.mark.skipif(not IS_ROOT, reason="creates system users, root instance")

MASTER_CF = ("{port} inet n - n - - smtpd\n"
             "qmgr unix n - n 300 1 qmgr\n"
             "pickup unix n - n 60 1 pickup\n"
             "local unix - n n - - local\n"
             "virtual unix - n n - - local\n"
             "anvil unix - - n - 1 anvil\n")

SWAKS_TIMEOUT = 30


class Users:
    """Real system users with homes under the instance directory."""

    def __init__(self, inst):
        self.inst = inst
        self.made = []

    def add(self):
        name = "phe" + uuid.uuid4().hex[:9]
        home = os.path.join(self.inst.dir, "home", name)
        os.makedirs(os.path.dirname(home), exist_ok=True)
        os.chmod(os.path.dirname(home), 0o755)
        subprocess.run(["useradd", "--no-create-home", "--home-dir", home, "--user-group",
                        "--shell", "/bin/sh", name], check=True, capture_output=True)
        self.made.append(name)
        pw = pwd.getpwnam(name)
        os.mkdir(home, 0o700)
        os.chown(home, pw.pw_uid, pw.pw_gid)
        return pw

    def cleanup(self):
        for name in self.made:
            subprocess.run(["userdel", name], capture_output=True)


class Mail:
    """One root instance set up for the inbound path."""

    def __init__(self, inst, users, **params):
        self.i = inst
        self.users = users
        self.port = inst.free_port()
        self.alice = users.add()
        self.bob = users.add()
        d = inst.dir
        self.aliases = os.path.join(d, "aliases")
        self.write(self.aliases, f"postmaster: {self.alice.pw_name}\n"
                                 f"team: {self.alice.pw_name}, {self.bob.pw_name}\n"
                                 "broken: nosuchuser-e2e-xyz\n")
        self.vbase = os.path.join(d, "vmail")
        os.mkdir(self.vbase)
        vmail = users.add()
        self.vuid, self.vgid = vmail.pw_uid, vmail.pw_gid
        os.chown(self.vbase, self.vuid, self.vgid)
        self.vmailbox = os.path.join(d, "vmailbox")
        self.write(self.vmailbox, "carol@vdomain.test vdomain.test/carol/\n"
                                  "dave@vdomain.test vdomain.test/dave\n")
        self.virtual = os.path.join(d, "virtual")
        self.write(self.virtual, f"info@vdomain.test carol@vdomain.test\n"
                                 f"boss@posthorn.test {self.bob.pw_name}@posthorn.test\n")
        for t in (self.vmailbox, self.virtual):
            inst.command("postmap", t, check=True)
        conf = {
            "mydestination": "posthorn.test, localhost",
            "mynetworks": "192.0.2.1/32",
            "home_mailbox": "Maildir/",
            "alias_maps": "hash:" + self.aliases,
            "alias_database": "hash:" + self.aliases,
            "virtual_alias_maps": "hash:" + self.virtual,
            "virtual_mailbox_domains": "vdomain.test",
            "virtual_mailbox_maps": "hash:" + self.vmailbox,
            "virtual_mailbox_base": self.vbase,
            "virtual_uid_maps": f"static:{self.vuid}",
            "virtual_gid_maps": f"static:{self.vgid}",
            "mail_spool_directory": os.path.join(d, "spool"),
            "minimal_backoff_time": "2s",
            "maximal_backoff_time": "4s",
            "queue_run_delay": "1s",
        }
        conf.update(params)
        os.makedirs(os.path.join(d, "spool"), exist_ok=True)
        os.chmod(os.path.join(d, "spool"), 0o1777)
        inst.write_main_cf(conf)
        inst.write_master_cf(MASTER_CF.format(port=self.port))
        p = inst.run([inst.program("newaliases"), "-c", d])
        assert p.returncode == 0, p.stderr
        assert os.path.exists(self.aliases + ".lmdb") or glob.glob(self.aliases + ".*")

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def start(self):
        self.i.start()
        self.i.wait_for(lambda: os.path.exists(os.path.join(self.i.queue, "public", "qmgr")),
                        what="public/qmgr")

    def swaks(self, to, frm=None, data=None, extra=()):
        frm = frm if frm is not None else f"{self.alice.pw_name}@posthorn.test"
        argv = ["swaks", "--server", "127.0.0.1", "--port", str(self.port),
                "--helo", "client.example", "--from", frm, "--to", to,
                "--timeout", "20"]
        if data is not None:
            argv += ["--data", data]
        argv += list(extra)
        return subprocess.run(argv, capture_output=True, text=True, timeout=SWAKS_TIMEOUT)

    def maildir(self, pw, sub="new"):
        return sorted(glob.glob(os.path.join(pw.pw_dir, "Maildir", sub, "*")))

    def wait_files(self, pattern, n=1, timeout=30):
        return self.i.wait_for(lambda: (lambda f: f if len(f) >= n else None)(
            sorted(glob.glob(pattern))), timeout=timeout, what=f"{n} file(s) {pattern}")

    def queue_files(self):
        out = []
        for q in ("incoming", "active", "deferred", "hold", "maildrop"):
            for _, _, files in os.walk(os.path.join(self.i.queue, q)):
                out.extend(files)
        return out


@pytest.fixture
def mail(instance_factory):
    inst = instance_factory(root=True)
    users = Users(inst)
    m = Mail(inst, users)
    yield m
    users.cleanup()


def token():
    return "tok-" + uuid.uuid4().hex


def msg(tok, subject="e2e"):
    return f"From: sender@example.org\nTo: someone\nSubject: {subject} {tok}\n\nbody {tok}"


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def queued_id(p):
    m = re.search(r"<-\s+250 2\.0\.0 Ok: queued as (\S+)", p.stdout)
    assert m, p.stdout + p.stderr
    return m.group(1)


def test_local_user_alias_and_virtual(mail):
    mail.start()
    inst = mail.i
    mark = inst.mark()
    tok = token()
    p = mail.swaks(f"{mail.bob.pw_name}@posthorn.test", data=msg(tok))
    assert p.returncode == 0, p.stdout
    qid = queued_id(p)
    files = mail.wait_files(os.path.join(mail.bob.pw_dir, "Maildir", "new", "*"))
    text = read(files[0])
    st = os.stat(files[0])
    assert (st.st_uid, st.st_gid) == (mail.bob.pw_uid, mail.bob.pw_gid)
    hdr = email.message_from_string(text, policy=email.policy.default)
    assert text.startswith(f"Return-Path: <{mail.alice.pw_name}@posthorn.test>\n"
                           f"Delivered-To: {mail.bob.pw_name}@posthorn.test\nReceived: ")
    rcvd = hdr["Received"]
    assert "from client.example (localhost [127.0.0.1])" in rcvd or "client.example" in rcvd
    assert f"id {qid}" in rcvd and f"for <{mail.bob.pw_name}@posthorn.test>" in rcvd
    assert re.match(rf"<\d{{14}}\.{qid}@posthorn\.test>$", hdr["Message-ID"]), hdr["Message-ID"]
    msgid = hdr["Message-ID"]
    assert hdr["Date"]
    assert text.endswith(f"\nbody {tok}\n")
    # the log, step by step, in Postfix's shapes
    log = inst.log()[mark:]
    for rx in (r"posthorn/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]",
               rf"posthorn/smtpd\[\d+\]: {qid}: client=localhost\[127\.0\.0\.1\]",
               rf"posthorn/smtpd\[\d+\]: {qid}: message-id={re.escape(msgid)}",
               rf"posthorn/qmgr\[\d+\]: {qid}: from=<{mail.alice.pw_name}@posthorn\.test>, "
               rf"size=\d+, nrcpt=1 \(queue active\)",
               rf"posthorn/local\[\d+\]: {qid}: to=<{mail.bob.pw_name}@posthorn\.test>, "
               r"relay=local, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
               r"status=sent \(delivered to maildir\)",
               rf"posthorn/qmgr\[\d+\]: {qid}: removed",
               r"posthorn/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] ehlo=1 "
               r"mail=1 rcpt=1 data=1 quit=1 commands=5"):
        inst.wait_log(rx, since=mark, timeout=15)
    assert not mail.queue_files()

    # an alias (built by newaliases) to two users; one queue file, two copies
    tok2 = token()
    p = mail.swaks("team@posthorn.test", data=msg(tok2))
    assert p.returncode == 0, p.stdout
    qid2 = queued_id(p)
    for u in (mail.alice, mail.bob):
        mail.wait_files(os.path.join(u.pw_dir, "Maildir", "new", "*"), n=1 if u is mail.alice else 2)
        got = [read(f) for f in mail.maildir(u) if tok2 in read(f)]
        assert len(got) == 1
        assert f"Delivered-To: {u.pw_name}@posthorn.test\n" in got[0]
        assert "X-Original-To: team@posthorn.test\n" in got[0]
    inst.wait_log(rf"{qid2}: to=<{mail.alice.pw_name}@posthorn\.test>, "
                  r"orig_to=<team@posthorn\.test>, relay=local, .*status=sent")

    # a virtual alias (expanded by smtpd into the queue file) to a virtual
    # mailbox (Maildir) and a virtual mbox
    tok3 = token()
    p = mail.swaks("info@vdomain.test,dave@vdomain.test", data=msg(tok3))
    assert p.returncode == 0, p.stdout
    qid3 = queued_id(p)
    files = mail.wait_files(os.path.join(mail.vbase, "vdomain.test", "carol", "new", "*"))
    text = read(files[0])
    assert text.startswith(f"Return-Path: <{mail.alice.pw_name}@posthorn.test>\n"
                           "X-Original-To: info@vdomain.test\n"
                           "Delivered-To: carol@vdomain.test\n")
    assert os.stat(files[0]).st_uid == mail.vuid
    inst.wait_log(rf"posthorn/virtual\[\d+\]: {qid3}: to=<carol@vdomain\.test>, "
                  r"orig_to=<info@vdomain\.test>, relay=virtual, .*dsn=2\.0\.0, "
                  r"status=sent \(delivered to maildir\)")
    mbox = os.path.join(mail.vbase, "vdomain.test", "dave")
    inst.wait_for(lambda: os.path.exists(mbox) and tok3 in read(mbox), what="virtual mbox")
    assert read(mbox).startswith(f"From {mail.alice.pw_name}@posthorn.test ")
    inst.wait_log(rf"{qid3}: to=<dave@vdomain\.test>, relay=virtual, .*status=sent "
                  r"\(delivered to mailbox\)")
    inst.wait_log(rf"{qid3}: from=<.*>, size=\d+, nrcpt=2 \(queue active\)")

    # a virtual alias to a local user in mydestination
    tok4 = token()
    p = mail.swaks("boss@posthorn.test", data=msg(tok4))
    assert p.returncode == 0, p.stdout
    inst.wait_for(lambda: any(tok4 in read(f) for f in mail.maildir(mail.bob)), timeout=30,
                  what="boss -> bob")


RELAY_TRICKS = [
    "victim@remote.example",
    "victim%remote.example@posthorn.test",
    '"victim@remote.example"@posthorn.test',
    "@posthorn.test:victim@remote.example",
    "victim@remote.example@posthorn.test",
    "remote.example!victim@posthorn.test",
    "victim@[192.0.2.7]",
    "victim%remote.example@[127.0.0.1]",
]


def test_relay_denied_and_unknown_user(mail):
    inst = mail.i
    # Postfix's default is the safety net defer_unauth_destination (454)
    mail.start()
    p = mail.swaks("victim@remote.example", data=msg(token()), extra=["--quit-after", "RCPT"])
    assert re.search(r"<\*\*\s+454 4\.7\.1 <victim@remote\.example>: Relay access denied",
                     p.stdout), p.stdout
    inst.write_main_cf({"smtpd_relay_restrictions": "permit_mynetworks, "
                        "permit_sasl_authenticated, reject_unauth_destination"})
    inst.reload()
    for rcpt in RELAY_TRICKS:
        p = mail.swaks(rcpt, data=msg(token()), extra=["--quit-after", "RCPT"])
        if rcpt == "victim@remote.example@posthorn.test":
            # our RFC 5321 path parser already refuses two "@" (Postfix
            # parses it and says 554 Relay access denied): refused either way
            assert re.search(r"<\*\*\s+(554 5\.7\.1 .*Relay access denied|501 5\.1\.3 Bad "
                             r"recipient address syntax)", p.stdout), rcpt
            continue
        assert re.search(r"<\*\*\s+554 5\.7\.1 .*Relay access denied", p.stdout), rcpt
    p = mail.swaks("nosuchuser-e2e-xyz@posthorn.test", data=msg(token()),
                   extra=["--quit-after", "RCPT"])
    assert re.search(r"<\*\*\s+550 5\.1\.1 <nosuchuser-e2e-xyz@posthorn\.test>: Recipient address "
                     r"rejected: User unknown in local recipient table", p.stdout), p.stdout
    p = mail.swaks("nobody@vdomain.test", data=msg(token()), extra=["--quit-after", "RCPT"])
    assert re.search(r"<\*\*\s+550 5\.1\.1 ", p.stdout), p.stdout
    inst.wait_log(r"NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: 554 5\.7\.1 "
                  r"<victim@remote\.example>: Relay access denied")
    # a full DATA attempt to a relay address: no 250, nothing queued
    p = mail.swaks("victim%remote.example@posthorn.test", data=msg(token()))
    assert "queued as" not in p.stdout
    time.sleep(0.5)
    assert mail.queue_files() == []
    assert not os.path.isdir(os.path.join(mail.bob.pw_dir, "Maildir"))


def test_defer_then_retry(mail):
    mail.start()
    inst = mail.i
    bob = mail.bob
    md = os.path.join(bob.pw_dir, "Maildir")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(md, sub))
    for root, dirs, _ in os.walk(md):
        os.chown(root, bob.pw_uid, bob.pw_gid)
    os.chmod(os.path.join(md, "tmp"), 0o000)       # local runs as bob: cannot write
    tok = token()
    p = mail.swaks(f"{bob.pw_name}@posthorn.test", data=msg(tok))
    qid = queued_id(p)
    inst.wait_log(rf"{qid}: to=<{bob.pw_name}@posthorn\.test>, relay=local, .*dsn=4\.\d\.\d+, "
                  r"status=deferred \(", timeout=20)
    assert mail.maildir(bob) == []
    os.chmod(os.path.join(md, "tmp"), 0o700)
    mail.wait_files(os.path.join(md, "new", "*"), timeout=30)
    inst.wait_log(rf"{qid}: to=<{bob.pw_name}@posthorn\.test>, .*status=sent \(delivered to maildir\)")
    inst.wait_log(rf"{qid}: removed")
    assert tok in read(mail.maildir(bob)[0])


def test_bounce_dsn_to_sender(mail):
    mail.start()
    inst = mail.i
    tok = token()
    p = mail.swaks("broken@posthorn.test", data=msg(tok, subject="will bounce"))
    qid = queued_id(p)
    inst.wait_log(rf"{qid}: to=<nosuchuser-e2e-xyz@posthorn\.test>, orig_to=<broken@posthorn\.test>,"
                  r" relay=local, .*dsn=5\.1\.1, status=bounced", timeout=20)
    files = mail.wait_files(os.path.join(mail.alice.pw_dir, "Maildir", "new", "*"))
    dsn = email.message_from_string(read(files[0]), policy=email.policy.default)
    assert dsn["Return-Path"] == "<>"
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = list(dsn.iter_parts())
    assert parts[0].get_content_type() == "text/plain"
    assert parts[1].get_content_type() == "message/delivery-status"
    status = parts[1].as_string()
    assert re.search(r"Final-Recipient: rfc822;\s*(broken|nosuchuser-e2e-xyz)@posthorn\.test",
                     status), status
    assert "nosuchuser-e2e-xyz" in status
    assert re.search(r"Action: failed", status) and re.search(r"Status: 5\.1\.1", status)
    assert tok in dsn.as_string()                    # the original comes back
    inst.wait_log(rf"{qid}: sender non-delivery notification: (\S+)")


def test_sendmail_while_stopped(mail):
    inst = mail.i
    p = inst.posthorn("check")          # the installed state: queue directories exist
    assert p.returncode == 0, p.stderr
    tok = token()
    p = inst.run([inst.program("sendmail"), "-C", inst.dir, "-f",
                  f"{mail.alice.pw_name}@posthorn.test", f"{mail.bob.pw_name}@posthorn.test"],
                 input=f"Subject: offline {tok}\n\nbody {tok}\n")
    assert p.returncode == 0, p.stderr
    assert glob.glob(os.path.join(inst.queue, "maildrop", "**", "*"), recursive=True)
    time.sleep(0.5)
    assert mail.maildir(mail.bob) == []
    mail.start()
    files = mail.wait_files(os.path.join(mail.bob.pw_dir, "Maildir", "new", "*"), timeout=30)
    text = read(files[0])
    assert tok in text
    hdr = email.message_from_string(text, policy=email.policy.default)
    assert hdr["Message-ID"] and hdr["Date"]
    assert f"Return-Path: <{mail.alice.pw_name}@posthorn.test>" in text


def test_rebuilt_table_without_restart(mail):
    mail.start()
    inst = mail.i
    p = mail.swaks("sales@vdomain.test", data=msg(token()), extra=["--quit-after", "RCPT"])
    assert re.search(r"<\*\*\s+550 5\.1\.1 ", p.stdout), p.stdout
    # add a virtual alias and a mailbox: postmap replaces the tables in place
    with open(mail.virtual, "a") as f:
        f.write("sales@vdomain.test carol@vdomain.test\n")
    inst.command("postmap", mail.virtual, check=True)
    # smtpd notices at the next session (or transaction): within seconds
    deadline = time.monotonic() + 10
    while True:
        tok = token()
        p = mail.swaks("sales@vdomain.test", data=msg(tok))
        if "queued as" in p.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    qid = queued_id(p)
    files = mail.wait_files(os.path.join(mail.vbase, "vdomain.test", "carol", "new", "*"))
    assert any(tok in read(f) for f in files)
    inst.wait_log(rf"{qid}: to=<carol@vdomain\.test>, orig_to=<sales@vdomain\.test>")
    # an access table, rebuilt while smtpd runs: the client is rejected
    access = os.path.join(inst.dir, "access")
    mail.write(access, "192.0.2.99 OK\n")
    inst.command("postmap", access, check=True)
    inst.write_main_cf({"smtpd_client_restrictions": "check_client_access hash:" + access})
    inst.reload()
    p = mail.swaks(f"{mail.bob.pw_name}@posthorn.test", data=msg(token()))
    assert "queued as" in p.stdout, p.stdout
    mail.write(access, "127.0.0.1 REJECT go away\n")
    inst.command("postmap", access, check=True)
    deadline = time.monotonic() + 10
    while True:
        p = mail.swaks(f"{mail.bob.pw_name}@posthorn.test", data=msg(token()))
        if "go away" in p.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert re.search(r"<\*\*\s+554 5\.7\.1 .*go away", p.stdout), p.stdout


def test_expanded_duplicates_queued_once(mail):
    """RCPT info (a virtual alias of carol) and RCPT carol: smtpd writes
    carol once into the queue file; she gets one copy."""
    mail.start()
    inst = mail.i
    tok = token()
    p = mail.swaks("info@vdomain.test,carol@vdomain.test,CAROL@vdomain.test", data=msg(tok))
    qid = queued_id(p)
    inst.wait_log(rf"{qid}: from=<.*>, size=\d+, nrcpt=1 \(queue active\)")
    inst.wait_log(rf"{qid}: removed")
    files = glob.glob(os.path.join(mail.vbase, "vdomain.test", "carol", "new", "*"))
    assert len([f for f in files if tok in read(f)]) == 1
