"""smtpd in a whole instance (master + smtpd on a free 127.0.0.1 port),
driven by smtplib, raw sockets and swaks.

Every test starts its own instance with `smtp_instance(**overrides)`; the
overrides become "-o name=value" on the master.cf line. Queue files are
read with the minimal record reader of test_smtpd_golden, and once with
`postcat -q` (the queue branch's reader, which validates the whole file).
"""
import glob
import os
import re
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from test_smtpd_golden import read_records

BASE_MAIN_CF = {
    "alias_maps": "",
    "local_recipient_maps": "",
    "mydestination": "posthorn.test, localhost",
    "smtpd_error_sleep_time": "0",
}


@pytest.fixture
def smtp_instance(instance_factory):
    def make(main_cf=None, **overrides):
        params = dict(BASE_MAIN_CF)
        params.update(main_cf or {})
        inst = instance_factory(main_cf=params)
        port = inst.free_port()
        opts = "".join(f" -o {k}={v}" for k, v in overrides.items())
        inst.write_master_cf(f"127.0.0.1:{port} inet n - n - - smtpd{opts}\n"
                             "anvil unix - - n - 1 anvil\n")
        inst.start()
        inst.port = port
        return inst
    return make


class Raw:
    """A raw SMTP connection: exact bytes out, CRLF lines in."""

    def __init__(self, port, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One whole (possibly multi-line) reply, lines joined with LF."""
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        """True when the server closed the connection (after any data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def session(inst, ehlo=True):
    c = Raw(inst.port)
    assert c.reply() == "220 posthorn.test ESMTP Posthorn"
    if ehlo:
        r = c.cmd("EHLO client.example")
        assert r.startswith("250-posthorn.test"), r
    return c


def queue_files(inst, queue="incoming"):
    return sorted(p for p in glob.glob(os.path.join(inst.queue, queue, "**", "*"), recursive=True)
                  if os.path.isfile(p))


def queue_file(inst, qid, queue="incoming"):
    paths = [p for p in queue_files(inst, queue) if os.path.basename(p) == qid]
    assert len(paths) == 1, (qid, queue_files(inst, queue))
    recs = read_records(paths[0])
    env = {"A": [], "S": None, "R": [], "M": None}
    for t, v in recs:
        if t == "A":
            env["A"].append(v.decode())
        elif t == "S":
            env["S"] = v.decode()
        elif t == "R":
            env["R"].append(v.decode().split("\n", 1)[1])
        elif t == "M":
            env["M"] = v
    return env


def split_message(content):
    """(our Received: header, the rest) of stored content."""
    m = re.match(rb"(Received: [^\n]*\n(?:\t[^\n]*\n)*)(.*)\Z", content, re.S)
    assert m, content[:300]
    return m.group(1).decode(), m.group(2)


QUEUED = re.compile(r"^250 2\.0\.0 Ok: queued as (\w+)$")


# ---------------------------------------------------------------- basics

def test_smtplib_message_is_queued_with_received_header(smtp_instance):
    inst = smtp_instance()
    msg = "Subject: hello\r\nMessage-ID: <abc@client.example>\r\n\r\nline 1\r\n.dot line\r\n"
    with smtplib.SMTP("127.0.0.1", inst.port, timeout=15) as s:
        code, text = s.ehlo("client.example")
        assert code == 250
        s.mail("sender@example.com")
        s.rcpt("rcpt@posthorn.test")
        code, text = s.data(msg)
        assert code == 250
        qid = QUEUED.match("250 " + text.decode()).group(1)
    env = queue_file(inst, qid)
    assert env["S"] == "sender@example.com"
    assert env["R"] == ["rcpt@posthorn.test"]
    assert "client_address=127.0.0.1" in env["A"] and "helo_name=client.example" in env["A"]
    received, rest = split_message(env["M"])
    assert re.fullmatch(
        r"Received: from client\.example \(localhost \[127\.0\.0\.1\]\)\n"
        rf"\tby posthorn\.test \(Posthorn\) with ESMTP id {qid}\n"
        r"\tfor <rcpt@posthorn\.test>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)\n",
        received), received
    # smtplib dot-stuffs ".dot line"; we unstuff; Message-ID present, so
    # only Date is added (a loopback client is local)
    assert rest.startswith(b"Subject: hello\nMessage-ID: <abc@client.example>\nDate: ")
    assert rest.endswith(b"\n\nline 1\n.dot line\n")
    # postcat validates the file strictly and shows the same envelope/content
    p = inst.command("postcat", "-q", qid)
    assert p.returncode == 0, p.stderr
    assert f"*** ENVELOPE RECORDS incoming/{qid} ***" in p.stdout
    assert "\nsender: sender@example.com\n" in p.stdout
    assert "\nrecipient: rcpt@posthorn.test\n" in p.stdout
    assert f"\tby posthorn.test (Posthorn) with ESMTP id {qid}\n" in p.stdout
    assert "\nline 1\n.dot line\n" in p.stdout
    log = inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\].*")
    assert log.group(0).endswith("ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5")
    text = inst.log()
    assert re.search(r"posthorn/smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]$", text, re.M)
    assert re.search(rf"smtpd\[\d+\]: {qid}: client=localhost\[127\.0\.0\.1\]$", text, re.M)
    assert re.search(rf"smtpd\[\d+\]: {qid}: message-id=<abc@client\.example>$", text, re.M)


def test_ehlo_keywords_and_discard(smtp_instance):
    inst = smtp_instance()
    with session(inst, ehlo=False) as c:
        assert c.cmd("EHLO client.example").split("\n") == [
            "250-posthorn.test", "250-PIPELINING", "250-SIZE 10240000", "250-VRFY",
            "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8",
            "250 CHUNKING"]
        assert c.cmd("HELO client.example") == "250 posthorn.test"
    inst2 = smtp_instance(smtpd_discard_ehlo_keywords="pipelining,dsn",
                          disable_vrfy_command="yes", message_size_limit="5000")
    with session(inst2, ehlo=False) as c:
        assert c.cmd("EHLO client.example").split("\n") == [
            "250-posthorn.test", "250-SIZE 5000", "250-ENHANCEDSTATUSCODES",
            "250-8BITMIME", "250-SMTPUTF8", "250 CHUNKING"]
        assert c.cmd("VRFY rcpt@posthorn.test") == "502 5.5.1 VRFY command is disabled"


def test_error_replies(smtp_instance):
    inst = smtp_instance()
    with session(inst) as c:
        assert c.cmd("FOO") == "502 5.5.2 Error: command not recognized"
        assert c.cmd("") == "500 5.5.2 Error: bad syntax"
        assert c.cmd("RCPT TO:<a@posthorn.test>") == "503 5.5.1 Error: need MAIL command"
        assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
        assert c.cmd("MAIL FROM:a@example.com>") == "501 5.1.7 Bad sender address syntax"
        assert c.cmd("MAIL FROM <a@example.com>") == "501 5.5.4 Syntax: MAIL FROM:<address>"
        assert c.cmd("MAIL FROM:<a@example.com> SIZE=x") == "501 5.5.4 Bad message size syntax"
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("MAIL FROM:<a@example.com>") == "503 5.5.1 Error: nested MAIL command"
        assert c.cmd("RCPT TO:") == "501 5.5.4 Syntax: RCPT TO:<address>"
        assert c.cmd("DATA") == "554 5.5.1 Error: no valid recipients"
        assert c.cmd("VRFY <rcpt@posthorn.test>") == "252 2.0.0 rcpt@posthorn.test"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1/5 rcpt=0/2 "
                  r"data=0/2 rset=1 noop=1 vrfy=1 quit=1 unknown=0/2 commands=6/16$")


