"""The "fingerprint" TLS security level of the smtp client (Postfix
semantics): TLS is mandatory, and the digest (smtp_tls_fingerprint_digest,
default sha256) of the server's leaf certificate or of its public key
(SubjectPublicKeyInfo DER) must equal one of smtp_tls_fingerprint_cert_match
or of the policy entry's "fingerprint match=FP1|FP2" values. No CA and no
name checks: the sink's certificate is self-signed for another name.

The remote side is the scriptable sink (smtpsink.py) on 127.0.78.x:2525,
reached as relayhost [addr]:2525 (no DNS). Fingerprints are computed here
with the openssl command and hashlib over the DER forms.
"""
import hashlib
import pathlib
import re
import ssl
import subprocess
import tempfile

import pytest

from smtpsink import Sink
from test_smtp_dane import queued, status_line

NET = "127.0.78"
PORT = 2525
SENDER = "sender@example.test"

MASTER_CF = ("qmgr unix n - n 300 1 qmgr\n"
             "pickup unix n - n 60 1 pickup\n"
             "smtp unix - - n - - smtp\n"
             "relay unix - - n - - smtp\n")


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], check=True, capture_output=True,
                          input=input).stdout


def colons(digest_bytes):
    return ":".join(f"{b:02X}" for b in digest_bytes)


@pytest.fixture(scope="module")
def pki():
    d = pathlib.Path(tempfile.mkdtemp(prefix="ph-fpt-", dir="/tmp"))
    key, crt = d / "key.pem", d / "cert.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=not-the-host.example", "-keyout", str(key), "-out", str(crt))
    der = openssl("x509", "-in", str(crt), "-outform", "DER")
    pub = openssl("x509", "-in", str(crt), "-noout", "-pubkey")
    spki = openssl("pkey", "-pubin", "-outform", "DER", input=pub)
    # The text "openssl x509 -fingerprint" prints: "sha256 Fingerprint=AB:..".
    text = openssl("x509", "-in", str(crt), "-noout", "-fingerprint", "-sha256").decode()
    cert256 = text.strip().split("=", 1)[1]
    assert cert256 == colons(hashlib.sha256(der).digest())
    other = colons(hashlib.sha256(b"some other certificate").digest())
    yield {
        "crt": str(crt), "key": str(key),
        "cert256": cert256,
        "spki256": hashlib.sha256(spki).hexdigest(),          # lower case, no colons
        "cert1": colons(hashlib.sha1(der).digest()),
        "wrong": other,
    }
    subprocess.run(["rm", "-rf", str(d)])


def server_ctx(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["crt"], pki["key"])
    return ctx


@pytest.fixture
def sinks():
    made = []

    def make(host, tls=None):
        s = Sink(f"{NET}.{host}", PORT)
        s.tls = tls
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


@pytest.fixture
def mta(instance_factory):
    def make(host, **params):
        conf = {
            "mydestination": "posthorn.test",
            "relayhost": f"[{NET}.{host}]:{PORT}",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
            "smtp_connect_timeout": "5s",
            "smtp_helo_timeout": "10s",
            "inet_protocols": "ipv4",
            "smtp_tls_loglevel": "1",
        }
        conf.update(params)
        inst = instance_factory(main_cf=conf)
        inst.write_master_cf(MASTER_CF)
        inst.start()
        return inst

    return make


def send(inst, rcpt):
    p = inst.run([inst.program("sendmail"), "-C", inst.dir, "-f", SENDER, rcpt],
                 input="Subject: fingerprint\n\nhello\n")
    assert p.returncode == 0, p.stdout + p.stderr


def verified_line(host):
    return re.compile(rf"Verified TLS connection established to {NET}\.{host}\[{NET}\.{host}\]"
                      rf":{PORT}: TLSv1\.[23] with cipher ")


def test_certificate_fingerprint_sha256(mta, sinks, pki):
    s = sinks(10, server_ctx(pki))
    inst = mta(10, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_cert_match=pki["cert256"])
    send(inst, "amy@remote.test")
    m = status_line(inst, "amy@remote.test", "sent")
    assert "dsn=2.0.0" in m
    assert len(s.messages) == 1 and s.messages[0].tls
    assert verified_line(10).search(inst.log())


def test_public_key_fingerprint(mta, sinks, pki):
    s = sinks(11, server_ctx(pki))
    # Two values in the list, comma and white space separated; the second
    # is the public key's digest in lower case without colons.
    inst = mta(11, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_cert_match=f"{pki['wrong']}, {pki['spki256']}")
    send(inst, "bob@remote.test")
    status_line(inst, "bob@remote.test", "sent")
    assert s.messages[0].tls
    assert verified_line(11).search(inst.log())


