"""make install, posthorn check's provisioning as root, and the release
tarball (make dist, then ./configure && make && make check inside it).

The install test uses the tree's own Makefile with DESTDIR, so it checks
the layout of the configured paths; the dist test configures the tarball
with a distribution's paths and installs that too.
"""
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
# A sanitizer build must be remade with the same flags if make thinks it stale.
SAN = ["SANITIZE=1"] if os.environ.get("POSTHORN_SANITIZE") else []
DAEMONS = ["anvil", "auth", "local", "master", "pickup", "qmgr", "smtpd"]
COMMANDS = ["posthorn", "postconf", "postmap", "postalias", "postqueue", "postsuper",
            "postcat", "sendmail", "postdrop"]
PAGES = ["man1/posthorn.1", "man1/sendmail.1", "man1/postconf.1", "man5/main.cf.5",
         "man5/master.cf.5", "man5/aliases.5", "man7/posthorn.7", "man8/master.8",
         "man8/qmgr.8"]


def version():
    with open(os.path.join(ROOT, "lib", "sys_defs.h")) as f:
        return re.search(r'POSTHORN_VERSION "([^"]+)"', f.read()).group(1)


def makefile_dirs(makefile):
    """The installation directories of a configured Makefile, expanded."""
    raw = {}
    with open(makefile) as f:
        for line in f:
            m = re.match(r"^(\w+) = (.*)$", line.rstrip("\n"))
            if m:
                raw.setdefault(m.group(1), m.group(2))

    def expand(v):
        for _ in range(10):
            v = re.sub(r"\$[({](\w+)[)}]", lambda m: raw.get(m.group(1), ""), v)
        return v
    return {k: expand(raw[k]) for k in ("sbindir", "libexecdir", "sysconfdir",
                                        "localstatedir", "mandir")}


def check_layout(dest, d):
    """Assert what `make install DESTDIR=dest` must have put where."""
    def p(path):
        return dest + path
    for name in DAEMONS:
        f = p(f"{d['libexecdir']}/posthorn/{name}")
        assert os.path.isfile(f) and os.access(f, os.X_OK), f
    for name in COMMANDS:
        f = p(f"{d['sbindir']}/{name}")
        assert os.path.isfile(f) and os.access(f, os.X_OK), f
    assert os.readlink(p(f"{d['sbindir']}/mailq")) == "sendmail"
    assert os.readlink(p(f"{d['libexecdir']}/posthorn/lmtpd")) == "smtpd"
    assert os.readlink(p(f"{d['sbindir']}/newaliases")) == "postalias"
    for name in ("main.cf", "master.cf"):
        with open(p(f"{d['sysconfdir']}/posthorn/{name}")) as a, \
                open(os.path.join(ROOT, "conf", name)) as b:
            assert a.read() == b.read()
    assert os.path.isdir(p(f"{d['localstatedir']}/spool/posthorn"))
    assert os.path.isdir(p(f"{d['localstatedir']}/lib/posthorn"))
    for page in PAGES:
        assert os.path.isfile(p(f"{d['mandir']}/{page}")), page
    assert os.readlink(p(f"{d['mandir']}/man1/mailq.1")) == "sendmail.1"
    assert os.readlink(p(f"{d['mandir']}/man1/newaliases.1")) == "postalias.1"
    # nothing but the install tree (no build products, no tests)
    assert not os.path.exists(p(f"{d['sbindir']}/test_vstring"))


def run_make(args, cwd, timeout=900, env=None):
    p = subprocess.run(["make", "-s"] + args, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env=env)
    assert p.returncode == 0, f"make {' '.join(args)}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


def test_make_install_layout_keeps_existing_config(tmp_path):
    makefile = os.path.join(ROOT, "Makefile")
    if not os.path.exists(makefile):
        pytest.skip("tree not configured")
    d = makefile_dirs(makefile)
    dest = str(tmp_path / "root")
    b = os.path.relpath(BUILD, ROOT)
    run_make([f"B={b}", *SAN, "install", f"DESTDIR={dest}"], ROOT)
    check_layout(dest, d)

    # an administrator's main.cf survives a second install
    main_cf = f"{dest}{d['sysconfdir']}/posthorn/main.cf"
    with open(main_cf, "w") as f:
        f.write("myhostname = mine.example\n")
    p = run_make([f"B={b}", *SAN, "install", f"DESTDIR={dest}"], ROOT)
    assert "keeping existing" in p.stdout
    with open(main_cf) as f:
        assert f.read() == "myhostname = mine.example\n"

    # uninstall takes the programs and pages, not configuration or queue
    run_make([f"B={b}", *SAN, "uninstall", f"DESTDIR={dest}"], ROOT)
    assert not os.path.exists(f"{dest}{d['sbindir']}/posthorn")
    assert not os.path.lexists(f"{dest}{d['sbindir']}/mailq")
    assert not os.path.exists(f"{dest}{d['libexecdir']}/posthorn")
    assert not os.path.exists(f"{dest}{d['mandir']}/man5/main.cf.5")
    assert os.path.exists(main_cf)


