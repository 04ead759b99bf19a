"""DANE (RFC 7672) in the smtp client against a real validating resolver.

A Debian unbound on 127.0.79.53 (random port) validates everything it
answers: it serves two zones from `auth-zone:` blocks with `for-upstream:
yes` (so the answers go through its validator, as if they came from an
authoritative server), with the trust anchor of dane.test given as
`trust-anchor-file:`:
  dane.test      signed with ldns-keygen/ldns-signzone: answers carry AD
  insecure.test  unsigned, no anchor: answers are insecure (no AD)
One record of dane.test is altered after signing, so its signature is
bogus and unbound answers SERVFAIL for it: a real validation failure,
not a mock. The TLSA data come from certificates made here with openssl:
SHA-256 of the SubjectPublicKeyInfo (3 1 1) of a self-signed peer
certificate, SHA-256 of a CA certificate (2 0 1) for a peer whose
certificate that CA issued for the MX host name.

The remote side is the scriptable sink (smtpsink.py) on port 25 of
127.0.79.x, offering STARTTLS with those certificates. The instance under
test runs master + qmgr + pickup + smtp with smtp_dns_support_level =
dnssec and smtp_dns_resolver_address pointing at the unbound.

Needs root (port 25 on loopback addresses) plus unbound and ldnsutils
(tools/deps test_pkgs): skipped otherwise.
"""
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from smtpsink import Sink

NET = "127.0.79"
DNS_ADDR = f"{NET}.53"
SENDER = "sender@bounces.insecure.test"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unbound") or not shutil.which("ldns-signzone")
    or not shutil.which("dig"),
    reason="needs root (port 25), unbound, ldnsutils and dig")

# MX host -> address of its sink
ADDR = {
    "mx-ee.dane.test": f"{NET}.10",
    "mx-bad.dane.test": f"{NET}.11",
    "mx-ta.dane.test": f"{NET}.12",
    "mx-unus.dane.test": f"{NET}.13",
    "mx-sf.dane.test": f"{NET}.14",
    "mx-none.dane.test": f"{NET}.15",
    "mx-tan.dane.test": f"{NET}.16",
    "mx-een.dane.test": f"{NET}.17",
    "mx.insecure.test": f"{NET}.20",
    "mx.bounces.insecure.test": f"{NET}.60",
}


def openssl(*args, input=None):
    return subprocess.run(["openssl", *args], check=True, capture_output=True, input=input).stdout


def spki_sha256(cert_pem):
    pub = openssl("x509", "-in", cert_pem, "-noout", "-pubkey")
    der = openssl("pkey", "-pubin", "-outform", "DER", input=pub)
    return hashlib.sha256(der).hexdigest()


def cert_sha256(cert_pem):
    return hashlib.sha256(openssl("x509", "-in", cert_pem, "-outform", "DER")).hexdigest()


def self_signed(d, name):
    key, crt = os.path.join(d, f"{name}.key"), os.path.join(d, f"{name}.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}", "-keyout", key, "-out", crt)
    return crt, key


def ca_issued(d, name):
    """A CA and a certificate it issued for name; returns (chain, key, ca)."""
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=Posthorn DANE test CA", "-keyout", ca_key, "-out", ca_crt)
    key, csr, crt = (os.path.join(d, f"{name}.{x}") for x in ("key", "csr", "pem"))
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", key, "-out", csr)
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", crt)
    chain = os.path.join(d, f"{name}.chain.pem")
    with open(chain, "w") as f:
        f.write(open(crt).read() + open(ca_crt).read())
    return chain, key, ca_crt


