"""imapd mail_max_userip_connections: sessions per (user, client address)
are counted by anvil; one over the limit gets NO [UNAVAILABLE], is
logged, and a slot frees when a session ends (however it ends)."""
import imaplib
import os
import time

from test_imapd import PASSWORD


def start_imap(instance, limit):
    home = os.path.join(instance.dir, "home", "alice")
    os.makedirs(home)
    os.chown(home, instance.uid, instance.gid)
    users = os.path.join(instance.dir, "users")
    with open(users, "w") as f:
        for u in ("alice", "bob"):
            f.write(f"{u}@example.com:{{PLAIN}}{PASSWORD}:{instance.uid}:{instance.gid}::{home}::\n")
    port = instance.free_port()
    instance.write_main_cf({
        "auth_passdb": f"passwd-file:{users}",
        "auth_userdb": f"passwd-file:{users}",
        "auth_failure_delay": "0",
        "mail_location": "maildir:~/Maildir",
        "mail_max_userip_connections": str(limit),
    })
    instance.write_master_cf("auth unix - n n - 1 auth\n"
                             "auth-userdb unix - n n - 1 auth\n"
                             "anvil unix - n n - 1 anvil\n"
                             f"127.0.0.1:{port} inet n - n - 20 imapd\n")
    instance.start()
    instance.wait_for(lambda: os.path.exists(os.path.join(instance.queue, "private", "anvil")),
                      what="anvil socket")
    return port


def login(port, user="alice@example.com"):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=20)
    return m, m.login(user, PASSWORD)


def test_userip_limit(instance):
    port = start_imap(instance, 2)
    mark = instance.mark()
    a, r1 = login(port)
    b, r2 = login(port)
    assert r1[0] == "OK" and r2[0] == "OK"
    c = imaplib.IMAP4("127.0.0.1", port, timeout=20)
    try:
        c.login("alice@example.com", PASSWORD)
        raise AssertionError("third login accepted")
    except imaplib.IMAP4.error as e:
        assert ("[UNAVAILABLE] Maximum number of connections from user+IP exceeded "
                "(mail_max_userip_connections=2)") in str(e)
    # the session goes on (not authenticated): a NOOP still works
    assert c.noop()[0] == "OK"
    instance.wait_log(r"alice@example.com: login refused: Maximum number of connections "
                      r"from user\+IP exceeded \(mail_max_userip_connections=2\), rip=127\.0\.0\.1",
                      since=mark)
    # another user from the same address is counted separately
    d, r4 = login(port, "bob@example.com")
    assert r4[0] == "OK"
    d.logout()
    # a session that ends frees its slot (LOGOUT)
    a.logout()
    e, r5 = login(port)
    assert r5[0] == "OK"
    # ... and so does one whose connection just drops
    b.shutdown()
    deadline = time.time() + 10
    while True:
        f = imaplib.IMAP4("127.0.0.1", port, timeout=20)
        try:
            f.login("alice@example.com", PASSWORD)
            break
        except imaplib.IMAP4.error:
            f.shutdown()
            assert time.time() < deadline, "slot never freed"
            time.sleep(0.2)
    c.logout()
    e.logout()
    f.logout()


def test_userip_unlimited(instance):
    port = start_imap(instance, 0)
    sessions = [login(port) for _ in range(4)]
    assert all(r[0] == "OK" for _m, r in sessions)
    for m, _r in sessions:
        m.logout()
