"""SMTP policy end to end: relay control, access tables, unknown users, limits.

A whole instance (master, smtpd, anvil) on loopback. The "outside" client
connects from 127.0.0.2 while mynetworks is 127.0.0.1/32, so it is a
stranger; the "inside" client connects from 127.0.0.1.
"""
import os
import re
import smtplib
import socket

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BASE = {
    "mynetworks": "127.0.0.1/32",
    "mydestination": "$myhostname, localhost, example.com",
    "alias_maps": "",
    "local_recipient_maps": "inline:{ alice=x, bob=x, postmaster=x }",
    "relay_domains": "relay.example",
    "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
}

TRICKS = [
    "victim@remote.test",
    "victim@REMOTE.TEST",
    "victim@example.com.remote.test",
    "victim%remote.test@example.com",
    '"victim@remote.test"@example.com',
    '"victim%remote.test"@example.com',
    "remote.test!victim@example.com",
    "@example.com:victim@remote.test",
    "@example.com,@posthorn.test:victim@remote.test",
    "victim%remote.test@[127.0.0.1]",
    "victim@[192.0.2.1]",
    "alice%example.com@example.com",
]

# Forms that smtpd's address parser may already refuse as bad syntax
# (501 5.1.3); either way they must never be accepted.
SYNTAX_TRICKS = [
    "victim@remote.test.",
    "victim@remote.test@example.com",
    "victim@[127.0.0.01]",
    "victim@[127.1]",
    "victim@[127.0.0.1",
]


@pytest.fixture
def smtpd(instance_factory):
    def start(extra=None, master_extra=""):
        params = dict(BASE)
        if extra:
            params.update(extra)
        inst = instance_factory(main_cf=params)
        port = inst.free_port()
        inst.write_master_cf(f"127.0.0.1:{port} inet n - n - - smtpd\n"
                             f"anvil unix - - n - 1 anvil\n" + master_extra)
        inst.start()
        inst.port = port
        return inst
    return start


def client(inst, source="127.0.0.2", helo="client.example"):
    s = smtplib.SMTP("127.0.0.1", inst.port, source_address=(source, 0), timeout=15)
    s.ehlo(helo)
    return s


def test_every_relay_trick_refused(smtpd):
    inst = smtpd()
    s = client(inst)
    assert s.mail("sender@example.net")[0] == 250
    for rcpt in TRICKS:
        code, text = s.rcpt(rcpt)
        assert code == 554, (rcpt, code, text)
        assert text.decode() == f"5.7.1 <{rcpt}>: Relay access denied", rcpt
    for rcpt in SYNTAX_TRICKS:
        code, text = s.rcpt(rcpt)
        assert (code, text.decode()) in ((554, f"5.7.1 <{rcpt}>: Relay access denied"),
                                         (501, "5.1.3 Bad recipient address syntax")), rcpt
    # our own domains and relay_domains are still accepted from strangers
    for rcpt in ("alice@example.com", "alice@EXAMPLE.COM", "alice@posthorn.test",
                 "alice@[127.0.0.1]", "anyone@relay.example"):
        assert s.rcpt(rcpt)[0] == 250, rcpt
    s.quit()
    log = inst.wait_log(r"reject: RCPT from unknown\[127\.0\.0\.2\]: 554 5\.7\.1 "
                        r"<victim@remote\.test>: Relay access denied; from=<sender@example\.net> "
                        r"to=<victim@remote\.test> proto=ESMTP helo=<client\.example>")
    assert log


def test_mynetworks_and_default_restrictions(smtpd):
    inst = smtpd({"smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, "
                                              "defer_unauth_destination"})
    s = client(inst, source="127.0.0.1")
    assert s.mail("sender@example.net")[0] == 250
    assert s.rcpt("victim@remote.test")[0] == 250
    s.quit()
    # the default relay restriction defers strangers instead of rejecting
    s = client(inst)
    assert s.mail("sender@example.net")[0] == 250
    code, text = s.rcpt("victim@remote.test")
    assert (code, text.decode()) == (454, "4.7.1 <victim@remote.test>: Relay access denied")
    s.quit()