def test_wrong_fingerprint_defers(mta, sinks, pki):
    s = sinks(12, server_ctx(pki))
    inst = mta(12, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_cert_match=pki["wrong"])
    send(inst, "cat@remote.test")
    m = status_line(inst, "cat@remote.test", "deferred")
    assert "dsn=4.7.5" in m and "Server certificate not verified" in m
    assert not s.messages
    assert queued(inst, "cat@remote.test")
    assert "Verified TLS connection" not in inst.log()
    assert re.search(rf"server certificate verification failed for {NET}\.12\[{NET}\.12\]:{PORT}",
                     inst.log())


def test_no_starttls_defers(mta, sinks, pki):
    s = sinks(13, None)
    inst = mta(13, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_cert_match=pki["cert256"])
    send(inst, "dan@remote.test")
    m = status_line(inst, "dan@remote.test", "deferred")
    assert f"TLS is required, but was not offered by host {NET}.13[{NET}.13]" in m
    assert not s.messages
    assert queued(inst, "dan@remote.test")


def test_policy_map_match_alternatives(mta, sinks, pki):
    s = sinks(14, server_ctx(pki))
    # The global level is none: the policy entry alone asks for TLS.
    policy = f"inline:{{ {{ [{NET}.14]:{PORT} = fingerprint match={pki['wrong']}|{pki['cert256']} }} }}"
    inst = mta(14, smtp_tls_policy_maps=policy)
    send(inst, "eve@remote.test")
    status_line(inst, "eve@remote.test", "sent")
    assert s.messages[0].tls
    assert verified_line(14).search(inst.log())


def test_policy_map_repeated_match(mta, sinks, pki):
    s = sinks(15, server_ctx(pki))
    # Repeated match= attributes add up (Postfix); the global list is not used.
    policy = (f"inline:{{ {{ [{NET}.15]:{PORT} = fingerprint match={pki['wrong']}"
              f" match={pki['spki256']} }} }}")
    inst = mta(15, smtp_tls_policy_maps=policy,
               smtp_tls_fingerprint_cert_match=pki["wrong"])
    send(inst, "fay@remote.test")
    status_line(inst, "fay@remote.test", "sent")
    assert s.messages[0].tls


def test_policy_map_wrong_fingerprint_defers(mta, sinks, pki):
    s = sinks(16, server_ctx(pki))
    # The policy's match= replaces the (right) global list.
    policy = f"inline:{{ {{ [{NET}.16]:{PORT} = fingerprint match={pki['wrong']} }} }}"
    inst = mta(16, smtp_tls_policy_maps=policy,
               smtp_tls_fingerprint_cert_match=pki["cert256"])
    send(inst, "gus@remote.test")
    m = status_line(inst, "gus@remote.test", "deferred")
    assert "dsn=4.7.5" in m and "Server certificate not verified" in m
    assert not s.messages


def test_sha1_digest(mta, sinks, pki):
    s = sinks(17, server_ctx(pki))
    inst = mta(17, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_digest="sha1",
               smtp_tls_fingerprint_cert_match=pki["cert1"])
    send(inst, "hal@remote.test")
    status_line(inst, "hal@remote.test", "sent")
    assert s.messages[0].tls
    assert verified_line(17).search(inst.log())


def test_sha256_value_does_not_match_under_sha1(mta, sinks, pki):
    s = sinks(18, server_ctx(pki))
    inst = mta(18, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_digest="sha1",
               smtp_tls_fingerprint_cert_match=pki["cert256"])
    send(inst, "ida@remote.test")
    m = status_line(inst, "ida@remote.test", "deferred")
    assert "Server certificate not verified" in m
    assert not s.messages


def test_only_malformed_fingerprints_defer(mta, sinks, pki):
    s = sinks(19, server_ctx(pki))
    inst = mta(19, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_cert_match="AB:C nothex :AB:CD")
    send(inst, "jan@remote.test")
    m = status_line(inst, "jan@remote.test", "deferred")
    assert "dsn=4.7.5" in m and "client TLS configuration problem" in m
    log = inst.log()
    assert "warning: malformed fingerprint value: AB:C" in log
    assert "configured at fingerprint security level, but with no fingerprints to match" in log
    assert not s.messages and s.connections <= 1


def test_malformed_value_skipped(mta, sinks, pki):
    s = sinks(20, server_ctx(pki))
    inst = mta(20, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_cert_match=f"ZZ:TOP {pki['cert256'].lower()}")
    send(inst, "kim@remote.test")
    status_line(inst, "kim@remote.test", "sent")
    assert s.messages[0].tls
    assert "warning: malformed fingerprint value: ZZ:TOP" in inst.log()


def test_bad_digest_name_is_fatal(mta, sinks, pki):
    sinks(21, server_ctx(pki))
    inst = mta(21, smtp_tls_security_level="fingerprint",
               smtp_tls_fingerprint_digest="nosuchdigest",
               smtp_tls_fingerprint_cert_match=pki["cert256"])
    send(inst, "lou@remote.test")
    inst.wait_log(r"smtp_tls_fingerprint_digest = nosuchdigest: "
                  r"Digest algorithm \"nosuchdigest\" not found", timeout=20)
    assert queued(inst, "lou@remote.test")
