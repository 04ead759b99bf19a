"""qmgr + pickup: whole unprivileged instances (master, qmgr, pickup and the
test delivery agent tests/services/testagent.c as the `local` transport),
mail submitted with the real build/bin/sendmail.

The test agent delivers by the recipient's local part: defer* -> 4.2.0,
bounce* -> 5.1.1, crash* -> the agent exits mid-request, slow* -> 2 s delay,
anything else -> written to OUT/ID.INDEX.eml and a line in
OUT/deliveries.log; OUT/defer_all defers everything.

Instances come from the shared instance_factory fixture (tests/conftest.py):
unprivileged, as the user `phtest` when the tests run as root.
"""
import email
import email.policy
import glob
import os
import re
import shutil
import signal
import socket
import tempfile
import time

import pytest



class QInst:
    """The shared instance (tests/integration/instance.py) set up for qmgr tests:
    qmgr, pickup and the test agent as `local`, short retry times."""

    def __init__(self, inst):
        self.i = inst
        self.dir = inst.dir
        self.conf = inst.dir
        self.queue = inst.queue
        self.out = os.path.join(inst.dir, "out")
        os.mkdir(self.out)
        inst.write_master_cf("qmgr unix n - n 300 1 qmgr\n"
                             "pickup unix n - n 60 1 pickup\n"
                             f"local unix - - n - 10 {inst.test_program('testagent')}\n")
        self.chown()

    def chown(self):
        if not (self.i.is_root and not self.i.root_mode):
            return
        for d, dirs, files in os.walk(self.dir):
            for n in [d] + [os.path.join(d, x) for x in files]:
                os.chown(n, self.i.uid, self.i.gid)

    def run(self, args, input=None):
        return self.i.run(args, input=input)

    def posthorn(self, cmd):
        p = self.i.posthorn(cmd)
        assert p.returncode == 0, f"posthorn {cmd}: {p.stdout}{p.stderr}"

    def start(self):
        self.i.start()

    def stop(self):
        self.i.stop()

    def sendmail(self, rcpts, body="Subject: test\n\nhello\n", sender="sender@test.example",
                 opts=()):
        p = self.run([os.path.join(self.i.bindir, "sendmail"), "-C", self.conf, "-f", sender,
                      *opts, *rcpts], input=body)
        assert p.returncode == 0, f"sendmail: {p.stdout}{p.stderr}"

    def trigger(self, req=b"A"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(self.queue, "public", "qmgr"))
        s.sendall(req)
        s.close()

    def maillog(self):
        return self.i.log()

    def deliveries(self):
        try:
            with open(os.path.join(self.out, "deliveries.log")) as f:
                return [line.split() for line in f]
        except FileNotFoundError:
            return []

    def delivered_to(self, rcpt):
        return [d for d in self.deliveries() if d[3] == f"<{rcpt}>"]

    def message(self, entry):
        with open(os.path.join(self.out, f"{entry[0]}.{entry[1]}.eml"), "rb") as f:
            return email.message_from_bytes(f.read(), policy=email.policy.default)

    def queue_files(self, queue):
        found = []
        for d, dirs, files in os.walk(os.path.join(self.queue, queue)):
            found += [os.path.join(d, x) for x in files]
        return found

    def wait(self, cond, timeout=15, what="condition"):
        end = time.time() + timeout
        while time.time() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n--- maillog ---\n{self.maillog()}")

    def defer_all(self, on):
        path = os.path.join(self.out, "defer_all")
        if on:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)


MAIN_CF = {
    "myhostname": "test.example",
    "mydomain": "test.example",
    "mydestination": "localhost, test.example",
    "local_transport": "local",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
}


@pytest.fixture
def make_instance(instance_factory):
    def make(start=True, **params):
        inst = instance_factory(main_cf=dict(MAIN_CF, **params))
        q = QInst(inst)
        inst.write_main_cf({"testagent_dir": q.out})
        q.chown()
        if start:
            q.start()
        return q

    return make


