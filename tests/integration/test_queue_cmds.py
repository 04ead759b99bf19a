"""The queue commands on a temporary queue, no daemons: sendmail/postdrop
write maildrop files, postqueue lists them, postsuper moves and deletes
them, postcat shows them. Queue files are checked against the format
documented in lib/qfile.h, parsed here independently of the C reader."""
import glob
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "bin")

QUEUES = ["maildrop", "incoming", "active", "deferred", "hold", "corrupt",
          "bounce", "defer", "private", "public", "pid"]


@pytest.fixture
def inst(tmp_path):
    qdir = tmp_path / "queue"
    for q in QUEUES:
        (qdir / q).mkdir(parents=True)
    (tmp_path / "main.cf").write_text(
        f"queue_directory = {qdir}\n"
        f"command_directory = {BIN}\n"
        "myhostname = mail.example.com\n"
        "myorigin = example.com\n"
        f"mail_owner = {os.environ.get('USER', 'root')}\n"
        "hash_queue_depth = 1\n")

    class Inst:
        conf = str(tmp_path)
        queue = qdir

        def run(self, prog, *args, stdin=b"", argv0=None):
            path = os.path.join(BIN, prog)
            env = dict(os.environ)
            env.pop("MAIL_CONFIG", None)
            p = subprocess.run([argv0 or path, *args], executable=path, input=stdin,
                               capture_output=True, timeout=30, env=env)
            return p

        def sendmail(self, *args, stdin=b""):
            return self.run("sendmail", "-C", self.conf, *args, stdin=stdin)

        def files(self, queue):
            return sorted(p for p in glob.glob(str(self.queue / queue / "**"), recursive=True)
                          if os.path.isfile(p))

        def ids(self, queue):
            return [os.path.basename(p) for p in self.files(queue)]

    return Inst()


def parse_qfile(data):
    """Parse a queue file by the documented format (lib/qfile.h)."""
    recs = []
    pos = 0
    while pos < len(data):
        typ = chr(data[pos])
        length = int(data[pos + 1:pos + 9], 16)
        assert data[pos + 9:pos + 10] == b" "
        body = data[pos + 10:pos + 10 + length]
        assert data[pos + 10 + length:pos + 11 + length] == b"\n"
        recs.append((typ, pos, body))
        pos += 11 + length
    types = "".join(r[0] for r in recs)
    assert re.fullmatch(r"VTA*SR+ME", types), types
    assert recs[0][2] == b"posthorn-queue 1"
    coff, csize = (int(x, 16) for x in recs[-1][2].split(b" "))
    m = recs[-2]
    assert coff == m[1] + 10 and csize == len(m[2])
    out = {"attrs": {}, "rcpts": [], "content": m[2]}
    for typ, off, body in recs:
        if typ == "A":
            k, v = body.decode().split("=", 1)
            out["attrs"][k] = v
        elif typ == "S":
            out["sender"] = body.decode()
        elif typ == "R":
            orcpt, addr = body[4:].decode().split("\n", 1)
            out["rcpts"].append({"status": chr(body[0]), "notify": int(chr(body[2]), 16),
                                 "orcpt": orcpt, "address": addr, "status_offset": off + 10})
        elif typ == "T":
            out["time"] = int(body.split(b" ")[0])
    return out


def hash_dir(qid, depth=1):
    """The documented hash: FNV-1a 32 over the ID, low nibbles first."""
    h = 2166136261
    for c in qid.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return "/".join("%x" % ((h >> (4 * i)) & 15) for i in range(depth))


MSG_T = (b"To: Joe <joe@example.org>, \"x y\"@example.net\r\n"
         b"Cc: cc@example.com\r\n"
         b"Bcc: hidden@example.com,\r\n\tlocaluser\r\n"
         b"Subject: hello\r\n"
         b"\r\n"
         b"line one\r\n"
         b".\r\n"
         b"after the dot\r\n")


