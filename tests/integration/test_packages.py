"""Distribution packages: the .deb (built with dpkg-buildpackage, checked
with lintian, installed, run and purged in a Debian 12 chroot) and the RPM
(built with rpmbuild from the `make dist` tarball, listed with rpm -qlp).

The install test never touches the host's own MTA: the .deb conflicts with
mail-transport-agent and would replace Debian's postfix, which other tests
use, so it goes into a chroot made with debootstrap --variant=minbase from
the configured Debian mirror. The chroot base is cached as a tarball in
/var/cache/posthorn-tests (made once, ~3 minutes; later runs unpack it in
seconds). In the chroot: apt-get install ./posthorn_*.deb, posthorn start
(no systemd there), mail with sendmail as an ordinary user (set-gid
postdrop) and by SMTP on a loopback port, read over IMAP as the user
(system passdb, imapd's login split) and checked in the user's Maildir,
posthorn stop, apt-get purge, and a comparison of the file tree with the
one before the install.

All slow (minutes) and root-only; POSTHORN_SKIP_SLOW=1 skips them.
"""
import glob
import imaplib
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tarfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
CACHE = "/var/cache/posthorn-tests"
BASE_TAR = os.path.join(CACHE, "bookworm-minbase.tar")
MIRROR = "http://deb.debian.org/debian"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="package builds and chroots need root"),
]


def version():
    with open(os.path.join(ROOT, "lib", "sys_defs.h")) as f:
        return re.search(r'POSTHORN_VERSION "([^"]+)"', f.read()).group(1)


def run(cmd, timeout=600, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check:
        assert p.returncode == 0, f"{cmd}: exit {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    return p


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """The release tarball and its unpacked tree."""
    d = tmp_path_factory.mktemp("dist")
    run(["make", "-s", f"B={os.path.relpath(BUILD, ROOT)}", "dist", f"DISTDIR={d}"], cwd=ROOT)
    tarball = os.path.join(d, f"posthorn-{version()}.tar.gz")
    with tarfile.open(tarball) as t:
        t.extractall(d)
    return tarball, os.path.join(d, f"posthorn-{version()}")


# -- Debian -----------------------------------------------------------------

@pytest.fixture(scope="module")
def deb(dist):
    if not shutil.which("dpkg-buildpackage") or not shutil.which("dh"):
        pytest.skip("dpkg-dev/debhelper not installed (tools/deps test)")
    _, src = dist
    shutil.copytree(os.path.join(src, "packaging", "debian"), os.path.join(src, "debian"),
                    symlinks=False)
    env = dict(os.environ, DEB_BUILD_OPTIONS=f"nocheck parallel={os.cpu_count() or 2}")
    env.pop("MAKEFLAGS", None)
    run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=1200)
    debs = glob.glob(os.path.join(os.path.dirname(src), f"posthorn_{version()}-*_*.deb"))
    assert len(debs) == 1, debs
    changes = glob.glob(os.path.join(os.path.dirname(src), "posthorn_*.changes"))
    return debs[0], changes[0]


def test_deb_metadata_and_contents(deb):
    path, _ = deb
    info = run(["dpkg-deb", "-f", path, "Provides", "Conflicts", "Replaces", "Depends"]).stdout
    for field in ("Provides", "Conflicts", "Replaces"):
        assert re.search(rf"^{field}: mail-transport-agent$", info, re.M), info
    assert re.search(r"^Depends: .*libssl3", info, re.M), info     # from shlibs
    files = run(["dpkg-deb", "-c", path]).stdout
    for need in ["./usr/sbin/sendmail", "./usr/sbin/postconf", "./usr/sbin/posthorn",
                 "./usr/lib/posthorn/master", "./usr/lib/posthorn/smtpd",
                 "./usr/lib/posthorn/lmtpd -> smtpd",
                 "./etc/posthorn/main.cf", "./etc/posthorn/master.cf",
                 "./lib/systemd/system/posthorn.service", "./etc/logrotate.d/posthorn",
                 "./usr/share/man/man5/main.cf.5.gz", "./usr/share/man/man7/posthorn.7.gz",
                 "./usr/sbin/mailq -> sendmail", "./usr/sbin/newaliases -> postalias",
                 "./usr/lib/sendmail -> ../sbin/sendmail"]:
        assert re.search(r" " + re.escape(need) + r"$", files, re.M), need
    ctl = run(["dpkg-deb", "--ctrl-tarfile", path]).stdout
    conffiles = run(["sh", "-c", f"dpkg-deb -I {path} conffiles"]).stdout.split()
    assert "/etc/posthorn/main.cf" in conffiles and "/etc/posthorn/master.cf" in conffiles
    assert ctl is not None
    unit = run(["sh", "-c", f"dpkg-deb --fsys-tarfile {path} | tar -xO ./lib/systemd/system/posthorn.service"]).stdout
    assert "ExecReload=/usr/sbin/posthorn reload" in unit
    assert "PIDFile=/var/spool/posthorn/pid/master.pid" in unit


