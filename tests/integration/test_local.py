"""The local delivery agent against a running instance.

qmgr is not needed: each test writes a queue file into active/ with the
test-only tests/services/queue_put (lib/qfile.h's writer) and speaks the
lib/deliver_request.h protocol to queue/private/local (or private/virtual)
itself, like qmgr does, then checks the per-recipient results, the log
lines and the mailboxes byte for byte.

Local users need passwd entries: the tests that deliver to a user's
mailbox create real users (useradd, homes inside the instance directory)
and so run only as root. In the unprivileged instance (master and local
run as `phtest`), the homes are handed to phtest, since local delivers as
the invoking user there; the root instance tests check real ownership.
"""
import glob
import os
import pwd
import re
import socket
import stat
import subprocess
import time
import uuid

import pytest

from instance import ensure_user

IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="creates system users")

MASTER_CF = ("local unix - n n - - local\n"
             "virtual unix - n n - - local\n")

MSG = ("From: Alice <alice@example.org>\n"
       "To: bob@posthorn.test\n"
       "Subject: hello\n"
       "\n"
       "line one\n"
       "From the start of a line\n"
       ".dot line\n")


# -- protocol -----------------------------------------------------------------

def _enc(v):
    return str(v).replace("%", "%25").replace("\\", "%5C").replace("\n", "%0A")


def _dec(v):
    return v.replace("%0A", "\n").replace("%5C", "\\").replace("%25", "%")


