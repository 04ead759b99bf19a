"""postconf: the real build/bin/postconf driven with -c on a temp directory.

Expected outputs are written out by hand (Postfix 3.7 shapes where Postfix
has the behaviour).
"""
import os
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
POSTCONF = os.path.join(BUILD, "bin", "postconf")


def run(*args, check=True):
    p = subprocess.run([POSTCONF, *args], capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"postconf {args}: rc={p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


@pytest.fixture
def cfdir(tmp_path):
    return tmp_path


def write(d, name, text):
    path = d / name
    path.write_text(text)
    return path


MAIN = """\
# top comment
myhostname = host.example.com

# comment before mydestination
mydestination = a,
    b,
  # comment inside the continuation
    c
# comment after
relayhost = [relay.example]:587
user_value = x
smtpd_banner = $myhostname ESMTP $user_value
"""


def test_n_sorted_and_joined(cfdir):
    write(cfdir, "main.cf", MAIN)
    p = run("-c", str(cfdir), "-n")
    assert p.stdout == (
        "mydestination = a, b, c\n"
        "myhostname = host.example.com\n"
        "relayhost = [relay.example]:587\n"
        "smtpd_banner = $myhostname ESMTP $user_value\n"
        "user_value = x\n")
    # user_value is referenced by smtpd_banner: no warning
    assert "unknown parameter" not in p.stderr


def test_named_h_x(cfdir):
    write(cfdir, "main.cf", MAIN)
    assert run("-c", str(cfdir), "myhostname", "relayhost").stdout == \
        "myhostname = host.example.com\nrelayhost = [relay.example]:587\n"
    assert run("-c", str(cfdir), "-h", "relayhost").stdout == "[relay.example]:587\n"
    assert run("-c", str(cfdir), "-x", "smtpd_banner").stdout == \
        "smtpd_banner = host.example.com ESMTP x\n"
    assert run("-c", str(cfdir), "-hx", "mydomain").stdout == "example.com\n"
    # a registry parameter not in main.cf shows its default, unexpanded
    assert run("-c", str(cfdir), "myorigin").stdout == "myorigin = $myhostname\n"
    assert run("-c", str(cfdir), "-x", "myorigin").stdout == "myorigin = host.example.com\n"
    # an empty value prints "name =" as Postfix does
    assert run("-c", str(cfdir), "recipient_delimiter").stdout == "recipient_delimiter =\n"


def test_unknown_parameter(cfdir):
    write(cfdir, "main.cf", MAIN)
    p = run("-c", str(cfdir), "no_such_param", "relayhost")
    assert p.returncode == 0  # as Postfix 3.7
    assert "postconf: warning: no_such_param: unknown parameter\n" in p.stderr
    assert p.stdout == "relayhost = [relay.example]:587\n"


def test_unknown_in_main_cf_warns(cfdir):
    write(cfdir, "main.cf", "relayhost = r\ntypo_paramter = 1\n")
    p = run("-c", str(cfdir), "-n")
    assert f"postconf: warning: {cfdir}/main.cf, line 2: unknown parameter typo_paramter" in p.stderr


def test_all_parameters(cfdir):
    write(cfdir, "main.cf", MAIN)
    out = run("-c", str(cfdir)).stdout.splitlines()
    names = [line.split(" =")[0] for line in out]
    assert names == sorted(names)
    assert "user_value = x" in out
    assert "relayhost = [relay.example]:587" in out
    assert "myorigin = $myhostname" in out
    assert "message_size_limit = 10240000" in out
    assert f"config_directory = {cfdir}" in out
    assert len(out) > 200


def test_defaults(cfdir):
    write(cfdir, "main.cf", MAIN)
    d = run("-c", str(cfdir), "-d").stdout.splitlines()
    assert "relayhost =" in d
    assert "myorigin = $myhostname" in d
    assert "user_value = x" not in d
    assert f"config_directory = {cfdir}" in d
    assert "mail_version = 0.1.0" in d
    assert "process_name = postconf" in d
    host = [x for x in d if x.startswith("myhostname = ")][0].split(" = ")[1]
    assert "." in host and "$" not in host
    dom = run("-c", str(cfdir), "-dh", "mydomain").stdout.strip()
    assert host.endswith("." + dom)
    # -dx expands with defaults only, not main.cf
    assert run("-c", str(cfdir), "-dxh", "myorigin").stdout.strip() == host
    p = run("-c", str(cfdir), "-d", "user_value")
    assert "user_value: unknown parameter" in p.stderr


def test_edit_round_trip(cfdir):
    path = write(cfdir, "main.cf", MAIN)
    os.chmod(path, 0o640)
    run("-c", str(cfdir), "-e", "mydestination = x, y", "new_one=1", "relayhost=",
        "message_size_limit = 2048000")
    assert path.read_text() == """\
# top comment
myhostname = host.example.com

# comment before mydestination
mydestination = x, y
  # comment inside the continuation
# comment after
relayhost = 
user_value = x
smtpd_banner = $myhostname ESMTP $user_value
new_one = 1
message_size_limit = 2048000
"""
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert run("-c", str(cfdir), "-h", "message_size_limit").stdout == "2048000\n"
    # no temp files left behind
    assert sorted(os.listdir(cfdir)) == ["main.cf"]


def test_edit_appends_after_unterminated_line(cfdir):
    path = write(cfdir, "main.cf", "a_thing = 1\n  2")
    run("-c", str(cfdir), "-e", "relayhost = r")
    assert path.read_text() == "a_thing = 1\n  2\nrelayhost = r\n"


def test_edit_duplicates_all_replaced(cfdir):
    path = write(cfdir, "main.cf", "relayhost = a\nx_y = 1\nrelayhost = b\n")
    p = run("-c", str(cfdir), "-e", "relayhost=c")
    assert path.read_text() == "relayhost = c\nx_y = 1\nrelayhost = c\n"
    assert 'multiple entries for "relayhost"' in p.stderr


def test_remove_and_comment(cfdir):
    path = write(cfdir, "main.cf", MAIN)
    run("-c", str(cfdir), "-#", "mydestination", "no_such")
    assert path.read_text() == """\
# top comment
myhostname = host.example.com

# comment before mydestination
#mydestination = a,
#    b,
  # comment inside the continuation
#    c
# comment after
relayhost = [relay.example]:587
user_value = x
smtpd_banner = $myhostname ESMTP $user_value
"""
    run("-c", str(cfdir), "-X", "relayhost", "user_value", "no_such")
    assert path.read_text() == """\
# top comment
myhostname = host.example.com

# comment before mydestination
#mydestination = a,
#    b,
  # comment inside the continuation
#    c
# comment after
smtpd_banner = $myhostname ESMTP $user_value
"""
    assert run("-c", str(cfdir), "-n").stdout == (
        "myhostname = host.example.com\n"
        "smtpd_banner = $myhostname ESMTP $user_value\n")


def test_edit_errors(cfdir):
    write(cfdir, "main.cf", "relayhost = r\n")
    p = run("-c", str(cfdir), "-e", "novalue", check=False)
    assert p.returncode == 1
    assert p.stderr.startswith("postconf: fatal: missing '=' after parameter name")
    p = run("-c", str(cfdir), "-e", "bad name = 1", check=False)
    assert p.returncode == 1 and 'bad parameter name: "bad name"' in p.stderr
    p = run("-c", str(cfdir), "-e", "relayhost = a\nmyhostname = evil", check=False)
    assert p.returncode == 1 and "line break" in p.stderr
    assert (cfdir / "main.cf").read_text() == "relayhost = r\n"
    p = run("-c", str(cfdir / "nonexistent"), "-e", "a=b", check=False)
    assert p.returncode == 1
    assert f"postconf: fatal: open {cfdir}/nonexistent/main.cf for reading: No such file or directory" in p.stderr


def test_bad_main_cf(cfdir):
    write(cfdir, "main.cf", "relayhost = r\n# c\nthis is bad\n")
    p = run("-c", str(cfdir), "-n", check=False)
    assert p.returncode == 1
    assert p.stderr == (f"postconf: fatal: {cfdir}/main.cf, line 3: missing '=' after "
                        "parameter name: \"this is bad\"\n")
    write(cfdir, "main.cf", "relayhost = r\n  \t# c\n\tcont\n  x\n")
    assert run("-c", str(cfdir), "-h", "relayhost").stdout == "r cont x\n"
    write(cfdir, "main.cf", "  leading = 1\n")
    p = run("-c", str(cfdir), check=False)
    assert p.returncode == 1 and "main.cf, line 1: continuation line" in p.stderr
    # -e still works on such a file (it edits text, as Postfix does)
    run("-c", str(cfdir), "-e", "relayhost=z")


def test_missing_main_cf(cfdir):
    p = run("-c", str(cfdir), "-n", check=False)
    assert p.returncode == 1
    assert p.stderr == f"postconf: fatal: open {cfdir}/main.cf: No such file or directory\n"


def test_expansion_loop_x(cfdir):
    write(cfdir, "main.cf", "relayhost = $a_a\na_a = $b_b\nb_b = $a_a\n")
    p = run("-c", str(cfdir), "-x", "relayhost", check=False)
    assert p.returncode == 1
    assert "expansion loop: $a_a -> $b_b -> $a_a" in p.stderr
    # without -x there is nothing to expand
    assert run("-c", str(cfdir), "-h", "relayhost").stdout == "$a_a\n"


MASTER = """\
# comment
smtp      inet  n       -       n       -       -       smtpd
submission inet n       -       n       -       -       smtpd
  -o syslog_name=posthorn/submission
  # comment inside
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
scalemail-backend unix - n n - 2 pipe flags=R user=x argv=/bin/x ${nexthop} { a b }
"""


def test_master(cfdir):
    write(cfdir, "main.cf", "")
    write(cfdir, "master.cf", MASTER)
    p = run("-c", str(cfdir), "-M")
    assert p.stdout == (
        "smtp       inet  n       -       n       -       -       smtpd\n"
        "submission inet  n       -       n       -       -       smtpd"
        " -o syslog_name=posthorn/submission"
        " -o {smtpd_client_restrictions=permit_sasl_authenticated, reject}\n"
        "qmgr       unix  n       -       n       300     1       qmgr\n"
        "tlsmgr     unix  -       -       y       1000?   1       tlsmgr\n"
        "postlog    unix-dgram n  -       n       -       1       postlogd\n"
        "scalemail-backend unix - n       n       -       2       pipe"
        " flags=R user=x argv=/bin/x ${nexthop} {a b}\n")
    p = run("-c", str(cfdir), "-M", "qmgr/unix", "smtp", "nosuch/inet")
    assert p.stdout == (
        "smtp       inet  n       -       n       -       -       smtpd\n"
        "qmgr       unix  n       -       n       300     1       qmgr\n")
    assert 'postconf: warning: unmatched request: "nosuch/inet"' in p.stderr


def test_master_errors(cfdir):
    write(cfdir, "master.cf", "# c\nsmtp inet n - n - -\n")
    p = run("-c", str(cfdir), "-M", check=False)
    assert p.returncode == 1
    assert p.stderr == f"postconf: fatal: {cfdir}/master.cf, line 2: bad field count (7, expected at least 8)\n"
    write(cfdir, "master.cf", "smtp bogus n - n - - smtpd\n")
    p = run("-c", str(cfdir), "-M", check=False)
    assert p.returncode == 1 and 'line 1: invalid type field "bogus"' in p.stderr
    os.unlink(cfdir / "master.cf")
    p = run("-c", str(cfdir), "-M", check=False)
    assert p.returncode == 1
    assert f"open {cfdir}/master.cf: No such file or directory" in p.stderr


def test_master_o_makes_name_known(cfdir):
    write(cfdir, "main.cf", "my_rcpt_restrictions = permit\nlonely = 1\n")
    write(cfdir, "master.cf",
          "smtp inet n - n - - smtpd\n  -o smtpd_recipient_restrictions=$my_rcpt_restrictions\n")
    p = run("-c", str(cfdir), "-n")
    assert "my_rcpt_restrictions" not in p.stderr
    assert "line 2: unknown parameter lonely" in p.stderr


def test_sasl_types():
    assert run("-a").stdout == "cyrus\ndovecot\n"
    assert run("-A").stdout == "cyrus\n"


def test_usage_errors(cfdir):
    write(cfdir, "main.cf", "")
    for args in (["-e", "-X", "a"], ["-n", "-d"], ["-e", "-n", "a=b"], ["-q"]):
        p = run("-c", str(cfdir), *args, check=False)
        assert p.returncode == 1, args
        assert "postconf: fatal:" in p.stderr or "invalid option" in p.stderr


def test_shipped_config():
    conf = os.path.join(ROOT, "conf")
    p = run("-c", conf, "-n")
    assert "unknown parameter" not in p.stderr
    assert "home_mailbox = Maildir/" in p.stdout
    # the whole single-host mail system is active; what needs a
    # certificate or a program still to come is commented out
    lines = run("-c", conf, "-M").stdout.split("\n")
    assert lines == [
        "smtp       inet  n       -       n       -       -       smtpd",
        "pickup     unix  n       -       n       60      1       pickup",
        "qmgr       unix  n       -       n       300     1       qmgr",
        "local      unix  -       n       n       -       -       local",
        "virtual    unix  -       n       n       -       -       local",
        "smtp       unix  -       -       n       -       -       smtp",
        "relay      unix  -       -       n       -       -       smtp",
        "lmtp       unix  -       -       n       -       -       smtp",
        "anvil      unix  -       -       n       -       1       anvil",
        "auth       unix  -       n       n       -       1       auth",
        "auth-userdb unix -       n       n       -       1       auth",
        "imap       inet  n       -       n       -       -       imapd",
        "pop3       inet  n       -       n       -       -       pop3d",
        ""]
    # every program the shipped table names is one we build
    for line in lines[:-1]:
        prog = line.split()[7]
        assert os.access(os.path.join(BUILD, "libexec", prog), os.X_OK), prog
