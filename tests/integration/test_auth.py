"""The auth service end to end: raw Dovecot-protocol sessions against an
instance running `auth` on private/auth and private/auth-userdb, the
failure delay, blocking, fail2ban's stock dovecot filter on our log, our
auth_client (tests/services/authcli) against the service and against a
real Dovecot, and Debian's Postfix smtpd authenticating through our socket.
"""
import base64
import os
import shutil
import socket
import subprocess
import time

import pytest

from dovecot_auth import private_dovecot_auth
from instance import BUILD

USERS = """\
# test users
alice@example.com:{PLAIN}secret:1000:1000::/home/alice::userdb_mail=maildir:~/Mail
bob@example.com:{SHA512-CRYPT}$6$tdypu6k5qhyTl5NG$USSw8BxdLoJNkE6Dchc8F6IJduWyCTn8KVo8F8DJ52qg2U5eIDGigyTe3./c/iJMAexxEkAtXjiMNcnfszjwl0:1001:1001::/home/bob
carol@example.com:{SSHA256}7s4X1Bf8FA5/Sm1BXY2oP65bWmDq2g2RRoA03d+s3cuQneWH:1002:1002::/home/carol
broken line without colons but with spaces
dave@example.com:{NOSUCH}x:1003:1003::/home/dave
"""
# bob's and carol's hashes are `doveadm pw -p secret` output (SHA512-CRYPT, SSHA256)

AUTH_MASTER_CF = ("auth unix - n n - 1 auth\n"
                  "auth-userdb unix - n n - 1 auth\n")


def b64(data):
    return base64.b64encode(data).decode()


def plain(user, password, authzid=""):
    return b64(f"{authzid}\0{user}\0{password}".encode())


