"""smtpd with TLS and SMTP AUTH in a whole instance: STARTTLS on a port-25
style service, a submission service (encrypt + AUTH only over TLS + relay
only after AUTH) and an smtps service (wrapper mode), with our auth
service behind them. Driven by smtplib, raw sockets, swaks, openssl
s_client and curl; plus libsasl2 (sasldb), a real Dovecot's auth socket,
fail2ban's stock postfix filter and testssl.sh.
"""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from dovecot_auth import private_dovecot_auth

from test_smtpd import Raw, queue_file, queue_files

USERS = ("alice@example.com:{PLAIN}secret:1000:1000::/home/alice\n"
         "bob@example.com:{PLAIN}hunter2:1001:1001::/home/bob\n")

BASE = {
    "alias_maps": "",
    "local_recipient_maps": "",
    "mydestination": "posthorn.test, localhost",
    "smtpd_error_sleep_time": "0",
    "smtpd_tls_loglevel": "1",
    "smtpd_tls_received_header": "yes",
    "auth_failure_delay": "0",
    "disable_plaintext_auth": "yes",
}


def b64(data):
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def plain(user, password):
    return b64(f"\0{user}\0{password}")


def make_cert(inst):
    """A self-signed certificate with `posthorn tls new-server-cert`."""
    p = inst.posthorn("tls", "new-server-cert")
    assert p.returncode == 0, p.stdout + p.stderr
    pem = os.path.join(inst.dir, "smtpd.pem")
    assert os.path.exists(pem)
    return pem