def test_lintian_no_errors(deb):
    if not shutil.which("lintian"):
        pytest.skip("lintian not installed")
    _, changes = deb
    p = run(["lintian", "--allow-root", "--no-tag-display-limit", changes], check=False,
            timeout=600)
    errors = [l for l in p.stdout.splitlines() if l.startswith("E:")]
    assert not errors, p.stdout
    assert p.returncode == 0, p.stdout + p.stderr


def chroot_base():
    """Unpackable Debian 12 minbase tree, cached; None when unobtainable."""
    if os.path.exists(BASE_TAR):
        return BASE_TAR
    if not shutil.which("debootstrap"):
        return None
    os.makedirs(CACHE, exist_ok=True)
    tmp = os.path.join(CACHE, "build-root")
    shutil.rmtree(tmp, ignore_errors=True)
    p = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", tmp, MIRROR],
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    run(["tar", "-C", tmp, "--numeric-owner", "-cf", BASE_TAR + ".tmp", "."])
    os.rename(BASE_TAR + ".tmp", BASE_TAR)
    shutil.rmtree(tmp, ignore_errors=True)
    return BASE_TAR


class Chroot:
    def __init__(self, path):
        self.path = path

    def run(self, *cmd, user=None, input=None, check=True, timeout=300):
        args = ["chroot"] + ([f"--userspec={user}:{user}"] if user else []) + [self.path]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C",
               "DEBIAN_FRONTEND": "noninteractive", "HOME": "/root"}
        p = subprocess.run(args + list(cmd), capture_output=True, text=True, timeout=timeout,
                           input=input, env=env)
        if check:
            assert p.returncode == 0, f"{cmd}: exit {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
        return p

    def file(self, path):
        return self.path + path

    def pids(self):
        """Processes whose root directory is this chroot (ours)."""
        found = []
        for d in glob.glob("/proc/[0-9]*"):
            try:
                if os.readlink(d + "/root") == self.path:
                    found.append(int(os.path.basename(d)))
            except OSError:
                pass
        return found

    def snapshot(self):
        """Paths of the tree, less what package management always changes."""
        skip = ("/proc", "/dev", "/tmp", "/run", "/var/cache", "/var/lib/apt",
                "/var/lib/dpkg", "/var/log", "/home", "/root")
        paths = set()
        for top, dirs, files in os.walk(self.path):
            rel = top[len(self.path):] or "/"
            if rel.startswith(skip):
                dirs[:] = []
                continue
            for n in dirs + files:
                paths.add(os.path.join(rel, n))
        return paths


