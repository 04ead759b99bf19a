"""sendmail -bv: address verification with a mailed report, nothing delivered.

A whole unprivileged instance (master, pickup, qmgr, the real local agent as
`local` and `virtual`, virtual mailboxes under the instance directory) plus
the test agent tests/services/testagent.c as the `smtp` transport: it would
write every message it is handed into OUT/, so an empty OUT/ proves that
qmgr never contacted an agent that does not understand the verify flag.
"""
import email
import email.policy
import glob
import os
import re

MAIN_CF = {
    "myhostname": "test.example",
    "mydomain": "test.example",
    "mydestination": "localhost, test.example",
    "local_transport": "local",
    "default_transport": "smtp",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "2s",
    "queue_run_delay": "1s",
}


def _setup(inst):
    base = os.path.join(inst.dir, "vmail")
    os.mkdir(base)
    out = os.path.join(inst.dir, "out")
    os.mkdir(out)
    vmap = os.path.join(inst.dir, "vmailbox")
    with open(vmap, "w") as f:
        f.write("info@example.com example.com/info/\n"
                "sales@example.com example.com/sales\n")
    if inst.is_root:
        for p in (base, out, vmap):
            os.chown(p, inst.uid, inst.gid)
    inst.command("postmap", vmap, check=True)
    inst.write_main_cf({"virtual_mailbox_domains": "example.com",
                        "virtual_mailbox_maps": "hash:" + vmap,
                        "virtual_mailbox_base": base,
                        "virtual_uid_maps": f"static:{inst.uid}",
                        "virtual_gid_maps": f"static:{inst.gid}",
                        "virtual_minimum_uid": "0", "alias_maps": "",
                        "testagent_dir": out})
    inst.write_master_cf("qmgr unix n - n 300 1 qmgr\n"
                         "pickup unix n - n 60 1 pickup\n"
                         "local unix - n n - - local\n"
                         "virtual unix - n n - - local\n"
                         f"smtp unix - - n - 10 {inst.test_program('testagent')}\n")
    return base, out


def _queue_empty(inst):
    return not [f for q in ("maildrop", "incoming", "active", "deferred")
                for f in glob.glob(os.path.join(inst.queue, q, "**", "*"), recursive=True)
                if os.path.isfile(f)]


def _sendmail(inst, *args, input=""):
    return inst.run([os.path.join(inst.bindir, "sendmail"), "-C", inst.dir] + list(args),
                    input=input)


def test_bv_report_and_no_delivery(instance_factory):
    inst = instance_factory(main_cf=dict(MAIN_CF))
    base, out = _setup(inst)
    inst.start()
    # Whatever is on stdin is not read: -bv collects no message.
    p = _sendmail(inst, "-bv", "-f", "sales@example.com", "info@example.com",
                  "nobody@example.com", "someone@remote.example",
                  input="Subject: must not be read\n\nbody\n")
    assert p.returncode == 0, p.stderr

    mbox = os.path.join(base, "example.com", "sales")
    inst.wait_for(lambda: os.path.exists(mbox)
                  and "Final-Recipient: rfc822; someone@remote.example" in open(mbox).read(),
                  what="the report in the sender's mailbox")
    inst.wait_for(lambda: _queue_empty(inst), what="queue empty")
    with open(mbox) as f:
        text = f.read()
    # Exactly one report (mbox: one "From " separator line).
    assert len(re.findall(r"^From ", text, re.M)) == 1, text
    msg = email.message_from_string(text.split("\n", 1)[1], policy=email.policy.compat32)
    assert msg["Subject"] == "Mail Delivery Status Report"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert "MAILER-DAEMON" in msg["From"]
    assert "sales@example.com" in msg["To"]

    # The per-recipient blocks of the delivery-status part.
    blocks = {}
    for block in re.split(r"\n\n", text):
        m = re.search(r"^Final-Recipient: rfc822; (\S+)$", block, re.M)
        if m:
            blocks[m.group(1)] = block
    assert set(blocks) == {"info@example.com", "nobody@example.com", "someone@remote.example"}
    assert re.search(r"^Action: deliverable$", blocks["info@example.com"], re.M)
    assert re.search(r"^Status: 2\.0\.0$", blocks["info@example.com"], re.M)
    assert re.search(r"^Action: undeliverable$", blocks["nobody@example.com"], re.M)
    assert re.search(r"^Status: 5\.1\.1$", blocks["nobody@example.com"], re.M)
    assert "unknown user" in blocks["nobody@example.com"]
    assert re.search(r"^Action: deliverable$", blocks["someone@remote.example"], re.M)
    assert "deliverable via smtp" in blocks["someone@remote.example"]
    assert "must not be read" not in text

    # Nothing was delivered: no Maildir file for the known address, the
    # smtp test agent was never contacted, no bounce or other mail.
    assert glob.glob(os.path.join(base, "example.com", "info", "*", "*")) == []
    assert os.listdir(out) == []
    log = inst.log()
    assert re.search(r"to=<info@example\.com>.*status=deliverable", log)
    assert re.search(r"to=<nobody@example\.com>.*status=undeliverable", log)
    assert re.search(r"to=<someone@remote\.example>.*status=deliverable \(deliverable via smtp\)",
                     log)
    # The only delivery is the report itself, to the sender.
    sent = re.findall(r"to=<([^>]*)>.*status=sent", log)
    assert sent == ["sales@example.com"], log
    assert re.search(r"qmgr\[\d+\]: \w+: sender delivery status notification: \w+", log)


def test_bv_usage(instance_factory):
    inst = instance_factory(main_cf=dict(MAIN_CF))
    _setup(inst)
    p = _sendmail(inst, "-bv", input="")
    assert p.returncode == 75
    assert "Recipient addresses must be specified" in p.stderr
    p = _sendmail(inst, "-bv", "-t", "a@example.com", input="To: b@example.com\n\n")
    assert p.returncode == 64
    assert "-t cannot be used with -bv" in p.stderr
    p = _sendmail(inst, "-bx", "a@example.com", input="")
    assert p.returncode == 64
    assert _queue_empty(inst)


def test_bv_queued_while_stopped(instance_factory):
    """The request waits in maildrop/ like any submission, with verify=yes."""
    inst = instance_factory(main_cf=dict(MAIN_CF))
    base, out = _setup(inst)
    assert inst.posthorn("check").returncode == 0          # creates the queue
    p = _sendmail(inst, "-bv", "-f", "sales@example.com", "info@example.com")
    assert p.returncode == 0, p.stderr
    files = [f for f in glob.glob(os.path.join(inst.queue, "maildrop", "**", "*"), recursive=True)
             if os.path.isfile(f)]
    assert len(files) == 1
    p = inst.command("postcat", files[0])
    assert "named_attribute: verify=yes" in p.stdout, p.stdout
    inst.start()
    mbox = os.path.join(base, "example.com", "sales")
    inst.wait_for(lambda: os.path.exists(mbox) and "Action: deliverable" in open(mbox).read(),
                  what="the report")
    inst.wait_for(lambda: _queue_empty(inst), what="queue empty")
    assert glob.glob(os.path.join(base, "example.com", "info", "*", "*")) == []
    assert os.listdir(out) == []
