"""The auth service's master REQUEST (Dovecot's auth cookie check), what
the root side of the imapd/pop3d login split uses so that a pre-login
process cannot make it serve a user that process did not authenticate:
raw protocol sessions with one Python socket as the auth client on
private/auth and one as the master on private/auth-userdb.
"""
import os
import socket
import subprocess
import sys

import pytest

from test_auth import AuthConn, auth_instance, auth_line, plain  # noqa: F401

ALICE_USER = ("alice@example.com\tuid=1000\tgid=1000\thome=/home/alice\t"
              "mail=maildir:~/Mail")


def client(inst, cpid):
    """An auth client connection announcing CPID cpid; (conn, cookie)."""
    c = AuthConn(inst.client_path, handshake=False)
    c.send("VERSION\t1\t2")
    c.send(f"CPID\t{cpid}")
    hs = c.read_handshake()
    cookie = [ln for ln in hs if ln.startswith("COOKIE\t")][0].split("\t")[1]
    return c, cookie


def login(c, id_, user, password="secret"):
    c.send(auth_line(id_, "PLAIN", "rip=127.0.0.1", "resp=" + plain(user, password)))
    return c.readline()


def master(inst):
    m = AuthConn(inst.userdb_path, handshake=False)
    m.send("VERSION\t1\t1")
    assert m.readline() == "VERSION\t1\t2"
    assert m.readline().startswith("SPID\t")
    return m


def test_request_answers_once(auth_instance):
    inst = auth_instance()
    c, cookie = client(inst, 4242)
    assert len(cookie) == 32 and int(cookie, 16) >= 0
    assert login(c, 7, "alice@example.com") == "OK\t7\tuser=alice@example.com"
    with master(inst) as m:
        m.send(f"REQUEST\t1\t4242\t7\t{cookie}")
        assert m.readline() == "USER\t1\t" + ALICE_USER
        # once only
        m.send(f"REQUEST\t2\t4242\t7\t{cookie}")
        assert m.readline().startswith("FAIL\t2\treason=")
    c.close()


def test_cookies_differ_per_connection(auth_instance):
    inst = auth_instance()
    cookies = set()
    for _ in range(3):
        c, cookie = client(inst, 4243)
        cookies.add(cookie)
        c.close()
    assert len(cookies) == 3


def test_request_wrong_cookie_unknown_id_other_pid(auth_instance):
    inst = auth_instance()
    c, cookie = client(inst, 5001)
    other, other_cookie = client(inst, 5002)
    assert login(c, 3, "bob@example.com") == "OK\t3\tuser=bob@example.com"
    # a request that failed leaves nothing to claim
    assert login(other, 1, "alice@example.com", "wrong").startswith("FAIL\t1")
    wrong = ("0" if cookie[0] != "0" else "1") + cookie[1:]
    mark = inst.mark()
    with master(inst) as m:
        m.send(f"REQUEST\t1\t5001\t3\t{wrong}")
        assert m.readline().startswith("FAIL\t1\treason=")
        inst.wait_log(r"REQUEST for client pid 5001 request 3: cookie mismatch", since=mark)
        # another connection's cookie is just as wrong
        m.send(f"REQUEST\t2\t5001\t3\t{other_cookie}")
        assert m.readline().startswith("FAIL\t2\t")
        m.send(f"REQUEST\t3\t5001\t4\t{cookie}")  # unknown id
        assert m.readline().startswith("FAIL\t3\t")
        m.send(f"REQUEST\t4\t5003\t3\t{cookie}")  # pid that did not log in
        assert m.readline().startswith("FAIL\t4\t")
        m.send(f"REQUEST\t5\t5002\t1\t{other_cookie}")  # its login failed
        assert m.readline().startswith("FAIL\t5\t")
        m.send("REQUEST\t6\t5001\t3\tnot-a-cookie")
        assert m.readline().startswith("FAIL\t6\t")
        # the failed attempts did not use the record up
        m.send(f"REQUEST\t7\t5001\t3\t{cookie}")
        assert m.readline() == ("USER\t7\tbob@example.com\tuid=1001\tgid=1001\t"
                                "home=/home/bob")
        m.send("REQUEST\t8\t5001")
        assert m.closed()
    c.close()
    other.close()


