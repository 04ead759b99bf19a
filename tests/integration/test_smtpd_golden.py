"""Golden transcripts for smtpd: tests/golden/smtpd/NAME.in -> smtpd -S -> NAME.ref.

.in format: each line is sent followed by CR LF. Escapes inside a line:
\\r \\n \\0 \\t \\\\ and \\xHH give those bytes; a line ending in \\c is sent
without the CR LF. Lines starting with "#conf " give -o name=value
overrides (@GOLDEN@ in them is the tests/golden/smtpd directory, for
header_checks files); other lines starting with "#" are comments. Every
case runs with smtpd_forbid_bare_newline_exclusions empty (stand-alone
mode is 127.0.0.1, which the default $mynetworks would exempt).

.ref: the server's replies (CR LF shown as LF), then "--- log" and the log
lines smtpd wrote (stand-alone mode logs to stderr), then "--- queue" and,
for each queue file made, its envelope records and content as stored
(content bytes CR, NUL and backslash shown as \\r \\0 \\\\; \\c marks
content without a final LF). Queue IDs,
dates and Message-Id time stamps are masked. To regenerate after an
intended change: POSTHORN_GOLDEN_UPDATE=1 pytest tests/integration/test_smtpd_golden.py
and review the diff line by line.
"""
import glob
import os
import re
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
GOLDEN = os.path.join(ROOT, "tests", "golden", "smtpd")
CASES = sorted(glob.glob(os.path.join(GOLDEN, "*.in")))


def parse_in(path):
    data = bytearray()
    conf = []
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for raw in lines:
            if raw.startswith(b"#conf "):
                conf.append(raw[6:].decode().replace("@GOLDEN@", GOLDEN))
                continue
            if raw.startswith(b"#"):
                continue
            line = raw
            crlf = True
            if line.endswith(b"\\c"):
                line = line[:-2]
                crlf = False
            out = bytearray()
            i = 0
            while i < len(line):
                c = line[i:i + 1]
                if c == b"\\" and i + 1 < len(line):
                    e = line[i + 1:i + 2]
                    if e == b"x":
                        out.append(int(line[i + 2:i + 4], 16))
                        i += 4
                        continue
                    out += {b"r": b"\r", b"n": b"\n", b"0": b"\0", b"t": b"\t", b"\\": b"\\"}[e]
                    i += 2
                    continue
                out += c
                i += 1
            data += out
            if crlf:
                data += b"\r\n"
    return bytes(data), conf


def read_records(path):
    """Minimal reader of the queue file format (lib/qfile.h) for the dump."""
    with open(path, "rb") as f:
        buf = f.read()
    recs = []
    off = 0
    while off < len(buf):
        t = chr(buf[off])
        n = int(buf[off + 1:off + 9], 16)
        recs.append((t, buf[off + 10:off + 10 + n]))
        off += 10 + n + 1
    return recs


def mask(text, ids):
    for i, qid in enumerate(ids):
        text = text.replace(qid, "QUEUEID%d" % i if len(ids) > 1 else "QUEUEID")
    text = re.sub(r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)", "DATE", text)
    text = re.sub(r"<\d{14}\.", "<STAMP.", text)
    text = re.sub(r"smtpd\[\d+\]", "smtpd", text)
    return text