def test_helo_required(smtp_instance):
    inst = smtp_instance(smtpd_helo_required="yes")
    with session(inst, ehlo=False) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "503 5.5.1 Error: send HELO/EHLO first"
        assert c.cmd("HELO client.example") == "250 posthorn.test"
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"


def test_recipient_limit(smtp_instance):
    inst = smtp_instance(smtpd_recipient_limit="2")
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r1@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<r2@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<r3@posthorn.test>") == "452 4.5.3 Error: too many recipients"


def test_disconnect_line_counts(smtp_instance):
    inst = smtp_instance()
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r1@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("RCPT TO:<r2@@posthorn.test>").startswith("501 ")
        assert c.cmd("DATA").startswith("354 ")
        assert QUEUED.match(c.cmd("Subject: x\r\n\r\nx\r\n."))
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1/2 data=1 "
                  r"quit=1 commands=5/6$")


# ------------------------------------------------------------ pipelining

def test_pipelined_50_rcpts_and_data_in_one_write(smtp_instance):
    inst = smtp_instance()
    with session(inst) as c:
        batch = "MAIL FROM:<a@example.com>\r\n"
        batch += "".join(f"RCPT TO:<r{i}@posthorn.test>\r\n" for i in range(50))
        batch += "DATA\r\n"
        c.send(batch)
        assert c.reply() == "250 2.1.0 Ok"
        for _ in range(50):
            assert c.reply() == "250 2.1.5 Ok"
        assert c.reply() == "354 End data with <CR><LF>.<CR><LF>"
        c.send("Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        qid = QUEUED.match(c.reply()).group(1)
        assert c.reply() == "221 2.0.0 Bye"
    env = queue_file(inst, qid)
    assert env["R"] == [f"r{i}@posthorn.test" for i in range(50)]


def test_500_command_pipeline_does_not_deadlock(smtp_instance):
    inst = smtp_instance(smtpd_recipient_limit="10000")
    with session(inst) as c:
        # 500 commands, then 5000 more with long addresses: we write
        # everything (about 1 MB) before reading a single reply.
        cmds = ["MAIL FROM:<a@example.com>"]
        cmds += [f"RCPT TO:<r{i}@posthorn.test>" for i in range(498)]
        cmds += ["RSET"]
        cmds += ["MAIL FROM:<a@example.com>"]
        cmds += [f"RCPT TO:<{'x' * 150}{i}@posthorn.test>" for i in range(5000)]
        cmds += ["RSET", "QUIT"]
        c.sock.settimeout(60)
        c.send("".join(x + "\r\n" for x in cmds))
        replies = [c.reply() for _ in cmds]
    assert replies[0] == "250 2.1.0 Ok"
    assert replies[1:499] == ["250 2.1.5 Ok"] * 498
    assert replies[499] == "250 2.0.0 Ok"
    assert replies[501:5501] == ["250 2.1.5 Ok"] * 5000
    assert replies[-1] == "221 2.0.0 Bye"


def test_pipelining_before_ehlo_is_refused(smtp_instance):
    inst = smtp_instance()
    with session(inst, ehlo=False) as c:
        c.send("HELO client.example\r\nMAIL FROM:<a@example.com>\r\n")
        assert c.reply() == "554 5.5.0 Error: SMTP protocol synchronization"
        assert c.closed()
    inst.wait_log(r"improper command pipelining after HELO from localhost\[127\.0\.0\.1\]: "
                  r"MAIL FROM:<a@example\.com>\\r\\n$")


def test_pipelining_after_data_is_refused(smtp_instance):
    inst = smtp_instance()
    with session(inst) as c:
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<r@posthorn.test>\r\nDATA\r\nSubject: x\r\n")
        assert c.reply() == "250 2.1.0 Ok"
        assert c.reply() == "250 2.1.5 Ok"
        assert c.reply() == "554 5.5.0 Error: SMTP protocol synchronization"
        assert c.closed()
    inst.wait_log(r"improper command pipelining after DATA from localhost\[127\.0\.0\.1\]: "
                  r"Subject: x\\r\\n$")
    assert queue_files(inst) == []


def test_early_talker_is_refused(smtp_instance):
    inst = smtp_instance()
    s = socket.create_connection(("127.0.0.1", inst.port), timeout=10)
    s.sendall(b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    # before or after our greeting, depending on who was faster
    assert data.endswith(b"554 5.5.0 Error: SMTP protocol synchronization\r\n"), data
    inst.wait_log(r"improper command pipelining after (CONNECT|EHLO) from "
                  r"localhost\[127\.0\.0\.1\]: ")


def test_swaks_pipelining(smtp_instance):
    if not shutil.which("swaks"):
        pytest.skip("swaks not installed")
    inst = smtp_instance()
    p = subprocess.run(["swaks", "--server", f"127.0.0.1:{inst.port}", "--pipeline",
                        "--from", "a@example.com", "--to", "r1@posthorn.test,r2@posthorn.test",
                        "--helo", "client.example", "--header", "Subject: swaks test",
                        "--body", "swaks body"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    qid = re.search(r"<-\s+250 2\.0\.0 Ok: queued as (\w+)", p.stdout).group(1)
    env = queue_file(inst, qid)
    assert env["R"] == ["r1@posthorn.test", "r2@posthorn.test"]
    assert b"Subject: swaks test\n" in env["M"] and b"\n\nswaks body\n" in env["M"]


# ------------------------------------------------------------- DATA, BDAT

def test_size_limit_discards_then_552(smtp_instance):
    inst = smtp_instance(message_size_limit="10000")
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com> SIZE=10001") == \
            "552 5.3.4 Message size exceeds fixed limit"
        assert c.cmd("MAIL FROM:<a@example.com> SIZE=9000") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354 ")
        c.send("Subject: big\r\n\r\n" + ("y" * 78 + "\r\n") * 2000)
        # the end-of-data marker is the only reply trigger: all 160 KB was read
        assert c.cmd(".") == "552 5.3.4 Error: message file too big"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354 ")
        assert QUEUED.match(c.cmd("Subject: small\r\n\r\nok\r\n."))
    assert len(queue_files(inst)) == 1


SMUGGLING = [
    b"\n.\n",
    b"\r\n.\n",
    b"\n.\r\n",
    b"\r.\r",
    b"\r\n.\r",
    b"\r.\r\n",
    b"\n.\r\r\n",
]


@pytest.mark.parametrize("exclusions", ["default", "none"])
def test_smuggling_never_ends_data(smtp_instance, exclusions):
    over = {} if exclusions == "default" else {"smtpd_forbid_bare_newline_exclusions": ""}
    inst = smtp_instance(**over)
    ids = []
    with session(inst) as c:
        for payload in SMUGGLING:
            assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
            assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
            assert c.cmd("DATA").startswith("354 ")
            c.send(b"Subject: smuggle\r\n\r\nbefore" + payload +
                   b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@posthorn.test>\r\n"
                   b"DATA\r\nevil\r\n.\r\n")
            r = c.reply()
            m = QUEUED.match(r)
            assert m, (payload, r)
            ids.append(m.group(1))
            # nothing else was answered: the next reply is for our NOOP
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
    assert len(ids) == len(SMUGGLING) and len(queue_files(inst)) == len(SMUGGLING)
    for qid in ids:
        env = queue_file(inst, qid)
        assert env["R"] == ["r@posthorn.test"] and env["S"] == "a@example.com"
        assert b"MAIL FROM:<evil@example.com>\n" in env["M"] or \
            b"MAIL FROM:<evil@example.com>\n" in env["M"].replace(b"\r", b"\n")
        assert env["M"].endswith(b"evil\n")
    assert "victim" not in inst.log()


def test_bare_lf_reject(smtp_instance):
    inst = smtp_instance(smtpd_forbid_bare_newline="reject",
                         smtpd_forbid_bare_newline_exclusions="")
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354 ")
        c.send("Subject: x\r\n\r\nbare\nline\r\n.\r\n")
        assert c.reply() == "521 5.5.2 posthorn.test Error: bare <LF> received"
        assert c.closed()
    inst.wait_log(r"bare <LF> received after DATA from localhost\[127\.0\.0\.1\]$")
    assert queue_files(inst) == []
    # the default exclusions ($mynetworks) exempt a loopback client
    inst2 = smtp_instance(smtpd_forbid_bare_newline="reject")
    with session(inst2) as c:
        c.send("NOOP\n")
        assert c.reply() == "250 2.0.0 Ok"


def test_overlong_command_line(smtp_instance):
    inst = smtp_instance()
    with session(inst) as c:
        assert c.cmd("NOOP " + "x" * 5000) == "500 5.5.2 Error: line too long"
        assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_bdat_binary_and_last(smtp_instance):
    inst = smtp_instance()
    body = b"Subject: bdat\r\n\r\n" + bytes(range(256)).replace(b"\n", b"") + b"\r\nend\r\n"
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com> BODY=8BITMIME") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        c.send(b"BDAT %d\r\n" % 10 + body[:10])
        assert c.reply() == "250 2.0.0 Ok: 10 bytes"
        c.send(b"BDAT %d\r\n" % (len(body) - 10) + body[10:])
        assert c.reply() == f"250 2.0.0 Ok: {len(body) - 10} bytes"
        qid = QUEUED.match(c.cmd("BDAT 0 LAST")).group(1)
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        c.send(b"BDAT 5\r\nab\r\nc")
        assert c.reply() == "250 2.0.0 Ok: 5 bytes"
        assert c.cmd("DATA") == "503 5.5.1 Error: DATA after BDAT"
        qid2 = QUEUED.match(c.cmd("BDAT 0 LAST")).group(1)
    env = queue_file(inst, qid)
    _, rest = split_message(env["M"])
    want = body.replace(b"\r\n", b"\n")
    assert re.match(rb"Subject: bdat\nMessage-Id: <\d{14}\.%s@posthorn\.test>\nDate: " % qid.encode(),
                    rest), rest[:200]
    assert rest.endswith(b"\n" + want[len(b"Subject: bdat\n"):])
    assert "body_type=8BITMIME" in env["A"]
    _, rest2 = split_message(queue_file(inst, qid2)["M"])
    assert rest2.endswith(b"\nab\nc\n")


def test_bdat_without_pipelining_keyword(smtp_instance):
    # the chunk after BDAT is not pipelining, even when PIPELINING is not offered
    inst = smtp_instance(smtpd_discard_ehlo_keywords="pipelining")
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        c.send(b"BDAT 12 LAST\r\nSubject: b\r\n\r\n")
        assert QUEUED.match(c.reply())


def test_lost_connection_during_data(smtp_instance):
    inst = smtp_instance()
    c = session(inst)
    assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
    assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
    assert c.cmd("DATA").startswith("354 ")
    c.send("Subject: cut\r\n\r\n12345\r\n")
    c.close()
    inst.wait_log(r"lost connection after DATA \(\d+ bytes\) from localhost\[127\.0\.0\.1\]$")
    inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=0/1 "
                  r"commands=3/4$")
    assert queue_files(inst) == []


def test_timeout(smtp_instance):
    inst = smtp_instance(smtpd_timeout="2s")
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        start = time.monotonic()
        assert c.reply() == "421 4.4.2 posthorn.test Error: timeout exceeded"
        assert 1.5 < time.monotonic() - start < 10
        assert c.closed()
    inst.wait_log(r"timeout after MAIL from localhost\[127\.0\.0\.1\]$")
    with session(inst) as c:
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<r@posthorn.test>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354 ")
        c.send("Subject: slow\r\n\r\n12345")
        assert c.reply() == "421 4.4.2 posthorn.test Error: timeout exceeded"
        assert c.closed()
    inst.wait_log(r"timeout after DATA \(\d+ bytes\) from localhost\[127\.0\.0\.1\]$")
    assert queue_files(inst) == []


def test_soft_error_limit_sleeps(smtp_instance):
    inst = smtp_instance(main_cf={"smtpd_error_sleep_time": "1s"}, smtpd_soft_error_limit="2")
    with session(inst) as c:
        start = time.monotonic()
        assert c.cmd("BOGUS").startswith("502 ")
        assert time.monotonic() - start < 0.9
        start = time.monotonic()
        assert c.cmd("BOGUS").startswith("502 ")
        assert c.cmd("BOGUS").startswith("502 ")
        assert time.monotonic() - start >= 1.9
        assert c.cmd("NOOP") == "250 2.0.0 Ok"


def test_hard_error_limit(smtp_instance):
    inst = smtp_instance(smtpd_hard_error_limit="3")
    with session(inst) as c:
        for _ in range(3):
            assert c.cmd("BOGUS") == "502 5.5.2 Error: command not recognized"
        assert c.reply() == "421 4.7.0 posthorn.test Error: too many errors"
        assert c.closed()
    inst.wait_log(r"too many errors after UNKNOWN from localhost\[127\.0\.0\.1\]$")


def test_junk_command_limit(smtp_instance):
    inst = smtp_instance(smtpd_junk_command_limit="2", smtpd_hard_error_limit="3")
    with session(inst) as c:
        for _ in range(5):
            assert c.cmd("NOOP") == "250 2.0.0 Ok"
        assert c.reply() == "421 4.7.0 posthorn.test Error: too many errors"


def test_qmgr_is_poked(smtp_instance):
    inst = smtp_instance()
    path = os.path.join(inst.queue, "public", "qmgr")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o666)
    srv.listen(5)
    srv.settimeout(10)
    try:
        with smtplib.SMTP("127.0.0.1", inst.port, timeout=15) as s:
            s.sendmail("a@example.com", ["r@posthorn.test"], "Subject: poke\r\n\r\nx\r\n")
        conn, _ = srv.accept()
        conn.settimeout(10)
        assert conn.recv(16) == b"I"
        conn.close()
    finally:
        srv.close()
