"""imapd SEARCH from the index cache: SUBJECT / FROM / TO / CC / BCC are
answered from the cached ENVELOPE and address fields without opening the
message files, with the same answers as reading the files (raw header
values, RFC 2047 words not decoded, ASCII case-insensitive substrings),
and FETCH's cache writes are batched (mstore_cache_flush)."""
import os

from test_imapd import login, setup_imap
import pytest

MSGS = [
    # 1: RFC 2047 encoded subject
    b"From: \"Alice Example\" <alice@example.org>\r\nTo: bob@example.com\r\n"
    b"Subject: =?utf-8?q?Caf=C3=A9_needle?=\r\n\r\none\r\n",
    # 2: folded subject, comment in From, Cc
    b"From: bob@example.com (Bob)\r\nCc: carol@example.net\r\n"
    b"Subject: Re: NEEDLE in\r\n haystack\r\n\r\ntwo\r\n",
    # 3: no subject at all
    b"From: <x@y.example>\r\nTo: dave@example.com\r\n\r\nthree\r\n",
    # 4: raw 8-bit subject (a literal in the envelope), quotes in To
    "From: eve@example.com\r\nTo: \"Q \\\"uote\\\"\" <q@example.com>\r\n"
    "Subject: Grüße needle \"x\"\r\n\r\nfour\r\n".encode(),
    # 5: empty subject
    b"From: frank@example.com\r\nSubject:\r\nBcc: hidden@example.com\r\n\r\nfive\r\n",
]

QUERIES = [
    (("SUBJECT", "needle"), [1, 2, 4]),
    (("SUBJECT", "caf=c3"), [1]),
    (("SUBJECT", '"needle in haystack"'), [2]),
    (("SUBJECT", '""'), [1, 2, 4, 5]),
    (("SUBJECT", '"\\"x\\""'), [4]),
    (("HEADER", "subject", "NEEDLE"), [1, 2, 4]),
    (("NOT", "SUBJECT", "needle"), [3, 5]),
    (("FROM", "alice"), [1]),
    (("FROM", '"(bob)"'), [2]),
    (("CC", "CAROL"), [2]),
    (("TO", "uote"), [4]),
    (("TO", "example.com"), [1, 3, 4]),
    (("BCC", "hidden"), [5]),
    (("OR", "FROM", "alice", "CC", "carol"), [1, 2]),
    (("SUBJECT", "needle", "FROM", "eve"), [4]),
]


def utf8_subject(m, word):
    m.literal = word.encode()
    typ, data = m.search("UTF-8", "SUBJECT")
    assert typ == "OK", data
    return [int(x) for x in data[0].split()]


def lock_files(home, mode):
    cur = os.path.join(home, "Maildir", "cur")
    for name in os.listdir(cur):
        os.chmod(os.path.join(cur, name), mode)


@pytest.fixture
def imap(instance):
    return setup_imap(instance)


def test_search_from_cache_same_answers(imap):
    m = login(imap)
    want = [w for _q, w in QUERIES]
    # nothing cached: each query is the first search of its own folder,
    # so every message file is read (the code path without the cache)
    from_files = []
    for k, (q, _w) in enumerate(QUERIES):
        box = f"F{k}"
        assert m.create(box)[0] == "OK"
        for msg in MSGS:
            assert m.append(box, None, None, msg)[0] == "OK"
        m.select(box)
        from_files.append([int(x) for x in m.search(None, *q)[1][0].split()])
    assert from_files == want
    assert m.create("U8")[0] == "OK"
    for msg in MSGS:
        assert m.append("U8", None, None, msg)[0] == "OK"
    m.select("U8")
    assert utf8_subject(m, "Grüße") == [4]
    m.logout()

    # a new session: FETCH ENVELOPE fills the cache, then the files go away
    m = login(imap)
    for msg in MSGS:
        assert m.append("INBOX", None, None, msg)[0] == "OK"
    m.select("INBOX")
    typ, data = m.fetch("1:*", "(ENVELOPE)")
    text = b"".join(d[0] + d[1] if isinstance(d, tuple) else d for d in data)
    assert typ == "OK" and text.count(b"ENVELOPE") == 5
    lock_files(imap.home, 0)
    try:
        from_cache = [[int(x) for x in m.search(None, *q)[1][0].split()] for q, _w in QUERIES]
        assert from_cache == want
        assert utf8_subject(m, "Grüße") == [4]
        assert utf8_subject(m, "GRÜSSE") == []    # ASCII-only case folding, as before
        # a key the cache cannot answer still needs the (unreadable) file
        typ, data = m.search(None, "BODY", "two")
        assert typ == "OK" and data[0] == b""
    finally:
        lock_files(imap.home, 0o600)
    m.logout()


def test_search_fills_the_cache(imap):
    m = login(imap)
    for msg in MSGS:
        assert m.append("INBOX", None, None, msg)[0] == "OK"
    m.select("INBOX")
    # the first search reads the files and caches envelope + addresses
    typ, data = m.search(None, "FROM", "alice")
    assert typ == "OK" and data[0] == b"1"
    lock_files(imap.home, 0)
    try:
        assert m.search(None, "SUBJECT", "needle")[1][0] == b"1 2 4"
        assert m.search(None, "CC", "carol")[1][0] == b"2"
        # the cached envelope serves FETCH too
        typ, data = m.fetch("3", "(ENVELOPE)")
        assert typ == "OK" and b"dave" in data[0]
    finally:
        lock_files(imap.home, 0o600)
    m.logout()
    # a session that never ran a FETCH: the cache reached the index
    m = login(imap)
    m.select("INBOX")
    lock_files(imap.home, 0)
    try:
        assert m.search(None, "TO", "uote")[1][0] == b"4"
    finally:
        lock_files(imap.home, 0o600)
    m.logout()
