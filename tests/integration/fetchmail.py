"""Run Debian's fetchmail against one of our servers, delivering what it
fetches into an mbox through a small MDA script (the test reads the mbox
with Python's mailbox module)."""
import os
import subprocess


def run_fetchmail(tmp_path, mbox, port, protocol, user, password, options, idfile=None):
    """One fetchmail run (poll 127.0.0.1:port with protocol, e.g. "pop3
    uidl" or "imap", and options such as "keep"); the CompletedProcess
    (returncode 0: mail fetched, 1: no mail)."""
    mda = tmp_path / "mda.sh"
    mda.write_text("#!/bin/sh\n{ echo \"From fetchmail@localhost $(date -u +'%a %b %e %H:%M:%S %Y')\";"
                   " sed 's/^\\(>*From \\)/>\\1/'; echo; } >> " + str(mbox) + "\n")
    mda.chmod(0o755)
    rc = tmp_path / "fetchmailrc"
    rc.write_text(f"set no syslog\nset no bouncemail\n"
                  f"poll 127.0.0.1 service {port} protocol {protocol}\n"
                  f"  user \"{user}\" password \"{password}\" is root here\n"
                  f"  options {options} no sslcertck\n"
                  f"  mda \"{mda}\"\n")
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    argv = ["fetchmail", "-f", str(rc), "--nodetach", "-v"]
    if idfile:
        argv += ["--idfile", str(idfile)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