def test_sendmail_t_writes_maildrop(inst):
    p = inst.sendmail("-t", "-F", "Test User", "-f", "sender", stdin=MSG_T)
    assert p.returncode == 0, p.stderr
    files = inst.files("maildrop")
    assert len(files) == 1
    assert os.stat(files[0]).st_mode & 0o777 == 0o644
    q = parse_qfile(open(files[0], "rb").read())
    assert q["sender"] == "sender@example.com"
    assert [r["address"] for r in q["rcpts"]] == [
        "joe@example.org", "x y@example.net", "cc@example.com",
        "hidden@example.com", "localuser@example.com"]
    assert all(r["status"] == "P" for r in q["rcpts"])
    assert q["attrs"]["full_name"] == "Test User"
    assert q["attrs"]["uid"] == str(os.getuid())
    assert q["attrs"]["origin"] == "sendmail"
    c = q["content"].decode()
    assert "\r" not in c
    assert c.startswith("Received: by mail.example.com (Posthorn, from userid")
    assert "Bcc:" not in c and "hidden@" not in c
    assert "\nFrom: Test User <sender@example.com>\n" in c
    assert re.search(r"\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", c)
    assert re.search(r"\nMessage-Id: <\d{14}\.\w+@mail\.example\.com>\n", c)
    assert "To: undisclosed" not in c
    # Without -i a lone "." ends the message.
    assert c.endswith("\n\nline one\n")


def test_sendmail_i_keeps_dot_and_recipients_on_command_line(inst):
    msg = b"Subject: dots\n\n.\n..\nend\n"
    p = inst.sendmail("-i", "-f", "<a@example.org>", "rcpt1", "b@example.net, <c@example.net>",
                      stdin=msg)
    assert p.returncode == 0, p.stderr
    q = parse_qfile(open(inst.files("maildrop")[0], "rb").read())
    assert q["sender"] == "a@example.org"
    assert [r["address"] for r in q["rcpts"]] == [
        "rcpt1@example.com", "b@example.net", "c@example.net"]
    c = q["content"].decode()
    assert c.endswith("\n\n.\n..\nend\n")
    assert "\nTo: undisclosed-recipients:;\n" in c
    assert "\nFrom: a@example.org\n" in c
    # -oi is -i
    p = inst.sendmail("-oi", "-odb", "x@example.org", stdin=b"\n.\nstill here\n")
    assert p.returncode == 0, p.stderr
    assert len(inst.files("maildrop")) == 2


def test_sendmail_null_sender_and_dsn(inst):
    p = inst.sendmail("-f", "<>", "-N", "success,failure", "-R", "hdrs", "-V", "env-1",
                      "x@example.org", stdin=b"Subject: n\n\nbody\n")
    assert p.returncode == 0, p.stderr
    q = parse_qfile(open(inst.files("maildrop")[0], "rb").read())
    assert q["sender"] == ""
    assert q["rcpts"][0]["notify"] == 2 | 4
    assert q["attrs"]["dsn_ret"] == "HDRS"
    assert q["attrs"]["dsn_envid"] == "env-1"
    out = inst.run("postqueue", "-c", inst.conf, "-p").stdout.decode()
    assert "MAILER-DAEMON" in out


def test_sendmail_errors(inst):
    p = inst.sendmail(stdin=b"Subject: x\n\n")
    assert p.returncode == 75
    assert b"Recipient addresses must be specified" in p.stderr
    p = inst.sendmail("-t", stdin=b"Subject: x\n\nbody\n")
    assert p.returncode == 75
    assert b"No recipient addresses found in message header" in p.stderr
    p = inst.sendmail("-bd", stdin=b"")
    assert p.returncode == 69
    p = inst.sendmail("-Z", "x@y", stdin=b"")
    assert p.returncode == 64
    assert inst.files("maildrop") == []
    # header section over header_size_limit
    big = b"X-Big: " + b"a" * 200000 + b"\n\nbody\n"
    p = inst.sendmail("x@example.org", stdin=big)
    assert p.returncode == 65
    assert inst.files("maildrop") == []