class AuthConn:
    """A raw Dovecot-protocol connection to a UNIX socket."""

    def __init__(self, path, handshake=True, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")
        self.server_hs = []
        if handshake:
            self.send("VERSION\t1\t2")
            self.send(f"CPID\t{os.getpid()}")

    def read_handshake(self, end="DONE"):
        while True:
            line = self.readline()
            assert line is not None, f"closed during handshake: {self.server_hs}"
            self.server_hs.append(line)
            if line.split("\t")[0] == end:
                return self.server_hs

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def send_raw(self, data):
        self.sock.sendall(data)

    def readline(self):
        line = self.file.readline()
        if not line:
            return None
        return line.decode("utf-8", "replace").rstrip("\n")

    def closed(self, max_lines=100):
        """True when the server closes the connection (EOF) within
        max_lines further lines."""
        try:
            for _ in range(max_lines):
                if self.file.readline() == b"":
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        return False

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def auth_instance(instance):
    """An instance with auth + auth-userdb; returns a setup function."""

    def setup(main_cf=None, users=USERS, raw=""):
        users_path = os.path.join(instance.dir, "users")
        with open(users_path, "w") as f:
            f.write(users)
        params = {
            "auth_passdb": f"passwd-file:{users_path}",
            "auth_userdb": f"passwd-file:{users_path}, static:uid=5000 gid=5000 "
                           "home=/var/vmail/%d/%n",
            "auth_failure_delay": "0",
            "disable_plaintext_auth": "yes",
        }
        params.update(main_cf or {})
        instance.write_main_cf(params, raw=raw)
        instance.write_master_cf(AUTH_MASTER_CF)
        instance.start()
        instance.client_path = os.path.join(instance.queue, "private", "auth")
        instance.userdb_path = os.path.join(instance.queue, "private", "auth-userdb")
        instance.wait_for(lambda: os.path.exists(instance.client_path), what="auth socket")
        return instance

    return setup


def auth_session(inst):
    c = AuthConn(inst.client_path)
    c.read_handshake()
    return c


def auth_line(id_, mech, *extra):
    return "\t".join(["AUTH", str(id_), mech, "service=smtp"] + list(extra))


# --------------------------------------------------------------------------
# client protocol

def test_handshake(auth_instance):
    inst = auth_instance()
    with AuthConn(inst.client_path) as c:
        hs = c.read_handshake()
    assert hs[0] == "VERSION\t1\t2"
    assert "MECH\tPLAIN\tplaintext" in hs and "MECH\tLOGIN\tplaintext" in hs
    kinds = [line.split("\t")[0] for line in hs]
    assert kinds[-1] == "DONE"
    assert {"SPID", "CUID", "COOKIE"} <= set(kinds)
    cookie = [line for line in hs if line.startswith("COOKIE\t")][0].split("\t")[1]
    assert len(cookie) == 32 and int(cookie, 16) >= 0
    # the passwd-file's bad lines were reported with file:line
    inst.wait_log(r"users:5: white space or control character in user name")


def test_plain_ok_wrong_and_normalised(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain("alice@example.com", "secret")))
        assert c.readline() == "OK\t1\tuser=alice@example.com"
        # auth_username_format = %Lu folds case
        c.send(auth_line(2, "PLAIN", "rip=127.0.0.1", "resp=" + plain("Alice@EXAMPLE.com", "secret")))
        assert c.readline() == "OK\t2\tuser=alice@example.com"
        c.send(auth_line(3, "PLAIN", "rip=127.0.0.1", "resp=" + plain("alice@example.com", "wrong")))
        assert c.readline() == "FAIL\t3\tuser=alice@example.com"
        c.send(auth_line(4, "PLAIN", "rip=127.0.0.1", "resp=" + plain("nobody@example.com", "x")))
        assert c.readline() == "FAIL\t4\tuser=nobody@example.com"
        # crypt and salted-digest hashes made by Dovecot's doveadm pw
        c.send(auth_line(5, "plain", "rip=127.0.0.1", "resp=" + plain("bob@example.com", "secret")))
        assert c.readline() == "OK\t5\tuser=bob@example.com"
        c.send(auth_line(6, "PLAIN", "rip=127.0.0.1", "resp=" + plain("carol@example.com", "secret")))
        assert c.readline() == "OK\t6\tuser=carol@example.com"
        # an unknown scheme in the file is a temporary failure, not a crash
        c.send(auth_line(7, "PLAIN", "rip=127.0.0.1", "resp=" + plain("dave@example.com", "x")))
        reply = c.readline()
        assert reply.startswith("FAIL\t7\t") and reply.endswith("\ttemp"), reply
    log = inst.wait_log(r"passwd-file\(alice@example.com,127.0.0.1\): Password mismatch")
    assert log
    inst.wait_log(r"passwd-file\(nobody@example.com,127.0.0.1\): unknown user")
    assert "secret" not in inst.log() and "wrong" not in inst.log()