def test_delivery_two_recipients(make_instance):
    inst = make_instance()
    inst.sendmail(["alice@test.example", "bob@localhost"])
    inst.wait(lambda: len(inst.deliveries()) == 2, what="two deliveries")
    log = inst.wait(lambda: re.search(r"qmgr\[\d+\]: (\w+): removed", inst.maillog()),
                    what="removed")
    qid = log.group(1)
    assert re.search(qid + r": from=<sender@test.example>, size=\d+, nrcpt=2 \(queue active\)",
                     inst.maillog())
    msg = inst.message(inst.delivered_to("alice@test.example")[0])
    assert msg["Subject"] == "test"
    assert "from userid" in msg["Received"]
    assert inst.queue_files("active") == [] and inst.queue_files("incoming") == []
    assert inst.queue_files("deferred") == []


def test_defer_then_deliver_after_recovery(make_instance):
    inst = make_instance()
    inst.defer_all(True)
    inst.sendmail(["carol@test.example"])
    inst.wait(lambda: "status=deferred (test agent: deferred by rule)" in inst.maillog(),
              what="deferral")
    inst.wait(lambda: inst.queue_files("deferred"), what="file in deferred/")
    assert os.path.exists(os.path.join(inst.queue, "defer"))
    assert inst.deliveries() == []
    inst.defer_all(False)
    inst.wait(lambda: inst.delivered_to("carol@test.example"), what="delivery after retry")
    inst.wait(lambda: inst.queue_files("deferred") == [] and inst.queue_files("active") == [],
              what="queue empty")
    assert inst.queue_files("defer") == []
    assert len(inst.delivered_to("carol@test.example")) == 1


def dsn_parts(msg):
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = list(msg.iter_parts())
    assert len(parts) == 3
    return parts


def dsn_fields(part):
    """The per-message and per-recipient field groups of message/delivery-status."""
    payload = part.get_payload()
    if isinstance(payload, list):  # email package parses the blocks as messages
        return [dict(p.items()) for p in payload]
    blocks = payload.strip().split("\n\n")
    return [dict(line.split(": ", 1) for line in b.splitlines() if ": " in line) for b in blocks]


def test_bounce_dsn(make_instance):
    inst = make_instance()
    inst.sendmail(["bounceme@test.example", "dave@test.example"],
                  body="Subject: will bounce\nX-Marker: 12345\n\nbody text\n")
    dsn = inst.wait(lambda: inst.delivered_to("sender@test.example"), what="DSN to the sender")
    assert dsn[0][2] == "<>"                      # sent from the null sender
    msg = inst.message(dsn[0])
    assert msg["Subject"] == "Undelivered Mail Returned to Sender"
    assert msg["From"].addresses[0].username == "MAILER-DAEMON"
    text, status, original = dsn_parts(msg)
    assert text.get_content_type() == "text/plain"
    assert "bounceme@test.example" in text.get_content()
    assert status.get_content_type() == "message/delivery-status"
    groups = dsn_fields(status)
    assert groups[0]["Reporting-MTA"] == "dns; test.example"
    assert "Arrival-Date" in groups[0]
    assert len(groups) == 2                       # only the failed recipient
    rcpt = groups[1]
    assert rcpt["Final-Recipient"] == "rfc822; bounceme@test.example"
    assert rcpt["Action"] == "failed"
    assert re.fullmatch(r"5\.\d+\.\d+", rcpt["Status"])
    assert "user unknown" in rcpt["Diagnostic-Code"]
    assert original.get_content_type() == "message/rfc822"
    inner = original.get_payload()[0]
    assert inner["Subject"] == "will bounce" and inner["X-Marker"] == "12345"
    assert len(inst.delivered_to("dave@test.example")) == 1
    inst.wait(lambda: inst.queue_files("active") == [] and inst.queue_files("bounce") == [],
              what="queue empty")


