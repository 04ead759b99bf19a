"""A whole Posthorn instance in a temporary directory, for integration tests.

Every integration test gets its instances from the `instance_factory`
fixture (tests/conftest.py), which wraps this class:

    inst = instance_factory()                 # main.cf written, not started
    port = inst.free_port()
    inst.write_master_cf(f"{port} inet n - n - 2 {inst.test_program('echod')}\n")
    inst.start()
    with inst.connect(port) as c:
        assert c.greeting.startswith("220")
    inst.wait_log(r"daemon started")

Layout: DIR/main.cf, DIR/master.cf, DIR/queue (queue_directory), DIR/data
(data_directory), DIR/maillog (maillog_file), DIR/sanitizer (ASan/UBSan
reports when POSTHORN_SANITIZE=1). daemon_directory is
$POSTHORN_BUILD/libexec, command_directory $POSTHORN_BUILD/bin; test-only
daemons are in $POSTHORN_BUILD/tests (inst.test_program(name)).

Users: run as root, an instance runs as the unprivileged user `phtest`
(created when missing) so the tested mode is the unprivileged instance;
Instance(root=True) runs master as root with mail_owner `phmail` and
setgid_group `phdrop`. Run as another user, everything runs as that user.

Teardown (inst.teardown(), called by the fixture) stops the instance,
kills anything left that names the instance directory, and returns the
sanitizer reports found (the fixture fails the test on any).
"""
import glob
import os
import pwd
import grp
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
SANITIZE = os.environ.get("POSTHORN_SANITIZE") == "1"

TEST_USER = "phtest"
ROOT_MAIL_OWNER = "phmail"
ROOT_SETGID_GROUP = "phdrop"