def test_plain_without_initial_response_and_authzid(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=::1"))
        assert c.readline() == "CONT\t1\t"
        c.send("CONT\t1\t" + plain("alice@example.com", "secret"))
        assert c.readline() == "OK\t1\tuser=alice@example.com"
        # authzid equal to authcid is fine, a different one is refused
        c.send(auth_line(2, "PLAIN", "rip=::1",
                         "resp=" + plain("alice@example.com", "secret", "alice@example.com")))
        assert c.readline() == "OK\t2\tuser=alice@example.com"
        c.send(auth_line(3, "PLAIN", "rip=::1",
                         "resp=" + plain("alice@example.com", "secret", "bob@example.com")))
        assert c.readline().startswith("FAIL\t3\treason=")
        # malformed PLAIN (one NUL) fails the request, connection stays
        c.send(auth_line(4, "PLAIN", "rip=::1", "resp=" + b64(b"alice\0secret")))
        assert c.readline().startswith("FAIL\t4\t")
        c.send(auth_line(5, "PLAIN", "rip=::1", "resp=!!notbase64"))
        assert c.readline().startswith("FAIL\t5\treason=")
        c.send(auth_line(6, "PLAIN", "rip=::1", "resp=" + plain("alice@example.com", "secret")))
        assert c.readline() == "OK\t6\tuser=alice@example.com"


def test_login_mechanism(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send(auth_line(1, "LOGIN", "secured"))
        assert c.readline() == "CONT\t1\t" + b64(b"Username:")
        c.send("CONT\t1\t" + b64(b"bob@example.com"))
        assert c.readline() == "CONT\t1\t" + b64(b"Password:")
        c.send("CONT\t1\t" + b64(b"secret"))
        assert c.readline() == "OK\t1\tuser=bob@example.com"
        # initial response = user name
        c.send(auth_line(2, "LOGIN", "secured", "resp=" + b64(b"bob@example.com")))
        assert c.readline() == "CONT\t2\t" + b64(b"Password:")
        c.send("CONT\t2\t" + b64(b"nope"))
        assert c.readline() == "FAIL\t2\tuser=bob@example.com"


def test_cancel_and_unknown_mechanism(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send(auth_line(1, "LOGIN", "secured"))
        assert c.readline().startswith("CONT\t1\t")
        c.send("CANCEL\t1")
        c.send(auth_line(2, "CRAM-MD5", "secured"))
        assert c.readline() == "FAIL\t2\treason=Unsupported authentication mechanism"
        # the cancelled request is gone: CONT for it is a protocol error
        c.send("CONT\t1\t" + b64(b"x"))
        assert c.closed()
    inst.wait_log(r"protocol error: CONT for a request that is not waiting")


def test_plaintext_refused_without_tls(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        resp = "resp=" + plain("alice@example.com", "secret")
        c.send(auth_line(1, "PLAIN", "rip=192.0.2.7", "lip=192.0.2.1", resp))
        assert c.readline().startswith("FAIL\t1\treason=Plaintext authentication")
        c.send(auth_line(2, "PLAIN", resp))       # no rip: not local either
        assert c.readline().startswith("FAIL\t2\treason=Plaintext authentication")
        c.send(auth_line(3, "PLAIN", "rip=192.0.2.7", "secured", resp))
        assert c.readline() == "OK\t3\tuser=alice@example.com"
        c.send(auth_line(4, "PLAIN", "rip=192.0.2.7", "lip=192.0.2.7", resp))
        assert c.readline() == "OK\t4\tuser=alice@example.com"


def test_plaintext_allowed_when_configured(auth_instance):
    inst = auth_instance({"disable_plaintext_auth": "no"})
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=192.0.2.7", "resp=" + plain("alice@example.com", "secret")))
        assert c.readline() == "OK\t1\tuser=alice@example.com"


@pytest.mark.parametrize("bad", [
    b"AUTH\t1\tPLAIN\tservice=smtp\n",           # before VERSION
    b"VERSION\t2\t0\n",                           # wrong major
    b"VERSION\t1\t2\nHELLO\n",                    # unknown command
    b"VERSION\t1\t2\nAUTH\tx\tPLAIN\tservice=smtp\n",   # bad id
    b"VERSION\t1\t2\nAUTH\t0\tPLAIN\tservice=smtp\n",   # id 0
    b"VERSION\t1\t2\nAUTH\t1\tPLAIN\n",           # no service
    b"VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\trip=not-an-ip\n",
    b"VERSION\t1\t2\nAUTH\t1\tLOGIN\tservice=smtp\tsecured\nAUTH\t1\tLOGIN\tservice=smtp\tsecured\n",
    b"VERSION\t1\t2\nCONT\t7\tAAAA\n",
    b"VERSION\t1\t2\nAUTH\t1\tPLAIN\tservice=smtp\tresp=\x010\n",   # escaped NUL
    b"VERSION\t1\t2\n" + b"A" * 20000 + b"\n",    # overlong line
    b"VERSION\t1\t2\n" + b"B" * 20000,            # overlong without LF
])
def test_malformed_input_disconnects(auth_instance, bad):
    inst = auth_instance()
    with AuthConn(inst.client_path, handshake=False) as c:
        c.read_handshake()
        c.send_raw(bad)
        assert c.closed()
    # the service survives and still answers
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain("alice@example.com", "secret")))
        assert c.readline() == "OK\t1\tuser=alice@example.com"
    assert "panic" not in inst.log()
    assert "signal" not in inst.log()


def test_many_requests_in_flight_are_bounded(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send_raw(b"".join((auth_line(i, "LOGIN", "secured") + "\n").encode()
                            for i in range(1, 66)))
        got = 0
        while c.readline() is not None:
            got += 1
        assert got == 64     # 64 CONT replies, then the 65th request closes
    inst.wait_log(r"too many requests in flight")


# --------------------------------------------------------------------------
# delay and blocking

def test_failure_delay_does_not_block_others(auth_instance):
    inst = auth_instance({"auth_failure_delay": "2s"})
    with auth_session(inst) as bad, auth_session(inst) as good:
        t0 = time.monotonic()
        bad.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain("alice@example.com", "x")))
        time.sleep(0.2)
        good.send(auth_line(1, "PLAIN", "rip=127.0.0.2", "resp=" + plain("bob@example.com", "secret")))
        assert good.readline() == "OK\t1\tuser=bob@example.com"
        t_good = time.monotonic() - t0
        assert bad.readline() == "FAIL\t1\tuser=alice@example.com"
        t_bad = time.monotonic() - t0
    assert t_good < 1.5, t_good
    assert 1.9 <= t_bad < 4.0, t_bad


def test_failure_delay_connection_closed_meanwhile(auth_instance):
    inst = auth_instance({"auth_failure_delay": "1s"})
    c = auth_session(inst)
    c.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain("alice@example.com", "x")))
    c.close()           # the pending FAIL timer must not touch the freed request
    time.sleep(1.5)
    with auth_session(inst) as c2:
        c2.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain("alice@example.com", "secret")))
        assert c2.readline() == "OK\t1\tuser=alice@example.com"
    assert "panic" not in inst.log()