def test_bounce_ret_hdrs(make_instance):
    inst = make_instance()
    inst.sendmail(["bounce1@test.example"], opts=["-R", "hdrs"],
                  body="Subject: hdrs only\n\nSECRET BODY\n")
    dsn = inst.wait(lambda: inst.delivered_to("sender@test.example"), what="DSN")
    msg = inst.message(dsn[0])
    parts = dsn_parts(msg)
    assert parts[2].get_content_type() == "text/rfc822-headers"
    raw = open(os.path.join(inst.out, f"{dsn[0][0]}.{dsn[0][1]}.eml")).read()
    assert "Subject: hdrs only" in raw and "SECRET BODY" not in raw


def test_null_sender_never_bounced(make_instance):
    inst = make_instance()
    inst.sendmail(["bounce2@test.example"], sender="")
    notice = inst.wait(lambda: inst.delivered_to("postmaster@test.example"),
                       what="double bounce to the postmaster")
    assert notice[0][2] == "<double-bounce@test.example>"
    time.sleep(1.5)
    # Nothing went back to the null sender, and no bounce loop.
    assert len(inst.deliveries()) == 1
    assert "sender non-delivery notification" not in inst.maillog()
    assert "postmaster non-delivery notification" in inst.maillog()


def test_double_bounce_failure_is_dropped(make_instance):
    inst = make_instance(**{"2bounce_notice_recipient": "bounce-pm@test.example"})
    inst.sendmail(["bounce3@test.example"], sender="")
    inst.wait(lambda: "undeliverable postmaster notification discarded" in inst.maillog(),
              what="dropped double bounce")
    time.sleep(1)
    assert inst.deliveries() == []
    assert inst.queue_files("active") == [] and inst.queue_files("deferred") == []


def test_success_dsn(make_instance):
    inst = make_instance()
    inst.sendmail(["erin@test.example"], opts=["-N", "success"])
    dsn = inst.wait(lambda: inst.delivered_to("sender@test.example"), what="success DSN")
    msg = inst.message(dsn[0])
    assert msg["Subject"] == "Successful Mail Delivery Report"
    groups = dsn_fields(dsn_parts(msg)[1])
    assert groups[1]["Action"] == "delivered" and groups[1]["Status"].startswith("2.")


def test_notify_never(make_instance):
    inst = make_instance()
    inst.sendmail(["bounce4@test.example"], opts=["-N", "never"])
    inst.wait(lambda: "status=bounced" in inst.maillog(), what="bounce")
    inst.wait(lambda: re.search(r"qmgr\[\d+\]: \w+: removed", inst.maillog()), what="removed")
    time.sleep(1)
    assert inst.deliveries() == []
    assert "notification" not in inst.maillog()


def test_queue_lifetime_expiry(make_instance):
    inst = make_instance(maximal_queue_lifetime="3s")
    inst.sendmail(["deferme@test.example"])
    dsn = inst.wait(lambda: inst.delivered_to("sender@test.example"), timeout=20,
                    what="expiry bounce")
    assert "status=expired, returned to sender" in inst.maillog()
    assert inst.maillog().count("status=deferred") >= 2
    groups = dsn_fields(dsn_parts(inst.message(dsn[0]))[1])
    assert groups[1]["Action"] == "failed"
    assert groups[1]["Final-Recipient"] == "rfc822; deferme@test.example"
    assert "deferred by rule" in groups[1]["Diagnostic-Code"]
    inst.wait(lambda: inst.queue_files("deferred") == [] and inst.queue_files("active") == [],
              what="queue empty")


def test_delay_warning(make_instance):
    inst = make_instance(delay_warning_time="1s", maximal_queue_lifetime="1h")
    inst.sendmail(["deferme2@test.example"])
    dsn = inst.wait(lambda: inst.delivered_to("sender@test.example"), what="delay warning")
    msg = inst.message(dsn[0])
    assert msg["Subject"] == "Delayed Mail (still being retried)"
    groups = dsn_fields(dsn_parts(msg)[1])
    assert groups[1]["Action"] == "delayed" and groups[1]["Status"].startswith("4.")
    time.sleep(3)
    assert len(inst.delivered_to("sender@test.example")) == 1   # once only
    assert inst.queue_files("deferred")


