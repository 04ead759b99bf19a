"""imapd LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and the
SPECIAL-USE selection/return options (RFC 6154), over a raw connection."""
import re

import pytest

from test_imapd import PASSWORD, Raw, setup_imap


@pytest.fixture
def imap(instance):
    return setup_imap(instance)


DEFAULT = {"INBOX", "Drafts", "Sent", "Junk", "Trash", "Archive"}


def session(inst):
    r = Raw(inst.imap_port)
    assert r.cmd(b"l", f"LOGIN alice@example.com {PASSWORD}".encode())[-1].startswith(b"l OK")
    return r


def ok(r, tag, text):
    lines = r.cmd(tag.encode(), text.encode())
    assert lines[-1].startswith(tag.encode() + b" OK"), lines
    return [ln.decode().rstrip("\r\n") for ln in lines[:-1]]


def bad(r, tag, text):
    lines = r.cmd(tag.encode(), text.encode())
    assert lines[-1].startswith(tag.encode() + b" BAD"), lines


def lists(lines):
    """{name: (attrs set, extended data or '')} of the LIST lines"""
    out = {}
    for ln in lines:
        m = re.match(r'\* LIST \(([^)]*)\) "." "?([^" ]*)"?(?: (.*))?$', ln)
        if m:
            out[m.group(2)] = (set(m.group(1).split()), m.group(3) or "")
    return out


def populate(r):
    for box in ("Fruit", "Fruit.Apple", "Fruit.Banana", "Veg", "Veg.Leek", "Tofu"):
        ok(r, "c", f"CREATE {box}")
    for box in ("Fruit.Banana", "Veg", "Veg.Leek", "Tofu", "Gone", "Old.Sub"):
        ok(r, "s", f"SUBSCRIBE {box}")
    r.send(b"a APPEND Tofu (\\Seen) {6}\r\n")
    assert r.line().startswith(b"+")
    r.send(b"a: b\r\n\r\n")
    assert r.until_tag(b"a")[-1].startswith(b"a OK")
    r.send(b"a APPEND Tofu {6}\r\n")
    assert r.line().startswith(b"+")
    r.send(b"c: d\r\n\r\n")
    assert r.until_tag(b"a")[-1].startswith(b"a OK")


def test_capability_advertised(imap):
    r = session(imap)
    caps = ok(r, "c", "CAPABILITY")[0].split()
    assert "LIST-EXTENDED" in caps and "LIST-STATUS" in caps
    r.close()


def test_subscribed_selection(imap):
    r = session(imap)
    populate(r)
    got = lists(ok(r, "x", 'LIST (SUBSCRIBED) "" "*"'))
    # INBOX and the special-use folders are subscribed on first login
    assert set(got) == {"Fruit.Banana", "Veg", "Veg.Leek", "Tofu", "Gone", "Old.Sub"} | DEFAULT
    assert all("\\Subscribed" in a for a, _ in got.values())
    assert "\\NonExistent" in got["Gone"][0] and "\\NonExistent" in got["Old.Sub"][0]
    assert "\\NonExistent" not in got["Tofu"][0]
    assert "\\HasChildren" in got["Veg"][0] and "\\HasNoChildren" in got["Tofu"][0]
    # REMOTE is accepted (no remote mailboxes) and changes nothing
    assert lists(ok(r, "x", 'LIST (SUBSCRIBED REMOTE) "" "*"')) == got
    r.close()


def test_return_subscribed_children_and_multiple_patterns(imap):
    r = session(imap)
    populate(r)
    got = lists(ok(r, "x", 'LIST "" ("Fruit*" "Tofu") RETURN (SUBSCRIBED CHILDREN)'))
    assert set(got) == {"Fruit", "Fruit.Apple", "Fruit.Banana", "Tofu"}
    assert got["Fruit"][0] == {"\\HasChildren"}
    assert got["Fruit.Apple"][0] == {"\\HasNoChildren"}
    assert got["Fruit.Banana"][0] == {"\\HasNoChildren", "\\Subscribed"}
    assert "\\Subscribed" in got["Tofu"][0]
    # nonexistent subscribed names are not listed without SUBSCRIBED selection
    assert "Gone" not in lists(ok(r, "x", 'LIST "" "*" RETURN (SUBSCRIBED)'))
    # plain LIST: no \Subscribed
    assert all("\\Subscribed" not in a for a, _ in lists(ok(r, "x", 'LIST "" "*"')).values())
    r.close()