def test_unknown_local_user_rejected_at_rcpt(smtpd):
    inst = smtpd()
    for source in ("127.0.0.2", "127.0.0.1"):
        s = client(inst, source=source)
        assert s.mail("sender@example.net")[0] == 250
        code, text = s.rcpt("nobody@example.com")
        assert code == 550
        assert text.decode() == ("5.1.1 <nobody@example.com>: Recipient address rejected: "
                                 "User unknown in local recipient table")
        assert s.rcpt("bob@example.com")[0] == 250
        s.quit()


def test_access_tables(smtpd, tmp_path):
    inst = smtpd({
        "smtpd_recipient_restrictions":
            "check_recipient_access inline:{ discard@example.com=DISCARD, "
            "hold@example.com=HOLD, open@remote.test=OK, bad@example.com=REJECT }",
        "smtpd_relay_restrictions":
            "permit_mynetworks, check_recipient_access inline:{ open@remote.test=OK }, "
            "reject_unauth_destination",
        "smtpd_client_restrictions": "check_client_access inline:{ 127.0.0.3=REJECT }",
        "local_recipient_maps": "",
    })
    s = client(inst)
    assert s.mail("sender@example.net")[0] == 250
    # an access table OK before reject_unauth_destination permits relaying
    assert s.rcpt("open@remote.test")[0] == 250
    assert s.rcpt("closed@remote.test")[0] == 554
    code, text = s.rcpt("bad@example.com")
    assert (code, text.decode()) == (554, "5.7.1 <bad@example.com>: Recipient address rejected: "
                                          "Access denied")
    assert s.rcpt("hold@example.com")[0] == 250
    assert s.rcpt("discard@example.com")[0] == 250
    # after DISCARD the message goes nowhere: Postfix accepts anything
    assert s.rcpt("closed@remote.test")[0] == 250
    s.quit()
    inst.wait_log(r": discard: RCPT from unknown\[127\.0\.0\.2\]: <discard@example\.com>: "
                  r"Recipient address triggers DISCARD action")
    inst.wait_log(r": hold: RCPT from unknown\[127\.0\.0\.2\]: <hold@example\.com>: "
                  r"Recipient address triggers HOLD action")
    # check_client_access REJECT (reported at RCPT: smtpd_delay_reject)
    s = client(inst, source="127.0.0.3")
    assert s.mail("sender@example.net")[0] == 250
    code, text = s.rcpt("alice@example.com")
    assert (code, text.decode()) == (554, "5.7.1 <unknown[127.0.0.3]>: Client host rejected: "
                                          "Access denied")
    s.quit()


def smtpd_calls_anvil():
    try:
        with open(os.path.join(ROOT, "smtpd", "smtpd.c")) as f:
            return "smtpd_anvil_connect" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not smtpd_calls_anvil(),
                    reason="smtpd.c does not call smtpd_anvil_connect yet (smtpd_anvil.h)")
def test_connection_count_limit(smtpd):
    inst = smtpd({"smtpd_client_connection_count_limit": "2",
                  "smtpd_client_event_limit_exceptions": "127.0.0.1"})
    held = []
    for _ in range(2):
        c = socket.create_connection(("127.0.0.1", inst.port), timeout=10,
                                     source_address=("127.0.0.2", 0))
        assert c.makefile("rb").readline().startswith(b"220")
        held.append(c)
    c = socket.create_connection(("127.0.0.1", inst.port), timeout=10,
                                 source_address=("127.0.0.2", 0))
    line = c.makefile("rb").readline().decode()
    assert re.match(r"421 4\.7\.0 posthorn\.test Error: too many connections from 127\.0\.0\.2",
                    line), line
    c.close()
    # the exception list lets 127.0.0.1 in regardless
    s = client(inst, source="127.0.0.1")
    s.quit()
    inst.wait_log(r"warning: Connection concurrency limit exceeded: 3 from "
                  r"unknown\[127\.0\.0\.2\] for service")
    for c in held:
        c.close()