def test_unknown_transport_defers(make_instance):
    inst = make_instance()
    inst.sendmail(["someone@remote.example"])        # default_transport smtp: not in master.cf
    inst.wait(lambda: "status=deferred (mail transport unavailable)" in inst.maillog(),
              what="transport unavailable")
    inst.wait(lambda: inst.queue_files("deferred"), what="deferred file")


def test_agent_crash_defers_and_never_loses(make_instance):
    inst = make_instance()
    inst.sendmail(["crashme@test.example", "frank@test.example"])
    inst.wait(lambda: inst.delivered_to("frank@test.example"), what="other recipient")
    inst.wait(lambda: re.search(r"dsn=4\.3\.0, status=deferred \(delivery agent local crashed",
                                inst.maillog()), what="crash deferral")
    inst.wait(lambda: inst.queue_files("deferred"), what="deferred file")
    time.sleep(2.5)                               # retried, crashes again, still queued
    assert inst.queue_files("deferred") or inst.queue_files("active")
    assert len(inst.delivered_to("frank@test.example")) == 1   # marked done in place


def test_hold_is_never_scheduled(make_instance):
    inst = make_instance()
    inst.defer_all(True)
    inst.sendmail(["gina@test.example"])
    src = inst.wait(lambda: inst.queue_files("deferred"), what="deferred file")[0]
    rel = os.path.relpath(src, os.path.join(inst.queue, "deferred"))
    held = os.path.join(inst.queue, "hold", rel)
    os.makedirs(os.path.dirname(held), exist_ok=True)
    os.rename(src, held)
    inst.chown()
    inst.defer_all(False)
    inst.trigger(b"A")
    time.sleep(2.5)
    assert inst.deliveries() == []
    assert os.path.exists(held)
    os.rename(held, src)                          # release (postsuper -H)
    inst.trigger(b"A")
    inst.wait(lambda: inst.delivered_to("gina@test.example"), what="delivery after release")


def test_sendmail_while_stopped(make_instance):
    inst = make_instance(start=False)
    inst.posthorn("check")
    inst.sendmail(["henry@test.example"])
    assert inst.queue_files("maildrop")
    assert inst.deliveries() == []
    inst.start()
    inst.wait(lambda: inst.delivered_to("henry@test.example"), what="delivery after start")
    assert inst.queue_files("maildrop") == []


def test_kill_qmgr_recovery(make_instance):
    inst = make_instance()
    n = 6
    for i in range(n):
        inst.sendmail([f"slow{i}@test.example"], body=f"Subject: m{i}\n\nbody {i}\n")
    m = inst.wait(lambda: re.search(r"qmgr\[(\d+)\]: \w+: from=.*queue active", inst.maillog()),
                  what="active messages")
    inst.wait(lambda: len(inst.queue_files("active")) >= 1, what="files in active/")
    os.kill(int(m.group(1)), signal.SIGKILL)
    time.sleep(0.5)
    inst.stop()
    inst.start()
    inst.wait(lambda: all(inst.delivered_to(f"slow{i}@test.example") for i in range(n)),
              timeout=40, what="all messages delivered after restart")
    inst.wait(lambda: inst.queue_files("active") == [] and inst.queue_files("incoming") == [],
              what="queue empty")
    dups = sum(len(inst.delivered_to(f"slow{i}@test.example")) - 1 for i in range(n))
    print(f"duplicates after kill -9 of qmgr: {dups}")