def test_block_after_failures(auth_instance):
    inst = auth_instance({"auth_failure_limit": "3", "auth_failure_window": "10m"})
    with auth_session(inst) as c:
        for i in range(1, 4):
            c.send(auth_line(i, "PLAIN", "rip=127.0.0.9", "resp=" + plain("alice@example.com", "bad")))
            assert c.readline() == f"FAIL\t{i}\tuser=alice@example.com"
        # now even the right password fails, temporarily, from that address
        c.send(auth_line(4, "PLAIN", "rip=127.0.0.9", "resp=" + plain("alice@example.com", "secret")))
        reply = c.readline()
        assert reply.startswith("FAIL\t4\tuser=alice@example.com\treason=") and reply.endswith("\ttemp")
        # ... and for that user from another address
        c.send(auth_line(5, "PLAIN", "rip=127.0.0.10", "resp=" + plain("alice@example.com", "secret")))
        assert c.readline().endswith("\ttemp")
        # ... and for another user from the blocked address
        c.send(auth_line(6, "PLAIN", "rip=127.0.0.9", "resp=" + plain("bob@example.com", "secret")))
        assert c.readline().endswith("\ttemp")
        # another user from another address is unaffected
        c.send(auth_line(7, "PLAIN", "rip=127.0.0.11", "resp=" + plain("bob@example.com", "secret")))
        assert c.readline() == "OK\t7\tuser=bob@example.com"
    inst.wait_log(r"penalty\(alice@example.com,127.0.0.9\): 3 failures: blocking for 600s")
    inst.wait_log(r"penalty\(alice@example.com,127.0.0.9\): blocked")


def test_success_resets_counter(auth_instance):
    inst = auth_instance({"auth_failure_limit": "3"})
    with auth_session(inst) as c:
        n = 0
        for _ in range(3):
            for _ in range(2):
                n += 1
                c.send(auth_line(n, "PLAIN", "rip=127.0.0.5", "resp=" + plain("alice@example.com", "bad")))
                assert c.readline().startswith(f"FAIL\t{n}\t")
            n += 1
            c.send(auth_line(n, "PLAIN", "rip=127.0.0.5", "resp=" + plain("alice@example.com", "secret")))
            assert c.readline() == f"OK\t{n}\tuser=alice@example.com"