def test_sendmail_bs_session(inst):
    """sendmail -bs: SMTP on stdin/stdout, each message through postdrop."""
    session = (b"EHLO client.example\r\n"
               b"DATA\r\n"
               b"MAIL FROM:<a@example.org>\r\n"
               b"MAIL FROM:<b@example.org>\r\n"
               b"RCPT TO:<x@example.net>\r\n"
               b"RCPT TO:<bad address>\r\n"
               b"RCPT TO:<local>\r\n"
               b"DATA\r\n"
               b"Subject: bs\r\n\r\n..dot\r\nline\r\n.\r\n"
               b"MAIL FROM:<>\r\nRCPT TO:<y@example.net>\r\nRSET\r\n"
               b"BOGUS\r\n"
               b"QUIT\r\n")
    p = inst.sendmail("-bs", stdin=session)
    assert p.returncode == 0, p.stderr
    codes = [line[:3] for line in p.stdout.decode().split("\r\n") if line[3:4] == " "]
    assert codes == ["220", "250", "503", "250", "503", "250", "501", "250",
                     "354", "250", "250", "250", "250", "502", "221"], p.stdout
    assert b"250 2.0.0 Ok: queued" in p.stdout
    files = inst.files("maildrop")
    assert len(files) == 1          # the RSET transaction queued nothing
    q = parse_qfile(open(files[0], "rb").read())
    assert q["sender"] == "a@example.org"
    assert [r["address"] for r in q["rcpts"]] == ["x@example.net", "local@example.com"]
    assert q["content"].decode().endswith("Subject: bs\n\n.dot\nline\n")
    # a session that ends inside DATA queues nothing
    p = inst.sendmail("-bs", stdin=b"MAIL FROM:<a@x.org>\r\nRCPT TO:<b@x.org>\r\nDATA\r\nSubject: cut\r\n")
    assert p.returncode == 0
    assert len(inst.files("maildrop")) == 1


def test_message_size_limit(inst):
    with open(os.path.join(inst.conf, "main.cf"), "a") as f:
        f.write("message_size_limit = 2000\n")
    p = inst.sendmail("x@example.org", stdin=b"Subject: big\n\n" + b"x" * 5000 + b"\n")
    assert p.returncode == 65, p.stderr
    assert b"message file too big" in p.stderr
    assert inst.files("maildrop") == []


def test_postdrop_rejects_bad_envelope(inst):
    for env in [b"rcpt a@b\n\nbody",                   # no sender
                b"sender a@b\n\nbody",                 # no recipients
                b"sender a@b\nrcpt c@d\nattr uid=0\n\n",  # attribute not allowed
                b"sender a@b\nbogus\n\n",
                b"sender a@b\nrcpt c@d",               # unterminated envelope
                b"sender a@b\nrcpt " + b"x" * 10000 + b"\n\n"]:
        p = inst.run("postdrop", "-c", inst.conf, stdin=env)
        assert p.returncode == 65, (env, p.stderr)
    assert inst.files("maildrop") == []
    p = inst.run("postdrop", "-c", inst.conf,
                 stdin=b"sender a@b\nrcpt c@d\nattr full_name=X\n\nSubject: s\n\nhi\n")
    assert p.returncode == 0, p.stderr
    assert len(inst.files("maildrop")) == 1