def test_virtual_alias_expansion_in_pickup(make_instance):
    tmp = tempfile.mkdtemp(prefix="ph-va-")
    os.chmod(tmp, 0o755)
    table = os.path.join(tmp, "virtual")
    with open(table, "w") as f:
        f.write("team@test.example ivan@test.example, judy@test.example\n"
                "judy@test.example judy@test.example, ivan@test.example\n"
                "loop1@test.example loop2@test.example\n"
                "loop2@test.example loop1@test.example\n")
    try:
        inst = make_instance(virtual_alias_maps=f"texthash:{table}", recipient_delimiter="+")
        inst.sendmail(["team+x@test.example", "loop1@test.example"])
        inst.wait(lambda: len(inst.deliveries()) >= 3, what="expanded deliveries")
        time.sleep(0.5)
        got = sorted((d[3], d[4]) for d in inst.deliveries())
        assert got == [("<ivan+x@test.example>", "<team+x@test.example>"),
                       ("<judy+x@test.example>", "<team+x@test.example>"),
                       ("<loop1@test.example>", "<>")], got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_malformed_maildrop_files_moved_aside(make_instance):
    inst = make_instance(start=False)
    inst.posthorn("check")
    inst.sendmail(["bad1@test.example"])
    inst.sendmail(["bad2@test.example"])
    bad, stale = sorted(inst.queue_files("maildrop"))
    with open(bad, "rb") as f:
        data = f.read()
    with open(bad, "wb") as f:                    # trailer intact, magic broken
        f.write(data.replace(b"posthorn-queue 1", b"posthorn-queue 9"))
    with open(stale, "r+b") as f:                 # unfinished write, long abandoned
        f.truncate(len(data) // 2)
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    inst.start()
    inst.sendmail(["good@test.example"])
    inst.wait(lambda: inst.delivered_to("good@test.example"), what="good message delivered")
    inst.wait(lambda: len(inst.queue_files("corrupt")) == 2, what="two files in corrupt/")
    assert "malformed maildrop file" in inst.maillog()
    assert inst.queue_files("maildrop") == []
    assert not inst.delivered_to("bad1@test.example") and not inst.delivered_to("bad2@test.example")


def test_young_incomplete_incoming_file_is_left_alone(make_instance):
    inst = make_instance()
    inst.sendmail(["kim@test.example"])
    inst.wait(lambda: inst.delivered_to("kim@test.example"), what="delivery")
    # A file smtpd is still writing: no trailer yet. qmgr must not touch it.
    name = os.path.basename(inst.deliveries()[0][0])
    inc = os.path.join(inst.queue, "incoming", "x")
    os.makedirs(inc, exist_ok=True)
    partial = os.path.join(inc, name)
    with open(partial, "wb") as f:
        f.write(b"V00000010 posthorn-queue 1\n")
    inst.chown()
    inst.trigger(b"I")
    time.sleep(1)
    assert os.path.exists(partial)
    assert inst.queue_files("corrupt") == []


def test_real_local_agent_end_to_end(instance_factory):
    """sendmail -> pickup -> qmgr -> the real local agent (virtual mailboxes),
    and the bounce for an unknown user comes back to the sender's mailbox."""
    inst = instance_factory(main_cf=dict(MAIN_CF))
    base = os.path.join(inst.dir, "vmail")
    os.mkdir(base)
    vmap = os.path.join(inst.dir, "vmailbox")
    with open(vmap, "w") as f:
        f.write("info@example.com example.com/info/\n"
                "sales@example.com example.com/sales\n")
    if inst.is_root:
        os.chown(base, inst.uid, inst.gid)
        os.chown(vmap, inst.uid, inst.gid)
    inst.command("postmap", vmap, check=True)
    inst.write_main_cf({"virtual_mailbox_domains": "example.com",
                        "virtual_mailbox_maps": "hash:" + vmap,
                        "virtual_mailbox_base": base,
                        "virtual_uid_maps": f"static:{inst.uid}",
                        "virtual_gid_maps": f"static:{inst.gid}",
                        "virtual_minimum_uid": "0", "alias_maps": ""})
    inst.write_master_cf("qmgr unix n - n 300 1 qmgr\n"
                         "pickup unix n - n 60 1 pickup\n"
                         "local unix - n n - - local\n"
                         "virtual unix - n n - - local\n")
    inst.start()
    p = inst.run([os.path.join(inst.bindir, "sendmail"), "-C", inst.dir, "-f",
                  "sales@example.com", "info@example.com", "nobody@example.com"],
                 input="Subject: real local\n\nhello real agent\n")
    assert p.returncode == 0, p.stderr
    inst.wait_for(lambda: glob.glob(os.path.join(base, "example.com", "info", "new", "*")),
                  what="Maildir delivery")
    files = glob.glob(os.path.join(base, "example.com", "info", "new", "*"))
    with open(files[0]) as f:
        text = f.read()
    assert "Delivered-To: info@example.com" in text and "hello real agent" in text
    mbox = os.path.join(base, "example.com", "sales")
    inst.wait_for(lambda: os.path.exists(mbox) and "Status: 5.1.1" in open(mbox).read(),
                  what="bounce in the sender's mailbox")
    with open(mbox) as f:
        bounce = f.read()
    assert "Final-Recipient: rfc822; nobody@example.com" in bounce
    assert "Subject: real local" in bounce
    assert re.search(r"qmgr\[\d+\]: \w+: sender non-delivery notification: \w+", inst.log())
    inst.wait_for(lambda: not [f for q in ("active", "incoming", "deferred")
                               for f in glob.glob(os.path.join(inst.queue, q, "*", "*"))],
                  what="queue empty")


def max_overlap(entries):
    """Most deliveries in progress at once, from START END fields."""
    events = sorted([(float(e[5]), 1) for e in entries] + [(float(e[6]), -1) for e in entries],
                    key=lambda x: (x[0], x[1]))
    cur = best = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


def test_process_limit_from_master_cf(make_instance):
    inst = make_instance(start=False)
    inst.i.write_master_cf("qmgr unix n - n 300 1 qmgr\n"
                           "pickup unix n - n 60 1 pickup\n"
                           f"local unix - - n - 2 {inst.i.test_program('testagent')}\n")
    inst.chown()
    inst.start()
    for i in range(4):
        inst.sendmail([f"slowp{i}@test.example"])
    inst.wait(lambda: len(inst.deliveries()) == 4, timeout=30, what="four slow deliveries")
    assert max_overlap(inst.deliveries()) == 2


def test_destination_concurrency_limit(make_instance):
    inst = make_instance(local_destination_concurrency_limit="1")
    for i in range(3):
        inst.sendmail(["slowsame@test.example"], body=f"Subject: {i}\n\nx\n")
    inst.sendmail(["slowother@test.example"])
    inst.wait(lambda: len(inst.deliveries()) == 4, timeout=30, what="four slow deliveries")
    same = inst.delivered_to("slowsame@test.example")
    assert max_overlap(same) == 1                  # one at a time to one recipient
    assert max_overlap(inst.deliveries()) == 2     # the other destination ran alongside


def test_bounce_sent_once_while_other_recipient_deferred(make_instance):
    inst = make_instance()
    inst.sendmail(["bounce5@test.example", "deferme3@test.example", "lena@test.example"])
    dsn = inst.wait(lambda: inst.delivered_to("sender@test.example"), what="early bounce")
    groups = dsn_fields(dsn_parts(inst.message(dsn[0]))[1])
    assert [g.get("Final-Recipient") for g in groups[1:]] == ["rfc822; bounce5@test.example"]
    # Retries go on for the deferred recipient; nobody is notified or
    # delivered twice (D/F statuses were written in place).
    inst.wait(lambda: inst.maillog().count("to=<deferme3@test.example>") >= 3, what="retries")
    assert len(inst.delivered_to("sender@test.example")) == 1
    assert len(inst.delivered_to("lena@test.example")) == 1
    assert inst.maillog().count("to=<bounce5@test.example>") == 1
