"""A private Debian Dovecot that runs only its auth service, for interop
tests of our auth clients (smtpd's SASL, the auth protocol client) against
the real thing: passwd-file users, the auth-client and auth-userdb
sockets in a temporary directory, stopped and removed afterwards."""
import contextlib
import os
import shutil
import subprocess
import tempfile
import time

import pytest


@contextlib.contextmanager
def private_dovecot_auth(users):
    """Yields the directory holding auth-client and auth-userdb; users is
    the passwd-file text. Skips the test without dovecot-core or root."""
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot-core is not installed")
    if os.geteuid() != 0:
        pytest.skip("running Dovecot needs root")
    d = tempfile.mkdtemp(prefix="ph-dovecot-", dir="/tmp")
    os.chmod(d, 0o755)
    os.mkdir(os.path.join(d, "state"))
    with open(os.path.join(d, "users"), "w") as f:
        f.write(users)
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service auth {{
  unix_listener {d}/auth-client {{
    mode = 0666
  }}
  unix_listener {d}/auth-userdb {{
    mode = 0666
  }}
}}
""")
    subprocess.run(["dovecot", "-c", conf], check=True, timeout=30)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(d, "auth-client")) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield d
    finally:
        subprocess.run(["dovecot", "-c", conf, "stop"], timeout=30)
        shutil.rmtree(d, ignore_errors=True)
