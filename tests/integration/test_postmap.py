"""postmap / postalias / newaliases end to end: build, query, dump, delete,
duplicates, errors with Postfix's messages and exit codes, and a stress
test that rebuilds a table while readers look keys up."""
import os
import subprocess
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
POSTMAP = os.path.join(BUILD, "bin", "postmap")
POSTALIAS = os.path.join(BUILD, "bin", "postalias")
NEWALIASES = os.path.join(BUILD, "bin", "newaliases")


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=120)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return str(path)


@pytest.fixture
def src(tmp_path):
    return write(tmp_path / "access", "# access table\n"
                 "Example.COM   OK\n"
                 "user@example.org   REJECT go away\n"
                 "multi  first\n   second\n"
                 "\n"
                 "192.0.2.1  DUNNO\n")


def test_round_trip(src, tmp_path):
    p = run([POSTMAP, src])
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert os.path.exists(src + ".lmdb")
    assert sorted(os.listdir(tmp_path)) == ["access", "access.lmdb"]   # no temp or lock files left
    for key, value in [("example.com", "OK"), ("EXAMPLE.com", "OK"),
                       ("user@example.org", "REJECT go away"),
                       ("multi", "first second"), ("192.0.2.1", "DUNNO")]:
        p = run([POSTMAP, "-q", key, "lmdb:" + src])
        assert (p.returncode, p.stdout) == (0, value + "\n"), (key, p.stderr)
    p = run([POSTMAP, "-q", "absent", "lmdb:" + src])
    assert (p.returncode, p.stdout, p.stderr) == (1, "", "")
    # hash: and btree: are the same LMDB file.
    for t in ("hash", "btree"):
        p = run([POSTMAP, "-q", "example.com", f"{t}:{src}"])
        assert (p.returncode, p.stdout) == (0, "OK\n")


def test_hash_builds_lmdb_file(src):
    assert run([POSTMAP, "hash:" + src]).returncode == 0
    assert os.path.exists(src + ".lmdb") and not os.path.exists(src + ".db")


def test_query_stdin_dump_delete(src):
    assert run([POSTMAP, src]).returncode == 0
    p = run([POSTMAP, "-q", "-", src], stdin="example.com\nnothing\n\nmulti\n")
    assert p.returncode == 0
    assert p.stdout == "example.com\tOK\nmulti\tfirst second\n"
    p = run([POSTMAP, "-q", "-", src], stdin="nothing\nnone\n")
    assert (p.returncode, p.stdout) == (1, "")
    p = run([POSTMAP, "-s", src])
    assert p.returncode == 0
    assert p.stdout == ("192.0.2.1\tDUNNO\nexample.com\tOK\nmulti\tfirst second\n"
                        "user@example.org\tREJECT go away\n")
    p = run([POSTMAP, "-d", "Example.com", src])
    assert p.returncode == 0, p.stderr
    assert run([POSTMAP, "-q", "example.com", src]).returncode == 1
    assert run([POSTMAP, "-d", "example.com", src]).returncode == 1
    p = run([POSTMAP, "-d", "-", src], stdin="multi\n192.0.2.1\nabsent\n")
    assert p.returncode == 0
    assert run([POSTMAP, "-s", src]).stdout == "user@example.org\tREJECT go away\n"


def test_duplicates(tmp_path):
    s = write(tmp_path / "dups", "a 1\nb 2\nA 3\n")
    p = run([POSTMAP, s])
    assert p.returncode == 0
    assert p.stderr == (f'postmap: warning: {s}, line 3: duplicate entry: "a" '
                        f"(first at line 1); using the later one\n")
    assert run([POSTMAP, "-q", "a", s]).stdout == "3\n"
    p = run([POSTMAP, "-r", s])
    assert (p.returncode, p.stderr) == (0, "")
    assert run([POSTMAP, "-q", "a", s]).stdout == "3\n"
    p = run([POSTMAP, "-w", s])
    assert (p.returncode, p.stderr) == (0, "")
    assert run([POSTMAP, "-q", "a", s]).stdout == "1\n"