def run_case(inpath):
    data, conf = parse_in(inpath)
    with tempfile.TemporaryDirectory(prefix="phg-") as d:
        for sub in ("queue", "queue/incoming", "queue/hold", "queue/public", "data"):
            os.mkdir(os.path.join(d, sub))
        with open(os.path.join(d, "main.cf"), "w") as f:
            f.write(f"queue_directory = {d}/queue\ndata_directory = {d}/data\n"
                    f"myhostname = posthorn.test\nmydomain = posthorn.test\n"
                    f"smtpd_error_sleep_time = 0\n"
                    f"alias_maps =\nlocal_recipient_maps =\n"
                    f"mydestination = posthorn.test, localhost\n"
                    f"smtpd_forbid_bare_newline_exclusions =\n")
            import pwd
            f.write(f"mail_owner = {pwd.getpwuid(os.getuid()).pw_name}\n")
        open(os.path.join(d, "master.cf"), "w").close()
        args = [os.path.join(BUILD, "libexec", "smtpd"), "-S", "-c", d, "-n", "smtp"]
        for c in conf:
            args += ["-o", c]
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        p = subprocess.run(args, input=data, capture_output=True, timeout=60, env=env)
        out = p.stdout.decode("utf-8", "replace").replace("\r\n", "\n")
        log = p.stderr.decode("utf-8", "replace")
        ids = re.findall(r"queued as (\S+)", out)
        for qid in re.findall(r"(\w+): client=", log):
            if qid not in ids:
                ids.append(qid)
        qdump = []
        files = [qf for qf in glob.glob(os.path.join(d, "queue", "*", "**", "*"), recursive=True)
                 if os.path.isfile(qf)]
        # in the order the IDs were announced (hashed directory names vary)
        files.sort(key=lambda qf: (ids.index(os.path.basename(qf))
                                   if os.path.basename(qf) in ids else len(ids), qf))
        for qf in files:
            qid = os.path.basename(qf)
            if qid not in ids:
                ids.append(qid)
            recs = read_records(qf)
            qdump.append(f"file {os.path.relpath(os.path.dirname(qf), os.path.join(d, 'queue')).split('/')[0]}/{qid}")
            for t, v in recs:
                if t in "SR":
                    qdump.append(f"{t} {v.decode('utf-8', 'replace')!r}")
                elif t == "A" and not v.startswith(b"client_port="):
                    qdump.append(f"A {v.decode('utf-8', 'replace')}")
                elif t == "M":
                    qdump.append("M>")
                    body = v[:-1] if v.endswith(b"\n") else v
                    body = body.replace(b"\\", b"\\\\").replace(b"\r", b"\\r")
                    body = body.replace(b"\0", b"\\0")
                    qdump.append(body.decode("utf-8", "backslashreplace")
                                 + ("" if v.endswith(b"\n") else "\\c"))
                    qdump.append("<M")
        text = out + "--- log\n" + log + "--- queue\n" + "\n".join(qdump) + "\n"
        text += f"--- exit {p.returncode}\n"
        return mask(text, ids)


@pytest.mark.parametrize("inpath", CASES, ids=[os.path.basename(c)[:-3] for c in CASES])
def test_golden(inpath):
    got = run_case(inpath)
    ref = inpath[:-3] + ".ref"
    if os.environ.get("POSTHORN_GOLDEN_UPDATE") == "1":
        with open(ref, "w", newline="") as f:
            f.write(got)
    with open(ref, newline="") as f:
        want = f.read()
    assert got == want


def test_golden_cases_exist():
    assert len(CASES) >= 5


FRAGMENTS = [b"EHLO x", b"HELO y", b"MAIL FROM:<a@example.com>", b"MAIL FROM:<>",
             b"RCPT TO:<r@posthorn.test>", b"RCPT TO:<\"q\"@posthorn.test> NOTIFY=NEVER",
             b"DATA", b"BDAT 3", b"BDAT 0 LAST", b"BDAT 5 LAST", b"RSET", b"NOOP", b"VRFY a",
             b"QUIT", b".", b"..", b"\r", b"\n", b"\r\n", b"\0", b"\xff\xfe", b"Subject: x",
             b"Received: y", b" folded", b"x" * 3000, b"MAIL FROM:<" + b"a" * 2000 + b">",
             b"ENVID=+4", b"ORCPT=rfc822;+ZZ", b"SIZE=99999999999999999999", b"\t", b":"]


def test_random_sessions_never_crash():
    """A poor man's fuzzer over whole sessions (smtpd -S): random mixes of
    commands, content and line-end bytes must end cleanly, with no panic,
    fatal error or sanitizer report."""
    import random
    rng = random.Random(20261123)
    with tempfile.TemporaryDirectory(prefix="phf-") as d:
        for sub in ("queue", "queue/incoming", "queue/hold", "queue/public", "data"):
            os.mkdir(os.path.join(d, sub))
        with open(os.path.join(d, "main.cf"), "w") as f:
            import pwd
            f.write(f"queue_directory = {d}/queue\ndata_directory = {d}/data\n"
                    f"myhostname = posthorn.test\nsmtpd_error_sleep_time = 0\n"
                    f"alias_maps =\nlocal_recipient_maps =\nmydestination = posthorn.test\n"
                    f"line_length_limit = 1000\nmessage_size_limit = 20000\n"
                    f"smtpd_hard_error_limit = 1000\n"
                    f"mail_owner = {pwd.getpwuid(os.getuid()).pw_name}\n")
        open(os.path.join(d, "master.cf"), "w").close()
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        for i in range(150):
            data = b"".join(rng.choice(FRAGMENTS) + rng.choice([b"\r\n", b"\r\n", b"\n", b""])
                            for _ in range(rng.randint(1, 60)))
            p = subprocess.run([os.path.join(BUILD, "libexec", "smtpd"), "-S", "-c", d],
                               input=data, capture_output=True, timeout=60, env=env)
            err = p.stderr.decode("utf-8", "replace")
            assert p.returncode == 0, (i, data, err)
            assert "panic" not in err and "fatal" not in err and "Sanitizer" not in err, (i, data, err)
            assert p.stdout.startswith(b"220 "), (i, data, p.stdout[:200])