@pytest.fixture
def chroot(tmp_path):
    base = chroot_base()
    if base is None:
        pytest.skip("no Debian chroot: debootstrap missing or the mirror unreachable")
    path = str(tmp_path / "root")
    os.mkdir(path)
    run(["tar", "-C", path, "--numeric-owner", "-xf", base])
    shutil.copy("/etc/resolv.conf", path + "/etc/resolv.conf")
    with open(path + "/usr/sbin/policy-rc.d", "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod(path + "/usr/sbin/policy-rc.d", 0o755)
    run(["mount", "-t", "proc", "proc", path + "/proc"])
    c = Chroot(path)
    try:
        yield c
    finally:
        for pid in c.pids():
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.5)
        if subprocess.run(["umount", path + "/proc"]).returncode != 0:
            subprocess.run(["umount", "-l", path + "/proc"])
        shutil.rmtree(path, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def maildir_with(c, text):
    # new/ until a mail reader has seen it, cur/ after (IMAP SELECT)
    for f in glob.glob(c.file("/home/alice/Maildir/new/*")) + \
            glob.glob(c.file("/home/alice/Maildir/cur/*")):
        with open(f, errors="replace") as fh:
            if text in fh.read():
                return f
    return None


def test_deb_install_run_purge_in_chroot(deb, chroot):
    c = chroot
    path, _ = deb
    shutil.copy(path, c.file("/tmp/"))
    c.run("apt-get", "update", "-qq", timeout=300)
    c.run("useradd", "-m", "alice")
    c.run("chpasswd", input="alice:wonderland-42\n")
    before = c.snapshot()

    p = c.run("apt-get", "install", "-y", "-q", "--no-install-recommends",
              "/tmp/" + os.path.basename(path), timeout=600)
    # postinst: posthorn check made the accounts, the queue, /etc/aliases
    assert 'created system user "posthorn"' in p.stdout + p.stderr
    assert c.run("getent", "passwd", "posthorn").stdout.split(":")[6].strip() == "/usr/sbin/nologin"
    postdrop_gid = int(c.run("getent", "group", "postdrop").stdout.split(":")[2])
    st = os.stat(c.file("/usr/sbin/postdrop"))
    assert st.st_gid == postdrop_gid and (st.st_mode & 0o7777) == 0o2755
    st = os.stat(c.file("/var/spool/posthorn/maildrop"))
    assert st.st_gid == postdrop_gid and (st.st_mode & 0o7777) == 0o1730
    assert os.path.exists(c.file("/etc/aliases")) and os.path.exists(c.file("/etc/aliases.lmdb"))
    assert c.run("postalias", "-q", "postmaster", "hash:/etc/aliases").stdout == "root\n"
    assert os.path.exists(c.file("/usr/share/man/man5/main.cf.5.gz"))

    # no systemd in the chroot: start by hand, on a loopback port (the
    # host's port 25 may belong to the host's own MTA)
    ports = {}
    with open(c.file("/etc/posthorn/master.cf")) as f:
        mcf = f.read()

    def relisten(m):
        ports[m.group(1)] = free_port()
        return f"127.0.0.1:{ports[m.group(1)]}{m.group(2)}inet"
    mcf = re.sub(r"^(smtp|imap|pop3)(\s+)inet", relisten, mcf, flags=re.M)
    assert "smtp" in ports
    port = ports["smtp"]
    with open(c.file("/etc/posthorn/master.cf"), "w") as f:
        f.write(mcf)
    c.run("postconf", "-e", "myhostname = chroot.posthorn.test")
    c.run("posthorn", "start")
    assert "is running" in c.run("posthorn", "status").stdout

    # an ordinary user submits with sendmail (set-gid postdrop)
    p = c.run("/usr/sbin/sendmail", "-t", user="alice",
              input="To: alice\nSubject: package test one\n\nfirst body\n", check=False)
    assert p.returncode == 0, p.stderr
    wait_for(lambda: maildir_with(c, "first body"), "sendmail delivery to ~alice/Maildir")

    # alice reads it over IMAP: the auth service checks her system
    # password, imapd serves the session as her uid
    assert "imap" in ports
    m = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=30)
    m.login("alice", "wonderland-42")
    typ, data = m.select("INBOX")
    assert typ == "OK" and int(data[0]) >= 1, data
    typ, data = m.search(None, "SUBJECT", '"package test one"')
    assert typ == "OK" and data[0].split(), data
    typ, msg = m.fetch(data[0].split()[0], "(BODY.PEEK[])")
    assert typ == "OK" and b"first body" in msg[0][1], msg
    m.logout()
    # the POP3 server of the shipped master.cf answers too
    if "pop3" in ports:
        with socket.create_connection(("127.0.0.1", ports["pop3"]), timeout=30) as s:
            assert s.recv(200).startswith(b"+OK")

    # and by SMTP from outside
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.sendmail("bob@example.org", ["alice@localhost"],
                   "From: bob@example.org\r\nSubject: package test two\r\n\r\nsecond body\r\n")
    f = wait_for(lambda: maildir_with(c, "second body"), "SMTP delivery to ~alice/Maildir")
    st = os.stat(f)
    assert st.st_uid == int(c.run("id", "-u", "alice").stdout) and (st.st_mode & 0o777) == 0o600
    wait_for(lambda: "Mail queue is empty" in c.run("mailq").stdout, "an empty queue")

    c.run("posthorn", "stop")
    assert c.run("posthorn", "status", check=False).returncode == 1
    assert c.pids() == [], "processes left in the chroot after posthorn stop"

    c.run("apt-get", "purge", "--autoremove", "-y", "-q", "posthorn", timeout=300)
    after = c.snapshot()
    added = sorted(after - before)
    removed = sorted(before - after)
    # what stays on purge, by design: /etc/aliases (shared by every MTA),
    # the posthorn user and postdrop group (files may still be theirs),
    # shadow backups, and debhelper's empty systemd state directory
    allowed = {"/etc/aliases", "/etc/passwd-", "/etc/group-", "/etc/shadow-", "/etc/gshadow-",
               "/var/lib/systemd/deb-systemd-helper-enabled",
               "/var/lib/systemd/deb-systemd-helper-masked"}
    assert [a for a in added if a not in allowed] == [], added
    assert removed == [], removed
    assert not os.path.exists(c.file("/var/spool/posthorn"))
    assert not os.path.exists(c.file("/etc/posthorn"))
    assert not os.path.exists(c.file("/usr/sbin/sendmail"))
    # the mail delivered stays the user's
    assert maildir_with(c, "first body") and maildir_with(c, "second body")