def server_ctx(crt, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ctx


def udp_port(addr):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def dig_flags(server, port, name, rtype):
    """The header flags and status of a query with the AD bit (for the
    fixture's own readiness check and its sanity assertions)."""
    out = subprocess.run(["dig", "+adflag", "+time=1", "+tries=1", f"@{server}", "-p", str(port),
                          name, rtype], capture_output=True, text=True).stdout
    flags = re.search(r";; flags: ([a-z ]+);", out)
    status = re.search(r"status: (\w+)", out)
    return (flags.group(1).split() if flags else []), (status.group(1) if status else None)


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="ph-dane-", dir="/tmp")
    ee = self_signed(d, "mx-ee.dane.test")
    other = self_signed(d, "other.dane.test")
    chain, ta_key, ca = ca_issued(d, "mx-ta.dane.test")
    ins = self_signed(d, "mx.insecure.test")
    yield {"dir": d, "ee": ee, "other": other, "ta": (chain, ta_key), "ca": ca, "insecure": ins}
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def dns(pki):
    d = tempfile.mkdtemp(prefix="ph-unbound-", dir="/tmp")
    ee_digest = spki_sha256(pki["ee"][0])
    wrong_digest = spki_sha256(pki["other"][0])
    ca_digest = cert_sha256(pki["ca"])
    soa = "@ IN SOA ns.{z}. admin.{z}. 1 3600 600 86400 300\n@ IN NS ns.{z}.\nns IN A " + DNS_ADDR + "\n"
    signed = ["$ORIGIN dane.test.", "$TTL 300", soa.format(z="dane.test")]
    for dom in ("ee", "een", "bad", "ta", "tan", "unus", "sf", "none"):
        signed.append(f"{dom} IN MX 10 mx-{dom}.dane.test.")
        signed.append(f"mx-{dom} IN A {ADDR[f'mx-{dom}.dane.test']}")
    signed.append(f"_25._tcp.mx-ee IN TLSA 3 1 1 {ee_digest}")
    signed.append(f"_25._tcp.mx-bad IN TLSA 3 1 1 {wrong_digest}")
    signed.append(f"_25._tcp.mx-een IN TLSA 3 1 1 {wrong_digest}")
    signed.append(f"_25._tcp.mx-ta IN TLSA 2 0 1 {ca_digest}")
    signed.append(f"_25._tcp.mx-tan IN TLSA 2 0 1 {ca_digest}")
    # PKIX-TA (0): unusable in SMTP (RFC 7672 3.1.3) even though it matches.
    signed.append(f"_25._tcp.mx-unus IN TLSA 0 0 1 {ca_digest}")
    signed.append(f"_25._tcp.mx-sf IN TLSA 3 1 1 {ee_digest}")
    zone = os.path.join(d, "dane.test.zone")
    with open(zone, "w") as f:
        f.write("\n".join(signed) + "\n")
    insecure = ["$ORIGIN insecure.test.", "$TTL 300", soa.format(z="insecure.test"),
                "@ IN MX 10 mx.insecure.test.", f"mx IN A {ADDR['mx.insecure.test']}",
                "bounces IN MX 10 mx.bounces.insecure.test.",
                f"mx.bounces IN A {ADDR['mx.bounces.insecure.test']}",
                # Would fail if used: insecure TLSA records must be ignored.
                f"_25._tcp.mx IN TLSA 3 1 1 {wrong_digest}"]
    with open(os.path.join(d, "insecure.test.zone"), "w") as f:
        f.write("\n".join(insecure) + "\n")
    ksk = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", "dane.test"], cwd=d,
                         check=True, capture_output=True, text=True).stdout.strip()
    zsk = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "dane.test"], cwd=d,
                         check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run(["ldns-signzone", "-n", zone, ksk, zsk], cwd=d, check=True, capture_output=True)
    # Break the signature of mx-sf's TLSA RRset: change the data, keep the RRSIG.
    with open(zone + ".signed") as f:
        text = f.read()
    text, n = re.subn(r"(_25\._tcp\.mx-sf\.dane\.test\.\s+\d+\s+IN\s+TLSA\s+3 1 1 )([0-9a-f])",
                      lambda m: m.group(1) + ("0" if m.group(2) != "0" else "1"), text)
    assert n == 1, "TLSA record of mx-sf not found in the signed zone"
    with open(zone + ".signed", "w") as f:
        f.write(text)
    shutil.copy(os.path.join(d, ksk + ".key"), os.path.join(d, "anchor.key"))
    port = udp_port(DNS_ADDR)
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  interface: {DNS_ADDR}
  port: {port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{d}"
  pidfile: ""
  use-syslog: no
  logfile: "{d}/unbound.log"
  verbosity: 1
  val-log-level: 2
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "validator iterator"
  trust-anchor-file: "{d}/anchor.key"
  local-zone: "test." nodefault
  cache-max-ttl: 5
auth-zone:
  name: "dane.test"
  zonefile: "{zone}.signed"
  for-upstream: yes
  for-downstream: no
  fallback-enabled: no
auth-zone:
  name: "insecure.test"
  zonefile: "{d}/insecure.test.zone"
  for-upstream: yes
  for-downstream: no
  fallback-enabled: no
""")
    subprocess.run(["unbound-checkconf", conf], check=True, capture_output=True)
    p = subprocess.Popen(["unbound", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(50):
        flags, status = dig_flags(DNS_ADDR, port, "ee.dane.test", "MX")
        if status == "NOERROR":
            break
        time.sleep(0.2)
    # The resolver really validates: signed data AD, unsigned not, bogus SERVFAIL.
    assert "ad" in dig_flags(DNS_ADDR, port, "_25._tcp.mx-ee.dane.test", "TLSA")[0]
    assert "ad" not in dig_flags(DNS_ADDR, port, "insecure.test", "MX")[0]
    assert dig_flags(DNS_ADDR, port, "_25._tcp.mx-sf.dane.test", "TLSA")[1] == "SERVFAIL"
    yield f"{DNS_ADDR}:{port}"
    p.terminate()
    p.wait()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def bounces():
    s = Sink(ADDR["mx.bounces.insecure.test"], 25)
    yield s
    s.close()


@pytest.fixture
def sinks():
    made = []

    def make(host, tls):
        s = Sink(ADDR[host], 25)
        s.tls = tls
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


MASTER_CF = ("qmgr unix n - n 300 1 qmgr\n"
             "pickup unix n - n 60 1 pickup\n"
             "smtp unix - - n - - smtp\n")


@pytest.fixture
def mta(instance_factory, dns, bounces):
    def make(**params):
        conf = {
            "mydestination": "posthorn.test",
            "smtp_dns_resolver_address": dns,
            "smtp_dns_support_level": "dnssec",
            "smtp_tls_security_level": "dane",
            "smtp_tls_loglevel": "1",
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
        inst.start()
        return inst

    return make


def send(inst, rcpt):
    p = inst.run([inst.program("sendmail"), "-C", inst.dir, "-f", SENDER, rcpt],
                 input="Subject: dane\n\nhello\n")
    assert p.returncode == 0, p.stdout + p.stderr


def status_line(inst, rcpt, status, timeout=30):
    m = inst.wait_log(rf"to=<{re.escape(rcpt)}>.*status={status}.*", timeout=timeout)
    return m.group(0) if hasattr(m, "group") else str(m)


def queued(inst, rcpt):
    out = inst.command("postqueue", "-p").stdout
    return rcpt in (out.decode() if isinstance(out, bytes) else out)


def test_dane_ee_match_verified(mta, sinks, pki):
    s = sinks("mx-ee.dane.test", server_ctx(*pki["ee"]))
    inst = mta()
    send(inst, "amy@ee.dane.test")
    m = status_line(inst, "amy@ee.dane.test", "sent")
    assert f"relay=mx-ee.dane.test[{ADDR['mx-ee.dane.test']}]:25" in m
    assert len(s.messages) == 1 and s.messages[0].tls
    assert re.search(r"Verified TLS connection established to mx-ee\.dane\.test\[127\.0\.79\.10\]:25: "
                     r"TLSv1\.[23] with cipher", inst.log())


def test_dane_ee_wrong_digest_defers(mta, sinks, pki):
    s = sinks("mx-bad.dane.test", server_ctx(*pki["ee"]))
    inst = mta()
    send(inst, "bob@bad.dane.test")
    m = status_line(inst, "bob@bad.dane.test", "deferred")
    assert "dsn=4.7.5" in m and "Server certificate not trusted" in m
    assert not s.messages
    assert "Verified TLS connection" not in inst.log()
    assert re.search(r"certificate verification failed for mx-bad\.dane\.test\[127\.0\.79\.11\]:25: "
                     r".*TLSA", inst.log())
    assert queued(inst, "bob@bad.dane.test")


def test_dane_ta_with_name_verified(mta, sinks, pki):
    s = sinks("mx-ta.dane.test", server_ctx(*pki["ta"]))
    inst = mta()
    send(inst, "cat@ta.dane.test")
    status_line(inst, "cat@ta.dane.test", "sent")
    assert s.messages[0].tls
    assert "Verified TLS connection established to mx-ta.dane.test[127.0.79.12]:25" in inst.log()


def test_dane_ta_name_mismatch_defers(mta, sinks, pki):
    # mx-tan's TLSA record is the same CA (2 0 1), but the CA issued the
    # peer's certificate for mx-ta.dane.test: with DANE-TA the name must be
    # the MX host (or the nexthop domain), so this is not trusted.
    s = sinks("mx-tan.dane.test", server_ctx(*pki["ta"]))
    inst = mta()
    send(inst, "dan@tan.dane.test")
    m = status_line(inst, "dan@tan.dane.test", "deferred")
    assert "Server certificate not trusted" in m
    assert not s.messages


def test_dane_ee_ignores_names(mta, sinks, pki):
    # DANE-EE: no name check (RFC 7672 3.1.1). mx-een's 3 1 1 record names
    # the key of a certificate issued to other.dane.test: still Verified.
    s = sinks("mx-een.dane.test", server_ctx(*pki["other"]))
    inst = mta()
    send(inst, "dee@een.dane.test")
    status_line(inst, "dee@een.dane.test", "sent")
    assert s.messages[0].tls
    assert "Verified TLS connection established to mx-een.dane.test[127.0.79.17]:25" in inst.log()


def test_unusable_tlsa_means_encrypt(mta, sinks, pki):
    s = sinks("mx-unus.dane.test", server_ctx(*pki["ta"]))
    inst = mta()
    send(inst, "eve@unus.dane.test")
    status_line(inst, "eve@unus.dane.test", "sent")
    assert s.messages[0].tls
    log = inst.log()
    assert "TLSA records of mx-unus.dane.test[127.0.79.13]:25 are unusable" in log
    assert "Untrusted TLS connection established to mx-unus.dane.test" in log


def test_unusable_tlsa_encrypt_needs_starttls(mta, sinks):
    s = sinks("mx-unus.dane.test", None)
    inst = mta()
    send(inst, "fay@unus.dane.test")
    m = status_line(inst, "fay@unus.dane.test", "deferred")
    assert "TLS is required, but was not offered" in m
    assert not s.messages


def test_tlsa_servfail_defers(mta, sinks, pki):
    s = sinks("mx-sf.dane.test", server_ctx(*pki["ee"]))
    inst = mta()
    send(inst, "gus@sf.dane.test")
    m = status_line(inst, "gus@sf.dane.test", "deferred")
    assert "dsn=4.7.5" in m and "TLSA lookup error for mx-sf.dane.test:25" in m
    assert not s.messages
    assert queued(inst, "gus@sf.dane.test")


def test_secure_without_tlsa_is_opportunistic(mta, sinks, pki):
    s = sinks("mx-none.dane.test", server_ctx(*pki["other"]))
    inst = mta()
    send(inst, "hal@none.dane.test")
    status_line(inst, "hal@none.dane.test", "sent")
    assert s.messages[0].tls
    assert "Untrusted TLS connection established to mx-none.dane.test" in inst.log()


def test_insecure_zone_dane_is_may(mta, sinks, pki):
    # The zone's TLSA record (a wrong digest) is insecure: ignored.
    s = sinks("mx.insecure.test", server_ctx(*pki["insecure"]))
    inst = mta()
    send(inst, "ida@insecure.test")
    status_line(inst, "ida@insecure.test", "sent")
    assert s.messages[0].tls
    assert "Untrusted TLS connection established to mx.insecure.test[127.0.79.20]:25" in inst.log()


def test_insecure_zone_plaintext_peer_with_dane(mta, sinks):
    s = sinks("mx.insecure.test", None)
    inst = mta()
    send(inst, "jon@insecure.test")
    status_line(inst, "jon@insecure.test", "sent")
    assert not s.messages[0].tls


def test_dane_only_insecure_defers(mta, sinks, pki):
    s = sinks("mx.insecure.test", server_ctx(*pki["insecure"]))
    inst = mta(smtp_tls_security_level="dane-only")
    send(inst, "kim@insecure.test")
    m = status_line(inst, "kim@insecure.test", "deferred")
    assert "dsn=4.7.5" in m
    assert "DANE TLS required, but the MX or address records of mx.insecure.test are not DNSSEC-validated" in m
    assert not s.messages
    assert queued(inst, "kim@insecure.test")


def test_dane_only_secure_match_verified(mta, sinks, pki):
    s = sinks("mx-ee.dane.test", server_ctx(*pki["ee"]))
    inst = mta(smtp_tls_security_level="dane-only")
    send(inst, "lou@ee.dane.test")
    status_line(inst, "lou@ee.dane.test", "sent")
    assert s.messages[0].tls
    assert "Verified TLS connection established to mx-ee.dane.test" in inst.log()


def test_dane_only_no_tlsa_defers(mta, sinks, pki):
    s = sinks("mx-none.dane.test", server_ctx(*pki["other"]))
    inst = mta(smtp_tls_security_level="dane-only")
    send(inst, "max@none.dane.test")
    m = status_line(inst, "max@none.dane.test", "deferred")
    assert "no TLSA records found for mx-none.dane.test" in m
    assert not s.messages


def test_policy_map_dane_per_destination(mta, sinks, pki):
    # Globally "may" (which would deliver to this peer); the policy table
    # says dane for bad.dane.test, whose TLSA record does not match.
    s = sinks("mx-bad.dane.test", server_ctx(*pki["ee"]))
    inst = mta(smtp_tls_security_level="may", smtp_tls_policy_maps="inline:{ bad.dane.test=dane }")
    send(inst, "ned@bad.dane.test")
    m = status_line(inst, "ned@bad.dane.test", "deferred")
    assert "Server certificate not trusted" in m
    assert not s.messages


def test_dane_without_dnssec_lookups_is_may(mta, sinks, pki):
    s = sinks("mx-bad.dane.test", server_ctx(*pki["ee"]))
    inst = mta(smtp_dns_support_level="enabled")
    send(inst, "olga@bad.dane.test")
    status_line(inst, "olga@bad.dane.test", "sent")
    assert s.messages[0].tls
    assert "TLS level dane needs smtp_dns_support_level = dnssec" in inst.log()