# --------------------------------------------------------------------------
# fail2ban

def fail2ban_regex(logfile):
    if shutil.which("fail2ban-regex") is None or not os.path.exists(
            "/etc/fail2ban/filter.d/dovecot.conf"):
        pytest.skip("fail2ban is not installed")
    p = subprocess.run(["fail2ban-regex", "-o", "<ip>", logfile,
                        "/etc/fail2ban/filter.d/dovecot.conf"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [line.strip() for line in p.stdout.splitlines() if line.strip()]


def test_fail2ban_stock_dovecot_filter(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=192.0.2.10", "secured",
                         "resp=" + plain("alice@example.com", "bad")))
        assert c.readline().startswith("FAIL\t1\t")
        c.send(auth_line(2, "PLAIN", "rip=192.0.2.11", "secured",
                         "resp=" + plain("ghost@example.com", "bad")))
        assert c.readline().startswith("FAIL\t2\t")
        c.send(auth_line(3, "PLAIN", "rip=2001:db8::12", "secured",
                         "resp=" + plain("alice@example.com", "bad")))
        assert c.readline().startswith("FAIL\t3\t")
        # a user name crafted to make the filter read another address
        c.send(auth_line(4, "PLAIN", "rip=192.0.2.13", "secured",
                         "resp=" + plain("x,198.51.100.66", "bad")))
        assert c.readline().startswith("FAIL\t4\t")
        # a success is not a failure
        c.send(auth_line(5, "PLAIN", "rip=192.0.2.14", "secured",
                         "resp=" + plain("alice@example.com", "secret")))
        assert c.readline().startswith("OK\t5\t")
    inst.wait_log(r"192\.0\.2\.13\): unknown user")
    ips = fail2ban_regex(inst.maillog)
    assert sorted(ips) == sorted(["192.0.2.10", "192.0.2.11", "2001:db8::12", "192.0.2.13"]), ips


# --------------------------------------------------------------------------
# userdb

def userdb_session(inst):
    c = AuthConn(inst.userdb_path, handshake=False)
    c.send("VERSION\t1\t1")
    assert c.readline() == "VERSION\t1\t2"
    assert c.readline().startswith("SPID\t")
    return c


def test_userdb_lookups(auth_instance):
    inst = auth_instance()
    with userdb_session(inst) as c:
        c.send("USER\t1\talice@example.com\tservice=lmtp")
        assert c.readline() == ("USER\t1\talice@example.com\tuid=1000\tgid=1000\t"
                                "home=/home/alice\tmail=maildir:~/Mail")
        c.send("USER\t2\tBOB@example.com\tservice=imap")
        assert c.readline() == "USER\t2\tbob@example.com\tuid=1001\tgid=1001\thome=/home/bob"
        # not in the file, not in any passdb: static does not invent users
        c.send("USER\t3\tnobody@example.org\tservice=lmtp")
        assert c.readline() == "NOTFOUND\t3"
        c.send("PASS\t4\talice@example.com")
        assert c.readline().startswith("FAIL\t4\treason=")
        c.send("USER\tzz\tx")
        assert c.closed()


def test_userdb_static_fallback(auth_instance):
    users = USERS + "erin@example.net:{PLAIN}pw\n"
    inst = auth_instance(users=users)
    # erin has no uid in the file: passwd-file answers without uid/gid
    # (the first userdb that knows the user decides; static is not asked)
    with userdb_session(inst) as c:
        c.send("USER\t1\terin@example.net")
        line = c.readline()
    assert line == "USER\t1\terin@example.net", line


def test_userdb_static_only(auth_instance):
    inst = auth_instance({"auth_userdb": "static:uid=5000 gid=5000 home=/var/vmail/%d/%n"})
    with userdb_session(inst) as c:
        c.send("USER\t1\tAlice@Example.com")
        assert c.readline() == ("USER\t1\talice@example.com\tuid=5000\tgid=5000\t"
                                "home=/var/vmail/example.com/alice")
        c.send("USER\t2\tnobody@example.com")
        assert c.readline() == "NOTFOUND\t2"


def test_passwd_file_reloaded_when_changed(auth_instance):
    inst = auth_instance()
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain("frank@example.com", "pw")))
        assert c.readline().startswith("FAIL\t1\t")
        path = os.path.join(inst.dir, "users")
        with open(path, "a") as f:
            f.write("frank@example.com:{PLAIN}pw:1010:1010::/home/frank\n")
        c.send(auth_line(2, "PLAIN", "rip=127.0.0.1", "resp=" + plain("frank@example.com", "pw")))
        assert c.readline() == "OK\t2\tuser=frank@example.com"
    inst.wait_log(r"passwd-file .*users: reloaded")


