"""The smtp/lmtp delivery agent against loopback servers.

A dnsmasq (Debian's dnsmasq-base) on 127.0.77.53 serves MX/A records for
*.test names pointing at other 127.0.77.x addresses, where the tests run
scriptable SMTP/LMTP servers (smtpsink.py) on port 25, Postfix's
smtp-sink, or a second Posthorn instance. The instance under test runs
master + qmgr + pickup + smtp with smtp_dns_resolver_address pointing at
the dnsmasq; mail goes in with the real sendmail command. Bounces go to
sender@bounces.test, whose MX is a sink too, so the DSNs can be read.

Needs root (port 25 on loopback addresses) and dnsmasq: skipped otherwise.
"""
import glob
import os
import pathlib
import tempfile
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from smtpsink import Sink

NET = "127.0.77"
DNS_ADDR = f"{NET}.53"
SENDER = "sender@bounces.test"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("dnsmasq"),
                                reason="needs root (port 25) and dnsmasq")

MX = {
    # domain: [(pref, host, addr or None)]
    "pref.test": [(10, "mx1.pref.test", f"{NET}.11"), (20, "mx2.pref.test", f"{NET}.12")],
    "greet.test": [(10, "mx1.greet.test", f"{NET}.13"), (20, "mx2.greet.test", f"{NET}.14")],
    "tls.test": [(10, "mx.tls.test", f"{NET}.16")],
    "plain.test": [(10, "mx.plain.test", f"{NET}.17")],
    "pfx.test": [(10, "mx.pfx.test", f"{NET}.18")],
    "reuse.test": [(10, "mx.reuse.test", f"{NET}.19")],
    "nobit.test": [(10, "mx.nobit.test", f"{NET}.21")],
    "b.test": [(10, "mx.b.test", f"{NET}.50")],
    "bounces.test": [(10, "mx.bounces.test", f"{NET}.60")],
}
HOSTS = {"amx.test": f"{NET}.15", "relay.test": f"{NET}.20"}