def ensure_user(name):
    """Create a system user (and its group) when missing; return pwd entry."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group",
                        "--shell", "/usr/sbin/nologin", name], check=True)
        return pwd.getpwnam(name)


def ensure_group(name):
    try:
        return grp.getgrnam(name)
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True)
        return grp.getgrnam(name)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port that nothing listens on right now."""
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class LineClient:
    """A line-oriented TCP client (CRLF), enough for echod and friends."""

    def __init__(self, port, host="127.0.0.1", timeout=10, read_greeting=True):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.file = self.sock.makefile("rb")
        self.greeting = self.readline() if read_greeting else None

    def readline(self):
        return self.file.readline().decode("utf-8", "replace").rstrip("\r\n")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def cmd(self, line):
        self.send(line)
        return self.readline()

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Instance:
    """One Posthorn instance; see the module docstring."""

    def __init__(self, root=False, main_cf=None):
        self.root_mode = root
        self.is_root = os.geteuid() == 0
        if root and not self.is_root:
            raise RuntimeError("root instance needs root")
        self.dir = tempfile.mkdtemp(prefix="ph-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        self.sanitizer_dir = os.path.join(self.dir, "sanitizer")
        os.mkdir(self.sanitizer_dir)
        os.chmod(self.sanitizer_dir, 0o1777)
        self.libexec = os.path.join(BUILD, "libexec")
        self.bindir = os.path.join(BUILD, "bin")
        if root:
            self.user = "root"
            self.mail_owner = ensure_user(ROOT_MAIL_OWNER).pw_name
            self.setgid_group = ensure_group(ROOT_SETGID_GROUP).gr_name
            self.uid = self.gid = 0
        elif self.is_root:
            pw = ensure_user(TEST_USER)
            self.user = self.mail_owner = pw.pw_name
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            self.setgid_group = grp.getgrgid(pw.pw_gid).gr_name
        else:
            pw = pwd.getpwuid(os.getuid())
            self.user = self.mail_owner = pw.pw_name
            self.uid, self.gid = os.getuid(), os.getgid()
            self.setgid_group = grp.getgrgid(os.getgid()).gr_name
        if self.is_root and not root:
            os.chown(self.dir, self.uid, self.gid)
        self.params = {
            "config_directory": self.dir,
            "queue_directory": self.queue,
            "data_directory": self.data,
            "daemon_directory": self.libexec,
            "command_directory": self.bindir,
            "maillog_file": self.maillog,
            "inet_interfaces": "127.0.0.1",
            "mail_owner": self.mail_owner,
            "setgid_group": self.setgid_group,
            "myhostname": "posthorn.test",
            "mydomain": "posthorn.test",
        }
        if main_cf:
            self.params.update(main_cf)
        self.write_main_cf()
        self.write_master_cf("")
        self.started = False

    # -- files -----------------------------------------------------------
    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        if self.is_root and not self.root_mode:
            os.chown(path, self.uid, self.gid)
        return path

    def write_main_cf(self, extra=None, raw=""):
        """(Re)write main.cf from self.params plus extra (dict) and raw text."""
        if extra:
            self.params.update(extra)
        text = "".join(f"{k} = {v}\n" for k, v in self.params.items()) + raw
        return self._write("main.cf", text)

    def write_master_cf(self, text):
        return self._write("master.cf", text)

    def test_program(self, name):
        """Absolute path of a test-only daemon (tests/services/NAME.c)."""
        return os.path.join(BUILD, "tests", name)

    def free_port(self):
        return free_port()

    def free_ports(self, n):
        """n distinct free loopback ports."""
        ports = []
        while len(ports) < n:
            p = free_port()
            if p not in ports:
                ports.append(p)
        return ports

    def program(self, name):
        """Absolute path of a command in command_directory (build/bin)."""
        return os.path.join(self.bindir, name)

    def daemon(self, name):
        """Absolute path of a daemon in daemon_directory (build/libexec)."""
        return os.path.join(self.libexec, name)

    # -- running commands --------------------------------------------------
    def env(self):
        env = dict(os.environ)
        env.pop("MAIL_CONFIG", None)
        if SANITIZE:
            for var, stem in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
                opts = env.get(var, "")
                add = f"log_path={os.path.join(self.sanitizer_dir, stem)}"
                env[var] = f"{opts}:{add}" if opts else add
        return env

    def as_user(self, argv):
        """argv wrapped so it runs as the instance user."""
        if self.is_root and not self.root_mode:
            return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}",
                    "--clear-groups", "--"] + list(argv)
        return list(argv)

    def run(self, argv, check=False, timeout=60, input=None):
        """Run any program as the instance user; CompletedProcess (text)."""
        p = subprocess.run(self.as_user(argv), capture_output=True, text=True,
                           timeout=timeout, input=input, env=self.env(), cwd=self.dir)
        if check and p.returncode != 0:
            raise AssertionError(f"{argv} exit {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p

    def posthorn(self, *args, check=False, timeout=60):
        """posthorn -c DIR ARGS..."""
        return self.run([os.path.join(self.bindir, "posthorn"), "-c", self.dir, *args],
                        check=check, timeout=timeout)

    def command(self, name, *args, **kw):
        """A command from command_directory: NAME -c DIR ARGS..."""
        return self.run([os.path.join(self.bindir, name), "-c", self.dir, *args], **kw)

    # -- life cycle --------------------------------------------------------
    def start(self, check=True):
        p = self.posthorn("start")
        if check and p.returncode != 0:
            raise AssertionError(f"posthorn start failed ({p.returncode}):\n{p.stderr}\n"
                                 f"maillog:\n{self.log()}")
        self.started = self.started or p.returncode == 0
        return p

    def stop(self, check=True):
        p = self.posthorn("stop")
        if check and p.returncode != 0:
            raise AssertionError(f"posthorn stop failed ({p.returncode}):\n{p.stderr}")
        return p

    def reload(self, check=True):
        mark = self.mark()
        p = self.posthorn("reload", check=check)
        # master logs "reload -- ..." once the new listeners are open, or
        # "error: reload: ..." when it keeps the old configuration
        self.wait_log(r"master\[\d+\]: (reload --|error: reload)", since=mark)
        return p

    def status(self):
        return self.posthorn("status")

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def service_counts(self):
        """{service name: process count} from master's status file."""
        counts = {}
        try:
            with open(os.path.join(self.queue, "pid", "master.status")) as f:
                for line in f:
                    w = line.split()
                    if w and w[0] == "service":
                        counts[w[1]] = int(w[w.index("processes") + 1])
        except OSError:
            pass
        return counts

    def processes(self):
        """pids of every process whose command line names this instance."""
        pids = []
        needle = self.dir.encode()
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(os.path.join(d, "cmdline"), "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            pid = int(os.path.basename(d))
            if pid != os.getpid() and needle in cmd and b"setpriv" not in cmd:
                pids.append(pid)
        return pids

    def children(self, program=None):
        """pids of master's children (optionally only those running PROGRAM)."""
        mpid = self.master_pid()
        out = []
        for pid in self.processes():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == mpid and (program is None or os.path.basename(argv0) == program):
                out.append(pid)
        return out

    # -- logs ---------------------------------------------------------------
    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def mark(self):
        """Current end of the log, for wait_log(since=...)."""
        try:
            return os.path.getsize(self.maillog)
        except OSError:
            return 0

    def wait_log(self, regex, timeout=10, since=0):
        """Wait until the log (from offset since) matches regex; the match."""
        rx = re.compile(regex, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log()[since:])
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"log did not match {regex!r} within {timeout}s:\n"
                                     f"{self.log()[since:][-4000:]}")
            time.sleep(0.05)

    def wait_for(self, predicate, timeout=10, what="condition"):
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def connect(self, port, host="127.0.0.1", timeout=10, read_greeting=True):
        return LineClient(port, host=host, timeout=timeout, read_greeting=read_greeting)

    # -- teardown ------------------------------------------------------------
    def sanitizer_reports(self):
        reports = []
        for path in sorted(glob.glob(os.path.join(self.sanitizer_dir, "*"))):
            try:
                with open(path, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            if text.strip():
                reports.append(f"== {path}\n{text}")
        return reports

    def teardown(self):
        """Stop, kill leftovers, and return sanitizer reports (list of text)."""
        if self.master_pid() is not None:
            try:
                self.posthorn("stop", timeout=40)
            except subprocess.TimeoutExpired:
                pass
        for _ in range(50):
            left = self.processes()
            if not left:
                break
            time.sleep(0.1)
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reports = self.sanitizer_reports()
        if not reports and os.environ.get("POSTHORN_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        return reports