def test_recursivematch_childinfo(imap):
    r = session(imap)
    populate(r)
    got = lists(ok(r, "x", 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" RETURN (CHILDREN)'))
    # Fruit is not subscribed, Fruit.Banana is: CHILDINFO
    assert got["Fruit"] == ({"\\HasChildren"}, '("CHILDINFO" ("SUBSCRIBED"))')
    # Veg is subscribed and so is Veg.Leek
    assert got["Veg"][1] == '("CHILDINFO" ("SUBSCRIBED"))' and "\\Subscribed" in got["Veg"][0]
    assert got["Tofu"][1] == "" and got["Gone"][1] == ""
    # Old does not exist and is not subscribed; Old.Sub is
    assert got["Old"] == ({"\\NonExistent"}, '("CHILDINFO" ("SUBSCRIBED"))')
    assert "Fruit.Banana" not in got
    # without RECURSIVEMATCH: no CHILDINFO, Fruit and Old not selected
    got = lists(ok(r, "x", 'LIST (SUBSCRIBED) "" "%"'))
    assert "Fruit" not in got and "Old" not in got and got["Veg"][1] == ""
    r.close()


def test_special_use_options(imap):
    r = session(imap)
    populate(r)
    got = lists(ok(r, "x", 'LIST (SPECIAL-USE) "" "*"'))
    assert set(got) == {"Drafts", "Sent", "Junk", "Trash", "Archive"}
    assert got["Sent"][0] == {"\\HasNoChildren", "\\Sent"}
    got = lists(ok(r, "x", 'LIST "" "*" RETURN (SPECIAL-USE)'))
    assert "\\Trash" in got["Trash"][0] and "Tofu" in got
    r.close()


def test_list_status(imap):
    r = session(imap)
    populate(r)
    lines = ok(r, "x", 'LIST (SUBSCRIBED) "" "*" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
    # STATUS right after the LIST line of each existing mailbox
    for k, ln in enumerate(lines):
        if ln.startswith("* LIST") and "\\NonExistent" not in ln:
            name = ln.rsplit(" ", 1)[1]
            assert lines[k + 1].startswith(f"* STATUS {name} ("), lines
        if ln.startswith("* LIST") and "\\NonExistent" in ln:
            assert k + 1 == len(lines) or not lines[k + 1].startswith("* STATUS"), lines
    tofu = [ln for ln in lines if ln.startswith('* STATUS "Tofu"')]
    assert tofu == ['* STATUS "Tofu" (MESSAGES 2 UNSEEN 1 UIDNEXT 3)']
    # Fruit.Banana, Veg, Veg.Leek, Tofu and the defaults exist; Gone and
    # Old.Sub do not
    assert sum(1 for ln in lines if ln.startswith("* STATUS")) == 4 + len(DEFAULT)
    r.close()


def test_bad_syntax(imap):
    r = session(imap)
    bad(r, "b1", 'LIST (RECURSIVEMATCH) "" "*"')
    bad(r, "b2", 'LIST (RECURSIVEMATCH REMOTE) "" "*"')
    bad(r, "b3", 'LIST (FROB) "" "*"')
    bad(r, "b4", 'LIST "" "*" RETURN (FROB)')
    bad(r, "b5", 'LIST "" "*" RETURN SUBSCRIBED')
    bad(r, "b6", 'LIST "" "*" RETURN (STATUS)')
    bad(r, "b7", 'LIST "" "*" RETURN (STATUS ())')
    bad(r, "b8", 'LIST "" "*" RETURN (STATUS (MESSAGES BOGUS))')
    bad(r, "b9", 'LIST "" ()')
    bad(r, "b10", 'LIST "" "*" EXTRA (SUBSCRIBED)')
    bad(r, "b11", 'LIST "" "*" RETURN (CHILDREN) MORE')
    bad(r, "b12", 'LIST ()')
    bad(r, "b13", 'LIST "" ((nested))')
    # empty selection and return lists are fine; the session goes on
    got = lists(ok(r, "g1", 'LIST () "" "INBOX" RETURN ()'))
    assert set(got) == {"INBOX"}
    assert ok(r, "g2", 'LIST () "" ""') == ['* LIST (\\Noselect) "." ""']
    r.close()