def test_request_after_client_disconnected(auth_instance):
    """The pre-login process is gone (plaintext hand-over) when its parent asks."""
    inst = auth_instance()
    c, cookie = client(inst, 6001)
    assert login(c, 1, "alice@example.com") == "OK\t1\tuser=alice@example.com"
    c.close()
    with master(inst) as m:
        m.send(f"REQUEST\t9\t6001\t1\t{cookie}")
        assert m.readline() == "USER\t9\t" + ALICE_USER


def test_claimed_user_is_not_what_the_master_gets(auth_instance):
    """A pre-login process that authenticated as bob and reports alice:
    the master side learns from REQUEST that the login was bob's (the
    login split refuses the mismatch), and no REQUEST yields alice."""
    inst = auth_instance()
    c, cookie = client(inst, 7001)
    assert login(c, 1, "bob@example.com") == "OK\t1\tuser=bob@example.com"
    with master(inst) as m:
        m.send(f"REQUEST\t1\t7001\t1\t{cookie}")
        reply = m.readline().split("\t")
        assert reply[:3] == ["USER", "1", "bob@example.com"]
        for i, (pid, id_) in enumerate([(7001, 1), (7001, 2), (os.getpid(), 1)], 2):
            m.send(f"REQUEST\t{i}\t{pid}\t{id_}\t{cookie}")
            assert m.readline().startswith(f"FAIL\t{i}\t")
    c.close()


def test_xrequest_refused_from_unprivileged_client(auth_instance):
    """The internal hop auth-userdb -> auth is only for our own uid."""
    inst = auth_instance()
    c, cookie = client(inst, 8001)
    assert login(c, 1, "alice@example.com") == "OK\t1\tuser=alice@example.com"
    # a client running as nobody tries to claim the record directly
    script = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])\n"
        "f=s.makefile('rb')\n"
        "s.sendall(b'VERSION\\t1\\t2\\nXREQUEST\\t8001\\t1\\t'+sys.argv[2].encode()+b'\\n')\n"
        "out=[]\n"
        "while True:\n"
        "    ln=f.readline()\n"
        "    if not ln: break\n"
        "    out.append(ln.decode().rstrip())\n"
        "print('|'.join(out))\n")
    private = os.path.dirname(inst.client_path)
    mode = os.stat(private).st_mode
    sock_mode = os.stat(inst.client_path).st_mode
    os.chmod(private, mode | 0o011)
    os.chmod(inst.client_path, sock_mode | 0o666)
    try:
        out = subprocess.run([sys.executable, "-c", script, inst.client_path, cookie],
                             capture_output=True, text=True, timeout=30,
                             user=65534, group=65534)
    finally:
        os.chmod(private, mode)
        os.chmod(inst.client_path, sock_mode)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().split("|")
    assert lines[-1] == "DONE" and not any(ln.startswith("XUSER") for ln in lines)
    inst.wait_log(r"XREQUEST from an unprivileged client")
    # the record is still there for the real master
    with master(inst) as m:
        m.send(f"REQUEST\t1\t8001\t1\t{cookie}")
        assert m.readline() == "USER\t1\t" + ALICE_USER
    c.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_imap_split_login_needs_the_auth_services_confirmation(instance_factory):
    """The root imapd serves a login only when the auth service confirms
    it with REQUEST: with an auth-userdb process that cannot reach the
    auth process (it runs as nobody), a correct password gets the
    temporary failure and a warning, never a session."""
    import imaplib
    from instance import ensure_user
    from test_imapd import PASSWORD, setup_imap
    inst = instance_factory(root=True)
    mailuser = ensure_user("phvmail")
    setup_imap(inst, uid=mailuser.pw_uid, gid=mailuser.pw_gid)
    # the normal split works (REQUEST confirmed the login) ...
    m = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=20)
    assert m.login("alice@example.com", PASSWORD)[0] == "OK"
    m.logout()
    # ... and without the confirmation nobody is served
    inst.stop()
    inst.write_master_cf("auth unix - n n - 1 auth\n"
                         "auth-userdb unix - n n - 1 auth -o auth_user=nobody\n"
                         f"127.0.0.1:{inst.imap_port} inet n - n - 20 imapd\n")
    inst.start()
    mark = inst.mark()
    m = imaplib.IMAP4("127.0.0.1", inst.imap_port, timeout=20)
    with pytest.raises(imaplib.IMAP4.error) as e:
        m.login("alice@example.com", PASSWORD)
    assert "[UNAVAILABLE] Internal error occurred. Refer to server log." in str(e.value)
    inst.wait_log(r"auth master .*REQUEST", since=mark)
    inst.wait_log(r"alice@example.com: login refused: .*auth service unavailable", since=mark)