@pytest.fixture
def tls_instance(instance_factory):
    """Instance with ports .p25 (may, AUTH only after TLS), .p587
    (submission), .p465 (smtps), .pplain (AUTH without TLS)."""

    def make(main_cf=None, extra_master="", p587_opts="", sasl_main=None):
        params = dict(BASE)
        params.update(main_cf or {})
        inst = instance_factory(main_cf=params)
        users = os.path.join(inst.dir, "users")
        with open(users, "w") as f:
            f.write(USERS)
        pem = make_cert(inst)
        inst.write_main_cf({
            "auth_passdb": f"passwd-file:{users}",
            "auth_userdb": f"passwd-file:{users}",
            "smtpd_tls_chain_files": pem,
            **(sasl_main or {}),
        })
        inst.p25, inst.p587, inst.p465, inst.pplain = inst.free_ports(4)
        relay = "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
        inst.write_master_cf(
            f"127.0.0.1:{inst.p25} inet n - n - - smtpd -o smtpd_tls_security_level=may"
            f" -o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes\n"
            f"127.0.0.1:{inst.p587} inet n - n - - smtpd -o syslog_name=posthorn/submission"
            f" -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes"
            f" -o smtpd_tls_auth_only=yes {relay} {p587_opts}\n"
            f"127.0.0.1:{inst.p465} inet n - n - - smtpd -o syslog_name=posthorn/smtps"
            f" -o smtpd_tls_wrappermode=yes -o smtpd_sasl_auth_enable=yes {relay}\n"
            f"127.0.0.1:{inst.pplain} inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes"
            f" -o broken_sasl_auth_clients=yes {relay}\n"
            "auth unix - n n - 1 auth\n"
            "anvil unix - - n - 1 anvil\n" + extra_master)
        inst.start()
        inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "auth")),
                      what="auth socket")
        return inst

    return make


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class TlsRaw(Raw):
    """Raw plus STARTTLS: wrap the socket after the 220."""

    def gone(self, timeout=5):
        """The server closed the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, ssl.SSLError):
            return False

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r == "220 2.0.0 Ready to start TLS", r
        assert self.buf == b""
        self.sock = client_ctx().wrap_socket(self.sock, server_hostname="posthorn.test")
        return self.sock.version()


def raw(port):
    c = TlsRaw(port)
    assert c.reply().startswith("220 posthorn.test"), "no greeting"
    return c


def ehlo_keywords(reply):
    return [line[4:] for line in reply.split("\n")[1:]]


# --------------------------------------------------------------------------
# STARTTLS

def test_starttls_replies_and_state_reset(tls_instance):
    inst = tls_instance()
    with raw(inst.p25) as c:
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert "STARTTLS" in kw and not any(k.startswith("AUTH") for k in kw), kw
        assert c.cmd("STARTTLS now") == "501 5.5.4 Syntax: STARTTLS"
        assert c.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Ok"   # may: TLS optional
        assert c.cmd("RSET") == "250 2.0.0 Ok"
        assert c.starttls() in ("TLSv1.2", "TLSv1.3")
        assert c.cmd("MAIL FROM:<a@example.com>") == "503 5.5.1 Error: send HELO/EHLO first"
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert "STARTTLS" not in kw
        assert "AUTH PLAIN LOGIN" in kw
        assert c.cmd("STARTTLS") == "554 5.5.1 Error: TLS already active"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    inst.wait_log(r"Anonymous TLS connection established from localhost\[127\.0\.0\.1\]: "
                  r"TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)")
    inst.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=2 starttls=1/3 "
                  r"mail=1/2 rset=1 quit=1 commands=6/9")


def test_starttls_discards_pipelined_plaintext(tls_instance):
    inst = tls_instance(main_cf={"smtpd_forbid_unauth_pipelining": "no"})
    with raw(inst.p25) as c:
        c.cmd("EHLO client.example")
        c.send("STARTTLS\r\nRSET\r\n")              # one packet
        assert c.reply() == "220 2.0.0 Ready to start TLS"
        assert c.buf == b""
        c.sock = client_ctx().wrap_socket(c.sock, server_hostname="posthorn.test")
        # the first reply inside TLS belongs to EHLO, not to the injected RSET
        assert c.cmd("EHLO client.example").startswith("250-posthorn.test")
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    inst.wait_log(r"disconnect from .* ehlo=2 starttls=1 noop=1 quit=1 commands=5")
    assert "rset=" not in inst.log()


def test_starttls_pipelining_is_a_violation_by_default(tls_instance):
    inst = tls_instance()
    with raw(inst.p25) as c:
        c.cmd("EHLO client.example")
        c.send("STARTTLS\r\nRSET\r\n")
        assert c.reply() == "554 5.5.0 Error: SMTP protocol synchronization"
        assert c.closed()
    inst.wait_log(r"improper command pipelining after STARTTLS from localhost\[127\.0\.0\.1\]: "
                  r"RSET\\r\\n")


def test_garbage_instead_of_client_hello(tls_instance):
    inst = tls_instance(p587_opts="-o smtpd_starttls_timeout=2s")
    with raw(inst.p587) as c:
        c.cmd("EHLO client.example")
        assert c.cmd("STARTTLS") == "220 2.0.0 Ready to start TLS"
        c.send(b"GET / HTTP/1.0\r\n\r\n" * 20)
        assert c.gone(timeout=10)
    inst.wait_log(r"SSL_accept error from localhost\[127\.0\.0\.1\]")
    inst.wait_log(r"lost connection after STARTTLS from localhost\[127\.0\.0\.1\]")
    with raw(inst.p587) as c:                       # a stalled client
        c.cmd("EHLO client.example")
        assert c.cmd("STARTTLS") == "220 2.0.0 Ready to start TLS"
        assert c.gone(timeout=15)
    # and the service still works
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        s.login("alice@example.com", "secret")


def test_encrypt_level_requires_starttls(tls_instance):
    inst = tls_instance()
    with raw(inst.p587) as c:
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert "STARTTLS" in kw and not any(k.startswith("AUTH") for k in kw), kw
        for cmd in ("MAIL FROM:<alice@example.com>", "RCPT TO:<x@posthorn.test>", "DATA",
                    "AUTH PLAIN " + plain("alice@example.com", "secret"), "VRFY x", "RSET"):
            assert c.cmd(cmd) == "530 5.7.0 Must issue a STARTTLS command first", cmd
        assert c.cmd("NOOP") == "250 2.0.0 Ok"
        c.starttls()
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert "AUTH PLAIN LOGIN" in kw and "STARTTLS" not in kw, kw
        assert c.cmd("QUIT") == "221 2.0.0 Bye"


# --------------------------------------------------------------------------
# AUTH

def test_auth_replies(tls_instance):
    inst = tls_instance()
    with raw(inst.p25) as c:
        c.cmd("EHLO client.example")
        assert c.cmd("AUTH PLAIN " + plain("alice@example.com", "secret")) == \
            "538 5.7.11 Encryption required for requested authentication mechanism"
        c.starttls()
        assert c.cmd("AUTH PLAIN") == "503 5.5.1 Error: send HELO/EHLO first"
        c.cmd("EHLO client.example")
        assert c.cmd("AUTH") == "501 5.5.4 Syntax: AUTH mechanism"
        assert c.cmd("AUTH CRAM-MD5") == \
            "535 5.7.8 Error: authentication failed: Invalid authentication mechanism"
        # PLAIN without initial response, cancelled
        assert c.cmd("AUTH PLAIN") == "334 "
        assert c.cmd("*") == "501 5.7.0 Authentication aborted"
        # wrong password
        r = c.cmd("AUTH PLAIN " + plain("alice@example.com", "wrong"))
        assert r.startswith("535 5.7.8 Error: authentication failed:"), r
        # bad base64
        assert c.cmd("AUTH PLAIN !!!!") == "501 5.5.2 Cannot decode response"
        # "=" is an empty initial response: PLAIN fails on it
        assert c.cmd("AUTH PLAIN =").startswith("535 5.7.8")
        # LOGIN, step by step
        assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
        assert c.cmd(b64("alice@example.com")) == "334 UGFzc3dvcmQ6"
        assert c.cmd(b64("secret")) == "235 2.7.0 Authentication successful"
        assert c.cmd("AUTH PLAIN " + plain("alice@example.com", "secret")) == \
            "503 5.5.1 Error: already authenticated"
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert not any(k.startswith("AUTH") for k in kw), kw
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    inst.wait_log(r"warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: ")
    inst.wait_log(r"warning: localhost\[127\.0\.0\.1\]: SASL CRAM-MD5 authentication failed: "
                  r"Invalid authentication mechanism")
    assert "secret" not in inst.log()


def test_auth_plain_without_initial_response_and_in_transaction(tls_instance):
    inst = tls_instance()
    with raw(inst.p465 if False else inst.p25) as c:
        c.cmd("EHLO client.example")
        c.starttls()
        c.cmd("EHLO client.example")
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("AUTH PLAIN") == "503 5.5.1 Error: MAIL transaction in progress"
        c.cmd("RSET")
        assert c.cmd("AUTH PLAIN") == "334 "
        assert c.cmd(plain("bob@example.com", "hunter2")) == "235 2.7.0 Authentication successful"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"


def test_auth_not_enabled_and_broken_clients(tls_instance):
    inst = tls_instance()
    with raw(inst.pplain) as c:
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert "AUTH PLAIN LOGIN" in kw and "AUTH=PLAIN LOGIN" in kw, kw
        assert "STARTTLS" not in kw
        assert c.cmd("AUTH PLAIN " + plain("alice@example.com", "secret")) == \
            "235 2.7.0 Authentication successful"
    inst2 = tls_instance(main_cf={"smtpd_sasl_exceptions_networks": "127.0.0.0/8"})
    with raw(inst2.pplain) as c:
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert not any(k.startswith("AUTH") for k in kw), kw
        assert c.cmd("AUTH PLAIN " + plain("alice@example.com", "secret")) == \
            "503 5.5.1 Error: authentication not enabled"


def test_security_options_filter_mechanisms(tls_instance):
    inst = tls_instance(main_cf={"smtpd_sasl_security_options": "noanonymous, noplaintext",
                                 "smtpd_sasl_tls_security_options": "noanonymous"})
    with raw(inst.pplain) as c:
        kw = ehlo_keywords(c.cmd("EHLO client.example"))
        assert not any(k.startswith("AUTH") for k in kw), kw
    with raw(inst.p587) as c:
        c.cmd("EHLO client.example")
        c.starttls()
        assert "AUTH PLAIN LOGIN" in ehlo_keywords(c.cmd("EHLO client.example"))


def test_submission_relay_only_after_auth_and_queue_file(tls_instance):
    inst = tls_instance(main_cf={"smtpd_sasl_authenticated_header": "yes"})
    with raw(inst.p587) as c:
        c.cmd("EHLO client.example")
        c.starttls()
        c.cmd("EHLO client.example")
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        r = c.cmd("RCPT TO:<carol@remote.example>")
        assert r.startswith("554 5.7.1"), r
        c.cmd("RSET")
        assert c.cmd("AUTH PLAIN " + plain("alice@example.com", "secret")) == \
            "235 2.7.0 Authentication successful"
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<carol@remote.example>") == "250 2.1.5 Ok"
        assert c.cmd("DATA").startswith("354")
        r = c.cmd("Subject: hi\r\n\r\nhello\r\n.")
        m = re.match(r"250 2\.0\.0 Ok: queued as (\S+)", r)
        assert m, r
        qid = m.group(1)
        c.cmd("QUIT")
    env = queue_file(inst, qid)
    attrs = dict(a.split("=", 1) for a in env["A"])
    assert attrs.get("sasl_method") == "PLAIN", attrs
    assert attrs.get("sasl_username") == "alice@example.com", attrs
    assert attrs.get("protocol_name") == "ESMTPSA", attrs
    assert attrs.get("tls_summary", "").startswith("TLSv1."), attrs
    content = env["M"].decode()
    assert re.search(r"Received: from client\.example \(localhost \[127\.0\.0\.1\]\)\n"
                     r"\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)\)\n"
                     r"\t\(No client certificate requested\)\n"
                     r"\t\(Authenticated sender: alice@example\.com\)\n"
                     r"\tby posthorn\.test \(Posthorn\) with ESMTPSA id " + qid, content), content
    inst.wait_log(qid + r": client=localhost\[127\.0\.0\.1\], sasl_method=PLAIN, "
                  r"sasl_username=alice@example\.com")
    assert re.search(r"posthorn/submission/smtpd\[\d+\]: " + qid, inst.log())


def test_sender_login_mismatch(tls_instance):
    inst = tls_instance(
        main_cf={"smtpd_sender_login_maps":
                 "inline:{alice@example.com=alice@example.com, bob@example.com=bob@example.com}"},
        p587_opts="-o smtpd_sender_restrictions=reject_sender_login_mismatch")
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        s.login("alice@example.com", "secret")
        s.mail("bob@example.com")
        code, msg = s.rcpt("carol@remote.example")
        assert code == 553 and b"not owned by user alice@example.com" in msg, (code, msg)
        s.rset()
        s.mail("alice@example.com")
        assert s.rcpt("carol@remote.example")[0] == 250


# --------------------------------------------------------------------------
# Real clients

def test_smtplib_starttls_login_and_smtps(tls_instance):
    inst = tls_instance()
    msg = "From: alice@example.com\r\nTo: carol@remote.example\r\nSubject: t\r\n\r\nbody\r\n"
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        s.login("alice@example.com", "secret")
        assert s.sendmail("alice@example.com", ["carol@remote.example"], msg) == {}
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        s.ehlo("client.example")
        s.user, s.password = "bob@example.com", "hunter2"
        assert s.auth("LOGIN", s.auth_login)[0] == 235
    with smtplib.SMTP_SSL("127.0.0.1", inst.p465, timeout=15, context=client_ctx()) as s:
        s.login("alice@example.com", "secret")
        assert s.sendmail("alice@example.com", ["carol@remote.example"], msg) == {}
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice@example.com", "nope")
        assert e.value.smtp_code == 535
    assert len(queue_files(inst)) == 2


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks(tls_instance, mech):
    inst = tls_instance()
    for port, tls in ((inst.p587, "--tls"), (inst.p465, "--tlsc")):
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), tls,
                            "--auth", mech, "--auth-user", "alice@example.com",
                            "--auth-password", "secret", "--from", "alice@example.com",
                            "--to", "carol@remote.example", "--timeout", "20"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        assert "235 2.7.0 Authentication successful" in p.stdout
        assert re.search(r"250 2\.0\.0 Ok: queued as", p.stdout), p.stdout
    p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(inst.p587), "--tls",
                        "--auth", mech, "--auth-user", "alice@example.com",
                        "--auth-password", "bad", "--from", "alice@example.com",
                        "--to", "carol@remote.example", "--timeout", "20"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "535 5.7.8 Error: authentication failed" in p.stdout


class SClient:
    """openssl s_client driven line by line, as in the set-up guides."""

    def __init__(self, args):
        self.p = subprocess.Popen(["openssl", "s_client", "-quiet", "-crlf", *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)

    def line(self):
        return self.p.stdout.readline().decode().rstrip("\r\n")

    def reply(self):
        lines = [self.line()]
        while len(lines[-1]) > 3 and lines[-1][3] == "-":
            lines.append(self.line())
        return "\n".join(lines)

    def cmd(self, text):
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()
        return self.reply()

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=20)


def test_openssl_s_client(tls_instance):
    inst = tls_instance()
    # openssl s_client -starttls smtp: it sends EHLO and STARTTLS itself
    c = SClient(["-starttls", "smtp", "-connect", f"127.0.0.1:{inst.p587}"])
    try:
        r = c.cmd("EHLO client.example")
        assert "250-AUTH PLAIN LOGIN" in r, r
        assert c.cmd("AUTH PLAIN " + plain("alice@example.com", "secret")) == \
            "235 2.7.0 Authentication successful"
        assert c.cmd("MAIL FROM:<alice@example.com>") == "250 2.1.0 Ok"
        assert c.cmd("RCPT TO:<carol@remote.example>") == "250 2.1.5 Ok"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    finally:
        c.close()
    # 465: TLS from the first byte
    c = SClient(["-connect", f"127.0.0.1:{inst.p465}"])
    try:
        assert c.reply() == "220 posthorn.test ESMTP Posthorn"
        assert "250-AUTH PLAIN LOGIN" in c.cmd("EHLO client.example")
        assert c.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
        assert c.cmd(b64("alice@example.com")) == "334 UGFzc3dvcmQ6"
        assert c.cmd(b64("secret")) == "235 2.7.0 Authentication successful"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    finally:
        c.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_smtps(tls_instance):
    inst = tls_instance()
    msg = os.path.join(inst.dir, "msg.txt")
    with open(msg, "w") as f:
        f.write("From: alice@example.com\r\nTo: carol@remote.example\r\nSubject: curl\r\n\r\nhi\r\n")
    for url, extra in ((f"smtps://127.0.0.1:{inst.p465}", []),
                       (f"smtp://127.0.0.1:{inst.p587}", ["--ssl-reqd"])):
        p = subprocess.run(["curl", "-sS", "-k", "--url", url, *extra,
                            "--mail-from", "alice@example.com",
                            "--mail-rcpt", "carol@remote.example", "--upload-file", msg,
                            "--user", "alice@example.com:secret"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    p = subprocess.run(["curl", "-sS", "-k", "--url", f"smtps://127.0.0.1:{inst.p465}",
                        "--mail-from", "alice@example.com", "--mail-rcpt", "carol@remote.example",
                        "--upload-file", msg, "--user", "alice@example.com:wrong"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 67, (p.returncode, p.stderr)      # login denied
    assert len(queue_files(inst)) == 2


def test_wrappermode_garbage_and_received_header_off(tls_instance):
    inst = tls_instance(main_cf={"smtpd_tls_received_header": "no"})
    with socket.create_connection(("127.0.0.1", inst.p465), timeout=15) as s:
        s.sendall(b"EHLO plain.text\r\n")
        s.settimeout(15)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        assert b"220" not in data
    inst.wait_log(r"lost connection after CONNECT from localhost\[127\.0\.0\.1\]")
    with smtplib.SMTP_SSL("127.0.0.1", inst.p465, timeout=15, context=client_ctx()) as s:
        s.login("alice@example.com", "secret")
        s.sendmail("alice@example.com", ["carol@remote.example"], "Subject: x\r\n\r\ny\r\n")
    (path,) = queue_files(inst)
    env = queue_file(inst, os.path.basename(path))
    assert b"(using TLS" not in env["M"] and b"with ESMTPSA" in env["M"]


def test_session_resumption_across_processes(tls_instance):
    inst = tls_instance()
    ctx = client_ctx()
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2     # session object right after handshake
    with socket.create_connection(("127.0.0.1", inst.p465), timeout=15) as s1:
        t1 = ctx.wrap_socket(s1, server_hostname="posthorn.test")
        t1.recv(100)
        sess = t1.session
        t1.sendall(b"QUIT\r\n")
        t1.recv(100)
    reused = False
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", inst.p465), timeout=15) as s2:
            t2 = ctx.wrap_socket(s2, server_hostname="posthorn.test", session=sess)
            t2.recv(100)
            reused = reused or t2.session_reused
            t2.sendall(b"QUIT\r\n")
            t2.recv(100)
    assert reused
    key = os.path.join(inst.data, "smtpd_tls_ticket.key")
    assert os.stat(key).st_mode & 0o777 == 0o600


def test_protocols_mandatory_at_encrypt(tls_instance):
    inst = tls_instance(main_cf={"smtpd_tls_mandatory_protocols": ">=TLSv1.3",
                                 "smtpd_tls_protocols": ">=TLSv1.2"})
    ctx12 = client_ctx()
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with raw(inst.p25) as c:                        # may: TLSv1.2 accepted
        c.cmd("EHLO x")
        assert c.cmd("STARTTLS").startswith("220")
        c.sock = ctx12.wrap_socket(c.sock, server_hostname="posthorn.test")
        assert c.sock.version() == "TLSv1.2"
    with raw(inst.p587) as c:                       # encrypt: mandatory protocols
        c.cmd("EHLO x")
        assert c.cmd("STARTTLS").startswith("220")
        with pytest.raises(ssl.SSLError):
            ctx12.wrap_socket(c.sock, server_hostname="posthorn.test")


# --------------------------------------------------------------------------
# Other SASL back ends

@pytest.mark.skipif(shutil.which("saslpasswd2") is None, reason="sasl2-bin not installed")
def test_cyrus_sasldb(instance_factory, tls_instance):
    d = tempfile.mkdtemp(prefix="ph-sasl-", dir="/tmp")
    os.chmod(d, 0o755)
    db = os.path.join(d, "sasldb2")
    subprocess.run(["saslpasswd2", "-p", "-c", "-f", db, "-u", "posthorn.test", "carol"],
                   input="s3cret", text=True, check=True, timeout=30)
    with open(os.path.join(d, "smtpd.conf"), "w") as f:
        f.write(f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n"
                f"sasldb_path: {db}\n")
    try:
        inst = tls_instance(sasl_main={"smtpd_sasl_type": "cyrus", "smtpd_sasl_path": "smtpd",
                                       "cyrus_sasl_config_path": d})
        for name in (d, db):
            os.chown(name, inst.uid, inst.gid)
        with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
            s.starttls(context=client_ctx())
            s.ehlo("client.example")
            assert "PLAIN" in s.esmtp_features["auth"]
            s.login("carol", "s3cret")
            assert s.mail("carol@posthorn.test")[0] == 250
            assert s.rcpt("x@remote.example")[0] == 250
        with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
            s.starttls(context=client_ctx())
            s.ehlo("client.example")
            s.user, s.password = "carol", "s3cret"
            assert s.auth("LOGIN", s.auth_login)[0] == 235
        with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
            s.starttls(context=client_ctx())
            with pytest.raises(smtplib.SMTPAuthenticationError):
                s.login("carol", "wrong")
        inst.wait_log(r"SASL PLAIN authentication failed: authentication failure")
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def dovecot_auth():
    """A private Debian Dovecot: only its auth-client socket, passwd-file users."""
    with private_dovecot_auth("dave@example.com:{PLAIN}dovepass:1000:1000::/home/dave\n") as d:
        yield d


def test_real_dovecot_behind_our_smtpd(tls_instance, dovecot_auth):
    inst = tls_instance(sasl_main={"smtpd_sasl_path": os.path.join(dovecot_auth, "auth-client")})
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        s.login("dave@example.com", "dovepass")
    with smtplib.SMTP_SSL("127.0.0.1", inst.p465, timeout=15, context=client_ctx()) as s:
        s.ehlo("client.example")
        s.user, s.password = "dave@example.com", "dovepass"
        assert s.auth("LOGIN", s.auth_login)[0] == 235
    with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
        s.starttls(context=client_ctx())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            s.login("dave@example.com", "nope")
    inst.wait_log(r"warning: localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed: ")


# --------------------------------------------------------------------------
# fail2ban

def fail2ban_regex(logfile, filt):
    p = subprocess.run(["fail2ban-regex", logfile, filt], capture_output=True, text=True,
                       timeout=120)
    m = re.search(r"^Lines: \d+ lines, \d+ ignored, (\d+) matched", p.stdout, re.M)
    assert m, p.stdout + p.stderr
    return int(m.group(1)), p.stdout


@pytest.mark.skipif(shutil.which("fail2ban-regex") is None or
                    not os.path.exists("/etc/fail2ban/filter.d/postfix.conf"),
                    reason="fail2ban not installed")
def test_fail2ban_stock_postfix_sasl_filter(tls_instance):
    def fail_three(inst):
        for pw in ("x1", "x2", "x3"):
            with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
                s.starttls(context=client_ctx())
                with pytest.raises(smtplib.SMTPAuthenticationError):
                    s.login("alice@example.com", pw)
        with smtplib.SMTP("127.0.0.1", inst.p587, timeout=15) as s:
            s.starttls(context=client_ctx())
            s.login("alice@example.com", "secret")
        # smtplib tries PLAIN, then LOGIN: two failures per login
        inst.wait_for(lambda: inst.log().count("SASL LOGIN authentication failed") == 3,
                      what="three failed logins in the log")

    inst = tls_instance()
    fail_three(inst)
    # our lines say posthorn/submission/smtpd: the stock filter with the
    # jail's _daemon set for Posthorn (jail.local: filter = postfix[mode=auth,
    # _daemon=...]) matches every failure and nothing else
    n, out = fail2ban_regex(inst.maillog,
                            r'postfix[mode=auth, _daemon="posthorn(-\w+)?/\w+(?:/smtp[ds])?"]')
    assert n == 6, out
    # an instance run with syslog_name = postfix (a later -o wins over the
    # fixture's submission name) is matched by the unmodified filter
    inst.stop()
    inst2 = tls_instance(main_cf={"syslog_name": "postfix"},
                         p587_opts="-o syslog_name=postfix/submission")
    fail_three(inst2)
    assert "postfix/submission/smtpd[" in inst2.log()
    n, out = fail2ban_regex(inst2.maillog, "postfix[mode=auth]")
    assert n == 6, out


# --------------------------------------------------------------------------
# testssl.sh

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("testssl") is None, reason="testssl.sh not installed")
def test_testssl_no_high_or_critical(tls_instance):
    inst = tls_instance()
    for args in ([f"127.0.0.1:{inst.p465}"], ["--starttls", "smtp", f"127.0.0.1:{inst.p587}"]):
        out = os.path.join(inst.dir, f"testssl-{args[-1].split(':')[1]}.json")
        p = subprocess.run(["testssl", "--quiet", "--fast", "--warnings", "off", "--ip", "one",
                            "--jsonfile", out, *args],
                           capture_output=True, text=True, timeout=600)
        assert os.path.exists(out), p.stdout[-2000:] + p.stderr[-2000:]
        import json
        with open(out) as f:
            findings = json.load(f)
        # a self-signed test certificate for "posthorn.test" cannot be
        # trusted, match 127.0.0.1, name a CRL/OCSP, or live less than 10
        # years (tls_make_self_signed's contract): those findings are
        # about the certificate the test made, not about the server
        cert_ids = ("cert_trust", "cert_chain_of_trust", "cert_revocation", "cert_caIssuers",
                    "cert_validityPeriod")
        bad = [(x["id"], x["finding"]) for x in findings
               if x.get("severity") in ("HIGH", "CRITICAL") and not x["id"].startswith(cert_ids)]
        assert not bad, bad
        ids = {x["id"] for x in findings}
        assert {"SSLv3", "TLS1", "TLS1_3", "heartbleed"} <= ids, sorted(ids)


# --------------------------------------------------------------------------
# posthorn tls new-server-cert, posthorn pw

def test_new_server_cert_enables_tls(instance):
    p = instance.posthorn("tls", "new-server-cert")
    assert p.returncode == 0, p.stderr
    pem = os.path.join(instance.dir, "smtpd.pem")
    assert f"smtpd_tls_chain_files={pem}" in p.stdout
    assert os.stat(pem).st_mode & 0o777 == 0o600
    q = instance.command("postconf", "-n", "smtpd_tls_chain_files", "smtpd_tls_security_level")
    assert q.stdout.splitlines() == [f"smtpd_tls_chain_files = {pem}",
                                     "smtpd_tls_security_level = may"], q.stdout + q.stderr
    x = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName",
                        "-in", pem], capture_output=True, text=True)
    assert "CN = posthorn.test" in x.stdout and "DNS:posthorn.test" in x.stdout, x.stdout
    # a second run keeps the configuration and says how to deploy
    p = instance.posthorn("tls", "new-server-cert", "mail.example.org")
    assert p.returncode == 0 and "postconf -e 'smtpd_tls_chain_files" in p.stdout
    # it serves: STARTTLS on a plain smtpd line with the edited main.cf
    port = instance.free_port()
    instance.write_master_cf(f"127.0.0.1:{port} inet n - n - - smtpd\n")
    instance.start()
    with smtplib.SMTP("127.0.0.1", port, timeout=15) as s:
        s.ehlo("x")
        assert s.has_extn("starttls")
        s.starttls(context=client_ctx())
        assert s.sock.getpeercert(binary_form=True)


def test_pw(instance):
    p = instance.posthorn("pw", "-s", "SHA512-CRYPT", "-p", "secret")
    assert p.returncode == 0 and p.stdout.startswith("{SHA512-CRYPT}$6$"), p.stdout + p.stderr
    q = instance.posthorn("pw", "-t", p.stdout.strip(), "-p", "secret")
    assert q.returncode == 0 and "(verified)" in q.stdout


def test_shipped_master_cf_examples_work_uncommented(tls_instance):
    """The commented submission and smtps entries of conf/master.cf, with
    the "#" removed (and loopback ports for the service names)."""
    inst = tls_instance()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "conf", "master.cf")) as f:
        lines = f.read().splitlines()
    ports = inst.free_ports(2)
    block, take = [], False
    for line in lines:
        m = re.match(r"#(submission|smtps)\s", line)
        if m:
            take = True
            port = ports[0] if m.group(1) == "submission" else ports[1]
            block.append(f"127.0.0.1:{port}" + line[1 + len(m.group(1)):])
        elif take and line.startswith("#  -o"):
            block.append(line[1:])
        else:
            take = False
    assert len(block) > 4 and any("smtpd_tls_wrappermode=yes" in b for b in block), block
    with open(os.path.join(inst.dir, "master.cf"), "a") as f:
        f.write("\n".join(block) + "\n")
    assert inst.reload().returncode == 0
    time.sleep(1)
    with smtplib.SMTP("127.0.0.1", ports[0], timeout=15) as s:
        s.ehlo("client.example")
        assert s.has_extn("starttls") and not s.has_extn("auth")
        assert s.mail("alice@example.com")[0] == 530
        s.starttls(context=client_ctx())
        s.login("alice@example.com", "secret")
        assert s.mail("alice@example.com")[0] == 250
        assert s.rcpt("carol@remote.example")[0] == 250
    with smtplib.SMTP_SSL("127.0.0.1", ports[1], timeout=15, context=client_ctx()) as s:
        s.ehlo("client.example")
        assert s.mail("alice@example.com")[0] == 250
        assert s.rcpt("carol@remote.example")[0] == 554      # relay needs AUTH
        s.rset()
        s.login("alice@example.com", "secret")
        assert s.mail("alice@example.com")[0] == 250
        assert s.rcpt("carol@remote.example")[0] == 250


# --------------------------------------------------------------------------
# The set-up guides: obsolete smtpd_use_tls, separate cert/key files (key
# root-only), an absolute smtpd_sasl_path, telnet and s_client sessions

def openssl_cert(d, name="postfix"):
    cert, key = os.path.join(d, f"{name}.pem"), os.path.join(d, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=server.example.com", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)
    return cert, key


@pytest.mark.parametrize("root", [False, True])
def test_guide_configuration(instance_factory, root):
    if root and os.geteuid() != 0:
        pytest.skip("root instance needs root")
    inst = instance_factory(root=root, main_cf=dict(BASE))
    users = os.path.join(inst.dir, "users")
    with open(users, "w") as f:
        f.write("test:{PLAIN}testpass:1000:1000::/home/test\n")
    cert, key = openssl_cert(inst.dir)
    if not root:
        for p in (cert, key, users):
            os.chown(p, inst.uid, inst.gid)
    else:
        assert os.stat(key).st_uid == 0     # only root can read it; smtpd drops to phmail
    port = inst.free_port()
    inst.write_main_cf({
        "auth_passdb": f"passwd-file:{users}", "auth_userdb": f"passwd-file:{users}",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": os.path.join(inst.queue, "private", "auth"),
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_sasl_local_domain": "$myhostname",
        "smtpd_sasl_security_options": "noanonymous",
        "broken_sasl_auth_clients": "yes",
        "smtpd_sasl_authenticated_header": "yes",
        "smtpd_recipient_restrictions":
            "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
        "smtpd_use_tls": "yes",
        "smtpd_tls_cert_file": cert,
        "smtpd_tls_key_file": key,
    })
    inst.write_master_cf(f"127.0.0.1:{port} inet n - n - - smtpd\n"
                         "auth unix - n n - 1 auth\nanvil unix - - n - 1 anvil\n")
    inst.start()
    inst.wait_for(lambda: os.path.exists(os.path.join(inst.queue, "private", "auth")),
                  what="auth socket")
    # % telnet server.example.com 25
    with raw(port) as c:
        r = c.cmd("EHLO client.example.com")
        kw = ehlo_keywords(r)
        assert {"STARTTLS", "AUTH PLAIN LOGIN", "AUTH=PLAIN LOGIN"} <= set(kw), r
        # printf '\0%s\0%s' 'test' 'testpass' | openssl base64
        resp = subprocess.run("printf '\\0%s\\0%s' test testpass | openssl base64", shell=True,
                              capture_output=True, text=True).stdout.strip()
        assert resp == "AHRlc3QAdGVzdHBhc3M="
        assert c.cmd("AUTH PLAIN " + resp) == "235 2.7.0 Authentication successful"
    # % openssl s_client -connect server.example.com:25 -starttls smtp
    c = SClient(["-connect", f"127.0.0.1:{port}", "-starttls", "smtp"])
    try:
        assert "250-AUTH PLAIN LOGIN" in c.cmd("EHLO client.example.com")
        assert c.cmd("auth login ") == "334 VXNlcm5hbWU6"
        assert c.cmd("dGVzdA==") == "334 UGFzc3dvcmQ6"
        assert c.cmd("dGVzdHBhc3M=") == "235 2.7.0 Authentication successful"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    finally:
        c.close()
    if root:                # the TLS sessions were served by an unprivileged smtpd
        import pwd
        pids = inst.children("smtpd")
        assert pids
        for pid in pids:
            uid = os.stat(f"/proc/{pid}").st_uid
            assert uid == pwd.getpwnam(inst.mail_owner).pw_uid != 0
    assert not [l for l in inst.log().splitlines() if "smtpd[" in l and "warning" in l]
