"""Golden transcripts of the SMTP restrictions (Postfix's smtpd_check.in/.ref).

Each tests/golden/smtpd_check/NAME.in is fed to build/tests/smtpd_check_test
(with the main.cf next to it) and the output must equal NAME.ref, which was
written by hand. Scripts named bad_*.in end in a fatal configuration error
and must exit with status 1; the others must exit 0. Scripts named
nomain_*.in run without that main.cf (registry defaults).
"""
import glob
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("POSTHORN_BUILD", os.path.join(ROOT, "build"))
GOLDEN = os.path.join(ROOT, "tests", "golden", "smtpd_check")
DRIVER = os.path.join(BUILD, "tests", "smtpd_check_test")
SCRIPTS = sorted(glob.glob(os.path.join(GOLDEN, "*.in")))

# Lines whose numbers depend on the machine are replaced before comparing;
# warnings about the system's /etc/aliases (scripts without main.cf) are
# dropped.
VOLATILE = [
    (re.compile(r"^smtpd_check_test: warning: not enough free space in .*$"), "@@FREE@@"),
]
DROP = re.compile(r"^smtpd_check_test: warning: .*/etc/aliases")


def normalize(text):
    lines = []
    for line in text.splitlines():
        if DROP.match(line):
            continue
        for pattern, repl in VOLATILE:
            if pattern.match(line):
                line = repl
        lines.append(line)
    return lines


def test_golden_scripts_exist():
    assert len(SCRIPTS) >= 8
    for script in SCRIPTS:
        assert os.path.exists(script[:-3] + ".ref"), f"{script} has no .ref"


@pytest.mark.parametrize("script", SCRIPTS, ids=[os.path.basename(s)[:-3] for s in SCRIPTS])
def test_golden(script):
    # nomain_*.in run on registry defaults, the others with GOLDEN/main.cf
    args = [DRIVER] if os.path.basename(script).startswith("nomain_") else [DRIVER, "-c", GOLDEN]
    with open(script, "rb") as f:
        p = subprocess.run(args, stdin=f, capture_output=True, cwd=GOLDEN, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    want_rc = 1 if os.path.basename(script).startswith("bad_") else 0
    assert p.returncode == want_rc, f"exit {p.returncode}\n{out}\n{p.stderr.decode()}"
    if os.environ.get("POSTHORN_SANITIZE"):
        assert "runtime error" not in out and "Sanitizer" not in out, out
    with open(script[:-3] + ".ref", encoding="utf-8") as f:
        ref = f.read()
    assert normalize(out) == normalize(ref)