@pytest.mark.skipif(os.geteuid() != 0, reason="creates users: needs root")
def test_check_as_root_creates_accounts_and_aliases(tmp_path):
    user, group = "phpkgtu", "phpkgtg"
    for name, db in ((user, pwd.getpwnam), (group, grp.getgrnam)):
        try:
            db(name)
            pytest.skip(f"{name} exists already")
        except KeyError:
            pass
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "main.cf").write_text(f"""queue_directory = {tmp_path}/queue
data_directory = {tmp_path}/data
daemon_directory = {BUILD}/libexec
command_directory = {BUILD}/bin
mail_owner = {user}
setgid_group = {group}
alias_database = hash:{tmp_path}/aliases
alias_maps = hash:{tmp_path}/aliases
""")
    (conf / "master.cf").write_text("")
    posthorn = os.path.join(BUILD, "bin", "posthorn")
    try:
        p = subprocess.run([posthorn, "-c", str(conf), "check"], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert f'created system user "{user}"' in p.stderr
        assert f'created system group "{group}"' in p.stderr
        pw = pwd.getpwnam(user)
        gr = grp.getgrnam(group)
        assert pw.pw_shell == "/usr/sbin/nologin" and pw.pw_uid < 1000
        maildrop = os.stat(tmp_path / "queue" / "maildrop")
        assert (maildrop.st_uid, maildrop.st_gid) == (pw.pw_uid, gr.gr_gid)
        assert stat.S_IMODE(maildrop.st_mode) == 0o1730
        with open(tmp_path / "aliases") as f:
            assert "postmaster: root" in f.read()
        assert os.path.exists(tmp_path / "aliases.lmdb")
        q = subprocess.run([os.path.join(BUILD, "bin", "postalias"), "-c", str(conf), "-q",
                            "mailer-daemon", f"hash:{tmp_path}/aliases"],
                           capture_output=True, text=True, timeout=30)
        assert q.stdout == "postmaster\n", q.stderr
        # -c instance: the build tree's postdrop is never made set-gid
        assert not os.stat(os.path.join(BUILD, "bin", "postdrop")).st_mode & stat.S_ISGID
        # a second check changes nothing and says so quietly
        p = subprocess.run([posthorn, "-c", str(conf), "check"], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0 and p.stderr == "", p.stderr
    finally:
        subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", user], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


def make_dist(dest):
    """Build the release tarball into dest; return its path."""
    b = os.path.relpath(BUILD, ROOT)
    run_make([f"B={b}", "dist", f"DISTDIR={dest}"], ROOT)
    path = os.path.join(dest, f"posthorn-{version()}.tar.gz")
    assert os.path.isfile(path)
    return path


@pytest.mark.slow
def test_dist_tarball_configures_builds_checks_and_installs(tmp_path):
    os.chmod(tmp_path, 0o755)     # instances run as an unprivileged user
    tarball = make_dist(str(tmp_path))
    with tarfile.open(tarball) as t:
        names = t.getnames()
        t.extractall(tmp_path / "src")
    top = f"posthorn-{version()}"
    assert all(n == top or n.startswith(top + "/") for n in names)
    for need in ("configure", "Makefile.in", "man/main.cf.5", "lib/params.def",
                 "packaging/debian/control", "packaging/rpm/posthorn.spec", "tests/run"):
        assert f"{top}/{need}" in names, need
    assert not [n for n in names if "/build/" in n or n.endswith(".o")]
    src = str(tmp_path / "src" / top)
    p = subprocess.run(["./configure", "--prefix=/usr", "--sysconfdir=/etc",
                        "--localstatedir=/var", "--libexecdir=/usr/lib"],
                       cwd=src, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    jobs = str(os.cpu_count() or 2)
    run_make(["-j" + jobs], src)
    # The tarball's own suite, less what would recurse or take minutes:
    # the unit tests, the manual pages and postconf on the shipped files.
    env = dict(os.environ, POSTHORN_SKIP_SLOW="1")
    env.pop("POSTHORN_BUILD", None)
    p = run_make(["check", "TESTS=tests/test_unit.py tests/test_man.py "
                  "tests/integration/test_postconf.py"], src, env=env)
    assert re.search(r"\d+ passed", p.stdout), p.stdout[-2000:]
    assert " failed" not in p.stdout
    dest = str(tmp_path / "root")
    run_make(["install", f"DESTDIR={dest}"], src)
    check_layout(dest, makefile_dirs(os.path.join(src, "Makefile")))
