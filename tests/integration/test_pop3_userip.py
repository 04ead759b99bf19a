"""pop3d mail_max_userip_connections: sessions per (user, client address)
are counted by anvil (as pop3-userip, apart from IMAP's count); one over
the limit gets -ERR [IN-USE] with Dovecot's text, is logged, and the slot
frees when the session ends."""
import imaplib
import os
import poplib
import time

import pytest

from test_imapd import PASSWORD


def start(instance, limit, uid=None, gid=None):
    uid = instance.uid if uid is None else uid
    gid = instance.gid if gid is None else gid
    home = os.path.join(instance.dir, "home", "alice")
    os.makedirs(home)
    os.chown(home, uid, gid)
    users = os.path.join(instance.dir, "users")
    with open(users, "w") as f:
        for u in ("alice", "bob"):
            h = os.path.join(instance.dir, "home", u)
            os.makedirs(h, exist_ok=True)
            os.chown(h, uid, gid)
            f.write(f"{u}@example.com:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{h}::\n")
    pop, imap = instance.free_ports(2)
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
                             f"127.0.0.1:{pop} inet n - n - 20 pop3d\n"
                             f"127.0.0.1:{imap} inet n - n - 20 imapd\n")
    instance.start()
    instance.wait_for(lambda: os.path.exists(os.path.join(instance.queue, "private", "anvil")),
                      what="anvil socket")
    return pop, imap


def pop_login(port, user="alice@example.com"):
    p = poplib.POP3("127.0.0.1", port, timeout=20)
    p.user(user)
    p.pass_(PASSWORD)
    return p


@pytest.mark.parametrize("root", [False, True])
def test_pop3_userip_limit(instance_factory, root):
    """Also on a root instance, where the session runs as the mail user,
    who cannot reach private/anvil: the count must still work (the
    connection to anvil is made before root is given up)."""
    if root and os.geteuid() != 0:
        pytest.skip("needs root")
    instance = instance_factory(root=root)
    if root:
        from instance import ensure_user
        mailuser = ensure_user("phvmail")
        pop, imap = start(instance, 1, mailuser.pw_uid, mailuser.pw_gid)
    else:
        pop, imap = start(instance, 1)
    mark = instance.mark()
    a = pop_login(pop)
    b = poplib.POP3("127.0.0.1", pop, timeout=20)
    b.user("alice@example.com")
    with pytest.raises(poplib.error_proto) as e:
        b.pass_(PASSWORD)
    assert ("-ERR [IN-USE] Maximum number of connections from user+IP exceeded "
            "(mail_max_userip_connections=1)") in str(e.value)
    instance.wait_log(r"alice@example.com: login refused: Maximum number of connections "
                      r"from user\+IP exceeded \(mail_max_userip_connections=1\), rip=127\.0\.0\.1",
                      since=mark)
    # another user is counted apart, and so is IMAP for the same user
    c = pop_login(pop, "bob@example.com")
    c.quit()
    m = imaplib.IMAP4("127.0.0.1", imap, timeout=20)
    assert m.login("alice@example.com", PASSWORD)[0] == "OK"
    m.logout()
    # the session's end frees the slot
    a.quit()
    deadline = time.time() + 10
    while True:
        try:
            d = pop_login(pop)
            break
        except poplib.error_proto:
            assert time.time() < deadline, "slot never freed"
            time.sleep(0.2)
    assert d.stat()[0] == 0
    d.quit()