def test_postqueue_listing(inst):
    assert inst.run("postqueue", "-c", inst.conf, "-p").stdout == b"Mail queue is empty\n"
    assert inst.run("postqueue", "-c", inst.conf, "-j").stdout == b""
    for i in range(2):
        p = inst.sendmail("-f", f"s{i}@example.org", f"r{i}@example.net", "other@example.net",
                          stdin=b"Subject: s\n\n" + b"x" * 1500 + b"\n")
        assert p.returncode == 0, p.stderr
    ids = inst.ids("maildrop")
    out = inst.run("postqueue", "-c", inst.conf, "-p").stdout.decode()
    lines = out.split("\n")
    assert lines[0] == "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------"
    first = [l for l in lines if l.startswith(ids[0])][0]
    assert re.match(r"^\w+\s+\d+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d s\d@example.org$", first)
    assert " " * 47 + "other@example.net" in lines
    assert out.endswith("\n-- 3 Kbytes in 2 Requests.\n")
    objs = [json.loads(l) for l in
            inst.run("postqueue", "-c", inst.conf, "-j").stdout.decode().splitlines()]
    assert sorted(o["queue_id"] for o in objs) == ids
    o = objs[0]
    assert o["queue_name"] == "maildrop"
    assert o["forced_expire"] is False
    assert o["message_size"] > 1500
    assert {r["address"] for r in o["recipients"]} >= {"other@example.net"}
    assert isinstance(o["arrival_time"], int)
    # mailq is postqueue -p
    mailq = inst.run("sendmail", "-C", inst.conf, argv0="mailq")
    assert mailq.returncode == 0, mailq.stderr
    assert mailq.stdout.decode() == out
    bp = inst.sendmail("-bp")
    assert bp.stdout.decode() == out
    link = os.path.join(BIN, "mailq")
    assert os.path.islink(link) and os.readlink(link) == "sendmail"
    p = subprocess.run([link, "-C", inst.conf], capture_output=True, timeout=30)
    assert p.returncode == 0 and p.stdout.decode() == out


def test_postqueue_shows_defer_reason_and_status(inst):
    p = inst.sendmail("-f", "s@example.org", "a@example.net", "b@example.net",
                      "c@example.net", stdin=b"Subject: s\n\nx\n")
    assert p.returncode == 0
    qid = inst.ids("maildrop")[0]
    # move to deferred, as qmgr would (hash_queue_depth 1)
    p = inst.run("postsuper", "-c", inst.conf, "-h", qid)
    p = inst.run("postsuper", "-c", inst.conf, "-H", qid)
    assert p.returncode == 0
    path = inst.files("deferred")[0]
    q = parse_qfile(open(path, "rb").read())
    # mark recipient c done in place, as qmgr does
    with open(path, "r+b") as f:
        f.seek(q["rcpts"][2]["status_offset"])
        f.write(b"D")
    # a defer log entry for recipient 1, written by the documented format
    reason = "connect to mx.example.net[192.0.2.1]:25: Connection refused"
    fields = ["1700000000", "1", "4.4.1", "delayed", "b@example.net", "", "mx.example.net",
              reason]
    data = "\n".join(fields).encode()
    hashdir = os.path.basename(os.path.dirname(path))
    logdir = inst.queue / "defer" / hashdir
    logdir.mkdir(exist_ok=True)
    (logdir / qid).write_bytes(b"L%08x " % len(data) + data + b"\n")
    out = inst.run("postqueue", "-c", inst.conf, "-p").stdout.decode()
    lines = out.split("\n")
    assert lines[1].startswith(qid + " ")
    assert lines[2] == " " * 47 + "a@example.net"
    assert lines[3] == " " * (79 - len(reason) - 2) + "(" + reason + ")"
    assert lines[4] == " " * 47 + "b@example.net"
    assert "c@example.net" not in out
    o = json.loads(inst.run("postqueue", "-c", inst.conf, "-j").stdout)
    assert o["queue_name"] == "deferred"
    assert o["recipients"] == [{"address": "a@example.net"},
                               {"address": "b@example.net", "delay_reason": reason}]