def test_fold_incremental(tmp_path):
    s = write(tmp_path / "t", "MixedCase v\n")
    assert run([POSTMAP, "-f", s]).returncode == 0
    assert run([POSTMAP, "-f", "-q", "MixedCase", s]).stdout == "v\n"
    assert run([POSTMAP, "-f", "-q", "mixedcase", s]).returncode == 1
    assert run([POSTMAP, s]).returncode == 0
    p = run([POSTMAP, "-i", s], stdin="new1 n1\nnew2 n2\n")
    assert p.returncode == 0, p.stderr
    out = run([POSTMAP, "-s", s]).stdout
    assert out == "mixedcase\tv\nnew1\tn1\nnew2\tn2\n"


def test_errors(tmp_path):
    p = run([POSTMAP, "/nonexistent/file"])
    assert (p.returncode, p.stderr) == (1, "postmap: fatal: open /nonexistent/file: No such file or directory\n")
    p = run([POSTMAP, "-q", "x", "lmdb:/nonexistent/file"])
    assert (p.returncode, p.stderr) == (1, "postmap: fatal: open database /nonexistent/file.lmdb: "
                                           "No such file or directory\n")
    p = run([POSTMAP, "-q", "x", "nosuch:/x"])
    assert (p.returncode, p.stderr) == (1, "postmap: fatal: unsupported dictionary type: nosuch\n")
    b = tmp_path / "bin"
    b.write_bytes(b"a 1\nb\x002\n")
    p = run([POSTMAP, str(b)])
    assert (p.returncode, p.stderr) == (1, f"postmap: fatal: {b}, line 2: NUL byte in input\n")
    assert not os.path.exists(str(b) + ".lmdb")
    m = write(tmp_path / "malformed", "good 1\nlonely\n")
    p = run([POSTMAP, m])
    assert p.returncode == 0
    assert p.stderr == f"postmap: warning: {m}, line 2: expected format: key whitespace value\n"
    r = write(tmp_path / "re", "/ok/ fine\nif /x/\n/(y/ bad\nendif\n")
    p = run([POSTMAP, "-q", "ok", "regexp:" + r])
    assert p.returncode == 1
    assert p.stderr.startswith(f"postmap: fatal: {r}, line 3: error in pattern")
    p = run([POSTMAP, "-q", "ok", "regexp:" + r, "-x"])
    assert p.returncode == 1
    p = run([POSTMAP])
    assert p.returncode == 1 and "usage:" in p.stderr
    long_key = write(tmp_path / "long", "k" * 600 + " v\n")
    p = run([POSTMAP, long_key])
    assert (p.returncode, p.stderr) == (1, f"postmap: fatal: {long_key}, line 1: key too long\n")


def test_query_other_types(tmp_path):
    r = write(tmp_path / "re", "/^(.*)@example\\.com$/ local:$1\n")
    c = write(tmp_path / "cidr", "192.0.2.0/24 net\n2001:db8::/32 net6\n")
    t = write(tmp_path / "th", "Key value\n")
    cases = [("joe@example.com", "regexp:" + r, "local:joe"),
             ("joe@example.com", "pcre:" + r, "local:joe"),
             ("192.0.2.9", "cidr:" + c, "net"),
             ("::ffff:192.0.2.9", "cidr:" + c, "net"),
             ("2001:db8::1", "cidr:" + c, "net6"),
             ("KEY", "texthash:" + t, "value"),
             ("b", "inline:{ a=1, {b = two words} }", "two words"),
             ("anything", "static:5000", "5000"),
             ("root", "proxy:unix:passwd.byname", None)]
    for key, table, value in cases:
        p = run([POSTMAP, "-q", key, table])
        assert p.returncode == 0, (table, p.stderr)
        if value is not None:
            assert p.stdout == value + "\n"
        else:
            assert p.stdout.startswith("root:x:0:0:")
    p = run([POSTMAP, "-q", "x", "fail:test"])
    assert p.returncode == 1 and "fail:test" in p.stderr
    # Several tables: the first that has the key answers.
    p = run([POSTMAP, "-q", "a", "inline:{ b=1 }", "inline:{ a=2 }", "inline:{ a=3 }"])
    assert (p.returncode, p.stdout) == (0, "2\n")


