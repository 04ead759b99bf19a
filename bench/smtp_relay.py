#!/usr/bin/python3
"""bench/smtp_relay.py - relay throughput of the smtp client, beside Postfix.

Usage: bench/smtp_relay.py [-n MESSAGES] [-d 1,10,50] [--no-postfix]

For each destination count D: MESSAGES messages (2 KiB, one recipient each,
spread over D domains d0.bench .. dD-1.bench, each routed by transport_maps
to smtp:[127.0.78.1]:PORT, where Postfix's smtp-sink accepts everything)
are first submitted over SMTP to the MTA's smtpd while no queue manager
runs, so they all wait in the queue. Then the queue manager and the smtp
client are started, and the log is polled: msgs/s = (MESSAGES - 1) / the
time between the first and the last "status=sent" line, so the relay path
alone (qmgr -> smtp -> remote) is measured, not the submission or the
start-up. The same is done with
Debian's Postfix (postfix -c DIR, a private instance) when installed; the
ratio is Posthorn / Postfix (above 1: Posthorn is faster).

Needs root (Postfix's private instance), smtp-sink (package postfix).
"""
import argparse
import os
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from instance import Instance, free_port  # noqa: E402

SINK = "127.0.78.1"
BODY = "Subject: bench\n\n" + ("x" * 70 + "\n") * 28


def tmap(d, port):
    return "inline:{ " + ", ".join(f"d{i}.bench=smtp:[{SINK}]:{port}" for i in range(d)) + " }"


def submit(host, port, n, d, threads=10):
    def worker(k):
        s = smtplib.SMTP(host, port, timeout=60)
        for i in range(k, n, threads):
            s.sendmail("bench@src.bench", [f"u{i}@d{i % d}.bench"], BODY)
        s.quit()
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def wait_sent(logfile, n, timeout=900):
    """(time the first message was seen sent, time all n were), polled."""
    rx = re.compile(r"status=sent")
    end = time.time() + timeout
    first = None
    c = 0
    while time.time() < end:
        try:
            with open(logfile, errors="replace") as f:
                c = len(rx.findall(f.read()))
        except FileNotFoundError:
            c = 0
        if c and first is None:
            first = time.time()
        if c >= n:
            return first, time.time()
        time.sleep(0.02)
    raise RuntimeError(f"{logfile}: only {c} of {n} sent after {timeout}s")


def rate(n, first, last):
    """msgs/s between the first and the last delivery (start-up excluded)"""
    return (n - 1) / max(last - first, 1e-3)


def run_posthorn(n, d, sink_port):
    inst = Instance(main_cf={
        "inet_interfaces": "127.0.0.1", "mydestination": "", "mynetworks": "127.0.0.0/8",
        "transport_maps": tmap(d, sink_port), "smtpd_error_sleep_time": "0",
    })
    try:
        port = free_port()
        smtpd = f"127.0.0.1:{port} inet n - n - - smtpd\nanvil unix - - n - 1 anvil\n"
        inst.write_master_cf(smtpd)
        inst.start()
        submit("127.0.0.1", port, n, d)
        inst.stop()
        inst.write_master_cf(smtpd + "qmgr unix n - n 300 1 qmgr\nsmtp unix - - n - - smtp\n")
        inst.start()
        return rate(n, *wait_sent(inst.maillog, n))
    finally:
        inst.teardown()


PF_MASTER = """{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
{qmgr}tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def run_postfix(n, d, sink_port):
    dir = tempfile.mkdtemp(prefix="pf-bench-", dir="/tmp")
    os.chmod(dir, 0o755)
    os.mkdir(f"{dir}/queue")
    os.mkdir(f"{dir}/data")
    shutil.chown(f"{dir}/data", "postfix")
    port = free_port()
    log = os.path.join(dir, "maillog")
    main = {
        "compatibility_level": "3.6", "queue_directory": f"{dir}/queue",
        "data_directory": f"{dir}/data", "maillog_file": log, "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4", "myhostname": "pf.bench", "mydestination": "",
        "mynetworks": "127.0.0.0/8", "transport_maps": tmap(d, sink_port),
        "smtpd_error_sleep_time": "0", "alias_maps": "", "alias_database": "",
        "maillog_file_prefixes": "/tmp",
    }
    with open(os.path.join(dir, "main.cf"), "w") as f:
        f.write("".join(f"{k} = {v}\n" for k, v in main.items()))

    def master(qmgr):
        with open(os.path.join(dir, "master.cf"), "w") as f:
            f.write(PF_MASTER.format(port=f"127.0.0.1:{port}",
                                     qmgr="qmgr unix n - n 300 1 qmgr\n" if qmgr else ""))
    try:
        master(False)
        p = subprocess.run(["postfix", "-c", dir, "start"], capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError("postfix start: " + p.stderr)
        time.sleep(0.5)
        submit("127.0.0.1", port, n, d)
        subprocess.run(["postfix", "-c", dir, "stop"], check=True, capture_output=True)
        for _ in range(100):
            if subprocess.run(["postfix", "-c", dir, "status"], capture_output=True).returncode:
                break
            time.sleep(0.1)
        master(True)
        p = subprocess.run(["postfix", "-c", dir, "start"], capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError("postfix start: " + p.stderr)
        return rate(n, *wait_sent(log, n))
    finally:
        subprocess.run(["postfix", "-c", dir, "stop"], capture_output=True)
        time.sleep(0.5)
        shutil.rmtree(dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-d", default="1,10,50")
    ap.add_argument("--no-postfix", action="store_true")
    a = ap.parse_args()
    if not shutil.which("smtp-sink"):
        sys.exit("smtp_relay.py: smtp-sink (package postfix) is needed")
    with_pf = not a.no_postfix and shutil.which("postfix") and os.geteuid() == 0
    sink_port = free_port()
    sink = subprocess.Popen(["smtp-sink", "-u", "nobody", f"{SINK}:{sink_port}", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        print(f"messages: {a.n} (2 KiB, 1 recipient), sink: smtp-sink {SINK}:{sink_port}")
        for d in [int(x) for x in a.d.split(",")]:
            ours = run_posthorn(a.n, d, sink_port)
            line = f"destinations {d:3d}: posthorn {ours:8.1f} msgs/s"
            if with_pf:
                pf = run_postfix(a.n, d, sink_port)
                line += f"   postfix {pf:8.1f} msgs/s   ratio {ours / pf:5.2f}"
            print(line, flush=True)
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