def test_bad_configuration_refuses_to_start(auth_instance, instance):
    instance.write_main_cf({"auth_passdb": "ldap:/etc/x", "auth_userdb": "system"})
    instance.write_master_cf(AUTH_MASTER_CF)
    instance.start()
    path = os.path.join(instance.queue, "private", "auth")
    instance.wait_for(lambda: os.path.exists(path), what="auth socket")
    try:
        with AuthConn(path, handshake=False, timeout=3) as c:
            assert c.readline() is None
    except OSError:
        pass
    instance.wait_log(r'fatal: auth_passdb: unsupported passdb type "ldap"')


# --------------------------------------------------------------------------
# our client library

def authcli(*args):
    p = subprocess.run([os.path.join(BUILD, "tests", "authcli"), *args],
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout.strip().splitlines()


def test_auth_client_against_our_service(auth_instance):
    inst = auth_instance()
    rc, out = authcli("auth", inst.client_path, "PLAIN", "alice@example.com", "secret", "127.0.0.1")
    assert (rc, out) == (0, ["MECHS PLAIN LOGIN", "OK alice@example.com"])
    rc, out = authcli("auth", inst.client_path, "LOGIN", "bob@example.com", "secret", "192.0.2.1",
                      "secured")
    assert (rc, out[-1]) == (0, "OK bob@example.com")
    rc, out = authcli("auth", inst.client_path, "PLAIN", "alice@example.com", "no", "127.0.0.1")
    assert (rc, out[-1]) == (1, "FAIL")
    rc, out = authcli("user", inst.userdb_path, "alice@example.com")
    assert (rc, out) == (0, ["USER alice@example.com 1000 1000 /home/alice mail=maildir:~/Mail"])
    rc, out = authcli("user", inst.userdb_path, "nobody@example.org")
    assert (rc, out) == (1, ["NOTFOUND"])
    rc, out = authcli("auth", os.path.join(inst.dir, "nonexistent"), "PLAIN", "a", "b")
    assert rc == 2 and out[0].startswith("ERROR connect to")


@pytest.fixture
def dovecot():
    """A private Debian Dovecot with passwd-file users, auth sockets only."""
    with private_dovecot_auth("alice@example.com:{PLAIN}secret:1000:1000::/home/alice::userdb_mail=maildir:~/M\n") as d:
        yield d


def test_auth_client_against_real_dovecot(dovecot):
    sock = os.path.join(dovecot, "auth-client")
    rc, out = authcli("auth", sock, "PLAIN", "alice@example.com", "secret", "127.0.0.1")
    assert (rc, out) == (0, ["MECHS PLAIN LOGIN", "OK alice@example.com"])
    rc, out = authcli("auth", sock, "LOGIN", "alice@example.com", "secret", "192.0.2.1", "secured")
    assert (rc, out[-1]) == (0, "OK alice@example.com")
    rc, out = authcli("auth", sock, "PLAIN", "alice@example.com", "wrong", "127.0.0.1")
    assert rc == 1 and out[-1].startswith("FAIL")
    rc, out = authcli("user", os.path.join(dovecot, "auth-userdb"), "alice@example.com")
    assert (rc, out) == (0, ["USER alice@example.com 1000 1000 /home/alice mail=maildir:~/M"])
    rc, out = authcli("user", os.path.join(dovecot, "auth-userdb"), "bob@example.com")
    assert (rc, out) == (1, ["NOTFOUND"])


# --------------------------------------------------------------------------
# Debian's Postfix smtpd using our auth socket

POSTFIX_SMTPD = "/usr/lib/postfix/sbin/smtpd"


def test_postfix_smtpd_uses_our_auth(auth_instance):
    if not os.path.exists(POSTFIX_SMTPD) or shutil.which("swaks") is None:
        pytest.skip("Debian's postfix or swaks is not installed")
    if os.geteuid() != 0:
        pytest.skip("Postfix's smtpd needs root to start")
    inst = auth_instance()
    # a minimal Postfix configuration whose smtpd (run per connection in
    # stand-alone mode, -S) asks our auth service
    pf = os.path.join(inst.dir, "postfix")
    os.makedirs(os.path.join(pf, "queue", "pid"))
    with open(os.path.join(pf, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {pf}/queue
data_directory = {pf}/data
mail_owner = {inst.mail_owner}
myhostname = postfix.test
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {inst.client_path}
smtpd_tls_security_level = none
local_recipient_maps =
alias_maps =
mydestination =
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
""")
    with open(os.path.join(pf, "master.cf"), "w") as f:
        f.write("smtp inet n - n - - smtpd\n")
    for dirpath, dirnames, filenames in os.walk(pf):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in filenames]:
            os.chown(name, inst.uid, inst.gid)
    port = inst.free_port()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(5)
    procs = []

    def serve_one():
        conn, _ = lsock.accept()
        # with a socket on stdin, smtpd insists on running as mail_owner
        p = subprocess.Popen(inst.as_user([POSTFIX_SMTPD, "-S", "-n", "smtp", "-t", "inet"]),
                             stdin=conn.fileno(), stdout=conn.fileno(),
                             stderr=subprocess.DEVNULL, env=dict(os.environ, MAIL_CONFIG=pf))
        conn.close()
        procs.append(p)

    import threading

    def run_swaks(user, password):
        t = threading.Thread(target=serve_one)
        t.start()
        p = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port),
                            "--auth", "PLAIN", "--auth-user", user, "--auth-password", password,
                            "--quit-after", "AUTH", "--timeout", "20"],
                           env=dict(os.environ, MAIL_CONFIG=pf),
                           capture_output=True, text=True, timeout=60)
        t.join(timeout=30)
        return p

    try:
        ok = run_swaks("alice@example.com", "secret")
        assert "235 2.7.0 Authentication successful" in ok.stdout, ok.stdout + ok.stderr
        bad = run_swaks("alice@example.com", "wrong")
        assert "535 5.7.8" in bad.stdout, bad.stdout + bad.stderr
    finally:
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        lsock.close()
    inst.wait_log(r"passwd-file\(alice@example.com,127.0.0.1\): Password mismatch")


# --------------------------------------------------------------------------
# posthorn pw (auth_pw_command, driven through authcli pw)

@pytest.mark.parametrize("scheme", ["SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT",
                                    "SSHA256", "SSHA512", "SHA256", "SHA512", "PLAIN"])
def test_pw_hashes_verify_with_doveadm(scheme):
    rc, out = authcli("pw", "-s", scheme, "-p", "correct horse")
    assert rc == 0 and len(out) == 1 and out[0].startswith("{" + scheme + "}"), out
    rc2, out2 = authcli("pw", "-t", out[0], "-p", "correct horse")
    assert (rc2, out2) == (0, [out[0] + " (verified)"])
    rc2, out2 = authcli("pw", "-t", out[0], "-p", "correct horse!")
    assert (rc2, out2) == (1, [out[0] + " (mismatch)"])
    if shutil.which("doveadm") is None:
        pytest.skip("doveadm (dovecot-core) is not installed")
    p = subprocess.run(["doveadm", "pw", "-t", out[0], "-p", "correct horse"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and "(verified)" in p.stdout, p.stdout + p.stderr
    # and the other way round
    p = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", "battery staple"],
                       capture_output=True, text=True, timeout=30)
    rc, out = authcli("pw", "-t", p.stdout.strip(), "-p", "battery staple")
    assert rc == 0 and out[0].endswith("(verified)"), out


def test_pw_prompts_twice():
    exe = os.path.join(BUILD, "tests", "authcli")
    p = subprocess.run([exe, "pw", "-s", "SSHA256"], input="s3cret\ns3cret\n",
                       capture_output=True, text=True, timeout=30, start_new_session=True)
    assert p.returncode == 0 and p.stdout.startswith("{SSHA256}"), p.stdout + p.stderr
    p = subprocess.run([exe, "pw"], input="s3cret\nother\n",
                       capture_output=True, text=True, timeout=30, start_new_session=True)
    assert p.returncode == 1 and "passwords don't match" in p.stderr and p.stdout == ""
    p = subprocess.run([exe, "pw", "-s", "NOSUCH", "-p", "x"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 1 and "unknown password scheme" in p.stderr


# --------------------------------------------------------------------------
# system accounts (needs root: the service must read /etc/shadow)

SYS_USER = "phauthsys"


@pytest.fixture
def system_user():
    if os.geteuid() != 0:
        pytest.skip("system passdb test needs root")
    subprocess.run(["userdel", "-r", SYS_USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-d", f"/home/{SYS_USER}", "-s", "/usr/sbin/nologin",
                    SYS_USER], check=True)
    subprocess.run(["chpasswd"], input=f"{SYS_USER}:sys-pass-1\n", text=True, check=True)
    import pwd
    yield pwd.getpwnam(SYS_USER)
    subprocess.run(["userdel", SYS_USER], capture_output=True)


def test_system_passdb_and_userdb(instance_factory, system_user):
    inst = instance_factory(root=True)
    inst.write_main_cf({"auth_passdb": "system", "auth_userdb": "system",
                        "auth_failure_delay": "0", "first_valid_uid": "1000"})
    inst.write_master_cf(AUTH_MASTER_CF)
    inst.start()
    inst.client_path = os.path.join(inst.queue, "private", "auth")
    inst.userdb_path = os.path.join(inst.queue, "private", "auth-userdb")
    inst.wait_for(lambda: os.path.exists(inst.client_path), what="auth socket")
    with auth_session(inst) as c:
        c.send(auth_line(1, "PLAIN", "rip=127.0.0.1", "resp=" + plain(SYS_USER, "sys-pass-1")))
        assert c.readline() == f"OK\t1\tuser={SYS_USER}"
        c.send(auth_line(2, "PLAIN", "rip=127.0.0.1", "resp=" + plain(SYS_USER, "sys-pass-2")))
        assert c.readline() == f"FAIL\t2\tuser={SYS_USER}"
        # uid 0 is below first_valid_uid: root is not a login, whatever it sends
        c.send(auth_line(3, "PLAIN", "rip=127.0.0.1", "resp=" + plain("root", "x")))
        assert c.readline() == "FAIL\t3\tuser=root"
    inst.wait_log(rf"system\({SYS_USER},127.0.0.1\): Password mismatch")
    inst.wait_log(r"system\(root,127.0.0.1\): unknown user")
    with userdb_session(inst) as c:
        c.send(f"USER\t1\t{SYS_USER}\tservice=imap")
        assert c.readline() == (f"USER\t1\t{SYS_USER}\tuid={system_user.pw_uid}\t"
                                f"gid={system_user.pw_gid}\thome=/home/{SYS_USER}")
        c.send("USER\t2\troot\tservice=imap")
        assert c.readline().startswith("FAIL\t2\treason=uid outside")