def test_postalias_newaliases(tmp_path):
    a = write(tmp_path / "aliases", "# aliases\npostmaster: root\n"
              "Team: alice,\n  bob,\n\t\"|/bin/cat\"\n\"two words\": x\nbroken\n")
    p = run([POSTALIAS, a])
    assert p.returncode == 0
    assert p.stderr == f"postalias: warning: {a}, line 7: expected format: name: value\n"
    assert run([POSTALIAS, "-q", "team", a]).stdout == 'alice, bob, "|/bin/cat"\n'
    assert run([POSTALIAS, "-q", "two words", a]).stdout == "x\n"
    p = run([POSTALIAS, "-s", a])
    assert p.stdout == 'postmaster:\troot\nteam:\talice, bob, "|/bin/cat"\ntwo words:\tx\n'
    # newaliases rebuilds every table in alias_database from main.cf.
    b = write(tmp_path / "more", "x: y\n")
    os.unlink(a + ".lmdb")
    conf = tmp_path / "etc"
    conf.mkdir()
    write(conf / "main.cf", f"alias_database = hash:{a}, lmdb:{b}\n")
    p = run([NEWALIASES, "-c", str(conf)])
    assert p.returncode == 0, p.stderr
    assert run([POSTALIAS, "-q", "postmaster", a]).stdout == "root\n"
    assert run([POSTALIAS, "-q", "x", b]).stdout == "y\n"
    write(conf / "main.cf", f"alias_database = hash:{tmp_path}/missing\n")
    p = run([NEWALIASES, "-c", str(conf)])
    assert p.returncode == 1
    assert p.stderr == f"newaliases: fatal: open {tmp_path}/missing: No such file or directory\n"


def gen_source(path, gen, nkeys):
    tmp = str(path) + ".new"
    with open(tmp, "w") as f:
        for i in range(nkeys):
            f.write(f"key{i} g{gen} key{i}\n")
    os.rename(tmp, path)


def test_rebuild_while_reading(tmp_path):
    """One process rebuilds the table in a loop; an in-process reader that
    refreshes at safe points and fresh postmap -q processes must never see
    a wrong or missing answer."""
    nkeys = 2000
    s = tmp_path / "stress"
    gen_source(s, 0, nkeys)
    assert run([POSTMAP, str(s)]).returncode == 0
    reader = subprocess.Popen([os.path.join(BUILD, "tests", "dict_reader"), f"lmdb:{s}",
                               str(nkeys), "6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    failures = []
    stop = threading.Event()

    def query_loop():
        keys = "".join(f"key{i}\n" for i in range(0, nkeys, 37))
        n = len(range(0, nkeys, 37))
        while not stop.is_set():
            p = run([POSTMAP, "-q", "-", f"lmdb:{s}"], stdin=keys)
            lines = p.stdout.splitlines()
            if p.returncode != 0 or len(lines) != n:
                failures.append(p.stdout[-200:] + p.stderr)
                return
            gens = {line.split("\t")[1].split()[0] for line in lines}
            if len(gens) != 1:
                failures.append(f"mixed generations {gens}")
                return

    t = threading.Thread(target=query_loop)
    t.start()
    gen = 1
    end = time.time() + 5
    while time.time() < end:
        gen_source(s, gen, nkeys)
        p = run([POSTMAP, str(s)])
        assert p.returncode == 0, p.stderr
        gen += 1
    stop.set()
    t.join()
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, out + err
    assert not failures, failures
    stats = dict(kv.split("=") for kv in out.split())
    assert int(stats["refreshes"]) >= 3, out
    assert int(stats["generations"]) >= 3, out
    assert gen > 5