def test_postsuper_moves(inst):
    for i in range(3):
        assert inst.sendmail(f"r{i}@example.net", stdin=b"Subject: s\n\nx\n").returncode == 0
    ids = inst.ids("maildrop")
    p = inst.run("postsuper", "-c", inst.conf, "-h", ids[0])
    assert p.returncode == 0
    assert p.stderr.decode().splitlines() == [
        f"postsuper: {ids[0]}: placed on hold", "postsuper: Placed on hold: 1 message"]
    assert inst.ids("hold") == [ids[0]]
    out = inst.run("postqueue", "-c", inst.conf, "-p").stdout.decode()
    assert re.search(rf"^{ids[0]}!", out, re.M)
    # hold ALL, then release one, requeue all from hold
    p = inst.run("postsuper", "-c", inst.conf, "-h", "ALL")
    assert "Placed on hold: 2 messages" in p.stderr.decode()
    assert sorted(inst.ids("hold")) == ids
    hold_path = [f for f in inst.files("hold") if f.endswith(ids[1])][0]
    os.utime(hold_path, (1000000000, 1000000000))
    p = inst.run("postsuper", "-c", inst.conf, "-H", ids[1])
    assert inst.ids("deferred") == [ids[1]]
    # released mail is due now (mtime = next attempt time)
    assert os.stat(inst.files("deferred")[0]).st_mtime > time.time() - 60
    # deferred is hashed: one level of one hex digit
    assert inst.files("deferred")[0] == str(inst.queue / "deferred" / hash_dir(ids[1]) / ids[1])
    p = inst.run("postsuper", "-c", inst.conf, "-r", "ALL", "hold")
    assert "Requeued: 2 messages" in p.stderr.decode()
    assert sorted(inst.ids("incoming")) == sorted([ids[0], ids[2]])
    # invalid and hostile IDs never touch the file system
    p = inst.run("postsuper", "-c", inst.conf, "-d", "../../etc/passwd", "-d", "")
    assert p.returncode == 0
    assert "invalid mail queue id: ../../etc/passwd" in p.stderr.decode()
    assert "Deleted: 0 messages" in p.stderr.decode()
    p = inst.run("postsuper", "-c", inst.conf, "-d", "ALL", "nosuchqueue")
    assert p.returncode == 64
    # delete from stdin, mailq-style lines
    listing = f"{ids[0]}*  1 x\n\n{ids[1]}\n"
    p = inst.run("postsuper", "-c", inst.conf, "-d", "-", stdin=listing.encode())
    assert "Deleted: 2 messages" in p.stderr.decode()
    assert inst.ids("incoming") == [ids[2]] and inst.ids("deferred") == []
    # delete removes the defer/bounce logs too (hashed like the queues)
    for log in ("defer", "bounce"):
        d = inst.queue / log / hash_dir(ids[2])
        d.mkdir()
        (d / ids[2]).write_bytes(b"")
    p = inst.run("postsuper", "-c", inst.conf, "-d", "ALL")
    assert "Deleted: 1 message" in p.stderr.decode()
    assert inst.files("defer") == [] and inst.files("bounce") == []
    assert inst.run("postqueue", "-c", inst.conf, "-p").stdout == b"Mail queue is empty\n"


def test_postcat(inst):
    assert inst.sendmail("-F", "Cat", "-f", "c@example.org", "r@example.net",
                         stdin=b"Subject: cat\n\nmeow\n").returncode == 0
    qid = inst.ids("maildrop")[0]
    p = inst.run("postcat", "-c", inst.conf, "-q", qid)
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert out.startswith(f"*** ENVELOPE RECORDS maildrop/{qid} ***\n")
    assert "\nsender_fullname: Cat\n" in out
    assert "\nsender: c@example.org\n" in out
    assert "\nrecipient: r@example.net\n" in out
    assert f"\n*** MESSAGE CONTENTS maildrop/{qid} ***\nReceived: by mail.example.com" in out
    assert out.endswith(f"\nmeow\n*** MESSAGE FILE END maildrop/{qid} ***\n")
    body = inst.run("postcat", "-c", inst.conf, "-b", "-q", qid).stdout.decode()
    assert body == f"*** MESSAGE CONTENTS maildrop/{qid} ***\nmeow\n*** MESSAGE FILE END maildrop/{qid} ***\n"
    hdr = inst.run("postcat", "-c", inst.conf, "-h", "-q", qid).stdout.decode()
    assert "Subject: cat\n" in hdr and "meow" not in hdr
    # by path, and a truncated copy is rejected with a clear error
    path = inst.files("maildrop")[0]
    assert inst.run("postcat", "-c", inst.conf, path).returncode == 0
    bad = os.path.join(inst.conf, "truncated")
    with open(path, "rb") as f, open(bad, "wb") as g:
        g.write(f.read()[:-10])
    p = inst.run("postcat", "-c", inst.conf, bad)
    assert p.returncode == 1
    assert b"no valid trailer" in p.stderr
    p = inst.run("postcat", "-c", inst.conf, "-q", "../etc")
    assert p.returncode == 1 and b"invalid mail queue id" in p.stderr
    p = inst.run("postcat", "-c", inst.conf, "-q", "NoSuchId123")
    assert p.returncode == 1 and b"not found" in p.stderr