# -- RPM --------------------------------------------------------------------

def test_rpm_builds_from_dist_tarball(dist, tmp_path):
    if not shutil.which("rpmbuild"):
        pytest.skip("rpm (rpmbuild) not installed")
    tarball, src = dist
    top = tmp_path / "rpmbuild"
    (top / "SOURCES").mkdir(parents=True)
    shutil.copy(tarball, top / "SOURCES")
    # --nodeps: the BuildRequires are Fedora package names, not on Debian
    run(["rpmbuild", "-bb", "--nodeps", "--define", f"_topdir {top}",
         "--define", f"_smp_mflags -j{os.cpu_count() or 2}",
         os.path.join(src, "packaging", "rpm", "posthorn.spec")], timeout=1200)
    rpms = glob.glob(str(top / "RPMS" / "*" / f"posthorn-{version()}-*.rpm"))
    assert len(rpms) == 1, rpms
    files = set(run(["rpm", "-qlp", rpms[0]]).stdout.split())
    for need in ["/usr/libexec/posthorn/master", "/usr/libexec/posthorn/smtpd",
                 "/usr/libexec/posthorn/lmtpd",
                 "/usr/libexec/posthorn/qmgr", "/usr/sbin/posthorn", "/usr/sbin/postconf",
                 "/usr/sbin/postdrop", "/usr/sbin/sendmail.posthorn", "/usr/sbin/mailq.posthorn",
                 "/usr/sbin/newaliases.posthorn", "/usr/sbin/sendmail",
                 "/etc/posthorn/main.cf", "/etc/posthorn/master.cf",
                 "/usr/lib/systemd/system/posthorn.service",
                 "/usr/share/man/man5/main.cf.5.gz", "/usr/share/man/man1/sendmail.posthorn.1.gz",
                 "/var/spool/posthorn", "/var/lib/posthorn"]:
        assert need in files, need
    conf = run(["rpm", "-qpc", rpms[0]]).stdout.split()
    assert conf == ["/etc/posthorn/main.cf", "/etc/posthorn/master.cf"]
    scripts = run(["rpm", "-qp", "--scripts", rpms[0]]).stdout
    assert "alternatives --install /usr/sbin/sendmail mta /usr/sbin/sendmail.posthorn" in scripts
    assert "useradd -r -g posthorn" in scripts and "groupadd -r postdrop" in scripts
    assert "alternatives --remove mta /usr/sbin/sendmail.posthorn" in scripts
    prov = run(["rpm", "-qp", "--provides", rpms[0]]).stdout
    assert "MTA" in prov.split()
