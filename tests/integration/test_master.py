"""master, the server skeletons and the posthorn command, end to end.

Each test runs a whole instance (tests/integration/instance.py) with the
test-only daemons echod (single server: greets with echod_greeting or
$myhostname plus its pid/uid, echoes lines) and trigd (trigger server).
"""
import os
import signal
import socket
import stat
import time

import pytest

from instance import LineClient, have_ipv6_loopback


def echod_service(inst, port, maxproc="-", extra=""):
    return f"{port} inet n - n - {maxproc} {inst.test_program('echod')} {extra}\n"


def pid_of(greeting):
    for word in greeting.split():
        if word.startswith("pid="):
            return int(word[4:])
    raise AssertionError(f"no pid in greeting {greeting!r}")


def uid_of_process(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return int(fields["Uid"].split()[0]), int(fields["Gid"].split()[0])


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_start_status_stop(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    instance.wait_log(r"posthorn/master\[\d+\]: daemon started")
    st = instance.status()
    assert st.returncode == 0, st.stderr
    assert f"running: PID: {instance.master_pid()}" in st.stdout
    with instance.connect(port) as c:
        assert c.greeting.startswith("220 posthorn.test pid=")
        assert c.cmd("hello there") == "250 hello there"
        instance.wait_for(lambda: instance.service_counts().get(str(port)) == 1,
                          what="status file shows 1 process")
        st = instance.status()
        assert f"{port}" in st.stdout and "processes 1" in st.stdout, st.stdout
        assert c.cmd("quit") == "221 bye"
    instance.stop()
    assert instance.status().returncode == 1
    assert "not running" in instance.status().stdout
    assert instance.processes() == []


def test_second_start_refused(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    first = instance.master_pid()
    p = instance.start(check=False)
    assert p.returncode != 0
    assert "already running" in p.stderr
    assert instance.master_pid() == first
    # the running one still serves
    with instance.connect(port) as c:
        assert c.greeting.startswith("220 ")


def test_kill9_child_is_restarted(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    with instance.connect(port) as c:
        victim = pid_of(c.greeting)
        mark = instance.mark()
        os.kill(victim, signal.SIGKILL)
        instance.wait_log(rf"warning: process \S+/echod pid {victim} killed by signal 9",
                          since=mark)
        assert c.readline() == ""  # our connection died with it
    with instance.connect(port) as c:
        assert c.greeting.startswith("220 ")
        assert pid_of(c.greeting) != victim
        assert c.cmd("again") == "250 again"
    assert "throttling" not in instance.log()


def test_child_exit_status_logged(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    with instance.connect(port) as c:
        pid = pid_of(c.greeting)
        c.send("exit 3")
        assert c.readline() == ""
    instance.wait_log(rf"warning: process \S+/echod pid {pid} exit status 3")
    with instance.connect(port) as c:
        pid2 = pid_of(c.greeting)
        c.send("crash")
        assert c.readline() == ""
    instance.wait_log(rf"warning: process \S+/echod pid {pid2} killed by signal 6")
    with instance.connect(port) as c:
        assert c.cmd("alive") == "250 alive"


def test_bad_command_startup_throttles(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port, extra="-o echod_fail_startup=yes"))
    instance.write_main_cf({"service_throttle_time": "2s"})
    instance.start()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    instance.wait_log(r"fatal: service \S+: echod_fail_startup is set")
    instance.wait_log(r"warning: \S+/echod: bad command startup -- throttling")
    # throttled: no tight restart loop; after the throttle time it retries
    n1 = instance.log().count("bad command startup")
    time.sleep(1.0)
    assert instance.log().count("echod_fail_startup is set") <= 2
    instance.wait_for(lambda: instance.log().count("echod_fail_startup is set") >= 2,
                      timeout=10, what="retry after throttle time")
    assert n1 >= 1
    s.close()


def test_missing_program_throttles(instance):
    port = instance.free_port()
    instance.write_master_cf(f"{port} inet n - n - - /nonexistent/echod\n")
    instance.start()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    instance.wait_log(r"fatal: exec /nonexistent/echod: No such file")
    instance.wait_log(r"warning: process /nonexistent/echod pid \d+ exit status 1")
    instance.wait_log(r"warning: /nonexistent/echod: bad command startup -- throttling")
    s.close()


def test_reload_changes_parameter_keeps_open_connection(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.write_main_cf({"myhostname": "before.test"})
    instance.start()
    old = instance.connect(port)
    assert old.greeting.startswith("220 before.test ")
    old_pid = pid_of(old.greeting)
    instance.write_main_cf({"myhostname": "after.test"})
    instance.reload()
    with instance.connect(port) as new:
        assert new.greeting.startswith("220 after.test "), new.greeting
        assert pid_of(new.greeting) != old_pid
    # the connection that was open across the reload is not cut
    assert old.cmd("still here") == "250 still here"
    assert old.cmd("param myhostname") == "250 before.test"
    assert old.cmd("quit") == "221 bye"
    old.close()
    # and its process goes away once it is done
    instance.wait_for(lambda: not pid_alive(old_pid), what="old child exit")


def test_reload_adds_and_removes_service(instance):
    p1, p2 = instance.free_ports(2)
    instance.write_master_cf(echod_service(instance, p1))
    instance.start()
    with instance.connect(p1) as c:
        assert c.greeting.startswith("220 ")
    with pytest.raises(ConnectionRefusedError):
        LineClient(p2)
    instance.write_master_cf(echod_service(instance, p2, extra="-o echod_greeting=second"))
    instance.reload()
    with instance.connect(p2) as c:
        assert c.greeting.startswith("220 second ")
    with pytest.raises(ConnectionRefusedError):
        LineClient(p1)
    instance.wait_for(lambda: set(instance.service_counts()) == {str(p2)},
                      what="status file lists only the new service")


def test_reload_with_bad_master_cf_keeps_running(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    instance.write_master_cf(echod_service(instance, port) + "broken inet\n")
    # posthorn refuses to ask for the reload ...
    p = instance.posthorn("reload")
    assert p.returncode != 0
    assert "master.cf, line 2:" in p.stderr, p.stderr
    # ... and master, told directly, keeps the running services
    mark = instance.mark()
    os.kill(instance.master_pid(), signal.SIGHUP)
    instance.wait_log(r"error: reload: .*master\.cf, line 2", since=mark)
    with instance.connect(port) as c:
        assert c.greeting.startswith("220 ")


def test_maxproc_is_honoured(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port, maxproc=2))
    instance.start()
    a = instance.connect(port)
    b = instance.connect(port)
    assert a.greeting.startswith("220 ") and b.greeting.startswith("220 ")
    c = instance.connect(port, read_greeting=False)
    c.sock.settimeout(1.0)
    with pytest.raises(socket.timeout):
        c.file.readline()  # the third waits: no third process
    assert len(instance.children("echod")) == 2
    a.cmd("quit")
    a.close()
    c.sock.settimeout(10)
    c.file = c.sock.makefile("rb")
    greeting = c.readline()
    assert greeting.startswith("220 "), greeting  # served, not lost
    assert c.cmd("x") == "250 x"
    assert len(instance.children("echod")) <= 2
    b.close()
    c.close()


def test_max_use(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port, maxproc=1, extra="-o max_use=2"))
    instance.start()
    pids = []
    for _ in range(3):
        with instance.connect(port) as c:
            pids.append(pid_of(c.greeting))
            assert c.cmd("quit") == "221 bye"
    assert pids[0] == pids[1]
    assert pids[2] != pids[0]
    instance.wait_for(lambda: not pid_alive(pids[0]), what="exit after max_use")


def test_max_idle(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port, extra="-o max_idle=1"))
    instance.start()
    with instance.connect(port) as c:
        pid = pid_of(c.greeting)
    instance.wait_for(lambda: not pid_alive(pid), timeout=10, what="idle exit")
    assert "warning" not in instance.log()


def test_bad_main_cf_line(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    path = instance.write_main_cf(raw="this line has no equals sign\n")
    lineno = len(instance.params) + 1
    p = instance.posthorn("check")
    assert p.returncode != 0
    assert f"{path}, line {lineno}:" in p.stderr, p.stderr
    p = instance.posthorn("start")
    assert p.returncode != 0
    assert f"{path}, line {lineno}:" in p.stderr, p.stderr
    assert instance.master_pid() is None
    assert instance.processes() == []


def test_bad_master_cf_line(instance):
    instance.write_master_cf("smtp inet n - n\n")
    p = instance.posthorn("start")
    assert p.returncode != 0
    assert "master.cf, line 1" in p.stderr, p.stderr


def test_unknown_service_name(instance):
    instance.write_master_cf(f"no-such-service-name inet n - n - - {instance.test_program('echod')}\n")
    p = instance.posthorn("start")
    assert p.returncode != 0
    assert 'unknown service name "no-such-service-name"' in p.stderr, p.stderr
    assert instance.processes() == []


def test_services_name_resolves(instance):
    # a /etc/services name with a port an unprivileged user may bind
    name, port = None, None
    with open("/etc/services") as f:
        for line in f:
            w = line.split()
            if len(w) >= 2 and w[1].endswith("/tcp") and 20000 < int(w[1].split("/")[0]) < 65000:
                try:
                    with socket.socket() as s:
                        s.bind(("127.0.0.1", int(w[1].split("/")[0])))
                except OSError:
                    continue
                name, port = w[0], int(w[1].split("/")[0])
                break
    if name is None:
        pytest.skip("no free high port named in /etc/services")
    instance.write_master_cf(f"{name} inet n - n - - {instance.test_program('echod')}\n")
    instance.start()
    with instance.connect(port) as c:
        assert f"service={name}" in c.greeting


def test_check_creates_tree(instance):
    p = instance.posthorn("check")
    assert p.returncode == 0, p.stderr
    want = {"maildrop": 0o1730, "public": 0o710, "private": 0o700, "incoming": 0o700,
            "active": 0o700, "deferred": 0o700, "hold": 0o700, "corrupt": 0o700,
            "bounce": 0o700, "defer": 0o700, "pid": 0o755}
    for name, mode in want.items():
        st = os.stat(os.path.join(instance.queue, name))
        assert stat.S_ISDIR(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == mode, (name, oct(st.st_mode))
        assert st.st_uid == instance.uid and st.st_gid == instance.gid, name
    st = os.stat(instance.data)
    assert stat.S_IMODE(st.st_mode) == 0o700
    # a wrong mode is fixed
    os.chmod(os.path.join(instance.queue, "private"), 0o777)
    p = instance.posthorn("-v", "check")
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(os.stat(os.path.join(instance.queue, "private")).st_mode) == 0o700
    assert "fixed mode" in p.stderr
    # a file where a directory belongs cannot be fixed safely: reported
    os.rmdir(os.path.join(instance.queue, "hold"))
    instance.run(["touch", os.path.join(instance.queue, "hold")], check=True)
    p = instance.posthorn("check")
    assert p.returncode != 0
    assert "hold exists but is not a directory" in p.stderr


def test_stop_leaves_nothing(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port)
                             + f"trig unix n - n 1 1 {instance.test_program('trigd')}\n")
    instance.start()
    clients = [instance.connect(port) for _ in range(3)]
    instance.wait_for(lambda: len(instance.children()) >= 4, what="children")
    assert os.path.exists(os.path.join(instance.queue, "public", "trig"))
    instance.stop()
    assert instance.processes() == []
    assert not os.path.exists(os.path.join(instance.queue, "pid", "master.pid"))
    assert not os.path.exists(os.path.join(instance.queue, "public", "trig"))
    for c in clients:
        c.close()
    assert "killed by signal 15" not in instance.log()


def test_sigterm_of_master_stops_children(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    c = instance.connect(port)
    child = pid_of(c.greeting)
    os.kill(instance.master_pid(), signal.SIGTERM)
    instance.wait_for(lambda: instance.processes() == [], what="all processes gone")
    assert not pid_alive(child)
    instance.wait_log(r"master\[\d+\]: terminating on signal 15")
    c.close()


def test_master_gone_children_exit(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    with instance.connect(port) as c:
        child = pid_of(c.greeting)
    os.kill(instance.master_pid(), signal.SIGKILL)
    # the idle child sees the status pipe close and exits on its own
    instance.wait_for(lambda: not pid_alive(child), what="orphaned child exit")


def test_trigger_wakeup(instance):
    log = os.path.join(instance.dir, "trig.log")
    instance.write_master_cf(
        f"trig unix n - n 1 1 {instance.test_program('trigd')} -o trigd_log={log}\n"
        f"ftrig fifo n - n - 1 {instance.test_program('trigd')} -o trigd_log={log}.fifo\n")
    instance.start()
    instance.wait_for(lambda: os.path.exists(log) and open(log).read().count(" 1 W") >= 2,
                      timeout=10, what="two wakeups")
    # an explicit trigger on the fifo reaches the daemon
    fifo = os.path.join(instance.queue, "public", "ftrig")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"A")
    os.close(fd)
    instance.wait_for(lambda: os.path.exists(log + ".fifo") and " 1 A" in open(log + ".fifo").read(),
                      what="fifo trigger")


def test_standalone_mode(instance):
    p = instance.run([instance.test_program("echod"), "-c", instance.dir, "-S"],
                     input="one\r\nparam myhostname\r\nquit\r\n", timeout=20)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("220 posthorn.test pid=")
    assert lines[1:] == ["250 one", "250 posthorn.test", "221 bye"]


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no ::1 on this host")
def test_ipv6_listener(instance_factory):
    inst = instance_factory(main_cf={"inet_interfaces": "127.0.0.1, [::1]"})
    port = inst.free_port()
    inst.write_master_cf(echod_service(inst, port)
                         + f"[::1]:{port + 1 if port < 65000 else port - 1} inet n - n - - "
                           f"{inst.test_program('echod')} -o echod_greeting=six\n")
    inst.start()
    with inst.connect(port, host="::1") as c:
        assert c.greeting.startswith("220 ")
    with inst.connect(port, host="127.0.0.1") as c:
        assert c.greeting.startswith("220 ")
    other = port + 1 if port < 65000 else port - 1
    with inst.connect(other, host="::1") as c:
        assert c.greeting.startswith("220 six ")
    with pytest.raises(ConnectionRefusedError):
        LineClient(other, host="127.0.0.1")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_instance_drops_privileges(instance_factory):
    import pwd
    inst = instance_factory(root=True)
    owner = pwd.getpwnam(inst.mail_owner)
    p1, p2 = inst.free_ports(2)
    inst.write_master_cf(
        f"{p1} inet n - n - - {inst.test_program('echod')}\n"
        f"{p2} inet n n n - - {inst.test_program('echod')}\n"
        f"trig unix n - n 1 1 {inst.test_program('trigd')}\n")
    inst.start()
    assert uid_of_process(inst.master_pid()) == (0, 0)
    with inst.connect(p1) as c, inst.connect(p2) as d:
        pid1, pid2 = pid_of(c.greeting), pid_of(d.greeting)
        assert f"uid={owner.pw_uid} " in c.greeting
        assert uid_of_process(pid1) == (owner.pw_uid, owner.pw_gid)
        assert uid_of_process(pid2) == (0, 0)  # unpriv = n keeps root
    trig = inst.wait_for(lambda: inst.children("trigd"), what="trigd started by wakeup")
    # a freshly exec'd child is root until its skeleton drops privileges
    inst.wait_for(lambda: uid_of_process(trig[0]) == (owner.pw_uid, owner.pw_gid),
                  timeout=5, what="trigd running as mail_owner")
    # every other child of master runs as mail_owner
    for pid in inst.children():
        if pid != pid2 and pid_alive(pid):
            inst.wait_for(lambda: not pid_alive(pid) or uid_of_process(pid)[0] == owner.pw_uid,
                          timeout=5, what=f"pid {pid} running as mail_owner")
    st = os.stat(os.path.join(inst.queue, "private"))
    assert st.st_uid == owner.pw_uid
    st = os.stat(os.path.join(inst.queue, "maildrop"))
    assert stat.S_IMODE(st.st_mode) == 0o1730
    assert os.stat(os.path.join(inst.queue, "pid")).st_uid == 0


def mechod_service(inst, port, extra=""):
    return f"{port} inet n - n - - {inst.test_program('mechod')} {extra}\n"


def test_multi_server_many_clients_one_process(instance):
    port = instance.free_port()
    instance.write_master_cf(mechod_service(instance, port))
    instance.start()
    clients = [instance.connect(port) for _ in range(3)]
    pids = {pid_of(c.greeting) for c in clients}
    assert len(pids) == 1, [c.greeting for c in clients]
    assert [c.greeting.split()[-1] for c in clients] == ["clients=1", "clients=2", "clients=3"]
    for i, c in enumerate(clients):
        assert c.cmd(f"line {i}") == f"250 line {i}"
    for c in clients:
        assert c.cmd("quit") == "221 bye"
        c.close()


def test_multi_server_client_limit_and_reload(instance):
    port = instance.free_port()
    instance.write_master_cf(mechod_service(instance, port, "-o mechod_client_limit=2"))
    instance.start()
    a, b = instance.connect(port), instance.connect(port)
    assert pid_of(a.greeting) == pid_of(b.greeting)
    first = pid_of(a.greeting)
    c = instance.connect(port)  # over the limit: master starts another process
    assert pid_of(c.greeting) != first
    assert c.greeting.endswith("clients=1")
    instance.write_main_cf({"myhostname": "reloaded.test"})
    instance.reload()
    with instance.connect(port) as d:
        assert d.greeting.startswith("220 reloaded.test ")
        assert pid_of(d.greeting) not in (first, pid_of(c.greeting))
    # clients of the old processes are not cut
    assert a.cmd("after reload") == "250 after reload"
    assert c.cmd("after reload") == "250 after reload"
    assert pid_alive(first)
    for x in (a, b, c):
        x.cmd("quit")
        x.close()
    instance.wait_for(lambda: not pid_alive(first), what="old multi server exits when drained")


def test_start_fg(instance):
    import subprocess
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    p = subprocess.Popen(instance.as_user([os.path.join(instance.bindir, "posthorn"), "-c",
                                           instance.dir, "start-fg"]),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=instance.env())
    try:
        instance.wait_log(r"master\[\d+\]: daemon started")
        with instance.connect(port) as c:
            assert c.greeting.startswith("220 ")
        assert instance.posthorn("status").returncode == 0
        assert instance.master_pid() == p.pid  # posthorn became master: no fork
        assert instance.posthorn("stop").returncode == 0
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert instance.processes() == []


def test_unprivileged_instance_ignores_mail_owner(instance_factory):
    inst = instance_factory(main_cf={"mail_owner": "no-such-user-here",
                                     "setgid_group": "no-such-group-here"})
    port = inst.free_port()
    inst.write_master_cf(echod_service(inst, port))
    p = inst.posthorn("check")
    assert p.returncode == 0, p.stderr
    inst.start()
    with inst.connect(port) as c:
        assert f"uid={inst.uid} " in c.greeting


def test_start_fails_when_port_in_use(instance):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        instance.write_master_cf(echod_service(instance, port))
        p = instance.posthorn("start")
        assert p.returncode != 0
        assert f"bind 127.0.0.1:{port}: Address already in use" in p.stderr, p.stderr
        assert "startup failed" in p.stderr
        assert instance.processes() == []
        assert instance.posthorn("status").returncode == 1
    finally:
        blocker.close()


def test_children_get_only_their_descriptors(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port)
                             + f"trig unix n - n - 1 {instance.test_program('trigd')}\n")
    instance.start()
    with instance.connect(port) as c:
        pid = pid_of(c.greeting)
        fds = sorted(int(x) for x in os.listdir(f"/proc/{pid}/fd"))
        # stdin/out/err, listener, status pipe, the client, the log file
        assert fds[:5] == [0, 1, 2, 3, 4], fds
        assert len(fds) <= 7, fds


def test_reload_refuses_bad_main_cf(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.start()
    pid = instance.master_pid()
    with instance.connect(port) as c:  # leaves an idle process behind
        c.cmd("quit")
    path = instance.write_main_cf(raw="broken line\n")
    p = instance.posthorn("reload")
    assert p.returncode != 0
    assert f"{path}, line {len(instance.params) + 1}:" in p.stderr, p.stderr
    assert instance.master_pid() == pid
    with instance.connect(port) as c:
        assert c.greeting.startswith("220 posthorn.test ")
    instance.write_main_cf()  # fixed again, so teardown can stop it
    instance.wait_log(r"posthorn/posthorn\[\d+\]: starting the Posthorn mail system")


def test_child_environment(instance):
    port = instance.free_port()
    instance.write_master_cf(echod_service(instance, port))
    instance.write_main_cf({"import_environment": "MAIL_CONFIG TZ PH_IMPORTED PH_SET=fixed"})
    env_before = dict(os.environ)
    os.environ.update({"PH_IMPORTED": "yes", "PH_NOT_IMPORTED": "secret", "TZ": "UTC"})
    try:
        instance.start()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    with instance.connect(port) as c:
        assert c.cmd("env MAIL_CONFIG") == f"250 ={instance.dir}"
        assert c.cmd("env PH_IMPORTED") == "250 =yes"
        assert c.cmd("env PH_SET") == "250 =fixed"
        assert c.cmd("env TZ") == "250 =UTC"
        assert c.cmd("env PH_NOT_IMPORTED") == "250 unset"
        assert c.cmd("env PATH") == "250 unset"
        if os.environ.get("ASAN_OPTIONS"):
            assert c.cmd("env ASAN_OPTIONS").startswith("250 =" + os.environ["ASAN_OPTIONS"])


def test_second_master_refused_by_lock(instance):
    instance.write_master_cf("")
    instance.start()
    p = instance.run([instance.daemon("master"), "-c", instance.dir], timeout=20)
    assert p.returncode != 0
    assert f"already running (pid {instance.master_pid()}" in p.stderr, p.stderr