def test_trigger_and_flush(inst):
    sock_path = str(inst.queue / "public" / "qmgr")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(5)
    got = []

    def accept(n):
        for _ in range(n):
            c, _ = srv.accept()
            got.append(c.recv(100))
            c.close()

    t = threading.Thread(target=accept, args=(2,))
    t.start()
    assert inst.sendmail("r@example.net", stdin=b"\nx\n").returncode == 0
    assert inst.run("postqueue", "-c", inst.conf, "-f").returncode == 0
    t.join(10)
    srv.close()
    assert got == [b"I", b"FA"]
    os.unlink(sock_path)
    p = inst.run("postqueue", "-c", inst.conf, "-f")
    assert p.returncode == 69
    assert b"mail system is down" in p.stderr
    p = inst.sendmail("-q")
    assert p.returncode == 69 and b"mail system is down" in p.stderr
    # sendmail still queues when qmgr is not running
    assert inst.sendmail("r@example.net", stdin=b"\ny\n").returncode == 0
    assert len(inst.files("maildrop")) == 2


def test_postsuper_structure_and_purge(inst):
    for i in range(3):
        assert inst.sendmail(f"r{i}@example.net", stdin=b"\nx\n").returncode == 0
    assert inst.run("postsuper", "-c", inst.conf, "-h", "ALL").returncode == 0
    ids = sorted(inst.ids("hold"))
    # a change of hash_queue_depth: postsuper -s moves the files
    with open(os.path.join(inst.conf, "main.cf"), "a") as f:
        f.write("hash_queue_depth = 2\n")
    p = inst.run("postsuper", "-c", inst.conf, "-s")
    assert p.returncode == 0
    assert "Renamed to match hash depth: 3 messages" in p.stderr.decode()
    for qid in ids:
        assert os.path.isfile(inst.queue / "hold" / hash_dir(qid, 2) / qid)
    assert "placed on" not in inst.run("postqueue", "-c", inst.conf, "-p").stderr.decode()
    assert inst.run("postcat", "-c", inst.conf, "-q", ids[0]).returncode == 0
    # unfinished writes: old ones are purged, recent ones kept, complete ones kept
    src = inst.files("hold")[0]
    data = open(src, "rb").read()
    for name, age in (("OldPart1", 7200), ("NewPart1", 0)):
        d = inst.queue / "incoming" / hash_dir(name, 2)
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data[:-20])
        t = time.time() - age
        os.utime(d / name, (t, t))
    oldc = inst.queue / "maildrop" / "OldComplete1"
    oldc.write_bytes(data)
    os.utime(oldc, (1000000000, 1000000000))
    p = inst.run("postsuper", "-c", inst.conf)      # no options: -s and -p
    assert p.returncode == 0, p.stderr
    assert "Deleted: 1 unfinished file" in p.stderr.decode()
    assert sorted(inst.ids("incoming")) == ["NewPart1"]
    assert inst.ids("maildrop") == ["OldComplete1"]
