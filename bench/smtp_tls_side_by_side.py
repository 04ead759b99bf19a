#!/usr/bin/python3
"""smtp_tls_side_by_side - TLS handshakes/s on 465 and authenticated
submissions/s: Posthorn (smtpd + its auth) and, when installed and run as
root, Debian's Postfix with a private Dovecot auth socket, on the same
machine, same client (build/bench/smtp_tls_bench), same certificate.

usage: bench/smtp_tls_side_by_side.py [-p procs] [-n sessions per proc]

Prints one line per measurement and the Posthorn/Postfix ratios. Each
server runs in a temporary directory on loopback ports and is stopped at
the end. Mail accepted by either side stays queued (Postfix: the smtp
transport is deferred) and is thrown away with the directory.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from instance import BUILD, Instance  # noqa: E402

BENCH = os.path.join(BUILD, "bench", "smtp_tls_bench")
USER, PASS = "alice@example.com", "secret"


def run_bench(port, mode, procs, n, starttls=False):
    argv = [BENCH, "-m", mode, "-p", str(procs), "-n", str(n), "-u", USER, "-w", PASS]
    if starttls:
        argv.append("-S")
    p = subprocess.run(argv + ["127.0.0.1", str(port)], capture_output=True, text=True,
                       timeout=1800)
    line = (p.stdout.strip() or p.stderr.strip()).splitlines()[-1]
    rate = float(line.rsplit("(", 1)[1].split("/s")[0]) if p.returncode == 0 else 0.0
    return rate, line


def posthorn_instance():
    inst = Instance(main_cf={
        "alias_maps": "", "local_recipient_maps": "", "mydestination": "posthorn.test",
        "smtpd_error_sleep_time": "0", "auth_failure_delay": "0",
        "smtpd_client_connection_count_limit": "0", "smtpd_client_connection_rate_limit": "0",
        "smtpd_client_message_rate_limit": "0", "smtpd_client_recipient_rate_limit": "0",
    })
    users = os.path.join(inst.dir, "users")
    with open(users, "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASS}:1000:1000::/home/alice\n")
    if inst.is_root:
        os.chown(users, inst.uid, inst.gid)
    p = inst.posthorn("tls", "new-server-cert")
    assert p.returncode == 0, p.stderr
    pem = os.path.join(inst.dir, "smtpd.pem")
    inst.write_main_cf({"auth_passdb": f"passwd-file:{users}",
                        "auth_userdb": f"passwd-file:{users}", "smtpd_tls_chain_files": pem})
    p465, p587 = inst.free_ports(2)
    relay = "-o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
    inst.write_master_cf(
        f"127.0.0.1:{p465} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes"
        f" -o smtpd_sasl_auth_enable=yes {relay}\n"
        f"127.0.0.1:{p587} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt"
        f" -o smtpd_sasl_auth_enable=yes {relay}\n"
        "auth unix - n n - 1 auth\nanvil unix - - n - 1 anvil\n")
    inst.start()
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(inst.queue, "private", "auth")):
        if time.monotonic() > deadline:
            raise RuntimeError("auth did not start")
        time.sleep(0.05)
    return inst, pem, p465, p587


def start_dovecot(d):
    os.mkdir(os.path.join(d, "state"))
    with open(os.path.join(d, "users"), "w") as f:
        f.write(f"{USER}:{{PLAIN}}{PASS}:1000:1000::/home/alice\n")
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n"
                "protocols =\nssl = no\ndisable_plaintext_auth = no\n"
                "auth_mechanisms = plain login\n"
                f"passdb {{\n  driver = passwd-file\n  args = {d}/users\n}}\n"
                f"userdb {{\n  driver = passwd-file\n  args = {d}/users\n}}\n"
                f"service auth {{\n  unix_listener {d}/auth-client {{\n    mode = 0666\n  }}\n}}\n")
    subprocess.run(["dovecot", "-c", conf], check=True, timeout=30)
    deadline = time.monotonic() + 10
    while not os.path.exists(os.path.join(d, "auth-client")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return conf


def start_postfix(d, pem, sasl_path):
    pf = os.path.join(d, "postfix")
    os.makedirs(os.path.join(pf, "queue"))
    key_pem = os.path.join(pf, "smtpd.pem")
    shutil.copy(pem, key_pem)
    os.chmod(key_pem, 0o600)
    p465, p587 = Instance.free_ports(None, 2)
    with open(os.path.join(pf, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
maillog_file = {pf}/maillog
maillog_file_prefixes = {pf}
queue_directory = {pf}/queue
data_directory = {pf}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
defer_transports = smtp
smtpd_tls_chain_files = {key_pem}
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl_path}
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
""")
    with open("/etc/postfix/master.cf") as f:
        lines = f.read().splitlines()
    out = [f"127.0.0.1:{p465} inet n - n - - smtpd -o smtpd_tls_wrappermode=yes",
           f"127.0.0.1:{p587} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt"]
    for line in lines:
        fields = line.split()
        if not fields or line.startswith("#") or line[0].isspace():
            continue
        if fields[1] not in ("unix", "unix-dgram") or len(fields) < 8:
            continue
        fields[4] = "n"                       # no chroot: the auth socket lives outside
        out.append(" ".join(fields))
    with open(os.path.join(pf, "master.cf"), "w") as f:
        f.write("\n".join(out) + "\n")
    p = subprocess.run(["postfix", "-c", pf, "start"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        log = open(os.path.join(pf, "maillog")).read() if os.path.exists(
            os.path.join(pf, "maillog")) else ""
        raise RuntimeError("postfix start: " + p.stdout + p.stderr + log[-2000:])
    time.sleep(1)
    return pf, p465, p587


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-p", type=int, default=2)
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    results = {}
    inst, pem, p465, p587 = posthorn_instance()
    try:
        for label, port, mode, stls in (("handshake 465", p465, "handshake", False),
                                        ("submit 465", p465, "submit", False),
                                        ("submit 587 STARTTLS", p587, "submit", True)):
            rate, line = run_bench(port, mode, args.p, args.n, stls)
            results[("posthorn", label)] = rate
            print(f"posthorn {line}")
        have_postfix = (os.geteuid() == 0 and shutil.which("postfix")
                        and shutil.which("dovecot"))
        if not have_postfix:
            print("postfix: skipped (needs root, postfix and dovecot-core)")
            return 0
        d = tempfile.mkdtemp(prefix="ph-bench-")
        os.chmod(d, 0o755)
        conf = start_dovecot(d)
        pf = None
        try:
            pf, q465, q587 = start_postfix(d, pem, os.path.join(d, "auth-client"))
            for label, port, mode, stls in (("handshake 465", q465, "handshake", False),
                                            ("submit 465", q465, "submit", False),
                                            ("submit 587 STARTTLS", q587, "submit", True)):
                rate, line = run_bench(port, mode, args.p, args.n, stls)
                results[("postfix", label)] = rate
                print(f"postfix  {line}")
        finally:
            if pf:
                subprocess.run(["postfix", "-c", pf, "stop"], capture_output=True, timeout=60)
            subprocess.run(["dovecot", "-c", conf, "stop"], capture_output=True, timeout=60)
            shutil.rmtree(d, ignore_errors=True)
        for label in ("handshake 465", "submit 465", "submit 587 STARTTLS"):
            ours, theirs = results[("posthorn", label)], results.get(("postfix", label), 0)
            ratio = f"{ours / theirs:.2f}" if theirs else "n/a"
            print(f"ratio posthorn/postfix {label}: {ratio}")
    finally:
        inst.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