class Agent:
    """A delivery-protocol client: what qmgr does for one request."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")

    def read_msg(self):
        attrs = []
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("agent closed the connection")
            line = line.decode().rstrip("\n")
            if line == "":
                return attrs
            name, _, value = line.partition("=")
            attrs.append((name, _dec(value)))

    def send_msg(self, attrs):
        self.sock.sendall("".join(f"{n}={_enc(v)}\n" for n, v in attrs).encode() + b"\n")

    def close(self):
        self.file.close()
        self.sock.close()


def deliver(inst, rcpts, content=MSG, sender="alice@example.org", service="local",
            orig=None, flags=0):
    """Queue a message in active/ and have the agent deliver it; returns
    (queue id, [(status, dsn, reason)] in recipient order)."""
    p = inst.run([inst.test_program("queue_put"), "-c", inst.dir, "-f", sender, *rcpts],
                 input=content, check=True)
    qid = p.stdout.strip()
    now = time.time()
    a = Agent(os.path.join(inst.queue, "private", service))
    try:
        assert a.read_msg() == [("proto", "delivery"), ("version", "1")]
        a.send_msg([("request", "deliver"), ("queue_name", "active"), ("queue_id", qid),
                    ("transport", service), ("nexthop", "posthorn.test"), ("sender", sender),
                    ("envid", ""), ("ret", 0), ("flags", flags),
                    ("arrival_sec", int(now)), ("arrival_usec", 0),
                    ("qmgr_sec", int(now)), ("qmgr_usec", 0),
                    ("client_name", "localhost"), ("client_addr", "127.0.0.1"),
                    ("rcpt_count", len(rcpts))])
        for i, r in enumerate(rcpts):
            a.send_msg([("rcpt_index", i), ("address", r),
                        ("orig_address", (orig or {}).get(r, "")), ("orcpt", ""), ("notify", 0)])
        results = {}
        while True:
            m = dict(a.read_msg())
            if "done" in m:
                assert int(m["done"]) == len(rcpts)
                break
            results[int(m["rcpt_index"])] = (int(m["status"]), m["dsn"], m["reason"])
    finally:
        a.close()
    return qid, [results[i] for i in range(len(rcpts))]


SENT, DEFER, BOUNCE = 0, 1, 2


# -- fixtures -----------------------------------------------------------------

class Users:
    """Real system users with homes under the instance directory."""

    def __init__(self, inst):
        self.inst = inst
        self.made = []

    def add(self, home_owner_is_user=None):
        name = "phl" + uuid.uuid4().hex[:10]
        home = os.path.join(self.inst.dir, "home", name)
        os.makedirs(os.path.dirname(home), exist_ok=True)
        os.chmod(os.path.dirname(home), 0o755)
        subprocess.run(["useradd", "--no-create-home", "--home-dir", home, "--user-group",
                        "--shell", "/bin/sh", name], check=True, capture_output=True)
        self.made.append(name)
        pw = pwd.getpwnam(name)
        os.mkdir(home, 0o700)
        # Unprivileged instance: local runs as the instance user.
        owner = (pw.pw_uid, pw.pw_gid) if self.inst.root_mode else (self.inst.uid, self.inst.gid)
        os.chown(home, *owner)
        return pw

    def cleanup(self):
        for name in self.made:
            subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def users(instance):
    u = Users(instance)
    yield u
    u.cleanup()


def start(inst, **params):
    params.setdefault("mydestination", "posthorn.test, localhost")
    params.setdefault("alias_maps", "")
    params.setdefault("mail_spool_directory", os.path.join(inst.dir, "spool"))
    inst.write_main_cf(params)
    inst.write_master_cf(MASTER_CF)
    inst.start()
    sock = os.path.join(inst.queue, "private", "local")
    inst.wait_for(lambda: os.path.exists(sock), what="private/local")


def maildir_files(home, sub="Maildir"):
    return sorted(glob.glob(os.path.join(home, sub, "new", "*")))


def read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def write_as(inst, path, text, mode=0o644, owner=None):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    if owner is not None:
        os.chown(path, *owner)
    elif IS_ROOT:
        os.chown(path, inst.uid, inst.gid)
    return path


def make_aliases(inst, text):
    path = write_as(inst, os.path.join(inst.dir, "aliases"), text)
    inst.command("postalias", path, check=True)
    return "hash:" + path


def log_line(inst, qid, to, status):
    return inst.wait_log(rf"{qid}: to=<{re.escape(to)}>, .*status={status}")


# -- Maildir and mbox -----------------------------------------------------------

@needs_root
def test_maildir_delivery_byte_exact(instance, users):
    start(instance, home_mailbox="Maildir/")
    bob = users.add()
    addr = f"{bob.pw_name}@posthorn.test"
    qid, res = deliver(instance, [addr])
    assert res == [(SENT, "2.0.0", "delivered to maildir")]
    files = maildir_files(bob.pw_dir)
    assert len(files) == 1
    assert read(files[0]) == f"Return-Path: <alice@example.org>\nDelivered-To: {addr}\n" + MSG
    m = log_line(instance, qid, addr, "sent")
    assert re.search(rf"{qid}: to=<{addr}>, relay=local, delay=[\d.]+, "
                     r"delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, "
                     r"status=sent \(delivered to maildir\)$", instance.log(), re.M), m.group(0)
    # The queue file is untouched (agents never write it).
    assert glob.glob(os.path.join(instance.queue, "active", "*", qid)) or \
        glob.glob(os.path.join(instance.queue, "active", qid))


@needs_root
def test_mbox_in_home_and_spool(instance, users):
    start(instance, home_mailbox="Mailbox")
    bob = users.add()
    addr = f"{bob.pw_name}@posthorn.test"
    _, res = deliver(instance, [addr], sender="")
    assert res == [(SENT, "2.0.0", "delivered to mailbox")]
    _, res = deliver(instance, [addr])
    assert res[0][0] == SENT
    text = read(os.path.join(bob.pw_dir, "Mailbox"))
    msgs = re.split(r"(?m)^(?=From )", text)
    msgs = [m for m in msgs if m]
    assert len(msgs) == 2
    assert msgs[0].startswith("From MAILER-DAEMON  ")
    assert msgs[1].startswith("From alice@example.org  ")
    body = msgs[1].split("\n", 1)[1]
    assert body == (f"Return-Path: <alice@example.org>\nDelivered-To: {addr}\n"
                    + MSG.replace("\nFrom the start", "\n>From the start") + "\n")


@needs_root
def test_spool_mailbox(instance, users):
    spool = os.path.join(instance.dir, "spool")
    os.mkdir(spool)
    os.chmod(spool, 0o1777)
    start(instance)
    bob = users.add()
    _, res = deliver(instance, [bob.pw_name + "@posthorn.test"])
    assert res == [(SENT, "2.0.0", "delivered to mailbox")]
    text = read(os.path.join(spool, bob.pw_name))
    assert text.startswith("From alice@example.org  ")
    assert "\nDelivered-To: %s@posthorn.test\n" % bob.pw_name in text


@needs_root
def test_extension_and_x_original_to(instance, users):
    start(instance, home_mailbox="Maildir/", recipient_delimiter="+")
    bob = users.add()
    addr = f"{bob.pw_name}+news@posthorn.test"
    qid, res = deliver(instance, [addr], orig={addr: "list@example.net"})
    assert res == [(SENT, "2.0.0", "delivered to maildir")]
    files = maildir_files(bob.pw_dir)
    assert read(files[0]).startswith(
        f"Return-Path: <alice@example.org>\nX-Original-To: list@example.net\nDelivered-To: {addr}\n")
    instance.wait_log(rf"{qid}: to=<{re.escape(addr)}>, orig_to=<list@example.net>, relay=local")


@needs_root
def test_mailbox_command(instance, users):
    start(instance, recipient_delimiter="+",
          mailbox_command='cat > $home/mc.out; echo "$$RECIPIENT $$EXTENSION $$USER" > $home/mc.env')
    bob = users.add()
    addr = f"{bob.pw_name}+x@posthorn.test"
    qid, res = deliver(instance, [addr])
    cmd = (f"cat > {bob.pw_dir}/mc.out; "
           'echo "$RECIPIENT $EXTENSION $USER" > ' + f"{bob.pw_dir}/mc.env")
    assert res == [(SENT, "2.0.0", f"delivered to command: {cmd}")]
    got = read(os.path.join(bob.pw_dir, "mc.out"))
    assert got.startswith("From alice@example.org  ")
    assert got.endswith(f"Return-Path: <alice@example.org>\nDelivered-To: {addr}\n" + MSG)
    assert read(os.path.join(bob.pw_dir, "mc.env")) == f"{addr} x {bob.pw_name}\n"
    log_line(instance, qid, addr, "sent")


def test_unknown_user_bounces(instance):
    start(instance, home_mailbox="Maildir/")
    qid, res = deliver(instance, ["nosuchuser-zz@posthorn.test"])
    assert res == [(BOUNCE, "5.1.1", 'unknown user: "nosuchuser-zz"')]
    log_line(instance, qid, "nosuchuser-zz@posthorn.test", "bounced")


@needs_root
def test_mailbox_size_limit_bounces(instance, users):
    start(instance, home_mailbox="Maildir/", mailbox_size_limit="200")
    bob = users.add()
    _, res = deliver(instance, [bob.pw_name + "@posthorn.test"], content=MSG + "x" * 300 + "\n")
    assert res[0][0] == BOUNCE and res[0][1] == "5.2.2", res
    assert maildir_files(bob.pw_dir) == []


@needs_root
def test_unwritable_mailbox_defers_then_delivers(instance, users):
    start(instance, home_mailbox="Maildir/")
    bob = users.add()
    addr = bob.pw_name + "@posthorn.test"
    os.chmod(bob.pw_dir, 0o500)
    qid, res = deliver(instance, [addr])
    assert res[0][0] == DEFER and res[0][1].startswith("4."), res
    assert "Permission denied" in res[0][2]
    log_line(instance, qid, addr, "deferred")
    os.chmod(bob.pw_dir, 0o700)
    _, res = deliver(instance, [addr])
    assert res == [(SENT, "2.0.0", "delivered to maildir")]
    assert len(maildir_files(bob.pw_dir)) == 1


# -- aliases -------------------------------------------------------------------

@needs_root
def test_alias_to_users_files_commands(instance, users):
    bob, carol = users.add(), users.add()
    out = os.path.join(instance.dir, "out")
    os.mkdir(out)
    os.chown(out, instance.uid, instance.gid)
    maps = make_aliases(instance,
                        f"team: {bob.pw_name}, {carol.pw_name}@posthorn.test\n"
                        f"archive: {out}/archive\n"
                        f"runner: \"|cat > {out}/cmd.out; env > {out}/cmd.env\"\n")
    start(instance, home_mailbox="Maildir/", alias_maps=maps)
    qid, res = deliver(instance, ["team@posthorn.test"])
    assert res[0][0] == SENT, res
    for u in (bob, carol):
        files = maildir_files(u.pw_dir)
        assert len(files) == 1
        assert read(files[0]) == ("Return-Path: <alice@example.org>\n"
                                  "X-Original-To: team@posthorn.test\n"
                                  f"Delivered-To: {u.pw_name}@posthorn.test\n" + MSG)
        log_line(instance, qid, f"{u.pw_name}@posthorn.test", "sent")
    assert re.search(rf"{qid}: to=<{bob.pw_name}@posthorn.test>, orig_to=<team@posthorn.test>, "
                     r"relay=local, .*status=sent \(delivered to maildir\)", instance.log())

    qid, res = deliver(instance, ["archive@posthorn.test"])
    assert res == [(SENT, "2.0.0", f"delivered to file: {out}/archive")]
    text = read(f"{out}/archive")
    assert text.startswith("From alice@example.org  ")
    assert "\nReturn-Path: <alice@example.org>\nDelivered-To: archive@posthorn.test\n" in text
    st = os.stat(f"{out}/archive")
    assert stat.S_IMODE(st.st_mode) == 0o600

    qid, res = deliver(instance, ["runner@posthorn.test"])
    assert res[0][0] == SENT and res[0][2].startswith("delivered to command: cat >"), res
    got = read(f"{out}/cmd.out")
    assert got.startswith("From alice@example.org  ")
    assert got.endswith("Delivered-To: runner@posthorn.test\n" + MSG)
    env = dict(line.split("=", 1) for line in read(f"{out}/cmd.env").splitlines() if "=" in line)
    assert env["SENDER"] == "alice@example.org"
    assert env["RECIPIENT"] == "runner@posthorn.test"
    assert env["LOCAL"] == "runner" and env["DOMAIN"] == "posthorn.test"
    assert env["EXTENSION"] == ""
    assert env["USER"] == instance.user and env["HOME"]
    assert "PYTEST_CURRENT_TEST" not in env      # a clean environment
    log_line(instance, qid, "runner@posthorn.test", "sent")


def test_alias_command_failures(instance):
    maps = make_aliases(instance,
                        "tmp: \"|exit 75\"\n"
                        "hard: \"|echo no such thing >&2; exit 67\"\n"
                        "odd: \"|exit 3\"\n")
    start(instance, alias_maps=maps)
    _, res = deliver(instance, ["tmp@posthorn.test", "hard@posthorn.test", "odd@posthorn.test"])
    assert res[0][:2] == (DEFER, "4.3.0")
    assert res[1][:2] == (BOUNCE, "5.1.1") and "no such thing" in res[1][2]
    assert res[2] == (BOUNCE, "5.3.0", 'Command died with status 3: "exit 3"')


def test_command_time_limit(instance):
    maps = make_aliases(instance, "slow: \"|sleep 30\"\n")
    start(instance, alias_maps=maps, command_time_limit="1s")
    t0 = time.monotonic()
    _, res = deliver(instance, ["slow@posthorn.test"])
    assert time.monotonic() - t0 < 15
    assert res[0][0] == BOUNCE and "time limit" in res[0][2], res


def test_include_and_restrictions(instance):
    out = os.path.join(instance.dir, "out")
    os.mkdir(out)
    if IS_ROOT:
        os.chown(out, instance.uid, instance.gid)
    inc = write_as(instance, os.path.join(instance.dir, "list.inc"),
                   f"# members\n{out}/inc-file\n\"|cat > {out}/inc-cmd\"\n")
    maps = make_aliases(instance, f"listx: :include:{inc}\n")
    start(instance, alias_maps=maps, allow_mail_to_commands="alias, forward")
    qid, res = deliver(instance, ["listx@posthorn.test"])
    # The file is allowed from an :include: (allow_mail_to_files default
    # has no "include": restricted), and so is the command.
    assert res[0][0] == BOUNCE and "restricted" in res[0][2], res
    assert not os.path.exists(f"{out}/inc-file")

    instance.write_main_cf({"allow_mail_to_files": "alias, forward, include",
                            "allow_mail_to_commands": "alias, forward, include"})
    instance.stop()
    instance.start()
    instance.wait_for(lambda: os.path.exists(os.path.join(instance.queue, "private", "local")))
    _, res = deliver(instance, ["listx@posthorn.test"])
    assert res[0][0] == SENT, res
    assert "From alice@example.org" in read(f"{out}/inc-file")
    assert read(f"{out}/inc-cmd").endswith(MSG)


def test_owner_alias_and_remote_forward(instance):
    maps = make_aliases(instance,
                        "devs: someone@remote.example, nobody-here-zz\n"
                        "owner-devs: admin@remote.example\n")
    start(instance, alias_maps=maps)
    qid, res = deliver(instance, ["devs@posthorn.test"])
    assert res[0][0] == SENT, res
    m = re.search(r"forwarded as (\S+)", res[0][2])
    assert m, res
    new = m.group(1)
    # One new durable queue file in incoming/ with the forwarded recipients,
    # sender owner-devs, and a Delivered-To: header.
    paths = glob.glob(os.path.join(instance.queue, "incoming", "**", new), recursive=True)
    assert len(paths) == 1
    data = open(paths[0], "rb").read()
    assert b"owner-devs@posthorn.test" in data
    assert b"someone@remote.example" in data and b"nobody-here-zz@posthorn.test" in data
    assert b"Delivered-To: devs@posthorn.test\n" + MSG.encode() in data
    assert os.stat(paths[0]).st_uid == instance.uid
    log_line(instance, qid, "someone@remote.example", r"sent \(forwarded as " + new)


def test_address_probe_local(instance):
    maps = make_aliases(instance, "postmaster: root\n")
    start(instance, alias_maps=maps)
    _, res = deliver(instance, ["postmaster@posthorn.test", "root@posthorn.test",
                                "nosuchuser-zz@posthorn.test"], flags=1 << 3)
    assert [r[:2] for r in res] == [(SENT, "2.0.0"), (SENT, "2.0.0"), (BOUNCE, "5.1.1")]
    assert "delivered to" not in instance.log()


def test_loop_detection(instance):
    maps = make_aliases(instance, "a1: a2\na2: a1\nself: self@remote.example\n")
    start(instance, alias_maps=maps)
    # Delivered-To: naming the recipient: the message went around.
    looped = "Delivered-To: self@posthorn.test\n" + MSG
    qid, res = deliver(instance, ["self@posthorn.test"], content=looped)
    assert res == [(BOUNCE, "5.4.6", "mail forwarding loop for self@posthorn.test")]
    log_line(instance, qid, "self@posthorn.test", "bounced")
    # a1 -> a2 -> a1: the repeated alias is expanded once; nothing delivered.
    _, res = deliver(instance, ["a1@posthorn.test"])
    assert res[0][0] == BOUNCE, res


# -- .forward --------------------------------------------------------------------

@needs_root
def test_dot_forward_with_extension(instance, users):
    start(instance, home_mailbox="Maildir/", recipient_delimiter="+")
    bob = users.add()
    owner = (bob.pw_uid, bob.pw_gid)
    out = os.path.join(bob.pw_dir, "filtered")
    write_as(instance, os.path.join(bob.pw_dir, ".forward+lists"), f"{out}\n", owner=owner)
    write_as(instance, os.path.join(bob.pw_dir, ".forward"),
             f"\\{bob.pw_name}, other@remote.example\n", owner=owner)
    # user+lists: .forward+lists -> a file
    _, res = deliver(instance, [f"{bob.pw_name}+lists@posthorn.test"])
    assert res == [(SENT, "2.0.0", f"delivered to file: {out}")]
    assert "Delivered-To: %s+lists@posthorn.test\n" % bob.pw_name in read(out)
    # plain user: .forward -> own mailbox (\user) plus a remote copy
    _, res = deliver(instance, [f"{bob.pw_name}@posthorn.test"])
    assert res[0][0] == SENT
    assert len(maildir_files(bob.pw_dir)) == 1
    # A group-writable .forward is ignored with a warning.
    os.chmod(os.path.join(bob.pw_dir, ".forward"), 0o664)
    mark = instance.mark()
    _, res = deliver(instance, [f"{bob.pw_name}@posthorn.test"])
    assert res == [(SENT, "2.0.0", "delivered to maildir")]
    instance.wait_log(r"warning: file .*\.forward is group or world writable", since=mark)


# -- virtual ---------------------------------------------------------------------

def test_virtual_mailboxes(instance):
    base = os.path.join(instance.dir, "vmail")
    os.mkdir(base)
    if IS_ROOT:
        os.chown(base, instance.uid, instance.gid)
    vmap = write_as(instance, os.path.join(instance.dir, "vmailbox"),
                    "info@example.com example.com/info/\n"
                    "sales@example.com example.com/sales\n"
                    "bad@example.com ../escape/\n")
    instance.command("postmap", vmap, check=True)
    start(instance, virtual_mailbox_domains="example.com",
          virtual_mailbox_maps="hash:" + vmap, virtual_mailbox_base=base,
          virtual_uid_maps=f"static:{instance.uid}", virtual_gid_maps=f"static:{instance.gid}",
          virtual_minimum_uid="0", virtual_mailbox_limit="100000")
    qid, res = deliver(instance, ["info@example.com", "sales@example.com", "nobody@example.com",
                                  "bad@example.com"], service="virtual")
    assert res[0] == (SENT, "2.0.0", "delivered to maildir")
    assert res[1] == (SENT, "2.0.0", "delivered to mailbox")
    assert res[2] == (BOUNCE, "5.1.1", 'unknown user: "nobody@example.com"')
    assert res[3][0] == DEFER
    files = glob.glob(os.path.join(base, "example.com", "info", "new", "*"))
    assert len(files) == 1
    assert read(files[0]) == ("Return-Path: <alice@example.org>\n"
                              "Delivered-To: info@example.com\n" + MSG)
    assert "Delivered-To: sales@example.com\n" in read(os.path.join(base, "example.com", "sales"))
    assert re.search(rf"posthorn/virtual\[\d+\]: {qid}: to=<info@example.com>, relay=virtual, "
                     r".*status=sent \(delivered to maildir\)", instance.log())
    # Address probes look up without delivering.
    _, res = deliver(instance, ["info@example.com", "nobody@example.com"], service="virtual",
                     flags=1 << 3)
    assert [r[:2] for r in res] == [(SENT, "2.0.0"), (BOUNCE, "5.1.1")]
    assert len(glob.glob(os.path.join(base, "example.com", "info", "new", "*"))) == 1
    assert not os.path.exists(os.path.join(instance.dir, "escape"))


# -- privileges (root instance) -----------------------------------------------------

@pytest.fixture
def root_instance(instance_factory):
    if not IS_ROOT:
        pytest.skip("needs root")
    return instance_factory(root=True)


@pytest.fixture
def root_users(root_instance):
    u = Users(root_instance)
    yield u
    u.cleanup()


@needs_root
def test_root_files_owned_by_recipient(root_instance, root_users):
    inst = root_instance
    start(inst, home_mailbox="Maildir/")
    bob = root_users.add()
    _, res = deliver(inst, [bob.pw_name + "@posthorn.test"])
    assert res == [(SENT, "2.0.0", "delivered to maildir")], inst.log()
    files = maildir_files(bob.pw_dir)
    assert len(files) == 1
    st = os.stat(files[0])
    assert (st.st_uid, st.st_gid) == (bob.pw_uid, bob.pw_gid)
    assert stat.S_IMODE(st.st_mode) == 0o600
    for d in ("", "new", "cur", "tmp"):
        assert os.stat(os.path.join(bob.pw_dir, "Maildir", d)).st_uid == bob.pw_uid


@needs_root
def test_root_symlink_attack_refused(root_instance, root_users):
    inst = root_instance
    start(inst, home_mailbox="Mailbox")
    bob = root_users.add()
    target = os.path.join(inst.dir, "etc-something")
    with open(target, "w") as f:
        f.write("root owned\n")
    os.chmod(target, 0o644)
    os.symlink(target, os.path.join(bob.pw_dir, "Mailbox"))
    os.lchown(os.path.join(bob.pw_dir, "Mailbox"), bob.pw_uid, bob.pw_gid)
    _, res = deliver(inst, [bob.pw_name + "@posthorn.test"])
    assert res[0][0] != SENT, res
    assert "symbolic link" in res[0][2]
    assert read(target) == "root owned\n"


@needs_root
def test_root_command_runs_as_user(root_instance, root_users):
    inst = root_instance
    start(inst, home_mailbox="Maildir/")
    bob = root_users.add()
    write_as(inst, os.path.join(bob.pw_dir, ".forward"), '"|id -u > $HOME/uid.txt"\n',
             mode=0o644, owner=(bob.pw_uid, bob.pw_gid))
    _, res = deliver(inst, [bob.pw_name + "@posthorn.test"])
    assert res[0][0] == SENT, res
    assert read(os.path.join(bob.pw_dir, "uid.txt")).strip() == str(bob.pw_uid)
    st = os.stat(os.path.join(bob.pw_dir, "uid.txt"))
    assert st.st_uid == bob.pw_uid


@needs_root
def test_root_alias_command_as_default_privs(root_instance):
    inst = root_instance
    out = os.path.join(inst.dir, "out")
    os.mkdir(out, 0o777)
    os.chmod(out, 0o777)
    nobody = pwd.getpwnam("nobody")
    path = write_as(inst, os.path.join(inst.dir, "aliases"), f'who: "|id -u > {out}/who"\n',
                    owner=(0, 0))
    inst.command("postalias", path, check=True)
    start(inst, alias_maps="hash:" + path)
    _, res = deliver(inst, ["who@posthorn.test"])
    assert res[0][0] == SENT, res
    assert read(f"{out}/who").strip() == str(nobody.pw_uid)


# -- end to end with qmgr (runs once the qmgr and pickup daemons are built) ------

def test_end_to_end_alias_to_virtual_with_qmgr(instance):
    """sendmail -> pickup -> qmgr -> local (alias to a virtual address: a
    forwarded copy in incoming/) -> qmgr -> virtual -> Maildir."""
    for prog in ("qmgr", "pickup"):
        if not os.path.exists(os.path.join(instance.libexec, prog)):
            pytest.skip(f"{prog} is not built in this tree")
    inst = instance
    base = os.path.join(inst.dir, "vmail")
    os.mkdir(base)
    if IS_ROOT:
        os.chown(base, inst.uid, inst.gid)
    vmap = write_as(inst, os.path.join(inst.dir, "vmailbox"), "info@example.com example.com/info/\n")
    inst.command("postmap", vmap, check=True)
    maps = make_aliases(inst, "fw: info@example.com\n")
    inst.write_main_cf({"mydestination": "posthorn.test", "alias_maps": maps,
                        "virtual_mailbox_domains": "example.com",
                        "virtual_mailbox_maps": "hash:" + vmap, "virtual_mailbox_base": base,
                        "virtual_uid_maps": f"static:{inst.uid}",
                        "virtual_gid_maps": f"static:{inst.gid}", "virtual_minimum_uid": "0"})
    inst.write_master_cf("qmgr unix n - n 300 1 qmgr\npickup unix n - n 60 1 pickup\n" + MASTER_CF)
    inst.start()
    p = inst.run([os.path.join(inst.bindir, "sendmail"), "-C", inst.dir, "-f", "a@x.example",
                  "fw@posthorn.test"], input="Subject: e2e\n\nhello\n")
    assert p.returncode == 0, p.stderr
    files = inst.wait_for(lambda: glob.glob(os.path.join(base, "example.com", "info", "new", "*")),
                          timeout=20, what="virtual delivery")
    text = read(files[0])
    assert text.startswith("Return-Path: <a@x.example>\nDelivered-To: info@example.com\n"
                           "Delivered-To: fw@posthorn.test\n")
    assert text.endswith("\nhello\n")
    m = inst.wait_log(r"to=<info@example.com>, orig_to=<fw@posthorn.test>, relay=local, .*"
                      r"status=sent \(forwarded as (\S+)\)")
    inst.wait_log(rf"{m.group(1)}: to=<info@example.com>, relay=virtual, .*status=sent "
                  r"\(delivered to maildir\)")


@needs_root
def test_root_protected_spool_and_forward_as_mail_owner(root_instance, root_users):
    inst = root_instance
    spool = os.path.join(inst.dir, "spool")
    os.mkdir(spool, 0o755)            # not world-writable: created as root, given to the user
    os.chmod(spool, 0o755)
    bob = root_users.add()
    maps = make_aliases(inst, f"both: {bob.pw_name}, far@remote.example\n")
    start(inst, alias_maps=maps)
    qid, res = deliver(inst, ["both@posthorn.test"])
    assert res[0][0] == SENT, res
    box = os.path.join(spool, bob.pw_name)
    st = os.stat(box)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (bob.pw_uid, bob.pw_gid, 0o600)
    assert "\nDelivered-To: %s@posthorn.test\n" % bob.pw_name in read(box)
    m = log_line(inst, qid, "far@remote.example", r"sent \(forwarded as (\S+)\)")
    new = re.search(r"forwarded as (\S+)\)", m.group(0)).group(1)
    paths = glob.glob(os.path.join(inst.queue, "incoming", "**", new), recursive=True)
    assert len(paths) == 1
    owner = pwd.getpwnam(inst.mail_owner)
    assert os.stat(paths[0]).st_uid == owner.pw_uid      # qmgr (mail_owner) can take it over
    # A spool mailbox that is a symlink is refused, even as root.
    carol = root_users.add()
    target = os.path.join(inst.dir, "victim")
    with open(target, "w") as f:
        f.write("keep\n")
    os.symlink(target, os.path.join(spool, carol.pw_name))
    _, res = deliver(inst, [carol.pw_name + "@posthorn.test"])
    assert res[0][0] == BOUNCE and "symbolic link" in res[0][2], res
    assert read(target) == "keep\n"


@needs_root
def test_duplicates_delivered_once(instance, users):
    bob = users.add()
    maps = make_aliases(instance, f"dup: {bob.pw_name}, {bob.pw_name}@posthorn.test, dup2\n"
                                  f"dup2: {bob.pw_name}\n")
    start(instance, home_mailbox="Maildir/", alias_maps=maps)
    _, res = deliver(instance, ["dup@posthorn.test"])
    assert res == [(SENT, "2.0.0", "delivered to maildir")]
    assert len(maildir_files(bob.pw_dir)) == 1