def udp_port(addr):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    port = udp_port(DNS_ADDR)
    args = ["dnsmasq", "--keep-in-foreground", f"--port={port}", f"--listen-address={DNS_ADDR}",
            "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/", "--pid-file=",
            "--user=root", "--server=/tempfail.test/127.0.0.1#9",
            "--mx-host=nullmx.test,.,0"]
    for dom, mxs in MX.items():
        for pref, host, addr in mxs:
            args.append(f"--mx-host={dom},{host},{pref}")
            args.append(f"--host-record={host},{addr}")
    for host, addr in HOSTS.items():
        args.append(f"--host-record={host},{addr}")
    log = tmp_path_factory.mktemp("dns") / "dnsmasq.log"
    p = subprocess.Popen(args + [f"--log-facility={log}"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    # Wait until it answers.
    q = bytes.fromhex("123401000001000000000000") + b"\x04pref\x04test\x00\x00\x0f\x00\x01"
    for _ in range(50):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.2)
                s.sendto(q, (DNS_ADDR, port))
                s.recv(512)
                break
        except OSError:
            time.sleep(0.1)
    yield f"{DNS_ADDR}:{port}"
    p.terminate()
    p.wait()


@pytest.fixture(scope="module")
def bounces():
    s = Sink(f"{NET}.60", 25)
    yield s
    s.close()


@pytest.fixture
def sinks():
    made = []

    def make(addr, port=25, **kw):
        s = Sink(addr, port, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


MASTER_CF = ("qmgr unix n - n 300 1 qmgr\n"
             "pickup unix n - n 60 1 pickup\n"
             "smtp unix - - n - - smtp\n"
             "relay unix - - n - - smtp\n"
             "lmtp unix - - n - - smtp\n")


@pytest.fixture
def mta(instance_factory, dns, bounces):
    def make(start=True, **params):
        conf = {
            "mydestination": "posthorn.test",
            "smtp_dns_resolver_address": dns,
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
            "smtp_connect_timeout": "5s",
            "smtp_helo_timeout": "10s",
            "inet_protocols": "ipv4",
        }
        conf.update(params)
        inst = instance_factory(main_cf=conf)
        inst.write_master_cf(MASTER_CF)
        if start:
            inst.start()
        return inst

    return make


def send(inst, rcpts, body="Subject: test\n\nhello\n", sender=SENDER):
    p = inst.run([inst.program("sendmail"), "-C", inst.dir, "-f", sender, *rcpts], input=body)
    assert p.returncode == 0, p.stdout + p.stderr


def status_line(inst, rcpt, status, timeout=20, since=0):
    return inst.wait_log(rf"to=<{re.escape(rcpt)}>.*status={status}.*", timeout=timeout, since=since)


def line_of(m):
    return m.group(0) if hasattr(m, "group") else str(m)


def test_mx_preference_and_fallback(mta, sinks):
    # mx1 (preference 10) has nothing listening: refused; mx2 accepts.
    mx2 = sinks(f"{NET}.12")
    inst = mta()
    send(inst, ["alice@pref.test"])
    m = line_of(status_line(inst, "alice@pref.test", "sent"))
    assert f"relay=mx2.pref.test[{NET}.12]:25" in m
    assert "dsn=2.0.0" in m and "250 2.0.0 Ok: queued as SINK1" in m
    assert re.search(r"delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+", m)
    assert f"connect to mx1.pref.test[{NET}.11]:25: Connection refused" in inst.log()
    assert len(mx2.messages) == 1
    msg = mx2.messages[0]
    assert msg.mail.startswith(f"FROM:<{SENDER}>")
    assert msg.rcpts == ["TO:<alice@pref.test>"]
    assert b"hello\r\n" in msg.data


def test_4xx_greeting_goes_to_next_mx(mta, sinks):
    mx1 = sinks(f"{NET}.13")
    mx1.greeting = "421 4.3.2 mx1 busy"
    mx2 = sinks(f"{NET}.14")
    inst = mta()
    send(inst, ["bob@greet.test"])
    m = line_of(status_line(inst, "bob@greet.test", "sent"))
    assert "relay=mx2.greet.test" in m
    assert mx1.connections == 1 and len(mx2.messages) == 1


def test_no_mx_uses_address(mta, sinks):
    s = sinks(f"{NET}.15")
    inst = mta()
    send(inst, ["carol@amx.test"])
    m = line_of(status_line(inst, "carol@amx.test", "sent"))
    assert f"relay=amx.test[{NET}.15]:25" in m
    assert len(s.messages) == 1


def test_null_mx_bounces(mta, bounces):
    inst = mta()
    n = len(bounces.messages)
    send(inst, ["dave@nullmx.test"])
    m = line_of(status_line(inst, "dave@nullmx.test", "bounced"))
    assert "dsn=5.1.10" in m and "nullMX" in m
    # The DSN reaches the sender's MX.
    for _ in range(100):
        if len(bounces.messages) > n:
            break
        time.sleep(0.2)
    dsn = bounces.messages[-1].data.decode()
    assert "dave@nullmx.test" in dsn and "5.1.10" in dsn


def test_nxdomain_bounces(mta):
    inst = mta()
    send(inst, ["erin@nosuch.test"])
    m = line_of(status_line(inst, "erin@nosuch.test", "bounced"))
    assert "dsn=5.4.4" in m and "Host or domain name not found" in m
    assert "name=nosuch.test type=MX" in m


def test_dns_temporary_failure_defers(mta):
    inst = mta()
    send(inst, ["frank@tempfail.test"])
    m = line_of(status_line(inst, "frank@tempfail.test", "deferred", timeout=60))
    assert "dsn=4.4.3" in m and "name=tempfail.test type=MX" in m


def test_4xx_deferred_then_delivered(mta, sinks):
    s = sinks(f"{NET}.17")
    s.mail_reply = "451 4.3.0 Temporary local problem, come back later"
    inst = mta()
    send(inst, ["gina@plain.test"])
    m = line_of(status_line(inst, "gina@plain.test", "deferred"))
    assert ("host mx.plain.test[127.0.77.17] said: 451 4.3.0 Temporary local problem, "
            "come back later (in reply to MAIL FROM command)") in m
    assert "dsn=4.3.0" in m
    s.mail_reply = None
    status_line(inst, "gina@plain.test", "sent", timeout=30)
    assert len(s.messages) == 1


def test_mixed_recipients_and_5xx_text(mta, sinks, bounces):
    s = sinks(f"{NET}.17")
    inst = mta()
    n = len(bounces.messages)
    send(inst, ["ok1@plain.test", "rejected@plain.test", "tmpfail@plain.test", "ok2@plain.test"])
    sent1 = line_of(status_line(inst, "ok1@plain.test", "sent"))
    status_line(inst, "ok2@plain.test", "sent")
    b = line_of(status_line(inst, "rejected@plain.test", "bounced"))
    d = line_of(status_line(inst, "tmpfail@plain.test", "deferred"))
    assert "dsn=5.1.1" in b
    assert ("host mx.plain.test[127.0.77.17] said: 550 5.1.1 <rejected@plain.test>: Recipient "
            "address rejected: User unknown (in reply to RCPT TO command)") in b
    assert "dsn=4.2.1" in d and "(in reply to RCPT TO command)" in d
    assert "dsn=2.0.0" in sent1
    # One transaction carried both accepted recipients, pipelined.
    assert len(s.messages) >= 1
    assert s.messages[0].rcpts == ["TO:<ok1@plain.test>", "TO:<ok2@plain.test>"]
    # The bounce carries the remote reply.
    for _ in range(100):
        if any(b"rejected@plain.test" in x.data for x in bounces.messages[n:]):
            break
        time.sleep(0.2)
    dsn = b"".join(x.data for x in bounces.messages[n:]).decode()
    assert "rejected@plain.test" in dsn and "550 5.1.1" in dsn and "User unknown" in dsn
    # ... and names the host that gave it (RFC 3464 Remote-MTA)
    assert "Remote-MTA: dns; mx.plain.test" in dsn


def test_size_limit_refused_before_sending(mta, sinks):
    s = sinks(f"{NET}.17")
    s.ext = ["PIPELINING", "SIZE 1000", "8BITMIME"]
    inst = mta()
    send(inst, ["big@plain.test"], body="Subject: big\n\n" + "x" * 3000 + "\n")
    m = line_of(status_line(inst, "big@plain.test", "bounced"))
    assert "dsn=5.3.4" in m and "exceeds size limit 1000 of server mx.plain.test" in m
    assert not any(c.upper().startswith("MAIL") for c in s.commands)


def test_no_pipelining_lockstep_and_helo_fallback(mta, sinks):
    s = sinks(f"{NET}.17")
    s.ext = []
    inst = mta()
    send(inst, ["one@plain.test", "rejx@plain.test"])
    status_line(inst, "one@plain.test", "sent")
    status_line(inst, "rejx@plain.test", "bounced")
    verbs = [c.split()[0].upper().split(":")[0] for c in s.commands]
    assert verbs[:5] == ["EHLO", "MAIL", "RCPT", "RCPT", "DATA"]
    assert "SIZE=" not in s.messages[0].mail


def test_8bit_downgrade_to_quoted_printable(mta, sinks):
    s = sinks(f"{NET}.21")
    s.ext = ["PIPELINING"]
    inst = mta()
    body = "Subject: caf\u00e9\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nd\u00e9j\u00e0 vu\n.dot line\n"
    send(inst, ["h@nobit.test"], body=body)
    status_line(inst, "h@nobit.test", "sent")
    data = s.messages[0].data
    assert b"Content-Transfer-Encoding: quoted-printable" in data
    assert b"8bit" not in data.split(b"\r\n\r\n")[0]
    assert b"d=C3=A9j=C3=A0 vu" in data
    assert b"\r\n.dot line" in data
    assert "BODY=8BITMIME" not in s.messages[0].mail


def test_8bit_multipart_to_7bit_server_bounces(mta, sinks):
    s = sinks(f"{NET}.21")
    s.ext = ["PIPELINING"]
    inst = mta()
    body = ("Subject: mp\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            "--b\nContent-Type: text/plain; charset=utf-8\n\n\u00e9\n--b--\n")
    send(inst, ["mp@nobit.test"], body=body)
    m = line_of(status_line(inst, "mp@nobit.test", "bounced"))
    assert "dsn=5.6.3" in m and "8BITMIME" in m
    assert not s.messages


def make_cert(tmp_path, name):
    # A directory the unprivileged instance user can read.
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="ph-cert-", dir="/tmp"))
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    os.chmod(tmp_path, 0o755)
    os.chmod(crt, 0o644)
    return ctx, str(crt)


def test_tls_may_untrusted(mta, sinks, tmp_path):
    s = sinks(f"{NET}.16")
    s.tls, _ = make_cert(tmp_path, "mx.tls.test")
    inst = mta(smtp_tls_security_level="may", smtp_tls_loglevel="1")
    send(inst, ["tina@tls.test"])
    status_line(inst, "tina@tls.test", "sent")
    assert s.messages[0].tls
    assert re.search(r"Untrusted TLS connection established to mx\.tls\.test\[127\.0\.77\.16\]:25: TLSv1\.[23]",
                     inst.log())


def test_tls_may_handshake_failure_falls_back_to_plaintext(mta, sinks):
    s = sinks(f"{NET}.16")
    s.tls = "broken"
    inst = mta(smtp_tls_security_level="may")
    send(inst, ["pat@tls.test"])
    status_line(inst, "pat@tls.test", "sent")
    assert s.connections == 2 and not s.messages[0].tls
    assert "trying again without TLS" in inst.log()


def test_tls_verify_without_ca_defers(mta, sinks, tmp_path):
    s = sinks(f"{NET}.16")
    s.tls, _ = make_cert(tmp_path, "mx.tls.test")
    inst = mta(smtp_tls_security_level="verify")
    send(inst, ["ursula@tls.test"])
    m = line_of(status_line(inst, "ursula@tls.test", "deferred"))
    assert "Server certificate not trusted" in m or "certificate" in m
    assert not s.messages


def test_tls_verify_with_cafile_delivers(mta, sinks, tmp_path):
    s = sinks(f"{NET}.16")
    s.tls, crt = make_cert(tmp_path, "mx.tls.test")
    inst = mta(smtp_tls_security_level="verify", smtp_tls_CAfile=crt, smtp_tls_loglevel="1")
    send(inst, ["vera@tls.test"])
    status_line(inst, "vera@tls.test", "sent")
    assert s.messages[0].tls
    assert re.search(r"(Verified|Trusted) TLS connection established to mx\.tls\.test", inst.log())


def test_tls_encrypt_not_offered_defers(mta, sinks):
    sinks(f"{NET}.16")
    inst = mta(smtp_tls_policy_maps="inline:{ tls.test=encrypt }")
    send(inst, ["walt@tls.test"])
    m = line_of(status_line(inst, "walt@tls.test", "deferred"))
    assert "TLS is required, but was not offered by host mx.tls.test[127.0.77.16]" in m


def test_sasl_auth_to_relayhost(mta, sinks):
    s = sinks(f"{NET}.20", 2525)
    s.auth = {"relayuser": "s3cret"}
    inst = mta(relayhost=f"[{NET}.20]:2525", smtp_sasl_auth_enable="yes",
               smtp_sasl_security_options="noanonymous",
               smtp_sasl_password_maps=f"inline:{{ [{NET}.20]:2525=relayuser:s3cret }}")
    send(inst, ["xena@anywhere.test"])
    m = line_of(status_line(inst, "xena@anywhere.test", "sent"))
    assert f"relay={NET}.20[{NET}.20]:2525" in m
    assert s.messages[0].auth_user == "relayuser"


def test_sasl_bad_password_defers(mta, sinks):
    s = sinks(f"{NET}.20", 2525)
    s.auth = {"relayuser": "right"}
    inst = mta(relayhost=f"[{NET}.20]:2525", smtp_sasl_auth_enable="yes",
               smtp_sasl_security_options="noanonymous",
               smtp_sasl_password_maps=f"inline:{{ [{NET}.20]:2525=relayuser:wrong }}")
    send(inst, ["yann@anywhere.test"])
    m = line_of(status_line(inst, "yann@anywhere.test", "deferred"))
    assert "SASL authentication failed" in m and "535 5.7.8" in m
    assert not s.messages


def test_transport_maps_lmtp_inet_and_unix(mta, sinks, tmp_path):
    inet = sinks(f"{NET}.40", 24, lmtp=True)
    sockdir = tempfile.mkdtemp(prefix="ph-lmtp-", dir="/tmp")
    os.chmod(sockdir, 0o755)
    sock = os.path.join(sockdir, "lmtp.sock")
    ux = sinks(None, lmtp=True, unix_path=sock)
    os.chmod(sock, 0o666)
    inst = mta(transport_maps=f"inline:{{ lm.test=lmtp:inet:{NET}.40:24, ux.test=lmtp:unix:{sock} }}")
    send(inst, ["a@lm.test", "lmtpfail@lm.test", "b@lm.test"])
    send(inst, ["c@ux.test"])
    a = line_of(status_line(inst, "a@lm.test", "sent"))
    f = line_of(status_line(inst, "lmtpfail@lm.test", "bounced"))
    status_line(inst, "b@lm.test", "sent")
    c = line_of(status_line(inst, "c@ux.test", "sent"))
    assert f"relay={NET}.40[{NET}.40]:24" in a and "250 2.0.0 <a@lm.test> Saved" in a
    assert "552 5.2.2 <lmtpfail@lm.test> Mailbox full" in f and "end of DATA" in f
    assert f"[{sock}]" in c
    assert inet.messages[0].helo and any(x.startswith("LHLO") for x in inet.commands)
    assert len(ux.messages) == 1


def test_connection_reuse(mta, sinks):
    s = sinks(f"{NET}.19")
    inst = mta(smtp_connection_cache_time_limit="10s")
    for i in range(3):
        send(inst, [f"r{i}@reuse.test"])
        status_line(inst, f"r{i}@reuse.test", "sent")
    assert len(s.messages) == 3
    # The same process serves one request after the other: fewer connections.
    assert s.connections < 3, s.connections
    assert sum(1 for c in s.commands if c.upper() == "RSET") >= 1


def test_into_postfix_smtp_sink(mta, tmp_path):
    if not shutil.which("smtp-sink"):
        pytest.skip("Postfix smtp-sink not installed")
    p = subprocess.Popen(["smtp-sink", "-u", "nobody", f"{NET}.18:25", "10"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        inst = mta()
        send(inst, ["zoe@pfx.test", "zack@pfx.test"])
        m = line_of(status_line(inst, "zoe@pfx.test", "sent"))
        status_line(inst, "zack@pfx.test", "sent")
        assert f"relay=mx.pfx.test[{NET}.18]:25" in m and "250 2.0.0 Ok" in m
    finally:
        p.terminate()
        p.wait()


def test_second_posthorn_instance_as_remote(mta, instance_factory):
    """A relays through transport_maps (smtp:[host]:port) into B's smtpd;
    B delivers into a virtual mailbox."""
    b = instance_factory(main_cf={
        "inet_interfaces": f"{NET}.50",
        "myhostname": "mx.b.test",
        "mydestination": "",
        "virtual_mailbox_domains": "b.test",
        "smtpd_error_sleep_time": "0",
        "minimal_backoff_time": "1s",
        "queue_run_delay": "1s",
    })
    base = os.path.join(b.dir, "vmail")
    os.mkdir(base)
    os.chown(base, b.uid, b.gid)
    vmap = os.path.join(b.dir, "vmailbox")
    with open(vmap, "w") as f:
        f.write("user@b.test b.test/user/\n")
    port = b.free_port()
    b.write_main_cf({"virtual_mailbox_maps": "texthash:" + vmap, "virtual_mailbox_base": base,
                     "virtual_uid_maps": f"static:{b.uid}", "virtual_gid_maps": f"static:{b.gid}",
                     "virtual_minimum_uid": "0"})
    b.write_master_cf(f"{NET}.50:{port} inet n - n - - smtpd\n"
                      "anvil unix - - n - 1 anvil\n"
                      "qmgr unix n - n 300 1 qmgr\n"
                      "virtual unix - n n - - local\n")
    b.start()
    a = mta(transport_maps=f"inline:{{ b.test=smtp:[{NET}.50]:{port} }}")
    send(a, ["user@b.test", "nobody@b.test"], body="Subject: across\n\nfrom A to B\n")
    m = line_of(status_line(a, "user@b.test", "sent"))
    assert f"relay={NET}.50[{NET}.50]:{port}" in m and "250 2.0.0 Ok: queued as" in m
    r = line_of(status_line(a, "nobody@b.test", "bounced"))
    assert "said: 550 5.1.1" in r and "(in reply to RCPT TO command)" in r
    b.wait_log(r"to=<user@b\.test>.*status=sent \(delivered to maildir\)", timeout=20)
    files = glob.glob(os.path.join(base, "b.test", "user", "new", "*"))
    assert len(files) == 1
    with open(files[0]) as f:
        text = f.read()
    assert "from A to B" in text and "Subject: across" in text


DOVECOT_CONF = """protocols = lmtp
base_dir = {d}/run
log_path = {d}/dovecot.log
instance_name = ph-lmtp-test
ssl = no
listen = {addr}
mail_location = maildir:{d}/mail/%n
service lmtp {{
  inet_listener lmtp {{
    address = {addr}
    port = 24
  }}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%n
}}
passdb {{
  driver = static
  args = nopassword=y
}}
"""


def test_lmtp_into_dovecot(mta):
    if not os.path.exists("/usr/lib/dovecot/lmtp") or not shutil.which("dovecot"):
        pytest.skip("Debian's dovecot-lmtpd not installed")
    d = tempfile.mkdtemp(prefix="ph-dovecot-", dir="/tmp")
    os.chmod(d, 0o755)
    os.mkdir(os.path.join(d, "mail"))
    shutil.chown(os.path.join(d, "mail"), "nobody", "nogroup")
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(DOVECOT_CONF.format(d=d, addr=f"{NET}.41"))
    subprocess.run(["dovecot", "-c", conf], check=True)
    try:
        for _ in range(50):
            try:
                socket.create_connection((f"{NET}.41", 24), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        inst = mta(transport_maps=f"inline:{{ dv.test=lmtp:inet:{NET}.41:24 }}")
        send(inst, ["ann@dv.test", "ben@dv.test"], body="Subject: to dovecot\n\nvia lmtp\n")
        m = line_of(status_line(inst, "ann@dv.test", "sent"))
        status_line(inst, "ben@dv.test", "sent")
        assert f"relay={NET}.41[{NET}.41]:24" in m and "Saved" in m
        for user in ("ann", "ben"):
            files = glob.glob(os.path.join(d, "mail", user, "new", "*"))
            assert len(files) == 1, user
            with open(files[0]) as f:
                assert "via lmtp" in f.read()
    finally:
        subprocess.run(["dovecot", "-c", conf, "stop"])
        shutil.rmtree(d, ignore_errors=True)
